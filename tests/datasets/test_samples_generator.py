import numpy as np
import pytest
import scipy.sparse as sp

from recfactor.datasets import make_interactions, make_item_features, make_sequences, make_triples
from recfactor.datasets._samples_generator import _next_items, _three_other_items


def _hit_rate(scores, visible, hidden, k=10):
    scores = np.where(visible.toarray() > 0, -np.inf, scores)
    top = np.argsort(-scores, axis=1)[:, :k]
    return np.mean([hidden[u, top[u]].sum() > 0 for u in range(hidden.shape[0])])


def test_make_interactions_plants_low_rank_structure():
    X = make_interactions(n_users=600, n_items=120, n_components=4, density=0.08, random_state=0)
    assert X.shape == (600, 120) and set(np.unique(X.data)) == {1.0}
    assert np.diff(X.indptr).min() >= 2
    dense = X.toarray()
    rng = np.random.default_rng(0)
    hidden = np.zeros_like(dense)
    for u in range(600):
        hidden[u, rng.choice(np.flatnonzero(dense[u]))] = 1
    visible = dense - hidden
    _, _, vt = np.linalg.svd(visible[:500], full_matrices=False)
    low_rank = visible[500:] @ vt[:4].T @ vt[:4]
    popularity = np.tile(visible[:500].sum(axis=0), (100, 1))
    hidden, visible = sp.csr_matrix(hidden[500:]), sp.csr_matrix(visible[500:])
    assert _hit_rate(low_rank, visible, hidden) > 1.5 * _hit_rate(popularity, visible, hidden)


def test_make_interactions_frame_and_determinism():
    log = make_interactions(n_users=50, n_items=40, as_frame=True, random_state=3)
    assert list(log.columns) == ["user_id", "item_id", "rating", "timestamp"]
    assert log.rating.between(1, 5).all()
    assert (log.groupby("user_id").timestamp.diff().dropna() > 0).all()
    assert not log.duplicated(["user_id", "item_id"]).any()
    X = make_interactions(n_users=50, n_items=40, random_state=3)
    assert X.nnz == len(log)
    assert (X != make_interactions(n_users=50, n_items=40, random_state=3)).nnz == 0


def test_make_item_features_informative_features_explain_interactions():
    F, Y, informative = make_item_features(n_items=400, n_features=40, n_users=150,
                                           n_informative=8, return_informative=True,
                                           random_state=0)
    assert F.shape == (400, 40) and Y.shape == (400, 150) and informative.sum() == 8
    # users' taste for a feature: how unevenly a feature's items spread over users
    profile = (F.T @ Y).toarray() / np.maximum(F.sum(axis=0).A.ravel()[:, None], 1)
    spread = profile.std(axis=1) / np.maximum(profile.mean(axis=1), 1e-12)
    assert spread[informative].min() > spread[~informative].max()


def test_make_sequences_markov_beats_popularity():
    sequences = make_sequences(n_users=400, n_items=40, random_state=0)
    assert all(5 <= len(s) <= 30 for s in sequences)
    train, test = sequences[:300], sequences[300:]
    counts = np.zeros((40, 40))
    for s in train:
        np.add.at(counts, (s[:-1], s[1:]), 1)
    markov = np.mean([counts[s[-2]].argmax() == s[-1] for s in test])
    popular = np.bincount(np.concatenate(train), minlength=40).argmax()
    assert markov > 3 * np.mean([s[-1] == popular for s in test])



def reference_next_items(successors, targets, n_items):
    """The dense transition rows: searchsorted in their cumulative sums."""
    rows = np.full((len(targets), n_items), 0.15 / n_items)
    np.put_along_axis(rows, successors, 0.15 / n_items + 0.85 / 3, axis=1)
    cumulative = np.cumsum(rows, axis=1)
    return np.array([min(np.searchsorted(row, t * row[-1]), n_items - 1)
                     for row, t in zip(cumulative, targets)])


@pytest.mark.parametrize("n_items", [4, 5, 50, 1682])
def test_next_items_invert_the_dense_transition_rows(n_items):
    rng = np.random.RandomState(n_items)
    successors = _three_other_items(rng, n_items)
    assert (np.diff(successors, axis=1) > 0).all()
    assert not (successors == np.arange(n_items)[:, None]).any()
    previous = rng.randint(0, n_items, size=5000)
    targets = rng.random_sample(5000)
    np.testing.assert_array_equal(
        _next_items(successors[previous], targets, n_items),
        reference_next_items(successors[previous], targets, n_items))


def test_successors_are_uniform_over_the_other_items():
    rng = np.random.RandomState(0)
    triples = np.vstack([_three_other_items(rng, 6)[0] for _ in range(6000)])
    # Item 0's successors: 10 triples of {1, ..., 5}, each 600 times in expectation.
    counts = np.unique(triples, axis=0, return_counts=True)[1]
    assert len(counts) == 10 and counts.min() > 500 and counts.max() < 700


def test_make_sequences_needs_no_items_by_items_matrix():
    sequences = make_sequences(n_users=50, n_items=200_000, min_length=2, max_length=5,
                               random_state=0)
    assert max(s.max() for s in sequences) < 200_000

def test_make_triples_is_distinct_and_clustered():
    triples = make_triples(n_entities=100, n_relations=4, n_triples=800, random_state=0)
    assert triples.shape == (800, 3) and triples.dtype == np.int64
    assert len({tuple(t) for t in triples}) == 800
    assert (triples[:, 0] != triples[:, 2]).all()
    # given the relation, tails concentrate on one cluster: far fewer distinct tails than entities
    for r in range(4):
        assert len(np.unique(triples[triples[:, 1] == r, 2])) <= 50
    np.testing.assert_array_equal(triples, make_triples(n_entities=100, n_relations=4,
                                                        n_triples=800, random_state=0))


@pytest.mark.parametrize(
    "make, kwargs, message",
    [
        (make_interactions, {"n_users": 0}, "n_users must be a positive integer"),
        (make_interactions, {"density": 0}, r"density must be in \(0, 1\]"),
        (make_interactions, {"n_items": 1}, "at least 2"),
        (make_item_features, {"n_informative": 70}, "cannot exceed n_features"),
        (make_sequences, {"min_length": 9, "max_length": 3}, "larger than max_length"),
        (make_sequences, {"n_items": 3}, "at least 4"),
        (make_triples, {"n_triples": 10**6}, "too many"),
        (make_triples, {"n_relations": 1.5}, "n_relations must be a positive integer"),
    ],
)
def test_generators_reject_bad_arguments(make, kwargs, message):
    with pytest.raises(ValueError, match=message):
        make(**kwargs)
