"""MIGTF: a frozen TuckER corrected by a hyperbolic interaction term."""

import copy
from numbers import Integral, Real

import numpy as np
from sklearn.base import _fit_context, clone
from sklearn.exceptions import NotFittedError
from sklearn.utils._param_validation import Interval
from sklearn.utils.validation import check_is_fitted

from ..utils import check_triples
from ._base import _DROPOUT, _TRAINING_CONSTRAINTS, _KnowledgeGraphModel
from ._tucker import TuckER

__all__ = ["MIGTF"]


class MIGTF(_KnowledgeGraphModel):
    """Mixed geometry tensor factorization (Yusupov, Rakhuba and Frolov, AISTATS 2025).

    A trained :class:`TuckER` is frozen and a small hyperbolic interaction term is
    trained on top of it: the plausibility of ``(s, r, o)`` is ``sigmoid(x_E + x_H)``, with
    ``x_E`` the TuckER logit and ``x_H`` a function of the subject ``u``, the relation
    ``t`` and the object ``v``, points of the hyperboloid ``<a, a>_L = -c`` of the Lorentz
    product ``<a, b>_L = -a0 b0 + <a_spatial, b_spatial>``::

        x_H = N(u, t, v) / (u0 t0 + u0 v0 + t0 v0)
        N = u0 t0 - <u, t> - u0 - t0 + <u, v> + <t, v> - u0 v0 - t0 v0 + v0 + 2c

    Each point is stored by its spatial coordinates ``x`` and lifted by
    ``x0 = sqrt(c + |x|^2)``. Training is 1-N with label-smoothed binary cross-entropy on
    the sum, as for TuckER, with reciprocal relations, so heads and tails are predicted by
    one model; only the hyperbolic embeddings and batch norms learn.

    Samples are triples, as for :class:`TuckER`; the ids are those of the base model.

    Parameters
    ----------
    base : TuckER, default=None
        The Euclidean model. None: ``TuckER(device=device, random_state=random_state,
        verbose=verbose)`` fitted on the same data first. An unfitted TuckER: a clone of it
        fitted on the same data first. A fitted TuckER: a copy of it, used as is (``base``
        itself is never modified); ``X`` may then hold only entities and relations it
        knows.
    hyperbolic_dim : int, default=50
        Spatial dimension of the hyperbolic embeddings.
    curvature : float, default=1.3
        The parameter ``c > 0`` of the hyperboloid, fixed.
    input_dropout : float in [0, 1), default=0.2
        Dropout on the batch-normalised spatial coordinates of the subject ``u``.
    hidden_dropout : float in [0, 1), default=0.2
        Dropout on the batch-normalised spatial coordinates of the relation ``t``.
    label_smoothing : float in [0, 1), default=0.1
        As in :class:`TuckER`.
    optimizer : {"adam", "adagrad", "adagram"}, default="adam"
        As in :class:`TuckER`.
    learning_rate : float, default=0.01
        The optimizer's learning rate (constant).
    batch_size : int, default=128
        Queries per gradient step, at least 2.
    max_epochs : int, default=200
        Passes over the training queries for the hyperbolic term (the base's own training
        follows the base's parameters).
    eval_every : int, default=5
        With ``X_valid``, epochs between two evaluations of the validation MRR.
    patience : int or None, default=10
        With ``X_valid``, evaluations without improvement before training stops (never with
        ``None``); the best parameters are kept.
    n_processes : int, default=1
        As in :class:`TuckER`, for the hyperbolic term (the base is fitted as its own
        ``n_processes`` says).
    device : {"auto", "cpu", "cuda"} or torch.device, default="auto"
        Where to train and predict; the base is moved there too.
    random_state : int, RandomState instance or None, default=None
        Seeds the hyperbolic term's initialisation, dropout and batch order.
    verbose : int, default=0
        Show a progress bar with the loss and validation MRR (on stderr) when positive.

    Attributes
    ----------
    base_ : TuckER
        The fitted, frozen Euclidean model.
    entities_, relations_ : ndarray
        The base's vocabularies.
    module_ : torch.nn.Module
        The trained hyperbolic term: spatial coordinates of the entities
        (``module_.entity_embeddings``) and of the relations and their reciprocals
        (``module_.relation_embeddings``), and its interaction.
    n_iter_, loss_curve_, validation_scores_, best_validation_score_, best_epoch_
        As in :class:`TuckER`, for the training of the hyperbolic term.

    Notes
    -----
    Against every candidate object at once, ``N`` is ``(u + t) @ V^T`` plus rank-one terms
    and per-query constants, and the denominator ``u0 t0 + (u0 + t0) v0^T`` is rank one
    too: scoring costs a matrix product, never a (queries x entities x dim) tensor.
    With the formal origin ``O = (1, 0, ..., 0)`` and squared Lorentz edge lengths
    ``D(a, b) = <a - b, a - b>_L``, ``N = (D(u, t) + D(v, O) - D(u, v) - D(t, v) - D(u, O) -
    D(t, O)) / 2 + (c - 1) / 2``.

    The defaults of the dropouts, learning rate and epochs are recfactor's, not tuned
    settings from the paper. The term starts near the origin, where it is flat; at a
    learning rate of 0.001 it barely moved before early stopping ended its training, even
    over bases it improves on at 0.01. Validation is scored before training too, so a term
    that never improves on its base's validation MRR is not kept (``best_epoch_`` 0).

    References
    ----------
    V. Yusupov, M. Rakhuba and E. Frolov, "Knowledge graph completion with mixed geometry
    tensor factorization", AISTATS 2025.

    Examples
    --------
    >>> from recfactor.datasets import make_triples
    >>> from recfactor.knowledge_graph import MIGTF, TuckER
    >>> X = make_triples(n_entities=50, n_relations=2, n_triples=300, random_state=0)
    >>> base = TuckER(entity_dim=8, relation_dim=4, max_epochs=2, device="cpu", random_state=0)
    >>> model = MIGTF(base, hyperbolic_dim=4, max_epochs=2, device="cpu", random_state=0)
    >>> model.fit(X[:250]).predict(X[250:253]).shape
    (3,)
    >>> model.predict_heads([0], [7], k=3).shape
    (1, 3)
    >>> model.transform(X[250:253]).shape  # head and tail: 8 Euclidean + 4 hyperbolic each
    (3, 24)
    >>> model.score(X[250:])  # filtered MRR
    0...
    """

    _parameter_constraints = {
        "base": [None, TuckER],
        "hyperbolic_dim": [Interval(Integral, 1, None, closed="left")],
        "curvature": [Interval(Real, 0, None, closed="neither")],
        "input_dropout": _DROPOUT,
        "hidden_dropout": _DROPOUT,
        **_TRAINING_CONSTRAINTS,
    }

    def __init__(
        self,
        base=None,
        *,
        hyperbolic_dim=50,
        curvature=1.3,
        input_dropout=0.2,
        hidden_dropout=0.2,
        label_smoothing=0.1,
        optimizer="adam",
        learning_rate=0.01,
        batch_size=128,
        max_epochs=200,
        eval_every=5,
        patience=10,
        n_processes=1,
        device="auto",
        random_state=None,
        verbose=0,
    ):
        self.base = base
        self.hyperbolic_dim = hyperbolic_dim
        self.curvature = curvature
        self.input_dropout = input_dropout
        self.hidden_dropout = hidden_dropout
        self.label_smoothing = label_smoothing
        self.optimizer = optimizer
        self.learning_rate = learning_rate
        self.batch_size = batch_size
        self.max_epochs = max_epochs
        self.eval_every = eval_every
        self.patience = patience
        self.n_processes = n_processes
        self.device = device
        self.random_state = random_state
        self.verbose = verbose

    @_fit_context(prefer_skip_nested_validation=False)
    def fit(self, X, y=None, *, X_valid=None):
        """Fit the base if needed, then train the hyperbolic term with the base frozen.

        Parameters
        ----------
        X : array-like of shape (n_triples, 3)
            Training triples.
        y : None
            Ignored.
        X_valid : array-like of shape (n_valid, 3), default=None
            Validation triples: early stopping (of the base too, when it is fitted here),
            and filtered out of every later :meth:`score`.

        Returns
        -------
        self : MIGTF
        """
        X = check_triples(X)
        X_valid = None if X_valid is None else check_triples(X_valid, name="X_valid")
        self.base_ = self._fitted_base(X, X_valid)
        self.entities_ = self.base_.entities_
        self.relations_ = self.base_.relations_
        X = self._encode_known(X, "X")
        X_valid = None if X_valid is None else self._encode_known(X_valid, "X_valid")
        known = np.concatenate(
            [self.base_._known_triples, X, *([] if X_valid is None else [X_valid])]
        )
        with self._seeded_fit() as (device, rng):
            from ._modules import FrozenBasePlusCorrection

            self.module_ = self._build_module("module_").to(device)
            scorer = FrozenBasePlusCorrection(self.base_.module_, self.module_).to(device)
            # Adam without decay, on the hyperbolic term only.
            self._train(
                scorer, self.module_.parameters(), X, X_valid, known,
                learning_rate=self.learning_rate, decay_rate=1.0, rng=rng, device=device,
            )
        return self

    def _build_module(self, name):
        from ._modules import EmbeddingScorer, LorentzInteraction

        interaction = LorentzInteraction(
            self.hyperbolic_dim, self.curvature, self.input_dropout, self.hidden_dropout
        )
        # Points near the origin make x_H about the same for every candidate, so training
        # starts from the base's ranking instead of adding noise to it.
        return EmbeddingScorer(self._n_entities, 2 * self._n_relations, self.hyperbolic_dim,
                               self.hyperbolic_dim, interaction, init_std=1e-4)

    def _fitted_base(self, X, X_valid):
        if self.base is None:
            base = TuckER(device=self.device, random_state=self.random_state, verbose=self.verbose)
            return base.fit(X, X_valid=X_valid)
        try:
            check_is_fitted(self.base)
        except NotFittedError:
            return clone(self.base).fit(X, X_valid=X_valid)
        return copy.deepcopy(self.base)

    def _encode_known(self, triples, name):
        """Encode triples whose entities the base knows: it has no embedding for others."""
        encoded = self._encode(triples, name)
        unknown = (encoded[:, [0, 2]] < 0).any(axis=1)
        if unknown.any():
            example = tuple(triples[np.argmax(unknown)].tolist())
            raise ValueError(
                f"{name} has {int(unknown.sum())} triple(s) with entities the fitted base was "
                f"not trained on, for example {example}; pass an unfitted TuckER as base to "
                "fit both models on the same data."
            )
        return encoded

    def _scorer(self):
        from ._modules import FrozenBasePlusCorrection

        return FrozenBasePlusCorrection(self.base_.module_, self.module_)

    def _entity_embeddings(self):
        hyperbolic = self.module_.entity_embeddings.weight.detach().cpu().numpy()
        return np.hstack([self.base_._entity_embeddings(), hyperbolic])

    def _floats_per_query(self):
        # The base's, and a few (queries x entities) temporaries of the hyperbolic term.
        return self.base_._floats_per_query() + 4 * self._n_entities
