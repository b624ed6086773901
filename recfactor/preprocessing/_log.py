"""Raw interaction logs to the shapes recfactor's estimators take, and results back to raw ids.

A log is a pandas DataFrame with one row per interaction. Each function returns the id
vocabularies with its result: ``vocabulary[i]`` is the raw id behind internal id ``i``, so any
result maps back with :func:`decode_ids`. Vocabularies are sorted, hence reproducible.
"""

import numpy as np
import pandas as pd
import scipy.sparse as sp

__all__ = ["decode_ids", "encode_ids", "log_to_matrix", "log_to_sequences", "log_to_triples"]


def _require_columns(log, columns):
    if not isinstance(log, pd.DataFrame):
        raise TypeError(f"log must be a pandas DataFrame, got {type(log).__name__}.")
    missing = [c for c in columns if c is not None and c not in log.columns]
    if missing:
        raise ValueError(
            f"log has no column {missing[0]!r}; its columns are {list(log.columns)}."
        )
    if len(log) == 0:
        raise ValueError("log is empty; it needs at least one interaction.")
    for column in columns:
        if column is not None and log[column].isna().any():
            row = log.index[log[column].isna().to_numpy()][0]
            raise ValueError(f"log has a missing value in column {column!r} at index {row!r}.")


def _vocabulary(values, given, what):
    if given is None:
        return np.unique(np.asarray(values))
    return _check_vocabulary(given, what)


def _check_vocabulary(vocabulary, what):
    vocabulary = np.asarray(vocabulary)
    if vocabulary.ndim != 1:
        raise ValueError(f"the {what} vocabulary must be 1-D, got shape {vocabulary.shape}.")
    if not pd.Index(vocabulary).is_unique:
        raise ValueError(f"the {what} vocabulary has repeated ids.")
    return vocabulary


def encode_ids(values, vocabulary, *, handle_unknown="error", what="id"):
    """Map raw ids to internal ids (positions in ``vocabulary``).

    Parameters
    ----------
    values : array-like
        Raw ids.
    vocabulary : array-like of shape (n_ids,)
        Raw ids in internal order, as returned by the ``log_to_*`` functions.
    handle_unknown : {"error", "ignore"}, default="error"
        ``"ignore"`` encodes ids missing from the vocabulary as -1.
    what : str, default="id"
        What the ids are ("user", "item", ...), for error messages.

    Returns
    -------
    ids : ndarray of int64

    Examples
    --------
    >>> from recfactor.preprocessing import encode_ids
    >>> encode_ids(["b", "c", "a"], ["a", "b", "c"])
    array([1, 2, 0])
    >>> encode_ids(["z"], ["a", "b"], handle_unknown="ignore")
    array([-1])
    """
    if handle_unknown not in ("error", "ignore"):
        raise ValueError(f"handle_unknown must be 'error' or 'ignore', got {handle_unknown!r}.")
    vocabulary = _check_vocabulary(vocabulary, what)
    values = np.asarray(values)
    codes = pd.Index(vocabulary).get_indexer(values.ravel()).astype(np.int64)
    if handle_unknown == "error" and (codes < 0).any():
        unknown = values.ravel()[codes < 0]
        raise ValueError(
            f"{unknown.size} {what}(s) are not in the vocabulary, for example {unknown[0]!r}; "
            "pass handle_unknown='ignore' to encode them as -1."
        )
    return codes.reshape(values.shape)


def decode_ids(ids, vocabulary):
    """Map internal ids (for example a ``recommend`` result) back to raw ids.

    Examples
    --------
    >>> import numpy as np
    >>> from recfactor.preprocessing import decode_ids
    >>> decode_ids(np.array([[2, 0]]), np.array(["a", "b", "c"]))
    array([['c', 'a']], dtype='<U1')
    """
    vocabulary = np.asarray(vocabulary)
    ids = np.asarray(ids)
    if ids.size and ids.dtype.kind not in "iu":
        raise TypeError(f"ids must be integers, got dtype {ids.dtype}.")
    if ids.size and (ids.min() < 0 or ids.max() >= len(vocabulary)):
        bad = ids[(ids < 0) | (ids >= len(vocabulary))].ravel()[0]
        raise ValueError(
            f"id {bad} is outside the vocabulary of {len(vocabulary)} ids (0 to "
            f"{len(vocabulary) - 1})."
        )
    return vocabulary[ids]


def log_to_matrix(
    log,
    *,
    user_col="user_id",
    item_col="item_id",
    value_col=None,
    user_ids=None,
    item_ids=None,
    handle_unknown="error",
):
    """Build the user x item CSR matrix of a log.

    Parameters
    ----------
    log : pandas.DataFrame
        One row per interaction.
    user_col, item_col : str
        Columns with raw user and item ids.
    value_col : str, default=None
        Column with the weight of each interaction (a rating, a count). ``None`` gives 1 per
        interaction. Repeated (user, item) pairs are summed.
    user_ids, item_ids : array-like, default=None
        Vocabularies to encode with, for example those of a training log when building the
        test matrix. ``None`` takes the sorted unique ids of ``log``.
    handle_unknown : {"error", "ignore"}, default="error"
        What to do with ids missing from given vocabularies: raise, or drop those rows.

    Returns
    -------
    X : scipy.sparse.csr_matrix of shape (len(user_ids), len(item_ids))
    user_ids, item_ids : ndarray
        Raw id of each row and of each column.

    Examples
    --------
    >>> import pandas as pd
    >>> from recfactor.preprocessing import log_to_matrix
    >>> log = pd.DataFrame({"user_id": ["u2", "u1", "u2"], "item_id": [10, 10, 30]})
    >>> X, users, items = log_to_matrix(log)
    >>> X.toarray(), users, items
    (array([[1., 0.],
           [1., 1.]]), array(['u1', 'u2'], dtype=object), array([10, 30]))
    """
    _require_columns(log, [user_col, item_col, value_col])
    user_ids = _vocabulary(log[user_col], user_ids, "user")
    item_ids = _vocabulary(log[item_col], item_ids, "item")
    rows = encode_ids(log[user_col], user_ids, handle_unknown=handle_unknown, what="user")
    cols = encode_ids(log[item_col], item_ids, handle_unknown=handle_unknown, what="item")
    if value_col is None:
        values = np.ones(len(log))
    else:
        values = pd.to_numeric(log[value_col], errors="raise").to_numpy(dtype=np.float64)
    known = (rows >= 0) & (cols >= 0)
    X = sp.csr_matrix(
        (values[known], (rows[known], cols[known])), shape=(len(user_ids), len(item_ids))
    )
    X.sum_duplicates()
    return X, user_ids, item_ids


def log_to_sequences(
    log,
    *,
    user_col="user_id",
    item_col="item_id",
    time_col="timestamp",
    item_ids=None,
    handle_unknown="error",
    return_times=False,
):
    """Build each user's history, oldest first.

    Parameters
    ----------
    log : pandas.DataFrame
        One row per interaction.
    user_col, item_col : str
        Columns with raw user and item ids.
    time_col : str or None, default="timestamp"
        Column to order by. Ties, and every row when ``None``, keep the order of the log.
    item_ids : array-like, default=None
        Item vocabulary to encode with; ``None`` takes the sorted unique items of ``log``.
    handle_unknown : {"error", "ignore"}, default="error"
        What to do with items missing from ``item_ids``: raise, or drop those interactions.
    return_times : bool, default=False
        Also return the times of each sequence (requires ``time_col``).

    Returns
    -------
    sequences : list of ndarray of int64
        One array of item ids per user, in the order of ``user_ids``.
    user_ids, item_ids : ndarray
        Raw ids.
    times : list of ndarray
        Only with ``return_times=True``: the time of each interaction.

    Examples
    --------
    >>> import pandas as pd
    >>> from recfactor.preprocessing import log_to_sequences
    >>> log = pd.DataFrame({"user_id": [1, 1, 2, 1], "item_id": ["a", "b", "a", "c"],
    ...                     "timestamp": [30, 10, 5, 20]})
    >>> sequences, users, items = log_to_sequences(log)
    >>> sequences
    [array([1, 2, 0]), array([0])]
    """
    if return_times and time_col is None:
        raise ValueError("return_times=True needs a time_col to read the times from.")
    _require_columns(log, [user_col, item_col, time_col])
    item_ids = _vocabulary(log[item_col], item_ids, "item")
    items = encode_ids(log[item_col], item_ids, handle_unknown=handle_unknown, what="item")
    user_ids, users = np.unique(np.asarray(log[user_col]), return_inverse=True)
    keys = [users] if time_col is None else [log[time_col].to_numpy(), users]
    order = np.lexsort(keys) if time_col is not None else np.argsort(users, kind="stable")
    order = order[items[order] >= 0]
    boundaries = np.flatnonzero(np.diff(users[order])) + 1
    sequences = np.split(items[order], boundaries)
    present = users[order][np.r_[0, boundaries]] if order.size else np.empty(0, dtype=np.int64)
    if present.size != len(user_ids):
        user_ids = user_ids[present]
    if return_times:
        times = np.split(log[time_col].to_numpy()[order], boundaries)
        return sequences, user_ids, item_ids, times
    return sequences, user_ids, item_ids


def log_to_triples(
    frame, *, head_col="head", relation_col="relation", tail_col="tail", entity_ids=None,
    relation_ids=None,
):
    """Encode (head, relation, tail) rows as integer triples.

    Heads and tails share one entity vocabulary.

    Returns
    -------
    triples : ndarray of shape (n_triples, 3) of int64
    entity_ids, relation_ids : ndarray
        Raw ids.

    Examples
    --------
    >>> import pandas as pd
    >>> from recfactor.preprocessing import log_to_triples
    >>> frame = pd.DataFrame({"head": ["b", "a"], "relation": ["r", "r"], "tail": ["a", "c"]})
    >>> triples, entities, relations = log_to_triples(frame)
    >>> triples
    array([[1, 0, 0],
           [0, 0, 2]])
    """
    _require_columns(frame, [head_col, relation_col, tail_col])
    heads, tails = np.asarray(frame[head_col]), np.asarray(frame[tail_col])
    if entity_ids is None:
        entity_ids = np.unique(np.concatenate([heads, tails]))
    relation_ids = _vocabulary(frame[relation_col], relation_ids, "relation")
    triples = np.column_stack(
        [
            encode_ids(heads, entity_ids, what="entity"),
            encode_ids(frame[relation_col], relation_ids, what="relation"),
            encode_ids(tails, entity_ids, what="entity"),
        ]
    )
    return triples, _check_vocabulary(entity_ids, "entity"), relation_ids
