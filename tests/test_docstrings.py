"""numpydoc validation of every public object, with the checks set in pyproject.toml."""

import importlib
import inspect
from pathlib import Path

import pytest

import skunsup
from skunsup.utils import all_estimators

numpydoc_validate = pytest.importorskip("numpydoc.validate")
tomllib = pytest.importorskip("tomllib")

CONFIG = tomllib.loads(
    (Path(__file__).resolve().parents[1] / "pyproject.toml").read_text()
)["tool"]["numpydoc_validation"]


def _ignored_checks():
    checks = CONFIG["checks"]
    assert checks[0] == "all", "pyproject lists 'all' then the checks it leaves out"
    return set(checks[1:])


def _public_objects():
    names = set()
    for subpackage in skunsup._SUBPACKAGES:
        module = importlib.import_module(f"skunsup.{subpackage}")
        for name in getattr(module, "__all__", []):
            obj = getattr(module, name)
            if inspect.isfunction(obj) or inspect.isclass(obj):
                names.add(f"{obj.__module__}.{obj.__qualname__}")
    for _, cls in all_estimators():
        names.add(f"{cls.__module__}.{cls.__qualname__}")
        # public methods an estimator inherits from skunsup's own bases and mixins
        # too, named where they are defined (scikit-learn's own are not ours to check)
        for owner in cls.__mro__:
            if not owner.__module__.startswith("skunsup."):
                continue
            for attr, member in vars(owner).items():
                if not attr.startswith("_") and (inspect.isfunction(member)
                                                 or isinstance(member, property)):
                    names.add(f"{owner.__module__}.{owner.__qualname__}.{attr}")
    return sorted(names)


@pytest.mark.parametrize("name", _public_objects())
def test_docstring(name):
    result = numpydoc_validate.validate(name)
    errors = [f"{code}: {message}" for code, message in result["errors"]
              if code not in _ignored_checks()]
    assert not errors, f"{name}:\n" + "\n".join(errors)
