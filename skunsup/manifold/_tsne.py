"""t-distributed Stochastic Neighbor Embedding (van der Maaten & Hinton, 2008).

Gradient methods (``method``)
-----------------------------
* ``TSNE._parameter_constraints["method"]`` lists the names;
  ``_resolve_method`` turns ``"auto"`` (and ``"fft"`` on tiny data) into the
  method used, stored in ``_method`` at fit; ``_check_params_vs_input``
  holds each method's limits (n_components, minimum n).
* ``_make_affinities``: ``"exact"`` gets the dense P, every other method the
  sparse kNN P (:func:`~skunsup.manifold._affinity.knn_affinities`).
* The objective, for the fit (``_make_objective``) and for new points
  (``transform``, against the fixed ``embedding_``), comes from
  :func:`~skunsup.manifold._objectives.make_objective`, where each method
  registers its objective (``_objectives.OBJECTIVES``). Every objective takes
  the map's kernel by its degrees of freedom ``dof``; ``_make_objective``
  records the one of the map (``_dof``), which ``transform`` uses.

Executors (``device``)
----------------------
The numba path runs every method; a torch device runs ``"fft"`` through
:class:`~skunsup.manifold._tsne_torch.TorchTSNE` (``_fit_executor`` at
fit, ``_inference_executor`` for ``optimize`` and ``transform``), in the
same phases of ``_base._BaseSNE``. What cannot run there is named by
``_torch_unsupported``: ``'auto'`` then takes the numba path, ``'cuda'``
refuses at fit.
"""

import warnings
from numbers import Real

import numpy as np
import scipy.sparse as sp
from sklearn.utils.validation import check_is_fitted

from skunsup.manifold import _initialization
from skunsup.manifold._affinity import (
    check_dense_memory,
    exact_affinities,
    knn_affinities,
    n_neighbors_for,
)
from skunsup.manifold._base import _BaseSNE
from skunsup.manifold._interpolation import check_fft_components
from skunsup.manifold._objectives import make_objective
from skunsup.manifold._optimizer import GradientDescent
from skunsup.utils._numba import numba_threads
from skunsup.utils._sklearn_compat import Interval, StrOptions, _fit_context
from skunsup.utils._torch import DeviceOptions, fit_device, import_torch, inference_device

__all__ = ["TSNE"]

# How transform places new points (see TSNE.transform).
_TRANSFORM_ITER = 250
_TRANSFORM_LEARNING_RATE = 0.1
_TRANSFORM_MOMENTUM = 0.8
_TRANSFORM_EXAGGERATION = 1.5
_TRANSFORM_MAX_STEP = 0.25
_TRANSFORM_MAX_PERPLEXITY = 5.0
# method="auto": exact below this many samples (see the class docstring)
_AUTO_EXACT_BELOW = 1000
# method="auto", 2-D maps: Barnes-Hut below this many samples, FFT from there on.
# Measured on 2 cores, default fits: Barnes-Hut (one tree walk per group of
# points) took 0.45 / 1.0 / 4.0 / 16.8 / 43.5 s at 1k / 3k / 10k / 30k / 70k
# Fashion-MNIST points against 3.2 / 5.9 / 11.9 / 28.8 / 63.4 s for FFT, at a
# lower KL; on a 250k-point Gaussian mixture 238 s against 187 s.
_AUTO_FFT_FROM = 150_000
# method="fft" falls back to exact below this many samples
_FFT_MIN_SAMPLES = 100
# learning_rate="auto": longest step of one point in one iteration
_AUTO_MAX_STEP = 5.0


class TSNE(_BaseSNE):
    """The t-distributed Stochastic Neighbor Embedding.

    t-SNE turns distances into joint probabilities ``p_ij`` (symmetrised
    conditional Gaussians calibrated to a perplexity) and finds a
    low-dimensional map whose Student-t similarities ``q_ij ∝ (1 + |y_i -
    y_j|²)⁻¹`` match them, by minimising ``KL(P || Q)``. Its heavy tail fixes
    the crowding problem of SNE (:class:`SNE`); ``dof`` makes the tail
    heavier or lighter. Unlike scikit-learn's TSNE it can :meth:`transform`
    new points into a fitted map.

    Read more in the :ref:`User Guide <tsne>`.

    Parameters
    ----------
    n_components : int, default=2
        Dimension of the embedding (1, 2 or 3 for Barnes-Hut; any for exact).
    perplexity : float or list of floats, default=30.0
        Effective number of neighbours of every point (``< n_samples``);
        usually between 5 and 50. A list (e.g. ``[30, 300]``) gives the
        multiscale affinities of Lee et al. (2015), openTSNE's
        ``MultiscaleMixture``: each point's conditional P is the mean of
        Gaussians calibrated to every perplexity, over the ``⌊3·p⌋``
        neighbours of the largest; small and large scales together keep local
        detail and more of the global layout.
    early_exaggeration : float, default=12.0
        Factor multiplying P during the first iterations (the first quarter of
        ``max_iter``, at most 250), so that clusters form and separate early.
    learning_rate : float or "auto", default="auto"
        Step size; ``"auto"`` is ``max(n_samples / early_exaggeration / 4, 50)``
        during early exaggeration and ``max(n_samples / 4, 50)`` after it, with
        each point's step clipped to 5 units (Belkina et al. 2019; Kobak &
        Berens 2019; openTSNE's schedule, the factor 4 being that of the
        gradient). A number is used in both phases, unclipped.
    max_iter : int, default=1000
        Total iterations, including the exaggeration phase (values below
        scikit-learn's minimum of 250 are accepted).
    n_iter_without_progress : int or None, default=300
        Stop after that many iterations of the main phase without a lower KL
        (evaluated every 50 iterations; -1 or 0: at the first check without
        progress); None never stops for this.
    min_grad_norm : float, default=1e-7
        Stop when the gradient norm falls below this.
    metric : str or callable, default="euclidean"
        Distance in the input space: a metric of
        :class:`sklearn.neighbors.NearestNeighbors` (a callable gets two rows and
        returns their distance), or ``"precomputed"``: X is then a square
        distance matrix, dense, or a sparse graph whose stored entries of each
        row are that point's candidate neighbours (scikit-learn's meaning: the
        point itself stored with distance 0, and at least ``⌊3·perplexity⌋``
        others; e.g. the output of
        :class:`sklearn.neighbors.KNeighborsTransformer` with
        ``mode="distance"``); :meth:`transform` then takes the distances of
        new points to the training points, dense or sparse rows. As in
        scikit-learn, the distances go squared into the Gaussian for every
        metric; negative distances raise a ``ValueError``.
    metric_params : dict, default=None
        Keyword arguments of the metric (e.g. ``{"V": covariance}`` for
        ``"mahalanobis"``).
    init : {"pca", "random"} or ndarray of shape (n_samples, n_components), default="pca"
        Initial map. ``"pca"``: the first principal components (of sparse X
        without densifying it; classical MDS of a dense precomputed distance
        matrix, the spectral embedding of the affinities of a sparse graph,
        where scikit-learn refuses "pca") rescaled to a standard deviation of
        1e-4; ``"random"``: Gaussian noise of that size.
    verbose : int, default=0
        1 prints a summary, 2 also the KL every 50 iterations.
    random_state : int, RandomState instance or None, default=None
        Seed of the random initialisation.
    method : {"auto", "fft", "barnes_hut", "exact"}, default="auto"
        ``"fft"``: sparse P over the ``⌊3·perplexity⌋`` nearest neighbours and
        the repulsion by FFT-accelerated interpolation (Linderman et al.,
        2019), O(n + G log G) per iteration for a grid of G nodes that grows
        with the map's extent, O(n) memory; 1-D and 2-D maps only.
        ``"barnes_hut"``: the same P and Barnes-Hut repulsion, O(n log n) per
        iteration and O(n) memory. ``"exact"``: dense P and exact O(n²)
        gradient (refused when the n × n matrices would not fit in memory).
        ``"auto"``: ``"exact"`` below 1,000 samples; from there
        ``"barnes_hut"`` for 2-D maps below 150,000 samples and 3-D maps,
        ``"fft"`` for 2-D maps from 150,000 samples and for 1-D maps, and
        ``"exact"`` beyond 3 components (the thresholds are where one method
        overtook the other in timings on 2 cores).
        ``method="fft"`` with fewer than 100 samples falls back to
        ``"exact"`` with a warning. A sparse precomputed graph always goes to
        a neighbour-based method (``"exact"`` refuses it, as in scikit-learn).
    angle : float, default=0.5
        Barnes-Hut trade-off (``θ``): a cell of side ``s`` at distance ``d`` is
        summarised by its centre of mass when ``s < θ·d``. 0 is exact
        (and slow); larger is faster and coarser.
    n_jobs : int, default=None
        Threads for neighbours, affinities and gradients (None: all of
        numba's threads, -1: all cores). The result does not depend on it.
    exaggeration : float, default=None
        Factor multiplying P after the early-exaggeration phase (None: 1, the
        plain objective). Values above 1 give more separated clusters
        (Kobak & Berens 2019 use 4 for large data sets); see also
        :meth:`optimize` to change it on a fitted map.
    callbacks : callable or list of callables, default=None
        Called every ``callbacks_every_iters`` iterations as
        ``callback(estimator, iteration, kl, embedding)``: the estimator, the
        iteration (over the whole fit), the KL divergence of the current map
        (with P exaggerated during the early phase) and a copy of the map in
        the order of the samples. A callback that returns True stops the fit,
        which keeps the map reached (e.g. to watch a map form, or to stop when
        it is good enough).
    callbacks_every_iters : int, default=50
        Iterations between two calls of the callbacks.
    dof : float, default=1.0
        Degrees of freedom ``α`` of the map's kernel, ``w_ij = (1 + |y_i -
        y_j|² / α)^(-α)`` (Kobak et al. 2019; openTSNE's ``dof``): 1 is the
        Cauchy kernel of t-SNE; ``α < 1`` has heavier tails, which break
        clusters into their subclusters (0.5, say); ``α → ∞`` tends to the
        Gaussian ``exp(-|y_i - y_j|²)`` of SNE's map. With ``u_ij = (1 +
        |y_i - y_j|² / α)⁻¹`` the gradient is ``4 Σ_j (p_ij - q_ij) u_ij (y_i
        - y_j)``. Every ``method`` takes it; ``α = 1`` runs without powers,
        other values cost a power per pair in the exact and Barnes-Hut
        methods (several times slower iterations) but nothing in the FFT
        method's. :meth:`optimize` uses the current value (so
        ``set_params(dof=...)`` then :meth:`optimize` continues a map under
        another kernel); :meth:`transform` the kernel of the map's last
        optimisation.
    device : {'cpu', 'cuda', 'auto'} or 'cuda:<index>', default='cpu'
        Where the fit runs. 'cpu': the numba kernels of every ``method``.
        'cuda' (or a CUDA device by its index): the whole fit on the GPU
        with PyTorch -- exact kNN by blocked matrix products, the
        perplexity calibration of all rows at once, and ``method="fft"``
        (``"auto"`` means it there; the FFT repulsion on the device) with
        the same schedule, callbacks and ``verbose`` lines; a ValueError if
        torch sees no CUDA device, or for what runs on the CPU only
        (another ``metric``, sparse X, more than 2 components, ``method``
        ``"exact"`` or ``"barnes_hut"``). 'auto': 'cuda' when torch sees a
        CUDA device and the fit can run there, else 'cpu'. :meth:`optimize`
        and :meth:`transform` run where ``device`` says when they are
        called (on the CPU, with a warning, when a model fitted on a GPU is
        used on a machine without one). The fitted model keeps numpy and
        SciPy arrays only. See :ref:`gpu`.

    Attributes
    ----------
    embedding_ : ndarray of shape (n_samples, n_components)
        The map of the training points.
    kl_divergence_ : float
        KL(P || Q) at the end, Q under the kernel of ``dof`` (for Barnes-Hut
        and FFT, with the approximate normaliser).
    n_iter_ : int
        Iterations run.
    learning_rate_ : float
        The learning rate of the early-exaggeration phase (with
        ``learning_rate="auto"`` the main phase uses ``max(n_samples / 4, 50)``).
    n_features_in_ : int
        Number of features seen during fit.
    feature_names_in_ : ndarray of shape (n_features_in_,)
        Names of features seen during fit, when X has string column names.

    See Also
    --------
    SNE : The original, asymmetric stochastic neighbour embedding.
    sklearn.manifold.TSNE : The t-SNE of scikit-learn (no ``transform``).

    Notes
    -----
    Per iteration the exact method costs O(n²) time, Barnes-Hut O(n log n)
    (the tree is rebuilt every iteration; its traversal runs in parallel).
    The kernel has ``dof`` degrees of freedom (1 by default) in every
    dimension (scikit-learn's Student-t density ``(1 + d² / α)^(-(α + 1) /
    2)`` takes ``α = max(n_components - 1, 1)``: the same kernel in 1-D and
    2-D, another in 3-D).

    The KL under the kernel of ``α`` is ``Σ p log p + α Σ p log(1 + d² / α)
    + log Z`` with ``Z = Σ_{k≠l} w_kl``; as ``∂ log w_ij / ∂y_i = -2 u_ij
    (y_i - y_j)``, its gradient is ``4 (Σ_j p_ij u_ij (y_i - y_j) - Σ_j w_ij
    u_ij (y_i - y_j) / Z)``: the attraction of ``α = 1`` with ``u`` for
    ``w``, the repulsion with ``w u`` for ``w²``.

    The SNE papers' Gaussian is ``exp(-d²/2σ²)``; the lecture writes
    ``exp(-d²/σ²)``, which renames σ and changes nothing once σ is calibrated
    to the perplexity.

    References
    ----------
    L. van der Maaten and G. Hinton, "Visualizing data using t-SNE", JMLR 9,
    2008. L. van der Maaten, "Accelerating t-SNE using tree-based
    algorithms", JMLR 15, 2014. D. Kobak, G. Linderman, S. Steinerberger, Y.
    Kluger and P. Berens, "Heavy-tailed kernels reveal a finer cluster
    structure in t-SNE visualisations", ECML PKDD 2019. P. Poličar, M.
    Stražar and B. Zupan, "openTSNE: a modular Python library for t-SNE
    dimensionality reduction and embedding", JSS 109, 2024.

    Examples
    --------
    >>> import numpy as np
    >>> from skunsup.manifold import TSNE
    >>> X = np.random.RandomState(0).normal(size=(60, 5))
    >>> tsne = TSNE(perplexity=10, random_state=0).fit(X)
    >>> tsne.embedding_.shape
    (60, 2)
    >>> tsne.transform(X[:3] + 0.01).shape
    (3, 2)
    """

    _parameter_constraints: dict = {
        **_BaseSNE._parameter_constraints,
        "method": [StrOptions({"auto", "barnes_hut", "exact", "fft"})],
        "angle": [Interval(Real, 0, 1, closed="both")],
        # finite: the kernel of α = inf (SNE's Gaussian) is not implemented
        "dof": [Interval(Real, 0, np.inf, closed="neither")],
        "device": [DeviceOptions({"cpu", "cuda", "auto"})],
    }

    _label = "t-SNE"

    def __init__(
        self,
        n_components=2,
        *,
        perplexity=30.0,
        early_exaggeration=12.0,
        learning_rate="auto",
        max_iter=1000,
        n_iter_without_progress=300,
        min_grad_norm=1e-7,
        metric="euclidean",
        metric_params=None,
        init="pca",
        verbose=0,
        random_state=None,
        method="auto",
        angle=0.5,
        n_jobs=None,
        exaggeration=None,
        callbacks=None,
        callbacks_every_iters=50,
        dof=1.0,
        device="cpu",
    ):
        self.n_components = n_components
        self.perplexity = perplexity
        self.early_exaggeration = early_exaggeration
        self.learning_rate = learning_rate
        self.max_iter = max_iter
        self.n_iter_without_progress = n_iter_without_progress
        self.min_grad_norm = min_grad_norm
        self.metric = metric
        self.metric_params = metric_params
        self.init = init
        self.verbose = verbose
        self.random_state = random_state
        self.method = method
        self.angle = angle
        self.n_jobs = n_jobs
        self.exaggeration = exaggeration
        self.callbacks = callbacks
        self.callbacks_every_iters = callbacks_every_iters
        self.dof = dof
        self.device = device

    def _resolve_method(self, n_samples, graph=False):
        """The gradient method for ``n_samples`` training points ("auto" resolved).

        ``graph``: X is a sparse precomputed distance graph, which only the
        neighbour-based methods take.
        """
        method = self.method
        if method == "auto":
            if self.n_components > 3 or (n_samples < _AUTO_EXACT_BELOW and not graph):
                return "exact"
            if self.n_components == 1 or (self.n_components == 2
                                          and n_samples >= _AUTO_FFT_FROM):
                return "fft"
            return "barnes_hut"
        if method == "fft" and n_samples < _FFT_MIN_SAMPLES:
            return "exact"
        return method

    def _check_params_vs_input(self, X, on_device=False):
        super()._check_params_vs_input(X, on_device)
        if on_device:  # every size: the device has no other method to fall back to
            self._method = "fft"
            return
        if self.method == "fft":
            check_fft_components(self.n_components)
            if X.shape[0] < _FFT_MIN_SAMPLES:
                warnings.warn(
                    f"method='fft' needs at least {_FFT_MIN_SAMPLES} samples to be worth its "
                    f"interpolation grid; got {X.shape[0]}, using method='exact'",
                    UserWarning, stacklevel=3,
                )
        graph = self.metric == "precomputed" and sp.issparse(X)
        self._method = self._resolve_method(X.shape[0], graph)
        self._check_sparse_graph(X, self._method)
        if self._method == "barnes_hut" and self.n_components > 3:
            raise ValueError(
                "'n_components' should be inferior to 4 for the barnes_hut algorithm: "
                f"it supports n_components in {{1, 2, 3}} (a tree of 2**n_components "
                f"children per cell); got n_components={self.n_components}. "
                "Use method='exact' for more dimensions"
            )
        if self._method == "exact":
            check_dense_memory(X.shape[0], 4, "TSNE(method='exact')")

    def _auto_learning_rate(self, n_samples):
        return max(n_samples / self.early_exaggeration / 4.0, 50.0)

    def _auto_main_phase(self, n_samples, learning_rate):
        # openTSNE's schedule (learning rate n / exaggeration in each phase, in
        # units of a gradient without the factor 4, steps clipped to 5): on
        # 20,000 Fashion-MNIST points it lowered the KL after 1000 iterations
        # from 1.948 (n / 48 throughout) to 1.847.
        return max(n_samples / 4.0, 50.0), _AUTO_MAX_STEP

    def _make_affinities(self, X, rng):
        n_samples = X.shape[0]
        if self._method == "exact":
            self._print(1, f"Computing pairwise distances (all {n_samples - 1} nearest "
                           "neighbors...)")
            return exact_affinities(X, self.perplexity, metric=self.metric,
                                    metric_params=self.metric_params, symmetrize=True,
                                    n_jobs=self.n_jobs)
        self._print(1, f"Computing {n_neighbors_for(self.perplexity, n_samples)} nearest "
                       "neighbors...")
        return knn_affinities(X, self.perplexity, metric=self.metric,
                              metric_params=self.metric_params, knn_method="auto",
                              random_state=rng, n_jobs=self.n_jobs)

    def _make_objective(self, P, executor=None):
        # the kernel of the map from now on (transform places new points with it)
        self._dof = float(self.dof)
        if executor is not None:
            return executor.objective(P, dof=self._dof)
        return make_objective(self._method, P, self.angle, dof=self._dof)

    def _torch_unsupported(self, X=None):
        """Why this fit (of X), or this fitted map, cannot run on a torch device; None if it can."""
        if self.metric != "euclidean" or self.metric_params:
            return f"metric={self.metric!r} (the device searches Euclidean neighbours)"
        if X is not None and sp.issparse(X):
            return "sparse input"
        if self.n_components > 2:
            return f"n_components={self.n_components} (the FFT repulsion is 1-D and 2-D)"
        if X is not None and self.method in ("exact", "barnes_hut"):
            return f"method={self.method!r} (the device runs method='fft')"
        if X is None and self._method == "exact":
            return "a map fitted with method='exact' (dense P)"
        if X is None and self._affinities.knn_index.centred_reference() is None:
            return "a map fitted on sparse data"
        return None

    @staticmethod
    def _executor_on(device):
        """The torch executor on ``device``, or None (the numba path) for None."""
        if device is None:
            return None
        from skunsup.manifold._tsne_torch import TorchTSNE

        return TorchTSNE(import_torch(), device)

    def _fit_executor(self, X):
        return self._executor_on(
            fit_device(self.device, "TSNE", unsupported=self._torch_unsupported(X)))

    def _inference_executor(self):
        return self._executor_on(
            inference_device(self.device, "TSNE", unsupported=self._torch_unsupported()))

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None):
        """Fit the map of X.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features) or (n_samples, n_samples)
            Training data (dense or sparse), or distances when
            ``metric="precomputed"``.
        y : None
            Ignored.

        Returns
        -------
        self : TSNE
            The fitted estimator.

        Examples
        --------
        >>> import numpy as np
        >>> from skunsup.manifold import TSNE
        >>> X = np.random.RandomState(0).normal(size=(40, 3))
        >>> TSNE(perplexity=5, max_iter=250, random_state=0).fit(X).embedding_.shape
        (40, 2)
        """
        self._fit_embedding(X)
        return self

    @_fit_context(prefer_skip_nested_validation=True)
    def fit_transform(self, X, y=None):
        """Fit the map of X and return it.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features) or (n_samples, n_samples)
            Training data (dense or sparse), or distances when
            ``metric="precomputed"``.
        y : None
            Ignored.

        Returns
        -------
        X_new : ndarray of shape (n_samples, n_components)
            ``embedding_``.

        Examples
        --------
        >>> import numpy as np
        >>> from skunsup.manifold import TSNE
        >>> X = np.random.RandomState(0).normal(size=(40, 3))
        >>> TSNE(perplexity=5, max_iter=250, random_state=0).fit_transform(X).shape
        (40, 2)
        """
        return self._fit_embedding(X)

    def transform(self, X):
        """Place new points into the fitted map (the training map stays fixed).

        Each new point gets affinities to its nearest training points (a
        Gaussian over its ``⌊3·p⌋`` neighbours with perplexity ``p =
        min(perplexity, 5)``: a low perplexity places points by their closest
        neighbours), starts at the median position of its 10 closest training
        points, and is then moved for 250 iterations of gradient descent on
        its own KL divergence ``KL(P_i || Q_i)`` against the training map,
        where ``q_{j|i} ∝ (1 + |y_i - y_j|² / α)^(-α)`` over the training
        points only, ``α`` the ``dof`` of the map's last optimisation (the
        method of openTSNE). New points neither move the training points
        nor each other, so a point's position does not depend on the batch it
        comes in.

        Cost: a neighbour query per new point plus, per iteration, O(k) for
        attraction and, for repulsion, O(1) (FFT: the training map's
        potentials are put on the interpolation grid once, each step only
        interpolates them), O(log n) (Barnes-Hut, a tree built once on the
        fixed map) or O(n) (exact).

        Transforming the training data does not give back ``embedding_``
        exactly: each point is re-placed as if it were new.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_new, n_features) or (n_new, n_samples_fit)
            New points, or their distances to the training points when
            ``metric="precomputed"`` (sparse rows when fitted on a graph).

        Returns
        -------
        X_new : ndarray of shape (n_new, n_components)
            Positions of the new points in the map.

        Examples
        --------
        >>> import numpy as np
        >>> from skunsup.manifold import TSNE
        >>> X = np.random.RandomState(0).normal(size=(40, 3))
        >>> tsne = TSNE(perplexity=5, max_iter=250, random_state=0).fit(X)
        >>> tsne.transform(X[:2] + 0.01).shape
        (2, 2)
        """
        check_is_fitted(self)
        X, _ = self._validate_X(X, reset=False)
        if self._input_scale != 1.0:
            X = X / self._input_scale
        perplexity = np.minimum(self.perplexity, _TRANSFORM_MAX_PERPLEXITY)
        executor = None if sp.issparse(X) else self._inference_executor()
        if executor is not None:
            return executor.transform(
                self._affinities.knn_index, self.embedding_, X, perplexity=perplexity,
                n_iter=_TRANSFORM_ITER, learning_rate=_TRANSFORM_LEARNING_RATE,
                momentum=_TRANSFORM_MOMENTUM, exaggeration=_TRANSFORM_EXAGGERATION,
                max_step=_TRANSFORM_MAX_STEP, dof=self._dof, label=self._label)
        with numba_threads(self.n_jobs):
            P_new = self._affinities.to_new(X, perplexity=perplexity)
            Y_new = _initialization.median_of_neighbors(P_new, self.embedding_)
            objective = make_objective(self._method, P_new, self.angle, Y_ref=self.embedding_,
                                       dof=self._dof)
            GradientDescent()(
                Y_new, objective, _TRANSFORM_ITER, _TRANSFORM_LEARNING_RATE,
                _TRANSFORM_MOMENTUM, exaggeration=_TRANSFORM_EXAGGERATION,
                kl_every=0, compute_final_kl=False, max_step=_TRANSFORM_MAX_STEP,
                label=self._label,
            )
        return Y_new
