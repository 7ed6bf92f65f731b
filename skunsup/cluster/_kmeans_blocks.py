"""The row blocks of a Dask array as the k-means drivers see them, and the moments pass.

:class:`_Blocks` holds the row blocks of X and of the sample weights (one
delayed object per block) with each block's first row, and maps a block task
over them. :func:`_reduce_moments` is the first pass of every Dask fit and of
:func:`~skunsup.cluster.kmeans_parallel`: it checks X and the weights, stores
the blocks' weight totals (from which k-means|| draws its first centre) and
returns the weighted mean and variance of every feature (the variances scale
``tol``). The Lloyd executor (:mod:`skunsup.cluster._kmeans_dask`) and
k-means|| (:mod:`skunsup.cluster._kmeans_parallel`) map their own block tasks
over the same blocks.

Block tasks are plain module-level functions: Dask pickles them by reference.
Inside a block task the kernels run on one numba thread (and one BLAS thread
where they multiply matrices): Dask already runs one task per core (a worker
thread of a ``LocalCluster``, a thread of the threaded scheduler), so more
threads would only oversubscribe the cores.

Dask is imported lazily, inside the functions: importing this module does not
import dask.
"""

import numpy as np

from skunsup.cluster import _kmeans_ops as ops
from skunsup.cluster._lloyd_memory import move_samples_to_empty
from skunsup.utils._dask import (
    as_block,
    block_weights,
    check_dask_sample_weight,
    row_blocks,
)
from skunsup.utils._numba import numba_threads


def _moments_block(X, sample_weight):
    """Weight total, weighted mean and sum of squared deviations of one block."""
    X = as_block(X)
    w = block_weights(sample_weight, X.shape[0])
    n_features = X.shape[1]
    if X.shape[0] == 0:
        return 0.0, np.zeros(n_features), np.zeros(n_features), np.inf, True, True
    weights_ok = bool(np.isfinite(w).all())
    total = float(w.sum()) if weights_ok else np.nan
    if weights_ok and total > 0:
        with numba_threads(1):
            mean, variance = ops.weighted_mean_variance(X, w)
        m2 = variance * total
        x_finite = bool(np.isfinite(mean).all() and np.isfinite(m2).all())
    else:
        mean = np.zeros(n_features)
        m2 = np.zeros(n_features)
        x_finite = bool(np.isfinite(X).all())
    return total, mean, m2, float(w.min()), weights_ok, x_finite


class _Blocks:
    """The row blocks of X and of the weights, with the per-block weight totals."""

    def __init__(self, X, sample_weight):
        self.X = X
        self.dtype = X.dtype
        self.n_features = X.shape[1]
        self.data = row_blocks(X)
        self.weights = check_dask_sample_weight(sample_weight, X)
        self.offsets = np.concatenate([[0], np.cumsum(X.chunks[0])[:-1]]).astype(np.int64)
        self.totals = None

    def __len__(self):
        return len(self.data)

    def map(self, func, *args, with_offset=False):
        import dask

        task = dask.delayed(func, pure=True)
        if with_offset:
            return [task(x, w, *args, int(o))
                    for x, w, o in zip(self.data, self.weights, self.offsets)]
        return [task(x, w, *args) for x, w in zip(self.data, self.weights)]


def _reduce_moments(blocks):
    """Weighted mean and variance of every feature; checks X and the weights."""
    import dask

    parts = dask.compute(*blocks.map(_moments_block))
    blocks.totals, mean, variance = _merge_moments(parts, blocks.n_features,
                                                   where="while reducing the Dask blocks")
    return mean, variance


def _merge_moments(parts, n_features, where):
    """Check and merge the results of :func:`_moments_block` in block order.

    Returns the blocks' weight totals, the weighted mean and the weighted
    variance of every feature (Chan et al.'s pairwise update of the means and
    sums of squared deviations); shared by the Dask and the memory-mapped fits.
    """
    totals = np.array([p[0] for p in parts], dtype=np.float64)
    if not all(p[4] for p in parts):
        raise ValueError("sample_weight contains NaN or infinity.")
    if min(p[3] for p in parts) < 0:
        raise ValueError("sample_weight must be non-negative; negative weights were given.")
    if not all(p[5] for p in parts):
        raise ValueError(f"Input X contains NaN or infinity (found {where}).")
    total = 0.0
    mean = np.zeros(n_features)
    m2 = np.zeros(n_features)
    for block_total, block_mean, block_m2, *_ in parts:
        if block_total <= 0:
            continue
        new_total = total + block_total
        delta = block_mean - mean
        mean = mean + delta * (block_total / new_total)
        m2 = m2 + block_m2 + delta**2 * (total * block_total / new_total)
        total = new_total
    if total <= 0:
        raise ValueError("sample_weight must have at least one positive weight; all are zero.")
    return totals, mean, m2 / total


def _farthest_block(X, sample_weight, centers, n_far, offset):
    """The ``n_far`` positive-weight rows farthest from their centre, with their data."""
    X = as_block(X)
    w = block_weights(sample_weight, X.shape[0])
    with numba_threads(1):
        labels, distances = ops.assign_labels(X, centers)
    # as in memory: rows sitting on their centre are never moved
    positive = np.flatnonzero((w > 0) & (distances > 0))
    order = np.argsort(-distances[positive], kind="stable")[:n_far]
    rows = positive[order]
    return distances[rows], rows + offset, labels[rows], w[rows], X[rows]


def _relocate_from_farthest(parts, empty, sums, weights):
    """Move the empty clusters to the farthest rows of all blocks (:func:`_farthest_block`).

    The farthest rows first, ties broken by their index, as the in-memory fit
    does; in place on ``sums`` and ``weights``.
    """
    dist = np.concatenate([p[0] for p in parts])
    index = np.concatenate([p[1] for p in parts])
    labels = np.concatenate([p[2] for p in parts])
    w = np.concatenate([p[3] for p in parts])
    rows = np.concatenate([p[4] for p in parts])
    order = np.lexsort((index, -dist))[: empty.size]
    move_samples_to_empty(empty, labels[order], w[order], rows[order], sums, weights)
