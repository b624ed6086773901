"""Fisher-weighted SVD against dense references on small matrices."""

import numpy as np
import pytest
from sklearn.utils._param_validation import InvalidParameterError

from recfactor.decomposition import fisher_weighted_svd, kronecker_fisher


def random_spd(size, rng):
    A = rng.normal(size=(size, size))
    return A @ A.T + 0.5 * np.eye(size)


def weighted_error(W, approximation, C, B):
    error = W - approximation
    return np.trace(error.T @ C @ error @ B)


def reference_weighted_low_rank(W, rank, C, B):
    """The minimiser through symmetric square roots instead of Cholesky factors."""
    def sqrt(M):
        values, vectors = np.linalg.eigh(M)
        return (vectors * np.sqrt(values)) @ vectors.T

    root_C, root_B = sqrt(C), sqrt(B)
    U, s, Vt = np.linalg.svd(root_C @ W @ root_B)
    T_r = (U[:, :rank] * s[:rank]) @ Vt[:rank]
    return np.linalg.solve(root_C, T_r) @ np.linalg.inv(root_B)


@pytest.mark.parametrize("shape, rank", [((7, 5), 2), ((4, 9), 3), ((6, 6), 6)])
def test_the_result_minimises_the_kronecker_weighted_error(shape, rank):
    rng = np.random.default_rng(0)
    W = rng.normal(size=shape)
    C, B = random_spd(shape[0], rng), random_spd(shape[1], rng)
    left, right = fisher_weighted_svd(W, rank, fisher_factors=(C, B), random_state=0)
    assert left.shape == (shape[0], rank) and right.shape == (rank, shape[1])
    expected = reference_weighted_low_rank(W, rank, C, B)
    np.testing.assert_allclose(left @ right, expected, atol=1e-8)
    best = weighted_error(W, left @ right, C, B)
    # No other rank-r matrix does better: plain SVD's, and random perturbations of the result.
    U, s, Vt = np.linalg.svd(W)
    assert best <= weighted_error(W, (U[:, :rank] * s[:rank]) @ Vt[:rank], C, B) + 1e-9
    for _ in range(20):
        other = (left + 0.01 * rng.normal(size=left.shape)) @ (
            right + 0.01 * rng.normal(size=right.shape))
        assert best <= weighted_error(W, other, C, B) + 1e-12


def test_identity_factors_give_the_plain_truncated_svd():
    rng = np.random.default_rng(1)
    W = rng.normal(size=(8, 6))
    U, s, Vt = np.linalg.svd(W)
    expected = (U[:, :3] * s[:3]) @ Vt[:3]
    for left, right in [fisher_weighted_svd(W, 3, fisher_factors=(np.eye(8), np.eye(6))),
                        fisher_weighted_svd(W, 3, method="svd")]:
        np.testing.assert_allclose(left @ right, expected, atol=1e-10)


def dense_kronecker_factors(G):
    """Reference: the rearranged Fisher built densely, its top singular pair."""
    n_batches, m, n = G.shape
    vectors = G.transpose(0, 2, 1).reshape(n_batches, m * n)  # column-major vec(G_k)
    F = vectors.T @ vectors / n_batches
    # Row (i, j) of the rearrangement is vec of the (i, j) m x m block of F.
    rearranged = np.array([F[i * m:(i + 1) * m, j * m:(j + 1) * m].ravel(order="F")
                           for j in range(n) for i in range(n)])
    u, s, vt = np.linalg.svd(rearranged, full_matrices=False)
    B = (u[:, 0] * np.sqrt(s[0])).reshape(n, n, order="F")
    C = (vt[0] * np.sqrt(s[0])).reshape(m, m, order="F")
    return (C, B) if np.trace(C) > 0 else (-C, -B), np.kron(B, C), F


# (3, 4): the rearranged Fisher is built densely; (17, 16): 289 x 256 entries, ARPACK.
@pytest.mark.parametrize("shape", [(3, 4), (17, 16)])
def test_kronecker_factors_are_the_best_kronecker_approximation_of_the_fisher(shape):
    rng = np.random.default_rng(2)
    L_C, L_B = rng.normal(size=(shape[0],) * 2), rng.normal(size=(shape[1],) * 2)
    G = np.einsum("ab,kbc,dc->kad", L_C, rng.normal(size=(200, *shape)), L_B)
    (C_ref, B_ref), kron_ref, F = dense_kronecker_factors(G)
    C, B = kronecker_fisher(G, shrinkage=0.0, random_state=0)
    # The same product (each factor is defined up to a scale), and no worse a fit of F.
    np.testing.assert_allclose(np.kron(B, C), kron_ref, rtol=1e-6, atol=1e-8)
    assert np.allclose(C / C[0, 0], C_ref / C_ref[0, 0], atol=1e-6)
    # Shrinkage moves each factor towards its mean diagonal and keeps it positive definite.
    C_shrunk, _ = kronecker_fisher(G, shrinkage=0.5, random_state=0)
    expected = 0.5 * C + 0.5 * np.trace(C) / shape[0] * np.eye(shape[0])
    np.testing.assert_allclose(C_shrunk, expected, rtol=1e-6)
    assert np.linalg.eigvalsh(C_shrunk).min() > 0


# Fewer batches than a side needs: the factors are computed in the span of the gradients'
# columns (20 x 3 from 4 batches: 12 < 20) or of their rows (3 x 20); 100 x 12 from 2
# batches, reduced to 24 x 12, is still ARPACK's size.
@pytest.mark.parametrize("shape, n_batches", [((20, 3), 4), ((3, 20), 4), ((100, 12), 2)])
def test_kronecker_factors_in_the_span_of_few_gradients_are_the_dense_ones(shape, n_batches):
    rng = np.random.default_rng(3)
    G = rng.normal(size=(n_batches, *shape))
    _, kron_ref, _ = dense_kronecker_factors(G)
    C, B = kronecker_fisher(G, shrinkage=0.0, random_state=0)
    np.testing.assert_allclose(np.kron(B, C), kron_ref, atol=1e-6 * np.abs(kron_ref).max())
    C_shrunk, B_shrunk = kronecker_fisher(G, shrinkage=0.5, random_state=0)
    for shrunk, factor in [(C_shrunk, C), (B_shrunk, B)]:
        size = factor.shape[0]
        expected = 0.5 * factor + 0.5 * np.trace(factor) / size * np.eye(size)
        np.testing.assert_allclose(shrunk, expected, atol=1e-6 * np.abs(expected).max())
        assert np.linalg.eigvalsh(shrunk).min() > 0


def test_gfwsvd_from_gradients_beats_svd_on_the_fisher_weighted_error():
    rng = np.random.default_rng(3)
    W = rng.normal(size=(10, 8))
    # Gradients much larger on the first rows and columns: the loss cares about those.
    scale_rows = np.diag(np.r_[10.0, 10, np.ones(8)])
    scale_columns = np.diag(np.r_[5.0, np.ones(7)])
    G = np.einsum("ab,kbc,cd->kad", scale_rows, rng.normal(size=(300, 10, 8)), scale_columns)
    C, B = kronecker_fisher(G, shrinkage=0.0, random_state=0)
    errors = {method: weighted_error(W, np.matmul(*fisher_weighted_svd(
        W, 3, method=method, gradients=G, shrinkage=0.0, random_state=0)), C, B)
        for method in ("gfwsvd", "fwsvd", "svd")}
    assert errors["gfwsvd"] < errors["fwsvd"] < errors["svd"]


def test_fwsvd_is_the_svd_weighted_by_row_squared_gradients():
    rng = np.random.default_rng(4)
    W, G = rng.normal(size=(6, 4)), rng.normal(size=(10, 6, 4))
    weights = (G ** 2).sum(axis=(0, 2))
    root = np.sqrt(weights)
    U, s, Vt = np.linalg.svd(root[:, None] * W)
    expected = ((U[:, :2] * s[:2]) @ Vt[:2]) / root[:, None]
    left, right = fisher_weighted_svd(W, 2, method="fwsvd", gradients=G, shrinkage=0.0)
    np.testing.assert_allclose(left @ right, expected, atol=1e-10)


def test_parameter_count_is_rank_times_both_sides():
    W = np.random.default_rng(5).normal(size=(30, 20))
    left, right = fisher_weighted_svd(W, 4, method="svd")
    assert left.size + right.size == 4 * (30 + 20) < W.size


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        ({"rank": 7}, ValueError, "rank=7 is larger than the smaller side, 5"),
        ({"rank": 0}, InvalidParameterError, "rank"),
        ({"method": "pca"}, InvalidParameterError, "method"),
        ({"method": "fwsvd"}, ValueError, "needs the gradients"),
        ({"method": "gfwsvd"}, ValueError, "needs the gradients"),
        ({"gradients": np.ones((3, 5, 5))}, ValueError, r"shape \(n_batches, 6, 5\)"),
        ({"fisher_factors": (np.eye(6), np.eye(4))}, ValueError, "fisher_factors must be"),
        ({"fisher_factors": (-np.eye(6), np.eye(5))}, ValueError, "not symmetric positive"),
    ],
)
def test_bad_input_is_rejected(kwargs, error, match):
    W = np.random.default_rng(6).normal(size=(6, 5))
    kwargs = {"rank": 2, **kwargs}
    with pytest.raises(error, match=match):
        fisher_weighted_svd(W, **kwargs)


def test_bad_gradients_are_rejected():
    with pytest.raises(ValueError, match="n_batches, m, n"):
        kronecker_fisher(np.ones((4, 3)))
    with pytest.raises(ValueError, match="NaN"):
        kronecker_fisher(np.full((2, 3, 3), np.nan))


@pytest.mark.parametrize("method", ["gfwsvd", "fwsvd", "svd"])
def test_each_component_is_split_evenly_between_the_factors(method):
    rng = np.random.default_rng(4)
    W = rng.normal(size=(12, 7))
    # Gradients of very different scales: the Fisher's weights are far from 1.
    gradients = 1e-4 * rng.normal(size=(30, 12, 7))
    left, right = fisher_weighted_svd(W, 3, method=method, gradients=gradients,
                                      random_state=0)
    np.testing.assert_allclose(np.linalg.norm(left, axis=0), np.linalg.norm(right, axis=1),
                               rtol=1e-10)


def test_gfwsvd_in_the_span_of_the_gradients_equals_the_dense_factors():
    # 2 batches of 5 columns span 10 of the 40 rows: C is the identity outside that span.
    rng = np.random.default_rng(7)
    W, G = rng.normal(size=(40, 5)), rng.normal(size=(2, 40, 5))
    factors = kronecker_fisher(G, shrinkage=0.2, random_state=0)
    structured = np.matmul(*fisher_weighted_svd(W, 3, gradients=G, shrinkage=0.2,
                                                random_state=0))
    dense = np.matmul(*fisher_weighted_svd(W, 3, fisher_factors=factors, random_state=0))
    np.testing.assert_allclose(structured, dense, atol=1e-9)
    assert weighted_error(W, structured, *factors) < weighted_error(
        W, np.matmul(*fisher_weighted_svd(W, 3, method="svd")), *factors)
