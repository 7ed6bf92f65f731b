"""Barnes-Hut trees of t-SNE embeddings and the repulsion walks over them.

The tree is a ``2^dim``-ary space partition (quadtree in 2-D, octree in 3-D):
:func:`build_tree` sorts the points into tree order, and a walk summarises a
cell of side ``s`` by its centre of mass when ``s < angle · d`` for the
distance ``d`` to it. Walks write, per query point, ``rep_i = sum_j w_ij
u_ij (y_i - y_j)`` and ``z_i = sum_j w_ij`` for the kernel of ``dof``
degrees of freedom, ``u = 1 / (1 + d² / dof)`` and ``w = u^dof`` (``dof =
1``: the Cauchy kernel ``u = w = 1 / (1 + d²)``, computed without powers):

* :func:`bh_repulsive_forces` -- one walk per query point, any dimension;
* :func:`bh_repulsive_forces_2d` -- the same for 2-D maps, on nodes packed
  by :func:`pack_nodes_2d`;
* :func:`bh_repulsive_forces_2d_grouped` -- the fit's 2-D self-repulsion,
  one walk per group of points (:func:`tree_groups`).

The first two are written for ``dof = 1``; their twins for other kernels are
in :mod:`skunsup.manifold._barnes_hut_heavy`.

:class:`BHTree` builds a tree once and runs the walk that fits the query;
:func:`scatter_rows` puts tree-ordered results back in the points' order.
The objectives in :mod:`skunsup.manifold._objectives` call these.

Every walk is deterministic for any thread count: parallel tasks are fixed
chunks of query points (or groups) writing per-point outputs. This module
holds the whole kernel family (the walks share inline helpers with the
build's node layout), hence its size above ~600 lines.
"""

import numba
import numpy as np

from skunsup.manifold._barnes_hut_heavy import (
    bh_repulsive_forces_2d_heavy,
    bh_repulsive_forces_heavy,
)
from skunsup.utils._numba import FASTMATH_ORDERED, jit_kernel, jit_parallel

__all__ = [
    "BHTree",
    "bh_repulsive_forces",
    "bh_repulsive_forces_2d",
    "bh_repulsive_forces_2d_grouped",
    "build_tree",
    "pack_nodes_2d",
    "scatter_rows",
    "tree_groups",
]

# A cell with at most this many points is a leaf, its points visited one by one
# (fewer levels to build and walk, for a few more direct interactions).
_LEAF_SIZE = 8
# Deepest level: after 48 halvings a cell's side is 2^-48 (~3.6e-15) of the
# root's, float64's resolution; it also bounds the stack ((_MAX_DEPTH + 2) · 2^dim).
_MAX_DEPTH = 48
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
# Barnes-Hut: a 2^dim-ary space-partitioning tree (quadtree in 2-D, octree in 3-D)
# ---------------------------------------------------------------------------


def build_tree(Y, leaf_size, max_depth):
    """Build the Barnes-Hut tree of an embedding.

    Cells are cubes split into ``2^dim`` children (only non-empty children
    are created); a cell becomes a leaf when it holds at most ``leaf_size``
    points, at ``max_depth``, or when its side vanishes (duplicates), and
    then its points are visited one by one.

    Parameters
    ----------
    Y : ndarray of shape (n, dim), float64, C-contiguous (IN)
    leaf_size : int
    max_depth : int

    Returns
    -------
    perm : ndarray of shape (n,), int64
        Points in tree order; a node holds ``perm[start:end]``.
    position : ndarray of shape (n,), int64
        Inverse of ``perm``.
    Y_sorted : ndarray of shape (n, dim)
        ``Y[perm]`` (contiguous leaves).
    start, end, first_child, n_children : ndarray of shape (n_nodes,), int64
    com : ndarray of shape (n_nodes, dim)
        Centre of mass of each cell.
    side2 : ndarray of shape (n_nodes,)
        Squared side length of each cell.

    Examples
    --------
    >>> import numpy as np
    >>> from skunsup.manifold._barnes_hut import build_tree
    >>> Y = np.array([[0.0, 0.0], [1.0, 1.0], [1.0, 0.0]])
    >>> perm, position, Y_sorted, start, end, *_ = build_tree(Y, 1, 48)
    >>> len(start), int(end[0])
    (4, 3)
    """
    n, dim = Y.shape
    # about the number of nodes of a tree of spread points, doubled when the
    # kernel runs out (rare): allocating for the worst case (2n nodes) cost
    # more than the whole build, its fresh pages faulted in at every iteration
    capacity = max(64, (4 * n) // max(leaf_size, 1) + (1 << dim))
    while True:
        perm = np.arange(n)
        # the points in the current tree order, moved along with perm: every
        # level reads them sequentially
        Y_sorted = Y.copy()
        nodes_i = np.zeros((5, capacity), dtype=np.int64)  # start, end, first child, count, depth
        nodes_f = np.zeros((2 * dim + 1, capacity))  # centre, centre of mass, half side
        n_nodes = _build_tree_into(Y_sorted, perm, leaf_size, max_depth, nodes_i, nodes_f)
        if n_nodes >= 0:
            break
        capacity *= 2
    start, end, first_child, n_children = (a[:n_nodes].copy() for a in nodes_i[:4])
    com = np.ascontiguousarray(nodes_f[dim:2 * dim, :n_nodes].T)
    side2 = 4.0 * nodes_f[2 * dim, :n_nodes] ** 2
    position = np.empty(n, dtype=np.int64)
    position[perm] = np.arange(n)
    return perm, position, Y_sorted, start, end, first_child, n_children, com, side2


@jit_kernel
def _build_tree_into(Y_sorted, perm, leaf_size, max_depth, nodes_i, nodes_f):
    """The kernel of :func:`build_tree`: sorts ``Y_sorted`` and ``perm`` into tree
    order and writes the nodes; returns their number, or -1 when they do not
    fit the arrays (then their content is undefined).

    IN/OUT: Y_sorted (n, dim), perm (n,) (the identity on entry).
    OUT: nodes_i (5, capacity) int64 rows start, end, first_child (-1: a
    leaf), n_children, depth; nodes_f (2 dim + 1, capacity) rows centre
    (dim), centre of mass (dim), half side. Zero on entry.

    Allocation, growth and the final copies stay in Python: every array
    constructor inside a kernel is one more function for numba to compile
    (the build compiled in 7 s when it allocated and grew its arrays itself).
    """
    n, dim = Y_sorted.shape
    capacity = nodes_i.shape[1]
    start, end, first_child = nodes_i[0], nodes_i[1], nodes_i[2]
    n_children, depth = nodes_i[3], nodes_i[4]
    half = nodes_f[2 * dim]
    n_codes = 1 << dim
    codes = np.empty(n, dtype=np.int64)
    scratch = np.empty(n, dtype=np.int64)
    scratch_y = np.empty((n, dim))
    counts = np.empty(n_codes, dtype=np.int64)
    offsets = np.empty(n_codes, dtype=np.int64)

    extent = 0.0
    for c in range(dim):
        lo = np.inf
        hi = -np.inf
        for i in range(n):
            lo = min(lo, Y_sorted[i, c])
            hi = max(hi, Y_sorted[i, c])
        nodes_f[c, 0] = 0.5 * (lo + hi)
        extent = max(extent, hi - lo)
    half[0] = 0.5 * extent * (1.0 + 1e-9) + 1e-300
    min_half = half[0] * 1e-12
    end[0] = n
    first_child[0] = -1
    n_nodes = 1

    node = 0
    while node < n_nodes:
        s = start[node]
        e = end[node]
        count = e - s
        if count <= leaf_size or depth[node] >= max_depth or half[node] <= min_half:
            # a leaf: its centre of mass from its points (inner nodes get
            # theirs from their children, below)
            for c in range(dim):
                total = 0.0
                for p in range(s, e):
                    total += Y_sorted[p, c]
                nodes_f[dim + c, node] = total / max(count, 1)
            node += 1
            continue
        for k in range(n_codes):
            counts[k] = 0
        for p in range(s, e):
            code = 0
            for c in range(dim):
                if Y_sorted[p, c] > nodes_f[c, node]:
                    code |= 1 << c
            codes[p] = code
            counts[code] += 1
        acc = s
        n_new = 0
        for k in range(n_codes):
            offsets[k] = acc
            acc += counts[k]
            if counts[k] > 0:
                n_new += 1
        for p in range(s, e):
            target = offsets[codes[p]]
            scratch[target] = perm[p]
            for c in range(dim):
                scratch_y[target, c] = Y_sorted[p, c]
            offsets[codes[p]] += 1
        for p in range(s, e):
            perm[p] = scratch[p]
            for c in range(dim):
                Y_sorted[p, c] = scratch_y[p, c]
        if n_nodes + n_new > capacity:
            return -1
        first_child[node] = n_nodes
        n_children[node] = n_new
        child_start = s
        quarter = 0.5 * half[node]
        for k in range(n_codes):
            if counts[k] == 0:
                continue
            child = n_nodes
            n_nodes += 1
            start[child] = child_start
            end[child] = child_start + counts[k]
            child_start += counts[k]
            depth[child] = depth[node] + 1
            half[child] = quarter
            first_child[child] = -1
            for c in range(dim):
                if (k >> c) & 1:
                    nodes_f[c, child] = nodes_f[c, node] + quarter
                else:
                    nodes_f[c, child] = nodes_f[c, node] - quarter
        node += 1

    # centres of mass of the inner nodes, children before parents (children
    # always have larger indices than their parent)
    for node in range(n_nodes - 1, -1, -1):
        if first_child[node] < 0:
            continue
        for c in range(dim):
            total = 0.0
            for child in range(first_child[node], first_child[node] + n_children[node]):
                total += (end[child] - start[child]) * nodes_f[dim + c, child]
            nodes_f[dim + c, node] = total / (end[node] - start[node])
    return n_nodes


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
        The tree from :func:`build_tree`.
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
# 2-D specialisations (the common case): node records packed in one row each
# ---------------------------------------------------------------------------


@jit_kernel
def pack_nodes_2d(com, side2, start, end, first_child, n_children):
    """Node records for :func:`bh_repulsive_forces_2d`: ``(n_nodes, 4)`` float and int arrays.

    ``node_f[k] = (com_x, com_y, side², count)``, ``node_i[k] = (start, end,
    first_child, n_children)``, so a visit touches one cache line of each.
    """
    n_nodes = start.shape[0]
    node_f = np.empty((n_nodes, 4))
    node_i = np.empty((n_nodes, 4), dtype=np.int64)
    for k in range(n_nodes):
        node_f[k, 0] = com[k, 0]
        node_f[k, 1] = com[k, 1]
        node_f[k, 2] = side2[k]
        node_f[k, 3] = end[k] - start[k]
        node_i[k, 0] = start[k]
        node_i[k, 1] = end[k]
        node_i[k, 2] = first_child[k]
        node_i[k, 3] = n_children[k]
    return node_f, node_i


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
        Packed nodes from :func:`pack_nodes_2d` (start, end, first child, children).
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
        The tree-sorted points and packed nodes (:func:`pack_nodes_2d`).
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


@jit_kernel
def scatter_rows(src, src_z, perm, dst, dst_z):
    """``dst[perm[p]] = src[p]`` and ``dst_z[perm[p]] = src_z[p]`` (undo the tree order)."""
    n, dim = src.shape
    for p in range(n):
        i = perm[p]
        for c in range(dim):
            dst[i, c] = src[p, c]
        dst_z[i] = src_z[p]


# ---------------------------------------------------------------------------
# The tree object used by the objectives
# ---------------------------------------------------------------------------


class BHTree:
    """A Barnes-Hut tree over a (reference) embedding, reusable across queries."""

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
