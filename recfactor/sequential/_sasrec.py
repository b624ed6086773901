"""SASRec: causal self-attention over a user's history, trained to predict each next item."""

import numpy as np
from sklearn.base import _fit_context

from ..utils import check_sequences, import_torch
from ._base import _LOSS_CONSTRAINTS, _TransformerRecommender
from ._batching import left_pad, trim_padding

__all__ = ["SASRec"]


class _PlainHistoriesMixin:
    """Samples are 1-D arrays of item ids, oldest first."""

    def _check_histories(self, X, *, n_items=None, name="X"):
        return check_sequences(X, n_items=n_items, name=name)

    def _history_items(self, histories):
        return histories

    def _with_next_items(self, histories, y):
        return [np.append(h, item) for h, item in zip(histories, y)]


class SASRec(_PlainHistoriesMixin, _TransformerRecommender):
    """Self-attentive sequential recommendation (Kang & McAuley, ICDM 2018).

    Samples are user histories. Each history is embedded (items, plus positions unless
    ``positional`` says otherwise), passed through ``n_blocks`` transformer blocks
    (pre-LayerNorm; self-attention and a point-wise feed-forward network, each with a
    residual connection and dropout), and the state at position ``i`` scores every item by
    its dot product with the item embeddings, the same table as the input's, plus an item
    bias that starts at the items' log frequency in training, scaled for the binary losses (so
    the untrained model ranks nearly by popularity). Every position is trained to predict the
    item that follows it.

    With the defaults (full-softmax cross-entropy) this is SASRec+ (Klenitskiy & Vasilev,
    RecSys 2023); ``loss="bce"`` with one negative is the original SASRec, and
    ``loss="gbce"`` gSASRec (Petrov & Macdonald, RecSys 2023). ``barlow_twins_weight > 0``
    adds the BT-SR term (Razvorotnev et al., 2025), and ``positional="kernel"`` the
    position-aware kernel attention (Nabiev & Frolov, 2026).

    Parameters
    ----------
    loss : {"ce", "sampled_ce", "gbce", "bce"}, default="ce"
        ``"ce"``: softmax over every item, computed at non-padding positions only.
        ``"sampled_ce"``: softmax over the target and ``n_negatives`` items drawn uniformly
        for the whole batch. ``"gbce"``: :math:`-\\beta \\log \\sigma(s^+) - \\sum_{s^-}
        \\log(1 - \\sigma(s^-))` over ``n_negatives`` uniform negatives, with
        :math:`\\beta = \\alpha (t (1 - 1/\\alpha) + 1/\\alpha)` and :math:`\\alpha =`
        ``n_negatives / (n_items - 1)``. ``"bce"``: the same with :math:`\\beta = 1`.
        The negatives of ``"gbce"`` and ``"bce"`` are drawn for each history and shared by
        its positions.
    n_negatives : int or "auto", default="auto"
        Negatives per position (``"bce"``, ``"gbce"``) or per batch (``"sampled_ce"``);
        ``"auto"`` is 1, 128 and 256 respectively (at most ``n_items - 1``). Unused by
        ``"ce"``.
    gbce_t : float in [0, 1], default=0.75
        Calibration ``t`` of gBCE: 0 is BCE, 1 fits the full softmax's probabilities.
    attention : {"causal", "bidirectional"}, default="causal"
        Which positions a state sees. With ``"bidirectional"`` a position would see its own
        target, so only the most recent position of each history is trained (the one that
        recommends); for a bidirectional encoder trained on every position use
        :class:`BERT4Rec`.
    positional : {"learned", "kernel", "none"}, default="learned"
        ``"learned"``: an embedding per position (counted back from the most recent item)
        added to the input. ``"kernel"``: no additive embedding; in each block the attention
        logits become ``S0 L^T`` (``S0 = Q K^T / sqrt(d)``), where ``L`` is lower-triangular
        Toeplitz, ``L[i, j] = g[i - j]`` for a learnable kernel ``g`` per block (``g[0] = 1``
        before normalising ``g`` by its L2 norm), and the values ``A V`` for a learnable
        lower-triangular ``A`` (near the identity, rows of unit norm), one ``g`` and one ``A``
        per block.
        ``"none"``: no positional information beyond the causal mask. Over three seeds, the
        kernel raised NDCG@10 by 8 % on ML-1M (5 epochs), was level on ml-latest-small, and
        lost 4 % on MovieLens-100K, where no positions at all did as well as learned ones
        (see the Reproducibility page).
    barlow_twins_weight : float >= 0, default=0.0
        Weight ``alpha`` of the BT-SR term: ``L = L_item + alpha L_BT``. Each history of a
        batch is paired with a training history, drawn anew at every step, that ends in the
        same item (itself, under another dropout mask, if there is none), and ``L_BT =
        (sum_k (1 - C_kk)^2 + lambda sum_{k != l} C_kl^2) / embedding_dim``, where ``C`` is
        the cross-correlation of the final states of the pairs (the states that predict the
        last item), each scaled to unit norm and standardised per dimension over the batch
        (over each process's share with ``n_processes > 1``).
        Costs one more forward pass of the batch's histories and their partners. 0 turns it
        off. On MovieLens-100K (three seeds) 0.05 kept NDCG@10 and raised Coverage@10 by
        0.004, and 0.2 cost 4 % of NDCG@10; no weight raised accuracy (see the
        Reproducibility page).
    barlow_twins_lambda : float >= 0, default=0.05
        Weight ``lambda`` of the off-diagonal (redundancy) part of ``L_BT``.
    max_length : int, default=50
        Most recent items of a history that the model reads; older ones are dropped (in
        ``fit`` and at prediction).
    embedding_dim : int, default=64
        Size of item embeddings and states; a multiple of ``n_heads``.
    n_blocks : int, default=2
        Transformer blocks.
    n_heads : int, default=1
        Attention heads per block.
    dropout : float in [0, 1), default=0.1
        Dropout of the embeddings, attention weights and sub-layer outputs.
    optimizer : {"adam", "adagrad", "adagram"}, default="adam"
        Adam (betas 0.9, 0.98), ``torch.optim.Adagrad``, or :class:`recfactor.optim.AdaGram`
        (low-rank full-matrix AdaGrad). The Adagrad family takes larger steps: see the
        optimizer benchmark on the benchmarks page for the rates that suit each.
    learning_rate : float, default=1e-3
        Step size of the optimizer.
    batch_size : int, default=128
        Histories per gradient step.
    max_epochs : int, default=100
        Passes over the training histories.
    eval_every : int, default=1
        With ``X_valid``, epochs between two evaluations of the validation NDCG@10 (the
        first is before training).
    patience : int or None, default=10
        With ``X_valid``, training stops after this many evaluations without a better
        validation NDCG@10; ``None`` trains ``max_epochs`` epochs. Either way the weights of
        the best evaluation are kept.
    n_processes : int, default=1
        Processes that train together with torch's DistributedDataParallel (``gloo`` on
        the CPU, ``nccl`` with one GPU per process on CUDA), started by ``fit`` with
        ``torch.multiprocessing``. Each batch of ``batch_size`` histories is split among them
        and their gradients are averaged, so the steps are those of one process up to the
        random draws (negatives, masks, dropout), which differ. Each process gets an equal
        share of torch's threads; validation runs in the first. As with any spawned
        process, a script that fits with ``n_processes > 1`` needs the
        ``if __name__ == "__main__":`` guard.
    n_items : int or None, default=None
        Size of the catalogue (ids ``0`` to ``n_items - 1``). ``None``: one more than the
        largest id in ``fit``'s ``X`` and ``y``. Give it when validation or test histories
        may hold items absent from the training ones.
    device : str or torch.device, default="auto"
        ``"auto"`` uses CUDA when available, else the CPU.
    random_state : int, RandomState instance or None, default=None
        Seed of the initialisation, dropout, shuffling and negative sampling; the global
        NumPy and torch random states are left untouched. On the CPU, the same seed gives
        the same model.
    verbose : int, default=0
        Show a progress bar over epochs (loss, validation NDCG@10) when > 0.

    Attributes
    ----------
    n_items_ : int
        Size of the catalogue.
    known_items_ : ndarray of bool, one per catalogue item
        Items that occur, as input or as target, in the part of the training histories the
        encoder read. The others are left out of any history the model encodes (their
        embeddings learned nothing about them); they are still ranked, and excluded when
        seen.
    network_ : torch.nn.Module
        The trained network (on the CPU after unpickling).
    loss_curve_ : list of float
        Mean training loss of each epoch.
    validation_scores_ : list of float or None
        Validation NDCG@10 before training and after every ``eval_every`` epochs: epochs 0,
        ``eval_every``, ``2 * eval_every``... (None without ``X_valid``).
    best_validation_score_ : float or None
        Best of ``validation_scores_``.
    best_epoch_ : int
        The epoch whose weights are kept (the last one without ``X_valid``; 0 for the
        starting weights).
    n_iter_ : int
        Epochs run.

    See Also
    --------
    BERT4Rec : Bidirectional encoder trained by masked-item prediction.
    PNFRec : Separate encoders for liked and disliked items.

    Notes
    -----
    Histories are left-padded to the longest in each batch (at most ``max_length``), and the
    loss is computed at non-padding positions only. A history longer than ``max_length + 1``
    contributes its most recent ``max_length`` predictions per epoch. Requires PyTorch.

    Examples
    --------
    >>> from recfactor.datasets import make_sequences
    >>> from recfactor.sequential import SASRec
    >>> histories = make_sequences(n_users=100, n_items=30, random_state=0)
    >>> model = SASRec(embedding_dim=16, max_length=20, max_epochs=5,
    ...                random_state=0).fit(histories)
    >>> model.recommend([[3, 7, 1], [12]], k=3).shape
    (2, 3)
    >>> model.transform([[3, 7, 1]]).shape
    (1, 16)
    """

    _parameter_constraints = {
        **_TransformerRecommender._parameter_constraints,
        **_LOSS_CONSTRAINTS,
    }

    def __init__(
        self,
        *,
        loss="ce",
        n_negatives="auto",
        gbce_t=0.75,
        attention="causal",
        positional="learned",
        barlow_twins_weight=0.0,
        barlow_twins_lambda=0.05,
        max_length=50,
        embedding_dim=64,
        n_blocks=2,
        n_heads=1,
        dropout=0.1,
        optimizer="adam",
        learning_rate=1e-3,
        batch_size=128,
        max_epochs=100,
        eval_every=1,
        patience=10,
        n_processes=1,
        n_items=None,
        device="auto",
        random_state=None,
        verbose=0,
    ):
        self.loss = loss
        self.n_negatives = n_negatives
        self.gbce_t = gbce_t
        self.attention = attention
        self.positional = positional
        self.barlow_twins_weight = barlow_twins_weight
        self.barlow_twins_lambda = barlow_twins_lambda
        self.max_length = max_length
        self.embedding_dim = embedding_dim
        self.n_blocks = n_blocks
        self.n_heads = n_heads
        self.dropout = dropout
        self.optimizer = optimizer
        self.learning_rate = learning_rate
        self.batch_size = batch_size
        self.max_epochs = max_epochs
        self.eval_every = eval_every
        self.patience = patience
        self.n_processes = n_processes
        self.n_items = n_items
        self.device = device
        self.random_state = random_state
        self.verbose = verbose

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None, *, X_valid=None):
        """Train the network to predict each next item of the histories.

        Parameters
        ----------
        X : sequence of array-like of int
            One history per user, item ids oldest first (a list of lists, an object array,
            or a pandas Series of lists). Histories of one item have nothing to predict and
            are skipped (unless ``y`` extends them).
        y : array-like of shape (n_samples,) of int, default=None
            The next item of each history; it is appended to the history.
        X_valid : sequence of array-like of int, default=None
            Validation histories whose last item is the target: the model is scored by
            NDCG@10 after every epoch (as :meth:`score` does), for early stopping.

        Returns
        -------
        self : SASRec
        """
        return self._fit(X, y, X_valid)

    def _make_network(self, n_items):
        from ._modules import NextItemNetwork

        torch = import_torch()
        return NextItemNetwork(
            n_items, self.embedding_dim, n_blocks=self.n_blocks, n_heads=self.n_heads,
            dropout=self.dropout, max_length=self.max_length, positional=self.positional,
            causal=self.attention == "causal", ffn_hidden=self.embedding_dim,
            activation=torch.nn.ReLU,
        )

    def _training_arrays(self, histories):
        trainable = [h for h in histories if h.size > 1]
        if not trainable:
            raise ValueError("SASRec needs at least one history of two or more items: each "
                             "item is predicted from the ones before it.")
        tokens, lengths = left_pad([h[:-1] for h in trainable], self.max_length, shift=1)
        targets, _ = left_pad([h[1:] for h in trainable], self.max_length, fill=-1)
        return {"tokens": tokens, "targets": targets, "lengths": lengths}

    def _batch_loss(self, network, batch, rng, device):
        torch = import_torch()
        tokens, targets = trim_padding(batch["tokens"], batch["targets"],
                                       lengths=batch["lengths"])
        if self.attention == "bidirectional":
            # Only the last position does not see its target among its inputs.
            last = np.full_like(targets, -1)
            last[:, -1] = targets[:, -1]
            targets = last
        states = network(torch.from_numpy(np.ascontiguousarray(tokens)).to(device))
        targets = torch.from_numpy(np.ascontiguousarray(targets)).to(device)
        return self._next_item_loss(network, states, targets, rng, self.loss)

    def _final_items(self, arrays):
        return arrays["targets"][:, -1]

    def _final_tokens(self, arrays, rows):
        return arrays["tokens"][rows]

    def _trained_items(self, arrays):
        tokens, targets = arrays["tokens"], arrays["targets"]
        return np.concatenate([tokens[tokens > 0] - 1, targets[targets >= 0]])

    def _inference_tokens(self, histories):
        return left_pad(self._known_only(histories), self.max_length, shift=1)[0]
