"""BLAS thread limits, cheap enough to set around a single small call."""

import functools

from threadpoolctl import ThreadpoolController

__all__ = ["blas_threads"]


@functools.cache
def _controller():
    # Built once: threadpoolctl's inspection of the loaded libraries takes milliseconds,
    # setting their limits microseconds (29 us for numpy's and scipy's OpenBLAS).
    return ThreadpoolController()


def blas_threads(n_threads):
    """Context manager limiting BLAS to ``n_threads`` threads, restoring the caller's limit.

    Small calls should run on one thread: waking OpenBLAS's threads costs more than such a
    call needs (a 300 x 12 triangular solve took 8 ms on two threads and 8 us on one), and the
    woken threads spin for a while afterwards, slowing the caller's next operations (a
    one-history SASRec ``recommend`` took 15 ms instead of 5 ms on two cores).
    """
    return _controller().limit(limits=n_threads, user_api="blas")
