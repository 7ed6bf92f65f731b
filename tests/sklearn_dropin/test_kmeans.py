"""scikit-learn's own KMeans tests (sklearn/cluster/tests/test_k_means.py) on skunsup's KMeans."""

from sklearn.conftest import global_dtype  # noqa: F401  (a fixture the tests use)

from skunsup.cluster import KMeans
from tests.sklearn_dropin._loader import load_sklearn_tests

_namespace, PRIVATE_TESTS = load_sklearn_tests(
    "sklearn.cluster.tests.test_k_means", "sklearn.cluster",
    {"sklearn.cluster.KMeans": KMeans},
)
globals().update(_namespace)
