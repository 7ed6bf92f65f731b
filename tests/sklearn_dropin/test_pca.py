"""scikit-learn's own PCA tests (sklearn/decomposition/tests/test_pca.py) on skunsup's PCA."""

from sklearn.conftest import global_dtype  # noqa: F401  (a fixture the tests use)

from skunsup.decomposition import PCA
from tests.sklearn_dropin._loader import load_sklearn_tests

_namespace, PRIVATE_TESTS = load_sklearn_tests(
    "sklearn.decomposition.tests.test_pca", "sklearn.decomposition",
    {"sklearn.decomposition.PCA": PCA},
)
globals().update(_namespace)
