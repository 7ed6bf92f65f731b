"""Mini-batch k-means: scikit-learn's MiniBatchKMeans on skunsup's k-means ops."""

import warnings
from numbers import Integral, Real

import numpy as np
import scipy.sparse as sp
from sklearn.utils import check_random_state

from skunsup.cluster import _kmeans_ops as ops
from skunsup.cluster._kmeans_base import _BaseKMeans
from skunsup.cluster._minibatch import (
    minibatch_loop,
    minibatch_step,
    reassignment_due,
    step_threads,
)
from skunsup.cluster._lloyd_blocks import (
    MappedBlocks,
    as_blockwise,
    block_rows_for,
    is_blockwise_input,
    validate_blocks,
)
from skunsup.cluster._minibatch_memory import BlockBatches, MemoryBatches
from skunsup.cluster._seeding import (
    _kmeans_plusplus,
    _prepare_csr,
    _validate_sample_weight,
    random_centers,
)
from skunsup.utils._callbacks import warn_interrupted
from skunsup.utils._sklearn_compat import Interval, _fit_context


class MiniBatchKMeans(_BaseKMeans):
    """Mini-batch k-means clustering, a drop-in for scikit-learn's.

    Every step draws ``batch_size`` samples (with replacement, with
    probability proportional to their weight), assigns them to their nearest
    centre and moves each centre they reached towards their mean, with a
    per-centre learning rate that decays as the centre absorbs more weight
    (Sculley 2010). Centres that absorb little are moved to random samples
    (``reassignment_ratio``). The fit stops when the smoothed batch inertia
    stops improving, when the centres stop moving, or after ``max_iter``
    passes' worth of batches. :meth:`partial_fit` makes one step on a batch
    the caller gives, for data that arrives in pieces.

    Dense float32 data stays float32 and CSR matrices stay sparse.

    Read more in the :ref:`User Guide <clustering>`.

    Parameters
    ----------
    n_clusters : int, default=8
        The number of clusters and centres.

    init : {'k-means++', 'random'}, callable or array-like of shape \
            (n_clusters, n_features), default='k-means++'
        How to choose the initial centres, on ``init_size`` random samples:
        'k-means++' (greedy k-means++, see :func:`kmeans_plusplus`),
        'random' (``n_clusters`` distinct samples drawn with probability
        proportional to their weight), an array (the centres themselves) or
        a callable ``init(X, n_clusters, random_state)`` returning them.

    max_iter : int, default=100
        Most passes over the data: a fit runs at most ``max_iter * n_samples
        // batch_size`` steps.

    batch_size : int, default=1024
        Samples per step.

    verbose : int, default=0
        Print the batch inertias and the stopping reason when positive.

    compute_labels : bool, default=True
        Assign the whole training set to the final centres (``labels_``, and
        ``inertia_`` of that assignment). When False, ``labels_`` is not set
        and ``inertia_`` is estimated from the smoothed batch inertias.

    random_state : int, RandomState instance or None, default=None
        Seed of the initialisation, the batches and the reassignments.

    tol : float, default=0.0
        A fit stops when the sum of squared centre shifts of a step is at
        most ``tol`` times the mean variance of the features (0: never).

    max_no_improvement : int or None, default=10
        A fit stops after this many steps without a new minimum of the
        smoothed batch inertia (None: never).

    init_size : int, default=None
        Samples (drawn at random) the initialisation runs on, and the size of
        the validation set the ``n_init`` initialisations are compared on.
        None: ``3 * batch_size``, or ``3 * n_clusters`` when that is larger;
        at most ``n_samples``.

    n_init : 'auto' or int, default='auto'
        Initialisations tried; the one with the lowest inertia on the
        validation set is kept (only one run of steps follows). 'auto': 1 for
        'k-means++' and an array, 3 for 'random' and a callable.

    reassignment_ratio : float, default=0.01
        A centre whose absorbed weight is below this fraction of the largest
        is moved to a random sample of a batch (checked every ``10 *
        n_clusters`` samples). Higher values move more centres: slower
        convergence, sometimes a better clustering. 0 moves none.

    callbacks : callable or list of callables, default=None
        Called every ``callbacks_every_iters`` mini-batch steps (counted from
        1 over the fit, as ``n_steps_``) as ``callback(estimator, step,
        inertia, centers)``: the batch's inertia per unit of weight before the
        step's update and a copy of the centres after it. A callback that
        returns True ends the fit there, with those centres (and their labels
        if ``compute_labels``). Not called by :meth:`partial_fit`. Ctrl-C
        (``KeyboardInterrupt``) ends a fit the same way, with a warning, at
        the last whole step (or, during the ``n_init`` initialisations, with
        the best of those already made, after the first).

    callbacks_every_iters : int, default=1
        Mini-batch steps between two calls of the callbacks.

    Attributes
    ----------
    cluster_centers_ : ndarray of shape (n_clusters, n_features)
        Coordinates of the centres (dtype of the training data).

    labels_ : ndarray of shape (n_samples,)
        Index of the centre of every training sample (if ``compute_labels``;
        after :meth:`partial_fit`, of the last batch).

    inertia_ : float
        Weighted sum of squared distances of the training samples (or of
        the last :meth:`partial_fit` batch) to their centre.

    n_iter_ : int
        Passes over the data started by the steps of :meth:`fit`.

    n_steps_ : int
        Mini-batch steps run.

    n_features_in_ : int
        Number of features seen during :term:`fit`.

    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Names of features seen during :term:`fit`. Defined only when `X`
        has feature names that are all strings.

    See Also
    --------
    KMeans : Lloyd's algorithm on the whole data at every iteration.
    sklearn.cluster.MiniBatchKMeans : The implementation of scikit-learn.

    Notes
    -----
    A step costs O(batch_size * n_clusters * n_features); the final
    assignment (``compute_labels``) one pass over the data. Drawing a batch
    costs O(batch_size) whatever the size of the data (the weights' cumulative
    sum is computed once per fit), where scikit-learn draws each batch from a
    table of all the samples. The batches, the update rule, the reassignment
    of small clusters and the stopping rules are scikit-learn's; the results
    are not bit-identical to scikit-learn's (other random draws, float64
    counts and sums).

    References
    ----------
    D. Sculley, "Web-scale k-means clustering", WWW 2010.

    Examples
    --------
    >>> import numpy as np
    >>> from skunsup.cluster import MiniBatchKMeans
    >>> X = np.array([[1, 2], [1, 4], [1, 0], [4, 2], [4, 0], [4, 4],
    ...               [4, 5], [0, 1], [2, 2], [3, 2], [5, 5], [1, -1]], dtype=float)
    >>> km = MiniBatchKMeans(n_clusters=2, random_state=0, batch_size=6, n_init=3).fit(X)
    >>> km.cluster_centers_.shape, km.labels_.shape
    ((2, 2), (12,))
    >>> km = MiniBatchKMeans(n_clusters=2, random_state=0, batch_size=6)
    >>> km = km.partial_fit(X[:6]).partial_fit(X[6:])
    >>> km.n_steps_
    2
    """

    _parameter_constraints: dict = {
        **_BaseKMeans._parameter_constraints,
        "batch_size": [Interval(Integral, 1, None, closed="left")],
        "compute_labels": ["boolean"],
        "max_no_improvement": [Interval(Integral, 0, None, closed="left"), None],
        "init_size": [Interval(Integral, 1, None, closed="left"), None],
        "reassignment_ratio": [Interval(Real, 0, None, closed="left")],
    }

    def __init__(self, n_clusters=8, *, init="k-means++", max_iter=100, batch_size=1024,
                 verbose=0, compute_labels=True, random_state=None, tol=0.0,
                 max_no_improvement=10, init_size=None, n_init="auto",
                 reassignment_ratio=0.01, callbacks=None, callbacks_every_iters=1):
        self.n_clusters = n_clusters
        self.init = init
        self.max_iter = max_iter
        self.batch_size = batch_size
        self.verbose = verbose
        self.compute_labels = compute_labels
        self.random_state = random_state
        self.tol = tol
        self.max_no_improvement = max_no_improvement
        self.init_size = init_size
        self.n_init = n_init
        self.reassignment_ratio = reassignment_ratio
        self.callbacks = callbacks
        self.callbacks_every_iters = callbacks_every_iters

    # ------------------------------------------------------------------ checks

    def _validate_training_data(self, X, reset, blockwise=False):
        """(X, squared row norms); with ``blockwise`` and a memory-mapped X (or an
        HDF5/zarr-like array), (X, None): X is then passed through uncopied and
        checked by the caller's block pass."""
        if blockwise:
            X = as_blockwise(X)
            if is_blockwise_input(X):
                return validate_blocks(self, X, reset=reset), None
        return self._validate_in_memory(X, reset=reset)

    def _check_params_vs_input(self, X):
        """Data-dependent values: n_init, the batch size and the init size."""
        n_samples = X.shape[0]
        if n_samples < self.n_clusters:
            raise ValueError(
                f"n_samples={n_samples} should be >= n_clusters={self.n_clusters}.")
        self._resolve_n_init(default_n_init=3)
        self._batch_size = min(self.batch_size, n_samples)
        if self.init_size is None:
            self._init_size = max(3 * self._batch_size, 3 * self.n_clusters)
        elif self.init_size < self.n_clusters:
            warnings.warn(
                f"init_size={self.init_size} should be larger than n_clusters="
                f"{self.n_clusters}. Setting it to min(3*n_clusters, n_samples)",
                RuntimeWarning, stacklevel=3)
            self._init_size = 3 * self.n_clusters
        else:
            self._init_size = self.init_size
        self._init_size = min(self._init_size, n_samples)

    def _init_array(self, X):
        """The validated ``init`` array, or None when init is a method."""
        if isinstance(self.init, str) or callable(self.init):
            return None
        return self._validate_centers(self.init, X, "init")

    def _init_centroids(self, batches, random_state, init_array):
        """Initial centres from ``init_size`` random samples (all when there are no more)."""
        X, x_squared_norms, sample_weight = batches.X, batches.x_squared_norms, \
            batches.sample_weight
        if x_squared_norms is None and self._init_size >= batches.n_samples:
            x_squared_norms = ops.row_squared_norms(X)  # memory-mapped, but small
        if self._init_size < batches.n_samples:
            X, x_squared_norms, sample_weight = batches.subset(
                batches.subset_rows(self._init_size, random_state))
            if sp.issparse(X):
                X = _prepare_csr(X)
        if init_array is not None:
            return init_array
        if isinstance(self.init, str) and self.init == "k-means++":
            return _kmeans_plusplus(X, self.n_clusters, x_squared_norms, sample_weight,
                                    random_state)[0]
        if isinstance(self.init, str) and self.init == "random":
            return random_centers(X, self.n_clusters, sample_weight, random_state)
        centers = self.init(X, self.n_clusters, random_state=random_state)
        if sp.issparse(centers):
            centers = centers.toarray()
        return self._validate_centers(centers, X, "centers returned by init")

    # --------------------------------------------------------------------- fit

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None, sample_weight=None):
        """Compute the centres on mini-batches drawn from X.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Training samples. Dense float32 is kept as float32; sparse input
            is used as CSR without densifying. A memory-mapped float32/float64
            C-contiguous array is never copied: batches gather their rows from
            the mapping and the checks and the final labels run by row
            blocks; the fit holds 12 bytes a row (float64 weights, int32
            ``labels_``) besides the batches and a few blocks.
        y : Ignored
            Not used, present for API consistency.
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative weights of the samples (None: all ones). Batches are
            drawn with probability proportional to them; the 'k-means++' and
            'random' initialisations use them too.

        Returns
        -------
        self : object
            The fitted estimator.

        Examples
        --------
        >>> import numpy as np
        >>> from skunsup.cluster import MiniBatchKMeans
        >>> X = np.array([[0.0], [0.2], [5.0], [5.2]])
        >>> MiniBatchKMeans(n_clusters=2, random_state=0).fit(X).cluster_centers_.shape
        (2, 1)
        """
        X, x_squared_norms = self._validate_training_data(X, reset=True, blockwise=True)
        self._check_params_vs_input(X)
        random_state = check_random_state(self.random_state)
        sample_weight = _validate_sample_weight(sample_weight, X.shape[0])
        init_array = self._init_array(X)
        if x_squared_norms is None:  # memory-mapped: checked and batched by blocks
            blocks = MappedBlocks(X, None, block_rows_for(X.shape[0], X.shape[1],
                                                          X.dtype.itemsize))
            variance = float(np.mean(blocks.scan("MiniBatchKMeans")[1]))
            batches = BlockBatches(X, sample_weight, self._batch_size, variance)
        else:
            batches = MemoryBatches(X, sample_weight, x_squared_norms, self._batch_size)
        self._tol = 0.0 if self.tol == 0 else batches.mean_feature_variance() * self.tol

        # the initialisations are compared on one validation set of init_size
        # samples; a single one, unless verbose prints its inertia, needs none (its
        # rows are drawn all the same: the same random stream either way)
        valid_rows = batches.subset_rows(self._init_size, random_state)
        compare = self._n_init > 1 or self.verbose
        if compare:
            X_valid, norms_valid, weight_valid = batches.subset(valid_rows)
        best_inertia = None
        stopped_in_init = False
        try:
            for trial in range(self._n_init):
                if self.verbose:
                    print(f"Init {trial + 1}/{self._n_init} with method {self.init}")
                centers = self._init_centroids(batches, random_state, init_array)
                if not compare:
                    init_centers = centers
                    break
                _, distances = ops.assign_labels(X_valid, centers,
                                                 x_squared_norms=norms_valid)
                inertia = ops.weighted_total(weight_valid, distances)
                if self.verbose:
                    print(f"Inertia for init {trial + 1}/{self._n_init}: {inertia}")
                if best_inertia is None or inertia < best_inertia:
                    init_centers, best_inertia = centers, inertia
        except KeyboardInterrupt:  # Ctrl-C: the best initialisation so far, no step
            if best_inertia is None:
                raise
            stopped_in_init = True
            warn_interrupted(self, f"{trial} of {self._n_init} initialisations",
                             "the best of them, before any mini-batch step", stacklevel=3)

        counts = np.zeros(self.n_clusters, dtype=np.float64)
        n_samples = X.shape[0]
        interrupted = []  # the whole mini-batch steps when Ctrl-C stopped them
        if stopped_in_init:
            centers, n_steps, n_since_last_reassign = init_centers, 0, 0
            mean_inertia = best_inertia / float(weight_valid.sum())
        else:
            centers, n_steps, mean_inertia, n_since_last_reassign = minibatch_loop(
                batches, init_centers, counts, 0,
                n_steps=(self.max_iter * n_samples) // self._batch_size, tol=self._tol,
                max_no_improvement=self.max_no_improvement,
                reassignment_ratio=self.reassignment_ratio, random_state=random_state,
                verbose=self.verbose, callback=self._loop_callback()[0],
                callback_every=self.callbacks_every_iters, on_interrupt=interrupted.append)
        if interrupted:
            warn_interrupted(self, f"{n_steps} mini-batch steps", "the centres after them",
                             stacklevel=3)
        # the labels before any attribute: an interrupt of their pass changes nothing
        if self.compute_labels:
            self.labels_, self.inertia_ = batches.labels_inertia(centers)
        else:
            self.inertia_ = mean_inertia * float(sample_weight.sum())
        self._counts, self._n_since_last_reassign = counts, n_since_last_reassign
        self.cluster_centers_ = centers
        self._n_features_out = centers.shape[0]
        self.n_steps_ = n_steps
        self.n_iter_ = int(np.ceil(n_steps * self._batch_size / n_samples))
        return self

    @_fit_context(prefer_skip_nested_validation=True)
    def partial_fit(self, X, y=None, sample_weight=None):
        """Update the centres with one mini-batch step on X.

        The first call initialises the centres on X (its ``init_size``
        samples at most; ``n_init`` is not used), every call then makes one
        step on the whole of X with the given weights.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            The batch.
        y : Ignored
            Not used, present for API consistency.
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative weights of the batch's samples (None: all ones).

        Returns
        -------
        self : object
            The updated estimator.

        Examples
        --------
        >>> import numpy as np
        >>> from skunsup.cluster import MiniBatchKMeans
        >>> km = MiniBatchKMeans(n_clusters=2, random_state=0)
        >>> for batch in np.split(np.array([[0.0], [9.0], [0.2], [9.2]]), 2):
        ...     km = km.partial_fit(batch)
        >>> km.n_steps_, sorted(np.round(km.cluster_centers_.ravel()).tolist())
        (2, [0.0, 9.0])
        """
        has_centers = hasattr(self, "cluster_centers_")
        X, x_squared_norms = self._validate_training_data(X, reset=not has_centers)
        if not hasattr(self, "_random_state"):
            self._random_state = check_random_state(self.random_state)
        sample_weight = _validate_sample_weight(sample_weight, X.shape[0])
        self.n_steps_ = getattr(self, "n_steps_", 0)
        if not has_centers:
            self._check_params_vs_input(X)
            batches = MemoryBatches(X, sample_weight, x_squared_norms, self._batch_size)
            self.cluster_centers_ = self._init_centroids(batches, self._random_state,
                                                         self._init_array(X))
            self._counts = np.zeros(self.n_clusters, dtype=np.float64)
            self._n_since_last_reassign = 0
        reassign, self._n_since_last_reassign = reassignment_due(
            self._counts, self._n_since_last_reassign, self._batch_size)
        centers = np.ascontiguousarray(self.cluster_centers_, dtype=X.dtype)
        with step_threads(X.shape[0], sp.issparse(X)):
            self.cluster_centers_, _ = minibatch_step(
                X, sample_weight, centers, self._counts, x_squared_norms=x_squared_norms,
                random_state=self._random_state, reassign=reassign,
                reassignment_ratio=self.reassignment_ratio, verbose=self.verbose)
        if self.compute_labels:
            labels, distances = ops.assign_labels(X, self.cluster_centers_,
                                                  x_squared_norms=x_squared_norms)
            self.labels_, self.inertia_ = labels, ops.weighted_total(sample_weight, distances)
        self.n_steps_ += 1
        self._n_features_out = self.cluster_centers_.shape[0]
        return self
