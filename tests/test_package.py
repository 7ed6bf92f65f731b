"""The package imports fast and without its optional extras."""

import subprocess
import sys
import textwrap

import pytest

import skunsup

BLOCK_OPTIONAL = textwrap.dedent("""
    import importlib.abc, sys

    class Block(importlib.abc.MetaPathFinder):
        def find_spec(self, name, path=None, target=None):
            if name.split(".")[0] in ("torch", "matplotlib"):
                raise ImportError(f"blocked for the test: {name}")

    sys.meta_path.insert(0, Block())
""")


def _run(code):
    return subprocess.run([sys.executable, "-c", BLOCK_OPTIONAL + textwrap.dedent(code)],
                          capture_output=True, text=True)


def test_import_needs_neither_torch_nor_matplotlib():
    result = _run("""
        import sys
        import skunsup
        from skunsup.utils import all_estimators
        names = [name for name, _ in all_estimators()]
        assert "torch" not in sys.modules and "matplotlib" not in sys.modules
        print(",".join(names))
    """)
    assert result.returncode == 0, result.stderr


def test_plain_import_is_light():
    result = subprocess.run(
        [sys.executable, "-c", "import sys, skunsup; print(sorted(m for m in ('torch', "
         "'matplotlib', 'numba', 'sklearn') if m in sys.modules))"],
        capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"


def test_lazy_names_resolve_or_say_what_is_missing():
    for name in skunsup.__all__:
        try:
            getattr(skunsup, name)
        except AttributeError as exc:  # an estimator whose issue has not landed yet
            assert name in str(exc)
    with pytest.raises(AttributeError, match="no attribute 'Nope'"):
        skunsup.Nope  # noqa: B018


def test_every_estimator_is_exported_at_the_top_level():
    from skunsup.utils import all_estimators

    names = {name for name, _ in all_estimators()}
    assert names <= set(skunsup._LAZY_ESTIMATORS), names - set(skunsup._LAZY_ESTIMATORS)


def test_neural_model_without_torch_names_the_extra():
    result = _run("""
        import numpy as np
        import skunsup.neural_network as nn
        cls = getattr(nn, "Autoencoder", None)
        if cls is None:
            print("SKIP")
        else:
            try:
                cls().fit(np.random.default_rng(0).random((20, 4)))
            except ImportError as exc:
                print("ERR", exc)
    """)
    assert result.returncode == 0, result.stderr
    if result.stdout.strip() == "SKIP":
        pytest.skip("no neural estimator yet")
    assert "ERR" in result.stdout and "skunsup[torch]" in result.stdout
