"""FFT-accelerated interpolation of t-SNE's repulsive forces (FIt-SNE): the workspaces.

Linderman et al. (2019) write the repulsive part of the t-SNE gradient as sums
of a smooth kernel over all pairs of points,

    F_i = sum_j w_ij^2 (y_i - y_j),   Z = sum_{i != j} w_ij,
    w_ij = 1 / (1 + ||y_i - y_j||^2),

and evaluate them in O(n + G log G): the embedding's bounding square is cut
into ``n_intervals`` intervals per axis, each holding ``p`` equispaced
Lagrange interpolation nodes. Every point spreads its charge onto the
``p ** d`` nodes of its interval with the Lagrange weights (*scatter*);
because all nodes lie on one equispaced grid, the kernel's node-to-node
interaction is a Toeplitz matrix, applied with a zero-padded FFT
convolution; each point then reads the potentials back from the same nodes
(*gather*). The heavy-tailed kernels of Kobak et al. (2019), ``dof`` degrees
of freedom, go through the same grids: ``w_ij = u_ij^dof`` with ``u_ij = 1 /
(1 + ||y_i - y_j||^2 / dof)`` and the force kernel ``w_ij u_ij (y_i - y_j)``
(``w_ij^2 (y_i - y_j)`` at ``dof = 1``), smooth on the unit scale for every
``dof`` (``dof -> inf`` tends to ``exp(-||y_i - y_j||^2)``).

Differences from the paper, measured on this project's 2-core machines:

* The forces are interpolated directly from the odd kernel
  ``G(d) = d / (1 + |d|^2)^2`` (``d w(d) u(d)`` for any ``dof``) applied to
  unit charges (one forward FFT, one inverse per axis), instead of FIt-SNE's
  charges ``1, y`` against ``w^2`` followed by ``y_i phi_1 - phi_y``: 4 FFTs
  per 2-D step instead of FIt-SNE's 8, no cancellation in float32 far from
  the origin, for about 1.5 times the interpolation error of the forces.
* Z comes from the kernel ``w`` itself on the unit charges, and each point's
  own interpolated contribution (not 1: the interpolant's value at that
  point) is subtracted exactly, which makes Z about 100 times more accurate
  than FIt-SNE's expansion ``sum_i [(1 + |y_i|^2) phi_1 - 2 y_i . phi_y +
  phi_|y|^2] - n`` (which also cancels in float32 on wide maps).
* The FFTs run in float32 through :mod:`scipy.fft`, pruned to the rows that
  hold charges or are read back (see
  :mod:`skunsup.manifold._interpolation_grid`).
* The grid is kept (with its kernel FFTs) while the embedding stays inside
  it and fills most of it (see :class:`FFTRepulsion`), so a slowly growing
  map does not pay for new kernel transforms at every iteration.

Accuracy with the defaults (3 nodes per interval, intervals at most one unit
wide, at least 50 of them), relative to the exact sums: forces within 3e-2
(Frobenius) on dense clustered maps like t-SNE's and within 0.2 on any map
of 20 points or more (the worst being sparse maps of few points), Z within
1e-3 on dense maps and 3e-2 on any; with ``intervals_per_unit=2``, forces
within 5e-2 and Z within 5e-3 on such maps. ``tests/test_tsne_fft.py``
checks these bounds.

The method in layers: the numba scatter and gather kernels are in
:mod:`skunsup.manifold._interpolation_kernels` (identical results for any
thread count), the grid geometry, kernel FFTs and convolution in
:mod:`skunsup.manifold._interpolation_grid`. This module holds the
workspaces that keep a grid between calls (:class:`FFTRepulsion` for a fit,
:class:`FFTReferenceRepulsion` for new points against a fixed map,
:func:`make_fft_workspace`), with :func:`fft_repulsion` in the repulsion
convention of :mod:`skunsup.manifold._objectives` (whose ``FFTObjective``
uses them) and the one-shot :func:`fft_repulsive_forces`.
"""

import numba
import numpy as np

from skunsup.manifold._interpolation_grid import (
    Grid,
    bounding_interval,
    choose_n_intervals,
    convolve,
    kernel_values,
    lagrange_denominators,
)
from skunsup.manifold._interpolation_kernels import (
    gather_1d,
    gather_2d,
    scatter_1d,
    scatter_2d,
    sort_by_box,
)
from skunsup.utils._numba import resolve_n_threads

__all__ = [
    "FFTReferenceRepulsion",
    "FFTRepulsion",
    "check_fft_components",
    "fft_repulsion",
    "fft_repulsive_forces",
    "make_fft_workspace",
]


def _workers(n_jobs):
    """FFT threads: numba's current count (set by ``numba_threads``) unless given."""
    return numba.get_num_threads() if n_jobs is None else resolve_n_threads(n_jobs)


class FFTRepulsion:
    """Repeated FFT-interpolated repulsion of one embedding (the workspace of a t-SNE fit).

    Calling the object with an embedding ``Y`` of shape ``(n, d)``, ``d`` in
    {1, 2}, writes ``rep_i = sum_j w_ij u_ij (y_i - y_j)`` and ``z_i = sum_{j
    != i} w_ij`` (``u_ij = 1 / (1 + ||y_i - y_j||^2 / dof)``, ``w_ij =
    u_ij^dof``; ``dof = 1``: ``w_ij^2`` and the Cauchy kernel) and returns
    ``Z = sum_i z_i``; the t-SNE repulsive gradient term is then ``4 rep /
    Z``. The
    n-sized work buffer is allocated on the first call and reused; the grid
    and its kernel FFTs are reused while the embedding stays inside the grid
    and spans more than ``1 / (1 + 2 * grid_slack) ** 2`` of it (the grid only
    ever holds grid-sized arrays, never n x n).

    Parameters
    ----------
    n_components : {1, 2}
        Dimension of the embeddings.
    n_interpolation_points : int, default=3
        Lagrange nodes per interval and axis (FIt-SNE's ``p``).
    min_intervals : int, default=50
        Fewest intervals per axis.
    intervals_per_unit : float, default=1.0
        Intervals per unit of embedding extent (the paper's choice: 1).
    max_intervals : int, default=None
        Most intervals per axis (None: 1024 in 2-D, 2**17 in 1-D).
    grid_slack : float, default=0.05
        Margin added on each side of the embedding when a grid is built.
    n_jobs : int, default=None
        Threads of the FFTs (None: numba's current thread count, which also
        runs the scatter and gather kernels).
    dof : float, default=1.0
        Degrees of freedom of the kernel (1: the Cauchy kernel).

    Attributes
    ----------
    n_grids_built : int
        How many grids (and kernel FFTs) were made so far.

    Examples
    --------
    >>> import numpy as np
    >>> from skunsup.manifold._interpolation import FFTRepulsion
    >>> Y = np.random.default_rng(0).normal(size=(500, 2))
    >>> repulsion = FFTRepulsion(2)
    >>> rep, z = np.empty_like(Y), np.empty(500)
    >>> Z = repulsion(Y, rep, z)
    >>> rep.shape, bool(Z > 0)
    ((500, 2), True)
    """

    def __init__(self, n_components, *, n_interpolation_points=3, min_intervals=50,
                 intervals_per_unit=1.0, max_intervals=None, grid_slack=0.05, n_jobs=None,
                 dof=1.0):
        check_fft_components(n_components)
        if int(n_interpolation_points) < 1:
            raise ValueError("n_interpolation_points must be at least 1")
        self.n_components = n_components
        self.p = int(n_interpolation_points)
        self.min_intervals = int(min_intervals)
        self.intervals_per_unit = float(intervals_per_unit)
        self.max_intervals = max_intervals
        self.grid_slack = float(grid_slack)
        self.n_jobs = n_jobs
        self.dof = float(dof)
        self.nodes, self.den = lagrange_denominators(self.p)
        self.grid = None
        self.n_grids_built = 0
        self._order = None

    def _ensure_grid(self, lo, hi, workers):
        extent = max(hi - lo, 1e-12)
        grid = self.grid
        if grid is not None and grid.contains(lo, hi):
            grid_extent = grid.upper - grid.lower
            if extent * (1.0 + 2.0 * self.grid_slack) ** 2 >= grid_extent:
                return grid
        padded = extent * (1.0 + 2.0 * self.grid_slack)
        n_int = choose_n_intervals(
            padded, self.n_components, min_intervals=self.min_intervals,
            intervals_per_unit=self.intervals_per_unit, max_intervals=self.max_intervals,
        )
        lower = 0.5 * (lo + hi) - 0.5 * padded
        self.grid = Grid(lower, padded, n_int, self.p, self.n_components, workers, self.dof)
        self.n_grids_built += 1
        return self.grid

    def _check(self, Y, rep_out, z_out):
        if Y.ndim != 2 or Y.shape[1] != self.n_components:
            raise ValueError(
                f"expected an embedding of shape (n, {self.n_components}); got {Y.shape}"
            )
        if rep_out.shape != Y.shape or z_out.shape != (Y.shape[0],):
            raise ValueError("rep_out must have the shape of Y and z_out shape (n,)")

    def potentials(self, Y, workers, bounds=None):
        """Scatter ``Y`` onto a (possibly reused) grid and convolve: the node potentials.

        ``bounds``: the interval the grid must cover (default: Y's own).
        """
        lo, hi = bounding_interval(Y) if bounds is None else bounds
        grid = self._ensure_grid(lo, hi, workers)
        n = Y.shape[0]
        if self._order is None or self._order.shape[0] != n:
            self._order = np.empty(n, dtype=np.int64)
        inv_width = 1.0 / grid.box_width
        row_ptr = np.empty(grid.n_intervals + 1, dtype=np.int64)
        sort_by_box(Y[:, 0], grid.lower, inv_width, grid.n_intervals, row_ptr, self._order)
        N = grid.n_nodes
        if self.n_components == 2:
            charges = np.empty((N, N), dtype=np.float32)
            scatter_2d(Y, self._order, row_ptr, grid.lower, inv_width, grid.n_intervals,
                        self.nodes, self.den, charges)
        else:
            charges = np.empty(N, dtype=np.float32)
            scatter_1d(Y, self._order, row_ptr, grid.lower, inv_width, grid.n_intervals,
                        self.nodes, self.den, charges)
        return convolve(charges, grid, self.n_components, workers)

    def gather(self, Y, potentials, is_self, rep_out, z_out):
        """Interpolate ``potentials`` (from :meth:`potentials`) at the points ``Y``.

        ``is_self``: ``Y`` are the charges, whose own interpolated term is removed.
        """
        grid = self.grid
        d = self.n_components
        if is_self:
            offsets = (np.arange(-(self.p - 1), self.p) * grid.box_width / self.p) ** 2
            sq = offsets if d == 1 else offsets[:, None] + offsets[None, :]
            self_kernel = np.ascontiguousarray(kernel_values(1.0 + sq, self.dof)[0],
                                               dtype=np.float32)
        else:
            self_kernel = np.zeros((0,) * d, dtype=np.float32)
        gather = gather_2d if d == 2 else gather_1d
        gather(Y, grid.lower, 1.0 / grid.box_width, grid.n_intervals, self.nodes, self.den,
               potentials, self_kernel, rep_out, z_out)

    def __call__(self, Y, rep_out, z_out):
        """Write the repulsion of ``Y`` on itself into ``rep_out``, ``z_out``; return Z.

        Parameters
        ----------
        Y : ndarray of shape (n_samples, n_components), C-contiguous float
            The embedding.
        rep_out : ndarray of the same shape as ``Y``
            OUT: ``sum_j w_ij u_ij (y_i - y_j)``.
        z_out : ndarray of shape (n_samples,)
            OUT: ``sum_{j != i} w_ij``.

        Returns
        -------
        Z : float
            ``sum_i z_i``.
        """
        self._check(Y, rep_out, z_out)
        potentials = self.potentials(Y, _workers(self.n_jobs))
        self.gather(Y, potentials, True, rep_out, z_out)
        return float(np.sum(z_out))


class FFTReferenceRepulsion:
    """FFT-interpolated repulsion of new points by a fixed reference embedding.

    Used by ``TSNE.transform``: the reference points never move, so their
    potentials on the grid are computed once (one scatter, one convolution)
    and every optimisation step of the new points only gathers, O(m) per step
    for m new points. The grid covers the reference map with a margin and is
    rebuilt (rarely) when a new point leaves it.

    Parameters
    ----------
    Y_ref : ndarray of shape (n_ref, n_components)
        The fixed embedding, ``n_components`` in {1, 2}.
    **kwargs : dict
        As for :class:`FFTRepulsion` (``grid_slack`` defaults to 0.25 here).

    Examples
    --------
    >>> import numpy as np
    >>> from skunsup.manifold._interpolation import FFTReferenceRepulsion
    >>> rng = np.random.default_rng(0)
    >>> repulsion = FFTReferenceRepulsion(rng.normal(size=(300, 2)))
    >>> Y_new = rng.normal(size=(20, 2))
    >>> rep, z = np.empty_like(Y_new), np.empty(20)
    >>> Z = repulsion(Y_new, rep, z)
    >>> rep.shape, bool(Z > 0)
    ((20, 2), True)
    """

    def __init__(self, Y_ref, **kwargs):
        kwargs.setdefault("grid_slack", 0.25)
        self.Y_ref = np.ascontiguousarray(Y_ref, dtype=np.float64)
        if self.Y_ref.ndim != 2 or self.Y_ref.shape[0] < 1:
            raise ValueError(f"Y_ref must be a non-empty 2-D array; got shape {self.Y_ref.shape}")
        self._base = FFTRepulsion(self.Y_ref.shape[1], **kwargs)
        self._ref_lo, self._ref_hi = bounding_interval(self.Y_ref)
        self._potentials = None

    @property
    def dof(self):
        """Degrees of freedom of the kernel."""
        return self._base.dof

    def __call__(self, Y_new, rep_out, z_out):
        """Write ``sum_j w_ij u_ij (y_i - r_j)`` and ``sum_j w_ij`` over the reference points.

        Parameters
        ----------
        Y_new : ndarray of shape (n_new, n_components)
            Positions of the new points.
        rep_out : ndarray like ``Y_new``
            OUT: the unnormalised repulsive forces.
        z_out : ndarray of shape (n_new,)
            OUT: ``sum_j w_ij`` over the reference points j.

        Returns
        -------
        Z : float
            ``sum_i z_i``.
        """
        base = self._base
        base._check(Y_new, rep_out, z_out)
        lo, hi = bounding_interval(Y_new)
        if self._potentials is None or not base.grid.contains(lo, hi):
            workers = _workers(base.n_jobs)
            bounds = (min(lo, self._ref_lo), max(hi, self._ref_hi))
            self._potentials = np.ascontiguousarray(
                base.potentials(self.Y_ref, workers, bounds=bounds))
        base.gather(Y_new, self._potentials, False, rep_out, z_out)
        return float(np.sum(z_out))


def check_fft_components(n_components):
    """Refuse embedding dimensions the FFT interpolation does not handle.

    Parameters
    ----------
    n_components : int
        Dimension of the embedding.

    Raises
    ------
    ValueError
        Unless ``n_components`` is 1 or 2.

    Examples
    --------
    >>> from skunsup.manifold._interpolation import check_fft_components
    >>> check_fft_components(2)
    """
    if n_components not in (1, 2):
        raise ValueError(
            "method='fft' (FFT-accelerated interpolation) supports n_components 1 or 2: "
            f"its grid has (3 x intervals) ** n_components nodes; got n_components="
            f"{n_components}. Use method='barnes_hut' (up to 3) or method='exact'"
        )


def make_fft_workspace(Y_ref=None, n_components=None, **kwargs):
    """The state that :func:`fft_repulsion` keeps between calls.

    Parameters
    ----------
    Y_ref : ndarray of shape (n_ref, n_components), default=None
        A fixed reference embedding (``TSNE.transform``), or None when the
        points repel each other (fitting; then the workspace is made for the
        dimension of the first embedding it sees).
    n_components : int, default=None
        Dimension, when known in advance.
    **kwargs : dict
        Grid settings of :class:`FFTRepulsion`.

    Returns
    -------
    workspace : FFTRepulsion, FFTReferenceRepulsion or _LazyFFTRepulsion

    Examples
    --------
    >>> from skunsup.manifold._interpolation import make_fft_workspace
    >>> type(make_fft_workspace(n_components=2)).__name__
    'FFTRepulsion'
    """
    if Y_ref is not None:
        return FFTReferenceRepulsion(Y_ref, **kwargs)
    if n_components is not None:
        return FFTRepulsion(n_components, **kwargs)
    return _LazyFFTRepulsion(kwargs)


class _LazyFFTRepulsion:
    """An :class:`FFTRepulsion` created on the first call, for that embedding's dimension."""

    def __init__(self, kwargs):
        self._kwargs = kwargs
        self._impl = None
        self.dof = float(kwargs.get("dof", 1.0))

    def __call__(self, Y, rep_out, z_out):
        if self._impl is None or self._impl.n_components != Y.shape[1]:
            self._impl = FFTRepulsion(Y.shape[1], **self._kwargs)
        return self._impl(Y, rep_out, z_out)


def fft_repulsion(Y_query, Y_ref, is_training, angle, rep_out, z_out, tree=None, dof=1.0):
    """Repulsion by FFT-accelerated interpolation, as a repulsion method of the objectives.

    Writes ``rep_i = sum_j w_ij u_ij (y_i - y_j)`` and ``z_i = sum_j w_ij``
    for every query point, the sums over ``Y_ref`` (the query points
    themselves, self pairs excluded, when ``is_training``).

    Parameters
    ----------
    Y_query : ndarray of shape (m, n_components)
        Points to compute the forces on.
    Y_ref : ndarray of shape (n, n_components)
        Points that repel (``Y_query`` itself when fitting).
    is_training : bool
        Whether ``Y_query is Y_ref``.
    angle : float
        Ignored (Barnes-Hut's parameter; same signature for every method).
    rep_out : ndarray of shape (m, n_components)
        OUT.
    z_out : ndarray of shape (m,)
        OUT.
    tree : workspace from :func:`make_fft_workspace`, default=None
        Kept across calls (grid, kernel FFTs, buffers; for new points, the
        reference potentials); None builds a one-shot workspace.
    dof : float, default=1.0
        Degrees of freedom of the kernel of a one-shot workspace (a given
        ``tree`` has its own).

    Examples
    --------
    >>> import numpy as np
    >>> from skunsup.manifold._interpolation import fft_repulsion
    >>> Y = np.array([[0.0, 0.0], [1.0, 0.0]])
    >>> rep, z = np.empty_like(Y), np.empty(2)
    >>> fft_repulsion(Y, Y, True, 0.5, rep, z)
    >>> np.round(rep[:, 0], 3).tolist(), np.round(z, 3).tolist()
    ([-0.25, 0.25], [0.5, 0.5])
    """
    if tree is None:
        tree = make_fft_workspace(None if is_training else Y_ref, n_components=Y_query.shape[1],
                                  dof=dof)
    tree(Y_query, rep_out, z_out)


def fft_repulsive_forces(Y, *, n_interpolation_points=3, min_intervals=50,
                         intervals_per_unit=1.0, max_intervals=None, n_jobs=None, dof=1.0):
    """Unnormalised t-SNE repulsive forces and normaliser by FFT interpolation.

    One-shot convenience around :class:`FFTRepulsion` (no grid slack, so the
    grid is exactly the one FIt-SNE would pick for ``Y``).

    Parameters
    ----------
    Y : array-like of shape (n_samples, n_components)
        Embedding, ``n_components`` in {1, 2}.
    n_interpolation_points : int, default=3
        Lagrange nodes per interval and axis.
    min_intervals : int, default=50
        Fewest intervals per axis.
    intervals_per_unit : float, default=1.0
        Intervals per unit of extent.
    max_intervals : int, default=None
        Most intervals per axis.
    n_jobs : int, default=None
        FFT threads (None: numba's current count).
    dof : float, default=1.0
        Degrees of freedom of the kernel.

    Returns
    -------
    forces : ndarray of shape (n_samples, n_components)
        ``sum_j w_ij u_ij (y_i - y_j)`` with ``u_ij = 1 / (1 + ||y_i -
        y_j||^2 / dof)`` and ``w_ij = u_ij^dof``.
    Z : float
        ``sum_{i != j} w_ij``.

    Examples
    --------
    >>> import numpy as np
    >>> from skunsup.manifold._interpolation import fft_repulsive_forces
    >>> Y = np.array([[0.0, 0.0], [1.0, 0.0]])
    >>> forces, Z = fft_repulsive_forces(Y)
    >>> np.round(forces, 3).tolist(), round(Z, 3)
    ([[-0.25, 0.0], [0.25, 0.0]], 1.0)
    """
    Y = np.ascontiguousarray(Y, dtype=np.float64)
    if Y.ndim != 2 or Y.shape[0] < 1:
        raise ValueError(f"Y must be a non-empty 2-D array; got shape {Y.shape}")
    repulsion = FFTRepulsion(
        Y.shape[1], n_interpolation_points=n_interpolation_points, min_intervals=min_intervals,
        intervals_per_unit=intervals_per_unit, max_intervals=max_intervals, grid_slack=0.0,
        n_jobs=n_jobs, dof=dof,
    )
    forces = np.empty_like(Y)
    Z = repulsion(Y, forces, np.empty(Y.shape[0]))
    return forces, Z
