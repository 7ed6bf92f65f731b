"""Grids of images: data, centroids, reconstructions, samples."""

import numpy as np

from skunsup.plotting._axes import new_axes


def plot_image_grid(images, image_shape=None, *, n_cols=8, titles=None, cmap="gray_r",
                    vmin=0.0, vmax=1.0, cell_size=1.1, figure=None):
    """Draw flattened images on a grid, one per axis, without ticks.

    Parameters
    ----------
    images : array-like of shape (n_images, n_pixels) or (n_images, height, width)
        The images; flattened rows need ``image_shape``.
    image_shape : tuple of int, default=None
        ``(height, width)`` of one image; inferred for square flattened images.
    n_cols : int, default=8
        Images per row.
    titles : list of str, default=None
        One (possibly empty) title per image.
    cmap : str, default='gray_r'
        Matplotlib colour map.
    vmin, vmax : float, default=0.0, 1.0
        Colour limits (data is expected in [0, 1]).
    cell_size : float, default=1.1
        Inches per image.
    figure : matplotlib Figure, default=None
        Draw into this figure instead of a new one.

    Returns
    -------
    figure : matplotlib.figure.Figure
        The figure holding the grid.

    Examples
    --------
    >>> import numpy as np
    >>> from skunsup.plotting import plot_image_grid
    >>> fig = plot_image_grid(np.random.default_rng(0).random((6, 16)), n_cols=3)
    >>> len(fig.axes)
    6
    """
    import matplotlib.pyplot as plt

    images = np.asarray(images)
    if images.ndim == 2:
        if image_shape is None:
            side = int(round(np.sqrt(images.shape[1])))
            if side * side != images.shape[1]:
                raise ValueError("image_shape is needed for non-square flattened images.")
            image_shape = (side, side)
        images = images.reshape(len(images), *image_shape)
    if images.ndim != 3 or len(images) == 0:
        raise ValueError(f"expected a non-empty stack of images, got shape {images.shape}.")
    n_cols = max(1, min(n_cols, len(images)))
    n_rows = int(np.ceil(len(images) / n_cols))
    if figure is None:
        figure = plt.figure(figsize=(cell_size * n_cols, cell_size * n_rows + 0.2))
    axes = figure.subplots(n_rows, n_cols, squeeze=False)
    for index, ax in enumerate(axes.ravel()):
        if index < len(images):
            ax.imshow(images[index], cmap=cmap, vmin=vmin, vmax=vmax, interpolation="nearest")
            if titles is not None and titles[index]:
                ax.set_title(titles[index], fontsize=7)
            ax.set_xticks([])
            ax.set_yticks([])
        else:
            ax.remove()
    return figure


def plot_embedding(embedding, labels=None, *, target_names=None, ax=None, title=None,
                   point_size=2.0):
    """Scatter a 2-D embedding, coloured by label, with a legend of class names.

    Parameters
    ----------
    embedding : array-like of shape (n_samples, 2)
        The 2-D coordinates (PCA scores, t-SNE map, VAE latent means...).
    labels : array-like of shape (n_samples,), default=None
        Integer class of each point (colours).
    target_names : list of str, default=None
        Legend text of each class.
    ax : matplotlib Axes, default=None
        Axes to draw into; a new figure when None.
    title : str, default=None
        Axes title.
    point_size : float, default=2.0
        Marker size.

    Returns
    -------
    ax : matplotlib.axes.Axes
        The axes drawn into.

    Examples
    --------
    >>> import numpy as np
    >>> from skunsup.plotting import plot_embedding
    >>> ax = plot_embedding(np.zeros((4, 2)), labels=[0, 1, 0, 1])
    >>> len(ax.collections)
    2
    """
    import matplotlib.pyplot as plt

    embedding = np.asarray(embedding)
    if embedding.ndim != 2 or embedding.shape[1] != 2:
        raise ValueError(f"embedding must have shape (n_samples, 2), got {embedding.shape}.")
    ax = new_axes(ax, figsize=(6, 5))
    if labels is None:
        ax.scatter(embedding[:, 0], embedding[:, 1], s=point_size, rasterized=True)
    else:
        labels = np.asarray(labels)
        cmap = plt.get_cmap("tab10" if len(np.unique(labels)) <= 10 else "tab20")
        for index, label in enumerate(np.unique(labels)):
            mask = labels == label
            name = target_names[int(label)] if target_names is not None else str(label)
            ax.scatter(embedding[mask, 0], embedding[mask, 1], s=point_size, color=cmap(index % cmap.N),
                       label=name, rasterized=True)
        ax.legend(markerscale=4 / max(point_size, 0.5), fontsize=7, loc="best", frameon=False)
    ax.set_xticks([])
    ax.set_yticks([])
    if title:
        ax.set_title(title)
    return ax
