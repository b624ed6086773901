"""Numba helpers: one way to compile kernels and to bound their threads.

Imported only by kernel modules, so ``import recfactor`` does not pay numba's start-up cost.
"""

import os
import warnings
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager, nullcontext

import numba
import numpy as np

__all__ = ["njit", "numba_threads", "row_threads"]

# Least work (in array elements) worth a chunk of its own: handing a chunk to a thread costs
# tens of microseconds, about what a serial kernel spends on this many scores.
_MIN_CHUNK_WORK = 1 << 17
# Chunks per thread, so that a thread slowed by another process does not hold up the rest.
_CHUNKS_PER_THREAD = 4


def njit(function=None, **options):
    """:func:`numba.njit` with the on-disk cache on by default.

    Caching keeps the compile cost (a few tenths of a second per kernel) to the first call
    ever made on a machine, not the first call of every process. Use as ``@njit`` or
    ``@njit(nogil=True)``. recfactor's kernels are serial: ``parallel=True`` adds 0.6 to
    0.7 s of compilation to each kernel (three times the compile of a small metric loop), so
    row-parallel kernels are ``nogil`` and spread over threads by ``row_threads``.

    Numba caches beside the source file, or in the user's cache folder (``NUMBA_CACHE_DIR``,
    else ``~/.cache/numba``) when the package folder is read-only. When neither can be
    written, numba refuses to decorate a cached function at all; the kernel is then
    compiled without a cache, once per process, and a warning says how to get one.
    """
    if function is None:
        return lambda function: njit(function, **options)
    options.setdefault("cache", True)
    try:
        return numba.njit(**options)(function)
    except RuntimeError as error:
        if not options["cache"] or "no locator available" not in str(error):
            raise
    # One text and one place (this line) for every kernel, so that Python shows it once.
    warnings.warn(
        "Numba cannot write its cache beside recfactor's files or in the user's cache "
        "folder, so recfactor's kernels compile on the first call of every process; set "
        "NUMBA_CACHE_DIR to a writable folder to keep them.",
        RuntimeWarning,
    )
    return numba.njit(**{**options, "cache": False})(function)


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


class _RowRunner:
    """Calls of a row kernel over consecutive row ranges, on a pool of threads."""

    def __init__(self, n_threads, pool):
        self.n_threads = n_threads
        self._pool = pool

    def __call__(self, call, n_rows, row_cost=1):
        """Run ``call(start, stop)`` over ranges of rows that cover ``range(n_rows)``.

        ``row_cost`` is the work of a row in array elements (its number of scores, say):
        calls too small to be worth a thread run in the caller's thread. Results of ``call``
        are discarded; its exceptions are raised here.
        """
        n_chunks = min(
            self.n_threads * _CHUNKS_PER_THREAD, n_rows, n_rows * row_cost // _MIN_CHUNK_WORK
        )
        if self._pool is None or n_chunks <= 1:
            call(0, n_rows)
            return
        bounds = np.linspace(0, n_rows, n_chunks + 1).astype(np.int64)
        futures = [
            self._pool.submit(call, int(start), int(stop))
            for start, stop in zip(bounds[:-1], bounds[1:])
        ]
        for future in futures:
            future.result()


@contextmanager
def row_threads(n_jobs=None):
    """Spread a serial ``nogil`` kernel over the rows of its arrays, on ``n_jobs`` threads.

    Yields ``run(call, n_rows, row_cost=1)``, which calls ``call(start, stop)`` on ranges of
    rows covering ``range(n_rows)``, in parallel when the work is large enough, and returns
    once all are done. ``call`` must write only rows ``start:stop`` of its outputs.
    ``n_jobs`` counts as in :func:`numba_threads`; ``None`` is numba's current setting (so
    ``numba.set_num_threads`` or :func:`numba_threads` around the block bounds it). Threads
    start on first use and stop on exit; ``run.n_threads`` tells how many may run.

    Threads over a serial kernel give the speed of a ``parallel=True`` one without the
    0.6 to 0.7 s that parallel compilation adds to each kernel's first call.

    Examples
    --------
    >>> import numpy as np
    >>> from recfactor.utils._numba import row_threads
    >>> out = np.zeros(6)
    >>> def fill(start, stop):
    ...     out[start:stop] = np.arange(start, stop)
    >>> with row_threads(2) as run:
    ...     run(fill, 6)
    >>> out
    array([0., 1., 2., 3., 4., 5.])
    """
    # Only the count is read: numba's own setting is left alone, as are the OpenMP threads
    # that torch shares with numba's OpenMP layer.
    n_threads = numba.get_num_threads() if n_jobs is None else _n_threads(n_jobs)
    with ThreadPoolExecutor(n_threads) if n_threads > 1 else nullcontext() as pool:
        yield _RowRunner(n_threads, pool)
