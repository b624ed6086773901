"""Top-k item selection from dense scores or from factors, block by block."""

import contextlib
from numbers import Integral

import numpy as np
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_array

from ..utils._blas import blas_threads
from ..utils._blocks import row_blocks, rows_per_block
from ..utils._numba import row_threads
from ..utils._validation import _check_k
from ._top_k_kernels import _top_k_rows
from ._validation import _check_mask

__all__ = ["top_k"]

_FLOATS = (np.float64, np.float32)

# Scores of one block with factors: 64 MB of float64, enough rows for an efficient matrix
# product, and small beside the factors themselves when there are many users.
_SCORES_PER_BLOCK = 2**23
# Multiply-adds of a score product below which BLAS gets one thread (about 5 ms on one core).
_SMALL_PRODUCT = 2**24


def top_k(
    scores,
    k,
    *,
    item_factors=None,
    exclude=None,
    block_size=None,
    n_jobs=None,
    return_scores=False,
    random_state=0,
):
    """Ids of the ``k`` best-scored items of each row, best first.

    Either ``scores`` holds the score of every item for every row, or it holds user factors
    and ``item_factors`` is given: the scores are then ``scores @ item_factors.T``, computed
    ``block_size`` rows at a time, so memory stays O(block_size x n_items) however many rows
    there are: by default about 2**23 scores (64 MB of float64) whatever the catalogue. Each
    row is selected with a size-k heap (O(n_items log k), no full sort), on several threads
    over the rows of a block.

    Equal scores are ordered at random, independently in each row, from ``random_state``:
    never by item id, which on real data follows the order items entered the catalogue and
    so their age and popularity, and would pass that on to every metric computed from the
    lists (a model that scores every item alike would look as good as popularity).

    Parameters
    ----------
    scores : array-like of shape (n_rows, n_items) or (n_rows, n_factors)
        Item scores, or user factors when ``item_factors`` is given. Infinite scores are
        ordinary scores (an item scored ``-inf`` is still returned, last); use ``exclude`` to
        rule items out.
    k : int
        Number of items per row, at least 1. ``k`` may exceed the number of items: the
        missing places are padded.
    item_factors : array-like of shape (n_items, n_factors), default=None
        Item factors; when given, ``scores`` are user factors.
    exclude : {sparse matrix, array-like} of shape (n_rows, n_items), default=None
        Items never to return for a row (for example the items seen in training): the stored
        entries of a sparse matrix, whatever their value, or the non-zero entries of a dense
        array.
    block_size : int, default=None
        Rows scored and selected at a time: with factors, it bounds the memory of the scores.
        It never changes the result. ``None`` takes as many rows as 2**23 scores allow.
    n_jobs : int, default=None
        Threads used by the selection and by the BLAS product. ``None`` means all the threads
        numba may use, and BLAS as it is; negative values count back from the number of CPUs
        (``-1`` is all of them).
    return_scores : bool, default=False
        Also return the scores of the selected items.
    random_state : int, RandomState instance or None, default=0
        Seed of the order of equal scores. A row's order depends on the seed and on the row's
        position in ``scores``; the same call gives the same lists, and ``block_size`` and
        ``n_jobs`` never change them.

    Returns
    -------
    items : ndarray of shape (n_rows, k) of int64
        Item ids, best first; equal scores in random order (see ``random_state``). A row with
        fewer than ``k`` items left after exclusion is padded with -1.
    top_scores : ndarray of shape (n_rows, k)
        Only when ``return_scores=True``: the scores of ``items`` (``-inf`` for padding), in
        the floating dtype of the scores.

    Raises
    ------
    ValueError
        For ``k`` or ``block_size`` below 1, factors whose numbers of columns differ, factors
        with NaN or infinite values, an ``exclude`` of another shape than the scores, a NaN
        score of an item that is not excluded, and an integer ``random_state`` outside
        ``[0, 2**64)``.

    See Also
    --------
    ndcg_at_k : Judge the lists against held-out interactions.

    Examples
    --------
    >>> import numpy as np
    >>> import scipy.sparse as sp
    >>> from recfactor.metrics import top_k
    >>> scores = np.array([[0.1, 0.9, 0.5, 0.8],
    ...                    [0.3, 0.2, 0.1, 0.0]])
    >>> top_k(scores, 2)
    array([[1, 3],
           [0, 1]])

    Items seen in training are excluded through a sparse mask:

    >>> seen = sp.csr_matrix([[0, 1, 0, 0], [1, 1, 1, 0]])
    >>> top_k(scores, 2, exclude=seen)
    array([[ 3,  2],
           [ 3, -1]])

    With factors, the scores are computed block by block:

    >>> users = np.array([[1.0, 0.0], [0.0, 1.0]])
    >>> items = np.array([[0.5, 0.1], [0.2, 0.7], [0.9, 0.3]])
    >>> top_k(users, 2, item_factors=items)
    array([[2, 0],
           [1, 2]])
    """
    return _top_k(scores, k, item_factors=item_factors, exclude=exclude, block_size=block_size,
                  n_jobs=n_jobs, return_scores=return_scores, seed=_tie_seed(random_state))


def _tie_seed(random_state):
    """The seed of the order of ties in :func:`top_k`, as the kernel takes it."""
    if isinstance(random_state, Integral) and not isinstance(random_state, bool):
        if not 0 <= random_state < 2**64:
            raise ValueError(
                f"random_state must be an integer in [0, 2**64), got {random_state}.")
        return np.uint64(random_state)
    return np.uint64(check_random_state(random_state).randint(np.iinfo(np.int64).max))


def _top_k(scores, k, *, item_factors=None, exclude=None, block_size=None, n_jobs=None,
           return_scores=False, seed=np.uint64(0), first_row=0):
    """:func:`top_k` with the ties' ``seed`` drawn, for rows that start at ``first_row`` of a
    larger call: a caller that selects block by block passes each block's first row, so
    the lists do not depend on its blocks."""
    k = _check_k(k)
    if block_size is not None:
        block_size = _check_k(block_size, name="block_size")
    if item_factors is None:
        scores = check_array(
            scores, dtype=_FLOATS, order="C", ensure_all_finite=False, input_name="scores"
        )
        n_rows, n_items = scores.shape
        dtype = scores.dtype
    else:
        user_factors = check_array(scores, dtype=_FLOATS, input_name="scores")
        item_factors = check_array(item_factors, dtype=_FLOATS, input_name="item_factors")
        if user_factors.shape[1] != item_factors.shape[1]:
            raise ValueError(
                f"scores (user factors) have {user_factors.shape[1]} columns but item_factors "
                f"has {item_factors.shape[1]}; both need one column per factor."
            )
        n_rows, n_items = user_factors.shape[0], item_factors.shape[0]
        dtype = np.result_type(user_factors, item_factors)
    exclude_indptr, exclude_indices = _check_mask(exclude, (n_rows, n_items), "exclude")
    if block_size is None:
        block_size = rows_per_block(max(n_items, 1), budget=_SCORES_PER_BLOCK)

    top_items = np.empty((n_rows, k), dtype=np.int64)
    top_scores = np.empty((n_rows, k), dtype=dtype)
    nan_rows = np.zeros(n_rows, dtype=bool)
    with row_threads(n_jobs) as run:
        # With n_jobs=None, BLAS keeps whatever limit the caller has set, except for a
        # small product (a request of a few users), which one thread does faster.
        if n_jobs is not None:
            limits = blas_threads(run.n_threads)
        elif item_factors is not None and (
                n_rows * n_items * user_factors.shape[1] < _SMALL_PRODUCT):
            limits = blas_threads(1)
        else:
            limits = contextlib.nullcontext()
        with limits:
            for rows in row_blocks(n_rows, block_size):
                start, stop = rows.start, rows.stop
                if item_factors is None:
                    block = scores[start:stop]
                elif user_factors.shape[1] == 1:
                    # An outer product: NumPy's matmul does not use BLAS for an inner
                    # dimension of 1 and is about ten times slower than broadcasting.
                    block = user_factors[start:stop] * item_factors.T
                else:
                    block = user_factors[start:stop] @ item_factors.T

                def select(lo, hi, block=block, start=start):
                    _top_k_rows(
                        block[lo:hi],
                        exclude_indptr[start + lo : start + hi + 1],
                        exclude_indices,
                        top_items[start + lo : start + hi],
                        top_scores[start + lo : start + hi],
                        nan_rows[start + lo : start + hi],
                        seed,
                        first_row + start + lo,
                    )

                run(select, stop - start, row_cost=n_items)
                if nan_rows[start:stop].any():
                    row = first_row + start + int(np.argmax(nan_rows[start:stop]))
                    source = "" if item_factors is None else " computed from the factors"
                    raise ValueError(
                        f"The scores{source} contain NaN in row {row}; NaN cannot be ranked."
                    )
    if return_scores:
        return top_items, top_scores
    return top_items
