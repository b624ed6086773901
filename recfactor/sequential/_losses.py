"""Training objectives of the sequential recommenders.

Every loss scores items through an :class:`~recfactor.sequential._modules.ItemHead`
(``head``), so the score ``s @ W[i] + b[i]`` is never written here. ``states`` are encoder
outputs and ``targets`` the item ids to predict at them, ``-1`` where a position has none.
A new objective is a new function here: a next-item loss also gets its entry in
:data:`NEXT_ITEM_LOSSES`, whose names are the estimators' ``loss`` options. torch is imported
inside the functions, so that the estimators can read those names at import.
"""

from ..utils import import_torch
from ._batching import sample_negatives

# Negatives drawn with n_negatives="auto": per history (bce, gbce) or per batch (sampled_ce).
AUTO_NEGATIVES = {"bce": 1, "gbce": 128, "sampled_ce": 256}


def resolve_n_negatives(n_negatives, loss, n_items):
    """Negatives drawn for ``loss``: ``n_negatives``, or its "auto" value for ``n_items``."""
    if n_negatives == "auto":
        return min(AUTO_NEGATIVES[loss], n_items - 1)
    if loss == "gbce" and n_negatives > n_items - 1:
        raise ValueError(
            f"n_negatives={n_negatives} exceeds the {n_items - 1} other items there are to "
            "sample; gBCE needs a sampling rate n_negatives / (n_items - 1) of at most 1."
        )
    return n_negatives


def next_item_loss(head, states, targets, loss, *, rng, n_negatives="auto", gbce_t=0.75):
    """Next-item loss ``loss`` (a name of :data:`NEXT_ITEM_LOSSES`) of the states
    (batch, positions, dim) at their targets.

    Returns
    -------
    loss : scalar tensor
    """
    has_target = targets >= 0
    picked, goal = states[has_target], targets[has_target]
    return NEXT_ITEM_LOSSES[loss](head, states, targets, picked, goal, rng=rng,
                                  n_negatives=n_negatives, gbce_t=gbce_t)


def _full_softmax(head, states, targets, picked, goal, **_):
    return full_softmax_loss(head, picked, goal)


def _sampled_softmax(head, states, targets, picked, goal, *, rng, n_negatives, **_):
    # One set of negatives for the whole batch.
    n_negatives = resolve_n_negatives(n_negatives, "sampled_ce", head.n_items)
    negatives = import_torch().from_numpy(sample_negatives(rng, head.n_items, n_negatives))
    return sampled_softmax_loss(head, picked, goal, negatives.to(states.device))


def _binary(loss):
    """BCE (``beta = 1``) or gBCE over ``k`` uniform negatives per history.

    Drawn once per history and shared by its positions: the same marginal distribution as
    per-position draws, at the memory of one (batch, k) draw.
    """

    def binary(head, states, targets, picked, goal, *, rng, n_negatives, gbce_t):
        n_negatives = resolve_n_negatives(n_negatives, loss, head.n_items)
        negatives = import_torch().from_numpy(
            sample_negatives(rng, head.n_items, (states.shape[0], n_negatives))
        ).to(states.device)
        beta = 1.0 if loss == "bce" else gbce_beta(n_negatives, head.n_items, gbce_t)
        return gbce_loss(head, states, targets, negatives, beta)

    return binary


def negative_rate(loss, n_negatives, n_items, gbce_t):
    """Weight of an item's negative terms against its positive ones, for a binary loss.

    ``k / (beta (n_items - 1))`` for ``k`` uniform negatives and gBCE's exponent ``beta``
    (1 for BCE); None for the softmax losses. A model that ignores the history does best
    with the sigmoid of item ``i``'s score at ``p_i / (p_i + rate (1 - p_i))``, ``p_i`` the
    item's share of the targets.
    """
    if loss not in ("bce", "gbce"):
        return None
    n_negatives = resolve_n_negatives(n_negatives, loss, n_items)
    beta = 1.0 if loss == "bce" else gbce_beta(n_negatives, n_items, gbce_t)
    return n_negatives / (beta * (n_items - 1))


def gbce_beta(n_negatives, n_items, t):
    """Exponent of the positive probability in gBCE (Petrov & Macdonald, RecSys 2023).

    ``beta = alpha (t (1 - 1/alpha) + 1/alpha)`` with the sampling rate
    ``alpha = n_negatives / (n_items - 1)``: ``t = 0`` gives plain BCE (``beta = 1``), and
    ``t = 1`` gives ``beta = alpha``, which calibrates the scores to the full softmax.
    """
    alpha = n_negatives / (n_items - 1)
    return alpha * (t * (1 - 1 / alpha) + 1 / alpha)


def full_softmax_loss(head, states, targets):
    """Cross-entropy of the softmax over every item; states (n, dim), targets (n,)."""
    torch = import_torch()
    F = torch.nn.functional
    return F.cross_entropy(head.scores(states), targets)


def sampled_softmax_loss(head, states, targets, negatives):
    """Cross-entropy of the softmax over the target and negatives (k,) shared by the batch.

    A negative that happens to be the target of a position is left out of that position's
    softmax, so an item never competes with itself.
    """
    torch = import_torch()
    F = torch.nn.functional
    positive = head.target_scores(states, targets)[:, None]
    negative = head.scores(states, negatives)
    negative = negative.masked_fill(negatives[None, :] == targets[:, None], float("-inf"))
    logits = torch.cat([positive, negative], dim=1)
    return F.cross_entropy(logits, torch.zeros_like(targets))


def gbce_loss(head, states, targets, negatives, beta):
    """``-log(sigmoid(s+)^beta) - sum log(1 - sigmoid(s-))``, averaged over positions.

    States (batch, width, dim) and targets (batch, width) with ``-1`` for no target;
    negatives (batch, k), one row per history shared by its positions. ``beta = 1`` is the
    binary cross-entropy of the original SASRec.
    """
    torch = import_torch()
    F = torch.nn.functional
    has_target = targets >= 0
    positive = head.target_scores(states[has_target], targets[has_target])
    negative = head.scores(states, negatives)
    # A draw of a position's own target is no negative of it: its term is dropped.
    collision = negatives[:, None, :] == targets[:, :, None]
    negative = negative.masked_fill(collision, float("-inf"))[has_target]
    return (beta * F.softplus(-positive) + F.softplus(negative).sum(-1)).mean()


def disliked_contrastive_loss(head, states, targets, disliked):
    """Softmax of each liked target against the user's own disliked items (PNFRec).

    Parameters
    ----------
    head : ItemHead
    states : tensor of shape (batch, width, dim)
        States of the liked-items encoder.
    targets : tensor of shape (batch, width)
        Next liked item, -1 for none.
    disliked : tensor of shape (batch, n_disliked)
        Each user's disliked items, -1 for padding.

    Returns
    -------
    loss : scalar tensor
        Mean over the positions with a target; a user with no disliked item adds 0.
    """
    torch = import_torch()
    F = torch.nn.functional
    has_target = targets >= 0
    positive = head.target_scores(states, targets.clamp(min=0))[..., None]
    negative = head.scores(states, disliked.clamp(min=0))
    negative = negative.masked_fill((disliked < 0)[:, None, :], float("-inf"))
    logits = torch.cat([positive, negative], dim=-1)[has_target]
    return F.cross_entropy(logits, torch.zeros(logits.shape[0], dtype=torch.long,
                                               device=logits.device))


def barlow_twins_loss(first, second, redundancy_weight):
    """Barlow Twins redundancy reduction of paired states, as BT-SR computes it.

    Each row of ``first`` and ``second`` (both (n_pairs, dim)) is scaled to unit L2 norm,
    each dimension is standardised over the pairs, and ``C`` is the cross-correlation of the
    two; the loss is ``(sum_k (1 - C_kk)^2 + redundancy_weight * sum_{k != l} C_kl^2) / dim``
    (Zbontar et al., ICML 2021, divided by the dimension as in the BT-SR authors' code, so
    that its weight does not grow with ``embedding_dim``). Zero when there are fewer than
    two pairs, since no correlation is defined.
    """
    torch = import_torch()
    F = torch.nn.functional
    if first.shape[0] < 2:
        return first.sum() * 0.0
    first = F.batch_norm(F.normalize(first, dim=1), None, None, training=True)
    second = F.batch_norm(F.normalize(second, dim=1), None, None, training=True)
    correlation = first.T @ second / first.shape[0]
    diagonal = torch.diagonal(correlation)
    off_diagonal = correlation.pow(2).sum() - diagonal.pow(2).sum()
    return ((1 - diagonal).pow(2).sum() + redundancy_weight * off_diagonal) / first.shape[1]


# The next-item losses by name: every score of every item (``"ce"``), the target against
# negatives shared by the batch (``"sampled_ce"``), or binary terms against negatives of
# each history (``"bce"``, and ``"gbce"`` with its tempered positive). A draw of a position's
# own target is left out of its loss.
NEXT_ITEM_LOSSES = {
    "ce": _full_softmax,
    "sampled_ce": _sampled_softmax,
    "gbce": _binary("gbce"),
    "bce": _binary("bce"),
}
