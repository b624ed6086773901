"""Top-k selection by a size-k heap per row, compiled by Numba.

The heap keeps the k best (score, item) pairs seen so far with the worst at its root, so a row
costs O(n_items log k) and never a full sort. "Worse" means a lower score, or an equal score
and a higher tie rank. An item's tie rank is a hash of the row's key and the item id, a
bijection of the ids (splitmix64's finaliser), so equal scores are ordered at random,
independently in each row, and the same key gives the same order. The item id itself never
breaks a tie: on real data ids follow the order items entered the catalogue, which tracks
their age and popularity, and an id order would carry that into every metric.

The row loop is serial and releases the GIL, so ``top_k`` runs it on several ranges of rows
at once (see :func:`recfactor.utils._numba.row_threads`); a ``parallel=True`` loop would
add 0.6 s to the compile of the first call on a fresh install.
"""

import numpy as np

from ..utils._numba import njit


# splitmix64's increment, odd, so multiplying by it is a bijection of the 64-bit integers.
_GOLDEN = np.uint64(0x9E3779B97F4A7C15)


@njit
def _mix(z):
    """splitmix64's finaliser: a bijection of the 64-bit integers that looks random. It maps
    0 to 0, so its inputs below are offset by multiples of ``_GOLDEN``, as splitmix64's are."""
    z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return z ^ (z >> np.uint64(31))


@njit
def _row_key(seed, row):
    """The tie key of row ``row`` (its position in the whole call) under ``seed``."""
    return _mix(np.uint64(seed) ^ _mix((np.uint64(row) + np.uint64(1)) * _GOLDEN))


@njit
def _tie_rank(key, item):
    return _mix(key + (np.uint64(item) + np.uint64(1)) * _GOLDEN)


@njit
def _worse(score_a, item_a, score_b, item_b, key):
    return score_a < score_b or (
        score_a == score_b and _tie_rank(key, item_a) > _tie_rank(key, item_b)
    )


@njit
def _swap(scores, items, i, j):
    scores[i], scores[j] = scores[j], scores[i]
    items[i], items[j] = items[j], items[i]


@njit
def _sift_up(scores, items, pos, key):
    while pos > 0:
        parent = (pos - 1) // 2
        if not _worse(scores[pos], items[pos], scores[parent], items[parent], key):
            return
        _swap(scores, items, pos, parent)
        pos = parent


@njit
def _sift_down(scores, items, size, key):
    """Move the root of a heap of ``size`` entries down to its place."""
    # Not the literal 0, which Numba would type (and compile _swap for) on its own.
    pos = np.int64(0)
    while True:
        child = 2 * pos + 1
        if child >= size:
            return
        if child + 1 < size and _worse(
            scores[child + 1], items[child + 1], scores[child], items[child], key
        ):
            child += 1
        if not _worse(scores[child], items[child], scores[pos], items[pos], key):
            return
        _swap(scores, items, pos, child)
        pos = child


@njit
def _push(heap_scores, heap_items, size, k, score, item, key):
    """Offer (score, item) to a heap of ``size`` entries; return the new size."""
    if size < k:
        heap_scores[size] = score
        heap_items[size] = item
        _sift_up(heap_scores, heap_items, size, key)
        return size + 1
    heap_scores[0] = score
    heap_items[0] = item
    _sift_down(heap_scores, heap_items, k, key)
    return k


@njit
def _sampled_floor(row_scores, excluded, heap_scores, heap_items, key):
    """A score below which no item can be among the row's k best: the k-th best of an
    evenly spaced sample of about ``sqrt(n_items * k)`` admissible items, or -inf.

    Without it, a row whose scores grow with the item id (popularity when ids were given by
    popularity, say) would replace the heap root at every item.
    """
    n_items = row_scores.shape[0]
    k = heap_scores.shape[0]
    stride = n_items // max(2 * k, int(np.sqrt(n_items * k)))
    if stride < 2:
        return -np.inf
    # np.int64, not the literal 0: Numba would compile _push once more for a literal size.
    size = np.int64(0)
    # The sampled items and the excluded ones are both increasing, so one pointer walks the
    # excluded items alongside (np.searchsorted here would double the compile time).
    position = 0
    for item in range(0, n_items, stride):
        while position < excluded.shape[0] and excluded[position] < item:
            position += 1
        if position < excluded.shape[0] and excluded[position] == item:
            continue
        score = row_scores[item]
        if np.isnan(score) or (size == k and score <= heap_scores[0]):
            continue
        size = _push(heap_scores, heap_items, size, k, score, item, key)
    return heap_scores[0] if size == k else -np.inf


@njit(nogil=True)
def _top_k_rows(scores, exclude_indptr, exclude_indices, top_items, top_scores, nan_rows,
                seed, first_row):
    """Fill ``top_items`` and ``top_scores`` (n_rows, k) with each row's best items, best first.

    Items stored in row ``r`` of the CSR mask ``(exclude_indptr, exclude_indices)`` are
    skipped; rows with fewer than k admissible items are padded with -1 and -inf.
    ``nan_rows[r]`` is set when row ``r`` has a NaN score on an admissible item. Ties are
    ordered by the key of ``seed`` and the row's position ``first_row + r``, so splitting a
    call into blocks never changes its result.
    """
    n_rows, n_items = scores.shape
    k = top_items.shape[1]
    for row in range(n_rows):
        # The output row itself is the heap, so nothing is allocated.
        heap_scores = top_scores[row]
        heap_items = top_items[row]
        excluded = exclude_indices[exclude_indptr[row]:exclude_indptr[row + 1]]
        key = _row_key(seed, first_row + row)
        # Items scored below the floor are outranked by k sampled ones, so never selected;
        # items scored equal to it may still win a tie.
        floor = _sampled_floor(scores[row], excluded, heap_scores, heap_items, key)
        size = np.int64(0)
        root = -np.inf
        root_rank = np.uint64(0)
        # The excluded items cut the row into runs of admissible items, so the loop over a
        # run only compares each score with the floor or the root of the full heap.
        run_start = 0
        for position in range(excluded.shape[0] + 1):
            run_stop = excluded[position] if position < excluded.shape[0] else n_items
            for item in range(run_start, run_stop):
                score = scores[row, item]
                # NaN fails every comparison, so it reaches the check below.
                if size == k:
                    if score < root or (score == root and _tie_rank(key, item) > root_rank):
                        continue
                elif score < floor:
                    continue
                if np.isnan(score):
                    nan_rows[row] = True
                    continue
                size = _push(heap_scores, heap_items, size, k, score, item, key)
                root = heap_scores[0]
                root_rank = _tie_rank(key, heap_items[0])
            run_start = max(run_start, run_stop + 1)
        # Heap sort in place: moving the root (the worst) to the end leaves the best first.
        for end in range(size - 1, 0, -1):
            heap_scores[0], heap_scores[end] = heap_scores[end], heap_scores[0]
            heap_items[0], heap_items[end] = heap_items[end], heap_items[0]
            _sift_down(heap_scores, heap_items, end, key)
        for j in range(size, k):
            heap_items[j] = -1
            heap_scores[j] = -np.inf
