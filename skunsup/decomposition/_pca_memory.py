"""PCA of data in memory (numpy arrays, scipy.sparse matrices): the solvers.

:func:`fit_spectrum` turns validated data into a spectrum, the variances and
directions that :func:`~skunsup.decomposition._spectrum.fitted_attributes`
turns into the estimator's attributes:

- ``'covariance_eigh'``: the covariance from centred blocks summed in float64
  (:mod:`skunsup.decomposition._covariance`; sparse data through its Gram
  matrix), eigendecomposed by :func:`~skunsup.decomposition._spectrum.eigh_spectrum`;
- ``'full'``: LAPACK's SVD of the centred data;
- ``'arpack'``: ``scipy.sparse.linalg.svds``;
- ``'randomized'``: randomized subspace iteration (:func:`randomized_svd`),
  which reports every power iteration (:class:`PassMonitor`: verbose lines,
  callbacks, Ctrl-C); on dense data the same operations as scikit-learn's
  ``randomized_svd``, so that both libraries give the same model; sparse data
  centred implicitly (never densified).

:func:`fit_row_blocks` fits an HDF5/zarr-like array
(:class:`~skunsup.utils._row_blocks.RowBlockArray`) by row blocks. :func:`project`
is the ``(X - mean) @ components.T`` of ``transform``, by row blocks.
"""

import time

import numpy as np
from scipy import linalg, sparse
from scipy.sparse.linalg import LinearOperator, svds
from sklearn.utils import assert_all_finite
from sklearn.utils.validation import validate_data

from skunsup.decomposition._covariance import (
    BLOCK_BYTES,
    centered_covariance,
    total_variance,
)
from skunsup.decomposition._spectrum import eigh_spectrum, fitted_attributes, flip_signs
from skunsup.decomposition._streaming import StreamingCovariance
from skunsup.utils._row_blocks import RowBlockArray, as_row_blocks


def fit_spectrum(X, solver, n_components, *, copy, tol, iterated_power, n_oversamples,
                 power_iteration_normalizer, random_state, callback=None, callback_every=1,
                 verbose=0, on_interrupt=None):
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
    callback, callback_every, verbose, on_interrupt
        What ``'randomized'`` reports of its power iterations (the other
        solvers do not iterate in Python): see :class:`PassMonitor`.

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
    else:  # randomized
        if iterated_power == "auto":
            iterated_power = 7 if n_components < 0.1 * min(X.shape) else 4
        monitor = PassMonitor(iterated_power, n_samples, total_var, callback=callback,
                              callback_every=callback_every, verbose=verbose,
                              on_interrupt=on_interrupt)
        U, S, Vt = randomized_svd(
            Xc, n_components, n_oversamples=n_oversamples, n_iter=iterated_power,
            power_iteration_normalizer=power_iteration_normalizer,
            random_state=random_state, monitor=monitor)
    S = S.astype(np.float64)
    variances = S**2 / (n_samples - 1)
    if solver == "full":
        # the whole spectrum is here: its sum is the total variance
        total_var = float(np.sum(variances))
    return variances, Vt, total_var, mean, U


def fit_row_blocks(estimator, X):
    """``'covariance_eigh'`` on an HDF5/zarr-like array, read by row blocks only.

    An array-like that :func:`~skunsup.utils._row_blocks.as_row_blocks` wraps
    (at least ``MIN_BYTES``), fitted on the CPU by ``'covariance_eigh'``
    (asked for, or chosen by 'auto'), goes into the float64 moments of
    :class:`~skunsup.decomposition._streaming.StreamingCovariance` (one pass
    of blocks of about 32 MiB): the model of ``'covariance_eigh'`` on the
    array in memory, to float64 rounding. The first rows are validated
    (feature count, two rows at least); the block pass refuses NaN and
    infinity. Anything else is left to the usual fit (the other solvers read
    a wrapped array whole).

    Parameters
    ----------
    estimator : PCA
        The estimator being fitted (its solver, ``n_components`` and device).
    X : object
        The training data as given to ``fit``.

    Returns
    -------
    X : object
        X, wrapped or read whole when it is an HDF5/zarr-like array.
    attributes : dict or None
        The fitted attributes (and ``_fit_svd_solver``) for the estimator to
        write; None when this path does not apply.
    """
    X = as_row_blocks(X)
    if (not isinstance(X, RowBlockArray) or estimator.device != "cpu"
            or estimator._choose_solver(X, estimator.n_components) != "covariance_eigh"):
        return X, None
    validate_data(estimator, X[:2], dtype=[np.float64, np.float32], ensure_min_samples=2,
                  ensure_all_finite=False)
    n_samples, n_features = X.shape
    n_components = estimator._resolve_n_components("covariance_eigh", n_samples, n_features)
    stream = StreamingCovariance(n_features)
    stream.update(X)
    variances, components, total_var, mean = stream.spectrum(n_components)
    attributes, _ = fitted_attributes(variances, components, total_var, mean,
                                      n_components=n_components, n_samples=n_samples,
                                      n_features=n_features, dtype=X.dtype)
    return X, {**attributes, "_fit_svd_solver": "covariance_eigh"}


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


class PassMonitor:
    """What a randomized SVD reports after each power iteration (a "pass").

    After pass ``i`` the subspace iteration holds ``Y = A (A^T A)^i Omega``;
    its estimate is what the fit would return if it stopped there (``Y``
    orthonormalised, the exact SVD of ``A`` projected on it): components
    ``V_k^T`` and variances ``s_j^2 / (n_samples - 1)``. It costs one more
    product with the data, so it is computed only for a pass that a callback
    or ``verbose >= 2`` reads.

    Parameters
    ----------
    n_iter : int
        Power iterations of the fit.
    n_samples : int
        Rows of the data (the variances are ``s ** 2 / (n_samples - 1)``).
    total_var : float
        The total variance of the data.
    callback : callable, default=None
        ``callback(pass, unexplained_variance, components) -> bool``, called
        after every ``callback_every``-th pass with the variance the current
        components leave unexplained (``total_var`` minus the variance they
        capture: the objective PCA minimises, the mean squared reconstruction
        error times ``n_samples / (n_samples - 1)``) and a copy of the
        components (signs as the fitted ``components_``). True stops the
        iterations there.
    callback_every : int, default=1
    verbose : int, default=0
        1: a line per pass with the time since the start; 2: with the
        captured and unexplained variances (an estimate at every pass).
    on_interrupt : callable, default=None
        Called as ``on_interrupt(n_passes)`` when Ctrl-C stops the iterations
        (the fit then ends with the passes done); None lets the interrupt
        through.
    """

    def __init__(self, n_iter, n_samples, total_var, *, callback=None, callback_every=1,
                 verbose=0, on_interrupt=None):
        self.n_iter = n_iter
        self.n_samples = n_samples
        self.total_var = total_var
        self.callback = callback
        self.callback_every = callback_every
        self.verbose = verbose
        self.on_interrupt = on_interrupt
        self._start = time.perf_counter()

    def wants_estimate(self, n_pass):
        """Whether pass ``n_pass`` needs the estimate (a callback or verbose >= 2)."""
        return self.verbose >= 2 or (self.callback is not None
                                     and n_pass % self.callback_every == 0)

    def passed(self, n_pass, S=None, Vt=None):
        """Report pass ``n_pass`` (with its estimate when wanted); True stops the fit."""
        line = (f"[PCA] power iteration {n_pass}/{self.n_iter}: "
                f"{time.perf_counter() - self._start:.2f} s")
        stop = False
        if S is not None:
            captured = float(np.sum(S.astype(np.float64) ** 2)) / (self.n_samples - 1)
            unexplained = max(self.total_var - captured, 0.0)
            line += f", captured variance {captured:.6g}, unexplained {unexplained:.6g}"
            if self.callback is not None and n_pass % self.callback_every == 0:
                stop = self.callback(n_pass, unexplained, flip_signs(Vt)[0])
        if self.verbose:
            print(line)
        return bool(stop)


class _Operator:
    """``A @ V``, ``A.T @ U`` and ``Q.T @ A`` of a dense array or a LinearOperator."""

    def __init__(self, A):
        self.A = A
        self.shape = A.shape
        self.dtype = A.dtype
        self.is_operator = isinstance(A, LinearOperator)

    def matmat(self, V):
        return self.A.matmat(V) if self.is_operator else self.A @ V

    def rmatmat(self, U):
        return self.A.rmatmat(U) if self.is_operator else self.A.T @ U

    def project(self, Q):
        return self.rmatmat(Q).T if self.is_operator else Q.T @ self.A


def randomized_svd(A, n_components, *, n_oversamples, n_iter, power_iteration_normalizer,
                   random_state, monitor=None):
    """Truncated SVD of ``A`` by randomized subspace iteration, reporting every pass.

    Halko, Martinsson and Tropp (2011), algorithms 4.4 and 5.1: a Gaussian test
    matrix ``Omega`` of ``n_components + n_oversamples`` columns, ``n_iter``
    power iterations re-normalised on both sides by
    ``power_iteration_normalizer``, then the exact SVD of the small projection
    ``Q.T @ A``. A dense ``A`` with fewer rows than columns is transposed
    first. On a dense ``A`` these are the very operations of
    :func:`sklearn.utils.extmath.randomized_svd` (``flip_sign=False``), so the
    result is bitwise the same; a ``LinearOperator`` (implicitly centred sparse
    data, never densified) is reached through its products only, with at most
    ``min(A.shape)`` columns.

    Parameters
    ----------
    A : ndarray or LinearOperator of shape (n_samples, n_features)
    n_components : int
    n_oversamples : int
    n_iter : int
    power_iteration_normalizer : {'auto', 'QR', 'LU', 'none'}
    random_state : RandomState
    monitor : PassMonitor, default=None
        Told of every pass (and may stop the iterations); None: nothing
        reported and Ctrl-C not caught.

    Returns
    -------
    U : ndarray of shape (n_samples, n_components)
    S : ndarray of shape (n_components,)
    Vt : ndarray of shape (n_components, n_features)

    Examples
    --------
    >>> import numpy as np
    >>> from skunsup.decomposition._pca_memory import randomized_svd
    >>> A = np.diag([3.0, 2.0, 1.0])
    >>> U, S, Vt = randomized_svd(A, 2, n_oversamples=1, n_iter=2,
    ...                           power_iteration_normalizer="auto",
    ...                           random_state=np.random.RandomState(0))
    >>> S.round(12).tolist()
    [3.0, 2.0]
    """
    transpose = not isinstance(A, LinearOperator) and A.shape[0] < A.shape[1]
    A = _Operator(A.T if transpose else A)
    size = n_components + n_oversamples
    if A.is_operator:
        size = min(size, *A.shape)
    normalize = _power_iteration_normalizer(power_iteration_normalizer, n_iter)
    omega = random_state.normal(size=(A.shape[1], size)).astype(A.dtype, copy=False)

    def estimate(Y):
        Q = linalg.qr(Y, mode="economic", check_finite=False)[0]
        U_small, S, Vt = linalg.svd(A.project(Q), full_matrices=False, lapack_driver="gesdd")
        U = Q @ U_small
        if transpose:
            return Vt[:n_components].T, S[:n_components], U[:, :n_components].T
        return U[:, :n_components], S[:n_components], Vt[:n_components]

    Y = A.matmat(omega)
    last = None  # (pass, estimate) of the last pass whose estimate was made
    n_done = 0
    try:
        for n_pass in range(1, n_iter + 1):
            # one statement: Ctrl-C leaves the iterate and its count together
            Y, n_done = A.matmat(normalize(A.rmatmat(normalize(Y)))), n_pass
            if monitor is None:
                continue
            if monitor.wants_estimate(n_pass):
                last = (n_pass, estimate(Y))
                if monitor.passed(n_pass, last[1][1], last[1][2]):
                    break
            else:
                monitor.passed(n_pass)
    except KeyboardInterrupt:
        if monitor is None or monitor.on_interrupt is None:
            raise
        monitor.on_interrupt(n_done)
    if last is not None and last[0] == n_done:
        return last[1]
    return estimate(Y)


def project(X, mean, components):
    """``(X - mean) @ components.T`` in blocks of rows (no full-size temporary).

    Parameters
    ----------
    X : {ndarray, sparse matrix, RowBlockArray} of shape (n_samples, n_features)
        The data (a RowBlockArray is read block by block).
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
    blocks = isinstance(X, RowBlockArray)  # read here only: its values are checked here
    if not blocks:
        X = np.asarray(X)
    dtype = np.result_type(X.dtype, components.dtype)
    X_new = np.empty((X.shape[0], components.shape[0]), dtype=dtype)
    rows = max(256, BLOCK_BYTES // max(1, X.shape[1] * X.itemsize))
    for start in range(0, X.shape[0], rows):
        block = X[start : start + rows] - mean
        if blocks and not np.isfinite(block).all():
            raise ValueError("Input X contains NaN or infinity.")
        np.matmul(block, components.T, out=X_new[start : start + rows])
    return X_new
