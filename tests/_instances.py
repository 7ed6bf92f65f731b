"""How the common tests build each estimator, and the checks each may fail.

This is the only place where expected failures of scikit-learn's estimator
checks are declared. Every entry is a debt with its reason, not a hiding place.
"""

from skunsup.utils import all_estimators

# Constructor arguments that keep the common checks fast; keyed by class name.
INIT_PARAMS = {}

# A small grid per estimator for the GridSearchCV smoke test; keyed by class name.
PARAM_GRIDS = {}

# {class name: {check name: reason}}
EXPECTED_FAILED_CHECKS = {}


def estimator_instances():
    """Yield one instance of every public estimator, built with its fast params."""
    for name, cls in all_estimators():
        yield cls(**INIT_PARAMS.get(name, {}))


def expected_failed_checks(estimator):
    """The ``expected_failed_checks`` callable for ``parametrize_with_checks``."""
    return EXPECTED_FAILED_CHECKS.get(type(estimator).__name__, {})
