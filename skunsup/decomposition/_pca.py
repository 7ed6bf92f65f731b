"""Principal component analysis: the lecture's covariance method plus SVD solvers.

The estimator: its parameters, the choice of solver and number of components,
and the fit, which sends the data to where it lives (in memory:
:mod:`~skunsup.decomposition._pca_memory`; a Dask array:
:mod:`~skunsup.decomposition._pca_dask`; array-API arrays:
:mod:`~skunsup.decomposition._pca_array_api`) and writes the fitted attributes.
What the fitted model does (transform, likelihood) is in
:mod:`~skunsup.decomposition._base`.
"""

import warnings
from functools import partial
from numbers import Integral, Real

import numpy as np
from scipy import sparse
from sklearn import get_config
from sklearn.utils import assert_all_finite, check_random_state
from sklearn.utils.validation import validate_data

from skunsup.decomposition._base import _BasePCA
from skunsup.decomposition._partial_fit import _StreamingPCAMixin
from skunsup.decomposition._pca_array_api import fit_array_api, transform_array_api
from skunsup.decomposition._pca_memory import fit_row_blocks, fit_spectrum
from skunsup.decomposition._pca_torch import fit_spectrum as fit_spectrum_on_device
from skunsup.decomposition._pca_torch import torch_unsupported
from skunsup.decomposition._spectrum import choose_solver, fitted_attributes
from skunsup.utils._callbacks import loop_callback, warn_interrupted
from skunsup.utils._dask import is_dask_array
from skunsup.utils._sklearn_compat import (
    Interval,
    RealNotInt,
    StrOptions,
    _fit_context,
    _is_numpy_namespace,
    get_namespace,
)
from skunsup.utils._torch import DeviceOptions, fit_device


class PCA(_StreamingPCAMixin, _BasePCA):
    """Principal component analysis (PCA).

    Linear dimensionality reduction onto the directions of largest variance:
    the eigenvectors of the sample covariance
    ``1 / (n_samples - 1) * (X - mean).T @ (X - mean)``, ordered by eigenvalue.
    The lecture's method (form the covariance, eigendecompose it) is the
    ``'covariance_eigh'`` solver; the SVD of the centred data (``'full'``),
    a randomized SVD and ARPACK are the others. The fitted model is also the
    probabilistic PCA of Tipping and Bishop, so :meth:`score` gives a
    log-likelihood that ``GridSearchCV`` can use to choose ``n_components``.

    Read more in the :ref:`User Guide <decomposition>`.

    Parameters
    ----------
    n_components : int, float or 'mle', default=None
        Number of components to keep.

        - None: ``min(n_samples, n_features)`` (minus one for ``'arpack'``).
        - int: that many components, at most ``min(n_samples, n_features)``
          (strictly less for ``'arpack'``).
        - float in (0, 1): the smallest number of components whose explained
          variance ratio adds up to more than this fraction (needs the full
          spectrum: solvers ``'full'`` and ``'covariance_eigh'``).
        - ``'mle'``: Minka's MLE of the dimension (needs
          ``n_samples >= n_features`` and the full spectrum).

    copy : bool, default=True
        If False, the ``'full'``, ``'arpack'`` and ``'randomized'`` solvers
        centre dense training data in place (it is overwritten).

    whiten : bool, default=False
        Divide the projections by the square root of the explained variance,
        so that every output has unit variance on the training data.
        Components whose variance is zero up to rounding (at most
        ``eps * max(n_samples, n_features)`` times the largest) are left
        unscaled instead of being divided by (almost) zero.

    svd_solver : {'auto', 'covariance_eigh', 'full', 'randomized', 'arpack'}, \
            default='auto'
        - ``'covariance_eigh'``: the lecture's method. The covariance is formed
          from centred blocks of rows multiplied in the data's precision and
          summed in float64, then eigendecomposed in float64 (accurate to
          about 1e-6 relative for float32 data). Best when
          ``n_samples >> n_features``; costs ``O(n_features ** 2)`` memory.
        - ``'full'``: LAPACK SVD of the centred data.
        - ``'randomized'``: randomized SVD (Halko et al.), for a few
          components of a large matrix. On dense data it runs the operations
          of :func:`sklearn.utils.extmath.randomized_svd`, so the model equals
          scikit-learn's for the same parameters and ``random_state``; sparse
          data is centred implicitly. Its power iterations are reported to
          ``callbacks`` and ``verbose``.
          ``fit_transform`` returns ``U * S`` of that SVD (as scikit-learn),
          whose variance is exactly ``explained_variance_``; it is close to,
          not equal to, ``transform`` of the same data.
        - ``'arpack'``: ARPACK (``scipy.sparse.linalg.svds``), for a few
          components; ``n_components < min(n_samples, n_features)``.
        - ``'auto'``: ``'covariance_eigh'`` when
          ``n_features <= 1000`` and ``n_samples >= n_features``; otherwise
          ``'full'`` for small data, ``'mle'`` or a fraction, ``'randomized'``
          for an integer ``n_components`` below 80 % of the smaller dimension,
          else ``'full'``.

        Sparse input is accepted by ``'covariance_eigh'`` (the covariance is
        formed in float64), ``'arpack'`` and ``'randomized'`` (centring is
        implicit: the data is never densified); ``'full'`` refuses it.

        Array API inputs (PyTorch tensors, CuPy or array-api-strict arrays,
        with ``sklearn.set_config(array_api_dispatch=True)``) are fitted in
        their namespace and on their device by ``'covariance_eigh'``,
        ``'full'`` and ``'randomized'``; the fitted arrays and the outputs of
        :meth:`transform` and :meth:`inverse_transform` are arrays of that
        namespace, device and float dtype, as in scikit-learn.
        ``noise_variance_`` is a Python float. numpy input takes skunsup's
        usual path whatever the setting.

    tol : float, default=0.0
        Tolerance of ARPACK (``'arpack'`` only); 0 means machine precision.

    iterated_power : int or 'auto', default='auto'
        Power iterations of the ``'randomized'`` solver; ``'auto'`` is 7 when
        ``n_components`` is below 10 % of the smaller dimension, else 4.

    n_oversamples : int, default=10
        Extra random vectors of the ``'randomized'`` solver.

    power_iteration_normalizer : {'auto', 'QR', 'LU', 'none'}, default='auto'
        How the ``'randomized'`` solver re-normalises its blocks between power
        iterations: ``'QR'`` (most stable), ``'LU'`` (cheaper, same subspace),
        ``'none'`` (fastest, loses precision over many iterations) or
        ``'auto'``: ``'none'`` for at most 2 iterations, else ``'LU'``. Array
        API inputs support ``'QR'`` only: ``'LU'`` is an error, ``'auto'``
        falls back to QR with a warning (as scikit-learn).

    random_state : int, RandomState instance or None, default=None
        Seeds the ``'randomized'`` solver and ARPACK's starting vector. Pass an
        int for reproducible results.

    callbacks : callable or list of callables, default=None
        Called after every ``callbacks_every_iters``-th power iteration of
        ``'randomized'`` (numpy and sparse input) as ``callback(estimator,
        iteration, unexplained_variance, components)``: the model the fit
        would return if it stopped there (one more product with the data per
        call) and the variance it leaves unexplained. True ends the fit with
        that model, as Ctrl-C does (with a warning). Callbacks that return
        False leave the fit bitwise the same.

    callbacks_every_iters : int, default=1
        Power iterations between two calls of the callbacks.

    verbose : int, default=0
        A line per power iteration of ``'randomized'``; 2 adds the captured
        and unexplained variances (an estimate at every iteration).

    device : {'cpu', 'cuda', 'auto'} or 'cuda:<index>', default='cpu'
        Where :meth:`fit` computes the spectrum. 'cpu': the numba / LAPACK
        path described here. 'cuda' (or a CUDA device by its index): the
        data is copied to the GPU and ``'covariance_eigh'`` (centred float32
        blocks summed in float64, as on the CPU), ``'full'`` and
        ``'randomized'`` run there with torch, a ValueError if torch sees no
        CUDA device. 'auto': 'cuda' when torch is installed and sees a CUDA
        device, else 'cpu'. The fitted attributes are numpy arrays either
        way, and :meth:`transform` & co. run on the CPU. Dense numpy input
        only: sparse matrices, Dask arrays and ``'arpack'`` are fitted on the
        CPU ('cuda' refuses them), array API inputs in their own namespace
        and device, and :meth:`partial_fit` on the CPU. See :ref:`gpu`.

    Attributes
    ----------
    components_ : ndarray of shape (n_components_, n_features)
        Principal axes (orthonormal rows), by decreasing explained variance.
        Each row's entry of largest magnitude is positive.

    explained_variance_ : ndarray of shape (n_components_,)
        Variance of the training data along each component (the covariance
        eigenvalues, ``ddof=1``).

    explained_variance_ratio_ : ndarray of shape (n_components_,)
        Fraction of the total variance explained by each component (zeros if
        the training data has no variance at all).

    singular_values_ : ndarray of shape (n_components_,)
        Singular values of the centred training data,
        ``sqrt(explained_variance_ * (n_samples - 1))``.

    mean_ : ndarray of shape (n_features,)
        Per-feature mean of the training data.

    n_components_ : int
        Number of components kept.

    noise_variance_ : float
        Probabilistic PCA's noise variance: the average of the
        ``min(n_samples, n_features) - n_components_`` smallest covariance
        eigenvalues (0 when every component is kept).

    n_samples_ : int
        Number of training samples.

    n_features_in_ : int
        Number of features seen during :term:`fit`.

    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Names of features seen during :term:`fit`. Defined only when `X`
        has feature names that are all strings.

    See Also
    --------
    sklearn.decomposition.PCA : The scikit-learn estimator with the same API.
    sklearn.decomposition.TruncatedSVD : SVD without centring, for sparse data.

    Notes
    -----
    Cost: ``'covariance_eigh'`` takes ``O(n_samples * n_features ** 2)`` for
    the covariance plus ``O(n_features ** 3)`` for the eigendecomposition;
    ``'full'`` ``O(n_samples * n_features * min(n_samples, n_features))``;
    ``'randomized'`` ``O(n_samples * n_features * (n_components +
    n_oversamples) * iterated_power)``.

    Why 'auto' prefers 'covariance_eigh' for tall data: it was the fastest
    solver in ``benchmarks/bench_pca.py`` at the smallest error of
    ``explained_variance_`` (the measured times and errors are in the user
    guide, :ref:`decomposition`, read from ``benchmarks/RESULTS.md``).

    Forming the covariance costs ``n_samples * n_features ** 2`` flops (a
    symmetric rank-k update), about a quarter of the SVD of the same data, so
    it wins whenever ``n_samples >= n_features``; 'auto' keeps scikit-learn's
    limit of 1,000 features, beyond which the ``O(n_features ** 2)`` memory and
    the ``O(n_features ** 3)`` eigendecomposition are not measured here.

    Differences from scikit-learn: the covariance is formed from centred
    blocks summed in float64 (scikit-learn forms the float32 Gram matrix and
    subtracts the mean term, losing about 6e-4 relative on Fashion-MNIST);
    :meth:`get_covariance` does not depend on ``whiten`` (scikit-learn scales
    the components by the variances when whitening, which changes the
    likelihood, see scikit-learn issue #13898); with no variance at all the
    ratios are zeros instead of NaN; sparse input is accepted by
    ``'randomized'``; and 'auto' picks 'covariance_eigh' from
    ``n_samples >= n_features`` (scikit-learn: ``>= 10 * n_features``).
    When no noise variance is left (all ``min(n_samples, n_features)``
    components kept), :meth:`get_precision` inverts the covariance as
    scikit-learn does, so the likelihood of data lying in a subspace is as
    meaningless as scikit-learn's (and ``LinAlgError`` if the covariance is
    exactly singular).

    References
    ----------
    M. E. Tipping and C. M. Bishop, "Probabilistic principal component
    analysis", J. R. Statist. Soc. B 61(3), 1999.

    T. P. Minka, "Automatic choice of dimensionality for PCA", NIPS 2000.

    N. Halko, P. G. Martinsson and J. A. Tropp, "Finding structure with
    randomness", SIAM Review 53(2), 2011.

    Examples
    --------
    >>> import numpy as np
    >>> from skunsup.decomposition import PCA
    >>> X = np.array([[-1, -1], [-2, -1], [-3, -2], [1, 1], [2, 1], [3, 2]])
    >>> pca = PCA(n_components=2).fit(X)
    >>> pca.explained_variance_ratio_.round(4)
    array([0.9924, 0.0076])
    >>> pca.singular_values_.round(4)
    array([6.3006, 0.5498])
    >>> pca.transform(X[:2]).round(3)
    array([[-1.383, -0.294],
           [-2.222,  0.251]])
    """

    _parameter_constraints: dict = {
        "n_components": [
            Interval(Integral, 0, None, closed="left"),
            Interval(RealNotInt, 0, 1, closed="neither"),
            StrOptions({"mle"}),
            None,
        ],
        "copy": ["boolean"],
        "whiten": ["boolean"],
        "svd_solver": [
            StrOptions({"auto", "covariance_eigh", "full", "randomized", "arpack"})
        ],
        "tol": [Interval(Real, 0, None, closed="left")],
        "iterated_power": [
            Interval(Integral, 0, None, closed="left"),
            StrOptions({"auto"}),
        ],
        "n_oversamples": [Interval(Integral, 1, None, closed="left")],
        "power_iteration_normalizer": [StrOptions({"auto", "QR", "LU", "none"})],
        "random_state": ["random_state"],
        "callbacks": [None, callable, list, tuple],
        "callbacks_every_iters": [Interval(Integral, 1, None, closed="left")],
        "verbose": ["verbose"],
        "device": [DeviceOptions({"cpu", "cuda", "auto"})],
    }

    def __init__(
        self,
        n_components=None,
        *,
        copy=True,
        whiten=False,
        svd_solver="auto",
        tol=0.0,
        iterated_power="auto",
        n_oversamples=10,
        power_iteration_normalizer="auto",
        random_state=None,
        callbacks=None,
        callbacks_every_iters=1,
        verbose=0,
        device="cpu",
    ):
        self.n_components = n_components
        self.copy = copy
        self.whiten = whiten
        self.svd_solver = svd_solver
        self.tol = tol
        self.iterated_power = iterated_power
        self.n_oversamples = n_oversamples
        self.power_iteration_normalizer = power_iteration_normalizer
        self.random_state = random_state
        self.callbacks = callbacks
        self.callbacks_every_iters = callbacks_every_iters
        self.verbose = verbose
        self.device = device

    # ------------------------------------------------------------------ fit
    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None):
        """Fit the model with X.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Training data.
        y : None
            Ignored.

        Returns
        -------
        self : object
            The fitted estimator.

        Examples
        --------
        >>> import numpy as np
        >>> from skunsup.decomposition import PCA
        >>> X = np.array([[-1, -1], [-2, -1], [-3, -2], [1, 1], [2, 1], [3, 2]])
        >>> PCA(n_components=1).fit(X).n_components_
        1
        """
        if is_dask_array(X):  # blocks reduced on the Dask scheduler, see _pca_dask
            self._fit_dask(X)
            return self
        self._fit(X)
        return self

    @_fit_context(prefer_skip_nested_validation=True)
    def fit_transform(self, X, y=None):
        """Fit the model with X and project X onto the components.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Training data.
        y : None
            Ignored.

        Returns
        -------
        X_new : ndarray of shape (n_samples, n_components_)
            The projections (whitened if ``whiten``).

        Examples
        --------
        >>> import numpy as np
        >>> from skunsup.decomposition import PCA
        >>> X = np.array([[-1, -1], [-2, -1], [-3, -2], [1, 1], [2, 1], [3, 2]])
        >>> PCA(n_components=1).fit_transform(X).round(2).ravel()
        array([-1.38, -2.22, -3.61,  1.38,  2.22,  3.61])
        """
        if is_dask_array(X):  # lazy projections of a Dask array
            from skunsup.decomposition._pca_dask import transform_pca

            self._fit_dask(X)
            return transform_pca(self, X)
        X, U = self._fit(X)
        if not self._fitted_on_numpy():
            return transform_array_api(self, X, U)
        if U is not None:
            k = self.n_components_
            X_new = U[:, :k] * self.singular_values_[np.newaxis, :]
            if self.whiten:
                X_new /= self._whitening_scale()
            return X_new
        return self._project(X)

    @_fit_context(prefer_skip_nested_validation=True)
    def partial_fit(self, X, y=None):
        """Add one batch of rows to a model fitted on a stream of batches.

        The float64 count, mean and scatter matrix of all the rows seen are
        updated (Chan et al.'s pairwise merge, see
        :class:`~skunsup.decomposition.IncrementalPCA`), so after every call
        the model is the one ``svd_solver='covariance_eigh'`` fits on all the
        rows seen, whatever the batches (``svd_solver`` is not used).
        ``n_components`` is checked against the rows seen so far: an integer
        may not exceed ``min(n_samples_seen, n_features)``, ``'mle'`` needs
        ``n_samples_seen >= n_features``. The components are computed when
        first read, so a loop of calls pays for one eigendecomposition.
        :meth:`fit` ends a stream and keeps no scatter matrix, so a call after
        it starts a new stream from this batch alone (with a warning).

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            A batch of training data (at least two rows in the first call,
            any number after; sparse rows are densified block by block).
        y : None
            Ignored.

        Returns
        -------
        self : object
            The updated estimator.

        Raises
        ------
        ValueError
            When ``n_components`` does not fit the rows seen.

        Warns
        -----
        UserWarning
            After :meth:`fit`: the model fitted there is replaced.

        Examples
        --------
        >>> import numpy as np
        >>> from skunsup.decomposition import PCA
        >>> X = np.array([[-1, -1], [-2, -1], [-3, -2], [1, 1], [2, 1], [3, 2]])
        >>> pca = PCA(n_components=1)
        >>> for batch in (X[:2], X[2:5], X[5:]):
        ...     pca = pca.partial_fit(batch)
        >>> pca.explained_variance_ratio_, pca.n_samples_
        (array([0.99244289]), 6)
        """
        first_pass = self.__dict__.get("_stream") is None
        if first_pass and hasattr(self, "components_"):
            warnings.warn(
                "PCA.partial_fit cannot continue a model fitted by fit, which keeps no "
                "scatter matrix: it starts a new model from this batch. Pass every "
                "batch to partial_fit to fit them all.",
                UserWarning,
                stacklevel=2,
            )
        X = validate_data(
            self,
            X,
            accept_sparse=("csr", "csc"),
            dtype=[np.float64, np.float32],
            reset=first_pass,
            ensure_min_samples=2 if first_pass else 1,
            # the batch means find NaN and infinity (_streaming.batch_moments)
            ensure_all_finite=False,
        )
        n_seen = X.shape[0] + (0 if first_pass else self._stream.n_samples)
        n_components = self._resolve_n_components("covariance_eigh", n_seen, X.shape[1])
        self._fit_svd_solver = "covariance_eigh"
        self._update_stream(X, n_components, X.dtype if first_pass else self.mean_.dtype,
                            restart=first_pass)
        return self

    def _choose_solver(self, X, n_components):
        return choose_solver(self.svd_solver, X.shape[0], X.shape[1], n_components,
                             is_sparse=sparse.issparse(X))

    def _resolve_n_components(self, solver, n_samples, n_features):
        smallest = min(n_samples, n_features)
        n_components = self.n_components
        if n_components is None:
            return smallest - 1 if solver == "arpack" else smallest
        if n_components == "mle":
            if solver not in ("full", "covariance_eigh"):
                raise ValueError(
                    f"n_components='mle' cannot be a string with svd_solver={solver!r}: "
                    "Minka's MLE needs the full spectrum, use svd_solver='full' or "
                    "'covariance_eigh'."
                )
            if n_samples < n_features:
                raise ValueError(
                    "n_components='mle' is only supported if n_samples >= n_features, "
                    f"got n_samples={n_samples} and n_features={n_features}."
                )
            return n_components
        if isinstance(n_components, Real) and not isinstance(n_components, Integral):
            if solver not in ("full", "covariance_eigh"):
                raise ValueError(
                    f"n_components={n_components!r} is a fraction of variance, which needs "
                    f"the full spectrum: use svd_solver='full' or 'covariance_eigh', not "
                    f"{solver!r}."
                )
            return n_components
        # scikit-learn's wording, so that code matching its messages keeps working
        lowest = 1 if solver in ("arpack", "randomized") else 0
        if not lowest <= n_components <= smallest:
            raise ValueError(
                f"n_components={n_components} must be between {lowest} and "
                f"min(n_samples, n_features)={smallest} with svd_solver={solver!r} "
                f"(n_samples={n_samples}, n_features={n_features})."
            )
        if solver == "arpack" and n_components == smallest:
            raise ValueError(
                f"n_components={n_components} must be strictly less than "
                f"min(n_samples, n_features)={smallest} with svd_solver='arpack'."
            )
        return int(n_components)

    def _fit(self, X):
        """Fit; returns the validated X and the left singular vectors (or None)."""
        self._stream = None  # a fit ends any stream of partial_fit calls
        if get_config()["array_api_dispatch"]:
            xp, is_array_api = get_namespace(X)
            if is_array_api and not _is_numpy_namespace(xp):  # numpy stays on this path
                return fit_array_api(self, X, xp)
        X, fitted = fit_row_blocks(self, X)  # an HDF5/zarr-like array, by row blocks
        if fitted is not None:
            self._set_fitted(fitted)
            return X, None
        if sparse.issparse(X) and self.svd_solver == "full":
            raise TypeError(
                "PCA(svd_solver='full') does not accept sparse input (it would densify "
                "the data); use svd_solver='covariance_eigh', 'arpack' or 'randomized', "
                "or pass X.toarray()."
            )
        X = validate_data(
            self,
            X,
            accept_sparse=("csr", "csc"),
            dtype=[np.float64, np.float32],
            ensure_min_samples=2,
            copy=False,
            # dense 'covariance_eigh' finds NaN and infinity in its own pass over
            # the data (the column sums); the other solvers check below
            ensure_all_finite=False,
        )
        n_samples, n_features = X.shape
        solver = self._choose_solver(X, self.n_components)
        if solver != "covariance_eigh" or sparse.issparse(X):
            assert_all_finite(X.data if sparse.issparse(X) else X, input_name="X")
        n_components = self._resolve_n_components(solver, n_samples, n_features)
        self._fit_svd_solver = solver
        interrupted = []  # the power iterations done when Ctrl-C stopped them
        device = fit_device(self.device, "PCA", unsupported=torch_unsupported(X, solver))
        fit = fit_spectrum if device is None else partial(fit_spectrum_on_device, device=device)
        variances, components, total_var, mean, U = fit(
            X, solver, n_components, copy=self.copy, tol=self.tol,
            iterated_power=self.iterated_power, n_oversamples=self.n_oversamples,
            power_iteration_normalizer=self.power_iteration_normalizer,
            random_state=check_random_state(self.random_state),
            callback=loop_callback(self, self.callbacks)[0],
            callback_every=self.callbacks_every_iters, verbose=self.verbose,
            on_interrupt=interrupted.append)
        if interrupted:
            warn_interrupted(self, f"{interrupted[0]} power iterations",
                             "the components they reached", stacklevel=4)
        attributes, U = fitted_attributes(
            variances, components, total_var, mean, n_components=n_components,
            n_samples=n_samples, n_features=n_features, dtype=X.dtype, U=U)
        self._set_fitted(attributes)
        return X, U

    def _fit_dask(self, X):
        """Fit on a Dask array: the blocks are reduced on its scheduler."""
        fit_device(self.device, "PCA", unsupported="Dask arrays")  # 'cuda': an error
        self._stream = None  # a fit ends any stream of partial_fit calls
        from skunsup.decomposition._pca_dask import fit_pca

        attributes, self._fit_svd_solver = fit_pca(self, X)
        self._set_fitted(attributes)

    def _set_fitted(self, attributes):
        """Write the fitted attributes that an executor computed."""
        for name, value in attributes.items():
            setattr(self, name, value)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        tags.transformer_tags.preserves_dtype = ["float64", "float32"]
        # array API inputs, as scikit-learn's: no ARPACK, and randomized only with
        # QR (the only normaliser the array API offers)
        solver = getattr(self, "_fit_svd_solver", self.svd_solver)
        tags.array_api_support = solver not in ("arpack", "randomized") or (
            solver == "randomized" and self.power_iteration_normalizer == "QR"
        )
        return tags
