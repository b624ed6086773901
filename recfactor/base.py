"""Behaviour shared by recfactor estimators of one data family."""

import numpy as np
import scipy.sparse as sp
from sklearn.utils.validation import check_is_fitted, validate_data

from .metrics import make_ranking_scorer, top_k
from .metrics._top_k import _top_k
from .utils import check_interactions
from .utils._blocks import row_blocks, rows_per_block
from .utils._validation import _check_item_targets, _check_k

__all__ = ["ItemColdStartMixin", "UserRecommenderMixin"]


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
            Item ids; -1 pads rows with fewer than ``k`` items left to recommend. Items
            scored alike are listed in a random order, seeded and drawn for each row's
            position in ``X`` (:func:`~recfactor.metrics.top_k`), never by item id.
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


class ItemColdStartMixin:
    """``predict``, ``recommend`` and ``score`` for models whose samples are items.

    ``X`` holds item features (dense or CSR) and ``y`` the item x user interactions, so items
    held out of ``fit`` are cold items. A subclass implements ``_scores(X)``: the dense
    scores of every training user for each (validated) item row of ``X``, and
    ``_floats_per_item()``: how many floats ``_scores`` holds at once for one such row, which
    sizes the blocks of :meth:`recommend`.
    """

    def _validate_items(self, X, y=None, *, reset=True):
        """Validated features and, in ``fit``, the item x user interactions as CSR.

        A 1-D ``y`` is the interactions of a single user with each item; ``predict`` then
        returns one score per item, as scikit-learn's multi-output models do.
        """
        if not reset:
            check_is_fitted(self)
            return validate_data(self, X, reset=False, accept_sparse="csr",
                                 dtype=(np.float64, np.float32))
        if y is None:
            raise ValueError(
                f"{type(self).__name__} requires y to be passed, but the target y is None: y "
                "is the item x user interaction matrix, one row per item of X."
            )
        X = validate_data(self, X, accept_sparse="csr", dtype=(np.float64, np.float32))
        self._single_user = not sp.issparse(y) and np.ndim(np.asarray(y)) == 1
        Y = _check_item_targets(y, X.shape[0])
        if Y.nnz == 0:
            raise ValueError("y stores no interaction: there is nothing to learn from.")
        return X, Y

    def predict(self, X):
        """Score every training user for each item of ``X``.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_items, n_features)
            Features of (cold) items.

        Returns
        -------
        scores : ndarray of shape (n_items, n_users)
            Of shape (n_items,) when ``y`` in ``fit`` was 1-D.
        """
        scores = self._scores(self._validate_items(X, reset=False))
        return scores.ravel() if self._single_user else scores

    def recommend(self, X, k=10):
        """The ``k`` users most likely to interact with each item of ``X``, best first.

        Cold items have no interactions, so there is nothing seen to exclude.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_items, n_features)
            Features of (cold) items.
        k : int, default=10
            Number of users per item.

        Returns
        -------
        users : ndarray of shape (n_items, k) of int64
            User ids (rows of the ``y`` seen in ``fit``). Users scored alike are listed in a
            random order, seeded and drawn for each row's position in ``X``
            (:func:`~recfactor.metrics.top_k`): a cold item with no feature scores every
            user alike, so it gets users at random.
        """
        k = _check_k(k)
        X = self._validate_items(X, reset=False)
        # Blocks of a bounded number of scores: a million users and a thousand cold items
        # would otherwise be 8 GB of scores at once.
        return np.vstack([_top_k(self._scores(X[rows]), k, first_row=rows.start)
                          for rows in row_blocks(X.shape[0],
                                                 rows_per_block(self._floats_per_item()))])

    def score(self, X, y):
        """NDCG@10 of cold items, ranked for each user.

        ``predict(X)`` scores every user for the items of ``X``; each user with an interaction
        in ``y`` gets the 10 best of these items, judged against ``y`` with binary
        relevance. This is ``make_ranking_scorer("ndcg", 10, protocol="cold-start")``.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_items, n_features)
            Features of items unseen in ``fit``.
        y : {array-like, sparse matrix} of shape (n_items, n_users)
            Their interactions with the users of ``fit``.

        Returns
        -------
        score : float
            Mean NDCG@10 over the users with an interaction in ``y``.
        """
        return make_ranking_scorer("ndcg", 10, protocol="cold-start")(self, X, y)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        tags.target_tags.required = True
        tags.target_tags.positive_only = True
        return tags
