"""Transformer building blocks of the sequential recommenders (imports torch).

The estimators import this module inside ``fit`` and the prediction methods, so that
``import recfactor.sequential`` works without torch.

Every block is pre-LayerNorm (``x + Dropout(Attention(LN(x)))`` then
``x + Dropout(FFN(LN(x)))``) and the encoder ends with a LayerNorm: the residual stream
carries the embeddings unnormalised, which trains stably without warm-up.

Weights start as in GPT-2 and the SASRec+ authors' code (Klenitskiy & Vasilev, RecSys 2023):
normal with standard deviation 0.02, biases zero, and the item embeddings enter the encoder
scaled up by ``sqrt(dim)``, so that items outweigh the positional embeddings from the first
step. Against Xavier-normal weights and unscaled items (whose standard deviation
``sqrt(2 / (n_items + dim))`` shrinks with the catalogue), SASRec's test NDCG@10 went from
0.068 / 0.074 to 0.092 / 0.094 on MovieLens-100K (20 epochs, seeds 0 and 1, see
``benchmarks/bench_sequential.py``), and on Amazon Beauty (54,542 items; sampled softmax,
2,048 negatives; early stopping, then a refit) from 0.027 to 0.034.
"""

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

INIT_STD = 0.02


def attention_mask(valid, causal, queries=None):
    """Boolean mask (``True``: may attend) of shape (batch, 1, n_queries, width).

    A query attends to non-padding keys, and with ``causal`` only to itself and the past.
    Every query may attend to itself, so that rows of padding get a finite softmax; their
    outputs are never read. ``queries`` (batch, n_queries) are the columns whose outputs are
    wanted, all of them when ``None``.
    """
    width = valid.shape[1]
    keys = torch.arange(width, device=valid.device)
    if queries is None:
        queries = keys[None, :]
    itself = keys == queries[..., None]
    mask = valid[:, None, :] | itself
    if causal:
        mask = mask & (keys <= queries[..., None])
    return mask[:, None]


def gather_positions(x, queries):
    """Rows ``x[b, queries[b, j]]`` of (batch, width, dim) ``x``: shape (batch, n_queries, dim)."""
    return x.gather(1, queries[..., None].expand(-1, -1, x.shape[-1]))


class PositionalKernel(nn.Module):
    """Lower-triangular Toeplitz matrix ``L[i, j] = g[i - j]`` over positions (one per block).

    The kernel ``g`` starts at ``g[0] = 1`` (fixed) with small learnable values for the other
    lags, and is divided by its L2 norm, so that mixing the keys neither grows nor shrinks
    them. It depends on positions only, never on the items.
    """

    def __init__(self, max_length):
        super().__init__()
        self.register_buffer("head", torch.ones(1))
        self.lags = nn.Parameter(torch.randn(max_length - 1) * 0.01)

    def kernel(self):
        """The normalised kernel ``g`` of length ``max_length``."""
        g = torch.cat([self.head, self.lags])
        return g / g.norm()

    def forward(self, width):
        """``L`` for the last ``width`` positions, shape (width, width)."""
        g = self.kernel()[:width]
        lag = torch.arange(width, device=g.device)
        lag = lag[:, None] - lag[None, :]
        return torch.where(lag >= 0, g[lag.clamp(min=0)], torch.zeros((), device=g.device))


class ValueMixer(nn.Module):
    """Learnable lower-triangular ``A`` mixing the values over positions (one per block).

    It starts near the identity, and each row is divided by its L2 norm. Left padding puts
    the most recent item in the last row, so a batch of ``width`` columns uses the last
    ``width`` rows and columns; the columns cut off are padding, whose values are zero.
    """

    def __init__(self, max_length):
        super().__init__()
        self.weight = nn.Parameter(torch.eye(max_length)
                                   + 0.01 * torch.randn(max_length, max_length).tril(-1))

    def forward(self, width):
        A = self.weight.tril()
        A = A / A.norm(dim=1, keepdim=True)
        return A[-width:, -width:]


class SelfAttention(nn.Module):
    """Multi-head self-attention through ``scaled_dot_product_attention``.

    With a positional kernel ``L`` and value mixer ``A``, the logits ``Q K^T L^T / sqrt(d)``
    are those of the mixed keys ``L K`` and the values are ``A V``, so the kernel attention
    runs through the same fused kernel as the standard one.
    """

    def __init__(self, dim, n_heads, dropout, kernel=None, value_mixer=None):
        super().__init__()
        self.n_heads = n_heads
        self.dropout = dropout
        self.qkv = nn.Linear(dim, 3 * dim)
        self.out = nn.Linear(dim, dim)
        self.kernel = kernel
        self.value_mixer = value_mixer

    def forward(self, x, mask, valid, queries=None):
        batch, width, dim = x.shape
        heads = (batch, -1, self.n_heads, dim // self.n_heads)
        from_queries = x if queries is None else gather_positions(x, queries)
        q = F.linear(from_queries, self.qkv.weight[:dim], self.qkv.bias[:dim])
        k, v = (F.linear(x, self.qkv.weight[dim:], self.qkv.bias[dim:])
                .view(batch, width, 2, *heads[2:]).permute(2, 0, 3, 1, 4))
        q = q.view(heads).transpose(1, 2)
        if self.kernel is not None:
            # Zero the padding first: the mixing would otherwise carry it into real positions.
            keep = valid[:, None, :, None].to(x.dtype)
            k = self.kernel(width) @ (k * keep)
            v = self.value_mixer(width) @ (v * keep)
        out = F.scaled_dot_product_attention(
            q, k, v, attn_mask=mask, dropout_p=self.dropout if self.training else 0.0
        )
        return self.out(out.transpose(1, 2).reshape(batch, -1, dim))


class FeedForward(nn.Sequential):
    """Point-wise two-layer network applied to every position."""

    def __init__(self, dim, hidden, dropout, activation):
        super().__init__(nn.Linear(dim, hidden), activation(), nn.Dropout(dropout),
                         nn.Linear(hidden, dim))


class TransformerBlock(nn.Module):
    """Pre-LayerNorm attention and feed-forward sub-layers with residual connections."""

    def __init__(self, dim, n_heads, dropout, ffn_hidden, activation, kernel=None,
                 value_mixer=None):
        super().__init__()
        self.attention_norm = nn.LayerNorm(dim)
        self.attention = SelfAttention(dim, n_heads, dropout, kernel, value_mixer)
        self.ffn_norm = nn.LayerNorm(dim)
        self.ffn = FeedForward(dim, ffn_hidden, dropout, activation)
        self.dropout = nn.Dropout(dropout)

    def forward(self, x, mask, valid, queries=None):
        """Outputs at the ``queries`` columns (batch, n_queries), at every column if ``None``."""
        attended = self.attention(self.attention_norm(x), mask, valid, queries)
        x = x if queries is None else gather_positions(x, queries)
        x = x + self.dropout(attended)
        return x + self.dropout(self.ffn(self.ffn_norm(x)))


class SequenceEncoder(nn.Module):
    """Transformer over embedded, left-padded sequences; returns one state per position.

    Parameters
    ----------
    dim, n_blocks, n_heads, dropout, max_length : int, int, int, float, int
    positional : {"learned", "kernel", "none"}
        Learned absolute embeddings added to the input (indexed from the most recent
        position), a positional kernel in every block, or no positional information.
    causal : bool
        Causal (each position sees the past) or bidirectional attention.
    ffn_hidden : int
    activation : type of nn.Module
    position_scale : float, default=1.0
        Factor of the learned positional embeddings on input (as the items' ``sqrt(dim)``
        scales them): it multiplies their start and their step under Adam alike.
    """

    def __init__(self, dim, n_blocks, n_heads, dropout, max_length, positional, causal,
                 ffn_hidden, activation, position_scale=1.0):
        super().__init__()
        self.causal = causal
        self.position_scale = position_scale
        self.positions = nn.Embedding(max_length, dim) if positional == "learned" else None
        kernel = positional == "kernel"
        # Each block has its own kernel and value mixer: "layer-wise parameters", the best
        # setting of the paper's ablation.
        self.blocks = nn.ModuleList(
            TransformerBlock(
                dim, n_heads, dropout, ffn_hidden, activation,
                kernel=PositionalKernel(max_length) if kernel else None,
                value_mixer=ValueMixer(max_length) if kernel else None,
            )
            for _ in range(n_blocks)
        )
        self.dropout = nn.Dropout(dropout)
        self.norm = nn.LayerNorm(dim)
        for module in self.modules():
            if isinstance(module, (nn.Linear, nn.Embedding)):
                nn.init.normal_(module.weight, std=INIT_STD)
            if isinstance(module, nn.Linear):
                nn.init.zeros_(module.bias)

    def forward(self, embedded, valid, queries=None):
        """States from embeddings (batch, width, dim) and the non-padding mask.

        All ``width`` states, or with ``queries`` (batch, n_queries) of column indices only
        theirs, shape (batch, n_queries, dim): the last block then attends from those
        columns alone, which saves most of its work where few states are read (the masked
        positions of BERT4Rec, the last position at inference).
        """
        x = embedded
        width = x.shape[1]
        if self.positions is not None:
            start = self.positions.num_embeddings - width
            x = x + self.positions.weight[start:] * self.position_scale
        x = self.dropout(x) * valid[..., None]
        mask = attention_mask(valid, self.causal)
        *inner, last = self.blocks
        for block in inner:
            x = block(x, mask, valid)
        if queries is not None:
            mask = attention_mask(valid, self.causal, queries)
        return self.norm(last(x, mask, valid, queries))


class ItemHead(nn.Module):
    """The item table of a sequential model: its input embeddings and its output scores.

    Token 0 is padding, tokens ``1..n_items`` are the items, and ``n_extra_tokens`` more
    (the [MASK] of masked-item training) follow them. The same rows ``W`` score the items:
    item ``i`` scores ``s @ W[i] + b[i]`` for a state ``s``, a formula written here only
    (:meth:`scores`, :meth:`target_scores`, :meth:`ranking_factors`), so that every loss and
    the recommendations score alike.

    The bias starts at the items' log frequencies (:meth:`start_from_frequencies`), so the
    untrained network already ranks nearly by popularity and training spends its steps on what
    the history adds. In 20 epochs of ``benchmarks/bench_sequential.py`` (test NDCG@10,
    without the bias and with it), SASRec went from 0.0339 to 0.0533 on ml-latest-small
    (seed 0) and from 0.0945 to 0.1005 on MovieLens-100K (seeds 0, 1); BERT4Rec, which
    learns from a fifth of the positions, from 0.0202 to 0.0286 and from 0.0409 to 0.0415
    (seeds 0-4).
    """

    def __init__(self, n_items, dim, n_extra_tokens=0):
        super().__init__()
        self.n_items = n_items
        self.items = nn.Embedding(n_items + 1 + n_extra_tokens, dim, padding_idx=0)
        with torch.no_grad():
            nn.init.normal_(self.items.weight[1:], std=INIT_STD)
        self.bias = nn.Parameter(torch.zeros(n_items))

    def start_from_frequencies(self, counts, negative_rate=None):
        """Set the bias to the best scores of a model that ignores the history.

        ``p`` are the add-one smoothed shares of the ``counts``. Under a softmax that is
        ``log p`` (centred, which changes nothing). Under the sigmoid of BCE and gBCE, whose
        negatives weigh ``negative_rate`` (:func:`~._losses.negative_rate`) against the
        positive, it is ``log(p / (negative_rate (1 - p)))``. A start at zero instead made
        gBCE over every item of a 40-item chain spend 30 epochs at popularity's NDCG@10 (0.18):
        its first steps, against a loss of 25 from 39 sigmoids at one half, pushed the whole
        network down; from the prior it reached 0.40 in 15 epochs.
        """
        log_counts = torch.log1p(torch.as_tensor(counts, dtype=self.bias.dtype))
        with torch.no_grad():
            if negative_rate is None:
                self.bias.copy_(log_counts - log_counts.mean())
            else:
                shares = torch.exp(log_counts - torch.logsumexp(log_counts, 0))
                self.bias.copy_(torch.log(shares / (negative_rate * (1 - shares))))

    def weights(self):
        """``W``: the embeddings of the items, shape (n_items, dim)."""
        return self.items.weight[1:self.n_items + 1]

    def embed(self, tokens):
        """Encoder input of the tokens: their embeddings scaled up by ``sqrt(dim)``."""
        return self.items(tokens) * self.items.embedding_dim ** 0.5

    def scores(self, states, items=None):
        """Scores of candidate items for each state.

        ``items=None``: every item, shape (..., n_items). Items of shape (k,): the same
        candidates for every state, shape (..., k). With states (batch, width, dim), items
        of shape (batch, k): each row's own candidates, shape (batch, width, k).
        """
        weights, bias = self.weights(), self.bias
        if items is not None:
            weights, bias = weights[items], bias[items]
        return states @ weights.transpose(-1, -2) + bias.unsqueeze(-2)

    def target_scores(self, states, targets):
        """Score of one item per state: states (..., dim) and targets (...) give (...)."""
        return (states * self.weights()[targets]).sum(-1) + self.bias[targets]

    def ranking_factors(self, states):
        """NumPy ``(user_factors, item_factors)`` whose products are :meth:`scores`.

        The bias is one more item factor, against a constant 1 on the users' side.
        """
        states = np.hstack([states, np.ones((states.shape[0], 1), dtype=states.dtype)])
        items = np.hstack([self.weights().detach().cpu().numpy(),
                           self.bias.detach().cpu().numpy()[:, None]])
        return states, items


class NextItemNetwork(nn.Module):
    """An item head and one encoder: states of token sequences, scored by the head."""

    def __init__(self, n_items, dim, n_extra_tokens=0, **encoder_params):
        super().__init__()
        self.head = ItemHead(n_items, dim, n_extra_tokens)
        self.encoder = SequenceEncoder(dim, **encoder_params)

    def forward(self, tokens, queries=None):
        """States of the tokens (batch, width), all or at the ``queries`` columns."""
        return self.encoder(self.head.embed(tokens), tokens != 0, queries)

    def user_states(self, tokens):
        """State at the last (most recent) position of each left-padded row."""
        last = torch.full((tokens.shape[0], 1), tokens.shape[1] - 1, device=tokens.device)
        return self(tokens, last)[:, 0]


class BatchLoss(nn.Module):
    """A network and the function of its batch loss as one module, which DDP wraps.

    Every use of the parameters (the tied item table scores the outputs after the encoder)
    is then inside ``forward``, as DistributedDataParallel needs to synchronise the
    gradients of all of them.
    """

    def __init__(self, network, loss):
        super().__init__()
        self.network = network
        self.loss = loss

    def forward(self, batch):
        return self.loss(self.network, batch)


class TopItems(nn.Module):
    """Token rows to their top-``k`` items and scores: the graph a served model runs.

    The items of each row (the tokens ``1..n_items``) are left out, as ``recommend`` leaves
    out a history's items; padding and [MASK] tokens are not items.
    """

    def __init__(self, network, k):
        super().__init__()
        self.network = network
        self.k = k

    def forward(self, tokens):
        n_items = self.network.head.n_items
        scores = self.network.head.scores(self.network.user_states(tokens))
        items = tokens - 1
        # Non-items are sent to one extra column, dropped after the scatter.
        seen = torch.where((items >= 0) & (items < n_items), items, n_items)
        scores = torch.cat([scores, scores[:, :1]], dim=1).scatter(1, seen, float("-inf"))
        return torch.topk(scores[:, :n_items], self.k, dim=1)


class PositiveNegativeNetwork(NextItemNetwork):
    """Two encoders sharing the item embeddings: one over liked items, one over disliked ones.

    Only the encoder of liked items makes recommendations (``forward`` and ``user_states``).
    """

    def __init__(self, n_items, dim, **encoder_params):
        super().__init__(n_items, dim, **encoder_params)
        self.negative_encoder = SequenceEncoder(dim, **encoder_params)

    def negative_states(self, tokens):
        return self.negative_encoder(self.head.embed(tokens), tokens != 0)
