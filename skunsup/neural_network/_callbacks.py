"""Callbacks of the neural estimators: :class:`Checkpoint`."""

import math
import os


class Checkpoint:
    """Keep the best model of a training run on disk, ready to load and resume.

    A callback for the ``callbacks`` parameter of the neural estimators. After
    every epoch whose monitored loss is the lowest so far, it saves the
    estimator with its ``save`` method (safetensors weights and a JSON header;
    no code runs when the file is loaded): the file then holds the model as a
    fit ending after that epoch would leave it, with the weights, ``history_``
    and ``n_iter_`` of that epoch and the optimiser's and learning-rate
    scheduler's state. Each write goes to a temporary file that then replaces
    ``path``, so the file is never half-written, even if training is killed.

    To resume, load the file and fit on with ``warm_start=True``::

        model = load(path, callbacks=[Checkpoint(path)])
        model.set_params(warm_start=True, max_epochs=n_more).fit(X)

    The resumed fit continues from the checkpointed epoch with the saved
    optimiser state; it equals what the original estimator would have done
    had its fit stopped after that epoch and been warm-started the same way
    (each training call draws its own shuffling seed from the epochs run, so
    it does not repeat the epochs the interrupted fit went on to run).

    Read more in the :ref:`User Guide <saving_neural>`.

    Parameters
    ----------
    path : str or path-like
        The file to write (by convention ``*.safetensors``); its folder must exist.
    monitor : str, default='auto'
        The loss of ``history_`` to watch (lower is better): 'auto' is
        'valid_loss' when the epoch has one (``early_stopping=True``), else
        'train_loss'; or any other key of the epoch's log, e.g. 'kl' or
        'reconstruction'.
    save_best_only : bool, default=True
        True writes the file only when the monitored loss is lower than at
        every earlier epoch of ``history_`` (earlier fits of a warm-started
        model included, so a resumed fit replaces the file only with a better
        epoch). False writes it after every epoch.

    Attributes
    ----------
    best_value_ : float or None
        The lowest monitored loss so far, earlier fits included (None before
        the fit's first epoch).
    saved_epoch_ : int or None
        The epoch the file holds (None before the fit's first write).

    See Also
    --------
    skunsup.neural_network.load : Load the saved model.

    Examples
    --------
    >>> import os, tempfile
    >>> import numpy as np
    >>> from skunsup.neural_network import Autoencoder, Checkpoint, load
    >>> X = np.random.default_rng(0).random((80, 8))
    >>> path = os.path.join(tempfile.mkdtemp(), "ae.safetensors")
    >>> ae = Autoencoder(n_components=2, hidden_layer_sizes=(4,), max_epochs=5,
    ...                  early_stopping=True, random_state=0, device="cpu",
    ...                  callbacks=[Checkpoint(path)]).fit(X)
    >>> best = load(path)
    >>> best.n_iter_ == ae.best_epoch_
    True
    >>> resumed = best.set_params(warm_start=True, max_epochs=2).fit(X)
    >>> resumed.n_iter_ == ae.best_epoch_ + 2
    True
    """

    def __init__(self, path, monitor="auto", save_best_only=True):
        self.path = path
        self.monitor = monitor
        self.save_best_only = save_best_only

    def on_train_begin(self, estimator):
        """Forget the previous fit's best (it is read again from ``history_``)."""
        if not isinstance(self.monitor, str):
            raise TypeError(f"Checkpoint's monitor must be a str, got {self.monitor!r}.")
        folder = os.path.dirname(os.path.abspath(os.fspath(self.path)))
        if not os.path.isdir(folder):
            raise FileNotFoundError(f"Checkpoint cannot write {self.path}: the folder "
                                    f"{folder} does not exist.")
        self.best_value_ = None
        self.saved_epoch_ = None

    def _key(self, logs):
        if self.monitor != "auto":
            return self.monitor
        return "valid_loss" if "valid_loss" in logs else "train_loss"

    def on_epoch_end(self, estimator, logs):
        """Save the estimator when the monitored loss improved; never stops training."""
        key = self._key(logs)
        if key not in logs:
            raise ValueError(
                f"Checkpoint(monitor={self.monitor!r}): the epoch's log has no {key!r} "
                f"(it has {sorted(logs)}); 'valid_loss' needs early_stopping=True.")
        if self.best_value_ is None:  # the best of earlier fits of a warm-started model
            self.best_value_ = min((entry[key] for entry in estimator.history_
                                    if entry["epoch"] < logs["epoch"] and key in entry),
                                   default=math.inf)
        improved = logs[key] < self.best_value_
        if improved:
            self.best_value_ = float(logs[key])
        if improved or not self.save_best_only:
            estimator.save(self.path)
            self.saved_epoch_ = int(logs["epoch"])
        return False
