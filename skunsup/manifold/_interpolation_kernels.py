"""Numba kernels of the FFT-interpolated t-SNE repulsion: scatter and gather.

Every point sits in one interval per axis of the interpolation grid, whose
``p`` Lagrange nodes carry its weights (:func:`_box_and_weights`, the inline
helper of every kernel here). :func:`sort_by_box` orders the points by
interval along the first axis; :func:`scatter_2d` / :func:`scatter_1d`
spread a unit charge per point onto the nodes, and :func:`gather_2d` /
:func:`gather_1d` interpolate the node potentials (the charges convolved with
the kernels, :func:`skunsup.manifold._interpolation_grid.convolve`) back at
the points.

Kernels run in parallel over interval rows (scatter: each row of intervals
owns its node rows, so there are no write conflicts; points are visited in an
order fixed by a stable counting sort) and over fixed-size chunks of points
(gather, per-point outputs), so the results are identical for any number of
threads. The gathers and the weights helper are compiled without ``reassoc``
(``FASTMATH_ORDERED`` of :mod:`skunsup.utils._numba`), so that they add in the
same order whether numba compiled them in this process or loaded them from its
cache (with it, the two gave maps that differed); their sums have ``p`` terms
(3 in t-SNE), too few for a vectorised sum to pay.
"""

import math

import numba
import numpy as np

from skunsup.utils._numba import FASTMATH_ORDERED, jit_kernel, jit_parallel

# Fixed chunk of points per parallel task in the gather kernels: the partial
# sums of Z do not depend on the thread count.
_CHUNK = 4096


@jit_kernel(fastmath=FASTMATH_ORDERED)
def _box_and_weights(x, lower, inv_width, n_intervals, p, nodes, den, weights):
    """Interval of coordinate x and its p Lagrange weights (OUT: weights)."""
    s = (x - lower) * inv_width
    k = int(math.floor(s))
    if k < 0:
        k = 0
    elif k > n_intervals - 1:
        k = n_intervals - 1
    t = s - k
    for m in range(p):
        num = 1.0
        for l in range(p):
            if l != m:
                num *= t - nodes[l]
        weights[m] = num / den[m]
    return k


@jit_kernel
def sort_by_box(coord, lower, inv_width, n_intervals, row_ptr, order):
    """Stable counting sort of the points by interval along one coordinate.

    IN coord (n,), OUT row_ptr (n_intervals + 1,), order (n,) int64: points of
    interval k are order[row_ptr[k]:row_ptr[k + 1]], in increasing index.
    """
    n = coord.shape[0]
    for k in range(n_intervals + 1):
        row_ptr[k] = 0
    for i in range(n):
        k = int(math.floor((coord[i] - lower) * inv_width))
        if k < 0:
            k = 0
        elif k > n_intervals - 1:
            k = n_intervals - 1
        row_ptr[k + 1] += 1
    for k in range(n_intervals):
        row_ptr[k + 1] += row_ptr[k]
    for i in range(n):
        k = int(math.floor((coord[i] - lower) * inv_width))
        if k < 0:
            k = 0
        elif k > n_intervals - 1:
            k = n_intervals - 1
        order[row_ptr[k]] = i
        row_ptr[k] += 1
    for k in range(n_intervals, 0, -1):
        row_ptr[k] = row_ptr[k - 1]
    row_ptr[0] = 0


@jit_parallel
def scatter_2d(Y, order, row_ptr, lower, inv_width, n_intervals, nodes, den, charges):
    """Spread a unit charge per point onto the node grid with the Lagrange weights.

    IN Y (n, 2), order/row_ptr from :func:`sort_by_box` on Y[:, 0];
    OUT charges (N, N) float32 with N = n_intervals * p, fully overwritten.
    Each task owns the p node rows of one interval along axis 0.
    """
    p = nodes.shape[0]
    n_cols = charges.shape[1]
    for k0 in numba.prange(n_intervals):
        w0 = np.empty(p)
        w1 = np.empty(p)
        for a in range(p):
            for b in range(n_cols):
                charges[k0 * p + a, b] = 0.0
        for pos in range(row_ptr[k0], row_ptr[k0 + 1]):
            i = order[pos]
            _box_and_weights(Y[i, 0], lower, inv_width, n_intervals, p, nodes, den, w0)
            k1 = _box_and_weights(Y[i, 1], lower, inv_width, n_intervals, p, nodes, den, w1)
            for a in range(p):
                for b in range(p):
                    charges[k0 * p + a, k1 * p + b] += w0[a] * w1[b]


@jit_parallel(fastmath=FASTMATH_ORDERED)
def gather_2d(Y, lower, inv_width, n_intervals, nodes, den, potentials, self_kernel, forces,
              z_out):
    """Interpolate the node potentials back to the points.

    IN potentials (3, N, M) float32, M >= N: the force kernels along both axes
    and w, each convolved with the unit charges; self_kernel (2p - 1, 2p - 1):
    w between nodes of one interval by offset when the points are the charges
    themselves (their own interpolated contribution to z is then removed
    exactly: it is not w_ii = 1 but the interpolant's value), or shape (0, 0).
    OUT forces (n, 2): sum_j w_ij^2 (y_i - y_j); z_out (n,): sum_{j != i} w_ij.
    """
    n = Y.shape[0]
    p = nodes.shape[0]
    n_chunks = (n + _CHUNK - 1) // _CHUNK
    for c in numba.prange(n_chunks):
        w0 = np.empty(p)
        w1 = np.empty(p)
        for i in range(c * _CHUNK, min(n, (c + 1) * _CHUNK)):
            k0 = _box_and_weights(Y[i, 0], lower, inv_width, n_intervals, p, nodes, den, w0)
            k1 = _box_and_weights(Y[i, 1], lower, inv_width, n_intervals, p, nodes, den, w1)
            f0 = 0.0
            f1 = 0.0
            psi = 0.0
            for a in range(p):
                g0 = k0 * p + a
                for b in range(p):
                    g1 = k1 * p + b
                    w = w0[a] * w1[b]
                    f0 += w * potentials[0, g0, g1]
                    f1 += w * potentials[1, g0, g1]
                    psi += w * potentials[2, g0, g1]
            forces[i, 0] = f0
            forces[i, 1] = f1
            if self_kernel.shape[0] > 0:
                for a in range(p):
                    for b in range(p):
                        wab = w0[a] * w1[b]
                        for a2 in range(p):
                            for b2 in range(p):
                                psi -= wab * w0[a2] * w1[b2] * self_kernel[a - a2 + p - 1,
                                                                           b - b2 + p - 1]
            z_out[i] = psi


@jit_parallel
def scatter_1d(Y, order, row_ptr, lower, inv_width, n_intervals, nodes, den, charges):
    """1-D twin of :func:`scatter_2d`: OUT charges (N,)."""
    p = nodes.shape[0]
    for k in numba.prange(n_intervals):
        w = np.empty(p)
        for a in range(p):
            charges[k * p + a] = 0.0
        for pos in range(row_ptr[k], row_ptr[k + 1]):
            i = order[pos]
            _box_and_weights(Y[i, 0], lower, inv_width, n_intervals, p, nodes, den, w)
            for a in range(p):
                charges[k * p + a] += w[a]


@jit_parallel(fastmath=FASTMATH_ORDERED)
def gather_1d(Y, lower, inv_width, n_intervals, nodes, den, potentials, self_kernel, forces,
              z_out):
    """1-D twin of :func:`gather_2d`: IN potentials (2, M) (force kernel, w)."""
    n = Y.shape[0]
    p = nodes.shape[0]
    n_chunks = (n + _CHUNK - 1) // _CHUNK
    for c in numba.prange(n_chunks):
        w = np.empty(p)
        for i in range(c * _CHUNK, min(n, (c + 1) * _CHUNK)):
            k = _box_and_weights(Y[i, 0], lower, inv_width, n_intervals, p, nodes, den, w)
            f0 = 0.0
            psi = 0.0
            for a in range(p):
                g = k * p + a
                f0 += w[a] * potentials[0, g]
                psi += w[a] * potentials[1, g]
            forces[i, 0] = f0
            if self_kernel.shape[0] > 0:
                for a in range(p):
                    for a2 in range(p):
                        psi -= w[a] * w[a2] * self_kernel[a - a2 + p - 1]
            z_out[i] = psi

