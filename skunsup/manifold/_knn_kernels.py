"""Numba kernels of the exact brute-force k-nearest-neighbour search.

The squared Euclidean distances of a block of query rows to all reference
rows come from one BLAS product (``|r|^2 - 2 q.r``; the query's own ``|q|^2``
does not change the ranking) computed by the caller outside numba; these
kernels select the ``k`` smallest per row with a bounded max-heap (one
comparison for most candidates) and then recompute the distances of the
chosen neighbours exactly in float64.

Rows are independent (each block of rows is handled by one thread, which
scans the reference tiles in order; strict ``<`` so that the first of equal
keys stays): the result does not depend on the thread count.
"""

import numba
import numpy as np

from skunsup.utils._numba import jit_kernel, jit_parallel

__all__ = ["exact_distances", "init_heaps", "resort_rows", "select_k_smallest", "sort_heaps"]


@jit_kernel
def _sift_down(keys, vals, k):
    """Restore the max-heap property of ``keys[:k]`` from the root (vals follow keys)."""
    pos = 0
    while True:
        left = 2 * pos + 1
        if left >= k:
            break
        largest = left
        right = left + 1
        if right < k and (keys[right] > keys[left]
                          or (keys[right] == keys[left] and vals[right] > vals[left])):
            largest = right
        if keys[largest] > keys[pos] or (keys[largest] == keys[pos] and vals[largest] > vals[pos]):
            keys[pos], keys[largest] = keys[largest], keys[pos]
            vals[pos], vals[largest] = vals[largest], vals[pos]
            pos = largest
        else:
            break


@jit_kernel
def init_heaps(keys, vals):
    """Empty heaps: keys +inf, indices beyond any real one (OUT: keys, vals of shape (m, k))."""
    m, k = keys.shape
    for i in range(m):
        for t in range(k):
            keys[i, t] = np.inf
            vals[i, t] = -1 - t


@jit_kernel
def select_k_smallest(products, ref_sq_norms, col_offset, self_offset, keys, vals):
    """Push one tile of candidates into the per-row max-heaps of the k smallest keys.

    Serial (the caller runs one row block per thread, with the BLAS product
    of that block outside numba).

    Parameters
    ----------
    products : ndarray of shape (m, c) (IN; the query's own entry is overwritten)
        ``Q_block @ R_tile.T`` for reference rows ``col_offset .. col_offset + c``.
    ref_sq_norms : ndarray of shape (n,) (IN)
        ``|r_j|^2`` of all reference rows.
    col_offset : int
        Index of the tile's first reference row.
    self_offset : int
        Query row ``i`` of the block is reference row ``self_offset + i``
        and is skipped; -1 when the queries are not reference rows.
    keys, vals : ndarray of shape (m, k) (IN/OUT)
        The heaps (key ``|r|^2 - 2 q.r`` and reference index), root first.
    """
    m, c = products.shape
    k = keys.shape[1]
    for i in range(m):
        row_keys = keys[i]
        row_vals = vals[i]
        own = self_offset + i - col_offset if self_offset >= 0 else -1
        if 0 <= own < c:
            products[i, own] = -np.inf  # its key becomes +inf: never selected
        row = products[i]
        top = row_keys[0]
        for jj in range(c):
            d = ref_sq_norms[col_offset + jj] - row[jj] - row[jj]
            if d < top:
                row_keys[0] = d
                row_vals[0] = col_offset + jj
                _sift_down(row_keys, row_vals, k)
                top = row_keys[0]


@jit_kernel
def sort_heaps(keys, vals):
    """Heap-sort every row in place: ascending (key, index)."""
    m, k = keys.shape
    for i in range(m):
        row_keys = keys[i]
        row_vals = vals[i]
        for end in range(k - 1, 0, -1):
            row_keys[0], row_keys[end] = row_keys[end], row_keys[0]
            row_vals[0], row_vals[end] = row_vals[end], row_vals[0]
            _sift_down(row_keys, row_vals, end)


@jit_parallel
def exact_distances(Q, R, indices, distances_out):
    """Euclidean distances ``|q_i - r_{indices[i, t]}|`` in float64 (OUT: distances_out)."""
    m, k = indices.shape
    dim = Q.shape[1]
    for i in numba.prange(m):
        for t in range(k):
            j = indices[i, t]
            s = 0.0
            for c in range(dim):
                diff = np.float64(Q[i, c]) - np.float64(R[j, c])
                s += diff * diff
            distances_out[i, t] = np.sqrt(s)


@jit_kernel
def resort_rows(indices, distances):
    """Re-sort each row by (exact distance, index) in place after the float64 recomputation."""
    m, k = indices.shape
    for i in range(m):
        # insertion sort: rows are short and already nearly sorted
        for a in range(1, k):
            d = distances[i, a]
            j = indices[i, a]
            b = a - 1
            while b >= 0 and (distances[i, b] > d or (distances[i, b] == d and indices[i, b] > j)):
                distances[i, b + 1] = distances[i, b]
                indices[i, b + 1] = indices[i, b]
                b -= 1
            distances[i, b + 1] = d
            indices[i, b + 1] = j
