"""What the tests of the torch executors share: the devices they run on, the common checks.

Every test that takes the ``device`` fixture runs the torch executor on the
CPU build of torch (``device='cpu'`` inside
:func:`~skunsup.utils._torch.torch_executor_on_cpu`), and on CUDA as well when
torch sees a GPU.
"""

import pytest

from skunsup.utils._torch import torch_executor_on_cpu

torch = pytest.importorskip("torch")

DEVICES = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])


@pytest.fixture(params=DEVICES)
def device(request):
    """The device of a fit: 'cpu' through the torch executor, and 'cuda' when present."""
    if request.param == "cpu":
        with torch_executor_on_cpu():
            yield "cpu"
    else:
        yield request.param


def failed_common_checks(estimator):
    """scikit-learn's estimator checks of ``estimator`` run through its torch executor:
    the failures beyond the expected ones of tests/test_common.py."""
    from sklearn.utils.estimator_checks import check_estimator

    from tests._instances import expected_failed_checks

    with torch_executor_on_cpu():
        results = check_estimator(estimator, on_fail=None,
                                  expected_failed_checks=expected_failed_checks(estimator))
    return [(r["check_name"], str(r["exception"])[:200]) for r in results
            if r["status"] == "failed"]
