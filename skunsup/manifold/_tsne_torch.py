"""The torch executor of t-SNE (FFT method): a fit and new points on a torch device.

The same algorithm as the numba path of :class:`~skunsup.manifold.TSNE` with
``method="fft"``, on tensors: the affinities of
:mod:`skunsup.manifold._torch_affinity` (exact kNN, calibration, joint P),
the objective of :mod:`skunsup.manifold._torch_objective` (FFT repulsion,
sparse attraction) and :class:`TorchGradientDescent`, the optimiser of
:class:`~skunsup.manifold._optimizer.GradientDescent` (momentum, gains
+0.2 / ×0.8 floored at 0.01, per-point step clip, the same early stops).
The estimator keeps the schedule (phases, learning rates, momentum,
exaggeration) and the initial map, and passes them in: :func:`fit_embedding`
runs the two phases, :func:`transform` places new points against a fitted
map. Only the results come back to the host (numpy, float64 maps).

On the device the map is float32 by default (``dtype``); P's values, the
kernels and the gradient follow the map's dtype, the KL is summed in float64.
"""

import time

import numpy as np

from skunsup.manifold._optimizer import GradientDescent
from skunsup.manifold._torch_affinity import joint_affinities
from skunsup.manifold._torch_objective import TorchFFTObjective

__all__ = ["TorchGradientDescent", "TorchTSNEFit", "fit_embedding", "transform"]

# Neighbours whose median starts a new point (the CPU path's median_of_neighbors)
_START_NEIGHBORS = 10


class TorchGradientDescent(GradientDescent):
    """Gradient descent with momentum and per-coordinate gains on tensors (stateful).

    The device twin of :class:`~skunsup.manifold._optimizer.GradientDescent`:
    the same loop (its stops, callbacks, verbose lines and result) with the
    step, the state (``update``, ``gains``) and the objective calls on
    tensors. Objectives are called as ``objective(Y, exaggeration,
    compute_kl) -> (grad, kl)`` and set ``last_grad_norm2``. A callback gets
    the map as a float64 numpy array. ``compute_final_kl`` defaults to False:
    :func:`fit_embedding` evaluates the final KL once, after both phases.

    Parameters
    ----------
    torch : module
    min_gain : float, default=0.01

    Examples
    --------
    >>> import torch
    >>> from skunsup.manifold._tsne_torch import TorchGradientDescent
    >>> class Square:  # minimise |Y|²
    ...     def __call__(self, Y, exaggeration, compute_kl):
    ...         self.last_grad_norm2 = (4 * Y * Y).sum()
    ...         return 2 * Y, float((Y * Y).sum()) if compute_kl else float("nan")
    >>> Y = torch.ones((3, 2), dtype=torch.float64)
    >>> result = TorchGradientDescent(torch)(Y, Square(), 200, 0.1, 0.5)
    >>> bool(Y.abs().max() < 1e-3), result.reason
    (True, 'max_iter')
    """

    def __init__(self, torch, min_gain=0.01):
        super().__init__(min_gain)
        self.torch = torch

    def __call__(self, Y, objective, n_iter, learning_rate, momentum, *,
                 compute_final_kl=False, **options):
        return super().__call__(Y, objective, n_iter, learning_rate, momentum,
                                compute_final_kl=compute_final_kl, **options)

    def _fresh_state(self, Y):
        return self.torch.zeros_like(Y), self.torch.ones_like(Y)

    def _evaluators(self, objective, Y):
        def gradient(exaggeration, compute_kl):
            grad, value = objective(Y, exaggeration, compute_kl)
            return grad, value, float(objective.last_grad_norm2)

        def kl_of(exaggeration):
            return objective(Y, exaggeration, True)[1]

        return gradient, kl_of

    def _step(self, Y, grad, momentum, learning_rate, max_step):
        """One momentum + gains step of Y in place (the CPU kernel's ``_gains_step``)."""
        torch = self.torch
        flip = (grad > 0) != (self.update > 0)
        self.gains = torch.where(flip, self.gains + 0.2, self.gains * 0.8)
        self.gains.clamp_(min=self.min_gain)
        self.update = momentum * self.update - learning_rate * self.gains * grad
        if max_step > 0.0:
            length2 = (self.update * self.update).sum(dim=1, keepdim=True)
            scale = torch.where(length2 > max_step * max_step,
                                max_step / torch.sqrt(length2), 1.0)
            self.update = self.update * scale
        Y += self.update

    def _watched(self, Y):
        return Y.cpu().numpy().astype(np.float64)


class TorchTSNEFit:
    """What :func:`fit_embedding` returns.

    Attributes
    ----------
    embedding : ndarray of shape (n, n_components), float64
    kl : float
        KL(P || Q) of the returned map.
    n_iter : int
    reason : str
        Why the last phase stopped.
    affinities : TorchAffinities
    optimizer : TorchGradientDescent
    objective : TorchFFTObjective
    """

    def __init__(self, embedding, kl, n_iter, reason, affinities, optimizer, objective):
        self.embedding = embedding
        self.kl = kl
        self.n_iter = n_iter
        self.reason = reason
        self.affinities = affinities
        self.optimizer = optimizer
        self.objective = objective


def fit_embedding(torch, X, Y0, *, perplexity, device, n_early, early_exaggeration,
                  learning_rate, main_learning_rate, max_iter, momentum_early=0.5,
                  momentum_main=0.8, exaggeration=1.0, max_step=0.0, min_grad_norm=1e-7,
                  n_iter_without_progress=300, kl_every=50, dtype=None, dof=1.0, verbose=0,
                  label="t-SNE", callback=None, callback_every=50):
    """A whole t-SNE fit on ``device``: affinities, early phase, main phase, final KL.

    Parameters
    ----------
    torch : module
    X : ndarray of shape (n, d), float32 or float64
        Training data (Euclidean metric), copied to the device as given.
    Y0 : ndarray of shape (n, n_components)
        Initial map (n_components 1 or 2).
    perplexity : float or list of floats
    device : torch.device
    n_early : int
        Iterations of the early-exaggeration phase.
    early_exaggeration, learning_rate : float
        The early phase's exaggeration and learning rate.
    main_learning_rate : float
        The main phase's learning rate.
    max_iter : int
        Iterations of both phases together.
    momentum_early, momentum_main : float, default=0.5, 0.8
    exaggeration : float, default=1.0
        The main phase's exaggeration.
    max_step : float, default=0.0
        Per-point step clip (0: none).
    min_grad_norm : float, default=1e-7
    n_iter_without_progress : int or None, default=300
    kl_every : int, default=50
    dtype : torch.dtype, default=None
        The map's dtype on the device (None: float32).
    dof : float, default=1.0
        Degrees of freedom of the map's kernel.
    verbose : int, default=0
    label : str, default="t-SNE"
    callback : callable, default=None
        ``callback(iteration, kl, Y)`` every ``callback_every`` iterations.
    callback_every : int, default=50

    Returns
    -------
    fit : TorchTSNEFit

    Examples
    --------
    >>> import numpy as np
    >>> import torch
    >>> from skunsup.manifold._tsne_torch import fit_embedding
    >>> rng = np.random.RandomState(0)
    >>> X, Y0 = rng.normal(size=(100, 5)), rng.normal(size=(100, 2)) * 1e-4
    >>> fit = fit_embedding(torch, X, Y0, perplexity=10.0, device=torch.device("cpu"),
    ...                     n_early=25, early_exaggeration=12.0, learning_rate=50.0,
    ...                     main_learning_rate=50.0, max_iter=100)
    >>> fit.embedding.shape, fit.n_iter, bool(fit.kl > 0)
    ((100, 2), 100, True)
    """
    dtype = torch.float32 if dtype is None else dtype
    tic = time.perf_counter()
    X_device = torch.from_numpy(np.ascontiguousarray(X)).to(device)
    affinities = joint_affinities(torch, X_device, perplexity)
    if verbose:
        print(f"[{label}] affinities on {device} in {time.perf_counter() - tic:.2f} s")
    objective = TorchFFTObjective(torch, affinities.crow, affinities.col, affinities.values,
                                  dtype, dof=dof)
    Y = torch.from_numpy(np.ascontiguousarray(Y0)).to(device=device, dtype=dtype)
    optimizer = TorchGradientDescent(torch)
    common = dict(min_grad_norm=min_grad_norm, kl_every=kl_every, max_step=max_step,
                  verbose=verbose, label=label, callback=callback, callback_every=callback_every)
    result = optimizer(Y, objective, n_early, learning_rate, momentum_early,
                       exaggeration=early_exaggeration, **common)
    if result.reason in ("max_iter", "min_grad_norm"):
        result = optimizer(Y, objective, max_iter - result.n_iter, main_learning_rate,
                           momentum_main, exaggeration=exaggeration,
                           n_iter_without_progress=n_iter_without_progress, **common)
    kl = objective(Y, 1.0, True)[1]
    if verbose:
        print(f"[{label}] KL divergence after {optimizer.n_iter} iterations: {kl:.6f} "
              f"({time.perf_counter() - tic:.2f} s)")
    embedding = Y.cpu().numpy().astype(np.float64)
    return TorchTSNEFit(embedding, kl, optimizer.n_iter, result.reason, affinities, optimizer,
                        objective)


def _median_start(torch, indices, P_rows, Y_ref, n_neighbors=_START_NEIGHBORS):
    """Each new point's start: the coordinate-wise median (numpy's, the mean of the two
    middle values for an even count) of its highest-affinity reference points."""
    order = torch.sort(-P_rows, dim=1, stable=True).indices[:, :n_neighbors]
    top = torch.gather(indices, 1, order)
    values = torch.sort(Y_ref[top], dim=1).values  # (m, k, d)
    k = values.shape[1]
    if k % 2:
        return values[:, k // 2]
    return 0.5 * (values[:, k // 2 - 1] + values[:, k // 2])


def transform(torch, affinities, Y_ref, X_new, *, perplexity, n_iter, learning_rate, momentum,
              exaggeration, max_step, dtype=None, dof=1.0, label="t-SNE"):
    """New points placed against a fixed fitted map, on the map's device.

    The CPU path's ``TSNE.transform`` on tensors: conditional affinities to
    the ``⌊3·perplexity⌋`` nearest training points, starts at the median of
    the 10 closest, then ``n_iter`` steps of the optimiser on each point's own
    KL against the fixed map (FFT repulsion by the reference map's potentials,
    computed once).

    Parameters
    ----------
    torch : module
    affinities : TorchAffinities
        The fit's affinities (their training data are queried).
    Y_ref : ndarray of shape (n, n_components)
        The fitted map.
    X_new : ndarray of shape (m, d)
    perplexity : float
    n_iter, learning_rate, momentum, exaggeration, max_step
        The optimiser's settings (the estimator's constants).
    dtype : torch.dtype, default=None
        The maps' dtype on the device (None: float32).
    dof : float, default=1.0
    label : str, default="t-SNE"

    Returns
    -------
    Y_new : ndarray of shape (m, n_components), float64

    Examples
    --------
    >>> import numpy as np
    >>> import torch
    >>> from skunsup.manifold._tsne_torch import fit_embedding, transform
    >>> rng = np.random.RandomState(0)
    >>> X, Y0 = rng.normal(size=(100, 5)), rng.normal(size=(100, 2)) * 1e-4
    >>> fit = fit_embedding(torch, X, Y0, perplexity=10.0, device=torch.device("cpu"),
    ...                     n_early=25, early_exaggeration=12.0, learning_rate=50.0,
    ...                     main_learning_rate=50.0, max_iter=100)
    >>> transform(torch, fit.affinities, fit.embedding, X[:3] + 0.01, perplexity=5.0,
    ...           n_iter=20, learning_rate=0.1, momentum=0.8, exaggeration=1.5,
    ...           max_step=0.25).shape
    (3, 2)
    """
    dtype = torch.float32 if dtype is None else dtype
    device = affinities.X.device
    Q = torch.from_numpy(np.ascontiguousarray(X_new)).to(device)
    indices, P_rows = affinities.to_new(Q, perplexity)
    Y_ref_device = torch.from_numpy(np.ascontiguousarray(Y_ref)).to(device=device, dtype=dtype)
    Y = _median_start(torch, indices, P_rows, Y_ref_device).contiguous()
    m, k = indices.shape
    crow = torch.arange(0, m * k + 1, k, device=device)
    objective = TorchFFTObjective(torch, crow, indices.reshape(-1), P_rows.reshape(-1), dtype,
                                  Y_ref=Y_ref_device, dof=dof)
    TorchGradientDescent(torch)(Y, objective, n_iter, learning_rate, momentum,
                                exaggeration=exaggeration, kl_every=0, max_step=max_step,
                                label=label)
    return Y.cpu().numpy().astype(np.float64)
