"""The torch executor of t-SNE (FFT method): affinities, objective and optimiser on a device.

:class:`~skunsup.manifold.TSNE` with a torch ``device`` runs its one fit
(phases, schedule, callbacks, verbose lines: ``_base._BaseSNE``) over the
pieces that :class:`TorchTSNE` makes on that device, the twins of the numba
path's ``method="fft"``: the affinities of
:mod:`skunsup.manifold._torch_affinity` (exact kNN, calibration, joint P),
the objective of :mod:`skunsup.manifold._torch_objective` (FFT repulsion,
sparse attraction) and :class:`TorchGradientDescent`, the optimiser of
:class:`~skunsup.manifold._optimizer.GradientDescent` on tensors (momentum,
gains +0.2 / x0.8 floored at 0.01, per-point step clip, the same stops).

What the estimator keeps of a device fit lives on the host
(``TorchAffinities.to_host``, :meth:`TorchGradientDescent.to_host`): P as
a SciPy matrix, a query index of the training data, the optimiser's state as
numpy arrays. So a fitted model pickles, loads without a GPU and continues
there on the numba path; :meth:`TorchTSNE.transform` and ``TSNE.optimize``
on a device start from that host state.

On the device the map is float32 by default (``dtype``); P's values, the
kernels and the gradient follow the map's dtype, the KL is summed in float64.
"""

import numpy as np

from skunsup.manifold._optimizer import GradientDescent
from skunsup.manifold._torch_affinity import joint_affinities, rows_of_new_points
from skunsup.manifold._torch_objective import TorchFFTObjective
from skunsup.utils._torch import as_tensor

__all__ = ["TorchGradientDescent", "TorchTSNE"]

# Neighbours whose median starts a new point (the CPU path's median_of_neighbors)
_START_NEIGHBORS = 10


class TorchGradientDescent(GradientDescent):
    """Gradient descent with momentum and per-coordinate gains on tensors (stateful).

    The device twin of :class:`~skunsup.manifold._optimizer.GradientDescent`:
    the same loop (its stops, callbacks, verbose lines and result) with the
    step, the state (``update``, ``gains``) and the objective calls on
    tensors. Objectives are called as ``objective(Y, exaggeration,
    compute_kl) -> (grad, kl)`` and set ``last_grad_norm2``. A callback gets
    the map as a float64 numpy array. ``compute_final_kl`` defaults to False
    (the estimator evaluates the returned map's KL once, after its phases).

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

    def host_map(self, Y):
        return Y.cpu().numpy().astype(np.float64)

    def to_host(self):
        """A numpy :class:`GradientDescent` in this one's state (float64 momentum and gains)."""
        host = GradientDescent(self.min_gain)
        if self.update is not None:
            host.update, host.gains = self.host_map(self.update), self.host_map(self.gains)
        host.n_iter = self.n_iter
        return host

    @classmethod
    def from_host(cls, torch, host, device, dtype):
        """The device twin of the numpy optimiser ``host``, continuing from its state."""
        optimizer = cls(torch, host.min_gain)
        if host.update is not None:
            optimizer.update = torch.from_numpy(host.update).to(device=device, dtype=dtype)
            optimizer.gains = torch.from_numpy(host.gains).to(device=device, dtype=dtype)
        optimizer.n_iter = host.n_iter
        return optimizer


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


class TorchTSNE:
    """Where a t-SNE fit runs on a torch device: the pieces ``TSNE`` optimises with.

    Parameters
    ----------
    torch : module
    device : torch.device
    dtype : torch.dtype, default=None
        The map's dtype on the device (None: float32).

    Examples
    --------
    >>> import numpy as np
    >>> import torch
    >>> from skunsup.manifold._tsne_torch import TorchTSNE
    >>> X = np.random.RandomState(0).normal(size=(100, 5))
    >>> executor = TorchTSNE(torch, torch.device("cpu"))
    >>> affinities = executor.affinities(X, 10.0)
    >>> Y = executor.map(np.random.RandomState(1).normal(size=(100, 2)))
    >>> objective, optimizer = executor.objective(affinities, dof=1.0), executor.optimizer()
    >>> result = optimizer(Y, objective, 50, 10.0, 0.5, exaggeration=12.0)
    >>> Y.dtype, optimizer.n_iter, bool(optimizer.evaluate(objective, Y)[0] > 0)
    (torch.float32, 50, True)
    """

    def __init__(self, torch, device, dtype=None):
        self.torch = torch
        self.device = device
        self.dtype = torch.float32 if dtype is None else dtype

    def affinities(self, X, perplexity):
        """The joint P of the training data ``X`` (numpy) on the device: TorchAffinities."""
        return joint_affinities(self.torch, as_tensor(np.ascontiguousarray(X), self.device,
                                                      self.torch), perplexity)

    def map(self, Y):
        """The map ``Y`` (numpy) on the device, in the map's dtype (a copy)."""
        return self.torch.tensor(np.ascontiguousarray(Y), dtype=self.dtype, device=self.device)

    def objective(self, P, *, dof):
        """The FFT objective of P: TorchAffinities, or a SciPy CSR matrix from the host."""
        torch = self.torch
        if hasattr(P, "crow"):
            crow, cols, values = P.crow, P.col, P.values
        else:
            crow, cols, values = (
                torch.from_numpy(P.indptr.astype(np.int64)).to(self.device),
                torch.from_numpy(P.indices.astype(np.int64)).to(self.device),
                torch.from_numpy(np.ascontiguousarray(P.data)).to(self.device))
        return TorchFFTObjective(torch, crow, cols, values, self.dtype, dof=dof)

    def optimizer(self, host=None):
        """A fresh TorchGradientDescent, or the twin of the numpy optimiser ``host``."""
        if host is None:
            return TorchGradientDescent(self.torch)
        return TorchGradientDescent.from_host(self.torch, host, self.device, self.dtype)

    def transform(self, knn_index, Y_ref, X_new, *, perplexity, n_iter, learning_rate,
                  momentum, exaggeration, max_step, dof=1.0, label="t-SNE"):
        """New points placed against a fixed fitted map, on the device.

        The numba path's ``TSNE.transform`` on tensors: conditional affinities
        to the ``⌊3·perplexity⌋`` nearest training points (searched on the
        device in the training data of ``knn_index``), starts at the median
        of the 10 closest, then ``n_iter`` steps of the optimiser on each
        point's own KL against the fixed map (FFT repulsion by the reference
        map's potentials, computed once).

        Parameters
        ----------
        knn_index : KNNIndex
            The host query index of the training data (Euclidean).
        Y_ref : ndarray of shape (n, n_components)
            The fitted map.
        X_new : ndarray of shape (m, d)
        perplexity : float
        n_iter, learning_rate, momentum, exaggeration, max_step
            The optimiser's settings (the estimator's constants).
        dof : float, default=1.0
        label : str, default="t-SNE"

        Returns
        -------
        Y_new : ndarray of shape (m, n_components), float64
        """
        torch = self.torch
        mean, R = knn_index.centred_reference()
        Q = torch.from_numpy(np.asarray(X_new, dtype=np.float64) - mean).to(self.device)
        indices, P_rows = rows_of_new_points(torch, as_tensor(R, self.device, torch), Q,
                                             perplexity)
        Y_ref = self.map(Y_ref)
        Y = _median_start(torch, indices, P_rows, Y_ref).contiguous()
        m, k = indices.shape
        crow = torch.arange(0, m * k + 1, k, device=self.device)
        objective = TorchFFTObjective(torch, crow, indices.reshape(-1), P_rows.reshape(-1),
                                      self.dtype, Y_ref=Y_ref, dof=dof)
        optimizer = TorchGradientDescent(torch)
        optimizer(Y, objective, n_iter, learning_rate, momentum, exaggeration=exaggeration,
                  kl_every=0, max_step=max_step, label=label)
        return optimizer.host_map(Y)
