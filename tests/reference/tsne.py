"""Slow, obviously correct NumPy twins of the SNE / t-SNE kernels."""

import numpy as np
from scipy.special import logsumexp


def random_joint_P(rng, n):
    """A random symmetric joint P (zero diagonal, sums to 1) with about 40 % zeros: test data."""
    A = rng.random_sample((n, n)) * (rng.random_sample((n, n)) < 0.6)
    P = A + A.T
    np.fill_diagonal(P, 0.0)
    if P.sum() == 0:
        P = np.ones((n, n)) - np.eye(n)
    return P / P.sum()


def entropy_of_row(p):
    """Shannon entropy (nats) of a probability row."""
    p = p[p > 0]
    return float(-(p * np.log(p)).sum())


def conditional_row(dist_sq, perplexity, tol=1e-12, n_steps=200):
    """p_{j|i} ∝ exp(-beta d²) over the finite entries, beta by plain bisection on log(beta)."""
    finite = np.isfinite(dist_sq)
    d = dist_sq[finite]
    target = np.log(perplexity)

    def row(beta):
        logits = -beta * (d - d.min())
        return np.exp(logits - logsumexp(logits))

    lo, hi = -50.0, 50.0  # log(beta) bracket
    for _ in range(n_steps):
        mid = 0.5 * (lo + hi)
        if entropy_of_row(row(np.exp(mid))) > target:
            lo = mid
        else:
            hi = mid
        if hi - lo < tol:
            break
    out = np.zeros_like(dist_sq)
    out[finite] = row(np.exp(0.5 * (lo + hi)))
    return out


def pairwise_sq(A, B):
    """|a_i - b_j|² by broadcasting (no BLAS tricks)."""
    diff = A[:, None, :] - B[None, :, :]
    return (diff**2).sum(axis=-1)


def heavy_tailed_kernel(sq, dof=1.0):
    """Kobak et al.'s kernel of ``dof`` degrees of freedom at squared distances ``sq``.

    Returns ``w = (1 + sq / dof) ** -dof`` (the similarity), ``u = (1 + sq / dof)
    ** -1`` (the factor of ``y_i - y_j`` in the gradient: ``d log w / d y_i = -2 u
    (y_i - y_j)``) and ``log w`` (finite where ``w`` underflows); ``dof = 1`` is
    the Cauchy kernel, ``u = w``.
    """
    log_w = -dof * np.log1p(sq / dof)
    return np.exp(log_w), 1.0 / (1.0 + sq / dof), log_w


def tsne_kl_and_grad(P, Y, dof=1.0):
    """Exact t-SNE: KL(P || Q) and 4 sum_j (p_ij - q_ij) u_ij (y_i - y_j), q ∝ w."""
    n = Y.shape[0]
    W, U, log_W = heavy_tailed_kernel(pairwise_sq(Y, Y), dof)
    np.fill_diagonal(W, 0.0)
    Q = W / W.sum()
    mask = P > 0
    kl = float((P[mask] * (np.log(P[mask]) - log_W[mask] + np.log(W.sum()))).sum())
    diff = Y[:, None, :] - Y[None, :, :]
    grad = 4.0 * ((P - Q) * U)[:, :, None] * diff
    return kl, grad.sum(axis=1).reshape(n, -1)


def tsne_terms(P, Y_rows, Y_cols, skip_self, dof=1.0):
    """attr, rep, z, kl_rows of the t-SNE gradient (P dense (m, n)):
    sum p u (y_i - y_j), sum w u (y_i - y_j), sum w, sum p log(p / w)."""
    W, U, log_W = heavy_tailed_kernel(pairwise_sq(Y_rows, Y_cols), dof)
    if skip_self:
        np.fill_diagonal(W, 0.0)
    diff = Y_rows[:, None, :] - Y_cols[None, :, :]
    attr = ((P * U)[:, :, None] * diff).sum(axis=1)
    rep = ((W * U)[:, :, None] * diff).sum(axis=1)
    z = W.sum(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = np.where(P > 0, P * (np.log(P) - log_W), 0.0)
    return attr, rep, z, terms.sum(axis=1)


def new_points_kl_and_grad(P_new, Y_new, Y_ref, dof=1.0):
    """Cost of new points against a fixed map: sum_i KL(P_i || Q_i), q_{j|i} ∝ w_ij."""
    W, U, log_W = heavy_tailed_kernel(pairwise_sq(Y_new, Y_ref), dof)
    z = W.sum(axis=1, keepdims=True)
    Q = W / z
    log_Q = log_W - np.log(z)  # not log(Q): W may be denormal far from a new point
    mask = P_new > 0
    kl = float((P_new[mask] * (np.log(P_new[mask]) - log_Q[mask])).sum())
    diff = Y_new[:, None, :] - Y_ref[None, :, :]
    grad = 2.0 * ((P_new - Q) * U)[:, :, None] * diff
    return kl, grad.sum(axis=1)


def sne_kl_and_grad(P, Y):
    """Exact SNE: sum_i KL(P_i || Q_i), q_{j|i} ∝ exp(-|y_i - y_j|²), and its gradient."""
    D = pairwise_sq(Y, Y)
    np.fill_diagonal(D, np.inf)
    logQ = -D - logsumexp(-D, axis=1, keepdims=True)
    Q = np.exp(logQ)
    mask = P > 0
    kl = float((P[mask] * (np.log(P[mask]) - logQ[mask])).sum())
    M = P - Q + (P - Q).T
    diff = Y[:, None, :] - Y[None, :, :]
    grad = 2.0 * (M[:, :, None] * diff).sum(axis=1)
    return kl, grad


def grouped_barnes_hut_repulsion(tree, group_nodes, angle, dof=1.0):
    """Barnes-Hut repulsion with one cell list per group, written out plainly.

    ``tree`` is a ``BHTree``; every group (a node) collects, from the root down,
    the cells with ``side < angle * distance(centre of mass, group's bounding box)``
    that hold none of its points, and the single points of the other cells' leaves;
    each point of the group then sums ``w`` and ``w u (y_i - y)`` of
    :func:`heavy_tailed_kernel` over that list, itself excluded. Returns (rep, z)
    in tree order.
    """
    Y = tree.Y_sorted
    n = len(Y)
    rep = np.zeros((n, 2))
    z = np.zeros(n)
    for group in group_nodes:
        lo, hi = tree.start[group], tree.end[group]
        box_lo, box_hi = Y[lo:hi].min(axis=0), Y[lo:hi].max(axis=0)
        sources = []  # (position, count, index of the point or -1)
        pending = [0]
        while pending:
            node = pending.pop()
            gap = np.maximum(np.maximum(box_lo - tree.com[node], tree.com[node] - box_hi), 0)
            disjoint = tree.end[node] <= lo or tree.start[node] >= hi
            if disjoint and tree.side2[node] < angle**2 * (gap**2).sum():
                sources.append((tree.com[node], tree.end[node] - tree.start[node], -1))
            elif tree.first_child[node] < 0:
                sources.extend((Y[p], 1, p) for p in range(tree.start[node], tree.end[node]))
            else:
                first = tree.first_child[node]
                pending.extend(range(first, first + tree.n_children[node]))
        for i in range(lo, hi):
            for position, count, index in sources:
                if index == i:
                    continue
                diff = Y[i] - position
                w, u, _ = heavy_tailed_kernel(diff @ diff, dof)
                z[i] += count * w
                rep[i] += count * w * u * diff
    return rep, z
