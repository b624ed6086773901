"""TuckER: knowledge-graph completion by a Tucker decomposition of the binary triple tensor."""

from numbers import Integral, Real

import numpy as np
from sklearn.base import _fit_context
from sklearn.utils._param_validation import Interval

from ..utils import check_triples
from ._base import _DROPOUT, _TRAINING_CONSTRAINTS, _KnowledgeGraphModel

__all__ = ["TuckER"]


class TuckER(_KnowledgeGraphModel):
    """TuckER link prediction (Balazevic, Allen and Hospedales, EMNLP 2019).

    The plausibility of a triple ``(s, r, o)`` is ``sigmoid(W x1 e_s x2 w_r x3 e_o)``: a
    core tensor ``W`` shared by every relation, contracted with the subject's embedding
    ``e_s``, the relation's ``w_r`` and the object's ``e_o``. Each query ``(s, r, ?)`` is
    scored against every entity at once (1-N scoring) and trained with binary cross-entropy
    on label-smoothed targets. Every training triple ``(h, r, t)`` also trains the query
    ``(t, r^-1, ?)`` of a reciprocal relation, so one model predicts heads and tails.

    Samples are triples: ``X`` is an (n_triples, 3) array of ``(head, relation, tail)``
    ids, integers (used as indices: ``max id + 1`` entities) or strings (mapped through the
    sorted vocabularies ``entities_`` and ``relations_``).

    Parameters
    ----------
    entity_dim : int, default=200
        Size of the entity embeddings ``d_e``.
    relation_dim : int, default=200
        Size of the relation embeddings ``d_r``; the core has shape (d_r, d_e, d_e).
    input_dropout : float in [0, 1), default=0.3
        Dropout on the batch-normalised subject embedding.
    hidden_dropout1 : float in [0, 1), default=0.4
        Dropout on the relation-specific matrix ``W x2 w_r``.
    hidden_dropout2 : float in [0, 1), default=0.5
        Dropout on the batch-normalised hidden vector.
    label_smoothing : float in [0, 1), default=0.1
        Targets are ``(1 - label_smoothing) * y + label_smoothing / n_entities``. The
        authors' code adds ``1 / n_entities`` instead: the same on large graphs, but on a
        small one (0.07 for every negative on the 14 entities of Nations) it lowers the
        filtered MRR (Nations: 0.60 instead of 0.67, see the benchmarks page).
    learning_rate : float, default=0.0005
        Adam's learning rate.
    decay_rate : float in (0, 1], default=1.0
        The learning rate is multiplied by it after each epoch (1: no decay).
    batch_size : int, default=128
        Queries per gradient step, at least 2 (batch normalisation needs two).
    max_epochs : int, default=500
        Passes over the training queries.
    eval_every : int, default=5
        With ``X_valid``, epochs between two evaluations of the validation MRR.
    patience : int, default=10
        With ``X_valid``, training stops after this many evaluations without a better
        validation MRR, and the parameters of the best evaluation are kept.
    device : {"auto", "cpu", "cuda"} or torch.device, default="auto"
        Where to train and predict; "auto" picks CUDA when available.
    random_state : int, RandomState instance or None, default=None
        Seeds the initialisation, dropout and the order of the batches: the same seed gives
        the same model on the CPU. The caller's global torch random state is left alone.
    verbose : int, default=0
        Show a progress bar with the loss and validation MRR (on stderr) when positive.

    Attributes
    ----------
    entities_ : ndarray of shape (n_entities,)
        The id of each internal entity: sorted strings, or ``arange(n_entities)`` for
        integer ids.
    relations_ : ndarray of shape (n_relations,)
        Likewise for relations (their reciprocals are internal).
    module_ : torch.nn.Module
        The trained embeddings (``module_.entity_embeddings``,
        ``module_.relation_embeddings``, with reciprocal relations after the others) and
        interaction (``module_.interaction.core``).
    n_iter_ : int
        Epochs run.
    loss_curve_ : list of float
        Mean training loss of each epoch.
    validation_scores_ : list of float
        Validation MRR before training and after every ``eval_every`` epochs: epochs 0,
        ``eval_every``, ``2 * eval_every``... (empty without ``X_valid``).
    best_validation_score_ : float or None
        The best of them, whose parameters are kept.
    best_epoch_ : int
        The epoch whose parameters are kept (the last one without ``X_valid``; 0 for the
        starting parameters).

    See Also
    --------
    MIGTF : A trained TuckER corrected by a hyperbolic interaction term.

    Notes
    -----
    The defaults are the authors' settings for FB15k-237. For WN18RR their README gives
    ``learning_rate=0.01, relation_dim=30, input_dropout=0.2, hidden_dropout1=0.2,
    hidden_dropout2=0.3`` (the paper's ``learning_rate=0.003, decay_rate=0.995`` were
    tuned for a model with a bias per object entity, which the released code dropped).

    The core starts uniform in [-1, 1] and the embeddings Xavier normal, as the authors'
    do. The mode product of the core with a batch of relation embeddings runs through
    tensorly's PyTorch backend (inside a context, so the global tensorly backend is left
    as it is).

    References
    ----------
    I. Balazevic, C. Allen and T. Hospedales, "TuckER: Tensor factorization for knowledge
    graph completion", EMNLP-IJCNLP 2019.

    Examples
    --------
    >>> from recfactor.datasets import make_triples
    >>> from recfactor.knowledge_graph import TuckER
    >>> X = make_triples(n_entities=50, n_relations=2, n_triples=300, random_state=0)
    >>> model = TuckER(entity_dim=8, relation_dim=4, max_epochs=2, device="cpu",
    ...                random_state=0).fit(X[:250])
    >>> model.predict(X[250:253]).shape
    (3,)
    >>> model.predict_tails([0, 1], [0, 1], k=5).shape
    (2, 5)
    >>> model.transform(X[250:253]).shape  # head and tail embeddings
    (3, 16)
    >>> model.score(X[250:])  # filtered MRR
    0...
    """

    _parameter_constraints = {
        "entity_dim": [Interval(Integral, 1, None, closed="left")],
        "relation_dim": [Interval(Integral, 1, None, closed="left")],
        "input_dropout": _DROPOUT,
        "hidden_dropout1": _DROPOUT,
        "hidden_dropout2": _DROPOUT,
        "decay_rate": [Interval(Real, 0, 1, closed="right")],
        **_TRAINING_CONSTRAINTS,
    }

    def __init__(
        self,
        *,
        entity_dim=200,
        relation_dim=200,
        input_dropout=0.3,
        hidden_dropout1=0.4,
        hidden_dropout2=0.5,
        label_smoothing=0.1,
        learning_rate=0.0005,
        decay_rate=1.0,
        batch_size=128,
        max_epochs=500,
        eval_every=5,
        patience=10,
        device="auto",
        random_state=None,
        verbose=0,
    ):
        self.entity_dim = entity_dim
        self.relation_dim = relation_dim
        self.input_dropout = input_dropout
        self.hidden_dropout1 = hidden_dropout1
        self.hidden_dropout2 = hidden_dropout2
        self.label_smoothing = label_smoothing
        self.learning_rate = learning_rate
        self.decay_rate = decay_rate
        self.batch_size = batch_size
        self.max_epochs = max_epochs
        self.eval_every = eval_every
        self.patience = patience
        self.device = device
        self.random_state = random_state
        self.verbose = verbose

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None, *, X_valid=None):
        """Train on the triples ``X``.

        Parameters
        ----------
        X : array-like of shape (n_triples, 3)
            Training ``(head, relation, tail)`` triples, integer or string ids.
        y : None
            Ignored.
        X_valid : array-like of shape (n_valid, 3), default=None
            Validation triples, with ids of the same kind: they turn on early stopping on
            their filtered MRR, and are filtered out of every later :meth:`score`. Their
            entities and relations get embeddings too (untrained unless they occur in
            ``X``).

        Returns
        -------
        self : TuckER
        """
        X = check_triples(X)
        X_valid = None if X_valid is None else check_triples(X_valid, name="X_valid")
        X, X_valid = self._set_vocabulary(X, X_valid)
        known = X if X_valid is None else np.concatenate([X, X_valid])
        with self._seeded_fit() as (device, rng):
            from ._modules import EmbeddingScorer, TuckERInteraction

            interaction = TuckERInteraction(
                self.entity_dim, self.relation_dim, self.input_dropout, self.hidden_dropout1,
                self.hidden_dropout2,
            )
            self.module_ = EmbeddingScorer(
                self._n_entities, 2 * self._n_relations, self.entity_dim, self.relation_dim,
                interaction,
            ).to(device)
            self._train(
                self.module_, self.module_.parameters(), X, X_valid, known,
                decay_rate=self.decay_rate, rng=rng, device=device,
            )
        return self

    def _scorer(self):
        return self.module_

    def _entity_embeddings(self):
        return self.module_.entity_embeddings.weight.detach().cpu().numpy()

    def _floats_per_query(self):
        # The relation-specific matrix W x2 w_r of each query.
        return self.entity_dim * self.entity_dim + self.entity_dim
