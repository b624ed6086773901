import numpy as np
import pytest
import torch
import torch.nn.functional as F

from recfactor.sequential._losses import (
    barlow_twins_loss,
    disliked_contrastive_loss,
    gbce_beta,
    gbce_loss,
    same_target_pairs,
    sampled_softmax_loss,
)


def test_gbce_beta():
    # alpha = 10 / 100; beta = alpha (t (1 - 1/alpha) + 1/alpha)
    assert gbce_beta(10, 101, 0.75) == pytest.approx(0.1 * (0.75 * (1 - 10) + 10))
    assert gbce_beta(10, 101, 0.0) == pytest.approx(1.0)
    assert gbce_beta(10, 101, 1.0) == pytest.approx(0.1)


def test_gbce_loss_is_bce_with_a_tempered_positive():
    positive, negative = torch.tensor([0.3, -1.2]), torch.tensor([[0.5, -0.1], [2.0, 0.0]])
    beta = 0.4
    expected = -(beta * torch.log(torch.sigmoid(positive))
                 + torch.log(1 - torch.sigmoid(negative)).sum(1)).mean()
    torch.testing.assert_close(gbce_loss(positive, negative, beta), expected)
    bce = F.binary_cross_entropy_with_logits(
        torch.cat([positive[:, None], negative], 1),
        torch.tensor([[1.0, 0, 0], [1.0, 0, 0]]), reduction="sum") / 2
    torch.testing.assert_close(gbce_loss(positive, negative, 1.0), bce)


def test_sampled_softmax_leaves_out_a_negative_equal_to_the_target():
    generator = torch.Generator().manual_seed(0)
    states, weights = torch.randn(3, 4, generator=generator), torch.randn(6, 4, generator=generator)
    bias = torch.randn(6, generator=generator)
    targets, negatives = torch.tensor([0, 2, 5]), torch.tensor([1, 2, 3])
    logits = states @ weights.T + bias
    expected = torch.stack([
        torch.logsumexp(logits[0, [0, 1, 2, 3]], 0) - logits[0, 0],
        torch.logsumexp(logits[1, [2, 1, 3]], 0) - logits[1, 2],
        torch.logsumexp(logits[2, [5, 1, 2, 3]], 0) - logits[2, 5],
    ]).mean()
    torch.testing.assert_close(sampled_softmax_loss(states, targets, weights, bias, negatives),
                               expected)


def test_same_target_pairs():
    targets = torch.tensor([7, 3, 7, 1, 3, 7, 3, 3, 9])
    first, second = same_target_pairs(targets)
    pairs = sorted(zip(first.tolist(), second.tolist()))
    # 7 at 0, 2, 5 -> (0, 2); 3 at 1, 4, 6, 7 -> (1, 4), (6, 7); 1 and 9 alone.
    assert pairs == [(0, 2), (1, 4), (6, 7)]


def test_barlow_twins_matches_numpy():
    rng = np.random.default_rng(0)
    first, second = rng.normal(size=(6, 3)), rng.normal(size=(6, 3))
    lam = 0.3

    def normalise(z):  # batch norm: biased variance, eps 1e-5
        return (z - z.mean(0)) / np.sqrt(z.var(0) + 1e-5)

    C = normalise(first).T @ normalise(second) / 6
    off_diagonal = C - np.diag(np.diag(C))
    expected = ((1 - np.diag(C)) ** 2).sum() + lam * (off_diagonal ** 2).sum()
    value = barlow_twins_loss(torch.from_numpy(first), torch.from_numpy(second), lam)
    assert value.item() == pytest.approx(expected)
    assert barlow_twins_loss(torch.ones(1, 3), torch.ones(1, 3), lam).item() == 0.0


def test_disliked_contrastive_loss():
    generator = torch.Generator().manual_seed(0)
    states = torch.randn(2, 2, 4, generator=generator)
    weights, bias = torch.randn(5, 4, generator=generator), torch.randn(5, generator=generator)
    targets = torch.tensor([[1, 2], [-1, 3]])
    disliked = torch.tensor([[0, 4], [-1, -1]])
    loss = disliked_contrastive_loss(states, targets, weights, bias, disliked, targets >= 0)
    scores = lambda b, w, items: states[b, w] @ weights[items].T + bias[items]  # noqa: E731
    expected = torch.stack([
        torch.logsumexp(scores(0, 0, [1, 0, 4]), 0) - scores(0, 0, [1])[0],
        torch.logsumexp(scores(0, 1, [2, 0, 4]), 0) - scores(0, 1, [2])[0],
        torch.zeros(()),  # no disliked item: nothing to contrast with
    ]).mean()
    torch.testing.assert_close(loss, expected)
