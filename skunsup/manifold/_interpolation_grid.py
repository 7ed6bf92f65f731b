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


def kernel_values(one_plus_sq, dof):
    """The similarity kernel ``w`` and its force factor ``u`` at ``1 + d²``.

    ``u = 1 / (1 + d² / dof)`` and ``w = u^dof``: the t-SNE repulsion is
    ``sum_j w_ij u_ij (y_i - y_j)``. ``dof == 1`` returns ``u`` as ``w``
    (the Cauchy kernel ``1 / (1 + d²)``, computed without powers). The
    argument is the Cauchy kernel's denominator ``1 + d²``, summed by the
    caller in its own order (the values go to float32 grids: the rounding
    of ``(1 + d²) - 1`` for another ``dof`` does not show).

    Examples
    --------
    >>> import numpy as np
    >>> from skunsup.manifold._interpolation_grid import kernel_values
    >>> w, u = kernel_values(np.array([1.0, 2.0]), 2.0)
    >>> w.round(4).tolist(), u.round(4).tolist()
    ([1.0, 0.4444], [1.0, 0.6667])
    """
    if dof == 1.0:
        w = 1.0 / one_plus_sq
        return w, w
    u = 1.0 / (1.0 + (one_plus_sq - 1.0) / dof)
    return u**dof, u


def _kernel_hats(n_nodes, spacing, fft_len, n_components, workers, dof):
    """FFTs of the circulant embeddings of the node-to-node kernels (complex64).

    The kernels are the force kernel ``(y_i - y_j) w_ij u_ij`` (one per axis)
    and ``w_ij`` itself (for Z), sampled at the signed node offsets
    (:func:`kernel_values`). In 2-D the transforms are stored transposed,
    ``(n_kernels, L // 2 + 1, L)``, to match :func:`convolve`.
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
        w, u = kernel_values(1.0 + delta**2, dof)
        w = np.where(valid, w, 0.0)
        stacked = np.stack([delta * w * u, w]).astype(np.float32)
        return sfft.rfft(stacked, axis=-1, workers=workers).astype(np.complex64, copy=False)
    mask = valid[:, None] & valid[None, :]
    w, u = kernel_values(1.0 + delta[:, None] ** 2 + delta[None, :] ** 2, dof)
    w = np.where(mask, w, 0.0)
    stacked = np.stack([delta[:, None] * w * u, delta[None, :] * w * u, w]).astype(np.float32)
    hats = sfft.rfftn(stacked, axes=(-2, -1), workers=workers).astype(np.complex64, copy=False)
    return np.ascontiguousarray(hats.transpose(0, 2, 1))


class Grid:
    """An equispaced square (or segment) of interpolation nodes and its kernel FFT
    (of the kernel of ``dof`` degrees of freedom)."""

    def __init__(self, lower, extent, n_intervals, p, n_components, workers, dof=1.0):
        self.lower = float(lower)
        self.n_intervals = int(n_intervals)
        self.p = int(p)
        self.box_width = float(extent) / self.n_intervals
        self.upper = self.lower + self.box_width * self.n_intervals
        self.n_nodes = self.n_intervals * self.p
        self.fft_len = sfft.next_fast_len(2 * self.n_nodes, real=True)
        self.kernel_hats = _kernel_hats(
            self.n_nodes, self.box_width / self.p, self.fft_len, n_components, workers, dof
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

