"""The interpolation grid of the FFT-accelerated t-SNE repulsion and its convolution.

The embedding's bounding square (or segment) is cut into ``n_intervals``
intervals per axis (:func:`choose_n_intervals`), each holding ``p``
equispaced Lagrange nodes (:func:`lagrange_denominators`). Because all nodes
lie on one equispaced grid, the kernels' node-to-node interactions are
Toeplitz matrices, whose circulant embeddings a :class:`Grid` transforms once;
:func:`convolve` applies them to the charges on the nodes with zero-padded
FFTs.

The FFTs run in float32 through :mod:`scipy.fft` with ``workers`` threads,
pruned: only the rows that hold charges are transformed on the way in and
only the rows that are read on the way out, the second axis transposed so
that every FFT runs along contiguous memory.
"""

import math

import numpy as np
import scipy.fft as sfft


def choose_n_intervals(extent, n_components, *, min_intervals=50, intervals_per_unit=1.0,
                       max_intervals=None):
    """Number of interpolation intervals per axis for an embedding of a given extent.

    As in FIt-SNE, the intervals are at most ``1 / intervals_per_unit`` wide
    (the kernel varies on the unit scale) and there are at least
    ``min_intervals`` of them; ``max_intervals`` bounds the grid's memory
    (default: 1024 per axis in 2-D, 2**17 in 1-D).

    Parameters
    ----------
    extent : float
        Side of the square (or length of the segment) to cover.
    n_components : {1, 2}
        Dimension of the embedding.
    min_intervals : int, default=50
        Lower bound.
    intervals_per_unit : float, default=1.0
        Intervals per unit length of the embedding.
    max_intervals : int, default=None
        Upper bound; None picks the default of the dimension.

    Returns
    -------
    n_intervals : int

    Examples
    --------
    >>> from skunsup.manifold._interpolation_grid import choose_n_intervals
    >>> choose_n_intervals(10.0, 2), choose_n_intervals(120.4, 2)
    (50, 121)
    """
    if max_intervals is None:
        max_intervals = 1024 if n_components == 2 else 2**17
    wanted = int(math.ceil(extent * intervals_per_unit)) if np.isfinite(extent) else max_intervals
    return int(min(max(wanted, min_intervals), max_intervals))


def lagrange_denominators(p):
    """prod_{l != m} (t_m - t_l) for the nodes t_m = (m + 1/2) / p."""
    nodes = (np.arange(p) + 0.5) / p
    den = np.empty(p)
    for m in range(p):
        others = np.delete(nodes, m)
        den[m] = np.prod(nodes[m] - others)
    return nodes, den


def _kernel_hats(n_nodes, spacing, fft_len, n_components, workers):
    """FFTs of the circulant embeddings of the node-to-node kernels (complex64).

    The kernels are the force kernel ``(y_i - y_j) w_ij^2`` (one per axis) and
    ``w_ij`` itself (for Z), sampled at the signed node offsets. In 2-D the
    transforms are stored transposed, ``(n_kernels, L // 2 + 1, L)``, to match
    :func:`convolve`.
    """
    offsets = np.zeros(fft_len)
    valid = np.zeros(fft_len, dtype=bool)
    offsets[:n_nodes] = np.arange(n_nodes)
    valid[:n_nodes] = True
    if n_nodes > 1:
        offsets[fft_len - n_nodes + 1:] = -np.arange(n_nodes - 1, 0, -1)
        valid[fft_len - n_nodes + 1:] = True
    delta = offsets * spacing
    if n_components == 1:
        w = np.where(valid, 1.0 / (1.0 + delta**2), 0.0)
        stacked = np.stack([delta * w * w, w]).astype(np.float32)
        return sfft.rfft(stacked, axis=-1, workers=workers).astype(np.complex64, copy=False)
    mask = valid[:, None] & valid[None, :]
    w = np.where(mask, 1.0 / (1.0 + delta[:, None] ** 2 + delta[None, :] ** 2), 0.0)
    stacked = np.stack([delta[:, None] * w * w, delta[None, :] * w * w, w]).astype(np.float32)
    hats = sfft.rfftn(stacked, axes=(-2, -1), workers=workers).astype(np.complex64, copy=False)
    return np.ascontiguousarray(hats.transpose(0, 2, 1))


class Grid:
    """An equispaced square (or segment) of interpolation nodes and its kernel FFT."""

    def __init__(self, lower, extent, n_intervals, p, n_components, workers):
        self.lower = float(lower)
        self.n_intervals = int(n_intervals)
        self.p = int(p)
        self.box_width = float(extent) / self.n_intervals
        self.upper = self.lower + self.box_width * self.n_intervals
        self.n_nodes = self.n_intervals * self.p
        self.fft_len = sfft.next_fast_len(2 * self.n_nodes, real=True)
        self.kernel_hats = _kernel_hats(
            self.n_nodes, self.box_width / self.p, self.fft_len, n_components, workers
        )

    def contains(self, lo, hi):
        return self.lower <= lo and hi <= self.upper


def bounding_interval(Y):
    """min and max over all coordinates, checked finite."""
    lo = float(Y.min())
    hi = float(Y.max())
    if not (np.isfinite(lo) and np.isfinite(hi)):
        raise ValueError(
            "the embedding contains NaN or infinite values; the optimisation diverged "
            "(try a smaller learning_rate)"
        )
    return lo, hi


def convolve(charges, grid, n_components, workers):
    """Potentials on the nodes: every kernel of the grid applied to the unit charges.

    Returns an array of shape (n_kernels, N, L) in 2-D or (n_kernels, L) in
    1-D whose leading N x N (N) block holds the potentials.
    """
    L = grid.fft_len
    N = grid.n_nodes
    hats = grid.kernel_hats
    if n_components == 1:
        spec = sfft.rfft(charges, n=L, workers=workers)
        return sfft.irfft(hats * spec, n=L, axis=-1, workers=workers, overwrite_x=True)
    # The charged rows are the first N of L: transform them along the last
    # axis, then (transposed, so that the FFT runs along contiguous memory)
    # along the other axis, zero padded to L by scipy.
    spec = sfft.rfft(charges, n=L, axis=-1, workers=workers)  # (N, Lh)
    spec = sfft.fft(np.ascontiguousarray(spec.T), n=L, axis=-1, workers=workers,
                    overwrite_x=True)  # (Lh, L)
    prod = hats * spec  # (n_kernels, Lh, L)
    del spec
    # only the first N rows (now columns) of the result are read back
    cols = sfft.ifft(prod, axis=-1, workers=workers, overwrite_x=True)[:, :, :N]
    cols = np.ascontiguousarray(cols.transpose(0, 2, 1))  # (n_kernels, N, Lh)
    return sfft.irfft(cols, n=L, axis=-1, workers=workers, overwrite_x=True)

