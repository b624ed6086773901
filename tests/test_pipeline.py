"""RecommenderPipeline: the last step's verbs, after the earlier steps' transforms."""

import pickle

import numpy as np
import pytest
from sklearn.feature_extraction.text import TfidfTransformer
from sklearn.model_selection import GridSearchCV, KFold
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import Normalizer

from recfactor.datasets import make_interactions, make_item_features
from recfactor.decomposition import ALS, HybridSVD, PureSVD
from recfactor.feature_selection import CollaborativeMaxVolSelector
from recfactor.metrics import make_ranking_scorer
from recfactor.pipeline import RecommenderPipeline, make_pipeline


@pytest.fixture(scope="module")
def interactions():
    return make_interactions(n_users=150, n_items=60, random_state=0)


def test_recommend_transforms_through_the_earlier_steps(interactions):
    pipe = make_pipeline(TfidfTransformer(), PureSVD(rank=5, random_state=0)).fit(interactions)
    weighting, svd = pipe.named_steps.values()
    weighted = weighting.transform(interactions[:20])
    np.testing.assert_array_equal(pipe.recommend(interactions[:20], k=7),
                                  svd.recommend(weighted, k=7))
    np.testing.assert_array_equal(pipe.recommend(interactions[:20], k=7, exclude_seen=False),
                                  svd.recommend(weighted, k=7, exclude_seen=False))
    # Different from the raw rows: the weighting really is applied before the last step.
    assert not np.array_equal(svd.recommend(interactions[:20], k=7, exclude_seen=False),
                              svd.recommend(weighted, k=7, exclude_seen=False))


def test_passthrough_steps_and_a_single_step(interactions):
    alone = make_pipeline(PureSVD(rank=5, random_state=0)).fit(interactions)
    with_passthrough = RecommenderPipeline(
        [("nothing", "passthrough"), ("svd", PureSVD(rank=5, random_state=0))]
    ).fit(interactions)
    expected = PureSVD(rank=5, random_state=0).fit(interactions).recommend(interactions[:10])
    np.testing.assert_array_equal(alone.recommend(interactions[:10]), expected)
    np.testing.assert_array_equal(with_passthrough.recommend(interactions[:10]), expected)


def test_tuned_inside_grid_search_and_recommends_from_the_best_pipeline(interactions):
    search = GridSearchCV(
        make_pipeline(TfidfTransformer(), PureSVD(random_state=0)),
        {"tfidftransformer__use_idf": [False, True], "puresvd__rank": [2, 5]},
        scoring=make_ranking_scorer("recall", 10),
        cv=KFold(3, shuffle=True, random_state=0),
    ).fit(interactions)
    best = search.best_estimator_
    assert isinstance(best, RecommenderPipeline)
    refit = make_pipeline(TfidfTransformer(), PureSVD(random_state=0))
    refit.set_params(**search.best_params_).fit(interactions)
    np.testing.assert_array_equal(best.recommend(interactions[:15], k=5),
                                  refit.recommend(interactions[:15], k=5))
    # The fold-in scorer gives a plain scikit-learn Pipeline the same verbs.
    scorer = make_ranking_scorer("recall", 10)
    plain = Pipeline(best.steps)
    assert scorer(plain, interactions[:40]) == scorer(best, interactions[:40])


def test_similar_items_only_where_the_last_step_has_it(interactions):
    als = make_pipeline(Normalizer(), ALS(rank=4, max_epochs=3, random_state=0))
    assert hasattr(als, "recommend") and hasattr(als, "similar_items")
    als.fit(interactions)
    ids, scores = als.similar_items([0, 3], k=4)
    expected_ids, expected_scores = als[-1].similar_items([0, 3], k=4)
    np.testing.assert_array_equal(ids, expected_ids)
    np.testing.assert_allclose(scores, expected_scores)

    svd = make_pipeline(TfidfTransformer(), PureSVD(rank=3))
    assert hasattr(svd, "recommend") and not hasattr(svd, "similar_items")
    with pytest.raises(AttributeError, match="similar_items"):
        svd.similar_items([0])
    not_a_recommender = make_pipeline(TfidfTransformer(), Normalizer())
    assert not hasattr(not_a_recommender, "recommend")


def test_cold_start_pipeline_recommends_users_for_cold_items():
    F, Y = make_item_features(n_items=200, n_features=40, n_users=100, random_state=0)
    pipe = make_pipeline(CollaborativeMaxVolSelector(10, rank=8, random_state=0),
                         HybridSVD(rank=8, random_state=0)).fit(F[:150], Y[:150])
    selector, model = pipe.named_steps.values()
    np.testing.assert_array_equal(pipe.recommend(F[150:], k=5),
                                  model.recommend(selector.transform(F[150:]), k=5))


def test_pickles_with_its_verbs(interactions):
    pipe = make_pipeline(TfidfTransformer(), PureSVD(rank=5, random_state=0)).fit(interactions)
    restored = pickle.loads(pickle.dumps(pipe))
    np.testing.assert_array_equal(restored.recommend(interactions[:5]),
                                  pipe.recommend(interactions[:5]))


def test_make_pipeline_takes_scikit_learns_options():
    pipe = make_pipeline(TfidfTransformer(), PureSVD(), verbose=True)
    assert isinstance(pipe, RecommenderPipeline) and isinstance(pipe, Pipeline)
    assert pipe.verbose is True
    assert [name for name, _ in pipe.steps] == ["tfidftransformer", "puresvd"]
