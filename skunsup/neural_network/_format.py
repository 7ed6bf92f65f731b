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
class comes from the caller's registry and the network from the estimator's
own ``_build_module``; the tensors' names, shapes and dtypes, the parameters
(their constraints), each fitted attribute (a check per name, below) and the
optimiser's and scheduler's states are checked before the model is returned.
"""

import json
import os
import re
import tempfile
from numbers import Integral, Real

import numpy as np

from skunsup.neural_network._rebuild import check_training_state, rebuild_module
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
    "ConditionalVAE": {
        "classes_": (lambda v: isinstance(v, np.ndarray) and v.ndim == 1 and len(v) > 0,
                     "a 1-D array of labels"),
        "class_count_": (lambda v: isinstance(v, np.ndarray) and v.ndim == 1
                         and v.dtype == np.float64, "a 1-D float64 array of counts"),
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
        raise ValueError(f"{path}: the header " + _differences(unknown, missing, "keys")
                         + "; it was tampered with or written by another program.")
    version = header["format_version"]
    if not _is_int(version, 1):
        raise ValueError(f"{path}: format_version must be a positive int, got {version!r}.")
    if version > FORMAT_VERSION:
        raise ValueError(f"{path} has format version {version}, newer than this skunsup "
                         f"reads ({FORMAT_VERSION}); upgrade skunsup to load it.")
    return header, tensors


def _differences(unknown, missing, what):
    parts = ([f"has unknown {what} {unknown}"] if unknown else []) + (
        [f"lacks the {what} {missing}"] if missing else [])
    return " and ".join(parts)


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
        raise ValueError(f"the {type(estimator).__name__} in the file "
                         + _differences(unknown, missing, "fitted attributes") + ".")
    for key, value in attributes.items():
        value = decoder(value, f"attribute {key}")
        check, meaning = checks[key]
        if not check(value):
            raise ValueError(f"attribute {key} must be {meaning}, got {value!r:.80}.")
        setattr(estimator, key, value)
    counts = getattr(estimator, "class_count_", None)
    if counts is not None and len(counts) != len(estimator.classes_):
        raise ValueError(f"class_count_ has {len(counts)} entries for "
                         f"{len(estimator.classes_)} classes_.")
    names = getattr(estimator, "feature_names_in_", None)
    if names is not None and len(names) != estimator.n_features_in_:
        raise ValueError(f"feature_names_in_ has {len(names)} names for "
                         f"n_features_in_={estimator.n_features_in_}.")
