"""EASE: a closed-form item-item linear autoencoder."""

from numbers import Integral, Real

import numpy as np
from scipy.linalg import lapack
from sklearn.base import BaseEstimator, _fit_context
from sklearn.utils._param_validation import Interval

from ..base import UserRecommenderMixin
from ..metrics._top_k import _top_k
from ..utils import check_interactions
from ..utils._blocks import row_blocks, rows_per_block
from ..utils._validation import _check_k

__all__ = ["EASE"]

# Rows of X (for scores) or columns of the Gram matrix (while building it) handled at a time.
_BLOCK = 1024


class EASE(UserRecommenderMixin, BaseEstimator):
    """Embarrassingly Shallow Autoencoder (Steck, WWW 2019).

    An item x item weight matrix ``B`` with a zero diagonal reconstructs each user's row,
    ``scores = x B``. Its ridge-regression objective
    ``||X - X B||^2 + l2 ||B||^2`` subject to ``diag(B) = 0`` has the closed form
    ``B = I - P / diag(P)`` (each column ``j`` divided by ``P_jj``) with
    ``P = (X^T X + l2 I)^-1`` [1]_. Users are samples, and any user is scored from their row
    alone, so users unseen in ``fit`` need nothing special.

    Parameters
    ----------
    l2 : float, default=500.0
        Ridge penalty (the paper's ``lambda``). Large values bring ``B`` close to the
        co-occurrence counts ``X^T X / l2``; small ones fit the regression closely and can
        overfit. Good values grow with the number of users.
    max_items : int, default=20000
        Memory guard: ``fit`` refuses more items than this. The fit holds one dense
        n_items x n_items float64 matrix, ``8 * n_items**2`` bytes (3.2 GB at 20,000 items),
        in which the Gram matrix is built, factorised, inverted and turned into ``B`` in
        place; nothing else of that size is allocated. Raise it when the memory is there.

    Attributes
    ----------
    weights_ : ndarray of shape (n_items, n_items)
        The paper's ``B``: ``weights_[i, j]`` is how much an interaction with item ``i``
        raises the score of item ``j``; the diagonal is zero.
    n_features_in_ : int
        Number of items.

    See Also
    --------
    ALS : Low-rank alternative whose memory grows linearly with the number of items.
    PureSVD : Low-rank projection, exact and deterministic.

    Notes
    -----
    ``predict`` is the dense ``X @ weights_``. ``recommend`` (and so ``score``) computes it
    1024 users at a time, so its memory is O(1024 x n_items) however many users there are.

    References
    ----------
    .. [1] H. Steck, "Embarrassingly Shallow Autoencoders for Sparse Data", The Web
       Conference (WWW), 2019.

    Examples
    --------
    >>> from recfactor.datasets import make_interactions
    >>> from recfactor.decomposition import EASE
    >>> X = make_interactions(n_users=100, n_items=50, random_state=0)
    >>> model = EASE(l2=10.0).fit(X)
    >>> model.weights_.shape
    (50, 50)
    >>> float(abs(model.weights_.diagonal()).max())
    0.0
    >>> model.recommend(X[:2], k=3).shape
    (2, 3)
    """

    _parameter_constraints = {
        "l2": [Interval(Real, 0, None, closed="neither")],
        "max_items": [Interval(Integral, 1, None, closed="left")],
    }

    def __init__(self, l2=500.0, *, max_items=20_000):
        self.l2 = l2
        self.max_items = max_items

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None):
        """Solve for the item x item weights in closed form.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_users, n_items)
            Interactions; the weights are used as given.
        y : None
            Ignored.

        Returns
        -------
        self : EASE

        Raises
        ------
        ValueError
            When X has more than ``max_items`` items (the message gives the memory needed),
            or when ``l2`` is too small for ``X^T X + l2 I`` to be numerically invertible.
        """
        X = check_interactions(X, estimator=self)
        n_items = X.shape[1]
        if n_items > self.max_items:
            gigabytes = 8 * n_items**2 / 1e9
            raise ValueError(
                f"EASE needs a dense {n_items} x {n_items} float64 matrix ({gigabytes:.1f} GB) "
                f"for the {n_items} items of X, more than max_items={self.max_items} allows. "
                "Keep fewer items (for example the most popular ones), use a low-rank model "
                "(ALS, PureSVD), or raise max_items if that much memory is available."
            )
        weights = _gram(X)
        weights.flat[:: n_items + 1] += self.l2
        if not _invert_spd_in_place(weights):
            raise ValueError(
                f"X^T X + l2 I is not numerically positive definite: l2={self.l2:g} is too "
                "small for the scale of the interaction weights; increase it."
            )
        # B_ij = -P_ij / P_jj off the diagonal, 0 on it.
        weights /= -weights.diagonal().copy()
        np.fill_diagonal(weights, 0.0)
        self.weights_ = weights
        return self

    def recommend(self, X, k=10, exclude_seen=True):
        """Top-k items for each user of ``X``, best first, scored a bounded block of users at a time.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_users, n_items)
            The users' interactions.
        k : int, default=10
            Number of items per user.
        exclude_seen : bool, default=True
            Never recommend an item the user has interacted with in ``X``.

        Returns
        -------
        items : ndarray of shape (n_users, k) of int64
            Item ids; -1 pads rows with fewer than ``k`` items left to recommend.
        """
        k = _check_k(k)
        X = self._validated_rows(X)
        items = np.empty((X.shape[0], k), dtype=np.int64)
        for block in row_blocks(X.shape[0], rows_per_block(self.weights_.shape[0])):
            rows = X[block]
            items[block] = _top_k(rows @ self.weights_, k,
                                  exclude=rows if exclude_seen else None, first_row=block.start)
        return items

    def _factors(self, X):
        # Only predict uses this (recommend is blocked above): the sparse rows times
        # item_factors.T = B never densify X.
        return X, self.weights_.T


def _gram(X):
    """Dense ``X^T X`` in float64, built a block of columns at a time.

    The sparse product of the whole matrix can be as dense as the result and costs more
    bytes per entry, so only one block of it exists at a time.
    """
    n_items = X.shape[1]
    columns = X.tocsc().astype(np.float64, copy=False)
    transposed = columns.T.tocsr()
    gram = np.empty((n_items, n_items))
    for block in row_blocks(n_items, _BLOCK):
        gram[:, block] = (transposed @ columns[:, block]).toarray()
    return gram


def _invert_spd_in_place(matrix):
    """Overwrite a symmetric positive definite C-ordered matrix with its inverse.

    Cholesky factorisation and inversion by LAPACK (potrf, potri) on the matrix's own
    memory, so the inverse needs no second n x n array. Returns False, leaving the matrix
    overwritten, when it is not numerically positive definite.
    """
    # The matrix is symmetric, so its transpose (a Fortran-ordered view of the same memory)
    # is the same matrix; given a Fortran-ordered float64 array and overwrite, LAPACK
    # works in it without a copy.
    view = matrix.T
    factor, info = lapack.dpotrf(view, lower=False, clean=False, overwrite_a=True)
    if info == 0:
        _, info = lapack.dpotri(factor, lower=False, overwrite_c=True)
    if info != 0:
        return False
    # potri filled the upper triangle of the Fortran view: the lower triangle of `matrix`.
    n = matrix.shape[0]
    for rows in row_blocks(n, _BLOCK):
        start, stop = rows.start, rows.stop
        matrix[start:stop, stop:] = matrix[stop:, start:stop].T
        block = matrix[start:stop, start:stop]
        upper = np.triu_indices(stop - start, 1)
        block[upper] = block.T[upper]
    return True
