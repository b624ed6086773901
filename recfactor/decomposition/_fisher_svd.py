"""Fisher-weighted low-rank compression of a weight matrix: GFWSVD, FWSVD and plain SVD."""

from numbers import Integral, Real

import numpy as np
from scipy.sparse.linalg import LinearOperator, svds
from sklearn.utils._param_validation import Interval, StrOptions, validate_params
from sklearn.utils.validation import check_random_state

from ._weighted_svd import weighted_svd

__all__ = ["fisher_weighted_svd", "kronecker_fisher"]

# Entries up to which the rearranged Fisher is built densely rather than solved by ARPACK.
_DENSE_ENTRIES = 2**16


@validate_params(
    {
        "gradients": ["array-like"],
        "shrinkage": [Interval(Real, 0, 1, closed="both")],
        "random_state": ["random_state"],
    },
    prefer_skip_nested_validation=True,
)
def kronecker_fisher(gradients, *, shrinkage=0.1, random_state=None):
    """Kronecker factors ``C`` and ``B`` of the empirical Fisher of a weight matrix.

    The empirical Fisher of ``W`` (m x n) from per-batch gradients ``G_k`` is
    ``F = (1/K) sum_k vec(G_k) vec(G_k)^T`` (column-major ``vec``), of size mn x mn. Its best
    Kronecker approximation ``B (x) C`` in the Frobenius norm (Van Loan & Pitsianis) is the
    best rank-one approximation of the rearranged ``F``, whose products are
    ``V -> (1/K) sum_k G_k^T V G_k`` (m x m to n x n) and its transpose
    ``U -> (1/K) sum_k G_k U G_k^T``: ARPACK finds the top singular pair from those alone,
    so ``F`` is never formed. The two factors are symmetrised, given the sign that makes
    their traces positive, and shrunk towards the identity,
    ``(1 - shrinkage) C + shrinkage tr(C) / m I`` (likewise ``B``), with any eigenvalue
    left below ``1e-8 tr / m`` raised to it, so that both are positive definite.

    Parameters
    ----------
    gradients : array-like of shape (n_batches, m, n)
        Gradients of the loss with respect to ``W``, one per batch.
    shrinkage : float in [0, 1], default=0.1
        Weight of the identity in each factor.
    random_state : int, RandomState instance or None, default=None
        Seed of the start vector of the Lanczos iterations.

    Returns
    -------
    C : ndarray of shape (m, m)
        Row factor, symmetric positive definite.
    B : ndarray of shape (n, n)
        Column factor, symmetric positive definite. Each is defined up to a positive scale;
        only their product is the Fisher's, and :func:`fisher_weighted_svd` does not depend
        on the scales.

    Examples
    --------
    >>> import numpy as np
    >>> from recfactor.decomposition import kronecker_fisher
    >>> rng = np.random.default_rng(0)
    >>> C, B = kronecker_fisher(rng.normal(size=(50, 4, 3)), random_state=0)
    >>> C.shape, B.shape, bool(np.all(np.linalg.eigvalsh(C) > 0))
    ((4, 4), (3, 3), True)
    """
    C, B = _kronecker_fisher_roots(gradients, shrinkage, random_state)
    return C.dense(), B.dense()


def _kronecker_fisher_roots(gradients, shrinkage, random_state):
    """:func:`kronecker_fisher`'s factors as :class:`_SymmetricFactor`, never dense."""
    G = np.asarray(gradients, dtype=np.float64)
    if G.ndim != 3 or G.shape[0] < 1 or min(G.shape[1:]) < 1:
        raise ValueError(
            "gradients must have shape (n_batches, m, n) with at least one batch, got shape "
            f"{G.shape}."
        )
    if not np.isfinite(G).all():
        raise ValueError("gradients contain NaN or infinity.")
    n_batches, m, n = G.shape
    # Every G_k is Q H_k P^T for orthonormal bases Q of their column spaces and P of their
    # row spaces. The Fisher's top Kronecker pair is then Q C_H Q^T (x) P B_H P^T, C_H and
    # B_H the pair of the small H_k: exact, and what makes a table of thousands of rows
    # (an item embedding) affordable, since Q has at most K n columns.
    rows_basis = _span_basis(G)
    if rows_basis is not None:
        G = rows_basis.T @ G
    columns_basis = _span_basis(G.transpose(0, 2, 1))
    if columns_basis is not None:
        G = G @ columns_basis
    C, B = _top_kronecker_pair(G, random_state)
    return (_positive_definite(C, shrinkage, rows_basis, m),
            _positive_definite(B, shrinkage, columns_basis, n))


def _span_basis(G):
    """Orthonormal basis (m x p) of the column spaces of the ``G_k``; None unless p < m."""
    n_batches, m, n = G.shape
    if n_batches * n >= m:
        return None
    basis, _ = np.linalg.qr(G.transpose(1, 0, 2).reshape(m, n_batches * n))
    return basis


def _top_kronecker_pair(G, random_state):
    """``(C, B)``, unsymmetrised: the top singular pair of the rearranged Fisher of ``G``."""
    n_batches, m, n = G.shape
    # Two batched products each, O(K m n (m + n)); never an (m n)-sized intermediate.
    G_T = G.transpose(0, 2, 1)

    def rows_to_columns(v):  # vec(V), V m x m -> vec((1/K) sum G_k^T V G_k), n x n
        V = v.reshape(m, m, order="F")
        return ((G_T @ (V @ G)).sum(axis=0) / n_batches).ravel(order="F")

    def columns_to_rows(u):  # vec(U), U n x n -> vec((1/K) sum G_k U G_k^T), m x m
        U = u.reshape(n, n, order="F")
        return (((G @ U) @ G_T).sum(axis=0) / n_batches).ravel(order="F")

    if min(n * n, m * m) == 1 or n * n * m * m <= _DENSE_ENTRIES:
        # Small enough to build from its columns; ARPACK needs both sides above 1.
        rearranged = np.column_stack([rows_to_columns(e) for e in np.eye(m * m)])
        u, s, vt = np.linalg.svd(rearranged, full_matrices=False)
    else:
        rearranged = LinearOperator((n * n, m * m), matvec=rows_to_columns,
                                    rmatvec=columns_to_rows, dtype=np.float64)
        start = check_random_state(random_state).uniform(-1, 1, min(n * n, m * m))
        u, s, vt = svds(rearranged, k=1, v0=start)
    B_vec, C_vec = u[:, 0] * np.sqrt(s[0]), vt[0] * np.sqrt(s[0])
    return C_vec.reshape(m, m, order="F"), B_vec.reshape(n, n, order="F")


def _positive_definite(factor, shrinkage, basis, size):
    """The shrunk, floored factor of :func:`kronecker_fisher`, of shape (size, size).

    ``factor`` is the factor itself, or with a ``basis`` (size x p) its p x p coordinates
    in that basis: the factor is zero outside the basis, where shrinkage alone puts weight.
    """
    factor = (factor + factor.T) / 2
    if np.trace(factor) < 0:
        factor = -factor
    scale = max(np.trace(factor) / size, np.finfo(np.float64).tiny)
    values, vectors = np.linalg.eigh(factor)
    floor = 1e-8 * scale
    values = np.maximum((1 - shrinkage) * values + shrinkage * scale, floor)
    return _SymmetricFactor(values, vectors, basis, max(shrinkage * scale, floor), size)


class _SymmetricFactor:
    """``Q diag(values) Q^T + outside (I - Q Q^T)`` with ``Q = basis @ vectors`` orthonormal.

    Without a basis, ``Q = vectors`` spans everything. Its powers keep that form, so
    products with them cost ``O(size p)`` per column, for p the basis's columns, instead of
    the ``O(size^3)`` of a dense Cholesky factor.
    """

    def __init__(self, values, vectors, basis, outside, size):
        self.values, self.vectors, self.basis = values, vectors, basis
        self.outside, self.size = outside, size

    def power_times(self, X, exponent):
        """``factor^exponent @ X``."""
        if self.basis is None:
            return self.vectors @ ((self.values ** exponent)[:, None] * (self.vectors.T @ X))
        coordinates = self.basis.T @ X
        inside = self.vectors @ ((self.values ** exponent)[:, None]
                                 * (self.vectors.T @ coordinates))
        return self.basis @ (inside - self.outside ** exponent * coordinates) + (
            self.outside ** exponent * X)

    def dense(self):
        return self.power_times(np.eye(self.size), 1)

    @classmethod
    def from_dense(cls, factor, name):
        values, vectors = np.linalg.eigh(factor)
        if not values.min() > 0:
            raise ValueError(f"The Fisher factor {name} is not symmetric positive definite.")
        return cls(values, vectors, None, None, factor.shape[0])


@validate_params(
    {
        "W": ["array-like"],
        "rank": [Interval(Integral, 1, None, closed="left")],
        "method": [StrOptions({"gfwsvd", "fwsvd", "svd"})],
        "gradients": ["array-like", None],
        "fisher_factors": [tuple, None],
        "shrinkage": [Interval(Real, 0, 1, closed="both")],
        "random_state": ["random_state"],
    },
    prefer_skip_nested_validation=True,
)
def fisher_weighted_svd(W, rank, *, method="gfwsvd", gradients=None, fisher_factors=None,
                        shrinkage=0.1, random_state=None):
    """Rank-``rank`` factors of ``W`` that keep what the loss is sensitive to.

    The loss grows, to second order, by ``vec(dW)^T F vec(dW)`` for a change ``dW`` of the
    weights, ``F`` the Fisher. With the Kronecker approximation ``F ~ B (x) C`` that is
    ``tr(dW^T C dW B)``, and the rank-``r`` matrix minimising ``tr((W - W_r)^T C (W - W_r)
    B)`` is exact: with ``C = L_C L_C^T`` and ``B = L_B L_B^T``, take the truncated SVD
    ``U S V^T`` of ``T = L_C^T W L_B`` and map it back, ``W_r = (L_C^{-T} U S)(V^T
    L_B^{-1})`` (Generalized Fisher-Weighted SVD, 2025). The paper's ``L`` are Cholesky
    factors; any factor gives the same ``W_r``, and the symmetric square roots used here
    keep the structure of the estimated factors.
    ``method="fwsvd"`` is the diagonal special case of Hsu et al. (ICLR 2022): ``C`` holds
    each row's summed squared gradients and ``B = I``; ``method="svd"`` is plain truncated
    SVD (``C = B = I``).

    ``"svd"`` and ``"fwsvd"`` cost a truncated SVD of ``W`` (row-scaled for ``"fwsvd"``).
    ``"gfwsvd"`` from gradients estimates ``C`` within the span of the gradients' columns
    (``p <= K n`` directions for K batches, the identity outside) and likewise ``B``, and
    never forms either: ``O(m p^2)`` time for the span and ``O(m p)`` memory beyond the
    gradients. With ``fisher_factors``, the dense factors are decomposed, ``O(m^3 + n^3)``.

    Parameters
    ----------
    W : array-like of shape (m, n)
        The weight matrix.
    rank : int
        Rank of the result, at most ``min(m, n)``.
    method : {"gfwsvd", "fwsvd", "svd"}, default="gfwsvd"
    gradients : array-like of shape (n_batches, m, n), default=None
        Per-batch gradients of the loss with respect to ``W``: the Fisher is estimated from
        them (:func:`kronecker_fisher` for "gfwsvd"). Needed by "fwsvd", and by "gfwsvd"
        unless ``fisher_factors`` is given.
    fisher_factors : tuple of (C, B), default=None
        Symmetric positive definite Kronecker factors (m x m, n x n) for "gfwsvd", instead of
        ``gradients``.
    shrinkage : float in [0, 1], default=0.1
        Identity weight of the estimated factors (see :func:`kronecker_fisher`); for
        "fwsvd", the row weights are shrunk the same way towards their mean.
    random_state : int, RandomState instance or None, default=None
        Seed of the Lanczos start vectors.

    Returns
    -------
    left : ndarray of shape (m, rank)
    right : ndarray of shape (rank, n)
        ``left @ right`` is the compressed ``W``: ``rank * (m + n)`` numbers instead of
        ``m * n``. Column ``j`` of ``left`` and row ``j`` of ``right`` have the same norm.

    Examples
    --------
    >>> import numpy as np
    >>> from recfactor.decomposition import fisher_weighted_svd
    >>> rng = np.random.default_rng(0)
    >>> W = rng.normal(size=(6, 5))
    >>> left, right = fisher_weighted_svd(W, 2, method="svd")
    >>> U, s, Vt = np.linalg.svd(W)
    >>> bool(np.allclose(left @ right, (U[:, :2] * s[:2]) @ Vt[:2]))
    True
    >>> C, B = np.diag([4.0, 1, 1, 1, 1, 1]), np.eye(5)  # the first row matters most
    >>> left, right = fisher_weighted_svd(W, 2, fisher_factors=(C, B))
    >>> def weighted_error(approximation):
    ...     error = W - approximation
    ...     return np.trace(error.T @ C @ error @ B)
    >>> bool(weighted_error(left @ right) < weighted_error((U[:, :2] * s[:2]) @ Vt[:2]))
    True
    """
    W = np.asarray(W, dtype=np.float64)
    if W.ndim != 2:
        raise ValueError(f"W must be a 2-D matrix, got shape {W.shape}.")
    m, n = W.shape
    if rank > min(m, n):
        raise ValueError(f"rank={rank} is larger than the smaller side, {min(m, n)}, of the "
                         f"{m} x {n} matrix W.")
    if method == "svd":
        U, s, Vt = weighted_svd(W, rank, random_state=random_state)
        left, right = U * s, Vt
    elif method == "fwsvd":
        G = _check_gradients(gradients, W.shape, method)
        weights = (G ** 2).sum(axis=(0, 2))
        weights = (1 - shrinkage) * weights + shrinkage * weights.mean()
        if not weights.min() > 0:
            raise ValueError("fwsvd needs a nonzero gradient in every row of W (or shrinkage "
                             "above 0).")
        # C = diag(weights), B = I: the triangular factors are the row scales themselves.
        roots = np.sqrt(weights)[:, None]
        U, s, Vt = weighted_svd(roots * W, rank, random_state=random_state)
        left, right = U * s / roots, Vt
    else:
        if fisher_factors is not None:
            C, B = (np.asarray(factor, dtype=np.float64) for factor in fisher_factors)
            if C.shape != (m, m) or B.shape != (n, n):
                raise ValueError(f"fisher_factors must be (C, B) of shapes ({m}, {m}) and "
                                 f"({n}, {n}) for W of shape {W.shape}, got {C.shape} and "
                                 f"{B.shape}.")
            C, B = _SymmetricFactor.from_dense(C, "C"), _SymmetricFactor.from_dense(B, "B")
        else:
            C, B = _kronecker_fisher_roots(_check_gradients(gradients, W.shape, method),
                                           shrinkage, random_state)
        T = B.power_times(C.power_times(W, 0.5).T, 0.5).T
        U, s, Vt = weighted_svd(T, rank, random_state=random_state)
        left = C.power_times(U * s, -0.5)
        right = B.power_times(Vt.T, -0.5).T
    # Each component split evenly between the factors: the Fisher's scale (tiny gradients
    # give huge inverse weights) would otherwise sit in one of them, and a fine-tune by
    # Adam, whose steps ignore a parameter's scale, wrecks the other.
    balance = np.sqrt(np.linalg.norm(right, axis=1) / np.maximum(
        np.linalg.norm(left, axis=0), np.finfo(np.float64).tiny))
    balance[balance == 0] = 1.0
    return left * balance, right / balance[:, None]


def _check_gradients(gradients, shape, method):
    if gradients is None:
        raise ValueError(f'method="{method}" needs the gradients of W (or, for gfwsvd, '
                         "fisher_factors).")
    G = np.asarray(gradients, dtype=np.float64)
    if G.ndim != 3 or G.shape[1:] != shape:
        raise ValueError(f"gradients must have shape (n_batches, {shape[0]}, {shape[1]}) for W "
                         f"of shape {shape}, got {G.shape}.")
    return G
