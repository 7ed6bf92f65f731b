"""What a fitted PCA does, whatever fitted it: the base of the PCA family.

:class:`_BasePCA` holds the methods of a fitted model (as scikit-learn's
``_BasePCA``): projection and reconstruction of numpy, sparse, Dask and
array-API data, and the probabilistic PCA model's covariance, precision and
log-likelihood. The estimators (:class:`~skunsup.decomposition.PCA`) add the
parameters and the fit.
"""

import numpy as np
from sklearn import get_config
from sklearn.base import BaseEstimator, ClassNamePrefixFeaturesOutMixin, TransformerMixin
from sklearn.utils.validation import check_array, check_is_fitted, validate_data

from skunsup.decomposition._pca_array_api import (
    check_same_namespace,
    get_covariance_array_api,
    get_precision_array_api,
    inverse_transform_array_api,
    score_samples_array_api,
    transform_array_api,
)
from skunsup.decomposition._pca_likelihood import (
    log_likelihood,
    model_covariance,
    model_precision,
)
from skunsup.decomposition._pca_memory import project
from skunsup.utils._dask import is_dask_array
from skunsup.utils._row_blocks import RowBlockArray, as_row_blocks
from skunsup.utils._sklearn_compat import get_namespace


class _BasePCA(ClassNamePrefixFeaturesOutMixin, TransformerMixin, BaseEstimator):
    """Transform, inverse transform and likelihood of a fitted PCA model.

    Subclasses fit ``components_``, ``explained_variance_``, ``mean_``,
    ``noise_variance_``, ``n_components_``, ``n_samples_``,
    ``singular_values_`` and have a ``whiten`` parameter.
    """

    def _fitted_on_numpy(self):
        """False when fitted on array API arrays (see ``_pca_array_api``)."""
        return isinstance(self.components_, np.ndarray)

    def _whitening_scale(self):
        # Directions whose variance is at the rounding level of the largest one
        # (rank-deficient data: fewer samples than features, constant or
        # collinear features) carry no signal: they are left unscaled.
        variances = self.explained_variance_.astype(np.float64)
        scale = np.sqrt(variances)
        if scale.size:
            eps = np.finfo(self.components_.dtype).eps
            threshold = eps * max(self.n_samples_, self.n_features_in_) * variances.max()
            scale[variances <= threshold] = 1.0
        return scale.astype(self.components_.dtype)

    def _project(self, X):
        """Projections of in-memory data, whitened if ``whiten``."""
        X_new = project(X, self.mean_, self.components_)
        if self.whiten:
            X_new /= self._whitening_scale()
        return X_new

    def transform(self, X):
        """Project X onto the principal components.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            New data, with the features seen in :meth:`fit`.

        Returns
        -------
        X_new : ndarray of shape (n_samples, n_components_)
            ``(X - mean_) @ components_.T``, divided by the square root of
            ``explained_variance_`` if ``whiten``.

        Examples
        --------
        >>> import numpy as np
        >>> from skunsup.decomposition import PCA
        >>> X = np.array([[-1, -1], [-2, -1], [-3, -2], [1, 1], [2, 1], [3, 2]])
        >>> PCA(n_components=1).fit(X).transform(X[:2]).round(3)
        array([[-1.383],
               [-2.222]])
        """
        check_is_fitted(self)
        if is_dask_array(X):  # a lazy Dask array
            from skunsup.decomposition._pca_dask import transform_pca

            return transform_pca(self, X)
        if not self._fitted_on_numpy():
            return transform_array_api(self, X)
        if get_config()["array_api_dispatch"]:
            check_same_namespace(X, self, "transform")
        X = as_row_blocks(X)
        if isinstance(X, RowBlockArray):  # an HDF5/zarr-like array: projected by row blocks
            validate_data(self, X[:1], dtype=[np.float64, np.float32], reset=False)
            return self._project(X)
        X = validate_data(
            self,
            X,
            accept_sparse=("csr", "csc"),
            dtype=[np.float64, np.float32],
            reset=False,
            copy=False,
        )
        return self._project(X)

    def inverse_transform(self, X):
        """Map projections back to the data space (denoising by reconstruction).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_components_)
            Projections, as returned by :meth:`transform`.

        Returns
        -------
        X_original : ndarray of shape (n_samples, n_features)
            ``X @ components_ + mean_`` (undoing whitening first): the
            closest point of the principal subspace, exact at full rank.

        Examples
        --------
        >>> import numpy as np
        >>> from skunsup.decomposition import PCA
        >>> X = np.array([[-1, -1], [-2, -1], [-3, -2], [1, 1], [2, 1], [3, 2]])
        >>> pca = PCA(n_components=1).fit(X)
        >>> pca.inverse_transform(pca.transform(X[:2])).round(2)
        array([[-1.16, -0.75],
               [-1.86, -1.21]])
        """
        check_is_fitted(self)
        if is_dask_array(X):  # a lazy Dask array
            from skunsup.decomposition._pca_dask import inverse_transform_pca

            return inverse_transform_pca(self, X)
        if not self._fitted_on_numpy():
            return inverse_transform_array_api(self, X)
        if get_config()["array_api_dispatch"]:
            check_same_namespace(X, self, "inverse_transform")
        X = check_array(X, dtype=[np.float64, np.float32])
        if X.shape[1] != self.n_components_:
            raise ValueError(
                f"X has {X.shape[1]} columns, but PCA has n_components_="
                f"{self.n_components_}: inverse_transform expects projections."
            )
        if self.whiten:
            X = X * self._whitening_scale()
        return X @ self.components_ + self.mean_

    # ------------------------------------------------------- probabilistic
    def get_covariance(self):
        """Data covariance of the probabilistic PCA model.

        ``components_.T @ diag(explained_variance_ - noise_variance_) @
        components_ + noise_variance_ * I`` (negative differences clipped at 0).

        Returns
        -------
        cov : ndarray of shape (n_features, n_features)
            Estimated covariance of the data (computed in float64, returned in
            the dtype of ``components_``).

        Examples
        --------
        >>> import numpy as np
        >>> from skunsup.decomposition import PCA
        >>> X = np.array([[-1, -1], [-2, -1], [-3, -2], [1, 1], [2, 1], [3, 2]])
        >>> PCA(n_components=1).fit(X).get_covariance().round(3)
        array([[5.6, 3.6],
               [3.6, 2.4]])
        """
        check_is_fitted(self)
        if not self._fitted_on_numpy():
            return get_covariance_array_api(self)
        return self._covariance64().astype(self.components_.dtype, copy=False)

    def _covariance64(self):
        """:meth:`get_covariance` in float64."""
        return model_covariance(self.components_, self.explained_variance_,
                                self.noise_variance_)

    def get_precision(self):
        """Inverse of :meth:`get_covariance`, by the matrix inversion lemma.

        Returns
        -------
        precision : ndarray of shape (n_features, n_features)
            Estimated precision of the data.

        Raises
        ------
        numpy.linalg.LinAlgError
            If there is no noise variance and the model covariance is exactly
            singular (e.g. constant data).

        Examples
        --------
        >>> import numpy as np
        >>> from skunsup.decomposition import PCA
        >>> X = np.array([[-1, -1], [-2, -1], [-3, -2], [1, 1], [2, 1], [3, 2]])
        >>> PCA(n_components=1).fit(X).get_precision().round(3)
        array([[ 5.   , -7.5  ],
               [-7.5  , 11.667]])
        """
        check_is_fitted(self)
        if not self._fitted_on_numpy():
            return get_precision_array_api(self)
        return self._precision64().astype(self.components_.dtype, copy=False)

    def _precision64(self):
        """:meth:`get_precision` in float64."""
        return model_precision(self.components_, self.explained_variance_,
                               self.noise_variance_)

    def score_samples(self, X):
        """Log-likelihood of each sample under the probabilistic PCA model.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            The data.

        Returns
        -------
        log_likelihood : ndarray of shape (n_samples,)
            Gaussian log-density with the covariance of :meth:`get_covariance`.

        Examples
        --------
        >>> import numpy as np
        >>> from skunsup.decomposition import PCA
        >>> X = np.array([[-1, -1], [-2, -1], [-3, -2], [1, 1], [2, 1], [3, 2]])
        >>> PCA(n_components=1).fit(X).score_samples(X[:2]).round(3)
        array([-2.304, -2.304])
        """
        check_is_fitted(self)
        if not self._fitted_on_numpy():
            return score_samples_array_api(self, X)
        if get_config()["array_api_dispatch"]:
            check_same_namespace(X, self, "score_samples")
        X = validate_data(self, X, dtype=[np.float64, np.float32], reset=False)
        # computed in float64, returned in the model's dtype as scikit-learn's
        return log_likelihood(X, self.mean_, self._precision64()).astype(
            self.components_.dtype, copy=False)

    def score(self, X, y=None):
        """Average log-likelihood of the samples under the probabilistic PCA model.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            The data.
        y : None
            Ignored.

        Returns
        -------
        ll : float
            Mean of :meth:`score_samples`.

        Examples
        --------
        >>> import numpy as np
        >>> from skunsup.decomposition import PCA
        >>> X = np.array([[-1, -1], [-2, -1], [-3, -2], [1, 1], [2, 1], [3, 2]])
        >>> round(PCA(n_components=1).fit(X).score(X), 3)
        -2.304
        """
        log_likelihood = self.score_samples(X)
        if not self._fitted_on_numpy():
            xp, _ = get_namespace(log_likelihood)
            return float(xp.mean(log_likelihood))
        return float(np.mean(log_likelihood))

    @property
    def _n_features_out(self):
        """Number of transformed output features."""
        return self.components_.shape[0]
