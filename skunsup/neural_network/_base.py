"""One torch training base for every neural estimator of skunsup.

:class:`BaseTorchEstimator` owns everything that is not the model: input
validation, device choice, seeding, early stopping, warm starts,
``partial_fit``, callbacks (one ``_notify`` for every event), history, Ctrl-C
and divergence handling, pickling; one training call's epochs run in
:class:`~skunsup.neural_network._training.TrainingRun`. A model only adds
hooks: ``_setup`` (data-dependent choices at the first fit), ``_build_module``,
``_loss`` (the training loss of a batch) and ``_sample_losses`` (per-sample
evaluation loss). torch is imported when a model is fitted or used, never at
import time.
"""

import copy
import sys
from abc import ABCMeta, abstractmethod
from numbers import Integral, Real

import numpy as np
from sklearn.base import BaseEstimator, ClassNamePrefixFeaturesOutMixin, TransformerMixin
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_array, check_is_fitted, validate_data

from skunsup.neural_network._format import write
from skunsup.neural_network._modules import ACTIVATIONS
from skunsup.neural_network._rebuild import pickle_state, restore_pickle_state
from skunsup.neural_network._schedules import SCHEDULES
from skunsup.neural_network._training import INFERENCE_CHUNK, OPTIMIZERS, TrainingRun
from skunsup.utils._sklearn_compat import Interval, StrOptions, _fit_context
from skunsup.utils._callbacks import ProgressBar, warn_interrupted
from skunsup.utils._torch import import_torch, resolve_device
from skunsup.utils._validation import check_squares_fit


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
        "optimizer": [StrOptions(set(OPTIMIZERS))],
        "learning_rate_schedule": [StrOptions(set(SCHEDULES)), callable],
        "max_grad_norm": [Interval(Real, 0, None, closed="neither"), None],
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
    def _loss(self, module, X_batch, generator, *condition):
        """Training loss of a batch: ``(scalar tensor to minimise, {name: scalar tensor})``.

        ``condition`` is empty, or holds the batch's rows of the condition that a
        conditional model passes to ``_train``.
        """

    @abstractmethod
    def _sample_losses(self, module, X_chunk, generator, *condition):
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
                for start in range(0, max(n_rows, 1), INFERENCE_CHUNK):
                    chunk = [self._to_tensor(a[start:start + INFERENCE_CHUNK], device, dtype)
                             for a in arrays]
                    outputs.append(func(module, *chunk, generator).cpu().numpy())
        finally:
            if device.type != "cpu":
                module.to("cpu")
        return np.concatenate(outputs).astype(out_dtype, copy=False)

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

        Examples
        --------
        >>> import numpy as np
        >>> from skunsup.neural_network import Autoencoder
        >>> X = np.random.default_rng(0).random((60, 8))
        >>> ae = Autoencoder(n_components=2, hidden_layer_sizes=(4,), max_epochs=3,
        ...                  random_state=0, device="cpu").fit(X)
        >>> ae.n_iter_, len(ae.history_)
        (3, 3)
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

        Examples
        --------
        >>> import numpy as np
        >>> from skunsup.neural_network import Autoencoder
        >>> X = np.random.default_rng(0).random((60, 8))
        >>> ae = Autoencoder(n_components=2, hidden_layer_sizes=(4,), random_state=0,
        ...                  device="cpu")
        >>> for block in np.array_split(X, 3):
        ...     ae = ae.partial_fit(block)
        >>> ae.n_iter_
        3
        """
        continuing = hasattr(self, "module_")
        X = self._validate_X(X, reset=not continuing)
        return self._train(X, continuing=continuing, n_epochs=1, use_early_stopping=False)

    def _split(self, arrays, rng, use_early_stopping):
        """Training and validation tuples of row-aligned ``arrays`` (no validation: None)."""
        if not use_early_stopping:
            return arrays, None
        n_samples = arrays[0].shape[0]
        n_valid = int(round(self.validation_fraction * n_samples))
        if n_valid < 1 or n_samples - n_valid < 1:
            raise ValueError(
                f"early_stopping=True with validation_fraction={self.validation_fraction} "
                f"leaves an empty training or validation set for {n_samples} samples; "
                "use more samples, another validation_fraction, or early_stopping=False.")
        order = rng.permutation(n_samples)
        train, valid = np.sort(order[n_valid:]), np.sort(order[:n_valid])
        return tuple(a[train] for a in arrays), tuple(a[valid] for a in arrays)

    def _initialize(self, X, torch, rng):
        """Fresh model state for a first fit: seed, data-dependent choices, weights."""
        self._seed = int(rng.randint(np.iinfo(np.int32).max))
        self._setup(X)
        self._check_input_range(X)
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(self._seed)
            self.module_ = self._build_module(X.shape[1])
        self.history_ = []
        self.n_iter_ = 0
        self._optimizer_state = self._scheduler_state = None

    def _notify(self, event, *args):
        """Call ``event`` on every callback that has it; True when one asks to stop.

        Every callback is called, even after one has asked to stop.
        """
        stop = False
        for callback in self.callbacks or ():
            method = getattr(callback, event, None)
            if method is not None and method(self, *args):
                stop = True
        return stop

    def _train(self, X, *, continuing, n_epochs, use_early_stopping, condition=None):
        """Train on X (and the row-aligned ``condition`` of a conditional model)."""
        torch = import_torch(type(self).__name__)
        self._hidden_sizes()
        self._check_params_vs_input(X)
        device = resolve_device(self.device, torch, strict=True)
        rng = check_random_state(self.random_state)
        if continuing:
            self._check_input_range(X)
        else:
            self._initialize(X, torch, rng)
        arrays = (X,) if condition is None else (X, condition)
        run = TrainingRun(self, torch, device, *self._split(arrays, rng, use_early_stopping))

        self._training_epochs = n_epochs  # the total of a ProgressBar's bar
        try:
            self._notify("on_train_begin")
        finally:
            del self._training_epochs
        progress = _VerboseBar(total=n_epochs) if self.verbose else None
        if progress is not None:
            progress.on_train_begin(self)
        diverged = None
        self._training_run = run  # for save, pickling and Checkpoint during the epochs
        try:
            for _ in range(n_epochs):
                logs = run.epoch()
                self.n_iter_ += 1
                entry = {"epoch": self.n_iter_, **logs}
                bad = [name for name in ("train_loss", "valid_loss")
                       if not np.isfinite(entry.get(name, 0.0))]
                if bad:
                    diverged = (self.n_iter_, entry[bad[0]])
                    break
                self.history_.append(entry)
                patience_spent = run.end_epoch(entry)
                if progress is not None:
                    progress.on_epoch_end(self, entry)
                stop = self._notify("on_epoch_end", entry)
                if stop or (n_epochs > 1 and patience_spent):
                    break
        except KeyboardInterrupt:
            warn_interrupted(self, f"{self.n_iter_} epochs",
                             "the best epoch's weights" if run.valid is not None
                             else "the weights reached so far", stacklevel=3)
        finally:
            del self._training_run
            if progress is not None:
                progress.close()

        module = run.module
        if diverged is not None or (run.valid is not None and np.isfinite(run.best_loss)):
            module.load_state_dict(run.best_state)
        self._set_fitted(run, module)
        self._notify("on_train_end")
        if diverged is not None:
            raise FloatingPointError(self._divergence_message(*diverged, X))
        return self

    def _set_fitted(self, run, module):
        """Write the fitted attributes of a training call ending with ``module``'s weights."""
        self.best_loss_ = float(run.best_loss)
        self.best_epoch_ = int(run.best_epoch)
        self._optimizer_state, self._scheduler_state = run.saved_states()
        module.to("cpu")
        module.eval()
        self.module_ = module
        self.loss_curve_ = [entry["train_loss"] for entry in self.history_]
        with run.torch.no_grad():
            self._after_fit(run.train[0].cpu())

    def _snapshot(self):
        """During a fit: a copy of the estimator as a fit ending after the last epoch leaves it.

        The running fit is not disturbed (the copy has its own module); ``save``,
        pickling and :class:`~skunsup.neural_network.Checkpoint` use it.
        """
        snapshot = type(self).__new__(type(self))
        snapshot.__dict__.update(
            (key, value) for key, value in vars(self).items() if key != "_training_run")
        snapshot.history_ = list(self.history_)
        snapshot._set_fitted(self._training_run, copy.deepcopy(self._training_run.module))
        return snapshot

    # ---------------------------------------------------------- persistence
    def save(self, path):
        """Save the fitted model to a file that runs no code when loaded.

        The file is a safetensors file: the network's weights and the other
        arrays of the fitted state (the optimiser's moments) as tensors, and a
        JSON header with the constructor parameters, the fitted attributes and
        a format version. Load it with :func:`skunsup.neural_network.load`,
        which rebuilds the network from the parameters and checks every
        tensor's name, shape and dtype. Parameters that JSON cannot hold (your
        own torch module as ``encoder``/``decoder``, a callable
        ``learning_rate_schedule``, a ``RandomState``) are not stored: give them
        to ``load`` again. ``callbacks`` are never stored. The file is written
        to a temporary file first, then moved into place. Called during a fit
        (from a callback), it saves the model as a fit ending after the last
        finished epoch would leave it.

        Parameters
        ----------
        path : str or path-like
            The file to write (by convention ``*.safetensors``); replaced if it exists.

        Returns
        -------
        path : str
            The path written.

        See Also
        --------
        skunsup.neural_network.load : Load a saved model.
        skunsup.neural_network.Checkpoint : Save the best epoch during training.

        Examples
        --------
        >>> import os, tempfile
        >>> import numpy as np
        >>> from skunsup.neural_network import Autoencoder, load
        >>> X = np.random.default_rng(0).random((50, 8))
        >>> ae = Autoencoder(n_components=2, hidden_layer_sizes=(4,), max_epochs=2,
        ...                  random_state=0, device="cpu").fit(X)
        >>> path = ae.save(os.path.join(tempfile.mkdtemp(), "ae.safetensors"))
        >>> bool(np.array_equal(load(path).transform(X), ae.transform(X)))
        True
        """
        check_is_fitted(self)
        return write(self, path)

    def __getstate__(self):
        # the network and the optimiser's tensors as NumPy arrays, so that skops
        # (and pickle) store plain arrays; __setstate__ rebuilds the network
        return pickle_state(self, dict(super().__getstate__()))

    def __setstate__(self, state):
        super().__setstate__(state)
        restore_pickle_state(self)

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

        Examples
        --------
        >>> import numpy as np
        >>> from skunsup.neural_network import Autoencoder
        >>> X = np.random.default_rng(0).random((60, 8)).astype(np.float32)
        >>> ae = Autoencoder(n_components=2, hidden_layer_sizes=(4,), max_epochs=2,
        ...                  random_state=0, device="cpu").fit(X)
        >>> codes = ae.transform(X)
        >>> codes.shape, codes.dtype
        ((60, 2), dtype('float32'))
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

        Examples
        --------
        >>> import numpy as np
        >>> from skunsup.neural_network import Autoencoder
        >>> X = np.random.default_rng(0).random((60, 8))
        >>> ae = Autoencoder(n_components=2, hidden_layer_sizes=(4,), max_epochs=2,
        ...                  random_state=0, device="cpu").fit(X)
        >>> X_back = ae.inverse_transform(ae.transform(X))
        >>> X_back.shape, bool(((X_back >= 0) & (X_back <= 1)).all())
        ((60, 8), True)
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


class _VerboseBar(ProgressBar):
    """The bar of ``verbose``: tqdm on standard error, else the lines it always printed.

    Without tqdm, each epoch prints ``epoch <n>: <losses> (<seconds>s)`` on
    standard output, ``n`` counting the epochs of every training call
    (``history_``'s ``epoch``).
    """

    def _lines_out(self):
        return sys.stdout

    def _epoch_head(self, logs):
        return f"epoch {logs['epoch']}"
