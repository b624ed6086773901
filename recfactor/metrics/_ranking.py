"""Ranking metrics of top-k lists: accuracy against held-out interactions, and beyond accuracy.

Every accuracy metric takes ``relevant``, a user x item CSR matrix of held-out relevance, and
``recommended``, one row of item ids per user, best first, with -1 as padding; it checks both,
computes one value per user in a Numba kernel, and averages.
"""

import warnings

import numpy as np
from sklearn.exceptions import UndefinedMetricWarning
from sklearn.utils.validation import check_array

from ..utils import check_interactions
from ..utils._validation import _check_k
from ._ranking_kernels import _average_precision, _hit_counts, _ndcg, _reciprocal_rank
from ._validation import _check_recommended, _csr_index_arrays

__all__ = [
    "average_popularity",
    "coverage_at_k",
    "hit_rate_at_k",
    "map_at_k",
    "mrr_at_k",
    "ndcg_at_k",
    "novelty",
    "precision_at_k",
    "recall_at_k",
]


def _check_ranking_inputs(relevant, recommended, k):
    """Validated CSR arrays of ``relevant``, its first ``k`` recommendations, and row counts."""
    k = _check_k(k)
    relevant = check_interactions(relevant, allow_empty=True, name="relevant")
    top = _check_recommended(recommended, k, relevant.shape[1], n_rows=relevant.shape[0])
    # One dtype per array for the kernels, so each compiles once.
    csr = (*_csr_index_arrays(relevant), relevant.data.astype(np.float64, copy=False))
    return csr, top, np.diff(relevant.indptr)


def _reduce(per_user, n_relevant, skip_empty, average, name):
    if not average:
        return per_user
    if not skip_empty:
        return float(per_user.mean())
    has_relevant = n_relevant > 0
    if not has_relevant.any():
        warnings.warn(
            f"No user has a relevant item, so {name} is undefined; returning 0.0. Pass "
            "skip_empty=False to count such users as 0.",
            UndefinedMetricWarning,
            stacklevel=3,
        )
        return 0.0
    return float(per_user[has_relevant].mean())


def _per_user(kernel, csr, top, *scratch, dtype=np.float64):
    """One value per user from ``kernel``, which fills an array of zeros it is given."""
    out = np.zeros(top.shape[0], dtype=dtype)
    kernel(*csr, top, out, *scratch)
    return out


def _hits(relevant, recommended, k):
    csr, top, n_relevant = _check_ranking_inputs(relevant, recommended, k)
    return _per_user(_hit_counts, csr, top, dtype=np.int64), n_relevant, top.shape[1]


def ndcg_at_k(relevant, recommended, k=10, *, skip_empty=True, average=True):
    """Normalized discounted cumulative gain of the top-k lists.

    With ``rel_i`` the relevance of the item at rank ``i`` (1-based),
    ``DCG@k = sum_{i <= k} rel_i / log2(i + 1)`` (linear gain), and NDCG@k is DCG@k divided by
    the DCG@k of the ideal list, made of the user's k largest relevances.

    Parameters
    ----------
    relevant : {array-like, sparse matrix} of shape (n_users, n_items)
        Held-out relevance: binary, or graded (the stored value is the gain). Must be finite
        and non-negative; zeros are not relevant.
    recommended : array-like of shape (n_users, n_recommended) of int
        Item ids per user, best first, ``n_recommended >= k``; only the first ``k`` columns
        are used. -1 is padding, never relevant. An id repeated in a row gains only at its
        first position.
    k : int, default=10
        Cut-off rank.
    skip_empty : bool, default=True
        Leave users with no relevant item out of the mean (their NDCG is undefined); when
        False they count as 0. When no user has a relevant item and ``skip_empty=True``, the
        result is 0.0 with an :class:`~sklearn.exceptions.UndefinedMetricWarning`.
    average : bool, default=True
        Return the mean over users; when False, the per-user values, where users with no
        relevant item get 0.0 whatever ``skip_empty``.

    Returns
    -------
    score : float or ndarray of shape (n_users,) of float64
        Between 0 and 1, higher is better.

    Raises
    ------
    ValueError
        For ``k`` below 1 or above ``n_recommended``, different numbers of users in
        ``relevant`` and ``recommended``, item ids outside the catalogue, and NaN, infinite
        or negative relevance.

    See Also
    --------
    sklearn.metrics.ndcg_score : The same gain and discount from scores instead of lists.

    References
    ----------
    K. Järvelin and J. Kekäläinen, "Cumulated gain-based evaluation of IR techniques",
    ACM Transactions on Information Systems 20(4), 2002.

    Examples
    --------
    >>> import numpy as np
    >>> import scipy.sparse as sp
    >>> from recfactor.metrics import ndcg_at_k
    >>> relevant = sp.csr_matrix([[1, 0, 1, 0], [0, 0, 0, 1]])
    >>> recommended = np.array([[2, 1, 0], [0, 1, 2]])
    >>> ndcg_at_k(relevant, recommended, k=3, average=False)
    array([0.91972, 0.     ])
    >>> ndcg_at_k(relevant, recommended, k=3)
    0.45986
    """
    csr, top, n_relevant = _check_ranking_inputs(relevant, recommended, k)
    per_user = _per_user(_ndcg, csr, top, np.empty(top.shape[1]))
    return _reduce(per_user, n_relevant, skip_empty, average, "ndcg_at_k")


def hit_rate_at_k(relevant, recommended, k=10, *, skip_empty=True, average=True):
    """Share of users with at least one relevant item in their top-k list.

    Parameters
    ----------
    relevant : {array-like, sparse matrix} of shape (n_users, n_items)
        Held-out relevance; any stored positive value is relevant. Must be finite and
        non-negative.
    recommended : array-like of shape (n_users, n_recommended) of int
        Item ids per user, best first, ``n_recommended >= k``; only the first ``k`` columns
        are used. -1 is padding, never relevant.
    k : int, default=10
        Cut-off rank.
    skip_empty : bool, default=True
        Leave users with no relevant item out of the mean; when False they count as 0. When
        no user has a relevant item and ``skip_empty=True``, the result is 0.0 with an
        :class:`~sklearn.exceptions.UndefinedMetricWarning`.
    average : bool, default=True
        Return the mean over users; when False, the per-user values (1.0 for a hit, else
        0.0).

    Returns
    -------
    score : float or ndarray of shape (n_users,) of float64
        Between 0 and 1, higher is better.

    Raises
    ------
    ValueError
        For ``k`` below 1 or above ``n_recommended``, different numbers of users in
        ``relevant`` and ``recommended``, item ids outside the catalogue, and NaN, infinite
        or negative relevance.

    Examples
    --------
    >>> import numpy as np
    >>> import scipy.sparse as sp
    >>> from recfactor.metrics import hit_rate_at_k
    >>> relevant = sp.csr_matrix([[1, 0, 1, 0], [0, 0, 0, 1]])
    >>> recommended = np.array([[2, 1, 0], [0, 1, 2]])
    >>> hit_rate_at_k(relevant, recommended, k=3)
    0.5
    """
    hits, n_relevant, _ = _hits(relevant, recommended, k)
    per_user = (hits > 0).astype(np.float64)
    return _reduce(per_user, n_relevant, skip_empty, average, "hit_rate_at_k")


def recall_at_k(relevant, recommended, k=10, *, skip_empty=True, average=True):
    """Share of each user's relevant items found in the top-k list.

    ``recall@k = hits / n_relevant``, where ``hits`` counts the distinct relevant items among
    the first ``k`` recommended.

    Parameters
    ----------
    relevant : {array-like, sparse matrix} of shape (n_users, n_items)
        Held-out relevance; any stored positive value is relevant. Must be finite and
        non-negative.
    recommended : array-like of shape (n_users, n_recommended) of int
        Item ids per user, best first, ``n_recommended >= k``; only the first ``k`` columns
        are used. -1 is padding, never relevant. An id repeated in a row is a hit once.
    k : int, default=10
        Cut-off rank.
    skip_empty : bool, default=True
        Leave users with no relevant item out of the mean (their recall is undefined); when
        False they count as 0. When no user has a relevant item and ``skip_empty=True``, the
        result is 0.0 with an :class:`~sklearn.exceptions.UndefinedMetricWarning`.
    average : bool, default=True
        Return the mean over users; when False, the per-user values, where users with no
        relevant item get 0.0 whatever ``skip_empty``.

    Returns
    -------
    score : float or ndarray of shape (n_users,) of float64
        Between 0 and 1, higher is better.

    Raises
    ------
    ValueError
        For ``k`` below 1 or above ``n_recommended``, different numbers of users in
        ``relevant`` and ``recommended``, item ids outside the catalogue, and NaN, infinite
        or negative relevance.

    Notes
    -----
    A user with more than ``k`` relevant items cannot reach a recall of 1. Some papers divide
    by ``min(k, n_relevant)`` instead so that 1 is always attainable; that variant equals
    ``hits / min(k, n_relevant)``, computable from this function's per-user values as
    ``recall * n_relevant / np.minimum(k, n_relevant)``.

    Examples
    --------
    >>> import numpy as np
    >>> import scipy.sparse as sp
    >>> from recfactor.metrics import recall_at_k
    >>> relevant = sp.csr_matrix([[1, 0, 1, 0], [0, 0, 0, 1]])
    >>> recommended = np.array([[2, 1, 0], [0, 1, 2]])
    >>> recall_at_k(relevant, recommended, k=2, average=False)
    array([0.5, 0. ])
    """
    hits, n_relevant, _ = _hits(relevant, recommended, k)
    per_user = np.divide(
        hits, n_relevant, out=np.zeros(hits.shape, dtype=np.float64), where=n_relevant > 0
    )
    return _reduce(per_user, n_relevant, skip_empty, average, "recall_at_k")


def precision_at_k(relevant, recommended, k=10, *, skip_empty=True, average=True):
    """Share of the top-k list that is relevant.

    ``precision@k = hits / k``, where ``hits`` counts the distinct relevant items among the
    first ``k`` recommended. The denominator is ``k`` even for a list padded with -1.

    Parameters
    ----------
    relevant : {array-like, sparse matrix} of shape (n_users, n_items)
        Held-out relevance; any stored positive value is relevant. Must be finite and
        non-negative.
    recommended : array-like of shape (n_users, n_recommended) of int
        Item ids per user, best first, ``n_recommended >= k``; only the first ``k`` columns
        are used. -1 is padding, never relevant. An id repeated in a row is a hit once.
    k : int, default=10
        Cut-off rank.
    skip_empty : bool, default=True
        Leave users with no relevant item out of the mean; when False they count as 0. When
        no user has a relevant item and ``skip_empty=True``, the result is 0.0 with an
        :class:`~sklearn.exceptions.UndefinedMetricWarning`.
    average : bool, default=True
        Return the mean over users; when False, the per-user values.

    Returns
    -------
    score : float or ndarray of shape (n_users,) of float64
        Between 0 and 1, higher is better.

    Raises
    ------
    ValueError
        For ``k`` below 1 or above ``n_recommended``, different numbers of users in
        ``relevant`` and ``recommended``, item ids outside the catalogue, and NaN, infinite
        or negative relevance.

    Examples
    --------
    >>> import numpy as np
    >>> import scipy.sparse as sp
    >>> from recfactor.metrics import precision_at_k
    >>> relevant = sp.csr_matrix([[1, 0, 1, 0], [0, 0, 0, 1]])
    >>> recommended = np.array([[2, 1, 0], [0, 1, 2]])
    >>> precision_at_k(relevant, recommended, k=3, average=False)
    array([0.66667, 0.     ])
    """
    hits, n_relevant, k = _hits(relevant, recommended, k)
    return _reduce(hits / k, n_relevant, skip_empty, average, "precision_at_k")


def map_at_k(relevant, recommended, k=10, *, skip_empty=True, average=True):
    """Mean average precision of the top-k lists.

    A user's average precision is ``AP@k = sum_i precision@i / min(k, n_relevant)``, the sum
    running over the ranks ``i <= k`` that hold a relevant item; MAP@k is its mean over users.
    Dividing by ``min(k, n_relevant)`` makes 1 the score of a perfect list.

    Parameters
    ----------
    relevant : {array-like, sparse matrix} of shape (n_users, n_items)
        Held-out relevance; any stored positive value is relevant. Must be finite and
        non-negative.
    recommended : array-like of shape (n_users, n_recommended) of int
        Item ids per user, best first, ``n_recommended >= k``; only the first ``k`` columns
        are used. -1 is padding, never relevant. An id repeated in a row is a hit once, at its
        first position.
    k : int, default=10
        Cut-off rank.
    skip_empty : bool, default=True
        Leave users with no relevant item out of the mean (their AP is undefined); when False
        they count as 0. When no user has a relevant item and ``skip_empty=True``, the result
        is 0.0 with an :class:`~sklearn.exceptions.UndefinedMetricWarning`.
    average : bool, default=True
        Return the mean over users; when False, the per-user AP@k, where users with no
        relevant item get 0.0 whatever ``skip_empty``.

    Returns
    -------
    score : float or ndarray of shape (n_users,) of float64
        Between 0 and 1, higher is better.

    Raises
    ------
    ValueError
        For ``k`` below 1 or above ``n_recommended``, different numbers of users in
        ``relevant`` and ``recommended``, item ids outside the catalogue, and NaN, infinite
        or negative relevance.

    Examples
    --------
    >>> import numpy as np
    >>> import scipy.sparse as sp
    >>> from recfactor.metrics import map_at_k
    >>> relevant = sp.csr_matrix([[1, 0, 1, 0], [0, 0, 0, 1]])
    >>> recommended = np.array([[2, 1, 0], [0, 1, 2]])
    >>> map_at_k(relevant, recommended, k=3, average=False)  # (1/1 + 2/3) / 2
    array([0.83333, 0.     ])
    """
    csr, top, n_relevant = _check_ranking_inputs(relevant, recommended, k)
    per_user = _per_user(_average_precision, csr, top)
    return _reduce(per_user, n_relevant, skip_empty, average, "map_at_k")


def mrr_at_k(relevant, recommended, k=10, *, skip_empty=True, average=True):
    """Mean reciprocal rank of the first relevant item in the top-k lists.

    A user's reciprocal rank is ``1 / i`` for the first rank ``i <= k`` that holds a relevant
    item, and 0 when the first ``k`` hold none.

    Parameters
    ----------
    relevant : {array-like, sparse matrix} of shape (n_users, n_items)
        Held-out relevance; any stored positive value is relevant. Must be finite and
        non-negative.
    recommended : array-like of shape (n_users, n_recommended) of int
        Item ids per user, best first, ``n_recommended >= k``; only the first ``k`` columns
        are used. -1 is padding, never relevant.
    k : int, default=10
        Cut-off rank.
    skip_empty : bool, default=True
        Leave users with no relevant item out of the mean; when False they count as 0. When
        no user has a relevant item and ``skip_empty=True``, the result is 0.0 with an
        :class:`~sklearn.exceptions.UndefinedMetricWarning`.
    average : bool, default=True
        Return the mean over users; when False, the per-user reciprocal ranks.

    Returns
    -------
    score : float or ndarray of shape (n_users,) of float64
        Between 0 and 1, higher is better.

    Raises
    ------
    ValueError
        For ``k`` below 1 or above ``n_recommended``, different numbers of users in
        ``relevant`` and ``recommended``, item ids outside the catalogue, and NaN, infinite
        or negative relevance.

    See Also
    --------
    mrr : The mean reciprocal rank of knowledge-graph ranks.

    Examples
    --------
    >>> import numpy as np
    >>> import scipy.sparse as sp
    >>> from recfactor.metrics import mrr_at_k
    >>> relevant = sp.csr_matrix([[1, 0, 1, 0], [0, 0, 0, 1]])
    >>> recommended = np.array([[1, 2, 0], [0, 1, 2]])
    >>> mrr_at_k(relevant, recommended, k=3, average=False)
    array([0.5, 0. ])
    """
    csr, top, n_relevant = _check_ranking_inputs(relevant, recommended, k)
    per_user = _per_user(_reciprocal_rank, csr, top)
    return _reduce(per_user, n_relevant, skip_empty, average, "mrr_at_k")


def coverage_at_k(recommended, n_items, k=10):
    """Share of the catalogue that appears in at least one top-k list (catalogue coverage).

    Parameters
    ----------
    recommended : array-like of shape (n_users, n_recommended) of int
        Item ids per user, best first, ``n_recommended >= k``; only the first ``k`` columns
        are used. -1 is padding.
    n_items : int
        Size of the catalogue.
    k : int, default=10
        Cut-off rank.

    Returns
    -------
    coverage : float
        Between 0 and 1; higher means the lists reach more of the catalogue.

    Raises
    ------
    ValueError
        For ``k`` below 1 or above ``n_recommended``, ``n_items`` below 1, and item ids
        outside the catalogue.

    References
    ----------
    M. Ge, C. Delgado-Battenfeld and D. Jannach, "Beyond accuracy: evaluating recommender
    systems by coverage and serendipity", RecSys 2010.

    Examples
    --------
    >>> import numpy as np
    >>> from recfactor.metrics import coverage_at_k
    >>> recommended = np.array([[2, 1, 0], [2, 1, -1]])
    >>> coverage_at_k(recommended, n_items=5, k=2)
    0.4
    """
    n_items = _check_k(n_items, name="n_items")
    top = _check_recommended(recommended, _check_k(k), n_items)
    reached = np.zeros(n_items, dtype=bool)
    reached[top[top >= 0]] = True
    return float(reached.mean())


def _check_popularity(item_popularity):
    popularity = check_array(
        item_popularity, ensure_2d=False, dtype=np.float64, input_name="item_popularity"
    )
    if popularity.ndim != 1:
        raise ValueError(
            f"item_popularity must be 1-D with one value per item, got shape {popularity.shape}."
        )
    if popularity.min() < 0:
        item = int(np.argmin(popularity))
        raise ValueError(
            f"item_popularity is negative ({popularity[item]:g}) for item {item}; popularity "
            "is a count or a share of users."
        )
    return popularity


def _mean_over_lists(values, listed, name):
    """Mean over users of the mean of ``values`` over each user's listed (non-padding) items."""
    n_listed = listed.sum(axis=1)
    has_items = n_listed > 0
    if not has_items.any():
        warnings.warn(
            f"Every list is padding only, so {name} is undefined; returning 0.0.",
            UndefinedMetricWarning,
            stacklevel=3,
        )
        return 0.0
    return float(np.mean(values.sum(axis=1)[has_items] / n_listed[has_items]))


def novelty(recommended, item_popularity, k=10):
    """Mean self-information of the recommended items: ``-log2`` of their popularity.

    With ``p_i`` the share of users who interacted with item ``i`` (in training), a list's
    novelty is the mean of ``-log2(p_i)`` over its items, and the result is the mean over
    users: recommending items few users know scores high. Padding (-1) is left out of a
    list's mean, users whose list is all padding are left out of the overall mean, and an id
    repeated in a list counts as often as it appears.

    Parameters
    ----------
    recommended : array-like of shape (n_users, n_recommended) of int
        Item ids per user, best first, ``n_recommended >= k``; only the first ``k`` columns
        are used. -1 is padding.
    item_popularity : array-like of shape (n_items,)
        Share of users who interacted with each item, in [0, 1], for example
        ``np.bincount(X.indices, minlength=X.shape[1]) / X.shape[0]`` for a training matrix
        ``X`` in CSR format.
    k : int, default=10
        Cut-off rank.

    Returns
    -------
    novelty : float
        In bits, non-negative; higher means less popular recommendations. 0.0, with an
        :class:`~sklearn.exceptions.UndefinedMetricWarning`, when every list is padding only.

    Raises
    ------
    ValueError
        For ``k`` below 1 or above ``n_recommended``, item ids outside the catalogue,
        shares outside [0, 1], and a recommended item of share 0 (its self-information is
        infinite: smooth the shares, for example ``(count + 1) / (n_users + 1)``).

    References
    ----------
    T. Zhou, Z. Kuscsik, J.-G. Liu, M. Medo, J. R. Wakeling and Y.-C. Zhang, "Solving the
    apparent diversity-accuracy dilemma of recommender systems", PNAS 107(10), 2010.

    Examples
    --------
    >>> import numpy as np
    >>> from recfactor.metrics import novelty
    >>> popularity = np.array([0.5, 0.25, 0.125])
    >>> novelty(np.array([[0, 1], [2, -1]]), popularity, k=2)  # ((1 + 2) / 2 + 3) / 2
    2.25
    """
    popularity = _check_popularity(item_popularity)
    if popularity.max() > 1:
        item = int(np.argmax(popularity))
        raise ValueError(
            f"item_popularity is {popularity[item]:g} for item {item}, but novelty needs the "
            "share of users who interacted with each item, in [0, 1]; divide the counts by "
            "the number of users."
        )
    top = _check_recommended(recommended, _check_k(k), popularity.size)
    listed = top >= 0
    shares = popularity[top[listed]]
    if (shares == 0).any():
        item = int(top[listed][np.argmax(shares == 0)])
        raise ValueError(
            f"Item {item} is recommended but its popularity is 0, so its self-information "
            "-log2(0) is infinite; smooth the shares, for example (count + 1) / (n_users + 1)."
        )
    values = np.zeros(top.shape)
    values[listed] = -np.log2(shares)
    return _mean_over_lists(values, listed, "novelty")


def average_popularity(recommended, item_popularity, k=10):
    """Average recommendation popularity (ARP): the mean popularity of the recommended items.

    A list's value is the mean of ``item_popularity`` over its items, and the result is the
    mean over users; lower means recommendations further from the blockbusters. Padding (-1)
    is left out of a list's mean, users whose list is all padding are left out of the overall
    mean, and an id repeated in a list counts as often as it appears.

    Parameters
    ----------
    recommended : array-like of shape (n_users, n_recommended) of int
        Item ids per user, best first, ``n_recommended >= k``; only the first ``k`` columns
        are used. -1 is padding.
    item_popularity : array-like of shape (n_items,)
        Popularity of each item in training, non-negative: the number of users who
        interacted with it (as in the reference) or the share of users; the result is in the
        same unit.
    k : int, default=10
        Cut-off rank.

    Returns
    -------
    arp : float
        0.0, with an :class:`~sklearn.exceptions.UndefinedMetricWarning`, when every list is
        padding only.

    Raises
    ------
    ValueError
        For ``k`` below 1 or above ``n_recommended``, item ids outside the catalogue, and
        negative, NaN or infinite popularity.

    References
    ----------
    H. Abdollahpouri, R. Burke and B. Mobasher, "Managing popularity bias in recommender
    systems with personalized re-ranking", FLAIRS 2019.

    Examples
    --------
    >>> import numpy as np
    >>> from recfactor.metrics import average_popularity
    >>> counts = np.array([40, 10, 2])
    >>> average_popularity(np.array([[0, 1], [2, -1]]), counts, k=2)  # ((40 + 10) / 2 + 2) / 2
    13.5
    """
    popularity = _check_popularity(item_popularity)
    top = _check_recommended(recommended, _check_k(k), popularity.size)
    listed = top >= 0
    # Padding (-1) indexes the last item; np.where discards what it reads.
    values = np.where(listed, popularity[top], 0.0)
    return _mean_over_lists(values, listed, "average_popularity")
