"""scikit-learn's own k-means tests (sklearn/cluster/tests/test_k_means.py) on skunsup's
KMeans and MiniBatchKMeans."""

from sklearn.conftest import global_dtype  # noqa: F401  (a fixture the tests use)

from skunsup.cluster import KMeans, MiniBatchKMeans
from tests.sklearn_dropin._loader import load_sklearn_tests

_namespace, PRIVATE_TESTS = load_sklearn_tests(
    "sklearn.cluster.tests.test_k_means", "sklearn.cluster",
    {"sklearn.cluster.KMeans": KMeans, "sklearn.cluster.MiniBatchKMeans": MiniBatchKMeans},
)
globals().update(_namespace)
