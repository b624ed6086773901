"""Behaviour shared by recfactor estimators of one data family."""

import numpy as np
from sklearn.utils.validation import check_is_fitted

from .metrics import make_ranking_scorer, top_k
from .metrics._validation import _check_k
from .utils import check_interactions

__all__ = ["UserRecommenderMixin"]


class UserRecommenderMixin:
    """``predict``, ``recommend`` and ``score`` for models whose samples are users.

    A subclass implements ``_factors(X)``, returning ``(user_factors, item_factors)`` for the
    validated CSR rows ``X`` such that ``user_factors @ item_factors.T`` are the scores of every
    item for those users. Top-k selection then runs block by block, so the dense
    users x items score matrix is never formed.
    """

    def _validated_rows(self, X):
        check_is_fitted(self)
        return check_interactions(X, estimator=self, reset=False, allow_empty=True)

    def predict(self, X):
        """Score every item for every user of ``X``.

        Dense, of shape (n_users, n_items): use :meth:`recommend` on large catalogues.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_users, n_items)
            The users' interactions.

        Returns
        -------
        scores : ndarray of shape (n_users, n_items)
        """
        user_factors, item_factors = self._factors(self._validated_rows(X))
        return np.asarray(user_factors @ item_factors.T)

    def recommend(self, X, k=10, exclude_seen=True):
        """Top-k items for each user of ``X``, best first.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_users, n_items)
            The users' interactions; users unseen in ``fit`` are folded in.
        k : int, default=10
            Number of items per user.
        exclude_seen : bool, default=True
            Never recommend an item the user has interacted with in ``X``.

        Returns
        -------
        items : ndarray of shape (n_users, k) of int64
            Item ids; -1 pads rows with fewer than ``k`` items left to recommend.
        """
        k = _check_k(k)
        X = self._validated_rows(X)
        user_factors, item_factors = self._factors(X)
        return top_k(
            user_factors, k, item_factors=item_factors, exclude=X if exclude_seen else None
        )

    def score(self, X, y=None):
        """NDCG@10 under the fold-in protocol.

        Each user's row is split by :func:`recfactor.model_selection.fold_in_split` with
        ``holdout=0.2`` and ``random_state=0`` (so every model is scored on the same split):
        the model recommends 10 unseen items from the visible part, judged against the
        hidden part with binary relevance (an interaction is relevant whatever its weight).
        Users with nothing hidden (a single interaction) are left out. This is
        ``make_ranking_scorer("ndcg", 10, protocol="fold-in")``; other metrics and list
        lengths are a ``scoring=`` away in ``GridSearchCV``.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_users, n_items)
            Test users' interactions.
        y : None
            Ignored.

        Returns
        -------
        score : float
            Mean NDCG@10, higher is better.
        """
        return make_ranking_scorer("ndcg", 10, protocol="fold-in")(self, self._validated_rows(X))

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        tags.input_tags.positive_only = True
        return tags
