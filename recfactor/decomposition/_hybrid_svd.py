"""HybridSVD: an SVD of the interactions in a metric built from item features."""

from numbers import Integral, Real

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin, _fit_context
from sklearn.utils._param_validation import Interval, StrOptions

from ..base import ItemColdStartMixin
from ._weighted_svd import identity_plus_gram_factor, scaled_rows, weighted_svd

__all__ = ["HybridSVD"]


class HybridSVD(ItemColdStartMixin, TransformerMixin, BaseEstimator):
    """HybridSVD for cold items (Frolov & Oseledets, RecSys 2019).

    Samples are items: ``fit(X, y)`` takes item features ``X`` and the item x user
    interactions ``y``. With ``R = y.T`` and the item similarity ``S = (1 - alpha) I +
    alpha Z``, where ``Z = G G^T`` compares the items' feature rows ``G``, the model is the
    truncated SVD ``R L = U Sigma W^T`` for a factor ``S = L L^T``. Only ``U`` and
    ``Sigma`` are needed, and they are the same for every factor, so
    :func:`weighted_svd` uses the sparse ``[sqrt(1 - alpha) I, sqrt(alpha) G]``: no Cholesky
    factor, and never the dense items x items similarity.

    A cold item is scored through its similarity ``s`` to the training items: HybridSVD
    reconstructs the training items' columns as ``U U^T R`` and the cold item gets
    the same combination of them as of its neighbours, ``U U^T R s`` with
    ``s = alpha G g`` (``g``: its scaled features). So a cold item's embedding is
    ``g @ feature_factors_`` and its scores are that times ``user_factors_.T``.

    Parameters
    ----------
    rank : int, default=64
        Number of singular vectors. The components are nested, so a fitted model predicts
        with any smaller ``rank`` after ``set_params(rank=...)``, without refitting.
    alpha : float in (0, 1], default=0.5
        Weight of the feature similarity against the identity (``alpha`` near 0 is
        PureSVD, whose cold items would all score 0).
    similarity : {"cosine", "gram"}, default="cosine"
        ``Z``: cosine similarity of the feature rows, or their inner products divided by the
        largest one.
    random_state : int, RandomState instance or None, default=None
        Seed of the Lanczos start vector.

    Attributes
    ----------
    user_factors_ : ndarray of shape (n_users, fitted rank)
        ``U``, the left singular vectors.
    singular_values_ : ndarray of shape (fitted rank,)
    feature_factors_ : ndarray of shape (n_features, fitted rank)
        Map from scaled features to item embeddings: ``alpha G^T R^T U``.
    n_features_in_ : int

    Examples
    --------
    >>> from recfactor.datasets import make_item_features
    >>> from recfactor.decomposition import HybridSVD
    >>> F, Y = make_item_features(n_items=300, n_features=40, n_users=100, random_state=0)
    >>> model = HybridSVD(rank=10, random_state=0).fit(F[:250], Y[:250])
    >>> model.predict(F[250:]).shape  # scores of the 100 users for the 50 cold items
    (50, 100)
    >>> model.recommend(F[250:], k=3).shape
    (50, 3)
    >>> model.transform(F[250:]).shape  # the cold items' embeddings
    (50, 10)
    """

    _parameter_constraints = {
        "rank": [Interval(Integral, 1, None, closed="left")],
        "alpha": [Interval(Real, 0, 1, closed="right")],
        "similarity": [StrOptions({"cosine", "gram"})],
        "random_state": ["random_state"],
    }

    def __init__(self, rank=64, *, alpha=0.5, similarity="cosine", random_state=None):
        self.rank = rank
        self.alpha = alpha
        self.similarity = similarity
        self.random_state = random_state

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y):
        """Factorise the interactions ``y.T`` in the metric of the item features ``X``.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_items, n_features)
            Item features.
        y : {array-like, sparse matrix} of shape (n_items, n_users)
            Interactions of the users with these items.

        Returns
        -------
        self : HybridSVD
        """
        X, Y = self._validate_items(X, y)
        R = Y.T.tocsr()
        G = scaled_rows(X, self.similarity)
        if self.rank > min(R.shape[0], R.shape[1] + G.shape[1]):
            raise ValueError(
                f"rank={self.rank} is larger than the number of users, {R.shape[0]}."
            )
        U, self.singular_values_, _ = weighted_svd(
            R, self.rank, right_weight=identity_plus_gram_factor(G, self.alpha),
            random_state=self.random_state,
        )
        self.user_factors_ = U
        self.feature_factors_ = self.alpha * np.asarray((R @ G).T @ U)
        return self

    def transform(self, X):
        """Embed items by their features: ``scaled(X) @ feature_factors_``.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_items, n_features)

        Returns
        -------
        item_factors : ndarray of shape (n_items, rank)
        """
        return self._embed(self._validate_items(X, reset=False))

    def _components(self):
        fitted = self.user_factors_.shape[1]
        if self.rank > fitted:
            raise ValueError(
                f"rank={self.rank} exceeds the rank {fitted} the model was fitted with; "
                "refit to predict with more components."
            )
        return self.rank

    def _embed(self, X):
        return np.asarray(scaled_rows(X, self.similarity) @
                          self.feature_factors_[:, :self._components()])

    def _scores(self, X):
        return self._embed(X) @ self.user_factors_[:, :self._components()].T

    def _floats_per_item(self):
        return self.user_factors_.shape[0]
