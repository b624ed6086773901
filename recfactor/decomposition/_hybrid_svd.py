"""HybridSVD: an SVD of the interactions in a metric built from item features."""

from numbers import Integral, Real

import numpy as np
import scipy.sparse as sp
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
    truncated SVD ``R L = U Sigma V^T`` for a factor ``S = L L^T``. Only ``U`` and
    ``Sigma`` are needed, and they are the same for every factor, so
    :func:`weighted_svd` uses the sparse ``[sqrt(1 - alpha) I, sqrt(alpha) G]``: no Cholesky
    factor, and never the dense items x items similarity.

    A cold item is placed in the latent space by its features, as in the paper and its
    reference code (polara's ``HybridSVDItemColdStart``). The rows of ``L V`` (the
    items' side of the paper's folding-in projector ``L V (L^{-T} V)^T``), summed over the
    training items that have each feature, give ``W = F^T L V`` (n_features x rank), with
    ``F = X`` the features as passed (not scaled). A cold item with features ``f`` gets
    the latent vector ``v`` that explains its features best,

        ``v = argmin ||f - W v||^2 + lambda ||v||^2 = (W^T W + lambda I)^{-1} W^T f``,

    and its scores for the users are ``U Sigma v``. The paper's solution is
    ``lambda = 0``; here ``lambda = ridge * trace(W^T W) / rank``. Since
    ``L V Sigma = L L^T R^T U = S R^T U`` for every factor ``L`` of ``S``, ``W`` needs
    no Cholesky factor either: ``W = F^T S R^T U Sigma^{-1}``.

    So a cold item's embedding is ``f @ feature_factors_`` with ``feature_factors_ =
    W (W^T W + lambda I)^{-1} Sigma``, and its scores are that times ``user_factors_.T``.

    ``cold_start="similarity"`` is the former rule of this class, kept for comparison: it
    scores a cold item by the similarity-weighted sum of the training items' columns,
    projected on ``U``: ``U U^T R s`` with ``s = alpha G g`` (``g``: its scaled features).
    With a feature shared by most items, ``s`` is dominated by that feature and a cold
    item's scores follow its total similarity to the training items rather than its users
    (on MovieLens-100K, Spearman 0.95 with that total and an NDCG@10 no better than random
    scores; see the benchmarks page).

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
    ridge : float >= 0, default=0.01
        Shrinkage of the cold items' least-squares fit, relative to the mean eigenvalue of
        ``W^T W`` (0 is the paper's plain least squares). The default was chosen on the
        folds of one cross-validation seed of MovieLens-100K and confirmed on another's.
    cold_start : {"least-squares", "similarity"}, default="least-squares"
        How cold items are placed: the paper's least-squares fit of their features
        (above), or the former similarity-weighted reconstruction ``U U^T R s``.
    random_state : int, RandomState instance or None, default=None
        Seed of the Lanczos start vector.

    Attributes
    ----------
    user_factors_ : ndarray of shape (n_users, fitted rank)
        ``U``, the left singular vectors.
    singular_values_ : ndarray of shape (fitted rank,)
    feature_factors_ : ndarray of shape (n_features, fitted rank)
        Map from features to item embeddings: ``W (W^T W + lambda I)^{-1} Sigma`` (of the
        features as passed), or ``alpha G^T R^T U`` (of the scaled features) with
        ``cold_start="similarity"``. After ``set_params(rank=...)`` or
        ``set_params(ridge=...)``, predictions use the map recomputed from the first
        ``rank`` columns of ``W`` with the current ``ridge``; ``cold_start`` needs a refit.
    feature_loadings_ : ndarray of shape (n_features, fitted rank)
        ``W = F^T L V``: the training items' latent rows summed per feature (only with
        ``cold_start="least-squares"``).
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
        "ridge": [Interval(Real, 0, None, closed="left")],
        "cold_start": [StrOptions({"least-squares", "similarity"})],
        "random_state": ["random_state"],
    }

    def __init__(self, rank=64, *, alpha=0.5, similarity="cosine", ridge=0.01,
                 cold_start="least-squares", random_state=None):
        self.rank = rank
        self.alpha = alpha
        self.similarity = similarity
        self.ridge = ridge
        self.cold_start = cold_start
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
        items_by_users = np.asarray(R.T @ U)  # R^T U
        self._fitted_cold_start = self.cold_start
        if self.cold_start == "similarity":
            self.__dict__.pop("feature_loadings_", None)  # from an earlier least-squares fit
            self.feature_factors_ = self.alpha * np.asarray(G.T @ items_by_users)
            return self
        # S R^T U = L V Sigma, with S = (1 - alpha) I + alpha G G^T
        latent = ((1 - self.alpha) * items_by_users
                  + self.alpha * np.asarray(G @ (G.T @ items_by_users)))
        self.feature_loadings_ = np.asarray(sp.csr_matrix(X, dtype=np.float64).T @ latent)
        self.feature_loadings_ /= np.where(self.singular_values_ > 0,
                                           self.singular_values_, 1.0)
        self.feature_factors_ = self._feature_map(U.shape[1])
        return self

    def transform(self, X):
        """Embed items by their features: ``X @ feature_factors_`` (``scaled(X) @
        feature_factors_`` with ``cold_start="similarity"``).

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

    def _feature_map(self, rank):
        """``W (W^T W + lambda I)^{-1} Sigma`` for the first ``rank`` components."""
        W = self.feature_loadings_[:, :rank]
        gram = W.T @ W
        shift = self.ridge * np.trace(gram) / rank
        # W^T W + lambda I is symmetric: (W^T W + lambda I)^{-1} W^T, transposed
        solved = np.linalg.lstsq(gram + shift * np.eye(rank), W.T, rcond=None)[0].T
        return solved * self.singular_values_[:rank]

    def _embed(self, X):
        rank = self._components()
        if self.cold_start != self._fitted_cold_start:
            raise ValueError(
                f"cold_start={self.cold_start!r} differs from the {self._fitted_cold_start!r} "
                "the model was fitted with, whose factors it needs; refit after changing it."
            )
        if self.cold_start == "similarity":
            return np.asarray(scaled_rows(X, self.similarity) @
                              self.feature_factors_[:, :rank])
        # A rank-by-rank solve: cheap, and it follows set_params(rank=..., ridge=...).
        return np.asarray(sp.csr_matrix(X, dtype=np.float64) @ self._feature_map(rank))

    def _scores(self, X):
        return self._embed(X) @ self.user_factors_[:, :self._components()].T

    def _floats_per_item(self):
        return self.user_factors_.shape[0]
