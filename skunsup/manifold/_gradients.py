"""Numba kernels of the exact SNE / t-SNE gradients and of t-SNE's attraction.

* SNE (conditional Gaussian Q): :func:`sne_row_normalizers`,
  :func:`sne_gradient`;
* exact t-SNE: :func:`tsne_exact_gradient` (dense P, one O(n²) pass) and
  :func:`exact_repulsive_forces` (``rep_i = sum_j w_ij u_ij (y_i - y_j)``,
  ``z_i = sum_j w_ij``), for the heavy-tailed kernels of ``dof`` degrees of
  freedom ``α``: ``u = 1 / (1 + d² / α)`` and ``w = u^α`` (Kobak et al.
  2019; ``α = 1`` is the Cauchy kernel ``u = w = 1 / (1 + d²)``, computed
  as before, without powers);
* the attraction over a sparse (CSR) P, ``attr_i = sum_j p_ij w_ij (y_i -
  y_j)`` with ``sum p log(p / w)`` per row for the KL, for the Cauchy kernel
  (the objectives get the attraction of another ``α`` from it on the map
  scaled by ``1 / sqrt(α)``, where ``u`` is the Cauchy kernel):
  :func:`attractive_forces`, its 2-D twin :func:`attractive_forces_2d`,
  :func:`attractive_forces_symmetric_2d` (a symmetric P from its upper
  triangle) and :func:`fused_attraction_gradient` (attraction and final
  gradient in one pass, used with the FFT repulsion);
* :func:`combine_tsne_gradient`: ``factor · (exaggeration · attr - rep / Z)``.

The Barnes-Hut walks are in :mod:`skunsup.manifold._barnes_hut`, the FFT
interpolation in :mod:`skunsup.manifold._interpolation`; the objectives of
:mod:`skunsup.manifold._objectives` put the pieces together.

Every kernel is deterministic for any thread count: the parallel loops write
per-row (or per-point, or per-fixed-group) outputs, and sums over rows are
taken afterwards in NumPy in a fixed order.
"""

import numba
import numpy as np
from numba import types
from numba.extending import intrinsic

from skunsup.utils._numba import jit_kernel, jit_parallel

__all__ = [
    "attractive_forces",
    "attractive_forces_2d",
    "attractive_forces_symmetric_2d",
    "combine_tsne_gradient",
    "exact_repulsive_forces",
    "fused_attraction_gradient",
    "sne_gradient",
    "sne_row_normalizers",
    "tsne_exact_gradient",
]


#: exp(-x) for x beyond this is below 1e-304: counted as 0 (denormals are very slow)
_EXP_CUTOFF = 700.0


@intrinsic
def _float_from_bits(typingctx, bits):
    """Reinterpret an int64 as a float64 (a bit cast, so that exp below vectorises)."""
    sig = types.float64(types.int64)

    def codegen(context, builder, signature, args):
        return builder.bitcast(args[0], context.get_value_type(types.float64))

    return sig, codegen


@jit_kernel(inline="always")
def exp_neg(x):
    """``exp(-x)`` for ``0 <= x``; 0 beyond ``_EXP_CUTOFF``; relative error below 1e-15.

    Cody-Waite reduction ``-x = k ln 2 + r`` (``|r| <= ln2 / 2``), a degree-12
    Taylor polynomial for ``exp(r)`` and ``2^k`` built from its bits: plain
    arithmetic that LLVM vectorises, where ``np.exp`` is a scalar libm call
    (numba here has no SVML).
    """
    if x >= _EXP_CUTOFF:
        return 0.0
    y = -x
    k = np.floor(y * 1.4426950408889634 + 0.5)
    r = y - k * 0.6931471803691238 - k * 1.9082149292705877e-10
    p = 1.0 + r * (1.0 + r * (0.5 + r * (1.0 / 6.0 + r * (1.0 / 24.0 + r * (
        1.0 / 120.0 + r * (1.0 / 720.0 + r * (1.0 / 5040.0 + r * (1.0 / 40320.0 + r * (
            1.0 / 362880.0 + r * (1.0 / 3628800.0 + r * (1.0 / 39916800.0 + r * (
                1.0 / 479001600.0))))))))))))
    return p * _float_from_bits((np.int64(k) + 1023) << 52)

# ---------------------------------------------------------------------------
# Exact SNE (conditional Gaussian Q with sigma² = 1/2: q_{j|i} ∝ exp(-|yi - yj|²))
# ---------------------------------------------------------------------------


@jit_parallel
def sne_row_normalizers(Y, shift_out, z_out):
    """Stable row normalisers of SNE's map kernel.

    ``shift_i = min_{k != i} |y_i - y_k|²`` and ``z_i = sum_{k != i}
    exp(-(|y_i - y_k|² - shift_i))`` (OUT), so that ``q_{j|i} =
    exp(-(d_ij² - shift_i)) / z_i`` never underflows to 0/0 for an isolated
    point.
    """
    n, dim = Y.shape
    for i in numba.prange(n):
        m = np.inf
        for k in range(n):
            if k == i:
                continue
            d2 = 0.0
            for c in range(dim):
                diff = Y[i, c] - Y[k, c]
                d2 += diff * diff
            if d2 < m:
                m = d2
        z = 0.0
        for k in range(n):
            if k == i:
                continue
            d2 = 0.0
            for c in range(dim):
                diff = Y[i, c] - Y[k, c]
                d2 += diff * diff
            z += exp_neg(d2 - m)
        shift_out[i] = m
        z_out[i] = z


@jit_parallel
def sne_gradient(P, P_sym, Y, shift, z, exaggeration, compute_kl, grad_out, kl_rows):
    """Exact gradient of SNE's cost ``sum_i KL(P_i || Q_i)``.

    ``dC/dy_i = 2 sum_j (p_{j|i} - q_{j|i} + p_{i|j} - q_{i|j}) (y_i - y_j)``
    with ``q_{j|i} = exp(-(|y_i - y_j|² - shift_i)) / z_i``.

    Parameters
    ----------
    P : ndarray of shape (n, n) (IN)
        Conditional affinities, ``P[i, j] = p_{j|i}``, rows sum to 1.
    P_sym : ndarray of shape (n, n) (IN)
        ``P + P.T`` (precomputed once, so that rows are read contiguously).
    Y : ndarray of shape (n, dim) (IN)
    shift, z : ndarray of shape (n,) (IN)
        Row shifts and normalisers from :func:`sne_row_normalizers`.
    exaggeration : float
        Multiplies P in the gradient (not in the KL).
    compute_kl : bool
    grad_out : ndarray of shape (n, dim) (OUT)
    kl_rows : ndarray of shape (n,) (OUT)
        ``KL(P_i || Q_i)`` per row when ``compute_kl``.
    """
    n, dim = Y.shape
    for i in numba.prange(n):
        for c in range(dim):
            grad_out[i, c] = 0.0
        kl = 0.0
        log_zi = np.log(z[i])
        for j in range(n):
            if j == i:
                continue
            d2 = 0.0
            for c in range(dim):
                diff = Y[i, c] - Y[j, c]
                d2 += diff * diff
            q_ji = exp_neg(d2 - shift[i]) / z[i]
            q_ij = exp_neg(d2 - shift[j]) / z[j]
            coef = 2.0 * (exaggeration * P_sym[i, j] - q_ji - q_ij)
            for c in range(dim):
                grad_out[i, c] += coef * (Y[i, c] - Y[j, c])
            if compute_kl:
                p = P[i, j]
                if p > 0.0:
                    # log q_{j|i} = -(d2 - shift_i) - log z_i, finite even when q underflows
                    kl += p * (np.log(p) + (d2 - shift[i]) + log_zi)
        kl_rows[i] = kl


# ---------------------------------------------------------------------------
# t-SNE, exact (heavy-tailed Q, dof degrees of freedom)
# ---------------------------------------------------------------------------


@jit_parallel
def tsne_exact_gradient(P, Y, dof, compute_kl, attr_out, rep_out, z_rows, kl_rows):
    """One O(n²) pass giving every term of the exact t-SNE gradient.

    Per row ``i``, with ``u_ij = 1 / (1 + |y_i - y_j|² / dof)`` and ``w_ij =
    u_ij^dof``: ``attr_i = sum_j p_ij u_ij (y_i - y_j)``, ``rep_i = sum_j
    w_ij u_ij (y_i - y_j)``, ``z_i = sum_j w_ij`` and ``kl_i = sum_j p_ij
    log(p_ij / w_ij)``. No n × n matrix is formed besides P itself. Combine
    with :func:`combine_tsne_gradient`. ``dof == 1`` (``u = w``) runs the
    Cauchy kernel without powers.

    Parameters
    ----------
    P : ndarray of shape (n, n) (IN)
        Joint affinities (symmetric, sum 1).
    Y : ndarray of shape (n, dim) (IN)
    dof : float
        Degrees of freedom of the kernel, ``> 0``.
    compute_kl : bool
    attr_out, rep_out : ndarray of shape (n, dim) (OUT)
    z_rows, kl_rows : ndarray of shape (n,) (OUT)
    """
    n, dim = Y.shape
    cauchy = dof == 1.0
    inv_dof = 1.0 / dof
    for i in numba.prange(n):
        for c in range(dim):
            attr_out[i, c] = 0.0
            rep_out[i, c] = 0.0
        z = 0.0
        kl = 0.0
        for j in range(n):
            if j == i:
                continue
            d2 = 0.0
            for c in range(dim):
                diff = Y[i, c] - Y[j, c]
                d2 += diff * diff
            p = P[i, j]
            if cauchy:
                w = 1.0 / (1.0 + d2)
                pw = p * w
                ww = w * w
            else:
                u = 1.0 / (1.0 + d2 * inv_dof)
                neg_log_w = dof * np.log1p(d2 * inv_dof)
                w = exp_neg(neg_log_w)
                pw = p * u
                ww = w * u
            z += w
            for c in range(dim):
                diff = Y[i, c] - Y[j, c]
                attr_out[i, c] += pw * diff
                rep_out[i, c] += ww * diff
            if compute_kl and p > 0.0:
                if cauchy:
                    kl += p * (np.log(p) - np.log(w))
                else:
                    kl += p * (np.log(p) + neg_log_w)
        z_rows[i] = z
        kl_rows[i] = kl


@jit_parallel
def exact_repulsive_forces(Y_query, Y_ref, skip_self, dof, rep_out, z_out):
    """Repulsion of query points from every reference point, exactly.

    ``rep_i = sum_j w_ij u_ij (q_i - y_j)`` and ``z_i = sum_j w_ij`` with
    ``u_ij = 1 / (1 + |q_i - y_j|² / dof)`` and ``w_ij = u_ij^dof``; when
    ``skip_self`` the query points are the reference points and ``j == i``
    is left out.

    Parameters
    ----------
    Y_query : ndarray of shape (m, dim) (IN)
    Y_ref : ndarray of shape (n, dim) (IN)
    skip_self : bool
    dof : float
        Degrees of freedom of the kernel (1: Cauchy, no powers).
    rep_out : ndarray of shape (m, dim) (OUT)
    z_out : ndarray of shape (m,) (OUT)
    """
    m, dim = Y_query.shape
    n = Y_ref.shape[0]
    cauchy = dof == 1.0
    inv_dof = 1.0 / dof
    for i in numba.prange(m):
        for c in range(dim):
            rep_out[i, c] = 0.0
        z = 0.0
        for j in range(n):
            if skip_self and j == i:
                continue
            d2 = 0.0
            for c in range(dim):
                diff = Y_query[i, c] - Y_ref[j, c]
                d2 += diff * diff
            if cauchy:
                w = 1.0 / (1.0 + d2)
                ww = w * w
            else:
                u = 1.0 / (1.0 + d2 * inv_dof)
                w = exp_neg(dof * np.log1p(d2 * inv_dof))
                ww = w * u
            z += w
            for c in range(dim):
                rep_out[i, c] += ww * (Y_query[i, c] - Y_ref[j, c])
        z_out[i] = z


# ---------------------------------------------------------------------------
# Attractive forces over a sparse (CSR) P
# ---------------------------------------------------------------------------


@jit_parallel
def attractive_forces(P_data, P_indices, P_indptr, Y_rows, Y_cols, compute_kl,
                      attr_out, kl_rows):
    """Attractive term of t-SNE over the non-zeros of a CSR matrix P.

    ``attr_i = sum_j p_ij w_ij (y_i - y_j)`` with ``y_i`` a row of ``Y_rows``
    and ``y_j`` a row of ``Y_cols`` (the same array when fitting; the new
    points and the training embedding in ``transform``), and ``kl_i = sum_j
    p_ij log(p_ij / w_ij)``.

    Parameters
    ----------
    P_data : ndarray of shape (nnz,), float (IN)
    P_indices : ndarray of shape (nnz,), int (IN)
    P_indptr : ndarray of shape (m + 1,), int (IN)
    Y_rows : ndarray of shape (m, dim) (IN)
    Y_cols : ndarray of shape (n, dim) (IN)
    compute_kl : bool
    attr_out : ndarray of shape (m, dim) (OUT)
    kl_rows : ndarray of shape (m,) (OUT)
    """
    m, dim = Y_rows.shape
    for i in numba.prange(m):
        for c in range(dim):
            attr_out[i, c] = 0.0
        kl = 0.0
        for idx in range(P_indptr[i], P_indptr[i + 1]):
            j = P_indices[idx]
            p = np.float64(P_data[idx])
            d2 = 0.0
            for c in range(dim):
                diff = Y_rows[i, c] - Y_cols[j, c]
                d2 += diff * diff
            w = 1.0 / (1.0 + d2)
            pw = p * w
            for c in range(dim):
                attr_out[i, c] += pw * (Y_rows[i, c] - Y_cols[j, c])
            if compute_kl and p > 0.0:
                kl += p * (np.log(p) + np.log1p(d2))
        kl_rows[i] = kl


@jit_kernel
def combine_tsne_gradient(attr, rep, exaggeration, inv_z, factor, grad_out):
    """``grad = factor · (exaggeration · attr - inv_z · rep)`` in place; returns |grad|².

    ``inv_z`` is a scalar-like array: shape (1,) for one global normaliser
    (fitting), or shape (n,) for one normaliser per point (``transform``).
    """
    n, dim = attr.shape
    per_point = inv_z.shape[0] == n and n != 1
    norm2 = 0.0
    for i in range(n):
        s = inv_z[i] if per_point else inv_z[0]
        for c in range(dim):
            g = factor * (exaggeration * attr[i, c] - s * rep[i, c])
            grad_out[i, c] = g
            norm2 += g * g
    return norm2


# ---------------------------------------------------------------------------
# Attraction of 2-D maps, and the attraction fused with the gradient
# ---------------------------------------------------------------------------


@jit_parallel
def attractive_forces_2d(P_data, P_indices, P_indptr, Y_rows, Y_cols, compute_kl, attr_out,
                         kl_rows):
    """:func:`attractive_forces` for 2-D maps (same arguments)."""
    m = Y_rows.shape[0]
    for i in numba.prange(m):
        xi = Y_rows[i, 0]
        yi = Y_rows[i, 1]
        ax = 0.0
        ay = 0.0
        kl = 0.0
        lo = P_indptr[i]
        hi = P_indptr[i + 1]
        if compute_kl:
            for idx in range(lo, hi):
                j = P_indices[idx]
                p = np.float64(P_data[idx])
                dx = xi - Y_cols[j, 0]
                dy = yi - Y_cols[j, 1]
                d2 = dx * dx + dy * dy
                pw = p / (1.0 + d2)
                ax += pw * dx
                ay += pw * dy
                if p > 0.0:
                    kl += p * (np.log(p) + np.log1p(d2))
        else:
            for idx in range(lo, hi):
                j = P_indices[idx]
                dx = xi - Y_cols[j, 0]
                dy = yi - Y_cols[j, 1]
                pw = P_data[idx] / (1.0 + dx * dx + dy * dy)
                ax += pw * dx
                ay += pw * dy
        attr_out[i, 0] = ax
        attr_out[i, 1] = ay
        kl_rows[i] = kl


@jit_parallel
def attractive_forces_symmetric_2d(U_data, U_indices, U_indptr, row_bounds, Y, compute_kl,
                                   partials, partial_kl, attr_out):
    """:func:`attractive_forces_2d` of a symmetric P from its strict upper triangle.

    Each pair is visited once and its force added to both points: half the
    divisions and half the bytes of P. Rows are split into fixed groups
    (``row_bounds``, balanced by entries); group ``g`` accumulates into
    ``partials[g]``, summed in group order afterwards, so the result does not
    depend on the thread count.

    With ``compute_kl``, ``partial_kl[g]`` receives group g's share of
    ``sum_{i<j} p_ij log(1 + |y_i - y_j|^2)`` (the KL's part that depends on Y).

    IN: U_* (CSR of the strict upper triangle of P, n x n), row_bounds (G + 1,),
    Y (n, 2), compute_kl. SCRATCH: partials (G, n, 2). OUT: partial_kl (G,),
    attr_out (n, 2).
    """
    n = Y.shape[0]
    n_groups = row_bounds.shape[0] - 1
    for g in numba.prange(n_groups):
        for i in range(n):
            partials[g, i, 0] = 0.0
            partials[g, i, 1] = 0.0
        kl = 0.0
        for i in range(row_bounds[g], row_bounds[g + 1]):
            xi = Y[i, 0]
            yi = Y[i, 1]
            ax = 0.0
            ay = 0.0
            for idx in range(U_indptr[i], U_indptr[i + 1]):
                j = U_indices[idx]
                dx = xi - Y[j, 0]
                dy = yi - Y[j, 1]
                d2 = dx * dx + dy * dy
                pw = U_data[idx] / (1.0 + d2)
                fx = pw * dx
                fy = pw * dy
                ax += fx
                ay += fy
                partials[g, j, 0] -= fx
                partials[g, j, 1] -= fy
                if compute_kl:
                    kl += np.float64(U_data[idx]) * np.log1p(d2)
            partials[g, i, 0] += ax
            partials[g, i, 1] += ay
        partial_kl[g] = kl
    for i in numba.prange(n):
        sx = 0.0
        sy = 0.0
        for g in range(n_groups):
            sx += partials[g, i, 0]
            sy += partials[g, i, 1]
        attr_out[i, 0] = sx
        attr_out[i, 1] = sy


@jit_parallel
def fused_attraction_gradient(P_data, P_indices, P_indptr, Y_rows, Y_cols, rep, inv_z,
                              exaggeration, factor, compute_kl, grad_out, kl_rows, norm_rows):
    """Attraction over a float32 CSR P fused with the final gradient.

    ``grad_i = factor (exaggeration sum_j p_ij w_ij (y_i - y_j) - inv_z_i rep_i)``
    with ``inv_z`` of shape (1,) (one normaliser) or (m,) (one per row);
    ``kl_i = sum_j p_ij log(p_ij / w_ij)`` when ``compute_kl``; ``norm_rows``
    gets ``|grad_i|^2``. Parallel over rows, per-row outputs (IN P_*, Y_*,
    rep, inv_z; OUT grad_out, kl_rows, norm_rows).
    """
    m, dim = Y_rows.shape
    per_row = inv_z.shape[0] == m and m != 1
    for i in numba.prange(m):
        a0 = 0.0
        a1 = 0.0
        kl = 0.0
        y0 = Y_rows[i, 0]
        y1 = Y_rows[i, 1] if dim == 2 else 0.0
        for idx in range(P_indptr[i], P_indptr[i + 1]):
            j = P_indices[idx]
            p = np.float64(P_data[idx])
            d0 = y0 - Y_cols[j, 0]
            d1 = (y1 - Y_cols[j, 1]) if dim == 2 else 0.0
            d2 = d0 * d0 + d1 * d1
            pw = p / (1.0 + d2)
            a0 += pw * d0
            a1 += pw * d1
            if compute_kl and p > 0.0:
                kl += p * (np.log(p) + np.log1p(d2))
        s = inv_z[i] if per_row else inv_z[0]
        g0 = factor * (exaggeration * a0 - s * rep[i, 0])
        grad_out[i, 0] = g0
        norm = g0 * g0
        if dim == 2:
            g1 = factor * (exaggeration * a1 - s * rep[i, 1])
            grad_out[i, 1] = g1
            norm += g1 * g1
        norm_rows[i] = norm
        kl_rows[i] = kl
