"""Numba kernel of a mini-batch step's centre update.

:func:`_update_centers` moves every centre a batch touched to the weighted
mean of all it has absorbed, in one pass over the centres that also sums the
step kernel's row groups (the NumPy version made six temporaries of the
centres' size, 0.15-0.5 ms of a 2-4 ms step with 100 centres of 784
features; summing the groups apart from the update cost a further pass). The
Python side is :func:`skunsup.cluster._minibatch.update_centers`.
"""

import numba

from skunsup.utils._numba import jit_parallel


@jit_parallel
def _update_centers(centers, counts, sums, weights, new_centers):
    """``new = (counts * old + sums) / (counts + weights)`` for the touched centres.

    IN: centers (k, d), sums (G, k, d) float64 and weights (G, k) float64, per
    row group (summed here in group order, whatever the thread count).
    IN/OUT: counts (k,) float64, increased by the batch's weights.
    OUT: new_centers (k, d), dtype of centers; untouched centres (weight 0) copied.
    """
    n_groups, k, d = sums.shape
    for c in numba.prange(k):
        w = weights[0, c]
        for g in range(1, n_groups):
            w += weights[g, c]
        if w > 0:
            count = counts[c]
            total = count + w
            for f in range(d):
                total_sum = sums[0, c, f]
                for g in range(1, n_groups):
                    total_sum += sums[g, c, f]
                new_centers[c, f] = (centers[c, f] * count + total_sum) / total
            counts[c] = total
        else:
            for f in range(d):
                new_centers[c, f] = centers[c, f]
