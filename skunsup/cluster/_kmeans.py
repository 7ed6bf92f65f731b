"""K-means clustering: Lloyd's algorithm on numba kernels, k-means++ seeding."""

import warnings
from numbers import Integral, Real

import numpy as np
import scipy.sparse as sp
from sklearn.base import (
    BaseEstimator,
    ClassNamePrefixFeaturesOutMixin,
    ClusterMixin,
    TransformerMixin,
)
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils import check_array, check_random_state
from sklearn.utils.validation import check_is_fitted, validate_data

from skunsup.cluster import _kmeans_kernels as kernels
from skunsup.utils._dask import is_dask_array
from skunsup.utils._sklearn_compat import (
    Interval,
    StrOptions,
    _fit_context,
    validate_params,
)
from skunsup.utils._validation import check_squares_fit


def _validate_sample_weight(sample_weight, n_samples):
    """Sample weights as a float64 vector: finite, non-negative, not all zero."""
    if sample_weight is None:
        return np.ones(n_samples, dtype=np.float64)
    if np.isscalar(sample_weight):
        weights = np.full(n_samples, sample_weight, dtype=np.float64)
    else:
        weights = check_array(sample_weight, ensure_2d=False, dtype=np.float64,
                              input_name="sample_weight", order="C", copy=False)
        if weights.ndim != 1 or weights.shape[0] != n_samples:
            raise ValueError(
                f"sample_weight must have shape ({n_samples},), got {weights.shape}.")
    if not np.all(np.isfinite(weights)):
        raise ValueError("sample_weight contains NaN or infinity.")
    if np.any(weights < 0):
        raise ValueError("sample_weight must be non-negative; negative weights were given.")
    if not np.any(weights > 0):
        raise ValueError("sample_weight must have at least one positive weight; all are zero.")
    return weights


def _prepare_csr(X):
    """Canonical CSR (sorted, no duplicate entries); copies only when X is not canonical."""
    if not X.has_canonical_format:
        X = X.copy()
        X.sum_duplicates()
    return X


def _kmeans_plusplus(X, n_clusters, x_squared_norms, sample_weight, random_state,
                     n_local_trials=None):
    """Greedy k-means++ on validated inputs; returns (centers, indices)."""
    n_samples = X.shape[0]
    if n_local_trials is None:
        n_local_trials = 2 + int(np.log(n_clusters))
    is_sparse = sp.issparse(X)

    def rows(index):
        picked = X[index]
        return picked.toarray() if is_sparse else picked

    centers = np.empty((n_clusters, X.shape[1]), dtype=X.dtype)
    indices = np.full(n_clusters, -1, dtype=np.intp)
    cumulative = np.cumsum(sample_weight)
    first = int(np.searchsorted(cumulative, random_state.uniform() * cumulative[-1],
                                side="right"))
    first = min(first, n_samples - 1)
    centers[0] = rows([first])[0]
    indices[0] = first
    closest = kernels.kmeans_plusplus_trials(
        X, x_squared_norms, sample_weight, centers[:1], np.full(n_samples, np.inf))[0][0]
    nearest = np.zeros(n_samples, dtype=np.intp)
    for c in range(1, n_clusters):
        cumulative = np.cumsum(sample_weight * closest)
        draws = random_state.uniform(size=n_local_trials) * cumulative[-1]
        candidate_ids = np.minimum(np.searchsorted(cumulative, draws), n_samples - 1)
        trial_dist, pots = kernels.kmeans_plusplus_trials(
            X, x_squared_norms, sample_weight, rows(candidate_ids), closest,
            nearest=nearest, chosen=centers[:c])
        best = int(np.argmin(pots))
        nearest[trial_dist[best] < closest] = c
        closest = trial_dist[best]
        centers[c] = rows([candidate_ids[best]])[0]
        indices[c] = candidate_ids[best]
    return centers, indices


@validate_params(
    {
        "X": ["array-like", "sparse matrix"],
        "n_clusters": [Interval(Integral, 1, None, closed="left")],
        "sample_weight": ["array-like", None],
        "random_state": ["random_state"],
        "n_local_trials": [Interval(Integral, 1, None, closed="left"), None],
    },
    prefer_skip_nested_validation=True,
)
def kmeans_plusplus(X, n_clusters, *, sample_weight=None, random_state=None,
                    n_local_trials=None):
    """Choose initial k-means centres with greedy k-means++.

    The first centre is a sample drawn with probability proportional to its
    weight; every further centre is the best of ``n_local_trials`` samples
    drawn with probability proportional to ``weight * D(x)^2`` (``D`` the
    distance to the nearest centre chosen so far), the best being the one that
    leaves the smallest weighted potential. Each step is one fused parallel
    pass over the data.

    Parameters
    ----------
    X : {array-like, sparse matrix} of shape (n_samples, n_features)
        The data to pick seeds from.
    n_clusters : int
        Number of centres.
    sample_weight : array-like of shape (n_samples,), default=None
        Non-negative weights of the samples (None: all ones).
    random_state : int, RandomState instance or None, default=None
        Seed of the random draws.
    n_local_trials : int, default=None
        Candidates tried per centre; ``2 + int(log(n_clusters))`` when None.

    Returns
    -------
    centers : ndarray of shape (n_clusters, n_features)
        The initial centres (dtype of X: float32 stays float32).
    indices : ndarray of shape (n_clusters,)
        Index in X of every chosen centre.

    Examples
    --------
    >>> import numpy as np
    >>> from skunsup.cluster import kmeans_plusplus
    >>> X = np.array([[0.0, 0.0], [0.1, 0.0], [10.0, 10.0], [10.1, 10.0]])
    >>> centers, indices = kmeans_plusplus(X, 2, random_state=0)
    >>> sorted(np.round(centers[:, 0]).tolist())
    [0.0, 10.0]
    """
    X = check_array(X, accept_sparse="csr", dtype=[np.float64, np.float32], order="C",
                    accept_large_sparse=False)
    if X.shape[0] < n_clusters:
        raise ValueError(f"n_samples={X.shape[0]} should be >= n_clusters={n_clusters}.")
    if sp.issparse(X):
        X = _prepare_csr(X)
    sample_weight = _validate_sample_weight(sample_weight, X.shape[0])
    return _kmeans_plusplus(X, n_clusters, kernels.row_squared_norms(X), sample_weight,
                            check_random_state(random_state), n_local_trials)


def _relocate_empty_clusters(X, sample_weight, labels, distances, sums, weights):
    """Move every empty cluster to one of the samples farthest from their centre.

    Deterministic: the farthest positive-weight samples, ties broken by index.
    Samples that sit on their centre are never moved: with more clusters than
    distinct samples, relocating duplicates would only swap them between
    centres forever (scikit-learn issue #28055). Works in place on ``sums``
    and ``weights``; returns the relocated clusters.
    """
    empty = np.flatnonzero(weights <= 0)
    if empty.size == 0:
        return empty
    candidates = np.flatnonzero((sample_weight > 0) & (distances > 0))
    order = np.argsort(-distances[candidates], kind="stable")
    far = candidates[order[: empty.size]]
    for cluster, index in zip(empty, far):
        row = X[index].toarray().ravel() if sp.issparse(X) else X[index]
        w = sample_weight[index]
        old = labels[index]
        sums[old] -= w * row
        weights[old] -= w
        sums[cluster] = w * row
        weights[cluster] = w
    return empty[: far.size]


def _kmeans_single_lloyd(X, sample_weight, centers_init, *, max_iter, tol, x_squared_norms,
                         verbose=0, step="auto"):
    """Lloyd iterations from given centres; returns (labels, inertia, centers, n_iter).

    Every ``step`` gives the result of Lloyd's algorithm (up to ties); they
    differ in how they avoid distance computations:

    - 'plain': fused Lloyd steps, every distance of every sample (a matrix
      product or a direct loop).
    - 'hamerly': Hamerly's bounds (Yinyang's grouped bounds for many clusters),
      dense data only.
    - 'elkan': each sample starts at its previous centre and measures only the
      centres that Elkan's inequality between centres leaves possible
      (:func:`~skunsup.cluster._kmeans_kernels.lloyd_partials_from_hints`),
      dense data only; the first step is a plain one.
    - 'auto': 'hamerly' on dense data, 'plain' on CSR data.
    """
    n_samples = X.shape[0]
    n_clusters = centers_init.shape[0]
    centers = np.array(centers_init, dtype=X.dtype, order="C", copy=True)
    labels = np.empty(n_samples, dtype=np.int32)
    labels_old = np.full(n_samples, -1, dtype=np.int32)
    distances = np.empty(n_samples, dtype=np.float64)
    if step == "auto":
        step = "plain" if sp.issparse(X) else "hamerly"
    state = None
    if step == "hamerly":
        state = kernels.HamerlyState(X, sample_weight, labels, n_clusters,
                                     x_squared_norms=x_squared_norms)
    strict_convergence = False
    n_iter = 0
    for n_iter in range(1, max_iter + 1):
        sums, weights = _lloyd_step(X, sample_weight, centers, x_squared_norms, step, state,
                                    labels, distances, hinted=n_iter > 1)
        if np.any(weights <= 0):
            if step == "hamerly":
                distances = _distances_to_assigned(X, centers, labels, x_squared_norms)
            _relocate_empty_clusters(X, sample_weight, labels, distances, sums, weights)
        if verbose:
            # the objective of this step's assignment, as scikit-learn prints it
            inertia = float(np.dot(sample_weight, _distances_to_assigned(
                X, centers, labels, x_squared_norms)))
            print(f"Iteration {n_iter - 1}, inertia {inertia}.")
        new_centers = centers.copy()
        filled = weights > 0
        new_centers[filled] = sums[filled] / weights[filled, None]
        shift = np.sqrt(((new_centers.astype(np.float64) - centers) ** 2).sum(axis=1))
        shift_total = float((shift**2).sum())
        centers = new_centers
        if state is not None:
            state.moved(shift)
        if np.array_equal(labels, labels_old):
            if verbose:
                print(f"Converged at iteration {n_iter - 1}: strict convergence.")
            strict_convergence = True
            break
        if shift_total <= tol:
            if verbose:
                print(f"Converged at iteration {n_iter - 1}: center shift {shift_total} "
                      f"within tolerance {tol}.")
            break
        labels_old[:] = labels
    if not strict_convergence:
        # labels for the final centres (the centres are not moved again)
        _lloyd_step(X, sample_weight, centers, x_squared_norms, step, state, labels,
                    distances, hinted=True)
    distances = _distances_to_assigned(X, centers, labels, x_squared_norms)
    inertia = float(np.dot(sample_weight, distances))
    return labels, inertia, centers, n_iter


def _lloyd_step(X, sample_weight, centers, x_squared_norms, step, state, labels, distances,
                hinted):
    """One assignment step by ``step``: labels and distances in place, returns (sums, weights).

    ``hinted`` says that ``labels`` holds the previous step's labels, which the
    'elkan' step starts from (without them it takes a plain step).
    """
    if step == "hamerly":
        return state.step(centers)
    if step == "elkan" and hinted:
        new_labels, sums, weights, _, new_distances = kernels.lloyd_partials_from_hints(
            X, sample_weight, centers, labels)
        labels[:] = new_labels
        distances[:] = new_distances
        return sums, weights
    _, sums, weights, _, _ = kernels.lloyd_partials(
        X, sample_weight, centers, x_squared_norms=x_squared_norms, out_labels=labels,
        out_distances=distances)
    return sums, weights


def _distances_to_assigned(X, centers, labels, x_squared_norms):
    if sp.issparse(X):
        dots = np.asarray(X.multiply(centers[labels]).sum(axis=1)).ravel()
        return np.maximum(x_squared_norms - 2 * dots + 2 * kernels.half_squared_norms(
            centers)[labels], 0.0)
    distances = np.empty(X.shape[0], dtype=np.float64)
    kernels._distances_to_assigned_dense(X, centers, labels, distances)
    return distances


def _same_clustering(labels1, labels2, n_clusters):
    """True when two labelings are equal up to a permutation of the labels."""
    mapping = np.full(n_clusters, -1, dtype=np.int64)
    for a, b in zip(labels1, labels2):
        if mapping[a] == -1:
            mapping[a] = b
        elif mapping[a] != b:
            return False
    return True


class KMeans(ClassNamePrefixFeaturesOutMixin, TransformerMixin, ClusterMixin, BaseEstimator):
    """K-means clustering with Lloyd's algorithm on parallel numba kernels.

    Partitions the samples into ``n_clusters`` clusters by minimising the
    inertia, the weighted sum of **squared** Euclidean distances of the samples
    to their nearest centre: Lloyd's iterations alternate assigning every
    sample to its nearest centre and moving every centre to the (weighted) mean
    of its samples. The fit is restarted ``n_init`` times and the run with the
    lowest inertia is kept.

    Dense float32 data stays float32 and CSR matrices stay sparse; X is never
    copied. Results do not depend on the number of threads.

    Read more in the :ref:`User Guide <clustering>`.

    Parameters
    ----------
    n_clusters : int, default=8
        The number of clusters and centres.

    init : {'k-means++', 'random'}, callable or array-like of shape \
            (n_clusters, n_features), default='k-means++'
        How to choose the initial centres.

        - 'k-means++': greedy k-means++ (several candidates per centre, the
          one leaving the smallest potential is kept), see
          :func:`kmeans_plusplus`.
        - 'random': ``n_clusters`` distinct samples drawn with probability
          proportional to their weight (the lecture's initialisation).
        - an array: the initial centres themselves (then one run only).
        - a callable ``init(X, n_clusters, random_state)`` returning the centres.

    n_init : 'auto' or int, default='auto'
        Number of runs from different initial centres; the one with the
        lowest inertia is kept. 'auto' means 1 for 'k-means++' and an array,
        and 10 for 'random' and a callable.

    max_iter : int, default=300
        Maximum number of Lloyd iterations of one run.

    tol : float, default=1e-4
        Relative tolerance: a run stops when the sum of squared centre shifts
        falls to ``tol`` times the mean (weighted) variance of the features.
        A run also stops when no label changes.

    verbose : int, default=0
        Print the inertia of every iteration when positive.

    random_state : int, RandomState instance or None, default=None
        Seed of the initialisation. Pass an int for reproducible fits.

    copy_x : bool, default=True
        Kept for compatibility with scikit-learn. This implementation never
        modifies X (it does not centre the data in place), so no copy is made
        either way.

    algorithm : {'lloyd', 'elkan'}, default='lloyd'
        How the Lloyd iterations avoid distance computations. Both give the
        result of Lloyd's algorithm (the same labels, centres and inertia up
        to ties between equally near centres and rounding), as in
        scikit-learn; they differ only in speed.

        - 'lloyd': on dense data, Hamerly's bound per sample (with Yinyang's
          grouped bounds when there are more than 4 centres), the samples that
          may change cluster searched by a direct loop or a matrix product;
          on sparse data, every distance of every sample in fused passes.
        - 'elkan': on dense data, each sample starts at its previous centre
          and measures only the centres closer to that centre than twice its
          distance to it (Elkan's inequality between centres; no bounds are
          stored per sample). Fastest on well-separated clusters in few
          dimensions; on sparse data, and for a single cluster (with a
          warning), the same as 'lloyd'.

    Attributes
    ----------
    cluster_centers_ : ndarray of shape (n_clusters, n_features)
        Coordinates of the centres (dtype of the training data).

    labels_ : ndarray of shape (n_samples,)
        Index of the centre of every training sample.

    inertia_ : float
        Weighted sum of squared distances of the training samples to their
        centre.

    n_iter_ : int
        Number of Lloyd iterations of the kept run.

    n_features_in_ : int
        Number of features seen during :term:`fit`.

    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Names of features seen during :term:`fit`. Defined only when `X`
        has feature names that are all strings.

    See Also
    --------
    kmeans_plusplus : The k-means++ seeding on its own.
    sklearn.cluster.KMeans : The implementation of scikit-learn.

    Notes
    -----
    Every Lloyd iteration costs O(n_samples * n_clusters * n_features) at
    most. On dense data, bounds on the distances of every sample to its own
    centre and to groups of nearby centres (Hamerly's algorithm, with
    Yinyang's groups when there are more than 4 centres) skip the samples
    that cannot change cluster; for the others only the groups that may hold
    a closer centre are searched (Yinyang's local filter, a direct loop), or,
    when most groups would be, every centre by a matrix product. The bounds
    take about ``2 * n_clusters + 24`` bytes per sample. The result is that of
    Lloyd's algorithm up to ties and rounding: over many iterations a sample
    within rounding of two centres may go either way, so runs that take
    different paths (scikit-learn's 'lloyd' and 'elkan' among them) end at
    inertias about 1e-4 apart on Fashion-MNIST after 40 iterations. CSR input
    runs plain Lloyd steps fused with the centre update. The nearest centre
    is chosen with ``||c||^2 - 2 x.c`` (as scikit-learn does) and the
    distance to it recomputed as ``sum((x - c)^2)``, so ``inertia_`` is
    accurate in float32 too.

    The lecture writes the objective with plain distances; Lloyd's algorithm
    minimises the sum of squared distances, which is what ``inertia_`` holds.

    Empty clusters are moved to the samples farthest from their centre. When
    X has fewer distinct points than ``n_clusters``, a ``ConvergenceWarning``
    says so.

    References
    ----------
    S. Lloyd, "Least squares quantization in PCM", IEEE Transactions on
    Information Theory 28(2), 1982.

    D. Arthur and S. Vassilvitskii, "k-means++: the advantages of careful
    seeding", SODA 2007.

    G. Hamerly, "Making k-means even faster", SDM 2010.

    Y. Ding, Y. Zhao, X. Shen, M. Musuvathi and T. Mytkowicz, "Yinyang
    K-means: a drop-in replacement of the classic K-means with consistent
    speedup", ICML 2015.

    Examples
    --------
    >>> import numpy as np
    >>> from skunsup.cluster import KMeans
    >>> X = np.array([[1, 2], [1, 4], [1, 0], [10, 2], [10, 4], [10, 0]], dtype=float)
    >>> km = KMeans(n_clusters=2, random_state=0).fit(X)
    >>> sorted(km.cluster_centers_.tolist())
    [[1.0, 2.0], [10.0, 2.0]]
    >>> bool(km.predict([[0, 0]])[0] == km.predict([[1, 1]])[0])
    True
    >>> float(km.inertia_)
    16.0
    """

    _parameter_constraints: dict = {
        "n_clusters": [Interval(Integral, 1, None, closed="left")],
        "init": [StrOptions({"k-means++", "random"}), callable, "array-like"],
        "n_init": [StrOptions({"auto"}), Interval(Integral, 1, None, closed="left")],
        "max_iter": [Interval(Integral, 1, None, closed="left")],
        "tol": [Interval(Real, 0, None, closed="left")],
        "verbose": ["verbose"],
        "random_state": ["random_state"],
        "copy_x": ["boolean"],
        "algorithm": [StrOptions({"lloyd", "elkan"})],
    }

    def __init__(self, n_clusters=8, *, init="k-means++", n_init="auto", max_iter=300,
                 tol=1e-4, verbose=0, random_state=None, copy_x=True, algorithm="lloyd"):
        self.n_clusters = n_clusters
        self.init = init
        self.n_init = n_init
        self.max_iter = max_iter
        self.tol = tol
        self.verbose = verbose
        self.random_state = random_state
        self.copy_x = copy_x
        self.algorithm = algorithm

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        tags.transformer_tags.preserves_dtype = ["float64", "float32"]
        return tags

    # ------------------------------------------------------------------ checks

    def _check_params_vs_input(self, X, sample_weight):
        if X.shape[0] < self.n_clusters:
            raise ValueError(
                f"n_samples={X.shape[0]} should be >= n_clusters={self.n_clusters}.")
        if self.tol == 0:
            self._tol = 0.0
        elif sp.issparse(X):
            total = sample_weight.sum()
            mean = np.asarray(X.T @ sample_weight).ravel() / total
            second = np.asarray(X.multiply(X).T @ sample_weight).ravel() / total
            self._tol = float(np.mean(np.maximum(second - mean**2, 0.0)) * self.tol)
        else:
            _, variance = kernels.weighted_mean_variance(X, sample_weight)
            self._tol = float(np.mean(variance) * self.tol)
        init_is_array = not isinstance(self.init, str) and not callable(self.init)
        if self.n_init == "auto":
            random_like = (isinstance(self.init, str) and self.init == "random") or callable(
                self.init)
            self._n_init = 10 if random_like else 1
        else:
            self._n_init = self.n_init
        self._step = "auto"
        if self.algorithm == "elkan":
            if self.n_clusters == 1:
                warnings.warn(
                    "algorithm='elkan' doesn't make sense for a single cluster. Using "
                    "'lloyd' instead.", RuntimeWarning, stacklevel=3)
            elif not sp.issparse(X):
                self._step = "elkan"
        if init_is_array and self._n_init != 1:
            warnings.warn(
                "Explicit initial center position passed: performing only one init in "
                f"KMeans instead of n_init={self._n_init}.", RuntimeWarning, stacklevel=3)
            self._n_init = 1

    def _validate_centers(self, centers, X, what):
        centers = check_array(centers, dtype=X.dtype, order="C", copy=True,
                              input_name=what)
        if centers.shape[0] != self.n_clusters:
            raise ValueError(
                f"The shape of the initial centers {centers.shape} does not match the "
                f"number of clusters {self.n_clusters}.")
        if centers.shape[1] != X.shape[1]:
            raise ValueError(
                f"The shape of the initial centers {centers.shape} does not match the "
                f"number of features of the data {X.shape[1]}.")
        return centers

    def _init_centroids(self, X, init_array, x_squared_norms, sample_weight, random_state):
        if init_array is not None:
            return init_array
        if isinstance(self.init, str) and self.init == "k-means++":
            centers, _ = _kmeans_plusplus(X, self.n_clusters, x_squared_norms, sample_weight,
                                          random_state)
            return centers
        if isinstance(self.init, str) and self.init == "random":
            positive = np.flatnonzero(sample_weight > 0)
            if positive.size < self.n_clusters:
                # Not enough weighted samples: complete with zero-weight ones.
                rest = np.setdiff1d(np.arange(X.shape[0]), positive)
                picks = np.concatenate([
                    random_state.permutation(positive),
                    random_state.choice(rest, self.n_clusters - positive.size, replace=False),
                ])
            else:
                p = sample_weight[positive] / sample_weight[positive].sum()
                picks = positive[random_state.choice(positive.size, size=self.n_clusters,
                                                     replace=False, p=p)]
            centers = X[picks]
            return centers.toarray() if sp.issparse(centers) else np.array(centers)
        centers = self.init(X, self.n_clusters, random_state=random_state)
        if sp.issparse(centers):
            centers = centers.toarray()
        return self._validate_centers(centers, X, "centers returned by init")

    # --------------------------------------------------------------------- fit

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None, sample_weight=None):
        """Compute the k-means clustering.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Training samples. Dense float32 is kept as float32; sparse input
            is used as CSR without densifying.
        y : Ignored
            Not used, present for API consistency.
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative weights of the samples (None: all ones). Used by the
            'k-means++' and 'random' initialisations and by every iteration.

        Returns
        -------
        self : object
            The fitted estimator.

        Examples
        --------
        >>> import numpy as np
        >>> from skunsup.cluster import KMeans
        >>> X = np.array([[0.0], [0.2], [5.0], [5.2]])
        >>> KMeans(n_clusters=2, random_state=0).fit(X).cluster_centers_.shape
        (2, 1)
        """
        if is_dask_array(X):  # k-means|| and Lloyd over the blocks, see _kmeans_dask
            from skunsup.cluster._kmeans_dask import fit_kmeans

            return fit_kmeans(self, X, sample_weight)
        X = validate_data(self, X, accept_sparse="csr", dtype=[np.float64, np.float32],
                          order="C", accept_large_sparse=False)
        if sp.issparse(X):
            X = _prepare_csr(X)
        x_squared_norms = kernels.row_squared_norms(X)
        check_squares_fit(X, dtype=X.dtype, estimator="KMeans", x_squared_norms=x_squared_norms)
        sample_weight = _validate_sample_weight(sample_weight, X.shape[0])
        self._check_params_vs_input(X, sample_weight)
        random_state = check_random_state(self.random_state)
        init_array = None
        if not isinstance(self.init, str) and not callable(self.init):
            init_array = self._validate_centers(self.init, X, "init")

        best = None
        for _ in range(self._n_init):
            centers_init = self._init_centroids(X, init_array, x_squared_norms, sample_weight,
                                                random_state)
            if self.verbose:
                print("Initialization complete")
            labels, inertia, centers, n_iter = _kmeans_single_lloyd(
                X, sample_weight, centers_init, max_iter=self.max_iter, tol=self._tol,
                x_squared_norms=x_squared_norms, verbose=self.verbose, step=self._step)
            if best is None or (inertia < best[1]
                                and not _same_clustering(labels, best[0], self.n_clusters)):
                best = (labels, inertia, centers, n_iter)
        labels, inertia, centers, n_iter = best

        n_distinct = np.unique(labels).size
        if n_distinct < self.n_clusters:
            warnings.warn(
                f"Number of distinct clusters ({n_distinct}) found smaller than "
                f"n_clusters ({self.n_clusters}). Possibly due to duplicate points in X.",
                ConvergenceWarning, stacklevel=2)
        self.cluster_centers_ = centers
        self._n_features_out = centers.shape[0]
        self.labels_ = labels
        self.inertia_ = inertia
        self.n_iter_ = n_iter
        return self

    def fit_predict(self, X, y=None, sample_weight=None):
        """Compute the clustering and return the cluster index of every sample.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Training samples.
        y : Ignored
            Not used, present for API consistency.
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative weights of the samples.

        Returns
        -------
        labels : ndarray of shape (n_samples,)
            Index of the cluster of every sample.

        Examples
        --------
        >>> import numpy as np
        >>> from skunsup.cluster import KMeans
        >>> labels = KMeans(n_clusters=2, random_state=0).fit_predict(
        ...     np.array([[0.0], [0.1], [9.0], [9.1]]))
        >>> bool(labels[0] == labels[1] != labels[2] == labels[3])
        True
        """
        return self.fit(X, sample_weight=sample_weight).labels_

    def fit_transform(self, X, y=None, sample_weight=None):
        """Compute the clustering and return the distances of X to every centre.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Training samples.
        y : Ignored
            Not used, present for API consistency.
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative weights of the samples.

        Returns
        -------
        distances : ndarray of shape (n_samples, n_clusters)
            Euclidean distance of every sample to every centre.

        Examples
        --------
        >>> import numpy as np
        >>> from skunsup.cluster import KMeans
        >>> KMeans(n_clusters=2, random_state=0).fit_transform(
        ...     np.array([[0.0], [0.1], [9.0], [9.1]])).shape
        (4, 2)
        """
        if is_dask_array(X):  # a lazy Dask array
            return self.fit(X, sample_weight=sample_weight).transform(X)
        return self.fit(X, sample_weight=sample_weight)._transform(self._check_test_data(X))

    # --------------------------------------------------------- predict & co.

    def _check_test_data(self, X):
        X = validate_data(self, X, accept_sparse="csr", reset=False,
                          dtype=[np.float64, np.float32], order="C",
                          accept_large_sparse=False)
        if sp.issparse(X):
            X = _prepare_csr(X)
        check_squares_fit(X, dtype=X.dtype, estimator="KMeans")
        return X

    def _centers_for(self, X):
        return np.ascontiguousarray(self.cluster_centers_, dtype=X.dtype)

    def predict(self, X):
        """Index of the nearest centre of every sample.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            New data.

        Returns
        -------
        labels : ndarray of shape (n_samples,)
            Index of the cluster of every sample.

        Examples
        --------
        >>> import numpy as np
        >>> from skunsup.cluster import KMeans
        >>> km = KMeans(n_clusters=2, random_state=0).fit(np.array([[0.0], [0.1], [9.0], [9.1]]))
        >>> bool(km.predict([[8.0]])[0] == km.labels_[3])
        True
        """
        check_is_fitted(self)
        if is_dask_array(X):  # a lazy Dask array
            from skunsup.cluster._kmeans_dask import predict_kmeans

            return predict_kmeans(self, X)
        X = self._check_test_data(X)
        labels, _ = kernels.assign_labels(X, self._centers_for(X))
        return labels

    def transform(self, X):
        """Euclidean distance of every sample to every centre.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            New data.

        Returns
        -------
        distances : ndarray of shape (n_samples, n_clusters)
            Distances in the cluster-distance space (dtype of X).

        Examples
        --------
        >>> import numpy as np
        >>> from skunsup.cluster import KMeans
        >>> km = KMeans(n_clusters=2, random_state=0).fit(np.array([[0.0], [0.0], [4.0], [4.0]]))
        >>> np.sort(km.transform([[1.0]]).ravel()).tolist()
        [1.0, 3.0]
        """
        check_is_fitted(self)
        if is_dask_array(X):  # a lazy Dask array
            from skunsup.cluster._kmeans_dask import transform_kmeans

            return transform_kmeans(self, X)
        return self._transform(self._check_test_data(X))

    def _transform(self, X):
        centers = self._centers_for(X)
        c_sq = 2.0 * kernels.half_squared_norms(centers)
        x_sq = kernels.row_squared_norms(X)
        out = np.empty((X.shape[0], centers.shape[0]), dtype=X.dtype)
        block = kernels.BLAS_BLOCK_ROWS
        for start in range(0, X.shape[0], block):
            chunk = X[start:start + block]
            dots = np.asarray((chunk @ centers.T), dtype=np.float64)
            sq = x_sq[start:start + block, None] + c_sq[None, :] - 2.0 * dots
            out[start:start + block] = np.sqrt(np.maximum(sq, 0.0))
        return out

    def score(self, X, y=None, sample_weight=None):
        """Opposite of the inertia of X against the fitted centres (higher is better).

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            New data.
        y : Ignored
            Not used, present for API consistency.
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative weights of the samples.

        Returns
        -------
        score : float
            Minus the weighted sum of squared distances to the nearest centre.

        Examples
        --------
        >>> import numpy as np
        >>> from skunsup.cluster import KMeans
        >>> km = KMeans(n_clusters=2, random_state=0).fit(np.array([[0.0], [0.0], [4.0], [4.0]]))
        >>> float(km.score([[1.0], [5.0]]))
        -2.0
        """
        check_is_fitted(self)
        if is_dask_array(X):  # reduced over the blocks
            from skunsup.cluster._kmeans_dask import score_kmeans

            return score_kmeans(self, X, sample_weight)
        X = self._check_test_data(X)
        sample_weight = _validate_sample_weight(sample_weight, X.shape[0])
        _, distances = kernels.assign_labels(X, self._centers_for(X))
        return -float(np.dot(sample_weight, distances))
