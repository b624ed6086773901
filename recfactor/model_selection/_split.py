"""Train / validation / test splits of histories and logs.

Cross-validation over users (collaborative filtering) or over items (cold start) needs no
class of its own: samples are users or items, so :class:`sklearn.model_selection.KFold`
over the rows *is* user K-fold or cold-item K-fold, and the scorers of
:func:`recfactor.metrics.make_ranking_scorer` turn each test fold into a ranking task.
"""

import numbers

import numpy as np
import pandas as pd
from sklearn.utils import check_random_state

from ..utils import check_sequences

__all__ = ["global_temporal_split", "leave_last_out"]


def leave_last_out(sequences, *, user_col="user_id", time_col="timestamp"):
    """Split histories the SASRec / BERT4Rec way: the last item tests, the one before validates.

    Parameters
    ----------
    sequences : list of array-like, or pandas.DataFrame
        User histories, oldest first; or a log with one row per interaction, whose rows are
        ordered in each user's history by ``time_col`` (ties keep the log's order).
    user_col, time_col : str
        Column names, used when ``sequences`` is a log.

    Returns
    -------
    train : list of ndarray, or pandas.DataFrame
        Every history without its last two items; a history of fewer than three items is
        kept whole for training and not evaluated.
    validation : list of ndarray, or pandas.DataFrame
        For histories: the evaluated histories without their last item, scored with
        ``make_ranking_scorer(protocol="next-item")``, which hides the second-to-last item.
        For a log: the second-to-last interaction of each evaluated user.
    test : list of ndarray, or pandas.DataFrame
        For histories: the evaluated histories in full (the scorer hides the last item).
        For a log: the last interaction of each evaluated user, so that the three parts are
        a partition of the log that :func:`audit_split` can check.

    Examples
    --------
    >>> from recfactor.model_selection import leave_last_out
    >>> train, validation, test = leave_last_out([[5, 3, 8, 1], [2, 7]])
    >>> train
    [array([5, 3]), array([2, 7])]
    >>> validation, test
    ([array([5, 3, 8])], [array([5, 3, 8, 1])])
    """
    if isinstance(sequences, pd.DataFrame):
        return _leave_last_out_log(sequences, user_col, time_col)
    sequences = check_sequences(sequences, name="sequences")
    evaluated = [s for s in sequences if s.size >= 3]
    train = [s[:-2] if s.size >= 3 else s for s in sequences]
    return train, [s[:-1] for s in evaluated], evaluated


def _leave_last_out_log(log, user_col, time_col):
    for name in (user_col, time_col):
        if name not in log.columns:
            raise ValueError(f"log must have a column {name!r}; its columns are "
                             f"{list(log.columns)}.")
    ordered = log.sort_values(time_col, kind="stable")
    by_user = ordered.groupby(user_col, sort=False)
    from_end = by_user.cumcount(ascending=False)
    evaluated = by_user[user_col].transform("size").ge(3)
    test = evaluated & from_end.eq(0)
    validation = evaluated & from_end.eq(1)
    return ordered[~(test | validation)], ordered[validation], ordered[test]


def global_temporal_split(
    log,
    *,
    quantile=0.9,
    timestamp=None,
    target="all",
    validation=None,
    validation_quantile=0.9,
    validation_size=0.1,
    remove_cold_users=True,
    remove_cold_items=True,
    user_col="user_id",
    item_col="item_id",
    time_col="timestamp",
    random_state=None,
):
    """Split a log at one moment in time, as a deployed recommender would meet its data.

    Everything before the split time trains; the test targets are interactions after it of
    users who have a training history. The options follow SplitLight (which target, which
    validation, what to do with cold users and items), because each changes the numbers a
    paper reports.

    Parameters
    ----------
    log : pandas.DataFrame
        One row per interaction, with user, item and time columns.
    quantile : float in (0, 1), default=0.9
        Split at this quantile of the interaction times (ignored when ``timestamp`` is given).
    timestamp : scalar, default=None
        Split time: interactions at or after it are in the future.
    target : {"all", "first", "last", "random"}, default="all"
        Which of a test user's future interactions are targets: all, the first, the last, or
        one drawn at random (``random_state``).
    validation : {None, "by_time", "by_user", "last_train_item"}, default=None
        How to carve a validation set out of the training part: ``"by_time"`` moves every
        training interaction at or after the training part's ``validation_quantile`` to
        validation. The whole window moves, because it is also the test stage's most recent
        history: selecting targets inside it would drop what the test users did there.
        To tune with the ``target`` and cold rules, split ``pd.concat([train, validation])``
        again with this function at ``validation[time_col].min()``.
        ``"by_user"`` moves the last training interaction of a random ``validation_size``
        share of users to validation; ``"last_train_item"`` does it for every test user.
    validation_quantile : float in (0, 1), default=0.9
        Used by ``validation="by_time"``.
    validation_size : float in (0, 1), default=0.1
        Used by ``validation="by_user"``.
    remove_cold_users : bool, default=True
        Drop targets of users with no training interaction (no history to recommend from).
    remove_cold_items : bool, default=True
        Drop targets whose item never occurs in training (no model can score it).
    user_col, item_col, time_col : str
        Column names.
    random_state : int, RandomState instance or None, default=None
        Seed for ``target="random"`` and ``validation="by_user"``.

    Returns
    -------
    train, test : pandas.DataFrame
        Rows of ``log`` (index kept); with ``validation`` given, ``train, validation, test``.
        A test user's input is their history in ``train`` (and ``validation``).

    Examples
    --------
    >>> import pandas as pd
    >>> from recfactor.model_selection import global_temporal_split
    >>> log = pd.DataFrame({"user_id": [0, 0, 1, 1, 0, 1, 1], "item_id": [1, 2, 1, 3, 3, 9, 2],
    ...                     "timestamp": [1, 2, 3, 4, 5, 6, 7]})
    >>> train, test = global_temporal_split(log, timestamp=5)
    >>> train.index.tolist(), test.index.tolist()  # item 9 is cold: never seen in training
    ([0, 1, 2, 3], [4, 6])
    """
    for name in (user_col, item_col, time_col):
        if name not in getattr(log, "columns", ()):
            raise ValueError(f"log must be a DataFrame with a column {name!r}.")
    _check_share(quantile, "quantile")
    _check_share(validation_quantile, "validation_quantile")
    _check_share(validation_size, "validation_size")
    if target not in ("all", "first", "last", "random"):
        raise ValueError(f"target must be 'all', 'first', 'last' or 'random', got {target!r}.")
    if validation not in (None, "by_time", "by_user", "last_train_item"):
        raise ValueError(
            "validation must be None, 'by_time', 'by_user' or 'last_train_item', got "
            f"{validation!r}."
        )
    rng = check_random_state(random_state)
    columns = (user_col, item_col, time_col)
    log = log.sort_values(time_col, kind="stable")
    split_time = log[time_col].quantile(quantile, interpolation="lower") if timestamp is None \
        else timestamp
    train, test = _split_at(
        log, split_time, target, remove_cold_users, remove_cold_items, columns, rng
    )
    if validation is None:
        return train, test
    if validation == "by_time":
        split_time = train[time_col].quantile(validation_quantile, interpolation="lower")
        recent = train[time_col] >= split_time
        if recent.all():
            raise ValueError(
                f"validation_quantile={validation_quantile} leaves an empty training part."
            )
        return train[~recent], train[recent], test
    users = train[user_col].unique()
    if validation == "last_train_item":
        chosen = np.intersect1d(users, test[user_col].unique())
    else:
        chosen = rng.choice(users, size=max(1, round(validation_size * users.size)),
                            replace=False)
    in_chosen = train[user_col].isin(chosen)
    last = train[in_chosen].groupby(user_col, sort=False).tail(1).index
    return train.drop(index=last), train.loc[last], test


def _check_share(value, name):
    if not isinstance(value, numbers.Real) or not 0 < value < 1:
        raise ValueError(f"{name} must be strictly between 0 and 1, got {value!r}.")


def _split_at(log, split_time, target, remove_cold_users, remove_cold_items, columns, rng):
    user_col, item_col, time_col = columns
    past = log[time_col] < split_time
    train, future = log[past], log[~past]
    if train.empty or future.empty:
        raise ValueError(
            f"splitting at time {split_time!r} leaves an empty "
            f"{'training' if train.empty else 'test'} part."
        )
    if remove_cold_users:
        future = future[future[user_col].isin(train[user_col])]
    if remove_cold_items:
        future = future[future[item_col].isin(train[item_col])]
    by_user = future.groupby(user_col, sort=False)
    if target == "first":
        future = by_user.head(1)
    elif target == "last":
        future = by_user.tail(1)
    elif target == "random":
        keys = pd.Series(rng.random_sample(len(future)), index=future.index)
        future = future.loc[keys.groupby(future[user_col]).idxmin().to_numpy()]
    if future.empty:
        raise ValueError("no test interaction is left after removing cold users and items.")
    return train, future.sort_values(time_col, kind="stable")
