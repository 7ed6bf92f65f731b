"""Stochastic Neighbor Embedding (Hinton & Roweis, 2003), exact."""

from skunsup.manifold._affinity import check_dense_memory, exact_affinities
from skunsup.manifold._base import _BaseSNE
from skunsup.manifold._objectives import SNEObjective
from skunsup.utils._sklearn_compat import _fit_context

__all__ = ["SNE"]

#: learning rate chosen by ``learning_rate="auto"``
AUTO_LEARNING_RATE = 0.25


class SNE(_BaseSNE):
    """Stochastic Neighbor Embedding (the original, asymmetric SNE).

    Every point ``i`` gets a conditional Gaussian ``p_{j|i}`` over the other
    points, its width calibrated so that the distribution has the given
    perplexity; the map has conditional Gaussians ``q_{j|i} ∝ exp(-|y_i -
    y_j|²)`` (a fixed variance of 1/2), and SNE minimises the sum over points
    of ``KL(P_i || Q_i)`` with the exact gradient ``2 sum_j (p_{j|i} - q_{j|i}
    + p_{i|j} - q_{i|j}) (y_i - y_j)``. Its Gaussian map kernel crowds
    moderately distant points together (the crowding problem that
    :class:`TSNE`'s heavy-tailed kernel solves).

    Read more in the :ref:`User Guide <sne>`.

    Parameters
    ----------
    n_components : int, default=2
        Dimension of the embedding.
    perplexity : float or list of floats, default=30.0
        Effective number of neighbours of every point (``< n_samples``). A
        list gives a multiscale mixture, as for :class:`TSNE`.
    early_exaggeration : float, default=1.0
        Factor multiplying P during the first iterations (a quarter of
        ``max_iter``, at most 250); 1 (the default) switches it off: SNE's
        Gaussian map kernel gains nothing from it on the data we tried.
    learning_rate : float or "auto", default="auto"
        Step size; ``"auto"`` is 0.25 (SNE's gradient does not scale with n,
        as each row of P sums to 1; steps above ~1 diverge).
    max_iter : int, default=1000
        Total iterations.
    n_iter_without_progress : int or None, default=300
        Stop after that many iterations of the main phase without a lower
        cost (evaluated every 50 iterations; -1 or 0: at the first check
        without progress); None never stops for this.
    min_grad_norm : float, default=1e-7
        Stop when the gradient norm falls below this.
    metric : str or callable, default="euclidean"
        A metric of :class:`sklearn.neighbors.NearestNeighbors`, or
        ``"precomputed"`` (X is a dense square distance matrix). Distances are
        squared inside the Gaussian; negative ones raise a ``ValueError``.
    metric_params : dict, default=None
        Keyword arguments of the metric.
    init : {"pca", "random"} or ndarray of shape (n_samples, n_components), default="pca"
        Initial map (``"pca"`` is classical MDS for precomputed distances),
        rescaled to a standard deviation of 1e-4.
    verbose : int, default=0
        1 prints a summary, 2 also the cost every 50 iterations.
    random_state : int, RandomState instance or None, default=None
        Seed of the random initialisation.
    n_jobs : int, default=None
        Threads (None: all of numba's threads). The result does not depend on it.
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

    Attributes
    ----------
    embedding_ : ndarray of shape (n_samples, n_components)
        The map.
    kl_divergence_ : float
        ``sum_i KL(P_i || Q_i)`` at the end.
    n_iter_ : int
        Iterations run.
    learning_rate_ : float
        The learning rate used.
    n_features_in_ : int
        Number of features seen during fit.
    feature_names_in_ : ndarray of shape (n_features_in_,)
        Names of features seen during fit, when X has string column names.

    See Also
    --------
    TSNE : The symmetric, heavy-tailed successor, with Barnes-Hut and transform.

    Notes
    -----
    Exact only: O(n²) time per iteration and O(n²) memory (P and P + Pᵀ are
    dense; sizes that would not fit are refused). SNE has no ``transform``.

    Hinton & Roweis write the Gaussian as ``exp(-d²/2σ²)``; the lecture's
    ``exp(-d²/σ²)`` only renames σ, which is calibrated to the perplexity
    anyway. The optimiser (momentum 0.5 then 0.8, gains, early exaggeration)
    is t-SNE's, not the paper's annealed jitter.

    References
    ----------
    G. Hinton and S. Roweis, "Stochastic Neighbor Embedding", NIPS 15, 2003.

    Examples
    --------
    >>> import numpy as np
    >>> from skunsup.manifold import SNE
    >>> X = np.random.RandomState(0).normal(size=(40, 5))
    >>> SNE(perplexity=5, random_state=0).fit_transform(X).shape
    (40, 2)
    """

    _parameter_constraints: dict = {**_BaseSNE._parameter_constraints}

    _label = "SNE"

    def __init__(
        self,
        n_components=2,
        *,
        perplexity=30.0,
        early_exaggeration=1.0,
        learning_rate="auto",
        max_iter=1000,
        n_iter_without_progress=300,
        min_grad_norm=1e-7,
        metric="euclidean",
        metric_params=None,
        init="pca",
        verbose=0,
        random_state=None,
        n_jobs=None,
        exaggeration=None,
        callbacks=None,
        callbacks_every_iters=50,
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
        self.n_jobs = n_jobs
        self.exaggeration = exaggeration
        self.callbacks = callbacks
        self.callbacks_every_iters = callbacks_every_iters

    def _check_params_vs_input(self, X, on_device=False):
        super()._check_params_vs_input(X, on_device)
        self._check_sparse_graph(X, "exact")
        check_dense_memory(X.shape[0], 4, "SNE (exact only)")

    def _auto_learning_rate(self, n_samples):
        return AUTO_LEARNING_RATE

    def _make_affinities(self, X, rng):
        self._print(1, f"Computing pairwise distances (all {X.shape[0] - 1} nearest "
                       "neighbors...)")
        return exact_affinities(X, self.perplexity, metric=self.metric,
                                metric_params=self.metric_params, symmetrize=False,
                                n_jobs=self.n_jobs)

    def _make_objective(self, P, executor=None):
        return SNEObjective(P)

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
        self : SNE
            The fitted estimator.

        Examples
        --------
        >>> import numpy as np
        >>> from skunsup.manifold import SNE
        >>> X = np.random.RandomState(0).normal(size=(30, 3))
        >>> SNE(perplexity=5, max_iter=100, random_state=0).fit(X).embedding_.shape
        (30, 2)
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
        >>> from skunsup.manifold import SNE
        >>> X = np.random.RandomState(0).normal(size=(30, 3))
        >>> SNE(perplexity=5, max_iter=100, random_state=0).fit_transform(X).shape
        (30, 2)
        """
        return self._fit_embedding(X)
