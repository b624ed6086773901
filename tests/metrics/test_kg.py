import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st

from recfactor.metrics import filtered_ranks, hits_at_k, mrr
from recfactor.metrics._kg_kernels import _rank_counts
from recfactor.utils import _numba


def ref_filtered_ranks(scores, true_ids, filtered, ties):
    """Count, row by row, the candidates left after filtering that beat or tie the truth."""
    ranks = []
    for row, true_id in enumerate(true_ids):
        others = [
            e
            for e in range(scores.shape[1])
            if e != true_id and (filtered is None or not filtered[row, e])
        ]
        target = scores[row, true_id]
        better = sum(scores[row, e] > target for e in others)
        tied = sum(scores[row, e] == target for e in others)
        optimistic, pessimistic = 1 + better, 1 + better + tied
        realistic = (optimistic + pessimistic) / 2
        ranks.append(
            {"optimistic": optimistic, "pessimistic": pessimistic, "realistic": realistic}[ties]
        )
    return np.array(ranks, dtype=np.float64)


def ref_mrr(ranks):
    return np.mean([1 / r for r in ranks])


def ref_hits_at_k(ranks, k):
    return np.mean([r <= k for r in ranks])


def random_case(rng, n_queries, n_entities, n_levels, density):
    scores = rng.integers(0, n_levels, size=(n_queries, n_entities)).astype(np.float64)
    true_ids = rng.integers(0, n_entities, size=n_queries)
    filtered = rng.random((n_queries, n_entities)) < density
    # The truth is often among the known answers too; it must never be filtered out.
    filtered[np.arange(n_queries), true_ids] |= rng.random(n_queries) < 0.5
    return scores, true_ids, filtered


TIES = ["optimistic", "pessimistic", "realistic"]


@settings(max_examples=100, deadline=None)
@given(
    n_queries=st.integers(1, 6),
    n_entities=st.integers(1, 12),
    n_levels=st.sampled_from([2, 3, 1000]),
    density=st.sampled_from([0.0, 0.3, 0.9]),
    seed=st.integers(0, 2**32 - 1),
)
def test_filtered_ranks_match_reference_on_small_cases(
    n_queries, n_entities, n_levels, density, seed
):
    scores, true_ids, filtered = random_case(
        np.random.default_rng(seed), n_queries, n_entities, n_levels, density
    )
    for ties in TIES:
        np.testing.assert_array_equal(
            filtered_ranks(scores, true_ids, sp.csr_matrix(filtered), ties=ties),
            ref_filtered_ranks(scores, true_ids, filtered, ties),
        )


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("n_levels", [5, 10**6])
def test_filtered_ranks_match_reference_on_random_scores(seed, n_levels):
    rng = np.random.default_rng(seed)
    scores, true_ids, filtered = random_case(rng, 100, 400, n_levels, density=0.02)
    ranks = {}
    for ties in TIES:
        ranks[ties] = filtered_ranks(scores, true_ids, sp.csr_matrix(filtered), ties=ties)
        np.testing.assert_array_equal(
            ranks[ties], ref_filtered_ranks(scores, true_ids, filtered, ties)
        )
    assert (ranks["optimistic"] <= ranks["realistic"]).all()
    assert (ranks["realistic"] <= ranks["pessimistic"]).all()
    np.testing.assert_array_equal(
        filtered_ranks(scores.astype(np.float32), true_ids, filtered),
        ref_filtered_ranks(scores.astype(np.float32), true_ids, filtered, "realistic"),
    )
    unfiltered = filtered_ranks(scores, true_ids)
    np.testing.assert_array_equal(
        unfiltered, ref_filtered_ranks(scores, true_ids, None, "realistic")
    )
    assert (ranks["realistic"] <= unfiltered).all()  # filtering can only help


def test_the_true_entity_is_never_filtered():
    scores = np.array([[0.1, 0.9, 0.5]])
    everything = sp.csr_matrix(np.ones((1, 3)))
    np.testing.assert_array_equal(filtered_ranks(scores, [0], everything), [1.0])
    np.testing.assert_array_equal(filtered_ranks(scores, [0]), [3.0])


def test_nan_scores_raise():
    scores = np.array([[0.1, 0.9, np.nan], [0.2, 0.3, 0.4]])
    with pytest.raises(ValueError, match="The scores of query 0 contain NaN"):
        filtered_ranks(scores, [0, 1])
    with pytest.raises(ValueError, match="The scores of query 0 contain NaN"):
        filtered_ranks(scores, [2, 1])
    # A NaN on a filtered candidate is never compared.
    np.testing.assert_array_equal(
        filtered_ranks(scores, [0, 1], sp.csr_matrix([[0, 0, 1], [0, 0, 0]])), [2.0, 2.0]
    )


@pytest.mark.parametrize(
    "args, kwargs, match",
    [
        (([0, 1],), dict(ties="random"), r"ties must be one of"),
        (([0],), {}, r"true_ids must be a 1-D integer array with one entity per query \(2\)"),
        (([0.0, 1.0],), {}, r"true_ids must be a 1-D integer array"),
        (([0, 3],), {}, r"true_ids\[1\] is 3, but the scores cover 3 entities"),
        (([-1, 0],), {}, r"true_ids\[0\] is -1"),
        (([0, 1], sp.csr_matrix((2, 4))), {}, r"filter has shape \(2, 4\), but the scores"),
    ],
)
def test_filtered_ranks_bad_input(args, kwargs, match):
    with pytest.raises(ValueError, match=match):
        filtered_ranks(np.ones((2, 3)), *args, **kwargs)


@pytest.mark.parametrize("seed", [0, 1])
def test_mrr_and_hits_match_references(seed):
    rng = np.random.default_rng(seed)
    ranks = rng.integers(2, 60, size=200) / 2
    assert mrr(ranks) == pytest.approx(ref_mrr(ranks))
    for k in (1, 3, 10, 100):
        assert hits_at_k(ranks, k) == pytest.approx(ref_hits_at_k(ranks, k))


@pytest.mark.parametrize(
    "ranks, match",
    [
        ([0.5, 2], r"ranks start at 1, got 0.5"),
        ([[1, 2]], r"ranks must be 1-D"),
        ([1, np.nan], r"Input ranks contains NaN"),
    ],
)
def test_rank_metrics_bad_input(ranks, match):
    with pytest.raises(ValueError, match=match):
        mrr(ranks)
    with pytest.raises(ValueError, match=match):
        hits_at_k(ranks, 1)
    with pytest.raises(ValueError, match=r"k must be a positive integer, got 0"):
        hits_at_k([1, 2], 0)


def test_queries_ranked_on_several_threads_match_the_reference(monkeypatch):
    monkeypatch.setattr(_numba, "_MIN_CHUNK_WORK", 1)
    monkeypatch.setattr(_numba.numba, "get_num_threads", lambda: 4)
    scores, true_ids, filtered = random_case(np.random.default_rng(5), 90, 50, 4, 0.1)
    np.testing.assert_array_equal(
        filtered_ranks(scores, true_ids, sp.csr_matrix(filtered)),
        ref_filtered_ranks(scores, true_ids, filtered, "realistic"),
    )
    scores[61, 0] = np.nan
    with pytest.raises(ValueError, match="query 61"):
        filtered_ranks(scores, true_ids)


def test_int64_indexed_filters_reuse_the_int32_compilation():
    scores, true_ids, filtered = random_case(np.random.default_rng(6), 10, 20, 5, 0.2)
    known = sp.csr_matrix(filtered)
    expected = filtered_ranks(scores, true_ids, known)
    compiled = set(_rank_counts.signatures)
    known.indptr, known.indices = known.indptr.astype(np.int64), known.indices.astype(np.int64)
    np.testing.assert_array_equal(filtered_ranks(scores, true_ids, known), expected)
    assert set(_rank_counts.signatures) == compiled
