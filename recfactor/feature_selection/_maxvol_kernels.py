"""Greedy loops of square and rectangular maxvol, compiled by Numba.

Both loops make one pass over the rows per step, then pick the next row from per-row results.
Ties go to the lowest row, then the lowest column, as with ``np.argmax`` on the flattened
array.

The kernels are serial on purpose. A step is a few microseconds to a few milliseconds of
work, so a parallel loop synchronises its threads hundreds of times per call; on a small
machine, right after the LAPACK/BLAS calls that build the start (whose OpenBLAS threads keep
spinning for a while), that made the rectangular loop up to 50 times slower than serial, and
the square swaps, which are bound by memory bandwidth, no faster.
"""

import numpy as np

from ..utils._numba import njit


@njit
def _abs_max(row):
    """Largest ``|row[c]|``, over four running maxima so that LLVM vectorises the loop."""
    m0 = m1 = m2 = m3 = 0.0
    stop = row.shape[0] - row.shape[0] % 4
    for c in range(0, stop, 4):
        m0 = max(m0, abs(row[c]))
        m1 = max(m1, abs(row[c + 1]))
        m2 = max(m2, abs(row[c + 2]))
        m3 = max(m3, abs(row[c + 3]))
    for c in range(stop, row.shape[0]):
        m0 = max(m0, abs(row[c]))
    return max(max(m0, m1), max(m2, m3))


@njit
def _first_argmax(values):
    best = values[0]
    arg = 0
    for k in range(1, values.shape[0]):
        if values[k] > best:
            best = values[k]
            arg = k
    return arg


@njit
def _maxvol_swaps(B, pivots, tol, max_iters):
    """Swap rows into ``pivots`` while some ``|B[i, j]| > tol``, updating ``B`` in place.

    ``B`` (n, r), C-ordered, is ``A @ inv(A[pivots])``. Swapping row ``i`` in for pivot ``j``
    multiplies the volume by ``|B[i, j]|`` and changes ``B`` by the rank-1 update
    ``B -= outer(B[:, j], B[i] - e_j) / B[i, j]``, one O(n r) pass that also refreshes the
    per-row maxima used to pick the next swap; only the chosen row is searched for its
    column. Returns the number of swaps made and the largest ``|B|`` at the end.
    """
    n, r = B.shape
    row_max = np.empty(n, dtype=B.dtype)
    for k in range(n):
        row_max[k] = _abs_max(B[k])
    v = np.empty(r, dtype=B.dtype)
    n_swaps = 0
    while True:
        i = _first_argmax(row_max)
        if row_max[i] <= tol or n_swaps >= max_iters:
            return n_swaps, row_max[i]
        j = 0
        while abs(B[i, j]) != row_max[i]:
            j += 1
        inv_bij = 1.0 / B[i, j]
        # A copy, since row i itself is overwritten by the update.
        for c in range(r):
            v[c] = B[i, c]
        v[j] -= 1.0
        for k in range(n):
            f = B[k, j] * inv_bij
            # Rows with B[k, j] == 0 (the other pivots among them) do not change.
            if f != 0.0:
                row = B[k]
                for c in range(r):
                    row[c] -= f * v[c]
                row_max[k] = _abs_max(row)
        # Exact unit row, so that B[pivots] stays the identity and not merely close to it.
        for c in range(r):
            B[i, c] = 0.0
        B[i, j] = 1.0
        row_max[i] = 1.0
        pivots[j] = i
        n_swaps += 1


# Reassociation lets LLVM vectorize the dot products of the O(n r) pass (four times faster);
# the result is still deterministic on a given machine.
@njit(fastmath={"reassoc"})
def _rect_maxvol_rows(B, pivots, n_start, min_rows, max_rows, tol2):
    """Append rows to ``pivots[n_start:]`` greedily; return the final number of pivots.

    ``B`` (n, r) is the square maxvol coefficient matrix, so ``B[pivots[:n_start]]`` is the
    identity. With ``P`` the selected rows, the coefficients of the rectangular problem are
    ``C = B @ G @ B[P].T`` with ``G = inv(B[P].T @ B[P])`` (r x r), and the squared row
    norms of ``C`` are ``B[k] @ G @ B[k]``. Adding row ``i`` with ``g = G @ B[i]`` and
    ``gamma = B[i] @ g`` changes them by ``-(B[k] @ g) ** 2 / (1 + gamma)`` and ``G`` by the
    Sherman-Morrison downdate ``-outer(g, g) / (1 + gamma)``. So a step is one O(n r) pass
    over ``B``, however many rows are already selected, and ``C`` itself is never needed
    during the search. ``G`` starts at the identity and only shrinks, so it stays well
    conditioned.

    A row is added while fewer than ``min_rows`` are selected or its squared norm exceeds
    ``tol2``, and never beyond ``max_rows``.
    """
    n, r = B.shape
    norms = np.empty(n, dtype=B.dtype)
    for k in range(n):
        total = 0.0
        for c in range(r):
            total += B[k, c] * B[k, c]
        norms[k] = total
    # Selected rows are marked -inf, which every later update leaves at -inf.
    for m in range(n_start):
        norms[pivots[m]] = -np.inf
    G = np.eye(r, dtype=B.dtype)
    g = np.empty(r, dtype=B.dtype)
    n_rows = n_start
    while n_rows < max_rows:
        i = _first_argmax(norms)
        if n_rows >= min_rows and norms[i] <= tol2:
            break
        gamma = 0.0
        for a in range(r):
            total = 0.0
            for c in range(r):
                total += G[a, c] * B[i, c]
            g[a] = total
            gamma += B[i, a] * total
        scale = 1.0 / (1.0 + gamma)
        for k in range(n):
            u = 0.0
            for c in range(r):
                u += B[k, c] * g[c]
            norms[k] -= u * u * scale
        norms[i] = -np.inf
        for a in range(r):
            for c in range(r):
                G[a, c] -= scale * g[a] * g[c]
        pivots[n_rows] = i
        n_rows += 1
    return n_rows
