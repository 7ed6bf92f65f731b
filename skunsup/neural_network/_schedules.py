"""Learning-rate schedules of the neural estimators (the ``learning_rate_schedule`` parameter).

A schedule is a torch learning-rate scheduler stepped once per epoch. The
names cover what practitioners reach for first; anything else is a callable
``schedule(optimizer) -> scheduler``, e.g. a torch scheduler class bound to
its arguments with :func:`functools.partial`.
"""

from skunsup.utils._torch import import_torch

#: the schedules named by a string (the parameter's ``StrOptions``)
SCHEDULES = ("constant", "cosine", "plateau")

# "plateau" divides the rate by 10 when the monitored loss stalls: the factor of
# torch's and Keras's ReduceLROnPlateau, so the word means what users know it as.
_PLATEAU_FACTOR = 0.1


def make_scheduler(estimator, optimizer):
    """The scheduler of ``estimator.learning_rate_schedule`` for ``optimizer``, or None.

    - ``'constant'``: no scheduler.
    - ``'cosine'``: cosine annealing from ``learning_rate`` to 0 over
      ``max_epochs`` epochs (counted from the first fit over warm starts and
      ``partial_fit`` calls; the rate then rises again as torch's
      ``CosineAnnealingLR`` does).
    - ``'plateau'``: the rate is divided by 10 when the monitored loss (the
      validation loss with early stopping, else the training loss) has not
      improved by ``tol`` for ``max(1, n_iter_no_change // 2)`` epochs, so that
      a lower rate is tried before early stopping gives up.
    - a callable: called with the optimiser, it must return an object with a
      ``step()`` method (a torch scheduler); a ``ReduceLROnPlateau`` is stepped
      with the monitored loss.

    Parameters
    ----------
    estimator : BaseTorchEstimator
        Reads ``learning_rate_schedule``, ``max_epochs``, ``n_iter_no_change`` and ``tol``.
    optimizer : torch.optim.Optimizer

    Returns
    -------
    scheduler : torch learning-rate scheduler or None

    Examples
    --------
    >>> import torch
    >>> from skunsup.neural_network import Autoencoder
    >>> from skunsup.neural_network._schedules import make_scheduler
    >>> ae = Autoencoder(learning_rate_schedule="cosine", max_epochs=4)
    >>> optimizer = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=1.0)
    >>> scheduler = make_scheduler(ae, optimizer)
    >>> for _ in range(2):
    ...     optimizer.step()
    ...     scheduler.step()
    >>> round(optimizer.param_groups[0]["lr"], 6)
    0.5
    """
    torch = import_torch()
    schedule = estimator.learning_rate_schedule
    if isinstance(schedule, str):
        if schedule == "constant":
            return None
        if schedule == "cosine":
            return torch.optim.lr_scheduler.CosineAnnealingLR(
                optimizer, T_max=estimator.max_epochs)
        return torch.optim.lr_scheduler.ReduceLROnPlateau(
            optimizer, mode="min", factor=_PLATEAU_FACTOR,
            # torch reduces after *more than* ``patience`` stalled epochs
            patience=max(0, estimator.n_iter_no_change // 2 - 1),
            threshold=estimator.tol, threshold_mode="abs")
    scheduler = schedule(optimizer)
    if not callable(getattr(scheduler, "step", None)):
        raise TypeError(
            "learning_rate_schedule must be 'constant', 'cosine', 'plateau' or a callable "
            "returning a torch learning-rate scheduler (an object with a step() method), "
            f"e.g. functools.partial(torch.optim.lr_scheduler.StepLR, step_size=10); "
            f"{schedule!r} returned {scheduler!r}.")
    return scheduler


def step_scheduler(scheduler, monitored_loss):
    """Advance ``scheduler`` by one epoch (``ReduceLROnPlateau`` reads the monitored loss)."""
    if scheduler is None:
        return
    torch = import_torch()
    if isinstance(scheduler, torch.optim.lr_scheduler.ReduceLROnPlateau):
        scheduler.step(monitored_loss)
    else:
        scheduler.step()
