import warnings

import numpy as np
import pytest
import scipy.linalg
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.exceptions import ConvergenceWarning

from recfactor.feature_selection import maxvol, rect_maxvol
from recfactor.utils import numba_threads


def ref_maxvol(A, tol=1.05, max_iters=100):
    """Square maxvol as written in the paper: LU start, then the largest |B[i, j]| swaps in."""
    A = np.asarray(A, dtype=np.float64)
    n, r = A.shape
    p, _, _ = scipy.linalg.lu(A, p_indices=True)
    # A == L[p] @ U: the pivot rows are those placed first by the factorization.
    pivots = np.argsort(p)[:r]
    B = A @ np.linalg.inv(A[pivots])
    for _ in range(max_iters):
        i, j = np.unravel_index(np.argmax(np.abs(B)), B.shape)
        if abs(B[i, j]) <= tol:
            break
        B = B - np.outer(B[:, j], B[i] - np.eye(r)[j]) / B[i, j]
        pivots[j] = i
    return pivots, B


def ref_rect_maxvol(A, tol=1.1, min_rows=None, max_rows=None):
    """Rectangular maxvol with the explicit update of C (Mikhalev and Oseledets, 2018)."""
    n, r = np.shape(A)
    min_rows = r if min_rows is None else min_rows
    max_rows = n if max_rows is None else max_rows
    pivots, C = ref_maxvol(A)
    pivots = list(pivots)
    norms = np.sum(C**2, axis=1)
    while len(pivots) < max_rows:
        candidates = norms.copy()
        candidates[pivots] = -np.inf
        i = int(np.argmax(candidates))
        if len(pivots) >= min_rows and candidates[i] <= tol**2:
            break
        c = C[i].copy()
        u = C @ c
        scale = 1 / (1 + c @ c)
        C = np.hstack([C - scale * np.outer(u, c), scale * u[:, None]])
        norms = norms - scale * u**2
        pivots.append(i)
    return np.array(pivots), C


def volume(A, pivots):
    """sqrt(det(S.T @ S)) of the selected rows S, |det S| when S is square."""
    return np.prod(np.linalg.svd(np.asarray(A, dtype=np.float64)[pivots], compute_uv=False))


def assert_same_selection(A, pivots, expected):
    # Pivots can only differ after an exact tie broken differently by rounding; the
    # selections must then be equally good.
    if not np.array_equal(pivots, expected):
        np.testing.assert_allclose(volume(A, pivots), volume(A, expected), rtol=1e-9)


def check_maxvol_result(A, pivots, B, tol):
    n, r = A.shape
    assert pivots.dtype == np.int64 and pivots.shape == (r,)
    assert B.dtype == np.float64 and B.shape == (n, r)
    assert len(set(pivots.tolist())) == r
    np.testing.assert_array_equal(B[pivots], np.eye(r))
    assert np.abs(B).max() <= tol
    np.testing.assert_allclose(B @ A[pivots], A, atol=1e-8 * max(1.0, np.abs(A).max()))


def check_rect_result(A, pivots, C, tol, min_rows, max_rows):
    n, r = A.shape
    k = len(pivots)
    assert pivots.dtype == np.int64 and C.dtype == np.float64 and C.shape == (n, k)
    assert len(set(pivots.tolist())) == k
    assert min_rows <= k <= max_rows
    np.testing.assert_array_equal(pivots[:r], maxvol(A)[0])
    np.testing.assert_allclose(C, A @ np.linalg.pinv(A[pivots]), atol=1e-8)
    np.testing.assert_allclose(C @ A[pivots], A, atol=1e-8 * max(1.0, np.abs(A).max()))
    left_out = np.sum(np.delete(C, pivots, axis=0) ** 2, axis=1)
    if k < max_rows:
        assert (left_out <= tol**2 * (1 + 1e-9)).all()
    added = range(min_rows, k)
    for m in {*added[:3], *added[-3:]}:
        # A row beyond min_rows is added only while its coefficient norm exceeds tol.
        before = A @ np.linalg.pinv(A[pivots[:m]])
        assert np.sum(before[pivots[m]] ** 2) > tol**2 * (1 - 1e-9)


@st.composite
def tall_matrices(draw):
    r = draw(st.integers(1, 8))
    n = draw(st.integers(r, 40))
    seed = draw(st.integers(0, 2**32 - 1))
    return np.random.default_rng(seed).standard_normal((n, r))


@settings(max_examples=60, deadline=None)
@given(A=tall_matrices(), tol=st.sampled_from([1.0, 1.05, 1.5]))
def test_maxvol_matches_reference_on_small_cases(A, tol):
    pivots, B = maxvol(A, tol=tol, max_iters=1000)
    expected_pivots, expected_B = ref_maxvol(A, tol=tol, max_iters=1000)
    assert_same_selection(A, pivots, expected_pivots)
    if np.array_equal(pivots, expected_pivots):
        np.testing.assert_allclose(B, expected_B, atol=1e-9)
    check_maxvol_result(A, pivots, B, tol)


@settings(max_examples=60, deadline=None)
@given(A=tall_matrices(), tol=st.sampled_from([1.0, 1.1, 2.0]), data=st.data())
def test_rect_maxvol_matches_reference_on_small_cases(A, tol, data):
    n, r = A.shape
    max_rows = data.draw(st.integers(r, n))
    min_rows = data.draw(st.integers(r, max_rows))
    pivots, C = rect_maxvol(A, tol=tol, min_rows=min_rows, max_rows=max_rows)
    expected_pivots, expected_C = ref_rect_maxvol(A, tol, min_rows, max_rows)
    assert_same_selection(A, pivots, expected_pivots)
    if np.array_equal(pivots, expected_pivots):
        np.testing.assert_allclose(C, expected_C, atol=1e-8)
    check_rect_result(A, pivots, C, tol, min_rows, max_rows)


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("shape", [(500, 20), (300, 60), (2000, 5), (64, 64), (65, 64)])
def test_maxvol_matches_reference_on_random_matrices(seed, shape):
    A = np.random.default_rng(seed).standard_normal(shape)
    pivots, B = maxvol(A, tol=1.01, max_iters=500)
    expected_pivots, expected_B = ref_maxvol(A, tol=1.01, max_iters=500)
    np.testing.assert_array_equal(pivots, expected_pivots)
    np.testing.assert_allclose(B, expected_B, atol=1e-8)
    check_maxvol_result(A, pivots, B, 1.01)


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize(
    "shape, min_rows, max_rows",
    [((500, 20), None, None), ((300, 30), 100, 100), ((400, 10), 15, 60), ((40, 40), None, None)],
)
def test_rect_maxvol_matches_reference_on_random_matrices(seed, shape, min_rows, max_rows):
    A = np.random.default_rng(seed).standard_normal(shape)
    n, r = shape
    pivots, C = rect_maxvol(A, tol=1.1, min_rows=min_rows, max_rows=max_rows)
    expected_pivots, expected_C = ref_rect_maxvol(A, 1.1, min_rows, max_rows)
    np.testing.assert_array_equal(pivots, expected_pivots)
    np.testing.assert_allclose(C, expected_C, atol=1e-8)
    min_rows = r if min_rows is None else min_rows
    max_rows = n if max_rows is None else max_rows
    check_rect_result(A, pivots, C, 1.1, min_rows, max_rows)


def test_rect_maxvol_pivots_are_a_ranking():
    A = np.random.default_rng(3).standard_normal((300, 12))
    ranking = rect_maxvol(A, min_rows=200, max_rows=200)[0]
    for m in (12, 13, 50, 199):
        np.testing.assert_array_equal(rect_maxvol(A, min_rows=m, max_rows=m)[0], ranking[:m])
    # tol only decides where the same ranking stops.
    for tol in (1.0, 1.1, 1.5, 3.0):
        pivots = rect_maxvol(A, tol=tol)[0]
        np.testing.assert_array_equal(pivots, ranking[: len(pivots)])


def test_rect_maxvol_bounds_and_square_case():
    A = np.random.default_rng(4).standard_normal((50, 5))
    pivots, B = maxvol(A)
    rect_pivots, C = rect_maxvol(A, max_rows=5)
    np.testing.assert_array_equal(rect_pivots, pivots)
    np.testing.assert_array_equal(C, B)
    all_pivots, P = rect_maxvol(A, min_rows=50)
    assert sorted(all_pivots) == list(range(50))
    # With every row selected, C is the orthogonal projector onto the columns of A.
    Q = np.linalg.qr(A)[0]
    np.testing.assert_allclose(P[:, np.argsort(all_pivots)], Q @ Q.T, atol=1e-10)
    # A huge tol adds nothing beyond min_rows.
    assert len(rect_maxvol(A, tol=1e6, min_rows=7)[0]) == 7


def test_maxvol_finds_planted_rows():
    # Small noise plus one large row per column: those rows are the maximal-volume choice.
    rng = np.random.default_rng(5)
    A = 0.01 * rng.standard_normal((1000, 8))
    planted = rng.choice(1000, size=8, replace=False)
    A[planted] = 10 * np.eye(8) + 0.01 * rng.standard_normal((8, 8))
    pivots, _ = maxvol(A, tol=1.0)
    np.testing.assert_array_equal(pivots, planted)


def test_square_input_selects_every_row():
    A = np.random.default_rng(6).standard_normal((7, 7))
    pivots, B = maxvol(A)
    assert sorted(pivots) == list(range(7))
    np.testing.assert_allclose(B, np.eye(7)[np.argsort(pivots)], atol=1e-12)


def test_results_are_deterministic_and_independent_of_threads():
    A = np.random.default_rng(7).standard_normal((3000, 30))
    first = maxvol(A, tol=1.0), rect_maxvol(A, min_rows=100)
    with numba_threads(1):
        single = maxvol(A, tol=1.0), rect_maxvol(A, min_rows=100)
    again = maxvol(A, tol=1.0), rect_maxvol(A, min_rows=100)
    for other in (single, again):
        for ours, theirs in zip(first, other):
            np.testing.assert_array_equal(ours[0], theirs[0])
            np.testing.assert_array_equal(ours[1], theirs[1])


@pytest.mark.parametrize("function", [maxvol, rect_maxvol])
def test_dtypes_orders_and_input_left_alone(function):
    A = np.random.default_rng(8).standard_normal((200, 10)).astype(np.float32)
    expected_pivots, expected = function(A.astype(np.float64))
    strided = np.repeat(A.astype(np.float64), 2, axis=0)[::2]
    for variant in (A, np.asfortranarray(A), A.astype(np.float64), np.asfortranarray(A, float),
                    strided, A.tolist()):
        before = np.array(variant, copy=True)
        pivots, coefficients = function(variant)
        assert pivots.dtype == np.int64 and coefficients.dtype == np.float64
        np.testing.assert_array_equal(pivots, expected_pivots)
        np.testing.assert_array_equal(coefficients, expected)
        np.testing.assert_array_equal(variant, before)
        if isinstance(variant, np.ndarray):
            assert not np.shares_memory(coefficients, variant)
    integers = np.random.default_rng(9).integers(-5, 6, size=(40, 3))
    pivots, coefficients = function(integers)
    np.testing.assert_allclose(coefficients @ integers[pivots], integers, atol=1e-10)


def test_convergence_warning_when_max_iters_stops_the_search():
    A = np.random.default_rng(10).standard_normal((500, 20))
    start, B0 = maxvol(A, tol=np.inf, max_iters=0)
    assert np.abs(B0).max() > 1.05  # the LU start of a random matrix is rarely dominant
    with pytest.warns(ConvergenceWarning, match="max_iters=0 swaps.*not yet tol-dominant"):
        pivots, B = maxvol(A, max_iters=0)
    np.testing.assert_array_equal(pivots, start)
    np.testing.assert_allclose(B @ A[pivots], A, atol=1e-10)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        maxvol(A)
        rect_maxvol(A)  # its square start never warns


@pytest.mark.parametrize("function", [maxvol, rect_maxvol])
@pytest.mark.parametrize(
    "A, error, match",
    [
        (np.ones(5), ValueError, r"2-D array .* shape \(5,\)"),
        (np.ones((4, 3, 2)), ValueError, r"2-D array .* shape \(4, 3, 2\)"),
        (np.ones((2, 3)), ValueError, r"must be tall .* shape \(2, 3\)"),
        (np.ones((0, 3)), ValueError, "0 sample"),
        (np.ones((3, 0)), ValueError, "0 feature"),
        (np.array([[1.0, np.nan], [0.0, 1.0], [1.0, 1.0]]), ValueError, "A contains NaN"),
        (np.array([[1.0, np.inf], [0.0, 1.0], [1.0, 1.0]]), ValueError, "A contains infinity"),
        (sp.eye(4, 3, format="csr"), TypeError, "dense array"),
    ],
)
def test_bad_input(function, A, error, match):
    with pytest.raises(error, match=match):
        function(A)


@pytest.mark.parametrize("function", [maxvol, rect_maxvol])
@pytest.mark.parametrize("tol", [0.99, 0, -1.0, np.nan, "1.1", True])
def test_bad_tol(function, tol):
    with pytest.raises(ValueError, match="tol must be a real number >= 1"):
        function(np.eye(4, 2), tol=tol)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(max_iters=-1), r"max_iters=-1 is out of range"),
        (dict(max_iters=2.0), "max_iters must be an integer"),
    ],
)
def test_bad_max_iters(kwargs, match):
    with pytest.raises(ValueError, match=match):
        maxvol(np.eye(4, 2), **kwargs)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(min_rows=2), r"min_rows=2 is out of range: .* between the 3 columns"),
        (dict(max_rows=11), r"max_rows=11 is out of range: .* its 10 rows"),
        (dict(max_rows=2), r"max_rows=2 is out of range: .* the 3 columns"),
        (dict(min_rows=6, max_rows=5), r"min_rows=6 is out of range: .* max_rows=5"),
        (dict(min_rows=11), r"min_rows=11 is out of range: .* max_rows=10"),
        (dict(min_rows=4.0), "min_rows must be an integer"),
        (dict(max_rows="5"), "max_rows must be an integer"),
    ],
)
def test_bad_row_counts(kwargs, match):
    A = np.random.default_rng(11).standard_normal((10, 3))
    with pytest.raises(ValueError, match=match):
        rect_maxvol(A, **kwargs)


def test_parameters_are_checked_before_any_work():
    # A rank-deficient A would fail in the LU: the parameter errors must come first.
    with pytest.raises(ValueError, match="min_rows=2 is out of range"):
        rect_maxvol(np.zeros((10, 3)), min_rows=2)
    with pytest.raises(ValueError, match="tol must be"):
        maxvol(np.zeros((10, 3)), tol=0.5)


def rank_deficient_matrices():
    rng = np.random.default_rng(12)
    duplicate = rng.standard_normal((30, 4))
    duplicate[:, 3] = duplicate[:, 1]
    zero_column = rng.standard_normal((30, 4))
    zero_column[:, 0] = 0.0
    combination = rng.standard_normal((200, 10))
    combination[:, 6] = combination[:, :6] @ rng.standard_normal(6)
    # Dependent to float32 precision only: judged at the precision of the input.
    single = rng.standard_normal((100, 5)).astype(np.float32)
    single[:, 4] = single[:, 0] - 2 * single[:, 2]
    return [duplicate, zero_column, combination, np.zeros((5, 2)), single]


@pytest.mark.parametrize("function", [maxvol, rect_maxvol])
@pytest.mark.parametrize("A", rank_deficient_matrices())
def test_rank_deficient_input_is_an_error(function, A):
    with pytest.raises(ValueError, match="numerically rank-deficient: column"):
        function(A)


def test_full_rank_but_badly_scaled_columns_are_accepted():
    # maxvol is invariant to column scaling, and so is the rank test.
    A = np.random.default_rng(13).standard_normal((100, 4))
    scaled = A * np.array([1e-30, 1.0, 1e20, 1e-5])
    np.testing.assert_array_equal(maxvol(scaled)[0], maxvol(A)[0])
    np.testing.assert_array_equal(rect_maxvol(scaled)[0], rect_maxvol(A)[0])
