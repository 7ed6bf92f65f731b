"""Mark the known failures of scikit-learn's tests and count the drop-in share."""

import os
import re

import pytest

from tests.sklearn_dropin.expected_failures import BEHAVIOUR, MESSAGE_WORDING, NOT_STRICT

# scikit-learn's float32 variants of its tests are skipped unless this is set
# (read when sklearn.conftest is imported by the test modules here): a drop-in
# must pass them too.
os.environ.setdefault("SKLEARN_RUN_FLOAT32_TESTS", "1")

_DROPIN_DIR = os.path.dirname(__file__)


def _matches(pattern, name):
    return re.fullmatch(".*".join(map(re.escape, pattern.split("*"))), name) is not None


def _expected_failure(item):
    """(reason, strict) of a listed test, or None.

    A key matches the test's name with its parameters, its function name, or,
    when it holds ``*``, the name with parameters with ``*`` standing for any
    text (``"test_x[*-full]"``: every parametrization ending in ``-full``).
    """
    names = (item.name, getattr(item, "originalname", item.name))
    for table, strict in ((BEHAVIOUR, True), (MESSAGE_WORDING, True), (NOT_STRICT, False)):
        for key, reason in table.items():
            if key in names or ("*" in key and _matches(key, item.name)):
                return reason, strict
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
            expected = _expected_failure(item)
            if expected is not None:
                reason, strict = expected
                item.add_marker(pytest.mark.xfail(reason=reason, strict=strict))
                item.add_marker(pytest.mark.dropin_known_failure)
            if not _exercises_skunsup(item):
                item.add_marker(pytest.mark.sklearn_only)
