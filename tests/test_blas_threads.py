"""utils._blas.blas_threads: the limits it sets and restores, nested blocks included."""

from threadpoolctl import threadpool_info

from skunsup.utils import _blas
from skunsup.utils._blas import blas_threads


def _blas_counts():
    return [lib["num_threads"] for lib in threadpool_info() if lib["user_api"] == "blas"]


def test_nested_blocks_set_and_restore_the_limits():
    outside = _blas_counts()
    with blas_threads(1):
        assert set(_blas_counts()) == {1}
        with blas_threads(1):  # the limit in force: nothing to do
            assert set(_blas_counts()) == {1}
            with blas_threads(2):
                assert set(_blas_counts()) == {2}
                with blas_threads(1):
                    assert set(_blas_counts()) == {1}
                assert set(_blas_counts()) == {2}
            assert set(_blas_counts()) == {1}
        assert set(_blas_counts()) == {1}
    assert _blas_counts() == outside
    assert _blas._active_limit is None


def test_a_block_with_the_limit_in_force_calls_no_threadpoolctl(monkeypatch):
    with blas_threads(1):
        monkeypatch.setattr(_blas, "_controller", lambda: 1 / 0)  # any call would raise
        with blas_threads(1):
            pass
        monkeypatch.undo()


def test_an_exception_restores_the_limits():
    outside = _blas_counts()
    try:
        with blas_threads(1):
            raise KeyError
    except KeyError:
        pass
    assert _blas_counts() == outside
    assert _blas._active_limit is None
