"""Describe an interaction log and audit a train / test split for the choices that move results.

Offline results are reordered by hidden choices of the split: test interactions that happen
before training ones ("the future leaks"), many cold users or items, targets whose time gaps
or positions differ from training. These functions measure each of them so that a split is
reported, not assumed.
"""

import numpy as np
import pandas as pd
from scipy.stats import ks_2samp

__all__ = ["SplitReport", "audit_split", "compare_splits", "describe_interactions"]

# Thresholds of each check's status: value <= warning is "ok", <= problem is "warning",
# above is "problem". Shares are fractions of the test interactions (or test users).
THRESHOLDS = {
    "temporal_leakage": (0.0, 0.01),
    "train_after_test_start": (0.0, 0.01),
    "shared_interactions": (0.0, 0.0),
    "cold_users": (0.05, 0.5),
    "cold_items": (0.05, 0.2),
    "negative_gap": (0.0, 0.01),
    "time_gap_shift": (0.1, 0.3),
    "position_shift": (0.1, 0.3),
}
_EXPLANATIONS = {
    "temporal_leakage": "share of test interactions earlier than the last training "
    "interaction of the same item (the model saw the item's future)",
    "train_after_test_start": "share of training (and validation) interactions later than "
    "the first test interaction",
    "shared_interactions": "share of test interactions also in training (same user, item, "
    "time)",
    "cold_users": "share of test interactions by users absent from training",
    "cold_items": "share of test interactions with items absent from training",
    "negative_gap": "share of test users whose first target precedes their last input",
    "time_gap_shift": "Kolmogorov-Smirnov statistic between the time gaps (since the "
    "user's previous interaction) of validation and test targets",
    "position_shift": "Kolmogorov-Smirnov statistic between the relative positions in the "
    "user's history of validation and test targets",
}


def _columns(log, user_col, item_col, time_col, name):
    if not isinstance(log, pd.DataFrame):
        raise TypeError(f"{name} must be a pandas DataFrame, got {type(log).__name__}.")
    for column in (user_col, item_col, time_col):
        if column not in log.columns:
            raise ValueError(f"{name} has no column {column!r}; its columns are "
                             f"{list(log.columns)}.")
    if log.empty:
        raise ValueError(f"{name} is empty.")
    return log[[user_col, item_col, time_col]].set_axis(["user", "item", "time"], axis=1)


def describe_interactions(log, *, user_col="user_id", item_col="item_id",
                          time_col="timestamp"):
    """Summary statistics of an interaction log.

    Parameters
    ----------
    log : pandas.DataFrame
        One row per interaction.
    user_col, item_col, time_col : str
        Column names.

    Returns
    -------
    stats : pandas.Series
        ``n_users``, ``n_items``, ``n_interactions``, ``density``; history length (mean,
        median, min, max); ``time_span`` and the mean user and item lifetimes (last minus
        first interaction); ``median_time_between`` (a user's consecutive interactions);
        repeat consumption: ``consecutive_repeat_share`` (the same item twice in a row),
        ``repeat_share`` (interactions with an item the user had before) and
        ``users_with_repeats_share``; ``timestamp_collision_share`` (interactions sharing
        their user and time with another, so that their order is arbitrary).

    Examples
    --------
    >>> import pandas as pd
    >>> from recfactor.model_selection import describe_interactions
    >>> log = pd.DataFrame({"user_id": [1, 1, 1, 2], "item_id": [5, 5, 6, 5],
    ...                     "timestamp": [10, 20, 20, 15]})
    >>> stats = describe_interactions(log)
    >>> stats[["n_users", "n_items", "repeat_share", "timestamp_collision_share"]].tolist()
    [2.0, 2.0, 0.25, 0.5]
    """
    frame = _columns(log, user_col, item_col, time_col, "log")
    frame = frame.sort_values(["user", "time"], kind="stable")
    lengths = frame.groupby("user").size()
    by_user = frame.groupby("user")
    same_user = frame.user.eq(frame.user.shift())
    gaps = frame.time.diff()[same_user]
    repeats = frame.duplicated(["user", "item"])
    consecutive = same_user & frame.item.eq(frame.item.shift())
    collisions = frame.duplicated(["user", "time"], keep=False)
    n_users, n_items = frame.user.nunique(), frame.item.nunique()
    return pd.Series(
        {
            "n_users": n_users,
            "n_items": n_items,
            "n_interactions": len(frame),
            "density": len(frame.drop_duplicates(["user", "item"])) / (n_users * n_items),
            "history_length_mean": lengths.mean(),
            "history_length_median": lengths.median(),
            "history_length_min": lengths.min(),
            "history_length_max": lengths.max(),
            "time_span": frame.time.max() - frame.time.min(),
            "user_lifetime_mean": (by_user.time.max() - by_user.time.min()).mean(),
            "item_lifetime_mean": frame.groupby("item").time.agg(np.ptp).mean(),
            "median_time_between": gaps.median() if len(gaps) else np.nan,
            "consecutive_repeat_share": consecutive.mean(),
            "repeat_share": repeats.mean(),
            "users_with_repeats_share": frame.user[repeats].nunique() / n_users,
            "timestamp_collision_share": collisions.mean(),
        },
        dtype=float,
    )


class SplitReport:
    """The checks of :func:`~recfactor.model_selection.audit_split`, with values and status.

    One row per check.

    Attributes
    ----------
    checks : pandas.DataFrame
        Indexed by check name, with columns ``value``, ``status`` ("ok", "warning",
        "problem"), ``warning_above``, ``problem_above`` and ``meaning``.
    counts : pandas.Series
        Sizes: users, items and interactions of each part, cold users and items.
    distributions : dict
        The samples behind the distribution-shift checks, for :meth:`plot`.
    """

    def __init__(self, checks, counts, distributions):
        self.checks = checks
        self.counts = counts
        self.distributions = distributions

    def to_frame(self):
        """The checks as a DataFrame (a copy)."""
        return self.checks.copy()

    def to_markdown(self):
        """The checks as a Markdown table, for a paper's appendix or a pull request."""
        lines = ["| check | value | status | meaning |", "|---|---|---|---|"]
        for name, row in self.checks.iterrows():
            lines.append(f"| {name} | {row.value:.4g} | {row.status} | {row.meaning} |")
        return "\n".join(lines)

    @property
    def ok(self):
        """Whether every check's status is "ok"."""
        return bool((self.checks.status == "ok").all())

    def plot(self, axes=None):
        """Compare the validation and test targets' time gaps and positions.

        Needs matplotlib and a report made with a validation part. Returns the two axes.
        """
        if not self.distributions:
            raise ValueError("plot needs a report made with validation data.")
        import matplotlib.pyplot as plt

        if axes is None:
            _, axes = plt.subplots(1, 2, figsize=(10, 3.5))
        for ax, (name, (validation, test)) in zip(axes, self.distributions.items()):
            if name == "time_gap_shift":
                # gaps span seconds to years: compare them on a log scale
                validation, test = np.log10(1 + validation), np.log10(1 + test)
                ax.set_xlabel("log10(1 + time since the previous interaction)")
            else:
                ax.set_xlabel("position in the user's history (share of its length)")
            bins = np.histogram_bin_edges(np.concatenate([validation, test]), bins=30)
            ax.hist(validation, bins=bins, density=True, alpha=0.5, label="validation")
            ax.hist(test, bins=bins, density=True, alpha=0.5, label="test")
            check = self.checks.loc[name]
            ax.set_title(f"{name}: KS {check.value:.3f} ({check.status})")
            ax.legend()
        return axes

    def __repr__(self):
        return f"SplitReport(\n{self.checks[['value', 'status']].to_string()}\n)"


def _status(name, value):
    warning, problem = THRESHOLDS[name]
    if np.isnan(value):
        return "n/a"
    if value <= warning:
        return "ok"
    return "warning" if value <= problem else "problem"


def _history_statistics(frame):
    """Per row: time since the user's previous interaction (NaN for the first) and position
    in the user's history as a share of its length."""
    ordered = frame.sort_values(["user", "time"], kind="stable")
    gap = ordered.time.diff().where(ordered.user.eq(ordered.user.shift()))
    by_user = ordered.groupby("user")
    position = by_user.cumcount() / by_user.user.transform("size")
    return gap.reindex(frame.index).to_numpy(float), position.reindex(frame.index).to_numpy()


def audit_split(train, test, validation=None, *, user_col="user_id", item_col="item_id",
                time_col="timestamp"):
    """Audit a train / test split for leakage, cold start and distribution shift.

    Parameters
    ----------
    train, test : pandas.DataFrame
        The parts of the split, one row per interaction.
    validation : pandas.DataFrame, default=None
        When given, it counts as data the model has seen (the test must not precede it),
        and the distribution-shift checks ask whether its targets resemble the test
        targets, i.e. whether tuning on it is tuning for the test.
    user_col, item_col, time_col : str
        Column names.

    Returns
    -------
    report : SplitReport
        Each check of ``THRESHOLDS`` with its value and status ("ok" up to the first
        threshold, "warning" up to the second, "problem" above, "n/a" when it does not
        apply): temporal leakage, seen interactions after the test starts, shared
        interactions, cold users and items, the gap between each test user's last input and
        first target, and the shift between validation and test targets of time gaps and
        positions in the user's history (two-sample Kolmogorov-Smirnov statistics; "n/a"
        without ``validation``). Training targets are not compared with test targets: in any
        temporal split the test sits late in each history by design.

    Examples
    --------
    >>> import pandas as pd
    >>> from recfactor.model_selection import audit_split
    >>> log = pd.DataFrame({"user_id": [0, 0, 1, 1, 0, 1], "item_id": [1, 2, 1, 2, 2, 1],
    ...                     "timestamp": [1, 2, 3, 4, 5, 6]})
    >>> report = audit_split(log.iloc[:4], log.iloc[4:])
    >>> report.checks.loc["temporal_leakage", "status"]
    'ok'
    """
    train = _columns(train, user_col, item_col, time_col, "train")
    test = _columns(test, user_col, item_col, time_col, "test")
    parts = {"train": train, "test": test}
    if validation is not None:
        parts["validation"] = _columns(validation, user_col, item_col, time_col, "validation")
    seen = pd.concat([parts["train"], parts.get("validation")])
    last_item_time = seen.groupby("item").time.max()
    leak = test.time.to_numpy() < test.item.map(last_item_time).to_numpy(dtype=float)
    shared = test.merge(seen.drop_duplicates(), on=["user", "item", "time"]).shape[0]
    cold_users = ~test.user.isin(seen.user)
    cold_items = ~test.item.isin(seen.item)
    warm = test[~cold_users]
    input_target_gap = warm.groupby("user").time.min() - seen.groupby("user").time.max().reindex(
        warm.user.unique()
    )
    values = {
        "temporal_leakage": leak.mean(),
        "train_after_test_start": (seen.time > test.time.min()).mean(),
        "shared_interactions": shared / len(test),
        "cold_users": cold_users.mean(),
        "cold_items": cold_items.mean(),
        "negative_gap": (input_target_gap < 0).mean() if len(warm) else np.nan,
    }
    distributions = {}
    if validation is not None:
        whole = pd.concat([frame.assign(part=name) for name, frame in parts.items()],
                          ignore_index=True)
        gap, position = _history_statistics(whole)
        for name, sample in (("time_gap_shift", gap), ("position_shift", position)):
            in_validation = (whole.part == "validation").to_numpy() & ~np.isnan(sample)
            in_test = (whole.part == "test").to_numpy() & ~np.isnan(sample)
            distributions[name] = (sample[in_validation], sample[in_test])
    for name in ("time_gap_shift", "position_shift"):
        pair = distributions.get(name)
        values[name] = (
            ks_2samp(*pair).statistic if pair is not None and min(map(len, pair)) else np.nan
        )
    checks = pd.DataFrame(
        {
            "value": values,
            "status": {name: _status(name, value) for name, value in values.items()},
            "warning_above": {name: THRESHOLDS[name][0] for name in values},
            "problem_above": {name: THRESHOLDS[name][1] for name in values},
            "meaning": {name: _EXPLANATIONS[name] for name in values},
        }
    )
    counts = pd.Series(
        {
            "seen_interactions": len(seen),
            "test_interactions": len(test),
            "seen_users": seen.user.nunique(),
            "test_users": test.user.nunique(),
            "cold_test_users": test.user[cold_users].nunique(),
            "cold_test_items": test.item[cold_items].nunique(),
        }
    )
    return SplitReport(checks, counts, distributions)


def compare_splits(splits, **columns):
    """Audit several splits of the same data side by side.

    Parameters
    ----------
    splits : dict
        ``{name: (train, test)}`` or ``{name: (train, validation, test)}``.
    **columns
        ``user_col``, ``item_col``, ``time_col`` for :func:`audit_split`.

    Returns
    -------
    comparison : pandas.DataFrame
        One row per check, two columns per split: its value and its status.
    """
    frames = {}
    for name, parts in splits.items():
        if len(parts) == 2:
            report = audit_split(parts[0], parts[1], **columns)
        elif len(parts) == 3:
            report = audit_split(parts[0], parts[2], validation=parts[1], **columns)
        else:
            raise ValueError(f"split {name!r} must be (train, test) or (train, validation, "
                             f"test), got {len(parts)} parts.")
        frames[name] = report.checks[["value", "status"]]
    return pd.concat(frames, axis=1)
