import pickle

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.model_selection import GridSearchCV, KFold
from sklearn.utils.extmath import svd_flip

from recfactor.datasets import make_interactions
from recfactor.feature_selection import ItemQuestionnaire, maxvol
from recfactor.metrics import ndcg_at_k, top_k


@pytest.fixture(scope="module")
def planted():
    """Rank-5 planted preferences: 500 training users and 200 new ones over 150 items."""
    X = make_interactions(n_users=700, n_items=150, n_components=5, density=0.08,
                          random_state=0)
    return X[:500], X[500:]


def _reference_factors(X, rank):
    """Right singular vectors of the dense X by numpy, signs as weighted_svd fixes them."""
    U, _, Vt = np.linalg.svd(X.toarray(), full_matrices=False)
    return svd_flip(U[:, :rank], Vt[:rank], u_based_decision=False)[1].T


def test_item_factors_are_the_leading_right_singular_vectors(planted):
    train, _ = planted
    quiz = ItemQuestionnaire(6, rank=4, random_state=0).fit(train)
    np.testing.assert_allclose(quiz.item_factors_, _reference_factors(train, 4), atol=1e-8)
    assert quiz.n_factors_ == 4 and quiz.n_features_in_ == 150


def test_square_case_is_maxvol_dominant(planted):
    """rank == n_questions: |V inv(V_Q)| <= 1.05 (maxvol's tol), C[Q] = I."""
    train, _ = planted
    quiz = ItemQuestionnaire(5, rank=5, random_state=0).fit(train)
    V = quiz.item_factors_
    C = V @ np.linalg.inv(V[quiz.questions_])
    np.testing.assert_allclose(quiz.coefficients_, C, atol=1e-10)
    assert np.abs(C).max() <= 1.05 + 1e-12
    np.testing.assert_allclose(C[quiz.questions_], np.eye(5), atol=1e-12)
    # The questions are the rows maxvol picks from the reference factors.
    np.testing.assert_array_equal(np.sort(quiz.questions_),
                                  np.sort(maxvol(_reference_factors(train, 5))[0]))


def test_rectangular_case_bounds_the_coefficient_rows(planted):
    """rank < n_questions: C = V pinv(V_Q), rows off the questions of norm <= 1.1."""
    train, _ = planted
    quiz = ItemQuestionnaire(12, rank=4, random_state=0).fit(train)
    V, Q = quiz.item_factors_, quiz.questions_
    assert len(set(Q)) == 12
    C = V @ np.linalg.pinv(V[Q])
    np.testing.assert_allclose(quiz.coefficients_, C, atol=1e-10)
    off = np.setdiff1d(np.arange(V.shape[0]), Q)
    assert np.linalg.norm(C[off], axis=1).max() <= 1.1 + 1e-12
    # Each added question had the largest coefficient norm when it was added: the
    # rectangular volume sqrt(det(V_Q^T V_Q)) grows at every step.
    volumes = [np.linalg.det(V[Q[:m]].T @ V[Q[:m]]) for m in range(4, 13)]
    assert np.all(np.diff(volumes) > 0)


def test_rank_above_the_questions_uses_the_leading_factors(planted):
    train, _ = planted
    quiz = ItemQuestionnaire(3, rank=6, random_state=0).fit(train)
    leading = _reference_factors(train, 6)[:, :3]
    assert quiz.n_factors_ == 3 and quiz.item_factors_.shape == (150, 3)
    np.testing.assert_allclose(quiz.item_factors_, leading, atol=1e-8)
    np.testing.assert_array_equal(np.sort(quiz.questions_), np.sort(maxvol(leading)[0]))


@pytest.mark.parametrize("n_questions, rank", [(5, 5), (12, 4), (3, 6)])
@pytest.mark.parametrize("strategy", ["maxvol", "popular", "random"])
def test_predictions_are_the_least_squares_representation(planted, n_questions, rank,
                                                           strategy):
    train, new = planted
    quiz = ItemQuestionnaire(n_questions, rank=rank, strategy=strategy,
                             random_state=0).fit(train)
    V, Q = quiz.item_factors_, quiz.questions_
    answers = new[:, Q].toarray()
    # u = argmin ||V_Q u - a||, scores V u, for each user.
    users = np.linalg.lstsq(V[Q], answers.T, rcond=None)[0].T
    np.testing.assert_allclose(quiz.transform(new), users, atol=1e-9)
    scores = quiz.predict(new)
    answered = answers.any(axis=1)
    assert answered.sum() > 20
    np.testing.assert_allclose(scores[answered], (users @ V.T)[answered], atol=1e-9)
    np.testing.assert_allclose(scores[answered], answers[answered] @ quiz.coefficients_.T,
                               atol=1e-9)


def test_only_the_asked_columns_are_read(planted):
    train, new = planted
    quiz = ItemQuestionnaire(8, random_state=0).fit(train)
    mask = np.zeros(150)
    mask[quiz.questions_] = 1
    just_answers = new @ sp.diags(mask)
    other = sp.random(new.shape[0], 150, density=0.3, random_state=1, format="csr")
    noisy = just_answers + other @ sp.diags(1 - mask)
    for X in (just_answers, noisy, new.toarray()):
        np.testing.assert_array_equal(quiz.predict(X), quiz.predict(new))
        np.testing.assert_array_equal(quiz.recommend(X), quiz.recommend(new))


def test_default_rank_is_half_the_questions(planted):
    train, _ = planted
    assert ItemQuestionnaire(10, random_state=0).fit(train).n_factors_ == 5
    assert ItemQuestionnaire(5, random_state=0).fit(train).n_factors_ == 3
    assert ItemQuestionnaire(1, random_state=0).fit(train).n_factors_ == 1


def test_recommend_excludes_the_questions(planted):
    train, new = planted
    quiz = ItemQuestionnaire(10, random_state=0).fit(train)
    recommended = quiz.recommend(new, k=20)
    assert recommended.shape == (200, 20)
    assert not np.isin(recommended, quiz.questions_).any()
    # Best first by the predicted scores.
    scores = quiz.predict(new)
    ranked = np.take_along_axis(scores, recommended, axis=1)
    assert np.all(np.diff(ranked, axis=1) <= 0)
    allowed = scores.copy()
    allowed[:, quiz.questions_] = -np.inf
    np.testing.assert_allclose(ranked[:, 0], allowed.max(axis=1))
    # Without the exclusion, the questions compete like any item.
    everything = quiz.recommend(new, k=20, exclude_asked=False)
    np.testing.assert_allclose(np.take_along_axis(scores, everything, axis=1)[:, 0],
                               scores.max(axis=1))


def test_a_user_who_answered_nothing_gets_the_popular_items(planted):
    train, _ = planted
    quiz = ItemQuestionnaire(6, random_state=0).fit(train)
    silent = sp.csr_matrix((3, 150))
    np.testing.assert_array_equal(quiz.predict(silent), np.tile(quiz.item_popularity_, (3, 1)))
    recommended = quiz.recommend(silent, k=5)
    popularity = quiz.item_popularity_.copy()
    popularity[quiz.questions_] = -1
    chosen = popularity[recommended]
    assert np.all(np.diff(chosen, axis=1) <= 0)
    left = np.delete(popularity, np.unique(recommended))
    assert chosen.min() >= left.max()  # the most popular, whatever order ties take
    np.testing.assert_array_equal(quiz.item_popularity_,
                                  np.bincount(train.indices, minlength=150))


def test_score_follows_its_documented_protocol(planted):
    train, new = planted
    quiz = ItemQuestionnaire(8, random_state=0).fit(train)
    Q = quiz.questions_
    relevant = (new != 0).astype(float).tolil()
    relevant[:, Q] = 0
    relevant = sp.csr_matrix(relevant)
    relevant.eliminate_zeros()
    users = np.flatnonzero(np.diff(relevant.indptr))
    scores = quiz.predict(new[users])
    scores[:, Q] = -np.inf
    expected = ndcg_at_k(relevant[users], top_k(scores, 10), 10)
    assert quiz.score(new) == pytest.approx(expected, abs=1e-12)


def test_it_learns_maxvol_beats_popular_and_random_questions(planted):
    train, new = planted
    for n_questions in (5, 10):
        maxvol_score = ItemQuestionnaire(n_questions, random_state=0).fit(train).score(new)
        popular = ItemQuestionnaire(n_questions, strategy="popular",
                                    random_state=0).fit(train).score(new)
        random = np.mean([ItemQuestionnaire(n_questions, strategy="random", random_state=seed)
                          .fit(train).score(new) for seed in range(5)])
        assert maxvol_score > popular + 0.02, (n_questions, maxvol_score, popular)
        assert maxvol_score > random + 0.02, (n_questions, maxvol_score, random)


def test_same_random_state_same_questionnaire(planted):
    train, new = planted
    for strategy in ("maxvol", "random"):
        a = ItemQuestionnaire(7, strategy=strategy, random_state=3).fit(train)
        b = ItemQuestionnaire(7, strategy=strategy, random_state=3).fit(train)
        np.testing.assert_array_equal(a.questions_, b.questions_)
        np.testing.assert_array_equal(a.coefficients_, b.coefficients_)
        np.testing.assert_array_equal(a.recommend(new), b.recommend(new))
    draws = {tuple(ItemQuestionnaire(7, strategy="random", random_state=seed)
                   .fit(train).questions_) for seed in range(4)}
    assert len(draws) == 4


def test_random_questions_are_items_someone_rated():
    X = sp.csr_matrix(np.kron(np.eye(4), np.ones((5, 5))))  # 20 users, 20 items
    X = sp.hstack([X, sp.csr_matrix((20, 30))]).tocsr()      # 30 items nobody has
    quiz = ItemQuestionnaire(10, rank=2, strategy="random", random_state=0).fit(X)
    assert np.all(quiz.questions_ < 20)


def test_popular_questions_are_the_most_popular_items(planted):
    train, _ = planted
    quiz = ItemQuestionnaire(9, strategy="popular", random_state=0).fit(train)
    popularity = np.bincount(train.indices, minlength=150)
    asked = popularity[quiz.questions_]
    assert np.all(np.diff(asked) <= 0)
    assert asked.min() >= np.delete(popularity, quiz.questions_).max()


def test_pickle_round_trip(planted):
    train, new = planted
    quiz = ItemQuestionnaire(6, random_state=0).fit(train)
    loaded = pickle.loads(pickle.dumps(quiz))
    np.testing.assert_array_equal(loaded.questions_, quiz.questions_)
    np.testing.assert_array_equal(loaded.predict(new), quiz.predict(new))
    assert loaded.score(new) == quiz.score(new)


def test_grid_search_over_users_picks_a_strategy(planted):
    train, _ = planted
    search = GridSearchCV(ItemQuestionnaire(5, random_state=0),
                          {"strategy": ["maxvol", "popular"]}, cv=KFold(3)).fit(train)
    assert search.best_params_ == {"strategy": "maxvol"}


@pytest.mark.parametrize("params, match", [
    ({"n_questions": 151}, "n_questions=151 is larger than the 150 items"),
    ({"n_questions": 10, "rank": 151}, r"rank=151 is larger than min\(n_users, n_items\)"),
    ({"n_questions": 0}, "n_questions"),
    ({"rank": 0}, "rank"),
    ({"strategy": "greedy"}, "strategy"),
])
def test_bad_parameters(planted, params, match):
    train, _ = planted
    with pytest.raises(ValueError, match=match):
        ItemQuestionnaire(**params).fit(train)


def test_rank_beyond_the_users_is_refused():
    X = make_interactions(n_users=6, n_items=40, random_state=0)
    with pytest.raises(ValueError, match=r"rank=7 is larger than min\(n_users, n_items\) = 6"):
        ItemQuestionnaire(10, rank=7).fit(X)


def test_bad_answers(planted):
    train, new = planted
    quiz = ItemQuestionnaire(5, random_state=0).fit(train)
    dense = new.toarray()
    with pytest.raises(ValueError, match="150 features"):
        quiz.predict(dense[:, :5])  # answers alone, not a user x item row
    nan = dense.copy()
    nan[0, quiz.questions_[0]] = np.nan
    for method in (quiz.predict, quiz.transform, quiz.recommend, quiz.score):
        with pytest.raises(ValueError, match="NaN"):
            method(nan)
    negative = dense.copy()
    negative[0, 0] = -1
    with pytest.raises(ValueError, match="negative"):
        quiz.predict(negative)
    with pytest.raises(ValueError, match="k must be a positive integer"):
        quiz.recommend(new, k=0)
    with pytest.raises(ValueError, match="NaN"):
        ItemQuestionnaire(5).fit(nan)


def test_score_needs_something_to_judge(planted):
    train, _ = planted
    quiz = ItemQuestionnaire(5, random_state=0).fit(train)
    only_answers = sp.csr_matrix((np.ones(5), (np.zeros(5, int), quiz.questions_)),
                                 shape=(1, 150))
    with pytest.raises(ValueError, match="nothing to judge"):
        quiz.score(only_answers)


def test_inputs_are_not_modified(planted):
    train, new = planted
    train = train.copy()
    train.data[:3] = 0  # explicitly stored zeros must survive
    new = new.copy()
    new.data[:3] = 0
    before = [(m.data.copy(), m.indices.copy(), m.indptr.copy()) for m in (train, new)]
    quiz = ItemQuestionnaire(6, random_state=0).fit(train)
    quiz.predict(new)
    quiz.transform(new)
    quiz.recommend(new)
    quiz.score(new)
    for m, (data, indices, indptr) in zip((train, new), before):
        np.testing.assert_array_equal(m.data, data)
        np.testing.assert_array_equal(m.indices, indices)
        np.testing.assert_array_equal(m.indptr, indptr)
    dense = new.toarray()
    copy = dense.copy()
    quiz.score(dense)
    np.testing.assert_array_equal(dense, copy)


def test_dense_and_sparse_input_agree(planted):
    train, new = planted
    a = ItemQuestionnaire(6, random_state=0).fit(train)
    b = ItemQuestionnaire(6, random_state=0).fit(train.toarray())
    np.testing.assert_array_equal(a.questions_, b.questions_)
    np.testing.assert_allclose(a.predict(new), b.predict(new.toarray()), atol=1e-10)
