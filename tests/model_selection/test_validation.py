"""Cross-validation over items with the sparse item x user interactions as y."""

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn import model_selection
from sklearn.base import BaseEstimator
from sklearn.model_selection import KFold

from recfactor.datasets import make_item_features
from recfactor.decomposition import HybridSVD
from recfactor.feature_selection import CollaborativeMaxVolSelector
from recfactor.metrics import make_ranking_scorer
from recfactor.model_selection import cross_val_score, cross_validate
from recfactor.neighbors import ContentKNN
from recfactor.pipeline import make_pipeline

CV = KFold(4, shuffle=True, random_state=0)


@pytest.fixture(scope="module")
def items():
    return make_item_features(n_items=240, n_features=40, n_users=120, random_state=0)


class _SeesTargets(BaseEstimator):
    """Records the kind of y each fold's fit and score receive."""

    def fit(self, X, y):
        self.fitted_on_ = (type(y), y.shape)
        return self

    def score(self, X, y):
        assert sp.issparse(y) and y.format == "csr" and y.shape[0] == X.shape[0]
        return float(y.shape[0])


def test_each_fold_gets_its_rows_of_a_sparse_y_as_csr(items):
    F, Y = items
    result = cross_validate(_SeesTargets(), F, Y, cv=CV, return_estimator=True)
    for estimator, (train, test) in zip(result["estimator"], CV.split(F)):
        kind, shape = estimator.fitted_on_
        assert issubclass(kind, sp.csr_matrix | sp.csr_array) and shape == (train.size, 120)
    np.testing.assert_array_equal(result["test_score"], [t.size for _, t in CV.split(F)])


@pytest.mark.parametrize("model", [HybridSVD(rank=8, random_state=0), ContentKNN()])
def test_sparse_y_scores_as_a_dense_y_does_with_scikit_learn(items, model):
    F, Y = items
    sparse_scores = cross_val_score(model, F, Y, cv=CV)
    dense_scores = model_selection.cross_val_score(model, F, Y.toarray(), cv=CV)
    np.testing.assert_allclose(sparse_scores, dense_scores)
    assert sparse_scores.mean() > 0


def test_a_selector_pipeline_with_a_scorer_and_two_processes(items):
    F, Y = items
    pipe = make_pipeline(CollaborativeMaxVolSelector(10, rank=8, random_state=0),
                         HybridSVD(rank=8, random_state=0))
    scoring = {"recall": make_ranking_scorer("recall", 20, protocol="cold-start"),
               "ndcg": make_ranking_scorer("ndcg", 10, protocol="cold-start")}
    parallel = cross_validate(pipe, F, Y, cv=CV, scoring=scoring, n_jobs=2)
    serial = cross_validate(pipe, F, Y, cv=CV, scoring=scoring)
    for name in scoring:
        np.testing.assert_allclose(parallel[f"test_{name}"], serial[f"test_{name}"])
        assert np.all(serial[f"test_{name}"] > 0)


def test_other_targets_go_to_scikit_learn_unchanged(items):
    F, Y = items
    dense = Y.toarray()
    np.testing.assert_allclose(
        cross_val_score(HybridSVD(rank=8, random_state=0), F, dense, cv=CV),
        model_selection.cross_val_score(HybridSVD(rank=8, random_state=0), F, dense, cv=CV),
    )
