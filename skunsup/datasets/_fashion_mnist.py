"""Fashion-MNIST from local idx files (never downloaded at run time)."""

import gzip
import os
from pathlib import Path

import numpy as np
from sklearn.utils import Bunch

DEFAULT_DATA_HOME = Path("/usr/share/datasets/fashion-mnist")
DATA_ENV_VAR = "SKUNSUP_DATA"

TARGET_NAMES = [
    "T-shirt/top",
    "Trouser",
    "Pullover",
    "Dress",
    "Coat",
    "Sandal",
    "Shirt",
    "Sneaker",
    "Bag",
    "Ankle boot",
]

_FILES = {
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte", 60_000),
    "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte", 10_000),
}
_IMAGE_MAGIC = 2051
_LABEL_MAGIC = 2049

INSTALL_HINT = (
    "Install it with `sudo apt-get update && sudo apt-get install -y "
    "dataset-fashion-mnist` (files go to /usr/share/datasets/fashion-mnist/), or put "
    "the four idx files (train-images-idx3-ubyte.gz, train-labels-idx1-ubyte.gz, "
    "t10k-images-idx3-ubyte.gz, t10k-labels-idx1-ubyte.gz) in a folder and pass it as "
    f"`data_home` or in the {DATA_ENV_VAR} environment variable. skunsup never "
    "downloads data."
)

DESCR = """Fashion-MNIST
=============

70,000 grey-level 28x28 images of clothing in 10 classes (60,000 train, 10,000
test), by Zalando Research (Xiao, Rasul & Vollgraf, 2017), in MNIST's idx format.
A drop-in, harder replacement for the MNIST digits. Licence: MIT.

=================   ==============
Classes                         10
Samples total               70,000
Dimensionality                 784
Features            integers 0-255
=================   ==============
"""


def _candidate_folders(data_home):
    if data_home is not None:
        return [Path(data_home)]
    folders = []
    if os.environ.get(DATA_ENV_VAR):
        folders.append(Path(os.environ[DATA_ENV_VAR]))
    folders.append(DEFAULT_DATA_HOME)
    return folders


def _find(folder, stem):
    for name in (stem + ".gz", stem):
        if (folder / name).is_file():
            return folder / name
    return None


def find_fashion_mnist(data_home=None):
    """Return the folder holding the Fashion-MNIST idx files, or None.

    Parameters
    ----------
    data_home : str or path-like, default=None
        Folder to look in. When None, the ``SKUNSUP_DATA`` environment variable
        and then ``/usr/share/datasets/fashion-mnist/`` are searched.

    Returns
    -------
    folder : pathlib.Path or None
        The first folder that holds all four files.

    Examples
    --------
    >>> from skunsup.datasets import find_fashion_mnist
    >>> folder = find_fashion_mnist()  # None when the data is not installed
    """
    stems = [stem for images, labels, _ in _FILES.values() for stem in (images, labels)]
    for folder in _candidate_folders(data_home):
        if all(_find(folder, stem) is not None for stem in stems):
            return folder
    return None


def _read_idx(path, magic, expected_shape):
    opener = gzip.open if path.suffix == ".gz" else open
    try:
        with opener(path, "rb") as handle:
            raw = handle.read()
    except (OSError, EOFError) as exc:
        raise OSError(f"Cannot read {path}: {exc}. The file looks corrupt. {INSTALL_HINT}") from exc
    n_dims = len(expected_shape)
    header_size = 4 * (1 + n_dims)
    if len(raw) < header_size:
        raise OSError(f"{path} is truncated (only {len(raw)} bytes). {INSTALL_HINT}")
    header = np.frombuffer(raw[:header_size], dtype=">u4")
    if header[0] != magic:
        raise OSError(
            f"{path} has magic number {header[0]}, expected {magic}: not an idx "
            f"file of the right kind. {INSTALL_HINT}"
        )
    shape = tuple(int(n) for n in header[1:])
    if shape != expected_shape:
        raise OSError(f"{path} holds shape {shape}, expected {expected_shape}. {INSTALL_HINT}")
    body = np.frombuffer(raw, dtype=np.uint8, offset=header_size)
    if body.size != int(np.prod(shape)):
        raise OSError(
            f"{path} has {body.size} data bytes, expected {int(np.prod(shape))}: the "
            f"file is truncated or corrupt. {INSTALL_HINT}"
        )
    return body.reshape(shape)


def load_fashion_mnist(
    data_home=None, subset="all", return_X_y=False, as_frame=False, dtype=np.float64
):
    """Load the Fashion-MNIST images from local idx files.

    Parameters
    ----------
    data_home : str or path-like, default=None
        Folder with the four idx files (gzipped or not). When None, the
        ``SKUNSUP_DATA`` environment variable is tried, then
        ``/usr/share/datasets/fashion-mnist/`` (Debian package
        ``dataset-fashion-mnist``).
    subset : {'all', 'train', 'test'}, default='all'
        'all' is the 60,000 training images followed by the 10,000 test ones.
    return_X_y : bool, default=False
        Return ``(data, target)`` instead of a Bunch.
    as_frame : bool, default=False
        Return the data as a pandas DataFrame (columns ``pixel_0`` ...
        ``pixel_783``) and the target as a Series.
    dtype : {numpy.float64, numpy.float32, numpy.uint8}, default=numpy.float64
        Dtype of ``data``. Floats are scaled to [0, 1]; uint8 keeps the raw grey
        levels 0-255. ``images`` always holds the raw uint8 pixels.

    Returns
    -------
    data : :class:`~sklearn.utils.Bunch`
        With ``data`` of shape (n_samples, 784), ``target`` (int64 class 0-9),
        ``images`` of shape (n_samples, 28, 28), ``target_names``,
        ``feature_names``, ``frame`` (or None) and ``DESCR``.
    (data, target) : tuple if ``return_X_y`` is True
        The data and the target.

    Raises
    ------
    FileNotFoundError
        When the files are missing; the message says how to install them.
    OSError
        When a file is corrupt (wrong magic number, size or truncated).

    Examples
    --------
    >>> from skunsup.datasets import load_fashion_mnist
    >>> X, y = load_fashion_mnist(subset="test", return_X_y=True)  # doctest: +SKIP
    >>> X.shape  # doctest: +SKIP
    (10000, 784)
    """
    if subset not in ("all", "train", "test"):
        raise ValueError(f"subset must be 'all', 'train' or 'test', got {subset!r}.")
    if np.dtype(dtype) not in (np.float64, np.float32, np.uint8):
        raise ValueError(f"dtype must be float64, float32 or uint8, got {dtype!r}.")
    folder = find_fashion_mnist(data_home)
    if folder is None:
        searched = ", ".join(str(f) for f in _candidate_folders(data_home))
        raise FileNotFoundError(f"Fashion-MNIST was not found (searched: {searched}). {INSTALL_HINT}")
    parts = ["train", "test"] if subset == "all" else [subset]
    images, targets = [], []
    for part in parts:
        image_stem, label_stem, n_samples = _FILES[part]
        images.append(_read_idx(_find(folder, image_stem), _IMAGE_MAGIC, (n_samples, 28, 28)))
        targets.append(_read_idx(_find(folder, label_stem), _LABEL_MAGIC, (n_samples,)))
    images = np.concatenate(images)
    target = np.concatenate(targets).astype(np.int64)
    if target.max() > 9:
        raise OSError(f"labels in {folder} go up to {target.max()}, expected 0-9. {INSTALL_HINT}")
    data = images.reshape(len(images), -1)
    if np.dtype(dtype) != np.uint8:
        data = data.astype(dtype) / dtype(255.0)
    feature_names = [f"pixel_{i}" for i in range(data.shape[1])]
    frame = None
    if as_frame:
        import pandas as pd

        frame = pd.DataFrame(data, columns=feature_names)
        frame["target"] = target
        data, target = frame[feature_names], frame["target"]
    if return_X_y:
        return data, target
    return Bunch(
        data=data,
        target=target,
        images=images,
        frame=frame,
        target_names=list(TARGET_NAMES),
        feature_names=feature_names,
        DESCR=DESCR,
    )
