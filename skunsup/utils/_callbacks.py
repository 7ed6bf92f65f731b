"""Callbacks of the iterative fits: what a user's code is called with, and how it stops a fit.

An estimator that takes ``callbacks`` calls each of them every
``callbacks_every_iters`` iterations as ``callback(estimator, iteration,
objective, solution)``: the estimator being fitted, the iteration number
(counted over the whole fit), the value of the objective being minimised at
that iteration and the current solution (a copy the callback may keep). A
callback that returns ``True`` stops the fit cleanly: the estimator is fitted
with the solution reached so far. openTSNE's callbacks are called as
``callback(iteration, error, embedding)``; skunsup passes the estimator first,
as scikit-learn's callback proposal (SLEP023) does, so that one callback can
serve several estimators.

A fit stopped by Ctrl-C (``KeyboardInterrupt``) keeps what it reached in the
same way and says so with :func:`warn_interrupted`.

A fit that runs in phases (t-SNE: the neighbour search, the affinities, the
early-exaggeration and main phases) also tells the callbacks that have an
``on_phase(estimator, phase, seconds, detail)`` method where it stands
(:func:`report_phase`); plain callables are only called per iteration.

The neural estimators call their callbacks by event instead
(``on_train_begin``, ``on_epoch_end``, ``on_train_end``); :class:`ProgressBar`
answers both protocols, so one bar serves every estimator.
"""

import sys
import warnings
from collections.abc import Iterable

__all__ = ["ProgressBar", "as_callback_list", "loop_callback", "report_phase",
           "run_callbacks", "warn_interrupted"]


def as_callback_list(callbacks):
    """The ``callbacks`` parameter as a list of callables.

    Parameters
    ----------
    callbacks : callable, iterable of callables or None

    Returns
    -------
    callbacks : list

    Raises
    ------
    TypeError
        When ``callbacks`` is neither None, a callable nor an iterable of callables.

    Examples
    --------
    >>> from skunsup.utils._callbacks import as_callback_list
    >>> as_callback_list(None), len(as_callback_list(print)), len(as_callback_list([print, repr]))
    ([], 1, 2)
    """
    if callbacks is None:
        return []
    if callable(callbacks):
        return [callbacks]
    if isinstance(callbacks, Iterable) and not isinstance(callbacks, (str, bytes)):
        callbacks = list(callbacks)
        if all(callable(callback) for callback in callbacks):
            return callbacks
    raise TypeError(
        "callbacks must be a callable or a list of callables called as "
        f"callback(estimator, iteration, objective, solution); got {callbacks!r}.")


def run_callbacks(callbacks, estimator, iteration, objective, solution):
    """Call every callback; True when one of them asks the fit to stop.

    Every callback is called, even after one has asked to stop (a callback
    that records the fit sees its last iteration).

    Parameters
    ----------
    callbacks : list of callables
    estimator : estimator
    iteration : int
    objective : float
    solution : ndarray

    Returns
    -------
    stop : bool

    Examples
    --------
    >>> from skunsup.utils._callbacks import run_callbacks
    >>> seen = []
    >>> record = lambda est, it, obj, sol: seen.append(it)
    >>> stop_at_3 = lambda est, it, obj, sol: it >= 3
    >>> run_callbacks([stop_at_3, record], None, 3, 0.5, None), seen
    (True, [3])
    """
    stop = False
    for callback in callbacks:
        stop = (callback(estimator, iteration, objective, solution) is True) or stop
    return stop


def report_phase(callbacks, estimator, phase, seconds=None, detail=""):
    """Tell the callbacks that have an ``on_phase`` method that a phase of a fit ended or starts.

    Parameters
    ----------
    callbacks : callable, iterable of callables or None
        The estimator's ``callbacks`` parameter.
    estimator : estimator
        The estimator being fitted.
    phase : str
        The phase's name (e.g. ``"kNN"``, ``"early exaggeration"``).
    seconds : float, default=None
        The wall time of a phase that ran without iterations (it has
        ended); None for an iterative phase that starts now.
    detail : str, default=""
        How the phase runs (its method, its size).

    Examples
    --------
    >>> from skunsup.utils._callbacks import report_phase
    >>> class Recorder:
    ...     def __call__(self, estimator, iteration, objective, solution):
    ...         pass
    ...     def on_phase(self, estimator, phase, seconds, detail):
    ...         print(phase, seconds, detail)
    >>> report_phase([Recorder(), print], None, "kNN", 0.5, "exact search")
    kNN 0.5 exact search
    """
    for callback in as_callback_list(callbacks):
        on_phase = getattr(callback, "on_phase", None)
        if on_phase is not None:
            on_phase(estimator, phase, seconds, detail)


def loop_callback(estimator, callbacks):
    """What an algorithm's loop calls: ``callback(iteration, objective, solution) -> bool``.

    The loop knows nothing of the estimator: the returned function passes it
    to every callback (:func:`run_callbacks`).

    Parameters
    ----------
    estimator : estimator
        The estimator being fitted.
    callbacks : callable, iterable of callables or None
        Its ``callbacks`` parameter.

    Returns
    -------
    callback : callable or None
        None when there are no callbacks (the loop then computes nothing for them).
    stopped : list
        Holds the iteration at which a callback asked the fit to stop, once one has.

    Examples
    --------
    >>> from skunsup.utils._callbacks import loop_callback
    >>> callback, stopped = loop_callback("an estimator", lambda est, it, obj, sol: it == 2)
    >>> callback(1, 0.5, None), callback(2, 0.25, None), stopped
    (False, True, [2])
    >>> loop_callback("an estimator", None)
    (None, [])
    """
    callbacks = as_callback_list(callbacks)
    stopped = []
    if not callbacks:
        return None, stopped

    def callback(iteration, objective, solution):
        if run_callbacks(callbacks, estimator, iteration, objective, solution):
            stopped.append(iteration)
            return True
        return False

    return callback, stopped


def warn_interrupted(estimator, done, kept, method="fit", stacklevel=2):
    """Warn that Ctrl-C stopped a fit that keeps, usable, what it had reached.

    Parameters
    ----------
    estimator : estimator
        The estimator being fitted (named by its class).
    done : str
        What the fit had done, e.g. ``"3 of 10 runs"``.
    kept : str
        What the fitted estimator holds, e.g. ``"the best run's centres"``.
    method : str, default="fit"
        The method that was interrupted.
    stacklevel : int, default=2
        Of the warning, counted from the caller of this function (2: the
        caller's caller, as for ``warnings.warn`` called there).

    Examples
    --------
    >>> import warnings
    >>> from skunsup.cluster import KMeans
    >>> from skunsup.utils._callbacks import warn_interrupted
    >>> with warnings.catch_warnings(record=True) as caught:
    ...     warnings.simplefilter("always")
    ...     warn_interrupted(KMeans(), "2 of 10 runs", "the best run so far")
    >>> print(caught[0].message)  # doctest: +NORMALIZE_WHITESPACE
    KMeans.fit was interrupted (KeyboardInterrupt) after 2 of 10 runs; the model is
    usable and holds the best run so far.
    """
    warnings.warn(
        f"{type(estimator).__name__}.{method} was interrupted (KeyboardInterrupt) after "
        f"{done}; the model is usable and holds {kept}.", UserWarning,
        stacklevel=stacklevel + 1)


class ProgressBar:
    """A callback that shows how far a fit is: iteration or epoch, objective or losses, time left.

    One bar for every estimator that takes ``callbacks``. A tqdm bar when
    tqdm is installed, else one line per call or epoch.

    - Of an iterative estimator (KMeans, MiniBatchKMeans, PCA, t-SNE, ...),
      pass it as ``callbacks`` (with ``callbacks_every_iters`` setting how
      often it moves): it is called as ``bar(estimator, iteration,
      objective, solution)`` and shows the objective. A bar starts at the
      first call of a fit and closes at its last iteration or when the next
      fit starts. Of a fit that reports its phases (:meth:`on_phase`), it
      writes one line per phase that runs before the iterations (its wall
      time and method) and names the optimisation phase that runs in the bar.
    - Of a neural estimator (Autoencoder, SparseAutoencoder, VAE,
      ConditionalVAE), pass it in the ``callbacks`` list: it hears the
      training events (:meth:`on_train_begin`, :meth:`on_epoch_end`,
      :meth:`on_train_end`) and moves once per epoch with the epoch's losses.
      Its total is the epochs of the training call (``max_epochs`` for
      ``fit``, 1 for ``partial_fit``); a fit that early stopping or another
      callback ends sooner closes the bar where it stopped. The neural
      estimators' ``verbose`` shows the same bar.

    Parameters
    ----------
    total : int, default=None
        Iterations (epochs) of a fit; None takes the estimator's ``max_iter``
        (the epochs of a neural estimator's training call).
    desc : str, default=None
        Label of the bar; None takes the estimator's class name.
    file : file-like, default=None
        Where to write (None: standard error).

    Examples
    --------
    >>> import io
    >>> import numpy as np
    >>> from skunsup.manifold import TSNE
    >>> from skunsup.utils import ProgressBar
    >>> out = io.StringIO()
    >>> X = np.random.RandomState(0).normal(size=(40, 3))
    >>> _ = TSNE(perplexity=5, max_iter=250, callbacks=ProgressBar(file=out),
    ...          callbacks_every_iters=125).fit(X)
    >>> "250/250" in out.getvalue()
    True

    The same bar on a neural estimator, in its list of callbacks:

    >>> from skunsup.neural_network import Autoencoder
    >>> out = io.StringIO()
    >>> X = np.random.RandomState(0).random_sample((50, 8))
    >>> _ = Autoencoder(n_components=2, hidden_layer_sizes=(4,), max_epochs=2, device="cpu",
    ...                 random_state=0, callbacks=[ProgressBar(file=out)]).fit(X)
    >>> "2/2" in out.getvalue() and "train_loss" in out.getvalue()
    True
    """

    def __init__(self, total=None, desc=None, file=None):
        self.total = total
        self.desc = desc
        self.file = file
        self._bar = None
        self._last = 0
        self._phase = None

    def __getstate__(self):
        # a copy or pickle (of an estimator copied during its fit) holds no live bar:
        # tqdm's bar does not copy, and two copies would draw over each other
        return {**vars(self), "_bar": None}

    def _label(self, estimator):
        return self.desc if self.desc is not None else type(estimator).__name__

    def _out(self):
        return self.file if self.file is not None else sys.stderr

    def _lines_out(self):
        """Where the lines go when tqdm is missing."""
        return self._out()

    def _start(self, estimator, total, unit):
        desc = self._label(estimator)
        try:
            from tqdm.auto import tqdm
        except ImportError:
            tqdm = None
        self._total, self._desc = total, desc
        shown = desc if self._phase is None else f"{desc} [{self._phase}]"
        self._bar = (tqdm(total=total, desc=shown, unit=unit, file=self._out())
                     if tqdm is not None else False)
        self._last = 0

    def close(self):
        """End the current bar (done by the next fit's first call otherwise)."""
        if self._bar:
            self._bar.close()
        self._bar = None

    def on_phase(self, estimator, phase, seconds=None, detail=""):
        """Show a phase of the fit (called by the estimator as a phase ends or starts).

        A phase that ran before the iterations (``seconds`` given: the
        neighbour search, the affinities) gets a line with its wall time
        and ``detail``, and means that a new fit started (the last one's bar
        is closed); an iterative phase that starts (``seconds`` None) is
        named in the bar until the next one.

        Parameters
        ----------
        estimator : estimator
            The estimator being fitted.
        phase : str
            The phase's name.
        seconds : float, default=None
            Wall time of a finished phase; None when an iterative phase starts.
        detail : str, default=""
            How the phase runs.
        """
        if seconds is None:
            self._phase = phase
            if self._bar:
                self._bar.set_description(f"{self._desc} [{phase}]", refresh=False)
            return
        self.close()
        self._phase = None
        about = f" ({detail})" if detail else ""
        print(f"[{self._label(estimator)}] {phase}: {seconds:.2f} s{about}", file=self._out(),
              flush=True)

    def __call__(self, estimator, iteration, objective, solution):
        if self._bar is None or iteration <= self._last:  # a new fit
            self.close()
            self._start(estimator, self.total if self.total is not None
                        else getattr(estimator, "max_iter", None), "it")
        if self._bar is False:
            of = f"/{self._total}" if self._total else ""
            at = f" [{self._phase}]" if self._phase else ""
            print(f"[{self._desc}] iteration {iteration}{of}{at}: objective {objective:.6g}",
                  file=self._lines_out(), flush=True)
        else:
            self._bar.set_postfix(objective=f"{objective:.6g}", refresh=False)
            self._bar.update(iteration - self._last)
        self._last = iteration
        if self._total is not None and iteration >= self._total:
            self.close()
        return False

    # ------------------------------------------- the neural estimators' events
    def on_train_begin(self, estimator):
        """Start a bar of the training call's epochs (a neural estimator calls it).

        Parameters
        ----------
        estimator : estimator
            The neural estimator starting a training call (``fit`` or
            ``partial_fit``).
        """
        self.close()
        self._phase = None
        total = self.total if self.total is not None else getattr(
            estimator, "_training_epochs", None)
        self._start(estimator, total, "epoch")

    def on_epoch_end(self, estimator, logs):
        """Move the bar by one epoch and show its losses.

        Parameters
        ----------
        estimator : estimator
            The neural estimator being trained.
        logs : dict
            The epoch's entry of ``history_``: ``epoch``, the losses and
            ``time`` (seconds).

        Returns
        -------
        stop : bool
            Always False: the bar never stops training.
        """
        self._last += 1
        shown = _losses(logs)
        if self._bar is False:
            named = ", ".join(f"{key}={value}" for key, value in shown.items())
            print(f"{self._epoch_head(logs)}: {named} ({logs['time']:.2f}s)",
                  file=self._lines_out(), flush=True)
        else:
            self._bar.set_postfix(shown, refresh=False)
            self._bar.update(1)
        return False

    def _epoch_head(self, logs):
        """How the line of an epoch starts when tqdm is missing (the epoch of this call)."""
        of = f"/{self._total}" if self._total else ""
        return f"[{self._desc}] epoch {self._last}{of}"

    def on_train_end(self, estimator):
        """Close the bar where training stopped.

        Parameters
        ----------
        estimator : estimator
            The neural estimator that was trained.
        """
        self.close()


def _losses(logs):
    """What a bar shows of a neural epoch's log: every entry but ``epoch`` and ``time``."""
    # 5 decimals: the epoch-to-epoch change of a loss shows, and the line stays short
    return {key: round(value, 5) for key, value in logs.items() if key not in ("epoch", "time")}
