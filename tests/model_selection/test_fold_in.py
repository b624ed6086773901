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


def test_fold_in_split_by_time_hides_the_latest():
    X = sp.random(40, 30, density=0.3, format="csr", random_state=0)
    times = np.random.RandomState(1).permutation(X.shape[0] * X.shape[1]).reshape(X.shape)
    visible, hidden = fold_in_split(X, holdout=0.25, timestamps=times, random_state=0)
    np.testing.assert_allclose((visible + hidden).toarray(), X.toarray())
    for user in np.flatnonzero(hidden.getnnz(axis=1)):
        seen, later = times[user, visible[user].indices], times[user, hidden[user].indices]
        assert seen.max() < later.min()
    as_sparse = sp.csr_matrix(times)
    assert (fold_in_split(X, holdout=0.25, timestamps=as_sparse, random_state=0)[1]
            != hidden).nnz == 0


def test_fold_in_split_by_time_breaks_ties_at_random():
    X = sp.csr_matrix(np.ones((1, 10)))
    hidden = [fold_in_split(X, holdout=0.1, timestamps=np.zeros((1, 10)), random_state=seed)[1]
              for seed in range(5)]
    assert len({h.indices[0] for h in hidden}) > 1


def test_fold_in_split_checks_timestamps():
    X = sp.csr_matrix(np.ones((2, 3)))
    with pytest.raises(ValueError, match=r"timestamps has shape \(3, 2\)"):
        fold_in_split(X, timestamps=np.ones((3, 2)))
    with pytest.raises(ValueError, match="timestamps must be finite"):
        fold_in_split(X, timestamps=np.full((2, 3), np.nan))
