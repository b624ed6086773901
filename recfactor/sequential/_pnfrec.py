"""PNFRec: transformer recommendation from positive and negative feedback."""

from numbers import Real

import numpy as np
from sklearn.base import _fit_context
from sklearn.utils._param_validation import Interval

from ..utils import check_rated_histories, import_torch
from ._base import _next_item_ndcg, _TransformerRecommender
from ._batching import left_pad, trim_padding
from ._losses import disliked_contrastive_loss, next_item_loss

__all__ = ["PNFRec"]


class PNFRec(_TransformerRecommender):
    """Transformer recommender of positive and negative feedback (Ivanova et al., 2025).

    Samples are histories of rated interactions: ``X[u]`` is an array of
    ``(item_id, rating)`` rows, oldest first. Interactions rated ``>= rating_threshold``
    are liked, the others disliked. Two causal encoders share the item embeddings: one reads
    the liked items and predicts the next liked item, the other reads the disliked items
    and predicts the next disliked item. The loss is

    ``CE(next liked) + negative_weight * CE(next disliked) + contrastive_weight * C``,

    where ``C`` is the cross-entropy of each next liked item against the user's own
    disliked items (those among the ``max_length`` most recent): a model should rank what
    a user liked above what the same user disliked. Only the liked-items encoder
    recommends; items the user rated, liked or not, are excluded from the recommendations.

    Parameters
    ----------
    rating_threshold : float, default=4.0
        Ratings at or above it are positive feedback (4 on a 5-star scale).
    negative_weight : float >= 0, default=0.45
        Weight of the next-disliked-item cross-entropy.
    contrastive_weight : float >= 0, default=0.25
        Weight of the liked-versus-disliked term.
    positional : {"learned", "kernel", "none"}, default="learned"
        See :class:`SASRec`.
    barlow_twins_weight : float >= 0, default=0.0
        BT-SR term over the final liked-items states of histories whose last liked item
        is the same; see :class:`SASRec`.
    barlow_twins_lambda : float >= 0, default=0.05
    max_length : int, default=50
        Most recent liked (and, separately, disliked) items each encoder reads.
    embedding_dim, n_blocks, n_heads, dropout, optimizer, learning_rate, batch_size : see SASRec
        Defaults 64, 2, 1, 0.1, 1e-3 and 128.
    max_epochs, eval_every, patience, n_processes : see SASRec
    n_items, device, random_state, verbose : see SASRec
        Defaults 100, 10, None, "auto", None and 0.

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

    Notes
    -----
    Against the authors' code (``Veronika-Ivanova/pnfrec``), the two encoders here have
    their own positional embeddings and final LayerNorm (the authors share them), the blocks
    are pre-LayerNorm, and every score, those of the contrastive term included, carries the
    item bias of :class:`SASRec`. The paper's claim is about what a model promotes: fewer
    hits on items the user goes on to dislike (``HR_n``) at as many on liked ones
    (``HR_p``); a metric pooled over liked and disliked targets counts a hit on a disliked
    item as a success. On MovieLens-100K (three seeds) PNFRec's lists held 29 % fewer of the
    items users went on to dislike than SASRec's over every interaction, at an NDCG@10 of
    liked items 7 % lower; a SASRec on the liked items alone did as well on both, and
    PNFRec's negative terms added catalogue coverage (the Reproducibility page of the
    documentation gives the numbers).

    :meth:`score` (and early stopping on ``X_valid``) hides the last liked interaction of
    each history and recommends from everything before it. ``make_ranking_scorer(
    protocol="next-item")`` reads plain item histories, so it does not apply to rated ones:
    pass ``scoring=None`` to ``GridSearchCV`` to use :meth:`score`.

    Examples
    --------
    >>> import numpy as np
    >>> from recfactor.datasets import make_sequences
    >>> from recfactor.sequential import PNFRec
    >>> rng = np.random.default_rng(0)
    >>> histories = [np.column_stack([s, rng.integers(1, 6, s.size)])
    ...              for s in make_sequences(n_users=100, n_items=30, random_state=0)]
    >>> histories[0][:2]  # (item_id, rating) rows
    array([[ 2,  5],
           [24,  4]])
    >>> model = PNFRec(embedding_dim=16, max_length=20, max_epochs=5,
    ...                random_state=0).fit(histories)
    >>> model.recommend([[(3, 5), (7, 1)]], k=3).shape
    (1, 3)
    """

    _parameter_constraints = {
        **_TransformerRecommender._parameter_constraints,
        "rating_threshold": [Real],
        "negative_weight": [Interval(Real, 0, None, closed="left")],
        "contrastive_weight": [Interval(Real, 0, None, closed="left")],
    }

    def __init__(
        self,
        *,
        rating_threshold=4.0,
        negative_weight=0.45,
        contrastive_weight=0.25,
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
        self.rating_threshold = rating_threshold
        self.negative_weight = negative_weight
        self.contrastive_weight = contrastive_weight
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
        """Train both encoders on the liked and disliked items of the histories.

        Parameters
        ----------
        X : sequence of array-like of shape (n_interactions, 2)
            One history of ``(item_id, rating)`` rows per user, oldest first.
        y : array-like of shape (n_samples,) of int, default=None
            The next liked item of each history; it is appended to the history as liked.
        X_valid : sequence of array-like of shape (n_interactions, 2), default=None
            Validation histories, scored after every epoch as :meth:`score` does, for
            early stopping.

        Returns
        -------
        self : PNFRec
        """
        return self._fit(X, y, X_valid)

    def _check_histories(self, X, *, n_items=None, name="X"):
        return check_rated_histories(X, n_items=n_items, name=name)

    def _history_items(self, histories):
        return [items for items, _ in histories]

    def _with_next_items(self, histories, y):
        return [(np.append(items, item), np.append(ratings, self.rating_threshold))
                for (items, ratings), item in zip(histories, y)]

    def _split(self, histories):
        """Liked and disliked items of each history, in order."""
        liked = [items[ratings >= self.rating_threshold] for items, ratings in histories]
        disliked = [items[ratings < self.rating_threshold] for items, ratings in histories]
        return liked, disliked

    def _make_network(self, n_items):
        from ._modules import PositiveNegativeNetwork

        torch = import_torch()
        return PositiveNegativeNetwork(
            n_items, self.embedding_dim, n_blocks=self.n_blocks, n_heads=self.n_heads,
            dropout=self.dropout, max_length=self.max_length, positional=self.positional,
            causal=True, ffn_hidden=self.embedding_dim, activation=torch.nn.ReLU,
        )

    def _training_arrays(self, histories):
        liked, disliked = self._split(histories)
        users = [u for u, items in enumerate(liked) if items.size > 1]
        if not users:
            raise ValueError(
                "PNFRec needs at least one history with two or more liked interactions (rated "
                f">= rating_threshold={self.rating_threshold}): the next liked item is what it "
                "learns to predict."
            )
        liked = [liked[u] for u in users]
        disliked = [disliked[u] for u in users]
        width = self.max_length
        arrays = {}
        arrays["liked"], arrays["liked_lengths"] = left_pad([s[:-1] for s in liked], width,
                                                            shift=1)
        arrays["next_liked"], _ = left_pad([s[1:] for s in liked], width, fill=-1)
        arrays["disliked"], arrays["disliked_lengths"] = left_pad(
            [s[:-1] for s in disliked], width, shift=1)
        arrays["next_disliked"], _ = left_pad([s[1:] for s in disliked], width, fill=-1)
        arrays["contrast"], arrays["contrast_lengths"] = left_pad(disliked, width, fill=-1)
        return arrays

    def _row_lengths(self, arrays):
        return arrays["liked_lengths"] + arrays["disliked_lengths"]

    def _negative_rate(self, n_items):
        return None  # every term of its loss is a softmax

    def _batch_loss(self, network, batch, rng, device):
        torch = import_torch()

        def tensors(*arrays, lengths):
            return [torch.from_numpy(np.ascontiguousarray(a)).to(device)
                    for a in trim_padding(*arrays, lengths=lengths)]

        liked, next_liked = tensors(batch["liked"], batch["next_liked"],
                                    lengths=batch["liked_lengths"])
        states = network(liked)
        loss = next_item_loss(network.head, states, next_liked, "ce", rng=rng)
        if self.negative_weight > 0 and (batch["next_disliked"] >= 0).any():
            disliked, next_disliked = tensors(batch["disliked"], batch["next_disliked"],
                                              lengths=batch["disliked_lengths"])
            negative_loss = next_item_loss(
                network.head, network.negative_states(disliked), next_disliked, "ce", rng=rng)
            loss = loss + self.negative_weight * negative_loss
        if self.contrastive_weight > 0 and batch["contrast_lengths"].any():
            (contrast,) = tensors(batch["contrast"], lengths=batch["contrast_lengths"])
            loss = loss + self.contrastive_weight * disliked_contrastive_loss(
                network.head, states, next_liked, contrast)
        return loss

    def _final_items(self, arrays):
        return arrays["next_liked"][:, -1]

    def _final_tokens(self, arrays, rows):
        return arrays["liked"][rows]

    def _trained_items(self, arrays):
        inputs = np.concatenate([arrays["liked"].ravel(), arrays["disliked"].ravel()])
        targets = np.concatenate([arrays["next_liked"].ravel(), arrays["next_disliked"].ravel()])
        return np.concatenate([inputs[inputs > 0] - 1, targets[targets >= 0]])

    def _inference_tokens(self, histories):
        liked, _ = self._split(histories)
        return left_pad(self._known_only(liked), self.max_length, shift=1)[0]

    def score(self, X, y=None):
        """NDCG@10 of the next liked item, items of the history excluded.

        Without ``y``, the last liked interaction of each history is hidden and the model
        recommends from every interaction before it (histories with no liked interaction
        after their first are left out). With ``y``, the whole of ``X`` is the input and
        ``y`` the next liked items.

        Parameters
        ----------
        X : sequence of array-like of shape (n_interactions, 2)
        y : array-like of shape (n_samples,) of int, default=None

        Returns
        -------
        score : float
            Mean NDCG@10.
        """
        return super().score(X, y)

    def _score_hidden_last(self, histories):
        """NDCG@10 of the last liked item of each history, from what came before it."""
        inputs, targets = [], []
        for items, ratings in histories:
            liked = np.flatnonzero(ratings >= self.rating_threshold)
            if liked.size and liked[-1] > 0:
                inputs.append((items[:liked[-1]], ratings[:liked[-1]]))
                targets.append(items[liked[-1]])
        if not inputs:
            raise ValueError("Scoring needs histories whose last liked interaction comes "
                             "after at least one other interaction.")
        recommended = self._recommend(inputs, 10, True)
        return _next_item_ndcg(recommended, np.array(targets), self.n_items_)
