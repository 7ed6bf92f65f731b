"""Plots of the lecture's figures: Voronoi cells of centroids, dendrograms."""

import numpy as np

from skunsup.plotting._axes import new_axes


def plot_voronoi_cells(centers, *, ax=None, xlim=None, ylim=None, resolution=300,
                       cmap="tab10", alpha=0.18, edgecolor="0.3", show_centers=True):
    """Shade the Voronoi cells of 2-D centres: each point of the plane gets its nearest centre.

    k-means assigns a point to the centre at the smallest Euclidean distance, so
    the regions it draws in the plane are the Voronoi cells of the centres; the
    cell borders are pieces of the perpendicular bisectors between two centres.

    Parameters
    ----------
    centers : array-like of shape (n_centers, 2)
        The centres, for example ``KMeans(...).fit(X).cluster_centers_``.
    ax : matplotlib Axes, default=None
        Axes to draw into; a new figure when None.
    xlim, ylim : tuple of float, default=None
        Region to shade; the axes' current limits when None (plot the data first).
    resolution : int, default=300
        Grid points per axis of the shading.
    cmap : str, default='tab10'
        Colour map; cell ``i`` takes colour ``i``.
    alpha : float, default=0.18
        Opacity of the shading.
    edgecolor : str, default='0.3'
        Colour of the cell borders (None for no borders).
    show_centers : bool, default=True
        Mark the centres with black crosses.

    Returns
    -------
    ax : matplotlib.axes.Axes
        The axes drawn into.

    Examples
    --------
    >>> import numpy as np
    >>> from skunsup.plotting import plot_voronoi_cells
    >>> ax = plot_voronoi_cells(np.array([[0.0, 0.0], [1.0, 1.0], [2.0, 0.0]]),
    ...                         xlim=(-1, 3), ylim=(-1, 2))
    >>> [float(v) for v in ax.get_xlim()]
    [-1.0, 3.0]
    """
    import matplotlib.pyplot as plt

    centers = np.asarray(centers, dtype=float)
    if centers.ndim != 2 or centers.shape[1] != 2 or len(centers) == 0:
        raise ValueError(f"centers must have shape (n_centers, 2), got {centers.shape}.")
    if not np.all(np.isfinite(centers)):
        raise ValueError("centers contain NaN or infinity.")
    ax = new_axes(ax, figsize=(5, 4))
    xlim = ax.get_xlim() if xlim is None else tuple(float(v) for v in xlim)
    ylim = ax.get_ylim() if ylim is None else tuple(float(v) for v in ylim)
    xs = np.linspace(xlim[0], xlim[1], resolution)
    ys = np.linspace(ylim[0], ylim[1], resolution)
    gx, gy = np.meshgrid(xs, ys)
    grid = np.column_stack([gx.ravel(), gy.ravel()])
    d2 = ((grid[:, None, :] - centers[None, :, :]) ** 2).sum(axis=2)
    cells = d2.argmin(axis=1).reshape(gx.shape)
    colours = plt.get_cmap(cmap)
    n = len(centers)
    from matplotlib.colors import ListedColormap

    listed = ListedColormap([colours(i % colours.N) for i in range(n)])
    ax.imshow(cells, origin="lower", extent=(*xlim, *ylim), cmap=listed, vmin=-0.5,
              vmax=n - 0.5, alpha=alpha, aspect="auto", interpolation="nearest", zorder=0)
    if edgecolor is not None and n > 1:
        ax.contour(gx, gy, cells, levels=np.arange(n) + 0.5, colors=edgecolor,
                   linewidths=0.8, zorder=1)
    if show_centers:
        ax.scatter(centers[:, 0], centers[:, 1], marker="x", s=70, linewidths=2.5,
                   color="black", zorder=3)
    ax.set_xlim(xlim)
    ax.set_ylim(ylim)
    return ax


def plot_dendrogram(linkage_matrix, *, labels=None, ax=None, color_threshold=None,
                    n_clusters=None, title=None):
    """Draw a hierarchical clustering tree from a SciPy linkage matrix.

    A thin wrapper of :func:`scipy.cluster.hierarchy.dendrogram` that draws into
    an axes, colours the clusters obtained by cutting the tree into
    ``n_clusters`` groups, and marks the cut with a dashed line.

    Parameters
    ----------
    linkage_matrix : ndarray of shape (n_samples - 1, 4)
        The output of :func:`scipy.cluster.hierarchy.linkage`.
    labels : list of str, default=None
        One leaf label per sample.
    ax : matplotlib Axes, default=None
        Axes to draw into; a new figure when None.
    color_threshold : float, default=None
        Merge height below which subtrees get their own colour (SciPy's default
        when None and ``n_clusters`` is None).
    n_clusters : int, default=None
        Cut the tree into this many clusters and draw the cut. The subtree of
        cluster ``j`` of ``scipy.cluster.hierarchy.fcluster(Z, n_clusters,
        'maxclust')`` is drawn in matplotlib colour ``f"C{j - 1}"``, so a
        scatter plot of the points coloured that way matches the tree.
        Overrides ``color_threshold``.
    title : str, default=None
        Axes title.

    Returns
    -------
    ax : matplotlib.axes.Axes
        The axes drawn into.

    Examples
    --------
    >>> import numpy as np
    >>> from scipy.cluster.hierarchy import linkage
    >>> from skunsup.plotting import plot_dendrogram
    >>> Z = linkage(np.array([[0.0, 0.0], [0.0, 1.0], [5.0, 5.0], [5.0, 6.0]]), "single")
    >>> ax = plot_dendrogram(Z, labels=["a", "b", "c", "d"], n_clusters=2)
    >>> [t.get_text() for t in ax.get_xticklabels()]
    ['a', 'b', 'c', 'd']
    """
    from scipy.cluster.hierarchy import dendrogram

    Z = np.asarray(linkage_matrix, dtype=float)
    if Z.ndim != 2 or Z.shape[1] != 4 or len(Z) == 0:
        raise ValueError(f"linkage_matrix must have shape (n_samples - 1, 4), got {Z.shape}.")
    ax = new_axes(ax, figsize=(7, 4))
    cut = None
    if n_clusters is not None:
        n_leaves = len(Z) + 1
        if not 1 <= n_clusters <= n_leaves:
            raise ValueError(f"n_clusters must be in [1, {n_leaves}], got {n_clusters}.")
        heights = np.concatenate([[0.0], np.sort(Z[:, 2]), [Z[:, 2].max() * 1.05]])
        # k clusters remain after n_leaves - k merges: cut between merge n-k and n-k+1
        low, high = heights[n_leaves - n_clusters], heights[n_leaves - n_clusters + 1]
        cut = 0.5 * (low + high)
    if n_clusters is not None:
        from scipy.cluster.hierarchy import fcluster

        leaf_cluster = fcluster(Z, t=n_clusters, criterion="maxclust")
        node_cluster = list(leaf_cluster)
        for left, right in Z[:, :2].astype(int):
            same = node_cluster[left] == node_cluster[right]
            node_cluster.append(node_cluster[left] if same else 0)

        def link_color(node):
            cluster = node_cluster[node]
            return f"C{cluster - 1}" if cluster > 0 else "0.5"

        dendrogram(Z, labels=labels, ax=ax, link_color_func=link_color)
    else:
        dendrogram(Z, labels=labels, ax=ax, color_threshold=color_threshold,
                   above_threshold_color="0.5")
    if cut is not None and n_clusters > 1:
        ax.axhline(cut, color="0.2", linestyle="--", linewidth=1)
    ax.set_ylabel("merge distance")
    if title:
        ax.set_title(title)
    return ax
