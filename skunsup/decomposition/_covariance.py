"""Centred covariance of a dense matrix, accurate for float32 input.

The lecture's PCA forms the sample covariance and eigendecomposes it. Forming
it as ``X.T @ X - n * outer(mean, mean)`` in float32 (what scikit-learn's
'covariance_eigh' does) cancels two large numbers and loses about three digits
on Fashion-MNIST. Here the rows are centred first, in fixed-size blocks, each
block's cross-product is taken by the BLAS in the input's precision (fast),
and the blocks are summed in float64 (accurate). A strided sample of rows
gives the shift, so the data is read once; the exact mean is accumulated on
the way and the small remaining shift is corrected in float64 at the end.

Kernels follow the house rules: pure functions over C-contiguous arrays,
serial or parallel over fixed-size chunks with per-chunk partial sums reduced
in a fixed order, so the result does not depend on the thread count.
"""

import numba
import numpy as np

from skunsup.utils._numba import jit_kernel, jit_parallel

# Rows per parallel chunk of the sum-of-squares kernel, and the granularity of
# the blocks (fixed: never depends on the thread count, so the partial sums and
# their reduction order never change).
CHUNK_ROWS = 256

# Target bytes of one centred block: large enough for the BLAS to run at full
# speed and to wake its threads rarely. Measured on Fashion-MNIST (70,000 x 784,
# float32): blocks of 1,024 to 16,384 rows differ in accuracy by less than a
# factor 2 (4e-7 to 8e-7 worst relative error of the top-50 eigenvalues) and
# the larger ones were faster on the loaded machine (8,192 rows: 4.9 s, 2,560:
# 5.3 s, load 14); on 1,000,000 x 100, 16,384-row blocks beat 1,024-4,096.
BLOCK_BYTES = 16 * 1024 * 1024


@jit_kernel
def center_block(X, start, stop, shift, out, column_sums):
    """Subtract ``shift`` from rows ``start:stop`` of ``X``, summing the result.

    Serial on purpose: it alternates with multi-threaded BLAS calls block by
    block, and a second thread pool spinning between them cost more than the
    parallel copy saved on a loaded 2-core machine (measured on Fashion-MNIST:
    median 7.3 s parallel vs 4.9 s serial for the whole covariance at load 14;
    the copy is memory-bound either way).

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features), float32 or float64, C-contiguous
        IN: the data.
    start, stop : int
        IN: the rows of the block.
    shift : ndarray of shape (n_features,), same dtype as ``X`` or float64
        IN: the value subtracted from every row.
    out : ndarray of shape (>= stop - start, n_features), same dtype as ``shift``
        OUT: rows ``0 : stop - start`` receive ``X[start:stop] - shift`` (float32
        rows widened to float64 block by block by the streaming covariance).
    column_sums : ndarray of shape (n_features,), float64
        OUT: the float64 column sums of the centred rows, summed in row order.
    """
    n_features = X.shape[1]
    for j in range(n_features):
        column_sums[j] = 0.0
    for i in range(stop - start):
        for j in range(n_features):
            value = X[start + i, j] - shift[j]
            out[i, j] = value
            column_sums[j] += value


@jit_parallel
def centered_square_sums(X, mean, partial_sums, chunk_rows):
    """Per-chunk float64 sums of ``(X - mean) ** 2`` over rows, for every feature.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features), float32 or float64, C-contiguous
        IN: the data.
    mean : ndarray of shape (n_features,), float64
        IN: the value subtracted (in float64) before squaring.
    partial_sums : ndarray of shape (n_chunks, n_features), float64
        OUT: row ``c`` receives the sums over the rows of chunk ``c``
        (``n_chunks = ceil(n_samples / chunk_rows)``).
    chunk_rows : int
        IN: rows per chunk.
    """
    n_samples, n_features = X.shape
    n_chunks = (n_samples + chunk_rows - 1) // chunk_rows
    for c in numba.prange(n_chunks):
        lo = c * chunk_rows
        hi = min(lo + chunk_rows, n_samples)
        for j in range(n_features):
            partial_sums[c, j] = 0.0
        for i in range(lo, hi):
            for j in range(n_features):
                value = X[i, j] - mean[j]
                partial_sums[c, j] += value * value


def total_variance(X, mean):
    """Sum over features of the sample variances (``ddof=1``), in float64.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features), float32 or float64
        The data; needs at least two rows.
    mean : array-like of shape (n_features,)
        The column means.

    Returns
    -------
    total : float
        ``((X - mean) ** 2).sum() / (n_samples - 1)``, accumulated in float64
        over fixed-size chunks (the same value for any thread count).

    Examples
    --------
    >>> import numpy as np
    >>> from skunsup.decomposition._covariance import total_variance
    >>> X = np.array([[0.0, 1.0], [2.0, 1.0], [4.0, 4.0]], dtype=np.float32)
    >>> round(total_variance(X, X.mean(axis=0)), 6)
    7.0
    """
    X = np.ascontiguousarray(X)
    if X.dtype not in (np.float32, np.float64):
        X = X.astype(np.float64)
    n_samples = X.shape[0]
    mean = np.ascontiguousarray(mean, dtype=np.float64)
    partial_sums = np.empty((-(-n_samples // CHUNK_ROWS), X.shape[1]), dtype=np.float64)
    centered_square_sums(X, mean, partial_sums, CHUNK_ROWS)
    return float(partial_sums.sum(axis=0).sum() / (n_samples - 1))


def _block_rows(n_samples, n_features, itemsize):
    rows = BLOCK_BYTES // max(1, n_features * itemsize)
    rows = max(CHUNK_ROWS, (rows // CHUNK_ROWS) * CHUNK_ROWS)
    return int(min(rows, max(n_samples, 1)))


def centered_covariance(X, *, block_rows=None):
    """Mean and sample covariance of the rows of ``X``, summed in float64.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features), float32 or float64
        The data (C-contiguous; other layouts are copied). Needs at least two rows.
    block_rows : int, default=None
        Rows per BLAS call; by default about ``BLOCK_BYTES`` of data. Rounded
        to a multiple of ``CHUNK_ROWS``.

    Returns
    -------
    mean : ndarray of shape (n_features,), float64
        The column means.
    covariance : ndarray of shape (n_features, n_features), float64
        ``(X - mean).T @ (X - mean) / (n_samples - 1)``, symmetric.

    Examples
    --------
    >>> import numpy as np
    >>> from skunsup.decomposition._covariance import centered_covariance
    >>> X = np.array([[0.0, 1.0], [2.0, 1.0], [4.0, 4.0]], dtype=np.float32)
    >>> mean, cov = centered_covariance(X)
    >>> mean.round(3).tolist(), cov.round(3).tolist()
    ([2.0, 2.0], [[4.0, 3.0], [3.0, 3.0]])
    """
    X = np.ascontiguousarray(X)
    if X.dtype not in (np.float32, np.float64):
        X = X.astype(np.float64)
    n_samples, n_features = X.shape
    if n_samples < 2:
        raise ValueError(f"the covariance needs at least 2 samples, got {n_samples}.")
    if block_rows is None:
        block_rows = _block_rows(n_samples, n_features, X.itemsize)
    block_rows = max(CHUNK_ROWS, -(-int(block_rows) // CHUNK_ROWS) * CHUNK_ROWS)
    block_rows = min(block_rows, -(-n_samples // CHUNK_ROWS) * CHUNK_ROWS)

    # The shift: the mean of a strided sample of about 4,096 rows (any order of
    # the rows, sorted ones included, gives a shift close to the mean).
    stride = max(1, n_samples // 4096)
    shift = X[::stride].mean(axis=0, dtype=np.float64).astype(X.dtype)

    buffer = np.empty((block_rows, n_features), dtype=X.dtype)
    block_sums = np.empty(n_features, dtype=np.float64)
    scatter = np.zeros((n_features, n_features), dtype=np.float64)
    column_sums = np.zeros(n_features, dtype=np.float64)
    for start in range(0, n_samples, block_rows):
        stop = min(start + block_rows, n_samples)
        center_block(X, start, stop, shift, buffer, block_sums)
        column_sums += block_sums
        # numpy recognises ``block.T @ block`` and calls its BLAS's symmetric
        # rank-k update. Measured on Fashion-MNIST (70,000 x 784, float32,
        # quiet 2-core machine): 0.28 s for all blocks, against 0.40 s through
        # scipy.linalg.blas.ssyrk and 0.8 s through its sgemm (scipy links a
        # different, slower OpenBLAS build here).
        block = buffer[: stop - start]
        scatter += block.T @ block

    # Sum over rows of (x - mean)(x - mean)^T from the shifted sums, in float64.
    offset = column_sums / n_samples  # mean - shift
    scatter -= n_samples * np.outer(offset, offset)
    covariance = (scatter + scatter.T) / (2.0 * (n_samples - 1))
    mean = shift.astype(np.float64) + offset
    return mean, covariance
