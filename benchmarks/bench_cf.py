"""Cross-validate recfactor's collaborative-filtering models, and time the ALS wrapper.

Run: ``RECFACTOR_DATA=../shared/data python benchmarks/bench_cf.py``
(``--datasets 100k latest-small beauty``, ``--folds 5``, ``--repeats 5``).

Data: MovieLens-100K, MovieLens ml-latest-small and Amazon Beauty as preprocessed for
BERT4Rec (``load_sequences("beauty")``: 40,226 users, 54,542 items; each history becomes a
row of a user x item matrix). Every interaction counts as 1, whatever the rating: the task is
implicit feedback, as in the Beauty files, which have no ratings.

Protocol: users are the samples, so ``KFold(folds, shuffle=True, random_state=0)`` over the
rows holds out users. Each model is fitted on the training users' rows; each test user's row
is split by ``fold_in_split(holdout=0.2, random_state=0)``, the model recommends 10 unseen
items from the visible 80 % and the lists are judged against the hidden 20 %: NDCG@10 and
Recall@10 (hits / hidden items) averaged over the test users, Coverage@10 (share of the
catalogue in at least one test user's list). The table gives the mean over folds (NDCG also
its standard deviation over folds), the fit time and the time of ``recommend`` on a fold's
test users (which folds them in from their visible rows), both in seconds per fold.

Fixed hyper-parameters (``MODELS`` below, chosen once by hand on one ML-100K fold and kept
for every data set): PureSVD rank 32, EASE l2 200, ALS 64 factors, regularization 10,
alpha 1, 15 iterations, BPR 64 factors, learning rate 0.05, regularization 0.001,
100 epochs. EASE is skipped where the catalogue exceeds its ``max_items`` (Beauty). BPR is
seeded, so implicit trains it on one thread (see :class:`recfactor.decomposition.BPR`).

Two timings against ``implicit`` itself, with BLAS limited to one thread for every implicit
call, as the wrapper does:

- fit: ``recfactor.decomposition.ALS`` against ``implicit.cpu.als.AlternatingLeastSquares``
  with the same parameters and seed on the whole matrix, alternately, ``--repeats`` times
  each; the median times and their ratio (the wrapper's overhead).
- recommend (Beauty): top 10 unseen items for all its users from the same fitted factors.
  recfactor's ``recommend(X)`` folds every user in from their row (its samples are users),
  then selects; implicit's ``recommend(userids, X, N=10)`` looks the stored user factors up.
  Both are also timed doing the other's work: implicit with ``recalculate_user=True`` and
  recfactor's ``top_k`` on the stored factors.
"""

import argparse
import time

import implicit.cpu.als
import numpy as np
import pandas as pd
import scipy.sparse as sp
from sklearn.base import clone
from sklearn.model_selection import KFold
from threadpoolctl import threadpool_limits

from recfactor.datasets import load_movielens, load_sequences, make_interactions
from recfactor.decomposition import ALS, BPR, EASE, PureSVD
from recfactor.dummy import PopularityRecommender
from recfactor.metrics import coverage_at_k, ndcg_at_k, recall_at_k, top_k
from recfactor.model_selection import fold_in_split

K = 10
ALS_PARAMS = dict(rank=64, regularization=10.0, alpha=1.0, max_epochs=15)
MODELS = {
    "Popularity": PopularityRecommender(),
    "PureSVD": PureSVD(rank=32, random_state=0),
    "EASE": EASE(l2=200.0),
    "ALS": ALS(**ALS_PARAMS, device="cpu", random_state=0),
    "BPR": BPR(rank=64, learning_rate=0.05, regularization=0.001, max_epochs=100,
               device="cpu", random_state=0),
}
NAMES = {"100k": "MovieLens-100K", "latest-small": "MovieLens ml-latest-small",
         "beauty": "Amazon Beauty (BERT4Rec)"}


def load(name):
    """The user x item matrix of a data set, every interaction as 1."""
    if name == "beauty":
        sequences = load_sequences("beauty").sequences
        n_items = 1 + max(s.max() for s in sequences)
        rows = np.repeat(np.arange(len(sequences)), [s.size for s in sequences])
        X = sp.csr_matrix((np.ones(rows.size), (rows, np.concatenate(sequences))),
                          shape=(len(sequences), n_items))
    else:
        X = load_movielens(name).interactions.copy()
    # Duplicates were summed above; a repeat is still one interaction.
    X.data[:] = 1.0
    return X


def timed(function, *args, **kwargs):
    start = time.perf_counter()
    result = function(*args, **kwargs)
    return result, time.perf_counter() - start


def warm_up():
    """Compile the Numba kernels (top-k, metrics) before anything is timed."""
    X = make_interactions(n_users=200, n_items=100, random_state=0)
    for model in MODELS.values():
        model = clone(model).set_params(**({"rank": 8} if "rank" in model.get_params() else {}))
        recommended = model.fit(X).recommend(X, k=K)
        ndcg_at_k(X, recommended, K), recall_at_k(X, recommended, K)


def cross_validate(X, n_folds):
    folds = KFold(n_folds, shuffle=True, random_state=0).split(X)
    rows = []
    for fold, (train, test) in enumerate(folds):
        visible, hidden = fold_in_split(X[test], holdout=0.2, random_state=0)
        for name, model in MODELS.items():
            if isinstance(model, EASE) and X.shape[1] > model.max_items:
                continue
            model, fit_time = timed(clone(model).fit, X[train])
            recommended, recommend_time = timed(model.recommend, visible, k=K)
            rows.append({
                "model": name,
                "fold": fold,
                "NDCG@10": ndcg_at_k(hidden, recommended, K),
                "Recall@10": recall_at_k(hidden, recommended, K),
                "Coverage@10": coverage_at_k(recommended, X.shape[1], K),
                "fit s": fit_time,
                "recommend s": recommend_time,
            })
    results = pd.DataFrame(rows).groupby("model", sort=False)
    table = results.mean().drop(columns="fold")
    table.insert(1, "NDCG std", results["NDCG@10"].std())
    return table


def raw_als():
    """implicit's own CPU model with the wrapper's parameters and seed."""
    return implicit.cpu.als.AlternatingLeastSquares(
        factors=ALS_PARAMS["rank"], regularization=ALS_PARAMS["regularization"],
        alpha=ALS_PARAMS["alpha"], iterations=ALS_PARAMS["max_epochs"], random_state=0,
    )


def fit_overhead(X, repeats):
    """Median fit times of the wrapper and of raw implicit, run alternately."""
    wrapper_times, raw_times = [], []
    for repeat in range(repeats):
        # Alternate which goes first, so that neither always meets a warmer cache.
        for which in ("wrapper", "raw") if repeat % 2 == 0 else ("raw", "wrapper"):
            if which == "wrapper":
                model, elapsed = timed(clone(MODELS["ALS"]).fit, X)
                wrapper_times.append(elapsed)
            else:
                start = time.perf_counter()
                with threadpool_limits(1, user_api="blas"):
                    raw = raw_als()
                    raw.fit(X, show_progress=False)
                raw_times.append(time.perf_counter() - start)
    # Same parameters and seed: the same model, so the times are of the same work.
    assert np.allclose(model.item_factors_, raw.item_factors, atol=1e-5)
    return np.median(wrapper_times), np.median(raw_times)


def recommend_throughput(X, repeats):
    """Users per second of top-10 unseen items for every user, recfactor against implicit."""
    model = clone(MODELS["ALS"]).fit(X)
    raw = raw_als()
    raw.user_factors, raw.item_factors = model.user_factors_, model.item_factors_
    users = np.arange(X.shape[0])
    X32 = X.astype(np.float32)

    def implicit_recommend(recalculate_user):
        with threadpool_limits(1, user_api="blas"):
            return raw.recommend(users, X32, N=K, filter_already_liked_items=True,
                                 recalculate_user=recalculate_user)[0]

    methods = {
        ("recfactor ALS.recommend(X)", "fold-in + top-k"):
            lambda: model.recommend(X, k=K),
        ("implicit recommend(recalculate_user=True)", "fold-in + top-k"):
            lambda: implicit_recommend(True),
        ("recfactor top_k(user_factors_, exclude=X)", "top-k"):
            lambda: top_k(model.user_factors_, K, item_factors=model.item_factors_, exclude=X),
        ("implicit recommend(userids, X)", "top-k"):
            lambda: implicit_recommend(False),
    }
    lists, seconds = {}, {}
    for method, run in methods.items():
        times = []
        for _ in range(repeats):
            lists[method], elapsed = timed(run)
            times.append(elapsed)
        seconds[method] = np.median(times)
    table = pd.DataFrame(
        [{"method": method, "work": work, "seconds": seconds[method, work],
          "users/s": X.shape[0] / seconds[method, work]} for method, work in methods],
    ).set_index("method")
    # Each recfactor row against the implicit row doing the same work.
    implicit_users_per_s = table.groupby("work")["users/s"].transform("last")
    table["x implicit"] = table["users/s"] / implicit_users_per_s
    (ours_in, theirs_in), (ours, theirs) = list(lists.values())[:2], list(lists.values())[2:]
    agreement = {"fold-in + top-k": np.mean(ours_in == theirs_in),
                 "top-k": np.mean(ours == theirs)}
    return table, agreement


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--datasets", nargs="+", choices=list(NAMES), default=list(NAMES))
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--repeats", type=int, default=5,
                        help="timings per method in the comparisons with implicit")
    args = parser.parse_args()
    warm_up()
    overhead, throughput = [], None
    for name in args.datasets:
        X = load(name)
        print(f"\n## {NAMES[name]}: {X.shape[0]} users, {X.shape[1]} items, {X.nnz} "
              f"interactions, {args.folds} folds\n")
        if X.shape[1] > MODELS["EASE"].max_items:
            print(f"EASE skipped: {X.shape[1]} items is more than its max_items="
                  f"{MODELS['EASE'].max_items} (a dense {X.shape[1]}^2 float64 matrix would "
                  f"need {8 * X.shape[1] ** 2 / 1e9:.0f} GB).\n")
        start = time.perf_counter()
        print(cross_validate(X, args.folds).to_string(float_format="{:.4f}".format))
        print(f"\ncross-validation took {time.perf_counter() - start:.0f} s")
        wrapper, raw = fit_overhead(X, args.repeats)
        overhead.append({"data": NAMES[name], "recfactor ALS s": wrapper,
                         "implicit ALS s": raw, "ratio": wrapper / raw})
        if name == "beauty":
            throughput = recommend_throughput(X, args.repeats)
    print(f"\n## ALS fit on the whole matrix: recfactor against implicit "
          f"(median of {args.repeats})\n")
    print(pd.DataFrame(overhead).set_index("data").to_string(float_format="{:.3f}".format))
    if throughput is not None:
        table, agreement = throughput
        print(f"\n## Top-10 unseen items for all {NAMES['beauty']} users, ALS factors "
              f"(median of {args.repeats})\n")
        print(table.to_string(float_format="{:.2f}".format))
        print("identical list entries, recfactor vs implicit: " + ", ".join(
            f"{work} {share:.4f}" for work, share in agreement.items()))


if __name__ == "__main__":
    main()
