"""Feature selection by rectangular maxvol over a spectral embedding of the features."""

from numbers import Integral, Real

import numpy as np
import scipy.sparse as sp
from sklearn.base import _fit_context
from sklearn.utils._param_validation import Interval, StrOptions

from ..decomposition._weighted_svd import identity_plus_gram_factor, scaled_rows, weighted_svd
from ..utils._validation import _check_item_targets
from ._base import _RankingSelector
from ._maxvol import rect_maxvol

__all__ = ["CollaborativeMaxVolSelector", "MaxVolSelector"]


class _MaxVolRanking(_RankingSelector):
    """Rank features by rectangular maxvol over their ``rank``-dimensional embedding."""

    _parameter_constraints = {
        **_RankingSelector._parameter_constraints,
        "rank": [Interval(Integral, 1, None, closed="left")],
        "random_state": ["random_state"],
    }

    def _rank_embedding(self, embedding, n_to_rank):
        """``n_to_rank`` features (rows of ``embedding``) in the order maxvol picks them.

        Maxvol picks at least as many rows as the embedding has dimensions, and the order of
        those first picks means little; so a budget below ``rank`` is chosen by square
        maxvol on the leading ``n_to_rank`` dimensions, which are the embedding of that rank.
        """
        embedding = embedding[:, :min(n_to_rank, embedding.shape[1])]
        pivots, _ = rect_maxvol(embedding, min_rows=n_to_rank, max_rows=n_to_rank)
        return pivots

    def _check_rank(self, n_samples, n_features):
        if self.rank > min(n_samples, n_features):
            raise ValueError(
                f"rank={self.rank} is larger than min(n_samples, n_features) = "
                f"{min(n_samples, n_features)}; the feature embedding would be rank-deficient."
            )


class MaxVolSelector(_MaxVolRanking):
    """Keep the features that span the data best: maxvol over its right singular vectors.

    Unsupervised: the truncated SVD ``X ~ U S V^T`` embeds each feature as a row of ``V``,
    and rectangular maxvol (Mikhalev & Oseledets, 2018) picks the rows that span the largest
    volume, i.e. features that are representative and not redundant.

    Parameters
    ----------
    n_features_to_select : int or float, default=0.1
        Number of features to keep, or their share when a float in (0, 1].
    rank : int, default=64
        Dimension of the feature embedding; at most ``min(n_samples, n_features)``. Keep it
        at most the budget: maxvol selects as many features as dimensions.
    random_state : int, RandomState instance or None, default=None
        Seed of the Lanczos start vector of the SVD.

    Attributes
    ----------
    ranking_ : ndarray of shape (n_features_kept,)
        Features in the order maxvol chose them; ``ranking_[:m]`` is the selection of ``m``
        features for any ``m`` from ``rank`` up to ``n_features_``.
    components_ : ndarray of shape (rank, n_features)
        The feature embedding: right singular vectors of ``X``.
    n_features_ : int
        Number of features kept.
    n_features_in_ : int
        Number of features seen in ``fit``.

    Examples
    --------
    >>> from recfactor.datasets import make_item_features
    >>> from recfactor.feature_selection import MaxVolSelector
    >>> F, _ = make_item_features(n_items=200, n_features=50, random_state=0)
    >>> MaxVolSelector(10, rank=5, random_state=0).fit_transform(F).shape
    (200, 10)
    """

    def __init__(self, n_features_to_select=0.1, *, rank=64, random_state=None):
        super().__init__(n_features_to_select)
        self.rank = rank
        self.random_state = random_state

    def _rank(self, X, y, n_to_rank):
        self._check_rank(*X.shape)
        _, _, self.components_ = weighted_svd(X, self.rank, random_state=self.random_state)
        return self._rank_embedding(self.components_.T, n_to_rank)


class CollaborativeMaxVolSelector(_MaxVolRanking):
    """Keep the item features that best explain who interacts with the items.

    "Maximum Impact with Fewer Features" (Sukhorukov, Gusak & Frolov, 2025). Samples are
    items: ``fit(X, y)`` takes the item features ``F = X`` and the item x user interactions
    ``y``. With ``R = y.T`` and item popularity ``pop`` (users per item), the
    popularity-reweighted interactions ``W = R diag(max(pop, 1) ** popularity_degree)`` give
    the collaborative item similarity ``Z`` (``"gram"``: ``W^T W / max(W^T W)``;
    ``"cosine"``: the cosine of the columns of ``W``), and ``S = (1 - alpha) I + alpha Z``.
    The features are embedded by the leading right singular vectors of ``L^T F``, where
    ``S = L L^T``, and ranked by rectangular maxvol.

    Neither ``S`` nor a Cholesky factor is formed: the right singular vectors of ``L^T F``
    are those of any ``M`` with ``M^T M = F^T S F``, and
    ``M = [sqrt(1 - alpha) F; sqrt(alpha) G^T F]`` with ``Z = G G^T`` is as sparse as the
    data (:func:`recfactor.decomposition.weighted_svd`). So it scales to tens of thousands
    of items and features.

    Parameters
    ----------
    n_features_to_select : int or float, default=0.1
        Number of features to keep, or their share when a float in (0, 1]. The paper keeps
        5-20 %.
    rank : int, default=64
        Dimension of the feature embedding (the paper uses 64-400); at most the number of
        features. Keep it at most the budget: maxvol selects as many features as
        dimensions.
    alpha : float in [0, 1], default=0.3
        Weight of the collaborative similarity; ``alpha=0`` ignores the interactions and is
        :class:`MaxVolSelector` on ``X``.
    popularity_degree : float, default=1.0
        Exponent of the item popularity weights.
    similarity : {"gram", "cosine"}, default="gram"
        How ``Z`` is computed from ``W``.
    random_state : int, RandomState instance or None, default=None
        Seed of the Lanczos start vector of the SVD.

    Attributes
    ----------
    ranking_ : ndarray of shape (n_features_kept,)
        Features in the order maxvol chose them; ``ranking_[:m]`` is the selection of ``m``
        features for any ``m`` from ``rank`` up to ``n_features_``, so one fit with the
        largest budget serves every smaller one down to ``rank``. A budget below ``rank``
        is selected by square maxvol on the leading ``n_features_to_select`` dimensions of
        the embedding.
    components_ : ndarray of shape (rank, n_features)
        The feature embedding: right singular vectors of ``L^T F``.
    n_features_ : int
        Number of features kept.
    n_features_in_ : int
        Number of features seen in ``fit``.

    Examples
    --------
    >>> from recfactor.datasets import make_item_features
    >>> from recfactor.feature_selection import CollaborativeMaxVolSelector
    >>> F, Y = make_item_features(n_items=300, n_features=60, n_users=200, random_state=0)
    >>> selector = CollaborativeMaxVolSelector(10, rank=8, random_state=0).fit(F, Y)
    >>> selector.transform(F).shape
    (300, 10)
    >>> selector.ranking_[:3]
    array([...])
    """

    _parameter_constraints = {
        **_MaxVolRanking._parameter_constraints,
        "alpha": [Interval(Real, 0, 1, closed="both")],
        "popularity_degree": [Interval(Real, None, None, closed="neither")],
        "similarity": [StrOptions({"gram", "cosine"})],
    }

    def __init__(self, n_features_to_select=0.1, *, rank=64, alpha=0.3, popularity_degree=1.0,
                 similarity="gram", random_state=None):
        super().__init__(n_features_to_select)
        self.rank = rank
        self.alpha = alpha
        self.popularity_degree = popularity_degree
        self.similarity = similarity
        self.random_state = random_state

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y):
        """Rank the item features ``X`` by how well they explain the interactions ``y``.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_items, n_features)
            Item features.
        y : {array-like, sparse matrix} of shape (n_items, n_users)
            Interactions of the users with these items (a 1-D ``y`` is one user).

        Returns
        -------
        self : CollaborativeMaxVolSelector
        """
        if y is None:
            raise ValueError(
                "CollaborativeMaxVolSelector requires y to be passed, but the target y is "
                "None: y is the item x user interaction matrix, one row per item of X."
            )
        return self._fit_ranking(X, y)

    def _rank(self, X, y, n_to_rank):
        Y = _check_item_targets(y, X.shape[0])
        if self.rank > X.shape[1]:
            raise ValueError(f"rank={self.rank} is larger than the number of features, "
                             f"{X.shape[1]}.")
        popularity = np.maximum(np.diff(Y.indptr), 1).astype(np.float64)
        weighted = sp.diags(popularity ** self.popularity_degree) @ Y  # W^T, items x users
        factor = identity_plus_gram_factor(scaled_rows(weighted, self.similarity), self.alpha)
        _, _, self.components_ = weighted_svd(X, self.rank, left_weight=factor,
                                              random_state=self.random_state)
        return self._rank_embedding(self.components_.T, n_to_rank)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.required = True
        tags.target_tags.positive_only = True
        return tags
