"""scikit-learn's own IncrementalPCA tests (sklearn/decomposition/tests/test_incremental_pca.py)
on skunsup's IncrementalPCA, with skunsup's PCA as the batch model they compare it with."""

from skunsup.decomposition import PCA, IncrementalPCA
from tests.sklearn_dropin._loader import load_sklearn_tests

_namespace, PRIVATE_TESTS = load_sklearn_tests(
    "sklearn.decomposition.tests.test_incremental_pca", "sklearn.decomposition",
    {"sklearn.decomposition.IncrementalPCA": IncrementalPCA,
     "sklearn.decomposition.PCA": PCA},
)
globals().update(_namespace)
