"""Transformer building blocks of the sequential recommenders (imports torch).

The estimators import this module inside ``fit`` and the prediction methods, so that
``import recfactor.sequential`` works without torch.

Every block is pre-LayerNorm (``x + Dropout(Attention(LN(x)))`` then
``x + Dropout(FFN(LN(x)))``) and the encoder ends with a LayerNorm: the residual stream
carries the embeddings unnormalised, which trains stably without warm-up.
"""

import math

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn


# Rows encoded together when a batch is split into chunks of similar length.
_CHUNK_ROWS = 32
_WIDTH_STEP = 16


def attention_bias(mask, n_heads, dtype):
    """The boolean ``mask`` of :func:`attention_mask` as an additive mask (0 or -inf) of
    shape (batch * n_heads, width, width)."""
    batch, _, width, _ = mask.shape
    bias = torch.zeros((batch, n_heads, width, width), dtype=dtype, device=mask.device)
    return bias.masked_fill_(~mask, float("-inf")).view(batch * n_heads, width, width)


def encode_in_chunks(encoder, embedding, tokens):
    """``encoder(embedding(tokens), tokens != 0)``, computed on groups of rows of similar
    length, each trimmed to its longest row.

    Rows are independent, and left padding puts every row's items in its last columns, so a
    row's states do not depend on the other rows or on leading columns of padding: sorting
    the rows by length and encoding ``_CHUNK_ROWS`` at a time skips most of the padding
    of a batch whose lengths vary (and most of its quadratic attention). The states are
    returned in the original layout, zero at the positions left out.
    """
    valid = tokens != 0
    batch, width = tokens.shape
    # Span of a row: from its first non-padding column to the end (1 for an empty row).
    first = valid.to(torch.uint8).argmax(dim=1)
    spans = torch.where(valid.any(dim=1), width - first, 1).cpu().numpy()
    if batch <= _CHUNK_ROWS or spans.min() == width:
        return encoder(embedding(tokens), valid)
    order = np.argsort(-spans, kind="stable")
    pieces = []
    for start in range(0, batch, _CHUNK_ROWS):
        rows = order[start:start + _CHUNK_ROWS]
        # Widths rounded up to a multiple of _WIDTH_STEP: few distinct shapes, whose
        # kernels the BLAS and oneDNN libraries prepare once and then reuse.
        span = min(width, -(-int(spans[rows[0]]) // _WIDTH_STEP) * _WIDTH_STEP)
        rows = torch.from_numpy(rows).to(tokens.device)
        part = tokens[rows, width - span:]
        pieces.append((rows, span, encoder(embedding(part), valid[rows, width - span:])))
    states = pieces[0][2].new_zeros((batch, width, pieces[0][2].shape[-1]))
    for rows, span, part in pieces:
        states[rows, width - span:] = part
    return states


def attention_mask(valid, causal):
    """Boolean mask (``True``: may attend) of shape (batch, 1, width, width).

    A query attends to non-padding keys, and with ``causal`` only to itself and the past.
    Every query may attend to itself, so that rows of padding get a finite softmax; their
    outputs are never read.
    """
    width = valid.shape[1]
    diagonal = torch.eye(width, dtype=torch.bool, device=valid.device)
    mask = valid[:, None, :] | diagonal
    if causal:
        mask = mask & torch.ones_like(diagonal).tril()
    return mask[:, None]


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
    """Learnable lower-triangular ``A`` mixing the values over positions (shared by blocks).

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

    def forward(self, x, mask, valid):
        """``mask``: boolean (batch, 1, width, width), or the additive ``bias`` of
        :func:`attention_bias` of shape (batch * n_heads, width, width)."""
        batch, width, dim = x.shape
        q, k, v = (self.qkv(x).view(batch, width, 3, self.n_heads, dim // self.n_heads)
                   .permute(2, 0, 3, 1, 4))
        if self.kernel is not None:
            # Zero the padding first: the mixing would otherwise carry it into real positions.
            keep = valid[:, None, :, None].to(x.dtype)
            k = self.kernel(width) @ (k * keep)
            v = self.value_mixer(width) @ (v * keep)
        if mask.dtype == torch.bool:
            out = F.scaled_dot_product_attention(
                q, k, v, attn_mask=mask, dropout_p=self.dropout if self.training else 0.0
            )
        else:
            out = self._attend(q, k, v, mask)
        return self.out(out.transpose(1, 2).reshape(batch, width, dim))

    def _attend(self, q, k, v, bias):
        """Attention with dropout as ``scaled_dot_product_attention`` computes it on the CPU,
        less its work that these masks make needless: the additive mask is built once per
        batch, and no row is fully masked (a query always sees itself), so the softmax needs
        no guard against empty rows."""
        batch, heads, width, head_dim = q.shape
        scores = torch.baddbmm(bias, q.reshape(batch * heads, width, head_dim),
                               k.reshape(batch * heads, width, head_dim).transpose(1, 2),
                               alpha=head_dim ** -0.5)
        weights = F.dropout(torch.softmax(scores, dim=-1), self.dropout, self.training)
        return (weights @ v.reshape(batch * heads, width, head_dim)).view(
            batch, heads, width, head_dim)


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

    def forward(self, x, mask, valid):
        x = x + self.dropout(self.attention(self.attention_norm(x), mask, valid))
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
    """

    def __init__(self, dim, n_blocks, n_heads, dropout, max_length, positional, causal,
                 ffn_hidden, activation):
        super().__init__()
        self.causal = causal
        self.n_heads = n_heads
        self.attention_dropout = dropout
        self.scale = math.sqrt(dim)
        self.positions = nn.Embedding(max_length, dim) if positional == "learned" else None
        self.value_mixer = ValueMixer(max_length) if positional == "kernel" else None
        self.blocks = nn.ModuleList(
            TransformerBlock(
                dim, n_heads, dropout, ffn_hidden, activation,
                kernel=PositionalKernel(max_length) if positional == "kernel" else None,
                value_mixer=self.value_mixer,
            )
            for _ in range(n_blocks)
        )
        self.dropout = nn.Dropout(dropout)
        self.norm = nn.LayerNorm(dim)

    def forward(self, embedded, valid):
        """States of shape (batch, width, dim) from embeddings and the non-padding mask."""
        x = embedded * self.scale
        width = x.shape[1]
        if self.positions is not None:
            start = self.positions.num_embeddings - width
            x = x + self.positions.weight[start:]
        x = self.dropout(x) * valid[..., None]
        mask = attention_mask(valid, self.causal)
        if self.training and self.attention_dropout > 0:
            # Training runs the math path of the attention anyway: build its mask once.
            mask = attention_bias(mask, self.n_heads, x.dtype)
        for block in self.blocks:
            x = block(x, mask, valid)
        return self.norm(x)


class NextItemNetwork(nn.Module):
    """Item embeddings, one encoder, and scores by dot product with the same embeddings.

    Token 0 is padding, tokens ``1..n_items`` are the items, and ``n_extra_tokens`` more
    (the [MASK] of masked-item training) follow them.
    """

    def __init__(self, n_items, dim, n_extra_tokens=0, **encoder_params):
        super().__init__()
        self.n_items = n_items
        self.items = nn.Embedding(n_items + 1 + n_extra_tokens, dim, padding_idx=0)
        nn.init.normal_(self.items.weight[1:], std=dim ** -0.5)
        self.encoder = SequenceEncoder(dim, **encoder_params)

    def item_weights(self):
        """Embeddings of the items, shape (n_items, dim): the output layer."""
        return self.items.weight[1:self.n_items + 1]

    def forward(self, tokens):
        return encode_in_chunks(self.encoder, self.items, tokens)

    def user_states(self, tokens):
        """State at the last (most recent) position of each left-padded row."""
        return self(tokens)[:, -1]


class PositiveNegativeNetwork(NextItemNetwork):
    """Two encoders sharing the item embeddings: one over liked items, one over disliked ones.

    Only the encoder of liked items makes recommendations (``forward`` and ``user_states``).
    """

    def __init__(self, n_items, dim, **encoder_params):
        super().__init__(n_items, dim, **encoder_params)
        self.negative_encoder = SequenceEncoder(dim, **encoder_params)

    def negative_states(self, tokens):
        return encode_in_chunks(self.negative_encoder, self.items, tokens)
