"""The probabilistic PCA model of a fitted PCA (Tipping and Bishop, 1999).

A fitted PCA is the Gaussian model with covariance
``V.T @ diag(variances - noise) @ V + noise * I`` (``V`` the components,
``noise`` the noise variance, differences clipped at 0). Here are its
covariance, its precision (by the matrix inversion lemma) and the
log-likelihood of data under it, all in float64, for ``PCA.get_covariance``,
``get_precision``, ``score_samples`` and ``score``.
"""

import numpy as np
from scipy import linalg
from sklearn.utils.extmath import fast_logdet


def model_covariance(components, variances, noise_variance):
    """Covariance of the probabilistic PCA model, in float64.

    Parameters
    ----------
    components : ndarray of shape (n_components, n_features)
        Orthonormal principal axes.
    variances : ndarray of shape (n_components,)
        Explained variance along each axis.
    noise_variance : float
        The variance of every other direction.

    Returns
    -------
    cov : ndarray of shape (n_features, n_features)
        ``components.T @ diag(variances - noise_variance) @ components +
        noise_variance * I``, negative differences clipped at 0.

    Examples
    --------
    >>> import numpy as np
    >>> from skunsup.decomposition._pca_likelihood import model_covariance
    >>> model_covariance(np.array([[1.0, 0.0]]), np.array([4.0]), 1.0).tolist()
    [[4.0, 0.0], [0.0, 1.0]]
    """
    V = components.astype(np.float64)
    diff = np.clip(variances.astype(np.float64) - noise_variance, 0.0, None)
    cov = (V.T * diff) @ V
    cov.flat[:: cov.shape[0] + 1] += noise_variance
    return cov


def model_precision(components, variances, noise_variance):
    """Inverse of :func:`model_covariance` by the matrix inversion lemma, in float64.

    Parameters
    ----------
    components : ndarray of shape (n_components, n_features)
        Orthonormal principal axes.
    variances : ndarray of shape (n_components,)
        Explained variance along each axis.
    noise_variance : float
        The variance of every other direction.

    Returns
    -------
    precision : ndarray of shape (n_features, n_features)
        The inverse of the model covariance.

    Raises
    ------
    numpy.linalg.LinAlgError
        If there is no noise variance and the model covariance is exactly
        singular (e.g. constant data).

    Examples
    --------
    >>> import numpy as np
    >>> from skunsup.decomposition._pca_likelihood import model_precision
    >>> model_precision(np.array([[1.0, 0.0]]), np.array([4.0]), 1.0).tolist()
    [[0.25, 0.0], [0.0, 1.0]]
    """
    n_features = components.shape[1]
    V = components.astype(np.float64)
    variances = variances.astype(np.float64)
    noise = noise_variance
    tiny = np.finfo(np.float64).tiny
    if noise <= tiny:
        if V.shape[0] == n_features and np.all(variances > tiny):
            return (V.T / variances) @ V
        # degenerate (the data lies in a subspace): invert the covariance as
        # scikit-learn does, LinAlgError only if it is exactly singular
        return linalg.inv(model_covariance(components, variances, noise_variance))
    # cov = V' D V + s I with D = (var - s)_+ ;  inv = (I - V' D/(D + s) V) / s
    diff = np.clip(variances - noise, 0.0, None)
    shrink = diff / (diff + noise)
    precision = -(V.T * shrink) @ V
    precision.flat[:: n_features + 1] += 1.0
    return precision / noise


def log_likelihood(X, mean, precision):
    """Gaussian log-density of each row of ``X``, in float64.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
        The data.
    mean : ndarray of shape (n_features,)
        The model's mean.
    precision : ndarray of shape (n_features, n_features)
        The model's precision, from :func:`model_precision`.

    Returns
    -------
    log_likelihood : ndarray of shape (n_samples,), float64
        ``-inf`` everywhere when rounding leaves a degenerate model's precision
        indefinite, as scikit-learn's.

    Examples
    --------
    >>> import numpy as np
    >>> from skunsup.decomposition._pca_likelihood import log_likelihood
    >>> log_likelihood(np.zeros((1, 2)), np.zeros(2), np.eye(2)).round(4).tolist()
    [-1.8379]
    """
    residual = X.astype(np.float64) - mean.astype(np.float64)
    n_features = X.shape[1]
    log_det = fast_logdet(precision)
    mahalanobis = np.sum(residual * (residual @ precision), axis=1)
    return -0.5 * (mahalanobis + n_features * np.log(2.0 * np.pi) - log_det)
