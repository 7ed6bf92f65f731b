"""Numba presets shared by every kernel module.

Kernels are decorated with :func:`jit_kernel` (serial) or :func:`jit_parallel`
(``parallel=True``), so that caching and floating-point flags are the same
everywhere. ``fastmath=True`` would include ``nnan``/``ninf``, under which
``np.isnan`` may return False for a NaN, so we name the safe flags instead.

``FASTMATH_ORDERED`` (no ``reassoc``) is for code whose last bits must not
depend on whether numba compiled it in this process or loaded it from its
on-disk cache. Numba links a copy of every ``prange`` loop body, and of every
non-inline helper a kernel calls, into each code library that uses it, and
optimises each copy again; the process that compiles a kernel runs the first
copy, a process that loads it from the cache the last one. With ``reassoc``
LLVM may add in another order in each (the partial sums of a vectorised
reduction, for one), and an iterative method such as t-SNE turns the last-bit
differences into another result. Without ``reassoc`` every copy adds in the
order written, and a loop vectorises only if it carries no sum: write such a
loop over the outputs, with the index of the sum outside. The t-SNE kernels
found to differ use it (tests/test_numba_cache_reproducibility.py); the others
keep ``reassoc`` for their vectorised sums.
"""

import contextlib

import numba

FASTMATH = frozenset({"nsz", "arcp", "contract", "afn", "reassoc"})
# without reassoc: the same sums in every copy of linked code (see the module docstring)
FASTMATH_ORDERED = FASTMATH - {"reassoc"}


def jit_kernel(func=None, **options):
    """Compile ``func`` with numba's ``njit`` and skunsup's defaults.

    Parameters
    ----------
    func : callable, default=None
        The function to compile. When None, return a decorator.
    **options : dict
        Overrides of the defaults ``cache=True, nogil=True, fastmath=FASTMATH``.

    Returns
    -------
    compiled : callable
        The compiled dispatcher (or a decorator when ``func`` is None).

    Examples
    --------
    >>> from skunsup.utils._numba import jit_kernel
    >>> @jit_kernel(cache=False)  # doctests have no file to cache into
    ... def add(a, b):
    ...     return a + b
    >>> add(1, 2)
    3
    """
    settings = {"cache": True, "nogil": True, "fastmath": FASTMATH}
    settings.update(options)
    if isinstance(settings["fastmath"], frozenset):
        settings["fastmath"] = set(settings["fastmath"])  # numba wants a set
    decorator = numba.njit(**settings)
    return decorator if func is None else decorator(func)


def jit_parallel(func=None, **options):
    """Like :func:`jit_kernel`, with ``parallel=True`` for ``numba.prange`` loops.

    Parameters
    ----------
    func : callable, default=None
        The function to compile. When None, return a decorator.
    **options : dict
        Overrides of the defaults.

    Returns
    -------
    compiled : callable
        The compiled dispatcher (or a decorator when ``func`` is None).

    Examples
    --------
    >>> import numba
    >>> import numpy as np
    >>> from skunsup.utils._numba import jit_parallel
    >>> @jit_parallel(cache=False)
    ... def double(x):
    ...     out = np.empty_like(x)
    ...     for i in numba.prange(x.shape[0]):
    ...         out[i] = 2 * x[i]
    ...     return out
    >>> double(np.arange(3.0)).tolist()
    [0.0, 2.0, 4.0]
    """
    return jit_kernel(func, parallel=True, **options)


@contextlib.contextmanager
def numba_threads(n_jobs):
    """Run the block with ``n_jobs`` numba threads, restoring the previous count.

    Parameters
    ----------
    n_jobs : int or None
        scikit-learn's convention: None means all threads numba was started
        with, -1 all cores, -2 all but one, and so on.

    Yields
    ------
    n_threads : int
        The thread count in force inside the block.

    Examples
    --------
    >>> from skunsup.utils._numba import numba_threads
    >>> with numba_threads(1) as n_threads:
    ...     n_threads
    1
    """
    n_threads = resolve_n_threads(n_jobs)
    previous = numba.get_num_threads()
    numba.set_num_threads(n_threads)
    try:
        yield n_threads
    finally:
        numba.set_num_threads(previous)


def resolve_n_threads(n_jobs):
    """Translate scikit-learn's ``n_jobs`` into a numba thread count.

    Parameters
    ----------
    n_jobs : int or None
        None means numba's configured maximum; negative values count back
        from the number of cores as in joblib (-1 = all).

    Returns
    -------
    n_threads : int
        A count between 1 and ``numba.config.NUMBA_NUM_THREADS``.

    Examples
    --------
    >>> from skunsup.utils._numba import resolve_n_threads
    >>> resolve_n_threads(1)
    1
    """
    maximum = numba.config.NUMBA_NUM_THREADS
    if n_jobs is None:
        return maximum
    if n_jobs < 0:
        n_jobs = maximum + 1 + n_jobs
    return int(min(max(n_jobs, 1), maximum))
