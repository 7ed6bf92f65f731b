"""One torch training base for every neural estimator of skunsup.

:class:`BaseTorchEstimator` owns everything that is not the model: input
validation, device choice, seeding, batching from in-memory tensors, the
optimiser, early stopping, warm starts, ``partial_fit``, callbacks, history,
Ctrl-C and divergence handling, pickling. A model only adds hooks:
``_setup`` (data-dependent choices at the first fit), ``_build_module``,
``_loss`` (the training loss of a batch) and ``_sample_losses`` (per-sample
evaluation loss). torch is imported when a model is fitted or used, never at
import time.
"""

import copy
import time
import warnings
from abc import ABCMeta, abstractmethod
from numbers import Integral, Real

import numpy as np
from sklearn.base import BaseEstimator, ClassNamePrefixFeaturesOutMixin, TransformerMixin
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_array, check_is_fitted, validate_data

from skunsup.neural_network._modules import ACTIVATIONS
from skunsup.utils._sklearn_compat import Interval, StrOptions, _fit_context
from skunsup.utils._torch import import_torch
from skunsup.utils._validation import check_squares_fit

# Rows per forward pass at inference time (transform, score, ...).
_INFERENCE_CHUNK = 8192
_OPTIMIZERS = ("adam", "adamw", "sgd", "rmsprop")


def _tree_to_cpu(value):
    """Copy every tensor of a (nested) optimiser state dict to the CPU."""
    if hasattr(value, "detach"):
        return value.detach().to("cpu", copy=True)
    if isinstance(value, dict):
        return {key: _tree_to_cpu(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(_tree_to_cpu(item) for item in value)
    return copy.deepcopy(value)


def _state_copy(module):
    """A detached copy of a module's weights (kept on the module's device)."""
    return {key: value.detach().clone() for key, value in module.state_dict().items()}


def resolve_device(device, torch, *, strict=True):
    """The torch device for a ``device`` parameter value.

    ``'auto'`` is CUDA when torch sees a CUDA device, else the CPU. An explicit
    ``'cuda'`` / ``'mps'`` that is not available raises a ValueError when
    ``strict`` (at fit time) and falls back to the CPU with a warning otherwise
    (inference with a model fitted elsewhere).
    """
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if device == "cuda" and not torch.cuda.is_available():
        problem = (f"device='cuda' was requested but this torch ({torch.__version__}) "
                   "sees no CUDA device (torch.cuda.is_available() is False)")
    elif device == "mps" and not (hasattr(torch.backends, "mps")
                                  and torch.backends.mps.is_available()):
        problem = "device='mps' was requested but torch reports MPS as unavailable"
    else:
        return torch.device(device)
    if strict:
        raise ValueError(problem + "; use device='cpu' or device='auto'.")
    warnings.warn(problem + "; running on the CPU instead.", UserWarning, stacklevel=3)
    return torch.device("cpu")


class BaseTorchEstimator(ClassNamePrefixFeaturesOutMixin, TransformerMixin, BaseEstimator,
                         metaclass=ABCMeta):
    """Base class of the torch estimators: the training loop and its bookkeeping.

    Not for direct use: subclasses define ``__init__`` with their parameters and
    the hooks ``_setup``, ``_build_module``, ``_loss`` and ``_sample_losses``.

    Callbacks are objects with any of the methods ``on_train_begin(estimator)``
    (reset your state there: it is called at the start of every ``fit``),
    ``on_epoch_end(estimator, logs)`` (return True to stop training) and
    ``on_train_end(estimator)``; ``logs`` is the epoch's entry of ``history_``.
    """

    _parameter_constraints: dict = {
        "n_components": [Interval(Integral, 1, None, closed="left")],
        "hidden_layer_sizes": ["array-like", Interval(Integral, 1, None, closed="left")],
        "activation": [StrOptions(set(ACTIVATIONS))],
        "batch_size": [Interval(Integral, 1, None, closed="left")],
        "max_epochs": [Interval(Integral, 1, None, closed="left")],
        "learning_rate": [Interval(Real, 0, None, closed="neither")],
        "optimizer": [StrOptions(set(_OPTIMIZERS))],
        "weight_decay": [Interval(Real, 0, None, closed="left")],
        "shuffle": ["boolean"],
        "early_stopping": ["boolean"],
        "validation_fraction": [Interval(Real, 0, 1, closed="left")],
        "n_iter_no_change": [Interval(Integral, 1, None, closed="left")],
        "tol": [Interval(Real, 0, None, closed="left")],
        "warm_start": ["boolean"],
        "device": [StrOptions({"auto", "cpu", "cuda", "mps"})],
        "callbacks": [list, None],
        "random_state": ["random_state"],
        "verbose": ["verbose"],
    }

    # ------------------------------------------------------------------ hooks
    @abstractmethod
    def _setup(self, X):
        """Data-dependent choices made once, at the first fit (e.g. the loss)."""

    def _check_input_range(self, X):
        """Check a training array against the model's needs (every fit call).

        The default serves the models with a ``loss`` in {'auto', 'bce', 'mse'}
        resolved into ``reconstruction_loss_`` by ``_setup``: BCE needs data in [0, 1].
        """
        if getattr(self, "reconstruction_loss_", None) == "bce" and (
                X.min() < 0.0 or X.max() > 1.0):
            raise ValueError(
                f"loss='bce' needs data in [0, 1], but X lies in [{X.min():.4g}, "
                f"{X.max():.4g}]; scale it with sklearn.preprocessing.MinMaxScaler "
                "or use loss='mse'.")

    def _resolve_loss(self, X, bce_allowed=True):
        """Resolve ``loss='auto'`` (other values are returned as they are).

        'auto' is 'bce' when X lies in [0, 1] and ``bce_allowed``, else 'mse'.
        """
        if self.loss != "auto":
            return self.loss
        in_unit_range = X.size > 0 and X.min() >= 0.0 and X.max() <= 1.0
        return "bce" if bce_allowed and in_unit_range else "mse"

    @abstractmethod
    def _build_module(self, n_features):
        """Return a fresh ``torch.nn.Module`` for ``n_features`` inputs."""

    @abstractmethod
    def _loss(self, module, X_batch, generator):
        """Training loss of a batch: ``(scalar tensor to minimise, {name: scalar tensor})``."""

    @abstractmethod
    def _sample_losses(self, module, X_chunk, generator):
        """Per-sample evaluation losses (1-D tensor), the unit of ``train_loss``."""

    def _after_fit(self, X_tensor):
        """Set model-specific fitted attributes (module on the CPU, eval mode)."""

    # ------------------------------------------------------------- utilities
    @property
    def _n_features_out(self):
        return self.n_components

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.transformer_tags.preserves_dtype = ["float64", "float32"]
        return tags

    def _hidden_sizes(self):
        sizes = np.ravel(np.asarray(self.hidden_layer_sizes, dtype=object))
        try:
            ints = [int(s) for s in sizes]
        except (TypeError, ValueError):
            ints = None
        if ints is None or any(i < 1 or i != s for i, s in zip(ints, sizes)):
            raise ValueError("hidden_layer_sizes must hold positive integers, got "
                             f"{self.hidden_layer_sizes!r}.")
        return tuple(ints)

    def _to_tensor(self, X, device=None, dtype=np.float32):
        """float32 tensor of an array (no copy when C-contiguous writeable float32 on CPU)."""
        torch = import_torch(type(self).__name__)
        X = np.asarray(X)
        if X.dtype != dtype or not X.flags.c_contiguous or not X.flags.writeable:
            X = np.ascontiguousarray(X, dtype=dtype)
            if not X.flags.writeable:
                X = X.copy()
        tensor = torch.from_numpy(X)
        return tensor if device is None else tensor.to(device)

    def _validate_X(self, X, reset):
        X = validate_data(self, X, reset=reset, dtype=[np.float64, np.float32])
        # the networks compute in float32: refuse values whose cast or squares overflow it
        check_squares_fit(X, dtype=np.float32, estimator=type(self).__name__)
        return X

    def _inference(self, func, *arrays, out_dtype=np.float64, seed=None, double=False):
        """Run ``func(module, *tensors, generator)`` chunk by chunk without gradients.

        The module stays on the CPU between calls; it is moved to the device for
        the call and back afterwards. ``double=True`` evaluates a float64 copy of
        the module (per-sample scores that must not depend on the batch they are
        computed in). Returns a NumPy array of ``out_dtype``.
        """
        torch = import_torch(type(self).__name__)
        device = resolve_device(self.device, torch, strict=False)
        module = self.module_
        dtype = np.float32
        if double:
            module, dtype = copy.deepcopy(module).double(), np.float64
        generator = torch.Generator(device=device)
        generator.manual_seed(int(self._seed if seed is None else seed))
        n_rows = len(arrays[0])
        outputs = []
        try:
            if device.type != "cpu":
                module.to(device)
            module.eval()
            with torch.no_grad():
                for start in range(0, max(n_rows, 1), _INFERENCE_CHUNK):
                    chunk = [self._to_tensor(a[start:start + _INFERENCE_CHUNK], device, dtype)
                             for a in arrays]
                    outputs.append(func(module, *chunk, generator).cpu().numpy())
        finally:
            if device.type != "cpu":
                module.to("cpu")
        return np.concatenate(outputs).astype(out_dtype, copy=False)

    def _make_optimizer(self, torch, parameters):
        kwargs = {"lr": self.learning_rate, "weight_decay": self.weight_decay}
        if self.optimizer in ("adam", "adamw"):
            # The fused kernel (CPU and CUDA) took a third of the time of the default
            # per-tensor Adam step here: ~15% of an epoch of the lecture's autoencoder.
            cls = torch.optim.Adam if self.optimizer == "adam" else torch.optim.AdamW
            parameters = list(parameters)
            try:
                return cls(parameters, fused=True, **kwargs)
            except (RuntimeError, TypeError, ValueError):
                return cls(parameters, **kwargs)
        if self.optimizer == "rmsprop":
            return torch.optim.RMSprop(parameters, **kwargs)
        return torch.optim.SGD(parameters, momentum=0.9, nesterov=True, **kwargs)

    def _divergence_message(self, epoch, value, X):
        scale = float(np.max(np.abs(X))) if X.size else 0.0
        return (
            f"{type(self).__name__} diverged: the training loss became {value} at epoch "
            f"{epoch}. Likely causes: a learning_rate too large for optimizer="
            f"'{self.optimizer}' (learning_rate={self.learning_rate}; try 10x smaller), "
            f"or unscaled input data (max |X| = {scale:.3g}; scale it first, e.g. with "
            "MinMaxScaler or StandardScaler). The weights of the best epoch so far were "
            "kept in module_."
        )

    # -------------------------------------------------------------- fitting
    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None):
        """Train the model on X (``max_epochs`` passes, or until early stopping).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training data.
        y : None
            Ignored, present for API consistency.

        Returns
        -------
        self : object
            The fitted estimator.

        Raises
        ------
        FloatingPointError
            When the loss becomes NaN or infinite; the best weights so far are kept.
        """
        continuing = self.warm_start and hasattr(self, "module_")
        if continuing:
            n_before = self.n_features_in_
            X = self._validate_X(X, reset=True)
            if X.shape[1] != n_before:
                raise ValueError(
                    f"warm_start=True continues a model fitted on {n_before} features, but "
                    f"X has {X.shape[1]} features; set warm_start=False to refit.")
        else:
            X = self._validate_X(X, reset=True)
        return self._train(X, continuing=continuing, n_epochs=self.max_epochs,
                           use_early_stopping=self.early_stopping)

    @_fit_context(prefer_skip_nested_validation=True)
    def partial_fit(self, X, y=None):
        """One pass (epoch) over X, continuing the current model if fitted.

        ``early_stopping`` and ``n_iter_no_change`` do not apply: each call is one
        epoch over the data given.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training data.
        y : None
            Ignored, present for API consistency.

        Returns
        -------
        self : object
            The updated estimator.
        """
        continuing = hasattr(self, "module_")
        X = self._validate_X(X, reset=not continuing)
        return self._train(X, continuing=continuing, n_epochs=1, use_early_stopping=False)

    def _split(self, X, rng, use_early_stopping):
        if not use_early_stopping:
            return X, None
        n_samples = X.shape[0]
        n_valid = int(round(self.validation_fraction * n_samples))
        if n_valid < 1 or n_samples - n_valid < 1:
            raise ValueError(
                f"early_stopping=True with validation_fraction={self.validation_fraction} "
                f"leaves an empty training or validation set for {n_samples} samples; "
                "use more samples, another validation_fraction, or early_stopping=False.")
        order = rng.permutation(n_samples)
        return X[np.sort(order[n_valid:])], X[np.sort(order[:n_valid])]

    def _train(self, X, *, continuing, n_epochs, use_early_stopping):
        torch = import_torch(type(self).__name__)
        self._hidden_sizes()
        self._check_params_vs_input(X)
        device = resolve_device(self.device, torch, strict=True)
        rng = check_random_state(self.random_state)
        if not continuing:
            self._seed = int(rng.randint(np.iinfo(np.int32).max))
            self._setup(X)
            self._check_input_range(X)
            with torch.random.fork_rng(devices=[]):
                torch.manual_seed(self._seed)
                self.module_ = self._build_module(X.shape[1])
            self.history_ = []
            self.n_iter_ = 0
            self._optimizer_state = None
        else:
            self._check_input_range(X)
        X_train, X_valid = self._split(X, rng, use_early_stopping)

        module = self.module_.to(device)
        module.train()
        optimizer = self._make_optimizer(torch, module.parameters())
        if self._optimizer_state is not None:
            optimizer.load_state_dict(self._optimizer_state)
        generator = torch.Generator(device=device)
        generator.manual_seed((self._seed + 1_000_003 * self.n_iter_) % (2**62))
        X_t = self._to_tensor(X_train, device)
        X_v = None if X_valid is None else self._to_tensor(X_valid, device)
        n_samples = X_t.shape[0]
        batch_size = min(self.batch_size, n_samples)
        monitor = "valid_loss" if X_v is not None else "train_loss"

        callbacks = list(self.callbacks or [])
        for callback in callbacks:
            if hasattr(callback, "on_train_begin"):
                callback.on_train_begin(self)
        best_loss, best_state, best_epoch = np.inf, _state_copy(module), self.n_iter_
        no_improvement = 0
        progress = self._progress_bar(n_epochs)
        diverged = None
        try:
            for _ in range(n_epochs):
                start_time = time.perf_counter()
                module.train()
                if self.shuffle:
                    order = torch.randperm(n_samples, generator=generator, device=device)
                else:
                    order = torch.arange(n_samples, device=device)
                # loss and logged terms summed on the device in one small tensor (two
                # kernels per batch, no host sync): a GPU at these sizes is launch-bound
                totals, names = None, ()
                for start in range(0, n_samples, batch_size):
                    batch = X_t[order[start:start + batch_size]]
                    loss, logs = self._loss(module, batch, generator)
                    optimizer.zero_grad(set_to_none=True)
                    loss.backward()
                    optimizer.step()
                    with torch.no_grad():
                        values = torch.stack([loss, *logs.values()]) if logs else loss[None]
                        if totals is None:
                            totals, names = values * batch.shape[0], tuple(logs)
                        else:
                            totals.add_(values, alpha=batch.shape[0])
                sums = (totals / n_samples).tolist()
                train_loss = sums[0]
                self.n_iter_ += 1
                entry = {"epoch": self.n_iter_, "train_loss": train_loss}
                entry.update(zip(names, sums[1:]))
                if not np.isfinite(train_loss):
                    diverged = (self.n_iter_, train_loss)
                    break
                if X_v is not None:
                    entry["valid_loss"] = self._mean_eval_loss(module, X_v, torch)
                    module.train()
                    if not np.isfinite(entry["valid_loss"]):
                        diverged = (self.n_iter_, entry["valid_loss"])
                        break
                entry["time"] = time.perf_counter() - start_time
                self.history_.append(entry)
                current = entry[monitor]
                if current < best_loss - self.tol:
                    no_improvement = 0
                else:
                    no_improvement += 1
                if current < best_loss:
                    best_loss, best_epoch = current, self.n_iter_
                    best_state = _state_copy(module)
                self._report(progress, entry)
                stop = False
                for callback in callbacks:
                    if hasattr(callback, "on_epoch_end") and callback.on_epoch_end(self, entry):
                        stop = True
                if stop or (n_epochs > 1 and no_improvement >= self.n_iter_no_change):
                    break
        except KeyboardInterrupt:
            warnings.warn(
                f"{type(self).__name__}.fit was interrupted (KeyboardInterrupt) after "
                f"{self.n_iter_} epochs; the model is usable"
                + (" and holds the best epoch's weights." if X_v is not None else "."),
                UserWarning, stacklevel=3)
        finally:
            if progress is not None:
                progress.close()

        if diverged is not None or (X_v is not None and np.isfinite(best_loss)):
            module.load_state_dict(best_state)
        self.best_loss_ = float(best_loss)
        self.best_epoch_ = int(best_epoch)
        self._finish(module, optimizer, X_t)
        for callback in callbacks:
            if hasattr(callback, "on_train_end"):
                callback.on_train_end(self)
        if diverged is not None:
            raise FloatingPointError(self._divergence_message(*diverged, X))
        return self

    def _finish(self, module, optimizer, X_t):
        torch = import_torch(type(self).__name__)
        self._optimizer_state = _tree_to_cpu(optimizer.state_dict())
        module.to("cpu")
        module.eval()
        self.module_ = module
        self.loss_curve_ = [entry["train_loss"] for entry in self.history_]
        with torch.no_grad():
            self._after_fit(X_t.cpu())

    def _mean_eval_loss(self, module, X_t, torch):
        module.eval()
        generator = torch.Generator(device=X_t.device)
        generator.manual_seed(self._seed)
        total = 0.0
        with torch.no_grad():
            for start in range(0, X_t.shape[0], _INFERENCE_CHUNK):
                total += float(self._sample_losses(
                    module, X_t[start:start + _INFERENCE_CHUNK], generator).sum())
        return total / X_t.shape[0]

    def _progress_bar(self, n_epochs):
        if not self.verbose:
            return None
        try:
            from tqdm.auto import tqdm
        except ImportError:
            return None
        return tqdm(total=n_epochs, desc=type(self).__name__, unit="epoch")

    def _report(self, progress, entry):
        if not self.verbose:
            return
        shown = {k: round(v, 5) for k, v in entry.items() if k not in ("epoch", "time")}
        if progress is not None:
            progress.set_postfix(shown, refresh=False)
            progress.update(1)
        else:
            print(f"epoch {entry['epoch']}: " + ", ".join(f"{k}={v}" for k, v in shown.items())
                  + f" ({entry['time']:.2f}s)", flush=True)

    def _check_params_vs_input(self, X):
        """Data-dependent parameter checks (before any training)."""

    # ----------------------------------------------------------- inference
    def _check_codes(self, Z, name="Z"):
        Z = check_array(Z, dtype=[np.float64, np.float32], input_name=name)
        if Z.shape[1] != self.n_components:
            raise ValueError(
                f"{name} has {Z.shape[1]} features, but {type(self).__name__} has "
                f"n_components={self.n_components}.")
        return Z

    def transform(self, X):
        """Encode X: the code (latent representation) of every sample.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Data to encode.

        Returns
        -------
        X_new : ndarray of shape (n_samples, n_components)
            The codes, in X's float dtype.
        """
        check_is_fitted(self)
        X = self._validate_X(X, reset=False)
        return self._inference(lambda m, x, g: self._encode(m, x), X, out_dtype=X.dtype)

    def inverse_transform(self, X):
        """Decode codes back to the input space.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_components)
            Codes, e.g. the output of :meth:`transform`.

        Returns
        -------
        X_original : ndarray of shape (n_samples, n_features_in_)
            The decoded data (probabilities in [0, 1] for a BCE model).
        """
        check_is_fitted(self)
        Z = self._check_codes(X, "X")
        return self._inference(lambda m, z, g: self._decode(m, z), Z, out_dtype=Z.dtype)

    def _encode(self, module, X):
        return module["encoder"](X)

    def _decode(self, module, Z):
        return self._output(module["decoder"](Z))

    def _output(self, raw):
        return raw
