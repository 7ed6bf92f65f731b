"""Barnes-Hut repulsion walks over the trees of t-SNE embeddings.

The trees are built by :mod:`skunsup.manifold._bh_tree`
(:func:`~skunsup.manifold._bh_tree.build_tree`). A walk summarises a cell of
side ``s`` by its centre of mass when ``s < angle · d`` for the distance ``d``
to it. Walks write, per query point, ``rep_i = sum_j w_ij u_ij (y_i - y_j)``
and ``z_i = sum_j w_ij`` for the kernel of ``dof`` degrees of freedom, ``u =
1 / (1 + d² / dof)`` and ``w = u^dof`` (``dof = 1``: the Cauchy kernel ``u =
w = 1 / (1 + d²)``, computed without powers):

* :func:`bh_repulsive_forces` -- one walk per query point, any dimension;
* :func:`bh_repulsive_forces_2d` -- the same for 2-D maps, on nodes packed
  by :func:`~skunsup.manifold._bh_tree.pack_nodes_2d`;
* :func:`bh_repulsive_forces_2d_grouped` -- the fit's 2-D self-repulsion,
  one walk per group of points (:func:`tree_groups`).

The first two are written for ``dof = 1``; their twins for other kernels are
in :mod:`skunsup.manifold._barnes_hut_heavy`.

:class:`BHTree` builds a tree once and runs the walk that fits the query.
The objectives in :mod:`skunsup.manifold._objectives` call these.

Every walk is deterministic for any thread count: parallel tasks are fixed
chunks of query points (or groups) writing per-point outputs. The walks call
no kernel of another module (:func:`tree_groups` stays here with the walks'
inline ``_push_children``): numba's on-disk cache of a kernel is refreshed
only when the kernel's own file changes.
"""

import numba
import numpy as np

from skunsup.manifold._barnes_hut_heavy import (
    bh_repulsive_forces_2d_heavy,
    bh_repulsive_forces_heavy,
)
from skunsup.manifold._bh_tree import _LEAF_SIZE, _MAX_DEPTH, build_tree, pack_nodes_2d
from skunsup.utils._numba import FASTMATH_ORDERED, jit_kernel, jit_parallel

__all__ = [
    "BHTree",
    "bh_repulsive_forces",
    "bh_repulsive_forces_2d",
    "bh_repulsive_forces_2d_grouped",
    "tree_groups",
]

# Query points per parallel task of the per-point walks (a fixed chunking, so
# the results do not depend on the thread count).
_CHUNK = 256
# The fit's 2-D repulsion walks the tree once per group of at most _GROUP_SIZE
# points (bh_repulsive_forces_2d_grouped). Measured on a 10,000-point Fashion-MNIST
# map (quiet 2-core machine): 0.8 ms per evaluation for groups of 64-128 points
# against 3.7-4.5 ms for one walk per point, and a smaller error against the exact
# forces (0.4-0.8 % against 1.1-1.4 %); groups of 8-16 points were slower than
# per-point walks, 256-512 no faster than 128.
_GROUP_SIZE = 128
# Sources (cells and leaf points) a group's walk collects before applying them
# to the group's points: a fixed-size buffer per task, flushed when full.
_LIST_CAPACITY = 1024
# float64 lanes of the widest vectors (AVX-512) the grouped walk's flush runs on
_VECTOR_LANES = 8
# Groups per parallel task of the grouped walk (each task allocates its
# stack and lists once).
_GROUPS_PER_TASK = 4


# ---------------------------------------------------------------------------
# Barnes-Hut walks, any dimension
# ---------------------------------------------------------------------------


@jit_kernel
def _bh_one_point(q, own_pos, angle2, Y_sorted, start, end, first_child, n_children,
                  com, side2, stack, rep):
    """Traverse the tree for one query point; rep (OUT) gets the force, returns z."""
    dim = q.shape[0]
    for c in range(dim):
        rep[c] = 0.0
    z = 0.0
    top = 0
    stack[0] = 0
    top = 1
    while top > 0:
        top -= 1
        node = stack[top]
        s = start[node]
        e = end[node]
        count = e - s
        contains_self = s <= own_pos < e
        d2 = 0.0
        for c in range(dim):
            diff = q[c] - com[node, c]
            d2 += diff * diff
        if not contains_self and side2[node] < angle2 * d2:
            w = 1.0 / (1.0 + d2)
            z += count * w
            mww = count * w * w
            for c in range(dim):
                rep[c] += mww * (q[c] - com[node, c])
        elif first_child[node] < 0:
            for p in range(s, e):
                if p == own_pos:
                    continue
                dd = 0.0
                for c in range(dim):
                    diff = q[c] - Y_sorted[p, c]
                    dd += diff * diff
                w = 1.0 / (1.0 + dd)
                z += w
                ww = w * w
                for c in range(dim):
                    rep[c] += ww * (q[c] - Y_sorted[p, c])
        else:
            f = first_child[node]
            for k in range(n_children[node] - 1, -1, -1):
                stack[top] = f + k
                top += 1
    return z


@jit_parallel
def bh_repulsive_forces(Y_query, query_pos, angle, Y_sorted, start, end, first_child,
                        n_children, com, side2, max_stack, chunk_size, rep_out, z_out):
    """Barnes-Hut repulsion of query points from the points of a tree.

    A cell of side ``s`` whose centre of mass is at distance ``d`` from the
    query point is summarised by that centre when ``s < angle · d`` (and it
    does not hold the query point itself); otherwise its children (or, for a
    leaf, its points) are visited. ``angle = 0`` gives the exact sums.

    Parameters
    ----------
    Y_query : ndarray of shape (m, dim) (IN)
        Query positions, in the order they are processed (for training: the
        tree-sorted embedding ``Y_sorted``, so that neighbouring queries walk
        the same cells).
    query_pos : ndarray of shape (m,), int64 (IN)
        Position of each query point in the tree (``-1`` for a point not in
        it, e.g. a new point in ``transform``).
    angle : float
    Y_sorted, start, end, first_child, n_children, com, side2 : (IN)
        The tree from :func:`~skunsup.manifold._bh_tree.build_tree`.
    max_stack : int
        Traversal stack size (``(max_depth + 1) · 2^dim`` suffices).
    chunk_size : int
        Query points per parallel task.
    rep_out : ndarray of shape (m, dim) (OUT)
        ``sum_j w_ij² (q_i - y_j)`` per query point.
    z_out : ndarray of shape (m,) (OUT)
        ``sum_j w_ij`` per query point.
    """
    m, dim = Y_query.shape
    angle2 = angle * angle
    n_chunks = (m + chunk_size - 1) // chunk_size
    for chunk in numba.prange(n_chunks):
        stack = np.empty(max_stack, dtype=np.int64)
        lo = chunk * chunk_size
        hi = min(m, lo + chunk_size)
        for i in range(lo, hi):
            z_out[i] = _bh_one_point(Y_query[i], query_pos[i], angle2, Y_sorted, start,
                                     end, first_child, n_children, com, side2, stack,
                                     rep_out[i])


# ---------------------------------------------------------------------------
# 2-D specialisations (the common case), on packed nodes
# ---------------------------------------------------------------------------


@jit_kernel(inline="always")
def _push_children(node_i, node, stack, top):
    """Push the children of a packed node (last child first); return the new stack top."""
    f = node_i[node, 2]
    for k in range(node_i[node, 3] - 1, -1, -1):
        stack[top] = f + k
        top += 1
    return top


@jit_parallel
def bh_repulsive_forces_2d(Y_query, query_pos, angle, Y_sorted, node_f, node_i, max_stack,
                           chunk_size, rep_out, z_out):
    """:func:`bh_repulsive_forces` for 2-D maps, on packed nodes (same arguments otherwise)."""
    m = Y_query.shape[0]
    angle2 = angle * angle
    n_chunks = (m + chunk_size - 1) // chunk_size
    for chunk in numba.prange(n_chunks):
        stack = np.empty(max_stack, dtype=np.int64)
        lo = chunk * chunk_size
        hi = min(m, lo + chunk_size)
        for i in range(lo, hi):
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
                    w = 1.0 / (1.0 + d2)
                    cw = node_f[node, 3] * w
                    z += cw
                    cww = cw * w
                    rx += cww * dx
                    ry += cww * dy
                elif node_i[node, 2] < 0:
                    for p in range(s, e):
                        if p == own:
                            continue
                        ex = qx - Y_sorted[p, 0]
                        ey = qy - Y_sorted[p, 1]
                        w = 1.0 / (1.0 + ex * ex + ey * ey)
                        z += w
                        ww = w * w
                        rx += ww * ex
                        ry += ww * ey
                else:
                    top = _push_children(node_i, node, stack, top)
            rep_out[i, 0] = rx
            rep_out[i, 1] = ry
            z_out[i] = z


@jit_kernel
def tree_groups(node_i, group_size):
    """The highest nodes holding at most ``group_size`` points: a partition of the points.

    Parameters
    ----------
    node_i : ndarray of shape (n_nodes, 4), int64 (IN)
        Packed nodes from :func:`~skunsup.manifold._bh_tree.pack_nodes_2d` (start,
        end, first child, children).
    group_size : int
        Most points in a group.

    Returns
    -------
    groups : ndarray of shape (n_groups,), int64
        Node indices, in tree order (their point ranges follow each other).
    """
    groups = np.empty(node_i.shape[0], dtype=np.int64)
    n_groups = 0
    stack = np.empty(node_i.shape[0], dtype=np.int64)
    stack[0] = 0
    top = 1
    while top > 0:
        top -= 1
        node = stack[top]
        if node_i[node, 1] - node_i[node, 0] <= group_size or node_i[node, 2] < 0:
            groups[n_groups] = node
            n_groups += 1
        else:
            top = _push_children(node_i, node, stack, top)
    return groups[:n_groups].copy()


@jit_kernel(inline="always")
def _flush_interactions(qx, qy, n_points, list_x, list_y, list_n, length, dof, rx, ry, z):
    """Add the forces of ``length`` listed sources to a group's ``n_points`` points.

    IN qx, qy: the points' coordinates; OUT rx, ry, z: their sums, added to.
    The sources are the outer loop: each point adds them in list order, and
    the inner loop, over points, carries no sum, so it vectorises without
    ``reassoc`` (``FASTMATH_ORDERED`` of :mod:`skunsup.utils._numba`: summed
    over the sources, with ``reassoc``, the process that compiled the kernel
    and one that loaded it from numba's cache added in different orders). Two
    inner loops, one per kernel, so that each stays branch-free.
    """
    if dof == 1.0:
        for j in range(length):
            sx = list_x[j]
            sy = list_y[j]
            sn = list_n[j]
            for i in range(n_points):
                dx = qx[i] - sx
                dy = qy[i] - sy
                w = 1.0 / (1.0 + dx * dx + dy * dy)
                nw = sn * w
                z[i] += nw
                nww = nw * w
                rx[i] += nww * dx
                ry[i] += nww * dy
        return
    inv_dof = 1.0 / dof
    for j in range(length):
        sx = list_x[j]
        sy = list_y[j]
        sn = list_n[j]
        for i in range(n_points):
            dx = qx[i] - sx
            dy = qy[i] - sy
            u = 1.0 / (1.0 + (dx * dx + dy * dy) * inv_dof)
            nw = sn * u ** dof
            z[i] += nw
            nwu = nw * u
            rx[i] += nwu * dx
            ry[i] += nwu * dy


@jit_parallel(fastmath=FASTMATH_ORDERED)
def bh_repulsive_forces_2d_grouped(Y_sorted, node_f, node_i, groups, angle, dof, max_stack,
                                   list_capacity, groups_per_task, rep_out, z_out):
    """Barnes-Hut repulsion among the points of a 2-D tree, one traversal per group.

    The points of a group (a node from :func:`tree_groups`) share one walk of
    the tree: a cell is summarised by its centre of mass when ``side < angle ·
    d`` for the distance ``d`` from that centre to the group's bounding box,
    hence for every point of the group, so each point's forces meet the
    per-point criterion of :func:`bh_repulsive_forces_2d` (cells it would open
    are opened; a few it would summarise are opened too: at least as accurate).
    The accepted cells and the points of opened leaves go into a list that is
    then applied to every point of the group in a branch-free loop vectorised
    over the group's points (:func:`_flush_interactions`).
    A point meets itself once in that list (its own leaf is always opened) and
    adds exactly 1 (``w(0)``, for every ``dof``) to its ``z`` and nothing to
    its force; that 1 is taken off.

    Parameters
    ----------
    Y_sorted, node_f, node_i : (IN)
        The tree-sorted points and packed nodes
        (:func:`~skunsup.manifold._bh_tree.pack_nodes_2d`).
    groups : ndarray of shape (n_groups,), int64 (IN)
        From :func:`tree_groups`.
    angle : float
    dof : float
        Degrees of freedom of the kernel (1: Cauchy).
    max_stack : int
        Traversal stack size.
    list_capacity : int
        Interaction-list length; a full list is applied and emptied.
    groups_per_task : int
        Groups per parallel task (each task allocates its buffers once).
    rep_out : ndarray of shape (n, 2) (OUT)
        ``sum_j w_ij u_ij (y_i - y_j)`` per point, in tree order.
    z_out : ndarray of shape (n,) (OUT)
        ``sum_{j != i} w_ij`` per point, in tree order.
    """
    angle2 = angle * angle
    n_groups = groups.shape[0]
    max_group = 0
    for g in range(n_groups):
        size = node_i[groups[g], 1] - node_i[groups[g], 0]
        if size > max_group:
            max_group = size
    # the flush runs over the group padded to whole vectors, so that no source
    # takes a scalar remainder loop (scalar divisions); the padding points sit
    # at the origin and their sums are never read
    max_padded = (max_group + _VECTOR_LANES - 1) // _VECTOR_LANES * _VECTOR_LANES
    n_tasks = (n_groups + groups_per_task - 1) // groups_per_task
    for task in numba.prange(n_tasks):
        stack = np.empty(max_stack, dtype=np.int64)
        list_x = np.empty(list_capacity)
        list_y = np.empty(list_capacity)
        list_n = np.empty(list_capacity)
        qx = np.empty(max_padded)
        qy = np.empty(max_padded)
        rx = np.empty(max_padded)
        ry = np.empty(max_padded)
        z = np.empty(max_padded)
        for g in range(task * groups_per_task, min(n_groups, (task + 1) * groups_per_task)):
            lo = node_i[groups[g], 0]
            hi = node_i[groups[g], 1]
            n_padded = (hi - lo + _VECTOR_LANES - 1) // _VECTOR_LANES * _VECTOR_LANES
            for i in range(n_padded):
                inside = i < hi - lo
                qx[i] = Y_sorted[lo + i, 0] if inside else 0.0
                qy[i] = Y_sorted[lo + i, 1] if inside else 0.0
                rx[i] = 0.0
                ry[i] = 0.0
                z[i] = 0.0
            x_min = np.inf
            x_max = -np.inf
            y_min = np.inf
            y_max = -np.inf
            for i in range(lo, hi):
                x_min = min(x_min, Y_sorted[i, 0])
                x_max = max(x_max, Y_sorted[i, 0])
                y_min = min(y_min, Y_sorted[i, 1])
                y_max = max(y_max, Y_sorted[i, 1])
            length = 0
            stack[0] = 0
            top = 1
            while top > 0:
                top -= 1
                node = stack[top]
                cx = node_f[node, 0]
                cy = node_f[node, 1]
                gx = max(x_min - cx, 0.0, cx - x_max)
                gy = max(y_min - cy, 0.0, cy - y_max)
                s = node_i[node, 0]
                e = node_i[node, 1]
                # the two appends below are written out: one shared inline helper
                # made the walk 1.8x slower (0.8 -> 1.45 ms on a 10k map)
                if node_f[node, 2] < angle2 * (gx * gx + gy * gy) and (e <= lo or s >= hi):
                    if length == list_capacity:
                        _flush_interactions(qx, qy, n_padded, list_x, list_y, list_n,
                                            length, dof, rx, ry, z)
                        length = 0
                    list_x[length] = cx
                    list_y[length] = cy
                    list_n[length] = node_f[node, 3]
                    length += 1
                elif node_i[node, 2] < 0:
                    for p in range(s, e):
                        if length == list_capacity:
                            _flush_interactions(qx, qy, n_padded, list_x, list_y, list_n,
                                                length, dof, rx, ry, z)
                            length = 0
                        list_x[length] = Y_sorted[p, 0]
                        list_y[length] = Y_sorted[p, 1]
                        list_n[length] = 1.0
                        length += 1
                else:
                    top = _push_children(node_i, node, stack, top)
            _flush_interactions(qx, qy, n_padded, list_x, list_y, list_n, length, dof, rx,
                                ry, z)
            for i in range(lo, hi):
                rep_out[i, 0] = rx[i - lo]
                rep_out[i, 1] = ry[i - lo]
                z_out[i] = z[i - lo] - 1.0


# ---------------------------------------------------------------------------
# The tree object used by the objectives
# ---------------------------------------------------------------------------


class BHTree:
    """A Barnes-Hut tree over a (reference) embedding, reusable across queries.

    Built once per gradient step (t-SNE, SNE) or once for a reference map
    (``transform`` of new points), it answers the repulsive sums of the
    Cauchy kernel ``q_ij = 1 / (1 + ||y_i - y_j||^2)`` (or its heavy-tailed
    version with ``dof``): per query point ``i``, ``z_i = sum_j q_ij`` and
    ``rep_i = sum_j q_ij^2 (y_i - y_j)``, with far cells of the tree standing
    for their points when seen under an angle below ``angle``.

    Parameters
    ----------
    Y : array-like of shape (n_samples, n_components)
        The embedding to build the tree over (copied to float64).
    leaf_size : int
        Most points in a leaf.
    max_depth : int
        Deepest level of the tree.

    Attributes
    ----------
    dim : int
        ``n_components``.
    perm : ndarray of shape (n_samples,)
        The tree order: ``Y_sorted = Y[perm]``.
    Y_sorted : ndarray of shape (n_samples, n_components)
        The points in tree order (the order of :meth:`self_repulsion`'s outputs).

    Examples
    --------
    >>> import numpy as np
    >>> from skunsup.manifold._barnes_hut import BHTree
    >>> tree = BHTree(np.array([[0.0, 0.0], [1.0, 0.0], [0.0, 2.0]]))
    >>> rep, z = np.zeros((3, 2)), np.zeros(3)
    >>> tree.self_repulsion(0.0, rep, z)  # angle 0: every pair exactly
    >>> z[np.argsort(tree.perm)].round(4).tolist()  # 1/2 + 1/5 for the first point
    [0.7, 0.6667, 0.3667]
    """

    def __init__(self, Y, leaf_size=_LEAF_SIZE, max_depth=_MAX_DEPTH):
        Y = np.ascontiguousarray(Y, dtype=np.float64)
        self.dim = Y.shape[1]
        (self.perm, self.position, self.Y_sorted, self.start, self.end, self.first_child,
         self.n_children, self.com, self.side2) = build_tree(Y, leaf_size, max_depth)
        self.max_stack = (max_depth + 2) * (1 << self.dim)
        if self.dim == 2:
            self.node_f, self.node_i = pack_nodes_2d(self.com, self.side2, self.start,
                                                     self.end, self.first_child,
                                                     self.n_children)

    def self_repulsion(self, angle, rep_out, z_out, dof=1.0):
        """Barnes-Hut repulsion among the tree's own points, in tree order (OUT)."""
        if self.dim == 2:
            groups = tree_groups(self.node_i, _GROUP_SIZE)
            bh_repulsive_forces_2d_grouped(self.Y_sorted, self.node_f, self.node_i, groups,
                                           float(angle), float(dof), self.max_stack,
                                           _LIST_CAPACITY, _GROUPS_PER_TASK, rep_out, z_out)
        else:
            self.repulsion(self.Y_sorted, np.arange(self.perm.shape[0]), angle, rep_out,
                           z_out, dof)

    def repulsion(self, Y_query, query_pos, angle, rep_out, z_out, dof=1.0):
        """Barnes-Hut repulsion of ``Y_query`` (``query_pos``: their tree positions or -1),
        by the Cauchy walks for ``dof = 1`` and their heavy-tailed twins otherwise."""
        if self.dim == 2 and dof == 1.0:
            bh_repulsive_forces_2d(Y_query, query_pos, float(angle), self.Y_sorted,
                                   self.node_f, self.node_i, self.max_stack, _CHUNK,
                                   rep_out, z_out)
        elif self.dim == 2:
            bh_repulsive_forces_2d_heavy(Y_query, query_pos, float(angle), float(dof),
                                         self.Y_sorted, self.node_f, self.node_i,
                                         self.max_stack, _CHUNK, rep_out, z_out)
        elif dof == 1.0:
            bh_repulsive_forces(Y_query, query_pos, float(angle), self.Y_sorted, self.start,
                                self.end, self.first_child, self.n_children, self.com,
                                self.side2, self.max_stack, _CHUNK, rep_out, z_out)
        else:
            bh_repulsive_forces_heavy(Y_query, query_pos, float(angle), float(dof),
                                      self.Y_sorted, self.start, self.end, self.first_child,
                                      self.n_children, self.com, self.side2, self.max_stack,
                                      _CHUNK, rep_out, z_out)
