import numpy as np
import pytest

from recfactor.datasets import make_interactions, make_sequences
from recfactor.decomposition import PureSVD
from recfactor.metrics import cold_start_curve, ndcg_at_k
from recfactor.model_selection import fold_in_split


@pytest.fixture(scope="module")
def fitted():
    X = make_interactions(n_users=600, n_items=120, random_state=0)
    train, test = X[:450], X[450:]
    return PureSVD(rank=8, random_state=0).fit(train), train, test


def test_item_curve_matches_a_plain_count(fitted):
    model, train, test = fitted
    edges = [0, 10, 30, 60, 1000]
    curve = cold_start_curve(model, train, test, bins=edges, k=10, random_state=3)

    visible, hidden = fold_in_split(test, holdout=0.2, random_state=3)
    users = np.flatnonzero(np.diff(hidden.indptr))
    recommended = model.recommend(visible[users], k=10)
    item_counts = (train.toarray() > 0).sum(axis=0)
    found, counts = [], []
    for row, user in enumerate(users):
        for item in hidden[user].indices:
            found.append(item in recommended[row])
            counts.append(item_counts[item])
    found, counts = np.array(found), np.array(counts)
    expected = [found[(counts >= lo) & (counts < hi)].mean()
                for lo, hi in zip(edges[:-1], edges[1:]) if ((counts >= lo) & (counts < hi)).any()]
    np.testing.assert_allclose(curve["recall@10"], expected)
    assert curve.n_targets.sum() == hidden.nnz


def test_user_curve_groups_the_per_user_metric(fitted):
    model, train, test = fitted
    curve = cold_start_curve(model, train, test, by="user", metric="ndcg", k=5, bins=3)
    visible, hidden = fold_in_split(test, holdout=0.2, random_state=0)
    users = np.flatnonzero(np.diff(hidden.indptr))
    per_user = ndcg_at_k(hidden[users], model.recommend(visible[users], k=5), 5, average=False)
    lengths = np.diff(visible[users].indptr)
    assert curve.n_users.sum() == users.size
    for _, row in curve.iterrows():
        in_group = (lengths >= row["low"]) & (lengths < row["high"])
        assert row["n_users"] == in_group.sum()
        assert row["ndcg@5"] == pytest.approx(per_user[in_group].mean())


def test_popular_items_are_found_more_often(fitted):
    model, train, test = fitted
    curve = cold_start_curve(model, train, test, bins=4)
    assert curve["recall@10"].iloc[-1] > curve["recall@10"].iloc[0]


class _MostFrequent:
    """Recommends the items most frequent in the training histories, whatever the input."""

    def fit(self, sequences):
        counts = np.bincount(np.concatenate(sequences))
        self.ranking_ = np.argsort(-counts, kind="stable")
        return self

    def recommend(self, X, k=10):
        return np.tile(self.ranking_[:k], (len(X), 1))


def test_next_item_curve_counts_training_occurrences():
    sequences = make_sequences(n_users=300, n_items=30, random_state=0)
    train, test = sequences[:200], sequences[200:]
    model = _MostFrequent().fit(train)
    curve = cold_start_curve(model, train, test, protocol="next-item", k=5, bins=[0, 10**6])
    targets = np.array([s[-1] for s in test])
    assert curve.n_targets.tolist() == [len(test)]
    assert curve["recall@5"].iloc[0] == pytest.approx(np.isin(targets, model.ranking_[:5]).mean())
    by_user = cold_start_curve(model, train, test, by="user", metric="hit_rate",
                               protocol="next-item", k=5, bins=[1, 10**6])
    assert by_user.n_users.tolist() == [len(test)]


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"by": "feature"}, "by must be 'item' or 'user'"),
        ({"protocol": "cold-start"}, "protocol must be 'fold-in' or 'next-item'"),
        ({"bins": 0}, "bins must be a positive integer"),
        ({"bins": [5, 3]}, "increasing integer edges"),
        ({"metric": "auc"}, "Unknown metric"),
    ],
)
def test_rejects_bad_arguments(fitted, kwargs, message):
    model, train, test = fitted
    with pytest.raises(ValueError, match=message):
        cold_start_curve(model, train, test, **kwargs)
