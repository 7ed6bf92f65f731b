"""The networks a neural estimator trains: its architecture parameters and user modules.

Autoencoders and VAEs take ``architecture`` ('mlp' or 'conv'), ``image_shape``
and ``channels`` for the networks they build themselves, and ``encoder`` /
``decoder`` for a user's own ``torch.nn.Module``. :func:`build_network` reads
these parameters (it never writes them), builds the default parts, copies or
instantiates the user's parts, and tries every user part once on a batch of
zeros to check that it maps the shapes the model needs.
"""

import copy
from numbers import Integral

import numpy as np

from skunsup.neural_network._conv import conv_decoder, conv_encoder
from skunsup.neural_network._modules import activation_layer, mlp
from skunsup.utils._sklearn_compat import StrOptions
from skunsup.utils._torch import import_torch

ARCHITECTURES = ("mlp", "conv")

# Default of ``channels``: two strided layers take a 28 x 28 image to 7 x 7
# feature maps, as in the convolutional MNIST VAEs of the Keras and TensorFlow
# tutorials; 32 then 64 maps keep each layer's cost about equal (the second
# works on a quarter of the pixels with twice the channels in and out).
DEFAULT_CHANNELS = (32, 64)

# Rows of the batch of zeros a user's module is tried on at fit: more than one,
# so that a module that drops or mixes up the batch dimension shows in the shape.
_PROBE_ROWS = 2

#: the parameter constraints of the architecture parameters (merged by the estimators)
ARCHITECTURE_CONSTRAINTS = {
    "architecture": [StrOptions(set(ARCHITECTURES))],
    "image_shape": ["array-like", None],
    "channels": ["array-like"],
    "encoder": [callable, None],
    "decoder": [callable, None],
}


def _integers(value, name):
    """The entries of ``value`` as a tuple of Python ints, or a ValueError naming ``name``."""
    entries = np.ravel(np.asarray(value, dtype=object))
    if entries.size == 0 or not all(
            isinstance(entry, Integral) and not isinstance(entry, bool) for entry in entries):
        raise ValueError(f"{name} must be a tuple of integers, got {value!r}.")
    return tuple(int(entry) for entry in entries)


def check_channels(channels):
    """``channels`` as a tuple of positive ints (at least one layer).

    Examples
    --------
    >>> from skunsup.neural_network._architectures import check_channels
    >>> check_channels([16, 32])
    (16, 32)
    """
    widths = _integers(channels, "channels")
    if min(widths) < 1:
        raise ValueError(f"channels must hold positive integers (one per convolution), "
                         f"got {channels!r}.")
    return widths


def resolve_image_shape(image_shape, n_features):
    """``(channels, height, width)`` from the ``image_shape`` parameter and X's width.

    Parameters
    ----------
    image_shape : tuple of int or None
        ``(channels, height, width)``, or ``(height, width)`` for one channel;
        one entry may be -1, inferred from ``n_features`` as by
        :func:`numpy.reshape`.
    n_features : int
        Number of features of X (values per image).

    Returns
    -------
    shape : tuple of 3 int

    Raises
    ------
    ValueError
        When ``image_shape`` is missing or malformed, or does not hold
        ``n_features`` values.

    Examples
    --------
    >>> from skunsup.neural_network._architectures import resolve_image_shape
    >>> resolve_image_shape((28, 28), 784), resolve_image_shape((3, -1, 8), 96)
    ((1, 28, 28), (3, 4, 8))
    """
    if image_shape is None:
        raise ValueError(
            "architecture='conv' needs image_shape=(channels, height, width) (or "
            f"(height, width) for one channel) of the images X's {n_features} features hold.")
    shape = _integers(image_shape, "image_shape")
    if len(shape) not in (2, 3) or any(s < 1 and s != -1 for s in shape) or shape.count(-1) > 1:
        raise ValueError(
            "image_shape must be (channels, height, width) or (height, width) of positive "
            f"integers, one of which may be -1 (inferred from n_features); got {image_shape!r}.")
    if len(shape) == 2:
        shape = (1, *shape)
    known = int(np.prod([s for s in shape if s != -1]))
    if -1 in shape and n_features % known == 0:
        shape = tuple(n_features // known if s == -1 else s for s in shape)
    if int(np.prod(shape)) != n_features:
        values = f"a multiple of {known}" if -1 in shape else f"{known}"
        raise ValueError(
            f"image_shape={tuple(image_shape)!r} holds {values} values per image, but X has "
            f"{n_features} features; give the shape of the images X's rows hold (one entry "
            "may be -1, inferred from n_features).")
    return shape


def user_module(spec, name):
    """A fresh copy of a user's module: ``spec`` deep-copied, or called with no arguments.

    The parameter itself is never changed, as scikit-learn's ``clone`` expects.
    The copy is moved to the CPU (where ``module_`` is kept between calls).
    """
    torch = import_torch()
    if isinstance(spec, torch.nn.Module):
        return copy.deepcopy(spec).to("cpu")
    try:
        module = spec()
    except TypeError as exc:
        raise TypeError(
            f"{name}={spec!r} is called with no arguments at fit, which failed ({exc}); pass "
            "an instance, or bind the arguments with functools.partial.") from exc
    if not isinstance(module, torch.nn.Module):
        raise TypeError(
            f"{name} must be a torch.nn.Module instance, or a class or callable returning "
            f"one when called with no arguments; {spec!r}() returned {type(module).__name__}.")
    return module.to("cpu")


def check_module_shapes(module, name, n_inputs, n_outputs, meaning):
    """Run ``module`` once on zeros of shape (2, n_inputs); a clear error unless (2, n_outputs).

    The module runs in eval mode without gradients (no running statistics
    change) and goes back to its previous mode.
    """
    torch = import_torch()
    probe = torch.zeros(_PROBE_ROWS, n_inputs)
    was_training = module.training
    module.eval()
    try:
        with torch.no_grad():
            output = module(probe)
    except Exception as exc:  # any failure of the user's code is reported with the shapes
        raise ValueError(
            f"The {name} failed on a float32 batch of shape {tuple(probe.shape)} "
            f"(batch, {n_inputs}): {type(exc).__name__}: {exc}") from exc
    finally:
        module.train(was_training)
    if not isinstance(output, torch.Tensor):
        raise ValueError(f"The {name} must return one tensor, but returned a "
                         f"{type(output).__name__}.")
    if tuple(output.shape) != (_PROBE_ROWS, n_outputs):
        raise ValueError(
            f"The {name} maps a batch of shape {tuple(probe.shape)} to shape "
            f"{tuple(output.shape)}, but it must map (batch, {n_inputs}) to (batch, "
            f"{n_outputs}): {meaning}.")


def build_network(estimator, n_features, n_encoder_outputs, *, encoder_meaning,
                  code_activation=None, user_code_activation=None):
    """The ``ModuleDict`` with the ``"encoder"`` and ``"decoder"`` an estimator trains.

    Default parts follow ``estimator.architecture``; a user's ``encoder`` /
    ``decoder`` replaces its default part, and the other part stays the
    default one. Parts are built encoder first (the order their initial
    weights are drawn in).

    Parameters
    ----------
    estimator : BaseTorchEstimator
        Reads ``architecture``, ``image_shape``, ``channels``, ``encoder``,
        ``decoder``, ``activation``, ``hidden_layer_sizes`` and ``n_components``.
    n_features : int
        Width of the data: the encoder's input and the decoder's output.
    n_encoder_outputs : int
        Width of the encoder's output (the code, or ``[mu, log_var]``).
    encoder_meaning : str
        What the encoder's output is, for the shape error.
    code_activation : str or None, default=None
        Activation of the default encoder's output.
    user_code_activation : str or None, default=None
        Activation appended to a user's encoder (the sparse autoencoder's sigmoid).

    Returns
    -------
    module : torch.nn.ModuleDict
    """
    torch = import_torch()
    n_codes = int(estimator.n_components)
    if estimator.encoder is None or estimator.decoder is None:
        build_encoder, build_decoder = _default_builders(estimator, n_features)
    if estimator.encoder is None:
        encoder = build_encoder(n_encoder_outputs, code_activation)
    else:
        encoder = user_module(estimator.encoder, "encoder")
        check_module_shapes(encoder, "encoder", n_features, n_encoder_outputs, encoder_meaning)
        if user_code_activation is not None:
            encoder = torch.nn.Sequential(encoder, activation_layer(user_code_activation))
    if estimator.decoder is None:
        decoder = build_decoder(n_codes)
    else:
        decoder = user_module(estimator.decoder, "decoder")
        check_module_shapes(decoder, "decoder", n_codes, n_features,
                            "from the code (n_components) to the data (n_features)")
    return torch.nn.ModuleDict({"encoder": encoder, "decoder": decoder})


def _default_builders(estimator, n_features):
    """``(encoder(n_outputs, final_activation), decoder(n_inputs))`` of the architecture."""
    activation = estimator.activation
    if estimator.architecture == "mlp":
        hidden = list(estimator._hidden_sizes())
        return (lambda n_outputs, final: mlp([n_features, *hidden, n_outputs], activation,
                                             final),
                lambda n_inputs: mlp([n_inputs, *hidden[::-1], n_features], activation))
    shape = resolve_image_shape(estimator.image_shape, n_features)
    channels = check_channels(estimator.channels)
    return (lambda n_outputs, final: conv_encoder(shape, channels, n_outputs, activation,
                                                  final),
            lambda n_inputs: conv_decoder(n_inputs, shape, channels, activation))
