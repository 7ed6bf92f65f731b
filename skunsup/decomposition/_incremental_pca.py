"""Incremental PCA: scikit-learn's ``IncrementalPCA`` through an exact streaming covariance.

The estimator: scikit-learn's parameters, its rules for the number of
components and the batches, and the checks of each batch. The rows go to the
float64 moments of :mod:`~skunsup.decomposition._streaming`
(:class:`~skunsup.decomposition._partial_fit._StreamingPCAMixin`); what the
fitted model does is :class:`~skunsup.decomposition._base._BasePCA`'s.
"""

from numbers import Integral

import numpy as np
from scipy import sparse
from sklearn.utils import gen_batches, metadata_routing
from sklearn.utils.validation import check_is_fitted, validate_data

from skunsup.decomposition._base import _BasePCA
from skunsup.decomposition._partial_fit import _StreamingPCAMixin
from skunsup.utils._callbacks import loop_callback, warn_interrupted
from skunsup.utils._row_blocks import RowBlockArray, as_row_blocks
from skunsup.utils._sklearn_compat import Interval, _fit_context


class IncrementalPCA(_StreamingPCAMixin, _BasePCA):
    """Incremental principal component analysis (IPCA), exact.

    PCA of data seen one batch at a time (:meth:`partial_fit`, or :meth:`fit`
    reading an array, a ``numpy.memmap`` or a sparse matrix in blocks), with
    scikit-learn's parameters and attributes. Where scikit-learn's
    ``IncrementalPCA`` updates a truncated SVD batch by batch (Ross et al.,
    2008) and so depends on the batches, this one keeps the count, mean and
    scatter matrix of all the rows seen in float64 (merged batch by batch by
    Chan et al.'s pairwise update): the fitted model is the one
    ``PCA(n_components, svd_solver='covariance_eigh')`` fits on all those
    rows, to float64 rounding, whatever the batches (up to 4,096 features,
    see the Notes).

    Read more in the :ref:`User Guide <decomposition>`.

    Parameters
    ----------
    n_components : int, default=None
        Number of components to keep. None: ``min(n_samples, n_features)`` of
        the first batch (of the first :meth:`partial_fit` call, or of
        ``batch_size_`` rows in :meth:`fit`), as scikit-learn. At most
        ``n_features``, and at most the rows of the first batch.

    whiten : bool, default=False
        Divide the projections by the square root of the explained variance,
        so that every output has unit variance on the data seen. Components
        whose variance is zero up to rounding are left unscaled (as
        :class:`~skunsup.decomposition.PCA`).

    copy : bool, default=True
        Accepted for compatibility: the data is never overwritten (scikit-learn
        centres batches in place when False).

    batch_size : int, default=None
        The number of rows per batch of :meth:`fit` and of :meth:`transform`
        of sparse input (None: ``5 * n_features``, as scikit-learn). Up to
        4,096 features the model does not depend on it (only
        ``n_components=None`` is read from the first batch), and each batch
        is read in blocks of about 8 MiB of float64.

    callbacks : callable or list of callables, default=None
        Called by :meth:`fit` after every ``callbacks_every_iters``-th batch
        as ``callback(estimator, n_batches, unexplained_variance,
        components)``: the model of the rows seen so far (an
        eigendecomposition per call), the variance its components leave
        unexplained, and a copy of them. True ends the fit there, with that
        model; Ctrl-C does the same, with a warning, after the last whole
        batch. Not called by :meth:`partial_fit`, whose every call leaves
        the model of the batches before it or of them all.

    callbacks_every_iters : int, default=1
        Batches between two calls of the callbacks.

    Attributes
    ----------
    components_ : ndarray of shape (n_components_, n_features)
        Principal axes (orthonormal rows), by decreasing explained variance.
        Each row's entry of largest magnitude is positive.

    explained_variance_ : ndarray of shape (n_components_,)
        Variance of the data seen along each component (``ddof=1``).

    explained_variance_ratio_ : ndarray of shape (n_components_,)
        Fraction of the total variance explained by each component (zeros if
        the data has no variance at all).

    singular_values_ : ndarray of shape (n_components_,)
        Singular values of the centred data seen,
        ``sqrt(explained_variance_ * (n_samples_seen_ - 1))``.

    mean_ : ndarray of shape (n_features,)
        Per-feature mean of the data seen.

    var_ : ndarray of shape (n_features,)
        Per-feature variance of the data seen (``ddof=0``, as scikit-learn).

    noise_variance_ : float
        Probabilistic PCA's noise variance: the average of the
        ``min(n_samples_seen_, n_features) - n_components_`` smallest
        covariance eigenvalues (0 when none is left), as
        :class:`~skunsup.decomposition.PCA`.

    n_components_ : int
        Number of components kept.

    n_samples_seen_ : int
        Number of rows seen: reset by :meth:`fit`, increased by
        :meth:`partial_fit`.

    n_samples_ : int
        The same number, under :class:`~skunsup.decomposition.PCA`'s name.

    batch_size_ : int
        The batch size in use (``batch_size`` or ``5 * n_features``).

    n_features_in_ : int
        Number of features seen during :term:`fit`.

    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Names of features seen during :term:`fit`. Defined only when `X`
        has feature names that are all strings.

    See Also
    --------
    sklearn.decomposition.IncrementalPCA : The scikit-learn estimator with the same API.
    PCA : The batch fit; its :meth:`~skunsup.decomposition.PCA.partial_fit` keeps
        the same moments and also takes a fraction or 'mle' as ``n_components``.

    Notes
    -----
    Cost: ``O(n_features ** 2)`` per row for the scatter matrix (symmetric
    rank-k updates of float64 blocks) and one ``O(n_features ** 3)``
    eigendecomposition per model read: :meth:`fit` computes it once at the
    end, and after :meth:`partial_fit` the spectral attributes are computed
    when first read, so a loop of many calls pays for one.

    Memory: the ``n_features x n_features`` float64 scatter matrix, kept with
    the fitted model (so that :meth:`partial_fit` can continue after
    :meth:`fit`; it is pickled with it), plus a block of rows. The line is
    drawn at 4,096 features: a 128 MiB matrix whose eigendecomposition takes
    tens of seconds on a 2-core machine, while scikit-learn's default batch of
    ``5 * n_features`` rows is already five times that size. Above it the
    matrix and its ``O(n_features ** 3)`` eigendecomposition outgrow any
    batch, and this class falls back to
    scikit-learn's method, the incremental SVD of Ross et al. (2008), on
    float64 copies of the batches: memory of one batch plus the components,
    a model that depends on the batches (approximate, as scikit-learn's,
    while components are dropped), ``mean_`` and ``var_`` still exact.

    Differences from scikit-learn (exactness aside): ``noise_variance_`` is
    the average of the covariance eigenvalues left out, as in ``PCA``
    (scikit-learn's averages the remaining singular values of its last
    update); :meth:`fit` and the first :meth:`partial_fit` call need two rows
    (one gives no covariance); ``copy`` changes nothing.

    References
    ----------
    T. F. Chan, G. H. Golub and R. J. LeVeque, "Updating formulae and a
    pairwise algorithm for computing sample variances", Technical Report
    STAN-CS-79-773, Stanford University, 1979.

    D. Ross, J. Lim, R. Lin and M. Yang, "Incremental learning for robust
    visual tracking", International Journal of Computer Vision 77, 2008
    (scikit-learn's method).

    Examples
    --------
    >>> import numpy as np
    >>> from skunsup.decomposition import PCA, IncrementalPCA
    >>> X = np.random.RandomState(0).standard_normal((100, 5))
    >>> ipca = IncrementalPCA(n_components=2)
    >>> for batch in np.array_split(X, 7):
    ...     ipca = ipca.partial_fit(batch)
    >>> ipca.n_samples_seen_
    100
    >>> pca = PCA(n_components=2, svd_solver="covariance_eigh").fit(X)
    >>> bool(np.allclose(ipca.components_, pca.components_, rtol=0, atol=1e-12))
    True
    >>> ipca.transform(X[:2]).round(3)
    array([[ 2.308,  1.429],
           [ 0.765, -0.476]])
    """

    __metadata_request__partial_fit = {"check_input": metadata_routing.UNUSED}

    _parameter_constraints: dict = {
        "n_components": [Interval(Integral, 1, None, closed="left"), None],
        "whiten": ["boolean"],
        "copy": ["boolean"],
        "batch_size": [Interval(Integral, 1, None, closed="left"), None],
        "callbacks": [None, callable, list, tuple],
        "callbacks_every_iters": [Interval(Integral, 1, None, closed="left")],
    }

    def __init__(self, n_components=None, *, whiten=False, copy=True, batch_size=None,
                 callbacks=None, callbacks_every_iters=1):
        self.n_components = n_components
        self.whiten = whiten
        self.copy = copy
        self.batch_size = batch_size
        self.callbacks = callbacks
        self.callbacks_every_iters = callbacks_every_iters

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None):
        """Fit the model with X, forgetting any earlier fit.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Training data (at least two rows); read in blocks, so a
            ``numpy.memmap`` or an HDF5/zarr-like array (``shape``, ``dtype``
            and row slices, e.g. an h5py ``Dataset``) is never loaded whole,
            and sparse rows are densified one block at a time.
        y : None
            Ignored.

        Returns
        -------
        self : object
            The fitted estimator.

        Examples
        --------
        >>> import numpy as np
        >>> from skunsup.decomposition import IncrementalPCA
        >>> X = np.array([[-1, -1], [-2, -1], [-3, -2], [1, 1], [2, 1], [3, 2]])
        >>> IncrementalPCA(n_components=1, batch_size=3).fit(X).explained_variance_ratio_
        array([0.99244289])
        """
        X = as_row_blocks(X)  # an HDF5/zarr-like array: its batches are row slices
        checked = validate_data(
            self,
            X[:2] if isinstance(X, RowBlockArray) else X,
            accept_sparse=("csr", "csc"),
            dtype=[np.float64, np.float32],
            ensure_min_samples=2,
            # the batch means find NaN and infinity (_streaming.batch_moments)
            ensure_all_finite=False,
        )
        X = X if isinstance(X, RowBlockArray) else checked
        n_samples, n_features = X.shape
        self.batch_size_ = 5 * n_features if self.batch_size is None else self.batch_size
        batches = list(gen_batches(n_samples, self.batch_size_,
                                   min_batch_size=self.n_components or 0))
        # scikit-learn's rules, on its first batch
        n_components = self._check_n_components(batches[0].stop - batches[0].start,
                                                n_features, first_pass=True)
        callback, _ = loop_callback(self, self.callbacks)
        before = self.__dict__.get("_stream")
        try:
            for index, batch in enumerate(batches, start=1):
                self._update(X[batch], n_components, X.dtype, restart=index == 1)
                if (callback is not None and index % self.callbacks_every_iters == 0
                        and callback(index, self._unexplained_variance(),
                                     self.components_.copy())):
                    break
        except KeyboardInterrupt:
            if self.__dict__.get("_stream") is before:  # not one batch: nothing to keep
                raise
            warn_interrupted(self, f"{self.n_samples_seen_} of {n_samples} rows",
                             "the model of those rows", stacklevel=3)
        self._write_spectrum()
        return self

    def _unexplained_variance(self):
        """The variance of the rows seen that the components leave out."""
        n = self._stream.n_samples
        total = float(self._stream.variances().sum()) * n / (n - 1)
        return max(total - float(self.explained_variance_.sum()), 0.0)

    @_fit_context(prefer_skip_nested_validation=True)
    def partial_fit(self, X, y=None, check_input=True):
        """Add one batch of rows to the model.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            A batch of training data (dense; at least two rows in the first
            call, any number after).
        y : None
            Ignored.
        check_input : bool, default=True
            Validate ``X``; False takes it as a float32 or float64 array with
            the features seen before.

        Returns
        -------
        self : object
            The updated estimator.

        Examples
        --------
        >>> import numpy as np
        >>> from skunsup.decomposition import IncrementalPCA
        >>> X = np.array([[-1, -1], [-2, -1], [-3, -2], [1, 1], [2, 1], [3, 2]])
        >>> ipca = IncrementalPCA(n_components=1).partial_fit(X[:3]).partial_fit(X[3:])
        >>> ipca.n_samples_seen_, ipca.explained_variance_ratio_
        (6, array([0.99244289]))
        """
        first_pass = self.__dict__.get("_stream") is None
        if check_input:
            if sparse.issparse(X):
                raise TypeError(
                    "IncrementalPCA.partial_fit does not support sparse input. Either "
                    "convert data to dense or use IncrementalPCA.fit to do so in batches."
                )
            X = validate_data(
                self,
                X,
                dtype=[np.float64, np.float32],
                reset=first_pass,
                ensure_min_samples=2 if first_pass else 1,
                ensure_all_finite=False,
            )
        n_samples, n_features = X.shape
        n_components = self._check_n_components(n_samples, n_features, first_pass)
        if first_pass:
            self.batch_size_ = 5 * n_features if self.batch_size is None else self.batch_size
        self._update(X, n_components, X.dtype if first_pass else self.mean_.dtype,
                     restart=first_pass)
        return self

    def _check_n_components(self, n_samples, n_features, first_pass):
        """scikit-learn's rules for ``n_components_`` (the batch has ``n_samples`` rows)."""
        if self.n_components is None:
            return min(n_samples, n_features) if first_pass else self.n_components_
        if self.n_components > n_features:
            raise ValueError(
                f"n_components={self.n_components!r} invalid for n_features={n_features}, "
                "need more rows than columns for IncrementalPCA processing"
            )
        if first_pass and self.n_components > n_samples:
            raise ValueError(
                f"n_components={self.n_components} must be less or equal to the batch "
                f"number of samples {n_samples} for the first partial_fit call."
            )
        if not first_pass and self.n_components != self.n_components_:
            raise ValueError(
                f"n_components={self.n_components} differs from the n_components_="
                f"{self.n_components_} of the earlier partial_fit calls: it is fixed by "
                "the first call (call fit to start again)."
            )
        return self.n_components

    def _update(self, X, n_components, dtype, *, restart):
        """Add the rows to the stream and write the attributes known without its spectrum."""
        self._update_stream(X, n_components, dtype, restart=restart, fixed_rank=True)

    def _stream_attributes(self, stream, n_components, dtype):
        return {"n_components_": n_components, "n_samples_seen_": stream.n_samples,
                "var_": stream.variances().astype(dtype)}

    def transform(self, X):
        """Project X onto the principal components.

        Sparse input is densified in batches of ``batch_size_`` rows (as
        scikit-learn), never whole.

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
        >>> from scipy import sparse
        >>> from skunsup.decomposition import IncrementalPCA
        >>> X = np.array([[-1, -1], [-2, -1], [-3, -2], [1, 1], [2, 1], [3, 2]])
        >>> ipca = IncrementalPCA(n_components=1, batch_size=3).fit(X)
        >>> ipca.transform(sparse.csr_matrix(X[:2])).round(3)
        array([[-1.383],
               [-2.222]])
        """
        if not sparse.issparse(X):
            return super().transform(X)
        check_is_fitted(self)
        X = validate_data(self, X, accept_sparse=("csr", "csc"),
                          dtype=[np.float64, np.float32], reset=False)
        batches = gen_batches(X.shape[0], self.batch_size_,
                              min_batch_size=self.n_components or 0)
        return np.vstack([self._project(X[batch].toarray()) for batch in batches])

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True  # fit and transform; partial_fit refuses it
        tags.transformer_tags.preserves_dtype = ["float64", "float32"]
        return tags
