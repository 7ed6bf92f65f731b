"""The gradient-descent optimiser shared by SNE and t-SNE.

:class:`GradientDescent` is the optimiser of van der Maaten & Hinton (2008)
and later practice: momentum, per-coordinate gains (+0.2 when the gradient
changes sign against the update, ×0.8 otherwise, floored at ``min_gain``),
an optional exaggeration of P, an optional clip of each point's step, and
early stops (small gradient, no KL progress, non-finite gradient, Ctrl-C).
It keeps its state so that the exaggeration phase and the main phase are two
calls on one object (and ``TSNE.optimize`` a third). It
minimises any objective of the protocol of :mod:`skunsup.manifold._objectives`
(``objective(Y, exaggeration, compute_kl, grad_out) -> kl``).
"""

import time
import warnings

import numpy as np
from sklearn.exceptions import ConvergenceWarning

from skunsup.utils._numba import jit_kernel

__all__ = ["GradientDescent", "OptimizationResult"]


@jit_kernel
def _gains_step(Y, grad, update, gains, momentum, learning_rate, min_gain, max_step):
    """One momentum + gains step in place. Returns False (and moves nothing) on a non-finite gradient.

    ``max_step`` > 0 clips each point's step to that length (used for new points).
    """
    n, dim = Y.shape
    for i in range(n):
        for c in range(dim):
            if not np.isfinite(grad[i, c]):
                return False
    for i in range(n):
        for c in range(dim):
            g = grad[i, c]
            u = update[i, c]
            if (g > 0.0) != (u > 0.0):
                gains[i, c] += 0.2
            else:
                gains[i, c] *= 0.8
            if gains[i, c] < min_gain:
                gains[i, c] = min_gain
            update[i, c] = momentum * u - learning_rate * gains[i, c] * g
        if max_step > 0.0:
            length2 = 0.0
            for c in range(dim):
                length2 += update[i, c] * update[i, c]
            if length2 > max_step * max_step:
                scale = max_step / np.sqrt(length2)
                for c in range(dim):
                    update[i, c] *= scale
        for c in range(dim):
            Y[i, c] += update[i, c]
    return True


class OptimizationResult:
    """What a call of :class:`GradientDescent` did."""

    def __init__(self, kl, n_iter, reason, kl_history):
        self.kl = kl
        self.n_iter = n_iter
        self.reason = reason
        self.kl_history = kl_history


class GradientDescent:
    """Gradient descent with momentum and per-coordinate gains (stateful).

    Parameters
    ----------
    min_gain : float, default=0.01

    Attributes
    ----------
    update : ndarray or None
        The momentum buffer (last step).
    gains : ndarray or None
        Per-coordinate gains.
    n_iter : int
        Iterations run so far over all calls.

    Examples
    --------
    >>> import numpy as np
    >>> from skunsup.manifold._optimizer import GradientDescent
    >>> def objective(Y, exaggeration, compute_kl, grad_out):
    ...     grad_out[:] = 2 * Y  # minimise |Y|²
    ...     return float((Y ** 2).sum()) if compute_kl else np.nan
    >>> Y = np.ones((3, 2))
    >>> result = GradientDescent()(Y, objective, n_iter=200, learning_rate=0.1,
    ...                            momentum=0.5)
    >>> bool(np.abs(Y).max() < 1e-3)
    True
    """

    def __init__(self, min_gain=0.01):
        self.min_gain = min_gain
        self.update = None
        self.gains = None
        self.n_iter = 0

    def evaluate(self, objective, Y, exaggeration=1.0):
        """The KL of ``Y`` (P exaggerated by ``exaggeration``) and its gradient's norm.

        One more evaluation of ``objective``, outside the loop (the KL of a
        returned map, a verbose line between two phases).

        Returns
        -------
        kl : float
        grad_norm : float
        """
        gradient, _ = self._evaluators(objective, Y)
        _, kl, grad_norm2 = gradient(exaggeration, True)
        return kl, float(np.sqrt(grad_norm2))

    # The array-specific parts of the loop; a device twin overrides these four.
    def _fresh_state(self, Y):
        """Zero momentum and unit gains shaped like Y."""
        return np.zeros_like(Y), np.ones_like(Y)

    def _evaluators(self, objective, Y):
        """The loop's calls of ``objective`` on Y, with their buffers.

        Returns ``gradient(exaggeration, compute_kl) -> (grad, value, squared
        gradient norm)`` and ``kl_of(exaggeration)``, the KL from an evaluation
        into a buffer of its own (the gradient with and without the KL differs
        in the last bits, so a map watched by a callback would otherwise drift
        from the map not watched).
        """
        grad = np.empty_like(Y)
        scratch = []

        def gradient(exaggeration, compute_kl):
            value = objective(Y, exaggeration, compute_kl, grad)
            grad_norm2 = getattr(objective, "last_grad_norm2", None)
            if grad_norm2 is None:
                grad_norm2 = float(np.sum(grad * grad))
            return grad, value, grad_norm2

        def kl_of(exaggeration):
            if not scratch:
                scratch.append(np.empty_like(Y))
            return objective(Y, exaggeration, True, scratch[0])

        return gradient, kl_of

    def _step(self, Y, grad, momentum, learning_rate, max_step):
        """One momentum + gains step of Y in place."""
        _gains_step(Y, grad, self.update, self.gains, momentum, learning_rate,
                    float(self.min_gain), max_step)

    def host_map(self, Y):
        """``Y`` as a float64 numpy array (Y itself here; a device twin copies it to the host).

        What a callback is given, and what the estimator keeps.
        """
        return Y

    def __call__(self, Y, objective, n_iter, learning_rate, momentum, *, exaggeration=1.0,
                 min_grad_norm=0.0, n_iter_without_progress=None, kl_every=50,
                 compute_final_kl=True, max_step=0.0, verbose=0, label="t-SNE",
                 callback=None, callback_every=0, phase=None, eta_until=None):
        """Run ``n_iter`` steps on ``Y`` in place.

        Stops early when the gradient norm falls below ``min_grad_norm``, when
        the KL (evaluated every ``kl_every`` iterations) has not improved for
        ``n_iter_without_progress`` iterations, on a non-finite gradient (with
        a ``ConvergenceWarning``; ``Y`` keeps its last finite value), when
        ``callback`` returns True or on Ctrl-C (with a warning; ``Y`` stays
        usable).

        ``callback(iteration, kl, Y)``, when given, is called at every
        iteration (counted over all calls) that is a multiple of
        ``callback_every``, with the KL of ``Y`` before that iteration's step
        (P exaggerated by ``exaggeration``); it must not modify ``Y``.

        ``verbose >= 2`` prints the KL every ``kl_every`` iterations, with
        the name of the ``phase`` when given and, when ``eta_until`` (the
        iteration, counted over all calls, at which the run is planned to
        end) is given, the time left at the pace of the last iterations.

        Returns
        -------
        result : OptimizationResult
            ``kl`` (at the last evaluation), ``n_iter`` run in this call,
            ``reason`` (``"max_iter"``, ``"min_grad_norm"``, ``"no_progress"``,
            ``"non_finite"``, ``"callback"``, ``"interrupted"``), ``kl_history``.
        """
        if self.update is None or self.update.shape != Y.shape:
            self.update, self.gains = self._fresh_state(Y)
        gradient, kl_of = self._evaluators(objective, Y)
        best_kl = np.inf
        best_iter = 0
        kl = np.nan
        history = []
        reason = "max_iter"
        tic = time.perf_counter()
        tic_iter = 0  # the iteration (of this call) that tic was taken after
        it = 0
        min_grad_norm2 = float(min_grad_norm) ** 2
        where = f" ({phase})" if phase else ""
        try:
            for it in range(1, n_iter + 1):
                check = kl_every > 0 and ((self.n_iter + it) % kl_every == 0)
                call_back = callback is not None and (self.n_iter + it) % callback_every == 0
                last = it == n_iter
                compute_kl = check or (last and compute_final_kl)
                grad, value, grad_norm2 = gradient(exaggeration, compute_kl)
                if compute_kl:
                    kl = value
                    history.append((self.n_iter + it, kl))
                if not np.isfinite(grad_norm2):
                    reason = "non_finite"
                    warnings.warn(
                        f"{label}: the gradient became non-finite at iteration "
                        f"{self.n_iter + it}; stopping with the last finite embedding",
                        ConvergenceWarning, stacklevel=3)
                    it -= 1
                    break
                if call_back:
                    # the KL for the callback from an evaluation of its own (see _evaluators)
                    if not compute_kl:
                        value = kl_of(exaggeration)
                    if callback(self.n_iter + it, value, self.host_map(Y)):
                        reason = "callback"
                        kl = value
                        it -= 1  # this iteration's step is not taken
                        break
                if grad_norm2 < min_grad_norm2:
                    reason = "min_grad_norm"
                    if not compute_kl:
                        kl = kl_of(exaggeration)
                    if verbose >= 2:
                        print(f"[{label}] Iteration {self.n_iter + it}{where}: gradient norm "
                              f"{np.sqrt(grad_norm2):f}. Finished.")
                    break
                self._step(Y, grad, float(momentum), float(learning_rate), float(max_step))
                if check:
                    if verbose >= 2:
                        toc = time.perf_counter()
                        pace = (toc - tic) / (it - tic_iter)
                        left = ("" if eta_until is None else
                                f", ~{max(eta_until - self.n_iter - it, 0) * pace:.1f} s left")
                        print(f"[{label}] Iteration {self.n_iter + it}{where}: error = "
                              f"{kl:.7f}, gradient norm = {np.sqrt(grad_norm2):.7f} "
                              f"({it - tic_iter} iterations in {toc - tic:.3f} s{left})")
                        tic, tic_iter = toc, it
                    if kl < best_kl:
                        best_kl = kl
                        best_iter = it
                    elif (n_iter_without_progress is not None
                          and it - best_iter > n_iter_without_progress):
                        reason = "no_progress"
                        if verbose >= 2:
                            print(f"[{label}] Iteration {self.n_iter + it}: did not make "
                                  "any progress during the last "
                                  f"{n_iter_without_progress} episodes. Finished.")
                        break
        except KeyboardInterrupt:
            reason = "interrupted"
            warnings.warn(f"{label}: interrupted at iteration {self.n_iter + it}; "
                          "keeping the embedding reached so far", stacklevel=3)
        if reason != "max_iter" or not np.isfinite(kl):
            kl = kl if np.isfinite(kl) else np.nan
        self.n_iter += it
        return OptimizationResult(kl, it, reason, history)
