"""Accuracy as a function of how much a model knows about an item or a user."""

import numbers

import numpy as np
import pandas as pd
import scipy.sparse as sp

from ..utils import check_interactions, check_sequences
from ._scorer import METRICS, _fold_in_task, _next_item_task, make_ranking_scorer

__all__ = ["cold_start_curve"]


def cold_start_curve(estimator, X_train, X_test, *, by="item", metric="ndcg", k=10, bins=8,
                     protocol="fold-in", holdout=0.2, random_state=0):
    """Measure how a fitted model's accuracy grows with what it knows about items or users.

    The test users are turned into a ranking task as by :func:`make_ranking_scorer`, then
    the results are grouped: by the number of training interactions of each target item
    (``by="item"``), or by the length of each user's history at inference (``by="user"``).
    Where the curve flattens is the cold-start threshold of the data: below it, the model
    needs help (side features, popularity); above it, more data changes little.

    Parameters
    ----------
    estimator : fitted estimator or Pipeline
        A model with ``recommend``, fitted on ``X_train``.
    X_train : sparse matrix of shape (n_users, n_items), or list of sequences
        The training data, used only to count the training interactions of each item.
    X_test : sparse matrix of shape (n_users, n_items), or list of sequences
        Test users, as for ``make_ranking_scorer(protocol=protocol)``.
    by : {"item", "user"}, default="item"
        ``"item"``: the share of targets found in the top ``k`` (recall over targets), per
        group of targets whose item had as many training interactions (users who interacted
        with it, or occurrences in the training sequences).
        ``"user"``: the mean of ``metric`` per group of users with as long a history at
        inference (the visible part of their row, or the history before the target).
    metric : {"ndcg", "hit_rate", "recall", "precision", "map", "mrr"}, default="ndcg"
        Metric of ``by="user"``.
    k : int, default=10
        Length of the recommended lists.
    bins : int or array-like of int, default=8
        Either a number of logarithmically spaced groups of counts from 1 to the largest
        (counts of 0, cold items, form a group of their own), or increasing group edges:
        a group holds the counts ``low <= count < high``.
    protocol : {"fold-in", "next-item"}, default="fold-in"
        ``"fold-in"`` when samples are users (``X`` user x item), ``"next-item"`` when they
        are histories.
    holdout, random_state
        The fold-in split, as in :func:`make_ranking_scorer`.

    Returns
    -------
    curve : pandas.DataFrame
        One row per non-empty group, with the columns ``low`` and ``high`` (the counts
        ``low <= count < high``), ``n_targets`` (``by="item"``) or ``n_users``
        (``by="user"``), and the metric, named ``"recall@k"`` or ``"{metric}@k"``.

    Examples
    --------
    >>> from recfactor.datasets import make_interactions
    >>> from recfactor.decomposition import PureSVD
    >>> from recfactor.metrics import cold_start_curve
    >>> X = make_interactions(n_users=300, n_items=80, random_state=0)
    >>> model = PureSVD(rank=5, random_state=0).fit(X[:200])
    >>> curve = cold_start_curve(model, X[:200], X[200:], bins=[0, 5, 10, 20, 80])
    >>> curve.columns.tolist()
    ['low', 'high', 'n_targets', 'recall@10']
    >>> curve[["low", "high"]].to_numpy().tolist()
    [[0, 5], [5, 10], [10, 20], [20, 80]]
    """
    if by not in ("item", "user"):
        raise ValueError(f"by must be 'item' or 'user', got {by!r}.")
    if protocol not in ("fold-in", "next-item"):
        raise ValueError(
            f"protocol must be 'fold-in' or 'next-item', got {protocol!r}: with cold items "
            "every item has no training interaction."
        )
    task = make_ranking_scorer(metric, k, protocol=protocol, holdout=holdout,
                               random_state=random_state)
    if protocol == "fold-in":
        item_counts = np.diff(check_interactions(X_train, name="X_train").tocsc().indptr)
        relevant, recommended, history_lengths = _fold_in_task(estimator, X_test, None, task)
    else:
        train = check_sequences(X_train, name="X_train")
        relevant, recommended, history_lengths = _next_item_task(estimator, X_test, None, task)
        item_counts = np.bincount(np.concatenate(train), minlength=relevant.shape[1])
    if by == "user":
        values = METRICS[metric](relevant, recommended, task.k, average=False)
        return _grouped(history_lengths, values, bins, "n_users", f"{metric}@{task.k}")
    users, items = relevant.nonzero()
    counts = np.zeros(relevant.shape[1], dtype=np.int64)
    known = min(counts.size, item_counts.size)
    counts[:known] = item_counts[:known]
    return _grouped(counts[items], _found(users, items, recommended), bins, "n_targets",
                    f"recall@{task.k}")


def _found(users, items, recommended):
    """Whether each target ``(users[j], items[j])`` is among its user's recommendations."""
    rows, ranks = np.nonzero(recommended >= 0)
    listed = sp.csr_matrix(
        (np.ones(rows.size, dtype=bool), (rows, recommended[rows, ranks])),
        shape=(recommended.shape[0], max(items.max(), recommended.max()) + 1),
    )
    return np.asarray(listed[users, items]).ravel()


def _grouped(counts, values, bins, size_name, value_name):
    edges = _edges(bins, counts.max())
    group = np.searchsorted(edges, counts, side="right") - 1
    inside = (group >= 0) & (group < edges.size - 1)
    frame = pd.DataFrame({"group": group[inside], "value": np.asarray(values, float)[inside]})
    summary = frame.groupby("group").value.agg(["size", "mean"])
    return pd.DataFrame(
        {
            "low": edges[summary.index],
            "high": edges[summary.index + 1],
            size_name: summary["size"].to_numpy(),
            value_name: summary["mean"].to_numpy(),
        }
    )


def _edges(bins, largest):
    if isinstance(bins, numbers.Integral) and not isinstance(bins, bool):
        if bins < 1:
            raise ValueError(f"bins must be a positive integer or edges, got {bins!r}.")
        spaced = np.geomspace(1, largest + 1, bins + 1).round().astype(np.int64)
        spaced[-1] = largest + 1
        return np.unique(np.concatenate([[0], spaced]))
    edges = np.asarray(bins)
    if (edges.ndim != 1 or edges.size < 2 or not np.issubdtype(edges.dtype, np.integer)
            or np.any(np.diff(edges) <= 0)):
        raise ValueError(f"bins must be a positive integer or increasing integer edges, got "
                         f"{bins!r}.")
    return edges.astype(np.int64)
