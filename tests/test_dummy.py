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


def test_recommend_excludes_seen_and_breaks_ties_by_item_id(X):
    model = PopularityRecommender().fit(X)
    np.testing.assert_array_equal(
        model.recommend(X, k=2), [[3, 2], [0, 3], [0, 2], [1, 2]]
    )
    np.testing.assert_array_equal(model.recommend(X, k=2, exclude_seen=False)[0], [1, 0])
    # a new user with no history gets the global ranking; -1 pads an exhausted catalogue
    np.testing.assert_array_equal(model.recommend(np.zeros((1, 5)), k=5), [[1, 0, 3, 2, 4]])
    np.testing.assert_array_equal(model.recommend(X[0], k=5)[0], [3, 2, 4, -1, -1])


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
