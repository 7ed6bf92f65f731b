"""Find the public estimators of skunsup by walking the package."""

import importlib
import inspect
import pkgutil

from sklearn.base import BaseEstimator

_SKIPPED_PACKAGES = {"tests", "_tour"}
_SKIPPED_MODULES = {"conftest", "__main__", "_cli"}


def all_estimators():
    """Return every public estimator class defined in skunsup.

    The package is walked module by module (private modules included, since
    estimators live in ``_name.py`` files and are re-exported publicly); a class
    counts when it subclasses :class:`sklearn.base.BaseEstimator`, its name does
    not start with an underscore, and it is not abstract.

    Returns
    -------
    estimators : list of (str, type)
        ``(name, class)`` pairs sorted by name, each class once.

    Examples
    --------
    >>> from skunsup.utils import all_estimators
    >>> names = [name for name, _ in all_estimators()]
    >>> isinstance(names, list)
    True
    """
    import skunsup

    found = {}
    for module_info in pkgutil.walk_packages(skunsup.__path__, prefix="skunsup."):
        parts = module_info.name.split(".")
        if any(part in _SKIPPED_PACKAGES for part in parts) or parts[-1] in _SKIPPED_MODULES:
            continue
        module = importlib.import_module(module_info.name)
        for name, obj in inspect.getmembers(module, inspect.isclass):
            if (
                issubclass(obj, BaseEstimator)
                and obj.__module__.startswith("skunsup.")
                and not name.startswith("_")
                and not inspect.isabstract(obj)
            ):
                found[name] = obj
    return sorted(found.items())
