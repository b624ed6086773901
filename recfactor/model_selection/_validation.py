"""Cross-validation that accepts a sparse ``y``, such as the item x user interactions.

scikit-learn's ``cross_validate`` and ``cross_val_score`` check that ``y`` is "array-like",
and scipy.sparse matrices are not, although ``GridSearchCV`` and every step after the check
handle them. These wrappers hand scikit-learn a view of the sparse ``y`` that passes the
check and gives back sparse rows when a fold indexes it, so the estimator is fitted and
scored on CSR interactions, never on a dense copy.
"""

import scipy.sparse as sp
from sklearn import model_selection

__all__ = ["cross_val_score", "cross_validate"]


class _SparseRows:
    """A sparse matrix seen as a sequence of rows: indexing it gives CSR rows back."""

    def __init__(self, matrix):
        self.matrix = matrix.tocsr()

    @property
    def shape(self):
        return self.matrix.shape

    def __len__(self):
        return self.matrix.shape[0]

    def __getitem__(self, key):
        # scikit-learn indexes rows as ``y[indices, ...]``.
        if isinstance(key, tuple):
            key = key[0]
        return self.matrix[key]


def _as_indexable_targets(y):
    return _SparseRows(y) if sp.issparse(y) else y


def cross_validate(estimator, X, y=None, **kwargs):
    """:func:`sklearn.model_selection.cross_validate` that also takes a sparse ``y``.

    With the cold-start models (``HybridSVD``, ``ContentKNN``, a pipeline ending in one),
    samples are items, ``X`` their features and ``y`` their interactions with the users; a
    fold over items holds out cold items, scored by the estimator's ``score`` (NDCG@10 of
    each user's ranking of the held-out items) or by ``scoring=``. Each fold's estimator gets
    its rows of ``y`` as a CSR matrix. Any other ``y`` goes to scikit-learn unchanged.

    Parameters
    ----------
    estimator : estimator object
        Fitted on each training fold.
    X : {array-like, sparse matrix} of shape (n_samples, n_features)
        The samples.
    y : {array-like, sparse matrix} of shape (n_samples, n_outputs), default=None
        The targets; a sparse matrix stays sparse.
    **kwargs : dict
        Every other argument of :func:`sklearn.model_selection.cross_validate` (``cv``,
        ``scoring``, ``n_jobs``, ``return_estimator``...).

    Returns
    -------
    scores : dict of ndarray
        As :func:`sklearn.model_selection.cross_validate` returns them.

    Examples
    --------
    >>> from sklearn.model_selection import KFold
    >>> from recfactor.datasets import make_item_features
    >>> from recfactor.decomposition import HybridSVD
    >>> from recfactor.model_selection import cross_validate
    >>> features, interactions = make_item_features(n_items=120, n_users=80, random_state=0)
    >>> result = cross_validate(HybridSVD(rank=8), features, interactions,
    ...                         cv=KFold(3, shuffle=True, random_state=0))
    >>> result["test_score"].shape  # cold-item NDCG@10 of each fold
    (3,)
    """
    return model_selection.cross_validate(estimator, X, _as_indexable_targets(y), **kwargs)


def cross_val_score(estimator, X, y=None, **kwargs):
    """:func:`sklearn.model_selection.cross_val_score` that also takes a sparse ``y``.

    See :func:`cross_validate` for how a sparse ``y`` is passed to each fold.

    Parameters
    ----------
    estimator : estimator object
        Fitted on each training fold.
    X : {array-like, sparse matrix} of shape (n_samples, n_features)
        The samples.
    y : {array-like, sparse matrix} of shape (n_samples, n_outputs), default=None
        The targets; a sparse matrix stays sparse.
    **kwargs : dict
        Every other argument of :func:`sklearn.model_selection.cross_val_score`.

    Returns
    -------
    scores : ndarray of shape (n_splits,)
        The score of each fold.

    Examples
    --------
    >>> from sklearn.model_selection import KFold
    >>> from recfactor.datasets import make_item_features
    >>> from recfactor.decomposition import HybridSVD
    >>> from recfactor.model_selection import cross_val_score
    >>> features, interactions = make_item_features(n_items=120, n_users=80, random_state=0)
    >>> cross_val_score(HybridSVD(rank=8), features, interactions, cv=3).shape
    (3,)
    """
    return model_selection.cross_val_score(estimator, X, _as_indexable_targets(y), **kwargs)
