import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.base import BaseEstimator
from sklearn.feature_extraction.text import TfidfTransformer
from sklearn.model_selection import GridSearchCV, KFold, PredefinedSplit
from sklearn.pipeline import make_pipeline

from recfactor.datasets import make_interactions, make_item_features, make_sequences
from recfactor.decomposition import PureSVD
from recfactor.metrics import make_ranking_scorer, ndcg_at_k, recall_at_k, top_k
from recfactor.model_selection import fold_in_split, global_temporal_split, leave_last_out
from recfactor.preprocessing import log_to_matrix


class FeatureProfiles(BaseEstimator):
    """Cold-start test double: users score an item by the features of what they used."""

    def __init__(self, smoothing=0.0):
        self.smoothing = smoothing

    def fit(self, X, y):
        self.user_profiles_ = (sp.csr_matrix(y).T @ sp.csr_matrix(X)).toarray() + self.smoothing
        return self

    def predict(self, X):
        return np.asarray(sp.csr_matrix(X) @ self.user_profiles_.T)


class LastItemSuccessors(BaseEstimator):
    """Sequential test double: recommend what most often followed the last item, or the
    most popular items when ``popularity`` dominates."""

    def __init__(self, n_items=50, popularity=0.0):
        self.n_items = n_items
        self.popularity = popularity

    def fit(self, X, y=None):
        counts = np.zeros((self.n_items, self.n_items))
        for history in X:
            np.add.at(counts, (history[:-1], history[1:]), 1)
        self.transitions_ = counts + self.popularity * counts.sum(axis=0)
        return self

    def recommend(self, X, k=10):
        return top_k(self.transitions_[[h[-1] for h in X]], k)


@pytest.fixture(scope="module")
def X():
    return make_interactions(n_users=200, n_items=80, n_components=4, random_state=0)


def test_fold_in_scorer_matches_a_direct_computation(X):
    model = PureSVD(rank=4, random_state=0).fit(X[:150])
    test = X[150:]
    visible, hidden = fold_in_split(test, holdout=0.3, random_state=5)
    users = np.flatnonzero(np.diff(hidden.indptr))
    expected = recall_at_k(hidden[users], model.recommend(visible[users], k=5), k=5)
    scorer = make_ranking_scorer("recall", k=5, holdout=0.3, random_state=5)
    assert scorer(model, test) == pytest.approx(expected)
    assert make_ranking_scorer()(model, test) == pytest.approx(model.score(test))


def test_fold_in_scorer_uses_binary_relevance_and_goes_through_pipelines(X):
    weighted = X.multiply(np.arange(1, X.shape[1] + 1)).tocsr()
    model = PureSVD(rank=4, random_state=0).fit(weighted[:150])
    scorer = make_ranking_scorer("ndcg", k=10)
    assert scorer(model, weighted[150:]) == pytest.approx(
        ndcg_at_k(*_fold_in_lists(model, weighted[150:]))
    )
    pipe = make_pipeline(TfidfTransformer(), PureSVD(rank=4, random_state=0)).fit(X[:150])
    assert 0 < scorer(pipe, X[150:]) <= 1


def _fold_in_lists(model, X):
    visible, hidden = fold_in_split(X, holdout=0.2, random_state=0)
    users = np.flatnonzero(np.diff(hidden.indptr))
    relevant = hidden[users]
    relevant.data[:] = 1
    return relevant, model.recommend(visible[users], k=10), 10


def test_grid_search_with_fold_in_scorer_and_user_kfold(X):
    search = GridSearchCV(
        make_pipeline(TfidfTransformer(), PureSVD(random_state=0)),
        {"puresvd__rank": [1, 4]},
        cv=KFold(3, shuffle=True, random_state=0),
        scoring={"ndcg": make_ranking_scorer("ndcg"), "hr": make_ranking_scorer("hit_rate")},
        refit="ndcg",
    ).fit(X)
    assert search.best_params_ == {"puresvd__rank": 4}
    assert set(search.cv_results_) >= {"mean_test_ndcg", "mean_test_hr"}


def test_cold_start_scorer_ranks_cold_items_for_each_user():
    F, Y = make_item_features(n_items=200, n_features=30, n_users=100, random_state=0)
    model = FeatureProfiles().fit(F[:150], Y[:150])
    scores = model.predict(F[150:])
    relevant = Y[150:].T.tocsr()
    users = np.flatnonzero(np.diff(relevant.indptr))
    expected = ndcg_at_k(relevant[users], top_k(scores.T[users], 10), 10)
    scorer = make_ranking_scorer(protocol="cold-start")
    assert scorer(model, F[150:], Y[150:]) == pytest.approx(expected)
    # cold-item K-fold: KFold over the rows (items) of the cold-start family. GridSearchCV
    # takes the sparse item x user y; cross_val_score's parameter check rejects it.
    search = GridSearchCV(FeatureProfiles(), {"smoothing": [0.0, 1e3]}, cv=KFold(4),
                          scoring=scorer).fit(F, Y)
    assert search.best_params_ == {"smoothing": 0.0}
    assert (search.cv_results_["split0_test_score"] > 0).all()
    with pytest.raises(ValueError, match="cold-start scoring needs y"):
        scorer(model, F[150:])


def test_next_item_scorer_hides_the_last_item():
    sequences = make_sequences(n_users=300, n_items=50, random_state=0)
    model = LastItemSuccessors().fit(sequences[:200])
    test = sequences[200:]
    recommended = model.recommend([s[:-1] for s in test], k=10)
    hits = np.mean([s[-1] in r for s, r in zip(test, recommended)])
    scorer = make_ranking_scorer("hit_rate", protocol="next-item")
    assert scorer(model, test) == pytest.approx(hits)
    popular = np.bincount(np.concatenate(sequences[:200]), minlength=50).argsort()[::-1][:10]
    assert hits > np.mean([s[-1] in popular for s in test])
    with pytest.raises(ValueError, match="at least two items"):
        scorer(model, [[1], [2]])


def test_grid_search_on_a_global_temporal_split():
    # Fit on every user's past, score validation users' recommendations from their past
    # against their future: the training rows and the validation rows stacked, with
    # PredefinedSplit saying which is which, and the targets passed as y.
    log = make_interactions(n_users=300, n_items=60, as_frame=True, random_state=0)
    train, validation = global_temporal_split(log, quantile=0.8)
    ids = {"user_ids": np.unique(log.user_id), "item_ids": np.unique(log.item_id)}
    past = log_to_matrix(train, **ids)[0]
    future = log_to_matrix(validation, **ids)[0]
    users = np.flatnonzero(future.getnnz(axis=1))
    X = sp.vstack([past, past[users]]).tocsr()
    y = sp.vstack([sp.csr_matrix(past.shape), future[users]]).tocsr()
    cv = PredefinedSplit(np.r_[np.full(past.shape[0], -1), np.zeros(users.size)])
    scorer = make_ranking_scorer("ndcg", k=10)
    search = GridSearchCV(PureSVD(random_state=0), {"rank": [1, 5]}, cv=cv,
                          scoring=scorer).fit(X, y)
    model = PureSVD(rank=search.best_params_["rank"], random_state=0).fit(past)
    relevant = future[users]
    relevant.data[:] = 1
    expected = ndcg_at_k(relevant, model.recommend(past[users], k=10), 10)
    assert search.best_score_ == pytest.approx(expected)
    assert search.best_params_ == {"rank": 5}
    with pytest.raises(ValueError, match="needs y of the shape of X"):
        scorer(model, past, future[:10])
    with pytest.raises(ValueError, match="no user with a target in y"):
        scorer(model, past, sp.csr_matrix(past.shape))


def test_grid_search_on_leave_last_out():
    # Train on the histories without their last two items, validate on the second-to-last.
    sequences = make_sequences(n_users=300, n_items=50, random_state=0)
    train, validation, _ = leave_last_out(sequences)
    X = train + validation
    cv = PredefinedSplit(np.r_[np.full(len(train), -1), np.zeros(len(validation))])
    search = GridSearchCV(LastItemSuccessors(), {"popularity": [0.0, 100.0]}, cv=cv,
                          scoring=make_ranking_scorer("hit_rate", protocol="next-item"))
    search.fit(X)
    assert search.best_params_ == {"popularity": 0.0}
    model = LastItemSuccessors().fit(train)
    hits = np.mean([v[-1] in r for v, r in zip(validation, model.recommend(
        [v[:-1] for v in validation], k=10))])
    assert search.best_score_ == pytest.approx(hits)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"metric": "auc"}, "Unknown metric 'auc'"),
        ({"protocol": "leave-one-out"}, "Unknown protocol"),
        ({"k": 0}, "k must be a positive integer"),
    ],
)
def test_make_ranking_scorer_rejects_bad_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message):
        make_ranking_scorer(**kwargs)


def test_scorer_repr():
    assert repr(make_ranking_scorer("map", 5)) == (
        "make_ranking_scorer('map', k=5, protocol='fold-in', holdout=0.2, random_state=0)"
    )


def _popularity_sorted_items(n_items=300, n_users=400, seed=0):
    """Item x user interactions whose item ids follow popularity (item 0 the most popular),
    as MovieLens ids follow age and popularity."""
    rng = np.random.default_rng(seed)
    shares = 0.5 / (1 + np.arange(n_items)) ** 0.8
    return sp.csr_matrix((rng.random((n_items, n_users)) < shares[:, None]).astype(float))


def _chance_ndcg(relevant, n_draws=30, seed=1):
    """NDCG@10 of uniformly random rankings, one value per draw (a plain NumPy ranking)."""
    rng = np.random.default_rng(seed)
    n_users, n_items = relevant.shape
    return np.array([
        ndcg_at_k(relevant, np.argsort(rng.random((n_users, n_items)), axis=1)[:, :10])
        for _ in range(n_draws)
    ])


class _Constant(BaseEstimator):
    """Scores every user alike for every item."""

    def fit(self, X, y):
        self.n_users_ = y.shape[1]
        return self

    def predict(self, X):
        return np.zeros((X.shape[0], self.n_users_))


def test_a_constant_cold_start_model_scores_chance_on_ids_sorted_by_popularity():
    Y = _popularity_sorted_items()
    F = np.ones((Y.shape[0], 1))
    relevant = Y.T.tocsr()
    relevant = relevant[np.flatnonzero(np.diff(relevant.indptr))]
    chance = _chance_ndcg(relevant)
    by_id = ndcg_at_k(relevant, np.tile(np.arange(10), (relevant.shape[0], 1)))
    assert by_id > chance.mean() + 20 * chance.std()  # what an id order would have given
    for seed in range(3):
        scorer = make_ranking_scorer("ndcg", protocol="cold-start", random_state=seed)
        got = scorer(_Constant().fit(F, Y), F, Y)
        assert abs(got - chance.mean()) < 4 * chance.std()


def test_a_constant_user_model_scores_chance_on_ids_sorted_by_popularity():
    from recfactor.dummy import PopularityRecommender

    X = _popularity_sorted_items(n_items=200, n_users=600).T.tocsr()
    # Every item equally popular in training: the model scores all items alike.
    model = PopularityRecommender().fit(np.ones((2, X.shape[1])))
    visible, hidden = fold_in_split(X, holdout=0.5, random_state=0)
    users = np.flatnonzero(np.diff(hidden.indptr))
    relevant = hidden[users]
    chance = []
    rng = np.random.default_rng(1)
    for _ in range(30):
        random_scores = rng.random(relevant.shape)
        random_scores[visible[users].nonzero()] = -np.inf  # seen items are never listed
        chance.append(ndcg_at_k(relevant, np.argsort(-random_scores, axis=1)[:, :10]))
    chance = np.array(chance)
    got = make_ranking_scorer("ndcg", holdout=0.5, random_state=0)(model, X)
    assert abs(got - chance.mean()) < 4 * chance.std()
