"""One image data set for demonstrations: Fashion-MNIST when installed, else digits."""

import numpy as np
from sklearn.datasets import load_digits
from sklearn.utils import Bunch, check_random_state

from skunsup.datasets._fashion_mnist import find_fashion_mnist, load_fashion_mnist


def load_tour_data(data="auto", n_samples=None, data_home=None, random_state=0):
    """Load image data as float32 in [0, 1] for the tour and the examples.

    Parameters
    ----------
    data : {'auto', 'fashion-mnist', 'digits'}, default='auto'
        'auto' takes Fashion-MNIST when its files are found, else scikit-learn's
        bundled 8x8 digits.
    n_samples : int, default=None
        Keep a random subset of this many images (all when None or larger).
    data_home : str or path-like, default=None
        Passed to :func:`load_fashion_mnist`.
    random_state : int, RandomState instance or None, default=0
        Seed of the subset draw.

    Returns
    -------
    data : :class:`~sklearn.utils.Bunch`
        ``data`` (float32, shape (n, n_pixels)), ``target``, ``target_names``,
        ``image_shape`` and ``name`` (a human-readable title).

    Examples
    --------
    >>> from skunsup.datasets import load_tour_data
    >>> digits = load_tour_data("digits", n_samples=100)
    >>> digits.data.shape, digits.data.dtype.name, digits.image_shape
    ((100, 64), 'float32', (8, 8))
    """
    if data not in ("auto", "fashion-mnist", "digits"):
        raise ValueError(f"data must be 'auto', 'fashion-mnist' or 'digits', got {data!r}.")
    use_fashion = data == "fashion-mnist" or (
        data == "auto" and find_fashion_mnist(data_home) is not None
    )
    if use_fashion:
        bunch = load_fashion_mnist(data_home=data_home, dtype=np.float32)
        X, y, names, shape = bunch.data, bunch.target, bunch.target_names, (28, 28)
        title = "Fashion-MNIST"
    else:
        digits = load_digits()
        X = (digits.data / 16.0).astype(np.float32)
        y, names, shape = digits.target, [str(d) for d in digits.target_names], (8, 8)
        title = "scikit-learn digits"
    if n_samples is not None and n_samples < len(X):
        rng = check_random_state(random_state)
        keep = np.sort(rng.choice(len(X), size=n_samples, replace=False))
        X, y = X[keep], y[keep]
    return Bunch(data=X, target=y, target_names=names, image_shape=shape, name=title)
