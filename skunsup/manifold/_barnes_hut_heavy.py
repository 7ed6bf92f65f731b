"""Barnes-Hut walks, one per query point, for the kernels of ``dof != 1`` degrees of freedom.

The twins of :func:`~skunsup.manifold._barnes_hut.bh_repulsive_forces` and
:func:`~skunsup.manifold._barnes_hut.bh_repulsive_forces_2d` (same tree, same
acceptance rule ``side < angle · d``, same arguments plus ``dof``) for the
heavy-tailed kernels of Kobak et al. (2019): per query point ``rep_i = sum_j
w_ij u_ij (y_i - y_j)`` and ``z_i = sum_j w_ij`` with ``u = 1 / (1 + d² /
dof)`` and ``w = u^dof``, a power per interaction. They are separate kernels
so that the walks of ``dof = 1`` keep their loops free of the kernel choice
(a branch per interaction there cost them time, measured below). (The fit's 2-D walk,
:func:`~skunsup.manifold._barnes_hut.bh_repulsive_forces_2d_grouped`, takes
``dof`` itself: it applies its interaction lists in loops chosen once per
list.) :class:`~skunsup.manifold._barnes_hut.BHTree` picks the walk.

Deterministic for any thread count, as the Cauchy walks: fixed chunks of
query points, per-point outputs.
"""

import numba
import numpy as np

from skunsup.utils._numba import jit_kernel, jit_parallel

__all__ = ["bh_repulsive_forces_2d_heavy", "bh_repulsive_forces_heavy"]

# Measured (1 thread, interleaved A/B against the Cauchy walks without any
# kernel choice): a per-interaction `if dof == 1` inside the Cauchy walks made
# the 3-D walk of 3,000 points 6.6 % slower and 2,000 queries of a 2-D map
# 5-6 % slower; hence these twins.


@jit_kernel
def _one_point(q, own_pos, angle2, dof, Y_sorted, start, end, first_child, n_children, com,
               side2, stack, rep):
    """Walk the tree for one query point; rep (OUT) gets the force, returns z."""
    dim = q.shape[0]
    inv_dof = 1.0 / dof
    for c in range(dim):
        rep[c] = 0.0
    z = 0.0
    stack[0] = 0
    top = 1
    while top > 0:
        top -= 1
        node = stack[top]
        s = start[node]
        e = end[node]
        d2 = 0.0
        for c in range(dim):
            diff = q[c] - com[node, c]
            d2 += diff * diff
        if not (s <= own_pos < e) and side2[node] < angle2 * d2:
            u = 1.0 / (1.0 + d2 * inv_dof)
            cw = (e - s) * u ** dof
            z += cw
            for c in range(dim):
                rep[c] += cw * u * (q[c] - com[node, c])
        elif first_child[node] < 0:
            for p in range(s, e):
                if p == own_pos:
                    continue
                dd = 0.0
                for c in range(dim):
                    diff = q[c] - Y_sorted[p, c]
                    dd += diff * diff
                u = 1.0 / (1.0 + dd * inv_dof)
                w = u ** dof
                z += w
                for c in range(dim):
                    rep[c] += w * u * (q[c] - Y_sorted[p, c])
        else:
            f = first_child[node]
            for k in range(n_children[node] - 1, -1, -1):
                stack[top] = f + k
                top += 1
    return z


@jit_parallel
def bh_repulsive_forces_heavy(Y_query, query_pos, angle, dof, Y_sorted, start, end,
                              first_child, n_children, com, side2, max_stack, chunk_size,
                              rep_out, z_out):
    """Barnes-Hut repulsion of query points for the kernel of ``dof``, any dimension.

    Parameters
    ----------
    Y_query : ndarray of shape (m, dim) (IN)
        Query positions.
    query_pos : ndarray of shape (m,), int64 (IN)
        Position of each query point in the tree (``-1``: not in it).
    angle : float
        Barnes-Hut trade-off.
    dof : float
        Degrees of freedom of the kernel.
    Y_sorted, start, end, first_child, n_children, com, side2 : (IN)
        The tree from :func:`~skunsup.manifold._bh_tree.build_tree`.
    max_stack : int
        Traversal stack size.
    chunk_size : int
        Query points per parallel task.
    rep_out : ndarray of shape (m, dim) (OUT)
        ``sum_j w_ij u_ij (q_i - y_j)`` per query point.
    z_out : ndarray of shape (m,) (OUT)
        ``sum_j w_ij`` per query point.
    """
    m = Y_query.shape[0]
    angle2 = angle * angle
    n_chunks = (m + chunk_size - 1) // chunk_size
    for chunk in numba.prange(n_chunks):
        stack = np.empty(max_stack, dtype=np.int64)
        for i in range(chunk * chunk_size, min(m, (chunk + 1) * chunk_size)):
            z_out[i] = _one_point(Y_query[i], query_pos[i], angle2, dof, Y_sorted, start, end,
                                  first_child, n_children, com, side2, stack, rep_out[i])


@jit_parallel
def bh_repulsive_forces_2d_heavy(Y_query, query_pos, angle, dof, Y_sorted, node_f, node_i,
                                 max_stack, chunk_size, rep_out, z_out):
    """:func:`bh_repulsive_forces_heavy` for 2-D maps, on nodes packed by
    :func:`~skunsup.manifold._bh_tree.pack_nodes_2d` (same arguments otherwise)."""
    m = Y_query.shape[0]
    angle2 = angle * angle
    inv_dof = 1.0 / dof
    n_chunks = (m + chunk_size - 1) // chunk_size
    for chunk in numba.prange(n_chunks):
        stack = np.empty(max_stack, dtype=np.int64)
        for i in range(chunk * chunk_size, min(m, (chunk + 1) * chunk_size)):
            qx = Y_query[i, 0]
            qy = Y_query[i, 1]
            own = query_pos[i]
            rx = 0.0
            ry = 0.0
            z = 0.0
            stack[0] = 0
            top = 1
            while top > 0:
                top -= 1
                node = stack[top]
                dx = qx - node_f[node, 0]
                dy = qy - node_f[node, 1]
                d2 = dx * dx + dy * dy
                s = node_i[node, 0]
                e = node_i[node, 1]
                if node_f[node, 2] < angle2 * d2 and not (s <= own < e):
                    u = 1.0 / (1.0 + d2 * inv_dof)
                    cw = node_f[node, 3] * u ** dof
                    z += cw
                    rx += cw * u * dx
                    ry += cw * u * dy
                elif node_i[node, 2] < 0:
                    for p in range(s, e):
                        if p == own:
                            continue
                        ex = qx - Y_sorted[p, 0]
                        ey = qy - Y_sorted[p, 1]
                        u = 1.0 / (1.0 + (ex * ex + ey * ey) * inv_dof)
                        w = u ** dof
                        z += w
                        rx += w * u * ex
                        ry += w * u * ey
                else:
                    f = node_i[node, 2]
                    for k in range(node_i[node, 3] - 1, -1, -1):
                        stack[top] = f + k
                        top += 1
            rep_out[i, 0] = rx
            rep_out[i, 1] = ry
            z_out[i] = z
