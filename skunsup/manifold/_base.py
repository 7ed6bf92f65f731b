"""The base shared by SNE and TSNE: validation, initial map, the two optimisation phases.

A fit runs in phases, which ``verbose`` prints and which callbacks with an
``on_phase`` method (:class:`~skunsup.utils.ProgressBar`) are told of: the
neighbour search (``"kNN"``: its method and wall time), the affinities
(``"affinities"``: perplexity calibration and P), then the optimisation's
``"early exaggeration"`` and ``"main"`` phases (``"optimize"`` for
:meth:`_BaseSNE.optimize`), whose iterations the callbacks see.
"""

import time
from numbers import Integral, Real

import numpy as np
import scipy.sparse as sp
from sklearn.base import BaseEstimator, ClassNamePrefixFeaturesOutMixin, TransformerMixin
from sklearn.neighbors import VALID_METRICS
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_is_fitted, check_non_negative, validate_data

from skunsup.manifold import _initialization
from skunsup.manifold._locality import LOCALITY_MIN_SAMPLES, locality_order, permute_symmetric
from skunsup.manifold._optimizer import GradientDescent
from skunsup.utils._callbacks import as_callback_list, report_phase, run_callbacks
from skunsup.utils._numba import numba_threads
from skunsup.utils._sklearn_compat import Interval, StrOptions
from skunsup.utils._validation import check_magnitude_fits, largest_magnitude

# the metrics of NearestNeighbors' brute force (parameters via metric_params)
_METRICS = sorted(set(VALID_METRICS["brute"]) | {"precomputed"})

# Momentum of the exaggeration phase and of the main phase: the schedule of
# van der Maaten & Hinton (2008), kept by scikit-learn and openTSNE.
MOMENTUM_EARLY = 0.5
MOMENTUM_MAIN = 0.8
# Largest float64: squared distances above it overflow (see _check_magnitude).
_FLOAT_MAX = float(np.finfo(np.float64).max)
# Euclidean input whose largest magnitude is above _RESCALE_ABOVE or below
# _RESCALE_BELOW is divided by it: squared distances (~1e±200) then stay far
# from float64's overflow (~1e308) and from its denormals (~1e-308).
_RESCALE_ABOVE = 1e100
_RESCALE_BELOW = 1e-100


class _BaseSNE(ClassNamePrefixFeaturesOutMixin, TransformerMixin, BaseEstimator):
    """Shared fit of the stochastic neighbour embeddings (not public)."""

    _parameter_constraints: dict = {
        "n_components": [Interval(Integral, 1, None, closed="left")],
        "perplexity": [Interval(Real, 0, None, closed="neither"), "array-like"],
        "early_exaggeration": [Interval(Real, 1, None, closed="left")],
        "learning_rate": [StrOptions({"auto"}), Interval(Real, 0, None, closed="neither")],
        "max_iter": [Interval(Integral, 1, None, closed="left")],
        "n_iter_without_progress": [Interval(Integral, -1, None, closed="left"), None],
        "min_grad_norm": [Interval(Real, 0, None, closed="left")],
        "metric": [StrOptions(set(_METRICS)), callable],
        "metric_params": [dict, None],
        "init": [StrOptions({"pca", "random"}), np.ndarray],
        "random_state": ["random_state"],
        "verbose": ["verbose"],
        "n_jobs": [None, Integral],
        "exaggeration": [None, Interval(Real, 0, None, closed="neither")],
        "callbacks": [None, callable, list, tuple],
        "callbacks_every_iters": [Interval(Integral, 1, None, closed="left")],
    }

    _label = "SNE"

    #: iterations of the early-exaggeration phase (at most a quarter of max_iter);
    #: scikit-learn's name, which its tests set on instances
    _EXPLORATION_MAX_ITER = 250
    #: iterations between evaluations of the KL (progress checks, verbose lines)
    _N_ITER_CHECK = 50

    # -- hooks for subclasses -------------------------------------------------
    def _check_params_vs_input(self, X, on_device=False):
        """Refuse parameters that do not fit X (``on_device``: the fit runs on a torch device)."""
        n_samples = X.shape[0]
        scales = np.asarray(self.perplexity, dtype=np.float64)
        if scales.ndim > 1 or scales.size == 0 or not np.all(scales > 0):
            raise ValueError(
                "perplexity must be a positive number or a non-empty list of positive "
                f"numbers (a multiscale mixture); got {self.perplexity!r}")
        if np.max(scales) >= n_samples:
            raise ValueError(
                f"perplexity ({self.perplexity}) must be less than n_samples ({n_samples}); "
                "a perplexity is an effective number of neighbours"
            )
        if isinstance(self.init, np.ndarray):
            if self.init.shape != (n_samples, self.n_components):
                raise ValueError(
                    f"init array has shape {self.init.shape}, expected (n_samples, "
                    f"n_components) = {(n_samples, self.n_components)}"
                )
            if not np.all(np.isfinite(self.init)):
                raise ValueError("init array contains NaN or infinity")

    def _check_sparse_graph(self, X, method):
        """Refuse a sparse precomputed graph for the exact method (scikit-learn's TypeError)."""
        if self.metric == "precomputed" and sp.issparse(X) and method == "exact":
            raise TypeError(
                f'{type(self).__name__} with method="exact" does not accept sparse '
                'precomputed distance matrix. Use method="barnes_hut" '
                "or provide the dense distance matrix."
            )

    def _make_affinities(self, X, rng):  # pragma: no cover - abstract
        raise NotImplementedError

    def _make_objective(self, P, executor=None):  # pragma: no cover - abstract
        """The objective of P: the numba path's, or ``executor``'s (a torch device's)."""
        raise NotImplementedError

    def _fit_executor(self, X):
        """The torch executor a fit of X runs on, or None for the numba path (the default)."""
        return None

    def _inference_executor(self):
        """The torch executor of ``optimize`` / ``transform``, or None for the numba path."""
        return None

    def _auto_learning_rate(self, n_samples):  # pragma: no cover - abstract
        raise NotImplementedError

    def _auto_main_phase(self, n_samples, learning_rate):
        """(learning rate, per-point step limit) of the main phase under ``learning_rate="auto"``.

        Default: the exaggeration phase's rate, no step limit (0).
        """
        return learning_rate, 0.0

    # -- shared machinery -------------------------------------------------------
    @property
    def _n_features_out(self):
        return self.n_components

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.pairwise = self.metric == "precomputed"
        tags.input_tags.sparse = True  # CSR/CSC features and sparse distance graphs
        return tags

    def _validate_X(self, X, reset):
        X = validate_data(
            self, X, reset=reset, dtype=[np.float64, np.float32], order="C",
            accept_sparse="csr", ensure_min_samples=2 if reset else 1,
        )
        if self.metric == "precomputed":
            if reset and X.shape[0] != X.shape[1]:
                raise ValueError(
                    f"metric='precomputed' needs X to be a square distance matrix; got "
                    f"shape {X.shape}"
                )
            check_non_negative(
                X, f"{type(self).__name__}.fit(). With metric='precomputed', X should "
                   "contain positive distances."
            )
        return X, self._check_magnitude(X)

    def _check_magnitude(self, X):
        """Refuse data whose squared distances overflow float64 (before any kernel runs).

        Features of magnitude up to ``M`` give squared Euclidean distances up to
        ``n_features (2M)²``; precomputed distances ``D`` go squared into the
        Gaussian. Returns ``M``, the largest magnitude (no copy of X is made).
        """
        largest = largest_magnitude(X)
        if self.metric == "precomputed":
            limit = np.sqrt(_FLOAT_MAX)
        else:
            limit = np.sqrt(_FLOAT_MAX / X.shape[1]) / 2.0
        check_magnitude_fits(largest, limit=limit, estimator=type(self).__name__)
        return largest

    @staticmethod
    def _input_scale_of(largest, metric):
        """A divisor for Euclidean data of extreme magnitude (P does not change, distances stay finite)."""
        if metric != "euclidean":
            return 1.0
        extreme = largest > _RESCALE_ABOVE or 0 < largest < _RESCALE_BELOW
        return largest if extreme else 1.0

    def _initial_embedding(self, X, affinities, rng):
        n_samples = X.shape[0]
        if isinstance(self.init, np.ndarray):
            return np.array(self.init, dtype=np.float64, order="C", copy=True)
        if self.init == "random":
            return _initialization.random(n_samples, self.n_components, rng)
        if self.metric == "precomputed" and sp.issparse(X):
            return _initialization.spectral(affinities.P, self.n_components, rng)
        if self.metric == "precomputed":
            return _initialization.classical_mds(X, self.n_components, rng)
        return _initialization.pca(X, self.n_components, rng)

    def _print(self, level, message):
        if self.verbose >= level:
            print(f"[{self._label}] {message}")

    def _fit_embedding(self, X):
        X, largest = self._validate_X(X, reset=True)
        executor = self._fit_executor(X)
        self._check_params_vs_input(X, on_device=executor is not None)
        rng = check_random_state(self.random_state)
        self._input_scale = self._input_scale_of(largest, self.metric)
        if self._input_scale != 1.0:
            X = X / self._input_scale
        n_samples = X.shape[0]
        max_iter = self.max_iter
        if self.learning_rate == "auto":
            learning_rate = self._auto_learning_rate(n_samples)
            main_learning_rate, max_step = self._auto_main_phase(n_samples, learning_rate)
        else:
            learning_rate = main_learning_rate = float(self.learning_rate)
            max_step = 0.0

        with numba_threads(self.n_jobs):
            if executor is None:
                affinities = self._make_affinities(X, rng)
            else:
                self._print(1, f"Computing the affinities on {executor.device}...")
                affinities = executor.affinities(X, self.perplexity)
            for name, seconds, detail in affinities.phases:
                self._print(1, f"Phase {name}: {seconds:.2f} s ({detail})")
                report_phase(self.callbacks, self, name, seconds, detail)
            self._print(1, f"Computed conditional probabilities for sample {n_samples} / "
                           f"{n_samples}")
            sigmas = affinities.sigmas[np.isfinite(affinities.sigmas)]
            self._print(1, f"Mean sigma: {np.mean(sigmas) if sigmas.size else np.inf:.6f}")
            Y = self._initial_embedding(X, affinities, rng)
            order = None
            if executor is not None:  # the device's objective takes its P as it is
                P, Y = affinities, executor.map(Y)
            else:
                P = affinities.P
                if sp.issparse(P) and n_samples >= LOCALITY_MIN_SAMPLES:
                    # renumber the points so that each one's neighbours in P sit
                    # nearby in memory (the attraction's reads hit the cache)
                    tic_order = time.perf_counter()
                    order = locality_order(P)
                    # float32 values, as the objectives keep them: no second copy
                    P = permute_symmetric(P, order, dtype=np.float32)
                    Y = np.ascontiguousarray(Y[order])
                    self._print(1, f"points reordered for locality in "
                                   f"{time.perf_counter() - tic_order:.2f} s")
            objective = self._make_objective(P, executor)
            del P  # the objective holds what it needs
            optimizer = GradientDescent() if executor is None else executor.optimizer()
            callback = self._callback(self.callbacks, order)
            n_early = min(self._EXPLORATION_MAX_ITER, max_iter // 4)
            tic = time.perf_counter()
            first = self._phase(
                "early exaggeration", optimizer, Y, objective, n_early, learning_rate,
                MOMENTUM_EARLY, exaggeration=self.early_exaggeration, max_step=max_step,
                callbacks=self.callbacks, callback=callback,
                callback_every=self.callbacks_every_iters, eta_until=max_iter)
            if self.verbose:
                kl_early, _ = optimizer.evaluate(objective, Y, self.early_exaggeration)
                self._print(1, f"KL divergence after {first.n_iter} iterations with early "
                               f"exaggeration: {kl_early:.6f}")
            result = first
            if first.reason in ("max_iter", "min_grad_norm"):
                result = self._phase(
                    "main", optimizer, Y, objective, max_iter - first.n_iter,
                    main_learning_rate, MOMENTUM_MAIN, exaggeration=self._main_exaggeration(),
                    max_step=max_step, callbacks=self.callbacks, callback=callback,
                    callback_every=self.callbacks_every_iters, eta_until=max_iter,
                    n_iter_without_progress=self.n_iter_without_progress)
            kl = self._final_kl(objective, Y, optimizer, tic)

        self.learning_rate_ = float(learning_rate)
        # kept on the host (numpy, SciPy) whatever the executor: a model fitted
        # on a GPU pickles, and continues on the numba path where there is none
        self._affinities = affinities if executor is None else affinities.to_host(X)
        # what optimize() continues from: the order of the points in the
        # optimiser, its state (momentum, gains) and the main phase's settings
        self._order = order
        self._optimizer = optimizer if executor is None else optimizer.to_host()
        self._main_learning_rate = main_learning_rate
        self._max_step = max_step
        # the FFT objective's grid, reused while the map fits in it: optimize()
        # continues on it, hence exactly as a longer fit would (None otherwise)
        self._workspace = getattr(objective, "workspace", None)
        self._stop_reason = result.reason
        return self._set_embedding(optimizer.host_map(Y), kl)

    def _phase(self, name, optimizer, Y, objective, n_iter, learning_rate, momentum, *,
               exaggeration, max_step, callbacks, callback, callback_every, eta_until,
               n_iter_without_progress=None):
        """One optimisation phase: announced (verbose, the callbacks' ``on_phase``),
        then one call of the optimiser with the settings every phase shares (the
        estimator's min_grad_norm, verbose and label; the KL every
        _N_ITER_CHECK iterations; the final KL left to _final_kl)."""
        detail = (f"{n_iter} iterations, exaggeration {exaggeration:g}, learning rate "
                  f"{learning_rate:g}")
        self._print(1, f"Phase {name}: {detail}")
        report_phase(callbacks, self, name, None, detail)
        return optimizer(
            Y, objective, n_iter, learning_rate, momentum, exaggeration=exaggeration,
            min_grad_norm=self.min_grad_norm, n_iter_without_progress=n_iter_without_progress,
            kl_every=self._N_ITER_CHECK, compute_final_kl=False, max_step=max_step,
            verbose=self.verbose, label=self._label, callback=callback,
            callback_every=callback_every, phase=name, eta_until=eta_until)

    def _main_exaggeration(self):
        return 1.0 if self.exaggeration is None else float(self.exaggeration)

    def _final_kl(self, objective, Y, optimizer, tic):
        """The KL of the map returned (one more gradient evaluation), printed as
        scikit-learn prints it (its last "Iteration" line gives kl_divergence_)."""
        kl, grad_norm = optimizer.evaluate(objective, Y)
        self._print(2, f"Iteration {optimizer.n_iter}: error = {kl:.7f}, gradient norm "
                       f"= {grad_norm:.7f} (returned map)")
        self._print(1, f"KL divergence after {optimizer.n_iter} iterations: {kl:.6f} "
                       f"({time.perf_counter() - tic:.2f} s)")
        return kl

    def _set_embedding(self, Y, kl):
        """Write the fitted map (in the data's order) and its KL; return the map."""
        if self._order is not None:
            Y_in_data_order = np.empty_like(Y)
            Y_in_data_order[self._order] = Y
            Y = Y_in_data_order
        self.embedding_ = Y
        self.kl_divergence_ = float(kl)
        self.n_iter_ = int(self._optimizer.n_iter)
        return Y

    def _callback(self, callbacks, order):
        """The optimiser's callback running ``callbacks`` on the map in data order (or None)."""
        callbacks = as_callback_list(callbacks)
        if not callbacks:
            return None
        inverse = None if order is None else np.argsort(order)

        def callback(iteration, kl, Y):
            embedding = Y.copy() if inverse is None else Y[inverse]
            return run_callbacks(callbacks, self, iteration, kl, embedding)

        return callback

    def optimize(self, n_iter, *, exaggeration=None, learning_rate=None, momentum=MOMENTUM_MAIN,
                 callbacks=None, callbacks_every_iters=None):
        """Continue the optimisation of the fitted map for ``n_iter`` more iterations.

        Runs the optimiser of the fit from where it stopped (its momentum and
        gains kept), as openTSNE's ``optimize`` does: to run longer, to try
        another exaggeration (e.g. 4 for a map with more separated clusters)
        or learning rate on a map already formed, or to anneal. Updates
        ``embedding_``, ``kl_divergence_`` (at exaggeration 1) and ``n_iter_``
        (counting every iteration since the start of the fit).

        Parameters
        ----------
        n_iter : int
            Iterations to run (fewer when ``min_grad_norm`` is reached or a
            callback stops them).
        exaggeration : float, default=None
            Factor multiplying P (None: the ``exaggeration`` parameter's, 1
            when that is None).
        learning_rate : float, default=None
            None: the main phase's learning rate of the fit (with its per-point
            step clip under ``learning_rate="auto"``); a number: that rate,
            unclipped.
        momentum : float, default=0.8
            Momentum of the updates (the main phase's).
        callbacks : callable or list of callables, default=None
            Called as in :meth:`fit` (None: the ``callbacks`` parameter's).
        callbacks_every_iters : int, default=None
            None: the ``callbacks_every_iters`` parameter's.

        Returns
        -------
        self : object
            The estimator, with the continued map.

        Examples
        --------
        >>> import numpy as np
        >>> from skunsup.manifold import TSNE
        >>> X = np.random.RandomState(0).normal(size=(60, 5))
        >>> tsne = TSNE(perplexity=10, max_iter=250, random_state=0).fit(X)
        >>> tsne.optimize(100).n_iter_
        350
        """
        check_is_fitted(self, "embedding_")
        if not (isinstance(n_iter, Integral) and n_iter >= 1):
            raise ValueError(f"n_iter must be a positive integer, got {n_iter!r}.")
        if not (isinstance(momentum, Real) and 0 <= momentum < 1):
            raise ValueError(f"momentum must be in [0, 1), got {momentum!r}.")
        if learning_rate is None:
            learning_rate, max_step = self._main_learning_rate, self._max_step
        elif isinstance(learning_rate, Real) and learning_rate > 0:
            learning_rate, max_step = float(learning_rate), 0.0
        else:
            raise ValueError(f"learning_rate must be a positive number, got {learning_rate!r}.")
        exaggeration = self._main_exaggeration() if exaggeration is None else float(exaggeration)
        if not exaggeration > 0:
            raise ValueError(f"exaggeration must be positive, got {exaggeration!r}.")
        every = self.callbacks_every_iters if callbacks_every_iters is None else int(
            callbacks_every_iters)
        callbacks = self.callbacks if callbacks is None else callbacks
        P, Y = self._affinities.P, self.embedding_
        if self._order is not None:  # the optimiser's order of the points
            P = permute_symmetric(P, self._order, dtype=np.float32)
            Y = Y[self._order]
        executor = self._inference_executor()
        with numba_threads(self.n_jobs):
            objective = self._make_objective(P, executor)
            del P
            if executor is None:
                Y, optimizer = np.array(Y, dtype=np.float64, order="C"), self._optimizer
                if self._workspace is not None and self._workspace.dof == objective.dof:
                    # the fit's grid, unless its kernel changed (set_params(dof=...))
                    objective.workspace = self._workspace
            else:
                Y, optimizer = executor.map(Y), executor.optimizer(self._optimizer)
            tic = time.perf_counter()
            result = self._phase(
                "optimize", optimizer, Y, objective, int(n_iter), learning_rate,
                float(momentum), exaggeration=exaggeration, max_step=max_step,
                callbacks=callbacks, callback=self._callback(callbacks, self._order),
                callback_every=every, eta_until=optimizer.n_iter + int(n_iter))
            kl = self._final_kl(objective, Y, optimizer, tic)
        self._optimizer = optimizer if executor is None else optimizer.to_host()
        self._workspace = getattr(objective, "workspace", None)  # the grid of the map's kernel
        self._stop_reason = result.reason
        self._set_embedding(optimizer.host_map(Y), kl)
        return self
