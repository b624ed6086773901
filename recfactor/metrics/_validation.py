"""Checks shared by the metric functions: lists of item ids, CSR masks."""

import numpy as np
import scipy.sparse as sp


def _check_recommended(recommended, k, n_items, n_rows=None):
    """Validate lists of item ids and return their first ``k`` columns as C-ordered int64.

    ``-1`` is padding; any other id must lie in ``[0, n_items)``. Only the columns that are
    used are checked, since the others play no part in the result.
    """
    recommended = np.asarray(recommended)
    if recommended.ndim != 2:
        raise ValueError(
            "recommended must be a 2-D array with one row of item ids per user, got an array "
            f"of shape {recommended.shape}; use recommended.reshape(1, -1) for a single user."
        )
    if recommended.dtype.kind not in "iu":
        raise TypeError(
            f"recommended must hold integer item ids, got dtype {recommended.dtype}."
        )
    if n_rows is not None and recommended.shape[0] != n_rows:
        raise ValueError(
            f"relevant has {n_rows} users but recommended has {recommended.shape[0]} rows; "
            "they must describe the same users in the same order."
        )
    if k > recommended.shape[1]:
        raise ValueError(
            f"k={k} is larger than the {recommended.shape[1]} items recommended per user."
        )
    top = np.ascontiguousarray(recommended[:, :k], dtype=np.int64)
    bad = (top < -1) | (top >= n_items)
    if bad.any():
        row, col = np.argwhere(bad)[0]
        raise ValueError(
            f"recommended contains the item id {top[row, col]} at row {row}, column {col}, but "
            f"the catalogue has {n_items} items (ids 0 to {n_items - 1}, and -1 for padding)."
        )
    return top


def _check_mask(mask, shape, name):
    """Return the CSR ``indptr`` and sorted ``indices`` of an optional mask of ``shape``.

    Only which entries are stored matters, so the values are never read. With no mask, the
    arrays describe an empty matrix.
    """
    if mask is None:
        return np.zeros(shape[0] + 1, dtype=np.int32), np.empty(0, dtype=np.int32)
    mask = mask.tocsr() if sp.issparse(mask) else sp.csr_matrix(np.asarray(mask))
    if mask.shape != shape:
        raise ValueError(f"{name} has shape {mask.shape}, but the scores have shape {shape}.")
    if not mask.has_sorted_indices:
        # The kernels walk each row in increasing column order; sort a copy, not the input.
        mask = mask.copy()
        mask.sort_indices()
    return _csr_index_arrays(mask)


def _csr_index_arrays(matrix):
    """``indptr`` and ``indices`` of a CSR matrix, both int32 unless int64 is needed.

    scipy picks either dtype depending on how the matrix was built, and each combination is
    a specialisation that Numba compiles on its first call; one dtype means one compile.
    int32 holds every matrix with fewer than 2**31 stored entries and columns, so the cast
    is a copy only for matrices that scipy chose to index with int64 for other reasons.
    """
    limit = np.iinfo(np.int32).max
    fits = matrix.nnz <= limit and matrix.shape[1] <= limit
    dtype = np.int32 if fits else np.int64
    return matrix.indptr.astype(dtype, copy=False), matrix.indices.astype(dtype, copy=False)
