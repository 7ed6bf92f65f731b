"""Array-likes read by row slices (HDF5 and zarr datasets): what the block fits ask of X.

An h5py ``Dataset`` or a zarr array is not a numpy array: it has a ``shape``,
a ``dtype`` and ``__getitem__``, and reading a slice of rows reads those rows
from the file. :class:`RowBlockArray` wraps such an object so that the fits
that already read numpy memory-maps by row blocks (KMeans, MiniBatchKMeans,
PCA's covariance, IncrementalPCA) read it the same way: every slice read is
a numpy array of those rows only, and a gather of scattered rows (a
mini-batch, a probe of the data) reads runs of consecutive rows, each at most
``READ_BYTES``. An array-like smaller than ``MIN_BYTES`` is read whole.
"""

import numpy as np
import scipy.sparse as sp

from skunsup.utils._dask import is_dask_array

__all__ = ["RowBlockArray", "as_row_blocks", "is_row_block_array"]

# Array-likes below this size are read whole and fitted as numpy arrays (the
# same threshold as memory-mapped files, BLOCKWISE_MIN_BYTES of
# cluster/_lloyd_blocks.py: a fit then equals the fit of the array in memory).
MIN_BYTES = 64 * 2**20
# Largest read of consecutive rows when gathering scattered rows: the size of
# a block of the block fits (16 MiB, cluster/_lloyd_blocks.BLOCK_BYTES).
READ_BYTES = 16 * 2**20


def is_row_block_array(X):
    """Whether X is a 2-D numeric array-like that is not an array the fits know.

    Not a numpy array, sparse matrix or Dask array, nor an array-API array
    (``__array_namespace__``, ``__dlpack__``: those have their own path); it
    has a 2-D ``shape``, a numeric numpy ``dtype`` and ``__getitem__``.

    Examples
    --------
    >>> import numpy as np
    >>> from skunsup.utils._row_blocks import is_row_block_array
    >>> class Dataset:  # h5py-like
    ...     shape, dtype = (10, 3), np.dtype("float32")
    ...     def __getitem__(self, key):
    ...         return np.zeros((10, 3), np.float32)[key]
    >>> is_row_block_array(Dataset()), is_row_block_array(np.zeros((10, 3)))
    (True, False)
    """
    if isinstance(X, np.ndarray) or sp.issparse(X) or is_dask_array(X):
        return False
    if any(hasattr(X, name) for name in ("__array_namespace__", "__dlpack__")):
        return False
    dtype, shape = getattr(X, "dtype", None), getattr(X, "shape", None)
    return (hasattr(X, "__getitem__") and isinstance(dtype, np.dtype)
            and (np.issubdtype(dtype, np.integer) or np.issubdtype(dtype, np.floating))
            and shape is not None and len(shape) == 2)


def as_row_blocks(X, min_bytes=None):
    """X for a fit: a large row-block array-like wrapped, a small one read whole.

    Parameters
    ----------
    X : object
        Anything a fit accepts.
    min_bytes : int, default=None
        Below this size (as float32/float64) a row-block array-like is read
        whole (None: ``MIN_BYTES``).

    Returns
    -------
    X : object
        X itself, or a :class:`RowBlockArray`, or the numpy array read from it.

    Examples
    --------
    >>> import numpy as np
    >>> from skunsup.utils._row_blocks import RowBlockArray, as_row_blocks
    >>> class Dataset:
    ...     shape, dtype = (10, 3), np.dtype("float32")
    ...     def __getitem__(self, key):
    ...         return np.zeros((10, 3), np.float32)[key]
    >>> type(as_row_blocks(Dataset())).__name__, type(as_row_blocks(Dataset(), 0)).__name__
    ('ndarray', 'RowBlockArray')
    """
    if not is_row_block_array(X):
        return X
    blocks = RowBlockArray(X)
    if blocks.nbytes < (MIN_BYTES if min_bytes is None else min_bytes):
        return blocks[:]
    return blocks


class RowBlockArray:
    """A row-block array-like (h5py, zarr) seen as the block fits read numpy arrays.

    ``X[a:b]`` (any step) reads those rows into a C-contiguous numpy array;
    ``X[i]`` reads one row; ``X[indices]`` (integers, any order, repeats
    allowed) reads the runs of consecutive rows among them, each run in reads
    of at most ``READ_BYTES``. Integer data is read as float64 (as
    scikit-learn's validation converts it), block by block.

    Parameters
    ----------
    data : object
        A 2-D array-like with ``shape``, a numeric ``dtype`` and
        ``__getitem__`` by slices of rows.

    Attributes
    ----------
    shape : tuple of int
    dtype : numpy dtype
        float32 or float64: the dtype of the rows read.
    nbytes : int
        Size of the data in ``dtype``.

    Examples
    --------
    >>> import numpy as np
    >>> from skunsup.utils._row_blocks import RowBlockArray
    >>> class Rows:
    ...     shape, dtype = (6, 2), np.dtype("int16")
    ...     def __getitem__(self, key):
    ...         return np.arange(12, dtype=np.int16).reshape(6, 2)[key]
    >>> X = RowBlockArray(Rows())
    >>> X.dtype, X[1:3].tolist(), X[[5, 0, 5]].tolist()
    (dtype('float64'), [[2.0, 3.0], [4.0, 5.0]], [[10.0, 11.0], [0.0, 1.0], [10.0, 11.0]])
    """

    ndim = 2

    def __init__(self, data):
        self.data = data
        self.shape = tuple(int(n) for n in data.shape)
        dtype = np.dtype(data.dtype)
        self.dtype = dtype if dtype in (np.float32, np.float64) else np.dtype(np.float64)
        self.itemsize = self.dtype.itemsize
        self.size = self.shape[0] * self.shape[1]
        self.nbytes = self.size * self.itemsize

    def __len__(self):
        return self.shape[0]

    def _read(self, rows):
        return np.ascontiguousarray(np.asarray(self.data[rows]), dtype=self.dtype)

    def __getitem__(self, key):
        if isinstance(key, slice):
            return self._read(key)
        if isinstance(key, (int, np.integer)):
            index = int(key) + (self.shape[0] if key < 0 else 0)
            return self._read(slice(index, index + 1))[0]
        return self._gather(np.asarray(key))

    def _gather(self, indices):
        if indices.dtype == bool:
            indices = np.flatnonzero(indices)
        indices = np.where(indices < 0, indices + self.shape[0], indices).astype(np.intp)
        if indices.size and (indices.min() < 0 or indices.max() >= self.shape[0]):
            raise IndexError(f"row index out of range for {self.shape[0]} rows")
        unique, inverse = np.unique(indices.ravel(), return_inverse=True)
        out = np.empty((unique.size, self.shape[1]), dtype=self.dtype)
        most = max(1, READ_BYTES // max(1, self.shape[1] * self.dtype.itemsize))
        starts = np.flatnonzero(np.diff(unique, prepend=-2) != 1)  # runs of consecutive rows
        for first, end in zip(starts, np.append(starts[1:], unique.size)):
            for lo in range(first, end, most):
                hi = min(lo + most, end)
                out[lo:hi] = self._read(slice(unique[lo], unique[hi - 1] + 1))
        return out[inverse.reshape(indices.shape)]

    def __array__(self, dtype=None, copy=None):
        """The whole array (a method that needs all of X at once reads it whole)."""
        return self._read(slice(None)).astype(dtype or self.dtype, copy=False)
