import numba
import numpy as np
import pytest

from recfactor.utils import _numba, njit, numba_threads


def test_njit_caches_by_default(monkeypatch):
    calls = []
    monkeypatch.setattr(_numba.numba, "njit", lambda *a, **kw: calls.append(kw))
    njit(parallel=True)
    njit(cache=False)
    assert calls == [{"parallel": True, "cache": True}, {"cache": False}]


@numba.njit(parallel=True)
def _thread_count(n):
    out = np.zeros(n, dtype=np.int64)
    for i in numba.prange(n):
        out[i] = numba.get_num_threads()
    return out


def test_numba_threads_bounds_and_restores():
    before = numba.get_num_threads()
    with numba_threads(1) as n:
        assert n == 1
        assert (_thread_count(8) == 1).all()
    assert numba.get_num_threads() == before


def test_numba_threads_negative_and_none():
    available = numba.config.NUMBA_NUM_THREADS
    with numba_threads(None) as n:
        assert n == available
    with numba_threads(-1) as n:
        assert 1 <= n <= available
    with numba_threads(10_000) as n:
        assert n == available
    with pytest.raises(ValueError, match="n_jobs == 0"):
        with numba_threads(0):
            pass
