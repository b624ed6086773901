import numpy as np
import pandas as pd
import pytest

from recfactor.datasets import make_interactions
from recfactor.model_selection import (
    SplitReport,
    audit_split,
    compare_splits,
    describe_interactions,
    global_temporal_split,
)


@pytest.fixture(scope="module")
def log():
    return make_interactions(n_users=400, n_items=150, as_frame=True, random_state=0)


def test_describe_interactions_on_a_hand_made_log():
    log = pd.DataFrame(
        {
            "user_id": [1, 1, 1, 1, 2, 2],
            "item_id": [5, 5, 6, 5, 7, 8],
            "timestamp": [10, 20, 20, 40, 0, 100],
        }
    )
    stats = describe_interactions(log)
    assert stats.n_users == 2 and stats.n_items == 4 and stats.n_interactions == 6
    assert stats.density == pytest.approx(4 / 8)
    assert (stats.history_length_min, stats.history_length_max) == (2, 4)
    assert stats.time_span == 100
    assert stats.user_lifetime_mean == pytest.approx((30 + 100) / 2)
    assert stats.median_time_between == pytest.approx(np.median([10, 0, 20, 100]))
    assert stats.consecutive_repeat_share == pytest.approx(1 / 6)  # 5 then 5 at t=10, 20
    assert stats.repeat_share == pytest.approx(2 / 6)  # user 1 meets item 5 three times
    assert stats.users_with_repeats_share == 0.5
    assert stats.timestamp_collision_share == pytest.approx(2 / 6)


def test_audit_finds_leakage_planted_in_a_random_split(log):
    rng = np.random.default_rng(0)
    in_train = rng.random(len(log)) < 0.8
    report = audit_split(log[in_train], log[~in_train])
    checks = report.checks
    assert checks.loc["temporal_leakage", "status"] == "problem"
    assert checks.loc["temporal_leakage", "value"] > 0.5
    assert checks.loc["negative_gap", "status"] == "problem"
    assert not report.ok


def test_audit_reports_nothing_on_a_clean_global_temporal_split(log):
    train, valid, test = global_temporal_split(log, quantile=0.8, validation="last_train_item")
    report = audit_split(train, test, valid)
    leakage_checks = ["temporal_leakage", "train_after_test_start", "shared_interactions",
                      "negative_gap", "cold_users", "cold_items"]
    assert (report.checks.loc[leakage_checks, "status"] == "ok").all()
    assert (report.checks.loc[leakage_checks, "value"] == 0).all()


def test_audit_counts_cold_users_items_and_shared_rows():
    train = pd.DataFrame({"user_id": [0, 0, 1], "item_id": [0, 1, 0], "timestamp": [1, 2, 3]})
    test = pd.DataFrame({"user_id": [0, 2, 1, 1], "item_id": [9, 0, 0, 1],
                         "timestamp": [4, 5, 3, 6]})
    report = audit_split(train, test)
    values = report.checks.value
    assert values.cold_users == pytest.approx(1 / 4)  # user 2
    assert values.cold_items == pytest.approx(1 / 4)  # item 9
    assert values.shared_interactions == pytest.approx(1 / 4)  # (1, 0, 3) is in both
    assert values.temporal_leakage == 0  # item 0 last trained at 3, tested at 3 and 5
    assert report.counts.cold_test_users == 1 and report.counts.cold_test_items == 1
    assert report.checks.loc["position_shift", "status"] == "n/a"


def test_distribution_shift_compares_validation_with_test_targets(log):
    train, valid, test = global_temporal_split(log, quantile=0.8, validation="last_train_item")
    report = audit_split(train, test, valid)
    validation_sample, test_sample = report.distributions["position_shift"]
    assert len(validation_sample) == len(valid) and len(test_sample) == len(test)
    from scipy.stats import ks_2samp

    assert report.checks.value.position_shift == pytest.approx(
        ks_2samp(validation_sample, test_sample).statistic
    )


def test_report_outputs_and_compare_splits(log):
    train, test = global_temporal_split(log, quantile=0.8)
    rng = np.random.default_rng(1)
    in_train = rng.random(len(log)) < 0.8
    report = audit_split(train, test)
    assert isinstance(report, SplitReport)
    frame = report.to_frame()
    assert list(frame.columns) == ["value", "status", "warning_above", "problem_above",
                                   "meaning"]
    frame.loc["cold_users", "value"] = -1
    assert report.checks.loc["cold_users", "value"] != -1  # to_frame returns a copy
    markdown = report.to_markdown()
    assert markdown.startswith("| check | value | status | meaning |")
    assert markdown.count("\n") == len(report.checks) + 1
    table = compare_splits({"temporal": (train, test), "random": (log[in_train], log[~in_train])})
    assert table.loc["temporal_leakage", ("temporal", "status")] == "ok"
    assert table.loc["temporal_leakage", ("random", "status")] == "problem"
    with pytest.raises(ValueError, match="must be \\(train, test\\)"):
        compare_splits({"bad": (train,)})


def test_report_plot(log):
    matplotlib = pytest.importorskip("matplotlib")
    matplotlib.use("Agg")
    train, valid, test = global_temporal_split(log, quantile=0.8, validation="last_train_item")
    axes = audit_split(train, test, valid).plot()
    assert len(axes) == 2 and "KS" in axes[0].get_title()
    with pytest.raises(ValueError, match="needs a report made with validation"):
        audit_split(train, test).plot()


@pytest.mark.parametrize(
    "bad, error, message",
    [
        ("log", TypeError, "train must be a pandas DataFrame"),
        (pd.DataFrame({"user_id": [1]}), ValueError, "train has no column 'item_id'"),
        (pd.DataFrame({"user_id": [], "item_id": [], "timestamp": []}), ValueError,
         "train is empty"),
    ],
)
def test_audit_rejects_bad_input(log, bad, error, message):
    with pytest.raises(error, match=message):
        audit_split(bad, log)
