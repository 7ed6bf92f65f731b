"""Convolutional encoders and decoders for images given as flat rows.

The estimators see X as ``(n_samples, channels * height * width)``, as
scikit-learn wants; these networks reshape every row to an image
(``Unflatten``) and their output back to a row (``Flatten``). Like the MLPs of
:mod:`~skunsup.neural_network._modules` they are made of torch's own layer
classes only, so a fitted ``module_`` unpickles anywhere torch is installed.

Geometry. Every convolution of the encoder has kernel 3, stride 2 and padding
1, so it maps a side of ``n`` pixels to ``ceil(n / 2)`` for every ``n >= 1``
(an odd side is completed by the convolution's zero padding). Every transposed
convolution of the decoder has kernel 4 and stride 2 and maps ``m`` to
``2 m - 2 padding + 2 + output_padding``: padding 1 and no output padding for
an even target side ``n = 2 m``, padding 2 and output padding 1 for an odd one
``n = 2 m - 1``. So every image size works, and the decoder's output always
has ``image_shape``.
"""

from skunsup.neural_network._modules import activation_layer
from skunsup.utils._torch import import_torch

# A 3x3 kernel with stride 2 and padding 1 halves a side (rounding up) for any
# size and sees every input pixel (a 2x2 kernel, the smallest that halves,
# would see each pixel once and no neighbour across the stride).
KERNEL_SIZE = 3
STRIDE = 2
PADDING = 1
# The decoder's kernel is a multiple of the stride, so every output pixel gets
# the same number of kernel taps: a 3x3 kernel with stride 2 overlaps unevenly
# and paints a checkerboard (Odena, Dumoulin and Olah, "Deconvolution and
# Checkerboard Artifacts", Distill 2016). Measured: 2-D conv VAEs on 2,000
# Fashion-MNIST images reached a test ELBO of -284.4 nats after 8 epochs with
# 4x4 transposed kernels, -297.4 with 3x3 (-279.5 and -285.4 after 15), for
# 16/9 the multiply-adds in those layers.
DECODER_KERNEL_SIZE = 4
# Convolution weights are kept in channels-last (NHWC) memory, the layout oneDNN
# computes in on the CPU, so that feature maps are not reordered around every
# convolution: a training step of the default conv autoencoder (batch 256, one
# thread) took 0.91x the CPU time of the same network in torch's default NCHW
# layout (median of 10 interleaved rounds on a loaded 2-core machine, so only
# indicative; the conv tables of benchmarks/bench_autoencoder.py and bench_vae.py
# time a hand loop in both layouts). The values are the same; only their order
# in memory differs.


def conv_sides(side, n_layers):
    """The side lengths of the encoder's feature maps, the input's first.

    Parameters
    ----------
    side : int
        Height or width of the input image.
    n_layers : int
        Number of strided convolutions.

    Returns
    -------
    sides : list of int
        ``n_layers + 1`` lengths, each ``ceil`` of half the one before.

    Examples
    --------
    >>> from skunsup.neural_network._conv import conv_sides
    >>> conv_sides(28, 2), conv_sides(7, 3)
    ([28, 14, 7], [7, 4, 2, 1])
    """
    sides = [int(side)]
    for _ in range(n_layers):
        sides.append((sides[-1] + 1) // 2)
    return sides


def _bottleneck(image_shape, channels):
    """``(channels, height, width)`` of the last feature map of the encoder."""
    _, height, width = image_shape
    return (channels[-1], conv_sides(height, len(channels))[-1],
            conv_sides(width, len(channels))[-1])


def conv_features(image_shape, channels, activation):
    """The encoder's strided convolutions through ``channels``, flattened.

    Parameters
    ----------
    image_shape : tuple of int
        ``(channels, height, width)`` of the images a row holds (C order).
    channels : sequence of int
        Output channels of the convolutions, one per layer.
    activation : str
        Activation after every convolution (key of ``ACTIVATIONS``).

    Returns
    -------
    features : torch.nn.Sequential
        Maps ``(batch, prod(image_shape))`` to ``(batch, n_outputs)``, the last
        feature maps as rows.
    n_outputs : int
        Values in the last feature maps.

    Examples
    --------
    >>> import torch
    >>> from skunsup.neural_network._conv import conv_features
    >>> features, n_outputs = conv_features((1, 28, 28), (32, 64), "relu")
    >>> n_outputs, features(torch.zeros(5, 784)).shape
    (3136, torch.Size([5, 3136]))
    """
    torch = import_torch()
    nn = torch.nn
    widths = [int(image_shape[0]), *(int(c) for c in channels)]
    layers = [nn.Unflatten(1, tuple(int(s) for s in image_shape))]
    for c_in, c_out in zip(widths[:-1], widths[1:]):
        layers += [nn.Conv2d(c_in, c_out, KERNEL_SIZE, stride=STRIDE, padding=PADDING),
                   activation_layer(activation)]
    c, h, w = _bottleneck(image_shape, widths[1:])
    layers.append(nn.Flatten())
    return nn.Sequential(*layers).to(memory_format=torch.channels_last), c * h * w


def conv_encoder(image_shape, channels, n_outputs, activation, final_activation=None):
    """:func:`conv_features`, then a ``Linear`` to ``n_outputs``.

    Parameters
    ----------
    image_shape : tuple of int
        ``(channels, height, width)`` of the images a row holds (C order).
    channels : sequence of int
        Output channels of the convolutions, one per layer.
    n_outputs : int
        Width of the output (the code, or ``[mu, log_var]``).
    activation : str
        Activation after every convolution (key of ``ACTIVATIONS``).
    final_activation : str or None, default=None
        Activation of the output; None leaves it linear.

    Returns
    -------
    encoder : torch.nn.Sequential
        Maps ``(batch, prod(image_shape))`` to ``(batch, n_outputs)``; its layers
        are those of :func:`conv_features` followed by the ``Linear``.

    Examples
    --------
    >>> import torch
    >>> from skunsup.neural_network._conv import conv_encoder
    >>> encoder = conv_encoder((1, 28, 28), (32, 64), 20, "relu")
    >>> encoder(torch.zeros(5, 784)).shape
    torch.Size([5, 20])
    """
    torch = import_torch()
    nn = torch.nn
    features, n_features = conv_features(image_shape, channels, activation)
    layers = [*features, nn.Linear(n_features, int(n_outputs))]
    if final_activation is not None:
        layers.append(activation_layer(final_activation))
    return nn.Sequential(*layers).to(memory_format=torch.channels_last)


def conv_decoder(n_inputs, image_shape, channels, activation):
    """The mirror of :func:`conv_encoder`: a ``Linear``, then 4x4 transposed convolutions.

    The output is linear (logits for a Bernoulli output, means for a Gaussian
    one): the estimator applies the output activation.

    Parameters
    ----------
    n_inputs : int
        Width of the input (the code).
    image_shape : tuple of int
        ``(channels, height, width)`` of the output images.
    channels : sequence of int
        The encoder's channels; the decoder runs through them reversed.
    activation : str
        Activation after the ``Linear`` and every transposed convolution but the last.

    Returns
    -------
    decoder : torch.nn.Sequential
        Maps ``(batch, n_inputs)`` to ``(batch, prod(image_shape))``.

    Examples
    --------
    >>> import torch
    >>> from skunsup.neural_network._conv import conv_decoder
    >>> decoder = conv_decoder(20, (3, 9, 10), (8, 16), "relu")
    >>> decoder(torch.zeros(5, 20)).shape
    torch.Size([5, 270])
    """
    torch = import_torch()
    nn = torch.nn
    widths = [int(image_shape[0]), *(int(c) for c in channels)]
    n_layers = len(widths) - 1
    heights = conv_sides(image_shape[1], n_layers)
    lengths = conv_sides(image_shape[2], n_layers)
    c, h, w = _bottleneck(image_shape, widths[1:])
    layers = [nn.Linear(int(n_inputs), c * h * w), activation_layer(activation),
              nn.Unflatten(1, (c, h, w))]
    for level in reversed(range(n_layers)):
        # an odd target side takes padding 2 and output padding 1 (the module's docstring)
        odd = (heights[level] % 2, lengths[level] % 2)
        layers.append(nn.ConvTranspose2d(widths[level + 1], widths[level],
                                         DECODER_KERNEL_SIZE, stride=STRIDE,
                                         padding=(1 + odd[0], 1 + odd[1]), output_padding=odd))
        if level > 0:
            layers.append(activation_layer(activation))
    layers.append(nn.Flatten())
    return nn.Sequential(*layers).to(memory_format=torch.channels_last)
