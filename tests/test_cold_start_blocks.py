"""The cold-start ``recommend`` of ItemColdStartMixin scores bounded blocks of items."""

import tracemalloc

import numpy as np
import pytest

from recfactor.datasets import make_item_features
from recfactor.decomposition import HybridSVD
from recfactor.metrics import top_k
from recfactor.neighbors import ContentKNN


@pytest.fixture(scope="module")
def items():
    F, Y = make_item_features(n_items=300, n_features=30, n_users=200, density=0.2,
                              random_state=0)
    return F[:250], Y[:250], F[250:]


@pytest.mark.parametrize("model", [HybridSVD(rank=6, random_state=0), ContentKNN(n_neighbors=20)],
                         ids=["HybridSVD", "ContentKNN"])
def test_recommend_in_small_blocks_equals_ranking_predict(items, model, monkeypatch):
    F, Y, F_cold = items
    model.fit(F, Y)
    expected = top_k(model.predict(F_cold), 5)
    block_rows = []
    scores = type(model)._scores

    def spy(self, X):
        block_rows.append(X.shape[0])
        return scores(self, X)

    monkeypatch.setattr(type(model), "_scores", spy)
    monkeypatch.setattr("recfactor.base.rows_per_block", lambda floats_per_row: 7)
    np.testing.assert_array_equal(model.recommend(F_cold, k=5), expected)
    assert block_rows == [7] * 7 + [1]


def test_memory_is_bounded_however_many_users(monkeypatch):
    # 2,000 cold items x 20,000 users: 320 MB of float64 scores in one block, 2.5 MB within
    # a budget of 2**15 floats per block.
    rng = np.random.default_rng(0)
    F, Y = make_item_features(n_items=60, n_features=10, n_users=20_000, density=0.01,
                                 random_state=0)
    model = ContentKNN(n_neighbors=5).fit(F, Y)
    cold = F[rng.integers(0, 60, 2_000)]
    monkeypatch.setattr("recfactor.utils._blocks.BLOCK_FLOATS", 2**15)
    model.recommend(cold[:2], k=3)  # compile top_k's kernel outside the measurement
    tracemalloc.start()
    try:
        users = model.recommend(cold, k=3)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert users.shape == (2_000, 3)
    assert peak < 16 * 2**20


def test_tied_scores_give_the_same_lists_in_any_blocks(monkeypatch):
    # Cold items with no feature score every user 0: the lists are all ties, ordered by
    # each row's position in the whole call, so the blocks must not change them.
    import scipy.sparse as sp

    from recfactor.decomposition import EASE

    F, Y = make_item_features(n_items=120, n_features=10, n_users=60, random_state=0)
    model = ContentKNN(n_neighbors=10).fit(F, Y)
    featureless = sp.csr_matrix((25, F.shape[1]))
    expected = top_k(model.predict(featureless), 5)
    assert len({tuple(row) for row in expected}) > 20  # random, not one fixed order
    monkeypatch.setattr("recfactor.base.rows_per_block", lambda floats_per_row: 4)
    np.testing.assert_array_equal(model.recommend(featureless, k=5), expected)

    X = sp.csr_matrix(Y.T)
    ease = EASE().fit(X)
    empty = sp.csr_matrix((25, X.shape[1]))  # users with nothing to go on score 0 everywhere
    expected = top_k(ease.predict(empty), 5)
    monkeypatch.setattr("recfactor.decomposition._ease.rows_per_block", lambda n: 4)
    np.testing.assert_array_equal(ease.recommend(empty, k=5), expected)
