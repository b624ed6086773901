import pickle

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.model_selection import GridSearchCV, KFold

from recfactor.decomposition import EASE
from recfactor.decomposition import _ease
from recfactor.metrics import make_ranking_scorer, top_k

pytestmark = pytest.mark.filterwarnings("error")


def _reference_weights(X, l2):
    """Steck's closed form, written as in the paper."""
    P = np.linalg.inv(X.T @ X + l2 * np.eye(X.shape[1]))
    B = np.eye(X.shape[1]) - P / np.diag(P)
    np.fill_diagonal(B, 0.0)
    return B


def test_ease_matches_numpy_closed_form(weighted_new_users):
    X = weighted_new_users
    model = EASE(l2=3.0).fit(X)
    B = _reference_weights(X.toarray(), 3.0)
    np.testing.assert_allclose(model.weights_, B, atol=1e-12)
    np.testing.assert_allclose(model.predict(X[:4]), X[:4].toarray() @ B, atol=1e-12)


def test_blocked_gram_inverse_and_recommend_agree_with_unblocked(monkeypatch, interactions):
    monkeypatch.setattr(_ease, "_BLOCK", 7)
    model = EASE(l2=10.0).fit(interactions)
    np.testing.assert_allclose(
        model.weights_, _reference_weights(interactions.toarray(), 10.0), atol=1e-12
    )
    expected = top_k(model.predict(interactions), 5, exclude=interactions)
    np.testing.assert_array_equal(model.recommend(interactions, k=5), expected)
    unfiltered = top_k(model.predict(interactions), 5)
    np.testing.assert_array_equal(model.recommend(interactions, k=5, exclude_seen=False),
                                  unfiltered)


def test_ease_beats_popularity_on_planted_structure(interactions, popularity_score):
    model = EASE(l2=100.0).fit(interactions[:240])
    assert model.score(interactions[240:]) > 1.3 * popularity_score


def test_unseen_users_are_scored_from_their_rows(interactions, weighted_new_users):
    model = EASE(l2=100.0).fit(interactions)
    np.testing.assert_allclose(
        model.predict(weighted_new_users), weighted_new_users @ model.weights_
    )
    np.testing.assert_array_equal(model.recommend(weighted_new_users)[:3],
                                  model.recommend(weighted_new_users[:3]))


def test_ease_is_deterministic_and_pickles(interactions):
    first = EASE(l2=50.0).fit(interactions)
    second = EASE(l2=50.0).fit(interactions)
    np.testing.assert_array_equal(first.weights_, second.weights_)
    restored = pickle.loads(pickle.dumps(first))
    np.testing.assert_array_equal(restored.predict(interactions[:5]),
                                  first.predict(interactions[:5]))
    np.testing.assert_array_equal(restored.recommend(interactions), first.recommend(interactions))


def test_memory_guard_says_what_it_needs_and_what_to_do(interactions):
    message = (r"EASE needs a dense 120 x 120 float64 matrix \(0\.0 GB\) for the 120 items of "
               r"X, more than max_items=100 allows\. .*ALS, PureSVD")
    with pytest.raises(ValueError, match=message):
        EASE(max_items=100).fit(interactions)
    EASE(max_items=120).fit(interactions)


def test_memory_guard_reports_gigabytes():
    # The guard fires before anything of that size is allocated.
    X = sp.csr_matrix(([1.0], ([0], [49_999])), shape=(1, 50_000))
    with pytest.raises(ValueError, match=r"50000 x 50000 float64 matrix \(20\.0 GB\)"):
        EASE().fit(X)


def test_too_small_l2_for_the_scale_is_reported():
    X = np.array([[1e4, 1e4, 0.0], [1e4, 1e4, 1.0], [0.0, 0.0, 1.0]])
    with pytest.raises(ValueError, match=r"l2=1e-10 is too small .* increase it"):
        EASE(l2=1e-10).fit(X)


def test_ease_rejects_bad_input(interactions):
    with pytest.raises(ValueError, match="NaN at row 0, column 1"):
        EASE().fit(np.array([[1.0, np.nan], [1.0, 0.0]]))
    with pytest.raises(ValueError, match="Negative values"):
        EASE().fit(np.array([[1.0, -1.0], [1.0, 0.0]]))
    model = EASE().fit(interactions)
    with pytest.raises(ValueError, match="X has 100 features, but EASE is expecting 120"):
        model.recommend(interactions[:, :100])
    with pytest.raises(ValueError, match="'l2' parameter of EASE must be a float in the range"):
        EASE(l2=0.0).fit(interactions)
    with pytest.raises(ValueError, match="'max_items' parameter of EASE"):
        EASE(max_items=0).fit(interactions)
    with pytest.raises(ValueError, match="k must be a positive integer, got 0"):
        model.recommend(interactions, k=0)


def test_grid_search_over_l2(interactions):
    search = GridSearchCV(EASE(), {"l2": [1e-3, 1.0, 100.0]},
                          cv=KFold(3, shuffle=True, random_state=0),
                          scoring=make_ranking_scorer("ndcg", 10))
    search.fit(interactions)
    assert search.best_params_["l2"] == 100.0
