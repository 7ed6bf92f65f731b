"""Numba kernels of a Lloyd step: assign every row to its nearest centre, accumulate.

The fused steps assign and accumulate the per-cluster weighted sums, weights
and inertia in one pass: :func:`_lloyd_dense_chunked` (chunks of rows, each
chunk's products with the centres on BLAS called from the kernel's threads;
it also assigns alone, and gathers a mini-batch's rows itself),
:func:`_lloyd_dense_from_hints` (every row starts at a hinted centre and
Elkan's bound skips the others) and :func:`_lloyd_csr`;
:func:`_distances_to_assigned_dense` only measures. The Python side (input
normalisation, buffer allocation, the BLAS thread limit, reduction of the
partials) is :mod:`skunsup.cluster._kmeans_ops`.

Every kernel takes C-contiguous arrays and writes into buffers it is given.
Parallel loops run over a fixed number of row groups that depends only on the
shape of the problem (never on the thread count); each group writes its own
slice of a partials array, and the partials are summed afterwards in a fixed
order; a chunk's BLAS product runs on its group's thread alone. Results are
therefore bitwise identical for any number of threads.

Distances are computed as ``||x||^2 - 2 x.c + ||c||^2`` to pick the nearest
centre (the same formula as scikit-learn) and then, for the winner only, as
``sum((x - c)^2)``, so that the inertia and the per-point distances are exact
up to rounding even in float32. A kernel and the inline helper it calls live
in this file: numba's cache does not see edits to jitted helpers in other
files.
"""

import numba
import numpy as np

from skunsup.utils._numba import jit_kernel, jit_parallel


# Relative margin of the hinted step's skip (Elkan's bound): far above the
# rounding of float64 distances, far below any gap that matters.
HINT_SKIP_MARGIN = 1e-9


# ------------------------------------------------------------------------ helpers
#
# Only the hinted step calls this helper. The other kernels write out ``X[i] . c``
# and the squared distance to the winning centre on purpose: those squared
# distances accumulate in the dtype of X and ``_row_squared_distance`` in
# float64 (float32 results would change), and they sit in the hottest loops of
# k-means, where an inline helper has cost speed before
# (manifold/_barnes_hut.py: the Barnes-Hut walk 1.8x slower).


@jit_kernel(inline="always")
def _row_squared_distance(X, i, centers, j):
    """``||X[i] - centers[j]||^2`` accumulated in float64."""
    dist = 0.0
    for f in range(X.shape[1]):
        diff = np.float64(X[i, f]) - np.float64(centers[j, f])
        dist += diff * diff
    return dist


# --------------------------------------------------------------------------- dense


@jit_parallel
def _lloyd_dense_chunked(X, rows, sample_weight, centers, half_sq, chunk_rows,
                         accumulate, labels, distances, sums, weights, inertia):
    """Assignment (+ accumulation) by chunks of rows, each chunk's products on BLAS.

    Every row group walks its rows by chunks of ``chunk_rows``: the chunk (its
    rows of X, or the rows ``rows`` names, gathered into a buffer) times the
    centres on BLAS, called from this thread (the caller keeps BLAS on one
    thread: the parallelism is the groups'), then, while the chunk is in
    cache, the argmin, the exact squared distance to the winner and the
    weighted sums. One pass over X and one thread pool: no BLAS call between
    parallel loops whose idle threads would spin against each other.

    IN: X (n, d), rows (m,) int64 or None (every row of X), sample_weight (m,)
    float64, centers (k, d) C-contiguous (BLAS reads its transpose in place),
    half_sq (k,), chunk_rows, accumulate (False: labels and distances only;
    sums and weights may then be empty).
    OUT: labels (m,) int32, distances (m,) float64 (exact formula), and with
    accumulate sums (G, k, d) float64, weights (G, k) float64; inertia (G,)
    (G groups, G = inertia.shape[0]).
    """
    d = X.shape[1]
    k = centers.shape[0]
    m = X.shape[0] if rows is None else rows.shape[0]
    n_groups = inertia.shape[0]
    for g in numba.prange(n_groups):
        start = g * m // n_groups
        stop = (g + 1) * m // n_groups
        if accumulate:
            sums[g] = 0.0
            weights[g] = 0.0
        acc = 0.0
        buffer = np.empty((0 if rows is None else chunk_rows, d), dtype=X.dtype)
        for chunk_start in range(start, stop, chunk_rows):
            size = min(chunk_rows, stop - chunk_start)
            if rows is None:
                chunk = X[chunk_start:chunk_start + size]
            else:
                for r in range(size):
                    buffer[r] = X[rows[chunk_start + r]]
                chunk = buffer[:size]
            dots = np.dot(chunk, centers.T)
            for r in range(size):
                best = 0
                best_val = np.inf
                for j in range(k):
                    val = half_sq[j] - dots[r, j]
                    if val < best_val:
                        best_val = val
                        best = j
                diff = chunk[r, 0] - centers[best, 0]
                dist = diff * diff
                for f in range(1, d):
                    diff = chunk[r, f] - centers[best, f]
                    dist += diff * diff
                i = chunk_start + r
                labels[i] = best
                distances[i] = dist
                if accumulate:
                    w = sample_weight[i]
                    acc += w * dist
                    weights[g, best] += w
                    for f in range(d):
                        sums[g, best, f] += w * chunk[r, f]
        inertia[g] = acc


@jit_parallel
def _lloyd_dense_from_hints(X, sample_weight, centers, neighbor_order, neighbor_gaps, hints,
                            labels, distances, sums, weights, inertia):
    """Fused Lloyd step that starts every row at a hinted centre and skips by Elkan's bound.

    A centre ``j`` with ``||c_j - c_a|| >= 2 ||x - c_a||`` for the row's best
    centre ``a`` so far cannot be closer than ``a`` (the triangle inequality).
    Each centre's other centres are listed by increasing distance, so a row
    measures only the centres within twice its distance to the best one and
    stops at the first beyond; when a closer centre turns up, the scan starts
    over from that centre's list. With a good hint (last step's label) that is
    one distance per row on well-separated clusters. Exact for any hint;
    distances accumulate in float64.

    IN: X (n, d), sample_weight (n,) float64, centers (k, d), neighbor_order
    (k, k - 1) int64 and neighbor_gaps (k, k - 1) float64 (see
    :func:`~skunsup.cluster._center_geometry.center_neighbors`), hints (n,) int32
    in [0, k).
    OUT: labels (n,) int32, distances (n,) float64, sums (G, k, d) float64,
    weights (G, k) float64, inertia (G,).
    """
    n, d = X.shape
    n_others = neighbor_order.shape[1]
    n_groups = sums.shape[0]
    for g in numba.prange(n_groups):
        start = g * n // n_groups
        stop = (g + 1) * n // n_groups
        sums[g] = 0.0
        weights[g] = 0.0
        acc = 0.0
        for i in range(start, stop):
            best = hints[i]
            best_dist = _row_squared_distance(X, i, centers, best)
            reach = 2.0 * np.sqrt(best_dist) * (1.0 + HINT_SKIP_MARGIN)
            position = 0
            while position < n_others and neighbor_gaps[best, position] < reach:
                j = neighbor_order[best, position]
                dist = _row_squared_distance(X, i, centers, j)
                if dist < best_dist or (dist == best_dist and j < best):
                    best = j
                    best_dist = dist
                    reach = 2.0 * np.sqrt(best_dist) * (1.0 + HINT_SKIP_MARGIN)
                    position = 0
                else:
                    position += 1
            labels[i] = best
            distances[i] = best_dist
            w = sample_weight[i]
            acc += w * best_dist
            weights[g, best] += w
            for f in range(d):
                sums[g, best, f] += w * X[i, f]
        inertia[g] = acc


@jit_parallel
def _distances_to_assigned_dense(X, centers, labels, distances):
    """Exact squared distance of every row to its assigned centre. OUT: distances (n,)."""
    n, d = X.shape
    for i in numba.prange(n):
        c = labels[i]
        diff = X[i, 0] - centers[c, 0]
        dist = diff * diff
        for f in range(1, d):
            diff = X[i, f] - centers[c, f]
            dist += diff * diff
        distances[i] = dist


# ---------------------------------------------------------------------------- CSR


@jit_parallel
def _lloyd_csr(data, indices, indptr, x_sq, sample_weight, centers, half_sq, accumulate,
               labels, distances, sums, weights, inertia):
    """Fused assignment (+ accumulation) for a CSR matrix.

    IN: data, indices, indptr (CSR of shape (n, d)), x_sq (n,) = ||x||^2,
    sample_weight (n,), centers (k, d), half_sq (k,), accumulate (False:
    labels and distances only; sample_weight, sums and weights may then be
    empty).
    OUT: labels, distances (n,), and with accumulate sums (G, k, d), weights
    (G, k); inertia (G,) (G groups, G = inertia.shape[0]).
    The distance of the winner is ``||x||^2 - 2 x.c + ||c||^2`` clipped at 0.
    """
    n = indptr.shape[0] - 1
    k = centers.shape[0]
    n_groups = inertia.shape[0]
    for g in numba.prange(n_groups):
        start = g * n // n_groups
        stop = (g + 1) * n // n_groups
        if accumulate:
            sums[g] = 0.0
            weights[g] = 0.0
        acc = 0.0
        for i in range(start, stop):
            best = 0
            best_val = np.inf
            for j in range(k):
                dot = 0.0
                for p in range(indptr[i], indptr[i + 1]):
                    dot += data[p] * centers[j, indices[p]]
                val = half_sq[j] - dot
                if val < best_val:
                    best_val = val
                    best = j
            dist = max(x_sq[i] + 2.0 * best_val, 0.0)
            labels[i] = best
            distances[i] = dist
            if accumulate:
                w = sample_weight[i]
                acc += w * dist
                weights[g, best] += w
                for p in range(indptr[i], indptr[i + 1]):
                    sums[g, best, indices[p]] += w * data[p]
        inertia[g] = acc
