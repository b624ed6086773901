"""The recfactor demo: ``python -m recfactor``.

Loads a MovieLens data set (the embedded ml-latest-small by default), holds out a fifth of the
users, fits each model on the rest, and scores the held-out users by fold-in: a fifth of each
held-out user's ratings is hidden and the model recommends from the remainder.
"""

import argparse
import time

import numpy as np
import pandas as pd
from sklearn.model_selection import train_test_split
from tqdm.auto import tqdm

from .datasets import load_movielens
from .decomposition import ALS, BPR, PureSVD
from .dummy import PopularityRecommender
from .metrics import coverage_at_k, hit_rate_at_k, ndcg_at_k, recall_at_k, top_k
from .model_selection import fold_in_split

MODELS = {
    "Popularity": lambda seed: PopularityRecommender(),
    "PureSVD (rank 32)": lambda seed: PureSVD(rank=32, random_state=seed),
    # The settings of benchmarks/bench_cf.py, tuned once on MovieLens-100K.
    "ALS (rank 64)": lambda seed: ALS(rank=64, regularization=10.0, alpha=1.0, max_epochs=15,
                                      random_state=seed),
    "BPR (rank 64)": lambda seed: BPR(rank=64, learning_rate=0.05, regularization=0.001,
                                      max_epochs=100, random_state=seed),
}


def evaluate(models, data, *, k=10, random_state=0, verbose=1):
    """Fit each model on 80 % of the users and score the rest by fold-in; one row per model."""
    X = data.interactions
    train_users, test_users = train_test_split(
        np.arange(X.shape[0]), test_size=0.2, random_state=random_state
    )
    visible, hidden = fold_in_split(X[test_users], holdout=0.2, random_state=random_state)
    scored = np.flatnonzero(np.diff(hidden.indptr))
    visible, hidden = visible[scored], hidden[scored]
    # Compile (or load from Numba's cache) the top-k kernel before any clock starts, for
    # float64 scores (Popularity, PureSVD) and float32 ones (ALS, BPR): otherwise the first
    # float32 model's recommend would include a compile, once per machine.
    for dtype in (np.float64, np.float32):
        top_k(np.zeros((1, 1), dtype=dtype), 1)
    rows = []
    for name, make in tqdm(models.items(), desc="models", disable=not verbose):
        model = make(random_state)
        start = time.perf_counter()
        model.fit(X[train_users])
        fitted = time.perf_counter()
        top = model.recommend(visible, k=k)
        recommended = time.perf_counter()
        rows.append(
            {
                "model": name,
                f"NDCG@{k}": ndcg_at_k(hidden, top, k),
                f"HR@{k}": hit_rate_at_k(hidden, top, k),
                f"Recall@{k}": recall_at_k(hidden, top, k),
                f"Coverage@{k}": coverage_at_k(top, X.shape[1], k),
                "fit (s)": fitted - start,
                "recommend (s)": recommended - fitted,
            }
        )
    return pd.DataFrame(rows).set_index("model")


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m recfactor", description=__doc__.split("\n")[0])
    parser.add_argument(
        "--dataset",
        default="latest-small",
        choices=["latest-small", "100k", "1m"],
        help="MovieLens variant; only latest-small is embedded, the others are read from "
        "RECFACTOR_DATA (default: %(default)s)",
    )
    parser.add_argument("-k", type=int, default=10, help="list length (default: %(default)s)")
    parser.add_argument("--seed", type=int, default=0, help="random seed (default: %(default)s)")
    args = parser.parse_args(argv)

    data = load_movielens(args.dataset)
    X = data.interactions
    print(
        f"MovieLens {args.dataset}: {X.shape[0]} users, {X.shape[1]} items, {X.nnz} ratings, "
        f"{data.item_features.shape[1]} item features"
    )
    table = evaluate(MODELS, data, k=args.k, random_state=args.seed)
    with pd.option_context("display.float_format", "{:.4f}".format):
        print(table.to_string())
    return table


if __name__ == "__main__":
    main()
