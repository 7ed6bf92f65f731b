"""Numba kernels of k-means: Lloyd steps (dense and CSR), k-means++ trials, bounds.

Every kernel takes C-contiguous arrays and writes into buffers it is given.
Parallel loops run over a fixed number of row groups that depends only on the
shape of the problem (never on the thread count); each group writes its own
slice of a partials array, and the partials are summed afterwards in a fixed
order. Results are therefore bitwise identical for any number of threads.

Distances are computed as ``||x||^2 - 2 x.c + ||c||^2`` to pick the nearest
centre (the same formula as scikit-learn) and then, for the winner only, as
``sum((x - c)^2)``, so that the inertia and the per-point distances are exact
up to rounding even in float32.

The public entry point for a block of samples is :func:`lloyd_partials`: it
returns the labels, the weighted sums and weights per cluster and the inertia
of one block, which is what a distributed k-means reduces over blocks.
"""

import numba
import numpy as np
import scipy.sparse as sp

from skunsup.utils._numba import jit_kernel, jit_parallel

# Row groups: at most MAX_GROUPS, at least MIN_GROUP_ROWS rows each, and the
# float64 partial sums of all groups within PARTIALS_BYTES.
MAX_GROUPS = 16
MIN_GROUP_ROWS = 256
PARTIALS_BYTES = 32 * 2**20
# Rows per matrix product in the BLAS assignment paths: at least
# BLAS_BLOCK_ROWS, and about PRODUCT_BLOCK_ELEMENTS products per block. Each
# block alternates a BLAS call and a numba parallel loop, two thread pools
# whose idle threads spin a while: small blocks made them fight for the cores
# (plain Lloyd steps on 20,000,000 x 32, k = 100: 41 s an iteration with
# 4,096-row blocks).
BLAS_BLOCK_ROWS = 4096
PRODUCT_BLOCK_ELEMENTS = 2**24

# Up to this many clusters a direct loop (one pass over X) beats the product.
DIRECT_MAX_CLUSTERS = 32
# Centres per Yinyang group: 40 iterations on Fashion-MNIST from the same
# k-means++ centres took 0.068 s an iteration with 4 (k = 100; 0.076 s with 8,
# 0.077 s with 12) and 0.113 s with 4 or 8 (k = 256). The bounds take
# 8 * n_clusters / CENTERS_PER_GROUP bytes per sample.
CENTERS_PER_GROUP = 4

# Relative margin of the hinted step's skip (Elkan's bound): far above the
# rounding of float64 distances, far below any gap that matters.
HINT_SKIP_MARGIN = 1e-9

# Cost of a product computed in a direct loop relative to one inside a BLAS
# matrix product: a pruned step takes the matrix product with every centre
# when Yinyang's local filter would compute more than 1 / DIRECT_PRODUCT_COST
# of the products (and there are more than DIRECT_MAX_CLUSTERS clusters).
DIRECT_PRODUCT_COST = 3.0


def _product_block_rows(n_clusters):
    """Rows per block of the matrix products with the centres."""
    return max(BLAS_BLOCK_ROWS, PRODUCT_BLOCK_ELEMENTS // max(n_clusters, 1))


def n_row_groups(n_samples, n_clusters, n_features):
    """Number of row groups of a parallel reduction (a function of the shape only).

    Parameters
    ----------
    n_samples, n_clusters, n_features : int
        Shape of the problem.

    Returns
    -------
    n_groups : int
        Between 1 and ``MAX_GROUPS``.

    Examples
    --------
    >>> from skunsup.cluster._kmeans_kernels import n_row_groups
    >>> n_row_groups(100, 3, 2), n_row_groups(70000, 10, 784)
    (1, 16)
    """
    by_rows = max(1, n_samples // MIN_GROUP_ROWS)
    by_memory = max(1, PARTIALS_BYTES // max(1, 8 * n_clusters * n_features))
    return int(min(MAX_GROUPS, by_rows, by_memory))


# --------------------------------------------------------------------------- dense


@jit_parallel
def _lloyd_dense_direct(X, sample_weight, centers, half_sq, labels, distances,
                        sums, weights, inertia):
    """Fused assignment + accumulation with a direct distance loop (small k).

    IN: X (n, d), sample_weight (n,) float64, centers (k, d), half_sq (k,) = ||c||^2 / 2.
    OUT: labels (n,) int32, distances (n,) float64 = squared distance to the
    assigned centre, sums (G, k, d) float64, weights (G, k) float64, inertia (G,).
    """
    n, d = X.shape
    k = centers.shape[0]
    n_groups = sums.shape[0]
    for g in numba.prange(n_groups):
        start = g * n // n_groups
        stop = (g + 1) * n // n_groups
        sums[g] = 0.0
        weights[g] = 0.0
        acc = 0.0
        for i in range(start, stop):
            best = 0
            best_val = np.inf
            for j in range(k):
                dot = X[i, 0] * centers[j, 0]
                for f in range(1, d):
                    dot += X[i, f] * centers[j, f]
                val = half_sq[j] - dot
                if val < best_val:
                    best_val = val
                    best = j
            diff = X[i, 0] - centers[best, 0]
            dist = diff * diff
            for f in range(1, d):
                diff = X[i, f] - centers[best, f]
                dist += diff * diff
            labels[i] = best
            distances[i] = dist
            w = sample_weight[i]
            acc += w * dist
            weights[g, best] += w
            for f in range(d):
                sums[g, best, f] += w * X[i, f]
        inertia[g] = acc


@jit_parallel
def _assign_dense_direct(X, centers, half_sq, labels, distances):
    """Nearest centre of every row with a direct loop (no accumulation).

    IN: X (n, d), centers (k, d), half_sq (k,). OUT: labels (n,), distances (n,)
    squared distance to the nearest centre (exact formula).
    """
    n, d = X.shape
    k = centers.shape[0]
    for i in numba.prange(n):
        best = 0
        best_val = np.inf
        for j in range(k):
            dot = X[i, 0] * centers[j, 0]
            for f in range(1, d):
                dot += X[i, f] * centers[j, f]
            val = half_sq[j] - dot
            if val < best_val:
                best_val = val
                best = j
        diff = X[i, 0] - centers[best, 0]
        dist = diff * diff
        for f in range(1, d):
            diff = X[i, f] - centers[best, f]
            dist += diff * diff
        labels[i] = best
        distances[i] = dist


@jit_parallel
def _argmin_from_dots(X, start, dots, centers, half_sq, labels, distances):
    """Labels of rows ``start:start + len(dots)`` from their products with the centres.

    IN: X (n, d), dots (m, k) = X[start:start+m] @ centers.T, half_sq (k,).
    OUT: labels[start:start+m], distances[start:start+m] (exact squared distance).
    """
    m, k = dots.shape
    d = X.shape[1]
    for r in numba.prange(m):
        best = 0
        best_val = np.inf
        for j in range(k):
            val = half_sq[j] - dots[r, j]
            if val < best_val:
                best_val = val
                best = j
        i = start + r
        diff = X[i, 0] - centers[best, 0]
        dist = diff * diff
        for f in range(1, d):
            diff = X[i, f] - centers[best, f]
            dist += diff * diff
        labels[i] = best
        distances[i] = dist


@jit_parallel
def _accumulate_dense(X, sample_weight, labels, distances, sums, weights, inertia):
    """Weighted sums, weights and inertia per cluster from given labels.

    IN: X (n, d), sample_weight (n,), labels (n,), distances (n,).
    OUT: sums (G, k, d), weights (G, k), inertia (G,).
    """
    n, d = X.shape
    n_groups = sums.shape[0]
    for g in numba.prange(n_groups):
        start = g * n // n_groups
        stop = (g + 1) * n // n_groups
        sums[g] = 0.0
        weights[g] = 0.0
        acc = 0.0
        for i in range(start, stop):
            label = labels[i]
            w = sample_weight[i]
            acc += w * distances[i]
            weights[g, label] += w
            for f in range(d):
                sums[g, label, f] += w * X[i, f]
        inertia[g] = acc


@jit_kernel(inline="always")
def _row_squared_distance(X, i, centers, j):
    """``||X[i] - centers[j]||^2`` accumulated in float64."""
    dist = 0.0
    for f in range(X.shape[1]):
        diff = np.float64(X[i, f]) - np.float64(centers[j, f])
        dist += diff * diff
    return dist


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
    :func:`center_neighbors`), hints (n,) int32 in [0, k).
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
def _lloyd_csr(data, indices, indptr, x_sq, sample_weight, centers, half_sq,
               labels, distances, sums, weights, inertia):
    """Fused assignment + accumulation for a CSR matrix.

    IN: data, indices, indptr (CSR of shape (n, d)), x_sq (n,) = ||x||^2,
    sample_weight (n,), centers (k, d), half_sq (k,).
    OUT: labels, distances (n,), sums (G, k, d), weights (G, k), inertia (G,).
    The distance of the winner is ``||x||^2 - 2 x.c + ||c||^2`` clipped at 0.
    """
    n = indptr.shape[0] - 1
    k = centers.shape[0]
    n_groups = sums.shape[0]
    accumulate = n_groups > 0
    for g in numba.prange(max(n_groups, 1)):
        start = g * n // max(n_groups, 1)
        stop = (g + 1) * n // max(n_groups, 1)
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
        if accumulate:
            inertia[g] = acc


@jit_kernel
def _csr_row_sq_norms(data, indptr, out):
    """Squared norm of every CSR row (canonical format). OUT: out (n,) float64."""
    for i in range(indptr.shape[0] - 1):
        acc = 0.0
        for p in range(indptr[i], indptr[i + 1]):
            acc += data[p] * data[p]
        out[i] = acc


# ----------------------------------------------------------------------- k-means++


@jit_parallel
def _kpp_trials_dense(X, x_sq, sample_weight, candidates, cand_sq, closest, nearest,
                      far_enough, trial_dist, pots):
    """Distances of every row to each candidate centre, capped by its current closest.

    IN: X (n, d), x_sq (n,), sample_weight (n,), candidates (L, d), cand_sq (L,),
    closest (n,) squared distance to the nearest chosen centre, nearest (n,) its
    index, far_enough (L, m) squared distances beyond which a candidate cannot
    improve a row (see :func:`kmeans_plusplus_trials`).
    OUT: trial_dist (L, n) = min(closest, ||x - cand||^2), pots (G, L) =
    per-group weighted sums of trial_dist.
    """
    n, d = X.shape
    n_trials = candidates.shape[0]
    n_groups = pots.shape[0]
    for g in numba.prange(n_groups):
        start = g * n // n_groups
        stop = (g + 1) * n // n_groups
        acc = np.zeros(n_trials)
        for i in range(start, stop):
            for t in range(n_trials):
                dist = closest[i]
                if dist > far_enough[t, nearest[i]]:
                    dot = X[i, 0] * candidates[t, 0]
                    for f in range(1, d):
                        dot += X[i, f] * candidates[t, f]
                    dist = min(max(x_sq[i] + cand_sq[t] - 2.0 * dot, 0.0), dist)
                trial_dist[t, i] = dist
                acc[t] += sample_weight[i] * dist
        for t in range(n_trials):
            pots[g, t] = acc[t]


@jit_parallel
def _kpp_trials_csr(data, indices, indptr, x_sq, sample_weight, candidates, cand_sq,
                    closest, nearest, far_enough, trial_dist, pots):
    """CSR twin of :func:`_kpp_trials_dense` (candidates are dense rows)."""
    n = indptr.shape[0] - 1
    n_trials = candidates.shape[0]
    n_groups = pots.shape[0]
    for g in numba.prange(n_groups):
        start = g * n // n_groups
        stop = (g + 1) * n // n_groups
        acc = np.zeros(n_trials)
        for i in range(start, stop):
            for t in range(n_trials):
                dist = closest[i]
                if dist > far_enough[t, nearest[i]]:
                    dot = 0.0
                    for p in range(indptr[i], indptr[i + 1]):
                        dot += data[p] * candidates[t, indices[p]]
                    dist = min(max(x_sq[i] + cand_sq[t] - 2.0 * dot, 0.0), dist)
                trial_dist[t, i] = dist
                acc[t] += sample_weight[i] * dist
        for t in range(n_trials):
            pots[g, t] = acc[t]


@jit_parallel
def _dense_row_sq_norms(X, out):
    """Squared norm of every row, accumulated in float64. OUT: out (n,)."""
    n, d = X.shape
    for i in numba.prange(n):
        acc = 0.0
        for f in range(d):
            v = np.float64(X[i, f])
            acc += v * v
        out[i] = acc


@jit_parallel
def _dense_weighted_moments(X, sample_weight, shift, first, second):
    """Per-group weighted sums of ``X - shift`` and of its square, in one pass.

    IN: X (n, d), sample_weight (n,), shift (d,) float64.
    OUT: first (G, d), second (G, d) float64.
    """
    n, d = X.shape
    n_groups = first.shape[0]
    for g in numba.prange(n_groups):
        start = g * n // n_groups
        stop = (g + 1) * n // n_groups
        first[g] = 0.0
        second[g] = 0.0
        for i in range(start, stop):
            w = sample_weight[i]
            for f in range(d):
                v = np.float64(X[i, f]) - shift[f]
                wv = w * v
                first[g, f] += wv
                second[g, f] += wv * v


# ------------------------------------------------------------------------ Hamerly


@jit_parallel
def _hamerly_bounds_dense(X, centers, labels, upper, lower, half_gap, shift, group_shift,
                          need):
    """Pruning pass: move the bounds and flag the samples that may change cluster.

    Every sample carries an upper bound ``upper`` on the distance to its centre
    and, for every group of centres, a lower bound ``lower[:, g]`` on the
    distance to the centres of the group other than its own (plain, not
    squared, distances; Hamerly's bound when there is one group, Yinyang's
    global filter with several). After the centres moved by ``shift`` the
    upper bound grows by the shift of the own centre and each group bound
    shrinks by the largest shift in the group. A sample whose upper bound is
    below ``max(half_gap[a], min_g lower[:, g])`` (``half_gap[a]`` = half the
    distance from its centre to the nearest other one) cannot change cluster
    and X is not even read for it. Otherwise its upper bound is recomputed
    exactly, and if the test still fails the sample is flagged in ``need`` with
    the number of groups that may hold a closer centre (at least 1).

    IN: X (n, d), centers (k, d), labels (n,), half_gap (k,), shift (k,),
    group_shift (G,). INOUT: upper (n,), lower (n, G). OUT: need (n,) int32.
    """
    n, d = X.shape
    n_bound_groups = lower.shape[1]
    for i in numba.prange(n):
        a = labels[i]
        u = upper[i] + shift[a]
        low = np.inf
        for g in range(n_bound_groups):
            value = lower[i, g] - group_shift[g]
            lower[i, g] = value
            if value < low:
                low = value
        bound = max(half_gap[a], low)
        flagged = 0
        if u > bound:
            diff = X[i, 0] - centers[a, 0]
            dist = diff * diff
            for f in range(1, d):
                diff = X[i, f] - centers[a, f]
                dist += diff * diff
            u = np.sqrt(np.float64(dist))
            if u > bound:
                for g in range(n_bound_groups):
                    if lower[i, g] < u:
                        flagged += 1
        upper[i] = u
        need[i] = flagged


@jit_kernel(inline="always")
def _move_sample(X, row, i, best, sample_weight, labels, sums, weights, counts, part):
    """Move sample ``i`` (data ``X[row]``) from cluster ``labels[i]`` (-1: none) to ``best``.

    Its weight, positive-weight count and weighted row leave the old cluster's
    partials and join ``best``'s in part ``part``; ``labels[i]`` becomes ``best``.
    """
    old = labels[i]
    w = sample_weight[i]
    positive = 1 if w > 0 else 0
    d = X.shape[1]
    if old >= 0:
        weights[part, old] -= w
        counts[part, old] -= positive
        for f in range(d):
            sums[part, old, f] -= w * X[row, f]
    weights[part, best] += w
    counts[part, best] += positive
    for f in range(d):
        sums[part, best, f] += w * X[row, f]
    labels[i] = best


@jit_kernel
def _hamerly_settle(X, row, i, best, vals, group_of, x_sq, sample_weight, centers, half_sq,
                    slack, labels, upper, lower, group_min, group_arg, sums, weights,
                    counts, part):
    """Store the new label and bounds of sample ``i`` and record its move in the partials."""
    k, d = centers.shape
    n_bound_groups = lower.shape[1]
    group_min[:] = np.inf
    group_arg[:] = -1
    for j in range(k):
        if j != best:
            g = group_of[j]
            if vals[j] < group_min[g]:
                group_min[g] = vals[j]
                group_arg[g] = j
    diff = X[row, 0] - centers[best, 0]
    dist = diff * diff
    for f in range(1, d):
        diff = X[row, f] - centers[best, f]
        dist += diff * diff
    upper[i] = np.sqrt(np.float64(dist))
    for g in range(n_bound_groups):
        j = group_arg[g]
        lower[i, g] = np.inf if j < 0 else _lower_bound(x_sq[i], group_min[g], half_sq[j],
                                                         slack)
    if labels[i] != best:
        _move_sample(X, row, i, best, sample_weight, labels, sums, weights, counts, part)


@jit_parallel
def _hamerly_reassign_dense(Xg, dots, index, x_sq, sample_weight, centers, half_sq, slack,
                            group_of, labels, upper, lower, sums, weights, counts):
    """Nearest centre and per-group lower bounds of flagged samples, from their products.

    IN: Xg (m, d) the flagged rows, dots (m, k) = Xg @ centers.T, index (m,) their
    row in the full data, x_sq (n,), sample_weight (n,), centers (k, d),
    half_sq (k,), slack: relative safety margin of the lower bounds,
    group_of (k,) bound group of every centre.
    INOUT at ``index``: labels (-1 = none yet), upper (exact distance to the
    new centre), lower (n, G): distance to the nearest other centre of every
    group, shrunk by the rounding margin of the product formula.
    OUT: sums (P, k, d), weights (P, k), counts (P, k): the changes of the
    clusters' weighted sums, weights and positive-weight counts caused by the
    samples that changed cluster.
    """
    m, k = dots.shape
    n_bound_groups = lower.shape[1]
    n_parts = sums.shape[0]
    for p in numba.prange(n_parts):
        start = p * m // n_parts
        stop = (p + 1) * m // n_parts
        sums[p] = 0.0
        weights[p] = 0.0
        counts[p] = 0
        vals = np.empty(k)
        group_min = np.empty(n_bound_groups)
        group_arg = np.empty(n_bound_groups, dtype=np.int64)
        for r in range(start, stop):
            best = 0
            best_val = np.inf
            for j in range(k):
                val = half_sq[j] - dots[r, j]
                vals[j] = val
                if val < best_val:
                    best_val = val
                    best = j
            _hamerly_settle(Xg, r, index[r], best, vals, group_of, x_sq, sample_weight,
                            centers, half_sq, slack, labels, upper, lower, group_min,
                            group_arg, sums, weights, counts, p)


@jit_parallel
def _hamerly_reassign_direct(X, index, x_sq, sample_weight, centers, half_sq, slack,
                             group_of, labels, upper, lower, sums, weights, counts):
    """Twin of :func:`_hamerly_reassign_dense` computing the products by a direct loop.

    For few clusters (no matrix product, no gathered copy): IN: X (n, d), index (m,)
    the flagged rows, the rest as in :func:`_hamerly_reassign_dense`.
    """
    m = index.shape[0]
    k, d = centers.shape
    n_bound_groups = lower.shape[1]
    n_parts = sums.shape[0]
    for p in numba.prange(n_parts):
        start = p * m // n_parts
        stop = (p + 1) * m // n_parts
        sums[p] = 0.0
        weights[p] = 0.0
        counts[p] = 0
        vals = np.empty(k)
        group_min = np.empty(n_bound_groups)
        group_arg = np.empty(n_bound_groups, dtype=np.int64)
        for r in range(start, stop):
            i = index[r]
            best = 0
            best_val = np.inf
            for j in range(k):
                dot = X[i, 0] * centers[j, 0]
                for f in range(1, d):
                    dot += X[i, f] * centers[j, f]
                val = half_sq[j] - dot
                vals[j] = val
                if val < best_val:
                    best_val = val
                    best = j
            _hamerly_settle(X, i, i, best, vals, group_of, x_sq, sample_weight, centers,
                            half_sq, slack, labels, upper, lower, group_min, group_arg,
                            sums, weights, counts, p)


@jit_kernel
def _row_dot(X, i, centers, j):
    """``X[i] . centers[j]`` in the dtype of X (vectorised by numba)."""
    dot = X[i, 0] * centers[j, 0]
    for f in range(1, X.shape[1]):
        dot += X[i, f] * centers[j, f]
    return dot


@jit_kernel
def _lower_bound(x_sq, val, half_sq_j, slack):
    """Plain distance lower bound from ``val = ||c_j||^2 / 2 - x.c_j`` (inf stays inf)."""
    if val == np.inf:
        return np.inf
    other_sq = x_sq + 2.0 * val
    margin = slack * (x_sq + 2.0 * half_sq_j)
    return np.sqrt(max(other_sq - margin, 0.0))


@jit_parallel
def _yinyang_reassign_direct(X, index, x_sq, sample_weight, centers, half_sq, slack,
                             group_ptr, members, group_of, labels, upper, lower, sums,
                             weights, counts):
    """Nearest centre of flagged samples, visiting only the groups that may hold it.

    Yinyang's local filter (Ding et al. 2015): a group of centres whose lower
    bound ``lower[i, g]`` is not below the exact distance ``upper[i]`` to the
    current centre cannot hold a closer one and is skipped; in the other
    groups every centre's product is computed directly (no matrix product, no
    gathered copy), and their bounds become exact again. Ties go to the lowest
    index, as in a plain Lloyd step.

    IN: X (n, d), index (m,) the flagged rows (each already has a label and an
    exact ``upper``), x_sq (n,), sample_weight (n,), centers (k, d), half_sq (k,),
    slack (rounding margin of the bounds), group_ptr (G + 1,) and members (k,):
    the centres of group g are ``members[group_ptr[g]:group_ptr[g + 1]]``,
    group_of (k,) the group of every centre.
    INOUT at ``index``: labels, upper, lower (n, G).
    OUT: sums (P, k, d), weights (P, k), counts (P, k): the changes of the
    clusters' weighted sums, weights and positive-weight counts.
    """
    m = index.shape[0]
    d = X.shape[1]
    n_bound_groups = lower.shape[1]
    n_parts = sums.shape[0]
    for p in numba.prange(n_parts):
        start = p * m // n_parts
        stop = (p + 1) * m // n_parts
        sums[p] = 0.0
        weights[p] = 0.0
        counts[p] = 0
        first = np.empty(n_bound_groups)
        first_arg = np.empty(n_bound_groups, dtype=np.int64)
        second = np.empty(n_bound_groups)
        second_arg = np.empty(n_bound_groups, dtype=np.int64)
        examined = np.zeros(n_bound_groups, dtype=np.uint8)
        for r in range(start, stop):
            i = index[r]
            own = labels[i]
            u = upper[i]
            own_val = half_sq[own] - _row_dot(X, i, centers, own)
            best = own
            best_val = own_val
            for g in range(n_bound_groups):
                if lower[i, g] >= u:
                    examined[g] = 0
                    continue
                examined[g] = 1
                v1 = np.inf
                v2 = np.inf
                a1 = -1
                a2 = -1
                for q in range(group_ptr[g], group_ptr[g + 1]):
                    j = members[q]
                    val = own_val if j == own else half_sq[j] - _row_dot(X, i, centers, j)
                    if val < v1 or (val == v1 and j < a1):
                        v2 = v1
                        a2 = a1
                        v1 = val
                        a1 = j
                    elif val < v2 or (val == v2 and j < a2):
                        v2 = val
                        a2 = j
                    if val < best_val or (val == best_val and j < best):
                        best_val = val
                        best = j
                first[g] = v1
                first_arg[g] = a1
                second[g] = v2
                second_arg[g] = a2
            for g in range(n_bound_groups):
                if examined[g]:
                    if first_arg[g] == best:
                        lower[i, g] = _lower_bound(x_sq[i], second[g],
                                                   half_sq[max(second_arg[g], 0)], slack)
                    else:
                        lower[i, g] = _lower_bound(x_sq[i], first[g],
                                                   half_sq[first_arg[g]], slack)
            if best == own:
                continue
            # the old centre is now an "other" centre of its group
            g_own = group_of[own]
            if not examined[g_own]:
                lower[i, g_own] = min(lower[i, g_own],
                                      _lower_bound(x_sq[i], own_val, half_sq[own], slack))
            diff = X[i, 0] - centers[best, 0]
            dist = diff * diff
            for f in range(1, d):
                diff = X[i, f] - centers[best, f]
                dist += diff * diff
            upper[i] = np.sqrt(np.float64(dist))
            _move_sample(X, i, i, best, sample_weight, labels, sums, weights, counts, p)


# ---------------------------------------------------------------- Python wrappers


def _check_contiguous(X):
    if sp.issparse(X):
        return X
    if not X.flags.c_contiguous:
        raise ValueError("X must be C-contiguous for the k-means kernels.")
    return X


def half_squared_norms(centers):
    """``||c||^2 / 2`` of every centre, in float64.

    Parameters
    ----------
    centers : ndarray of shape (n_clusters, n_features)

    Returns
    -------
    half_sq : ndarray of shape (n_clusters,), dtype float64

    Examples
    --------
    >>> import numpy as np
    >>> from skunsup.cluster._kmeans_kernels import half_squared_norms
    >>> half_squared_norms(np.array([[3.0, 4.0]])).tolist()
    [12.5]
    """
    centers = np.asarray(centers, dtype=np.float64)
    return 0.5 * np.einsum("ij,ij->i", centers, centers)


def row_squared_norms(X):
    """Squared Euclidean norm of every row of a dense or CSR matrix, in float64.

    Parameters
    ----------
    X : {ndarray, csr_matrix} of shape (n_samples, n_features)
        C-contiguous when dense; CSR in canonical format when sparse.

    Returns
    -------
    norms : ndarray of shape (n_samples,), dtype float64

    Examples
    --------
    >>> import numpy as np
    >>> from skunsup.cluster._kmeans_kernels import row_squared_norms
    >>> row_squared_norms(np.array([[3.0, 4.0], [1.0, 0.0]])).tolist()
    [25.0, 1.0]
    """
    out = np.empty(X.shape[0], dtype=np.float64)
    if sp.issparse(X):
        _csr_row_sq_norms(X.data, X.indptr, out)
    else:
        _dense_row_sq_norms(_check_contiguous(X), out)
    return out


def weighted_mean_variance(X, sample_weight):
    """Weighted mean and variance of every column of a dense C-contiguous matrix.

    Computed in one pass over fixed row groups (no copy of X), in float64, from
    the deviations from the first row.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
    sample_weight : ndarray of shape (n_samples,), dtype float64

    Returns
    -------
    mean, variance : ndarray of shape (n_features,), dtype float64

    Examples
    --------
    >>> import numpy as np
    >>> from skunsup.cluster._kmeans_kernels import weighted_mean_variance
    >>> mean, var = weighted_mean_variance(np.array([[0.0], [2.0]]), np.ones(2))
    >>> mean.tolist(), var.tolist()
    ([1.0], [1.0])
    """
    n, d = X.shape
    total = sample_weight.sum()
    n_groups = n_row_groups(n, 1, d)
    first = np.empty((n_groups, d), dtype=np.float64)
    second = np.empty((n_groups, d), dtype=np.float64)
    # shifting by a row keeps the one-pass formula accurate: the sums are of
    # deviations of the order of the spread, not of the values themselves
    shift = X[0].astype(np.float64) if n else np.zeros(d)
    _dense_weighted_moments(_check_contiguous(X), sample_weight, shift, first, second)
    offset = first.sum(axis=0) / total
    variance = np.maximum(second.sum(axis=0) / total - offset * offset, 0.0)
    return shift + offset, variance


def assign_labels(X, centers, *, x_squared_norms=None, out_labels=None, out_distances=None):
    """Nearest centre of every sample and the squared distance to it.

    Parameters
    ----------
    X : {ndarray, csr_matrix} of shape (n_samples, n_features)
        C-contiguous dense data or canonical CSR, same float dtype as ``centers``.
    centers : ndarray of shape (n_clusters, n_features)
        C-contiguous centres.
    x_squared_norms : ndarray of shape (n_samples,), default=None
        Squared row norms (CSR only; computed when None).
    out_labels, out_distances : ndarray, default=None
        Buffers of shape (n_samples,) (int32, float64) to write into.

    Returns
    -------
    labels : ndarray of shape (n_samples,), dtype int32
    distances : ndarray of shape (n_samples,), dtype float64
        Squared Euclidean distance to the assigned centre.

    Examples
    --------
    >>> import numpy as np
    >>> from skunsup.cluster._kmeans_kernels import assign_labels
    >>> X = np.array([[0.0, 0.0], [10.0, 0.0]])
    >>> labels, dist = assign_labels(X, np.array([[9.0, 0.0], [1.0, 0.0]]))
    >>> labels.tolist(), dist.tolist()
    ([1, 0], [1.0, 1.0])
    """
    n = X.shape[0]
    k = centers.shape[0]
    labels = np.empty(n, dtype=np.int32) if out_labels is None else out_labels
    distances = np.empty(n, dtype=np.float64) if out_distances is None else out_distances
    half_sq = half_squared_norms(centers)
    if sp.issparse(X):
        if x_squared_norms is None:
            x_squared_norms = row_squared_norms(X)
        empty = np.empty((0, k, X.shape[1]), dtype=np.float64)
        _lloyd_csr(X.data, X.indices, X.indptr, x_squared_norms, np.empty(0), centers,
                   half_sq, labels, distances, empty, np.empty((0, k)), np.empty(0))
    elif k <= DIRECT_MAX_CLUSTERS:
        _assign_dense_direct(_check_contiguous(X), centers, half_sq, labels, distances)
    else:
        _assign_dense_blas(X, centers, half_sq, labels, distances)
    return labels, distances


def _assign_dense_blas(X, centers, half_sq, labels, distances):
    centers_t = np.ascontiguousarray(centers.T)
    block = _product_block_rows(centers.shape[0])
    for start in range(0, X.shape[0], block):
        dots = X[start:start + block] @ centers_t
        _argmin_from_dots(X, start, dots, centers, half_sq, labels, distances)


def lloyd_partials(X, sample_weight, centers, *, x_squared_norms=None, out_labels=None,
                   out_distances=None):
    """One Lloyd step on a block of samples: labels and per-cluster partial sums.

    The assignment uses the centres given; the sums are what the next centres
    are made of (``sums / weights``). Reducing the outputs of several blocks
    (adding ``sums``, ``weights`` and ``inertia``) gives the step on their union.

    Parameters
    ----------
    X : {ndarray, csr_matrix} of shape (n_samples, n_features)
        C-contiguous float32/float64 data or canonical CSR.
    sample_weight : ndarray of shape (n_samples,), dtype float64
        Non-negative weights.
    centers : ndarray of shape (n_clusters, n_features)
        Current centres, same dtype as X, C-contiguous.
    x_squared_norms : ndarray of shape (n_samples,), default=None
        Squared row norms; only used (and computed when None) for CSR input.
    out_labels, out_distances : ndarray of shape (n_samples,), default=None
        Buffers (int32, float64) to write the labels and squared distances into.

    Returns
    -------
    labels : ndarray of shape (n_samples,), dtype int32
        Index of the nearest centre of every sample.
    sums : ndarray of shape (n_clusters, n_features), dtype float64
        Weighted sum of the samples of every cluster.
    weights : ndarray of shape (n_clusters,), dtype float64
        Total weight of every cluster.
    inertia : float
        Weighted sum of squared distances to the assigned centres.
    distances : ndarray of shape (n_samples,), dtype float64
        Squared distance of every sample to its centre.

    Examples
    --------
    >>> import numpy as np
    >>> from skunsup.cluster._kmeans_kernels import lloyd_partials
    >>> X = np.array([[0.0], [1.0], [10.0], [12.0]])
    >>> labels, sums, weights, inertia, _ = lloyd_partials(
    ...     X, np.ones(4), np.array([[0.0], [10.0]]))
    >>> labels.tolist(), sums.ravel().tolist(), weights.tolist(), inertia
    ([0, 0, 1, 1], [1.0, 22.0], [2.0, 2.0], 5.0)
    """
    k = centers.shape[0]
    labels, distances, sums, weights, inertia = _step_buffers(
        X.shape, k, out_labels, out_distances)
    half_sq = half_squared_norms(centers)
    if sp.issparse(X):
        if x_squared_norms is None:
            x_squared_norms = row_squared_norms(X)
        _lloyd_csr(X.data, X.indices, X.indptr, x_squared_norms, sample_weight, centers,
                   half_sq, labels, distances, sums, weights, inertia)
    elif k <= DIRECT_MAX_CLUSTERS:
        _lloyd_dense_direct(_check_contiguous(X), sample_weight, centers, half_sq, labels,
                            distances, sums, weights, inertia)
    else:
        _assign_dense_blas(_check_contiguous(X), centers, half_sq, labels, distances)
        _accumulate_dense(X, sample_weight, labels, distances, sums, weights, inertia)
    return labels, sums.sum(axis=0), weights.sum(axis=0), float(inertia.sum()), distances


def _step_buffers(shape, n_clusters, out_labels=None, out_distances=None):
    """Outputs of a Lloyd step kernel: labels, distances and per-group partials."""
    n, d = shape
    labels = np.empty(n, dtype=np.int32) if out_labels is None else out_labels
    distances = np.empty(n, dtype=np.float64) if out_distances is None else out_distances
    n_groups = n_row_groups(n, n_clusters, d)
    sums = np.empty((n_groups, n_clusters, d), dtype=np.float64)
    weights = np.empty((n_groups, n_clusters), dtype=np.float64)
    inertia = np.empty(n_groups, dtype=np.float64)
    return labels, distances, sums, weights, inertia


def lloyd_partials_from_hints(X, sample_weight, centers, hints, neighbors=None):
    """:func:`lloyd_partials` for dense X, each row starting at a hinted centre.

    Every row first measures its hinted centre ``a`` (typically its label of
    the previous step), then only the centres closer to ``a`` than twice that
    distance (Elkan's bound): one distance per row when the clusters are well
    separated and the hints right, every centre in the worst case. The result
    does not depend on the hints (up to ties between equally near centres).

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
        C-contiguous float32/float64 data.
    sample_weight : ndarray of shape (n_samples,), dtype float64
    centers : ndarray of shape (n_clusters, n_features)
        Same dtype as X.
    hints : ndarray of shape (n_samples,), int
        A centre index per row, in ``[0, n_clusters)``.
    neighbors : tuple of ndarray, default=None
        ``center_neighbors(centers)`` when already computed.

    Returns
    -------
    labels, sums, weights, inertia, distances
        As :func:`lloyd_partials`; distances are exact, summed in float64.

    Examples
    --------
    >>> import numpy as np
    >>> from skunsup.cluster._kmeans_kernels import lloyd_partials_from_hints
    >>> X = np.array([[0.0], [1.0], [10.0], [12.0]])
    >>> labels, sums, weights, inertia, _ = lloyd_partials_from_hints(
    ...     X, np.ones(4), np.array([[0.0], [10.0]]), np.array([1, 1, 0, 0]))
    >>> labels.tolist(), sums.ravel().tolist(), weights.tolist(), inertia
    ([0, 0, 1, 1], [1.0, 22.0], [2.0, 2.0], 5.0)
    """
    n = X.shape[0]
    k = centers.shape[0]
    hints = np.asarray(hints)
    if hints.shape != (n,) or (n and (hints.min() < 0 or hints.max() >= k)):
        raise ValueError(f"hints must be {n} centre indices in [0, {k}).")
    order, gaps = center_neighbors(centers) if neighbors is None else neighbors
    labels, distances, sums, weights, inertia = _step_buffers(X.shape, k)
    _lloyd_dense_from_hints(_check_contiguous(X), sample_weight, centers, order, gaps,
                            hints.astype(np.int32, copy=False), labels, distances, sums,
                            weights, inertia)
    return labels, sums.sum(axis=0), weights.sum(axis=0), float(inertia.sum()), distances


# Relative margin of the triangle-inequality skip in k-means++ trials: a row is
# skipped only when the candidate is farther than twice its distance to its
# nearest centre by this factor, far beyond the float32 rounding of distances.
KPP_SKIP_MARGIN = 1e-3


def kmeans_plusplus_trials(X, x_squared_norms, sample_weight, candidates, closest,
                           nearest=None, chosen=None):
    """Distances to candidate centres and the potential each candidate would leave.

    With the chosen centres and every sample's nearest one, the triangle
    inequality skips the samples a candidate cannot bring closer: when
    ``||candidate - c||^2 >= 4 ||x - c||^2`` for the sample's nearest centre
    ``c``, then ``||x - candidate|| >= ||x - c||`` (Raff 2021, "Exact
    acceleration of k-means++ and k-means||"). Late in the seeding most
    samples are skipped, and the result is the same.

    Parameters
    ----------
    X : {ndarray, csr_matrix} of shape (n_samples, n_features)
    x_squared_norms : ndarray of shape (n_samples,), dtype float64
    sample_weight : ndarray of shape (n_samples,), dtype float64
    candidates : ndarray of shape (n_trials, n_features)
        Candidate centres (dense, dtype of X).
    closest : ndarray of shape (n_samples,), dtype float64
        Squared distance of every sample to its nearest centre chosen so far.
    nearest : ndarray of shape (n_samples,), dtype intp, default=None
        Index into ``chosen`` of every sample's nearest centre. None: no skipping.
    chosen : ndarray of shape (n_chosen, n_features), default=None
        The centres chosen so far (needed with ``nearest``).

    Returns
    -------
    trial_dist : ndarray of shape (n_trials, n_samples), dtype float64
        ``min(closest, ||x - candidate||^2)`` for every candidate.
    pots : ndarray of shape (n_trials,), dtype float64
        Weighted sum of every row of ``trial_dist``.

    Examples
    --------
    >>> import numpy as np
    >>> from skunsup.cluster._kmeans_kernels import kmeans_plusplus_trials
    >>> X = np.array([[0.0], [1.0], [5.0]])
    >>> dist, pots = kmeans_plusplus_trials(
    ...     X, (X ** 2).ravel(), np.ones(3), np.array([[5.0]]), np.array([0.0, 1.0, 25.0]))
    >>> dist.tolist(), pots.tolist()
    ([[0.0, 1.0, 0.0]], [1.0])
    """
    n = X.shape[0]
    n_trials = candidates.shape[0]
    trial_dist = np.empty((n_trials, n), dtype=np.float64)
    pots = np.empty((n_row_groups(n, n_trials, 1), n_trials), dtype=np.float64)
    cand_sq = 2.0 * half_squared_norms(candidates)
    if nearest is None:
        nearest = np.zeros(n, dtype=np.intp)
        far_enough = np.full((n_trials, 1), -np.inf)
    else:
        far_enough = _squared_gaps(candidates, chosen) / (4.0 * (1.0 + KPP_SKIP_MARGIN))
    if sp.issparse(X):
        _kpp_trials_csr(X.data, X.indices, X.indptr, x_squared_norms, sample_weight,
                        candidates, cand_sq, closest, nearest, far_enough, trial_dist, pots)
    else:
        _kpp_trials_dense(_check_contiguous(X), x_squared_norms, sample_weight, candidates,
                          cand_sq, closest, nearest, far_enough, trial_dist, pots)
    return trial_dist, pots.sum(axis=0)


def _squared_gaps(a, b):
    """Squared distances in float64 between the rows of ``a`` and ``b``, shape (len(a), len(b))."""
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    gaps = (a * a).sum(axis=1)[:, None] + (b * b).sum(axis=1)[None, :] - 2.0 * (a @ b.T)
    return np.maximum(gaps, 0.0)


def center_neighbors(centers):
    """Every centre's other centres, nearest first, with their distances.

    Parameters
    ----------
    centers : ndarray of shape (n_clusters, n_features)

    Returns
    -------
    order : ndarray of shape (n_clusters, n_clusters - 1), dtype int64
        ``order[a]`` lists the centres other than ``a`` by increasing distance.
    gaps : ndarray of shape (n_clusters, n_clusters - 1), dtype float64
        ``gaps[a, p]`` = Euclidean distance from centre ``a`` to ``order[a, p]``.

    Examples
    --------
    >>> import numpy as np
    >>> from skunsup.cluster._kmeans_kernels import center_neighbors
    >>> order, gaps = center_neighbors(np.array([[0.0], [10.0], [3.0]]))
    >>> order.tolist(), gaps.tolist()
    ([[2, 1], [2, 0], [0, 1]], [[3.0, 10.0], [7.0, 10.0], [3.0, 7.0]])
    """
    c = np.asarray(centers, dtype=np.float64)
    k = c.shape[0]
    gaps = np.sqrt(_squared_gaps(c, c))
    np.fill_diagonal(gaps, np.inf)
    order = np.argsort(gaps, axis=1, kind="stable")[:, : k - 1]
    return order.astype(np.int64), np.take_along_axis(gaps, order, axis=1)


def group_centers(centers, n_groups, n_iter=5):
    """Split the centres into groups of nearby ones (a few Lloyd steps on the centres).

    Yinyang k-means keeps one lower bound per group of centres; groups of
    nearby centres keep those bounds tight. Deterministic: the groups start
    from evenly spaced centres.

    Parameters
    ----------
    centers : ndarray of shape (n_clusters, n_features)
        The centres.
    n_groups : int
        Number of groups (at most ``n_clusters``; a group may end up empty).
    n_iter : int, default=5
        Lloyd steps on the centres.

    Returns
    -------
    group_of : ndarray of shape (n_clusters,), dtype int64
        The group of every centre.

    Examples
    --------
    >>> import numpy as np
    >>> from skunsup.cluster._kmeans_kernels import group_centers
    >>> group_centers(np.array([[0.0], [10.0], [0.5], [10.5]]), 2).tolist()
    [0, 1, 0, 1]
    """
    centers = np.asarray(centers, dtype=np.float64)
    n_clusters = centers.shape[0]
    if n_groups <= 1:
        return np.zeros(n_clusters, dtype=np.int64)
    seeds = centers[np.linspace(0, n_clusters - 1, n_groups).astype(np.intp)].copy()
    sq = np.einsum("ij,ij->i", centers, centers)
    for _ in range(n_iter):
        group_of = np.argmin(sq[:, None] - 2.0 * centers @ seeds.T
                             + np.einsum("ij,ij->i", seeds, seeds)[None, :], axis=1)
        for g in range(n_groups):
            mine = group_of == g
            if mine.any():
                seeds[g] = centers[mine].mean(axis=0)
    return group_of.astype(np.int64)


class HamerlyState:
    """Bounds and running sums of accelerated Lloyd iterations on a dense block of samples.

    One object per block: :meth:`step` runs one Lloyd step (assignment with
    pruning) and returns the per-cluster sums; :meth:`moved` tells it how far
    the centres then moved. The result of every step is that of a plain Lloyd
    step up to ties and rounding: the pruning only skips distance
    computations that cannot change a label. The per-cluster sums are kept up
    to date by adding and removing only the samples that change cluster (in
    float64, in a fixed order), so a step reads X only for the samples whose
    bounds fail.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
        C-contiguous float32/float64 data.
    sample_weight : ndarray of shape (n_samples,), dtype float64
        Non-negative weights.
    labels : ndarray of shape (n_samples,), dtype int32
        Buffer the labels are written into.
    n_clusters : int
        Number of centres; they are split into groups of nearby centres, each
        with its own lower bound per sample (Yinyang's filters; one group is
        Hamerly's algorithm).
    n_bound_groups : int, default=None
        Number of groups (None: ``max(1, n_clusters // CENTERS_PER_GROUP)``).
    x_squared_norms : ndarray of shape (n_samples,), default=None
        ``row_squared_norms(X)`` when the caller has it (saves a pass over X).

    Examples
    --------
    >>> import numpy as np
    >>> from skunsup.cluster._kmeans_kernels import HamerlyState
    >>> X = np.array([[0.0], [1.0], [10.0], [12.0]])
    >>> state = HamerlyState(X, np.ones(4), np.empty(4, dtype=np.int32), 2)
    >>> sums, weights = state.step(np.array([[0.0], [10.0]]))
    >>> state.labels.tolist(), sums.ravel().tolist(), weights.tolist()
    ([0, 0, 1, 1], [1.0, 22.0], [2.0, 2.0])
    """

    def __init__(self, X, sample_weight, labels, n_clusters, n_bound_groups=None,
                 x_squared_norms=None):
        self.X = _check_contiguous(X)
        self.sample_weight = sample_weight
        self.labels = labels
        n, d = X.shape
        self.x_sq = row_squared_norms(X) if x_squared_norms is None else x_squared_norms
        # Yinyang's groups of nearby centres, formed at the first step
        if n_bound_groups is None:
            n_bound_groups = max(1, n_clusters // CENTERS_PER_GROUP)
        self.n_bound_groups = n_bound_groups
        self.group_of = self.group_ptr = self.members = None
        self.upper = np.empty(n, dtype=np.float64)
        self.lower = np.empty((n, n_bound_groups), dtype=np.float64)
        self.need = np.empty(n, dtype=np.int32)
        self.sums = np.zeros((n_clusters, d), dtype=np.float64)
        self.weights = np.zeros(n_clusters, dtype=np.float64)
        self.counts = np.zeros(n_clusters, dtype=np.int64)
        self.shift = None
        self.n_recomputed = n
        # rounding margin of ||x||^2 - 2 x.c + ||c||^2 (worst case of a d-term dot)
        self.slack = float(4 * (d + 2) * np.finfo(X.dtype).eps)

    def moved(self, shift):
        """Record how far every centre moved since the last step (plain distances).

        Parameters
        ----------
        shift : ndarray of shape (n_clusters,)
            Euclidean distance between the old and the new position of every centre.
        """
        self.shift = np.asarray(shift, dtype=np.float64)

    def _add(self, sums, weights, counts):
        self.sums += sums.sum(axis=0)
        self.weights += weights.sum(axis=0)
        self.counts += counts.sum(axis=0)

    def step(self, centers):
        """Assign every sample to its nearest centre and return the cluster sums.

        Parameters
        ----------
        centers : ndarray of shape (n_clusters, n_features)
            Current centres, dtype of X, C-contiguous.

        Returns
        -------
        sums : ndarray of shape (n_clusters, n_features), dtype float64
            Weighted sums of the samples of every cluster (a copy).
        weights : ndarray of shape (n_clusters,), dtype float64
            Total weight of every cluster; exactly 0 for a cluster without a
            sample of positive weight.
        """
        X, k, d = self.X, centers.shape[0], self.X.shape[1]
        half_sq = half_squared_norms(centers)
        first_step = self.shift is None
        if first_step:
            self.group_of = group_centers(centers, self.n_bound_groups)
            self.members = np.argsort(self.group_of, kind="stable")
            self.group_ptr = np.searchsorted(self.group_of[self.members],
                                             np.arange(self.n_bound_groups + 1))
            index = np.arange(X.shape[0], dtype=np.intp)
            self.labels[:] = -1
            self.sums[:] = 0.0
            self.weights[:] = 0.0
            self.counts[:] = 0
        else:
            gaps = _squared_gaps(centers, centers)
            np.fill_diagonal(gaps, np.inf)
            half_gap = 0.5 * np.sqrt(gaps.min(axis=1)) if k > 1 else np.full(1, np.inf)
            group_shift = np.zeros(self.lower.shape[1])
            np.maximum.at(group_shift, self.group_of, self.shift)
            _hamerly_bounds_dense(X, centers, self.labels, self.upper, self.lower, half_gap,
                                  self.shift, group_shift, self.need)
            index = np.flatnonzero(self.need)
        self.n_recomputed = index.size
        # Yinyang's local filter computes the products with the centres of the
        # groups in ``need`` one by one; the matrix product computes them all, faster
        # per product: take it when the local filter would visit most centres.
        local_filter = k <= DIRECT_MAX_CLUSTERS or (
            not first_step and DIRECT_PRODUCT_COST * self.need.sum(dtype=np.int64)
            * (k / self.n_bound_groups) < index.size * k)
        if index.size and not first_step and local_filter:
            parts = n_row_groups(index.size, k, d)
            sums = np.empty((parts, k, d), dtype=np.float64)
            weights = np.empty((parts, k), dtype=np.float64)
            counts = np.empty((parts, k), dtype=np.int64)
            _yinyang_reassign_direct(X, index, self.x_sq, self.sample_weight, centers, half_sq,
                                     self.slack, self.group_ptr, self.members, self.group_of,
                                     self.labels, self.upper, self.lower, sums, weights,
                                     counts)
            self._add(sums, weights, counts)
        elif index.size and k <= DIRECT_MAX_CLUSTERS:
            parts = n_row_groups(index.size, k, d)
            sums = np.empty((parts, k, d), dtype=np.float64)
            weights = np.empty((parts, k), dtype=np.float64)
            counts = np.empty((parts, k), dtype=np.int64)
            _hamerly_reassign_direct(X, index, self.x_sq, self.sample_weight, centers,
                                     half_sq, self.slack, self.group_of, self.labels,
                                     self.upper, self.lower, sums, weights, counts)
            self._add(sums, weights, counts)
        elif index.size:
            # Above half the rows, a product with every row beats gathering the flagged
            # ones; recomputing a row that was not flagged is exact, just unneeded.
            whole = 2 * index.size > X.shape[0]
            if whole:
                index = np.arange(X.shape[0], dtype=np.intp)
            centers_t = np.ascontiguousarray(centers.T)
            block = _product_block_rows(k)
            for start in range(0, index.size, block):
                rows = index[start:start + block]
                Xg = X[start:start + block] if whole else X[rows]
                dots = Xg @ centers_t
                parts = n_row_groups(rows.size, k, d)
                sums = np.empty((parts, k, d), dtype=np.float64)
                weights = np.empty((parts, k), dtype=np.float64)
                counts = np.empty((parts, k), dtype=np.int64)
                _hamerly_reassign_dense(Xg, dots, rows, self.x_sq, self.sample_weight,
                                        centers, half_sq, self.slack, self.group_of,
                                        self.labels, self.upper, self.lower, sums, weights,
                                        counts)
                self._add(sums, weights, counts)
        self.shift = None
        weights = self.weights.copy()
        weights[self.counts <= 0] = 0.0
        return self.sums.copy(), weights
