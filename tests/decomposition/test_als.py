import pickle

import implicit.als
import implicit.cpu.als
import implicit.gpu
import implicit.utils
import numpy as np
import pytest
from sklearn.model_selection import GridSearchCV, KFold
from threadpoolctl import threadpool_info, threadpool_limits

from recfactor.decomposition import ALS
from recfactor.metrics import make_ranking_scorer

# implicit warns about BLAS threads and non-CSR input: none of that may reach a user.
pytestmark = pytest.mark.filterwarnings("error")

IMPLICIT_PARAMS = dict(factors=8, regularization=0.05, alpha=2.0, iterations=5)
PARAMS = dict(rank=8, regularization=0.05, alpha=2.0, max_epochs=5)


def _reference_user_step(X, item_factors, regularization, alpha):
    """Hu et al.'s user update, solved exactly: confidence alpha * x, preference 1."""
    Y = item_factors.astype(np.float64)
    base = Y.T @ Y + regularization * np.eye(Y.shape[1])
    users = []
    for row in X:
        confidence = alpha * row.data
        Y_row = Y[row.indices]
        A = base + Y_row.T @ ((confidence - 1)[:, None] * Y_row)
        users.append(np.linalg.solve(A, Y_row.T @ confidence))
    return np.array(users)


def test_als_matches_implicit_with_the_same_seed(interactions):
    model = ALS(**PARAMS, device="cpu", random_state=0).fit(interactions)
    reference = implicit.als.AlternatingLeastSquares(**IMPLICIT_PARAMS, use_gpu=False,
                                                     random_state=0)
    with threadpool_limits(1, user_api="blas"):
        reference.fit(interactions, show_progress=False)
    np.testing.assert_allclose(model.item_factors_, reference.item_factors)
    np.testing.assert_allclose(model.user_factors_, reference.user_factors)
    assert model.item_factors_.shape == (120, 8)
    assert model.user_factors_.shape == (300, 8)
    assert model.n_features_in_ == 120


def test_transform_folds_in_unseen_users_exactly(interactions, weighted_new_users):
    model = ALS(**PARAMS, device="cpu", random_state=0).fit(interactions)
    expected = _reference_user_step(weighted_new_users, model.item_factors_, 0.05, 2.0)
    np.testing.assert_allclose(model.transform(weighted_new_users), expected, atol=1e-5)
    np.testing.assert_array_equal(model.transform(weighted_new_users[:3]),
                                  model.transform(weighted_new_users)[:3])
    np.testing.assert_allclose(
        model.predict(weighted_new_users),
        model.transform(weighted_new_users) @ model.item_factors_.T,
    )


def test_als_beats_popularity_on_planted_structure(interactions, popularity_score):
    model = ALS(rank=4, max_epochs=10, device="cpu", random_state=0)
    model.fit(interactions[:240])
    assert model.score(interactions[240:]) > 1.3 * popularity_score


def test_als_is_deterministic_and_pickles(interactions):
    first = ALS(rank=4, max_epochs=3, device="cpu", random_state=1).fit(interactions)
    second = ALS(rank=4, max_epochs=3, device="cpu", random_state=1).fit(interactions)
    np.testing.assert_array_equal(first.item_factors_, second.item_factors_)
    restored = pickle.loads(pickle.dumps(first))
    np.testing.assert_array_equal(restored.predict(interactions[:5]),
                                  first.predict(interactions[:5]))
    np.testing.assert_array_equal(restored.recommend(interactions), first.recommend(interactions))


def test_random_state_instances_are_accepted(interactions):
    # implicit 0.7.3 itself fails on a RandomState instance.
    first = ALS(rank=4, max_epochs=2, device="cpu",
                random_state=np.random.RandomState(0)).fit(interactions)
    second = ALS(rank=4, max_epochs=2, device="cpu",
                 random_state=np.random.RandomState(0)).fit(interactions)
    np.testing.assert_array_equal(first.item_factors_, second.item_factors_)


def test_similar_items_are_nearest_by_cosine(interactions):
    model = ALS(rank=8, max_epochs=5, device="cpu", random_state=0).fit(interactions)
    ids, scores = model.similar_items([3, 7, 3], k=5)
    unit = model.item_factors_ / np.linalg.norm(model.item_factors_, axis=1, keepdims=True)
    cosine = unit[[3, 7, 3]] @ unit.T
    cosine[[0, 1, 2], [3, 7, 3]] = -np.inf
    np.testing.assert_array_equal(ids, np.argsort(-cosine, axis=1)[:, :5])
    np.testing.assert_allclose(scores, np.take_along_axis(cosine, ids, axis=1), rtol=1e-5)
    assert model.similar_items(3, k=2)[0].shape == (1, 2)
    padded, _ = model.similar_items([0], k=121)
    assert 0 not in padded and list(padded[0, -2:]) == [-1, -1]


def test_als_rejects_bad_input(interactions):
    with pytest.raises(ValueError, match="NaN at row 0, column 1"):
        ALS(device="cpu").fit(np.array([[1.0, np.nan], [1.0, 0.0]]))
    with pytest.raises(ValueError, match="Negative values"):
        ALS(device="cpu").fit(np.array([[1.0, -1.0], [1.0, 0.0]]))
    model = ALS(rank=2, max_epochs=1, device="cpu", random_state=0).fit(interactions)
    with pytest.raises(ValueError, match="X has 100 features, but ALS is expecting 120"):
        model.transform(interactions[:, :100])
    with pytest.raises(ValueError, match="item_ids contains 120, but the model knows 120 items"):
        model.similar_items([0, 120])
    with pytest.raises(ValueError, match="item_ids must be an integer or a 1-D array"):
        model.similar_items([0.5])
    for params, name in [({"rank": 0}, "rank"), ({"alpha": 0.0}, "alpha"),
                         ({"regularization": -1.0}, "regularization"),
                         ({"max_epochs": 0}, "max_epochs"), ({"device": "gpu"}, "device")]:
        with pytest.raises(ValueError, match=f"'{name}' parameter of ALS"):
            ALS(**params).fit(interactions)


def test_device_cuda_without_cuda_is_a_clear_error(monkeypatch, interactions):
    monkeypatch.setattr(implicit.gpu, "HAS_CUDA", False)
    with pytest.raises(ValueError, match="device='cuda', but implicit cannot use a GPU"):
        ALS(device="cuda").fit(interactions)
    assert ALS(rank=2, max_epochs=1).fit(interactions).item_factors_.shape == (120, 2)


@pytest.mark.skipif(implicit.gpu.HAS_CUDA, reason="a real GPU is tested below")
def test_auto_asks_implicit_for_its_gpu_model_when_cuda_is_reported(monkeypatch, interactions):
    monkeypatch.setattr(implicit.gpu, "HAS_CUDA", True)
    # implicit's GPU class refuses to start without its CUDA extension: proof it was chosen.
    with pytest.raises(ValueError, match="can't train on GPU"):
        ALS(rank=2, max_epochs=1).fit(interactions)


def test_gpu_model_is_given_confidences_since_it_ignores_alpha(monkeypatch, interactions):
    class GPUStandIn(implicit.cpu.als.AlternatingLeastSquares):
        """A CPU model that, like implicit 0.7.3's GPU model, ignores alpha in fit."""

        def fit(self, user_items, **kwargs):
            alpha, self.alpha = self.alpha, 1.0
            super().fit(user_items, **kwargs)
            self.alpha = alpha

        def to_cpu(self):
            return self

    def gpu_only(use_gpu, **params):
        assert use_gpu
        return GPUStandIn(**params)

    monkeypatch.setattr(implicit.gpu, "HAS_CUDA", True)
    monkeypatch.setattr(implicit.als, "AlternatingLeastSquares", gpu_only)
    on_gpu = ALS(**PARAMS, random_state=0).fit(interactions)
    monkeypatch.undo()
    on_cpu = ALS(**PARAMS, device="cpu", random_state=0).fit(interactions)
    np.testing.assert_allclose(on_gpu.item_factors_, on_cpu.item_factors_)


@pytest.mark.skipif(not implicit.gpu.HAS_CUDA, reason="implicit has no usable GPU here")
def test_als_trains_on_gpu(interactions, popularity_score):
    model = ALS(rank=4, max_epochs=10, device="cuda", random_state=0).fit(interactions[:240])
    assert isinstance(model.item_factors_, np.ndarray)
    assert model.score(interactions[240:]) > 1.3 * popularity_score


def test_blas_is_limited_only_while_implicit_runs(monkeypatch, interactions):
    monkeypatch.setattr(implicit.utils, "_checked_blas_config", False)

    def blas_threads():
        return [api["num_threads"] for api in threadpool_info() if api["user_api"] == "blas"]

    with threadpool_limits(2, user_api="blas"):
        before = blas_threads()
        # implicit would warn (an error here) if it saw 2 BLAS threads.
        ALS(rank=2, max_epochs=1, device="cpu").fit(interactions).transform(interactions)
        assert blas_threads() == before


def test_verbose_controls_implicit_progress_bar(capsys, interactions):
    ALS(rank=2, max_epochs=2, device="cpu", verbose=0).fit(interactions)
    assert capsys.readouterr() == ("", "")
    ALS(rank=2, max_epochs=2, device="cpu", verbose=1).fit(interactions)
    assert "2/2" in capsys.readouterr().err


def test_grid_search_over_rank(interactions):
    search = GridSearchCV(ALS(max_epochs=5, device="cpu", random_state=0),
                          {"rank": [1, 4, 30]}, cv=KFold(3, shuffle=True, random_state=0),
                          scoring=make_ranking_scorer("ndcg", 10))
    search.fit(interactions)
    assert search.best_params_["rank"] == 4


@pytest.mark.parametrize("old, new", [
    ({"factors": 3}, {"rank": 3}),
    ({"iterations": 2}, {"max_epochs": 2}),
    ({"use_gpu": False}, {"device": "cpu"}),
])
def test_former_names_warn_and_fit_the_same_model(interactions, old, new):
    (old_name,) = old
    with pytest.warns(FutureWarning, match=rf"ALS\({old_name}=...\) is deprecated in 0.1"):
        former = ALS(**old, random_state=0).fit(interactions)
    current = ALS(**new, random_state=0).fit(interactions)
    np.testing.assert_array_equal(former.item_factors_, current.item_factors_)
