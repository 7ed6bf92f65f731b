"""Nearest-neighbour search behind one small API, for the affinity layer.

:func:`build_knn_index` returns ``(index, indices, distances)``: the index for
later queries, and the ``k`` nearest neighbours of every training point
(excluding the point itself), sorted by increasing distance. Distances are
the metric's own values (for ``"euclidean"``, not squared).
``index.query(X_new, k)`` gives the neighbours of new points among the
training points. Further search methods (approximate, or exact brute force by
BLAS products) plug in as new ``method`` values behind the same API.
"""

import numpy as np
from sklearn.neighbors import NearestNeighbors
from sklearn.utils import check_random_state

__all__ = ["KNNIndex", "build_knn_index"]

_METHODS = ("exact",)


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
    method : {"exact"}, default="exact"
        How neighbours are searched.
    random_state : int, RandomState instance or None, default=None
        Seed of randomised methods (unused by ``"exact"``).
    n_jobs : int, default=None
        Parallel jobs for the search (scikit-learn's convention).

    Attributes
    ----------
    n_samples_fit_ : int
        Number of training points.

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

    def __init__(self, metric="euclidean", method="exact", random_state=None, n_jobs=None):
        self.metric = metric
        self.method = method
        self.random_state = random_state
        self.n_jobs = n_jobs

    def build(self, X, n_neighbors):
        """Index ``X`` and return the neighbours of its own points.

        Parameters
        ----------
        X : ndarray of shape (n_samples, n_features) or (n_samples, n_samples)
            Training data, or distances when ``metric="precomputed"``.
        n_neighbors : int
            Number of neighbours per point (the point itself excluded),
            ``1 <= n_neighbors < n_samples``.

        Returns
        -------
        indices : ndarray of shape (n_samples, n_neighbors), dtype int64
        distances : ndarray of shape (n_samples, n_neighbors)
            Ascending along each row.
        """
        if self.method not in _METHODS:
            raise ValueError(f"unknown neighbour search method {self.method!r}; use one of {_METHODS}")
        n_samples = X.shape[0]
        if not 1 <= n_neighbors < n_samples:
            raise ValueError(
                f"n_neighbors={n_neighbors} must be at least 1 and less than "
                f"n_samples={n_samples}"
            )
        check_random_state(self.random_state)
        self.n_samples_fit_ = n_samples
        if self.metric == "precomputed":
            D = np.asarray(X)
            if D.ndim != 2 or D.shape[0] != D.shape[1]:
                raise ValueError(
                    f"a precomputed distance matrix must be square; got shape {D.shape}"
                )
            self._nn = None
            masked = np.array(D, dtype=np.float64, copy=True)
            np.fill_diagonal(masked, np.inf)
            return _smallest_per_row(masked, n_neighbors)
        self._nn = NearestNeighbors(metric=self.metric, n_jobs=self.n_jobs).fit(X)
        distances, indices = self._nn.kneighbors(n_neighbors=n_neighbors, return_distance=True)
        return indices.astype(np.int64, copy=False), distances

    def query(self, X_new, n_neighbors):
        """The ``n_neighbors`` nearest training points of each new point.

        Parameters
        ----------
        X_new : ndarray of shape (n_new, n_features) or (n_new, n_samples_fit_)
            New points, or their distances to the training points when
            ``metric="precomputed"``.
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
        if self.metric == "precomputed":
            D = np.asarray(X_new, dtype=np.float64)
            if D.ndim != 2 or D.shape[1] != self.n_samples_fit_:
                raise ValueError(
                    "precomputed distances of new points must have one column per "
                    f"training point ({self.n_samples_fit_}); got shape {D.shape}"
                )
            return _smallest_per_row(D, n_neighbors)
        distances, indices = self._nn.kneighbors(X_new, n_neighbors=n_neighbors)
        return indices.astype(np.int64, copy=False), distances


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
                    random_state=None, n_jobs=None):
    """Index ``X`` for neighbour queries and find the neighbours of its points.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features) or (n_samples, n_samples)
        Training data, or a square distance matrix when ``metric="precomputed"``.
    n_neighbors : int
        Neighbours per point, the point itself excluded.
    metric : str or callable, default="euclidean"
        A metric of :class:`sklearn.neighbors.NearestNeighbors`, or ``"precomputed"``.
    method : {"exact"}, default="exact"
        Search method.
    random_state : int, RandomState instance or None, default=None
        Seed of randomised methods.
    n_jobs : int, default=None
        Parallel jobs (scikit-learn's convention).

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
    index = KNNIndex(metric=metric, method=method, random_state=random_state, n_jobs=n_jobs)
    indices, distances = index.build(X, n_neighbors)
    return index, indices, distances
