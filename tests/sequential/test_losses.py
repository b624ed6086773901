import numpy as np
import pytest
import torch
import torch.nn.functional as F

from recfactor.sequential._losses import (
    barlow_twins_loss,
    disliked_contrastive_loss,
    full_softmax_loss,
    gbce_beta,
    gbce_loss,
    negative_rate,
    next_item_loss,
    sampled_softmax_loss,
)
from recfactor.sequential._modules import ItemHead


def random_head(n_items, dim, seed=0):
    """An item head with random item rows and bias, and those as (weights, bias)."""
    generator = torch.Generator().manual_seed(seed)
    head = ItemHead(n_items, dim).requires_grad_(False)
    head.items.weight[1:] = torch.randn(n_items, dim, generator=generator)
    head.bias[:] = torch.randn(n_items, generator=generator)
    return head, head.weights().clone(), head.bias.clone()


def test_head_scores_every_item_candidates_and_targets_alike():
    head, weights, bias = random_head(6, 4)
    states = torch.randn(2, 3, 4, generator=torch.Generator().manual_seed(1))
    every = torch.einsum("bwd,id->bwi", states, weights) + bias
    torch.testing.assert_close(head.scores(states), every)
    torch.testing.assert_close(head.scores(states, torch.tensor([5, 0])), every[..., [5, 0]])
    per_row = torch.tensor([[1, 2], [3, 3]])
    expected = torch.stack([every[0][:, [1, 2]], every[1][:, [3, 3]]])
    torch.testing.assert_close(head.scores(states, per_row), expected)
    targets = torch.tensor([[0, 1, 2], [5, 4, 3]])
    torch.testing.assert_close(head.target_scores(states, targets),
                               every.gather(-1, targets[..., None])[..., 0])
    users, items = head.ranking_factors(states[0].numpy())
    np.testing.assert_allclose(users @ items.T, every[0].numpy(), rtol=1e-5, atol=1e-5)


def test_gbce_beta():
    # alpha = 10 / 100; beta = alpha (t (1 - 1/alpha) + 1/alpha)
    assert gbce_beta(10, 101, 0.75) == pytest.approx(0.1 * (0.75 * (1 - 10) + 10))
    assert gbce_beta(10, 101, 0.0) == pytest.approx(1.0)
    assert gbce_beta(10, 101, 1.0) == pytest.approx(0.1)


@pytest.mark.parametrize("loss, n_negatives", [("bce", "auto"), ("gbce", 4), ("gbce", "auto"),
                                               ("ce", "auto"), ("sampled_ce", "auto")])
def test_the_bias_starts_at_the_best_scores_of_a_model_blind_to_history(loss, n_negatives):
    n_items = 30
    counts = np.random.default_rng(0).integers(0, 50, n_items)
    rate = negative_rate(loss, n_negatives, n_items, 0.75)
    head = ItemHead(n_items, 4)
    head.start_from_frequencies(counts, rate)
    shares = torch.as_tensor((counts + 1) / (counts + 1).sum())
    bias = head.bias.detach().double().requires_grad_()
    if rate is None:  # softmax: the expected cross-entropy of the shares
        expected = -(shares * torch.log_softmax(bias, 0)).sum()
    else:  # each item is a positive at its share, else a negative at the rate
        expected = (shares * F.softplus(-bias) + rate * (1 - shares) * F.softplus(bias)).sum()
    expected.backward()
    torch.testing.assert_close(bias.grad, torch.zeros(n_items, dtype=torch.float64),
                               atol=1e-6, rtol=0)
    if loss == "gbce" and n_negatives == 4:  # k / (beta (n - 1)), beta from test_gbce_beta
        assert rate == pytest.approx(4 / (gbce_beta(4, n_items, 0.75) * (n_items - 1)))


def test_full_softmax_is_the_cross_entropy_of_every_score():
    head, weights, bias = random_head(6, 4)
    states = torch.randn(3, 4, generator=torch.Generator().manual_seed(1))
    targets = torch.tensor([0, 5, 2])
    logits = states @ weights.T + bias
    expected = (torch.logsumexp(logits, 1) - logits[torch.arange(3), targets]).mean()
    torch.testing.assert_close(full_softmax_loss(head, states, targets), expected)


def test_gbce_is_bce_with_a_tempered_positive_and_no_collisions():
    head, weights, bias = random_head(6, 4)
    states = torch.randn(2, 2, 4, generator=torch.Generator().manual_seed(1))
    targets = torch.tensor([[1, -1], [2, 4]])
    negatives = torch.tensor([[0, 1], [4, 5]])
    beta = 0.4

    def term(row, column, target, others):
        score = lambda item: states[row, column] @ weights[item] + bias[item]  # noqa: E731
        return beta * F.softplus(-score(target)) + sum(F.softplus(score(n)) for n in others)

    # A negative equal to the position's target is no negative of it.
    expected = torch.stack([term(0, 0, 1, [0]), term(1, 0, 2, [4, 5]),
                            term(1, 1, 4, [5])]).mean()
    torch.testing.assert_close(gbce_loss(head, states, targets, negatives, beta), expected)
    # beta = 1 is the binary cross-entropy of the positive and its negatives.
    logits = torch.cat([states[1, 0] @ weights[[2, 4, 5]].T + bias[[2, 4, 5]]])
    bce = F.binary_cross_entropy_with_logits(logits, torch.tensor([1.0, 0, 0]),
                                             reduction="sum")
    torch.testing.assert_close(
        gbce_loss(head, states[1:, :1], targets[1:, :1], negatives[1:], 1.0), bce)


def test_sampled_softmax_leaves_out_a_negative_equal_to_the_target():
    head, weights, bias = random_head(6, 4)
    states = torch.randn(3, 4, generator=torch.Generator().manual_seed(1))
    targets, negatives = torch.tensor([0, 2, 5]), torch.tensor([1, 2, 3])
    logits = states @ weights.T + bias
    expected = torch.stack([
        torch.logsumexp(logits[0, [0, 1, 2, 3]], 0) - logits[0, 0],
        torch.logsumexp(logits[1, [2, 1, 3]], 0) - logits[1, 2],
        torch.logsumexp(logits[2, [5, 1, 2, 3]], 0) - logits[2, 5],
    ]).mean()
    torch.testing.assert_close(sampled_softmax_loss(head, states, targets, negatives),
                               expected)


def test_barlow_twins_matches_numpy():
    """BT-SR's term: unit rows, standardised columns, cross-correlation, divided by dim."""
    rng = np.random.default_rng(0)
    first, second = rng.normal(size=(6, 3)), rng.normal(size=(6, 3))
    lam = 0.3

    def normalise(z):  # unit rows, then batch norm: biased variance, eps 1e-5
        z = z / np.linalg.norm(z, axis=1, keepdims=True)
        return (z - z.mean(0)) / np.sqrt(z.var(0) + 1e-5)

    C = normalise(first).T @ normalise(second) / 6
    off_diagonal = C - np.diag(np.diag(C))
    expected = (((1 - np.diag(C)) ** 2).sum() + lam * (off_diagonal ** 2).sum()) / 3
    value = barlow_twins_loss(torch.from_numpy(first), torch.from_numpy(second), lam)
    assert value.item() == pytest.approx(expected)
    # Rescaling a row changes nothing: the states are compared by direction.
    scaled = first * np.array([[2.0], [0.5], [1], [3], [1], [1]])
    assert barlow_twins_loss(torch.from_numpy(scaled), torch.from_numpy(second),
                             lam).item() == pytest.approx(expected, rel=1e-5)
    assert barlow_twins_loss(torch.ones(1, 3), torch.ones(1, 3), lam).item() == 0.0


def test_disliked_contrastive_loss():
    head, weights, bias = random_head(5, 4)
    states = torch.randn(2, 2, 4, generator=torch.Generator().manual_seed(1))
    targets = torch.tensor([[1, 2], [-1, 3]])
    disliked = torch.tensor([[0, 4], [-1, -1]])
    loss = disliked_contrastive_loss(head, states, targets, disliked)
    scores = lambda b, w, items: states[b, w] @ weights[items].T + bias[items]  # noqa: E731
    expected = torch.stack([
        torch.logsumexp(scores(0, 0, [1, 0, 4]), 0) - scores(0, 0, [1])[0],
        torch.logsumexp(scores(0, 1, [2, 0, 4]), 0) - scores(0, 1, [2])[0],
        torch.zeros(()),  # no disliked item: nothing to contrast with
    ]).mean()
    torch.testing.assert_close(loss, expected)


@pytest.mark.parametrize("loss", ["ce", "sampled_ce", "bce", "gbce"])
def test_next_item_loss_judges_the_positions_with_a_target(loss):
    """The dispatch: which positions, which negatives (uniform, from the given generator)."""
    head, weights, bias = random_head(30, 4)
    states = torch.randn(2, 3, 4, generator=torch.Generator().manual_seed(1))
    targets = torch.tensor([[4, -1, 7], [-1, 2, 29]])
    value = next_item_loss(head, states, targets, loss, rng=np.random.default_rng(5),
                           n_negatives=6, gbce_t=0.5)
    picked, goal = states[targets >= 0], torch.tensor([4, 7, 2, 29])
    rng = np.random.default_rng(5)
    if loss == "ce":
        expected = full_softmax_loss(head, picked, goal)
    elif loss == "sampled_ce":
        negatives = torch.from_numpy(rng.integers(0, 30, size=6))
        expected = sampled_softmax_loss(head, picked, goal, negatives)
    else:
        negatives = torch.from_numpy(rng.integers(0, 30, size=(2, 6)))
        beta = 1.0 if loss == "bce" else gbce_beta(6, 30, 0.5)
        expected = gbce_loss(head, states, targets, negatives, beta)
    torch.testing.assert_close(value, expected)
