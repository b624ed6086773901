"""Numba helpers: one way to compile kernels and to bound their threads.

Imported only by kernel modules, so ``import recfactor`` does not pay numba's start-up cost.
"""

import os
from contextlib import contextmanager

import numba

__all__ = ["njit", "numba_threads"]


def njit(*args, **kwargs):
    """:func:`numba.njit` with the on-disk cache on by default.

    Caching keeps the compile cost (often a second per kernel) to the first call ever made on
    a machine, not the first call of every process. Use as ``@njit`` or
    ``@njit(parallel=True)``.
    """
    kwargs.setdefault("cache", True)
    return numba.njit(*args, **kwargs)


def _n_threads(n_jobs):
    available = numba.config.NUMBA_NUM_THREADS
    if n_jobs == 0:
        raise ValueError("n_jobs == 0 has no meaning; use None, a positive or a negative int.")
    if n_jobs < 0:
        n_jobs = (os.cpu_count() or 1) + 1 + n_jobs
    return max(1, min(int(n_jobs), available))


@contextmanager
def numba_threads(n_jobs=None):
    """Run the parallel Numba kernels inside the block on ``n_jobs`` threads.

    ``None`` keeps numba's current setting (every thread it may use, unless the user set
    fewer) and changes nothing: with numba's OpenMP layer, setting it also sets the
    OpenMP thread count that torch reads. Negative values count back from the number of
    CPUs as in joblib (``-1`` is all of them, ``-2`` all but one). The previous setting is
    restored on exit, so a user's own ``numba.set_num_threads`` is left alone.

    Examples
    --------
    >>> import numba
    >>> from recfactor.utils import numba_threads
    >>> with numba_threads(1):
    ...     numba.get_num_threads()
    1
    """
    previous = numba.get_num_threads()
    if n_jobs is None:
        yield previous
        return
    n_threads = _n_threads(n_jobs)
    numba.set_num_threads(n_threads)
    try:
        yield n_threads
    finally:
        numba.set_num_threads(previous)
