"""What every PCA executor shares: the solver choice, the eigh policy, and the
step from a spectrum to the fitted attributes (the number of components kept,
the sign convention, the noise variance).

The in-memory solvers (:mod:`skunsup.decomposition._pca_memory`) and the Dask
fit (:mod:`skunsup.decomposition._pca_dask`) each produce a spectrum (from a
covariance or an SVD) that :func:`fitted_attributes` turns into the fitted
attributes (called by the estimator, :mod:`skunsup.decomposition._pca`, for
the in-memory fit, and by the Dask fit itself); only
:class:`~skunsup.decomposition.PCA` writes the attributes it returns.
"""

from numbers import Integral, Real

import numpy as np
from scipy import linalg
from scipy.special import gammaln

# Above this many features the covariance route asks scipy's LAPACK for the
# leading eigenpairs only; below, numpy's full eigh is faster. scipy links its
# own OpenBLAS, whose threads compete for about 0.08 s with numpy's, still
# spinning after the covariance product (measured on 2 cores after a
# Fashion-MNIST covariance: numpy's full eigh of 784 x 784 0.05 s, scipy's
# top-50 0.12 s, 0.03 s when called cold; at 2,000 features 0.76 s vs 0.28 s).
SUBSET_EIGH_MIN_FEATURES = 1024

# 'auto' picks 'covariance_eigh' for dense data with at most this many features
# and at least as many samples as features (see PCA's Notes for the timings).
COVARIANCE_MAX_FEATURES = 1000


def _minka_log_evidence(spectrum, rank, n_samples):
    """Log-evidence of a rank-``rank`` probabilistic PCA model (Minka, 2000).

    Laplace approximation of p(D | k) from "Automatic choice of dimensionality
    for PCA", eq. (30), for the eigenvalues ``spectrum`` (descending) of the
    sample covariance of ``n_samples`` points.
    """
    n_features = spectrum.shape[0]
    k = rank
    # Eigenvalues at the rounding level of the largest are zeros: a rank that
    # keeps one is not a model of the data. (Relative, so that the choice does
    # not change when the data is rescaled.)
    tiny = np.finfo(np.float64).eps * max(n_samples, n_features) * spectrum[0]
    if spectrum[k - 1] <= tiny:
        return -np.inf
    # Prior of the orthonormal basis U: 2^-k prod Gamma((d - i + 1) / 2) pi^{-(d - i + 1) / 2}
    halves = (n_features - np.arange(1, k + 1) + 1) / 2.0
    log_p_u = -k * np.log(2.0) + np.sum(gammaln(halves) - halves * np.log(np.pi))
    # Likelihood terms: the kept eigenvalues and the pooled noise variance.
    noise = max(np.sum(spectrum[k:]) / (n_features - k), tiny)
    log_lik = -0.5 * n_samples * np.sum(np.log(spectrum[:k]))
    log_lik -= 0.5 * n_samples * (n_features - k) * np.log(noise)
    m = n_features * k - k * (k + 1) / 2.0
    log_volume = 0.5 * (m + k) * np.log(2.0 * np.pi)
    # Hessian determinant |A_z| over pairs i < k, j > i.
    fitted = spectrum.copy()
    fitted[k:] = noise
    i = np.arange(k)[:, np.newaxis]
    j = np.arange(n_features)[np.newaxis, :]
    pairs = j > i
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = np.log(
            (spectrum[:k, np.newaxis] - spectrum[np.newaxis, :])
            * (1.0 / fitted[np.newaxis, :] - 1.0 / fitted[:k, np.newaxis])
        ) + np.log(n_samples)
    log_det_a = np.sum(terms[np.broadcast_to(pairs, terms.shape)])
    value = log_p_u + log_lik + log_volume - 0.5 * log_det_a - 0.5 * k * np.log(n_samples)
    return value if np.isfinite(value) else -np.inf


def mle_n_components(spectrum, n_samples):
    """The rank that maximises Minka's evidence (ranks 1 .. n_features - 1)."""
    scores = [_minka_log_evidence(spectrum, k, n_samples) for k in range(1, len(spectrum))]
    if not scores or not np.isfinite(np.max(scores)):
        return 1
    return int(np.argmax(scores)) + 1



def choose_solver(svd_solver, n_samples, n_features, n_components, is_sparse=False):
    """The solver that ``svd_solver`` names, with 'auto' resolved (see PCA's Notes).

    Examples
    --------
    >>> from skunsup.decomposition._spectrum import choose_solver
    >>> choose_solver("auto", 70000, 784, 50)
    'covariance_eigh'
    >>> choose_solver("auto", 1000, 5000, 10)
    'randomized'
    """
    if svd_solver != "auto":
        return svd_solver
    if n_features <= COVARIANCE_MAX_FEATURES and n_samples >= n_features:
        return "covariance_eigh"
    smallest = min(n_samples, n_features)
    if is_sparse:
        if isinstance(n_components, Integral) and n_components < smallest:
            return "randomized"
        return "covariance_eigh"
    if max(n_samples, n_features) <= 500 or not isinstance(n_components, Integral):
        return "full"
    if 1 <= n_components < 0.8 * smallest:
        return "randomized"
    return "full"


def eigh_spectrum(covariance, n_components, n_samples):
    """Descending eigenvalues (clipped at 0) and eigenvectors (rows) of a covariance.

    Above ``SUBSET_EIGH_MIN_FEATURES`` features and for an integer
    ``n_components`` below half of them, only the leading eigenpairs are
    computed. The covariance of ``n_samples`` points has rank at most
    ``n_samples - 1``: ``min(n_samples, n_features)`` values are kept.

    Examples
    --------
    >>> import numpy as np
    >>> from skunsup.decomposition._spectrum import eigh_spectrum
    >>> values, vectors = eigh_spectrum(np.diag([1.0, 3.0]), 2, 10)
    >>> values.tolist(), np.abs(vectors).tolist()
    ([3.0, 1.0], [[0.0, 1.0], [1.0, 0.0]])
    """
    n_features = covariance.shape[0]
    if (n_features > SUBSET_EIGH_MIN_FEATURES and isinstance(n_components, Integral)
            and 0 < n_components < n_features // 2):
        # only the leading eigenpairs: faster, and the trace gives the rest
        values, vectors = linalg.eigh(
            covariance, subset_by_index=(n_features - n_components, n_features - 1),
            check_finite=False)
    else:
        values, vectors = np.linalg.eigh(covariance)
    values = np.clip(values[::-1], 0.0, None)
    vectors = vectors[:, ::-1]
    keep = min(n_samples, n_features)
    return values[:keep], vectors[:, :keep].T


def final_n_components(n_components, variances, total_var, n_samples, dtype=np.float64):
    """Turn 'mle' / a fraction into a count, given the (full) spectrum.

    A fraction is compared with the running sum of the ratios as stored in
    ``explained_variance_ratio_`` (in the data's ``dtype``), as scikit-learn
    does: a fraction read off a fitted model's ``ratio.cumsum()`` then keeps
    the count it was read at, even when it is within rounding of 1.

    Examples
    --------
    >>> import numpy as np
    >>> from skunsup.decomposition._spectrum import final_n_components
    >>> final_n_components(0.75, np.array([3.0, 1.0, 0.5]), 4.5, 10)
    2
    """
    if n_components == "mle":
        return mle_n_components(np.asarray(variances, dtype=np.float64), n_samples)
    if isinstance(n_components, Real) and not isinstance(n_components, Integral):
        if total_var <= 0:
            return 1
        ratios = (np.asarray(variances, dtype=np.float64) / total_var).astype(dtype)
        k = int(np.searchsorted(np.cumsum(ratios), n_components, side="right")) + 1
        return min(k, len(variances))
    return int(n_components)


def fitted_attributes(variances, components, total_var, mean, *, n_components, n_samples,
                      n_features, dtype, U=None):
    """The fitted attributes of a PCA from its spectrum; returns (attributes, U).

    ``variances`` are the explained variances of ``components`` (rows, by
    decreasing variance), ``total_var`` the total variance of the data. Keeps
    the final number of components, fixes the signs (:func:`flip_signs`, also
    on the left singular vectors ``U`` when given) and computes the ratios,
    singular values and probabilistic PCA's noise variance.

    Examples
    --------
    >>> import numpy as np
    >>> from skunsup.decomposition._spectrum import fitted_attributes
    >>> attributes, _ = fitted_attributes(
    ...     np.array([3.0, 1.0]), np.array([[0.0, -1.0], [1.0, 0.0]]), 4.0,
    ...     np.zeros(2), n_components=1, n_samples=5, n_features=2, dtype=np.float64)
    >>> attributes["components_"].tolist(), attributes["noise_variance_"]
    ([[-0.0, 1.0]], 1.0)
    """
    k = final_n_components(n_components, variances, total_var, n_samples, dtype)
    components, U = flip_signs(np.asarray(components[:k]), None if U is None else U[:, :k])
    explained = np.asarray(variances[:k], dtype=np.float64)
    smallest = min(n_samples, n_features)
    if k < smallest:
        noise = max(total_var - float(np.sum(explained)), 0.0) / (smallest - k)
    else:
        noise = 0.0
    ratio = explained / total_var if total_var > 0 else np.zeros_like(explained)
    attributes = {
        "n_samples_": n_samples,
        "n_components_": int(k),
        "mean_": np.asarray(mean, dtype=dtype),
        "components_": np.ascontiguousarray(components, dtype=dtype),
        "explained_variance_": np.asarray(explained, dtype=dtype),
        "explained_variance_ratio_": np.asarray(ratio, dtype=dtype),
        "singular_values_": np.sqrt(explained * (n_samples - 1)).astype(dtype),
        "noise_variance_": float(noise),
    }
    return attributes, (None if U is None else np.asarray(U, dtype=dtype))


def flip_signs(components, U=None):
    """Fix the sign of each component: its entry of largest magnitude is positive.

    The same convention for every solver (scikit-learn's ``svd_flip`` with
    ``u_based_decision=False``), so that all solvers give the same components.

    Examples
    --------
    >>> import numpy as np
    >>> from skunsup.decomposition._spectrum import flip_signs
    >>> components, U = flip_signs(np.array([[0.6, -0.8]]), np.array([[1.0], [2.0]]))
    >>> components.tolist(), U.ravel().tolist()
    ([[-0.6, 0.8]], [-1.0, -2.0])
    """
    if components.shape[0] == 0:
        return components, U
    rows = np.arange(components.shape[0])
    signs = np.sign(components[rows, np.argmax(np.abs(components), axis=1)])
    signs[signs == 0] = 1
    components = components * signs[:, np.newaxis]
    if U is not None:
        U = U * signs[np.newaxis, : U.shape[1]]
    return components, U
