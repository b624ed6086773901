import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
from sklearn.base import BaseEstimator

from recfactor.utils import check_interactions, check_sequences, check_triples


# --- check_interactions -------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["dense", "csr", "csc", "coo", "csr_array"])
def test_check_interactions_returns_canonical_csr(fmt):
    dense = np.array([[0, 2, 0], [1, 0, 3]], dtype=np.int64)
    X = {
        "dense": dense,
        "csr": sp.csr_matrix(dense),
        "csc": sp.csc_matrix(dense),
        "coo": sp.coo_matrix(dense),
        "csr_array": sp.csr_array(dense),
    }[fmt]
    checked = check_interactions(X)
    assert isinstance(checked, sp.csr_matrix)
    assert checked.has_canonical_format
    assert checked.dtype == np.float64
    np.testing.assert_array_equal(checked.toarray(), dense)


def test_check_interactions_keeps_float32():
    X = sp.random(5, 4, density=0.5, format="csr", dtype=np.float32, random_state=0)
    assert check_interactions(X).dtype == np.float32


def test_check_interactions_sums_duplicates_without_touching_input():
    X = sp.csr_matrix((np.array([1.0, 2.0]), np.array([1, 1]), np.array([0, 2])), shape=(1, 3))
    checked = check_interactions(X)
    np.testing.assert_array_equal(checked.toarray(), [[0, 3, 0]])
    assert X.nnz == 2 and not X.has_canonical_format


@pytest.mark.parametrize(
    "value, message",
    [(np.nan, r"X contains NaN at row 1, column 2"), (np.inf, r"X contains infinity at row 1")],
)
def test_check_interactions_rejects_non_finite_and_names_position(value, message):
    X = np.ones((3, 4))
    X[1, 2] = value
    with pytest.raises(ValueError, match=message):
        check_interactions(sp.csr_matrix(X))


def test_check_interactions_negative_weights():
    X = np.array([[1.0, 0.0], [0.0, -2.0]])
    message = "Negative values in data passed to X: -2 at row 1, column 1"
    with pytest.raises(ValueError, match=message):
        check_interactions(X)
    assert check_interactions(X, allow_negative=True)[1, 1] == -2


def test_check_interactions_empty_and_shape_errors():
    with pytest.raises(ValueError, match="stores no interaction"):
        check_interactions(np.zeros((2, 3)))
    assert check_interactions(np.zeros((2, 3)), allow_empty=True).nnz == 0
    with pytest.raises(ValueError, match="Expected 2D array"):
        check_interactions(np.ones(3))
    with pytest.raises(ValueError, match="0 sample"):
        check_interactions(np.ones((0, 3)))


def test_check_interactions_with_estimator_checks_item_count():
    estimator = BaseEstimator()
    check_interactions(np.ones((2, 3)), estimator=estimator)
    assert estimator.n_features_in_ == 3
    with pytest.raises(ValueError, match="X has 4 features, but BaseEstimator is expecting 3"):
        check_interactions(np.ones((2, 4)), estimator=estimator, reset=False)


def test_check_interactions_name_in_messages():
    with pytest.raises(ValueError, match="y contains NaN"):
        check_interactions(np.array([[np.nan]]), name="y")


# --- check_sequences ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "X",
    [
        [[3, 1, 2], [0]],
        np.array([np.array([3, 1, 2]), np.array([0])], dtype=object),
        pd.Series([[3, 1, 2], [0]]),
        ([3.0, 1.0, 2.0], (0,)),
    ],
    ids=["lists", "object-array", "series", "integral-floats"],
)
def test_check_sequences_accepted_containers(X):
    result = check_sequences(X)
    assert [s.tolist() for s in result] == [[3, 1, 2], [0]]
    assert all(s.dtype == np.int64 for s in result)


def test_check_sequences_2d_array_is_one_sequence_per_row():
    assert [s.tolist() for s in check_sequences(np.array([[1, 2], [3, 4]]))] == [[1, 2], [3, 4]]


@pytest.mark.parametrize(
    "X, error, message",
    [
        ([], ValueError, "contains no sequence"),
        ("abc", TypeError, "must be a sequence of item-id sequences"),
        (5, TypeError, "must be a sequence of item-id sequences"),
        ([[1, 2], 3], TypeError, r"X\[1\] must be a sequence of integer item ids"),
        ([[1, 2], []], ValueError, r"X\[1\] is empty"),
        ([[1, -4, 2]], ValueError, r"X\[0\] contains the negative item id -4 at position 1"),
        ([[1, 2.5]], ValueError, "non-integer item id 2.5"),
        ([[1, np.nan]], ValueError, "NaN"),
        ([["a", "b"]], TypeError, "item ids must be integers"),
        ([[[1, 2]]], ValueError, "flat sequence"),
        (pd.DataFrame({"a": [1]}), TypeError, "is a DataFrame"),
    ],
)
def test_check_sequences_rejects_bad_input(X, error, message):
    with pytest.raises(error, match=message):
        check_sequences(X)


def test_check_sequences_catalogue_bound():
    with pytest.raises(ValueError, match=r"X\[1\] contains item id 7 at position 0, but the "
                                         r"catalogue has 5 items \(ids 0 to 4\)"):
        check_sequences([[1], [7, 2]], n_items=5)
    assert len(check_sequences([[1], [4, 2]], n_items=5)) == 2
    with pytest.raises(ValueError, match="n_items must be a positive integer"):
        check_sequences([[1]], n_items=0)


def test_check_sequences_allows_empty_when_asked():
    result = check_sequences([[1], []], allow_empty_sequences=True)
    assert result[1].size == 0 and result[1].dtype == np.int64


# --- check_triples ------------------------------------------------------------------------


def test_check_triples_ints_and_strings():
    np.testing.assert_array_equal(check_triples([[0, 1, 2]]), [[0, 1, 2]])
    assert check_triples(np.array([[0, 1, 2]], dtype=np.int32)).dtype == np.int64
    assert check_triples(np.array([[0.0, 1.0, 2.0]])).dtype == np.int64
    assert check_triples([[np.int32(0), 1, 2]]).dtype == np.int64
    strings = check_triples(pd.DataFrame({"h": ["a"], "r": ["likes"], "t": ["b"]}))
    assert strings.dtype == object and strings.tolist() == [["a", "likes", "b"]]
    assert check_triples(np.array([["a", "r", "b"]])).dtype == object


@pytest.mark.parametrize(
    "X, error, message",
    [
        ([[0, 1]], ValueError, r"shape \(n_triples, 3\)"),
        ([0, 1, 2], ValueError, r"shape \(n_triples, 3\)"),
        (np.empty((0, 3), dtype=int), ValueError, "contains no triple"),
        ([[0, -1, 2]], ValueError, "negative id -1 in triple 0, column 1"),
        ([["a", None, "b"]], ValueError, "missing value in triple 0, column 1"),
        ([[0.0, np.nan, 1.0]], ValueError, "missing value in triple 0, column 1"),
        (np.array([[0.5, 1.0, 1.0]]), ValueError, "non-integer id 0.5"),
        ([["a", 1, "b"]], TypeError, "mixes integer and string ids"),
        ([["a", 1.5, "b"]], TypeError, "value 1.5 of type float in triple 0, column 1"),
    ],
)
def test_check_triples_rejects_bad_input(X, error, message):
    with pytest.raises(error, match=message):
        check_triples(X)
