"""Mark the known failures of scikit-learn's tests and count the drop-in share."""

import os

import pytest

from tests.sklearn_dropin.expected_failures import BEHAVIOUR, MESSAGE_WORDING

# scikit-learn's float32 variants of its tests are skipped unless this is set
# (read when sklearn.conftest is imported by the test modules here): a drop-in
# must pass them too.
os.environ.setdefault("SKLEARN_RUN_FLOAT32_TESTS", "1")

_DROPIN_DIR = os.path.dirname(__file__)


def _reason(item):
    for table in (BEHAVIOUR, MESSAGE_WORDING):
        for key in (item.name, getattr(item, "originalname", item.name)):
            if key in table:
                return table[key]
    return None


def _exercises_skunsup(item):
    """The test names a skunsup class, or is parametrized with one."""
    if getattr(item.function, "exercises_skunsup", False):
        return True
    params = getattr(getattr(item, "callspec", None), "params", {})
    return any(getattr(value, "__module__", "").startswith("skunsup")
               for value in params.values())


def pytest_collection_modifyitems(config, items):
    for item in items:
        if str(item.path).startswith(_DROPIN_DIR):
            reason = _reason(item)
            if reason is not None:
                item.add_marker(pytest.mark.xfail(reason=reason, strict=True))
            if not _exercises_skunsup(item):
                item.add_marker(pytest.mark.sklearn_only)
