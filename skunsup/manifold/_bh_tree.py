"""Barnes-Hut trees of t-SNE embeddings: building them and their node layouts.

The tree is a ``2^dim``-ary space partition (quadtree in 2-D, octree in 3-D):
:func:`build_tree` sorts the points into tree order (contiguous cells) and
returns the nodes as arrays (point range, children, centre of mass, squared
side); :func:`pack_nodes_2d` packs a 2-D tree's nodes into one row each for
the 2-D walks; :func:`scatter_rows` puts tree-ordered results back in the
points' order.

The repulsion walks over these trees, and :class:`~skunsup.manifold._barnes_hut.BHTree`
that builds a tree once and runs them, are in :mod:`skunsup.manifold._barnes_hut`.
"""

import numpy as np

from skunsup.utils._numba import jit_kernel

__all__ = ["build_tree", "pack_nodes_2d", "scatter_rows"]

# A cell with at most this many points is a leaf, its points visited one by one
# (fewer levels to build and walk, for a few more direct interactions).
_LEAF_SIZE = 8
# Deepest level: after 48 halvings a cell's side is 2^-48 (~3.6e-15) of the
# root's, float64's resolution; it also bounds the stack ((_MAX_DEPTH + 2) · 2^dim).
_MAX_DEPTH = 48


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
    >>> from skunsup.manifold._bh_tree import build_tree
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


# ---------------------------------------------------------------------------
# 2-D trees: node records packed in one row each
# ---------------------------------------------------------------------------


@jit_kernel
def pack_nodes_2d(com, side2, start, end, first_child, n_children):
    """Node records for the 2-D walks: ``(n_nodes, 4)`` float and int arrays.

    For :func:`~skunsup.manifold._barnes_hut.bh_repulsive_forces_2d` and its
    twins: ``node_f[k] = (com_x, com_y, side², count)``, ``node_i[k] =
    (start, end, first_child, n_children)``, so a visit touches one cache
    line of each.
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


@jit_kernel
def scatter_rows(src, src_z, perm, dst, dst_z):
    """``dst[perm[p]] = src[p]`` and ``dst_z[perm[p]] = src_z[p]`` (undo the tree order)."""
    n, dim = src.shape
    for p in range(n):
        i = perm[p]
        for c in range(dim):
            dst[i, c] = src[p, c]
        dst_z[i] = src_z[p]
