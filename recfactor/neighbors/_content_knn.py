"""ContentKNN: score a cold item by the users of its most similar items in feature space."""

from numbers import Integral, Real

import numpy as np
import scipy.sparse as sp
from sklearn.base import BaseEstimator, _fit_context
from sklearn.utils._param_validation import Interval, StrOptions

from ..base import ItemColdStartMixin

__all__ = ["ContentKNN"]


class ContentKNN(ItemColdStartMixin, BaseEstimator):
    """Item k-nearest neighbours on features, for cold items.

    A cold item's score for a user is the summed similarity of its ``n_neighbors`` most
    similar training items that the user interacted with (weighted by the interaction).
    Training items tied at the ``n_neighbors``-th similarity share the places left among
    them equally (the expected neighbourhood under a random choice), so item ids never
    decide who is a neighbour.
    This is the downstream model that the collaborative feature-selection paper
    (Sukhorukov, Gusak & Frolov, 2025) tunes on each selected feature subset. Samples are
    items: ``fit(X, y)`` takes item features and the item x user interactions.

    Parameters
    ----------
    n_neighbors : int, default=50
        Number of training items each cold item is compared with.
    similarity : {"cosine", "jaccard"}, default="cosine"
        ``<a, b> / (|a| |b| + shrink)`` or ``<a, b> / (|a|^2 + |b|^2 - <a, b> + shrink)``
        (the Jaccard index for binary features).
    shrink : float, default=0.0
        Added to the denominator, so that similarities resting on few shared features count
        less.

    Attributes
    ----------
    item_features_ : scipy.sparse.csr_matrix of shape (n_items, n_features)
    interactions_ : scipy.sparse.csr_matrix of shape (n_items, n_users)
    n_features_in_ : int

    Examples
    --------
    >>> from recfactor.datasets import make_item_features
    >>> from recfactor.neighbors import ContentKNN
    >>> F, Y = make_item_features(n_items=300, n_features=40, n_users=100, random_state=0)
    >>> model = ContentKNN(n_neighbors=20).fit(F[:250], Y[:250])
    >>> model.predict(F[250:]).shape
    (50, 100)
    >>> model.recommend(F[250:], k=5).shape
    (50, 5)
    """

    _parameter_constraints = {
        "n_neighbors": [Interval(Integral, 1, None, closed="left")],
        "similarity": [StrOptions({"cosine", "jaccard"})],
        "shrink": [Interval(Real, 0, None, closed="left")],
    }

    def __init__(self, n_neighbors=50, *, similarity="cosine", shrink=0.0):
        self.n_neighbors = n_neighbors
        self.similarity = similarity
        self.shrink = shrink

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y):
        """Store the training items' features and interactions.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_items, n_features)
            Item features.
        y : {array-like, sparse matrix} of shape (n_items, n_users)
            Interactions of the users with these items.

        Returns
        -------
        self : ContentKNN
        """
        X, self.interactions_ = self._validate_items(X, y)
        self.item_features_ = sp.csr_matrix(X, dtype=np.float64)
        self._squared_norms = _squared_row_norms(self.item_features_)
        return self

    def _similarities(self, X):
        """Similarities of the rows of ``X`` to the training items, all but the nearest
        ``n_neighbors`` of each row set to zero."""
        X = sp.csr_matrix(X, dtype=np.float64)
        dots = (X @ self.item_features_.T).toarray()
        squared = _squared_row_norms(X)[:, None]
        if self.similarity == "cosine":
            denominator = np.sqrt(squared * self._squared_norms) + self.shrink
        else:
            denominator = squared + self._squared_norms - dots + self.shrink
        similarity = np.divide(dots, denominator, out=np.zeros_like(dots),
                               where=denominator > 0)
        n_neighbors = min(self.n_neighbors, similarity.shape[1])
        if n_neighbors < similarity.shape[1]:
            similarity = _nearest(similarity, n_neighbors)
        return sp.csr_matrix(similarity)

    def _scores(self, X):
        return np.asarray((self._similarities(X) @ self.interactions_).todense())

    def _floats_per_item(self):
        # The dense similarities, their denominators, the partitioned copy, the masks and
        # the temporaries of the nearest (about six rows over the training items), then the
        # row of scores over the users.
        return 6 * self.item_features_.shape[0] + self.interactions_.shape[1]


def _nearest(similarity, n_neighbors):
    """Each row's ``n_neighbors`` largest similarities, the others set to zero.

    When several items tie at the boundary, each of them keeps the share of the places left
    (``places / tied``): the expected neighbourhood under a random choice among them. A
    choice by position would favour low item ids, which on real data are the older, more
    popular items, and carry their popularity into the scores.
    """
    boundary = -np.partition(-similarity, n_neighbors - 1, axis=1)[:, n_neighbors - 1:n_neighbors]
    above = similarity > boundary
    tied = similarity == boundary
    places = n_neighbors - above.sum(axis=1, keepdims=True)
    share = places / np.maximum(tied.sum(axis=1, keepdims=True), 1)
    return np.where(above, similarity, np.where(tied, similarity * share, 0.0))


def _squared_row_norms(X):
    return np.asarray(X.multiply(X).sum(axis=1)).ravel()
