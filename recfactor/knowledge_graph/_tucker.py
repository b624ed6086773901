"""TuckER: knowledge-graph completion by a Tucker decomposition of the binary triple tensor."""

from numbers import Integral, Real

import numpy as np
from sklearn.base import _fit_context
from sklearn.utils._param_validation import (
    Interval,
    StrOptions,
    validate_parameter_constraints,
)
from sklearn.utils.validation import check_is_fitted

from ..utils import check_triples, import_torch
from ._base import _DROPOUT, _TRAINING_CONSTRAINTS, _KnowledgeGraphModel

__all__ = ["TuckER"]

# Graphs with at least this many relations get the authors' FB15k-237 settings (237
# relations), graphs with fewer their WN18RR settings (11 relations); see TuckER's Notes.
_MANY_RELATIONS = 100
_FEW_RELATIONS_SETTINGS = dict(
    learning_rate=0.01, input_dropout=0.2, hidden_dropout1=0.2, hidden_dropout2=0.3
)
_MANY_RELATIONS_SETTINGS = dict(
    learning_rate=0.0005, input_dropout=0.3, hidden_dropout1=0.4, hidden_dropout2=0.5
)


def _auto_settings(n_entities, n_relations):
    """What each hyper-parameter left at "auto" becomes on a graph of this size.

    Each embedding is as wide as its table has rows (``n_entities``, and ``2 * n_relations``
    with the reciprocals), within the authors' [30, 200]: a table of ``n`` rows has rank at
    most ``n``, so more dimensions only add parameters to the core. The learning rate and
    the dropouts are the authors' WN18RR settings below ``_MANY_RELATIONS`` relations, their
    FB15k-237 settings from there on.
    """
    regime = (
        _MANY_RELATIONS_SETTINGS if n_relations >= _MANY_RELATIONS else _FEW_RELATIONS_SETTINGS
    )
    return {
        "entity_dim": min(200, max(30, n_entities)),
        "relation_dim": min(200, max(30, 2 * n_relations)),
        **regime,
    }


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
    entity_dim : int or "auto", default="auto"
        Size of the entity embeddings ``d_e``. "auto": the number of entities, within
        [30, 200] (see Notes).
    relation_dim : int or "auto", default="auto"
        Size of the relation embeddings ``d_r``; the core has shape (d_r, d_e, d_e).
        "auto": twice the number of relations (one embedding for each relation and one for
        its reciprocal), within [30, 200].
    input_dropout : float in [0, 1) or "auto", default="auto"
        Dropout on the batch-normalised subject embedding. "auto": 0.2, or 0.3 on a graph
        of 100 relations or more.
    hidden_dropout1 : float in [0, 1) or "auto", default="auto"
        Dropout on the relation-specific matrix ``W x2 w_r``. "auto": 0.2, or 0.4 on a
        graph of 100 relations or more.
    hidden_dropout2 : float in [0, 1) or "auto", default="auto"
        Dropout on the batch-normalised hidden vector. "auto": 0.3, or 0.5 on a graph of
        100 relations or more.
    label_smoothing : float in [0, 1), default=0.1
        Targets are ``(1 - label_smoothing) * y + label_smoothing / n_entities``. The
        authors' code adds ``1 / n_entities`` instead: the same on large graphs, but on a
        small one (0.07 for every negative on the 14 entities of Nations) it lowers the
        filtered MRR (Nations: 0.60 instead of 0.67, see the benchmarks page).
    optimizer : {"adam", "adagrad", "adagram"}, default="adam"
        Adam, ``torch.optim.Adagrad``, or :class:`recfactor.optim.AdaGram` (low-rank
        full-matrix AdaGrad).
    learning_rate : float or "auto", default="auto"
        The optimizer's learning rate. "auto": 0.01, or 0.0005 on a graph of 100 relations or more.
    decay_rate : float in (0, 1], default=1.0
        The learning rate is multiplied by it after each epoch (1: no decay).
    batch_size : int, default=128
        Queries per gradient step, at least 2 (batch normalisation needs two).
    max_epochs : int, default=500
        Passes over the training queries.
    eval_every : int, default=5
        With ``X_valid``, epochs between two evaluations of the validation MRR.
    patience : int or None, default=10
        With ``X_valid``, training stops after this many evaluations without a better
        validation MRR; ``None`` trains ``max_epochs`` epochs. Either way the parameters of
        the best evaluation are kept.
    n_processes : int, default=1
        Processes that train together with torch's DistributedDataParallel (``gloo`` on
        the CPU, ``nccl`` with one GPU per process), started by ``fit``; each batch of
        queries is split among them and their gradients averaged. Validation runs in the
        first. A script that fits with ``n_processes > 1`` needs the
        ``if __name__ == "__main__":`` guard.
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
    validation_scores_ : list of float or None
        Validation MRR before training and after every ``eval_every`` epochs: epochs 0,
        ``eval_every``, ``2 * eval_every``... (None without ``X_valid``).
    best_validation_score_ : float or None
        The best of them, whose parameters are kept.
    best_epoch_ : int
        The epoch whose parameters are kept (the last one without ``X_valid``; 0 for the
        starting parameters).
    entity_dim_, relation_dim_ : int
        The dimensions used: the parameter, or what "auto" chose for the fitted graph.
    learning_rate_, input_dropout_, hidden_dropout1_, hidden_dropout2_ : float
        Likewise for the learning rate and the dropouts.

    See Also
    --------
    MIGTF : A trained TuckER corrected by a hyperbolic interaction term.

    Notes
    -----
    The defaults adapt to the graph, from its number of entities ``n_e`` and relations
    ``n_r`` (those of ``X`` and ``X_valid``), and the values chosen are in the attributes
    ending in ``_``:

    - ``entity_dim_ = clip(n_e, 30, 200)`` and ``relation_dim_ = clip(2 n_r, 30, 200)``.
      An embedding table of ``n`` rows has rank at most ``n``: wider embeddings add
      parameters to the core (``d_r d_e^2`` of them) but no rank. 30 and 200 are the
      smallest and largest dimensions the authors used.
    - Below 100 relations, ``learning_rate_ = 0.01`` and dropouts 0.2 / 0.2 / 0.3, the
      authors' WN18RR settings (their README; the paper's ``learning_rate=0.003,
      decay_rate=0.995`` were tuned for a model with a bias per object entity, which the
      released code dropped). From 100 relations on, ``learning_rate_ = 0.0005`` and
      dropouts 0.3 / 0.4 / 0.5, their FB15k-237 settings.

    On the two large graphs the authors tuned, the rule gives their settings exactly:
    WN18RR (40,943 entities, 11 relations) d_e = 200, d_r = 30, learning rate 0.01;
    FB15k-237 (14,541 entities, 237 relations) d_e = d_r = 200, learning rate 0.0005. On
    small graphs it gives a learning rate that trains in few epochs and dimensions that fit
    the graph: UMLS (135 entities, 46 relations) d_e = 135, d_r = 92; Nations (14
    entities, 55 relations) d_e = 30, d_r = 110. The knowledge-graph part of the
    benchmarks page compares these defaults with settings tuned for UMLS and Nations, on
    them and on a graph of :func:`~recfactor.datasets.make_triples`, and with the former
    defaults (FB15k-237's on every graph), which learn far less in 100 epochs. The rule is
    a heuristic: no statistic of its size sets FB15k-237 apart from FB15k (1,345
    relations), where the authors used ``learning_rate=0.003`` and dropouts 0.2 / 0.2 /
    0.3; it gives FB15k-237's settings there.

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
        "entity_dim": [Interval(Integral, 1, None, closed="left"), StrOptions({"auto"})],
        "relation_dim": [Interval(Integral, 1, None, closed="left"), StrOptions({"auto"})],
        "input_dropout": [*_DROPOUT, StrOptions({"auto"})],
        "hidden_dropout1": [*_DROPOUT, StrOptions({"auto"})],
        "hidden_dropout2": [*_DROPOUT, StrOptions({"auto"})],
        "decay_rate": [Interval(Real, 0, 1, closed="right")],
        **_TRAINING_CONSTRAINTS,
        "learning_rate": [Interval(Real, 0, None, closed="neither"), StrOptions({"auto"})],
    }

    def __init__(
        self,
        *,
        entity_dim="auto",
        relation_dim="auto",
        input_dropout="auto",
        hidden_dropout1="auto",
        hidden_dropout2="auto",
        label_smoothing=0.1,
        optimizer="adam",
        learning_rate="auto",
        decay_rate=1.0,
        batch_size=128,
        max_epochs=500,
        eval_every=5,
        patience=10,
        n_processes=1,
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
        self.optimizer = optimizer
        self.learning_rate = learning_rate
        self.decay_rate = decay_rate
        self.batch_size = batch_size
        self.max_epochs = max_epochs
        self.eval_every = eval_every
        self.patience = patience
        self.n_processes = n_processes
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
        self._resolve_auto()
        with self._seeded_fit() as (device, rng):
            self.module_ = self._build_module("module_").to(device)
            self._train(
                self.module_, self.module_.parameters(), X, X_valid, known,
                learning_rate=self.learning_rate_, decay_rate=self.decay_rate, rng=rng,
                device=device,
            )
        return self

    def compress(self, X, keep=0.5, *, method="gfwsvd", n_batches=16, shrinkage=0.1,
                 fine_tune_epochs=0):
        """Replace the entity table by two low-rank factors, in place.

        The table (``n_entities x entity_dim_``, the subjects' embeddings and the output layer
        alike) becomes the product of two factors of rank
        ``r = max(1, floor(keep * n_entities * entity_dim_ / (n_entities + entity_dim_)))``
        found by :func:`~recfactor.decomposition.fisher_weighted_svd`: ``r * (n_entities +
        entity_dim_)`` parameters instead of ``n_entities * entity_dim_``. The gradients
        that estimate the Fisher come from the model's own 1-N loss on ``n_batches`` random
        batches of ``batch_size`` distinct training queries of ``X`` (without dropout).

        Parameters
        ----------
        X : array-like of shape (n_triples, 3)
            The training triples; those with an entity unseen in fit are left out, with a
            warning.
        keep : float in (0, 1), default=0.5
            Share of the table's parameters kept.
        method : {"gfwsvd", "fwsvd", "svd"}, default="gfwsvd"
            Kronecker-factored Fisher weights, per-entity Fisher weights, or plain truncated
            SVD (which needs no gradient).
        n_batches : int, default=16
            Batches of ``batch_size`` queries whose gradients estimate the Fisher.
        shrinkage : float in [0, 1], default=0.1
            Weight of the identity in the Fisher factors (see
            :func:`~recfactor.decomposition.kronecker_fisher`).
        fine_tune_epochs : int, default=0
            Epochs of training on ``X`` after the compression, with the model's optimizer,
            learning rate and decay; the fitted history (``loss_curve_``...) is left as
            ``fit`` made it.

        Returns
        -------
        self
            Compressing again raises: copy the fitted model (``copy.deepcopy``) to try
            several settings.
        """
        check_is_fitted(self)
        torch = import_torch()
        from ..utils._compression import COMPRESSION_CONSTRAINTS, compress_in_place
        from ._training import QueryAnswers, smoothed_one_to_n_bce, train_one_to_n

        validate_parameter_constraints(
            COMPRESSION_CONSTRAINTS,
            dict(keep=keep, method=method, n_batches=n_batches, shrinkage=shrinkage,
                 fine_tune_epochs=fine_tune_epochs),
            caller_name="compress",
        )
        triples, unknown = self._validated_triples(X, "they are left out")
        queries = QueryAnswers(triples[~unknown], self._n_entities, self._n_relations)
        scorer, device = self._ready_scorer()
        with self._seeded_fit() as (_, rng):
            size = min(self.batch_size, queries.n_queries)

            def backward(batch):
                logits = scorer(torch.as_tensor(queries.entities[batch], device=device),
                                torch.as_tensor(queries.relations[batch], device=device))
                smoothed_one_to_n_bce(logits, queries.answers[batch],
                                      self.label_smoothing).backward()

            compress_in_place(
                scorer, ["entity_embeddings"],
                [lambda batch=rng.choice(queries.n_queries, size, replace=False):
                    backward(batch) for _ in range(n_batches)],
                keep=keep, method=method, shrinkage=shrinkage,
                random_state=int(rng.randint(np.iinfo(np.int32).max)),
            )
            if fine_tune_epochs:
                train_one_to_n(
                    scorer, scorer.parameters(), queries, label_smoothing=self.label_smoothing,
                    optimizer=self.optimizer, learning_rate=self.learning_rate_,
                    decay_rate=self.decay_rate, batch_size=self.batch_size,
                    max_epochs=fine_tune_epochs, eval_every=1, patience=None, validate=None,
                    rng=rng, device=device, verbose=self.verbose,
                    description=f"{type(self).__name__} fine-tune",
                )
        return self

    def _build_module(self, name):
        from ._modules import EmbeddingScorer, TuckERInteraction

        interaction = TuckERInteraction(
            self.entity_dim_, self.relation_dim_, self.input_dropout_,
            self.hidden_dropout1_, self.hidden_dropout2_,
        )
        return EmbeddingScorer(self._n_entities, 2 * self._n_relations, self.entity_dim_,
                               self.relation_dim_, interaction)

    def _resolve_auto(self):
        """Set ``entity_dim_``, ``relation_dim_``, ``learning_rate_`` and the dropouts'
        attributes: the parameter, or what "auto" gives on the fitted graph."""
        auto = _auto_settings(self._n_entities, self._n_relations)
        for name in auto:
            value = getattr(self, name)
            setattr(self, f"{name}_", auto[name] if value == "auto" else value)

    def _scorer(self):
        return self.module_

    def _entity_embeddings(self):
        return self.module_.entity_embeddings.weight.detach().cpu().numpy()

    def _floats_per_query(self):
        # The relation-specific matrix W x2 w_r of each query.
        return self.entity_dim_ * self.entity_dim_ + self.entity_dim_
