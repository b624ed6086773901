"""Input validation shared by every recfactor estimator and function.

Each check says what is wrong in words a user understands (which row, column, sequence or
triple) before any work is done, and never modifies what was passed in.
"""

import numbers

import numpy as np
import pandas as pd
import scipy.sparse as sp
from sklearn.utils.validation import check_array, validate_data

__all__ = ["check_interactions", "check_rated_histories", "check_sequences", "check_triples"]


def _locate_csr(X, position):
    """Row and column of the ``position``-th stored value of a CSR matrix."""
    row = int(np.searchsorted(X.indptr, position, side="right") - 1)
    return row, int(X.indices[position])


def check_interactions(
    X,
    *,
    estimator=None,
    reset=True,
    allow_negative=False,
    allow_empty=False,
    name="X",
):
    """Validate a user x item interaction matrix and return it as canonical CSR.

    Parameters
    ----------
    X : {array-like, sparse matrix} of shape (n_users, n_items)
        Interaction weights (counts, ratings, confidences). Zeros are "no interaction".
    estimator : estimator instance, default=None
        When given, the check goes through :func:`sklearn.utils.validation.validate_data`, so
        ``n_features_in_`` (the number of items) is set when ``reset=True`` and checked against
        the fitted value otherwise.
    reset : bool, default=True
        Whether this call is a fit (set ``n_features_in_``) or a later call (check it).
    allow_negative : bool, default=False
        Accept negative weights (for example centred ratings).
    allow_empty : bool, default=False
        Accept a matrix with no stored interaction at all.
    name : str, default="X"
        Name used in error messages.

    Returns
    -------
    X : scipy.sparse.csr_matrix of float32 or float64
        Sorted indices and no duplicate entries (duplicates are summed). A copy whenever a
        change of format or dtype was needed; the input itself is never modified.

    Raises
    ------
    ValueError
        For NaN or infinite weights, negative weights (unless allowed), a matrix that is not
        2-D, has no rows or columns, or stores no interaction, and for an item count that
        differs from the one seen in ``fit``.

    Examples
    --------
    >>> import numpy as np
    >>> from recfactor.utils import check_interactions
    >>> check_interactions(np.array([[1, 0, 2], [0, 3, 0]])).toarray()
    array([[1., 0., 2.],
           [0., 3., 0.]])
    >>> check_interactions(np.array([[1.0, np.nan]]))
    Traceback (most recent call last):
        ...
    ValueError: X contains NaN at row 0, column 1 (1 non-finite value in total);
    interaction weights must be finite numbers.
    """
    kwargs = dict(accept_sparse="csr", dtype=(np.float64, np.float32), ensure_all_finite=False)
    if estimator is not None:
        validated = validate_data(estimator, X, reset=reset, **kwargs)
    else:
        validated = check_array(X, input_name=name, **kwargs)
    if not sp.issparse(validated):
        validated = sp.csr_matrix(validated)
    elif not isinstance(validated, sp.csr_matrix):
        validated = sp.csr_matrix(validated)
    if validated is X or not validated.has_canonical_format:
        validated = validated.copy()
        validated.sum_duplicates()
    validated.eliminate_zeros()

    finite = np.isfinite(validated.data)
    if not finite.all():
        bad = np.flatnonzero(~finite)
        value = validated.data[bad[0]]
        kind = "NaN" if np.isnan(value) else "infinity"
        row, col = _locate_csr(validated, bad[0])
        plural = "value" if bad.size == 1 else "values"
        raise ValueError(
            f"{name} contains {kind} at row {row}, column {col} ({bad.size} non-finite "
            f"{plural} in total); interaction weights must be finite numbers."
        )
    if not allow_negative and validated.nnz and validated.data.min() < 0:
        position = int(np.argmin(validated.data))
        row, col = _locate_csr(validated, position)
        raise ValueError(
            f"Negative values in data passed to {name}: {validated.data[position]:g} at row "
            f"{row}, column {col}; interaction weights must be non-negative."
        )
    if not allow_empty and validated.nnz == 0:
        raise ValueError(
            f"{name} stores no interaction: all {validated.shape[0]} x {validated.shape[1]} "
            "entries are zero."
        )
    return validated


def _check_item_targets(y, n_items):
    """The item x user interactions ``y`` of ``n_items`` items, as CSR; a 1-D ``y`` is one
    user's interactions with each item."""
    if not sp.issparse(y):
        y = np.asarray(y)
        if y.ndim == 1:
            y = y.reshape(-1, 1)
    Y = check_interactions(y, allow_empty=True, name="y")
    if Y.shape[0] != n_items:
        raise ValueError(
            f"y has {Y.shape[0]} rows but X has {n_items}: y is the item x user interaction "
            "matrix, one row per item (row) of X."
        )
    return Y


def _as_sequence_list(X, name):
    if isinstance(X, (str, bytes)) or not hasattr(X, "__len__"):
        raise TypeError(
            f"{name} must be a sequence of item-id sequences (a list of lists, an object "
            f"array or a pandas Series of lists), got {type(X).__name__}."
        )
    if isinstance(X, pd.DataFrame):
        raise TypeError(
            f"{name} is a DataFrame; pass one column of lists (a Series), or build sequences "
            "from a log with recfactor.preprocessing.log_to_sequences."
        )
    if isinstance(X, pd.Series):
        return list(X.to_numpy())
    if isinstance(X, np.ndarray) and X.dtype != object:
        if X.ndim != 2:
            raise ValueError(
                f"{name} must be 2-D when given as a numeric array (one row per user), got "
                f"{X.ndim}-D."
            )
        return list(X)
    return list(X)


def _as_item_ids(seq, index, name):
    if isinstance(seq, (str, bytes)) or not hasattr(seq, "__len__"):
        raise TypeError(
            f"{name}[{index}] must be a sequence of integer item ids, got "
            f"{type(seq).__name__}; {name} must hold one sequence per user."
        )
    values = np.asarray(seq)
    if values.ndim != 1:
        raise ValueError(
            f"{name}[{index}] must be a flat sequence of item ids, got an array of shape "
            f"{values.shape}."
        )
    if values.size == 0:
        return np.empty(0, dtype=np.int64)
    if values.dtype.kind in "iu":
        return values.astype(np.int64, copy=False)
    if values.dtype.kind == "f":
        if not np.isfinite(values).all():
            raise ValueError(f"{name}[{index}] contains NaN or infinity; item ids are integers.")
        if not (values == np.round(values)).all():
            raise ValueError(
                f"{name}[{index}] contains the non-integer item id "
                f"{values[values != np.round(values)][0].item()!r}; item ids are integers."
            )
        return values.astype(np.int64)
    raise TypeError(
        f"{name}[{index}] has item ids of type {values.dtype}; item ids must be integers. "
        "Map raw ids to integers with recfactor.preprocessing.log_to_sequences."
    )


def check_sequences(X, *, n_items=None, allow_empty_sequences=False, name="X"):
    """Validate a collection of user histories (item ids, oldest first).

    Parameters
    ----------
    X : list of lists, object array, pandas Series of lists, or 2-D int array
        One sequence of integer item ids per user, oldest first. A 2-D numeric array is read
        as one sequence per row.
    n_items : int, default=None
        Size of the item catalogue. When given (at predict time), every id must lie in
        ``[0, n_items)``.
    allow_empty_sequences : bool, default=False
        Accept users with no interaction.
    name : str, default="X"
        Name used in error messages.

    Returns
    -------
    sequences : list of ndarray of int64
        One array per user (views of the input where no conversion was needed; never modify
        them in place).

    Raises
    ------
    TypeError
        For a container that is not a collection of sequences, or non-integer item ids.
    ValueError
        For no sequence at all, an empty sequence, negative ids, or ids outside the catalogue.

    Examples
    --------
    >>> from recfactor.utils import check_sequences
    >>> check_sequences([[3, 1, 2], [0]])
    [array([3, 1, 2]), array([0])]
    >>> check_sequences([[3, 1, 5]], n_items=4)
    Traceback (most recent call last):
        ...
    ValueError: X[0] contains item id 5 at position 2, but the catalogue has 4 items (ids 0 to 3).
    """
    sequences = [_as_item_ids(seq, i, name) for i, seq in enumerate(_as_sequence_list(X, name))]
    if not sequences:
        raise ValueError(f"{name} contains no sequence; at least one user history is needed.")
    if n_items is not None:
        if not isinstance(n_items, numbers.Integral) or n_items < 1:
            raise ValueError(f"n_items must be a positive integer, got {n_items!r}.")
    for index, seq in enumerate(sequences):
        if seq.size == 0:
            if allow_empty_sequences:
                continue
            raise ValueError(
                f"{name}[{index}] is empty; every user needs at least one interaction."
            )
        low = int(seq.min())
        if low < 0:
            position = int(np.argmin(seq))
            raise ValueError(
                f"{name}[{index}] contains the negative item id {low} at position {position}; "
                "item ids are non-negative integers."
            )
        if n_items is not None:
            high = int(seq.max())
            if high >= n_items:
                position = int(np.argmax(seq))
                raise ValueError(
                    f"{name}[{index}] contains item id {high} at position {position}, but the "
                    f"catalogue has {n_items} items (ids 0 to {n_items - 1})."
                )
    return sequences


def check_triples(X, *, name="X"):
    """Validate knowledge-graph triples ``(head, relation, tail)``.

    Parameters
    ----------
    X : array-like of shape (n_triples, 3)
        Integer ids or strings (a 3-column DataFrame works too).
    name : str, default="X"
        Name used in error messages.

    Returns
    -------
    triples : ndarray of shape (n_triples, 3)
        ``int64`` when every id is an integer, else an object array of ``str``.

    Raises
    ------
    ValueError
        For a shape other than (n, 3), no triple, missing values or negative integer ids.
    TypeError
        For ids that are neither integers nor strings.

    Examples
    --------
    >>> from recfactor.utils import check_triples
    >>> check_triples([("paris", "capital_of", "france")])
    array([['paris', 'capital_of', 'france']], dtype=object)
    >>> check_triples([[0, 1, 2], [2, 0, 1]]).dtype
    dtype('int64')
    """
    if isinstance(X, pd.DataFrame):
        values = X.to_numpy()
    elif isinstance(X, np.ndarray):
        values = X
    else:
        # Not np.asarray(X): it would silently turn [["a", 1, "b"]] into strings.
        values = np.asarray(X, dtype=object)
    if values.ndim != 2 or values.shape[1] != 3:
        raise ValueError(
            f"{name} must have shape (n_triples, 3) with columns head, relation, tail; got "
            f"shape {values.shape}."
        )
    if values.shape[0] == 0:
        raise ValueError(f"{name} contains no triple.")
    if values.dtype.kind in "iu":
        return _nonnegative_ids(values.astype(np.int64, copy=False), name)
    if values.dtype.kind in "US":
        return values.astype(str).astype(object)
    if values.dtype.kind == "f":
        if not np.isfinite(values).all():
            row, col = np.argwhere(~np.isfinite(values))[0]
            raise ValueError(f"{name} has a missing value in triple {row}, column {col}.")
        if (values != np.round(values)).any():
            row, col = np.argwhere(values != np.round(values))[0]
            raise ValueError(
                f"{name} has the non-integer id {values[row, col].item()!r} in triple {row}, "
                f"column {col}; ids must be integers or strings."
            )
        return _nonnegative_ids(values.astype(np.int64), name)
    flat = values.astype(object).ravel()
    missing = pd.isna(flat)
    if missing.any():
        first = int(np.flatnonzero(missing)[0])
        raise ValueError(f"{name} has a missing value in triple {first // 3}, column {first % 3}.")
    is_int = np.array(
        [isinstance(v, numbers.Integral) and not isinstance(v, bool) for v in flat], dtype=bool
    )
    is_str = np.array([isinstance(v, str) for v in flat], dtype=bool)
    if is_int.all():
        return _nonnegative_ids(flat.astype(np.int64).reshape(values.shape), name)
    if is_str.all():
        return flat.reshape(values.shape)
    other = ~(is_int | is_str)
    if other.any():
        first = int(np.flatnonzero(other)[0])
        raise TypeError(
            f"{name} has the value {flat[first]!r} of type {type(flat[first]).__name__} in "
            f"triple {first // 3}, column {first % 3}; ids must be integers or strings."
        )
    raise TypeError(
        f"{name} mixes integer and string ids; use one kind for every head, relation and tail."
    )


def _nonnegative_ids(triples, name):
    if triples.min() < 0:
        row, col = np.argwhere(triples < 0)[0]
        raise ValueError(
            f"{name} has the negative id {triples[row, col]} in triple {row}, column {col}; "
            "integer ids are non-negative."
        )
    return triples


def check_rated_histories(X, *, n_items=None, name="X"):
    """Validate histories of rated interactions.

    Parameters
    ----------
    X : sequence of array-like of shape (n_interactions, 2)
        One history per user, oldest first; each row is ``(item_id, rating)`` (a list of
        pairs, an array of two columns, or a pandas Series of them).
    n_items : int, default=None
        When given, every item id must lie in ``[0, n_items)``.
    name : str, default="X"

    Returns
    -------
    histories : list of (ndarray of int64, ndarray of float64)
        The items and the ratings of each history.

    Examples
    --------
    >>> from recfactor.utils import check_rated_histories
    >>> check_rated_histories([[(3, 5.0), (1, 2.0)]])
    [(array([3, 1]), array([5., 2.]))]
    """
    if isinstance(X, pd.DataFrame):
        raise TypeError(f"{name} is a DataFrame; pass one history per user, each an array of "
                        "(item_id, rating) rows (for example a Series of such arrays).")
    if isinstance(X, (str, bytes)) or not hasattr(X, "__len__"):
        raise TypeError(f"{name} must be a sequence of rated histories, got "
                        f"{type(X).__name__}.")
    samples = list(X.to_numpy()) if isinstance(X, pd.Series) else list(X)
    if not samples:
        raise ValueError(f"{name} contains no history; at least one is needed.")
    histories = []
    for index, sample in enumerate(samples):
        try:
            rows = np.asarray(sample, dtype=np.float64)
        except (TypeError, ValueError) as exc:
            raise TypeError(f"{name}[{index}] must hold numeric (item_id, rating) rows.") from exc
        if rows.ndim != 2 or rows.shape[1] != 2 or rows.shape[0] == 0:
            raise ValueError(
                f"{name}[{index}] must be a non-empty array of (item_id, rating) rows, shape "
                f"(n_interactions, 2); got shape {rows.shape}."
            )
        if not np.isfinite(rows).all():
            raise ValueError(f"{name}[{index}] contains NaN or infinity.")
        items = rows[:, 0]
        bad = (items != np.round(items)) | (items < 0)
        if n_items is not None:
            bad |= items >= n_items
        if bad.any():
            position = int(np.argmax(bad))
            catalogue = "" if n_items is None else (
                f"; the catalogue has {n_items} items (ids 0 to {n_items - 1})")
            raise ValueError(
                f"{name}[{index}] has the invalid item id {items[position]:g} in row "
                f"{position}: item ids are non-negative integers{catalogue}."
            )
        histories.append((items.astype(np.int64), rows[:, 1].copy()))
    return histories


def _check_next_items(y, n_samples, n_items=None):
    """``y`` as an int64 array of one item id per history."""
    targets = np.asarray(y)
    if targets.ndim != 1 or targets.size != n_samples:
        raise ValueError(
            f"y must hold one next item per history, shape ({n_samples},); got shape "
            f"{targets.shape}."
        )
    if targets.dtype.kind not in "iu" and not (
        targets.dtype.kind == "f" and np.isfinite(targets).all()
        and (targets == np.round(targets)).all()
    ):
        raise TypeError(f"y must hold integer item ids, got {targets.dtype} values.")
    targets = targets.astype(np.int64)
    if targets.size and targets.min() < 0:
        raise ValueError(f"y contains the negative item id {targets.min()}; item ids are "
                         "non-negative integers.")
    if n_items is not None and targets.size and targets.max() >= n_items:
        raise ValueError(f"y contains item id {targets.max()}, but the catalogue has "
                         f"{n_items} items (ids 0 to {n_items - 1}).")
    return targets


def _check_k(k, name="k"):
    """Return ``k`` as an int after checking that it is a positive integer."""
    if not isinstance(k, numbers.Integral) or isinstance(k, bool) or k < 1:
        raise ValueError(f"{name} must be a positive integer, got {k!r}.")
    return int(k)
