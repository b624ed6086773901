"""Scorers for ``GridSearchCV(scoring=...)``: one evaluation protocol per data family."""

import numpy as np
import scipy.sparse as sp
from sklearn.pipeline import Pipeline

from ..model_selection._fold_in import fold_in_split
from ..pipeline import RecommenderPipeline
from ..utils import check_interactions, check_sequences
from ..utils._validation import _check_item_targets, _check_k
from ._ranking import (
    hit_rate_at_k,
    map_at_k,
    mrr_at_k,
    ndcg_at_k,
    precision_at_k,
    recall_at_k,
)
from ._top_k import top_k

__all__ = ["make_ranking_scorer"]

METRICS = {
    "ndcg": ndcg_at_k,
    "hit_rate": hit_rate_at_k,
    "recall": recall_at_k,
    "precision": precision_at_k,
    "map": map_at_k,
    "mrr": mrr_at_k,
}


def make_ranking_scorer(metric="ndcg", k=10, *, protocol="fold-in", holdout=0.2,
                        random_state=0):
    """Make a scorer that ranks items and judges the list, for ``GridSearchCV``.

    Parameters
    ----------
    metric : {"ndcg", "hit_rate", "recall", "precision", "map", "mrr"}, default="ndcg"
        Ranking metric at ``k`` from ``recfactor.metrics``. Relevance is binary.
    k : int, default=10
        Length of the recommended lists.
    protocol : {"fold-in", "cold-start", "next-item"}, default="fold-in"
        How a test fold becomes a ranking task, one per data family:

        - ``"fold-in"`` (samples are users, ``X`` user x item): each test user's row is
          split by :func:`recfactor.model_selection.fold_in_split` (``holdout``,
          ``random_state``); the model's ``recommend`` sees the visible part and is judged
          against the hidden part. Users with nothing hidden are left out. When ``y`` (of
          the shape of ``X``) is given, ``X`` is the visible part and ``y`` the hidden one:
          targets split by time (``fold_in_split(..., timestamps=...)``, or a
          :func:`~recfactor.model_selection.global_temporal_split`), stacked under the
          training rows for :class:`~sklearn.model_selection.PredefinedSplit`.
        - ``"cold-start"`` (samples are items, ``X`` item features, ``y`` item x user): the
          test items are cold; ``predict(X)`` scores every user for each of them (shape
          (n_items, n_users)), and each user's top-k among the test items is judged against
          ``y``. Users with no test interaction are left out. Items a model scores alike
          are ordered at random from ``random_state``, never by their place in ``X``.
        - ``"next-item"`` (samples are histories): the last item of each test history is
          hidden; ``recommend`` sees the rest. Histories of one item are left out.

    holdout : float in (0, 1), default=0.2
        Share of each row hidden by ``"fold-in"``.
    random_state : int, default=0
        Seed of ``"fold-in"``: the same seed gives every model the same task; and of the
        order of tied scores under ``"cold-start"``. Every protocol breaks ties at random
        (:func:`~recfactor.metrics.top_k`), so the order of the item ids, which tracks age
        and popularity on real data, never reaches the metric.

    Returns
    -------
    scorer : callable
        ``scorer(estimator, X, y=None)`` returns the metric, higher is better. With a
        :class:`~sklearn.pipeline.Pipeline`, ``recommend`` is called on its last step with
        the output of the steps before it; the hidden targets come from the untransformed
        ``X``.

    Examples
    --------
    >>> from sklearn.model_selection import GridSearchCV, KFold
    >>> from recfactor.datasets import make_interactions
    >>> from recfactor.decomposition import PureSVD
    >>> from recfactor.metrics import make_ranking_scorer
    >>> X = make_interactions(n_users=150, n_items=60, random_state=0)
    >>> search = GridSearchCV(PureSVD(random_state=0), {"rank": [2, 5]}, cv=KFold(3),
    ...                       scoring=make_ranking_scorer("recall", k=20)).fit(X)
    >>> search.best_params_
    {'rank': 5}
    """
    if metric not in METRICS:
        raise ValueError(f"Unknown metric {metric!r}; choose one of {sorted(METRICS)}.")
    if protocol not in _TASKS:
        raise ValueError(f"Unknown protocol {protocol!r}; choose one of {list(_TASKS)}.")
    return _RankingScorer(metric, _check_k(k), protocol, holdout, random_state)


class _RankingScorer:
    def __init__(self, metric, k, protocol, holdout, random_state):
        self.metric = metric
        self.k = k
        self.protocol = protocol
        self.holdout = holdout
        self.random_state = random_state

    def __repr__(self):
        return (
            f"make_ranking_scorer({self.metric!r}, k={self.k}, protocol={self.protocol!r}, "
            f"holdout={self.holdout}, random_state={self.random_state})"
        )

    def __call__(self, estimator, X, y=None):
        relevant, recommended, _ = _TASKS[self.protocol](estimator, X, y, self)
        return METRICS[self.metric](relevant, recommended, self.k)


def _fold_in_task(estimator, X, y, protocol):
    """Ranking task of users: ``(relevant, recommended, history_lengths)``."""
    if y is None:
        visible, hidden = fold_in_split(X, holdout=protocol.holdout,
                                        random_state=protocol.random_state)
    else:
        visible = check_interactions(X)
        hidden = check_interactions(y, allow_empty=True, name="y")
        if visible.shape != hidden.shape:
            raise ValueError(f"fold-in scoring with targets needs y of the shape of X, "
                             f"{visible.shape}; got {hidden.shape}.")
    users = np.flatnonzero(np.diff(hidden.indptr))
    if users.size == 0:
        raise ValueError(
            "fold-in scoring needs users with at least two interactions, so that one can "
            "be hidden." if y is None else "fold-in scoring found no user with a target in y."
        )
    visible = visible[users]
    recommended = _recommend(estimator, visible, protocol.k)
    return _binary(hidden[users]), recommended, np.diff(visible.indptr)


def _cold_start_task(estimator, X, y, protocol):
    if y is None:
        raise ValueError("cold-start scoring needs y, the item x user interactions.")
    scores = np.asarray(estimator.predict(X))
    relevant = _binary(_check_item_targets(y, scores.shape[0])).T.tocsr()
    if scores.ndim == 1:
        scores = scores[:, None]
    if scores.shape != relevant.shape[::-1]:
        raise ValueError(
            f"predict returned scores of shape {scores.shape}; cold-start scoring expects "
            f"(n_items, n_users) = {relevant.shape[::-1]}."
        )
    users = np.flatnonzero(np.diff(relevant.indptr))
    recommended = top_k(np.ascontiguousarray(scores.T[users]), protocol.k,
                        random_state=protocol.random_state)
    return relevant[users], recommended, None


def _next_item_task(estimator, X, y, protocol):
    histories = [s for s in check_sequences(X) if s.size > 1]
    if not histories:
        raise ValueError("next-item scoring needs histories of at least two items.")
    inputs = [s[:-1] for s in histories]
    recommended = _recommend(estimator, inputs, protocol.k)
    targets = np.array([s[-1] for s in histories])
    n_items = max(targets.max(), recommended.max()) + 1
    relevant = sp.csr_matrix(
        (np.ones(len(histories)), (np.arange(len(histories)), targets)),
        shape=(len(histories), n_items),
    )
    return relevant, recommended, np.array([s.size for s in inputs])


_TASKS = {"fold-in": _fold_in_task, "cold-start": _cold_start_task,
          "next-item": _next_item_task}


def _recommend(estimator, X, k):
    """``recommend``, also through the steps of a scikit-learn Pipeline, which lacks it."""
    if isinstance(estimator, Pipeline) and not isinstance(estimator, RecommenderPipeline):
        estimator = RecommenderPipeline(estimator.steps)
    return estimator.recommend(X, k=k)


def _binary(X):
    X = X.copy()
    X.data = np.ones_like(X.data)
    return X
