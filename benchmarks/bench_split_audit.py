"""Audit the usual splits of MovieLens-100K and Amazon Beauty.

Run: ``RECFACTOR_DATA=../shared/data python benchmarks/bench_split_audit.py``. For each data
set it prints :func:`~recfactor.model_selection.describe_interactions` and
:func:`~recfactor.model_selection.compare_splits` over the splits papers use, as Markdown
tables for the docs, and the time each audit took.

MovieLens-100K has global timestamps, so every check applies. The Beauty files have no
timestamps, only each user's gaps between reviews (``beauty-s3rec`` with its time gaps): the
log's clock starts at each user's first review, so the checks that compare times across users
(temporal leakage, training after the test start) and the time span are left out.
"""

import time

import numpy as np
import pandas as pd

from recfactor.datasets import load_movielens, load_sequences
from recfactor.model_selection import (
    compare_splits,
    describe_interactions,
    global_temporal_split,
    leave_last_out,
)

GLOBAL_CLOCK_STATISTICS = ["time_span", "item_lifetime_mean"]
USER_CLOCK_CHECKS = ["shared_interactions", "cold_users", "cold_items", "negative_gap",
                     "time_gap_shift", "position_shift"]


def random_leave_one_out(log, random_state=0):
    """One random interaction per user of at least three tests, another validates: the
    random hold-out some papers still use, which ignores time."""
    rng = np.random.RandomState(random_state)
    shuffled = log.loc[rng.permutation(log.index)]
    by_user = shuffled.groupby("user_id", sort=False)
    evaluated = by_user.user_id.transform("size").ge(3)
    order = by_user.cumcount()
    test = evaluated & order.eq(0)
    validation = evaluated & order.eq(1)
    return shuffled[~(test | validation)], shuffled[validation], shuffled[test]


def beauty_log():
    data = load_sequences("beauty-s3rec")
    if data.time_gaps is None:
        raise SystemExit("beauty-s3rec needs seq/beauty-s3rec-timegaps/Beauty.txt")
    lengths = [s.size for s in data.sequences]
    return pd.DataFrame(
        {
            "user_id": np.repeat(np.arange(len(lengths)), lengths),
            "item_id": np.concatenate(data.sequences),
            "timestamp": np.concatenate([np.cumsum(g) for g in data.time_gaps]),
        }
    )


def audit(name, log, splits, checks=None, statistics_left_out=()):
    print(f"\n## {name}\n")
    statistics = describe_interactions(log).drop(list(statistics_left_out))
    print(statistics.to_frame("value").to_string(float_format="{:.4g}".format))
    start = time.perf_counter()
    comparison = compare_splits({split: make(log) for split, make in splits.items()})
    elapsed = time.perf_counter() - start
    if checks is not None:
        comparison = comparison.loc[checks]
    print()
    print(comparison.to_string(float_format="{:.3f}".format))
    print(f"\nsplitting and auditing {len(splits)} splits took {elapsed:.1f} s")


def main():
    movielens = load_movielens("100k").frame
    audit(
        "MovieLens-100K",
        movielens,
        {
            "random leave-one-out": random_leave_one_out,
            "leave-last-out": leave_last_out,
            "global temporal, all targets": lambda log: global_temporal_split(
                log, quantile=0.9, validation="by_time", validation_quantile=0.9
            ),
            "global temporal, last target": lambda log: global_temporal_split(
                log, quantile=0.9, target="last", validation="last_train_item"
            ),
        },
    )
    audit(
        "Amazon Beauty (each user's own clock)",
        beauty_log(),
        {"random leave-one-out": random_leave_one_out, "leave-last-out": leave_last_out},
        checks=USER_CLOCK_CHECKS,
        statistics_left_out=GLOBAL_CLOCK_STATISTICS,
    )


if __name__ == "__main__":
    main()
