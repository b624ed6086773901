"""Searches of every family on a real Dask cluster, through joblib, as on one machine.

The module starts a ``distributed.LocalCluster`` of two worker processes (one thread each)
and stops it at the end. Each search runs twice, serially and on the cluster: the same
``random_state`` must give the same scores, and the best estimator comes back fitted.
"""

import joblib
import numpy as np
import pandas as pd
import pytest
from sklearn.feature_extraction.text import TfidfTransformer
from sklearn.model_selection import GridSearchCV, KFold, cross_validate

from recfactor.datasets import make_interactions, make_item_features, make_sequences, make_triples
from recfactor.decomposition import ALS, HybridSVD, PureSVD
from recfactor.metrics import make_ranking_scorer
from recfactor.pipeline import make_pipeline

distributed = pytest.importorskip("distributed")


@pytest.fixture(scope="module")
def client():
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=None) as cluster:
        with distributed.Client(cluster) as client:
            yield client


def on_the_cluster(run, client):
    """``run()`` with joblib on the Dask cluster; asserts the work went to the workers."""
    with distributed.get_task_stream(client) as tasks, joblib.parallel_config("dask"):
        result = run()
    assert len(tasks.data) > 0
    return result


def same_search(make_search, fit, client):
    serial = fit(make_search(n_jobs=None))
    parallel = on_the_cluster(lambda: fit(make_search(n_jobs=-1)), client)
    np.testing.assert_allclose(parallel.cv_results_["mean_test_score"],
                               serial.cv_results_["mean_test_score"], rtol=1e-6)
    assert parallel.best_params_ == serial.best_params_
    return parallel


def test_collaborative_searches(client):
    X = make_interactions(n_users=150, n_items=60, random_state=0)
    cv = KFold(3, shuffle=True, random_state=0)
    for estimator, grid in [(PureSVD(random_state=0), {"rank": [2, 8]}),
                            (ALS(max_epochs=3, device="cpu", random_state=0), {"rank": [2, 8]})]:
        search = same_search(
            lambda n_jobs: GridSearchCV(estimator, grid, cv=cv, n_jobs=n_jobs,
                                        scoring=make_ranking_scorer("ndcg", 10)),
            lambda search: search.fit(X), client)
        assert search.best_estimator_.recommend(X[:3]).shape == (3, 10)


def test_cold_start_search_in_a_pipeline(client):
    F, Y = make_item_features(n_items=200, n_features=40, n_users=100, random_state=0)
    search = same_search(
        lambda n_jobs: GridSearchCV(
            make_pipeline(TfidfTransformer(), HybridSVD(rank=4, random_state=0)),
            {"hybridsvd__alpha": [0.1, 0.9]}, cv=KFold(2, shuffle=True, random_state=0),
            scoring=make_ranking_scorer("recall", 10, protocol="cold-start"), n_jobs=n_jobs),
        lambda search: search.fit(F, Y), client)
    assert search.best_estimator_.predict(F[:2]).shape == (2, Y.shape[1])


def test_sequential_search(client):
    pytest.importorskip("torch")
    from recfactor.sequential import SASRec

    histories = make_sequences(n_users=120, n_items=30, random_state=0)
    model = SASRec(embedding_dim=16, max_length=20, max_epochs=2, batch_size=32,
                   device="cpu", random_state=0)
    search = same_search(
        lambda n_jobs: GridSearchCV(model, {"learning_rate": [1e-3, 1e-2]}, cv=KFold(2),
                                    scoring=make_ranking_scorer("ndcg", 10,
                                                                protocol="next-item"),
                                    n_jobs=n_jobs),
        lambda search: search.fit(histories), client)
    assert search.best_estimator_.recommend(histories[:2]).shape == (2, 10)


def test_knowledge_graph_cross_validation(client):
    pytest.importorskip("torch")
    from recfactor.knowledge_graph import TuckER

    triples = make_triples(n_entities=40, n_relations=3, n_triples=300, random_state=0)
    model = TuckER(entity_dim=8, relation_dim=4, max_epochs=3, device="cpu", random_state=0)
    serial = cross_validate(model, triples, cv=2, return_estimator=True)
    parallel = on_the_cluster(
        lambda: cross_validate(model, triples, cv=2, n_jobs=-1, return_estimator=True), client)
    np.testing.assert_allclose(parallel["test_score"], serial["test_score"], rtol=1e-6)
    # The fitted models come back from the workers and predict there as here.
    for here, there in zip(serial["estimator"], parallel["estimator"]):
        np.testing.assert_allclose(there.predict(triples[:5]), here.predict(triples[:5]),
                                   rtol=1e-5)


def test_recommendations_for_a_partitioned_log_on_the_cluster(client):
    import dask.dataframe as dd

    from recfactor.pipeline import recommend_log
    from recfactor.preprocessing import log_to_matrix

    X = make_interactions(n_users=300, n_items=80, random_state=0).tocoo()
    log = pd.DataFrame({"user_id": X.row + 1000, "item_id": X.col * 10})
    matrix, users, items = log_to_matrix(log)
    model = PureSVD(rank=8, random_state=0).fit(matrix)
    # Users 1000..1299 in 4 partitions of whole users.
    frame = dd.from_pandas(log.sort_values("user_id"), npartitions=4, sort=False)
    frame = frame.set_index("user_id", sorted=True, drop=False).reset_index(drop=True)
    meta = recommend_log(log.iloc[:0], model, items, 5)
    with distributed.get_task_stream(client) as tasks:
        result = frame.map_partitions(recommend_log, model, items, 5, meta=meta).compute()
    assert len(tasks.data) > 0
    expected = recommend_log(log, model, items, 5)
    result = result.sort_values(["user_id", "rank"]).reset_index(drop=True)
    pd.testing.assert_frame_equal(result, expected, check_dtype=False)
    np.testing.assert_array_equal(
        expected["item_id"].to_numpy().reshape(-1, 5),
        items[model.recommend(matrix, k=5)])
