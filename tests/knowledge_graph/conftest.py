import numpy as np
import pytest

from recfactor.datasets import make_triples
from recfactor.metrics import filtered_ranks, mrr

N_ENTITIES, N_RELATIONS = 100, 4


@pytest.fixture(autouse=True, scope="session")
def single_torch_thread():
    """The tests' tensors are tiny: one thread avoids OpenMP's start-up cost, which on a
    shared CPU is larger than the work."""
    torch = pytest.importorskip("torch")
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="session")
def split():
    """Train, validation and test triples of a graph with 4 clusters of 25 entities."""
    triples = make_triples(
        n_entities=N_ENTITIES, n_relations=N_RELATIONS, n_triples=1200, random_state=0
    )
    order = np.random.RandomState(0).permutation(len(triples))
    return triples[order[:900]], triples[order[900:1000]], triples[order[1000:]]


@pytest.fixture(scope="session")
def reference_mrr():
    """Filtered realistic MRR of both queries of each test triple, by Python sets and
    recfactor.metrics, for scores ``scores_of(entity, relation)`` of every entity (reciprocal
    relations after the others)."""
    return _reference_mrr


def _reference_mrr(scores_of, train, test):
    answers = {}
    for h, r, t in np.concatenate([train, test]):
        answers.setdefault((h, r), set()).add(t)
        answers.setdefault((t, r + N_RELATIONS), set()).add(h)
    queries = [(h, r, t) for h, r, t in test] + [(t, r + N_RELATIONS, h) for h, r, t in test]
    scores = np.array([scores_of(e, r) for e, r, _ in queries])
    known = np.zeros_like(scores)
    for row, (e, r, _) in enumerate(queries):
        known[row, list(answers[(e, r)])] = 1
    return mrr(filtered_ranks(scores, np.array([a for _, _, a in queries]), known))
