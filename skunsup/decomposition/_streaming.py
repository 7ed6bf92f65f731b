"""An exact streaming covariance: float64 moments merged batch by batch.

PCA fitted on a stream (:meth:`PCA.partial_fit <skunsup.decomposition.PCA.partial_fit>`,
:class:`~skunsup.decomposition.IncrementalPCA`) keeps three float64 moments of
all the rows seen: their count, their mean and their scatter matrix
``sum_i (x_i - mean)(x_i - mean)^T``. Each batch gets its own mean and scatter,
from rows centred near its mean (no cancellation between large sums) and
widened to float64 one block at a time (float32 data is never copied to
float64 whole), in one pass; the batch is then merged into the running
moments by the pairwise update of Chan, Golub and LeVeque (1979)::

    n = n_a + n_b,   delta = mean_b - mean_a
    mean = mean_a + delta * n_b / n
    scatter = scatter_a + scatter_b + delta delta^T * n_a * n_b / n

which is exact in exact arithmetic: the covariance ``scatter / (n - 1)`` is the
batch covariance of all the rows, whatever the split, up to float64 rounding.
Its spectrum is then that of ``PCA(svd_solver='covariance_eigh')``
(:func:`~skunsup.decomposition._spectrum.eigh_spectrum`).

The cost is ``O(n_features ** 2)`` memory, which sets the line above which the
moments are not kept (``MAX_FEATURES``). Above it, a fixed number of components
can still be followed by scikit-learn's method, the incremental SVD of Ross et
al. (2008) (:class:`StreamingSVD`): it keeps the leading singular triplets only,
so its model depends on the batches; :func:`new_stream` chooses.
"""

import numpy as np
from scipy import linalg, sparse
from sklearn.utils import assert_all_finite

from skunsup.decomposition._covariance import center_block
from skunsup.decomposition._spectrum import eigh_spectrum, flip_signs

# Bytes of the float64 buffer that holds one centred block of rows. Measured on
# Fashion-MNIST (70,000 x 784 float32, quiet 2-core machine), the whole pass:
# blocks of 1,024 rows 0.61-0.64 s, 2,048 0.58-0.62 s, 4,096 (25 MiB) 0.55 s,
# 8,192 0.54-0.56 s (fewer BLAS calls, each of which rewrites the whole
# 784 x 784 product); 32 MiB is 5,350 such rows.
BLOCK_BYTES = 32 * 1024 * 1024

# Rows of the strided sample whose mean is the shift of batch_moments: enough
# to land within a few standard deviations of the mean, a negligible read.
SHIFT_SAMPLE = 256

# Largest number of features whose scatter matrix is kept: 4,096 x 4,096
# float64 is 128 MiB, and its eigendecomposition (same again as workspace) took
# 22 s for the top 50 pairs, 36 s for all, on a 2-core machine at load 7 (once
# per model read, where scikit-learn's IncrementalPCA does an SVD of a batch
# per batch); its default batch of 5 * n_features rows is already 5 times that
# matrix. Beyond it the d x d matrix and its O(d ** 3) eigendecomposition grow
# faster than any batch, and the SVD update (memory: a batch and the kept
# components) takes over.
MAX_FEATURES = 4096


def _check_finite(values, X):
    """Raise scikit-learn's error when ``X`` holds NaN or infinity (``values`` are not finite)."""
    if not np.isfinite(values).all():  # NaN or infinity in X, or a sum that overflows
        assert_all_finite(X.data if sparse.issparse(X) else X, input_name="X")
        raise ValueError("The sums of X or of its squares overflow float64; scale X "
                         "down.")


def batch_moments(X):
    """Count, mean and scatter matrix of one batch, in float64, in one pass.

    The rows are centred at a shift (the mean of a strided sample of
    ``SHIFT_SAMPLE`` rows) and widened to float64 one block at a time by the
    kernel :func:`~skunsup.decomposition._covariance.center_block` (compiled
    for a float64 shift and output), which also sums them; each block's
    cross-product is a float64 symmetric rank-k update. The sums then move
    the scatter from the shift to the exact mean: in float64, a shift within
    ``10 ** 4`` standard deviations of the mean (any sample of the rows is)
    costs less than ``10 ** -8`` of the scatter.

    Parameters
    ----------
    X : {ndarray, sparse matrix} of shape (n_samples, n_features)
        The batch: float32 or float64, finite (checked: a NaN or an infinity
        raises scikit-learn's usual error); sparse rows are densified one
        block at a time.

    Returns
    -------
    n_samples : int
        The number of rows.
    mean : ndarray of shape (n_features,), float64
        The column means.
    scatter : ndarray of shape (n_features, n_features), float64
        ``(X - mean).T @ (X - mean)``, exactly symmetric.

    Examples
    --------
    >>> import numpy as np
    >>> from skunsup.decomposition._streaming import batch_moments
    >>> n, mean, scatter = batch_moments(np.array([[0.0, 1.0], [2.0, 1.0], [4.0, 4.0]]))
    >>> n, mean.tolist(), scatter.tolist()
    (3, [2.0, 2.0], [[8.0, 6.0], [6.0, 6.0]])
    """
    n_samples, n_features = X.shape
    sample = X[:: max(1, n_samples // SHIFT_SAMPLE)]
    with np.errstate(over="ignore", invalid="ignore"):  # non-finite sums raise below
        shift = np.asarray(sample.mean(axis=0, dtype=np.float64)).ravel()
    rows = max(1, min(n_samples, BLOCK_BYTES // (8 * n_features)))
    buffer = np.empty((rows, n_features), dtype=np.float64)
    block_sums = np.empty(n_features, dtype=np.float64)
    column_sums = np.zeros(n_features, dtype=np.float64)
    scatter = None
    with np.errstate(over="ignore", invalid="ignore"):  # non-finite sums raise below
        for start in range(0, n_samples, rows):
            rows_in = X[start : start + rows]
            rows_in = np.ascontiguousarray(
                rows_in.toarray() if sparse.issparse(rows_in) else rows_in)
            center_block(rows_in, 0, rows_in.shape[0], shift, buffer, block_sums)
            column_sums += block_sums
            block = buffer[: rows_in.shape[0]]
            # numpy calls the BLAS's symmetric rank-k update and mirrors its triangle,
            # so every term added here and below is exactly symmetric
            if scatter is None:
                scatter = block.T @ block
            else:
                scatter += block.T @ block
    _check_finite(np.concatenate([column_sums, np.diag(scatter)]), X)
    offset = column_sums / n_samples  # mean - shift
    scatter -= n_samples * np.outer(offset, offset)
    return n_samples, shift + offset, scatter


def merge_moments(first, second):
    """The moments of two sets of rows from theirs (Chan, Golub and LeVeque).

    The scatter matrix of ``second`` is overwritten by the result's (a batch's
    matrix is needed no more: no third matrix is allocated)::

        n = n_a + n_b,   delta = mean_b - mean_a
        mean = mean_a + delta * n_b / n
        scatter = scatter_a + scatter_b + w w^T,   w = delta * sqrt(n_a * n_b / n)

    (``w w^T`` rather than ``delta delta^T * n_a * n_b / n`` keeps the sum
    exactly symmetric.)

    Parameters
    ----------
    first, second : tuple of (int, ndarray, ndarray)
        ``(n_samples, mean, scatter)`` of each set, as :func:`batch_moments`
        returns them (a count of 0 stands for no rows).

    Returns
    -------
    moments : tuple of (int, ndarray, ndarray)
        ``(n_samples, mean, scatter)`` of the union; ``scatter`` is
        ``second``'s array.

    Examples
    --------
    >>> import numpy as np
    >>> from skunsup.decomposition._streaming import batch_moments, merge_moments
    >>> X = np.array([[0.0, 1.0], [2.0, 1.0], [4.0, 4.0]])
    >>> n, mean, scatter = merge_moments(batch_moments(X[:1]), batch_moments(X[1:]))
    >>> n, mean.tolist(), scatter.round(12).tolist()
    (3, [2.0, 2.0], [[8.0, 6.0], [6.0, 6.0]])
    """
    n_a, mean_a, scatter_a = first
    n_b, mean_b, scatter = second
    n = n_a + n_b
    delta = mean_b - mean_a
    weighted = delta * np.sqrt(n_a * n_b / n)
    scatter += scatter_a
    scatter += np.outer(weighted, weighted)
    return n, mean_a + delta * (n_b / n), scatter


def new_stream(n_features, n_components=None):
    """The moments a stream of ``n_features`` columns keeps.

    Parameters
    ----------
    n_features : int
        The number of columns.
    n_components : int, default=None
        The number of components the model keeps, if fixed: above
        ``MAX_FEATURES`` features, :class:`StreamingSVD` follows them. None
        (the whole spectrum is needed) raises there instead.

    Returns
    -------
    stream : StreamingCovariance or StreamingSVD
        An empty stream.

    Examples
    --------
    >>> from skunsup.decomposition._streaming import new_stream
    >>> type(new_stream(784)).__name__, type(new_stream(10_000, 50)).__name__
    ('StreamingCovariance', 'StreamingSVD')
    """
    if n_features > MAX_FEATURES and n_components is not None:
        return StreamingSVD(n_features, n_components)
    return StreamingCovariance(n_features)


class StreamingCovariance:
    """Float64 count, mean and scatter matrix of every row passed to :meth:`update`.

    Parameters
    ----------
    n_features : int
        The number of columns, at most ``MAX_FEATURES``.

    Attributes
    ----------
    n_samples : int
        Rows seen.
    mean : ndarray of shape (n_features,), float64
        Their mean.
    scatter : ndarray of shape (n_features, n_features), float64
        ``sum_i (x_i - mean)(x_i - mean)^T`` over them.

    Examples
    --------
    >>> import numpy as np
    >>> from skunsup.decomposition._streaming import StreamingCovariance
    >>> X = np.array([[0.0, 1.0], [2.0, 1.0], [4.0, 4.0]], dtype=np.float32)
    >>> stream = StreamingCovariance(2)
    >>> stream.update(X[:2])
    >>> stream.update(X[2:])
    >>> stream.covariance().round(12).tolist()
    [[4.0, 3.0], [3.0, 3.0]]
    """

    def __init__(self, n_features):
        if n_features > MAX_FEATURES:
            raise ValueError(
                f"n_features={n_features} is too many for a streaming covariance: its "
                f"{n_features} x {n_features} float64 scatter matrix would take "
                f"{8 * n_features ** 2 / 2 ** 20:,.0f} MiB (the limit is {MAX_FEATURES} "
                "features, 128 MiB). Reduce the features first (e.g. "
                "sklearn.random_projection.GaussianRandomProjection), or use "
                "skunsup.decomposition.IncrementalPCA with an integer n_components "
                "(scikit-learn's incremental SVD above this line)."
            )
        self.n_samples = 0
        self.mean = np.zeros(n_features, dtype=np.float64)
        self.scatter = np.zeros((n_features, n_features), dtype=np.float64)

    def update(self, X):
        """Add the rows of ``X`` to the moments.

        The batch's moments (:func:`batch_moments`) are merged into the
        running ones (:func:`merge_moments`) and replaced in one assignment:
        an update interrupted (Ctrl-C) leaves the moments as they were.

        Parameters
        ----------
        X : {ndarray, sparse matrix} of shape (n_samples, n_features)
            A batch of float32 or float64 rows.
        """
        self.n_samples, self.mean, self.scatter = merge_moments(
            (self.n_samples, self.mean, self.scatter), batch_moments(X))

    def covariance(self):
        """The sample covariance, ``scatter / (n_samples - 1)`` (needs 2 rows).

        Returns
        -------
        covariance : ndarray of shape (n_features, n_features), float64
            The covariance of the rows seen.
        """
        return self.scatter / (self.n_samples - 1)

    def variances(self):
        """Per-feature variances with ``ddof=0`` (scikit-learn's ``var_``).

        Returns
        -------
        var : ndarray of shape (n_features,), float64
            The diagonal of the scatter matrix over the number of rows.
        """
        return np.diag(self.scatter) / self.n_samples

    def spectrum(self, n_components):
        """The covariance's spectrum, as the 'covariance_eigh' solver computes it.

        Parameters
        ----------
        n_components : int, float or 'mle'
            The number of components asked for (only an integer changes the
            work: the leading eigenpairs alone are computed for many features).

        Returns
        -------
        variances : ndarray, float64
            The eigenvalues, descending, clipped at 0.
        components : ndarray of shape (len(variances), n_features), float64
            The matching eigenvectors.
        total_var : float
            The trace of the covariance.
        mean : ndarray of shape (n_features,), float64
            The mean of the rows seen.
        """
        covariance = self.covariance()
        variances, components = eigh_spectrum(covariance, n_components, self.n_samples)
        return variances, components, max(float(np.trace(covariance)), 0.0), self.mean


class StreamingSVD:
    """The leading singular triplets of the centred rows, updated batch by batch.

    Ross, Lim, Lin and Yang (2008), as scikit-learn's ``IncrementalPCA``: the
    SVD of the kept components scaled by their singular values, stacked on
    the batch centred at its own mean and on the row that moves the old mean
    to the new one, ``sqrt(n_a * n_b / n) * (mean_a - mean_b)``; the leading
    ``n_components`` triplets are kept. Exact while nothing is dropped
    (``n_components >= min(rows seen, n_features)``), otherwise an
    approximation that depends on the batches. The per-feature moments (count,
    mean, sum of squared deviations) are exact, merged as in
    :func:`merge_moments`.

    Parameters
    ----------
    n_features : int
        The number of columns.
    n_components : int
        The number of triplets kept; the first batch needs at least as many rows.

    Attributes
    ----------
    n_samples : int
        Rows seen.
    mean : ndarray of shape (n_features,), float64
        Their mean.
    squares : ndarray of shape (n_features,), float64
        Per feature, the sum of squared deviations from ``mean``.
    singular_values : ndarray of shape (n_kept,), float64
        The kept singular values, descending.
    components : ndarray of shape (n_kept, n_features), float64
        The matching right singular vectors (signs as
        :func:`~skunsup.decomposition._spectrum.flip_signs`).

    Examples
    --------
    >>> import numpy as np
    >>> from skunsup.decomposition._streaming import StreamingSVD
    >>> X = np.array([[0.0, 1.0], [2.0, 1.0], [4.0, 4.0]])
    >>> stream = StreamingSVD(2, 2)
    >>> stream.update(X[:2])
    >>> stream.update(X[2:])
    >>> (stream.singular_values ** 2).round(6).tolist()
    [13.082763, 0.917237]
    """

    def __init__(self, n_features, n_components):
        self.n_components = n_components
        self.n_samples = 0
        self.mean = np.zeros(n_features, dtype=np.float64)
        self.squares = np.zeros(n_features, dtype=np.float64)
        self.singular_values = np.zeros(0, dtype=np.float64)
        self.components = np.zeros((0, n_features), dtype=np.float64)

    def update(self, X):
        """Add the rows of ``X`` (densified and copied to float64 whole).

        Parameters
        ----------
        X : {ndarray, sparse matrix} of shape (n_samples, n_features)
            A batch of float32 or float64 rows.
        """
        centered = X.toarray() if sparse.issparse(X) else X
        centered = np.array(centered, dtype=np.float64)  # a copy, centred in place
        n_b = centered.shape[0]
        mean_b = centered.mean(axis=0)
        _check_finite(mean_b, X)
        centered -= mean_b
        n_a = self.n_samples
        n = n_a + n_b
        delta = mean_b - self.mean
        shift = delta * np.sqrt(n_a * n_b / n)
        stacked = np.vstack([self.singular_values[:, np.newaxis] * self.components,
                             centered, shift[np.newaxis, :]])
        _, singular_values, components = linalg.svd(stacked, full_matrices=False,
                                                    check_finite=False)
        components, _ = flip_signs(components[: self.n_components])
        squares = self.squares + np.einsum("ij,ij->j", centered, centered) + shift**2
        # one assignment: an interrupted update leaves the stream as it was
        (self.n_samples, self.mean, self.squares, self.singular_values,
         self.components) = (n, self.mean + delta * (n_b / n), squares,
                             singular_values[: self.n_components], components)

    def variances(self):
        """Per-feature variances with ``ddof=0`` (scikit-learn's ``var_``).

        Returns
        -------
        var : ndarray of shape (n_features,), float64
            The sums of squared deviations over the number of rows.
        """
        return self.squares / self.n_samples

    def spectrum(self, n_components):
        """The kept spectrum, in :meth:`StreamingCovariance.spectrum`'s form.

        Parameters
        ----------
        n_components : int
            Ignored: the stream keeps the number it was made with.

        Returns
        -------
        variances : ndarray, float64
            The kept singular values squared over ``n_samples - 1``.
        components : ndarray of shape (len(variances), n_features), float64
            The kept right singular vectors.
        total_var : float
            The total variance of the rows seen (exact).
        mean : ndarray of shape (n_features,), float64
            The mean of the rows seen.
        """
        variances = self.singular_values**2 / (self.n_samples - 1)
        return (variances, self.components, float(self.squares.sum() / (self.n_samples - 1)),
                self.mean)
