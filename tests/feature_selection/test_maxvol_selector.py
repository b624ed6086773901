import pickle

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.model_selection import GridSearchCV, KFold
from sklearn.pipeline import make_pipeline
from sklearn.utils.extmath import svd_flip

from recfactor.datasets import make_item_features
from recfactor.decomposition import HybridSVD
from recfactor.feature_selection import (
    CollaborativeMaxVolSelector,
    FeatureFrequencySelector,
    MaxVolSelector,
    RandomSelector,
    rect_maxvol,
)
from recfactor.metrics import make_ranking_scorer
from recfactor.neighbors import ContentKNN


@pytest.fixture(scope="module")
def items():
    """600 items, 60 binary features of which 10 are informative, 300 users."""
    return make_item_features(n_items=600, n_features=60, n_users=300, density=0.1,
                              return_informative=True, random_state=0)


def _dense_collaborative_embedding(F, Y, rank, alpha, degree, similarity):
    """The paper's construction, literally: dense S, its Cholesky factor, SVD of L^T F."""
    R = Y.T.toarray()
    popularity = np.maximum((R != 0).sum(axis=0), 1)
    W = R * popularity ** degree
    if similarity == "gram":
        Z = W.T @ W / (W.T @ W).max()
    else:
        norms = np.linalg.norm(W, axis=0)
        Z = (W.T @ W) / np.outer(norms, norms)
    S = (1 - alpha) * np.eye(R.shape[1]) + alpha * Z
    L = np.linalg.cholesky(S)
    U, s, Vt = np.linalg.svd(L.T @ F.toarray(), full_matrices=False)
    return svd_flip(U, Vt, u_based_decision=False)[1][:rank]


@pytest.mark.parametrize("similarity", ["gram", "cosine"])
@pytest.mark.parametrize("alpha, degree", [(0.3, 1.0), (0.8, 0.5)])
def test_sparse_construction_equals_the_dense_cholesky_one(items, similarity, alpha, degree):
    F, Y, _ = items
    F, Y = F[:150], Y[:150]  # items with no user: popularity max(0, 1) = 1
    selector = CollaborativeMaxVolSelector(
        12, rank=6, alpha=alpha, popularity_degree=degree, similarity=similarity,
        random_state=0,
    ).fit(F, Y)
    expected = _dense_collaborative_embedding(F, Y, 6, alpha, degree, similarity)
    np.testing.assert_allclose(selector.components_, expected, atol=1e-8)
    pivots, _ = rect_maxvol(expected.T, min_rows=12, max_rows=12)
    np.testing.assert_array_equal(selector.ranking_, pivots)


def test_collaborative_selector_finds_the_informative_features(items):
    F, Y, informative = items
    found = {}
    for selector in (CollaborativeMaxVolSelector(10, rank=10, random_state=0),
                     MaxVolSelector(10, rank=10, random_state=0),
                     RandomSelector(10, random_state=0),
                     FeatureFrequencySelector(10)):
        found[type(selector).__name__] = informative[selector.fit(F, Y).get_support()].sum()
    assert found["CollaborativeMaxVolSelector"] >= 7
    assert found["CollaborativeMaxVolSelector"] > max(
        v for k, v in found.items() if k != "CollaborativeMaxVolSelector")


def test_one_fit_serves_every_smaller_budget(items):
    F, Y, _ = items
    large = CollaborativeMaxVolSelector(30, rank=8, random_state=0).fit(F, Y)
    small = CollaborativeMaxVolSelector(15, rank=8, random_state=0).fit(F, Y)
    np.testing.assert_array_equal(large.ranking_[:15], small.ranking_)
    tiny = CollaborativeMaxVolSelector(3, rank=8, random_state=0).fit(F, Y)
    assert tiny.ranking_.size == 3
    # a budget below rank: square maxvol on the leading dimensions of the same embedding
    pivots, _ = rect_maxvol(tiny.components_[:3].T, min_rows=3, max_rows=3)
    np.testing.assert_array_equal(tiny.ranking_, pivots)
    share = CollaborativeMaxVolSelector(0.25, rank=8, random_state=0).fit(F, Y)
    assert share.get_support().sum() == 15


def test_maxvol_selector_embeds_by_the_svd_of_x(items):
    F, _, _ = items
    selector = MaxVolSelector(12, rank=6, random_state=0).fit(F)
    U, s, Vt = np.linalg.svd(F.toarray(), full_matrices=False)
    expected = svd_flip(U, Vt, u_based_decision=False)[1][:6]
    np.testing.assert_allclose(selector.components_, expected, atol=1e-8)
    pivots, _ = rect_maxvol(expected.T, min_rows=12, max_rows=12)
    np.testing.assert_array_equal(selector.ranking_, pivots)


def test_selector_interface(items):
    F, Y, _ = items
    selector = CollaborativeMaxVolSelector(5, rank=4, random_state=0).fit(F, Y)
    names = np.array([f"feature{i}" for i in range(F.shape[1])], dtype=object)
    np.testing.assert_array_equal(selector.get_feature_names_out(names),
                                  names[selector.get_support()])
    assert sp.issparse(selector.transform(F))
    dense = selector.set_output(transform="pandas").transform(F.toarray())
    assert list(dense.columns) == [f"x{i}" for i in np.flatnonzero(selector.get_support())]
    restored = pickle.loads(pickle.dumps(selector))
    np.testing.assert_array_equal(restored.get_support(), selector.get_support())


@pytest.mark.parametrize("model", [HybridSVD(rank=8, random_state=0), ContentKNN(20)])
def test_selector_then_model_under_cold_item_cross_validation(items, model):
    F, Y, _ = items
    search = GridSearchCV(
        make_pipeline(CollaborativeMaxVolSelector(rank=8, random_state=0), model),
        {"collaborativemaxvolselector__n_features_to_select": [10, 30]},
        cv=KFold(3, shuffle=True, random_state=0),
        scoring=make_ranking_scorer("ndcg", 10, protocol="cold-start"),
    ).fit(F, Y)
    assert np.isfinite(search.cv_results_["mean_test_score"]).all()


def test_deterministic(items):
    F, Y, _ = items
    first = CollaborativeMaxVolSelector(10, rank=6, random_state=1).fit(F, Y).ranking_
    np.testing.assert_array_equal(
        first, CollaborativeMaxVolSelector(10, rank=6, random_state=1).fit(F, Y).ranking_)


def test_rejects_bad_input(items):
    F, Y, _ = items
    with pytest.raises(ValueError, match="n_features_to_select=61 is larger than the number"):
        CollaborativeMaxVolSelector(61, rank=4).fit(F, Y)
    with pytest.raises(ValueError, match="rank=61 is larger than the number of features"):
        CollaborativeMaxVolSelector(5, rank=61).fit(F, Y)
    with pytest.raises(ValueError, match="requires y to be passed"):
        CollaborativeMaxVolSelector(5, rank=4).fit(F, None)
    with pytest.raises(ValueError, match="y has 10 rows but X has 600"):
        CollaborativeMaxVolSelector(5, rank=4).fit(F, Y[:10])
    with pytest.raises(ValueError, match="rank=61 is larger than min"):
        MaxVolSelector(5, rank=61).fit(F)
    with pytest.raises(ValueError, match="n_features_to_select"):
        MaxVolSelector(0).fit(F)
    with pytest.raises(ValueError, match="alpha"):
        CollaborativeMaxVolSelector(alpha=1.5).fit(F, Y)
