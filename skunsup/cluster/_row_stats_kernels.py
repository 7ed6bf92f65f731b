"""Numba kernels of row statistics: squared row norms and weighted feature moments.

:func:`_dense_row_sq_norms` and :func:`_csr_row_sq_norms` give ``||x||^2`` of
every row in float64 (the ``x_squared_norms`` of the k-means steps and of
k-means++); :func:`_dense_weighted_moments` gives, per row group, the weighted
sums of ``X - shift`` and of its square, from which
:func:`skunsup.cluster._kmeans_ops.weighted_mean_variance` forms the weighted
mean and variance of every feature (the scale of ``tol``, the moments pass of
the Dask executor).

Every kernel takes C-contiguous arrays and writes into buffers it is given;
the moments run over a fixed number of row groups that depends only on the
shape of the problem (never on the thread count), summed afterwards in a fixed
order, so results are bitwise identical for any number of threads.
"""

import numba
import numpy as np

from skunsup.utils._numba import jit_kernel, jit_parallel


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
