"""Per-user loops of the ranking metrics, compiled by Numba.

Each kernel reads user ``u``'s relevance from CSR arrays ``(indptr, indices, data)`` with
sorted indices and positive values, and the ``k`` ids of ``recommended[u]`` (int64, -1 for
padding). It writes one value per user into ``out``, zeros from the caller, which users
with no relevant item keep.

What is compiled is kept small, since a fresh install compiles each kernel on its first call:
the loops are serial (a user costs k binary searches: NDCG@10 of 20,000 users takes 0.02 s,
while ``parallel=True`` would add 0.7 s of compilation per kernel), and the caller allocates
every array (typing ``np.zeros`` in a kernel costs 0.2 s).
"""

import numpy as np

from ..utils._numba import njit


@njit
def _gain(indptr, indices, data, recommended, user, position):
    """Relevance of the item at ``position`` in the user's list: 0 for padding or a miss."""
    item = recommended[user, position]
    if item < 0:
        return 0.0
    # Binary search of the user's sorted items (np.searchsorted would compile for longer).
    low, high = indptr[user], indptr[user + 1]
    while low < high:
        middle = (low + high) // 2
        if indices[middle] < item:
            low = middle + 1
        else:
            high = middle
    if low == indptr[user + 1] or indices[low] != item:
        return 0.0
    # A repeated item counts at its first position only, so hits never exceed distinct items.
    for earlier in range(position):
        if recommended[user, earlier] == item:
            return 0.0
    return data[low]


@njit
def _hit_counts(indptr, indices, data, recommended, hits):
    n_users, k = recommended.shape
    for user in range(n_users):
        for position in range(k):
            if _gain(indptr, indices, data, recommended, user, position) > 0:
                hits[user] += 1


@njit
def _ndcg(indptr, indices, data, recommended, out, ideal):
    """NDCG per user; ``ideal`` is scratch space for k relevances."""
    n_users, k = recommended.shape
    for user in range(n_users):
        dcg = 0.0
        for position in range(k):
            gain = _gain(indptr, indices, data, recommended, user, position)
            dcg += gain / np.log2(position + 2.0)
        # The ideal list puts the k largest relevances first, found by insertion into a
        # sorted buffer of k: np.sort would compile for longer than all the rest.
        n_ideal = 0
        for j in range(indptr[user], indptr[user + 1]):
            value = data[j]
            if n_ideal < k:
                n_ideal += 1
            elif value <= ideal[k - 1]:
                continue
            slot = n_ideal - 1
            while slot > 0 and ideal[slot - 1] < value:
                ideal[slot] = ideal[slot - 1]
                slot -= 1
            ideal[slot] = value
        idcg = 0.0
        for position in range(n_ideal):
            idcg += ideal[position] / np.log2(position + 2.0)
        if idcg > 0:
            out[user] = dcg / idcg


@njit
def _average_precision(indptr, indices, data, recommended, out):
    n_users, k = recommended.shape
    for user in range(n_users):
        n_relevant = indptr[user + 1] - indptr[user]
        hits = 0
        total = 0.0
        for position in range(k):
            if _gain(indptr, indices, data, recommended, user, position) > 0:
                hits += 1
                total += hits / (position + 1.0)
        if n_relevant > 0:
            out[user] = total / min(k, n_relevant)


@njit
def _reciprocal_rank(indptr, indices, data, recommended, out):
    n_users, k = recommended.shape
    for user in range(n_users):
        for position in range(k):
            if _gain(indptr, indices, data, recommended, user, position) > 0:
                out[user] = 1.0 / (position + 1.0)
                break
