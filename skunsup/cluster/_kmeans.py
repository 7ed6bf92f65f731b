"""K-means clustering: Lloyd's algorithm on numba kernels, k-means++ seeding."""

import warnings

import numpy as np
import scipy.sparse as sp
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils import check_random_state
from sklearn.utils.validation import validate_data

from skunsup.cluster import _kmeans_ops as ops
from skunsup.cluster._kmeans_base import _BaseKMeans
from skunsup.cluster._lloyd import lloyd
from skunsup.cluster._lloyd_blocks import (
    BlockLloyd,
    as_blockwise,
    is_blockwise_input,
    validate_blocks,
)
from skunsup.cluster._lloyd_memory import MemoryLloyd
from skunsup.cluster._lloyd_torch import TorchLloyd, torch_unsupported
from skunsup.cluster._seeding import _validate_sample_weight
from skunsup.utils._callbacks import warn_interrupted
from skunsup.utils._dask import is_dask_array
from skunsup.utils._sklearn_compat import StrOptions, _fit_context
from skunsup.utils._torch import DeviceOptions, fit_device


class KMeans(_BaseKMeans):
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

        - 'lloyd': on dense data, the faster of two pruned steps by a cost
          model measured at the start of every run: Hamerly's bound per
          sample (with Yinyang's grouped bounds when there are more than 4
          centres), or, when a probe of the data finds the clusters so well
          separated that Elkan's inequality leaves each sample at most a
          tenth of the centres to measure, the 'elkan' step below; the
          samples that may change cluster are searched by a direct loop or a
          matrix product. On sparse data, every distance of every sample in
          fused passes.
        - 'elkan': on dense data, each sample starts at its previous centre
          and measures only the centres closer to that centre than twice its
          distance to it (Elkan's inequality between centres; no bounds are
          stored per sample). Fastest on well-separated clusters in few
          dimensions; on sparse data, and for a single cluster (with a
          warning), the same as 'lloyd'.

        Small problems (at most about 2 million multiply-adds per step, e.g.
        2,000 x 20 with 50 clusters) run every step with NumPy's matrix
        product whichever is chosen: a step there takes about a millisecond,
        less than compiling a numba kernel (seconds, on a machine's first
        fit) could ever save.

    callbacks : callable or list of callables, default=None
        Called every ``callbacks_every_iters`` Lloyd iterations as
        ``callback(estimator, iteration, inertia, centers)``: the estimator,
        the iteration of the current run (runs of ``n_init`` count from 1
        each), the inertia of that iteration's assignment (the value
        ``verbose`` prints) and a copy of the centres it moved to. A callback
        that returns True ends the fit: the run stops as if ``max_iter`` were
        reached there, no further run starts, and the best run so far is
        kept. Works for in-memory and Dask data alike. Ctrl-C
        (``KeyboardInterrupt``) ends a fit the same way, with a warning: the
        interrupted run stops at its last whole iteration with every sample
        assigned afresh to those centres, and the best run so far is kept
        (only an interrupt during the first run's seeding, with nothing to
        keep, propagates).

    callbacks_every_iters : int, default=1
        Iterations between two calls of the callbacks.

    device : {'cpu', 'cuda', 'auto'} or 'cuda:<index>', default='cpu'
        Where the fit runs. 'cpu': the numba kernels described here. 'cuda'
        (or a CUDA device by its index): the seeding and the Lloyd
        iterations run on the GPU with torch (fused matrix products and
        argmin, float64 sums; ``algorithm`` is not used there), a
        ValueError if torch sees no CUDA device. 'auto': 'cuda' when torch
        is installed and sees a CUDA device, else 'cpu'. The fitted
        attributes are numpy arrays either way, and ``predict``,
        ``transform`` and ``score`` run on the CPU. Dense data only: sparse
        matrices and Dask arrays are fitted on the CPU ('cuda' refuses
        them). See :ref:`gpu`.

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
        **_BaseKMeans._parameter_constraints,
        "copy_x": ["boolean"],
        "algorithm": [StrOptions({"lloyd", "elkan"})],
        "device": [DeviceOptions({"cpu", "cuda", "auto"})],
    }

    def __init__(self, n_clusters=8, *, init="k-means++", n_init="auto", max_iter=300,
                 tol=1e-4, verbose=0, random_state=None, copy_x=True, algorithm="lloyd",
                 callbacks=None, callbacks_every_iters=1, device="cpu"):
        self.n_clusters = n_clusters
        self.init = init
        self.n_init = n_init
        self.max_iter = max_iter
        self.tol = tol
        self.verbose = verbose
        self.random_state = random_state
        self.copy_x = copy_x
        self.algorithm = algorithm
        self.callbacks = callbacks
        self.callbacks_every_iters = callbacks_every_iters
        self.device = device

    # ------------------------------------------------------------------ checks

    def _check_params_vs_input(self, executor):
        """Data-dependent checks and values: tol in data units, n_init."""
        if executor.n_samples < self.n_clusters:
            raise ValueError(
                f"n_samples={executor.n_samples} should be >= n_clusters={self.n_clusters}.")
        if self.tol == 0:
            self._tol = 0.0
        else:
            self._tol = float(np.mean(executor.feature_variances()) * self.tol)
        self._resolve_n_init(default_n_init=10)

    def _memory_step(self, X):
        """The in-memory assignment step that ``algorithm`` names for X."""
        if self.algorithm == "elkan":
            if self.n_clusters == 1:
                warnings.warn(
                    "algorithm='elkan' doesn't make sense for a single cluster. Using "
                    "'lloyd' instead.", RuntimeWarning, stacklevel=4)
            elif not sp.issparse(X) and not ops.is_small(X, self.n_clusters):
                return "elkan"  # (a small problem runs one NumPy step for either)
        return "auto"

    def _executor(self, X, sample_weight):
        """Validate X and return the executor of Lloyd's algorithm where X lives."""
        X = as_blockwise(X)  # an HDF5/zarr-like array: read by row blocks, as a mapped file
        device = fit_device(self.device, "KMeans", unsupported=torch_unsupported(X))
        if device is not None:  # on a torch device: _lloyd_torch
            X = validate_data(self, X, dtype=[np.float64, np.float32], order="C")
            return TorchLloyd(X, _validate_sample_weight(sample_weight, X.shape[0]), device)
        if is_dask_array(X):  # k-means|| and Lloyd on the blocks: _kmeans_dask
            from skunsup.cluster._kmeans_dask import DaskLloyd

            return DaskLloyd(X, sample_weight, estimator=self)
        if is_blockwise_input(X):  # memory-mapped: Lloyd over row blocks, _lloyd_blocks
            X = validate_blocks(self, X, reset=True)  # values checked by BlockLloyd's pass
            if sample_weight is not None:
                sample_weight = _validate_sample_weight(sample_weight, X.shape[0])
            return BlockLloyd(X, sample_weight, self.n_clusters, step=self._memory_step(X))
        X, x_squared_norms = self._validate_in_memory(X, reset=True)
        sample_weight = _validate_sample_weight(sample_weight, X.shape[0])
        return MemoryLloyd(X, sample_weight, x_squared_norms, self._memory_step(X))

    def _init_centroids(self, executor, random_state):
        if isinstance(self.init, str) and self.init == "k-means++":
            return executor.kmeans_plusplus(self.n_clusters, random_state)
        if isinstance(self.init, str) and self.init == "random":
            return executor.random_centers(self.n_clusters, random_state)
        centers = self.init(executor.X, self.n_clusters, random_state=random_state)
        if is_dask_array(centers):
            centers = centers.compute()
        if sp.issparse(centers):
            centers = centers.toarray()
        return self._validate_centers(centers, executor.X, "centers returned by init")

    # --------------------------------------------------------------------- fit

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None, sample_weight=None):
        """Compute the k-means clustering.

        Parameters
        ----------
        X : {array-like, sparse matrix, dask array} of shape (n_samples, n_features)
            Training samples. Dense float32 is kept as float32; sparse input
            is used as CSR without densifying; a Dask array is fitted block
            by block on its cluster (``labels_`` is then a lazy Dask array).
            A memory-mapped float32/float64 C-contiguous array (``np.memmap``,
            ``np.load(..., mmap_mode='r')``) is read in row blocks of about
            16 MiB and never copied: besides a few blocks, the fit holds 4
            bytes a row (the int32 labels; 8 with ``n_init > 1``), 8 (float32
            data) or 12 (float64) during the k-means|| seeding, and the
            float64 ``sample_weight`` when given.
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
        executor = self._executor(X, sample_weight)
        self._check_params_vs_input(executor)
        random_state = check_random_state(self.random_state)
        init_array = None
        if not isinstance(self.init, str) and not callable(self.init):
            init_array = self._validate_centers(self.init, executor.X, "init")

        callback, stopped = self._loop_callback()
        interrupted = []  # the whole iterations of a run that Ctrl-C stopped
        best = None
        try:
            for run in range(1, self._n_init + 1):
                centers_init = (init_array if init_array is not None
                                else self._init_centroids(executor, random_state))
                if self.verbose:
                    print("Initialization complete")
                centers, inertia, n_iter = lloyd(
                    executor, centers_init, max_iter=self.max_iter, tol=self._tol,
                    verbose=self.verbose, callback=callback,
                    callback_every=self.callbacks_every_iters,
                    on_interrupt=interrupted.append)
                labels, n_distinct = executor.result()
                if best is None or (inertia < best[1] and not executor.same_clustering(
                        labels, best[0], self.n_clusters)):
                    best = (labels, inertia, centers, n_iter, n_distinct)
                if stopped or interrupted:
                    break
        except KeyboardInterrupt:  # between Lloyd runs (seeding): the best run is kept
            if best is None:
                raise
            warn_interrupted(self, f"{run - 1} of {self._n_init} runs", "the best of them",
                             stacklevel=3)
        if interrupted:
            warn_interrupted(self, f"{interrupted[0]} iterations of run {run} of "
                             f"{self._n_init}", "the best of the runs so far (the "
                             "interrupted one at its last whole iteration)", stacklevel=3)
        labels, inertia, centers, n_iter, n_distinct = best

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
