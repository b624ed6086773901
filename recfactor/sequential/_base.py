"""Shared estimator logic of the transformer recommenders: batches, inference, scoring.

A subclass says how histories are validated, how they become training arrays and inputs,
what network it trains and what a batch's loss is (from ``_losses.py``); the seeding, the
epochs, early stopping, progress and pickling are the torch core's
(``recfactor.utils._torch``), and the batches, block-wise inference, top-k and scoring are
here.
"""

import contextlib
from abc import abstractmethod
from numbers import Integral, Real

import numpy as np
import scipy.sparse as sp
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils._param_validation import (
    Interval,
    StrOptions,
    validate_parameter_constraints,
)
from sklearn.utils.validation import check_is_fitted

from ..metrics import make_ranking_scorer, ndcg_at_k, top_k
from ..utils import import_torch, resolve_device
from ..utils._blocks import row_blocks
from ..utils._torch import (
    EPOCH_CONSTRAINTS,
    OPTIMIZER_CONSTRAINTS,
    TorchEstimatorMixin,
    broadcast_from_first,
    make_optimizer,
    mean_over_processes,
    seeded_fit,
    train_epochs,
    train_in_processes,
)
from ..utils._validation import _check_k, _check_next_items
from ._batching import SameItemPartners, chunks_by_length, seen_items, trim_padding
from ._losses import NEXT_ITEM_LOSSES, barlow_twins_loss, negative_rate, next_item_loss

# Chunks a training batch is computed in, by length (see _backward_batch).
_LENGTH_CHUNKS = 4

# Hyper-parameters of the estimators that offer a choice of next-item loss.
_LOSS_CONSTRAINTS = {
    "loss": [StrOptions(set(NEXT_ITEM_LOSSES))],
    "n_negatives": [Interval(Integral, 1, None, closed="left"), StrOptions({"auto"})],
    "gbce_t": [Interval(Real, 0, 1, closed="both")],
    "attention": [StrOptions({"causal", "bidirectional"})],
}

# Users encoded at a time at inference: bounds the memory of the activations.
_INFERENCE_BLOCK = 512


class _TransformerRecommender(TorchEstimatorMixin, TransformerMixin, BaseEstimator):
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
        **OPTIMIZER_CONSTRAINTS,
        "learning_rate": [Interval(Real, 0, None, closed="neither")],
        "batch_size": [Interval(Integral, 1, None, closed="left")],
        **EPOCH_CONSTRAINTS,
        "n_processes": [Interval(Integral, 1, None, closed="left")],
        "n_items": [Interval(Integral, 2, None, closed="left"), None],
        "device": "no_validation",  # resolve_device says what is wrong
        "random_state": ["random_state"],
        "verbose": ["verbose"],
    }

    _torch_modules = ("network_",)

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
        """The loss of a batch (a dict of the training arrays' rows) to minimise."""

    @abstractmethod
    def _final_items(self, arrays):
        """The last item of each training row's history: what its final state predicts."""

    @abstractmethod
    def _final_tokens(self, arrays, rows):
        """Left-padded token rows whose last-position state predicts the final item of each
        of ``rows`` (the states that the Barlow Twins term pairs)."""

    @abstractmethod
    def _trained_items(self, arrays):
        """Ids of the items that occur in the training arrays, as input or as target."""

    @abstractmethod
    def _inference_tokens(self, histories):
        """Left-padded token rows whose last-position state represents each user; items
        outside ``known_items_`` are left out (:meth:`_known_only`)."""

    def _build_module(self, name):
        return self._make_network(self.n_items_)

    def _min_max_length(self):
        return 1

    def _row_lengths(self, arrays):
        """Positions each training row covers: what a batch is chunked and weighted by."""
        return arrays["lengths"]

    # --- fit ------------------------------------------------------------------------------

    def _fit(self, X, y, X_valid):
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
        with seeded_fit(self.random_state, device) as (_, seed):
            rng = np.random.default_rng(seed)
            self.n_items_ = n_items
            counts = np.bincount(self._trained_items(arrays), minlength=n_items)
            self.known_items_ = counts > 0
            self.network_ = self._make_network(n_items)
            self.network_.head.start_from_frequencies(counts, self._negative_rate(n_items))
            self.network_.to(device)
            if self.n_processes == 1:
                history = self._train(arrays, valid, rng, device, self.max_epochs)
            else:
                history = train_in_processes(
                    self, "network_", self.n_processes,
                    dict(arrays=arrays, valid=valid, seed=seed, device=device))
            self._record_training(history)
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

    def _train(self, arrays, valid, rng, device, max_epochs, *, rank=0, n_processes=1):
        """Train ``network_`` for up to ``max_epochs``; return the TrainingHistory.

        With ``n_processes > 1`` this runs in process ``rank`` of a process group (see
        :meth:`_train_process`): each batch is split between the processes, which draw the
        same batches from ``rng`` and their own negatives and masks, and
        DistributedDataParallel averages their gradients, so every process takes the same
        step on the same weights.
        """
        network = self.network_
        optimizer = make_optimizer(self.optimizer, network.parameters(), self.learning_rate,
                                   betas=(0.9, 0.98))
        lengths = self._row_lengths(arrays)
        n_rows = lengths.size
        distributed = None
        sampling = rng
        if n_processes > 1:
            from torch.nn.parallel import DistributedDataParallel

            from ._modules import BatchLoss

            sampling = np.random.default_rng([int(rng.integers(2**32)), rank])
            distributed = DistributedDataParallel(
                BatchLoss(network, lambda net, batch: self._training_loss(net, batch, sampling,
                                                                          device)),
                find_unused_parameters=False,
            )

        partners = self._barlow_twins_partners(arrays)

        def run_epoch():
            order = rng.permutation(n_rows)
            total = 0.0
            for batch in row_blocks(n_rows, self.batch_size):
                shares = np.array_split(order[batch], n_processes)
                if min(share.size for share in shares) == 0:
                    continue  # a last batch smaller than the number of processes
                rows = shares[rank]
                optimizer.zero_grad(set_to_none=True)
                total += self._backward_batch(network, arrays, rows, lengths, sampling,
                                              device, partners=partners,
                                              distributed=distributed) * rows.size
                optimizer.step()
            return total / n_rows if n_processes == 1 else mean_over_processes(
                total * n_processes / n_rows)

        def validate():
            score = self._score_hidden_last(valid) if rank == 0 else None
            return score if n_processes == 1 else broadcast_from_first(score)

        return train_epochs(
            network, run_epoch, max_epochs=max_epochs,
            validate=None if valid is None else validate,
            eval_every=self.eval_every, patience=self.patience,
            verbose=self.verbose if rank == 0 else 0,
            description=type(self).__name__, metric="valid NDCG@10",
        )

    def _train_process(self, rank, n_processes, payload):
        """One process's training (see :func:`~recfactor.utils._torch.train_in_processes`)."""
        self.network_.to(payload["device"])
        return self._train(payload["arrays"], payload["valid"],
                           np.random.default_rng(payload["seed"]), payload["device"],
                           self.max_epochs, rank=rank, n_processes=n_processes)

    def _backward_batch(self, network, arrays, rows, lengths, rng, device, *, partners=None,
                        distributed=None):
        """Accumulate the gradient of a batch's loss; return the loss.

        The batch is computed in chunks of histories of similar length, each weighted by its
        share of the batch's positions: the same step as one pass over the whole batch
        (exactly for SASRec's mean over positions, in expectation for the masked ones) at
        far less padding (on MovieLens-100K half of a batch's 200 columns are padding on
        average). The Barlow Twins term, which standardises over the whole batch (each
        process's share of it, with several processes), is added once, with the last chunk,
        its pairs drawn by ``partners`` (:meth:`_barlow_twins_partners`).

        ``distributed``, the DistributedDataParallel of the network's :class:`BatchLoss`,
        computes the loss instead when given, and its gradients are averaged over the
        processes once, after the last chunk.
        """
        chunks = chunks_by_length(rows, lengths, _LENGTH_CHUNKS)
        positions = lengths[rows].sum()
        value = 0.0
        for i, chunk in enumerate(chunks):
            batch = {name: a[chunk] for name, a in arrays.items()}
            batch["share"] = lengths[chunk].sum() / positions
            last = i == len(chunks) - 1
            if last and partners is not None:
                batch["twins"] = self._twin_tokens(arrays, rows, partners, rng)
            with contextlib.nullcontext() if distributed is None or last else \
                    distributed.no_sync():
                if distributed is None:
                    loss = self._training_loss(network, batch, rng, device)
                else:
                    loss = distributed(batch)
                loss.backward()
            value += loss.item()
        return value

    def _training_loss(self, network, batch, rng, device):
        """The loss of a chunk weighted by its ``share`` of the batch, plus, where the chunk
        holds the ``twins`` token rows, the weighted Barlow Twins term of their states."""
        loss = self._batch_loss(network, batch, rng, device) * float(batch["share"])
        if "twins" in batch:
            torch = import_torch()
            states = network.user_states(torch.from_numpy(batch["twins"]).to(device))
            first, second = states.chunk(2)
            loss = loss + self.barlow_twins_weight * barlow_twins_loss(
                first, second, self.barlow_twins_lambda)
        return loss

    def _barlow_twins_partners(self, arrays):
        """The :class:`~._batching.SameItemPartners` of the training rows, or None when the
        Barlow Twins term is off."""
        if self.barlow_twins_weight == 0:
            return None
        return SameItemPartners(self._final_items(arrays))

    def _twin_tokens(self, arrays, rows, partners, rng):
        """Token rows of the Barlow Twins pairs: the batch's histories, then, in the same
        order, for each a training history with the same final item (BT-SR's pairs)."""
        tokens = self._final_tokens(arrays, np.concatenate([rows, partners(rows, rng)]))
        (tokens,) = trim_padding(tokens, lengths=(tokens != 0).sum(axis=1))
        return np.ascontiguousarray(tokens)

    def _negative_rate(self, n_items):
        """:func:`~._losses.negative_rate` of the next-item loss (None: a softmax)."""
        return negative_rate(self.loss, self.n_negatives, n_items, self.gbce_t)

    def _next_item_loss(self, network, states, targets, rng, loss):
        """:func:`~._losses.next_item_loss` with this estimator's negatives."""
        return next_item_loss(network.head, states, targets, loss, rng=rng,
                              n_negatives=self.n_negatives, gbce_t=self.gbce_t)

    # --- compression ----------------------------------------------------------------------

    def compress(self, X, keep=0.5, *, method="gfwsvd",
                 parts=("items", "attention", "feed_forward"), n_batches=16, shrinkage=0.1,
                 fine_tune_epochs=0):
        """Replace the network's matrices by low-rank factors, in place.

        Each matrix ``W`` (m x n) becomes the product of two factors of rank
        ``r = max(1, floor(keep * m * n / (m + n)))`` found by
        :func:`~recfactor.decomposition.fisher_weighted_svd`: its ``m * n`` parameters become
        ``r * (m + n)``, at most a share ``keep`` of them. The gradients that estimate the
        Fisher come from the model's own training loss on ``n_batches`` random batches of
        ``X`` (``batch_size`` distinct histories each, without dropout). Biases, layer norms and
        positional parameters are kept as they are.

        Parameters
        ----------
        X : sequence of histories
            The training histories (see :meth:`fit`).
        keep : float in (0, 1), default=0.5
            Share of each compressed matrix's parameters kept.
        method : {"gfwsvd", "fwsvd", "svd"}, default="gfwsvd"
            Kronecker-factored Fisher weights, per-row Fisher weights, or plain truncated SVD
            (which needs no gradient).
        parts : tuple of str, default=("items", "attention", "feed_forward")
            What is compressed: "items", the item table (input embeddings and output
            layer, ``n_items + 1 + extra tokens`` rows by ``embedding_dim``); "attention",
            the query-key-value and output projections of every block; "feed_forward",
            both layers of every block's feed-forward network.
        n_batches : int, default=16
            Batches whose gradients estimate the Fisher.
        shrinkage : float in [0, 1], default=0.1
            Weight of the identity in the Fisher factors (see
            :func:`~recfactor.decomposition.kronecker_fisher`).
        fine_tune_epochs : int, default=0
            Epochs of training on ``X`` after the compression, factors and all other
            parameters together, with the model's optimizer and learning rate; the fitted
            training history (``loss_curve_``...) is left as ``fit`` made it.

        Returns
        -------
        self
            Its ``network_`` holds ``LowRankEmbedding`` / ``LowRankLinear`` modules where
            the matrices were; every method works as before. Compressing again raises: copy
            the fitted model (``copy.deepcopy``) to try several settings.
        """
        check_is_fitted(self)
        from ..utils._compression import COMPRESSION_CONSTRAINTS, compress_in_place

        validate_parameter_constraints(
            {**COMPRESSION_CONSTRAINTS, "parts": [tuple, list]},
            dict(keep=keep, method=method, parts=parts, n_batches=n_batches,
                 shrinkage=shrinkage, fine_tune_epochs=fine_tune_epochs),
            caller_name="compress",
        )
        unknown = set(parts) - {"items", "attention", "feed_forward"}
        if unknown or not parts:
            raise ValueError("parts must be a non-empty tuple of 'items', 'attention' and "
                             f"'feed_forward', got {parts!r}.")
        histories = self._fitted_histories(X)
        arrays = self._training_arrays(histories)
        lengths = self._row_lengths(arrays)
        network, device = self._network_on_device()
        with seeded_fit(self.random_state, device) as (_, seed):
            rng = np.random.default_rng(seed)
            size = min(self.batch_size, lengths.size)
            partners = self._barlow_twins_partners(arrays)
            batches = [
                lambda rows=rng.choice(lengths.size, size, replace=False):
                    self._backward_batch(network, arrays, rows, lengths, rng, device,
                                         partners=partners)
                for _ in range(n_batches)
            ]
            compress_in_place(network, self._compressible(parts), batches, keep=keep,
                              method=method, shrinkage=shrinkage, random_state=seed)
            if fine_tune_epochs:
                self._train(arrays, None, rng, device, fine_tune_epochs)
        return self

    def _compressible(self, parts):
        """Dotted paths of the network's matrices of the given parts."""
        from ._modules import FeedForward, SelfAttention

        paths = ["head.items"] if "items" in parts else []
        for name, module in self.network_.named_modules():
            if isinstance(module, SelfAttention) and "attention" in parts:
                paths += [f"{name}.qkv", f"{name}.out"]
            if isinstance(module, FeedForward) and "feed_forward" in parts:
                paths += [f"{name}.0", f"{name}.3"]
        return paths

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
            for rows in row_blocks(tokens.shape[0], _INFERENCE_BLOCK):
                block = tokens[rows]
                # Columns of padding in every row change nothing: leave them out.
                width = max(int((block != 0).sum(axis=1).max()), 1)
                block = torch.from_numpy(np.ascontiguousarray(block[:, -width:])).to(device)
                states[rows] = network.user_states(block).cpu().numpy()
        return states

    def _recommend(self, histories, k, exclude_seen):
        users, items = self.network_.head.ranking_factors(self._user_states(histories))
        exclude = (seen_items(self._history_items(histories), self.n_items_)
                   if exclude_seen else None)
        return top_k(users, k, item_factors=items, exclude=exclude)

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
            ``states @ W[i] + b[i]``, with ``W = network_.head.weights()`` the item
            embeddings and ``b = network_.head.bias``.
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

    # --- serving ---------------------------------------------------------------------------

    def onnx_inputs(self, X):
        """The inputs of the graph :meth:`export_onnx` writes, for the histories ``X``.

        Parameters
        ----------
        X : sequence of histories
            See :meth:`fit`.

        Returns
        -------
        inputs : dict
            ``{"tokens": ndarray of shape (n_samples, max_length) of int64}``: the token
            rows the network reads (item id + 1 for the most recent items the model was
            trained with, left-padded with 0), ready for ``InferenceSession.run(None,
            inputs)``.
        """
        return {"tokens": self._inference_tokens(self._fitted_histories(X))}

    def export_onnx(self, path, k=10, *, verbose=0):
        """Write the recommendations as an ONNX graph, for serving without torch.

        The graph takes ``tokens`` (see :meth:`onnx_inputs`; any number of rows) and returns
        ``scores`` and ``items``, both of shape (n_rows, k): the ``k`` best items of each
        row, best first, the row's own items (its tokens) left out. These are
        :meth:`recommend`'s items for a history of at most ``max_length`` items the model
        was trained with; of a longer history only the encoded items are left out, and
        PNFRec's rows hold the liked items only. Where fewer than ``k`` items are left their
        score is ``-inf``. Needs ``pip install recfactor[onnx]``.

        Parameters
        ----------
        path : str or path-like
            The ``.onnx`` file written.
        k : int, default=10
            Items per row, at most ``n_items_``.
        verbose : int, default=0
            Show the exporter's progress.

        Returns
        -------
        path : str or path-like
            ``path``.

        Examples
        --------
        >>> import onnxruntime  # doctest: +SKIP
        >>> session = onnxruntime.InferenceSession("sasrec.onnx")  # doctest: +SKIP
        >>> scores, items = session.run(None, model.onnx_inputs(histories))  # doctest: +SKIP
        """
        check_is_fitted(self)
        k = _check_k(k)
        if k > self.n_items_:
            raise ValueError(f"k={k} is larger than the catalogue, n_items_={self.n_items_}.")
        torch = import_torch()
        from ..utils._onnx import export_onnx_graph
        from ._modules import TopItems

        example = torch.zeros((2, self.max_length), dtype=torch.int64)
        return export_onnx_graph(TopItems(self.network_, k), [example], path,
                                 input_names=["tokens"], output_names=["scores", "items"],
                                 verbose=verbose)

    # --- tags ------------------------------------------------------------------------------

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
