"""Objectives of SNE / t-SNE and the gradient-descent optimiser they share.

An *objective* is a callable ``objective(Y, exaggeration, compute_kl, grad_out)
-> kl`` that writes the gradient at ``Y`` into ``grad_out`` and returns the KL
divergence (NaN when ``compute_kl`` is False); it carries P and its work
buffers, so a gradient step allocates nothing of size n. An objective may set
``last_grad_norm2`` (the squared gradient norm, found while writing it) to
spare the optimiser a pass over the gradient. The objectives here:

* :class:`SNEObjective` -- exact SNE (dense conditional P);
* :class:`TSNEObjective` -- t-SNE with a sparse or dense P and a repulsion
  method taken from :data:`REPULSION_METHODS` (``"exact"``, ``"barnes_hut"``);
  the fitted map and ``transform`` (new points against a fixed reference
  embedding, one normaliser per new point) use the same class.

:class:`GradientDescent` is the optimiser of van der Maaten & Hinton (2008)
and later practice: momentum, per-coordinate gains (+0.2 when the gradient
changes sign against the update, ×0.8 otherwise, floored at ``min_gain``),
an optional exaggeration of P; it keeps its state so that the exaggeration
phase and the main phase are two calls on one object, and :meth:`copy`
branches a run.
"""

import time
import warnings

import numpy as np
import scipy.sparse as sp
from sklearn.exceptions import ConvergenceWarning

from skunsup.manifold import _gradients as G
from skunsup.utils._numba import jit_kernel

__all__ = [
    "REPULSION_METHODS",
    "GradientDescent",
    "SNEObjective",
    "TSNEObjective",
    "bh_repulsion",
    "exact_repulsion",
]

_LEAF_SIZE = 8
_MAX_DEPTH = 48
_CHUNK = 256
# The fit's 2-D repulsion walks the tree once per group of at most _GROUP_SIZE
# points (bh_repulsive_forces_2d_grouped). Measured on a 10,000-point Fashion-MNIST
# map (quiet 2-core machine): 0.8 ms per evaluation for groups of 64-128 points
# against 3.7-4.5 ms for one walk per point, and a smaller error against the exact
# forces (0.4-0.8 % against 1.1-1.4 %); groups of 8-16 points were slower than
# per-point walks, 256-512 no faster than 128.
_GROUP_SIZE = 128
_LIST_CAPACITY = 1024
_GROUPS_PER_TASK = 4


# ---------------------------------------------------------------------------
# Repulsion methods: (Y_query, Y_ref, is_training, angle, rep_out, z_out) -> None
# ---------------------------------------------------------------------------


class BHTree:
    """A Barnes-Hut tree over a (reference) embedding, reusable across queries."""

    def __init__(self, Y, leaf_size=_LEAF_SIZE, max_depth=_MAX_DEPTH):
        Y = np.ascontiguousarray(Y, dtype=np.float64)
        self.dim = Y.shape[1]
        (self.perm, self.position, self.Y_sorted, self.start, self.end, self.first_child,
         self.n_children, self.com, self.side2) = G.build_tree(Y, leaf_size, max_depth)
        self.max_stack = (max_depth + 2) * (1 << self.dim)
        if self.dim == 2:
            self.node_f, self.node_i = G.pack_nodes_2d(self.com, self.side2, self.start,
                                                       self.end, self.first_child,
                                                       self.n_children)

    def self_repulsion(self, angle, rep_out, z_out):
        """Barnes-Hut repulsion among the tree's own points, in tree order (OUT)."""
        if self.dim == 2:
            groups = G.tree_groups(self.node_i, _GROUP_SIZE)
            G.bh_repulsive_forces_2d_grouped(self.Y_sorted, self.node_f, self.node_i, groups,
                                             float(angle), self.max_stack, _LIST_CAPACITY,
                                             _GROUPS_PER_TASK, rep_out, z_out)
        else:
            self.repulsion(self.Y_sorted, np.arange(self.perm.shape[0]), angle, rep_out,
                           z_out)

    def repulsion(self, Y_query, query_pos, angle, rep_out, z_out):
        """Barnes-Hut repulsion of ``Y_query`` (``query_pos``: their tree positions or -1)."""
        if self.dim == 2:
            G.bh_repulsive_forces_2d(Y_query, query_pos, float(angle), self.Y_sorted,
                                     self.node_f, self.node_i, self.max_stack, _CHUNK,
                                     rep_out, z_out)
        else:
            G.bh_repulsive_forces(Y_query, query_pos, float(angle), self.Y_sorted, self.start,
                                  self.end, self.first_child, self.n_children, self.com,
                                  self.side2, self.max_stack, _CHUNK, rep_out, z_out)


def bh_repulsion(Y_query, Y_ref, is_training, angle, rep_out, z_out, tree=None):
    """Barnes-Hut repulsion; for training, ``Y_query is Y_ref`` and self-pairs are skipped."""
    if is_training:
        tree = BHTree(Y_ref)
        rep_sorted = np.empty_like(rep_out)
        z_sorted = np.empty_like(z_out)
        tree.self_repulsion(angle, rep_sorted, z_sorted)
        G.scatter_rows(rep_sorted, z_sorted, tree.perm, rep_out, z_out)
    else:
        tree = BHTree(Y_ref) if tree is None else tree
        tree.repulsion(Y_query, np.full(Y_query.shape[0], -1, dtype=np.int64), angle,
                       rep_out, z_out)


def exact_repulsion(Y_query, Y_ref, is_training, angle, rep_out, z_out, tree=None):
    """Exact O(m·n) repulsion (``angle`` and ``tree`` are ignored)."""
    G.exact_repulsive_forces(Y_query, Y_ref, bool(is_training), rep_out, z_out)


#: name -> repulsion function; TSNE's ``method`` picks one (new methods register here).
REPULSION_METHODS = {"barnes_hut": bh_repulsion, "exact": exact_repulsion}


# ---------------------------------------------------------------------------
# Objectives
# ---------------------------------------------------------------------------


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
        p = np.asarray(P.data, dtype=np.float32).astype(np.float64)
        self.p_log_p = float(np.sum(p * np.log(np.where(p > 0, p, 1.0))))

    def __call__(self, Y, compute_kl, attr_out):
        """Write the attraction into ``attr_out``; return ``sum_ij p_ij log(p_ij / w_ij)``
        (without the normaliser) when ``compute_kl``, else NaN."""
        G.attractive_forces_symmetric_2d(self.data, self.indices, self.indptr,
                                         self.row_bounds, Y, compute_kl, self.partials,
                                         self.partial_kl, attr_out)
        if not compute_kl:
            return np.nan
        return self.p_log_p + 2.0 * float(np.sum(self.partial_kl))


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

    Notes
    -----
    Fit: ``KL = sum p log(p / w) + log Z`` with ``Z = sum_{i != j} w_ij``;
    gradient ``4 (α·attr - rep / Z)``. New points (each optimised on its own
    against the fixed map, ``q_{j|i} = w_ij / z_i``): ``KL_i = sum_j p_ij
    log(p_ij / w_ij) + log z_i``, gradient ``2 (attr_i - rep_i / z_i)``,
    the exact derivative of that cost.
    """

    def __init__(self, P, method, angle=0.5, Y_ref=None):
        self.method = method
        self.angle = float(angle)
        self.Y_ref = None if Y_ref is None else np.ascontiguousarray(Y_ref, dtype=np.float64)
        self.dense = not sp.issparse(P)
        if self.dense:
            self.P = np.ascontiguousarray(P, dtype=np.float64)
        else:
            # float32 values and int32 columns: the attraction streams P once per
            # iteration, and half the bytes made it 1.6x faster (10,000 points)
            P = sp.csr_array(P)
            self.P_data = np.ascontiguousarray(P.data, dtype=np.float32)
            index_dtype = np.int32 if P.shape[1] < 2**31 else np.int64
            self.P_indices = np.ascontiguousarray(P.indices, dtype=index_dtype)
            self.P_indptr = np.ascontiguousarray(P.indptr, dtype=np.int64)
        self.n_rows = P.shape[0]
        self._upper = None
        if not self.dense and self.Y_ref is None and (P != P.T).nnz == 0:
            self._upper = _SymmetricAttraction(P)
        self._buffers = None
        self._tree = None
        if self.Y_ref is not None and method == "barnes_hut":
            self._tree = BHTree(self.Y_ref)

    def _work(self, Y):
        if self._buffers is None or self._buffers[0].shape != Y.shape:
            self._buffers = (np.empty_like(Y), np.empty_like(Y), np.empty(Y.shape[0]),
                             np.empty(Y.shape[0]), np.empty(1), np.empty(Y.shape[0]))
        return self._buffers

    def __call__(self, Y, exaggeration, compute_kl, grad_out):
        """Write the gradient at ``Y`` into ``grad_out``; return the KL (or NaN)."""
        attr, rep, z, kl_rows, inv_z1, inv_z_rows = self._work(Y)
        training = self.Y_ref is None
        Y_ref = Y if training else self.Y_ref
        if self.dense and training and self.method == "exact":
            G.tsne_exact_gradient(self.P, Y, compute_kl, attr, rep, z, kl_rows)
        else:
            if self.dense:
                raise ValueError("a dense P is only used by the exact method")
            if self._upper is not None and Y.shape[1] == 2:
                kl_rows[:] = 0.0
                kl_rows[0] = self._upper(Y, compute_kl, attr)
            else:
                attraction = (G.attractive_forces_2d if Y.shape[1] == 2
                              else G.attractive_forces)
                attraction(self.P_data, self.P_indices, self.P_indptr, Y, Y_ref, compute_kl,
                           attr, kl_rows)
            REPULSION_METHODS[self.method](Y, Y_ref, training, self.angle, rep, z,
                                           tree=self._tree)
        if training:
            Z = float(np.sum(z))
            inv_z1[0] = 1.0 / Z
            self.last_grad_norm2 = G.combine_tsne_gradient(attr, rep, exaggeration, inv_z1,
                                                           4.0, grad_out)
            return float(np.sum(kl_rows) + np.log(Z)) if compute_kl else np.nan
        np.divide(1.0, z, out=inv_z_rows)
        self.last_grad_norm2 = G.combine_tsne_gradient(attr, rep, exaggeration, inv_z_rows,
                                                       2.0, grad_out)
        if compute_kl:
            return float(np.sum(kl_rows) + np.sum(np.log(z)))
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


# ---------------------------------------------------------------------------
# The optimiser
# ---------------------------------------------------------------------------


@jit_kernel
def _gains_step(Y, grad, update, gains, momentum, learning_rate, min_gain, max_step):
    """One momentum + gains step in place. Returns False (and moves nothing) on a non-finite gradient.

    ``max_step`` > 0 clips each point's step to that length (used for new points).
    """
    n, dim = Y.shape
    for i in range(n):
        for c in range(dim):
            if not np.isfinite(grad[i, c]):
                return False
    for i in range(n):
        for c in range(dim):
            g = grad[i, c]
            u = update[i, c]
            if (g > 0.0) != (u > 0.0):
                gains[i, c] += 0.2
            else:
                gains[i, c] *= 0.8
            if gains[i, c] < min_gain:
                gains[i, c] = min_gain
            update[i, c] = momentum * u - learning_rate * gains[i, c] * g
        if max_step > 0.0:
            length2 = 0.0
            for c in range(dim):
                length2 += update[i, c] * update[i, c]
            if length2 > max_step * max_step:
                scale = max_step / np.sqrt(length2)
                for c in range(dim):
                    update[i, c] *= scale
        for c in range(dim):
            Y[i, c] += update[i, c]
    return True


class OptimizationResult:
    """What a call of :class:`GradientDescent` did."""

    def __init__(self, kl, n_iter, reason, kl_history):
        self.kl = kl
        self.n_iter = n_iter
        self.reason = reason
        self.kl_history = kl_history


class GradientDescent:
    """Gradient descent with momentum and per-coordinate gains (stateful).

    Parameters
    ----------
    min_gain : float, default=0.01

    Attributes
    ----------
    update : ndarray or None
        The momentum buffer (last step).
    gains : ndarray or None
        Per-coordinate gains.
    n_iter : int
        Iterations run so far over all calls.

    Examples
    --------
    >>> import numpy as np
    >>> from skunsup.manifold._optimizer import GradientDescent
    >>> def objective(Y, exaggeration, compute_kl, grad_out):
    ...     grad_out[:] = 2 * Y  # minimise |Y|²
    ...     return float((Y ** 2).sum()) if compute_kl else np.nan
    >>> Y = np.ones((3, 2))
    >>> result = GradientDescent()(Y, objective, n_iter=200, learning_rate=0.1,
    ...                            momentum=0.5)
    >>> bool(np.abs(Y).max() < 1e-3)
    True
    """

    def __init__(self, min_gain=0.01):
        self.min_gain = min_gain
        self.update = None
        self.gains = None
        self.n_iter = 0

    def copy(self):
        """An independent copy (to resume or branch an optimisation)."""
        other = GradientDescent(self.min_gain)
        other.update = None if self.update is None else self.update.copy()
        other.gains = None if self.gains is None else self.gains.copy()
        other.n_iter = self.n_iter
        return other

    def __call__(self, Y, objective, n_iter, learning_rate, momentum, *, exaggeration=1.0,
                 min_grad_norm=0.0, n_iter_without_progress=None, kl_every=50,
                 compute_final_kl=True, max_step=0.0, verbose=0, label="t-SNE"):
        """Run ``n_iter`` steps on ``Y`` in place.

        Stops early when the gradient norm falls below ``min_grad_norm``, when
        the KL (evaluated every ``kl_every`` iterations) has not improved for
        ``n_iter_without_progress`` iterations, on a non-finite gradient (with
        a ``ConvergenceWarning``; ``Y`` keeps its last finite value) or on
        Ctrl-C (with a warning; ``Y`` stays usable).

        Returns
        -------
        result : OptimizationResult
            ``kl`` (at the last evaluation), ``n_iter`` run in this call,
            ``reason`` (``"max_iter"``, ``"min_grad_norm"``, ``"no_progress"``,
            ``"non_finite"``, ``"interrupted"``), ``kl_history``.
        """
        if self.update is None or self.update.shape != Y.shape:
            self.update = np.zeros_like(Y)
            self.gains = np.ones_like(Y)
        grad = np.empty_like(Y)
        best_kl = np.inf
        best_iter = 0
        kl = np.nan
        history = []
        reason = "max_iter"
        tic = time.perf_counter()
        it = 0
        min_grad_norm2 = float(min_grad_norm) ** 2
        try:
            for it in range(1, n_iter + 1):
                check = kl_every > 0 and ((self.n_iter + it) % kl_every == 0)
                last = it == n_iter
                compute_kl = check or (last and compute_final_kl)
                value = objective(Y, exaggeration, compute_kl, grad)
                grad_norm2 = getattr(objective, "last_grad_norm2", None)
                if grad_norm2 is None:
                    grad_norm2 = float(np.sum(grad * grad))
                if compute_kl:
                    kl = value
                    history.append((self.n_iter + it, kl))
                if not np.isfinite(grad_norm2):
                    reason = "non_finite"
                    warnings.warn(
                        f"{label}: the gradient became non-finite at iteration "
                        f"{self.n_iter + it}; stopping with the last finite embedding",
                        ConvergenceWarning, stacklevel=3)
                    it -= 1
                    break
                if grad_norm2 < min_grad_norm2:
                    reason = "min_grad_norm"
                    if not compute_kl:
                        kl = objective(Y, exaggeration, True, grad)
                    if verbose >= 2:
                        print(f"[{label}] Iteration {self.n_iter + it}: gradient norm "
                              f"{np.sqrt(grad_norm2):f}. Finished.")
                    break
                _gains_step(Y, grad, self.update, self.gains, float(momentum),
                            float(learning_rate), float(self.min_gain), float(max_step))
                if check:
                    if verbose >= 2:
                        toc = time.perf_counter()
                        print(f"[{label}] Iteration {self.n_iter + it}: error = "
                              f"{kl:.7f}, gradient norm = {np.sqrt(grad_norm2):.7f} "
                              f"({kl_every} iterations in {toc - tic:.3f} s)")
                        tic = toc
                    if kl < best_kl:
                        best_kl = kl
                        best_iter = it
                    elif (n_iter_without_progress is not None
                          and it - best_iter > n_iter_without_progress):
                        reason = "no_progress"
                        if verbose >= 2:
                            print(f"[{label}] Iteration {self.n_iter + it}: did not make "
                                  "any progress during the last "
                                  f"{n_iter_without_progress} episodes. Finished.")
                        break
        except KeyboardInterrupt:
            reason = "interrupted"
            warnings.warn(f"{label}: interrupted at iteration {self.n_iter + it}; "
                          "keeping the embedding reached so far", stacklevel=3)
        if reason != "max_iter" or not np.isfinite(kl):
            kl = kl if np.isfinite(kl) else np.nan
        self.n_iter += it
        return OptimizationResult(kl, it, reason, history)
