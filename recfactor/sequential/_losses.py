"""Training objectives of the sequential recommenders (imports torch).

``states`` are the encoder outputs at the positions that have a target, ``targets`` the item
ids to predict there, and ``item_weights`` (n_items, dim) and ``item_bias`` (n_items,) the
output layer: the score of item ``i`` is ``state @ item_weights[i] + item_bias[i]``.
"""

import torch
import torch.nn.functional as F


def gbce_beta(n_negatives, n_items, t):
    """Exponent of the positive probability in gBCE (Petrov & Macdonald, RecSys 2023).

    ``beta = alpha (t (1 - 1/alpha) + 1/alpha)`` with the sampling rate
    ``alpha = n_negatives / (n_items - 1)``: ``t = 0`` gives plain BCE (``beta = 1``), and
    ``t = 1`` gives ``beta = alpha``, which calibrates the scores to the full softmax.
    """
    alpha = n_negatives / (n_items - 1)
    return alpha * (t * (1 - 1 / alpha) + 1 / alpha)


def full_softmax_loss(states, targets, item_weights, item_bias):
    """Cross-entropy of the softmax over every item."""
    return F.cross_entropy(states @ item_weights.T + item_bias, targets)


def sampled_softmax_loss(states, targets, item_weights, item_bias, negatives):
    """Cross-entropy of the softmax over the target and negatives shared by the batch.

    A negative that happens to be the target of a position is left out of that position's
    softmax, so an item never competes with itself.
    """
    positive = ((states * item_weights[targets]).sum(-1) + item_bias[targets])[:, None]
    negative = states @ item_weights[negatives].T + item_bias[negatives]
    negative = negative.masked_fill(negatives[None, :] == targets[:, None], float("-inf"))
    logits = torch.cat([positive, negative], dim=1)
    return F.cross_entropy(logits, torch.zeros_like(targets))


def gbce_loss(positive_scores, negative_scores, beta):
    """``-log(sigmoid(s+)^beta) - sum log(1 - sigmoid(s-))``, averaged over positions.

    ``positive_scores`` has shape (n,), ``negative_scores`` (n, k), where ``-inf`` leaves a
    negative out; ``beta = 1`` is the binary cross-entropy of the original SASRec.
    """
    return (beta * F.softplus(-positive_scores) + F.softplus(negative_scores).sum(-1)).mean()


def same_target_pairs(targets):
    """Indices ``(a, b)`` of disjoint pairs of positions that share their target.

    Positions are sorted by target; within a run of equal targets the 1st is paired with the
    2nd, the 3rd with the 4th, and so on (an odd one out stays unpaired).
    """
    order = torch.argsort(targets, stable=True)
    ordered = targets[order]
    starts_run = torch.ones_like(ordered, dtype=torch.bool)
    starts_run[1:] = ordered[1:] != ordered[:-1]
    index = torch.arange(ordered.numel(), device=targets.device)
    run_start = torch.cummax(torch.where(starts_run, index, 0), dim=0).values
    first = ((index - run_start) % 2 == 0)[:-1] & (ordered[1:] == ordered[:-1])
    a = torch.nonzero(first).squeeze(1)
    return order[a], order[a + 1]


def barlow_twins_loss(first, second, redundancy_weight):
    """Barlow Twins redundancy reduction of paired states (Zbontar et al., ICML 2021).

    With ``C`` the cross-correlation of the batch-normalised ``first`` and ``second`` (both
    (n_pairs, dim)), ``sum_k (1 - C_kk)^2 + redundancy_weight * sum_{k != l} C_kl^2``.
    Zero when there are fewer than two pairs, since no correlation is defined.
    """
    if first.shape[0] < 2:
        return first.sum() * 0.0
    first = F.batch_norm(first, None, None, training=True)
    second = F.batch_norm(second, None, None, training=True)
    correlation = first.T @ second / first.shape[0]
    diagonal = torch.diagonal(correlation)
    off_diagonal = correlation.pow(2).sum() - diagonal.pow(2).sum()
    return (1 - diagonal).pow(2).sum() + redundancy_weight * off_diagonal


def disliked_contrastive_loss(states, targets, item_weights, item_bias, disliked, has_target):
    """Softmax of each liked target against the user's own disliked items (PNFRec).

    Parameters
    ----------
    states : tensor of shape (batch, width, dim)
        States of the liked-items encoder.
    targets : tensor of shape (batch, width)
        Next liked item (ignored where ``has_target`` is False).
    item_weights : tensor of shape (n_items, dim)
    item_bias : tensor of shape (n_items,)
    disliked : tensor of shape (batch, n_disliked)
        Each user's disliked items, -1 for padding.
    has_target : tensor of bool of shape (batch, width)

    Returns
    -------
    loss : scalar tensor
        Mean over the positions with a target; a user with no disliked item adds 0.
    """
    liked, others = targets.clamp(min=0), disliked.clamp(min=0)
    positive = ((states * item_weights[liked]).sum(-1) + item_bias[liked])[..., None]
    negative = (torch.einsum("bwd,bnd->bwn", states, item_weights[others])
                + item_bias[others][:, None, :])
    negative = negative.masked_fill((disliked < 0)[:, None, :], float("-inf"))
    logits = torch.cat([positive, negative], dim=-1)[has_target]
    return F.cross_entropy(logits, torch.zeros(logits.shape[0], dtype=torch.long,
                                               device=logits.device))
