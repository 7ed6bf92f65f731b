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
"""

from collections.abc import Iterable

__all__ = ["as_callback_list", "run_callbacks"]


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
