"""Numba kernels of the pruned Lloyd steps: Hamerly's and Yinyang's bounds.

Every sample carries an upper bound on the distance to its centre and one
lower bound per group of centres (one group: Hamerly's bound; several:
Yinyang's, Ding et al. 2015). :func:`_hamerly_bounds_dense` moves the bounds
after the centres moved and flags the samples that may change cluster; the
flagged ones get their nearest centre and new bounds from a matrix product
(:func:`_hamerly_reassign_dense`), a direct loop over every centre
(:func:`_hamerly_reassign_direct`) or Yinyang's local filter
(:func:`_yinyang_reassign_direct`), and their moves are recorded as changes of
the per-cluster partials. The state these kernels update is
:class:`~skunsup.cluster._yinyang.YinyangBounds`.

Every kernel takes C-contiguous arrays and writes into buffers it is given.
Parallel loops run over the samples (per-sample outputs) or over a fixed
number of parts that depends only on the number of flagged samples (never on
the thread count), each writing its own slice of the partials, summed
afterwards in a fixed order; results are therefore bitwise identical for any
number of threads. A kernel and the helpers it calls live in this file:
numba's cache does not see edits to jitted helpers in other files.
"""

import numba
import numpy as np

from skunsup.utils._numba import jit_kernel, jit_parallel


# ------------------------------------------------------------------------ helpers
#
# The kernels write out the squared distance to the winning centre in the dtype
# of X instead of calling a float64 helper, on purpose (float32 results would
# change). Only Yinyang's local filter calls ``_row_dot``; the other product
# loops write ``X[i] . c`` out, as k-means's hottest loops do (direct Lloyd
# steps, k-means++ trials), since no timing shows the helper to be free.


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


# ------------------------------------------------------------------------ kernels


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
