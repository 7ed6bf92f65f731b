"""Builders of the multilayer perceptrons behind the neural estimators.

Every network here is made of torch's own layer classes (``Sequential``,
``Linear``, activations, ``ModuleDict``), never of a class of ours: the fitted
``module_`` then pickles and unpickles anywhere torch is installed, and this
module can be imported (by estimator discovery) without importing torch.
"""

from skunsup.utils._torch import import_torch

#: activation name (scikit-learn's MLP words, plus a few) -> torch.nn class name
ACTIVATIONS = {
    "relu": "ReLU",
    "tanh": "Tanh",
    "logistic": "Sigmoid",
    "identity": "Identity",
    "elu": "ELU",
    "gelu": "GELU",
}


def activation_layer(name):
    """A fresh torch activation layer for an activation name of :data:`ACTIVATIONS`."""
    torch = import_torch()
    return getattr(torch.nn, ACTIVATIONS[name])()


def mlp(sizes, activation, final_activation=None):
    """A ``Sequential`` of ``Linear`` layers through ``sizes``.

    Parameters
    ----------
    sizes : sequence of int
        Layer widths, input first: ``(784, 128, 32)`` gives two ``Linear`` layers.
    activation : str
        Activation after every hidden layer (key of :data:`ACTIVATIONS`).
    final_activation : str or None
        Activation after the last layer; ``None`` leaves it linear.

    Returns
    -------
    module : torch.nn.Sequential
    """
    torch = import_torch()
    layers = []
    n_layers = len(sizes) - 1
    for index in range(n_layers):
        layers.append(torch.nn.Linear(int(sizes[index]), int(sizes[index + 1])))
        last = index == n_layers - 1
        name = final_activation if last else activation
        if name is not None:
            layers.append(activation_layer(name))
    return torch.nn.Sequential(*layers)


def _encoder_decoder(n_features, hidden_layer_sizes, n_encoder_outputs, n_components,
                     activation, code_activation):
    """``ModuleDict`` of an MLP encoder and its mirror decoder (both builders' body).

    Encoder ``n_features -> hidden... -> n_encoder_outputs``, decoder
    ``n_components -> hidden reversed... -> n_features``, built in that order
    (the order in which their initial weights are drawn).
    """
    torch = import_torch()
    hidden = [int(h) for h in hidden_layer_sizes]
    encoder = mlp([n_features, *hidden, n_encoder_outputs], activation, code_activation)
    decoder = mlp([n_components, *hidden[::-1], n_features], activation, None)
    return torch.nn.ModuleDict({"encoder": encoder, "decoder": decoder})


def build_autoencoder(n_features, hidden_layer_sizes, n_components, activation,
                      code_activation):
    """Encoder ``n_features -> hidden... -> n_components`` and its mirror decoder.

    The decoder ends with a linear layer: it returns logits for a Bernoulli
    (BCE) output or the mean of a Gaussian (MSE) output; the estimator applies
    the output activation.

    Returns
    -------
    module : torch.nn.ModuleDict
        With ``"encoder"`` and ``"decoder"`` entries.
    """
    return _encoder_decoder(n_features, hidden_layer_sizes, n_components, n_components,
                            activation, code_activation)


def build_vae(n_features, hidden_layer_sizes, n_components, activation):
    """Gaussian encoder (mean and log-variance, ``2 * n_components`` outputs) and decoder.

    The encoder's last ``Linear`` returns ``[mu, log_var]`` side by side (the
    same as two heads on the last hidden layer); the decoder returns logits or
    means as in :func:`build_autoencoder`.

    Returns
    -------
    module : torch.nn.ModuleDict
        With ``"encoder"`` and ``"decoder"`` entries.
    """
    return _encoder_decoder(n_features, hidden_layer_sizes, 2 * n_components, n_components,
                            activation, None)
