"""Numba kernels of k-means: Lloyd steps (dense and CSR), k-means++ trials, bounds.

One cohesive kernel family, kept in one file although it is long: numba's
cache does not see edits to jitted helpers in other files, so every kernel and
the helpers it calls live together. The Python side (input normalisation,
buffer allocation, reduction of the partials) is in
:mod:`skunsup.cluster._kmeans_ops`; the state of the pruned steps is
:class:`~skunsup.cluster._yinyang.YinyangBounds`.

Every kernel takes C-contiguous arrays and writes into buffers it is given.
Parallel loops run over a fixed number of row groups that depends only on the
shape of the problem (never on the thread count); each group writes its own
slice of a partials array, and the partials are summed afterwards in a fixed
order. Results are therefore bitwise identical for any number of threads.

Distances are computed as ``||x||^2 - 2 x.c + ||c||^2`` to pick the nearest
centre (the same formula as scikit-learn) and then, for the winner only, as
``sum((x - c)^2)``, so that the inertia and the per-point distances are exact
up to rounding even in float32.
"""

import numba
import numpy as np

from skunsup.utils._numba import jit_kernel, jit_parallel

# Relative margin of the hinted step's skip (Elkan's bound): far above the
# rounding of float64 distances, far below any gap that matters.
HINT_SKIP_MARGIN = 1e-9


# ------------------------------------------------------------------------ helpers
#
# Most kernels write out ``X[i] . c`` and the squared distance to the winning
# centre instead of calling these helpers, on purpose: those squared distances
# accumulate in the dtype of X and ``_row_squared_distance`` in float64 (float32
# results would change); the products sit in the hottest loops of the module
# (direct Lloyd steps, k-means++ trials), where an inline helper has cost speed
# before (manifold/_barnes_hut.py: the Barnes-Hut walk 1.8x slower) and no timing
# here shows ``_row_dot`` to be free.


@jit_kernel(inline="always")
def _row_squared_distance(X, i, centers, j):
    """``||X[i] - centers[j]||^2`` accumulated in float64."""
    dist = 0.0
    for f in range(X.shape[1]):
        diff = np.float64(X[i, f]) - np.float64(centers[j, f])
        dist += diff * diff
    return dist


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
    :func:`~skunsup.cluster._kmeans_ops.center_neighbors`), hints (n,) int32
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


# ------------------------------------------------------------------ row statistics


@jit_kernel
def _csr_row_sq_norms(data, indptr, out):
    """Squared norm of every CSR row (canonical format). OUT: out (n,) float64."""
    for i in range(indptr.shape[0] - 1):
        acc = 0.0
        for p in range(indptr[i], indptr[i + 1]):
            acc += data[p] * data[p]
        out[i] = acc


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


# ----------------------------------------------------------------------- k-means++


@jit_parallel
def _kpp_trials_dense(X, x_sq, sample_weight, candidates, cand_sq, closest, nearest,
                      far_enough, trial_dist, pots):
    """Distances of every row to each candidate centre, capped by its current closest.

    IN: X (n, d), x_sq (n,), sample_weight (n,), candidates (L, d), cand_sq (L,),
    closest (n,) squared distance to the nearest chosen centre, nearest (n,) its
    index, far_enough (L, m) squared distances beyond which a candidate cannot
    improve a row (see
    :func:`~skunsup.cluster._kmeans_ops.kmeans_plusplus_trials`).
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


# --------------------------------------------------------------- Hamerly / Yinyang


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
