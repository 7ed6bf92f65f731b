"""The SNE and t-SNE objectives: KL divergences and their gradients over the kernels.

An *objective* is a callable ``objective(Y, exaggeration, compute_kl, grad_out)
-> kl`` that writes the gradient at ``Y`` into ``grad_out`` and returns the KL
divergence (NaN when ``compute_kl`` is False); it carries P and its work
buffers, so a gradient step allocates nothing of size n. An objective may set
``last_grad_norm2`` (the squared gradient norm, found while writing it) to
spare the optimiser (:mod:`skunsup.manifold._optimizer`) a pass over the
gradient. The objectives:

* :class:`SNEObjective` -- exact SNE (dense conditional P);
* :class:`TSNEObjective` -- t-SNE with a sparse or dense P and a repulsion
  function from :data:`REPULSION_METHODS` (``"exact"``, ``"barnes_hut"``);
* :class:`FFTObjective` -- t-SNE with FFT-interpolated repulsion and the
  attraction fused with the gradient.

The t-SNE objectives take the map's kernel by its degrees of freedom ``dof``
(``α``; Kobak et al. 2019): ``u_ij = 1 / (1 + d_ij² / α)`` and ``w_ij =
u_ij^α`` (``α = 1``: the Cauchy kernel ``u = w = 1 / (1 + d²)``). With ``q_ij
= w_ij / Z``, ``KL = sum p log(p / w) + log Z`` (``-log w = α log(1 + d² /
α)``) and, since ``d log w_ij / d y_i = -2 u_ij (y_i - y_j)``, the gradient
is ``4 sum_j (p_ij - q_ij) u_ij (y_i - y_j) = 4 (attr_i - rep_i / Z)`` with
``attr_i = sum_j p_ij u_ij (y_i - y_j)`` and ``rep_i = sum_j w_ij u_ij (y_i
- y_j)``. The attraction kernels are written for the Cauchy kernel; ``u`` of
another ``α`` is the Cauchy kernel of the map scaled by ``1 / sqrt(α)``, so
the attraction of ``α`` is ``sqrt(α)`` times the Cauchy attraction of the
scaled map, whose ``sum p log(1 + d̃²)`` is ``1 / α`` of the KL's
``-sum p log w`` (:class:`_HeavyTailAttraction`; at ``α = 1`` the kernels
run on the map itself, as they always did).

A repulsion function ``(Y_query, Y_ref, is_training, angle, rep_out, z_out,
tree=None, dof=1.0)`` writes ``rep_i = sum_j w_ij u_ij (y_i - y_j)`` and
``z_i = sum_j w_ij`` per query point (:func:`exact_repulsion`,
:func:`bh_repulsion`, :func:`~skunsup.manifold._interpolation.fft_repulsion`).

:data:`OBJECTIVES` maps each t-SNE ``method`` to the factory of its objective,
and :func:`make_objective` picks one, for a fit (``Y_ref=None``) or for new
points against a fixed map (``TSNE.transform``: one normaliser per new
point); a new method registers its factory there.
"""

import numpy as np
import scipy.sparse as sp

from skunsup.manifold import _gradients as G
from skunsup.manifold._barnes_hut import BHTree
from skunsup.manifold._bh_tree import scatter_rows
from skunsup.manifold._interpolation import check_fft_components, make_fft_workspace

__all__ = [
    "OBJECTIVES",
    "REPULSION_METHODS",
    "FFTObjective",
    "SNEObjective",
    "TSNEObjective",
    "bh_repulsion",
    "exact_repulsion",
    "make_objective",
]


# ---------------------------------------------------------------------------
# Repulsion methods: (Y_query, Y_ref, is_training, angle, rep_out, z_out, tree, dof) -> None
# ---------------------------------------------------------------------------


def bh_repulsion(Y_query, Y_ref, is_training, angle, rep_out, z_out, tree=None, dof=1.0):
    """Barnes-Hut repulsion; for training, ``Y_query is Y_ref`` and self-pairs are skipped."""
    if is_training:
        tree = BHTree(Y_ref)
        rep_sorted = np.empty_like(rep_out)
        z_sorted = np.empty_like(z_out)
        tree.self_repulsion(angle, rep_sorted, z_sorted, dof)
        scatter_rows(rep_sorted, z_sorted, tree.perm, rep_out, z_out)
    else:
        tree = BHTree(Y_ref) if tree is None else tree
        tree.repulsion(Y_query, np.full(Y_query.shape[0], -1, dtype=np.int64), angle,
                       rep_out, z_out, dof)


def exact_repulsion(Y_query, Y_ref, is_training, angle, rep_out, z_out, tree=None, dof=1.0):
    """Exact O(m·n) repulsion (``angle`` and ``tree`` are ignored)."""
    G.exact_repulsive_forces(Y_query, Y_ref, bool(is_training), float(dof), rep_out, z_out)


#: name -> repulsion function of :class:`TSNEObjective` (its ``method``).
REPULSION_METHODS = {"barnes_hut": bh_repulsion, "exact": exact_repulsion}


# ---------------------------------------------------------------------------
# Objectives
# ---------------------------------------------------------------------------


def pack_csr(P):
    """The arrays of a CSR ``P`` as the attraction kernels read them.

    float32 values and int32 columns: the attraction streams P once per
    iteration, and half the bytes made it 1.6x faster (10,000 points).

    Examples
    --------
    >>> import scipy.sparse as sp
    >>> from skunsup.manifold._objectives import pack_csr
    >>> data, indices, indptr = pack_csr(sp.csr_array([[0.0, 0.5], [0.5, 0.0]]))
    >>> data.dtype.name, indices.dtype.name, indptr.dtype.name
    ('float32', 'int32', 'int64')
    """
    data = np.ascontiguousarray(P.data, dtype=np.float32)
    index_dtype = np.int32 if P.shape[1] < 2**31 else np.int64
    indices = np.ascontiguousarray(P.indices, dtype=index_dtype)
    return data, indices, np.ascontiguousarray(P.indptr, dtype=np.int64)


def _sum_p_log_p(P_data):
    """``sum p log p`` over the stored (float32) entries, as the kernels see them."""
    p = np.asarray(P_data, dtype=np.float32).astype(np.float64)
    return float(np.sum(p * np.log(np.where(p > 0, p, 1.0))))


class _SymmetricAttraction:
    """The attraction of a fit (symmetric P) from P's strict upper triangle, 2-D maps.

    Measured on 10,000 Fashion-MNIST points (PCA-50, perplexity 30): 0.96 ms
    per evaluation against 1.63 ms over the full P; with the KL, the constant
    ``sum p log p`` is computed once (a log per entry and per call less).
    """

    N_GROUPS = 4  # fixed row groups: a function of the shape only, never of the threads

    def __init__(self, P):
        upper = sp.triu(P, k=1, format="csr")
        self.data = np.ascontiguousarray(upper.data, dtype=np.float32)
        index_dtype = np.int32 if upper.shape[1] < 2**31 else np.int64
        self.indices = np.ascontiguousarray(upper.indices, dtype=index_dtype)
        self.indptr = np.ascontiguousarray(upper.indptr, dtype=np.int64)
        # row groups with about the same number of entries
        targets = np.linspace(0, upper.nnz, self.N_GROUPS + 1)
        bounds = np.searchsorted(self.indptr, targets, side="left").astype(np.int64)
        bounds[0], bounds[-1] = 0, upper.shape[0]
        self.row_bounds = np.maximum.accumulate(np.minimum(bounds, upper.shape[0]))
        self.partials = np.empty((self.N_GROUPS, upper.shape[0], 2))
        self.partial_kl = np.empty(self.N_GROUPS)
        # sum_ij p log p over all of P (a diagonal entry adds no force, only this), a
        # constant of the fit; from the float32 values, as the other kernels see them
        self.p_log_p = _sum_p_log_p(P.data)

    def __call__(self, Y, compute_kl, attr_out):
        """Write the attraction into ``attr_out``; return ``sum_ij p_ij log(p_ij / w_ij)``
        (without the normaliser) when ``compute_kl``, else NaN."""
        G.attractive_forces_symmetric_2d(self.data, self.indices, self.indptr,
                                         self.row_bounds, Y, compute_kl, self.partials,
                                         self.partial_kl, attr_out)
        if not compute_kl:
            return np.nan
        return self.p_log_p + 2.0 * float(np.sum(self.partial_kl))


class _HeavyTailAttraction:
    """The attraction of ``dof`` degrees of freedom from the Cauchy attraction kernels.

    ``u = 1 / (1 + d² / α)`` is the Cauchy kernel of the map scaled by ``s =
    1 / sqrt(α)``: the attraction is ``sqrt(α)`` times the Cauchy attraction
    of the scaled map, and ``-sum p log w = α sum p log(1 + d̃²)``. The
    Cauchy kernels' KL part is ``sum p log p + sum p log(1 + d̃²)``, hence
    the KL's part ``sum p log p + α sum p log(1 + d̃²) = α · (their part) -
    (α - 1) sum p log p``. Scaling costs one O(n) copy of the map per call.
    """

    def __init__(self, dof, P_data, Y_ref):
        self.dof = float(dof)
        self.root = np.sqrt(self.dof)
        self.scale = 1.0 / self.root
        self.p_log_p = _sum_p_log_p(P_data)
        self.Y_ref_scaled = None if Y_ref is None else Y_ref * self.scale
        self._scaled = None

    def scaled(self, Y):
        """The map scaled by ``1 / sqrt(α)`` (in a kept buffer)."""
        if self._scaled is None or self._scaled.shape != Y.shape:
            self._scaled = np.empty_like(Y)
        np.multiply(Y, self.scale, out=self._scaled)
        return self._scaled

    def kl_part(self, cauchy_part):
        """The KL's ``sum p log(p / w)`` from the Cauchy kernels' value on the scaled map."""
        return self.dof * cauchy_part - (self.dof - 1.0) * self.p_log_p


class TSNEObjective:
    """t-SNE's KL(P || Q) and its gradient, for a fit or for new points.

    Parameters
    ----------
    P : ndarray of shape (n, n) or sparse matrix of shape (m, n)
        Joint affinities (fit: symmetric, sums to 1) or conditional rows of
        new points to the reference points (``transform``: rows sum to 1).
    method : str
        A key of :data:`REPULSION_METHODS`.
    angle : float, default=0.5
        Barnes-Hut trade-off.
    Y_ref : ndarray of shape (n, dim), default=None
        The fixed reference embedding for new points; None when fitting.
    dof : float, default=1.0
        Degrees of freedom of the map's kernel (1: the Cauchy kernel).

    Notes
    -----
    Fit: ``KL = sum p log(p / w) + log Z`` with ``Z = sum_{i != j} w_ij``;
    gradient ``4 (e·attr - rep / Z)`` for an exaggeration ``e`` (see the
    module docstring for ``attr``, ``rep`` and ``w`` of ``dof``). New points
    (each optimised on its own against the fixed map, ``q_{j|i} = w_ij /
    z_i``): ``KL_i = sum_j p_ij log(p_ij / w_ij) + log z_i``, gradient ``2
    (e·attr_i - rep_i / z_i)``, the exact derivative of that cost at ``e =
    1``.
    """

    def __init__(self, P, method, angle=0.5, Y_ref=None, dof=1.0):
        self.method = method
        self.angle = float(angle)
        self.dof = float(dof)
        self.Y_ref = None if Y_ref is None else np.ascontiguousarray(Y_ref, dtype=np.float64)
        self.dense = not sp.issparse(P)
        if self.dense:
            self.P = np.ascontiguousarray(P, dtype=np.float64)
        else:
            P = sp.csr_array(P)
            self.P_data, self.P_indices, self.P_indptr = pack_csr(P)
        self.n_rows = P.shape[0]
        self._upper = None
        if not self.dense and self.Y_ref is None and (P != P.T).nnz == 0:
            self._upper = _SymmetricAttraction(P)
        self._heavy = None
        if self.dof != 1.0 and not self.dense:
            self._heavy = _HeavyTailAttraction(self.dof, self.P_data, self.Y_ref)
        self._buffers = None
        self._tree = None
        if self.Y_ref is not None and method == "barnes_hut":
            self._tree = BHTree(self.Y_ref)

    def _work(self, Y):
        if self._buffers is None or self._buffers[0].shape != Y.shape:
            self._buffers = (np.empty_like(Y), np.empty_like(Y), np.empty(Y.shape[0]),
                             np.empty(Y.shape[0]), np.empty(1), np.empty(Y.shape[0]))
        return self._buffers

    def _attraction(self, Y, Y_ref, compute_kl, attr, kl_rows):
        """Write the sparse P's attraction into ``attr``; return its part of the KL
        (``sum p log(p / w)``) when ``compute_kl``, else NaN."""
        heavy = self._heavy
        if heavy is not None:
            training = Y_ref is Y
            Y = heavy.scaled(Y)
            Y_ref = Y if training else heavy.Y_ref_scaled
        if self._upper is not None and Y.shape[1] == 2:
            part = self._upper(Y, compute_kl, attr)
        else:
            attraction = (G.attractive_forces_2d if Y.shape[1] == 2
                          else G.attractive_forces)
            attraction(self.P_data, self.P_indices, self.P_indptr, Y, Y_ref, compute_kl,
                       attr, kl_rows)
            part = float(np.sum(kl_rows)) if compute_kl else np.nan
        if heavy is None:
            return part
        attr *= heavy.root
        return heavy.kl_part(part)

    def __call__(self, Y, exaggeration, compute_kl, grad_out):
        """Write the gradient at ``Y`` into ``grad_out``; return the KL (or NaN)."""
        attr, rep, z, kl_rows, inv_z1, inv_z_rows = self._work(Y)
        training = self.Y_ref is None
        Y_ref = Y if training else self.Y_ref
        if self.dense and training and self.method == "exact":
            G.tsne_exact_gradient(self.P, Y, self.dof, compute_kl, attr, rep, z, kl_rows)
            kl_part = float(np.sum(kl_rows))
        else:
            if self.dense:
                raise ValueError("a dense P is only used by the exact method")
            kl_part = self._attraction(Y, Y_ref, compute_kl, attr, kl_rows)
            REPULSION_METHODS[self.method](Y, Y_ref, training, self.angle, rep, z,
                                           tree=self._tree, dof=self.dof)
        if training:
            Z = float(np.sum(z))
            inv_z1[0] = 1.0 / Z
            self.last_grad_norm2 = G.combine_tsne_gradient(attr, rep, exaggeration, inv_z1,
                                                           4.0, grad_out)
            return float(kl_part + np.log(Z)) if compute_kl else np.nan
        np.divide(1.0, z, out=inv_z_rows)
        self.last_grad_norm2 = G.combine_tsne_gradient(attr, rep, exaggeration, inv_z_rows,
                                                       2.0, grad_out)
        if compute_kl:
            return float(kl_part + np.sum(np.log(z)))
        return np.nan


class SNEObjective:
    """SNE's cost ``sum_i KL(P_i || Q_i)`` and its exact gradient.

    Parameters
    ----------
    P : ndarray of shape (n, n)
        Conditional affinities, ``P[i, j] = p_{j|i}`` (rows sum to 1).
    """

    def __init__(self, P):
        self.P = np.ascontiguousarray(P, dtype=np.float64)
        self.P_sym = np.ascontiguousarray(self.P + self.P.T)
        n = self.P.shape[0]
        self._z = np.empty(n)
        self._shift = np.empty(n)
        self._kl_rows = np.empty(n)

    def __call__(self, Y, exaggeration, compute_kl, grad_out):
        """Write the gradient at ``Y`` into ``grad_out``; return the KL (or NaN)."""
        G.sne_row_normalizers(Y, self._shift, self._z)
        G.sne_gradient(self.P, self.P_sym, Y, self._shift, self._z, float(exaggeration),
                       compute_kl, grad_out, self._kl_rows)
        self.last_grad_norm2 = float(np.sum(grad_out * grad_out))
        return float(np.sum(self._kl_rows)) if compute_kl else np.nan


class FFTObjective:
    """t-SNE's KL(P || Q) and gradient with FFT-interpolated repulsion.

    The optimiser's objective protocol (``objective(Y, exaggeration,
    compute_kl, grad_out) -> kl`` with ``last_grad_norm2``), like
    :class:`TSNEObjective`, with P stored as
    float32 data and int32 indices (half the memory traffic of the
    attraction, its cost) and the attraction fused with the gradient. All
    n-sized buffers are made once; a call allocates only grid-sized arrays.

    Fit (``Y_ref`` None): ``KL = sum p log(p / w) + log Z``, gradient
    ``4 (exaggeration attr - rep / Z)``, Z from the FFT (no O(n^2) pass). New
    points against a fixed map (``Y_ref`` given, P rows of the new points):
    ``KL_i = sum_j p_ij log(p_ij / w_ij) + log z_i``, gradient
    ``2 (exaggeration attr_i - rep_i / z_i)``, the reference potentials being
    computed once. With ``dof`` other than 1 the attraction runs on the map
    scaled by ``1 / sqrt(dof)`` (see :class:`_HeavyTailAttraction`), its
    factor ``sqrt(dof)`` folded into the exaggeration, and the grid
    interpolates the kernel of ``dof``.

    Parameters
    ----------
    P : sparse matrix of shape (m, n)
        Joint affinities (fit) or rows of the new points.
    Y_ref : ndarray of shape (n, n_components), default=None
        The fixed map for new points.
    dof : float, default=1.0
        Degrees of freedom of the map's kernel.
    **grid_kwargs : dict
        Grid settings of :class:`~skunsup.manifold._interpolation.FFTRepulsion`.

    Examples
    --------
    >>> import numpy as np
    >>> import scipy.sparse as sp
    >>> from skunsup.manifold._objectives import FFTObjective
    >>> P = sp.csr_array(np.array([[0, .25, .25], [.25, 0, 0], [.25, 0, 0]]))
    >>> objective = FFTObjective(P)
    >>> Y = np.array([[0.0, 0.0], [1.0, 0.0], [0.0, 2.0]])
    >>> grad = np.empty_like(Y)
    >>> kl = objective(Y, 1.0, True, grad)
    >>> grad.shape, bool(np.isfinite(kl))
    ((3, 2), True)
    """

    def __init__(self, P, Y_ref=None, dof=1.0, **grid_kwargs):
        P = sp.csr_array(P)
        self.P_data, self.P_indices, self.P_indptr = pack_csr(P)
        self.n_rows = P.shape[0]
        self.Y_ref = None if Y_ref is None else np.ascontiguousarray(Y_ref, dtype=np.float64)
        if self.Y_ref is not None:
            check_fft_components(self.Y_ref.shape[1])
        self.dof = float(dof)
        self._heavy = None
        if self.dof != 1.0:
            self._heavy = _HeavyTailAttraction(self.dof, self.P_data, self.Y_ref)
        self.workspace = make_fft_workspace(self.Y_ref, dof=self.dof, **grid_kwargs)
        self._buffers = None
        self._inv_z1 = np.empty(1)
        self.last_grad_norm2 = np.nan
        self.last_Z = np.nan

    def _work(self, Y):
        if self._buffers is None or self._buffers[0].shape != Y.shape:
            n = Y.shape[0]
            self._buffers = (np.empty_like(Y), np.empty(n), np.empty(n), np.empty(n),
                             np.empty(n))
        return self._buffers

    def __call__(self, Y, exaggeration, compute_kl, grad_out):
        """Write the gradient at ``Y`` into ``grad_out``; return the KL (or NaN)."""
        check_fft_components(Y.shape[1])
        rep, z, kl_rows, norm_rows, inv_z_rows = self._work(Y)
        training = self.Y_ref is None
        Y_cols = Y if training else self.Y_ref
        Z = self.workspace(Y, rep, z)
        self.last_Z = Z
        if training:
            self._inv_z1[0] = 1.0 / Z if Z > 0 else 0.0
            inv_z, factor = self._inv_z1, 4.0
        else:
            np.divide(1.0, z, out=inv_z_rows)
            inv_z, factor = inv_z_rows, 2.0
        heavy = self._heavy
        Y_rows = Y
        if heavy is not None:
            Y_rows = heavy.scaled(Y)
            Y_cols = Y_rows if training else heavy.Y_ref_scaled
            exaggeration = exaggeration * heavy.root
        G.fused_attraction_gradient(self.P_data, self.P_indices, self.P_indptr, Y_rows, Y_cols,
                                    rep, inv_z, float(exaggeration), factor, bool(compute_kl),
                                    grad_out, kl_rows, norm_rows)
        self.last_grad_norm2 = float(np.sum(norm_rows))
        if not compute_kl:
            return np.nan
        kl_part = np.sum(kl_rows) if heavy is None else heavy.kl_part(float(np.sum(kl_rows)))
        if training:
            return float(kl_part + np.log(Z))
        return float(kl_part + np.sum(np.log(z)))

# ---------------------------------------------------------------------------
# The registry: t-SNE method -> objective
# ---------------------------------------------------------------------------


def _tsne_objective(P, method, angle, Y_ref, dof):
    """Exact or Barnes-Hut: :class:`TSNEObjective` with that repulsion."""
    return TSNEObjective(P, method, angle, Y_ref=Y_ref, dof=dof)


def _fft_objective(P, method, angle, Y_ref, dof):
    """FFT interpolation: :class:`FFTObjective` (``angle`` is not used)."""
    return FFTObjective(P, Y_ref=Y_ref, dof=dof)


#: t-SNE ``method`` -> factory ``(P, method, angle, Y_ref, dof) -> objective``; the one
#: place a method is registered (``TSNE`` builds every objective through it).
OBJECTIVES = {
    "barnes_hut": _tsne_objective,
    "exact": _tsne_objective,
    "fft": _fft_objective,
}


def make_objective(method, P, angle=0.5, Y_ref=None, dof=1.0):
    """The t-SNE objective of ``method`` (a key of :data:`OBJECTIVES`).

    Parameters
    ----------
    method : str
        ``"exact"``, ``"barnes_hut"`` or ``"fft"``.
    P : ndarray of shape (n, n) or sparse matrix of shape (m, n)
        Joint affinities (fit; dense only for ``"exact"``) or the rows of new
        points against the reference points (``Y_ref`` given).
    angle : float, default=0.5
        Barnes-Hut trade-off (ignored by the other methods).
    Y_ref : ndarray of shape (n, dim), default=None
        The fixed map that new points are placed in; None when fitting.
    dof : float, default=1.0
        Degrees of freedom of the map's kernel (1: the Cauchy kernel).

    Returns
    -------
    objective : callable
        ``objective(Y, exaggeration, compute_kl, grad_out) -> kl``.

    Examples
    --------
    >>> import numpy as np
    >>> import scipy.sparse as sp
    >>> from skunsup.manifold._objectives import make_objective
    >>> P = sp.csr_array(np.array([[0, .25, .25], [.25, 0, 0], [.25, 0, 0]]))
    >>> type(make_objective("barnes_hut", P)).__name__
    'TSNEObjective'
    """
    try:
        factory = OBJECTIVES[method]
    except KeyError:
        raise ValueError(
            f"unknown t-SNE method {method!r}; expected one of {sorted(OBJECTIVES)}"
        ) from None
    return factory(P, method, angle, Y_ref, float(dof))
