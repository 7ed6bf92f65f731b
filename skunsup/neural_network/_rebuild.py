"""Rebuilding a neural estimator's torch objects from stored arrays, with checks.

The network is built again by the estimator's own ``_build_module`` from its
parameters, and must match the stored weights in every name, shape and dtype;
the optimiser's and scheduler's stored states must fit fresh ones over that
network. The save format (:mod:`~skunsup.neural_network._format`) and
pickling (:func:`pickle_state`, :func:`restore_pickle_state`, so that pickle
and skops store the weights as NumPy arrays) both rebuild through here.
"""

from numbers import Real

import numpy as np

from skunsup.neural_network._schedules import make_scheduler
from skunsup.neural_network._training import make_optimizer
from skunsup.utils._torch import import_torch


def _layout(state_dict):
    return {key: (tuple(value.shape), value.dtype) for key, value in state_dict.items()}


def _plain(value):
    if isinstance(value, (tuple, list)):
        return all(map(_plain, value))
    return value is None or isinstance(value, (bool, Real, str))


def rebuild_module(estimator, weights, torch):
    """The estimator's network built from its parameters, holding ``weights``.

    The names, shapes and dtypes of ``weights`` must be those of the network
    ``estimator._build_module(n_features_in_)`` builds. When every parameter is
    a plain value (no user module), the network is first built on torch's meta
    device (no memory), so that parameters asking for a huge network are
    refused before anything is allocated. The user's global torch random state
    is left untouched.
    """
    dry_run = all(_plain(value) for key, value in estimator.get_params(deep=False).items()
                  if key != "callbacks")  # callbacks play no part in the network
    given = _layout(weights)

    def compare(expected):
        if expected != given:
            wrong = sorted(key for key in set(expected) | set(given)
                           if expected.get(key) != given.get(key))
            details = "; ".join(f"{key}: file {given.get(key)}, model {expected.get(key)}"
                                for key in wrong[:5])
            raise ValueError(
                f"the weights do not fit the network that the {type(estimator).__name__}'s "
                f"parameters build ({len(wrong)} tensors differ in name, shape or dtype: "
                f"{details}).")

    with torch.random.fork_rng(devices=[]):
        if dry_run:
            with torch.device("meta"):
                compare(_layout(estimator._build_module(estimator.n_features_in_)
                                .state_dict()))
        module = estimator._build_module(estimator.n_features_in_)
    compare(_layout(module.state_dict()))
    module.load_state_dict(weights, strict=True)
    module.eval()
    return module


def _same_kind(saved, fresh):
    """Whether a stored optimiser/scheduler value has the kind of a fresh one's value.

    Dicts may lack keys of the fresh value but hold no other; lists and tuples
    have its length; numbers, strings and bools match their kind.
    """
    if saved is None or fresh is None:
        return saved is None or isinstance(saved, (bool, Real, str))
    if isinstance(fresh, bool) or isinstance(fresh, str):
        return type(saved) is type(fresh)
    if isinstance(fresh, Real):
        return isinstance(saved, Real) and not isinstance(saved, bool)
    if isinstance(fresh, (list, tuple)):
        return (type(saved) is type(fresh) and len(saved) == len(fresh)
                and all(map(_same_kind, saved, fresh)))
    if isinstance(fresh, dict):
        # keys that a newer torch added may be missing (torch fills them in)
        return (isinstance(saved, dict) and set(saved) <= set(fresh)
                and all(_same_kind(saved[key], fresh[key]) for key in saved))
    return type(saved) is type(fresh)


def check_training_state(estimator, torch):
    """Refuse optimiser and scheduler states that do not fit the estimator's network.

    The stored states must have the keys and kinds of values of a fresh
    optimiser's (and scheduler's) over the network, and the optimiser's
    tensors the shapes of the parameters they belong to; they are then loaded
    into a throwaway optimiser, as the next warm-started fit will do.
    """
    parameters = list(estimator.module_.parameters())
    optimizer = make_optimizer(torch, estimator.optimizer, parameters,
                               estimator.learning_rate, estimator.weight_decay)
    scheduler = make_scheduler(estimator, optimizer)  # adds its keys to the groups
    fresh = optimizer.state_dict()
    state = estimator._optimizer_state
    if set(state) != set(fresh) or not _same_kind(state["param_groups"],
                                                  fresh["param_groups"]):
        raise ValueError(f"the optimiser state does not fit optimizer="
                         f"{estimator.optimizer!r} over this network (its keys or "
                         "parameter groups differ).")
    ids = [index for group in state["param_groups"] for index in group["params"]]
    moments = state["state"]
    if not isinstance(moments, dict) or not set(moments) <= set(ids):
        raise ValueError("the optimiser state holds moments of unknown parameters.")
    for index, parameter in zip(ids, parameters):
        entry = moments.get(index, {})
        for key, value in (entry.items() if isinstance(entry, dict) else [(None, None)]):
            if not isinstance(value, torch.Tensor) or not value.is_floating_point() or (
                    value.dim() and value.shape != parameter.shape):
                raise ValueError(f"optimiser state {key!r} of parameter {index} is not a "
                                 f"float tensor of its shape {tuple(parameter.shape)}.")
    optimizer.load_state_dict(state)
    saved = estimator._scheduler_state
    if (scheduler is None) != (saved is None) or (
            saved is not None and not _same_kind(saved, scheduler.state_dict())):
        raise ValueError("the learning-rate scheduler state does not fit "
                         f"learning_rate_schedule={estimator.learning_rate_schedule!r}.")


# ------------------------------------------------------------------------ pickling
def _map_tensors(value, function, kind):
    if isinstance(value, kind):
        return function(value)
    if isinstance(value, dict):
        return {key: _map_tensors(item, function, kind) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(_map_tensors(item, function, kind) for item in value)
    return value


def pickle_state(estimator, state):
    """``state`` (a copy of ``__dict__``) with the torch objects as NumPy arrays.

    The network becomes ``_module_weights`` ({name: array}); the tensors of the
    optimiser and scheduler states become arrays. During training the state is
    that of a fit ending after the last finished epoch.
    """
    if hasattr(estimator, "_training_run"):
        state = dict(vars(estimator._snapshot()))
    module = state.pop("module_", None)
    if module is None:
        return state
    torch = import_torch(type(estimator).__name__)
    to_array = lambda tensor: tensor.detach().to("cpu").numpy().copy()  # noqa: E731
    state["_module_weights"] = {key: to_array(value)
                                for key, value in module.state_dict().items()}
    for key in ("_optimizer_state", "_scheduler_state"):
        if key in state:
            state[key] = _map_tensors(state[key], to_array, torch.Tensor)
    return state


def restore_pickle_state(estimator):
    """Rebuild the network (and the optimiser's tensors) after ``__setstate__``."""
    weights = estimator.__dict__.pop("_module_weights", None)
    if weights is None:
        return
    torch = import_torch(type(estimator).__name__)
    # copies: the arrays may be read-only (joblib's memory maps), and the
    # optimiser updates its moments in place
    to_tensor = lambda array: torch.from_numpy(np.array(array))  # noqa: E731
    for key in ("_optimizer_state", "_scheduler_state"):
        if key in estimator.__dict__:
            setattr(estimator, key,
                    _map_tensors(getattr(estimator, key), to_tensor, np.ndarray))
    weights = {key: to_tensor(value) for key, value in weights.items()}
    estimator.module_ = rebuild_module(estimator, weights, torch)
