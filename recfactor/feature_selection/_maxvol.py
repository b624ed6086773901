"""Square and rectangular maximal-volume row selection of a tall matrix."""

import numbers
import warnings
from contextlib import nullcontext

import numpy as np
import scipy.sparse as sp
from scipy.linalg import cho_factor, cho_solve
from scipy.linalg.blas import dtrsm
from scipy.linalg.lapack import dgetrf
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils.validation import check_array

from ..utils._blas import blas_threads
from ._maxvol_kernels import _maxvol_swaps, _rect_maxvol_rows

__all__ = ["maxvol", "rect_maxvol"]

_FLOATS = (np.float64, np.float32)

# The square step of rect_maxvol: only a nonsingular start is needed there, so it runs with
# maxvol's defaults and its convergence is not reported.
_SQUARE_TOL = 1.05
_SQUARE_MAX_ITERS = 100

# Rounding leaves the LU diagonal entry of an exactly dependent column at up to a few hundred
# r * eps relative to the column; on full-rank random matrices it stays ~1e4 times above this,
# even in float32.
_RANK_MARGIN = 100

# Below this many entries in A, the BLAS calls run on one thread (see blas_threads).
_BLAS_THREADS_MIN_SIZE = 2**18


def _blas_threads(A):
    return nullcontext() if A.size >= _BLAS_THREADS_MIN_SIZE else blas_threads(1)


def _check_tall(A):
    """Return ``A`` as a finite float array of shape (n, r) with n >= r >= 1."""
    if sp.issparse(A):
        raise TypeError(
            "A must be a dense array; maxvol works on a tall dense matrix such as a matrix of "
            "factors. Use A.toarray() if it is small enough."
        )
    shape = np.shape(A)
    if len(shape) != 2:
        raise ValueError(
            f"A must be a 2-D array of n rows and r columns, got an array of shape {shape}."
        )
    A = check_array(A, dtype=_FLOATS, input_name="A")
    n, r = A.shape
    if n < r:
        raise ValueError(
            f"A must be tall (at least as many rows as columns), got shape {A.shape}: "
            f"{n} rows cannot hold {r} linearly independent rows. Pass A.T to select columns."
        )
    return A


def _check_tol(tol):
    if isinstance(tol, bool) or not isinstance(tol, numbers.Real) or not tol >= 1:
        raise ValueError(
            f"tol must be a real number >= 1, got {tol!r}; no submatrix can make every "
            "coefficient smaller than 1 in absolute value, so the search would never stop."
        )
    return float(tol)


def _check_count(value, name, low, high, meaning):
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise ValueError(f"{name} must be an integer, got {value!r}.")
    if not low <= value <= high:
        raise ValueError(f"{name}={value} is out of range: {meaning}.")
    return int(value)


def _lu_start(A):
    """Pivot rows of the LU of ``A`` with partial pivoting, and ``A @ inv(A[pivots])``.

    With ``A[perm] = L @ U`` (``L`` unit lower trapezoidal, n x r), ``A[perm[:r]] = L[:r] @ U``
    so ``A @ inv(A[perm[:r]])`` is ``L @ inv(L[:r])`` with its rows put back: ``U``, the factor
    that carries the conditioning of ``A``, is never inverted. Raises when a diagonal entry of
    ``U`` is negligible against its column of ``A``, which means that the column is, to the
    precision of ``A``, a combination of the columns before it.
    """
    n, r = A.shape
    lu, ipiv, _ = dgetrf(np.array(A, dtype=np.float64, order="F"), overwrite_a=True)
    eps = np.finfo(A.dtype).eps
    # Two reductions rather than np.abs(A): no temporary the size of A.
    column_scale = np.maximum(A.max(axis=0), -A.min(axis=0))
    negligible = np.abs(np.diagonal(lu)) <= _RANK_MARGIN * r * eps * column_scale
    if negligible.any():
        column = int(np.argmax(negligible))
        raise ValueError(
            f"A is numerically rank-deficient: column {column} is zero or a linear combination "
            f"of the columns before it to {A.dtype} precision (LU diagonal entry "
            f"{abs(lu[column, column]):.3g}), so every {r} x {r} submatrix is singular and no "
            "row selection is meaningful. Remove redundant columns first, for example keep "
            "the leading left singular vectors of A."
        )
    # LAPACK's ipiv is a sequence of row swaps: step k swapped rows k and ipiv[k].
    perm = np.arange(n)
    for k, other in enumerate(ipiv):
        perm[k], perm[other] = perm[other], perm[k]
    lower = np.tril(lu[:r], -1)
    lu[:r] = lower
    lu[np.arange(r), np.arange(r)] = 1.0
    coefficients = np.empty((n, r), dtype=np.float64)
    coefficients[perm] = dtrsm(1.0, lower, lu, side=1, lower=1, diag=1, overwrite_b=1)
    # Exact unit rows, as the swaps keep them.
    coefficients[perm[:r]] = np.eye(r)
    return perm[:r].astype(np.int64), coefficients


def _square_maxvol(A, tol, max_iters):
    pivots, coefficients = _lu_start(A)
    n_swaps, largest = _maxvol_swaps(coefficients, pivots, tol, max_iters)
    return pivots, coefficients, n_swaps, largest


def maxvol(A, tol=1.05, max_iters=100):
    """Rows of a tall matrix that span a submatrix of (locally) maximal volume.

    Square maxvol (Goreinov et al., 2010) selects ``r`` rows of ``A`` (n x r) whose square
    submatrix ``A[pivots]`` has a locally maximal ``|det|``: every row of ``A`` is then a
    combination of the selected rows with coefficients at most ``tol`` in absolute value.
    The search starts from the pivot rows of an LU factorization with partial pivoting,
    O(n r^2), then repeatedly swaps in the row ``i`` for the pivot ``j`` with the largest
    coefficient ``|B[i, j]|``: each swap multiplies the volume by ``|B[i, j]| > tol`` and costs
    one O(n r) rank-1 update of the coefficients ``B``.

    Parameters
    ----------
    A : array-like of shape (n, r)
        A tall matrix (``n >= r``) of full column rank, for example the leading singular
        vectors of a data matrix. Integer and float32 input is converted to float64: all the
        computations are in float64, and ``A`` itself is never modified.
    tol : float, default=1.05
        Dominance threshold, at least 1. The search stops when every ``|B[i, j]| <= tol``:
        ``A[pivots]`` is then ``tol``-dominant, its volume within a factor ``tol ** r`` of any
        single swap. ``tol=1`` searches until no swap increases the volume; slightly larger
        values stop much earlier for almost the same volume.
    max_iters : int, default=100
        Most row swaps made after the LU start; 0 returns the LU pivots.

    Returns
    -------
    pivots : ndarray of shape (r,) of int64
        Selected row indices; ``pivots[j]`` is the row that column ``j`` of ``B`` refers to.
    coefficients : ndarray of shape (n, r) of float64
        ``B = A @ inv(A[pivots])``, so that ``A = B @ A[pivots]`` up to rounding.
        ``B[pivots]`` is exactly the identity and, unless ``max_iters`` stopped the search,
        ``np.abs(B).max() <= tol``.

    Raises
    ------
    ValueError
        Before any work, for ``A`` that is not 2-D, is empty, is wide (``n < r``) or holds NaN
        or infinite values, for ``tol < 1`` and for a negative ``max_iters``. After the LU
        factorization, for numerically rank-deficient ``A``: when a diagonal entry of the LU
        factor ``U`` satisfies ``|U[j, j]| <= 100 * r * eps * max_i |A[i, j]|``, with ``eps``
        the machine precision of the input's dtype (float32 input is judged at float32
        precision), column ``j`` is a combination of the columns before it to that precision
        (the test is invariant to the scale of each column, as maxvol is). Every ``r x r``
        submatrix is then singular and a ranking of rows by volume means nothing, so this is
        an error, not a warning.
    TypeError
        For a sparse ``A``.

    Warns
    -----
    ConvergenceWarning
        When ``max_iters`` swaps were made and some ``|B[i, j]|`` still exceeds ``tol``: the
        result is valid (``A = B @ A[pivots]``) but not ``tol``-dominant.

    See Also
    --------
    rect_maxvol : Select more than ``r`` rows.

    References
    ----------
    .. [1] S. A. Goreinov, I. V. Oseledets, D. V. Savostyanov, E. E. Tyrtyshnikov and
       N. L. Zamarashkin, "How to find a good submatrix", in Matrix Methods: Theory,
       Algorithms and Applications, World Scientific, 2010, pp. 247-256.

    Examples
    --------
    >>> import numpy as np
    >>> from recfactor.feature_selection import maxvol
    >>> A = np.array([[1.0, 0.0],
    ...               [0.5, 0.5],
    ...               [0.0, 2.0],
    ...               [3.0, 1.0],
    ...               [1.0, 1.0]])
    >>> pivots, B = maxvol(A)
    >>> pivots
    array([3, 2])
    >>> B.round(3)
    array([[ 0.333, -0.167],
           [ 0.167,  0.167],
           [ 0.   ,  1.   ],
           [ 1.   ,  0.   ],
           [ 0.333,  0.333]])
    >>> np.allclose(B @ A[pivots], A)
    True
    """
    A = _check_tall(A)
    tol = _check_tol(tol)
    max_iters = _check_count(
        max_iters, "max_iters", 0, np.iinfo(np.int64).max, "it must be 0 or more"
    )
    with _blas_threads(A):
        pivots, coefficients, n_swaps, largest = _square_maxvol(A, tol, max_iters)
    if largest > tol:
        warnings.warn(
            f"maxvol stopped after max_iters={max_iters} swaps with a coefficient of "
            f"{largest:.4g} > tol={tol:g}, so A[pivots] is not yet tol-dominant; increase "
            "max_iters for a larger volume.",
            ConvergenceWarning,
            stacklevel=2,
        )
    return pivots, coefficients


def rect_maxvol(A, tol=1.1, min_rows=None, max_rows=None):
    """Rows of a tall matrix, ``r`` or more, ranked greedily by the volume they add.

    Rectangular maxvol (Mikhalev and Oseledets, 2018) starts from the ``r`` rows of square
    :func:`maxvol` (with its defaults ``tol=1.05, max_iters=100``, convergence not required)
    and then adds, one at a time, the row ``i`` not yet selected whose coefficient row
    ``C[i]`` has the largest squared norm, where ``C = A @ pinv(A[pivots])`` are the
    least-squares coefficients of every row on the selected ones. Adding that row multiplies
    the rectangular volume ``sqrt(det(A[pivots].T @ A[pivots]))`` by
    ``sqrt(1 + ||C[i]||^2)``, the largest factor available. Rows are added:

    - always, while fewer than ``min_rows`` rows are selected;
    - then while the largest squared norm ``||C[i]||^2`` exceeds ``tol ** 2``;
    - never beyond ``max_rows`` rows in all.

    So, unless ``max_rows`` stopped it, every row not selected satisfies
    ``||C[i]||_2 <= tol``. Each step costs O(n r), however many rows are selected (the
    norms are updated through an r x r matrix, see Notes), and the returned ``C`` is formed
    once at the end, O(n r K) for ``K`` rows.

    Parameters
    ----------
    A : array-like of shape (n, r)
        A tall matrix (``n >= r``) of full column rank. Integer and float32 input is converted
        to float64: all the computations are in float64, and ``A`` itself is never modified.
    tol : float, default=1.1
        Bound on the Euclidean norm of the coefficient rows of the rows left out, at least 1.
    min_rows : int, default=None
        Fewest rows to select, from ``r`` to ``max_rows``; ``None`` means ``r``. Set
        ``min_rows=max_rows=K`` to select exactly ``K`` rows whatever ``tol``.
    max_rows : int, default=None
        Most rows to select, from ``r`` to ``n``; ``None`` means ``n``.

    Returns
    -------
    pivots : ndarray of shape (K,) of int64
        Selected row indices in the order they were chosen: the ``r`` rows of
        ``maxvol(A)[0]`` (in its order) first, then each added row in turn. The order is a
        ranking, so ``pivots[:m]`` for ``m >= r`` is the selection the same call would
        have made with ``min_rows=max_rows=m``.
    coefficients : ndarray of shape (n, K) of float64
        ``C = A @ pinv(A[pivots])``, column ``k`` referring to row ``pivots[k]``, so that
        ``A = C @ A[pivots]`` up to rounding. ``C[pivots]`` is the orthogonal projector onto
        the column space of ``A[pivots]`` (the identity when ``K == r``).

    Raises
    ------
    ValueError
        Before any work, for ``A`` that is not 2-D, is empty, is wide (``n < r``) or holds NaN
        or infinite values, for ``tol < 1``, and for ``min_rows`` or ``max_rows`` out of
        range (``min_rows < r``, ``max_rows > n``, ``max_rows < r`` or
        ``min_rows > max_rows``). After the LU factorization, for numerically rank-deficient
        ``A`` (see :func:`maxvol`): the square start is then singular and the ranking would
        mean nothing.
    TypeError
        For a sparse ``A``.

    See Also
    --------
    maxvol : Select exactly ``r`` rows.

    Notes
    -----
    Write ``B`` for the square maxvol coefficients (``A = B @ A[P0]``, ``B[P0] = I``). Then
    ``C = B @ pinv(B[P])`` and the squared row norms of ``C`` are ``B[k] @ G @ B[k]`` with
    ``G = inv(B[P].T @ B[P])``. Adding row ``i`` updates them by
    ``-(B[k] @ G @ B[i]) ** 2 / (1 + ||C[i]||^2)`` and ``G`` by a rank-1 Sherman-Morrison
    downdate. This is the same greedy choice as the update of ``C`` itself,
    ``C <- [C - outer(C @ c, c) / (1 + c @ c), C @ c / (1 + c @ c)]`` with ``c = C[i]``,
    but without touching an n x K matrix at each step.

    References
    ----------
    .. [1] A. Mikhalev and I. V. Oseledets, "Rectangular maximum-volume submatrices and their
       applications", Linear Algebra and its Applications 538 (2018), pp. 187-211.

    Examples
    --------
    >>> import numpy as np
    >>> from recfactor.feature_selection import rect_maxvol
    >>> A = np.array([[2.0, 0.0],
    ...               [0.0, 1.0],
    ...               [1.0, 1.0],
    ...               [2.0, -1.0],
    ...               [1.5, 0.5],
    ...               [0.0, 0.5]])
    >>> pivots, C = rect_maxvol(A, tol=1.1)
    >>> pivots
    array([0, 1, 3])
    >>> np.allclose(C @ A[pivots], A)
    True
    >>> (C ** 2).sum(axis=1).round(3)  # at most tol ** 2 = 1.21 off the pivots
    array([0.667, 0.667, 1.167, 0.667, 0.792, 0.167])

    A fixed number of rows, ranked:

    >>> rect_maxvol(A, min_rows=5, max_rows=5)[0]
    array([0, 1, 3, 2, 4])
    """
    A = _check_tall(A)
    tol = _check_tol(tol)
    n, r = A.shape
    max_rows = n if max_rows is None else _check_count(
        max_rows, "max_rows", r, n,
        f"it must lie between the {r} columns of A and its {n} rows",
    )
    min_rows = r if min_rows is None else _check_count(
        min_rows, "min_rows", r, max_rows,
        f"it must lie between the {r} columns of A and max_rows={max_rows}",
    )
    with _blas_threads(A):
        pivots, coefficients, _, _ = _square_maxvol(A, _SQUARE_TOL, _SQUARE_MAX_ITERS)
        selected = np.empty(max_rows, dtype=np.int64)
        selected[:r] = pivots
        n_rows = _rect_maxvol_rows(coefficients, selected, r, min_rows, max_rows, tol * tol)
        selected = selected[:n_rows]
        if n_rows == r:
            return selected, coefficients
        # C = B @ pinv(B[P]) by the normal equations, safe here: B[P] contains the identity
        # rows B[P0], so the eigenvalues of its Gram matrix are at least 1.
        basis = coefficients[selected]
        factor = cho_factor(basis.T @ basis)
        return selected, coefficients @ cho_solve(factor, basis.T)
