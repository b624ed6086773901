import numpy as np
import pytest
import scipy.sparse as sp

from recfactor.feature_selection import FeatureFrequencySelector, RandomSelector


def test_frequency_selector_orders_by_document_frequency():
    X = sp.csr_matrix(np.array([[1, 0, 3, 0], [2, 0, 0, 0], [1, 5, 0, 0]]))
    most = FeatureFrequencySelector(2).fit(X)
    np.testing.assert_array_equal(most.frequencies_, [3, 1, 1, 0])
    np.testing.assert_array_equal(most.ranking_, [0, 1, 2, 3])  # ties by index
    np.testing.assert_array_equal(most.get_support(), [True, True, False, False])
    rare = FeatureFrequencySelector(0.5, rarest=True).fit(X)
    np.testing.assert_array_equal(rare.ranking_, [3, 1, 2, 0])
    assert rare.transform(X).shape == (3, 2)


def test_random_selector_is_seeded():
    X = np.random.RandomState(0).rand(5, 40)
    first = RandomSelector(10, random_state=0).fit(X).get_support()
    assert first.sum() == 10
    np.testing.assert_array_equal(first, RandomSelector(10, random_state=0).fit(X).get_support())
    assert (first != RandomSelector(10, random_state=1).fit(X).get_support()).any()


def test_budget_is_checked():
    with pytest.raises(ValueError, match="n_features_to_select=5 is larger"):
        RandomSelector(5).fit(np.ones((2, 4)))
    with pytest.raises(ValueError, match="n_features_to_select"):
        FeatureFrequencySelector(1.5).fit(np.ones((2, 4)))
