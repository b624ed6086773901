import pickle

import implicit.bpr
import implicit.gpu
import numpy as np
import pytest
from sklearn.model_selection import GridSearchCV, KFold
from threadpoolctl import threadpool_limits

from recfactor.decomposition import BPR
from recfactor.metrics import make_ranking_scorer

# implicit warns about BLAS threads and non-CSR input: none of that may reach a user.
pytestmark = pytest.mark.filterwarnings("error")

IMPLICIT_PARAMS = dict(factors=8, learning_rate=0.05, regularization=0.02, iterations=20)
PARAMS = dict(rank=8, learning_rate=0.05, regularization=0.02, max_epochs=20)


def _reference_fold_in(X, item_factors):
    """Ridge projection of the binary rows onto all item factors, mean-eigenvalue penalty."""
    F = item_factors.astype(np.float64)
    gram = F.T @ F
    penalty = np.trace(gram) / gram.shape[0]
    return np.linalg.solve(gram + penalty * np.eye(gram.shape[0]), F.T @ (X.toarray() > 0).T).T


def test_bpr_matches_implicit_with_the_same_seed(interactions):
    model = BPR(**PARAMS, device="cpu", random_state=0).fit(interactions)
    reference = implicit.bpr.BayesianPersonalizedRanking(
        **IMPLICIT_PARAMS, use_gpu=False, num_threads=1, random_state=0
    )
    with threadpool_limits(1, user_api="blas"):
        reference.fit(interactions, show_progress=False)
    np.testing.assert_allclose(model.item_factors_, reference.item_factors)
    np.testing.assert_allclose(model.user_factors_, reference.user_factors)
    # implicit appends the item bias as a last column, weighted 1 by every training user
    assert model.item_factors_.shape == (120, 9)
    np.testing.assert_array_equal(model.user_factors_[:, -1], 1.0)
    assert model.n_features_in_ == 120


def test_transform_folds_in_unseen_users_by_ridge_projection(interactions, weighted_new_users):
    model = BPR(**PARAMS, device="cpu", random_state=0).fit(interactions)
    np.testing.assert_allclose(model.transform(weighted_new_users),
                               _reference_fold_in(weighted_new_users, model.item_factors_),
                               rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(model.transform(weighted_new_users[:3]),
                                  model.transform(weighted_new_users)[:3])


def test_weights_are_ignored(interactions, weighted_new_users):
    model = BPR(**PARAMS, device="cpu", random_state=0).fit(interactions)
    scaled = BPR(**PARAMS, device="cpu", random_state=0).fit(interactions * 7.0)
    np.testing.assert_array_equal(model.item_factors_, scaled.item_factors_)
    binary = weighted_new_users.sign()
    np.testing.assert_array_equal(model.transform(weighted_new_users), model.transform(binary))


def test_bpr_beats_popularity_on_planted_structure(interactions, popularity_score):
    model = BPR(rank=8, max_epochs=100, device="cpu", random_state=0)
    model.fit(interactions[:240])
    assert model.score(interactions[240:]) > 1.3 * popularity_score


def test_bpr_is_deterministic_and_pickles(interactions):
    first = BPR(**PARAMS, device="cpu", random_state=1).fit(interactions)
    second = BPR(**PARAMS, device="cpu", random_state=1).fit(interactions)
    np.testing.assert_array_equal(first.item_factors_, second.item_factors_)
    restored = pickle.loads(pickle.dumps(first))
    np.testing.assert_array_equal(restored.predict(interactions[:5]),
                                  first.predict(interactions[:5]))
    np.testing.assert_array_equal(restored.recommend(interactions), first.recommend(interactions))


def test_similar_items_exclude_the_item_and_use_the_bias_column(interactions):
    model = BPR(**PARAMS, device="cpu", random_state=0).fit(interactions)
    ids, scores = model.similar_items(np.arange(120), k=3)
    assert ids.shape == scores.shape == (120, 3)
    assert not (ids == np.arange(120)[:, None]).any()
    unit = model.item_factors_ / np.linalg.norm(model.item_factors_, axis=1, keepdims=True)
    np.testing.assert_allclose(scores[5], unit[ids[5]] @ unit[5], rtol=1e-5)


def test_bpr_rejects_bad_input(interactions):
    with pytest.raises(ValueError, match="NaN at row 0, column 1"):
        BPR(device="cpu").fit(np.array([[1.0, np.nan], [1.0, 0.0]]))
    with pytest.raises(ValueError, match="Negative values"):
        BPR(device="cpu").fit(np.array([[1.0, -1.0], [1.0, 0.0]]))
    model = BPR(rank=2, max_epochs=1, device="cpu", random_state=0).fit(interactions)
    with pytest.raises(ValueError, match="X has 100 features, but BPR is expecting 120"):
        model.recommend(interactions[:, :100])
    for params, name in [({"rank": 0}, "rank"), ({"learning_rate": 0.0}, "learning_rate"),
                         ({"regularization": -1.0}, "regularization"),
                         ({"max_epochs": 0}, "max_epochs"), ({"verbose": -1}, "verbose")]:
        with pytest.raises(ValueError, match=f"'{name}' parameter of BPR"):
            BPR(**params).fit(interactions)


def test_device_cuda_without_cuda_is_a_clear_error(monkeypatch, interactions):
    monkeypatch.setattr(implicit.gpu, "HAS_CUDA", False)
    with pytest.raises(ValueError, match="device='cuda', but implicit cannot use a GPU"):
        BPR(device="cuda").fit(interactions)


@pytest.mark.skipif(not implicit.gpu.HAS_CUDA, reason="implicit has no usable GPU here")
def test_bpr_trains_on_gpu(interactions, popularity_score):
    model = BPR(rank=8, max_epochs=100, device="cuda", random_state=0)
    model.fit(interactions[:240])
    assert isinstance(model.item_factors_, np.ndarray)
    assert model.score(interactions[240:]) > 1.3 * popularity_score


def test_verbose_controls_implicit_progress_bar(capsys, interactions):
    BPR(rank=2, max_epochs=3, device="cpu", verbose=0).fit(interactions)
    assert capsys.readouterr() == ("", "")
    BPR(rank=2, max_epochs=3, device="cpu", verbose=1).fit(interactions)
    assert "3/3" in capsys.readouterr().err


def test_grid_search_over_max_epochs(interactions):
    search = GridSearchCV(BPR(rank=4, device="cpu", random_state=0),
                          {"max_epochs": [1, 10, 100]},
                          cv=KFold(3, shuffle=True, random_state=0),
                          scoring=make_ranking_scorer("ndcg", 10))
    search.fit(interactions)
    assert search.best_params_["max_epochs"] == 100


def test_former_names_warn_and_fit_the_same_model(interactions):
    with pytest.warns(FutureWarning) as caught:
        former = BPR(factors=3, iterations=4, use_gpu=False, random_state=0).fit(interactions)
    assert sorted(str(w.message).split("(")[1].split("=")[0] for w in caught) == [
        "factors", "iterations", "use_gpu"]
    current = BPR(rank=3, max_epochs=4, device="cpu", random_state=0).fit(interactions)
    np.testing.assert_array_equal(former.item_factors_, current.item_factors_)
