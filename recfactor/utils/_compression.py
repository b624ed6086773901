"""Low-rank compression of a trained torch network's matrices, in place (imports torch).

A matrix ``W`` (m x n) of an ``nn.Linear`` or ``nn.Embedding`` is replaced by the product of
two factors of rank ``r`` from :func:`recfactor.decomposition.fisher_weighted_svd`, held by
:class:`LowRankLinear` or :class:`LowRankEmbedding`: ``r (m + n)`` parameters instead of
``m n``. Both expose the product as ``weight``, so code that reads a layer's weight (the
tied item table, the sliced query-key-value projection) runs unchanged on the compressed
network. The estimators say which of their matrices are compressed and how a batch's loss
is computed; the rest is here.
"""

from numbers import Integral, Real

import numpy as np
import torch
import torch.nn.functional as F
from sklearn.utils._param_validation import Interval, StrOptions
from torch import nn

from ..decomposition import fisher_weighted_svd

# The keyword arguments of every estimator's ``compress``.
COMPRESSION_CONSTRAINTS = {
    "keep": [Interval(Real, 0, 1, closed="neither")],
    "method": [StrOptions({"gfwsvd", "fwsvd", "svd"})],
    "n_batches": [Interval(Integral, 1, None, closed="left")],
    "shrinkage": [Interval(Real, 0, 1, closed="both")],
    "fine_tune_epochs": [Interval(Integral, 0, None, closed="left")],
}


class LowRankLinear(nn.Module):
    """``nn.Linear`` whose weight is the product ``left @ right`` (out x rank, rank x in)."""

    def __init__(self, left, right, bias):
        super().__init__()
        self.left = nn.Parameter(left)
        self.right = nn.Parameter(right)
        self.bias = None if bias is None else nn.Parameter(bias)

    @property
    def weight(self):
        return self.left @ self.right

    def forward(self, x):
        return F.linear(F.linear(x, self.right), self.left, self.bias)


class LowRankEmbedding(nn.Module):
    """``nn.Embedding`` whose table is the product ``left @ right`` (rows x rank, rank x dim)."""

    def __init__(self, left, right, padding_idx=None):
        super().__init__()
        self.left = nn.Parameter(left)
        self.right = nn.Parameter(right)
        self.padding_idx = padding_idx

    @property
    def weight(self):
        return self.left @ self.right

    @property
    def embedding_dim(self):
        return self.right.shape[1]

    def forward(self, ids):
        return F.embedding(ids, self.left, self.padding_idx) @ self.right


def kept_rank(m, n, keep):
    """Rank whose two factors hold at most ``keep`` of an m x n matrix's parameters (>= 1)."""
    return max(1, int(keep * m * n / (m + n)))


def compress_in_place(network, paths, backward_batches, *, keep, method, shrinkage,
                      random_state):
    """Replace the matrices at ``paths`` of ``network`` by low-rank factors.

    Parameters
    ----------
    network : nn.Module
    paths : list of str
        Dotted names of ``nn.Linear`` / ``nn.Embedding`` submodules.
    backward_batches : iterable of callables
        Each back-propagates the loss of one training batch; the gradients they leave on
        the matrices estimate the Fisher. Not called for ``method="svd"``.
    keep, method, shrinkage, random_state
        See the estimators' ``compress``.

    Returns
    -------
    ranks : dict of str to int
        The rank each matrix was given.
    """
    layers = {path: network.get_submodule(path) for path in paths}
    if any(isinstance(layer, (LowRankLinear, LowRankEmbedding)) for layer in layers.values()):
        raise ValueError("The model is compressed already; compress a model fresh from fit "
                         "(for example a copy.deepcopy of it) to try another keep or method.")
    gradients = {path: [] for path in paths}
    if method != "svd":
        network.eval()  # the Fisher of the model that predicts: no dropout
        for backward in backward_batches:
            network.zero_grad(set_to_none=True)
            backward()
            for path, layer in layers.items():
                gradients[path].append(_matrix_gradient(layer))
        network.zero_grad(set_to_none=True)
    ranks = {}
    for path, layer in layers.items():
        with torch.no_grad():
            W = layer.weight.detach().cpu().double().numpy()
        m, n = W.shape
        ranks[path] = kept_rank(m, n, keep)
        left, right = fisher_weighted_svd(
            W, ranks[path], method=method, gradients=gradients[path] or None,
            shrinkage=shrinkage, random_state=random_state,
        )
        _replace(network, path, layer, left, right)
    return ranks


def restore_low_rank_layers(network, shapes):
    """Put empty low-rank layers where a saved ``state_dict`` has factors.

    ``shapes`` maps the saved state's keys to their shapes; a key ``"<path>.left"`` marks a
    matrix that was compressed, and the layer at ``path`` of the freshly built ``network``
    is replaced by an uninitialised low-rank one of the saved shapes, ready for
    ``load_state_dict``.
    """
    for key, shape in shapes.items():
        if not key.endswith(".left"):
            continue
        path = key[:-len(".left")]
        layer = network.get_submodule(path)
        left = torch.empty(shape, dtype=layer.weight.dtype)
        right = torch.empty(shapes[f"{path}.right"], dtype=layer.weight.dtype)
        _replace(network, path, layer, left, right)


def _matrix_gradient(layer):
    grad = layer.weight.grad
    if grad is None:  # a matrix the loss does not reach (a [MASK] row, say)
        return np.zeros(tuple(layer.weight.shape))
    return grad.detach().cpu().double().numpy()


def _replace(network, path, layer, left, right):
    left, right = (torch.as_tensor(factor, dtype=layer.weight.dtype, device=layer.weight.device)
                   for factor in (left, right))
    if isinstance(layer, nn.Embedding):
        replacement = LowRankEmbedding(left, right, layer.padding_idx)
    else:
        bias = None if layer.bias is None else layer.bias.detach().clone()
        replacement = LowRankLinear(left, right, bias)
    parent, _, name = path.rpartition(".")
    setattr(network.get_submodule(parent) if parent else network, name, replacement)
