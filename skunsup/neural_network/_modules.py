"""Builders of the multilayer perceptrons behind the neural estimators.

Every network that skunsup builds (here, and the convolutional ones of
:mod:`~skunsup.neural_network._conv`) is made of torch's own layer classes
(``Sequential``, ``Linear``, ``Conv2d``, activations, ``ModuleDict``), never of
a class of ours: the fitted ``module_`` then pickles and unpickles anywhere
torch is installed, and this module can be imported (by estimator discovery)
without importing torch. :mod:`~skunsup.neural_network._architectures` puts
the parts together.
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
