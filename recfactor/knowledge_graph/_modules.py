"""PyTorch modules of the knowledge-graph models: embeddings apart from interactions.

As in PyKEEN, an *interaction* turns the embeddings of a batch of queries
``(entity, relation)`` and of every candidate entity into logits; an
:class:`EmbeddingScorer` looks the embeddings up and calls its interaction. TuckER, the
hyperbolic term of MIGTF and their sum are all scorers with the same signature
``scorer(entities, relations) -> logits of shape (n_queries, n_entities)``, so they share
one training loop and one evaluator (``_training.py``).

Relations are numbered with their reciprocals: relation ``r + n_relations`` asks for the
head of relation ``r``.
"""


import torch
from torch import nn


def lift_to_hyperboloid(spatial, curvature):
    """Time coordinate ``x0 = sqrt(c + |x|^2)`` of the points with spatial coordinates ``x``.

    The lifted point ``(x0, x)`` lies on the hyperboloid ``<a, a>_L = -c`` of the Lorentz
    product ``<a, b>_L = -a0 b0 + <a_spatial, b_spatial>``.
    """
    return torch.sqrt(curvature + (spatial * spatial).sum(dim=-1))


class SixteenBitDropout(nn.Module):
    """Dropout whose mask costs 16 random bits per element instead of a random float.

    On the CPU, ``nn.Dropout`` spends its time drawing one float per element; on TuckER's
    relation-specific matrices (batch x entity_dim x entity_dim) that was a sixth of a
    training step on WN18RR. Here one 64-bit draw masks four elements. The drop probability
    is rounded to a multiple of ``2**-16`` and the kept elements are scaled to keep the
    mean.
    """

    _LEVELS = 1 << 16

    def __init__(self, p):
        super().__init__()
        self.p = p

    def forward(self, x):
        dropped = round(self.p * self._LEVELS)
        if not self.training or dropped == 0:
            return x
        n = x.numel()
        words = torch.randint(-(2**63), 2**63 - 1, ((n + 3) // 4,), dtype=torch.int64,
                              device=x.device)
        # Signed 16-bit values are uniform on [-2**15, 2**15): below the threshold is dropped.
        keep = words.view(torch.int16)[:n].view(x.shape) >= dropped - self._LEVELS // 2
        # One float pass makes the factor (0 or the scale) and the product's gradient is
        # one more product: torch.where with a scalar, or a product with the boolean mask,
        # took two to three times as long on the CPU.
        return x * keep.to(x.dtype).mul_(self._LEVELS / (self._LEVELS - dropped))


class TuckERInteraction(nn.Module):
    """TuckER's trilinear score ``W x1 e_s x2 w_r x3 e_o`` (Balazevic et al., 2019).

    The core ``W`` has shape (relation_dim, entity_dim, entity_dim): mode 0 meets the
    relation, mode 1 the subject, mode 2 the object.

    Parameters
    ----------
    entity_dim, relation_dim : int
        Sizes of the entity and relation embeddings.
    input_dropout : float
        Dropout on the batch-normalised subject embedding.
    hidden_dropout1 : float
        Dropout on the relation-specific matrix ``W x2 w_r``.
    hidden_dropout2 : float
        Dropout on the batch-normalised hidden vector ``e_s^T (W x2 w_r)``.
    """

    def __init__(self, entity_dim, relation_dim, input_dropout, hidden_dropout1, hidden_dropout2):
        super().__init__()
        # Uniform in [-1, 1], as the authors initialise the core.
        self.core = nn.Parameter(torch.empty(relation_dim, entity_dim, entity_dim).uniform_(-1, 1))
        self.input_norm = nn.BatchNorm1d(entity_dim)
        self.input_dropout = nn.Dropout(input_dropout)
        self.hidden_dropout1 = SixteenBitDropout(hidden_dropout1)
        self.hidden_norm = nn.BatchNorm1d(entity_dim)
        self.hidden_dropout2 = nn.Dropout(hidden_dropout2)

    def forward(self, subjects, relations, candidates):
        """Logits of shape (n_queries, n_candidates).

        Parameters
        ----------
        subjects : Tensor of shape (n_queries, entity_dim)
        relations : Tensor of shape (n_queries, relation_dim)
        candidates : Tensor of shape (n_candidates, entity_dim)
        """
        import tensorly as tl

        hidden = self.input_dropout(self.input_norm(subjects))
        # A context, not tl.set_backend: the user's global tensorly backend stays as it was.
        with tl.backend_context("pytorch"):
            relation_matrices = tl.tenalg.mode_dot(self.core, relations, mode=0)
        relation_matrices = self.hidden_dropout1(relation_matrices)
        hidden = torch.bmm(hidden.unsqueeze(1), relation_matrices).squeeze(1)
        hidden = self.hidden_dropout2(self.hidden_norm(hidden))
        # The transpose of candidates @ hidden.T: the gradient of the candidates (the whole
        # entity table) then comes out of the product in the table's own row-major layout;
        # from hidden @ candidates.T it is column-major and is copied (a WN18RR training
        # step took 0.200 s instead of 0.184, one thread).
        return (candidates @ hidden.T).T


class LorentzInteraction(nn.Module):
    """The hyperbolic interaction term ``x_H`` of MIGTF (Yusupov et al., 2025).

    Subjects ``u``, relations ``t`` and candidate objects ``v`` are spatial coordinates,
    lifted to the hyperboloid of curvature parameter ``c`` by
    :func:`lift_to_hyperboloid`. The term is ``N(u, t, v) / (u0 t0 + u0 v0 + t0 v0)`` with::

        N = u0 t0 - <u, t> - u0 - t0 + <u, v> + <t, v> - u0 v0 - t0 v0 + v0 + 2c

    Against every candidate at once, ``N`` is one matrix product ``(u + t) @ V^T`` plus
    rank-one terms and per-query constants, and the denominator is rank one too, so no
    (queries x candidates x dim) tensor is ever formed.

    Parameters
    ----------
    dim : int
        Number of spatial coordinates.
    curvature : float
        ``c > 0``, fixed.
    input_dropout : float
        Dropout on the batch-normalised subject coordinates ``u``.
    hidden_dropout : float
        Dropout on the batch-normalised relation coordinates ``t``.
    """

    def __init__(self, dim, curvature, input_dropout, hidden_dropout):
        super().__init__()
        self.curvature = float(curvature)
        self.subject_norm = nn.BatchNorm1d(dim)
        self.subject_dropout = nn.Dropout(input_dropout)
        self.relation_norm = nn.BatchNorm1d(dim)
        self.relation_dropout = nn.Dropout(hidden_dropout)

    def forward(self, subjects, relations, candidates):
        """Logits of shape (n_queries, n_candidates); arguments as in
        :meth:`TuckERInteraction.forward`, all of the same dimension."""
        u = self.subject_dropout(self.subject_norm(subjects))
        t = self.relation_dropout(self.relation_norm(relations))
        v = candidates
        c = self.curvature
        u0, t0, v0 = (lift_to_hyperboloid(x, c) for x in (u, t, v))
        query_constant = u0 * t0 - (u * t).sum(dim=1) - u0 - t0 + 2 * c
        numerator = (
            (u + t) @ v.T
            - torch.outer(u0 + t0, v0)
            + v0
            + query_constant.unsqueeze(1)
        )
        denominator = (u0 * t0).unsqueeze(1) + torch.outer(u0 + t0, v0)
        return numerator / denominator


class _RowsAndTable(torch.autograd.Function):
    """``(table[ids], table)``: a lookup and the whole table, with one gradient for both.

    The table's gradient from its use as the output layer is dense and fresh; the rows'
    gradient is added into it in place. Through ``nn.Embedding`` autograd added the two
    out of place, a copy of the whole entity table at every step (a WN18RR training
    step took 0.167 s instead of 0.156, one thread).

    In place is safe because the interactions use the table only in products and
    element-wise functions, whose backward makes a new gradient; an interaction that
    passed the table through an addition (whose backward hands one gradient tensor to both
    operands) would need a copy here.
    """

    @staticmethod
    def forward(ctx, table, ids):
        ctx.save_for_backward(ids)
        return table[ids], table.view_as(table)

    @staticmethod
    def backward(ctx, grad_rows, grad_table):
        # Both gradients are tensors: autograd materialises an unused output's as zeros.
        (ids,) = ctx.saved_tensors
        return grad_table.index_add_(0, ids, grad_rows), None


class EmbeddingScorer(nn.Module):
    """Entity and relation embeddings and the interaction that scores them.

    Parameters
    ----------
    n_entities : int
    n_relations : int
        Relations including reciprocals (twice the relations of the graph).
    entity_dim, relation_dim : int
    interaction : nn.Module
        Called as ``interaction(subjects, relations, candidates)`` on embeddings.
    init_std : float, default=None
        Standard deviation of a normal initialisation of the embeddings; None is Xavier
        normal.
    """

    def __init__(self, n_entities, n_relations, entity_dim, relation_dim, interaction,
                 init_std=None):
        super().__init__()
        self.entity_embeddings = nn.Embedding(n_entities, entity_dim)
        self.relation_embeddings = nn.Embedding(n_relations, relation_dim)
        for embeddings in (self.entity_embeddings, self.relation_embeddings):
            if init_std is None:
                nn.init.xavier_normal_(embeddings.weight)
            else:
                nn.init.normal_(embeddings.weight, std=init_std)
        self.interaction = interaction

    def forward(self, entities, relations):
        """Logits of the queries ``(entities[i], relations[i], ?)`` against every entity."""
        # The entity table is also the output layer: see _RowsAndTable.
        subjects, candidates = _RowsAndTable.apply(self.entity_embeddings.weight, entities)
        return self.interaction(subjects, self.relation_embeddings(relations), candidates)


class FrozenBasePlusCorrection(nn.Module):
    """Logits of a frozen base scorer plus those of a trained correction.

    The base stays in evaluation mode (no dropout, batch-norm running statistics) and
    receives no gradient, whatever mode this module is put in.
    """

    def __init__(self, base, correction):
        super().__init__()
        self.base = base.requires_grad_(False)
        self.correction = correction
        self.base.eval()

    def train(self, mode=True):
        super().train(mode)
        self.base.eval()
        return self

    def forward(self, entities, relations):
        with torch.no_grad():
            base_logits = self.base(entities, relations)
        return base_logits + self.correction(entities, relations)
