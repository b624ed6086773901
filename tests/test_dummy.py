import pickle

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.exceptions import NotFittedError

from recfactor.dummy import PopularityRecommender


@pytest.fixture
def X():
    return sp.csr_matrix(
        np.array(
            [
                [1, 1, 0, 0, 0],
                [0, 1, 1, 0, 0],
                [0, 1, 0, 3, 0],
                [1, 0, 0, 1, 0],
            ],
            dtype=float,
        )
    )


def test_popularity_counts_users_not_weights(X):
    model = PopularityRecommender().fit(X)
    np.testing.assert_array_equal(model.item_popularity_, [2, 3, 1, 2, 0])
    np.testing.assert_array_equal(model.predict(X[:2]), np.tile([2, 3, 1, 2, 0], (2, 1)))


def test_recommend_excludes_seen_and_orders_ties_at_random(X):
    model = PopularityRecommender().fit(X)  # popularity [2, 3, 1, 2, 0]: items 0 and 3 tie
    lists = model.recommend(X, k=2)
    np.testing.assert_array_equal(lists[[0, 2, 3]], [[3, 2], [0, 2], [1, 2]])
    assert set(lists[1]) == {0, 3}
    first = model.recommend(X, k=2, exclude_seen=False)[0]
    assert first[0] == 1 and first[1] in (0, 3)
    # a new user with no history gets the global ranking; -1 pads an exhausted catalogue
    new = model.recommend(np.zeros((1, 5)), k=5)[0]
    assert new[0] == 1 and set(new[1:3]) == {0, 3} and list(new[3:]) == [2, 4]
    np.testing.assert_array_equal(model.recommend(X[0], k=5)[0], [3, 2, 4, -1, -1])
    # the tie between items 0 and 3 goes either way, about as often, never by id
    second = model.recommend(np.zeros((400, 5)), k=2)[:, 1]
    assert 150 < (second == 0).sum() < 250 and set(second) == {0, 3}


def test_score_is_fold_in_ndcg_and_deterministic(X):
    rng = np.random.default_rng(0)
    popular = rng.random((300, 40)) < np.linspace(0.5, 0.01, 40)
    model = PopularityRecommender().fit(popular)
    score = model.score(popular)
    assert 0 < score <= 1
    assert score == model.score(popular)
    with pytest.raises(ValueError, match="at least two interactions"):
        model.score(np.eye(5, 40))


def test_bad_input_and_unfitted(X):
    with pytest.raises(NotFittedError):
        PopularityRecommender().recommend(X)
    model = PopularityRecommender().fit(X)
    with pytest.raises(ValueError, match="X has 4 features, but PopularityRecommender is "
                                         "expecting 5 features"):
        model.recommend(np.ones((1, 4)))
    with pytest.raises(ValueError, match="k must be a positive integer"):
        model.recommend(X, k=0)
    with pytest.raises(ValueError, match="Negative values in data"):
        model.fit(-X)


def test_pickle_round_trip(X):
    model = PopularityRecommender().fit(X)
    restored = pickle.loads(pickle.dumps(model))
    np.testing.assert_array_equal(restored.recommend(X), model.recommend(X))
