import numpy as np
import pytest

from recfactor.datasets import make_sequences
from recfactor.metrics import make_ranking_scorer, top_k
from recfactor.sequential._batching import seen_items

torch = pytest.importorskip("torch")

N_ITEMS = 40

# Small and fast: a few hundred gradient steps on a 40-item catalogue.
FAST = dict(embedding_dim=16, max_length=20, max_epochs=8, batch_size=32,
            learning_rate=2e-2, device="cpu", random_state=0)


@pytest.fixture(scope="session")
def fast():
    """Keyword arguments of a small model that trains in well under a second."""
    return dict(FAST)


@pytest.fixture(autouse=True, scope="module")
def one_torch_thread():
    """Tiny models run fastest on one thread, above all on a loaded machine.

    Numba's thread count is limited too, which also keeps ``top_k`` (``recommend``) on the
    caller's thread: after a ``recommend`` on two threads, the next fit in the process was
    once seen to run about 15 times slower on a 2-core machine with another job running
    (0.35 s against 11 s per 32 steps of the planted-chain BERT4Rec).
    """
    import numba

    threads, numba_threads = torch.get_num_threads(), numba.get_num_threads()
    torch.set_num_threads(1)
    numba.set_num_threads(1)
    yield
    torch.set_num_threads(threads)
    numba.set_num_threads(numba_threads)


@pytest.fixture(scope="session")
def histories():
    """Markov-chain histories: 240 to train on, 60 held-out users to test on."""
    sequences = make_sequences(n_users=300, n_items=N_ITEMS, random_state=0)
    return sequences[:240], sequences[240:]


@pytest.fixture(scope="session")
def rated(histories):
    """The Markov histories with a 1 (disliked) on 20 % of the interactions, 5 elsewhere."""
    rng = np.random.default_rng(0)
    train, test = histories
    return tuple([np.column_stack([s, np.where(rng.random(s.size) < 0.2, 1, 5)]) for s in part]
                 for part in (train, test))


def _softmax_cross_entropy(network, states, targets):
    """Mean of ``logsumexp(s W^T + b) - (s W_t + b_t)`` over the rows of ``states``."""
    weights = network.head.items.weight[1:network.head.n_items + 1]
    logits = states @ weights.T + network.head.bias
    return (torch.logsumexp(logits, 1) - logits[torch.arange(len(targets)), targets]).mean()


@pytest.fixture(scope="session")
def softmax_cross_entropy():
    """The reference full-softmax loss of a network's states, written out."""
    return _softmax_cross_entropy


class MostPopular:
    """Next-item baseline: the items most frequent in training, seen ones excluded."""

    def __init__(self, train):
        self.counts = np.bincount(np.concatenate(train), minlength=N_ITEMS).astype(float)

    def recommend(self, X, k=10):
        return top_k(np.tile(self.counts, (len(X), 1)), k, exclude=seen_items(X, N_ITEMS))


@pytest.fixture(scope="session")
def popularity_score(histories):
    train, test = histories
    return make_ranking_scorer("ndcg", 10, protocol="next-item")(MostPopular(train), test)
