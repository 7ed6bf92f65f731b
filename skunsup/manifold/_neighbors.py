"""Nearest-neighbour search behind one small API, for the affinity layer.

:func:`build_knn_index` returns ``(index, indices, distances)``: the index for
later queries, and the ``k`` nearest neighbours of every training point
(excluding the point itself), sorted by increasing distance. Distances are
the metric's own values (for ``"euclidean"``, not squared).
``index.query(X_new, k)`` gives the neighbours of new points among the
training points.

Methods:

* ``"exact"``: for the Euclidean metric on dense data, brute force by BLAS
  products on blocks of rows with a Numba top-k selection
  (:mod:`._knn_kernels`), the chosen neighbours' distances recomputed in
  float64; every other metric, sparse data and sparse precomputed distance
  graphs go through :class:`sklearn.neighbors.NearestNeighbors` (which keeps
  sparse data sparse, and takes each row's stored entries of a graph as that
  point's candidate neighbours).
* ``"approx"``: NN-descent (``pynndescent``, an optional dependency) for
  large data sets; queries of new points still use the exact search.
* ``"auto"``: ``"exact"`` up to :data:`APPROX_MIN_SAMPLES` training points (measured
  on 2 cores: the brute force takes O(n^2 d) but at BLAS speed, and beats
  NN-descent below that size on 50-dimensional data), ``"approx"`` above
  when pynndescent is installed.
"""

import importlib.util
import warnings
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import scipy.sparse as sp
from sklearn.neighbors import NearestNeighbors
from sklearn.utils import check_random_state
from threadpoolctl import threadpool_limits

from skunsup.manifold._knn_kernels import (
    exact_distances,
    init_heaps,
    resort_rows,
    select_k_smallest,
    sort_heaps,
)
from skunsup.utils._numba import numba_threads, resolve_n_threads

__all__ = ["APPROX_MIN_SAMPLES", "KNNIndex", "build_knn_index"]

# the values of KNNIndex's ``method`` (checked at build)
_METHODS = ("auto", "exact", "approx")

#: "auto" uses NN-descent from this many training points on (see the module doc).
APPROX_MIN_SAMPLES = 200_000

# Query rows per thread task, reference rows per BLAS tile (a 1 MiB float32 tile).
_ROWS = 128
_COLS = 2048


def _has_pynndescent():
    return importlib.util.find_spec("pynndescent") is not None


def _brute_force_knn(Q, R, R_sq, k, exclude_self, n_jobs, Q_exact=None, R_exact=None):
    """k nearest rows of R for every row of Q.

    Blocks of ``_ROWS`` query rows go to a pool of threads; each multiplies
    its block by tiles of ``_COLS`` reference rows (single-threaded float32
    BLAS, so that the product tile stays in cache) and pushes the tile into
    its rows' heaps (numba, GIL released). A few more candidates than ``k``
    are kept, their distances recomputed in float64 from ``Q_exact`` /
    ``R_exact`` (default: Q, R), and the best ``k`` of them returned: float32
    rounding of ``|r|^2 - 2 q.r`` can only swap near-ties, which the exact
    re-ranking puts right.
    """
    m = Q.shape[0]
    n = R.shape[0]
    k_cand = min(k + max(4, k // 8), n - 1 if exclude_self else n)
    keys = np.empty((m, k_cand), dtype=np.float64)
    indices = np.empty((m, k_cand), dtype=np.int64)

    def run_block(start):
        stop = min(start + _ROWS, m)
        block_keys = keys[start:stop]
        block_vals = indices[start:stop]
        init_heaps(block_keys, block_vals)
        tile = np.empty((stop - start, _COLS), dtype=np.float32)
        for col in range(0, n, _COLS):
            c = min(_COLS, n - col)
            products = tile if c == _COLS else np.empty((stop - start, c), np.float32)
            np.matmul(Q[start:stop], R[col:col + c].T, out=products)
            select_k_smallest(products, R_sq, col, start if exclude_self else -1,
                              block_keys, block_vals)
        sort_heaps(block_keys, block_vals)

    n_threads = resolve_n_threads(n_jobs)
    with threadpool_limits(limits=1, user_api="blas"):
        if n_threads == 1:
            for start in range(0, m, _ROWS):
                run_block(start)
        else:
            with ThreadPoolExecutor(max_workers=n_threads) as pool:
                list(pool.map(run_block, range(0, m, _ROWS)))
    distances = keys  # reuse the buffer
    with numba_threads(n_jobs):
        exact_distances(Q if Q_exact is None else Q_exact, R if R_exact is None else R_exact,
                        indices, distances)
    resort_rows(indices, distances)
    return np.ascontiguousarray(indices[:, :k]), np.ascontiguousarray(distances[:, :k])


class KNNIndex:
    """Nearest neighbours among a fixed set of training points.

    Build it with :func:`build_knn_index`, which also returns the neighbours
    of the training points themselves.

    Parameters
    ----------
    metric : str or callable, default="euclidean"
        Any metric of :class:`sklearn.neighbors.NearestNeighbors`, or
        ``"precomputed"``: then the data are distances (training: a square
        ``(n, n)`` matrix; queries: ``(m, n)`` distances to the training points).
    method : {"auto", "exact", "approx"}, default="exact"
        How neighbours are searched (see the module documentation).
    random_state : int, RandomState instance or None, default=None
        Seed of randomised methods (``"approx"``).
    n_jobs : int, default=None
        Parallel jobs for the search (scikit-learn's convention).
    metric_params : dict, default=None
        Keyword arguments of the metric (e.g. ``{"V": ...}`` for Mahalanobis).

    Attributes
    ----------
    n_samples_fit_ : int
        Number of training points.
    method_ : str
        The method used (``"auto"`` resolved).

    Examples
    --------
    >>> import numpy as np
    >>> from skunsup.manifold._neighbors import build_knn_index
    >>> X = np.array([[0.0], [1.0], [3.0], [7.0]])
    >>> index, indices, distances = build_knn_index(X, 2)
    >>> indices.tolist()
    [[1, 2], [0, 2], [1, 0], [2, 1]]
    >>> index.query(np.array([[2.9]]), 1)[0].tolist()
    [[2]]
    """

    def __init__(self, metric="euclidean", method="exact", random_state=None, n_jobs=None,
                 metric_params=None):
        self.metric = metric
        self.method = method
        self.random_state = random_state
        self.n_jobs = n_jobs
        self.metric_params = metric_params

    def _resolve_method(self, n_samples, sparse=False):
        if self.method not in _METHODS:
            raise ValueError(
                f"unknown neighbour search method {self.method!r}; use one of {_METHODS}"
            )
        if self.metric == "precomputed" or sparse:
            return "exact"
        if self.method == "auto":
            if n_samples >= APPROX_MIN_SAMPLES and _has_pynndescent():
                return "approx"
            return "exact"
        if self.method == "approx" and not _has_pynndescent():
            warnings.warn(
                "method='approx' needs the optional package pynndescent "
                "(pip install pynndescent); using the exact search instead",
                UserWarning, stacklevel=3,
            )
            return "exact"
        return self.method

    def build(self, X, n_neighbors):
        """Index ``X`` and return the neighbours of its own points.

        Parameters
        ----------
        X : {ndarray, sparse matrix} of shape (n_samples, n_features) or (n_samples, n_samples)
            Training data, or distances when ``metric="precomputed"`` (a
            sparse graph: each row's stored entries are the candidate
            neighbours; a row needs ``n_neighbors + 1`` of them, as in
            :class:`sklearn.neighbors.NearestNeighbors`, or a ``ValueError``
            is raised).
        n_neighbors : int
            Number of neighbours per point (the point itself excluded),
            ``1 <= n_neighbors < n_samples``.

        Returns
        -------
        indices : ndarray of shape (n_samples, n_neighbors), dtype int64
        distances : ndarray of shape (n_samples, n_neighbors)
            Ascending along each row.
        """
        n_samples = X.shape[0]
        method = self._resolve_method(n_samples, sp.issparse(X))
        if not 1 <= n_neighbors < n_samples:
            raise ValueError(
                f"n_neighbors={n_neighbors} must be at least 1 and less than "
                f"n_samples={n_samples}"
            )
        check_random_state(self.random_state)
        self.n_samples_fit_ = n_samples
        self.method_ = method
        self._nn = None
        self._R = None
        if self.metric == "precomputed" and sp.issparse(X):
            return self._nearest_neighbors(X, n_neighbors)
        if self.metric == "precomputed":
            D = np.asarray(X)
            if D.ndim != 2 or D.shape[0] != D.shape[1]:
                raise ValueError(
                    f"a precomputed distance matrix must be square; got shape {D.shape}"
                )
            masked = np.array(D, dtype=np.float64, copy=True)
            np.fill_diagonal(masked, np.inf)
            return _smallest_per_row(masked, n_neighbors)
        if self.metric == "euclidean" and not sp.issparse(X) and not self.metric_params:
            self._keep_centred(X)
            if method == "approx":
                return self._nn_descent(X, n_neighbors)
            X_exact = np.ascontiguousarray(X)
            return _brute_force_knn(self._R, self._R, self._R_sq, n_neighbors, True,
                                    self.n_jobs, X_exact, X_exact)
        if method == "approx":
            return self._nn_descent(X, n_neighbors)
        return self._nearest_neighbors(X, n_neighbors)

    @classmethod
    def for_queries(cls, X, n_jobs=None):
        """An exact Euclidean index of dense ``X`` for :meth:`query` only (no search of X's own
        neighbours: for a fit whose neighbours were found elsewhere, e.g. on a GPU).

        One pass over X (its mean and a centred float32 copy), as :meth:`build` keeps them.

        Examples
        --------
        >>> import numpy as np
        >>> from skunsup.manifold._neighbors import KNNIndex
        >>> index = KNNIndex.for_queries(np.array([[0.0], [1.0], [3.0], [7.0]]))
        >>> index.query(np.array([[2.9]]), 2)[0].tolist()
        [[2, 1]]
        """
        index = cls("euclidean", "exact", n_jobs=n_jobs)
        index.n_samples_fit_ = X.shape[0]
        index.method_ = "exact"
        index._nn = None
        index._keep_centred(X)
        return index

    def _keep_centred(self, X):
        # centred before the cast to float32: smaller norms, less cancellation
        self._mean = np.asarray(X, dtype=np.float64).mean(axis=0)
        self._R = np.ascontiguousarray(X - self._mean, dtype=np.float32)
        self._R_sq = np.einsum("ij,ij->i", self._R, self._R)

    def centred_reference(self):
        """``(mean, R)``: the training points' float64 mean and their centred float32 copy,
        for a search elsewhere (a GPU); None when the index keeps no such copy (another
        metric, sparse data)."""
        if getattr(self, "_R", None) is None:
            return None
        return self._mean, self._R

    def _nearest_neighbors(self, X, n_neighbors):
        self._nn = NearestNeighbors(metric=self.metric, metric_params=self.metric_params,
                                    n_jobs=self.n_jobs).fit(X)
        distances, indices = self._nn.kneighbors(n_neighbors=n_neighbors, return_distance=True)
        return indices.astype(np.int64, copy=False), distances

    def _nn_descent(self, X, n_neighbors):
        from pynndescent import NNDescent

        rng = check_random_state(self.random_state)
        seed = int(rng.randint(np.iinfo(np.int32).max))
        n_jobs = -1 if self.n_jobs is None else self.n_jobs
        nnd = NNDescent(
            np.asarray(X, dtype=np.float32), metric=self.metric, n_neighbors=n_neighbors + 1,
            random_state=seed, n_jobs=n_jobs, low_memory=True, compressed=True,
        )
        self._nnd = nnd
        indices, distances = nnd.neighbor_graph
        return _drop_self(indices, distances, n_neighbors)

    def query(self, X_new, n_neighbors):
        """The ``n_neighbors`` nearest training points of each new point.

        Parameters
        ----------
        X_new : {ndarray, sparse matrix} of shape (n_new, n_features) or (n_new, n_samples_fit_)
            New points, or their distances to the training points when
            ``metric="precomputed"`` (sparse rows: the stored entries are the
            candidates, at least ``n_neighbors`` per row).
        n_neighbors : int
            ``1 <= n_neighbors <= n_samples_fit_``.

        Returns
        -------
        indices : ndarray of shape (n_new, n_neighbors), dtype int64
        distances : ndarray of shape (n_new, n_neighbors)
            Ascending along each row.
        """
        if not 1 <= n_neighbors <= self.n_samples_fit_:
            raise ValueError(
                f"n_neighbors={n_neighbors} must be between 1 and the "
                f"{self.n_samples_fit_} training points"
            )
        if self._nn is not None:  # sklearn's search: other metrics, sparse data or graphs
            distances, indices = self._nn.kneighbors(X_new, n_neighbors=n_neighbors)
            return indices.astype(np.int64, copy=False), distances
        if self.metric == "precomputed":
            D = np.asarray(X_new, dtype=np.float64)
            if D.ndim != 2 or D.shape[1] != self.n_samples_fit_:
                raise ValueError(
                    "precomputed distances of new points must have one column per "
                    f"training point ({self.n_samples_fit_}); got shape {D.shape}"
                )
            return _smallest_per_row(D, n_neighbors)
        if self._R is not None:
            X_new = np.asarray(X_new)
            if X_new.ndim != 2 or X_new.shape[1] != self._R.shape[1]:
                raise ValueError(
                    f"new points must have {self._R.shape[1]} features; got shape "
                    f"{X_new.shape}"
                )
            Q = np.ascontiguousarray(X_new - self._mean, dtype=np.float32)
            return _brute_force_knn(Q, self._R, self._R_sq, n_neighbors, False, self.n_jobs)
        # NN-descent with another metric
        indices, distances = self._nnd.query(np.asarray(X_new, dtype=np.float32),
                                             k=n_neighbors)
        return indices.astype(np.int64), distances.astype(np.float64)


def _drop_self(indices, distances, k):
    """Remove each point from its own neighbour list (NN-descent includes it, usually first)."""
    n = indices.shape[0]
    own = indices == np.arange(n)[:, None]
    # rows without themselves drop their last (farthest) entry instead
    missing = ~own.any(axis=1)
    own[missing, -1] = True
    keep = ~own
    out_i = indices[keep].reshape(n, -1)[:, :k].astype(np.int64)
    out_d = distances[keep].reshape(n, -1)[:, :k].astype(np.float64)
    return np.ascontiguousarray(out_i), np.ascontiguousarray(out_d)


def _smallest_per_row(D, k):
    """Column indices and values of the ``k`` smallest entries of each row, ascending."""
    part = np.argpartition(D, k - 1, axis=1)[:, :k] if k < D.shape[1] else np.tile(
        np.arange(D.shape[1]), (D.shape[0], 1)
    )
    values = np.take_along_axis(D, part, axis=1)
    order = np.argsort(values, axis=1, kind="stable")
    indices = np.take_along_axis(part, order, axis=1).astype(np.int64)
    distances = np.take_along_axis(values, order, axis=1)
    return np.ascontiguousarray(indices), np.ascontiguousarray(distances)


def build_knn_index(X, n_neighbors, *, metric="euclidean", method="exact",
                    random_state=None, n_jobs=None, metric_params=None):
    """Index ``X`` for neighbour queries and find the neighbours of its points.

    Parameters
    ----------
    X : {ndarray, sparse matrix} of shape (n_samples, n_features) or (n_samples, n_samples)
        Training data, or a square distance matrix (dense, or a sparse graph
        of candidate neighbours) when ``metric="precomputed"``.
    n_neighbors : int
        Neighbours per point, the point itself excluded.
    metric : str or callable, default="euclidean"
        A metric of :class:`sklearn.neighbors.NearestNeighbors`, or ``"precomputed"``.
    method : {"auto", "exact", "approx"}, default="exact"
        Search method (see the module documentation).
    random_state : int, RandomState instance or None, default=None
        Seed of randomised methods.
    n_jobs : int, default=None
        Parallel jobs (scikit-learn's convention).
    metric_params : dict, default=None
        Keyword arguments of the metric.

    Returns
    -------
    index : KNNIndex
        For :meth:`KNNIndex.query` of new points.
    indices : ndarray of shape (n_samples, n_neighbors), dtype int64
        Neighbours of each training point, nearest first, itself excluded.
    distances : ndarray of shape (n_samples, n_neighbors)
        Their metric distances (not squared), ascending.

    Examples
    --------
    >>> import numpy as np
    >>> from skunsup.manifold._neighbors import build_knn_index
    >>> X = np.array([[0.0, 0.0], [0.0, 1.0], [5.0, 5.0]])
    >>> index, indices, distances = build_knn_index(X, 1)
    >>> indices.ravel().tolist(), distances.ravel().round(3).tolist()
    ([1, 0, 1], [1.0, 1.0, 6.403])
    """
    index = KNNIndex(metric=metric, method=method, random_state=random_state, n_jobs=n_jobs,
                     metric_params=metric_params)
    indices, distances = index.build(X, n_neighbors)
    return index, indices, distances
