"""One training call of a neural estimator: the data on the device, the optimiser, the epochs.

:class:`TrainingRun` is the algorithm layer of the neural models: it holds what
one ``fit`` / ``partial_fit`` call needs (the training and validation tensors
on the device, the optimiser and learning-rate scheduler restored from the
estimator's last call, the random generator, the best weights so far) and runs
one epoch at a time through the model's hooks (``_loss``, ``_sample_losses``).
The estimator (:class:`~skunsup.neural_network._base.BaseTorchEstimator`)
decides when to stop, talks to the callbacks and writes the fitted attributes.
"""

import copy
import time

import numpy as np

from skunsup.neural_network._schedules import make_scheduler, step_scheduler

# Rows per forward pass at inference time (transform, score, validation loss).
INFERENCE_CHUNK = 8192
OPTIMIZERS = ("adam", "adamw", "sgd", "rmsprop")
# Offset between the generator seeds of successive training calls: a prime, so
# that the seed of call k (seed + PRIME * epochs so far) never repeats a seed.
_SEED_STRIDE = 1_000_003


def tree_to_cpu(value):
    """Copy every tensor of a (nested) optimiser or scheduler state dict to the CPU."""
    if hasattr(value, "detach"):
        return value.detach().to("cpu", copy=True)
    if isinstance(value, dict):
        return {key: tree_to_cpu(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(tree_to_cpu(item) for item in value)
    return copy.deepcopy(value)


def state_copy(module):
    """A detached copy of a module's weights (kept on the module's device)."""
    return {key: value.detach().clone() for key, value in module.state_dict().items()}


def make_optimizer(torch, name, parameters, learning_rate, weight_decay):
    """The torch optimiser called ``name`` (one of :data:`OPTIMIZERS`)."""
    kwargs = {"lr": learning_rate, "weight_decay": weight_decay}
    if name in ("adam", "adamw"):
        # The fused kernel (CPU and CUDA) took a third of the time of the default
        # per-tensor Adam step here: ~15% of an epoch of the lecture's autoencoder.
        cls = torch.optim.Adam if name == "adam" else torch.optim.AdamW
        parameters = list(parameters)
        try:
            return cls(parameters, fused=True, **kwargs)
        except (RuntimeError, TypeError, ValueError):
            return cls(parameters, **kwargs)
    if name == "rmsprop":
        return torch.optim.RMSprop(parameters, **kwargs)
    return torch.optim.SGD(parameters, momentum=0.9, nesterov=True, **kwargs)


class TrainingRun:
    """The state of one training call, and its epochs.

    Parameters
    ----------
    estimator : BaseTorchEstimator
        The model being trained; its ``module_`` is moved to ``device``, and its
        saved optimiser and scheduler states (from a previous call) are restored.
    torch : module
        The torch module.
    device : torch.device
        Where to train.
    train : tuple of ndarray
        The training arrays, the data first (then the condition of a
        conditional model), row-aligned.
    valid : tuple of ndarray or None
        The validation arrays (early stopping), or None.

    Attributes
    ----------
    monitor : {'valid_loss', 'train_loss'}
        The loss early stopping and the 'plateau' schedule watch.
    best_loss, best_epoch, best_state
        The lowest monitored loss so far, its epoch and a copy of its weights.
    """

    def __init__(self, estimator, torch, device, train, valid):
        self.estimator, self.torch = estimator, torch
        self.module = estimator.module_.to(device)
        self.module.train()
        self.optimizer = make_optimizer(torch, estimator.optimizer, self.module.parameters(),
                                        estimator.learning_rate, estimator.weight_decay)
        if estimator._optimizer_state is not None:
            self.optimizer.load_state_dict(estimator._optimizer_state)
        self.scheduler = make_scheduler(estimator, self.optimizer)
        if self.scheduler is not None and estimator._scheduler_state is not None:
            self.scheduler.load_state_dict(estimator._scheduler_state)
        self.generator = torch.Generator(device=device)
        self.generator.manual_seed(
            (estimator._seed + _SEED_STRIDE * estimator.n_iter_) % (2**62))
        self.train = tuple(estimator._to_tensor(array, device) for array in train)
        self.valid = (None if valid is None
                      else tuple(estimator._to_tensor(array, device) for array in valid))
        self.n_samples = self.train[0].shape[0]
        self.batch_size = min(estimator.batch_size, self.n_samples)
        self.monitor = "valid_loss" if self.valid is not None else "train_loss"
        self.best_loss, self.best_epoch = np.inf, estimator.n_iter_
        self.best_state = state_copy(self.module)
        self._no_improvement = 0

    def epoch(self):
        """One pass over the training data; the epoch's log without ``epoch``.

        Returns
        -------
        logs : dict
            ``train_loss`` and the model's logged terms (means per sample),
            ``valid_loss`` with validation data, ``learning_rate`` (the rate the
            epoch ran at) and ``time``. When ``train_loss`` is not finite the
            epoch stops there and ``valid_loss`` is not computed.
        """
        torch, estimator, module = self.torch, self.estimator, self.module
        start_time = time.perf_counter()
        learning_rate = float(self.optimizer.param_groups[0]["lr"])
        module.train()
        device = self.train[0].device
        if estimator.shuffle:
            order = torch.randperm(self.n_samples, generator=self.generator, device=device)
        else:
            order = torch.arange(self.n_samples, device=device)
        # loss and logged terms summed on the device in one small tensor (two
        # kernels per batch, no host sync): a GPU at these sizes is launch-bound
        totals, names = None, ()
        for start in range(0, self.n_samples, self.batch_size):
            index = order[start:start + self.batch_size]
            batch, *condition = (tensor[index] for tensor in self.train)
            loss, logs = estimator._loss(module, batch, self.generator, *condition)
            self.optimizer.zero_grad(set_to_none=True)
            loss.backward()
            if estimator.max_grad_norm is not None:
                torch.nn.utils.clip_grad_norm_(module.parameters(), estimator.max_grad_norm)
            self.optimizer.step()
            with torch.no_grad():
                values = torch.stack([loss, *logs.values()]) if logs else loss[None]
                if totals is None:
                    totals, names = values * batch.shape[0], tuple(logs)
                else:
                    totals.add_(values, alpha=batch.shape[0])
        sums = (totals / self.n_samples).tolist()
        entry = {"train_loss": sums[0], **dict(zip(names, sums[1:]))}
        if np.isfinite(entry["train_loss"]) and self.valid is not None:
            entry["valid_loss"] = self.mean_loss(self.valid)
        entry["learning_rate"] = learning_rate
        entry["time"] = time.perf_counter() - start_time
        return entry

    def mean_loss(self, tensors):
        """Mean per-sample evaluation loss (``_sample_losses``) of row-aligned tensors."""
        torch, estimator, module = self.torch, self.estimator, self.module
        module.eval()
        generator = torch.Generator(device=tensors[0].device)
        generator.manual_seed(estimator._seed)
        total = 0.0
        with torch.no_grad():
            for start in range(0, tensors[0].shape[0], INFERENCE_CHUNK):
                chunk = [tensor[start:start + INFERENCE_CHUNK] for tensor in tensors]
                total += float(estimator._sample_losses(module, chunk[0], generator,
                                                        *chunk[1:]).sum())
        module.train()
        return total / tensors[0].shape[0]

    def end_epoch(self, entry):
        """Record an epoch's monitored loss; True when early stopping's patience is spent.

        Keeps the best weights, and steps the learning-rate scheduler.
        """
        current = entry[self.monitor]
        if current < self.best_loss - self.estimator.tol:
            self._no_improvement = 0
        else:
            self._no_improvement += 1
        if current < self.best_loss:
            self.best_loss, self.best_epoch = current, entry["epoch"]
            self.best_state = state_copy(self.module)
        step_scheduler(self.scheduler, current)
        return self._no_improvement >= self.estimator.n_iter_no_change

    def saved_states(self):
        """The optimiser's and scheduler's states, on the CPU (for the next call)."""
        return (tree_to_cpu(self.optimizer.state_dict()),
                None if self.scheduler is None else tree_to_cpu(self.scheduler.state_dict()))
