"""PCA on array API inputs (PyTorch, CuPy, array-api-strict, ...), as scikit-learn's.

Used by :class:`~skunsup.decomposition.PCA` when
``sklearn.set_config(array_api_dispatch=True)`` is on and the training data is
not a numpy array. The data stays in its namespace and on its device: centring,
the covariance or the SVD, and the projections are computed there, and the
fitted attributes and the outputs of ``transform`` / ``inverse_transform`` are
arrays of that namespace on that device, in the data's float dtype. Only what
is small is computed on the host in numpy: the choice of ``n_components_``
from the spectrum (``'mle'``, a fraction), ``noise_variance_`` and the
``n_features x n_features`` matrices of the probabilistic model.

Solvers, as scikit-learn supports them: ``'covariance_eigh'``, ``'full'`` and
``'randomized'`` (through :func:`sklearn.utils.extmath.randomized_svd`, which
knows no LU factorisation here: ``power_iteration_normalizer='LU'`` is an
error and ``'auto'`` falls back to QR with a warning); ``'arpack'`` is an error.
"""

import copy
from math import log, pi

import numpy as np
from sklearn.utils import check_random_state
from sklearn.utils.extmath import fast_logdet, randomized_svd, svd_flip
from sklearn.utils.validation import check_array, validate_data

from skunsup.decomposition._covariance import BLOCK_BYTES
from skunsup.decomposition._spectrum import final_n_components
from skunsup.utils._sklearn_compat import (
    _convert_to_numpy,
    _is_numpy_namespace,
    get_namespace_and_device,
)

# The fitted attributes that are arrays: moved to numpy for the host-side
# probabilistic model.
_ARRAY_ATTRIBUTES = (
    "components_", "explained_variance_", "explained_variance_ratio_",
    "singular_values_", "mean_",
)


def fit_array_api(pca, X, xp):
    """Fit ``pca`` on the array API array ``X`` of namespace ``xp``.

    Returns the validated ``X`` and the left singular vectors of the kept
    components (None for ``'covariance_eigh'``), as ``PCA._fit`` does.
    """
    if pca.svd_solver == "arpack":
        raise ValueError("PCA with svd_solver='arpack' is not supported for Array API inputs.")
    X = validate_data(pca, X, dtype=[xp.float64, xp.float32], ensure_min_samples=2, copy=False)
    n_samples, n_features = X.shape
    solver = pca._choose_solver(X, pca.n_components)
    n_components = pca._resolve_n_components(solver, n_samples, n_features)
    pca._fit_svd_solver = solver

    mean = xp.mean(X, axis=0)
    U = None
    if solver == "covariance_eigh":
        covariance, total_var = _centered_covariance(X, mean, xp)
        values, vectors = xp.linalg.eigh(covariance)
        # descending; the covariance of n samples has rank at most n - 1
        keep = min(n_samples, n_features)
        variances = xp.clip(xp.flip(values, axis=0)[:keep], min=0.0)
        Vt = xp.flip(vectors, axis=1).T[:keep, :]
        S = xp.sqrt(variances * (n_samples - 1))
    else:
        Xc = xp.asarray(X, copy=True) if pca.copy else X
        Xc -= mean
        if solver == "full":
            U, S, Vt = xp.linalg.svd(Xc, full_matrices=False)
        else:  # randomized
            U, S, Vt = randomized_svd(
                Xc,
                n_components,
                n_oversamples=pca.n_oversamples,
                n_iter=pca.iterated_power,
                power_iteration_normalizer=pca.power_iteration_normalizer,
                flip_sign=False,
                random_state=check_random_state(pca.random_state),
            )
        variances = S**2 / (n_samples - 1)
        if solver == "full":  # the whole spectrum is here
            total_var = float(xp.sum(variances))
        else:
            total_var = float(xp.linalg.vector_norm(Xc)) ** 2 / (n_samples - 1)
    U, Vt = svd_flip(U, Vt, u_based_decision=False)

    variances_host = _convert_to_numpy(variances, xp)
    k = final_n_components(
        n_components, variances_host, total_var, n_samples, variances_host.dtype
    )
    smallest = min(n_samples, n_features)
    explained = variances[:k]
    if k < smallest:
        noise = max(total_var - float(np.sum(variances_host[:k], dtype=np.float64)), 0.0)
        noise /= smallest - k
    else:
        noise = 0.0

    pca.n_samples_ = n_samples
    pca.n_components_ = int(k)
    pca.mean_ = mean
    pca.components_ = xp.asarray(Vt[:k, :], copy=True)
    pca.explained_variance_ = xp.asarray(explained, copy=True)
    if total_var > 0:
        pca.explained_variance_ratio_ = explained / total_var
    else:
        pca.explained_variance_ratio_ = xp.zeros_like(explained)
    pca.singular_values_ = xp.asarray(S[:k], copy=True)
    pca.noise_variance_ = float(noise)
    return X, (None if U is None else U[:, :k])


def _centered_covariance(X, mean, xp):
    """Sample covariance from centred blocks of rows (no centred copy of ``X``)."""
    n_samples, n_features = X.shape
    itemsize = xp.finfo(X.dtype).bits // 8
    rows = max(256, BLOCK_BYTES // max(1, n_features * itemsize))
    covariance = None
    for start in range(0, n_samples, rows):
        block = X[start : min(start + rows, n_samples), :] - mean
        product = block.T @ block
        covariance = product if covariance is None else covariance + product
    covariance /= n_samples - 1
    return covariance, float(xp.linalg.trace(covariance))


def _model_namespace(pca):
    """Namespace of the fitted attributes; refuses to work with dispatch off."""
    xp, is_array_api, _ = get_namespace_and_device(pca.components_)
    if not is_array_api:
        raise ValueError(
            f"This PCA was fitted on {type(pca.components_).__name__} arrays with "
            "array_api_dispatch=True: use it under "
            "sklearn.config_context(array_api_dispatch=True)."
        )
    return xp


def check_same_namespace(X, pca, method):
    """Refuse ``X`` from another namespace or device than the fitted arrays.

    scikit-learn's wording ("Inputs passed to PCA.transform() must use the same
    namespace and the same device as those passed to fit()"). A model fitted
    on numpy takes numpy, lists and sparse matrices alike.
    """
    fit_xp, _, fit_device = get_namespace_and_device(pca.components_)
    X_xp, _, X_device = get_namespace_and_device(X)
    if _is_numpy_namespace(fit_xp) and _is_numpy_namespace(X_xp):
        return
    if X_xp.__name__ == fit_xp.__name__ and X_device == fit_device:
        return
    raise ValueError(
        f"Inputs passed to PCA.{method}() must use the same namespace and the same "
        f"device as those passed to fit(): fitted with {fit_xp.__name__} on "
        f"{fit_device}, got {X_xp.__name__} on {X_device}. Fit the model again on "
        "arrays of the namespace and device you want to use."
    )


def _whitening_scale(pca, xp):
    """The array API twin of ``PCA._whitening_scale`` (same threshold)."""
    variances = pca.explained_variance_
    scale = xp.sqrt(variances)
    if scale.shape[0]:
        eps = xp.finfo(variances.dtype).eps
        threshold = eps * max(pca.n_samples_, pca.n_features_in_) * xp.max(variances)
        scale = xp.where(variances <= threshold, xp.ones_like(scale), scale)
    return scale


def transform_array_api(pca, X, U=None):
    """Projections of ``X`` (or ``U @ diag(singular_values_)`` when fitting)."""
    xp = _model_namespace(pca)
    if U is None:
        check_same_namespace(X, pca, "transform")
        X = validate_data(pca, X, dtype=[xp.float64, xp.float32], reset=False)
        X_new = (X - pca.mean_) @ pca.components_.T
    else:
        X_new = U * pca.singular_values_
    if pca.whiten:
        X_new /= _whitening_scale(pca, xp)
    return X_new


def inverse_transform_array_api(pca, X):
    """``X @ components_ + mean_`` (undoing whitening first), in the model's namespace."""
    xp = _model_namespace(pca)
    check_same_namespace(X, pca, "inverse_transform")
    X = check_array(X, dtype=[xp.float64, xp.float32])
    if X.shape[1] != pca.n_components_:
        raise ValueError(
            f"X has {X.shape[1]} columns, but PCA has n_components_="
            f"{pca.n_components_}: inverse_transform expects projections."
        )
    if pca.whiten:
        X = X * _whitening_scale(pca, xp)
    return X @ pca.components_ + pca.mean_


def _on_host(pca, xp):
    """A shallow copy of ``pca`` whose array attributes are numpy arrays."""
    host = copy.copy(pca)
    for name in _ARRAY_ATTRIBUTES:
        setattr(host, name, _convert_to_numpy(getattr(pca, name), xp))
    return host


def _to_model(array, pca, xp):
    """A host float64 matrix as an array of the model's namespace, device and dtype."""
    _, _, device = get_namespace_and_device(pca.components_)
    dtype = np.float32 if pca.components_.dtype == xp.float32 else np.float64
    return xp.asarray(array.astype(dtype), device=device)


def get_covariance_array_api(pca):
    xp = _model_namespace(pca)
    return _to_model(_on_host(pca, xp)._covariance64(), pca, xp)


def get_precision_array_api(pca):
    xp = _model_namespace(pca)
    return _to_model(_on_host(pca, xp)._precision64(), pca, xp)


def score_samples_array_api(pca, X):
    """Gaussian log-density of each sample; the precision is formed on the host."""
    xp = _model_namespace(pca)
    check_same_namespace(X, pca, "score_samples")
    X = validate_data(pca, X, dtype=[xp.float64, xp.float32], reset=False)
    precision = _on_host(pca, xp)._precision64()
    log_det = float(fast_logdet(precision))
    residual = X - pca.mean_
    mahalanobis = xp.sum(residual * (residual @ _to_model(precision, pca, xp)), axis=1)
    return -0.5 * (mahalanobis + X.shape[1] * log(2.0 * pi) - log_det)
