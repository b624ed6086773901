"""Fold-in: split each user's row into what a model sees and what it must find."""

import numbers

import numpy as np
import scipy.sparse as sp
from sklearn.utils import check_random_state

from ..utils import check_interactions

__all__ = ["fold_in_split"]


def fold_in_split(X, *, holdout=0.2, timestamps=None, random_state=None):
    """Hide a share of every user's interactions.

    Each row with at least two interactions gets ``ceil(holdout * n)`` of its ``n``
    interactions moved to the hidden part (drawn at random, or the latest when
    ``timestamps`` are given), and always keeps at least one visible; rows with a single
    interaction stay wholly visible. This is the fold-in protocol
    for models whose samples are users: recommend from ``visible``, score against ``hidden``.

    Parameters
    ----------
    X : {array-like, sparse matrix} of shape (n_users, n_items)
        Interactions.
    holdout : float in (0, 1), default=0.2
        Share of each row to hide.
    timestamps : {array-like, sparse matrix} of shape (n_users, n_items), default=None
        When of each interaction of ``X``, read at ``X``'s stored entries: each row's
        latest interactions are hidden, so the model predicts a user's future from their
        past. Ties are broken at random.
    random_state : int, RandomState instance or None, default=None
        Seed of the draw (or of the tie-breaking); the same seed gives the same split.

    Returns
    -------
    visible, hidden : scipy.sparse.csr_matrix of shape (n_users, n_items)
        Disjoint, and ``visible + hidden == X``.

    Examples
    --------
    >>> import numpy as np
    >>> from recfactor.model_selection import fold_in_split
    >>> X = np.array([[1, 1, 1, 1, 1], [0, 1, 0, 0, 0]])
    >>> visible, hidden = fold_in_split(X, holdout=0.4, random_state=0)
    >>> visible.getnnz(axis=1).tolist(), hidden.getnnz(axis=1).tolist()
    ([3, 1], [2, 0])
    """
    if not isinstance(holdout, numbers.Real) or not 0 < holdout < 1:
        raise ValueError(f"holdout must be a share strictly between 0 and 1, got {holdout!r}.")
    X = check_interactions(X)
    rng = check_random_state(random_state)
    counts = np.diff(X.indptr)
    rows = np.repeat(np.arange(X.shape[0]), counts)
    # An order within each row (latest first, or random), then number the entries.
    keys = [rng.random_sample(X.nnz)]
    if timestamps is not None:
        keys.append(-_times_of_entries(timestamps, X, rows))
    order = np.lexsort((*keys, rows))
    position = np.empty(X.nnz, dtype=np.int64)
    position[order] = np.arange(X.nnz) - X.indptr[rows[order]]
    n_hidden = np.where(counts > 1, np.minimum(np.ceil(holdout * counts), counts - 1), 0)
    is_hidden = position < n_hidden[rows]
    return _select(X, rows, ~is_hidden), _select(X, rows, is_hidden)


def _times_of_entries(timestamps, X, rows):
    shape = getattr(timestamps, "shape", np.shape(timestamps))
    if tuple(shape) != X.shape:
        raise ValueError(f"timestamps has shape {tuple(shape)}, but X has shape {X.shape}.")
    if sp.issparse(timestamps):
        times = np.asarray(timestamps.tocsr()[rows, X.indices]).ravel()
    else:
        times = np.asarray(timestamps)[rows, X.indices]
    times = times.astype(np.float64)
    if not np.isfinite(times).all():
        raise ValueError("timestamps must be finite at the entries of X.")
    return times


def _select(X, rows, keep):
    indptr = np.zeros(X.shape[0] + 1, dtype=np.int64)
    np.cumsum(np.bincount(rows[keep], minlength=X.shape[0]), out=indptr[1:])
    return sp.csr_matrix((X.data[keep], X.indices[keep], indptr), shape=X.shape)
