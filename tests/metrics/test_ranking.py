import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.exceptions import UndefinedMetricWarning
from sklearn.metrics import ndcg_score

from recfactor.metrics import (
    average_popularity,
    coverage_at_k,
    hit_rate_at_k,
    map_at_k,
    mrr_at_k,
    ndcg_at_k,
    novelty,
    precision_at_k,
    recall_at_k,
)
from recfactor.metrics._ranking_kernels import (
    _average_precision,
    _hit_counts,
    _ndcg,
    _reciprocal_rank,
)

KERNELS = (_average_precision, _hit_counts, _ndcg, _reciprocal_rank)

# Plain references, one user at a time. `rel` is a dense row of relevance, `rec` a row of ids.


def judged(rel, rec, k):
    """Relevance of each of the first k positions: 0 for padding, a miss or a repeated id."""
    gains, seen = [], set()
    for item in rec[:k]:
        gains.append(0.0 if item < 0 or item in seen else float(rel[item]))
        seen.add(item)
    return np.array(gains)


def ref_ndcg(rel, rec, k):
    discounts = 1 / np.log2(np.arange(2, k + 2))
    ideal = np.sort(rel)[::-1][:k]
    idcg = np.sum(ideal * discounts[: ideal.size])
    return np.sum(judged(rel, rec, k) * discounts) / idcg if idcg > 0 else 0.0


def ref_hit_rate(rel, rec, k):
    return float((judged(rel, rec, k) > 0).any())


def ref_recall(rel, rec, k):
    n_relevant = np.count_nonzero(rel)
    return (judged(rel, rec, k) > 0).sum() / n_relevant if n_relevant else 0.0


def ref_precision(rel, rec, k):
    return (judged(rel, rec, k) > 0).sum() / k


def ref_map(rel, rec, k):
    n_relevant = np.count_nonzero(rel)
    if n_relevant == 0:
        return 0.0
    is_hit = judged(rel, rec, k) > 0
    precision_at_i = np.cumsum(is_hit) / np.arange(1, k + 1)
    return precision_at_i[is_hit].sum() / min(k, n_relevant)


def ref_mrr(rel, rec, k):
    hits = np.flatnonzero(judged(rel, rec, k) > 0)
    return 1 / (hits[0] + 1) if hits.size else 0.0


def ref_mean(per_user, dense, skip_empty):
    if skip_empty:
        per_user = per_user[(dense > 0).any(axis=1)]
        return per_user.mean() if per_user.size else 0.0
    return per_user.mean()


def ref_coverage(rec, n_items, k):
    return len({item for item in rec[:, :k].ravel() if item >= 0}) / n_items


def ref_mean_over_lists(rec, values, k):
    means = [np.mean([values[i] for i in row if i >= 0]) for row in rec[:, :k]]
    means = [m for m, row in zip(means, rec[:, :k]) if (row >= 0).any()]
    return np.mean(means)


METRICS = [
    (ndcg_at_k, ref_ndcg),
    (hit_rate_at_k, ref_hit_rate),
    (recall_at_k, ref_recall),
    (precision_at_k, ref_precision),
    (map_at_k, ref_map),
    (mrr_at_k, ref_mrr),
]
METRIC_IDS = [metric.__name__ for metric, _ in METRICS]


def ref_per_user(reference, dense, rec, k):
    return np.array([reference(rel, row, k) for rel, row in zip(dense, rec)])


def matrices(elements, n_rows, n_columns):
    row = st.lists(elements, min_size=n_columns, max_size=n_columns)
    return st.lists(row, min_size=n_rows, max_size=n_rows).map(np.array)


@st.composite
def ranking_cases(draw):
    """Small graded relevance (with empty users) and lists with padding and repeated ids."""
    n_users = draw(st.integers(1, 6))
    n_items = draw(st.integers(1, 8))
    n_columns = draw(st.integers(1, 10))
    k = draw(st.integers(1, n_columns))
    grades = st.sampled_from([0.0, 0.0, 0.0, 1.0, 2.0, 0.5])
    dense = draw(matrices(grades, n_users, n_items))
    rec = draw(matrices(st.integers(-1, n_items - 1), n_users, n_columns))
    return dense, rec, k


def random_case(seed, n_users=300, n_items=200, n_columns=30, graded=True):
    """Realistic lists (distinct ids, some padded, some with repeats) and sparse relevance."""
    rng = np.random.default_rng(seed)
    dense = rng.random((n_users, n_items)) < 0.05
    dense = dense * (rng.integers(1, 5, size=dense.shape) if graded else 1.0)
    dense[rng.random(n_users) < 0.1] = 0  # users with nothing relevant
    rec = np.array([rng.permutation(n_items)[:n_columns] for _ in range(n_users)])
    padded = rng.random(n_users) < 0.2
    rec[padded, rng.integers(1, n_columns) :] = -1
    repeated = rng.random(n_users) < 0.1
    rec[repeated, 1] = rec[repeated, 0]
    return dense.astype(np.float64), rec


@pytest.mark.parametrize("metric, reference", METRICS, ids=METRIC_IDS)
@settings(max_examples=60, deadline=None)
@given(case=ranking_cases(), skip_empty=st.booleans())
def test_metric_matches_reference_on_small_cases(metric, reference, case, skip_empty):
    dense, rec, k = case
    expected = ref_per_user(reference, dense, rec, k)
    per_user = metric(sp.csr_matrix(dense), rec, k, average=False)
    np.testing.assert_allclose(per_user, expected, rtol=1e-12, atol=1e-12)
    assert per_user.dtype == np.float64
    if not skip_empty or (dense > 0).any():
        mean = metric(sp.csr_matrix(dense), rec, k, skip_empty=skip_empty)
        assert mean == pytest.approx(ref_mean(expected, dense, skip_empty), rel=1e-12, abs=1e-12)


@pytest.mark.parametrize("metric, reference", METRICS, ids=METRIC_IDS)
@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("k", [1, 5, 30])
def test_metric_matches_reference_on_random_lists(metric, reference, seed, k):
    dense, rec = random_case(seed, graded=seed != 2)
    expected = ref_per_user(reference, dense, rec, k)
    np.testing.assert_allclose(metric(sp.csr_matrix(dense), rec, k, average=False), expected)
    for skip_empty in (True, False):
        assert metric(sp.csr_matrix(dense), rec, k, skip_empty=skip_empty) == pytest.approx(
            ref_mean(expected, dense, skip_empty)
        )


@pytest.mark.parametrize("k", [1, 3, 10, 40])
@pytest.mark.parametrize("seed", [0, 1])
def test_ndcg_agrees_with_sklearn_ndcg_score(seed, k):
    # sklearn scores items; with no ties in the scores, the lists are their argsort, and the
    # two definitions (linear gain, log2 discount, ideal from the k largest) coincide.
    rng = np.random.default_rng(seed)
    n_users, n_items = 50, 40
    grades = rng.integers(1, 4, (n_users, n_items))
    y_true = np.where(rng.random((n_users, n_items)) < 0.2, grades, 0)
    y_true[:5] = 0
    y_score = rng.random((n_users, n_items))
    rec = np.argsort(-y_score, axis=1)
    relevant = sp.csr_matrix(y_true)
    assert ndcg_at_k(relevant, rec, k, skip_empty=False) == pytest.approx(
        ndcg_score(y_true, y_score, k=k)
    )
    users = (y_true > 0).any(axis=1)
    assert ndcg_at_k(relevant, rec, k) == pytest.approx(
        ndcg_score(y_true[users], y_score[users], k=k)
    )


def test_hand_computed_values():
    relevant = sp.csr_matrix([[3, 0, 1, 0, 0], [0, 1, 0, 1, 1]])
    rec = np.array([[2, 0, 4], [4, -1, 1]])
    ndcg_user0 = (1 + 3 / np.log2(3)) / (3 + 1 / np.log2(3))
    ndcg_user1 = (1 + 1 / np.log2(4)) / (1 + 1 / np.log2(3) + 1 / np.log2(4))
    np.testing.assert_allclose(ndcg_at_k(relevant, rec, 3, average=False), [ndcg_user0, ndcg_user1])
    np.testing.assert_allclose(hit_rate_at_k(relevant, rec, 1, average=False), [1, 1])
    np.testing.assert_allclose(recall_at_k(relevant, rec, 3, average=False), [1, 2 / 3])
    np.testing.assert_allclose(precision_at_k(relevant, rec, 3, average=False), [2 / 3, 2 / 3])
    np.testing.assert_allclose(map_at_k(relevant, rec, 3, average=False), [1, (1 + 2 / 3) / 3])
    np.testing.assert_allclose(mrr_at_k(relevant, rec, 3, average=False), [1, 1])


@pytest.mark.parametrize("metric", [metric for metric, _ in METRICS], ids=METRIC_IDS)
def test_repeated_ids_count_once(metric):
    relevant = sp.csr_matrix([[1, 1, 0]])
    once = metric(relevant, np.array([[0, 2, -1]]), 3)
    assert metric(relevant, np.array([[0, 2, 0]]), 3) == once
    assert metric(relevant, np.array([[0, 0, 0]]), 3) == once
    assert metric(relevant, np.array([[0, 1, 1]]), 3) <= 1


@pytest.mark.parametrize("metric", [metric for metric, _ in METRICS], ids=METRIC_IDS)
def test_perfect_lists_score_one(metric):
    relevant = sp.csr_matrix([[1, 1, 0, 0], [0, 0, 0, 1]])
    rec = np.array([[1, 0], [3, -1]])
    per_user = metric(relevant, rec, 2, average=False)
    if metric is precision_at_k:
        np.testing.assert_allclose(per_user, [1, 0.5])  # padding is a miss
    else:
        np.testing.assert_allclose(per_user, [1, 1])


@pytest.mark.parametrize("metric", [metric for metric, _ in METRICS], ids=METRIC_IDS)
def test_empty_users(metric):
    relevant = sp.csr_matrix([[1, 0, 0], [0, 0, 0]])
    rec = np.array([[0, 1], [0, 1]])
    assert metric(relevant, rec, 2) == metric(relevant[:1], rec[:1], 2)
    assert metric(relevant, rec, 2, skip_empty=False) == pytest.approx(metric(relevant, rec, 2) / 2)
    assert metric(relevant, rec, 2, average=False)[1] == 0.0
    nobody = sp.csr_matrix((2, 3))
    with pytest.warns(UndefinedMetricWarning, match="No user has a relevant item"):
        assert metric(nobody, rec, 2) == 0.0
    assert metric(nobody, rec, 2, skip_empty=False) == 0.0
    np.testing.assert_array_equal(metric(nobody, rec, 2, average=False), [0.0, 0.0])


@pytest.mark.parametrize("metric", [metric for metric, _ in METRICS], ids=METRIC_IDS)
def test_input_forms_give_the_same_result(metric):
    dense, rec = random_case(3, n_users=40, n_items=30, n_columns=10)
    expected = metric(sp.csr_matrix(dense), rec, 10, average=False)
    wide = np.hstack([rec, np.full((rec.shape[0], 5), 10**6)])  # columns after k are unused
    for relevant, ids in [
        (dense, rec),
        (sp.csr_matrix(dense, dtype=np.float32), rec.astype(np.int32)),
        (sp.csc_matrix(dense), rec.tolist()),
        (sp.csr_array(dense), wide),
    ]:
        np.testing.assert_allclose(metric(relevant, ids, 10, average=False), expected, rtol=1e-6)


def test_inputs_are_not_modified():
    relevant = sp.csr_matrix(np.array([[0, 2.0, 0, 1.0]]))
    relevant.indices = relevant.indices[::-1].copy()  # unsorted, as scipy allows
    relevant.data = relevant.data[::-1].copy()
    relevant.has_sorted_indices = False
    rec = np.array([[1, 3]])
    before = (relevant.indices.copy(), relevant.data.copy(), rec.copy())
    assert ndcg_at_k(relevant, rec, 2) == pytest.approx(1.0)
    np.testing.assert_array_equal(relevant.indices, before[0])
    np.testing.assert_array_equal(relevant.data, before[1])
    np.testing.assert_array_equal(rec, before[2])


@pytest.mark.parametrize("metric", [metric for metric, _ in METRICS], ids=METRIC_IDS)
@pytest.mark.parametrize(
    "relevant, rec, k, error, match",
    [
        ([[1, 0]], [[0, 1]], 0, ValueError, r"k must be a positive integer, got 0"),
        ([[1, 0]], [[0, 1]], 2.0, ValueError, r"k must be a positive integer, got 2.0"),
        ([[1, 0]], [[0, 1]], 3, ValueError, r"k=3 is larger than the 2 items recommended"),
        ([[1, 0], [0, 1]], [[0, 1]], 1, ValueError, r"relevant has 2 users but recommended has 1"),
        ([[1, 0]], [0, 1], 1, ValueError, r"recommended must be a 2-D array"),
        ([[1, 0]], [[0.0, 1.0]], 1, TypeError, r"recommended must hold integer item ids"),
        ([[1, 0]], [[0, 2]], 2, ValueError, r"item id 2 at row 0, column 1, but the catalogue"),
        ([[1, 0]], [[-2, 1]], 2, ValueError, r"item id -2 at row 0, column 0"),
        ([[np.nan, 1]], [[0, 1]], 1, ValueError, r"relevant contains NaN at row 0, column 0"),
        ([[1, -1]], [[0, 1]], 1, ValueError,
         r"Negative values in data passed to relevant: -1 at row 0"),
    ],
)
def test_bad_input(metric, relevant, rec, k, error, match):
    with pytest.raises(error, match=match):
        metric(np.array(relevant, dtype=float), rec, k)


def test_coverage():
    rec = np.array([[3, 1, 4], [1, -1, 0], [5, 1, 9]])
    assert coverage_at_k(rec, 10, k=2) == pytest.approx(0.3)
    assert coverage_at_k(rec, 10, k=3) == pytest.approx(0.6)
    _, rec = random_case(0)
    for k in (1, 10, 30):
        assert coverage_at_k(rec, 200, k) == pytest.approx(ref_coverage(rec, 200, k))
    assert coverage_at_k(np.full((2, 3), -1), 5, k=3) == 0.0
    with pytest.raises(ValueError, match="n_items must be a positive integer"):
        coverage_at_k(rec, 0)
    with pytest.raises(ValueError, match="item id 100 at row 0"):
        coverage_at_k(np.array([[100]]), 50, k=1)


@pytest.mark.parametrize("seed", [0, 1])
@pytest.mark.parametrize("k", [1, 10])
def test_novelty_and_average_popularity_match_references(seed, k):
    rng = np.random.default_rng(seed)
    counts = rng.integers(1, 100, size=200)
    shares = counts / 100
    _, rec = random_case(seed)
    expected_novelty = ref_mean_over_lists(rec, -np.log2(shares), k)
    assert novelty(rec, shares, k) == pytest.approx(expected_novelty)
    assert average_popularity(rec, counts, k) == pytest.approx(ref_mean_over_lists(rec, counts, k))


def test_novelty_and_average_popularity_edge_cases():
    rec = np.array([[0, 1], [-1, -1]])
    assert novelty(rec, [1.0, 0.5, 0.0], k=2) == pytest.approx(0.5)
    assert average_popularity(rec, [1.0, 0.5, 0.0], k=2) == pytest.approx(0.75)
    with pytest.raises(ValueError, match="Item 2 is recommended but its popularity is 0"):
        novelty(np.array([[0, 2]]), [1.0, 0.5, 0.0], k=2)
    with pytest.raises(ValueError, match="novelty needs the share of users"):
        novelty(rec, [10, 5, 1], k=2)
    with pytest.raises(ValueError, match="item_popularity is negative"):
        average_popularity(rec, [1, -1, 0], k=2)
    with pytest.raises(ValueError, match="item_popularity must be 1-D"):
        average_popularity(rec, [[1, 1, 0]], k=2)
    with pytest.warns(UndefinedMetricWarning, match="Every list is padding only"):
        assert novelty(np.array([[-1]]), [0.5], k=1) == 0.0


@pytest.mark.parametrize("metric, reference", METRICS, ids=METRIC_IDS)
def test_int64_indexed_relevance_reuses_the_int32_compilation(metric, reference):
    dense, rec = random_case(0, n_users=40, n_items=30, n_columns=10)
    relevant = sp.csr_matrix(dense)
    expected = metric(relevant, rec, 10, average=False)
    compiled = {kernel: set(kernel.signatures) for kernel in KERNELS}
    relevant.indptr = relevant.indptr.astype(np.int64)
    relevant.indices = relevant.indices.astype(np.int64)
    np.testing.assert_array_equal(metric(relevant, rec, 10, average=False), expected)
    assert {kernel: set(kernel.signatures) for kernel in KERNELS} == compiled
