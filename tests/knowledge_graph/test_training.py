"""The 1-N batcher and the blocked filtered evaluator."""

import numpy as np
import pytest
import scipy.sparse as sp

from recfactor.metrics import filtered_ranks

torch = pytest.importorskip("torch")

from recfactor.knowledge_graph._training import (  # noqa: E402
    QueryAnswers,
    _batches,
    filtered_rank_block,
    filtered_ranks_of_triples,
    reciprocal_queries,
    smoothed_one_to_n_bce,
)


def test_query_answers_hold_every_answer_of_both_directions(split):
    train, _, _ = split
    n_entities, n_relations = 100, 4
    index = QueryAnswers(train, n_entities, n_relations)
    expected = {}
    for h, r, t in train:
        expected.setdefault((h, r), set()).add(t)
        expected.setdefault((t, r + n_relations), set()).add(h)
    assert index.n_queries == len(expected)
    found = {
        (e, r): set(index.answers[[row]].indices)
        for row, (e, r) in enumerate(zip(index.entities, index.relations))
    }
    assert found == expected
    assert np.all(index.answers.data == 1)
    absent = next((e, r) for e in range(n_entities) for r in range(8) if (e, r) not in expected)
    present = (train[0, 0], train[0, 1])
    rows = index.rows(np.array([present[0], absent[0]]), np.array([present[1], absent[1]]))
    assert rows[0] >= 0 and rows[1] == -1
    selected = index.answers_of(rows)
    assert set(selected[[0]].indices) == expected[present] and selected[[1]].nnz == 0


def test_duplicate_triples_count_once():
    triples = np.array([[0, 0, 1], [0, 0, 1], [2, 0, 1]])
    index = QueryAnswers(triples, 3, 1)
    assert index.answers.sum() == 4  # (0, r)->1, (2, r)->1, (1, r^-1)->{0, 2}


def test_reciprocal_queries():
    entities, relations, answers = reciprocal_queries(np.array([[0, 1, 2], [3, 0, 4]]), 2)
    np.testing.assert_array_equal(entities, [0, 3, 2, 4])
    np.testing.assert_array_equal(relations, [1, 0, 3, 2])
    np.testing.assert_array_equal(answers, [2, 4, 0, 3])


@pytest.mark.parametrize(
    "n_queries, batch_size", [(10, 3), (10, 5), (2, 128), (7, 2), (909, 128), (1560, 128)]
)
def test_batches_cover_every_query_once_in_equal_batches_of_two_or_more(n_queries, batch_size):
    order = np.random.RandomState(0).permutation(n_queries)
    batches = _batches(order, batch_size)
    np.testing.assert_array_equal(np.concatenate(batches), order)
    sizes = [len(batch) for batch in batches]
    assert max(sizes) - min(sizes) <= 1
    assert min(sizes) >= 2
    # The fewest batches of at most batch_size, unless that would leave a batch of one.
    assert len(batches) == min(-(-n_queries // batch_size), n_queries // 2)


@pytest.mark.parametrize("seed", range(3))
def test_block_ranks_equal_filtered_ranks(seed):
    rng = np.random.RandomState(seed)
    n_queries, n_entities = 40, 30
    # Few distinct values, so that ties are frequent.
    scores = rng.randint(0, 6, size=(n_queries, n_entities)).astype(np.float32)
    true_ids = rng.randint(n_entities, size=n_queries)
    known = sp.random(n_queries, n_entities, density=0.2, format="csr", random_state=rng)
    known.data[:] = 1
    # The true answer is stored for some queries, as in a real filter: it is ranked anyway.
    known = (known + sp.csr_matrix(
        (np.ones(10), (np.arange(10), true_ids[:10])), shape=known.shape
    )).tocsr()
    known.data[:] = 1

    ranks = filtered_rank_block(torch.from_numpy(scores), torch.from_numpy(true_ids), known)

    np.testing.assert_array_equal(ranks.numpy(), filtered_ranks(scores, true_ids, known))


def test_unknown_answers_rank_after_every_unfiltered_candidate():
    scores = torch.tensor([[0.5, 0.1, 0.9, 0.3], [0.5, 0.1, 0.9, 0.3]])
    known = sp.csr_matrix([[0, 0, 1, 0], [0, 0, 0, 0]])
    ranks = filtered_rank_block(scores, torch.tensor([-1, 1]), known)
    np.testing.assert_array_equal(ranks.numpy(), [4.0, 4.0])  # 3 unfiltered candidates above


def test_nan_scores_cannot_be_ranked():
    with pytest.raises(ValueError, match="NaN"):
        filtered_rank_block(
            torch.tensor([[np.nan, 0.0]]), torch.tensor([1]), sp.csr_matrix((1, 2))
        )


class _TableScorer(torch.nn.Module):
    """Fixed scores of every query (entity, relation), from a table."""

    def __init__(self, table):
        super().__init__()
        self.table = torch.as_tensor(table)

    def forward(self, entities, relations):
        return self.table[entities, relations]


def test_triple_ranks_in_blocks_equal_filtered_ranks(split):
    train, _, test = split
    n_entities, n_relations = 100, 4
    table = np.random.RandomState(0).randint(0, 20, size=(n_entities, 2 * n_relations, n_entities))
    known = QueryAnswers(np.concatenate([train, test]), n_entities, n_relations)

    ranks = filtered_ranks_of_triples(
        _TableScorer(table.astype(np.float32)), test, known, n_relations=n_relations, block=7,
        device=torch.device("cpu"),
    )

    entities, relations, answers = reciprocal_queries(test, n_relations)
    expected = filtered_ranks(
        table[entities, relations].astype(float), answers,
        known.answers[known.rows(entities, relations)],
    )
    np.testing.assert_array_equal(ranks, expected)


def test_triples_with_unknown_entities_rank_last():
    table = np.zeros((3, 2, 3), dtype=np.float32)
    known = QueryAnswers(np.array([[0, 0, 1], [0, 0, 2]]), 3, 1)
    triples = np.array([[0, 0, -1], [-1, 0, 2]])
    ranks = filtered_ranks_of_triples(
        _TableScorer(table), triples, known, n_relations=1, block=2, device=torch.device("cpu")
    )
    # Tail queries: (0, r, ?) filters its answers 1 and 2, so entity 0 alone ranks above the
    # unknown answer; (unknown, r, ?) ranks its answer after all 3 entities. Head queries:
    # (unknown, r^-1, ?) likewise; (2, r^-1, ?) filters 0, leaving 1 and 2 above.
    np.testing.assert_array_equal(ranks, [2.0, 4.0, 4.0, 3.0])


@pytest.mark.parametrize("label_smoothing", [0.0, 0.001, 0.1, 0.5])
def test_smoothed_bce_and_its_gradient_equal_torch_on_dense_targets(label_smoothing):
    rng = np.random.default_rng(0)
    logits = torch.tensor(rng.normal(scale=3.0, size=(6, 40)), requires_grad=True)
    answers = sp.csr_array((rng.random((6, 40)) < 0.1).astype(np.float32))
    dense = answers.toarray().astype(np.float64)
    targets = torch.tensor((1 - label_smoothing) * dense + label_smoothing / 40)
    expected = torch.nn.functional.binary_cross_entropy_with_logits(logits, targets)
    (expected_grad,) = torch.autograd.grad(2.5 * expected, logits)
    actual = smoothed_one_to_n_bce(logits, answers, label_smoothing)
    (actual_grad,) = torch.autograd.grad(2.5 * actual, logits)
    assert actual.item() == pytest.approx(expected.item(), rel=1e-10)
    torch.testing.assert_close(actual_grad, expected_grad, rtol=1e-10, atol=1e-14)


def test_smoothed_bce_passes_gradcheck():
    rng = np.random.default_rng(1)
    logits = torch.tensor(rng.normal(size=(3, 7)), requires_grad=True)
    answers = sp.csr_array((rng.random((3, 7)) < 0.3).astype(np.float32))
    assert torch.autograd.gradcheck(lambda x: smoothed_one_to_n_bce(x, answers, 0.1), logits)
