"""Small synthetic data sets with planted structure, for fast tests and examples.

Each generator plants the structure its model family should find and that a popularity
baseline cannot: low-rank preferences, feature-driven interactions, Markov transitions,
cluster-to-cluster relations.
"""

from numbers import Integral, Real

import numpy as np
import pandas as pd
import scipy.sparse as sp
from sklearn.utils import check_random_state

__all__ = ["make_interactions", "make_item_features", "make_sequences", "make_triples"]


def _check_positive(**values):
    for name, value in values.items():
        if not isinstance(value, Integral) or isinstance(value, bool) or value < 1:
            raise ValueError(f"{name} must be a positive integer, got {value!r}.")


def _check_density(density):
    if not isinstance(density, Real) or not 0 < density <= 1:
        raise ValueError(f"density must be in (0, 1], got {density!r}.")


def _draw_rows(rng, probabilities, sizes):
    """For each row, ``sizes[i]`` distinct columns drawn with ``probabilities[i]``."""
    rows, cols = [], []
    for row, (p, size) in enumerate(zip(probabilities, sizes)):
        chosen = rng.choice(p.size, size=size, replace=False, p=p)
        rows.append(np.full(size, row))
        cols.append(chosen)
    return np.concatenate(rows), np.concatenate(cols)


def _preference_probabilities(rng, n_rows, n_cols, n_components, sharpness=3.0):
    """Rows of a softmax over a low-rank affinity: each row prefers a few latent groups."""
    row_factors = rng.dirichlet(np.full(n_components, 0.3), size=n_rows)
    col_factors = rng.dirichlet(np.full(n_components, 0.3), size=n_cols)
    logits = sharpness * n_components * row_factors @ col_factors.T
    logits -= logits.max(axis=1, keepdims=True)
    weights = np.exp(logits)
    return weights / weights.sum(axis=1, keepdims=True)


def make_interactions(
    n_users=200, n_items=100, *, n_components=5, density=0.05, as_frame=False, random_state=None
):
    """Implicit feedback with low-rank structure.

    Users and items get non-negative latent profiles over ``n_components`` groups; a user
    picks items with probability proportional to ``exp(affinity)``, so a rank-
    ``n_components`` model ranks held-out items far better than popularity. Every user has
    at least two distinct items.

    Parameters
    ----------
    n_users, n_items : int, default=200, 100
        Matrix shape.
    n_components : int, default=5
        Rank of the planted preferences.
    density : float in (0, 1], default=0.05
        Average share of items each user interacts with.
    as_frame : bool, default=False
        Return a log DataFrame (user_id, item_id, rating, timestamp) instead of a matrix.
        Ratings are 1 to 5 (higher for stronger affinity), timestamps increase within each
        user's history and interleave across users, so a global temporal split is meaningful.
    random_state : int, RandomState instance or None, default=None
        Seed.

    Returns
    -------
    X : scipy.sparse.csr_matrix of shape (n_users, n_items), or pandas.DataFrame
        Binary interactions.

    Examples
    --------
    >>> from recfactor.datasets import make_interactions
    >>> X = make_interactions(n_users=50, n_items=40, random_state=0)
    >>> X.shape, X.nnz
    ((50, 40), 100)
    """
    _check_positive(n_users=n_users, n_items=n_items, n_components=n_components)
    _check_density(density)
    if n_items < 2:
        raise ValueError(
            f"n_items must be at least 2 so that every user has two items, got {n_items}."
        )
    rng = check_random_state(random_state)
    probabilities = _preference_probabilities(rng, n_users, n_items, n_components)
    mean = max(density * n_items, 2.0)
    sizes = np.clip(rng.poisson(mean - 2, size=n_users) + 2, 2, n_items)
    rows, cols = _draw_rows(rng, probabilities, sizes)
    X = sp.csr_matrix((np.ones(rows.size), (rows, cols)), shape=(n_users, n_items))
    if not as_frame:
        return X
    affinity = probabilities[rows, cols] * n_items
    rating = np.clip(np.round(2.5 + np.log(affinity)), 1, 5).astype(np.int64)
    # Users start at random times and act at random intervals: histories interleave.
    start = rng.randint(0, 10_000, size=n_users)[rows]
    steps = rng.randint(1, 1_000, size=rows.size)
    elapsed = np.cumsum(steps)
    first = np.r_[0, np.flatnonzero(np.diff(rows)) + 1]  # rows come grouped by user
    elapsed -= np.repeat(elapsed[first] - steps[first], np.diff(np.r_[first, rows.size]))
    timestamp = start + elapsed
    return pd.DataFrame(
        {"user_id": rows, "item_id": cols, "rating": rating, "timestamp": timestamp}
    )


def make_item_features(
    n_items=300,
    n_features=60,
    n_users=200,
    *,
    n_informative=10,
    density=0.05,
    return_informative=False,
    random_state=None,
):
    """Item features that explain who interacts with an item, plus noise features.

    Items fall into ``n_informative`` latent groups; informative feature ``j`` flags the
    items of group ``j`` (with 10 % of flags flipped on and off), and users prefer a few
    groups. The other features are random flags with the same frequency, unrelated to use.

    Parameters
    ----------
    n_items, n_features, n_users : int, default=300, 60, 200
        Sizes.
    n_informative : int, default=10
        Number of informative features (and of latent groups); at most ``n_features``.
    density : float in (0, 1], default=0.05
        Average share of users who interact with an item.
    return_informative : bool, default=False
        Also return the boolean mask of informative features.
    random_state : int, RandomState instance or None, default=None
        Seed.

    Returns
    -------
    features : scipy.sparse.csr_matrix of shape (n_items, n_features)
        Binary item features (samples are items, as for the cold-start estimators).
    interactions : scipy.sparse.csr_matrix of shape (n_items, n_users)
        Binary item x user interactions (the ``y`` of a cold-start estimator).
    informative : ndarray of shape (n_features,) of bool
        Only with ``return_informative=True``; the informative features are shuffled among
        the noise features.

    Examples
    --------
    >>> from recfactor.datasets import make_item_features
    >>> F, Y = make_item_features(n_items=30, n_features=8, n_users=20, n_informative=3,
    ...                           random_state=0)
    >>> F.shape, Y.shape
    ((30, 8), (30, 20))
    """
    _check_positive(
        n_items=n_items, n_features=n_features, n_users=n_users, n_informative=n_informative
    )
    _check_density(density)
    if n_informative > n_features:
        raise ValueError(
            f"n_informative={n_informative} cannot exceed n_features={n_features}."
        )
    rng = check_random_state(random_state)
    groups = rng.randint(n_informative, size=n_items)
    flags = np.zeros((n_items, n_features), dtype=bool)
    columns = rng.permutation(n_features)
    informative = np.zeros(n_features, dtype=bool)
    informative[columns[:n_informative]] = True
    flags[np.arange(n_items), columns[groups]] = True
    flip = rng.random((n_items, n_informative)) < 0.1
    flags[:, columns[:n_informative]] ^= flip
    share = flags[:, columns[:n_informative]].mean()
    flags[:, columns[n_informative:]] = rng.random((n_items, n_features - n_informative)) < share
    user_taste = rng.dirichlet(np.full(n_informative, 0.3), size=n_users)
    affinity = np.exp(4.0 * n_informative * user_taste[:, groups] / n_informative)
    probabilities = (affinity / affinity.sum(axis=0, keepdims=True)).T
    sizes = np.clip(rng.poisson(max(density * n_users, 1.0), size=n_items), 1, n_users)
    rows, cols = _draw_rows(rng, probabilities, sizes)
    interactions = sp.csr_matrix((np.ones(rows.size), (rows, cols)), shape=(n_items, n_users))
    features = sp.csr_matrix(flags.astype(np.float64))
    if return_informative:
        return features, interactions, informative
    return features, interactions


def make_sequences(n_users=200, n_items=50, *, min_length=5, max_length=30, random_state=None):
    """User histories from a sparse first-order Markov chain.

    Each item has three likely successors (85 % of the transition mass) and a uniform
    remainder; starting items follow a skewed popularity. The most frequent successor of the
    last item predicts the next one far better than the most popular item does.
    Time and memory are linear in the catalogue and in the histories' total length (no
    items x items matrix), so large catalogues are cheap to simulate.

    Parameters
    ----------
    n_users, n_items : int, default=200, 50
        Number of sequences and size of the catalogue (at least 4 items).
    min_length, max_length : int, default=5, 30
        Bounds of each sequence's length, drawn uniformly.
    random_state : int, RandomState instance or None, default=None
        Seed.

    Returns
    -------
    sequences : list of ndarray of int64
        One history per user, oldest first.

    Examples
    --------
    >>> from recfactor.datasets import make_sequences
    >>> sequences = make_sequences(n_users=3, n_items=10, min_length=2, max_length=4,
    ...                            random_state=0)
    >>> [len(s) for s in sequences]
    [2, 4, 2]
    """
    _check_positive(n_users=n_users, n_items=n_items, min_length=min_length, max_length=max_length)
    if n_items < 4:
        raise ValueError(f"n_items must be at least 4, got {n_items}.")
    if min_length > max_length:
        raise ValueError(f"min_length={min_length} is larger than max_length={max_length}.")
    rng = check_random_state(random_state)
    successors = _three_other_items(rng, n_items)
    start = rng.zipf(1.5, size=n_users) % n_items
    lengths = rng.randint(min_length, max_length + 1, size=n_users)
    draws = [rng.random(length - 1) for length in lengths]
    sequences = [np.empty(length, dtype=np.int64) for length in lengths]
    for sequence, first in zip(sequences, start):
        sequence[0] = first
    for step in range(1, max_length):
        growing = [i for i, length in enumerate(lengths) if length > step]
        if not growing:
            break
        previous = np.array([sequences[i][step - 1] for i in growing])
        targets = np.array([draws[i][step - 1] for i in growing])
        for i, item in zip(growing, _next_items(successors[previous], targets, n_items)):
            sequences[i][step] = item
    return sequences


def _three_other_items(rng, n_items):
    """Three distinct items other than itself for every item, sorted: O(n_items) draws.

    Uniform over the triples: ranks drawn among the n - 1, n - 2, n - 3 items still free,
    each shifted past the ones already taken.
    """
    taken = []
    for free in (n_items - 1, n_items - 2, n_items - 3):
        offset = rng.randint(0, free, size=n_items)
        for earlier in np.sort(np.column_stack(taken), axis=1).T if taken else []:
            offset += offset >= earlier
        taken.append(offset)
    # Offsets 0..n-2 count the other items from the item itself onward.
    return np.sort((np.arange(n_items)[:, None] + 1 + np.column_stack(taken)) % n_items,
                   axis=1)


def _next_items(successors, targets, n_items):
    """Inverse of the transition CDF of each row at ``targets``, without the dense row.

    Row ``p``'s cumulative mass at item ``j`` is ``0.15 (j + 1) / n_items`` plus ``0.85 / 3``
    for each of its (sorted) ``successors`` up to ``j``: linear between successors, so the
    first ``j`` reaching the target is found segment by segment in O(1), not by searching a
    dense row of the ``n_items x n_items`` matrix (80 GB at 100,000 items).
    """
    found = np.full(len(targets), n_items - 1)
    bounds = np.column_stack([np.zeros(len(targets), dtype=np.int64), successors,
                              np.full(len(targets), n_items)])
    for passed in range(3, -1, -1):  # last segment first, so the first one found wins
        low, high = bounds[:, passed], bounds[:, passed + 1] - 1
        first = np.ceil((targets - 0.85 * passed / 3) * n_items / 0.15) - 1
        first = np.maximum(first, low)
        found = np.where(first <= high, first, found)
    return found.astype(np.int64)
    return sequences


def make_triples(n_entities=100, n_relations=5, n_triples=1000, *, random_state=None):
    """Knowledge-graph triples generated by relations between entity clusters.

    Entities fall into ``max(2, n_entities // 25)`` clusters. Each relation links a source
    cluster to a target cluster (every other relation is symmetric, linking a cluster to
    itself both ways), so the tail of a (head, relation) query is predictable from the
    head's cluster. Triples are distinct.

    Parameters
    ----------
    n_entities, n_relations, n_triples : int, default=100, 5, 1000
        Sizes; ``n_triples`` must be feasible given the clusters.
    random_state : int, RandomState instance or None, default=None
        Seed.

    Returns
    -------
    triples : ndarray of shape (n_triples, 3) of int64
        (head, relation, tail) rows.

    Examples
    --------
    >>> from recfactor.datasets import make_triples
    >>> make_triples(n_entities=20, n_relations=2, n_triples=30, random_state=0).shape
    (30, 3)
    """
    _check_positive(n_entities=n_entities, n_relations=n_relations, n_triples=n_triples)
    if n_entities < 4:
        raise ValueError(f"n_entities must be at least 4, got {n_entities}.")
    rng = check_random_state(random_state)
    n_clusters = max(2, n_entities // 25)
    cluster = rng.permutation(np.arange(n_entities) % n_clusters)
    members = [np.flatnonzero(cluster == c) for c in range(n_clusters)]
    source = rng.randint(n_clusters, size=n_relations)
    target = np.where(np.arange(n_relations) % 2 == 1, source,
                      rng.randint(n_clusters, size=n_relations))
    capacity = sum(members[s].size * members[t].size for s, t in zip(source, target))
    if n_triples > capacity // 2:
        raise ValueError(
            f"n_triples={n_triples} is too many for {n_entities} entities and {n_relations} "
            f"relations (at most {capacity // 2}); add entities or relations."
        )
    seen = set()
    triples = np.empty((n_triples, 3), dtype=np.int64)
    count = 0
    while count < n_triples:
        relation = int(rng.randint(n_relations))
        head = int(rng.choice(members[source[relation]]))
        tail = int(rng.choice(members[target[relation]]))
        if head == tail or (head, relation, tail) in seen:
            continue
        seen.add((head, relation, tail))
        triples[count] = head, relation, tail
        count += 1
    return triples
