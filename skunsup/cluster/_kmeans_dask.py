"""The Dask executor of Lloyd's algorithm, and a fitted KMeans on Dask arrays.

:class:`DaskLloyd` implements the step protocol of :mod:`skunsup.cluster._lloyd`
(the loop itself, its stopping rules and verbose lines are written once there)
and the seeding that :class:`~skunsup.cluster.KMeans` asks of an executor
(k-means||, :mod:`skunsup.cluster._kmeans_parallel`); ``predict``,
``transform`` and ``score`` of a fitted KMeans on Dask arrays
(:func:`predict_kmeans`, :func:`transform_kmeans`, :func:`score_kmeans`) are
lazy maps over the blocks.

Every pass over the data is a map over the row blocks of X
(:mod:`skunsup.cluster._kmeans_blocks`) running the same numba kernels as the
in-memory estimator (:func:`~skunsup.cluster._kmeans_ops.lloyd_partials` per
block), followed by a fixed-shape tree reduction of the per-block partial sums
(k x d sums, k weights, the inertia). Only the k x d centres travel to the
workers and only the reduced partials come back, so the client never holds
more than a few k x d arrays. Each block's labels stay on its worker (4 bytes
a row) and start the next step's rows at their current centre, from which
Elkan's bound rules out most of the other centres
(:func:`~skunsup.cluster._kmeans_ops.lloyd_partials_from_hints`). The tree
depends only on the number of blocks, hence the result does not depend on which
worker ran which block, and equals the in-memory fit up to the order of the
float64 sums.

The block tasks are module-level functions whose kernels run on one numba
thread and one BLAS thread (see :mod:`skunsup.cluster._kmeans_blocks`). Dask is
imported lazily, inside the functions: importing this module does not import
dask.
"""

import numpy as np
from sklearn.utils.validation import check_is_fitted

from skunsup.cluster import _kmeans_ops as ops
from skunsup.cluster._center_geometry import center_neighbors
from skunsup.cluster._kmeans_blocks import (
    _Blocks,
    _farthest_block,
    _reduce_moments,
    _relocate_from_farthest,
)
from skunsup.cluster._kmeans_parallel import (
    KMEANS_PARALLEL_OVERSAMPLING,
    KMEANS_PARALLEL_ROUNDS,
    _kmeans_parallel_blocks,
    _random_rows,
)
from skunsup.utils._blas import blas_threads
from skunsup.utils._dask import as_block, block_weights, check_dask_array, tree_reduce
from skunsup.utils._numba import numba_threads

# ------------------------------------------------------------------ block tasks


def _check_finite_block(X):
    if not np.isfinite(X).all():
        raise ValueError("Input X contains NaN or infinity (found in a Dask block).")


def _lloyd_block(X, sample_weight, centers, previous=None, neighbors=None):
    """One Lloyd step on one block: (sums, weights, inertia, n_changed, labels).

    With the block's result of the previous step (whose labels are the hints)
    and the centres' neighbour lists, each row starts at its old centre and
    measures only the centres Elkan's bound cannot rule out; without, the
    matrix product with every centre (and every row counts as changed).
    """
    X = as_block(X)
    w = block_weights(sample_weight, X.shape[0])
    hints = None if previous is None else previous[4]
    with numba_threads(1), blas_threads(1):
        if hints is None:
            labels, sums, weights, inertia, _ = ops.lloyd_partials(X, w, centers)
            n_changed = X.shape[0]
        else:
            labels, sums, weights, inertia, _ = ops.lloyd_partials_from_hints(
                X, w, centers, hints, neighbors)
            n_changed = int(np.count_nonzero(labels != hints))
    return sums, weights, inertia, n_changed, labels


def _add_partials(*parts):
    sums = parts[0][0].copy()
    weights = parts[0][1].copy()
    inertia = parts[0][2]
    n_changed = parts[0][3]
    for part in parts[1:]:
        sums += part[0]
        weights += part[1]
        inertia += part[2]
        n_changed += part[3]
    return sums, weights, inertia, n_changed


def _predict_block(X, centers):
    X = as_block(X)
    _check_finite_block(X)
    with numba_threads(1):
        labels, _ = ops.assign_labels(X, centers)
    return labels


def _transform_block(X, centers):
    """Euclidean distances of every row to every centre (dtype of X)."""
    X = as_block(X)
    _check_finite_block(X)
    c_sq = 2.0 * ops.half_squared_norms(centers)
    with numba_threads(1):
        x_sq = ops.row_squared_norms(X)
    dots = np.asarray(X @ centers.T, dtype=np.float64)
    sq = x_sq[:, None] + c_sq[None, :] - 2.0 * dots
    return np.sqrt(np.maximum(sq, 0.0)).astype(X.dtype, copy=False)


def _score_block(X, sample_weight, centers):
    X = as_block(X)
    _check_finite_block(X)
    w = block_weights(sample_weight, X.shape[0])
    if not np.isfinite(w).all() or np.any(w < 0):
        raise ValueError("sample_weight must be finite and non-negative.")
    with numba_threads(1):
        _, distances = ops.assign_labels(X, centers)
    return ops.weighted_total(w, distances)


def _sum_floats(*values):
    return float(sum(values))


# ---------------------------------------------------------------------- drivers


def _lloyd_pass(blocks, centers, previous=None):
    """One Lloyd step over all blocks: (sums, weights, inertia, n_changed, block results).

    The block results (with their labels) are persisted where they were
    computed and passed to the next step (``previous``), which starts every
    row at its current centre; the labels never reach the client. One graph
    per step: the block tasks and the reduction are submitted together.
    """
    import dask

    centers_delayed = dask.delayed(centers, pure=True)
    if previous is None:
        parts = blocks.map(_lloyd_block, centers_delayed)
    else:
        task = dask.delayed(_lloyd_block, pure=True)
        neighbors = dask.delayed(center_neighbors(centers), pure=True)
        parts = [task(x, w, centers_delayed, p, neighbors)
                 for x, w, p in zip(blocks.data, blocks.weights, previous)]
    *parts, root = dask.persist(*parts, tree_reduce(parts, _add_partials))
    sums, weights, inertia, n_changed = root.compute()
    return sums, weights, inertia, n_changed, parts


def _relocate_empty(blocks, centers, sums, weights):
    """Move empty clusters to the farthest samples, as the in-memory fit does."""
    import dask

    empty = np.flatnonzero(weights <= 0)
    if empty.size == 0:
        return
    parts = dask.compute(*blocks.map(_farthest_block, dask.delayed(centers, pure=True),
                                     int(empty.size), with_offset=True))
    _relocate_from_farthest(parts, empty, sums, weights)


# ------------------------------------------------------- estimator entry points


class DaskLloyd:
    """The executor of Lloyd's algorithm (:mod:`skunsup.cluster._lloyd`) on Dask blocks.

    Validates X (setting the estimator's ``n_features_in_`` as
    ``validate_data`` does) and the weights in one moments pass, seeds by
    k-means|| or weighted random rows, and runs every step as one graph over
    the blocks: each block's labels stay on its worker and start the next
    step's rows at their current centre.

    Parameters
    ----------
    X : dask.array.Array or dask.dataframe.DataFrame of shape (n_samples, n_features)
        Training data, chunked by rows.
    sample_weight : array-like or dask.array.Array of shape (n_samples,) or None
        Non-negative weights.
    estimator : KMeans
        The estimator being fitted (for feature names and counts only).
    """

    def __init__(self, X, sample_weight, estimator):
        self.X = check_dask_array(X, estimator=estimator, reset=True)
        self.dtype = self.X.dtype
        self.n_samples = self.X.shape[0]
        self._blocks = _Blocks(self.X, sample_weight)
        _, self._variances = _reduce_moments(self._blocks)
        self._previous = None
        self._last = None

    def feature_variances(self):
        """Weighted variance of every feature (from the moments pass)."""
        return self._variances

    def kmeans_plusplus(self, n_clusters, random_state):
        """k-means|| centres (Bahmani et al.), the scalable k-means++."""
        return _kmeans_parallel_blocks(self._blocks, n_clusters,
                                       oversampling_factor=KMEANS_PARALLEL_OVERSAMPLING,
                                       n_rounds=KMEANS_PARALLEL_ROUNDS,
                                       random_state=random_state)

    def random_centers(self, n_clusters, random_state):
        """Distinct rows drawn with probability proportional to their weight."""
        return _random_rows(self._blocks, n_clusters, random_state)

    def step(self, centers):
        sums, weights, inertia, n_changed, self._previous = _lloyd_pass(
            self._blocks, centers, self._previous)
        self._last = (inertia, weights)
        return sums, weights, n_changed

    def relocate_empty(self, centers, sums, weights):
        _relocate_empty(self._blocks, centers, sums, weights)

    def assignment_inertia(self, centers):
        return float(self._last[0])

    def moved(self, shift):
        """Nothing to update: the hints are the labels themselves."""

    def finish(self, centers, reassign):
        """A last hinted pass: the labels of the final centres and their inertia.

        Also when the labels did not change (``reassign`` False): the pass is
        what gives the inertia against the final centres.
        """
        _, weights, inertia, _, _ = _lloyd_pass(self._blocks, centers, self._previous)
        self._previous = None
        self._last = (inertia, weights)
        self._centers = centers
        return float(inertia)

    def reassign(self, centers):
        """A last pass without hints (an interrupted step may have left them
        half made): the labels of ``centers`` and their inertia."""
        self._previous = None
        return self.finish(centers, reassign=True)

    def result(self):
        """(lazy labels, number of clusters with weight) of the run just finished."""
        labels = self.X.map_blocks(_predict_block, self._centers, dtype=np.int32,
                                   drop_axis=1)
        return labels, int(np.count_nonzero(self._last[1] > 0))

    @staticmethod
    def same_clustering(labels1, labels2, n_clusters):
        """Lazy labels are not compared: a lower inertia always wins."""
        return False


def _fitted_centers(estimator, X):
    return np.ascontiguousarray(estimator.cluster_centers_, dtype=X.dtype)


def predict_kmeans(estimator, X):
    """``KMeans.predict`` on a Dask array: a lazy Dask array of labels.

    Parameters
    ----------
    estimator : KMeans
        A fitted estimator.
    X : dask.array.Array or dask.dataframe.DataFrame of shape (n_samples, n_features)
        New data, chunked by rows.

    Returns
    -------
    labels : dask.array.Array of shape (n_samples,), dtype int32
        Index of the nearest centre; computed when the caller computes it.
    """
    check_is_fitted(estimator)
    X = check_dask_array(X, estimator=estimator, reset=False)
    return X.map_blocks(_predict_block, _fitted_centers(estimator, X), dtype=np.int32,
                        drop_axis=1)


def transform_kmeans(estimator, X):
    """``KMeans.transform`` on a Dask array: lazy distances to every centre.

    Parameters
    ----------
    estimator : KMeans
        A fitted estimator.
    X : dask.array.Array or dask.dataframe.DataFrame of shape (n_samples, n_features)
        New data, chunked by rows.

    Returns
    -------
    distances : dask.array.Array of shape (n_samples, n_clusters)
        Euclidean distances, dtype of X.
    """
    check_is_fitted(estimator)
    X = check_dask_array(X, estimator=estimator, reset=False)
    centers = _fitted_centers(estimator, X)
    return X.map_blocks(_transform_block, centers, dtype=X.dtype,
                        chunks=(X.chunks[0], (centers.shape[0],)))


def score_kmeans(estimator, X, sample_weight=None):
    """``KMeans.score`` on a Dask array (computed: it is one number).

    Parameters
    ----------
    estimator : KMeans
        A fitted estimator.
    X : dask.array.Array or dask.dataframe.DataFrame of shape (n_samples, n_features)
        New data, chunked by rows.
    sample_weight : array-like or dask.array.Array of shape (n_samples,), default=None
        Non-negative weights.

    Returns
    -------
    score : float
        Minus the weighted sum of squared distances to the nearest centre.
    """
    import dask

    check_is_fitted(estimator)
    X = check_dask_array(X, estimator=estimator, reset=False)
    blocks = _Blocks(X, sample_weight)
    centers = dask.delayed(_fitted_centers(estimator, X), pure=True)
    parts = blocks.map(_score_block, centers)
    return -float(tree_reduce(parts, _sum_floats).compute())
