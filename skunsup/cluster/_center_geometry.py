"""Geometry of the centres: their distances, each one's nearest others, groups of near ones.

What the pruned Lloyd steps (Elkan's bound in the hinted step, Hamerly's and
Yinyang's bounds) and the k-means++ skip on CSR rows know about the centres,
computed in float64 from the centres alone (k x k work, no pass over X).
"""

import numpy as np


def squared_gaps(a, b):
    """Squared distances in float64 between the rows of ``a`` and ``b``.

    Examples
    --------
    >>> import numpy as np
    >>> from skunsup.cluster._center_geometry import squared_gaps
    >>> squared_gaps(np.array([[0.0, 0.0]]), np.array([[3.0, 4.0], [0.0, 1.0]])).tolist()
    [[25.0, 1.0]]
    """
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    gaps = (a * a).sum(axis=1)[:, None] + (b * b).sum(axis=1)[None, :] - 2.0 * (a @ b.T)
    return np.maximum(gaps, 0.0)


def center_neighbors(centers):
    """Every centre's other centres, nearest first, with their distances.

    Parameters
    ----------
    centers : ndarray of shape (n_clusters, n_features)

    Returns
    -------
    order : ndarray of shape (n_clusters, n_clusters - 1), dtype int64
        ``order[a]`` lists the centres other than ``a`` by increasing distance.
    gaps : ndarray of shape (n_clusters, n_clusters - 1), dtype float64
        ``gaps[a, p]`` = Euclidean distance from centre ``a`` to ``order[a, p]``.

    Examples
    --------
    >>> import numpy as np
    >>> from skunsup.cluster._center_geometry import center_neighbors
    >>> order, gaps = center_neighbors(np.array([[0.0], [10.0], [3.0]]))
    >>> order.tolist(), gaps.tolist()
    ([[2, 1], [2, 0], [0, 1]], [[3.0, 10.0], [7.0, 10.0], [3.0, 7.0]])
    """
    c = np.asarray(centers, dtype=np.float64)
    k = c.shape[0]
    gaps = np.sqrt(squared_gaps(c, c))
    np.fill_diagonal(gaps, np.inf)
    order = np.argsort(gaps, axis=1, kind="stable")[:, : k - 1]
    return order.astype(np.int64), np.take_along_axis(gaps, order, axis=1)


def group_centers(centers, n_groups, n_iter=5):
    """Split the centres into groups of nearby ones (a few Lloyd steps on the centres).

    Yinyang k-means keeps one lower bound per group of centres; groups of
    nearby centres keep those bounds tight. Deterministic: the groups start
    from evenly spaced centres.

    Parameters
    ----------
    centers : ndarray of shape (n_clusters, n_features)
        The centres.
    n_groups : int
        Number of groups (at most ``n_clusters``; a group may end up empty).
    n_iter : int, default=5
        Lloyd steps on the centres.

    Returns
    -------
    group_of : ndarray of shape (n_clusters,), dtype int64
        The group of every centre.

    Examples
    --------
    >>> import numpy as np
    >>> from skunsup.cluster._center_geometry import group_centers
    >>> group_centers(np.array([[0.0], [10.0], [0.5], [10.5]]), 2).tolist()
    [0, 1, 0, 1]
    """
    centers = np.asarray(centers, dtype=np.float64)
    n_clusters = centers.shape[0]
    if n_groups <= 1:
        return np.zeros(n_clusters, dtype=np.int64)
    seeds = centers[np.linspace(0, n_clusters - 1, n_groups).astype(np.intp)].copy()
    sq = np.einsum("ij,ij->i", centers, centers)
    for _ in range(n_iter):
        group_of = np.argmin(sq[:, None] - 2.0 * centers @ seeds.T
                             + np.einsum("ij,ij->i", seeds, seeds)[None, :], axis=1)
        for g in range(n_groups):
            mine = group_of == g
            if mine.any():
                seeds[g] = centers[mine].mean(axis=0)
    return group_of.astype(np.int64)
