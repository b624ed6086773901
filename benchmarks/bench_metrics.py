"""Time recfactor's top-k and NDCG@10 against scikit-learn and vectorised NumPy.

Run: ``python benchmarks/bench_metrics.py [--users 100000] [--items 10000]``. Every method
scores the same random factors in the same run; the table gives seconds and each peer's
time as a multiple of recfactor's. ``sklearn.metrics.ndcg_score`` needs the dense score
matrix and fully sorts each row, so it runs on the first ``--sklearn-users`` users and its
time is scaled to all users (per-user cost is constant); since it ranks the raw scores, it is
compared with recfactor's top-k plus NDCG.
"""

import argparse
import time

import numpy as np
import scipy.sparse as sp
from sklearn.metrics import ndcg_score

from recfactor.metrics import ndcg_at_k, top_k


def numpy_top_k(user_factors, item_factors, k, block_size=1024):
    """The usual NumPy recipe: a dense block of scores, argpartition, then sort the k."""
    out = np.empty((user_factors.shape[0], k), dtype=np.int64)
    for start in range(0, user_factors.shape[0], block_size):
        scores = user_factors[start:start + block_size] @ item_factors.T
        part = np.argpartition(-scores, k, axis=1)[:, :k]
        order = np.argsort(-np.take_along_axis(scores, part, axis=1), axis=1, kind="stable")
        out[start:start + block_size] = np.take_along_axis(part, order, axis=1)
    return out


def numpy_ndcg(relevant, recommended, k):
    """Vectorised binary NDCG@k over a CSR relevance matrix."""
    rows = np.arange(recommended.shape[0])[:, None]
    gains = np.asarray(relevant[rows, recommended[:, :k]].todense()) > 0
    discounts = 1 / np.log2(np.arange(2, k + 2))
    dcg = gains @ discounts
    n_relevant = np.minimum(np.diff(relevant.indptr), k)
    idcg = np.cumsum(discounts)[np.maximum(n_relevant - 1, 0)] * (n_relevant > 0)
    has = n_relevant > 0
    return float(np.mean(dcg[has] / idcg[has]))


def timed(function, *args, **kwargs):
    start = time.perf_counter()
    result = function(*args, **kwargs)
    return result, time.perf_counter() - start


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--users", type=int, default=100_000)
    parser.add_argument("--items", type=int, default=10_000)
    parser.add_argument("--factors", type=int, default=64)
    parser.add_argument("--sklearn-users", type=int, default=2_000)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    users = rng.standard_normal((args.users, args.factors))
    items = rng.standard_normal((args.items, args.factors))
    relevant = sp.random(args.users, args.items, density=5 / args.items, format="csr",
                         random_state=0)
    relevant.data[:] = 1
    top_k(users[:10], 10, item_factors=items)  # compile before timing
    ndcg_at_k(relevant[:10], top_k(users[:10], 10, item_factors=items), 10)

    ours, t_topk = timed(top_k, users, 10, item_factors=items)
    theirs, t_numpy = timed(numpy_top_k, users, items, 10)
    assert (ours == theirs).mean() > 0.999  # equal up to exact ties
    print(f"top-k (k=10) of {args.users} users x {args.items} items, {args.factors} factors")
    print("| method | seconds | x recfactor |\n|---|---|---|")
    print(f"| recfactor top_k | {t_topk:.2f} | 1.0 |")
    print(f"| NumPy argpartition | {t_numpy:.2f} | {t_numpy / t_topk:.1f} |")

    score, t_ours = timed(ndcg_at_k, relevant, ours, 10)
    reference, t_numpy = timed(numpy_ndcg, relevant, ours, 10)
    n = args.sklearn_users
    dense_scores = users[:n] @ items.T
    with_relevant = np.diff(relevant.indptr[: n + 1]) > 0
    _, t_sklearn = timed(ndcg_score, relevant[:n].toarray()[with_relevant],
                         dense_scores[with_relevant], k=10)
    t_sklearn *= args.users / n
    assert abs(score - reference) < 1e-9
    print(f"\nNDCG@10 of the same lists ({args.users} users)")
    print("| method | seconds | x recfactor |\n|---|---|---|")
    print(f"| recfactor ndcg_at_k | {t_ours:.3f} | 1.0 |")
    print(f"| NumPy vectorised | {t_numpy:.3f} | {t_numpy / t_ours:.1f} |")
    print(f"\nNDCG@10 from raw scores (ranking included), {args.users} users")
    print("| method | seconds | x recfactor |\n|---|---|---|")
    print(f"| recfactor top_k + ndcg_at_k | {t_topk + t_ours:.2f} | 1.0 |")
    print(f"| sklearn ndcg_score (scaled from {n} users) | {t_sklearn:.1f} | "
          f"{t_sklearn / (t_topk + t_ours):.0f} |")


if __name__ == "__main__":
    main()
