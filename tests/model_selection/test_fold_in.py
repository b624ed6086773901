import numpy as np
import pytest
import scipy.sparse as sp

from recfactor.model_selection import fold_in_split


def test_fold_in_split_partitions_each_row():
    X = sp.random(50, 40, density=0.2, format="csr", random_state=0)
    visible, hidden = fold_in_split(X, holdout=0.3, random_state=1)
    np.testing.assert_allclose((visible + hidden).toarray(), X.toarray())
    assert visible.multiply(hidden).nnz == 0
    counts = np.diff(X.indptr)
    n_hidden = np.diff(hidden.indptr)
    expected = np.where(counts > 1, np.minimum(np.ceil(0.3 * counts), counts - 1), 0)
    np.testing.assert_array_equal(n_hidden, expected)
    assert (np.diff(visible.indptr)[counts > 0] >= 1).all()


def test_fold_in_split_is_deterministic_and_random():
    X = sp.random(30, 100, density=0.3, format="csr", random_state=0)
    first = fold_in_split(X, random_state=3)[1]
    assert (first != fold_in_split(X, random_state=3)[1]).nnz == 0
    assert (first != fold_in_split(X, random_state=4)[1]).nnz > 0


def test_fold_in_split_hidden_share_is_uniform_over_items():
    X = sp.csr_matrix(np.ones((2000, 5)))
    hidden = fold_in_split(X, holdout=0.2, random_state=0)[1]
    share = np.asarray(hidden.sum(axis=0)).ravel() / 2000
    np.testing.assert_allclose(share, 0.2, atol=0.03)


@pytest.mark.parametrize("holdout", [0, 1, 1.5, "0.2"])
def test_fold_in_split_rejects_bad_holdout(holdout):
    with pytest.raises(ValueError, match="holdout must be a share"):
        fold_in_split(np.ones((2, 2)), holdout=holdout)
