"""The axes every plotting function draws into."""


def new_axes(ax, figsize):
    """Return ``ax``, or the axes of a new ``figsize`` figure when ``ax`` is None."""
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots(figsize=figsize)
    return ax
