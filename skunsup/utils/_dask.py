"""Dask support shared by the estimators: detection and block-wise validation.

Nothing here imports dask at module level. :func:`is_dask_array` looks only at
the modules already imported, so the in-memory path of every estimator stays
free of dask: if the user never imported dask, the input cannot be a Dask
collection.

A Dask array is validated without computing it: its shape, chunks and dtype
are known from its metadata. The checks that need the values (NaN, infinity)
happen inside the block functions or in the first reduction of a fit.
"""

import sys
import warnings

import numpy as np
from sklearn.utils.validation import validate_data

_INSTALL_HINT = (
    "{what} needs Dask, which is not installed. Install it with "
    "`pip install 'skunsup[dask]'`."
)


def is_dask_array(X):
    """Whether ``X`` is a Dask array or a Dask DataFrame.

    Never imports dask: when ``dask.array`` (or ``dask.dataframe``) has not
    been imported yet, ``X`` cannot be one of its objects.

    Parameters
    ----------
    X : object
        Anything given to ``fit``, ``predict``, ``transform``, ...

    Returns
    -------
    is_dask : bool
        True for a ``dask.array.Array`` and for a ``dask.dataframe.DataFrame``
        (which the estimators turn into an array, see :func:`check_dask_array`).

    Examples
    --------
    >>> import numpy as np
    >>> from skunsup.utils._dask import is_dask_array
    >>> is_dask_array(np.zeros((2, 2)))
    False
    >>> import dask.array as da
    >>> is_dask_array(da.zeros((4, 2), chunks=2))
    True
    """
    array_module = sys.modules.get("dask.array")
    if array_module is not None and isinstance(X, array_module.Array):
        return True
    frame_module = sys.modules.get("dask.dataframe")
    return frame_module is not None and isinstance(X, frame_module.DataFrame)


def import_dask(what="This method"):
    """Import and return ``dask.array``, or raise an ImportError naming the extra.

    Parameters
    ----------
    what : str, default="This method"
        Named in the error message.

    Returns
    -------
    dask_array : module
        The ``dask.array`` module.

    Examples
    --------
    >>> from skunsup.utils._dask import import_dask
    >>> import_dask().__name__
    'dask.array'
    """
    try:
        import dask.array as da
    except ImportError as exc:
        raise ImportError(_INSTALL_HINT.format(what=what)) from exc
    return da


def check_dask_array(X, *, estimator=None, reset=True, dtype=(np.float64, np.float32),
                     ensure_min_samples=1, input_name="X"):
    """Validate a Dask array (or DataFrame) lazily: metadata only, no compute.

    The equivalent of ``validate_data`` for Dask input:

    - a Dask DataFrame becomes an array with ``to_dask_array(lengths=True)``
      (this computes the length of every partition, nothing else); its column
      names are checked or recorded like a pandas DataFrame's;
    - unknown chunk sizes (NaN in ``X.chunks``) are computed;
    - an array chunked along the features is rechunked to whole rows, with a
      warning (the estimators need every feature of a sample in one block);
    - the dtype is kept when it is one of ``dtype``, else cast lazily to the
      first one; non-numeric dtypes are refused;
    - the number of features is checked (``reset=False``) or recorded
      (``reset=True``) on ``estimator`` through ``validate_data`` on an empty
      array of the same columns.

    NaN and infinity cannot be seen without computing; the block functions
    of the estimators check them.

    Parameters
    ----------
    X : dask.array.Array or dask.dataframe.DataFrame
        The input, of shape (n_samples, n_features).
    estimator : estimator instance, default=None
        Where ``n_features_in_`` / ``feature_names_in_`` are set or checked.
    reset : bool, default=True
        True in ``fit`` (record the features), False afterwards (check them).
    dtype : tuple of dtypes, default=(np.float64, np.float32)
        Accepted float dtypes; the first is the cast target for other numbers.
    ensure_min_samples : int, default=1
        Fewest rows accepted.
    input_name : str, default="X"
        Name used in the error messages.

    Returns
    -------
    X : dask.array.Array
        Two-dimensional, chunked by rows only, with known chunk sizes.

    Raises
    ------
    TypeError
        When ``X`` is not a Dask array or DataFrame.
    ValueError
        When ``X`` is not 2-D, has a non-numeric dtype, too few rows, no
        column, or the wrong number of columns.

    Examples
    --------
    >>> import dask.array as da
    >>> from skunsup.utils._dask import check_dask_array
    >>> X = da.ones((6, 4), chunks=(3, 4), dtype="int64")
    >>> X = check_dask_array(X)
    >>> X.dtype, X.chunks
    (dtype('float64'), ((3, 3), (4,)))
    """
    da = import_dask()
    meta = None
    frame_module = sys.modules.get("dask.dataframe")
    if frame_module is not None and isinstance(X, frame_module.DataFrame):
        meta = X._meta
        X = X.to_dask_array(lengths=True)
    if not isinstance(X, da.Array):
        raise TypeError(f"Expected a Dask array or DataFrame for {input_name}, "
                        f"got {type(X).__name__}.")
    if X.ndim != 2:
        raise ValueError(
            f"Expected a 2D Dask array for {input_name}, got {X.ndim}D with shape "
            f"{X.shape}. Reshape your data (e.g. X.reshape(-1, 1) for a single feature).")
    if any(np.isnan(size) for size in X.chunks[0]):
        X = X.compute_chunk_sizes()
    if np.isnan(X.shape[1]):
        raise ValueError(f"{input_name} has an unknown number of columns.")
    kind = X.dtype.kind
    if kind not in "biuf":
        raise ValueError(
            f"{input_name} has dtype {X.dtype}; a numeric (integer, boolean or float) "
            "Dask array is required.")
    accepted = [np.dtype(d) for d in dtype]
    if X.dtype not in accepted:
        X = X.astype(accepted[0])
    if len(X.chunks[1]) > 1:
        warnings.warn(
            f"{input_name} is chunked along the features (column chunks "
            f"{X.chunks[1]}); rechunking it to whole rows. Chunk a Dask array by rows "
            "only, e.g. X.rechunk({1: -1}), to avoid this extra shuffle.",
            UserWarning, stacklevel=3)
        X = X.rechunk({1: -1})
    n_samples = X.shape[0]
    if n_samples < ensure_min_samples:
        raise ValueError(
            f"Found array with {n_samples} sample(s) (shape={X.shape}) while a minimum "
            f"of {ensure_min_samples} is required.")
    if estimator is not None:
        if meta is None:
            meta = np.empty((0, X.shape[1]), dtype=X.dtype)
        validate_data(estimator, meta, reset=reset, ensure_min_samples=0,
                      dtype=None, ensure_all_finite=False)
    elif X.shape[1] < 1:
        raise ValueError(
            f"Found array with 0 feature(s) (shape={X.shape}) while a minimum of 1 is "
            "required.")
    return X


def row_blocks(X):
    """The row blocks of a Dask array chunked by rows, as a list of Delayed.

    Parameters
    ----------
    X : dask.array.Array
        Two-dimensional with one chunk along the columns (1-D also accepted).

    Returns
    -------
    blocks : list of dask.delayed.Delayed
        One per row chunk, in order.

    Examples
    --------
    >>> import dask.array as da
    >>> from skunsup.utils._dask import row_blocks
    >>> len(row_blocks(da.ones((10, 3), chunks=(4, 3))))
    3
    """
    return list(X.to_delayed().ravel())


def check_dask_sample_weight(sample_weight, X):
    """Row blocks of the sample weights, aligned with the row blocks of ``X``.

    Values (finite, non-negative, not all zero) are checked later, in the
    first reduction over the blocks.

    Parameters
    ----------
    sample_weight : None, float, array-like or dask.array.Array of shape (n_samples,)
        The weights; None means all ones (then no block is made).
    X : dask.array.Array
        The validated data.

    Returns
    -------
    blocks : list of (dask.delayed.Delayed or None)
        One per row block of ``X``; all None when ``sample_weight`` is None.

    Examples
    --------
    >>> import dask.array as da
    >>> from skunsup.utils._dask import check_dask_sample_weight
    >>> X = da.ones((10, 3), chunks=(4, 3))
    >>> check_dask_sample_weight(None, X)
    [None, None, None]
    """
    da = import_dask()
    n_blocks = len(X.chunks[0])
    if sample_weight is None:
        return [None] * n_blocks
    if np.isscalar(sample_weight):
        weights = da.full(X.shape[0], float(sample_weight), chunks=(X.chunks[0],))
    else:
        if is_dask_array(sample_weight):
            weights = sample_weight
            if any(np.isnan(size) for size in weights.chunks[0]):
                weights = weights.compute_chunk_sizes()
        else:
            weights = np.asarray(sample_weight)
        if weights.ndim != 1 or weights.shape[0] != X.shape[0]:
            raise ValueError(
                f"sample_weight must have shape ({X.shape[0]},), got {weights.shape}.")
        if weights.dtype.kind not in "biuf":
            raise ValueError(f"sample_weight has dtype {weights.dtype}; numbers are needed.")
        if isinstance(weights, np.ndarray):
            weights = da.from_array(weights.astype(np.float64), chunks=(X.chunks[0],))
        else:
            weights = weights.astype(np.float64).rechunk((X.chunks[0],))
    return row_blocks(weights)


def as_block(X, dtype=None):
    """A C-contiguous float view (or copy) of one block, for the numba kernels.

    Parameters
    ----------
    X : ndarray of shape (n_rows, n_features)
        One block.
    dtype : dtype, default=None
        Wanted dtype (default: keep).

    Returns
    -------
    block : ndarray
        C-contiguous.

    Examples
    --------
    >>> import numpy as np
    >>> from skunsup.utils._dask import as_block
    >>> as_block(np.ones((2, 3)).T).flags.c_contiguous
    True
    """
    return np.ascontiguousarray(X, dtype=dtype)


def block_weights(sample_weight, n_rows):
    """The weights of a block as float64 (ones when None).

    Parameters
    ----------
    sample_weight : ndarray of shape (n_rows,) or None
        The block of weights.
    n_rows : int
        Rows of the block.

    Returns
    -------
    weights : ndarray of shape (n_rows,), dtype float64

    Examples
    --------
    >>> from skunsup.utils._dask import block_weights
    >>> block_weights(None, 2).tolist()
    [1.0, 1.0]
    """
    if sample_weight is None:
        return np.ones(n_rows, dtype=np.float64)
    return np.ascontiguousarray(sample_weight, dtype=np.float64)


def tree_reduce(parts, combine, split_every=8):
    """Reduce a list of Delayed objects with ``combine`` in a fixed tree.

    The tree only depends on the number of parts, so the result (and its
    floating-point rounding) does not depend on where or when tasks run.

    Parameters
    ----------
    parts : list of dask.delayed.Delayed
        The leaves, in order.
    combine : callable
        ``combine(*values) -> value``; applied to groups of ``split_every``.
    split_every : int, default=8
        Fan-in of the tree.

    Returns
    -------
    root : dask.delayed.Delayed
        The reduced value.

    Examples
    --------
    >>> import dask
    >>> from skunsup.utils._dask import tree_reduce
    >>> parts = [dask.delayed(i) for i in range(10)]
    >>> tree_reduce(parts, lambda *v: sum(v), split_every=3).compute()
    45
    """
    import dask

    combine_delayed = dask.delayed(combine, pure=True)
    level = list(parts)
    if len(level) == 1:
        return combine_delayed(level[0])
    while len(level) > 1:
        level = [combine_delayed(*level[i:i + split_every])
                 for i in range(0, len(level), split_every)]
    return level[0]
