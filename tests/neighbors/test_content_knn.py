import pickle

import numpy as np
import pytest
from sklearn.model_selection import GridSearchCV, KFold

from recfactor.datasets import make_item_features
from recfactor.metrics import make_ranking_scorer
from recfactor.neighbors import ContentKNN


@pytest.fixture(scope="module")
def items():
    F, Y = make_item_features(n_items=600, n_features=40, n_users=300, density=0.2,
                              random_state=0)
    return F[:500], Y[:500], F[500:], Y[500:]


def _reference_scores(F, Y, F_cold, n_neighbors, similarity, shrink):
    """One cold item at a time: similarities to every training item, keep the best."""
    F, Y, F_cold = F.toarray(), Y.toarray(), F_cold.toarray()
    scores = []
    for f in F_cold:
        dots = F @ f
        if similarity == "cosine":
            denominator = np.linalg.norm(F, axis=1) * np.linalg.norm(f) + shrink
        else:
            denominator = (F ** 2).sum(axis=1) + f @ f - dots + shrink
        similarity_to_items = np.divide(dots, denominator, out=np.zeros_like(dots),
                                        where=denominator > 0)
        nearest = np.argsort(-similarity_to_items, kind="stable")[:n_neighbors]
        scores.append(similarity_to_items[nearest] @ Y[nearest])
    return np.array(scores)


@pytest.mark.parametrize("similarity", ["cosine", "jaccard"])
@pytest.mark.parametrize("shrink", [0.0, 5.0])
def test_matches_a_plain_reference(items, similarity, shrink):
    F, Y, F_cold, _ = items
    # make similarities distinct, so that the nearest neighbours are unambiguous
    F = F.multiply(np.random.RandomState(0).uniform(0.5, 1.5, F.shape)).tocsr()
    model = ContentKNN(n_neighbors=15, similarity=similarity, shrink=shrink).fit(F, Y)
    np.testing.assert_allclose(model.predict(F_cold),
                               _reference_scores(F, Y, F_cold, 15, similarity, shrink),
                               atol=1e-10)


def test_learns_the_planted_structure(items):
    F, Y, F_cold, Y_cold = items
    score = ContentKNN(n_neighbors=30).fit(F, Y).score(F_cold, Y_cold)
    scorer = make_ranking_scorer(protocol="cold-start")

    class Random:
        def predict(self, X):
            return np.random.RandomState(0).rand(X.shape[0], Y.shape[1])

    assert score > scorer(Random(), F_cold, Y_cold) + 0.05


def test_more_neighbours_than_items_uses_them_all(items):
    F, Y, F_cold, _ = items
    every = ContentKNN(n_neighbors=10_000).fit(F, Y).predict(F_cold)
    np.testing.assert_allclose(every, ContentKNN(n_neighbors=500).fit(F, Y).predict(F_cold))


def test_picklable_and_tunable(items):
    F, Y, F_cold, _ = items
    model = ContentKNN(n_neighbors=10).fit(F, Y)
    restored = pickle.loads(pickle.dumps(model))
    np.testing.assert_array_equal(restored.recommend(F_cold, k=5), model.recommend(F_cold, k=5))
    search = GridSearchCV(ContentKNN(), {"n_neighbors": [5, 50], "shrink": [0.0, 10.0]},
                          cv=KFold(3, shuffle=True, random_state=0),
                          scoring=make_ranking_scorer(protocol="cold-start")).fit(F, Y)
    assert len(search.cv_results_["params"]) == 4


def test_rejects_bad_input(items):
    F, Y, _, _ = items
    with pytest.raises(ValueError, match="n_neighbors"):
        ContentKNN(n_neighbors=0).fit(F, Y)
    with pytest.raises(ValueError, match="similarity"):
        ContentKNN(similarity="euclidean").fit(F, Y)
    with pytest.raises(ValueError, match="y has 10 rows but X has 500"):
        ContentKNN().fit(F, Y[:10])
    with pytest.raises(ValueError, match="X has 39 features"):
        ContentKNN().fit(F, Y).predict(F[:, :39])


def test_neighbours_tied_at_the_boundary_share_the_places_left():
    # Every training item has the same features, so all 100 tie for 10 places: each keeps
    # a tenth of its similarity, and the order of the training items changes nothing.
    rng = np.random.default_rng(0)
    F = np.ones((100, 3))
    Y = (rng.random((100, 40)) < np.linspace(0.9, 0.05, 100)[:, None]).astype(float)
    cold = np.ones((2, 3))
    model = ContentKNN(n_neighbors=10).fit(F, Y)
    np.testing.assert_allclose(model.predict(cold), np.tile(0.1 * Y.sum(axis=0), (2, 1)))
    order = rng.permutation(100)
    np.testing.assert_allclose(ContentKNN(n_neighbors=10).fit(F, Y[order]).predict(cold),
                               model.predict(cold))
    # Two items above the boundary keep their whole similarity; 98 share the 8 places left.
    F[[5, 60]] = cold = np.array([[1.0, 1.0, 1.2]])
    similarity = (F @ cold[0]) / (np.linalg.norm(F, axis=1) * np.linalg.norm(cold[0]))
    weights = np.where(np.isin(np.arange(100), [5, 60]), similarity, similarity * 8 / 98)
    np.testing.assert_allclose(ContentKNN(n_neighbors=10).fit(F, Y).predict(cold)[0],
                               weights @ Y)
