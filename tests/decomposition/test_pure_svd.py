import pickle

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.model_selection import GridSearchCV, KFold

from recfactor.datasets import make_interactions
from recfactor.decomposition import PureSVD
from recfactor.dummy import PopularityRecommender


@pytest.fixture(scope="module")
def X():
    return make_interactions(n_users=300, n_items=120, n_components=4, random_state=0)


def test_pure_svd_matches_dense_svd(X):
    model = PureSVD(rank=6, random_state=0).fit(X)
    _, s, vt = np.linalg.svd(X.toarray(), full_matrices=False)
    np.testing.assert_allclose(model.singular_values_, s[:6], rtol=1e-6)
    # singular vectors are defined up to sign: compare the projector V V^T
    np.testing.assert_allclose(
        model.item_factors_ @ model.item_factors_.T, vt[:6].T @ vt[:6], atol=1e-6
    )
    np.testing.assert_allclose(model.predict(X[:3]), X[:3].toarray() @ vt[:6].T @ vt[:6],
                               atol=1e-6)


def test_pure_svd_beats_popularity_on_planted_structure(X):
    train, test = X[:240], X[240:]
    svd = PureSVD(rank=4, random_state=0).fit(train)
    popularity = PopularityRecommender().fit(train)
    assert svd.score(test) > 1.3 * popularity.score(test)


def test_pure_svd_is_deterministic_and_pickles(X):
    first = PureSVD(rank=5, random_state=1).fit(X)
    second = PureSVD(rank=5, random_state=1).fit(X)
    np.testing.assert_array_equal(first.item_factors_, second.item_factors_)
    restored = pickle.loads(pickle.dumps(first))
    np.testing.assert_array_equal(restored.recommend(X[:5]), first.recommend(X[:5]))


def test_transform_folds_in_new_users(X):
    model = PureSVD(rank=5, random_state=0).fit(X[:200])
    new_users = sp.csr_matrix(X[200:])
    np.testing.assert_allclose(model.transform(new_users), new_users @ model.item_factors_)


def test_pure_svd_rejects_bad_input(X):
    with pytest.raises(ValueError, match=r"rank=500 is larger than min\(n_users, n_items\)"):
        PureSVD(rank=500).fit(X)
    with pytest.raises(ValueError, match="rank"):
        PureSVD(rank=0).fit(X)
    with pytest.raises(ValueError, match="NaN"):
        PureSVD(rank=2).fit(np.array([[1.0, np.nan], [1.0, 0.0]]))


def test_grid_search_over_rank(X):
    search = GridSearchCV(PureSVD(random_state=0), {"rank": [1, 4, 30]},
                          cv=KFold(3, shuffle=True, random_state=0))
    search.fit(X)
    assert search.best_params_["rank"] == 4
