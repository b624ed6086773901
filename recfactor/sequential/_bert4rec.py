"""BERT4Rec: a bidirectional encoder of histories trained to fill in masked items."""

from numbers import Real

import numpy as np
from sklearn.base import _fit_context
from sklearn.utils._param_validation import Interval

from ..utils import import_torch
from ._base import _LOSS_CONSTRAINTS, _TransformerRecommender
from ._batching import left_pad, mask_positions, trim_padding
from ._sasrec import _PlainHistoriesMixin

__all__ = ["BERT4Rec"]


class BERT4Rec(_PlainHistoriesMixin, _TransformerRecommender):
    """Masked-item transformer recommender (Sun et al., CIKM 2019).

    Samples are user histories. In training, each item of a history is replaced by a
    [MASK] token with probability ``mask_probability`` (a history where none was drawn masks
    its most recent item; a share ``last_item_probability`` of the histories masks that item
    only), and the encoder predicts the hidden items from the rest of the history, on both
    sides with ``attention="bidirectional"``. To recommend, a [MASK] is
    appended after the history and its state scores every item by its dot product with the
    item embeddings, the same table as the input's, plus an item bias that starts at the
    items' log frequency in training (scaled for the binary losses). The blocks are
    pre-LayerNorm, with a feed-forward network of ``4 * embedding_dim`` GELU units.

    ``attention="causal"`` keeps everything else equal but lets a position see only the past
    (Wang et al., WSDM 2025, compare the two with the same training).

    Parameters
    ----------
    mask_probability : float in (0, 1), default=0.2
        Share of the items masked in training.
    last_item_probability : float in [0, 1], default=0.0
        Share of the training histories that hide their most recent item only, instead of
        random ones: BERT4Rec's authors add such samples so that training also practises
        the task the model serves, predicting the next item (Sun et al. 2019, section 3.6).
        0 trains on random masks alone. 0.2 against 0 measured NDCG@10 0.0207 against 0.0202
        on ml-latest-small (20 epochs, mean of 5 seeds) and 0.0421 against 0.0404 on
        MovieLens-100K (2 seeds), but 0.0170 against 0.0188 on Amazon Beauty (one run each,
        early stopping), so it is off by default.
    loss : {"ce", "sampled_ce", "gbce", "bce"}, default="ce"
        Loss at the masked positions; see :class:`SASRec`.
    n_negatives : int or "auto", default="auto"
        See :class:`SASRec`.
    gbce_t : float in [0, 1], default=0.75
        See :class:`SASRec`.
    attention : {"bidirectional", "causal"}, default="bidirectional"
        Which positions a state sees.
    positional : {"learned", "kernel", "none"}, default="learned"
        See :class:`SASRec`. The positional kernel was published for causal attention
        (SASRec); its lower-triangular mixing under bidirectional attention is recfactor's
        extension, which no paper reports on.
    barlow_twins_weight : float >= 0, default=0.0
        BT-SR term over the states of a [MASK] that hides the last item of histories whose
        last item is the same; see :class:`SASRec`.
    barlow_twins_lambda : float >= 0, default=0.05
    max_length : int >= 2, default=50
        Positions the encoder reads: in training, the most recent ``max_length`` items; to
        recommend, the most recent ``max_length - 1`` items and the [MASK].
    embedding_dim, n_blocks, n_heads, dropout, optimizer, learning_rate, batch_size : see SASRec
        Defaults 64, 2, 1, 0.1, 1e-3 and 128.
    max_epochs, eval_every, patience, n_processes : see SASRec
    n_items, device, random_state, verbose : see SASRec
        Defaults 100, 1, 10, None, "auto", None and 0.

    Attributes
    ----------
    n_items_ : int
    known_items_ : ndarray of bool, one per catalogue item
    network_ : torch.nn.Module
    loss_curve_ : list of float
    validation_scores_ : list of float or None
    best_validation_score_ : float or None
    best_epoch_ : int
    n_iter_ : int
        See :class:`SASRec`.

    See Also
    --------
    SASRec : Trained to predict each next item.

    Notes
    -----
    The learned positional embeddings start at zero and enter the encoder scaled by
    ``sqrt(embedding_dim)``, as the items do (SASRec adds them unscaled, from a random
    start). SASRec's state at a position holds that position's own item, so the next item of
    a Markov chain needs no attention at all; a [MASK] holds no item, and finding its
    neighbour takes attention by position. With positions 8 times smaller than the items
    (``embedding_dim=64``), that attention took BERT4Rec about 20 epochs to find on a planted
    first-order chain (300 items, each with three successors of probability .5, .25 and .15;
    3,000 histories of 15 to 40 items; defaults with ``max_epochs=30``): the loss stayed near
    its start, and the HR@10 of the last item (seen items not excluded) reached 0.60 and 0.64
    of the oracle's (two seeds), against SASRec's 1.00. Scaled, the plateau lasts about 5
    epochs. A random start of the scaled positions weighs as much as an item, and the
    positions far from the present, which few histories reach, keep it as noise: on
    ml-latest-small (histories of up to 200 items, 100 gradient steps in 20 epochs) NDCG@10
    fell from 0.0286 to 0.0252. Started at zero, a position adds only what training put
    there: 0.0286 (sd 0.0025, seeds 0 to 4), as before; MovieLens-100K 0.0448 (sd 0.0021)
    against 0.0415 (sd 0.0007) before; the chain 0.82 of the oracle (two data sets). Other
    factors, one at a time on the first seed (old start): ``mask_probability`` 0.1, 0.4 and
    0.6 gave 0.19, 0.71 and 0.73 of the oracle; ``last_item_probability`` 0.2 and 0.5 gave
    0.72 and 0.71; learning rate 3e-3 0.76 and 1e-2 0.13; 100 epochs 0.97; no positional
    embedding 0.16; ``attention="causal"`` 0.95 (with a causal mask the most recent key is
    the nearest one, which a single direction in position space finds); an item bias started
    at zero 0.58. The runs are in the benchmarks page (planted chain) and the experiment log.

    Examples
    --------
    >>> from recfactor.datasets import make_sequences
    >>> from recfactor.sequential import BERT4Rec
    >>> histories = make_sequences(n_users=100, n_items=30, random_state=0)
    >>> model = BERT4Rec(embedding_dim=16, max_length=20, max_epochs=5,
    ...                  random_state=0).fit(histories)
    >>> model.predict([[3, 7, 1], [12]]).shape
    (2,)
    """

    _parameter_constraints = {
        **_TransformerRecommender._parameter_constraints,
        **_LOSS_CONSTRAINTS,
        "mask_probability": [Interval(Real, 0, 1, closed="neither")],
        "last_item_probability": [Interval(Real, 0, 1, closed="both")],
    }

    def __init__(
        self,
        *,
        mask_probability=0.2,
        last_item_probability=0.0,
        loss="ce",
        n_negatives="auto",
        gbce_t=0.75,
        attention="bidirectional",
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
        self.mask_probability = mask_probability
        self.last_item_probability = last_item_probability
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
        """Train the encoder to recover masked items of the histories.

        Parameters
        ----------
        X : sequence of array-like of int
            One history per user, item ids oldest first (a list of lists, an object array,
            or a pandas Series of lists).
        y : array-like of shape (n_samples,) of int, default=None
            The next item of each history; it is appended to the history.
        X_valid : sequence of array-like of int, default=None
            Validation histories whose last item is the target, scored by NDCG@10 after
            every epoch for early stopping.

        Returns
        -------
        self : BERT4Rec
        """
        return self._fit(X, y, X_valid)

    def _min_max_length(self):
        return 2  # at least one item before the [MASK]

    def _mask_token(self):
        return self.n_items_ + 1

    def _make_network(self, n_items):
        from ._modules import NextItemNetwork

        torch = import_torch()
        network = NextItemNetwork(
            n_items, self.embedding_dim, n_extra_tokens=1, n_blocks=self.n_blocks,
            n_heads=self.n_heads, dropout=self.dropout, max_length=self.max_length,
            positional=self.positional, causal=self.attention == "causal",
            ffn_hidden=4 * self.embedding_dim, activation=torch.nn.GELU,
            # A [MASK] carries no item: where it attends, so what it predicts, depends on
            # the positions alone, which enter on the items' scale (see Notes).
            position_scale=self.embedding_dim ** 0.5,
        )
        if network.encoder.positions is not None:
            # Scaled, a random start would weigh as much as an item, and stay as noise at
            # the positions few histories reach (see Notes).
            torch.nn.init.zeros_(network.encoder.positions.weight)
        return network

    def _training_arrays(self, histories):
        tokens, lengths = left_pad(histories, self.max_length, shift=1)
        return {"tokens": tokens, "lengths": lengths}

    def _batch_loss(self, network, batch, rng, device):
        torch = import_torch()
        (tokens,) = trim_padding(batch["tokens"], lengths=batch["lengths"])
        masked = mask_positions(tokens != 0, self.mask_probability, rng,
                                self.last_item_probability)
        inputs = np.where(masked, self._mask_token(), tokens)
        # Only the masked positions' states are read: each row's, in order, padded with
        # unmasked ones (no target) up to the batch's largest number.
        n_masked = max(int(masked.sum(axis=1).max()), 1)
        queries = np.argsort(~masked, axis=1, kind="stable")[:, :n_masked]
        targets = np.where(np.take_along_axis(masked, queries, axis=1),
                           np.take_along_axis(tokens, queries, axis=1) - 1, -1)
        states = network(torch.from_numpy(inputs).to(device),
                         torch.from_numpy(queries).to(device))
        targets = torch.from_numpy(targets).to(device)
        return self._next_item_loss(network, states, targets, rng, self.loss)

    def _final_items(self, arrays):
        return arrays["tokens"][:, -1] - 1

    def _final_tokens(self, arrays, rows):
        # Each history with its last item hidden: the [MASK] in the last column predicts it.
        tokens = arrays["tokens"][rows].copy()
        tokens[:, -1] = self._mask_token()
        return tokens

    def _trained_items(self, arrays):
        tokens = arrays["tokens"]
        return tokens[tokens > 0] - 1

    def _inference_tokens(self, histories):
        tokens, _ = left_pad(self._known_only(histories), self.max_length - 1, shift=1)
        return np.hstack([tokens, np.full((tokens.shape[0], 1), self._mask_token())])
