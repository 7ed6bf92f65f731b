"""skunsup: the classic unsupervised-learning methods as scikit-learn estimators.

k-means, PCA, SNE, t-SNE, autoencoders and the variational autoencoder, each a
scikit-learn compatible estimator with fast kernels (numba on the CPU, torch for
the neural models). Names are re-exported lazily: ``import skunsup`` imports
neither torch nor matplotlib.
"""

import importlib

__version__ = "0.1.0.dev0"

# public name -> subpackage that defines it
_LAZY_ESTIMATORS = {
    "KMeans": "cluster",
    "MiniBatchKMeans": "cluster",
    "PCA": "decomposition",
    "IncrementalPCA": "decomposition",
    "SNE": "manifold",
    "TSNE": "manifold",
    "Autoencoder": "neural_network",
    "SparseAutoencoder": "neural_network",
    "VAE": "neural_network",
    "ConditionalVAE": "neural_network",
}
_SUBPACKAGES = (
    "cluster",
    "datasets",
    "decomposition",
    "manifold",
    "neural_network",
    "plotting",
    "utils",
)

__all__ = [*_LAZY_ESTIMATORS, *_SUBPACKAGES]


def __getattr__(name):
    if name in _LAZY_ESTIMATORS:
        module = importlib.import_module(f"skunsup.{_LAZY_ESTIMATORS[name]}")
        return getattr(module, name)
    if name in _SUBPACKAGES:
        return importlib.import_module(f"skunsup.{name}")
    raise AttributeError(f"module 'skunsup' has no attribute {name!r}")


def __dir__():
    return sorted([*globals(), *__all__])
