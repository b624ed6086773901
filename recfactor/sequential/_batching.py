"""NumPy side of the sequential models: padding, targets, masking and negative sampling.

Token ids: 0 is padding, item ``i`` is token ``i + 1``, and the masked-item models use token
``n_items + 1`` for [MASK]. Sequences are left-padded, so the most recent item of every
history sits in the last column and a position index counts back from the present.
"""

import numpy as np
import scipy.sparse as sp

PADDING = 0


def left_pad(sequences, width, *, fill=PADDING, shift=0, dtype=np.int64):
    """The last ``width`` values of each sequence, right-aligned in an array of ``fill``.

    Parameters
    ----------
    sequences : list of ndarray
        One 1-D array per row.
    width : int
        Number of columns; longer sequences keep their most recent ``width`` values.
    fill : int, default=0
        Value of the padding on the left.
    shift : int, default=0
        Added to every kept value (1 turns item ids into tokens).
    dtype : dtype, default=int64

    Returns
    -------
    padded : ndarray of shape (len(sequences), width)
    lengths : ndarray of shape (len(sequences),) of int64
        Number of kept (non-padding) values per row.
    """
    lengths = np.fromiter((min(len(s), width) for s in sequences), dtype=np.int64,
                          count=len(sequences))
    padded = np.full((len(sequences), width), fill, dtype=dtype)
    if lengths.sum() == 0:
        return padded, lengths
    tails = np.concatenate([s[len(s) - n:] for s, n in zip(sequences, lengths)])
    rows = np.repeat(np.arange(len(sequences)), lengths)
    # Column of each kept value: its rank from the end of its row, counted from the right.
    ends = np.cumsum(lengths)
    from_end = np.repeat(ends, lengths) - np.arange(tails.size)
    padded[rows, width - from_end] = tails + shift
    return padded, lengths


def chunks_by_length(rows, lengths, n_chunks):
    """The rows of a batch, sorted by length and split into up to ``n_chunks`` chunks.

    A batch is padded to its longest history; computed chunk by chunk, each chunk is
    trimmed to its own longest (:func:`trim_padding`), so short histories skip most of the
    padding of long ones while the batch, and so each gradient step, stays the same.

    Parameters
    ----------
    rows : ndarray of int
        Row indices of the batch.
    lengths : ndarray
        Positions each row (of all rows) covers.
    n_chunks : int

    Returns
    -------
    chunks : list of ndarray
        Non-empty, together exactly ``rows``, shortest rows first.
    """
    ordered = rows[np.argsort(lengths[rows], kind="stable")]
    return [chunk for chunk in np.array_split(ordered, n_chunks) if chunk.size]


def seen_items(sequences, n_items):
    """The items of each sequence as a binary CSR matrix of shape (n_sequences, n_items)."""
    lengths = np.fromiter((len(s) for s in sequences), dtype=np.int64, count=len(sequences))
    indptr = np.concatenate([[0], np.cumsum(lengths)])
    indices = (np.concatenate(sequences) if lengths.sum() else np.empty(0, dtype=np.int64))
    seen = sp.csr_matrix((np.ones(indices.size, dtype=np.float32), indices, indptr),
                         shape=(len(sequences), n_items))
    seen.sum_duplicates()
    seen.data[:] = 1
    return seen


def trim_padding(*arrays, lengths):
    """Drop the leading columns that are padding in every row of a batch.

    Left padding aligns histories on the right, so the columns kept are the last
    ``max(lengths)``: position ``j`` of the trimmed batch is the same distance from the
    present as in the full one, and positional parameters are indexed from the end.
    """
    width = max(int(lengths.max()), 1)
    return tuple(a[:, -width:] for a in arrays)


def mask_positions(valid, probability, rng, last_item_probability=0.0):
    """Positions to hide for masked-item training, at least one per non-empty row.

    Each non-padding position is hidden with ``probability``; a row where none was drawn
    hides its most recent item, so that every history contributes to the loss. A share
    ``last_item_probability`` of the rows hides its most recent item only.

    Parameters
    ----------
    valid : ndarray of bool of shape (n_rows, width)
        Non-padding positions (left-padded rows).
    probability : float
    rng : numpy.random.Generator
    last_item_probability : float, default=0.0

    Returns
    -------
    masked : ndarray of bool of shape (n_rows, width)
    """
    masked = (rng.random(valid.shape) < probability) & valid
    if last_item_probability > 0:
        masked[rng.random(valid.shape[0]) < last_item_probability] = False
    empty = ~masked.any(axis=1) & valid[:, -1]
    masked[empty, -1] = True
    return masked


class SameItemPartners:
    """Draws, for rows of a training set, other rows with the same final item.

    The partner of a row is drawn uniformly from every other row (of all rows, not only
    those of a batch) whose final item is the same; a row that has none is its own partner.
    This is the same-target sampling of DuoRec and BT-SR. The rows are grouped by item once,
    so a draw costs O(batch), not a sort of the training set.

    Parameters
    ----------
    final_items : ndarray of int of shape (n_rows,)
        The last item of each row's history: what its last state predicts.
    """

    def __init__(self, final_items):
        self.order = np.argsort(final_items, kind="stable")
        ordered = final_items[self.order]
        self.first = np.searchsorted(ordered, final_items, side="left")
        self.size = np.searchsorted(ordered, final_items, side="right") - self.first
        self.rank = np.empty_like(self.order)
        self.rank[self.order] = np.arange(self.order.size)

    def __call__(self, rows, rng):
        """A partner for each of ``rows`` (ndarray of int), drawn from ``rng``."""
        first, size = self.first[rows], self.size[rows]
        # Skipping the row itself: an offset of 1 to size - 1 places after it, cyclically.
        offset = 1 + rng.integers(0, np.maximum(size - 1, 1))
        drawn = self.order[first + (self.rank[rows] - first + offset) % size]
        return np.where(size > 1, drawn, rows)


def sample_negatives(rng, n_items, shape):
    """Item ids drawn uniformly (with replacement) from the whole catalogue."""
    return rng.integers(0, n_items, size=shape, dtype=np.int64)
