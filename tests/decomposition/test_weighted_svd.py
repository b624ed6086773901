import numpy as np
import pytest
import scipy.sparse as sp

from recfactor.decomposition import weighted_svd
from recfactor.decomposition._weighted_svd import identity_plus_gram_factor, scaled_rows


def _projector(U):
    return U @ U.T


@pytest.mark.parametrize("alpha", [0.2, 0.7, 1.0])
@pytest.mark.parametrize("similarity", ["cosine", "gram"])
def test_any_factor_gives_the_cholesky_results(alpha, similarity):
    rng = np.random.RandomState(0)
    X = sp.random(40, 25, density=0.3, random_state=1, format="csr")
    G = scaled_rows(sp.random(25, 6, density=0.5, random_state=2), similarity)
    S = (1 - alpha) * np.eye(25) + alpha * (G @ G.T).toarray()
    assert (G @ G.T).max() == pytest.approx(1.0)  # a similarity: the largest entry is 1
    # the dense construction of the paper: a Cholesky factor (jittered when alpha=1 makes S
    # singular)
    L = np.linalg.cholesky(S + 1e-12 * np.eye(25))
    U_ref, s_ref, _ = np.linalg.svd(X.toarray() @ L, full_matrices=False)
    B = identity_plus_gram_factor(G, alpha)
    np.testing.assert_allclose((B @ B.T).toarray(), S, atol=1e-12)
    U, s, Vt = weighted_svd(X, 5, right_weight=B, random_state=rng)
    np.testing.assert_allclose(s, s_ref[:5], rtol=1e-6)
    np.testing.assert_allclose(_projector(U), _projector(U_ref[:, :5]), atol=1e-6)
    assert Vt.shape == (5, B.shape[1])


def test_left_and_right_weights_and_the_full_rank_path():
    rng = np.random.RandomState(0)
    X, A, B = rng.rand(12, 7), rng.rand(12, 4), rng.rand(7, 3)
    product = A.T @ X @ B
    U, s, Vt = weighted_svd(X, 3, left_weight=A, right_weight=B)  # 3 = min(4, 3): dense path
    np.testing.assert_allclose(U * s @ Vt, product, atol=1e-10)
    U, s, Vt = weighted_svd(X, 2, left_weight=sp.csr_matrix(A), right_weight=B,
                            random_state=0)
    np.testing.assert_allclose(s, np.linalg.svd(product, compute_uv=False)[:2])


def test_signs_and_results_are_reproducible():
    X = sp.random(60, 30, density=0.2, random_state=0, format="csr")
    first = weighted_svd(X, 4, random_state=0)
    for a, b in zip(first, weighted_svd(X, 4, random_state=0)):
        np.testing.assert_array_equal(a, b)
    Vt = first[2]
    assert (Vt[np.arange(4), np.abs(Vt).argmax(axis=1)] > 0).all()


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"rank": 11}, "rank=11 is larger than the smaller side, 10"),
        ({"rank": 2, "right_weight": np.ones((3, 2))}, "right_weight must have 10 rows"),
        ({"rank": 2, "left_weight": np.ones((3, 2))}, "left_weight must have 20 rows"),
        ({"rank": 0}, "rank"),
    ],
)
def test_rejects_bad_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message):
        weighted_svd(np.ones((20, 10)), **kwargs)
