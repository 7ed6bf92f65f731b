"""The fitted state of a neural estimator as tensors plus JSON, and its file.

A saved model is one safetensors file. Its tensors are the module's weights,
named ``module.<state_dict key>``, and the other arrays of the fitted state
(the optimiser's moments, ...), named ``state.<n>``. Its metadata holds one
entry, ``skunsup``: a JSON document with exactly these keys

- ``format`` (``"skunsup.neural_network"``) and ``format_version`` (an int);
- ``class``: the estimator's class name, looked up in a fixed registry;
- ``skunsup_version``: the version that wrote the file (information only);
- ``params``: the constructor parameters that JSON can hold;
- ``external_params``: the names of those it cannot hold (a user's torch
  module, a callable schedule, a ``RandomState``), which ``load`` must be given
  again; ``callbacks`` is never stored (training hooks, not the model);
- ``attributes``: the fitted attributes.

JSON values stand for themselves, except objects with one key that starts
with ``$``: ``{"$tuple": [...]}``, ``{"$tensor": name}`` (a torch tensor of the
file), ``{"$ndarray": name}`` (a NumPy array stored as a tensor of the file),
``{"$strarray": [dtype, [...]]}`` (a 1-D array of strings), ``{"$dtype": name}``
and ``{"$intkeys": [[key, value], ...]}`` (a dict with int keys, as torch's
optimiser states have). Reading imports and calls nothing the file names: the
class comes from the caller's registry, the network from the estimator's own
``_build_module``, and every name, shape, dtype and value is checked first.

The same conversion of the torch objects into NumPy arrays serves pickling
(:func:`pickle_state`, :func:`restore_pickle_state`), so that pickle and skops
store the weights as arrays and rebuild the network on load.
"""

import json
import os
import re
import tempfile
from numbers import Integral, Real

import numpy as np

from skunsup.neural_network._schedules import make_scheduler
from skunsup.neural_network._training import make_optimizer
from skunsup.utils._sklearn_compat import validate_parameter_constraints
from skunsup.utils._torch import import_torch

FORMAT = "skunsup.neural_network"
# Version 1: the layout described in the module docstring. A reader refuses
# files of a newer version; a change of layout must increase it.
FORMAT_VERSION = 1
# The one key of the safetensors metadata holding the JSON header.
METADATA_KEY = "skunsup"
_HEADER_KEYS = ("format", "format_version", "class", "skunsup_version", "params",
                "external_params", "attributes")
# Parameters never written: hooks of a training run, not part of the model.
_NEVER_STORED = ("callbacks",)
# Array dtypes stored as tensors: those NumPy, torch and safetensors all share.
_ARRAY_DTYPES = ("bool", "uint8", "int8", "int16", "int32", "int64",
                 "float16", "float32", "float64")


# ----------------------------------------------------------------- fitted attributes
def _is_int(value, low=0):
    return isinstance(value, Integral) and not isinstance(value, bool) and value >= low


def _is_real(value):
    return isinstance(value, Real) and not isinstance(value, bool)


def _is_loss_log(value):
    return isinstance(value, list) and all(
        isinstance(entry, dict) and all(isinstance(k, str) and _is_real(v)
                                        for k, v in entry.items())
        for entry in value)


def _is_names(value):
    return (isinstance(value, np.ndarray) and value.ndim == 1
            and all(isinstance(name, str) for name in value))


#: fitted attributes a file may hold, per class (a class also takes its bases'):
#: name -> (check of the value, what the value must be)
ATTRIBUTES = {
    "BaseTorchEstimator": {
        "n_features_in_": (lambda v: _is_int(v, 1), "a positive int"),
        "feature_names_in_": (_is_names, "a 1-D array of strings"),
        "history_": (_is_loss_log, "a list of {name: number} dicts"),
        "loss_curve_": (lambda v: isinstance(v, list) and all(map(_is_real, v)),
                        "a list of numbers"),
        "best_loss_": (_is_real, "a number"),
        "best_epoch_": (_is_int, "an int >= 0"),
        "n_iter_": (_is_int, "an int >= 0"),
        "_seed": (lambda v: _is_int(v) and v < 2**31, "an int in [0, 2**31)"),
        "_optimizer_state": (lambda v: isinstance(v, dict), "an optimiser state dict"),
        "_scheduler_state": (lambda v: v is None or isinstance(v, dict),
                             "None or a scheduler state dict"),
        "_sklearn_output_config": (
            lambda v: isinstance(v, dict) and all(
                isinstance(k, str) and isinstance(x, str) for k, x in v.items()),
            "a {method: output} dict of strings"),
    },
    "Autoencoder": {
        "reconstruction_loss_": (lambda v: v in ("bce", "mse"), "'bce' or 'mse'"),
        "_sigmoid_output": (lambda v: isinstance(v, bool), "a bool"),
        "_clip_range": (lambda v: isinstance(v, tuple) and len(v) == 2
                        and all(map(_is_real, v)), "a (low, high) tuple of numbers"),
    },
    "SparseAutoencoder": {
        "mean_activation_": (_is_real, "a number"),
    },
    "VAE": {
        "reconstruction_loss_": (lambda v: v in ("bce", "mse"), "'bce' or 'mse'"),
        "_output_dtype": (lambda v: isinstance(v, np.dtype)
                          and v in (np.float32, np.float64), "float32 or float64"),
    },
}
# Attributes a fit sets only in some cases (X with feature names, set_output).
_OPTIONAL_ATTRIBUTES = ("feature_names_in_", "_sklearn_output_config")


def attribute_checks(cls):
    """{name: (check, description)} of the fitted attributes ``cls`` may hold."""
    checks = {}
    for klass in reversed(cls.__mro__):
        checks.update(ATTRIBUTES.get(klass.__name__, {}))
    return checks


# ---------------------------------------------------------------- tagged JSON values
class _Encoder:
    """Turns a value into tagged JSON, putting its arrays into ``tensors``."""

    def __init__(self, torch):
        self.torch = torch
        self.tensors = {}

    def _add(self, tensor):
        name = f"state.{len(self.tensors)}"
        self.tensors[name] = tensor.detach().to("cpu").contiguous().clone()
        return name

    def __call__(self, value, where):
        if value is None or isinstance(value, str):
            return value
        if isinstance(value, (bool, np.bool_)):
            return bool(value)
        if isinstance(value, Integral):
            return int(value)
        if isinstance(value, Real):
            return float(value)
        if isinstance(value, tuple):
            return {"$tuple": [self(item, f"{where}[{i}]") for i, item in enumerate(value)]}
        if isinstance(value, list):
            return [self(item, f"{where}[{i}]") for i, item in enumerate(value)]
        if isinstance(value, dict):
            return self._dict(value, where)
        if isinstance(value, self.torch.Tensor):
            return {"$tensor": self._add(value)}
        if isinstance(value, np.ndarray):
            if value.dtype.name in _ARRAY_DTYPES:
                return {"$ndarray": self._add(self.torch.from_numpy(np.array(value)))}
            if value.dtype.kind in "OU" and value.ndim == 1 and all(
                    isinstance(item, str) for item in value):
                return {"$strarray": [value.dtype.str, value.tolist()]}
        if isinstance(value, np.dtype) and value.name in _ARRAY_DTYPES:
            return {"$dtype": value.name}
        raise TypeError(f"{where} holds a {type(value).__name__}, which the save format "
                        "cannot store.")

    def _dict(self, value, where):
        if all(isinstance(key, str) and not key.startswith("$") for key in value):
            return {key: self(item, f"{where}[{key!r}]") for key, item in value.items()}
        if all(_is_int(key, low=-(2**62)) for key in value):
            return {"$intkeys": [[int(key), self(item, f"{where}[{key}]")]
                                 for key, item in value.items()]}
        raise TypeError(f"{where} is a dict whose keys are neither all strings (not "
                        "starting with '$') nor all ints, which the save format cannot store.")


class _Decoder:
    """Turns tagged JSON back into values, taking arrays from the file's ``tensors``."""

    def __init__(self, tensors):
        self.tensors = tensors
        self.used = set()

    def _tensor(self, name, where):
        if not isinstance(name, str) or name not in self.tensors or name in self.used:
            raise ValueError(f"{where} refers to tensor {name!r}, which the file does not "
                             "hold (or which another value already uses).")
        self.used.add(name)
        return self.tensors[name]

    def __call__(self, value, where):
        if value is None or isinstance(value, (bool, int, float, str)):
            return value
        if isinstance(value, list):
            return [self(item, f"{where}[{i}]") for i, item in enumerate(value)]
        if not isinstance(value, dict):
            raise ValueError(f"{where} is not a JSON value.")
        tags = [key for key in value if key.startswith("$")]
        if not tags:
            return {key: self(item, f"{where}[{key!r}]") for key, item in value.items()}
        if len(value) != 1:
            raise ValueError(f"{where}: a tagged value has exactly one key, got "
                             f"{sorted(value)}.")
        tag, payload = tags[0], value[tags[0]]
        if tag == "$tuple" and isinstance(payload, list):
            return tuple(self(item, f"{where}[{i}]") for i, item in enumerate(payload))
        if tag == "$tensor":
            return self._tensor(payload, where)
        if tag == "$ndarray":
            tensor = self._tensor(payload, where)
            if str(tensor.dtype).removeprefix("torch.") not in _ARRAY_DTYPES:
                raise ValueError(f"{where}: tensor {payload!r} has dtype {tensor.dtype}, "
                                 f"not one of {_ARRAY_DTYPES}.")
            return tensor.numpy()
        if tag == "$strarray" and _is_strarray(payload):
            return np.array(payload[1], dtype=np.dtype(payload[0]))
        if tag == "$dtype" and payload in _ARRAY_DTYPES:
            return np.dtype(payload)
        if tag == "$intkeys" and isinstance(payload, list) and all(
                isinstance(pair, list) and len(pair) == 2 and _is_int(pair[0], -(2**62))
                for pair in payload):
            return {key: self(item, f"{where}[{key}]") for key, item in payload}
        raise ValueError(f"{where}: unknown or malformed tagged value {tag!r}.")


def _is_strarray(payload):
    """``[dtype, items]`` of a 1-D array of strings: object or unicode dtype, str items."""
    if not (isinstance(payload, list) and len(payload) == 2):
        return False
    dtype, items = payload
    return (isinstance(dtype, str) and re.fullmatch(r"\|O|[<>=|]U[0-9]{1,6}", dtype) is not None
            and isinstance(items, list) and all(isinstance(item, str) for item in items))


# ------------------------------------------------------------------------- writing
def _training_state(estimator):
    """The estimator as a fit that ended now would leave it (a copy during training)."""
    return estimator._snapshot() if hasattr(estimator, "_training_run") else estimator


def encode(estimator):
    """``(tensors, header)`` of a fitted neural estimator (see the module docstring).

    Raises
    ------
    ValueError
        When a fitted attribute is not one the format knows, or holds a value
        it cannot store.
    """
    from skunsup import __version__

    torch = import_torch(type(estimator).__name__)
    estimator = _training_state(estimator)
    cls = type(estimator)
    encoder = _Encoder(torch)
    params, external = {}, []
    for name, value in estimator.get_params(deep=False).items():
        if name in _NEVER_STORED:
            continue
        try:
            params[name] = encoder(value, f"parameter {name}")
        except TypeError:
            external.append(name)
    checks = attribute_checks(cls)
    attributes = {}
    for name, value in vars(estimator).items():
        if name in params or name in external or name in _NEVER_STORED or name == "module_":
            continue
        if name not in checks:
            raise ValueError(f"{cls.__name__}.save cannot store attribute {name!r}: it is "
                             "not a fitted attribute the save format knows.")
        try:
            attributes[name] = encoder(value, f"attribute {name}")
        except TypeError as error:
            raise ValueError(f"{cls.__name__}.save: {error}") from None
    tensors = {f"module.{key}": value.detach().to("cpu").contiguous().clone()
               for key, value in estimator.module_.state_dict().items()}
    tensors.update(encoder.tensors)
    header = {"format": FORMAT, "format_version": FORMAT_VERSION, "class": cls.__name__,
              "skunsup_version": __version__, "params": params,
              "external_params": external, "attributes": attributes}
    return tensors, header


def write(estimator, path):
    """Save ``estimator`` to ``path`` atomically (a temporary file, then ``os.replace``).

    Returns
    -------
    path : str
        The path written.
    """
    from safetensors.torch import save

    tensors, header = encode(estimator)
    data = save(tensors, metadata={METADATA_KEY: json.dumps(header)})
    path = os.fspath(path)
    folder = os.path.dirname(os.path.abspath(path))
    handle, temporary = tempfile.mkstemp(dir=folder, prefix=".tmp-",
                                         suffix=os.path.basename(path))
    try:
        with os.fdopen(handle, "wb") as file:
            file.write(data)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, path)
    except BaseException:
        if os.path.exists(temporary):
            os.remove(temporary)
        raise
    return path


# ------------------------------------------------------------------------- reading
def _refuse_duplicates(pairs):
    keys = [key for key, _ in pairs]
    if len(set(keys)) != len(keys):
        raise ValueError(f"the JSON header repeats a key: {sorted(keys)}.")
    return dict(pairs)


def read(path):
    """``(header, tensors)`` of a saved file, the header's layout checked.

    Raises
    ------
    ValueError
        When the file is not a safetensors file with a skunsup header of a
        version this reader knows.
    """
    from safetensors import SafetensorError, safe_open

    try:
        with safe_open(os.fspath(path), framework="pt", device="cpu") as file:
            metadata = file.metadata() or {}
            tensors = {name: file.get_tensor(name) for name in file.keys()}
    except SafetensorError as error:
        raise ValueError(f"{path} is not a readable safetensors file: {error}") from None
    if set(metadata) != {METADATA_KEY}:
        raise ValueError(f"{path} has no skunsup header (its metadata keys are "
                         f"{sorted(metadata)}); it was not written by a skunsup save.")
    try:
        header = json.loads(metadata[METADATA_KEY], object_pairs_hook=_refuse_duplicates)
    except json.JSONDecodeError as error:
        raise ValueError(f"{path}: the skunsup header is not valid JSON ({error}).") from None
    if not isinstance(header, dict) or header.get("format") != FORMAT:
        raise ValueError(f"{path} is not a saved skunsup neural model.")
    unknown = sorted(set(header) - set(_HEADER_KEYS))
    missing = sorted(set(_HEADER_KEYS) - set(header))
    if unknown or missing:
        raise ValueError(f"{path}: the header has unknown keys {unknown} or lacks keys "
                         f"{missing}; it was tampered with or written by another program.")
    version = header["format_version"]
    if not _is_int(version, 1):
        raise ValueError(f"{path}: format_version must be a positive int, got {version!r}.")
    if version > FORMAT_VERSION:
        raise ValueError(f"{path} has format version {version}, newer than this skunsup "
                         f"reads ({FORMAT_VERSION}); upgrade skunsup to load it.")
    return header, tensors


def restore(cls, header, tensors, overrides):
    """A fitted ``cls`` from a file's header and tensors (see :func:`read`).

    ``overrides`` are parameters given to ``load``; they must include every
    name of ``external_params``.
    """
    torch = import_torch(cls.__name__)
    name = cls.__name__
    names = set(cls._get_param_names())
    stored, external = header["params"], header["external_params"]
    if not isinstance(stored, dict) or not isinstance(external, list):
        raise ValueError("the header's params must be an object and external_params a list.")
    unknown = sorted((set(stored) | set(external) | set(overrides)) - names)
    if unknown:
        raise ValueError(f"unknown parameters of {name}: {unknown}.")
    missing = sorted(set(external) - set(overrides))
    if missing:
        raise ValueError(
            f"this {name} was saved with parameters that a file cannot hold: {missing} "
            "(your own torch module, callable or RandomState); pass them to load, e.g. "
            f"load(path, {missing[0]}=...).")
    decoder = _Decoder(tensors)
    params = {key: decoder(value, f"parameter {key}") for key, value in stored.items()}
    estimator = cls(**{**params, **overrides})
    validate_parameter_constraints(cls._parameter_constraints,
                                   estimator.get_params(deep=False), caller_name=name)
    _restore_attributes(estimator, header["attributes"], decoder)
    weights = {key.removeprefix("module."): value for key, value in tensors.items()
               if key.startswith("module.")}
    decoder.used |= {f"module.{key}" for key in weights}
    extra = sorted(set(tensors) - decoder.used)
    if extra:
        raise ValueError(f"the file holds tensors that nothing refers to: {extra}.")
    estimator.module_ = rebuild_module(estimator, weights, torch)
    check_training_state(estimator, torch)
    return estimator


def _restore_attributes(estimator, attributes, decoder):
    if not isinstance(attributes, dict):
        raise ValueError("the header's attributes must be an object.")
    checks = attribute_checks(type(estimator))
    unknown = sorted(set(attributes) - set(checks))
    missing = sorted(set(checks) - set(attributes) - set(_OPTIONAL_ATTRIBUTES))
    if unknown or missing:
        raise ValueError(f"{type(estimator).__name__} has no fitted attributes {unknown}"
                         f" or the file lacks {missing}.")
    for key, value in attributes.items():
        value = decoder(value, f"attribute {key}")
        check, meaning = checks[key]
        if not check(value):
            raise ValueError(f"attribute {key} must be {meaning}, got {value!r:.80}.")
        setattr(estimator, key, value)
    names = getattr(estimator, "feature_names_in_", None)
    if names is not None and len(names) != estimator.n_features_in_:
        raise ValueError(f"feature_names_in_ has {len(names)} names for "
                         f"n_features_in_={estimator.n_features_in_}.")


# ------------------------------------------------------------------ the network
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
                  if key not in _NEVER_STORED)
    given = {key: (tuple(value.shape), value.dtype) for key, value in weights.items()}

    def compare(expected):
        if expected != given:
            wrong = sorted(key for key in set(expected) | set(given)
                           if expected.get(key) != given.get(key))
            details = "; ".join(f"{key}: file {given.get(key)}, model {expected.get(key)}"
                                for key in wrong[:5])
            raise ValueError(
                f"the weights do not fit the {type(estimator).__name__} its parameters "
                f"build ({len(wrong)} tensors differ in name, shape or dtype: {details}).")

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
    if _is_real(fresh):
        return _is_real(saved)
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
    for key in ("_optimizer_state", "_scheduler_state"):
        if key in estimator.__dict__:
            setattr(estimator, key,
                    _map_tensors(getattr(estimator, key), torch.from_numpy, np.ndarray))
    weights = {key: torch.from_numpy(np.asarray(value)) for key, value in weights.items()}
    estimator.module_ = rebuild_module(estimator, weights, torch)
