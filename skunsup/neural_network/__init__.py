"""Neural unsupervised models on a torch backend (torch is imported lazily).

Importing this package does not import torch: the networks are built, and
torch imported, when a model is fitted or used.
"""

from skunsup.neural_network._autoencoder import Autoencoder, SparseAutoencoder
from skunsup.neural_network._callbacks import Checkpoint
from skunsup.neural_network._conditional_vae import ConditionalVAE
from skunsup.neural_network._persistence import load
from skunsup.neural_network._vae import VAE

__all__ = [
    "VAE",
    "Autoencoder",
    "Checkpoint",
    "ConditionalVAE",
    "SparseAutoencoder",
    "load",
]
