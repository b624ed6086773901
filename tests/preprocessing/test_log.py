import numpy as np
import pandas as pd
import pytest

from recfactor.preprocessing import (
    decode_ids,
    encode_ids,
    log_to_matrix,
    log_to_sequences,
    log_to_triples,
)


@pytest.fixture
def log():
    return pd.DataFrame(
        {
            "user_id": ["bob", "amy", "bob", "amy", "cat", "bob"],
            "item_id": [30, 10, 10, 20, 30, 30],
            "rating": [4.0, 5.0, 3.0, 1.0, 2.0, 1.0],
            "timestamp": [5, 3, 1, 9, 2, 7],
        }
    )


def test_log_to_matrix_sums_repeats_and_returns_vocabularies(log):
    X, users, items = log_to_matrix(log, value_col="rating")
    assert users.tolist() == ["amy", "bob", "cat"]
    assert items.tolist() == [10, 20, 30]
    np.testing.assert_array_equal(X.toarray(), [[5, 1, 0], [3, 0, 5], [0, 0, 2]])
    binary, _, _ = log_to_matrix(log)
    assert binary[1, 2] == 2  # bob consumed item 30 twice


def test_log_to_matrix_with_training_vocabularies(log):
    _, users, items = log_to_matrix(log.iloc[:4])
    with pytest.raises(ValueError, match="1 user.* not in the vocabulary, for example 'cat'"):
        log_to_matrix(log, user_ids=users, item_ids=items)
    X, _, _ = log_to_matrix(log, user_ids=users, item_ids=items, handle_unknown="ignore")
    assert X.shape == (2, 3) and X.sum() == 5


def test_log_to_matrix_round_trip_to_raw_ids(log):
    X, users, items = log_to_matrix(log)
    rows, cols = X.nonzero()
    pairs = set(zip(decode_ids(rows, users), decode_ids(cols, items)))
    assert pairs == set(zip(log.user_id, log.item_id))


@pytest.mark.parametrize(
    "bad, error, message",
    [
        ("not a frame", TypeError, "must be a pandas DataFrame"),
        (pd.DataFrame({"user_id": [1]}), ValueError, "no column 'item_id'"),
        (pd.DataFrame({"user_id": [], "item_id": []}), ValueError, "log is empty"),
        (pd.DataFrame({"user_id": [1, None], "item_id": [1, 2]}), ValueError,
         "missing value in column 'user_id' at index 1"),
    ],
)
def test_log_functions_reject_bad_logs(bad, error, message):
    with pytest.raises(error, match=message):
        log_to_matrix(bad)
    with pytest.raises(error, match=message):
        log_to_sequences(bad, time_col=None)


def test_log_to_sequences_orders_by_time_with_stable_ties(log):
    sequences, users, items, times = log_to_sequences(log, return_times=True)
    assert users.tolist() == ["amy", "bob", "cat"]
    decoded = [decode_ids(s, items).tolist() for s in sequences]
    assert decoded == [[10, 20], [10, 30, 30], [30]]
    assert [t.tolist() for t in times] == [[3, 9], [1, 5, 7], [2]]
    tied = log.assign(timestamp=0)
    in_log_order, _, _ = log_to_sequences(tied)
    assert decode_ids(in_log_order[1], items).tolist() == [30, 10, 30]
    untimed, _, _ = log_to_sequences(log, time_col=None)
    assert [s.tolist() for s in untimed] == [s.tolist() for s in in_log_order]


def test_log_to_sequences_unknown_items_dropped_users_follow(log):
    sequences, users, _ = log_to_sequences(log, item_ids=[10, 20], handle_unknown="ignore")
    assert users.tolist() == ["amy", "bob"]
    assert [s.tolist() for s in sequences] == [[0, 1], [0]]
    with pytest.raises(ValueError, match="return_times=True needs a time_col"):
        log_to_sequences(log, time_col=None, return_times=True)


def test_log_to_triples_shares_entities_between_head_and_tail():
    frame = pd.DataFrame({"h": ["x", "y"], "r": ["knows", "likes"], "t": ["y", "z"]})
    triples, entities, relations = log_to_triples(
        frame, head_col="h", relation_col="r", tail_col="t"
    )
    assert entities.tolist() == ["x", "y", "z"]
    assert relations.tolist() == ["knows", "likes"]
    np.testing.assert_array_equal(triples, [[0, 0, 1], [1, 1, 2]])
    with pytest.raises(ValueError, match="relation.* not in the vocabulary"):
        log_to_triples(frame, head_col="h", relation_col="r", tail_col="t",
                       relation_ids=["knows"])


def test_encode_decode_errors():
    with pytest.raises(ValueError, match="handle_unknown must be"):
        encode_ids([1], [1], handle_unknown="drop")
    with pytest.raises(ValueError, match="repeated ids"):
        encode_ids([1], [1, 1])
    with pytest.raises(ValueError, match="id 3 is outside the vocabulary of 3 ids"):
        decode_ids([0, 3], ["a", "b", "c"])
    with pytest.raises(TypeError, match="ids must be integers"):
        decode_ids([0.5], ["a"])
    np.testing.assert_array_equal(encode_ids(np.array([[2, 1]]), [1, 2]), [[1, 0]])
