"""scikit-learn's own TSNE tests (sklearn/manifold/tests/test_t_sne.py) on skunsup's TSNE."""

from sklearn.conftest import global_dtype  # noqa: F401  (a fixture the tests use)

from skunsup.manifold import TSNE
from tests.sklearn_dropin._loader import load_sklearn_tests

_namespace, PRIVATE_TESTS = load_sklearn_tests(
    "sklearn.manifold.tests.test_t_sne", "sklearn.manifold",
    {"sklearn.manifold.TSNE": TSNE},
)
globals().update(_namespace)
