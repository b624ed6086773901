"""One thread-pool size for a benchmark: torch's, BLAS's, OpenMP's and Numba's."""

import os


def limit_threads(threads):
    """Give every pool ``threads`` threads; nothing when ``threads`` is None.

    Call it before numba is first imported: its pool takes NUMBA_NUM_THREADS at launch, and
    a later change of the variable is an error at the next compilation. Every pool, not only
    torch's: an idle OpenMP or BLAS pool left at the core count spins on the core a timed run
    needs. The variables also reach the processes a benchmark starts.
    """
    if threads is None:
        return
    for variable in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS",
                     "NUMBA_NUM_THREADS"):
        os.environ[variable] = str(threads)
    import numba
    import torch
    from threadpoolctl import threadpool_limits

    torch.set_num_threads(threads)
    numba.set_num_threads(threads)
    threadpool_limits(threads)
