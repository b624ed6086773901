import numpy as np
import pandas as pd
import pytest

from recfactor.model_selection import audit_split, global_temporal_split, leave_last_out


def test_leave_last_out_follows_the_sasrec_protocol():
    sequences = [[5, 3, 8, 1], [2, 7], [4, 4, 6]]
    train, validation, test = leave_last_out(sequences)
    assert [t.tolist() for t in train] == [[5, 3], [2, 7], [4]]
    assert [v.tolist() for v in validation] == [[5, 3, 8], [4, 4]]
    assert [t.tolist() for t in test] == [[5, 3, 8, 1], [4, 4, 6]]
    with pytest.raises(ValueError, match=r"sequences\[0\] is empty"):
        leave_last_out([[]])


@pytest.fixture
def log():
    # users 0-2 before t=10; at and after it: user 0 (items 1, 2), user 1 (cold item 9),
    # user 3 (cold user)
    return pd.DataFrame(
        {
            "user_id": [0, 1, 2, 0, 1, 2, 0, 0, 1, 3, 1],
            "item_id": [1, 2, 3, 3, 1, 2, 2, 1, 9, 1, 3],
            "timestamp": [1, 2, 3, 4, 5, 6, 10, 11, 12, 13, 14],
        }
    )


def test_global_temporal_split_at_a_timestamp(log):
    train, test = global_temporal_split(log, timestamp=10)
    assert (train.timestamp < 10).all() and (test.timestamp >= 10).all()
    assert train.index.tolist() == [0, 1, 2, 3, 4, 5]
    assert test.index.tolist() == [6, 7, 10]  # cold item 9 and cold user 3 removed
    _, with_cold = global_temporal_split(
        log, timestamp=10, remove_cold_users=False, remove_cold_items=False
    )
    assert with_cold.index.tolist() == [6, 7, 8, 9, 10]


@pytest.mark.parametrize(
    "target, expected", [("all", [6, 7, 10]), ("first", [6, 10]), ("last", [7, 10])]
)
def test_global_temporal_split_targets(log, target, expected):
    assert global_temporal_split(log, timestamp=10, target=target)[1].index.tolist() == expected


def test_random_target_is_one_future_item_per_user_and_seeded(log):
    first = global_temporal_split(log, timestamp=10, target="random", random_state=0)[1]
    assert sorted(first.user_id.tolist()) == [0, 1]
    draws = {
        tuple(global_temporal_split(log, timestamp=10, target="random", random_state=s)[1].index)
        for s in range(20)
    }
    assert draws == {(6, 10), (7, 10)}


def test_quantile_split_time(log):
    train, test = global_temporal_split(log, quantile=0.5, remove_cold_items=False)
    split = np.quantile(log.timestamp, 0.5, method="lower")
    assert train.timestamp.max() < split <= test.timestamp.min()


def test_validation_last_train_item_and_by_user(log):
    train, valid, test = global_temporal_split(log, timestamp=10, validation="last_train_item")
    assert valid.index.tolist() == [3, 4]  # last training interaction of test users 0 and 1
    assert set(train.index) | set(valid.index) == {0, 1, 2, 3, 4, 5}
    train, valid, _ = global_temporal_split(
        log, timestamp=10, validation="by_user", validation_size=0.34, random_state=0
    )
    assert len(valid) == 1  # round(0.34 * 3 users)
    before = pd.concat([train, valid])
    user = valid.user_id.iloc[0]
    assert valid.index[0] == before[before.user_id == user].timestamp.idxmax()


def test_validation_by_time_splits_training_again(log):
    train, valid, test = global_temporal_split(
        log, timestamp=10, validation="by_time", validation_quantile=0.5,
        remove_cold_items=False,
    )
    assert train.timestamp.max() < valid.timestamp.min()
    assert valid.timestamp.max() < 10 <= test.timestamp.min()
    # nothing before the test starts is lost: the test stage trains on train + validation
    assert len(train) + len(valid) == (log.timestamp < 10).sum()


def test_validation_by_time_keeps_test_users_warm(log):
    # user 4 first appears in the validation window, then in the test
    log = pd.concat([log, pd.DataFrame({"user_id": [4, 4], "item_id": [1, 2],
                                        "timestamp": [7, 15]})], ignore_index=True)
    train, valid, test = global_temporal_split(log, timestamp=10, validation="by_time",
                                               validation_quantile=0.8)
    assert 4 not in train.user_id.values and 4 in test.user_id.values
    report = audit_split(train, test, validation=valid)
    assert report.checks.loc["cold_users", "value"] == 0


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"quantile": 1.0}, "quantile must be strictly between 0 and 1"),
        ({"target": "middle"}, "target must be"),
        ({"validation": "by_item"}, "validation must be"),
        ({"timestamp": 0}, "leaves an empty training part"),
        ({"timestamp": 100}, "leaves an empty test part"),
        ({"user_col": "user"}, "column 'user'"),
    ],
)
def test_global_temporal_split_rejects_bad_arguments(log, kwargs, message):
    with pytest.raises(ValueError, match=message):
        global_temporal_split(log, **kwargs)


def test_leave_last_out_of_a_log_partitions_it(log):
    train, valid, test = leave_last_out(log)
    # user 0: times 1, 4, 10, 11; user 1: 2, 5, 12, 14; user 2: 3, 6; user 3: 13
    assert sorted(test.index) == [7, 10]
    assert sorted(valid.index) == [6, 8]
    assert sorted(train.index) == [0, 1, 2, 3, 4, 5, 9]
    report = audit_split(train, test, validation=valid)
    assert report.checks.loc["shared_interactions", "value"] == 0
    assert report.checks.loc["negative_gap", "value"] == 0
    with pytest.raises(ValueError, match="column 'user'"):
        leave_last_out(log, user_col="user")
