"""HybridSVD's cold items on MovieLens-100K: the paper's projection against the former rule.

Run: ``RECFACTOR_DATA=../shared/data OPENBLAS_NUM_THREADS=1 python
benchmarks/bench_hybrid_cold.py --seed 0`` (``--folds 5``, ``--draws 3``, ``--run-folds 2``
for a quicker estimate).

Items are the samples, so ``KFold(folds, shuffle=True, random_state=seed)`` over items is
cold-item cross-validation. In each outer fold every model is tuned by ``GridSearchCV`` with
an inner cold-item ``KFold(3)`` on the training items (nine settings each) and scored on the
held-out items by NDCG@10 of each user's ranking of the cold items
(``make_ranking_scorer("ndcg", 10, protocol="cold-start")``, which orders tied scores at
random, so the order of MovieLens ids, which tracks popularity, never scores). Rows:

- random scores (mean of 5 draws): the popularity-free reference;
- similarity mass: every user ranks the cold items by their total cosine similarity to
  the training items (what the former HybridSVD rule follows);
- ContentKNN on all features;
- HybridSVD with the paper's least-squares cold start (``ridge`` 0.01 and the paper's 0)
  and with the former rule (``cold_start="similarity"``), on all features and on random
  5, 10 and 20 % subsets of them (``--draws`` subsets per share and fold).

The table gives the mean over the folds with its standard error, and the mean difference to
HybridSVD (least squares, all features) with the paired standard error of the per-fold
differences. ``rho mass`` is the Spearman correlation, over the cold items and averaged over
users, of the tuned model's scores with the similarity mass.
"""

import argparse
import time

import numpy as np
import pandas as pd
from scipy.stats import spearmanr
from sklearn.model_selection import GridSearchCV, KFold

from recfactor.datasets import load_movielens
from recfactor.decomposition import HybridSVD
from recfactor.decomposition._weighted_svd import scaled_rows
from recfactor.metrics import make_ranking_scorer
from recfactor.neighbors import ContentKNN

SHARES = (0.05, 0.10, 0.20)
NDCG = make_ranking_scorer("ndcg", 10, protocol="cold-start")
HYBRID_GRID = {"rank": [32, 64, 128], "alpha": [0.5, 0.8, 0.95]}
MODELS = {
    "ContentKNN": (ContentKNN(), {"n_neighbors": [50, 100, 400], "shrink": [0.0, 10.0, 100.0]}),
    "HybridSVD least squares": (HybridSVD(random_state=0), HYBRID_GRID),
    "HybridSVD least squares, ridge 0 (paper)": (HybridSVD(ridge=0.0, random_state=0),
                                                 HYBRID_GRID),
    "HybridSVD former rule": (HybridSVD(cold_start="similarity", random_state=0),
                              HYBRID_GRID),
}
SUBSET_MODELS = ("HybridSVD least squares", "HybridSVD former rule")
REFERENCE = "HybridSVD least squares, all features"


class _Fixed:
    def __init__(self, scores):
        self.scores = scores

    def predict(self, X):
        return self.scores


def _mass(F_train, F_test):
    return np.asarray((scaled_rows(F_test, "cosine") @ scaled_rows(F_train, "cosine").T)
                      .sum(axis=1)).ravel()


def _rho(scores, mass):
    return float(np.nanmean([spearmanr(scores[:, u], mass)[0]
                             for u in range(0, scores.shape[1], 10)]))


def tuned(name, F_train, Y_train, F_test, Y_test, mass):
    model, grid = MODELS[name]
    search = GridSearchCV(model, grid, cv=KFold(3, shuffle=True, random_state=0),
                          scoring=NDCG).fit(F_train, Y_train)
    best = search.best_estimator_
    return {"ndcg": NDCG(best, F_test, Y_test),
            "rho mass": _rho(best.predict(F_test), mass),
            "best": str(search.best_params_)}


def run(seed, n_folds, n_run, draws):
    data = load_movielens("100k")
    F = data.item_features.tocsr().astype(np.float64)
    Y = data.interactions.T.tocsr()
    n_features = F.shape[1]
    rows = []
    folds = KFold(n_folds, shuffle=True, random_state=seed).split(F)
    for fold, (train, test) in zip(range(n_run), folds):
        start = time.perf_counter()
        F_train, Y_train, F_test, Y_test = F[train], Y[train], F[test], Y[test]
        mass = _mass(F_train, F_test)
        random = np.mean([NDCG(_Fixed(np.random.RandomState(i).rand(
            test.size, Y.shape[1])), F_test, Y_test) for i in range(5)])
        rows.append({"model": "random scores", "fold": fold, "ndcg": random})
        tiny = np.random.RandomState(fold).rand(test.size, Y.shape[1]) * 1e-9
        rows.append({"model": "similarity mass", "fold": fold, "rho mass": 1.0,
                     "ndcg": NDCG(_Fixed(mass[:, None] + tiny), F_test, Y_test)})
        for name in MODELS:
            rows.append({"model": f"{name}, all features", "fold": fold,
                         **tuned(name, F_train, Y_train, F_test, Y_test, mass)})
        for share in SHARES:
            n_kept = max(1, round(share * n_features))
            for draw in range(draws):
                kept = np.random.RandomState(10_000 * draw + 100 * fold + seed).choice(
                    n_features, n_kept, replace=False)
                for name in SUBSET_MODELS:
                    result = tuned(name, F_train[:, kept], Y_train, F_test[:, kept], Y_test,
                                   mass)
                    rows.append({"model": f"{name}, random {share:.0%} of features",
                                 "fold": fold, "draw": draw, **result})
        print(f"seed {seed}: fold {fold + 1}/{n_run} done in "
              f"{time.perf_counter() - start:.0f} s", flush=True)
    return pd.DataFrame(rows)


def summary(frame):
    # subsets: average the draws within a fold first, so folds are the paired units
    per_fold = frame.groupby(["model", "fold"], sort=False)[["ndcg", "rho mass"]].mean()
    reference = per_fold.loc[REFERENCE, "ndcg"]
    lines = []
    for model in frame["model"].unique():
        values = per_fold.loc[model]
        n = len(values)
        diff = values["ndcg"] - reference.loc[values.index]
        error = values["ndcg"].std(ddof=1) / np.sqrt(n)
        lines.append({
            "model": model,
            "NDCG@10": f"{values['ndcg'].mean():.4f} ± {error:.4f}",
            "minus reference": f"{diff.mean():+.4f} ± {diff.std(ddof=1) / np.sqrt(n):.4f}",
            "rho mass": f"{values['rho mass'].mean():.3f}",
        })
    return pd.DataFrame(lines).set_index("model")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seed", type=int, default=0, help="seed of the outer KFold")
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--run-folds", type=int, default=None)
    parser.add_argument("--draws", type=int, default=3)
    parser.add_argument("--save", default=None, help="write the per-fold rows to this CSV")
    args = parser.parse_args()
    start = time.perf_counter()
    frame = run(args.seed, args.folds, args.run_folds or args.folds, args.draws)
    if args.save:
        frame.to_csv(args.save, index=False)
    print(f"\nMovieLens-100K cold items, KFold({args.folds}, shuffle=True, "
          f"random_state={args.seed}), {args.run_folds or args.folds} folds; mean ± SE over "
          f"folds; difference to '{REFERENCE}' ± paired SE")
    print(summary(frame).to_string())
    best = frame.dropna(subset=["best"]).query("model.str.endswith('all features')")
    print("\nchosen settings (all features):")
    print(best[["model", "fold", "best"]].to_string(index=False))
    print(f"\ntotal {time.perf_counter() - start:.0f} s")


if __name__ == "__main__":
    main()
