"""Thread count of the BLAS libraries numpy and scipy loaded, for a block of code."""

import contextlib
import functools


# The limit of the innermost active blas_threads block (None outside any): a
# block asking for the limit already in force changes nothing and skips
# threadpoolctl (about 15 us a call: a mini-batch step of 0.6 ms limits BLAS
# once per step, inside its loop's block).
_active_limit = None


@functools.cache
def _controller():
    from threadpoolctl import ThreadpoolController

    return ThreadpoolController()


@contextlib.contextmanager
def blas_threads(n_threads):
    """Run the block with at most ``n_threads`` BLAS threads, restoring the previous counts.

    For work already spread over the cores by another layer (a Dask worker
    thread, a numba ``prange``), where BLAS threads of its own would only
    oversubscribe them. The threadpool controller is built once per process
    (building it inspects every loaded library, about a millisecond), so the
    context is cheap enough for a task of a few milliseconds. The limit is
    process-wide, like every BLAS setting; a block inside one with the same
    limit costs nothing.

    Parameters
    ----------
    n_threads : int
        The limit.

    Yields
    ------
    None

    Examples
    --------
    >>> import numpy as np
    >>> from skunsup.utils._blas import blas_threads
    >>> with blas_threads(1):
    ...     float(np.ones((2, 2)) @ np.ones(2) @ np.ones(2))
    4.0
    """
    global _active_limit
    if _active_limit == n_threads:
        yield
        return
    outer = _active_limit
    with _controller().limit(limits=n_threads, user_api="blas"):
        _active_limit = n_threads
        try:
            yield
        finally:
            _active_limit = outer
