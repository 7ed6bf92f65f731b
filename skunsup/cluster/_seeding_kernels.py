"""Numba kernels of k-means++: the potential of every candidate centre.

One greedy k-means++ step draws a few candidate centres and keeps the one
that lowers the weighted potential most: :func:`_kpp_trials_dense` and its CSR
twin :func:`_kpp_trials_csr` give every row's squared distance to each
candidate, capped by its distance to the nearest centre chosen so far, and the
weighted sums of those per row group. The dense kernel takes each chunk's
products with the candidates on BLAS, called from the group's thread (as
:func:`skunsup.cluster._lloyd_kernels._lloyd_dense_chunked` does); the CSR
kernel skips the rows a candidate cannot bring closer. The Python side is
:func:`skunsup.cluster._kmeans_ops.kmeans_plusplus_trials`; the seeding itself
is :mod:`skunsup.cluster._seeding`.

Every kernel takes C-contiguous arrays and writes into buffers it is given.
Parallel loops run over a fixed number of row groups that depends only on the
shape of the problem (never on the thread count), each writing its own row of
the partial potentials, summed afterwards in a fixed order; results are
therefore bitwise identical for any number of threads. The CSR products are
written out inline (no helper), as in the Lloyd kernels of
:mod:`skunsup.cluster._lloyd_kernels`: they are the hottest loop of the seeding.
"""

import numba
import numpy as np

from skunsup.utils._numba import jit_parallel


@jit_parallel
def _kpp_trials_dense(X, x_sq, sample_weight, candidates, cand_sq, closest, chunk_rows,
                      trial_dist, pots):
    """Distances of every row to each candidate centre, capped by its current closest.

    Each row group walks its rows by chunks of ``chunk_rows``, the chunk's
    products with the candidates on BLAS (the caller keeps BLAS on one thread).

    IN: X (n, d), x_sq (n,), sample_weight (n,), candidates (L, d) C-contiguous,
    cand_sq (L,), closest (n,) squared distance to the nearest chosen centre.
    OUT: trial_dist (L, n) = min(closest, ||x - cand||^2), pots (G, L) =
    per-group weighted sums of trial_dist.
    """
    n = X.shape[0]
    n_trials = candidates.shape[0]
    n_groups = pots.shape[0]
    for g in numba.prange(n_groups):
        start = g * n // n_groups
        stop = (g + 1) * n // n_groups
        acc = np.zeros(n_trials)
        for chunk_start in range(start, stop, chunk_rows):
            size = min(chunk_rows, stop - chunk_start)
            dots = np.dot(X[chunk_start:chunk_start + size], candidates.T)
            for r in range(size):
                i = chunk_start + r
                for t in range(n_trials):
                    dist = min(max(x_sq[i] + cand_sq[t] - 2.0 * dots[r, t], 0.0), closest[i])
                    trial_dist[t, i] = dist
                    acc[t] += sample_weight[i] * dist
        for t in range(n_trials):
            pots[g, t] = acc[t]


@jit_parallel
def _kpp_trials_csr(data, indices, indptr, x_sq, sample_weight, candidates, cand_sq,
                    closest, nearest, far_enough, trial_dist, pots):
    """CSR twin of :func:`_kpp_trials_dense` (candidates are dense rows), with the skip.

    IN: also nearest (n,) the index of every row's nearest chosen centre and
    far_enough (L, m) the squared distances beyond which a candidate cannot
    improve a row (see
    :func:`~skunsup.cluster._kmeans_ops.kmeans_plusplus_trials`): such rows
    keep their closest distance without a product.
    """
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
