"""Doctest collection for the package: skip examples whose optional extra is missing."""

import importlib.util

import pytest

# module-path fragment -> the optional package its doctests need
_OPTIONAL = {
    "skunsup.neural_network": "torch",
    "skunsup.plotting": "matplotlib",
    "skunsup._tour": "matplotlib",
    "skunsup.utils._torch": "torch",
    "skunsup.utils._callbacks.ProgressBar": "torch",  # its example also trains an Autoencoder
    "skunsup.utils._persistence": "skops",
    "skunsup.neural_network._persistence": "safetensors",
    "skunsup.neural_network._callbacks": "safetensors",
    "skunsup.neural_network._base.BaseTorchEstimator.save": "safetensors",
    "skunsup.utils._dask": "dask",
    "skunsup.cluster._kmeans_parallel": "dask",
    "skunsup.decomposition._pca_dask": "dask",
}


def pytest_collection_modifyitems(config, items):
    for item in items:
        if not isinstance(item, pytest.DoctestItem):
            continue
        for prefix, package in _OPTIONAL.items():
            if item.name.startswith(prefix) and importlib.util.find_spec(package) is None:
                item.add_marker(pytest.mark.skip(reason=f"doctest needs {package}"))
