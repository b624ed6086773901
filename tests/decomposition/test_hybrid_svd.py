import pickle

import numpy as np
import pytest
import scipy.sparse as sp
from scipy.stats import spearmanr
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


def _dense_reference(F, Y, F_cold, alpha, rank):
    """HybridSVD from the paper with dense matrices: S, its Cholesky factor L, the SVD of
    R L, and the item-feature loadings W = F^T L V."""
    R, G = Y.T.toarray(), _normalized(F)
    S = (1 - alpha) * np.eye(R.shape[1]) + alpha * G @ G.T
    L = np.linalg.cholesky(S)
    U, s, Vt = np.linalg.svd(R @ L, full_matrices=False)
    U, s, V = U[:, :rank], s[:rank], Vt[:rank].T
    W = F.toarray().T @ L @ V
    return R, G, U, s, W


@pytest.mark.parametrize("ridge", [0.0, 0.01, 0.5])
def test_matches_the_dense_cholesky_construction(items, ridge):
    F, Y, F_cold, _ = items
    alpha, rank = 0.4, 8
    model = HybridSVD(rank=rank, alpha=alpha, ridge=ridge, random_state=0).fit(F, Y)
    R, G, U, s, W = _dense_reference(F, Y, F_cold, alpha, rank)
    np.testing.assert_allclose(model.singular_values_, s, rtol=1e-6)
    # cold items: v = argmin |f - W v|^2 + lambda |v|^2, scores U Sigma v
    shift = ridge * np.trace(W.T @ W) / rank
    v = np.linalg.solve(W.T @ W + shift * np.eye(rank), W.T @ F_cold.toarray().T)
    expected = (U @ np.diag(s) @ v).T
    np.testing.assert_allclose(model.predict(F_cold), expected, atol=1e-8)
    # the loadings are F^T L V up to the signs of the singular vectors
    signs = np.sign(np.sum(model.feature_loadings_ * W, axis=0))
    np.testing.assert_allclose(model.feature_loadings_, W * signs, atol=1e-8)


def test_former_similarity_rule_matches_its_dense_formula(items):
    F, Y, F_cold, _ = items
    alpha, rank = 0.4, 8
    model = HybridSVD(rank=rank, alpha=alpha, cold_start="similarity",
                      random_state=0).fit(F, Y)
    R, G, U, _, _ = _dense_reference(F, Y, F_cold, alpha, rank)
    # the HybridSVD reconstruction U U^T R of the training columns, combined by the cold
    # items' similarities to them
    similarity = alpha * _normalized(F_cold) @ G.T
    expected = (U @ U.T @ R @ similarity.T).T
    np.testing.assert_allclose(model.predict(F_cold), expected, atol=1e-8)


def test_a_feature_shared_by_all_items_does_not_rank_cold_items():
    """Planted groups flagged by rare features, plus a feature that every item has and ten
    that 70 % of items have. The similarity-weighted rule follows each cold item's total
    similarity to the training items, which says nothing about its users; the paper's
    least-squares placement does not, and finds the users of the groups."""
    F, Y = make_item_features(n_items=600, n_features=40, n_users=300, density=0.1,
                              random_state=1)
    rng = np.random.RandomState(1)
    frequent = (rng.rand(600, 10) < 0.7).astype(float)
    F = sp.hstack([F, np.ones((600, 1)), frequent], format="csr")
    F_train, Y_train, F_cold, Y_cold = F[:500], Y[:500], F[500:], Y[500:]
    scorer = make_ranking_scorer(protocol="cold-start")
    mass = (_normalized(F_cold) @ _normalized(F_train).T).sum(axis=1)

    class Mass:  # every user ranks the cold items by their similarity mass
        def predict(self, X):
            return mass[:, None] + 1e-9 * rng.rand(X.shape[0], Y.shape[1])

    new = HybridSVD(rank=10, random_state=0).fit(F_train, Y_train)
    old = HybridSVD(rank=10, cold_start="similarity", random_state=0).fit(F_train, Y_train)

    def mean_spearman(scores):
        return np.mean([spearmanr(scores[:, u], mass)[0] for u in range(0, 300, 10)])

    assert mean_spearman(old.predict(F_cold)) > mean_spearman(new.predict(F_cold)) + 0.3
    assert new.score(F_cold, Y_cold) > old.score(F_cold, Y_cold) + 0.05
    assert new.score(F_cold, Y_cold) > scorer(Mass(), F_cold, Y_cold) + 0.08


def test_learns_the_planted_structure(items):
    F, Y, F_cold, Y_cold = items
    score = HybridSVD(rank=10, random_state=0).fit(F, Y).score(F_cold, Y_cold)
    scorer = make_ranking_scorer(protocol="cold-start")

    class Random:
        def predict(self, X):
            return np.random.RandomState(0).rand(X.shape[0], Y.shape[1])

    assert score > scorer(Random(), F_cold, Y_cold) + 0.05


@pytest.mark.parametrize("cold_start", ["least-squares", "similarity"])
def test_rank_can_go_down_without_refitting(items, cold_start):
    F, Y, F_cold, _ = items
    model = HybridSVD(rank=12, cold_start=cold_start, random_state=0).fit(F, Y)
    smaller = HybridSVD(rank=5, cold_start=cold_start, random_state=0).fit(F, Y)
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
    with pytest.raises(ValueError, match="ridge"):
        HybridSVD(ridge=-1.0).fit(F, Y)
    with pytest.raises(ValueError, match="cold_start"):
        HybridSVD(cold_start="nearest").fit(F, Y)
    nan = F.toarray()
    nan[0, 0] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        HybridSVD(rank=2).fit(nan, Y)
    model = HybridSVD(rank=2, random_state=0).fit(F, Y)
    with pytest.raises(ValueError, match="X has 39 features"):
        model.predict(sp.csr_matrix(F)[:, :39])


def test_ridge_and_cold_start_changed_after_fit():
    from recfactor.datasets import make_item_features

    F, Y = make_item_features(n_items=200, n_features=30, n_users=80, random_state=0)
    model = HybridSVD(rank=8, random_state=0).fit(F[:150], Y[:150])
    refit = HybridSVD(rank=8, ridge=0.5, random_state=0).fit(F[:150], Y[:150])
    np.testing.assert_allclose(model.set_params(ridge=0.5).predict(F[150:]),
                               refit.predict(F[150:]))
    with pytest.raises(ValueError, match="refit after changing it"):
        model.set_params(cold_start="similarity").predict(F[150:])
    model.fit(F[:150], Y[:150])  # now fitted with the similarity rule
    assert not hasattr(model, "feature_loadings_")
    with pytest.raises(ValueError, match="refit after changing it"):
        model.set_params(cold_start="least-squares").predict(F[150:])
