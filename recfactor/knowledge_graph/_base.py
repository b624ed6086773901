"""What every knowledge-graph estimator shares: ids, validation, inference and pickling.

torch is imported when a model is fitted or used, never when this module is imported.
"""

import contextlib
import warnings
from numbers import Integral, Real

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils._param_validation import Interval
from sklearn.utils.validation import check_is_fitted

from ..metrics import mrr
from ..preprocessing import decode_ids, encode_ids
from ..utils import check_triples, import_torch, resolve_device
from ..utils._blocks import rows_per_block
from ..utils._torch import (
    EPOCH_CONSTRAINTS,
    OPTIMIZER_CONSTRAINTS,
    TorchEstimatorMixin,
    broadcast_from_first,
    seeded_fit,
    train_in_processes,
)
from ..utils._validation import _check_k

# Hyper-parameters of the 1-N training loop, shared by every model.
_TRAINING_CONSTRAINTS = {
    "label_smoothing": [Interval(Real, 0, 1, closed="left")],
    **OPTIMIZER_CONSTRAINTS,
    "learning_rate": [Interval(Real, 0, None, closed="neither")],
    "batch_size": [Interval(Integral, 2, None, closed="left")],
    **EPOCH_CONSTRAINTS,
    "n_processes": [Interval(Integral, 1, None, closed="left")],
    "device": "no_validation",  # checked by recfactor.utils.resolve_device
    "random_state": ["random_state"],
    "verbose": ["verbose"],
}
_DROPOUT = [Interval(Real, 0, 1, closed="left")]


def _check_ids(values, name):
    """1-D ids, all integers (int64) or all strings (object array)."""
    if isinstance(values, pd.Series):
        values = values.to_numpy()
    ids = values if isinstance(values, np.ndarray) else np.asarray(values, dtype=object)
    if ids.ndim != 1 or ids.size == 0:
        raise ValueError(f"{name} must be a non-empty 1-D array of ids, got shape {ids.shape}.")
    if ids.dtype.kind in "iu":
        return ids.astype(np.int64, copy=False)
    if ids.dtype.kind == "U":
        return ids.astype(object)
    if all(isinstance(v, Integral) and not isinstance(v, bool) for v in ids):
        return ids.astype(np.int64)
    if all(isinstance(v, str) for v in ids):
        return ids.astype(object)
    raise TypeError(f"{name} must hold integer ids or string ids, got dtype {ids.dtype}.")


class _KnowledgeGraphModel(TorchEstimatorMixin, TransformerMixin, BaseEstimator):
    """Base of the knowledge-graph estimators; samples are triples ``(head, relation, tail)``.

    A subclass fits through :meth:`_set_vocabulary` (or copies a vocabulary) and
    :meth:`_train`, stores its trained module in ``module_``, and implements:

    - ``_scorer()``: the module mapping queries ``(entities, relations)`` (relations
      numbered with their reciprocals) to logits against every entity;
    - ``_entity_embeddings()``: the (n_entities, dim) array that :meth:`transform` returns
      rows of;
    - ``_floats_per_query()``: the memory one query takes while scored, besides its row of
      scores, which sets the size of the inference blocks.
    - ``_build_module(name)``: the untrained ``module_`` of the fitted sizes (for loading).
    """

    _torch_modules = ("module_",)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.string = True
        return tags

    # -- ids ------------------------------------------------------------------------------

    def _set_vocabulary(self, X, X_valid=None):
        """Set ``entities_`` and ``relations_`` from validated triples; return them encoded."""
        if X_valid is not None and (X_valid.dtype == object) != (X.dtype == object):
            raise TypeError(
                "X_valid must have ids of the same kind as X: integers in both or strings in "
                "both."
            )
        triples = X if X_valid is None else np.concatenate([X, X_valid])
        if triples.dtype == object:
            self.entities_ = np.unique(triples[:, [0, 2]])
            self.relations_ = np.unique(triples[:, 1])
        else:
            self.entities_ = np.arange(triples[:, [0, 2]].max() + 1)
            self.relations_ = np.arange(triples[:, 1].max() + 1)
        return self._encode(X, "X"), None if X_valid is None else self._encode(X_valid, "X_valid")

    def _check_id_kind(self, ids, name):
        fitted_on = "string" if self.entities_.dtype == object else "integer"
        given = "string" if ids.dtype == object else "integer"
        if given != fitted_on:
            raise TypeError(
                f"{name} has {given} ids, but the model was fitted on {fitted_on} ids."
            )

    def _encode_entities(self, ids):
        """Internal entity ids; -1 for entities not seen in fit."""
        return encode_ids(ids, self.entities_, handle_unknown="ignore", what="entity")

    def _encode_relations(self, ids, name):
        codes = encode_ids(ids, self.relations_, handle_unknown="ignore", what="relation")
        if (codes < 0).any():
            unknown = ids[codes < 0]
            raise ValueError(
                f"{name} has {unknown.size} relation(s) not seen in fit, for example "
                f"{unknown.tolist()[0]!r}; a relation needs training triples before it can "
                "be scored."
            )
        return codes

    def _encode(self, triples, name):
        """Encode validated triples: ValueError for unknown relations, -1 for unknown entities."""
        self._check_id_kind(triples, name)
        return np.column_stack(
            [
                self._encode_entities(triples[:, 0]),
                self._encode_relations(triples[:, 1], name),
                self._encode_entities(triples[:, 2]),
            ]
        )

    @property
    def _n_entities(self):
        return len(self.entities_)

    @property
    def _n_relations(self):
        return len(self.relations_)

    def _validated_triples(self, X, consequence):
        """Encode ``X`` and warn about triples with an entity unseen in fit."""
        check_is_fitted(self)
        triples = self._encode(check_triples(X), "X")
        unknown = (triples[:, [0, 2]] < 0).any(axis=1)
        if unknown.any():
            warnings.warn(
                f"{int(unknown.sum())} of {len(triples)} triples of X have an entity not seen "
                f"in fit; {consequence}.",
                UserWarning,
            )
        return triples, unknown

    # -- training -------------------------------------------------------------------------

    @contextlib.contextmanager
    def _seeded_fit(self):
        """Yield the device and the numpy generator of a fit; torch is seeded meanwhile."""
        device = resolve_device(self.device)
        with seeded_fit(self.random_state, device) as (rng, _):
            yield device, rng

    def _train(
        self, scorer, parameters, X, X_valid, known, *, learning_rate, decay_rate, rng, device
    ):
        """Train ``scorer`` on the encoded triples ``X``; ``known`` (encoded triples, X and
        X_valid among them) is the filter of every later evaluation.

        ``parameters`` are those of ``module_`` (all that is trained); with
        ``n_processes > 1`` the training runs in that many processes (see
        :meth:`_train_process`) and ``module_`` receives the result.
        """
        self._known_triples = known
        training = dict(X=X, X_valid=X_valid, known=known, learning_rate=learning_rate,
                        decay_rate=decay_rate, device=device)
        if self.n_processes == 1:
            history = self._one_to_n(scorer, parameters, training, rng)
        else:
            training["seed"] = int(rng.randint(np.iinfo(np.int32).max))
            history = train_in_processes(self, "module_", self.n_processes, training)
        self._record_training(history)

    def _train_process(self, rank, n_processes, training):
        """One process's training (see :func:`~recfactor.utils._torch.train_in_processes`)."""
        scorer = self._scorer().to(training["device"])
        return self._one_to_n(scorer, self.module_.parameters(), training,
                              np.random.RandomState(training["seed"]), rank=rank,
                              n_processes=n_processes)

    def _one_to_n(self, scorer, parameters, training, rng, *, rank=0, n_processes=1):
        from ._training import QueryAnswers, filtered_ranks_of_triples, train_one_to_n

        device = training["device"]
        validated = training["X_valid"] is not None
        if validated:
            answers = QueryAnswers(training["known"], self._n_entities, self._n_relations)

        def validate():
            if rank > 0:
                return broadcast_from_first(None)
            score = mrr(filtered_ranks_of_triples(
                scorer, training["X_valid"], answers, n_relations=self._n_relations,
                block=self._block_size(), device=device,
            ))
            return score if n_processes == 1 else broadcast_from_first(score)

        return train_one_to_n(
            scorer,
            parameters,
            QueryAnswers(training["X"], self._n_entities, self._n_relations),
            label_smoothing=self.label_smoothing,
            optimizer=self.optimizer,
            learning_rate=training["learning_rate"],
            decay_rate=training["decay_rate"],
            batch_size=self.batch_size,
            max_epochs=self.max_epochs,
            eval_every=self.eval_every,
            patience=self.patience,
            validate=validate if validated else None,
            rng=rng,
            device=device,
            verbose=self.verbose if rank == 0 else 0,
            description=type(self).__name__,
            rank=rank,
            n_processes=n_processes,
        )

    # -- inference ------------------------------------------------------------------------

    def _block_size(self):
        """Queries per inference block: their scores and their own floats within budget."""
        return rows_per_block(self._n_entities + self._floats_per_query())

    def _ready_scorer(self):
        """The scorer on the device asked for, and that device."""
        import_torch()
        device = resolve_device(self.device)
        return self._scorer().to(device), device

    def _query_logits(self, entities, relations):
        """Yield ``(start, logits)`` for blocks of queries against every entity."""
        from ._training import query_logits

        scorer, device = self._ready_scorer()
        yield from query_logits(
            scorer, entities, relations, block=self._block_size(), device=device
        )

    def predict(self, X):
        """Plausibility of each triple: the probability the model gives its tail.

        ``sigmoid(logit)`` of the tail ``t`` for the query ``(h, r, ?)``, the quantity the
        model is trained on.

        Parameters
        ----------
        X : array-like of shape (n_triples, 3)
            ``(head, relation, tail)`` rows, ids of the kind seen in fit.

        Returns
        -------
        probabilities : ndarray of shape (n_triples,)
            In [0, 1]. Triples with an entity not seen in fit get 0, with a warning.

        Raises
        ------
        ValueError
            For a relation not seen in fit.
        """
        torch = import_torch()
        triples, unknown = self._validated_triples(X, "their plausibility is 0")
        heads = np.where(unknown, 0, triples[:, 0])
        tails = np.where(unknown, 0, triples[:, 2])
        probabilities = np.empty(len(triples))
        for start, logits in self._query_logits(heads, triples[:, 1]):
            stop = start + logits.shape[0]
            answers = torch.as_tensor(tails[start:stop], device=logits.device)
            probabilities[start:stop] = (
                logits.gather(1, answers.unsqueeze(1)).squeeze(1).sigmoid().cpu().numpy()
            )
        probabilities[unknown] = 0.0
        return probabilities

    def _top_entities(self, entities, relations, k, name):
        """Top-k answers of queries, decoded; rows of unknown query entities are padded."""
        k = _check_k(k)
        if k > self._n_entities:
            raise ValueError(f"k={k} is larger than the number of entities, {self._n_entities}.")
        unknown = entities < 0
        if unknown.any():
            warnings.warn(
                f"{int(unknown.sum())} of {entities.size} {name} were not seen in fit; their "
                "rows are padded with -1 (integer ids) or None (string ids).",
                UserWarning,
            )
        top = np.empty((entities.size, k), dtype=np.int64)
        for start, logits in self._query_logits(np.where(unknown, 0, entities), relations):
            top[start:start + logits.shape[0]] = logits.topk(k, dim=1).indices.cpu().numpy()
        decoded = decode_ids(top, self.entities_)
        decoded[unknown] = -1 if decoded.dtype.kind in "iu" else None
        return decoded

    def predict_tails(self, heads, relations, k=10):
        """The ``k`` most plausible tails of each query ``(head, relation, ?)``, best first.

        Known triples are not left out: a training fact is usually among the top answers.

        Parameters
        ----------
        heads, relations : array-like of shape (n_queries,)
            Ids of the kind seen in fit.
        k : int, default=10
            At most the number of entities.

        Returns
        -------
        tails : ndarray of shape (n_queries, k)
            Entity ids as seen in fit (strings when fitted on strings). The row of a head
            not seen in fit is padded with -1 or None, with a warning.

        Raises
        ------
        ValueError
            For a relation not seen in fit, or queries of different lengths.
        """
        entities, relations = self._queries(heads, relations, "heads")
        return self._top_entities(entities, relations, k, "heads")

    def predict_heads(self, relations, tails, k=10):
        """The ``k`` most plausible heads of each query ``(?, relation, tail)``, best first.

        The model answers it as ``(tail, reciprocal of relation, ?)``. Known triples are not
        left out.

        Parameters
        ----------
        relations, tails : array-like of shape (n_queries,)
            Ids of the kind seen in fit.
        k : int, default=10
            At most the number of entities.

        Returns
        -------
        heads : ndarray of shape (n_queries, k)
            Entity ids as seen in fit; the row of a tail not seen in fit is padded with -1
            or None, with a warning.

        Raises
        ------
        ValueError
            For a relation not seen in fit, or queries of different lengths.
        """
        entities, relations = self._queries(tails, relations, "tails")
        return self._top_entities(entities, relations + self._n_relations, k, "tails")

    def onnx_inputs(self, entities, relations, *, answer="tails"):
        """The inputs of the graph :meth:`export_onnx` writes, for queries.

        Parameters
        ----------
        entities, relations : array-like of shape (n_queries,)
            Ids of the kind seen in fit: the heads of queries ``(head, relation, ?)`` with
            ``answer="tails"``, the tails of ``(?, relation, tail)`` with ``answer="heads"``.
        answer : {"tails", "heads"}, default="tails"

        Returns
        -------
        inputs : dict
            ``{"entities": ..., "relations": ...}``, int64 arrays of shape (n_queries,): the
            internal codes (a head query asks the reciprocal relation, code
            ``relation + n_relations``), ready for ``InferenceSession.run(None, inputs)``.

        Raises
        ------
        ValueError
            For an entity or relation not seen in fit.
        """
        if answer not in ("tails", "heads"):
            raise ValueError(f'answer must be "tails" or "heads", got {answer!r}.')
        name = "heads" if answer == "tails" else "tails"
        codes, relation_codes = self._queries(entities, relations, name)
        if (codes < 0).any():
            raise ValueError(f"{int((codes < 0).sum())} of the {name} were not seen in fit; "
                             "the graph has no embedding for them.")
        if answer == "heads":
            relation_codes = relation_codes + self._n_relations
        return {"entities": codes.astype(np.int64), "relations": relation_codes.astype(np.int64)}

    def export_onnx(self, path, *, verbose=0):
        """Write the model's scorer as an ONNX graph, for serving without torch.

        The graph takes ``entities`` and ``relations`` (see :meth:`onnx_inputs`; any number
        of queries) and returns ``scores`` of shape (n_queries, n_entities): the logit of
        every entity as the answer, column ``j`` for entity ``entities_[j]``
        (``sigmoid`` of it is :meth:`predict`'s plausibility). Needs ``pip install
        recfactor[onnx]``.

        Parameters
        ----------
        path : str or path-like
            The ``.onnx`` file written.
        verbose : int, default=0
            Show the exporter's progress.

        Returns
        -------
        path : str or path-like
            ``path``.
        """
        check_is_fitted(self)
        torch = import_torch()
        from ..utils._onnx import export_onnx_graph

        example = [torch.zeros(2, dtype=torch.int64), torch.zeros(2, dtype=torch.int64)]
        return export_onnx_graph(self._scorer(), example, path,
                                 input_names=["entities", "relations"],
                                 output_names=["scores"], verbose=verbose)

    def _queries(self, entities, relations, entity_name):
        check_is_fitted(self)
        entities = _check_ids(entities, entity_name)
        relations = _check_ids(relations, "relations")
        if entities.size != relations.size:
            raise ValueError(
                f"{entity_name} and relations must have the same length, got {entities.size} "
                f"and {relations.size}."
            )
        self._check_id_kind(entities, entity_name)
        self._check_id_kind(relations, "relations")
        return self._encode_entities(entities), self._encode_relations(relations, "relations")

    def transform(self, X):
        """Embed each triple as its head's embedding followed by its tail's.

        Parameters
        ----------
        X : array-like of shape (n_triples, 3)

        Returns
        -------
        embeddings : ndarray of shape (n_triples, 2 * embedding_dim) of float32
            ``[head embedding, tail embedding]``; the embedding of an entity not seen in fit
            is zeros, with a warning. The relation is not part of it.
        """
        triples, _ = self._validated_triples(X, "their embeddings are zeros")
        embeddings = self._entity_embeddings()
        # One row of zeros at the end, which the -1 of unknown entities picks.
        embeddings = np.vstack([embeddings, np.zeros((1, embeddings.shape[1]), embeddings.dtype)])
        return np.hstack([embeddings[triples[:, 0]], embeddings[triples[:, 2]]])

    def score(self, X, y=None):
        """Filtered mean reciprocal rank of the triples ``X``, heads and tails.

        Each triple ``(h, r, t)`` asks two queries, ``(h, r, ?)`` with answer ``t`` and
        ``(?, r, t)`` with answer ``h``, each answered by ranking every entity. Other known
        answers of a query (from the training and validation triples and from ``X``) are
        left out of its candidates; ties count as the mean of the optimistic and
        pessimistic ranks (the realistic rank of :func:`recfactor.metrics.filtered_ranks`).
        The score is the mean of ``1 / rank`` over the ``2 * n_triples`` queries. A query
        about an entity not seen in fit, or whose answer is such an entity, ranks its answer
        after every candidate (with a warning).

        Parameters
        ----------
        X : array-like of shape (n_triples, 3)
            Triples to rank, usually held out.
        y : None
            Ignored.

        Returns
        -------
        mrr : float
            In (0, 1], higher is better.
        """
        from ._training import QueryAnswers, filtered_ranks_of_triples

        triples, unknown = self._validated_triples(X, "they are ranked last")
        known = QueryAnswers(
            np.concatenate([self._known_triples, triples[~unknown]]),
            self._n_entities,
            self._n_relations,
        )
        scorer, device = self._ready_scorer()
        ranks = filtered_ranks_of_triples(
            scorer, triples, known, n_relations=self._n_relations, block=self._block_size(),
            device=device,
        )
        return mrr(ranks)
