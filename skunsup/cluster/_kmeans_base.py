"""What KMeans and MiniBatchKMeans share: parameters, n_init, centre checks, predict & co.

:class:`_BaseKMeans` is the estimator layer common to both (scikit-learn's
tags, the resolution of ``n_init``, validation of initial centres, the loop
callback, and the methods of a fitted model: ``predict``, ``transform``,
``score``, ``fit_predict``, ``fit_transform``, in memory, on a mapped file by
blocks and on Dask arrays).
"""

import warnings
from numbers import Integral, Real

import numpy as np
import scipy.sparse as sp
from sklearn.base import (
    BaseEstimator,
    ClassNamePrefixFeaturesOutMixin,
    ClusterMixin,
    TransformerMixin,
)
from sklearn.utils import check_array
from sklearn.utils.validation import check_is_fitted, validate_data

from skunsup.cluster import _kmeans_ops as ops
from skunsup.cluster._lloyd_blocks import (
    as_blockwise,
    check_blocks,
    is_blockwise_input,
    predict_blocks,
    score_blocks,
    validate_blocks,
)
from skunsup.cluster._seeding import _prepare_csr, _validate_sample_weight
from skunsup.utils._callbacks import loop_callback
from skunsup.utils._dask import is_dask_array
from skunsup.utils._sklearn_compat import Interval, StrOptions
from skunsup.utils._validation import check_finite_from_norms, check_squares_fit


# A squared distance from ``||x||^2 + ||c||^2 - 2 x.c`` is only known to about
# eps(dtype) * (||x||^2 + ||c||^2) times the rounding of a dot product of
# n_features terms; below EXPANSION_MARGIN times that, the pair is measured
# again as sum((x - c)^2): a sample at a centre is then at distance exactly 0
# (the expansion left 1e-7 where scikit-learn's tests ask for 0).
EXPANSION_MARGIN = 64


def _remeasure_near_pairs(X, centers, squared, x_sq, c_sq):
    """Recompute in place the squared distances the expansion cannot resolve."""
    eps = np.finfo(X.dtype).eps
    rows, cols = np.nonzero(squared <= EXPANSION_MARGIN * eps * (x_sq[:, None] + c_sq[None, :]))
    if rows.size:
        near = X[rows]
        near = near.toarray() if sp.issparse(near) else near
        diff = np.asarray(near, dtype=np.float64) - np.asarray(centers[cols], dtype=np.float64)
        squared[rows, cols] = np.einsum("ij,ij->i", diff, diff)


class _BaseKMeans(ClassNamePrefixFeaturesOutMixin, TransformerMixin, ClusterMixin,
                  BaseEstimator):
    """What KMeans and MiniBatchKMeans share: n_init, centres checks, predict & co.

    A subclass fits ``cluster_centers_``; this base answers for a fitted model
    (``predict``, ``transform``, ``score``, ``fit_predict``, ``fit_transform``)
    and resolves ``n_init`` and the initial-centre checks the same way for both.
    """

    _parameter_constraints: dict = {
        "n_clusters": [Interval(Integral, 1, None, closed="left")],
        "init": [StrOptions({"k-means++", "random"}), callable, "array-like"],
        "n_init": [StrOptions({"auto"}), Interval(Integral, 1, None, closed="left")],
        "max_iter": [Interval(Integral, 1, None, closed="left")],
        "tol": [Interval(Real, 0, None, closed="left")],
        "verbose": ["verbose"],
        "random_state": ["random_state"],
        "callbacks": [None, callable, list, tuple],
        "callbacks_every_iters": [Interval(Integral, 1, None, closed="left")],
    }

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        tags.transformer_tags.preserves_dtype = ["float64", "float32"]
        return tags

    def _loop_callback(self):
        """The loop's callback running ``callbacks`` (None when there are none), and
        a list that holds an entry once a callback has asked the fit to stop."""
        return loop_callback(self, self.callbacks)

    def _resolve_n_init(self, default_n_init):
        """``self._n_init``: ``n_init``, with 'auto' and an explicit init resolved."""
        init_is_array = not isinstance(self.init, str) and not callable(self.init)
        if self.n_init == "auto":
            random_like = (isinstance(self.init, str) and self.init == "random") or callable(
                self.init)
            self._n_init = default_n_init if random_like else 1
        else:
            self._n_init = self.n_init
        if init_is_array and self._n_init != 1:
            warnings.warn(
                "Explicit initial center position passed: performing only one init in "
                f"{type(self).__name__} instead of n_init={self._n_init}.", RuntimeWarning,
                stacklevel=4)
            self._n_init = 1

    def _validate_centers(self, centers, X, what):
        centers = check_array(centers, dtype=X.dtype, order="C", copy=True,
                              input_name=what)
        if centers.shape[0] != self.n_clusters:
            raise ValueError(
                f"The shape of the initial centers {centers.shape} does not match the "
                f"number of clusters {self.n_clusters}.")
        if centers.shape[1] != X.shape[1]:
            raise ValueError(
                f"The shape of the initial centers {centers.shape} does not match the "
                f"number of features of the data {X.shape[1]}.")
        return centers

    def fit_predict(self, X, y=None, sample_weight=None):
        """Compute the clustering and return the cluster index of every sample.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Training samples.
        y : Ignored
            Not used, present for API consistency.
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative weights of the samples.

        Returns
        -------
        labels : ndarray of shape (n_samples,)
            Index of the cluster of every sample.

        Examples
        --------
        >>> import numpy as np
        >>> from skunsup.cluster import KMeans
        >>> labels = KMeans(n_clusters=2, random_state=0).fit_predict(
        ...     np.array([[0.0], [0.1], [9.0], [9.1]]))
        >>> bool(labels[0] == labels[1] != labels[2] == labels[3])
        True
        """
        return self.fit(X, sample_weight=sample_weight).labels_

    def fit_transform(self, X, y=None, sample_weight=None):
        """Compute the clustering and return the distances of X to every centre.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Training samples.
        y : Ignored
            Not used, present for API consistency.
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative weights of the samples.

        Returns
        -------
        distances : ndarray of shape (n_samples, n_clusters)
            Euclidean distance of every sample to every centre.

        Examples
        --------
        >>> import numpy as np
        >>> from skunsup.cluster import KMeans
        >>> KMeans(n_clusters=2, random_state=0).fit_transform(
        ...     np.array([[0.0], [0.1], [9.0], [9.1]])).shape
        (4, 2)
        """
        if is_dask_array(X):  # a lazy Dask array
            return self.fit(X, sample_weight=sample_weight).transform(X)
        return self.fit(X, sample_weight=sample_weight)._transform(*self._check_test_data(X))

    # --------------------------------------------------------- predict & co.

    def _check_test_data(self, X):
        """(validated X, squared row norms); the norms are None for a memory-mapped
        X (or an HDF5/zarr-like array), which is checked block by block and never
        copied."""
        X = as_blockwise(X)
        if is_blockwise_input(X):
            X = validate_blocks(self, X, reset=False)
            check_blocks(X, type(self).__name__)
            return X, None
        return self._validate_in_memory(X, reset=False)

    def _validate_in_memory(self, X, reset):
        """(validated X, float64 squared row norms) of an in-memory dense or CSR X.

        The norms, which the fits need anyway, stand for scikit-learn's check
        of finite values (one pass over X less) and bound the squares.
        """
        X = validate_data(self, X, accept_sparse="csr", reset=reset,
                          dtype=[np.float64, np.float32], order="C",
                          accept_large_sparse=False, ensure_all_finite=False)
        if sp.issparse(X):
            X = _prepare_csr(X)
        x_squared_norms = ops.row_squared_norms(X)
        name = type(self).__name__
        check_finite_from_norms(X, x_squared_norms, name)
        check_squares_fit(X, dtype=X.dtype, estimator=name, x_squared_norms=x_squared_norms)
        return X, x_squared_norms

    def _centers_for(self, X):
        return np.ascontiguousarray(self.cluster_centers_, dtype=X.dtype)

    def predict(self, X):
        """Index of the nearest centre of every sample.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            New data.

        Returns
        -------
        labels : ndarray of shape (n_samples,)
            Index of the cluster of every sample.

        Examples
        --------
        >>> import numpy as np
        >>> from skunsup.cluster import KMeans
        >>> km = KMeans(n_clusters=2, random_state=0).fit(np.array([[0.0], [0.1], [9.0], [9.1]]))
        >>> bool(km.predict([[8.0]])[0] == km.labels_[3])
        True
        """
        check_is_fitted(self)
        if is_dask_array(X):  # a lazy Dask array
            from skunsup.cluster._kmeans_dask import predict_kmeans

            return predict_kmeans(self, X)
        X, x_squared_norms = self._check_test_data(X)
        if x_squared_norms is None:  # memory-mapped: by blocks, only the labels allocated
            return predict_blocks(X, self._centers_for(X))
        labels, _ = ops.assign_labels(X, self._centers_for(X), x_squared_norms=x_squared_norms)
        return labels

    def transform(self, X):
        """Euclidean distance of every sample to every centre.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            New data.

        Returns
        -------
        distances : ndarray of shape (n_samples, n_clusters)
            Distances in the cluster-distance space (dtype of X).

        Examples
        --------
        >>> import numpy as np
        >>> from skunsup.cluster import KMeans
        >>> km = KMeans(n_clusters=2, random_state=0).fit(np.array([[0.0], [0.0], [4.0], [4.0]]))
        >>> np.sort(km.transform([[1.0]]).ravel()).tolist()
        [1.0, 3.0]
        """
        check_is_fitted(self)
        if is_dask_array(X):  # a lazy Dask array
            from skunsup.cluster._kmeans_dask import transform_kmeans

            return transform_kmeans(self, X)
        return self._transform(*self._check_test_data(X))

    def _transform(self, X, x_sq):
        centers = self._centers_for(X)
        c_sq = 2.0 * ops.half_squared_norms(centers)
        out = np.empty((X.shape[0], centers.shape[0]), dtype=X.dtype)
        block = ops.BLAS_BLOCK_ROWS
        for start in range(0, X.shape[0], block):
            chunk = X[start:start + block]
            dots = np.asarray((chunk @ centers.T), dtype=np.float64)
            chunk_sq = (ops.row_squared_norms(chunk) if x_sq is None  # memory-mapped X
                        else x_sq[start:start + block])
            sq = chunk_sq[:, None] + c_sq[None, :] - 2.0 * dots
            _remeasure_near_pairs(chunk, centers, sq, chunk_sq, c_sq)
            out[start:start + block] = np.sqrt(np.maximum(sq, 0.0))
        return out

    def score(self, X, y=None, sample_weight=None):
        """Opposite of the inertia of X against the fitted centres (higher is better).

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            New data.
        y : Ignored
            Not used, present for API consistency.
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative weights of the samples.

        Returns
        -------
        score : float
            Minus the weighted sum of squared distances to the nearest centre.

        Examples
        --------
        >>> import numpy as np
        >>> from skunsup.cluster import KMeans
        >>> km = KMeans(n_clusters=2, random_state=0).fit(np.array([[0.0], [0.0], [4.0], [4.0]]))
        >>> float(km.score([[1.0], [5.0]]))
        -2.0
        """
        check_is_fitted(self)
        if is_dask_array(X):  # reduced over the blocks
            from skunsup.cluster._kmeans_dask import score_kmeans

            return score_kmeans(self, X, sample_weight)
        X, x_squared_norms = self._check_test_data(X)
        sample_weight = _validate_sample_weight(sample_weight, X.shape[0])
        if x_squared_norms is None:  # memory-mapped: by blocks
            return -score_blocks(X, sample_weight, self._centers_for(X))
        _, distances = ops.assign_labels(X, self._centers_for(X),
                                         x_squared_norms=x_squared_norms)
        return -ops.weighted_total(sample_weight, distances)
