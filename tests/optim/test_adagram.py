"""AdaGram against dense full-matrix AdaGrad, its state and its hyper-parameter checks."""

import pickle

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from recfactor.optim import AdaGram  # noqa: E402
from recfactor.optim._adagram import _add_rank_one, _direction  # noqa: E402


def _inv_sqrt(delta, G):
    lam, Q = np.linalg.eigh(G)
    return Q @ np.diag((delta + np.clip(lam, 0, None)) ** -0.5) @ Q.T


def _dense_adagrad(x0, grads, lr, delta):
    """Full-matrix AdaGrad with a dense Gram matrix, given the gradients of each step."""
    x, G, path = x0.copy(), np.zeros((x0.size, x0.size)), []
    for g in grads:
        G += np.outer(g, g)
        x = x - lr * _inv_sqrt(delta, G) @ g
        path.append(x.copy())
    return np.array(path)


def _run(d, rank, grads, lr, delta, block_size=4096):
    x = torch.zeros(d, dtype=torch.float64, requires_grad=True)
    opt = AdaGram([x], lr=lr, rank=rank, delta=delta, block_size=block_size)
    path = []
    for g in grads:
        x.grad = torch.as_tensor(g, dtype=torch.float64).clone()
        opt.step()
        path.append(x.detach().numpy().copy())
    return np.array(path), opt


@pytest.mark.parametrize("d, rank, n_steps", [(4, 4, 12), (4, 5, 12), (7, 5, 5)])
def test_equals_full_matrix_adagrad_while_rank_covers_the_gram_matrix(d, rank, n_steps):
    # rank >= d: always exact; rank < d: exact while at most `rank` gradients were seen.
    rng = np.random.default_rng(0)
    grads = rng.normal(size=(n_steps, d))
    ours, opt = _run(d, rank, grads, lr=0.1, delta=1e-3)
    ref = _dense_adagrad(np.zeros(d), grads, lr=0.1, delta=1e-3)
    np.testing.assert_allclose(ours, ref, rtol=1e-8, atol=1e-10)
    state = opt.state[opt.param_groups[0]["params"][0]]
    U, S = state["U"][0].numpy(), state["S"][0].numpy()
    np.testing.assert_allclose(U @ S @ U.T, grads.T @ grads, atol=1e-9)
    assert float(state["step"]) == n_steps


def test_blocks_equal_dense_adagrad_on_each_block():
    rng = np.random.default_rng(1)
    grads = rng.normal(size=(6, 10))
    ours, _ = _run(10, 4, grads, lr=0.1, delta=1e-2, block_size=4)  # blocks 4, 4, 2(+pad)
    ref = np.concatenate(
        [_dense_adagrad(np.zeros(e - s), grads[:, s:e], 0.1, 1e-2) for s, e in
         [(0, 4), (4, 8), (8, 10)]],
        axis=1,
    )
    np.testing.assert_allclose(ours, ref, rtol=1e-8, atol=1e-10)


def test_direction_equals_dense_inverse_square_root():
    rng = np.random.default_rng(2)
    d, r, delta = 9, 3, 0.3
    U, _ = np.linalg.qr(rng.normal(size=(d, r)))
    A = rng.normal(size=(r, r))
    S = A @ A.T
    g = rng.normal(size=d)
    dense = _inv_sqrt(delta, U @ S @ U.T) @ g
    ours = _direction(
        torch.as_tensor(U)[None], torch.as_tensor(S)[None], torch.as_tensor(g)[None], delta
    )[0].numpy()
    np.testing.assert_allclose(ours, dense, rtol=1e-10, atol=1e-12)


def test_rank_one_update_is_the_best_rank_r_approximation():
    rng = np.random.default_rng(3)
    d, r = 8, 3
    U, _ = np.linalg.qr(rng.normal(size=(d, r)))
    S = np.diag([5.0, 2.0, 1.0])
    g = rng.normal(size=d)
    U1, S1 = _add_rank_one(
        torch.as_tensor(U)[None], torch.as_tensor(S)[None], torch.as_tensor(g)[None]
    )
    lam, Q = np.linalg.eigh(U @ S @ U.T + np.outer(g, g))
    best = Q[:, -r:] @ np.diag(lam[-r:]) @ Q[:, -r:].T
    np.testing.assert_allclose(U1[0].numpy() @ S1[0].numpy() @ U1[0].numpy().T, best, atol=1e-10)
    # g already in span(U): the fallback direction keeps the basis orthonormal.
    U2, S2 = _add_rank_one(
        torch.as_tensor(U)[None], torch.as_tensor(S)[None], torch.as_tensor(U[:, 0])[None]
    )
    np.testing.assert_allclose(U2[0].numpy().T @ U2[0].numpy(), np.eye(r), atol=1e-12)
    np.testing.assert_allclose(
        U2[0].numpy() @ S2[0].numpy() @ U2[0].numpy().T,
        U @ S @ U.T + np.outer(U[:, 0], U[:, 0]),
        atol=1e-12,
    )


def test_low_rank_state_and_convergence_on_a_quadratic():
    # Planted quadratic 0.5 (x - x*)^T A (x - x*) in d=30 with rank 5 < d.
    rng = np.random.default_rng(4)
    d, r = 30, 5
    Q, _ = np.linalg.qr(rng.normal(size=(d, d)))
    A = torch.as_tensor(Q @ np.diag(np.linspace(0.5, 5.0, d)) @ Q.T, dtype=torch.float32)
    x_star = torch.as_tensor(rng.normal(size=d), dtype=torch.float32)
    x = torch.zeros(d, requires_grad=True)
    opt = AdaGram([x], lr=0.3, rank=r)

    def loss_fn():
        e = x - x_star
        return 0.5 * e @ A @ e

    start, grads = float(loss_fn().detach()), []
    for _ in range(600):
        opt.zero_grad()
        loss = loss_fn()
        loss.backward()
        grads.append(x.grad.detach().clone())
        opt.step()
    assert float(loss_fn().detach()) < 1e-6 * start
    assert torch.linalg.vector_norm(x.detach() - x_star) < 1e-2
    state = opt.state[x]
    U, S = state["U"][0], state["S"][0]
    assert U.shape == (d, r) and S.shape == (r, r)
    torch.testing.assert_close(U.T @ U, torch.eye(r), atol=1e-5, rtol=0)
    torch.testing.assert_close(S, S.T)
    lam = torch.linalg.eigvalsh(S)
    assert lam.min() > 0  # PSD, and of full rank r
    # Each truncation drops a PSD part, so U S U^T <= G (Loewner order), and it is no
    # closer to G than G's best rank-r approximation.
    G = sum(torch.outer(g, g) for g in grads).double()
    approx = (U @ S @ U.T).double()
    assert torch.linalg.eigvalsh(G - approx).min() > -1e-3 * torch.linalg.eigvalsh(G).max()
    lam_G = torch.linalg.eigvalsh(G)
    assert torch.linalg.norm(G - approx) >= torch.linalg.norm(lam_G[:-r]) * (1 - 1e-4)


def test_state_dict_round_trip_and_pickle():
    torch.manual_seed(0)
    model = torch.nn.Linear(6, 3, dtype=torch.float64)
    twin = torch.nn.Linear(6, 3, dtype=torch.float64)
    X, y = torch.randn(40, 6, dtype=torch.float64), torch.randn(40, 3, dtype=torch.float64)

    def train(m, opt, n):
        for i in range(n):
            opt.zero_grad()
            rows = slice(4 * (i % 10), 4 * (i % 10) + 4)
            torch.nn.functional.mse_loss(m(X[rows]), y[rows]).backward()
            opt.step()

    opt = AdaGram(model.parameters(), lr=0.05, rank=3, block_size=8)  # weight: 3 blocks
    train(model, opt, 7)
    blob = pickle.dumps(opt.state_dict())
    twin.load_state_dict(model.state_dict())
    opt_twin = AdaGram(twin.parameters(), lr=0.05, rank=3, block_size=8)
    opt_twin.load_state_dict(pickle.loads(blob))
    assert opt_twin.state[twin.weight]["U"].shape == (3, 8, 3)
    train(model, opt, 5)
    train(twin, opt_twin, 5)
    for a, b in zip(model.parameters(), twin.parameters()):
        torch.testing.assert_close(a, b, rtol=0, atol=0)
    assert pickle.loads(pickle.dumps(opt)).state_dict()["state"][0]["step"] == 12


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"lr": 0.0}, "lr must be a positive float"),
        ({"lr": -1.0}, "lr must be a positive float"),
        ({"rank": 0}, "rank must be an integer >= 1"),
        ({"rank": 2.5}, "rank must be an integer >= 1"),
        ({"delta": 0.0}, "delta must be a positive float"),
        ({"delta": -1e-8}, "delta must be a positive float"),
        ({"block_size": 0}, "block_size must be an integer >= 1"),
    ],
)
def test_bad_hyper_parameters_raise(kwargs, message):
    x = torch.zeros(3, requires_grad=True)
    with pytest.raises(ValueError, match=message):
        AdaGram([x], **kwargs)
    with pytest.raises(ValueError, match=message):
        AdaGram([{"params": [x], **kwargs}])


def test_import_does_not_load_torch():
    import subprocess
    import sys

    code = "import sys, recfactor, recfactor.optim; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.stdout.strip() == "False", out.stderr
