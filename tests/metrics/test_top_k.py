import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st

from recfactor.metrics import top_k
from recfactor.metrics._top_k_kernels import _top_k_rows
from recfactor.utils import _numba


_MASK = 2**64 - 1


def ref_mix(z):
    """splitmix64's finaliser on Python integers."""
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & _MASK
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & _MASK
    return z ^ (z >> 31)


_GOLDEN = 0x9E3779B97F4A7C15


def ref_tie_rank(seed, row, item):
    key = ref_mix(seed ^ ref_mix(((row + 1) * _GOLDEN) & _MASK))
    return ref_mix((key + (item + 1) * _GOLDEN) & _MASK)


def ref_top_k(scores, k, excluded=None, seed=0):
    """Full sort of every row: by decreasing score, then increasing tie rank; -1 pads."""
    n_rows, n_items = scores.shape
    items = np.full((n_rows, k), -1)
    top_scores = np.full((n_rows, k), -np.inf)
    for row in range(n_rows):
        admissible = [j for j in range(n_items) if excluded is None or not excluded[row, j]]
        ranked = sorted(admissible,
                        key=lambda j: (-scores[row, j], ref_tie_rank(seed, row, j)))[:k]
        items[row, : len(ranked)] = ranked
        top_scores[row, : len(ranked)] = scores[row, ranked]
    return items, top_scores


def random_scores(rng, shape, n_levels=None):
    """Continuous scores, or ``n_levels`` distinct values so that ties are frequent."""
    if n_levels is None:
        return rng.standard_normal(shape)
    return rng.integers(0, n_levels, size=shape).astype(np.float64)


@st.composite
def top_k_cases(draw):
    n_rows = draw(st.integers(1, 6))
    n_items = draw(st.integers(1, 12))
    k = draw(st.integers(1, n_items + 2))
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    scores = random_scores(rng, (n_rows, n_items), n_levels=draw(st.sampled_from([2, 4, None])))
    if draw(st.booleans()):
        scores[rng.random(scores.shape) < 0.1] = draw(st.sampled_from([np.inf, -np.inf]))
    excluded = rng.random((n_rows, n_items)) < draw(st.sampled_from([0.0, 0.3, 0.9]))
    return scores, k, excluded


@settings(max_examples=150, deadline=None)
@given(case=top_k_cases(), block_size=st.integers(1, 8))
def test_top_k_matches_reference_on_small_cases(case, block_size):
    scores, k, excluded = case
    expected_items, expected_scores = ref_top_k(scores, k, excluded)
    items, top_scores = top_k(
        scores, k, exclude=sp.csr_matrix(excluded), block_size=block_size, return_scores=True
    )
    np.testing.assert_array_equal(items, expected_items)
    np.testing.assert_array_equal(top_scores, expected_scores)


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("k", [1, 10, 100])
@pytest.mark.parametrize("n_levels", [None, 5])
def test_top_k_matches_reference_on_random_scores(seed, k, n_levels):
    rng = np.random.default_rng(seed)
    scores = random_scores(rng, (200, 300), n_levels)
    excluded = rng.random(scores.shape) < 0.05
    excluded[0] = True  # a row with nothing left
    expected_items, expected_scores = ref_top_k(scores, k, excluded)
    items, top_scores = top_k(scores, k, exclude=sp.csr_matrix(excluded), return_scores=True)
    np.testing.assert_array_equal(items, expected_items)
    np.testing.assert_array_equal(top_scores, expected_scores)
    assert items.dtype == np.int64
    assert (items[0] == -1).all()


@pytest.mark.parametrize("order", ["increasing", "decreasing"])
@pytest.mark.parametrize("k", [1, 7, 50])
def test_top_k_on_scores_sorted_by_item_id(order, k):
    # Popularity scores of items numbered by popularity: the worst case of a heap scan, and
    # the case the sampled floor is for. Ties (equal counts) are frequent.
    rng = np.random.default_rng(0)
    counts = np.sort(rng.integers(0, 40, size=2000)).astype(np.float64)
    scores = np.tile(counts if order == "increasing" else counts[::-1], (30, 1))
    excluded = rng.random(scores.shape) < 0.2
    excluded[1, -300:] = True  # the best items of a row excluded
    expected_items, expected_scores = ref_top_k(scores, k, excluded)
    items, top_scores = top_k(scores, k, exclude=sp.csr_matrix(excluded), return_scores=True)
    np.testing.assert_array_equal(items, expected_items)
    np.testing.assert_array_equal(top_scores, expected_scores)


@pytest.mark.parametrize("seed", [0, 1])
def test_factor_mode_equals_dense_product(seed):
    # Small integer factors make every product exact, so the two modes see identical scores,
    # ties included.
    rng = np.random.default_rng(seed)
    users = rng.integers(-3, 4, size=(150, 4)).astype(np.float64)
    items = rng.integers(-3, 4, size=(80, 4)).astype(np.float64)
    seen = sp.random(150, 80, density=0.1, format="csr", random_state=seed)
    expected = top_k(users @ items.T, 10, exclude=seen, return_scores=True)
    for block_size in (1, 7, 64, 1024):
        got = top_k(
            users, 10, item_factors=items, exclude=seen, block_size=block_size, return_scores=True
        )
        np.testing.assert_array_equal(got[0], expected[0])
        np.testing.assert_array_equal(got[1], expected[1])
    np.testing.assert_array_equal(expected[0], ref_top_k(users @ items.T, 10, seen.toarray())[0])


@pytest.mark.parametrize("item_factors", [None, "factors"])
def test_block_size_and_n_jobs_do_not_change_the_result(item_factors):
    rng = np.random.default_rng(0)
    if item_factors is None:
        scores = random_scores(rng, (97, 60), n_levels=3)
    else:
        scores = rng.integers(-2, 3, size=(97, 3)).astype(np.float64)
        item_factors = rng.integers(-2, 3, size=(60, 3)).astype(np.float64)
    expected = top_k(scores, 7, item_factors=item_factors)
    for block_size in (1, 10, 96, 97, 5000):
        np.testing.assert_array_equal(
            top_k(scores, 7, item_factors=item_factors, block_size=block_size), expected
        )
    for n_jobs in (1, 2, -1):
        np.testing.assert_array_equal(
            top_k(scores, 7, item_factors=item_factors, n_jobs=n_jobs), expected
        )


@pytest.mark.parametrize("random_state", [0, 7, 2**40])
def test_ties_follow_the_seed_not_the_item_ids(random_state):
    scores = np.ones((6, 9))
    scores[:, 4] = 2.0
    expected = ref_top_k(scores, 5, seed=random_state)[0]
    np.testing.assert_array_equal(top_k(scores, 5, random_state=random_state), expected)
    assert (expected[:, 0] == 4).all()


def test_ties_are_drawn_uniformly_and_independently_per_row():
    # Every item scored alike: the first item of each row is uniform over the catalogue,
    # whatever the ids, and rows do not share one order.
    n_items, n_rows = 20, 4000
    first = top_k(np.zeros((n_rows, n_items)), 3)[:, 0]
    counts = np.bincount(first, minlength=n_items)
    expected = n_rows / n_items
    chi2 = ((counts - expected) ** 2 / expected).sum()
    assert chi2 < 43.8  # the 0.999 quantile of chi-square with 19 degrees of freedom
    assert abs(first.mean() - (n_items - 1) / 2) < 0.5
    assert len({tuple(row) for row in top_k(np.zeros((50, n_items)), 3)}) > 40


def test_no_item_wins_its_ties_in_every_single_row_call():
    # One row per call, as a one-user request: the tie order must still vary with the seed,
    # and item 0 (on MovieLens the oldest, most popular movie) must not always come first.
    firsts = [top_k(np.zeros((1, 1000)), 1, random_state=seed)[0, 0] for seed in range(200)]
    assert len(set(firsts)) > 150
    assert firsts.count(0) < 5


def test_tie_order_depends_on_the_seed_alone():
    scores = np.zeros((30, 50))
    np.testing.assert_array_equal(top_k(scores, 5, random_state=3),
                                  top_k(scores, 5, random_state=3))
    assert (top_k(scores, 5, random_state=3) != top_k(scores, 5, random_state=4)).any()
    drawn = top_k(scores, 5, random_state=np.random.RandomState(0))
    np.testing.assert_array_equal(drawn, top_k(scores, 5, random_state=np.random.RandomState(0)))
    assert top_k(scores, 5, random_state=None).shape == (30, 5)
    for bad in (-1, 2**64):
        with pytest.raises(ValueError, match=r"random_state must be an integer in \[0, 2\*\*64\)"):
            top_k(scores, 5, random_state=bad)


def test_exclusion_forms():
    rng = np.random.default_rng(0)
    scores = random_scores(rng, (30, 20))
    mask = rng.random(scores.shape) < 0.4
    expected = ref_top_k(scores, 5, mask)[0]
    as_csr = sp.csr_matrix(mask.astype(np.float64))
    unsorted = as_csr.copy()
    for row in range(unsorted.shape[0]):
        start, stop = unsorted.indptr[row], unsorted.indptr[row + 1]
        unsorted.indices[start:stop] = unsorted.indices[start:stop][::-1]
    unsorted.has_sorted_indices = False
    indices_before = unsorted.indices.copy()
    explicit_zeros = as_csr.copy()
    explicit_zeros.data[:] = 0.0  # stored entries are excluded whatever their value
    forms = [mask, as_csr, sp.csc_matrix(mask), sp.csr_array(mask), unsorted, explicit_zeros]
    for exclude in forms:
        np.testing.assert_array_equal(top_k(scores, 5, exclude=exclude), expected)
    np.testing.assert_array_equal(unsorted.indices, indices_before)


def test_padding_when_k_exceeds_the_catalogue():
    scores = np.array([[0.2, 0.9, 0.2]])
    items, top_scores = top_k(scores, 5, return_scores=True)
    np.testing.assert_array_equal(items, ref_top_k(scores, 5)[0])
    assert items[0, 0] == 1 and set(items[0, 1:3]) == {0, 2} and (items[0, 3:] == -1).all()
    np.testing.assert_array_equal(top_scores, [[0.9, 0.2, 0.2, -np.inf, -np.inf]])


def test_infinite_scores_are_ordinary_scores():
    scores = np.array([[-np.inf, 1.0, np.inf, -np.inf]])
    np.testing.assert_array_equal(top_k(scores, 4), [[2, 1, 0, 3]])


def test_dtype_and_inputs_are_kept():
    rng = np.random.default_rng(0)
    scores = rng.standard_normal((10, 8)).astype(np.float32)
    before = scores.copy()
    items, top_scores = top_k(scores, 3, return_scores=True)
    assert top_scores.dtype == np.float32
    np.testing.assert_array_equal(items, ref_top_k(scores, 3)[0])
    np.testing.assert_array_equal(scores, before)
    fortran = np.asfortranarray(scores.astype(np.float64))
    np.testing.assert_array_equal(top_k(fortran, 3), items)
    np.testing.assert_array_equal(top_k(scores.tolist(), 3), items)


def test_nan_scores_raise():
    scores = np.array([[0.1, 0.2], [np.nan, 0.3]])
    with pytest.raises(ValueError, match="The scores contain NaN in row 1"):
        top_k(scores, 1)
    # A NaN on an excluded item is never read.
    nan_excluded = sp.csr_matrix([[0, 0], [1, 0]])
    np.testing.assert_array_equal(top_k(scores, 1, exclude=nan_excluded), [[1], [1]])


def test_nan_from_overflowing_factors_raises():
    users = np.full((1, 16), 1e308)
    items = np.tile([1e308, -1e308], (3, 8))
    with np.errstate(over="ignore", invalid="ignore"):
        if not np.isnan(users @ items.T).any():
            # Whether inf - inf appears depends on the BLAS's order of summation.
            pytest.skip("this BLAS overflows to infinity, not NaN")
        with pytest.raises(ValueError, match="computed from the factors contain NaN in row 0"):
            top_k(users, 1, item_factors=items)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(k=0), r"k must be a positive integer, got 0"),
        (dict(k=True), r"k must be a positive integer, got True"),
        (dict(k=2, block_size=0), r"block_size must be a positive integer, got 0"),
        (dict(k=2, n_jobs=0), r"n_jobs == 0 has no meaning"),
        (dict(k=2, exclude=sp.csr_matrix((3, 4))), r"exclude has shape \(3, 4\), but the scores"),
        (dict(k=2, item_factors=np.ones((5, 3))), r"scores \(user factors\) have 4 columns"),
        (dict(k=2, item_factors=np.full((5, 4), np.inf)), r"Input item_factors contains infinity"),
    ],
)
def test_bad_input(kwargs, match):
    with pytest.raises(ValueError, match=match):
        top_k(np.ones((2, 4)), **kwargs)


@pytest.fixture
def chunked_rows(monkeypatch):
    """Rows split among four threads however small the work, even on a smaller machine."""
    monkeypatch.setattr(_numba, "_MIN_CHUNK_WORK", 1)
    monkeypatch.setattr(_numba.numba.config, "NUMBA_NUM_THREADS", 4)


@pytest.mark.parametrize("item_factors", [None, "factors"])
def test_rows_selected_on_several_threads_match_the_reference(chunked_rows, item_factors):
    rng = np.random.default_rng(3)
    if item_factors is None:
        scores = random_scores(rng, (150, 80), n_levels=4)
        dense = scores
    else:
        scores = rng.integers(-2, 3, size=(150, 3)).astype(np.float32)
        item_factors = rng.integers(-2, 3, size=(80, 3)).astype(np.float32)
        dense = scores @ item_factors.T
    excluded = rng.random(dense.shape) < 0.2
    expected = ref_top_k(dense, 9, excluded)
    for block_size in (7, 1024):
        items, top_scores = top_k(scores, 9, item_factors=item_factors, n_jobs=4,
                                  exclude=sp.csr_matrix(excluded), block_size=block_size,
                                  return_scores=True)
        np.testing.assert_array_equal(items, expected[0])
        np.testing.assert_array_equal(top_scores, expected[1])
        assert top_scores.dtype == dense.dtype


def test_nan_is_found_in_any_chunk(chunked_rows):
    scores = np.ones((40, 10))
    scores[37, 4] = np.nan
    with pytest.raises(ValueError, match="NaN in row 37"):
        top_k(scores, 3, n_jobs=4)


def test_int64_indexed_masks_reuse_the_int32_compilation():
    # scipy indexes with int64 for large matrices or by construction; each index dtype
    # would be one more compile of the kernel on a fresh install.
    rng = np.random.default_rng(0)
    scores = rng.standard_normal((20, 30))
    seen = sp.random(20, 30, density=0.2, format="csr", random_state=0)
    expected = top_k(scores, 5, exclude=seen)
    compiled = set(_top_k_rows.signatures)
    wide = seen.copy()
    wide.indptr, wide.indices = wide.indptr.astype(np.int64), wide.indices.astype(np.int64)
    np.testing.assert_array_equal(top_k(scores, 5, exclude=wide), expected)
    assert set(_top_k_rows.signatures) == compiled



def test_a_small_product_runs_on_one_blas_thread_and_restores_the_callers(monkeypatch):
    from threadpoolctl import threadpool_info, threadpool_limits

    import recfactor.metrics._top_k as module

    limits = []
    real = module.blas_threads
    monkeypatch.setattr(module, "blas_threads",
                        lambda n_threads: limits.append(n_threads) or real(n_threads))
    rng = np.random.default_rng(0)
    user, users, items = (rng.normal(size=shape) for shape in [(1, 16), (300, 16), (5000, 16)])

    def blas():
        return [api["num_threads"] for api in threadpool_info() if api["user_api"] == "blas"]

    with threadpool_limits(2, user_api="blas"):
        before = blas()
        one = top_k(user, 5, item_factors=items)
        assert blas() == before
        many = top_k(users, 5, item_factors=items)
    # 300 x 5,000 x 16 multiply-adds are not small: the caller's threads do that product.
    assert limits == [1]
    np.testing.assert_array_equal(one, ref_top_k(user @ items.T, 5)[0])
    np.testing.assert_array_equal(many, ref_top_k(users @ items.T, 5)[0])
