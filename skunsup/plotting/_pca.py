"""PCA figures: the explained-variance curve."""

import numpy as np

from skunsup.plotting._axes import new_axes


def plot_explained_variance(explained_variance_ratio, *, thresholds=(0.8, 0.9, 0.95), ax=None,
                            title=None):
    """Draw each component's share of the variance and the cumulative share.

    Parameters
    ----------
    explained_variance_ratio : array-like of shape (n_components,)
        A fitted PCA's ``explained_variance_ratio_`` (descending).
    thresholds : tuple of float, default=(0.8, 0.9, 0.95)
        Cumulative shares to mark with the number of components they need.
    ax : matplotlib Axes, default=None
        Axes to draw into; a new figure when None.
    title : str, default=None
        Axes title.

    Returns
    -------
    ax : matplotlib.axes.Axes
        The axes drawn into (the cumulative curve is on a twin axis).

    Examples
    --------
    >>> import numpy as np
    >>> from skunsup.plotting import plot_explained_variance
    >>> ax = plot_explained_variance(np.array([0.5, 0.3, 0.15, 0.05]))
    >>> ax.get_xlabel()
    'component'
    """
    ratio = np.asarray(explained_variance_ratio, dtype=np.float64)
    if ratio.ndim != 1 or ratio.size == 0:
        raise ValueError(f"expected a non-empty 1-D array of ratios, got shape {ratio.shape}.")
    ax = new_axes(ax, figsize=(6.5, 4))
    components = np.arange(1, ratio.size + 1)
    ax.plot(components, np.maximum(ratio, np.finfo(np.float64).tiny), color="tab:blue",
            lw=1.5, label="share of each component")
    ax.set_xlabel("component")
    ax.set_ylabel("share of the variance", color="tab:blue")
    ax.set_yscale("log")
    # trailing eigenvalues at the rounding level would stretch the axis: show 7 decades
    ax.set_ylim(max(ratio.max() * 1e-7, np.finfo(np.float64).tiny), ratio.max() * 2)
    ax.set_xlim(0.5, ratio.size + 0.5)
    cumulative = np.cumsum(ratio)
    twin = ax.twinx()
    twin.plot(components, cumulative, color="tab:red", lw=1.5, label="cumulative share")
    twin.set_ylabel("cumulative share", color="tab:red")
    twin.set_ylim(0, 1.02)
    for threshold in thresholds:
        needed = int(np.searchsorted(cumulative, threshold)) + 1
        if needed <= ratio.size:
            twin.axhline(threshold, color="gray", lw=0.6, ls=":")
            twin.plot([needed], [cumulative[needed - 1]], "o", color="tab:red", ms=4)
            twin.annotate(f"{threshold:.0%}: {needed}", (needed, cumulative[needed - 1]),
                          textcoords="offset points", xytext=(6, -10), fontsize=8)
    ax.set_xscale("log")
    if title:
        ax.set_title(title)
    return ax
