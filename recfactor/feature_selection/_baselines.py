"""Baseline selectors that a feature-selection method has to beat."""

import numpy as np
from sklearn.utils.validation import check_random_state

from ._base import _RankingSelector

__all__ = ["FeatureFrequencySelector", "RandomSelector"]


class RandomSelector(_RankingSelector):
    """Keep features drawn at random: the floor every selector must clear.

    Parameters
    ----------
    n_features_to_select : int or float, default=0.1
        Number of features to keep, or their share when a float in (0, 1].
    random_state : int, RandomState instance or None, default=None
        Seed of the draw.

    Attributes
    ----------
    ranking_ : ndarray of shape (n_features,)
        A random order of all the features.
    n_features_ : int
        Number of features kept.
    n_features_in_ : int
        Number of features seen in ``fit``.

    Examples
    --------
    >>> import numpy as np
    >>> from recfactor.feature_selection import RandomSelector
    >>> X = np.arange(20.0).reshape(2, 10)
    >>> RandomSelector(3, random_state=0).fit_transform(X).shape
    (2, 3)
    """

    _parameter_constraints = {
        **_RankingSelector._parameter_constraints,
        "random_state": ["random_state"],
    }

    def __init__(self, n_features_to_select=0.1, *, random_state=None):
        super().__init__(n_features_to_select)
        self.random_state = random_state

    def _rank(self, X, y, n_to_rank):
        return check_random_state(self.random_state).permutation(X.shape[1])


class FeatureFrequencySelector(_RankingSelector):
    """Keep the features present in the most (or the fewest) samples.

    Frequent features describe many items but tell them apart poorly; rare ones do the
    opposite. Both are natural baselines for cold-start feature selection.

    Parameters
    ----------
    n_features_to_select : int or float, default=0.1
        Number of features to keep, or their share when a float in (0, 1].
    rarest : bool, default=False
        Keep the rarest features instead of the most frequent.

    Attributes
    ----------
    ranking_ : ndarray of shape (n_features,)
        All features by decreasing frequency (increasing with ``rarest=True``); ties by
        increasing index.
    frequencies_ : ndarray of shape (n_features,)
        Number of samples with a non-zero value of each feature.
    n_features_ : int
    n_features_in_ : int
        Number of features seen in ``fit``.

    Examples
    --------
    >>> import numpy as np
    >>> from recfactor.feature_selection import FeatureFrequencySelector
    >>> X = np.array([[1, 0, 1], [1, 0, 0], [1, 1, 0]])
    >>> FeatureFrequencySelector(1).fit(X).get_support()
    array([ True, False, False])
    >>> FeatureFrequencySelector(1, rarest=True).fit(X).get_support()
    array([False,  True, False])
    """

    _parameter_constraints = {
        **_RankingSelector._parameter_constraints,
        "rarest": ["boolean"],
    }

    def __init__(self, n_features_to_select=0.1, *, rarest=False):
        super().__init__(n_features_to_select)
        self.rarest = rarest

    def _rank(self, X, y, n_to_rank):
        self.frequencies_ = np.asarray((X != 0).sum(axis=0)).ravel()
        return np.argsort(self.frequencies_ if self.rarest else -self.frequencies_,
                          kind="stable")
