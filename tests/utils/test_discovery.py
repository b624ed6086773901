from sklearn.base import BaseEstimator

from recfactor.dummy import PopularityRecommender
from recfactor.utils import all_estimators


def test_all_estimators_lists_public_estimators_sorted():
    estimators = all_estimators()
    names = [name for name, _ in estimators]
    assert names == sorted(names)
    assert ("PopularityRecommender", PopularityRecommender) in estimators
    for name, cls in estimators:
        assert issubclass(cls, BaseEstimator)
        assert not name.startswith("_")
        assert cls.__module__.startswith("recfactor.")
