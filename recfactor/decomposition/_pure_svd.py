"""PureSVD: the truncated SVD of the interaction matrix as a recommender."""

from numbers import Integral

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin, _fit_context
from sklearn.utils._param_validation import Interval

from ..base import UserRecommenderMixin
from ..utils import check_interactions
from ._weighted_svd import weighted_svd

__all__ = ["PureSVD"]


class PureSVD(UserRecommenderMixin, TransformerMixin, BaseEstimator):
    """Truncated SVD of the user x item matrix (Cremonesi, Koren & Turrin, RecSys 2010).

    With ``X ~ U S V^T`` the scores of a user row ``x`` are ``x V V^T``: a user is folded in
    by projection, so users unseen in ``fit`` need no refit. Samples are users. The SVD is
    exact (ARPACK on the sparse matrix), with signs fixed so that results are reproducible.

    Parameters
    ----------
    rank : int, default=64
        Number of singular vectors kept; at most ``min(n_users, n_items)``.
    random_state : int, RandomState instance or None, default=None
        Seed of the start vector of the Lanczos iterations (ARPACK).

    Attributes
    ----------
    item_factors_ : ndarray of shape (n_items, rank)
        Right singular vectors ``V``.
    singular_values_ : ndarray of shape (rank,)
        In decreasing order.
    n_features_in_ : int
        Number of items.

    Examples
    --------
    >>> from recfactor.datasets import make_interactions
    >>> from recfactor.decomposition import PureSVD
    >>> X = make_interactions(n_users=100, n_items=50, random_state=0)
    >>> model = PureSVD(rank=5, random_state=0).fit(X)
    >>> model.transform(X).shape
    (100, 5)
    >>> model.recommend(X[:2], k=3).shape
    (2, 3)
    """

    _parameter_constraints = {
        "rank": [Interval(Integral, 1, None, closed="left")],
        "random_state": ["random_state"],
    }

    def __init__(self, rank=64, *, random_state=None):
        self.rank = rank
        self.random_state = random_state

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None):
        """Compute the leading singular vectors of ``X``.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_users, n_items)
            Interactions.
        y : None
            Ignored.

        Returns
        -------
        self : PureSVD
        """
        X = check_interactions(X, estimator=self)
        if self.rank > min(X.shape):
            raise ValueError(
                f"rank={self.rank} is larger than min(n_users, n_items) = {min(X.shape)} of X."
            )
        _, self.singular_values_, vt = weighted_svd(X, self.rank, random_state=self.random_state)
        self.item_factors_ = np.ascontiguousarray(vt.T)
        return self

    def transform(self, X):
        """Embed users by projection onto the item factors: ``X V``.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_users, n_items)
            Interactions of known or new users.

        Returns
        -------
        user_factors : ndarray of shape (n_users, rank)
        """
        return np.asarray(self._validated_rows(X) @ self.item_factors_)

    def _factors(self, X):
        return np.asarray(X @ self.item_factors_), self.item_factors_
