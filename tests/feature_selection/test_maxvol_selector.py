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
from recfactor.feature_selection._maxvol_selector import _greedy_reconstruction
from recfactor.metrics import make_ranking_scorer
from recfactor.neighbors import ContentKNN


@pytest.fixture(scope="module")
def items():
    """600 items, 60 binary features of which 10 are informative, 300 users."""
    return make_item_features(n_items=600, n_features=60, n_users=300, density=0.1,
                              return_informative=True, random_state=0)


def _dense_collaborative_embedding(F, Y, rank, alpha, degree, similarity, normalize=False):
    """The paper's construction, literally: dense S, its Cholesky factor, SVD of L^T F."""
    F = F.toarray()
    if normalize:
        F = F / np.maximum(np.linalg.norm(F, axis=0), 1e-300)
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
    U, s, Vt = np.linalg.svd(L.T @ F, full_matrices=False)
    return svd_flip(U, Vt, u_based_decision=False)[1][:rank]


@pytest.mark.parametrize("similarity", ["gram", "cosine"])
@pytest.mark.parametrize("alpha, degree", [(0.3, 1.0), (0.8, 0.5)])
@pytest.mark.parametrize("normalize", [False, True])
def test_sparse_construction_equals_the_dense_cholesky_one(items, similarity, alpha, degree,
                                                           normalize):
    F, Y, _ = items
    F, Y = F[:150], Y[:150]  # items with no user: popularity max(0, 1) = 1
    selector = CollaborativeMaxVolSelector(
        12, rank=6, alpha=alpha, popularity_degree=degree, similarity=similarity,
        normalize=normalize, ranking="maxvol", random_state=0,
    ).fit(F, Y)
    expected = _dense_collaborative_embedding(F, Y, 6, alpha, degree, similarity, normalize)
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


def _frequent_noise(F, n_noise=10, share=0.5, seed=1):
    """``F`` with ``n_noise`` frequent features unrelated to use appended."""
    rng = np.random.RandomState(seed)
    noise = (rng.rand(F.shape[0], n_noise) < share).astype(float)
    return sp.hstack([F, noise], format="csr")


def test_normalized_columns_keep_frequent_noise_out(items):
    # Ten features on half of the items and unrelated to use: the raw columns' length
    # makes the prototype pick them; scaled to unit length, the informative ones win.
    F, Y, informative = items
    F = _frequent_noise(F)
    informative = np.concatenate([informative, np.zeros(10, dtype=bool)])
    found = {}
    for normalize in (False, True):
        selector = CollaborativeMaxVolSelector(10, rank=10, alpha=0.3, popularity_degree=1.0,
                                               similarity="gram", normalize=normalize,
                                               ranking="maxvol", random_state=0)
        found[normalize] = informative[selector.fit(F, Y).get_support()].sum()
    assert found[True] >= 8
    assert found[False] <= 2


def _greedy_reference(F, T, n):
    """Each step tries every column and keeps the one whose least-squares fit of T, with
    the columns already chosen, leaves the smallest residual."""
    chosen = []
    for _ in range(n):
        errors = {}
        for j in set(range(F.shape[1])) - set(chosen):
            columns = F[:, chosen + [j]]
            coefficients = np.linalg.lstsq(columns, T, rcond=None)[0]
            errors[j] = np.linalg.norm(T - columns @ coefficients)
        chosen.append(min(errors, key=errors.get))
    return np.array(chosen)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_greedy_reconstruction_matches_the_least_squares_reference(seed):
    rng = np.random.RandomState(seed)
    F = rng.rand(40, 15) * (rng.rand(40, 15) < 0.5)
    T = F[:, [2, 7]] @ rng.randn(2, 3) + 0.1 * rng.randn(40, 3)
    expected = _greedy_reference(F, T, 8)
    np.testing.assert_array_equal(_greedy_reconstruction(F, T, 8), expected)
    np.testing.assert_array_equal(_greedy_reconstruction(sp.csr_matrix(F), T, 8), expected)
    assert set(expected[:2]) == {2, 7}


def test_greedy_reconstruction_puts_redundant_columns_last():
    rng = np.random.RandomState(0)
    F = rng.rand(30, 4)
    F = np.column_stack([F, F[:, 0] + F[:, 1], np.zeros(30)])  # in the span; zero
    ranking = _greedy_reconstruction(F, rng.rand(30, 2), 6)
    assert np.linalg.matrix_rank(F[:, ranking[:4]]) == 4
    assert ranking[-1] == 5 and sorted(ranking) == list(range(6))


def test_greedy_ranking_selects_what_reconstructs_the_collaborative_factors(items):
    F, Y, informative = items
    selector = CollaborativeMaxVolSelector(10, rank=10, random_state=0)
    assert selector.ranking == "greedy"
    padded = np.concatenate([informative, np.zeros(10, dtype=bool)])
    assert padded[selector.fit(_frequent_noise(F), Y).get_support()].sum() >= 7  # random: 1.4
    assert not hasattr(selector, "components_")
    # a refit after maxvol drops maxvol's embedding
    selector.set_params(ranking="maxvol").fit(F, Y)
    assert hasattr(selector.set_params(ranking="greedy").fit(F, Y), "ranking_")
    assert not hasattr(selector, "components_")
    small = CollaborativeMaxVolSelector(4, rank=10, random_state=0)
    np.testing.assert_array_equal(small.fit(F, Y).ranking_,
                                  selector.fit(F, Y).ranking_[:4])


def test_one_fit_serves_every_smaller_budget(items):
    F, Y, _ = items
    large = CollaborativeMaxVolSelector(30, rank=8, ranking="maxvol", random_state=0).fit(F, Y)
    small = CollaborativeMaxVolSelector(15, rank=8, ranking="maxvol", random_state=0).fit(F, Y)
    np.testing.assert_array_equal(large.ranking_[:15], small.ranking_)
    tiny = CollaborativeMaxVolSelector(3, rank=8, ranking="maxvol", random_state=0).fit(F, Y)
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
        CollaborativeMaxVolSelector(5, rank=61, ranking="maxvol").fit(F, Y)
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
    with pytest.raises(ValueError, match="ranking"):
        CollaborativeMaxVolSelector(ranking="best").fit(F, Y)
    with pytest.raises(ValueError, match="no more collaborative factors"):
        CollaborativeMaxVolSelector(5, rank=40, ranking="greedy").fit(F, Y[:, :30])
