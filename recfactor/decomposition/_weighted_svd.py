"""The weighted (generalised) truncated SVD behind PureSVD, HybridSVD and the feature selectors."""

from numbers import Integral

import numpy as np
import scipy.sparse as sp
from scipy.sparse.linalg import LinearOperator, svds
from sklearn.utils._param_validation import Interval, validate_params
from sklearn.utils.extmath import svd_flip
from sklearn.utils.validation import check_random_state

__all__ = ["weighted_svd"]


@validate_params(
    {
        "X": ["array-like", "sparse matrix"],
        "rank": [Interval(Integral, 1, None, closed="left")],
        "left_weight": ["array-like", "sparse matrix", None],
        "right_weight": ["array-like", "sparse matrix", None],
        "random_state": ["random_state"],
    },
    prefer_skip_nested_validation=True,
)
def weighted_svd(X, rank, *, left_weight=None, right_weight=None, random_state=None):
    """Truncated SVD of ``A.T @ X @ B``: the SVD of ``X`` in the metrics ``A A^T`` and ``B B^T``.

    HybridSVD (Frolov & Oseledets, RecSys 2019) factorises ``L_K^T X L_S`` where
    ``K = L_K L_K^T`` and ``S = L_S L_S^T`` are similarity matrices of the rows and the
    columns. Any factor of a similarity gives the same singular values and the same singular
    vectors on the other side, since ``X B (X B)^T = X S X^T`` for every ``B`` with
    ``B B^T = S``. So instead of a Cholesky factor, pass any convenient factor, such as the
    sparse, wide ``[sqrt(1 - alpha) I, sqrt(alpha) G]`` of ``S = (1 - alpha) I + alpha G G^T``.
    The product is never formed: ARPACK only multiplies by ``X``, ``A`` and ``B``.

    Parameters
    ----------
    X : {array-like, sparse matrix} of shape (n_rows, n_columns)
        The matrix to factorise.
    rank : int
        Number of singular triplets, at most the smaller side of ``A.T @ X @ B``.
    left_weight : {array-like, sparse matrix} of shape (n_rows, p), default=None
        A factor ``A`` of the row similarity ``K = A A^T``; the identity when None.
    right_weight : {array-like, sparse matrix} of shape (n_columns, q), default=None
        A factor ``B`` of the column similarity ``S = B B^T``; the identity when None.
    random_state : int, RandomState instance or None, default=None
        Seed of the start vector of the Lanczos iterations.

    Returns
    -------
    U : ndarray of shape (p, rank)
    singular_values : ndarray of shape (rank,)
        In decreasing order.
    Vt : ndarray of shape (rank, q)
        Signs fixed so that the largest entry of each row of ``Vt`` is positive, which makes
        results reproducible.

    Examples
    --------
    >>> import numpy as np
    >>> import scipy.sparse as sp
    >>> from recfactor.decomposition import weighted_svd
    >>> rng = np.random.RandomState(0)
    >>> X, G = rng.rand(30, 8), rng.rand(8, 3)
    >>> S = 0.5 * np.eye(8) + 0.5 * G @ G.T
    >>> B = sp.hstack([np.sqrt(0.5) * sp.eye(8), np.sqrt(0.5) * G])  # B @ B.T == S
    >>> U, s, Vt = weighted_svd(X, 4, right_weight=B, random_state=0)
    >>> L = np.linalg.cholesky(S)
    >>> np.allclose(s, np.linalg.svd(X @ L, compute_uv=False)[:4])
    True
    """
    X = X if sp.issparse(X) else np.asarray(X, dtype=np.float64)
    A = _as_operand(left_weight, X.shape[0], "left_weight")
    B = _as_operand(right_weight, X.shape[1], "right_weight")
    shape = (A.shape[1] if A is not None else X.shape[0],
             B.shape[1] if B is not None else X.shape[1])
    if rank > min(shape):
        raise ValueError(f"rank={rank} is larger than the smaller side, {min(shape)}, of the "
                         f"{shape[0]} x {shape[1]} matrix to factorise.")
    if rank < min(shape):
        operator = LinearOperator(
            shape,
            matvec=lambda v: _left(A, X @ _right(B, v)),
            rmatvec=lambda v: _right_t(B, X.T @ _left_t(A, v)),
            dtype=np.float64,
        )
        start = check_random_state(random_state).uniform(-1, 1, size=min(shape))
        u, singular_values, vt = svds(operator, k=rank, v0=start)
        order = np.argsort(singular_values)[::-1]
        u, singular_values, vt = u[:, order], singular_values[order], vt[order]
    else:  # ARPACK cannot return every singular triplet: factorise the small product
        product = _left(A, X @ _right(B, np.eye(shape[1])))
        u, singular_values, vt = np.linalg.svd(np.asarray(product), full_matrices=False)
    u, vt = svd_flip(u, vt, u_based_decision=False)
    return np.ascontiguousarray(u), singular_values, np.ascontiguousarray(vt)


def _as_operand(weight, n, name):
    if weight is None:
        return None
    weight = weight.tocsr() if sp.issparse(weight) else np.asarray(weight, dtype=np.float64)
    if weight.ndim != 2 or weight.shape[0] != n:
        raise ValueError(f"{name} must have {n} rows, one per row of its side of X; got "
                         f"shape {weight.shape}.")
    return weight


def _right(B, v):
    return v if B is None else B @ v


def _right_t(B, v):
    return v if B is None else B.T @ v


def _left(A, v):
    return v if A is None else A.T @ v


def _left_t(A, v):
    return v if A is None else A @ v


def identity_plus_gram_factor(G, alpha):
    """The sparse factor ``[sqrt(1 - alpha) I, sqrt(alpha) G]`` of ``(1 - alpha) I + alpha G G^T``.

    It is wide (``n x (n + m)``) but as sparse as ``G``, and :func:`weighted_svd` needs no
    more: no Cholesky factor, and never the dense ``n x n`` similarity.
    """
    n = G.shape[0]
    return sp.hstack(
        [np.sqrt(1 - alpha) * sp.eye(n, format="csr"), np.sqrt(alpha) * sp.csr_matrix(G)],
        format="csr",
    )


def scaled_rows(G, similarity):
    """Rows scaled so that ``G G^T`` is a similarity with entries at most 1.

    ``"cosine"``: each row to unit length (a zero row stays zero). ``"gram"``: all rows by
    the largest row norm, so ``G G^T / max(G G^T)`` without forming ``G G^T``: by
    Cauchy-Schwarz its largest entry is the largest squared row norm, on the diagonal.
    """
    G = sp.csr_matrix(G, dtype=np.float64)
    norms = np.sqrt(np.asarray(G.multiply(G).sum(axis=1)).ravel())
    if similarity == "cosine":
        scale = np.divide(1.0, norms, out=np.zeros_like(norms), where=norms > 0)
    else:
        scale = np.full_like(norms, 1.0 / norms.max() if norms.max() > 0 else 0.0)
    return sp.diags(scale) @ G
