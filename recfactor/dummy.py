"""Baselines that every recommender must beat."""

import numpy as np
from sklearn.base import BaseEstimator

from .base import UserRecommenderMixin
from .utils import check_interactions

__all__ = ["PopularityRecommender"]


class PopularityRecommender(UserRecommenderMixin, BaseEstimator):
    """Recommend the items that most users interacted with.

    The same ranking for everyone (minus what each user has seen): the reference point of
    every comparison, since a personalised model that cannot beat it has learned nothing
    useful. Samples are users: ``X`` is a user x item matrix.

    Attributes
    ----------
    item_popularity_ : ndarray of shape (n_items,)
        Number of users who interacted with each item.
    n_features_in_ : int
        Number of items.

    Examples
    --------
    >>> import numpy as np
    >>> from recfactor.dummy import PopularityRecommender
    >>> X = np.array([[1, 1, 0, 0], [0, 1, 1, 0], [0, 1, 1, 1], [1, 1, 1, 0]])
    >>> model = PopularityRecommender().fit(X)
    >>> model.item_popularity_
    array([2., 4., 3., 1.])
    >>> model.recommend(X[:3], k=2)
    array([[ 2,  3],
           [ 0,  3],
           [ 0, -1]])

    Items equally popular are listed in random order (seeded, so the same call gives the same
    lists), never by id: see :func:`recfactor.metrics.top_k`.
    """

    def fit(self, X, y=None):
        """Count the users of each item.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_users, n_items)
            Interactions; only which entries are non-zero matters.
        y : None
            Ignored.

        Returns
        -------
        self : PopularityRecommender
        """
        X = check_interactions(X, estimator=self)
        self.item_popularity_ = np.bincount(X.indices, minlength=X.shape[1]).astype(np.float64)
        return self

    def _factors(self, X):
        # Popularity is the rank-one model: every user weighs the popularity axis by one.
        return np.ones((X.shape[0], 1)), self.item_popularity_[:, None]
