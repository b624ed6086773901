"""1-N training and filtered evaluation shared by every knowledge-graph scorer.

A scorer (see ``_modules.py``) maps a batch of queries ``(entity, relation)`` to logits
against every entity. Each triple ``(h, r, t)`` gives two queries: ``(h, r) -> t`` and, with
the reciprocal relation ``r + n_relations``, ``(t, r + n_relations) -> h``; so one model
predicts tails and heads alike.
"""

import numpy as np
import scipy.sparse as sp
import torch
import torch.nn.functional as F

from ..utils._blocks import row_blocks
from ..utils._torch import make_optimizer, mean_over_processes, train_epochs


def reciprocal_queries(triples, n_relations):
    """The two queries of each triple: tail queries first, then head queries.

    Returns
    -------
    entities, relations, answers : ndarray of shape (2 * n_triples,)
        Query ``i`` is ``(entities[i], relations[i], ?)`` and ``answers[i]`` completes it.
    """
    heads, relations, tails = triples.T
    return (
        np.concatenate([heads, tails]),
        np.concatenate([relations, relations + n_relations]),
        np.concatenate([tails, heads]),
    )


class QueryAnswers:
    """The known answers of every distinct query of a set of triples.

    Parameters
    ----------
    triples : ndarray of shape (n_triples, 3) of int64
        Encoded ``(head, relation, tail)`` rows.
    n_entities, n_relations : int
        Sizes of the graph (``n_relations`` without reciprocals).

    Attributes
    ----------
    entities, relations : ndarray of shape (n_queries,)
        The distinct queries, sorted.
    answers : scipy.sparse.csr_array of shape (n_queries, n_entities)
        Ones at the known answers of each query.
    """

    def __init__(self, triples, n_entities, n_relations):
        self._n_query_relations = 2 * n_relations
        entities, relations, answers = reciprocal_queries(triples, n_relations)
        self._keys, rows = np.unique(self._key(entities, relations), return_inverse=True)
        self.entities = self._keys // self._n_query_relations
        self.relations = self._keys % self._n_query_relations
        matrix = sp.csr_array(
            (np.ones(rows.size, dtype=np.float32), (rows, answers)),
            shape=(self._keys.size, n_entities),
        )
        matrix.sum_duplicates()
        matrix.data[:] = 1.0
        self.answers = matrix

    def _key(self, entities, relations):
        return entities.astype(np.int64) * self._n_query_relations + relations

    @property
    def n_queries(self):
        return self._keys.size

    def rows(self, entities, relations):
        """Row of each query in :attr:`answers`, -1 for a query with no known answer."""
        keys = self._key(entities, relations)
        positions = np.searchsorted(self._keys, keys).clip(max=self._keys.size - 1)
        return np.where(self._keys[positions] == keys, positions, -1)

    def answers_of(self, rows):
        """The rows ``rows`` of :attr:`answers` as CSR, empty where a row is -1."""
        selected = self.answers[np.maximum(rows, 0)].tocsr()
        selected.data[np.repeat(rows < 0, np.diff(selected.indptr))] = 0
        selected.eliminate_zeros()
        return selected


def filtered_rank_block(scores, true_ids, filter_rows):
    """Realistic filtered ranks of a block of queries, computed where ``scores`` live.

    Parameters
    ----------
    scores : Tensor of shape (n_queries, n_entities)
    true_ids : Tensor of shape (n_queries,) of int64
        The entity to rank; ``-1`` for an answer outside the vocabulary, ranked after every
        candidate.
    filter_rows : scipy.sparse.csr_array of shape (n_queries, n_entities)
        Known answers of each query, left out of the candidates (the true one included: it
        is the entity ranked, not a candidate).

    Returns
    -------
    ranks : Tensor of shape (n_queries,) of float64
        ``1 + better + tied / 2``: the mean of the optimistic and pessimistic ranks.
    """
    n_queries = scores.shape[0]
    device = scores.device
    known = true_ids >= 0
    rows = torch.arange(n_queries, device=device)
    true_scores = torch.where(
        known, scores[rows, true_ids.clamp(min=0)], torch.tensor(-np.inf, device=device)
    )
    if torch.isnan(scores).any():
        raise ValueError("The model's scores contain NaN; they cannot be ranked.")
    filtered = torch.zeros(scores.shape, dtype=torch.bool, device=device)
    filter_query = np.repeat(np.arange(n_queries), np.diff(filter_rows.indptr))
    filtered[
        torch.from_numpy(filter_query).to(device),
        torch.from_numpy(filter_rows.indices.astype(np.int64)).to(device),
    ] = True
    filtered[rows[known], true_ids[known]] = True
    candidates = ~filtered
    better = ((scores > true_scores.unsqueeze(1)) & candidates).sum(dim=1)
    tied = ((scores == true_scores.unsqueeze(1)) & candidates).sum(dim=1)
    return 1.0 + better.double() + tied.double() / 2.0


def query_logits(scorer, entities, relations, *, block, device):
    """Yield ``(start, logits)`` for consecutive blocks of queries, in evaluation mode."""
    scorer.eval()
    with torch.no_grad():
        for rows in row_blocks(len(entities), block):
            yield rows.start, scorer(
                torch.as_tensor(entities[rows], device=device),
                torch.as_tensor(relations[rows], device=device),
            )


def filtered_ranks_of_triples(scorer, triples, known, *, n_relations, block, device):
    """Realistic filtered ranks of both queries of each triple (tail queries, then head).

    Parameters
    ----------
    scorer : nn.Module
    triples : ndarray of shape (n_triples, 3) of int64
        Encoded; ``-1`` marks an entity outside the vocabulary. A query about such an
        entity, or whose answer is such an entity, ranks its answer after every candidate.
    known : QueryAnswers
        Answers to filter out; must hold every triple of ``triples`` that has no ``-1``.
    n_relations : int
    block : int
        Queries scored at once.
    device : torch.device

    Returns
    -------
    ranks : ndarray of shape (2 * n_triples,) of float64
    """
    entities, relations, answers = reciprocal_queries(triples, n_relations)
    unknown_query = entities < 0
    # Entity 0 stands in for an unknown query entity: its scores are computed but its
    # answer is marked unknown, so it ranks last whatever they are.
    entities = np.where(unknown_query, 0, entities)
    answers = np.where(unknown_query, -1, answers)
    rows = np.where(unknown_query, -1, known.rows(entities, relations))
    ranks = np.empty(entities.size)
    for start, logits in query_logits(scorer, entities, relations, block=block, device=device):
        stop = start + logits.shape[0]
        true_ids = torch.as_tensor(answers[start:stop], device=logits.device)
        ranks[start:stop] = filtered_rank_block(
            logits, true_ids, known.answers_of(rows[start:stop])
        ).cpu().numpy()
    return ranks


def _batches(order, batch_size):
    """``order`` split into the fewest batches of at most ``batch_size``, of equal sizes.

    Not full batches and a remainder: batch normalisation computes its statistics on each
    batch and keeps those of the last one of the epoch in its running estimate, and a tiny
    remainder (13 queries on Nations) made both noisy. Every batch has at least two
    queries, which batch normalisation needs, whenever ``order`` has.
    """
    n_batches = max(1, min(-(-order.size // batch_size), order.size // 2))
    return np.array_split(order, n_batches)


class _SmoothedOneToNBCE(torch.autograd.Function):
    """The loss of :func:`smoothed_one_to_n_bce` with a hand-written gradient.

    Its gradient ``(sigmoid(x) - t) / size`` is one new matrix and two in-place passes,
    where autograd through the formula (softplus, the two sums, the gather) builds and adds
    several (queries x entities) matrices.
    """

    @staticmethod
    def forward(ctx, logits, rows, columns, label_smoothing):
        floor = label_smoothing / logits.shape[1]
        weighted = (1.0 - label_smoothing) * logits[rows, columns].sum() + floor * logits.sum()
        ctx.save_for_backward(logits, rows, columns)
        ctx.label_smoothing = label_smoothing
        return F.softplus(logits).mean() - weighted / logits.numel()

    @staticmethod
    def backward(ctx, grad_loss):
        logits, rows, columns = ctx.saved_tensors
        label_smoothing = ctx.label_smoothing
        scale = grad_loss / logits.numel()
        grad = torch.sigmoid(logits).sub_(label_smoothing / logits.shape[1]).mul_(scale)
        grad.index_put_((rows, columns), -(1.0 - label_smoothing) * scale, accumulate=True)
        return grad, None, None, None


def smoothed_one_to_n_bce(logits, answers, label_smoothing):
    """Mean binary cross-entropy of 1-N logits against label-smoothed targets.

    The targets ``(1 - label_smoothing) * y + label_smoothing / n_entities`` are ``a y + b``,
    so the loss ``mean(softplus(x) - t x)`` is ``mean(softplus(x)) - (a sum_{y=1} x +
    b sum x) / size``: the dense target matrix is never built.

    Parameters
    ----------
    logits : Tensor of shape (n_queries, n_entities)
    answers : scipy.sparse.csr_array of shape (n_queries, n_entities)
        Ones at the known answers.
    label_smoothing : float
    """
    rows = np.repeat(np.arange(answers.shape[0]), np.diff(answers.indptr))
    columns = answers.indices.astype(np.int64)
    return _SmoothedOneToNBCE.apply(
        logits,
        torch.from_numpy(rows).to(logits.device),
        torch.from_numpy(columns).to(logits.device),
        float(label_smoothing),
    )


def train_one_to_n(
    scorer,
    parameters,
    queries,
    *,
    label_smoothing,
    optimizer,
    learning_rate,
    decay_rate,
    batch_size,
    max_epochs,
    eval_every,
    patience,
    validate,
    rng,
    device,
    verbose,
    description,
    rank=0,
    n_processes=1,
):
    """Train ``scorer`` with 1-N scoring and binary cross-entropy.

    Each epoch visits the distinct queries in a random order, ``batch_size`` at a time;
    the targets of a batch are its rows of ``queries.answers``, smoothed to
    ``(1 - label_smoothing) * y + label_smoothing / n_entities``; see
    :func:`smoothed_one_to_n_bce`. ``optimizer`` names the optimizer
    (:func:`~recfactor.utils._torch.make_optimizer`; Adam is fused); its learning rate
    decays by ``decay_rate`` after each epoch.

    With ``validate`` (a function of no argument returning the validation MRR), the
    scorer is evaluated before training and every ``eval_every`` epochs; training stops
    after ``patience`` evaluations without improvement and the best parameters are
    restored, the starting ones included: a correction trained on top of a fitted model
    (MIGTF) then never ends worse on validation than the model alone.

    With ``n_processes > 1``, this is process ``rank`` of a process group: every process
    draws the same batches from ``rng``, computes the loss of its share of each, and
    DistributedDataParallel averages the gradients, so all take the same steps.

    Returns
    -------
    history : recfactor.utils._torch.TrainingHistory
    """
    # Adam: one fused kernel for the whole update, not a loop of small ones over every tensor.
    optimizer = make_optimizer(optimizer, parameters, learning_rate, fused=True)
    scheduler = torch.optim.lr_scheduler.ExponentialLR(optimizer, gamma=decay_rate)

    model = scorer
    if n_processes > 1:
        from torch.nn.parallel import DistributedDataParallel

        model = DistributedDataParallel(scorer)

    def run_epoch():
        epoch_loss = 0.0
        for batch in _batches(rng.permutation(queries.n_queries), batch_size):
            shares = np.array_split(batch, n_processes)
            if min(share.size for share in shares) < 2:
                continue  # batch normalisation needs two queries in every process
            batch = shares[rank]
            logits = model(
                torch.as_tensor(queries.entities[batch], device=device),
                torch.as_tensor(queries.relations[batch], device=device),
            )
            loss = smoothed_one_to_n_bce(logits, queries.answers[batch], label_smoothing)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            epoch_loss += loss.item() * batch.size
        scheduler.step()
        if n_processes == 1:
            return epoch_loss / queries.n_queries
        return mean_over_processes(epoch_loss * n_processes / queries.n_queries)

    return train_epochs(scorer, run_epoch, max_epochs=max_epochs, validate=validate,
                        eval_every=eval_every, patience=patience, verbose=verbose,
                        description=description, metric="valid MRR")
