"""What every recfactor feature selector shares: a ranking of the features, and a budget."""

from numbers import Integral, Real

import numpy as np
from sklearn.base import BaseEstimator, _fit_context
from sklearn.feature_selection import SelectorMixin
from sklearn.utils._param_validation import Interval
from sklearn.utils.validation import check_is_fitted, validate_data


class _RankingSelector(SelectorMixin, BaseEstimator):
    """Keep the first ``n_features_to_select`` features of ``ranking_``.

    A subclass implements ``_rank(X, y, n_to_rank)``, returning at least ``n_to_rank``
    feature indices, best first. One fit serves every smaller budget: the selection of
    ``m`` features is ``ranking_[:m]``.
    """

    _parameter_constraints = {
        "n_features_to_select": [
            Interval(Integral, 1, None, closed="left"),
            Interval(Real, 0, 1, closed="right"),
        ],
    }

    def __init__(self, n_features_to_select=0.1):
        self.n_features_to_select = n_features_to_select

    def _n_to_select(self, n_features):
        n = self.n_features_to_select
        if isinstance(n, Integral):
            if n > n_features:
                raise ValueError(
                    f"n_features_to_select={n} is larger than the number of features, "
                    f"{n_features}."
                )
            return int(n)
        return max(1, int(round(n * n_features)))

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None):
        """Rank the features of ``X`` and keep the first ``n_features_to_select``.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
        y : None
            Ignored.

        Returns
        -------
        self : object
        """
        return self._fit_ranking(X, y)

    def _fit_ranking(self, X, y=None):
        """Validate ``X``, rank its features and record the budget."""
        X = validate_data(self, X, accept_sparse="csr", dtype=(np.float64, np.float32))
        self.n_features_ = self._n_to_select(X.shape[1])
        self.ranking_ = np.asarray(self._rank(X, y, self.n_features_), dtype=np.int64)
        return self

    def _get_support_mask(self):
        check_is_fitted(self)
        mask = np.zeros(self.n_features_in_, dtype=bool)
        mask[self.ranking_[:self.n_features_]] = True
        return mask

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        return tags
