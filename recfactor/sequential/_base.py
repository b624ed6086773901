"""Shared estimator logic of the transformer recommenders: fit loop, inference, scoring.

A subclass says how histories are validated, how they become training arrays and inputs,
what network it trains and what a batch's loss is; everything else (seeding, the epochs,
early stopping, progress, block-wise inference, top-k, scoring and pickling) is here.
"""

import copy
from abc import abstractmethod
from numbers import Integral, Real

import numpy as np
import scipy.sparse as sp
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted
from tqdm.auto import tqdm

from ..metrics import make_ranking_scorer, ndcg_at_k, top_k
from ..utils import import_torch, resolve_device
from ..utils._validation import _check_k, _check_next_items
from ._batching import chunks_by_length, sample_negatives, seen_items

# Chunks a training batch is computed in, by length (see _backward_batch).
_LENGTH_CHUNKS = 4

# Hyper-parameters of the estimators that offer a choice of next-item loss.
_LOSS_CONSTRAINTS = {
    "loss": [StrOptions({"ce", "sampled_ce", "gbce", "bce"})],
    "n_negatives": [Interval(Integral, 1, None, closed="left"), StrOptions({"auto"})],
    "gbce_t": [Interval(Real, 0, 1, closed="both")],
    "attention": [StrOptions({"causal", "bidirectional"})],
}

# Users encoded at a time at inference: bounds the memory of the activations.
_INFERENCE_BLOCK = 512

# Negatives drawn with n_negatives="auto": per position (bce, gbce) or per batch (sampled_ce).
_AUTO_NEGATIVES = {"bce": 1, "gbce": 128, "sampled_ce": 256}


class _TransformerRecommender(TransformerMixin, BaseEstimator):
    """Base of the estimators whose samples are user histories encoded by a transformer."""

    _parameter_constraints = {
        "max_length": [Interval(Integral, 1, None, closed="left")],
        "embedding_dim": [Interval(Integral, 1, None, closed="left")],
        "n_blocks": [Interval(Integral, 1, None, closed="left")],
        "n_heads": [Interval(Integral, 1, None, closed="left")],
        "dropout": [Interval(Real, 0, 1, closed="left")],
        "positional": [StrOptions({"learned", "kernel", "none"})],
        "barlow_twins_weight": [Interval(Real, 0, None, closed="left")],
        "barlow_twins_lambda": [Interval(Real, 0, None, closed="left")],
        "learning_rate": [Interval(Real, 0, None, closed="neither")],
        "batch_size": [Interval(Integral, 1, None, closed="left")],
        "max_epochs": [Interval(Integral, 1, None, closed="left")],
        "patience": [Interval(Integral, 1, None, closed="left"), None],
        "n_items": [Interval(Integral, 2, None, closed="left"), None],
        "device": "no_validation",  # resolve_device says what is wrong
        "random_state": ["random_state"],
        "verbose": ["verbose"],
    }

    # --- what a subclass provides -------------------------------------------------------

    @abstractmethod
    def _check_histories(self, X, *, n_items=None, name="X"):
        """Validated histories; ids must be below ``n_items`` when it is given."""

    @abstractmethod
    def _history_items(self, histories):
        """The item ids of each history (all of them: what a user has seen)."""

    @abstractmethod
    def _with_next_items(self, histories, y):
        """The histories extended by their next item ``y`` (for ``fit(X, y)``)."""

    @abstractmethod
    def _make_network(self, n_items):
        """The untrained ``nn.Module``."""

    @abstractmethod
    def _training_arrays(self, histories):
        """Dict of NumPy arrays with one row per training history."""

    @abstractmethod
    def _batch_loss(self, network, batch, rng, device):
        """``(loss, states, targets)`` of a batch: the loss to minimise, and the states and
        target items of the predictions it judged (for the Barlow Twins term)."""

    @abstractmethod
    def _trained_items(self, arrays):
        """Ids of the items that occur in the training arrays, as input or as target."""

    @abstractmethod
    def _inference_tokens(self, histories):
        """Left-padded token rows whose last-position state represents each user; items
        outside ``known_items_`` are left out (:meth:`_known_only`)."""

    def _min_max_length(self):
        return 1

    def _row_lengths(self, arrays):
        """Positions each training row covers: what a batch is chunked and weighted by."""
        return arrays["lengths"]

    # --- fit ------------------------------------------------------------------------------

    def _fit(self, X, y, X_valid):
        torch = import_torch()
        self._check_architecture()
        histories = self._check_histories(X)
        if y is not None:
            histories = self._with_next_items(histories, _check_next_items(y, len(histories)))
        n_items = self._catalogue_size(histories)
        valid = None
        if X_valid is not None:
            valid = self._check_histories(X_valid, n_items=n_items, name="X_valid")
        device = resolve_device(self.device)
        arrays = self._training_arrays(histories)
        seed = check_random_state(self.random_state).randint(np.iinfo(np.int32).max)
        rng = np.random.default_rng(seed)
        forked = [device.index if device.index is not None else torch.cuda.current_device()
                  ] if device.type == "cuda" else []
        # The user's global torch RNG (initialisation, dropout) is left as it was.
        with torch.random.fork_rng(devices=forked):
            torch.manual_seed(seed)
            self.n_items_ = n_items
            counts = np.bincount(self._trained_items(arrays), minlength=n_items)
            self.known_items_ = counts > 0
            self.network_ = self._make_network(n_items)
            self.network_.start_from_frequencies(counts)
            self.network_.to(device)
            self._train(arrays, valid, rng, device)
        return self

    def _check_architecture(self):
        if self.embedding_dim % self.n_heads:
            raise ValueError(
                f"embedding_dim={self.embedding_dim} must be divisible by n_heads="
                f"{self.n_heads}: each head gets embedding_dim / n_heads dimensions."
            )
        if self.max_length < self._min_max_length():
            raise ValueError(
                f"max_length={self.max_length} is too short for {type(self).__name__}; it "
                f"must be at least {self._min_max_length()}."
            )

    def _catalogue_size(self, histories):
        largest = max(int(items.max()) for items in self._history_items(histories)
                      if items.size)
        if self.n_items is None:
            if largest < 1:
                raise ValueError("The histories hold a single item id; at least two items "
                                 "are needed to rank.")
            return largest + 1
        if largest >= self.n_items:
            raise ValueError(
                f"The histories contain item id {largest}, but n_items={self.n_items} allows "
                f"ids 0 to {self.n_items - 1} only."
            )
        return self.n_items

    def _train(self, arrays, valid, rng, device):
        torch = import_torch()
        network = self.network_
        optimizer = torch.optim.Adam(network.parameters(), lr=self.learning_rate,
                                     betas=(0.9, 0.98))
        lengths = self._row_lengths(arrays)
        n_rows = lengths.size
        self.loss_curve_ = []
        self.validation_scores_ = [] if valid is not None else None
        self.best_validation_score_ = None
        best_state, stale = None, 0
        epochs = tqdm(range(self.max_epochs), desc=type(self).__name__, unit="epoch",
                      disable=not self.verbose)
        for _ in epochs:
            network.train()
            order = rng.permutation(n_rows)
            total = 0.0
            for start in range(0, n_rows, self.batch_size):
                rows = order[start:start + self.batch_size]
                optimizer.zero_grad(set_to_none=True)
                total += self._backward_batch(network, arrays, rows, lengths, rng,
                                              device) * rows.size
                optimizer.step()
            self.loss_curve_.append(total / n_rows)
            progress = {"loss": f"{self.loss_curve_[-1]:.4f}"}
            if valid is not None:
                score = self._score_hidden_last(valid)
                self.validation_scores_.append(score)
                progress["ndcg@10"] = f"{score:.4f}"
                if self.best_validation_score_ is None or score > self.best_validation_score_:
                    self.best_validation_score_ = score
                    best_state = {k: v.detach().clone() for k, v in network.state_dict().items()}
                    stale = 0
                else:
                    stale += 1
            epochs.set_postfix(progress)
            if self.patience is not None and stale >= self.patience:
                break
        self.n_iter_ = len(self.loss_curve_)
        if best_state is not None:
            network.load_state_dict(best_state)
        network.eval()

    def _backward_batch(self, network, arrays, rows, lengths, rng, device):
        """Accumulate the gradient of a batch's loss; return the loss.

        The batch is computed in chunks of histories of similar length, each weighted by its
        share of the batch's positions: the same step as one pass over the whole batch
        (exactly for SASRec's mean over positions, in expectation for the masked ones) at
        far less padding (on MovieLens-100K half of a batch's 200 columns are padding on
        average). The Barlow Twins term pairs states across the whole batch, so with it the
        batch is one chunk.
        """
        n_chunks = 1 if self.barlow_twins_weight > 0 else _LENGTH_CHUNKS
        chunks = chunks_by_length(rows, lengths, n_chunks)
        positions = lengths[rows].sum()
        value = 0.0
        for chunk in chunks:
            loss, states, targets = self._batch_loss(
                network, {name: a[chunk] for name, a in arrays.items()}, rng, device
            )
            if self.barlow_twins_weight > 0:
                loss = loss + self.barlow_twins_weight * self._barlow_twins(states, targets)
            share = lengths[chunk].sum() / positions
            (loss * share).backward()
            value += loss.item() * share
        return value

    def _barlow_twins(self, states, targets):
        from ._losses import barlow_twins_loss, same_target_pairs

        first, second = same_target_pairs(targets)
        return barlow_twins_loss(states[first], states[second], self.barlow_twins_lambda)

    def _item_loss(self, network, states, targets, rng, loss):
        """Next-item loss of the states (batch, positions, dim) at the targets >= 0.

        ``"bce"`` and ``"gbce"`` contrast every position with ``k`` uniformly drawn items,
        drawn once per history and shared by its positions (the same marginal distribution
        as per-position draws, at the memory of one (batch, k) draw); ``"sampled_ce"`` draws
        one set of negatives for the whole batch. A draw of a position's own target is left
        out of its loss.
        """
        from ._losses import full_softmax_loss, gbce_beta, gbce_loss, sampled_softmax_loss

        torch = import_torch()
        has_target = targets >= 0
        picked, goal = states[has_target], targets[has_target]
        weights, bias = network.item_weights(), network.item_bias
        if loss == "ce":
            return full_softmax_loss(picked, goal, weights, bias), picked, goal
        n_negatives = self._n_negatives(loss)
        if loss == "sampled_ce":
            negatives = torch.from_numpy(sample_negatives(rng, self.n_items_, n_negatives))
            value = sampled_softmax_loss(picked, goal, weights, bias,
                                         negatives.to(states.device))
            return value, picked, goal
        negatives = torch.from_numpy(
            sample_negatives(rng, self.n_items_, (states.shape[0], n_negatives))
        ).to(states.device)
        positive = (picked * weights[goal]).sum(-1) + bias[goal]
        negative = (torch.einsum("bwd,bkd->bwk", states, weights[negatives])
                    + bias[negatives][:, None, :])
        # A draw of a position's own target is no negative of it: its term is dropped.
        collision = negatives[:, None, :] == targets[:, :, None]
        negative = negative.masked_fill(collision, float("-inf"))[has_target]
        beta = 1.0 if loss == "bce" else gbce_beta(n_negatives, self.n_items_, self.gbce_t)
        return gbce_loss(positive, negative, beta), picked, goal

    def _n_negatives(self, loss):
        if self.n_negatives == "auto":
            return min(_AUTO_NEGATIVES[loss], self.n_items_ - 1)
        if loss == "gbce" and self.n_negatives > self.n_items_ - 1:
            raise ValueError(
                f"n_negatives={self.n_negatives} exceeds the {self.n_items_ - 1} other items "
                "there are to sample; gBCE needs a sampling rate n_negatives / (n_items - 1) "
                "of at most 1."
            )
        return self.n_negatives

    # --- inference ------------------------------------------------------------------------

    def _fitted_histories(self, X, name="X"):
        check_is_fitted(self)
        return self._check_histories(X, n_items=self.n_items_, name=name)

    def _network_on_device(self):
        device = resolve_device(self.device)
        if next(self.network_.parameters()).device != device:
            self.network_.to(device)
        return self.network_, device

    def _known_only(self, sequences):
        """The sequences without the items training never showed the network.

        Such an item's embedding learned nothing about it (with a softmax loss it was only
        pushed down as a wrong answer), so as the most recent item of a history it would
        decide the user's state by noise; leaving it out reads the history as it was before.
        """
        return [s[self.known_items_[s]] for s in sequences]

    def _user_states(self, histories):
        torch = import_torch()
        network, device = self._network_on_device()
        network.eval()
        tokens = self._inference_tokens(histories)
        states = np.empty((tokens.shape[0], self.embedding_dim), dtype=np.float32)
        with torch.inference_mode():
            for start in range(0, tokens.shape[0], _INFERENCE_BLOCK):
                block = tokens[start:start + _INFERENCE_BLOCK]
                # Columns of padding in every row change nothing: leave them out.
                width = max(int((block != 0).sum(axis=1).max()), 1)
                block = torch.from_numpy(np.ascontiguousarray(block[:, -width:])).to(device)
                states[start:start + block.shape[0]] = network.user_states(block).cpu().numpy()
        return states

    def _recommend(self, histories, k, exclude_seen):
        # The bias as one more factor, against a constant 1 on the users' side.
        states = self._user_states(histories)
        states = np.hstack([states, np.ones((states.shape[0], 1), dtype=states.dtype)])
        network = self.network_
        item_factors = np.hstack([network.item_weights().detach().cpu().numpy(),
                                  network.item_bias.detach().cpu().numpy()[:, None]])
        exclude = (seen_items(self._history_items(histories), self.n_items_)
                   if exclude_seen else None)
        return top_k(states, k, item_factors=item_factors, exclude=exclude)

    def transform(self, X):
        """Encode each history into the user state that scores the next item.

        Parameters
        ----------
        X : sequence of histories
            See :meth:`fit`; users unseen in ``fit`` are welcome.

        Returns
        -------
        states : ndarray of shape (n_samples, embedding_dim) of float32
            The encoder's output at the most recent position; the score of item ``i`` is
            ``states @ W[i] + b[i]``, with ``W = network_.item_weights()`` the item
            embeddings and ``b = network_.item_bias``.
        """
        return self._user_states(self._fitted_histories(X))

    def recommend(self, X, k=10, exclude_seen=True):
        """The ``k`` most likely next items of each history, best first.

        Users need not have been seen in ``fit``: a history is all the model needs. Users
        are encoded and ranked in blocks, so memory stays bounded however many there are.

        Parameters
        ----------
        X : sequence of histories
            See :meth:`fit`. Only the most recent ``max_length`` interactions are encoded.
        k : int, default=10
            Number of items per history.
        exclude_seen : bool, default=True
            Never recommend an item of the (whole, untruncated) history.

        Returns
        -------
        items : ndarray of shape (n_samples, k) of int64
            Item ids; -1 pads rows with fewer than ``k`` items left to recommend.

        Raises
        ------
        ValueError
            For an item id the model was not trained with (``>= n_items_``).
        """
        k = _check_k(k)
        return self._recommend(self._fitted_histories(X), k, exclude_seen)

    def predict(self, X):
        """The most likely next item of each history that is not in the history.

        Parameters
        ----------
        X : sequence of histories
            See :meth:`fit`.

        Returns
        -------
        items : ndarray of shape (n_samples,) of int64
            ``recommend(X, k=1)[:, 0]`` (-1 for a history that holds every item).
        """
        return self.recommend(X, k=1)[:, 0]

    def score(self, X, y=None):
        """NDCG@10 of next-item prediction, seen items excluded.

        Without ``y``, the last item of each history is hidden and the model ranks the items
        from the rest: ``make_ranking_scorer("ndcg", 10, protocol="next-item")``, so
        histories of one item are left out. With ``y``, the whole of ``X`` is the input and
        ``y`` the next items.

        Parameters
        ----------
        X : sequence of histories
        y : array-like of shape (n_samples,) of int, default=None
            The next item of each history.

        Returns
        -------
        score : float
            Mean NDCG@10 (one relevant item, so ``1 / log2(1 + rank)`` within the top 10).
        """
        if y is None:
            return self._score_hidden_last(self._fitted_histories(X))
        histories = self._fitted_histories(X)
        targets = _check_next_items(y, len(histories), self.n_items_)
        return _next_item_ndcg(self._recommend(histories, 10, True), targets, self.n_items_)

    def _score_hidden_last(self, histories):
        return make_ranking_scorer("ndcg", 10, protocol="next-item")(self, histories)

    # --- pickling and tags ----------------------------------------------------------------

    def __getstate__(self):
        # A copy: object.__getstate__ may hand back the instance's own __dict__.
        state = dict(super().__getstate__())
        network = state.get("network_")
        if network is not None and next(network.parameters()).device.type != "cpu":
            state["network_"] = copy.deepcopy(network).cpu()
        return state

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        # Samples are variable-length histories, not rows of a numeric matrix; the model's
        # own tests cover what scikit-learn's 2-D checks would.
        tags.input_tags.two_d_array = False
        tags.target_tags.required = False
        return tags


def _next_item_ndcg(recommended, targets, n_items):
    relevant = sp.csr_matrix(
        (np.ones(targets.size), (np.arange(targets.size), targets)),
        shape=(targets.size, n_items),
    )
    return ndcg_at_k(relevant, recommended, 10)
