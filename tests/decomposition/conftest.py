import numpy as np
import pytest

from recfactor.datasets import make_interactions
from recfactor.dummy import PopularityRecommender


@pytest.fixture(scope="session")
def interactions():
    """Planted rank-4 preferences: 300 users x 120 items."""
    return make_interactions(n_users=300, n_items=120, n_components=4, random_state=0)


@pytest.fixture(scope="session")
def popularity_score(interactions):
    """NDCG@10 of the popularity baseline fitted on the first 240 users, scored on the rest."""
    return PopularityRecommender().fit(interactions[:240]).score(interactions[240:])


@pytest.fixture(scope="session")
def weighted_new_users():
    """Users unseen in any fit, with non-binary weights, over the same 120 items."""
    X = make_interactions(n_users=20, n_items=120, n_components=4, random_state=1)
    X.data = np.random.default_rng(0).integers(1, 5, size=X.nnz).astype(np.float64)
    return X
