"""The steps of Lloyd's algorithm on 2-D data, panel by panel (the lecture's figure A-F)."""

import numpy as np


def lloyd_steps(X, init, *, n_steps=2, max_iter=100):
    """Record the states of Lloyd's algorithm: initial centres, assignments, moves, end.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
        The data.
    init : array-like of shape (n_clusters, n_features)
        The initial centres.
    n_steps : int, default=2
        Number of (assign, move) pairs to record before the converged state.
    max_iter : int, default=100
        Iterations allowed to reach convergence for the last state.

    Returns
    -------
    states : list of (str, ndarray or None, ndarray)
        ``(title, labels, centers)`` per state: the initial centres (labels
        None), then alternately an assignment and a move, then the converged
        clustering.

    Examples
    --------
    >>> import numpy as np
    >>> from skunsup.plotting import lloyd_steps
    >>> X = np.array([[0.0, 0.0], [0.0, 1.0], [5.0, 5.0], [5.0, 6.0]])
    >>> states = lloyd_steps(X, X[[0, 1]], n_steps=1)
    >>> [title.split(":")[0] for title, _, _ in states]
    ['A', 'B', 'C', 'D']
    """
    from skunsup.cluster._kmeans_ops import lloyd_partials

    X = np.ascontiguousarray(X, dtype=np.float64)
    centers = np.array(init, dtype=np.float64, order="C")
    weights_one = np.ones(X.shape[0])
    letters = iter("ABCDEFGHIJKLMNOPQRSTUVWXYZ")
    states = [(f"{next(letters)}: initial centres", None, centers.copy())]
    for _ in range(n_steps):
        labels, sums, weights, inertia, _ = lloyd_partials(X, weights_one, centers)
        states.append((f"{next(letters)}: assign (J = {inertia:.1f})", labels.copy(),
                       centers.copy()))
        filled = weights > 0
        centers[filled] = sums[filled] / weights[filled, None]
        moved = float(((X - centers[labels]) ** 2).sum())
        states.append((f"{next(letters)}: move centres (J = {moved:.1f})", labels.copy(),
                       centers.copy()))
    for n_iter in range(max_iter):
        labels, sums, weights, inertia, _ = lloyd_partials(X, weights_one, centers)
        filled = weights > 0
        new = centers.copy()
        new[filled] = sums[filled] / weights[filled, None]
        if np.allclose(new, centers, rtol=0, atol=1e-12):
            break
        centers = new
    labels, _, _, inertia, _ = lloyd_partials(X, weights_one, centers)
    states.append((f"{next(letters)}: converged (J = {inertia:.1f})", labels.copy(),
                   centers.copy()))
    return states


def plot_kmeans_steps(X, init, *, n_steps=2, n_cols=3, panel_size=2.6, colors=None):
    """Draw Lloyd's algorithm on 2-D data, one panel per state (the lecture's A-F).

    Panels: initial centres, then alternately the assignment of every point
    to its nearest centre and the move of every centre to the mean of its
    points, then the converged clustering. ``J`` in the titles is the sum of
    squared distances to the centres.

    Parameters
    ----------
    X : array-like of shape (n_samples, 2)
        2-D data.
    init : array-like of shape (n_clusters, 2)
        The initial centres.
    n_steps : int, default=2
        Number of (assign, move) pairs drawn before the converged state; the
        default gives the six panels A-F.
    n_cols : int, default=3
        Panels per row.
    panel_size : float, default=2.6
        Inches per panel.
    colors : list of matplotlib colours, default=None
        One colour per cluster (tab10 when None).

    Returns
    -------
    figure : matplotlib.figure.Figure
        The figure with one axes per state.

    Examples
    --------
    >>> import numpy as np
    >>> from skunsup.plotting import plot_kmeans_steps
    >>> X = np.random.default_rng(0).normal(size=(40, 2))
    >>> fig = plot_kmeans_steps(X, X[:2])
    >>> len(fig.axes)
    6
    """
    import matplotlib.pyplot as plt

    X = np.asarray(X, dtype=np.float64)
    if X.ndim != 2 or X.shape[1] != 2:
        raise ValueError(f"X must have shape (n_samples, 2), got {X.shape}.")
    states = lloyd_steps(X, init, n_steps=n_steps)
    if colors is None:
        colors = [plt.get_cmap("tab10")(i % 10) for i in range(len(states[0][2]))]
    n_rows = int(np.ceil(len(states) / n_cols))
    figure, axes = plt.subplots(n_rows, n_cols, figsize=(panel_size * n_cols,
                                                         panel_size * n_rows), squeeze=False)
    for ax, (title, labels, centers) in zip(axes.ravel(), states):
        if labels is None:
            ax.scatter(X[:, 0], X[:, 1], s=6, color="0.55", linewidths=0)
        else:
            ax.scatter(X[:, 0], X[:, 1], s=6, linewidths=0,
                       color=[colors[label] for label in labels])
        for j, center in enumerate(centers):
            ax.scatter(center[0], center[1], s=120, marker="X", color=colors[j],
                       edgecolors="black", linewidths=1.2, zorder=3)
        ax.set_title(title, fontsize=8)
        ax.set_xticks([])
        ax.set_yticks([])
        ax.set_aspect("equal", adjustable="datalim")
    for ax in axes.ravel()[len(states):]:
        ax.remove()
    figure.tight_layout()
    return figure
