"""How the common tests build each estimator, and the checks each may fail.

This is the only place where expected failures of scikit-learn's estimator
checks are declared. Every entry is a debt with its reason, not a hiding place.
"""

from skunsup.utils import all_estimators

# Constructor arguments that keep the common checks fast; keyed by class name.
INIT_PARAMS = {
    "Autoencoder": {"n_components": 2, "hidden_layer_sizes": (8,), "max_epochs": 5,
                    "batch_size": 32, "device": "cpu"},
    "SparseAutoencoder": {"n_components": 4, "hidden_layer_sizes": (8,), "max_epochs": 5,
                          "batch_size": 32, "device": "cpu"},
    "VAE": {"n_components": 2, "hidden_layer_sizes": (8,), "max_epochs": 5, "batch_size": 32,
            "device": "cpu"},
    "ConditionalVAE": {"n_components": 2, "hidden_layer_sizes": (8,), "max_epochs": 5,
                       "batch_size": 32, "device": "cpu"},
    "KMeans": {"n_init": 2, "max_iter": 5},
    "MiniBatchKMeans": {"n_init": 2, "max_iter": 5},
    "SNE": {"perplexity": 5, "max_iter": 250},
    "TSNE": {"perplexity": 5, "max_iter": 250},
}

# A small grid per estimator for the GridSearchCV smoke test; keyed by class name.
PARAM_GRIDS = {
    "Autoencoder": {"n_components": [2, 4]},
    "SparseAutoencoder": {"n_components": [2, 4]},
    "VAE": {"n_components": [2, 4]},
    "ConditionalVAE": {"n_components": [2, 4]},
    "KMeans": {"n_clusters": [2, 3]},
    "MiniBatchKMeans": {"n_clusters": [2, 3]},
    "PCA": {"n_components": [2, 5]},
    "IncrementalPCA": {"n_components": [2, 5]},
}

# {class name: {check name: reason}}
EXPECTED_FAILED_CHECKS = {
    "KMeans": {
        "check_sample_weight_equivalence_on_dense_data": (
            "the check shuffles the weighted data, so k-means++ draws other seeds than on "
            "the repeated data and the local optima differ (scikit-learn's KMeans fails it too)"
        ),
        "check_sample_weight_equivalence_on_sparse_data": (
            "as on dense data: seeding depends on sample order (scikit-learn's KMeans fails it too)"
        ),
    },
    "MiniBatchKMeans": {
        "check_sample_weight_equivalence_on_dense_data": (
            "batches are drawn with probability proportional to the weights, so the weighted "
            "and the repeated data give other batches, and seeding depends on sample order "
            "(scikit-learn's MiniBatchKMeans fails it too)"
        ),
        "check_sample_weight_equivalence_on_sparse_data": (
            "as on dense data: other batches and seeds (scikit-learn's MiniBatchKMeans "
            "fails it too)"
        ),
    },
    "TSNE": {
        "check_transformer_general": (
            "transform places each point anew against the fixed training map (openTSNE's "
            "method), so transform(X_train) lands near but not within 1e-2 of embedding_; "
            "fit_transform itself is deterministic"
        ),
        "check_transformer_data_not_an_array": (
            "the same fit_transform vs transform comparison as check_transformer_general"
        ),
    },
}


def estimator_instances():
    """Yield one instance of every public estimator, built with its fast params."""
    for name, cls in all_estimators():
        yield cls(**INIT_PARAMS.get(name, {}))


def expected_failed_checks(estimator):
    """The ``expected_failed_checks`` callable for ``parametrize_with_checks``."""
    return EXPECTED_FAILED_CHECKS.get(type(estimator).__name__, {})
