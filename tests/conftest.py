"""Shared fixtures and settings for the skunsup test suite."""

import os

import pytest
from hypothesis import HealthCheck, settings

# Numba compiles on the first call of a kernel, which trips hypothesis' default
# 200 ms deadline; the CI profile also bounds the number of examples.
settings.register_profile(
    "ci",
    deadline=None,
    max_examples=25,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile("dev", deadline=None, max_examples=10)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


def _seeds_from_env():
    value = os.environ.get("SKUNSUP_TESTS_GLOBAL_RANDOM_SEED", "42")
    if value == "all":
        return list(range(100))
    if "-" in value:
        start, stop = (int(part) for part in value.split("-"))
        return list(range(start, stop + 1))
    return [int(value)]


@pytest.fixture(params=_seeds_from_env())
def global_random_seed(request):
    """A seed for tests that must hold for any seed (env: SKUNSUP_TESTS_GLOBAL_RANDOM_SEED)."""
    return request.param


@pytest.fixture(autouse=True, scope="session")
def _one_torch_thread():
    """Tests run torch on one thread: two threads are 2-3x slower on a busy 2-core box."""
    try:
        import torch
    except ImportError:
        yield
        return
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)
