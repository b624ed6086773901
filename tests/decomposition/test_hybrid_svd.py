import pickle

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.feature_extraction.text import TfidfTransformer
from sklearn.model_selection import GridSearchCV, KFold
from sklearn.pipeline import make_pipeline

from recfactor.datasets import make_item_features
from recfactor.decomposition import HybridSVD
from recfactor.metrics import make_ranking_scorer


@pytest.fixture(scope="module")
def items():
    """Planted item groups: 600 items x 40 features, 300 users; the last 100 items are cold."""
    F, Y = make_item_features(n_items=600, n_features=40, n_users=300, density=0.2,
                              random_state=0)
    return F[:500], Y[:500], F[500:], Y[500:]


def _normalized(F):
    F = F.toarray()
    norms = np.linalg.norm(F, axis=1, keepdims=True)
    return np.divide(F, norms, out=np.zeros_like(F), where=norms > 0)


def test_matches_the_dense_cholesky_construction(items):
    F, Y, F_cold, _ = items
    alpha, rank = 0.4, 8
    model = HybridSVD(rank=rank, alpha=alpha, random_state=0).fit(F, Y)
    R, G = Y.T.toarray(), _normalized(F)
    S = (1 - alpha) * np.eye(R.shape[1]) + alpha * G @ G.T
    U, s, _ = np.linalg.svd(R @ np.linalg.cholesky(S), full_matrices=False)
    np.testing.assert_allclose(model.singular_values_, s[:rank], rtol=1e-6)
    # cold items: the HybridSVD reconstruction U U^T R of the training columns, combined by
    # the cold items' similarities to them
    similarity = alpha * _normalized(F_cold) @ G.T
    expected = (U[:, :rank] @ U[:, :rank].T @ R @ similarity.T).T
    np.testing.assert_allclose(model.predict(F_cold), expected, atol=1e-8)


def test_learns_the_planted_structure(items):
    F, Y, F_cold, Y_cold = items
    score = HybridSVD(rank=10, random_state=0).fit(F, Y).score(F_cold, Y_cold)
    scorer = make_ranking_scorer(protocol="cold-start")

    class Random:
        def predict(self, X):
            return np.random.RandomState(0).rand(X.shape[0], Y.shape[1])

    assert score > scorer(Random(), F_cold, Y_cold) + 0.05


def test_rank_can_go_down_without_refitting(items):
    F, Y, F_cold, _ = items
    model = HybridSVD(rank=12, random_state=0).fit(F, Y)
    smaller = HybridSVD(rank=5, random_state=0).fit(F, Y)
    model.set_params(rank=5)
    np.testing.assert_allclose(model.predict(F_cold), smaller.predict(F_cold), atol=1e-8)
    assert model.transform(F_cold).shape == (100, 5)
    with pytest.raises(ValueError, match="exceeds the rank 12 the model was fitted with"):
        model.set_params(rank=20).predict(F_cold)


def test_deterministic_and_picklable(items):
    F, Y, F_cold, _ = items
    first = HybridSVD(rank=6, random_state=3).fit(F, Y)
    again = HybridSVD(rank=6, random_state=3).fit(F, Y)
    np.testing.assert_array_equal(first.predict(F_cold), again.predict(F_cold))
    restored = pickle.loads(pickle.dumps(first))
    np.testing.assert_array_equal(restored.recommend(F_cold, k=7), first.recommend(F_cold, k=7))


def test_recommend_returns_the_best_users(items):
    F, Y, F_cold, _ = items
    model = HybridSVD(rank=6, random_state=0).fit(F, Y)
    scores = model.predict(F_cold)
    top = model.recommend(F_cold, k=4)
    np.testing.assert_allclose(np.take_along_axis(scores, top, axis=1),
                               -np.sort(-scores, axis=1)[:, :4])


def test_cold_item_cross_validation_in_a_pipeline(items):
    F, Y, _, _ = items
    search = GridSearchCV(
        make_pipeline(TfidfTransformer(), HybridSVD(rank=8, random_state=0)),
        {"hybridsvd__alpha": [0.1, 0.9]},
        cv=KFold(3, shuffle=True, random_state=0),
        scoring=make_ranking_scorer("recall", 10, protocol="cold-start"),
    ).fit(F, Y)
    assert np.isfinite(search.cv_results_["mean_test_score"]).all()
    assert search.best_estimator_.predict(F[:5]).shape == (5, Y.shape[1])


def test_rejects_bad_input(items):
    F, Y, _, _ = items
    with pytest.raises(ValueError, match="y has 499 rows but X has 500"):
        HybridSVD(rank=2).fit(F, Y[:499])
    with pytest.raises(ValueError, match="requires y to be passed"):
        HybridSVD(rank=2).fit(F, None)
    with pytest.raises(ValueError, match="rank=301 is larger than the number of users, 300"):
        HybridSVD(rank=301).fit(F, Y)
    negative = Y.copy()
    negative.data[0] = -1
    with pytest.raises(ValueError, match="Negative values in data passed to y"):
        HybridSVD(rank=2).fit(F, negative)
    with pytest.raises(ValueError, match="alpha"):
        HybridSVD(alpha=0.0).fit(F, Y)
    nan = F.toarray()
    nan[0, 0] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        HybridSVD(rank=2).fit(nan, Y)
    model = HybridSVD(rank=2, random_state=0).fit(F, Y)
    with pytest.raises(ValueError, match="X has 39 features"):
        model.predict(sp.csr_matrix(F)[:, :39])
