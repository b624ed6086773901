"""Rank metrics of knowledge-graph completion: filtered ranks, MRR and Hits@k."""

import numpy as np
from sklearn.utils.validation import check_array

from ..utils._numba import row_threads
from ..utils._validation import _check_k
from ._kg_kernels import _rank_counts
from ._validation import _check_mask

__all__ = ["filtered_ranks", "hits_at_k", "mrr"]

_TIES = ("optimistic", "pessimistic", "realistic")


def filtered_ranks(scores, true_ids, filter=None, *, ties="realistic"):
    """Rank of the true entity of each query among the candidates, in the filtered setting.

    A query such as ``(head, relation, ?)`` scores every entity; the rank of the true
    entity counts the candidates scored above it. In the filtered setting, the other entities
    known to complete the query (from the training, validation and test triples) are removed
    from the candidates first, so that being right about them is not penalised.

    Parameters
    ----------
    scores : array-like of shape (n_queries, n_entities)
        Score of every candidate entity for every query; higher is more plausible.
    true_ids : array-like of shape (n_queries,) of int
        The entity to rank for each query.
    filter : {sparse matrix, array-like} of shape (n_queries, n_entities), default=None
        Other true entities of each query, removed from the candidates: the stored entries of
        a sparse matrix, or the non-zero entries of a dense array. The true entity of a query
        is never removed, even when stored here.
    ties : {"optimistic", "pessimistic", "realistic"}, default="realistic"
        How candidates scored exactly like the true entity count. "optimistic" ranks the true
        entity first among them (1 + number scored higher), "pessimistic" last (1 + number
        scored higher or equal, itself excluded), "realistic" halfway, the mean of the two:
        the expected rank under a random order of the ties, as in PyKEEN.

    Returns
    -------
    ranks : ndarray of shape (n_queries,) of float64
        From 1 (best) to the number of candidates left; realistic ranks may end in .5.

    Raises
    ------
    ValueError
        For ``true_ids`` of the wrong length or outside ``[0, n_entities)``, a filter of
        another shape than the scores, an unknown ``ties``, and NaN scores (on the true
        entity or on a candidate that is not filtered).

    References
    ----------
    A. Bordes, N. Usunier, A. Garcia-Durán, J. Weston and O. Yakhnenko, "Translating
    embeddings for modeling multi-relational data", NeurIPS 2013 (the filtered setting).
    M. Berrendorf, E. Faerman, L. Vermue and V. Tresp, "Interpretable and fair comparison of
    link prediction or entity alignment methods", WI-IAT 2020 (realistic ranks).

    Examples
    --------
    >>> import numpy as np
    >>> import scipy.sparse as sp
    >>> from recfactor.metrics import filtered_ranks
    >>> scores = np.array([[0.9, 0.5, 0.5, 0.1],
    ...                    [0.2, 0.8, 0.3, 0.8]])
    >>> true_ids = np.array([2, 3])
    >>> filtered_ranks(scores, true_ids)
    array([2.5, 1.5])
    >>> filtered_ranks(scores, true_ids, ties="pessimistic")
    array([3., 2.])

    Entity 0 also completes the first query, so it is filtered out:

    >>> known = sp.csr_matrix([[1, 0, 0, 0], [0, 0, 0, 0]])
    >>> filtered_ranks(scores, true_ids, known)
    array([1.5, 1.5])
    """
    if ties not in _TIES:
        raise ValueError(f"ties must be one of {_TIES}, got {ties!r}.")
    scores = check_array(
        scores,
        dtype=(np.float64, np.float32),
        order="C",
        ensure_all_finite=False,
        input_name="scores",
    )
    n_queries, n_entities = scores.shape
    true_ids = np.asarray(true_ids)
    if true_ids.shape != (n_queries,) or true_ids.dtype.kind not in "iu":
        raise ValueError(
            f"true_ids must be a 1-D integer array with one entity per query ({n_queries}), "
            f"got an array of shape {true_ids.shape} and dtype {true_ids.dtype}."
        )
    true_ids = true_ids.astype(np.int64, copy=False)
    outside = (true_ids < 0) | (true_ids >= n_entities)
    if outside.any():
        query = int(np.argmax(outside))
        raise ValueError(
            f"true_ids[{query}] is {true_ids[query]}, but the scores cover {n_entities} "
            f"entities (ids 0 to {n_entities - 1})."
        )
    filter_indptr, filter_indices = _check_mask(filter, scores.shape, "filter")

    better = np.empty(n_queries, dtype=np.int64)
    tied = np.empty(n_queries, dtype=np.int64)
    nan_rows = np.zeros(n_queries, dtype=bool)

    def count(lo, hi):
        _rank_counts(
            scores[lo:hi],
            true_ids[lo:hi],
            filter_indptr[lo : hi + 1],
            filter_indices,
            better[lo:hi],
            tied[lo:hi],
            nan_rows[lo:hi],
        )

    with row_threads() as run:
        run(count, n_queries, row_cost=n_entities)
    if nan_rows.any():
        raise ValueError(
            f"The scores of query {int(np.argmax(nan_rows))} contain NaN; NaN cannot be ranked."
        )
    if ties == "optimistic":
        return 1.0 + better
    if ties == "pessimistic":
        return 1.0 + better + tied
    return 1.0 + better + tied / 2.0


def _check_ranks(ranks):
    ranks = check_array(ranks, ensure_2d=False, dtype=np.float64, input_name="ranks")
    if ranks.ndim != 1:
        raise ValueError(f"ranks must be 1-D with one rank per query, got shape {ranks.shape}.")
    if ranks.min() < 1:
        raise ValueError(f"ranks start at 1, got {ranks.min():g}.")
    return ranks


def mrr(ranks):
    """Mean reciprocal rank: the mean of ``1 / rank`` over queries.

    Parameters
    ----------
    ranks : array-like of shape (n_queries,)
        Ranks from 1 (best), for example from :func:`filtered_ranks`.

    Returns
    -------
    mrr : float
        In (0, 1], higher is better.

    Raises
    ------
    ValueError
        For ranks that are not 1-D, below 1, NaN or infinite.

    See Also
    --------
    mrr_at_k : The mean reciprocal rank of top-k recommendation lists.

    Examples
    --------
    >>> from recfactor.metrics import mrr
    >>> mrr([1, 2, 4])
    0.58333
    """
    return float(np.mean(1.0 / _check_ranks(ranks)))


def hits_at_k(ranks, k):
    """Hits@k: the share of queries whose rank is at most ``k``.

    Parameters
    ----------
    ranks : array-like of shape (n_queries,)
        Ranks from 1 (best), for example from :func:`filtered_ranks`.
    k : int
        Cut-off rank, at least 1.

    Returns
    -------
    hits : float
        Between 0 and 1, higher is better.

    Raises
    ------
    ValueError
        For ``k`` below 1, and ranks that are not 1-D, below 1, NaN or infinite.

    Examples
    --------
    >>> from recfactor.metrics import hits_at_k
    >>> hits_at_k([1, 2, 4, 10.5], k=3)
    0.5
    """
    k = _check_k(k)
    return float(np.mean(_check_ranks(ranks) <= k))
