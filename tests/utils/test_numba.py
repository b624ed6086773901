import threading

import numba
import numpy as np
import pytest

from recfactor.utils import _numba, njit, numba_threads
from recfactor.utils._numba import row_threads


def _fake_njit(calls, cache_error=None):
    """A stand-in for numba.njit that records its options and may refuse to cache."""

    def fake(**options):
        calls.append(options)
        if options["cache"] and cache_error is not None:
            raise RuntimeError(cache_error)
        return lambda function: ("compiled", function)

    return fake


def _kernel(x):
    return x


def test_njit_caches_by_default(monkeypatch):
    calls = []
    monkeypatch.setattr(_numba.numba, "njit", _fake_njit(calls))
    assert njit(nogil=True)(_kernel) == ("compiled", _kernel)
    assert njit(_kernel) == ("compiled", _kernel)
    njit(cache=False)(_kernel)
    assert calls == [{"nogil": True, "cache": True}, {"cache": True}, {"cache": False}]


def test_njit_compiles_without_cache_where_none_can_be_written(monkeypatch):
    # What numba 0.68 raises for a read-only package with no writable user cache folder.
    refusal = "cannot cache function '_kernel': no locator available for file 'k.py'"
    calls = []
    monkeypatch.setattr(_numba.numba, "njit", _fake_njit(calls, refusal))
    with pytest.warns(RuntimeWarning, match="NUMBA_CACHE_DIR"):
        assert njit(nogil=True)(_kernel) == ("compiled", _kernel)
    assert calls == [{"nogil": True, "cache": True}, {"nogil": True, "cache": False}]
    monkeypatch.setattr(_numba.numba, "njit", _fake_njit([], "another failure"))
    with pytest.raises(RuntimeError, match="another failure"):
        njit(_kernel)


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


def _recorder():
    calls = []

    def record(start, stop):
        calls.append((start, stop, threading.get_ident()))

    return calls, record


def test_row_threads_cover_every_row_once_in_chunks(monkeypatch):
    # Chunking from the first row of work, and four threads even on a smaller machine.
    monkeypatch.setattr(_numba, "_MIN_CHUNK_WORK", 1)
    monkeypatch.setattr(_numba.numba.config, "NUMBA_NUM_THREADS", 4)
    calls, record = _recorder()
    with row_threads(4) as run:
        assert run.n_threads == 4
        run(record, 103)
    ranges = sorted((start, stop) for start, stop, _ in calls)
    assert len(ranges) == 4 * _numba._CHUNKS_PER_THREAD
    assert ranges[0][0] == 0 and ranges[-1][1] == 103
    assert all(stop == start for (_, stop), (start, _) in zip(ranges[:-1], ranges[1:]))
    assert all(start < stop for start, stop in ranges)
    assert threading.get_ident() not in {ident for _, _, ident in calls}


def test_row_threads_run_small_work_in_the_callers_thread(monkeypatch):
    monkeypatch.setattr(_numba.numba.config, "NUMBA_NUM_THREADS", 4)
    calls, record = _recorder()
    with row_threads(4) as run:
        run(record, 50, row_cost=100)  # 5,000 elements: not worth a thread
        run(record, 0)
    assert calls == [(0, 50, threading.get_ident()), (0, 0, threading.get_ident())]
    calls.clear()
    with row_threads(1) as run:
        assert run.n_threads == 1
        run(record, 10**6, row_cost=10**6)
    assert calls == [(0, 10**6, threading.get_ident())]


def test_row_threads_raise_what_a_chunk_raises(monkeypatch):
    monkeypatch.setattr(_numba, "_MIN_CHUNK_WORK", 1)
    monkeypatch.setattr(_numba.numba.config, "NUMBA_NUM_THREADS", 2)

    def fail(start, stop):
        if start > 0:
            raise ValueError(f"row {start}")

    with pytest.raises(ValueError, match="row"):
        with row_threads(2) as run:
            run(fail, 10)


def test_row_threads_read_but_never_set_numbas_thread_count():
    before = numba.get_num_threads()
    with numba_threads(1):
        with row_threads() as run:
            assert run.n_threads == 1
    with row_threads(1) as run:
        assert numba.get_num_threads() == before
    with row_threads(None) as run:
        assert run.n_threads == before
    with pytest.raises(ValueError, match="n_jobs == 0"):
        with row_threads(0):
            pass
