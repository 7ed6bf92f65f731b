"""PCA of data in memory (numpy arrays, scipy.sparse matrices): the solvers.

:func:`fit_spectrum` turns validated data into a spectrum, the variances and
directions that :func:`~skunsup.decomposition._spectrum.fitted_attributes`
turns into the estimator's attributes:

- ``'covariance_eigh'``: the covariance from centred blocks summed in float64
  (:mod:`skunsup.decomposition._covariance`; sparse data through its Gram
  matrix), eigendecomposed by :func:`~skunsup.decomposition._spectrum.eigh_spectrum`;
- ``'full'``: LAPACK's SVD of the centred data;
- ``'arpack'``: ``scipy.sparse.linalg.svds``;
- ``'randomized'``: scikit-learn's randomized SVD for dense data (so that both
  libraries give the same model), skunsup's own with implicit centring for
  sparse data (never densified).

:func:`project` is the in-memory ``(X - mean) @ components.T`` of ``transform``.
"""

import numpy as np
from scipy import linalg, sparse
from scipy.sparse.linalg import LinearOperator, svds
from sklearn.utils import assert_all_finite
from sklearn.utils.extmath import randomized_svd

from skunsup.decomposition._covariance import (
    BLOCK_BYTES,
    centered_covariance,
    total_variance,
)
from skunsup.decomposition._spectrum import eigh_spectrum


def fit_spectrum(X, solver, n_components, *, copy, tol, iterated_power, n_oversamples,
                 power_iteration_normalizer, random_state):
    """The spectrum of the sample covariance of ``X`` by one solver.

    Parameters
    ----------
    X : {ndarray, sparse matrix} of shape (n_samples, n_features)
        Validated float32 or float64 data (CSR or CSC when sparse; finite,
        except that dense data for ``'covariance_eigh'`` is checked here).
    solver : {'covariance_eigh', 'full', 'arpack', 'randomized'}
        The solver (not ``'auto'``).
    n_components : int, float or 'mle'
        The number of components asked for, resolved against the solver.
    copy : bool
        If False, dense data is centred in place (all solvers but
        ``'covariance_eigh'``).
    tol : float
        ARPACK's tolerance.
    iterated_power : int or 'auto'
        Power iterations of ``'randomized'``.
    n_oversamples : int
        Extra random vectors of ``'randomized'``.
    power_iteration_normalizer : {'auto', 'QR', 'LU', 'none'}
        Re-normalisation between the power iterations of ``'randomized'``.
    random_state : RandomState
        Draws ARPACK's starting vector and the randomized test matrix.

    Returns
    -------
    variances : ndarray of shape (n_found,), float64
        Covariance eigenvalues, descending.
    components : ndarray of shape (n_found, n_features)
        The matching directions.
    total_var : float
        The total variance of the data (the trace of the covariance).
    mean : ndarray of shape (n_features,)
        The column means.
    U : ndarray of shape (n_samples, n_found) or None
        The left singular vectors of an SVD solver (None for
        ``'covariance_eigh'``), for ``fit_transform``.

    Examples
    --------
    >>> import numpy as np
    >>> from skunsup.decomposition._pca_memory import fit_spectrum
    >>> X = np.array([[-1.0, -1.0], [-2.0, -1.0], [-3.0, -2.0], [1.0, 1.0]])
    >>> variances, components, total_var, mean, U = fit_spectrum(
    ...     X, "full", 2, copy=True, tol=0.0, iterated_power="auto", n_oversamples=10,
    ...     power_iteration_normalizer="auto", random_state=np.random.RandomState(0))
    >>> variances.round(3).tolist(), round(total_var, 3), mean.tolist()
    ([4.437, 0.063], 4.5, [-1.25, -0.75])
    """
    if solver == "covariance_eigh":
        variances, components, total_var, mean = _covariance_spectrum(X, n_components)
        return variances, components, total_var, mean, None
    n_samples = X.shape[0]
    mean, total_var, Xc = _center(X, copy)
    if solver == "full":
        U, S, Vt = linalg.svd(Xc, full_matrices=False, check_finite=False,
                              lapack_driver="gesdd")
    elif solver == "arpack":
        v0 = random_state.uniform(-1, 1, size=min(X.shape)).astype(X.dtype)
        U, S, Vt = svds(Xc, k=n_components, tol=tol, v0=v0)
        order = np.argsort(S)[::-1]
        U, S, Vt = U[:, order], S[order], Vt[order]
    elif sparse.issparse(X):  # randomized, centring implicit
        U, S, Vt = _randomized_svd(
            Xc.matmat, Xc.rmatmat, X.shape, X.dtype, n_components, n_oversamples,
            iterated_power, power_iteration_normalizer, random_state)
    else:  # randomized: scikit-learn's, so that both give the same model
        U, S, Vt = randomized_svd(
            Xc,
            n_components,
            n_oversamples=n_oversamples,
            n_iter=iterated_power,
            power_iteration_normalizer=power_iteration_normalizer,
            flip_sign=False,
            random_state=random_state,
        )
    S = S.astype(np.float64)
    variances = S**2 / (n_samples - 1)
    if solver == "full":
        # the whole spectrum is here: its sum is the total variance
        total_var = float(np.sum(variances))
    return variances, Vt, total_var, mean, U


def _covariance_spectrum(X, n_components):
    """The lecture's method: eigendecompose the sample covariance."""
    n_samples, n_features = X.shape
    if sparse.issparse(X):
        X64 = X.astype(np.float64)
        mean = np.asarray(X64.mean(axis=0)).ravel()
        gram = (X64.T @ X64).toarray()
        covariance = (gram - n_samples * np.outer(mean, mean)) / (n_samples - 1)
    else:
        mean, covariance = centered_covariance(X)
        if not (np.isfinite(mean).all() and np.isfinite(covariance).all()):
            assert_all_finite(X, input_name="X")  # NaN or infinity: the usual error
            raise ValueError(
                f"The covariance of X overflows {X.dtype} (values near the limit of "
                f"the dtype); scale X down"
                + (" or pass it as float64." if X.dtype == np.float32 else ".")
            )
    total_var = float(np.trace(covariance))
    values, vectors = eigh_spectrum(covariance, n_components, n_samples)
    return values, vectors, max(total_var, 0.0), mean


def _center(X, copy):
    """Mean, total variance and the centred data (or a centring operator)."""
    n_samples = X.shape[0]
    if sparse.issparse(X):
        mean = np.asarray(X.mean(axis=0, dtype=np.float64)).ravel()
        squares = np.asarray(X.multiply(X).sum(axis=0, dtype=np.float64)).ravel()
        total_var = float(np.sum(squares - n_samples * mean**2) / (n_samples - 1))
        return mean, max(total_var, 0.0), _centered_operator(X, mean)
    mean = X.mean(axis=0, dtype=np.float64)
    total_var = total_variance(X, mean)
    Xc = X.copy() if copy else X
    Xc -= mean.astype(X.dtype)
    return mean, total_var, Xc


def _centered_operator(X, mean):
    """A LinearOperator for ``X - mean`` that never densifies the sparse ``X``."""
    mean = np.asarray(mean, dtype=X.dtype)

    def matvec(v):
        return X @ v - mean @ v

    def matmat(V):
        return X @ V - (mean @ V)[np.newaxis, :]

    def rmatvec(u):
        return X.T @ u - mean * np.sum(u)

    def rmatmat(U):
        return X.T @ U - np.outer(mean, np.sum(U, axis=0))

    return LinearOperator(
        shape=X.shape, dtype=X.dtype, matvec=matvec, matmat=matmat,
        rmatvec=rmatvec, rmatmat=rmatmat,
    )


def _power_iteration_normalizer(name, n_iter):
    """The function that re-normalises the blocks between power iterations.

    scikit-learn's rules: ``'auto'`` is no normalisation for at most 2
    iterations (too few to lose precision), else ``'LU'`` (cheaper than QR;
    ``P @ L`` spans the same subspace).
    """
    if name == "auto":
        name = "none" if n_iter <= 2 else "LU"
    if name == "QR":
        return lambda Y: linalg.qr(Y, mode="economic", check_finite=False)[0]
    if name == "LU":
        return lambda Y: linalg.lu(Y, permute_l=True, check_finite=False)[0]
    return lambda Y: Y


def _randomized_svd(matmat, rmatmat, shape, dtype, n_components, n_oversamples, n_iter,
                    power_iteration_normalizer, random_state):
    """Truncated SVD of the operator ``A`` by randomized subspace iteration.

    Halko, Martinsson and Tropp (2011), algorithms 4.4 and 5.1: a Gaussian
    test matrix, ``n_iter`` power iterations re-normalised on both sides by
    ``power_iteration_normalizer`` (as :func:`sklearn.utils.extmath.randomized_svd`),
    then the exact SVD of the small projection ``Q.T @ A``.
    ``matmat(V) = A @ V`` and ``rmatmat(U) = A.T @ U`` are the only access to
    ``A``, so implicitly centred sparse data is never densified.
    """
    n_samples, n_features = shape
    size = min(n_components + n_oversamples, n_samples, n_features)
    if n_iter == "auto":
        n_iter = 7 if n_components < 0.1 * min(shape) else 4
    normalize = _power_iteration_normalizer(power_iteration_normalizer, n_iter)
    omega = random_state.standard_normal((n_features, size)).astype(dtype, copy=False)
    Q = matmat(omega)
    for _ in range(n_iter):
        Q = matmat(normalize(rmatmat(normalize(Q))))
    Q = linalg.qr(Q, mode="economic", check_finite=False)[0]
    B = rmatmat(Q).T  # Q.T @ A, of shape (size, n_features)
    U_small, S, Vt = linalg.svd(B, full_matrices=False, check_finite=False)
    return Q @ U_small[:, :n_components], S[:n_components], Vt[:n_components]


def project(X, mean, components):
    """``(X - mean) @ components.T`` in blocks of rows (no full-size temporary).

    Parameters
    ----------
    X : {ndarray, sparse matrix} of shape (n_samples, n_features)
        The data.
    mean : ndarray of shape (n_features,)
        The training mean.
    components : ndarray of shape (n_components, n_features)
        The principal axes.

    Returns
    -------
    X_new : ndarray of shape (n_samples, n_components)
        In the wider of the two float dtypes.

    Examples
    --------
    >>> import numpy as np
    >>> from skunsup.decomposition._pca_memory import project
    >>> project(np.array([[1.0, 2.0], [3.0, 4.0]]), np.array([2.0, 3.0]),
    ...         np.array([[1.0, 0.0]])).tolist()
    [[-1.0], [1.0]]
    """
    if sparse.issparse(X):
        return np.asarray(X @ components.T) - mean @ components.T
    X = np.asarray(X)
    dtype = np.result_type(X.dtype, components.dtype)
    X_new = np.empty((X.shape[0], components.shape[0]), dtype=dtype)
    rows = max(256, BLOCK_BYTES // max(1, X.shape[1] * X.itemsize))
    for start in range(0, X.shape[0], rows):
        block = X[start : start + rows] - mean
        np.matmul(block, components.T, out=X_new[start : start + rows])
    return X_new
