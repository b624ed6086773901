"""AdaGram: full-matrix AdaGrad with a low-rank Gram matrix kept by a matrix integrator."""

import math
from numbers import Integral, Real

import torch

__all__ = ["AdaGram"]


def _check_group(group):
    """Raise ValueError for a parameter group with bad hyper-parameters."""
    lr, rank, delta, block_size = group["lr"], group["rank"], group["delta"], group["block_size"]
    if isinstance(lr, torch.Tensor) or not isinstance(lr, Real) or isinstance(lr, bool):
        raise ValueError(f"lr must be a positive float, got {lr!r}.")
    if not lr > 0:
        raise ValueError(f"lr must be a positive float, got {lr!r}.")
    if not isinstance(rank, Integral) or isinstance(rank, bool) or rank < 1:
        raise ValueError(f"rank must be an integer >= 1, got {rank!r}.")
    if not isinstance(delta, Real) or isinstance(delta, bool) or not delta > 0:
        raise ValueError(f"delta must be a positive float, got {delta!r}.")
    if not math.isfinite(delta) or not math.isfinite(lr):
        raise ValueError(f"lr and delta must be finite, got lr={lr!r}, delta={delta!r}.")
    if not isinstance(block_size, Integral) or isinstance(block_size, bool) or block_size < 1:
        raise ValueError(f"block_size must be an integer >= 1, got {block_size!r}.")


def _block_shape(numel, block_size):
    """Number of blocks and their (padded) length for a tensor of ``numel`` entries."""
    if numel <= block_size:
        return 1, numel
    return -(-numel // block_size), block_size


def _direction(U, S, g, delta):
    """``(delta I + U S U^T)^(-1/2) g`` for batches of blocks, in O(m k^2) per block.

    ``U`` is ``(B, m, k)`` with orthonormal columns, ``S`` is ``(B, k, k)`` symmetric PSD
    and ``g`` is ``(B, m)``. With ``S = Q diag(lam) Q^T`` and ``V = U Q``,
    the result is ``delta^(-1/2) (g - V V^T g) + V (delta + lam)^(-1/2) V^T g``.
    """
    lam, Q = torch.linalg.eigh(S)
    lam = lam.clamp_min(0)
    V = U @ Q
    h = (V.transpose(-1, -2) @ g.unsqueeze(-1)).squeeze(-1)
    Vh = (V @ h.unsqueeze(-1)).squeeze(-1)
    scaled = (V @ (h * (delta + lam).rsqrt()).unsqueeze(-1)).squeeze(-1)
    return (g - Vh) / math.sqrt(delta) + scaled


def _add_rank_one(U, S, g):
    """Best rank-k approximation of ``U S U^T + g g^T``, as new ``(U, S)``.

    One step of the augmented basis-update & Galerkin integrator for the increment
    ``g g^T``: the basis is augmented by the part of ``g`` outside ``span(U)``, the
    Galerkin core ``[U q]^T (U S U^T + g g^T) [U q]`` (exact, since the new matrix lives in
    that span) is eigendecomposed and truncated back to rank ``k``. When ``k`` equals the
    block length the basis spans everything and ``S`` is updated exactly.
    """
    B, m, k = U.shape
    a = (U.transpose(-1, -2) @ g.unsqueeze(-1)).squeeze(-1)
    if k == m:
        return U, S + a.unsqueeze(-1) * a.unsqueeze(-2)
    w = g - (U @ a.unsqueeze(-1)).squeeze(-1)
    # Second Gram-Schmidt pass: keeps [U, q] orthonormal to working precision.
    a2 = (U.transpose(-1, -2) @ w.unsqueeze(-1)).squeeze(-1)
    w = w - (U @ a2.unsqueeze(-1)).squeeze(-1)
    a = a + a2
    b = torch.linalg.vector_norm(w, dim=-1)
    scale = torch.linalg.vector_norm(g, dim=-1)
    tiny = torch.finfo(g.dtype).eps * 16
    ok = b > tiny * scale.clamp_min(torch.finfo(g.dtype).tiny)
    q = w / torch.where(ok, b, torch.ones_like(b)).unsqueeze(-1)
    if not bool(ok.all()):
        # g (numerically) lies in span(U): augment by any unit vector orthogonal to U, the
        # one from the coordinate that U covers least (its norm^2 is >= 1 - k/m > 0).
        j = (U * U).sum(-1).argmin(-1)
        Uj = U[torch.arange(B, device=U.device), j]
        fallback = -(U @ Uj.unsqueeze(-1)).squeeze(-1)
        fallback[torch.arange(B, device=U.device), j] += 1
        fallback = fallback / torch.linalg.vector_norm(fallback, dim=-1, keepdim=True)
        q = torch.where(ok.unsqueeze(-1), q, fallback)
        b = torch.where(ok, b, torch.zeros_like(b))
    U_hat = torch.cat([U, q.unsqueeze(-1)], dim=-1)
    c = torch.cat([a, b.unsqueeze(-1)], dim=-1)
    core = torch.zeros(B, k + 1, k + 1, dtype=U.dtype, device=U.device)
    core[:, :k, :k] = S
    core = core + c.unsqueeze(-1) * c.unsqueeze(-2)
    core = (core + core.transpose(-1, -2)) / 2
    lam, Q = torch.linalg.eigh(core)  # ascending: drop the smallest eigenpair
    U_new = U_hat @ Q[..., 1:]
    S_new = torch.diag_embed(lam[..., 1:].clamp_min(0))
    # Re-orthonormalise (O(m k^2)) so rounding errors do not accumulate over many steps.
    U_new, R = torch.linalg.qr(U_new)
    S_new = R @ S_new @ R.transpose(-1, -2)
    return U_new, (S_new + S_new.transpose(-1, -2)) / 2


class AdaGram(torch.optim.Optimizer):
    r"""AdaGram: full-matrix AdaGrad with a rank-``r`` Gram matrix.

    Full-matrix AdaGrad steps ``x <- x - lr (delta I + G)^(-1/2) g`` with the Gram matrix
    ``G = sum_t g_t g_t^T`` of all gradients so far, the current one included. AdaGram
    (Matveeva, Katrutsa and Frolov, 2025) keeps ``G`` at rank ``r`` as ``U S U^T``
    (``U``: ``d x r`` orthonormal, ``S``: ``r x r`` symmetric PSD), updates it with a
    low-rank matrix integrator when ``g g^T`` is added, and computes the direction with the
    fast symmetric factorisation ``S = Q Lambda Q^T``, ``V = U Q``::

        p = delta^(-1/2) (g - V V^T g) + V (delta + Lambda)^(-1/2) V^T g

    at a cost of ``O(d r^2)`` per step and ``O(d r)`` memory.

    Parameters
    ----------
    params : iterable
        Parameters to optimise, or dicts defining parameter groups.
    lr : float, default=1e-2
        Learning rate, > 0.
    rank : int, default=5
        Rank ``r`` of the Gram matrix kept per block, >= 1. A block of ``m <= rank``
        entries keeps its full ``m x m`` Gram matrix (exact full-matrix AdaGrad).
    delta : float, default=1.0
        Damping ``delta > 0`` of ``delta I + G``. See Notes for why the default is not the
        ``1e-8`` usual for diagonal AdaGrad.
    block_size : int, default=4096
        A parameter tensor with more entries than this is flattened and split into
        contiguous blocks of ``block_size`` entries (the last one zero-padded), each with
        its own rank-``r`` Gram matrix. Smaller tensors form one block.

    Attributes
    ----------
    state : dict
        Per parameter: ``"step"`` (a float tensor), ``"U"`` of shape
        ``(n_blocks, m, k)`` and ``"S"`` of shape ``(n_blocks, k, k)``, with ``m`` the
        block length and ``k = min(rank, m)``. Saved by ``state_dict()``.

    Notes
    -----
    Choices made here, where the summary of the method leaves room (the paper is
    arXiv:2508.21106, "Dynamic Low-rank Approximation of Full-Matrix Preconditioner for
    Training Generalized Linear Models"; only its abstract was available when this was
    written, so the steps below follow the description above, not the paper's
    algorithm listing):

    - **Integrator.** ``g g^T`` is added by one step of the augmented ("rank-adaptive")
      basis-update & Galerkin integrator truncated back to rank ``r``: augment ``U`` by
      the normalised part of ``g`` orthogonal to it, form the exact ``(r+1) x (r+1)``
      Galerkin core, eigendecompose and keep the ``r`` largest eigenpairs. For a
      rank-one increment this returns the best rank-``r`` approximation of
      ``U S U^T + g g^T``; so while at most ``r`` gradients have been seen per block (or
      when ``rank >= m``), the state is exactly ``G`` and the steps are exactly those of
      full-matrix AdaGrad. Later it is the greedy (streaming) truncation, not the best
      rank-``r`` approximation of the whole sum. ``U`` is re-orthonormalised by QR
      each step.
    - **Initial state.** ``U`` starts as the first ``k`` unit vectors and ``S = 0``
      (``G = 0``); the step uses ``G`` after adding the current gradient, as AdaGrad does.
    - **Blocks.** Each parameter tensor is flattened; larger than ``block_size`` it is
      split into contiguous blocks, zero-padded to equal length and processed as one
      batch. Padding is exact: padded coordinates have zero gradient and never enter
      ``G``. Correlations between blocks (and between tensors) are not modelled.
    - **delta.** Gradient components outside ``span(U)`` are scaled by
      ``delta^(-1/2)``: on that complement AdaGram is plain gradient descent with step
      ``lr / sqrt(delta)``, and with rank ``r < d`` such components are present at nearly
      every step once ``r`` gradients have been seen. ``delta = 1e-8`` (diagonal
      AdaGrad's usual value) multiplies them by ``1e4`` and diverges, so the default is
      ``delta = 1``: the unseen subspace takes a gradient step of size ``lr`` while
      well-explored directions get AdaGrad's ``(delta + lambda)^(-1/2)`` scaling. Choose
      ``lr / sqrt(delta)`` small enough for gradient descent to be stable on its own; take
      a small ``delta`` only when ``rank`` covers the blocks (``rank >=`` block length).
    - Sparse and complex gradients are not supported. Changing ``rank`` or
      ``block_size`` of a group after its state exists is not supported.

    References
    ----------
    T. Matveeva, A. Katrutsa, E. Frolov. Dynamic Low-rank Approximation of Full-Matrix
    Preconditioner for Training Generalized Linear Models (AdaGram). arXiv:2508.21106,
    2025.

    Examples
    --------
    >>> import torch
    >>> from recfactor.optim import AdaGram
    >>> _ = torch.manual_seed(0)
    >>> A = torch.tensor([[3.0, 1.0], [1.0, 2.0]])
    >>> x = torch.zeros(2, requires_grad=True)
    >>> opt = AdaGram([x], lr=0.5, rank=2, delta=1e-6)
    >>> for _ in range(300):
    ...     opt.zero_grad()
    ...     loss = 0.5 * x @ A @ x - x.sum()
    ...     loss.backward()
    ...     opt.step()
    >>> torch.linalg.solve(A, torch.ones(2))
    tensor([0.2000, 0.4000])
    >>> x.detach()
    tensor([0.2000, 0.4000])
    """

    def __init__(self, params, lr=1e-2, rank=5, delta=1.0, block_size=4096):
        defaults = dict(lr=lr, rank=rank, delta=delta, block_size=block_size)
        _check_group(defaults)
        super().__init__(params, defaults)

    def add_param_group(self, param_group):
        """Add a group of parameters, its hyper-parameters checked as the defaults are."""
        super().add_param_group(param_group)
        _check_group(self.param_groups[-1])

    def _init_state(self, p, group):
        n_blocks, m = _block_shape(p.numel(), group["block_size"])
        k = min(group["rank"], m)
        U = torch.zeros(n_blocks, m, k, dtype=p.dtype, device=p.device)
        U[:, torch.arange(k), torch.arange(k)] = 1
        state = self.state[p]
        state["step"] = torch.tensor(0.0)
        state["U"] = U
        state["S"] = torch.zeros(n_blocks, k, k, dtype=p.dtype, device=p.device)
        return state

    @torch.no_grad()
    def step(self, closure=None):
        """Take one optimisation step.

        Parameters
        ----------
        closure : callable, optional
            Re-evaluates the model and returns the loss.

        Returns
        -------
        loss : float or None
            What ``closure`` returned, or None.
        """
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is None:
                    continue
                if p.grad.is_sparse:
                    raise RuntimeError("AdaGram does not support sparse gradients.")
                if torch.is_complex(p):
                    raise RuntimeError("AdaGram does not support complex parameters.")
                state = self.state[p]
                if len(state) == 0:
                    state = self._init_state(p, group)
                U, S = state["U"], state["S"]
                n_blocks, m = U.shape[0], U.shape[1]
                g = p.grad.reshape(-1).to(U.dtype)
                pad = n_blocks * m - g.numel()
                if pad:
                    g = torch.cat([g, g.new_zeros(pad)])
                g = g.reshape(n_blocks, m)
                U, S = _add_rank_one(U, S, g)
                state["U"], state["S"] = U, S
                state["step"] += 1
                d = _direction(U, S, g, group["delta"]).reshape(-1)[: p.numel()]
                p.add_(d.reshape(p.shape).to(p.dtype), alpha=-group["lr"])
        return loss
