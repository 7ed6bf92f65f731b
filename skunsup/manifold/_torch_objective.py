"""t-SNE's FFT objective on a torch device: interpolated repulsion, sparse attraction, gradient.

The torch executor's twin of :class:`skunsup.manifold._objectives.FFTObjective`
and of the workspaces of :mod:`skunsup.manifold._interpolation`, the same
scheme on tensors (Linderman et al. 2019, with the CPU path's changes):

* the map's bounding square (segment in 1-D) is cut into intervals of at
  most one unit, at least 50 per axis (:func:`~skunsup.manifold.
  _interpolation_grid.choose_n_intervals`), each with ``p = 3`` equispaced
  Lagrange nodes; the grid and its kernel FFTs are kept while the map stays
  inside it and fills most of it (the CPU path's ``grid_slack`` rule);
* every point spreads a unit charge on the ``p**d`` nodes of its interval
  (``index_add_``, the *scatter*); the node-to-node kernels -- the odd force
  kernel ``d w u`` per axis and ``w`` for Z -- are applied by one
  zero-padded real FFT convolution (``torch.fft``, float32); each point reads
  the potentials back with the same weights (the *gather*), and its own
  interpolated contribution to Z is removed exactly;
* the attraction ``sum_j p_ij u_ij (y_i - y_j)`` is a gather of both ends of
  every stored entry of P and a segmented sum over P's rows (CSR offsets:
  no atomic adds, the same order on every device).

``u = 1 / (1 + d² / dof)`` and ``w = u^dof`` (``dof = 1``: the Cauchy kernel
of t-SNE). The map may be float32 (the device default) or float64; P's
values are kept in the map's dtype.

Determinism: on the CPU every sum runs in a fixed order (a fit repeats to
the bit); on CUDA the scatter of the charges (``index_add_``) is atomic, so
the last bits of the charges, and through the optimisation's chaos the final
map, vary from run to run (the KL does not, beyond noise).
Each call reads two numbers back to the host: the map's bounds (the grid is
chosen there) and, in the optimiser, the gradient norm (its stops).
"""

import math

import scipy.fft as sfft

from skunsup.manifold._interpolation_grid import choose_n_intervals, lagrange_denominators

__all__ = ["TorchFFTObjective", "TorchFFTRepulsion"]

# Lagrange nodes per interval and axis, FIt-SNE's and the CPU path's default
_N_NODES = 3
# Fewest intervals per axis (the CPU path's default)
_MIN_INTERVALS = 50
# Margin on each side of the map when a training grid is built; the grid is
# kept while the map fills more than 1 / (1 + 2 slack)² of it (the CPU path's)
_GRID_SLACK = 0.05
# Margin of a grid around a fixed reference map (TSNE.transform; the CPU path's)
_REFERENCE_SLACK = 0.25


def _kernels(one_plus_sq, dof):
    """``(w, u)`` at ``1 + d²``: ``u = 1 / (1 + d² / dof)``, ``w = u^dof`` (w is u at dof 1)."""
    if dof == 1.0:
        w = 1.0 / one_plus_sq
        return w, w
    u = 1.0 / (1.0 + (one_plus_sq - 1.0) / dof)
    return u**dof, u


class _Grid:
    """An equispaced square (segment) of nodes and the FFTs of its kernels."""

    def __init__(self, torch, lower, extent, n_intervals, p, dim, dof, device):
        self.lower = float(lower)
        self.n_intervals = int(n_intervals)
        self.box_width = float(extent) / self.n_intervals
        self.upper = self.lower + self.box_width * self.n_intervals
        self.n_nodes = self.n_intervals * p
        self.fft_len = sfft.next_fast_len(2 * self.n_nodes, real=True)
        N, L = self.n_nodes, self.fft_len
        spacing = self.box_width / p
        offsets = torch.zeros(L, dtype=torch.float64, device=device)
        valid = torch.zeros(L, dtype=torch.bool, device=device)
        offsets[:N] = torch.arange(N, dtype=torch.float64, device=device)
        valid[:N] = True
        if N > 1:
            offsets[L - N + 1:] = -torch.arange(N - 1, 0, -1, dtype=torch.float64, device=device)
            valid[L - N + 1:] = True
        delta = offsets * spacing
        if dim == 1:
            w, u = _kernels(1.0 + delta**2, dof)
            w = torch.where(valid, w, 0.0)
            stacked = torch.stack([delta * w * u, w]).to(torch.float32)
            self.kernel_hats = torch.fft.rfft(stacked, dim=-1)
        else:
            mask = valid[:, None] & valid[None, :]
            w, u = _kernels(1.0 + delta[:, None] ** 2 + delta[None, :] ** 2, dof)
            w = torch.where(mask, w, 0.0)
            stacked = torch.stack([delta[:, None] * w * u, delta[None, :] * w * u, w])
            self.kernel_hats = torch.fft.rfft2(stacked.to(torch.float32))

        self.self_kernel = None  # made by TorchFFTRepulsion on first use

    def contains(self, lo, hi):
        return self.lower <= lo and hi <= self.upper


class TorchFFTRepulsion:
    """FFT-interpolated repulsion of a map on itself, or by a fixed reference map.

    Calling it with a map ``Y`` (tensor of shape (n, d), d in {1, 2}) returns
    ``rep`` (``sum_j w_ij u_ij (y_i - y_j)``), ``z`` (``sum_j w_ij``, self
    pair excluded) and ``Z = sum_i z_i`` (a 0-d tensor: no device read). With ``Y_ref``,
    the sums run over the fixed reference points, whose potentials are
    computed once (``TSNE.transform``).

    Parameters
    ----------
    torch : module
    n_components : {1, 2}
    device : torch.device
    Y_ref : tensor of shape (n_ref, n_components), default=None
    dof : float, default=1.0
        Degrees of freedom of the kernel.
    n_interpolation_points, min_intervals, intervals_per_unit, max_intervals
        As for :class:`~skunsup.manifold._interpolation.FFTRepulsion`.

    Attributes
    ----------
    n_grids_built : int

    Examples
    --------
    >>> import torch
    >>> from skunsup.manifold._torch_objective import TorchFFTRepulsion
    >>> Y = torch.tensor([[0.0, 0.0], [1.0, 0.0]], dtype=torch.float64)
    >>> rep, z, Z = TorchFFTRepulsion(torch, 2, torch.device("cpu"))(Y)
    >>> [round(v, 3) for v in rep[:, 0].tolist()], round(float(Z), 3)
    ([-0.25, 0.25], 1.0)
    """

    def __init__(self, torch, n_components, device, *, Y_ref=None, dof=1.0,
                 n_interpolation_points=_N_NODES, min_intervals=_MIN_INTERVALS,
                 intervals_per_unit=1.0, max_intervals=None):
        if n_components not in (1, 2):
            raise ValueError(f"the FFT repulsion takes 1-D or 2-D maps; got {n_components}")
        self.torch = torch
        self.dim = int(n_components)
        self.device = device
        self.dof = float(dof)
        self.p = int(n_interpolation_points)
        self.min_intervals = int(min_intervals)
        self.intervals_per_unit = float(intervals_per_unit)
        self.max_intervals = max_intervals
        self.slack = _GRID_SLACK if Y_ref is None else _REFERENCE_SLACK
        nodes, den = lagrange_denominators(self.p)
        self.nodes = torch.as_tensor(nodes, device=device)
        self.den = [float(value) for value in den]  # host floats: no device read per call
        self.grid = None
        self.n_grids_built = 0
        self.Y_ref = Y_ref
        self._ref_bounds = None if Y_ref is None else self._bounds(Y_ref)
        self._ref_potentials = None

    def _bounds(self, Y):
        lo, hi = self.torch.stack(self.torch.aminmax(Y)).tolist()
        if not (math.isfinite(lo) and math.isfinite(hi)):
            raise ValueError("the embedding contains NaN or infinite values; the optimisation "
                             "diverged (try a smaller learning_rate)")
        return lo, hi

    def _ensure_grid(self, lo, hi):
        extent = max(hi - lo, 1e-12)
        grid = self.grid
        if grid is not None and grid.contains(lo, hi):
            if extent * (1.0 + 2.0 * self.slack) ** 2 >= grid.upper - grid.lower:
                return grid
        padded = extent * (1.0 + 2.0 * self.slack)
        n_int = choose_n_intervals(padded, self.dim, min_intervals=self.min_intervals,
                                   intervals_per_unit=self.intervals_per_unit,
                                   max_intervals=self.max_intervals)
        self.grid = _Grid(self.torch, 0.5 * (lo + hi) - 0.5 * padded, padded, n_int, self.p,
                          self.dim, self.dof, self.device)
        self.n_grids_built += 1
        return self.grid

    def _weights(self, Y):
        """Each point's interval per axis (int64, (n, d)) and Lagrange weights ((n, d, p))."""
        torch, grid = self.torch, self.grid
        s = (Y - grid.lower) * (1.0 / grid.box_width)
        box = torch.floor(s).clamp_(0, grid.n_intervals - 1)
        t = (s - box)[:, :, None]
        nodes = self.nodes.to(Y.dtype)
        diffs = t - nodes  # (n, d, p): t - t_l
        weights = []
        for m in range(self.p):
            others = [diffs[:, :, l] for l in range(self.p) if l != m]
            num = torch.ones_like(diffs[:, :, 0])
            for factor in others:
                num = num * factor
            weights.append(num / self.den[m])
        return box.to(torch.int64), torch.stack(weights, dim=2)

    def _stencil(self, Y):
        """Flat node index (n, p**d) and weight (n, p**d) of every point's nodes."""
        box, weights = self._weights(Y)
        p, N = self.p, self.grid.n_nodes
        node = box[:, :, None] * p + self.torch.arange(p, device=Y.device)  # (n, d, p)
        if self.dim == 1:
            return node[:, 0], weights[:, 0]
        flat = node[:, 0, :, None] * N + node[:, 1, None, :]
        weight = weights[:, 0, :, None] * weights[:, 1, None, :]
        n = Y.shape[0]
        return flat.reshape(n, p * p), weight.reshape(n, p * p)

    def potentials(self, Y):
        """Scatter unit charges of ``Y`` on the grid and convolve: (n_kernels, N**d) float32."""
        torch, grid = self.torch, self.grid
        N, L = grid.n_nodes, grid.fft_len
        flat, weight = self._stencil(Y)
        charges = torch.zeros(N**self.dim, dtype=torch.float32, device=Y.device)
        charges.index_add_(0, flat.reshape(-1), weight.reshape(-1).to(torch.float32))
        if self.dim == 1:
            spec = torch.fft.rfft(charges, n=L)
            return torch.fft.irfft(grid.kernel_hats * spec, n=L)[:, :N]
        spec = torch.fft.rfft2(charges.reshape(N, N), s=(L, L))
        out = torch.fft.irfft2(grid.kernel_hats * spec, s=(L, L))[:, :N, :N]
        return out.reshape(out.shape[0], N * N)

    def gather(self, Y, potentials, is_self):
        """Interpolate ``potentials`` at ``Y``: (rep (n, d), z (n,)) in Y's dtype."""
        d = self.dim
        flat, weight = self._stencil(Y)
        values = potentials[:, flat].to(Y.dtype)  # (n_kernels, n, p**d)
        sums = (values * weight).sum(dim=2)
        rep = sums[:d].T.contiguous()
        z = sums[d]
        if is_self:  # remove each point's own interpolated w (not 1)
            self_kernel = self._self_kernel(Y.dtype, Y.device)
            z = z - ((weight @ self_kernel) * weight).sum(dim=1)
        return rep, z

    def _self_kernel(self, dtype, device):
        """``w`` between the nodes of one interval, ``(p**d, p**d)`` (made once per grid)."""
        grid, p, torch = self.grid, self.p, self.torch
        if grid.self_kernel is None or grid.self_kernel.dtype != dtype:
            offsets = torch.arange(-(p - 1), p, dtype=torch.float64,
                                   device=device) * (grid.box_width / p)
            a = torch.arange(p, device=device)
            sq = offsets[a[:, None] - a[None, :] + p - 1] ** 2  # (p, p): node a vs node c
            if self.dim == 2:  # K[(a, b), (c, e)] = w(offset a - c, offset b - e)
                sq = (sq[:, None, :, None] + sq[None, :, None, :]).reshape(p * p, p * p)
            # float32, as the CPU path's kernel table
            grid.self_kernel = _kernels(1.0 + sq, self.dof)[0].to(torch.float32).to(dtype)
        return grid.self_kernel

    def __call__(self, Y):
        """``(rep, z, Z)`` of the map ``Y`` (on itself, or by the reference map)."""
        lo, hi = self._bounds(Y)
        if self.Y_ref is None:
            self._ensure_grid(lo, hi)
            rep, z = self.gather(Y, self.potentials(Y), True)
        else:
            if self._ref_potentials is None or not self.grid.contains(lo, hi):
                ref_lo, ref_hi = self._ref_bounds
                self._ensure_grid(min(lo, ref_lo), max(hi, ref_hi))
                self._ref_potentials = self.potentials(self.Y_ref.to(Y.dtype))
            rep, z = self.gather(Y, self._ref_potentials, False)
        return rep, z, z.sum()


class TorchFFTObjective:
    """t-SNE's KL(P || Q) and gradient with FFT repulsion, on tensors.

    ``objective(Y, exaggeration, compute_kl) -> (grad, kl)``: the gradient
    ``4 (e·attr - rep / Z)`` of a fit (``2 (e·attr_i - rep_i / z_i)`` for new
    points against a fixed map, each on its own), ``kl`` a float (the KL of
    P, not exaggerated, as the CPU objectives report it) or NaN when not
    ``compute_kl``; after a call, ``last_grad_norm2`` holds ``|grad|²`` (a
    0-d tensor, read by the optimiser).

    Parameters
    ----------
    torch : module
    crow : int64 tensor of shape (n_rows + 1,)
        CSR row offsets of P (fit: the symmetric P; new points: rows of the
        new points against the reference points).
    cols : int64 tensor of shape (nnz,)
        Column of every stored entry.
    values : tensor of shape (nnz,)
        ``p_ij`` (stored in the map's dtype).
    dtype : torch.dtype
        The map's dtype.
    Y_ref : tensor of shape (n_ref, d), default=None
        The fixed reference map for new points.
    dof : float, default=1.0

    Examples
    --------
    >>> import torch
    >>> from skunsup.manifold._torch_objective import TorchFFTObjective
    >>> crow, cols = torch.tensor([0, 2, 3, 4]), torch.tensor([1, 2, 0, 0])
    >>> values = torch.full((4,), 0.25, dtype=torch.float64)
    >>> objective = TorchFFTObjective(torch, crow, cols, values, torch.float64)
    >>> Y = torch.tensor([[0.0, 0.0], [1.0, 0.0], [0.0, 2.0]], dtype=torch.float64)
    >>> grad, kl = objective(Y, 1.0, True)
    >>> tuple(grad.shape), kl > 0
    ((3, 2), True)
    """

    def __init__(self, torch, crow, cols, values, dtype, *, Y_ref=None, dof=1.0):
        self.torch = torch
        self.crow = crow
        self.n_rows = int(crow.shape[0]) - 1
        # the row of every stored entry (to gather both ends of it)
        self.rows = torch.repeat_interleave(
            torch.arange(self.n_rows, device=crow.device), crow[1:] - crow[:-1])
        self.cols = cols
        self.values = values.to(dtype)
        self.dtype = dtype
        self.dof = float(dof)
        self.Y_ref = None if Y_ref is None else Y_ref.to(dtype)
        positive = self.values[self.values > 0].to(torch.float64)
        # sum p log p, a constant of P (from the stored values, as the kernels see them)
        self.p_log_p = float((positive * torch.log(positive)).sum())
        self._repulsion = None
        self.last_grad_norm2 = None

    def repulsion(self, dim, device):
        """The repulsion workspace (made on the first call, kept: its grid is reused)."""
        if self._repulsion is None or self._repulsion.dim != dim:
            self._repulsion = TorchFFTRepulsion(self.torch, dim, device, Y_ref=self.Y_ref,
                                                dof=self.dof)
        return self._repulsion

    def attraction(self, Y, compute_kl):
        """``sum_j p_ij u_ij (y_i - y_j)`` per row, and ``sum p log(p / w)`` (or NaN)."""
        torch = self.torch
        Y_cols = Y if self.Y_ref is None else self.Y_ref
        diff = Y[self.rows] - Y_cols[self.cols]
        d2 = (diff * diff).sum(dim=1)
        u = 1.0 / (1.0 + d2 / self.dof)
        attr = torch.segment_reduce((self.values * u)[:, None] * diff, "sum",
                                    offsets=self.crow, axis=0)
        if not compute_kl:
            return attr, math.nan
        # -log w = dof log(1 + d² / dof)
        part = float((self.values.to(torch.float64)
                      * torch.log1p(d2.to(torch.float64) / self.dof)).sum())
        return attr, self.p_log_p + self.dof * part

    def __call__(self, Y, exaggeration, compute_kl):
        """The gradient at ``Y`` (a new tensor) and the KL (a float, NaN unless ``compute_kl``)."""
        rep, z, Z = self.repulsion(Y.shape[1], Y.device)(Y)
        attr, kl_part = self.attraction(Y, compute_kl)
        if self.Y_ref is None:
            inv_Z = self.torch.where(Z > 0, 1.0 / Z, 0.0)
            grad = 4.0 * (float(exaggeration) * attr - rep * inv_Z)
        else:
            grad = 2.0 * (float(exaggeration) * attr - rep / z[:, None])
        self.last_grad_norm2 = (grad * grad).sum()
        if not compute_kl:
            return grad, math.nan
        if self.Y_ref is None:
            return grad, kl_part + math.log(float(Z))
        return grad, kl_part + float(self.torch.log(z.to(self.torch.float64)).sum())
