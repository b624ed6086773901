"""Per-user loops of the ranking metrics, compiled by Numba and parallel over users.

Each kernel reads user ``u``'s relevance from CSR arrays ``(indptr, indices, data)`` with
sorted indices and positive values, and the ``k`` ids of ``recommended[u]`` (int64, -1 for
padding). It returns one value per user; users with no relevant item get 0.
"""

import numpy as np
from numba import prange

from ..utils._numba import njit


@njit
def _gain(indptr, indices, data, recommended, user, position):
    """Relevance of the item at ``position`` in the user's list: 0 for padding or a miss."""
    item = recommended[user, position]
    if item < 0:
        return 0.0
    start, stop = indptr[user], indptr[user + 1]
    found = start + np.searchsorted(indices[start:stop], item)
    if found == stop or indices[found] != item:
        return 0.0
    # A repeated item counts at its first position only, so hits never exceed distinct items.
    for earlier in range(position):
        if recommended[user, earlier] == item:
            return 0.0
    return data[found]


@njit(parallel=True)
def _hit_counts(indptr, indices, data, recommended):
    n_users, k = recommended.shape
    hits = np.zeros(n_users, dtype=np.int64)
    for user in prange(n_users):
        for position in range(k):
            if _gain(indptr, indices, data, recommended, user, position) > 0:
                hits[user] += 1
    return hits


@njit(parallel=True)
def _ndcg(indptr, indices, data, recommended):
    n_users, k = recommended.shape
    out = np.zeros(n_users, dtype=np.float64)
    for user in prange(n_users):
        dcg = 0.0
        for position in range(k):
            gain = _gain(indptr, indices, data, recommended, user, position)
            dcg += gain / np.log2(position + 2.0)
        # The ideal list puts the k largest relevances first.
        ideal = np.sort(data[indptr[user] : indptr[user + 1]])[::-1]
        idcg = 0.0
        for position in range(min(k, ideal.size)):
            idcg += ideal[position] / np.log2(position + 2.0)
        if idcg > 0:
            out[user] = dcg / idcg
    return out


@njit(parallel=True)
def _average_precision(indptr, indices, data, recommended):
    n_users, k = recommended.shape
    out = np.zeros(n_users, dtype=np.float64)
    for user in prange(n_users):
        n_relevant = indptr[user + 1] - indptr[user]
        hits = 0
        total = 0.0
        for position in range(k):
            if _gain(indptr, indices, data, recommended, user, position) > 0:
                hits += 1
                total += hits / (position + 1.0)
        if n_relevant > 0:
            out[user] = total / min(k, n_relevant)
    return out


@njit(parallel=True)
def _reciprocal_rank(indptr, indices, data, recommended):
    n_users, k = recommended.shape
    out = np.zeros(n_users, dtype=np.float64)
    for user in prange(n_users):
        for position in range(k):
            if _gain(indptr, indices, data, recommended, user, position) > 0:
                out[user] = 1.0 / (position + 1.0)
                break
    return out
