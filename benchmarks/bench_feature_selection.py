"""Cold-start feature selection on MovieLens: which item features to keep.

Run: ``RECFACTOR_DATA=../shared/data python benchmarks/bench_feature_selection.py``
(``--dataset 100k latest-small``, ``--folds 5``, ``--run-folds 2`` to evaluate only the
first folds of the 5, for a quicker estimate).

Items are the samples, so ``KFold`` over items is cold-item cross-validation: each outer
fold's items are unseen in training. For every selector and budget (5, 10 and 20 % of the
features, and all of them), the selector is fitted on the training items once (its
``ranking_`` serves every budget), then each downstream model (ContentKNN, HybridSVD) is
tuned by ``GridSearchCV`` with an inner cold-item ``KFold(3)`` on the training items and
scored on the held-out items: NDCG@10 and Recall@10 of each user's ranking of the cold
items, averaged over users and then over the outer folds. Fit time is the selector's alone.
"""

import argparse
import time

import numpy as np
import pandas as pd
from sklearn.feature_selection import f_regression
from sklearn.model_selection import GridSearchCV, KFold

from recfactor.datasets import load_movielens
from recfactor.decomposition import HybridSVD
from recfactor.feature_selection import (
    CollaborativeMaxVolSelector,
    FeatureFrequencySelector,
    MaxVolSelector,
    RandomSelector,
)
from recfactor.metrics import make_ranking_scorer
from recfactor.neighbors import ContentKNN

SHARES = (0.05, 0.10, 0.20)
# Dimension of the feature embedding of the maxvol selectors: the paper's smallest (64),
# or about half the features when there are few.
SELECTOR_RANK = {"100k": 64, "latest-small": 32}
MODELS = {
    "ContentKNN": (ContentKNN(), {"n_neighbors": [20, 50, 100], "shrink": [0.0, 10.0]}),
    "HybridSVD": (HybridSVD(random_state=0), {"rank": [16, 64], "alpha": [0.2, 0.5, 0.8]}),
}
SCORERS = {
    "NDCG@10": make_ranking_scorer("ndcg", 10, protocol="cold-start"),
    "Recall@10": make_ranking_scorer("recall", 10, protocol="cold-start"),
}


class _PopularityRegression:
    """scikit-learn's univariate selection where it applies: ``f_regression`` of each
    feature against the item's popularity (``SelectKBest`` takes a 1-D target only)."""

    def fit(self, X, Y):
        popularity = np.diff(Y.indptr).astype(float)
        scores, _ = f_regression(X, popularity)
        self.ranking_ = np.argsort(-np.nan_to_num(scores, nan=-np.inf), kind="stable")
        return self


def selectors(rank, n_features):
    largest = max(1, round(max(SHARES) * n_features))
    return {
        "collaborative maxvol": CollaborativeMaxVolSelector(largest, rank=rank, random_state=0),
        "maxvol": MaxVolSelector(largest, rank=rank, random_state=0),
        "f_regression on popularity": _PopularityRegression(),
        "most frequent": FeatureFrequencySelector(largest),
        "rarest": FeatureFrequencySelector(largest, rarest=True),
        "random": RandomSelector(largest, random_state=0),
    }


def evaluate(F_train, Y_train, F_test, Y_test):
    """Tune each model on the training items, score it on the held-out ones."""
    results = {}
    for name, (model, grid) in MODELS.items():
        search = GridSearchCV(model, grid, cv=KFold(3, shuffle=True, random_state=0),
                              scoring=SCORERS["NDCG@10"]).fit(F_train, Y_train)
        for metric, scorer in SCORERS.items():
            results[(name, metric)] = scorer(search.best_estimator_, F_test, Y_test)
    return results


def run(dataset, n_folds, n_run):
    data = load_movielens(dataset)
    F = data.item_features.tocsr()
    Y = data.interactions.T.tocsr()
    n_features = F.shape[1]
    rows = []
    folds = KFold(n_folds, shuffle=True, random_state=0).split(F)
    for fold, (train, test) in zip(range(n_run), folds):
        F_train, Y_train, F_test, Y_test = F[train], Y[train], F[test], Y[test]
        rows.append({"selector": "all features", "share": 1.0, "fold": fold, "fit_s": 0.0,
                     **evaluate(F_train, Y_train, F_test, Y_test)})
        for name, selector in selectors(SELECTOR_RANK[dataset], n_features).items():
            start = time.perf_counter()
            ranking = selector.fit(F_train, Y_train).ranking_
            fit_time = time.perf_counter() - start
            for share in SHARES:
                kept = ranking[:max(1, round(share * n_features))]
                rows.append({"selector": name, "share": share, "fold": fold, "fit_s": fit_time,
                             **evaluate(F_train[:, kept], Y_train, F_test[:, kept], Y_test)})
        print(f"{dataset}: fold {fold + 1}/{n_run} done", flush=True)
    table = pd.DataFrame(rows).groupby(["share", "selector"], sort=False).mean()
    table = table.drop(columns="fold").sort_index(level="share", sort_remaining=False)
    table.columns = [" ".join(c) if isinstance(c, tuple) else c for c in table.columns]
    print(f"\n{dataset}: {F.shape[0]} items x {n_features} features, {Y.shape[1]} users, "
          f"{n_folds}-fold cold-item CV (means over the {n_run} folds run)")
    print(table.to_string(float_format="{:.4f}".format))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--dataset", nargs="+", default=["100k", "latest-small"],
                        choices=sorted(SELECTOR_RANK))
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--run-folds", type=int, default=None,
                        help="evaluate only the first folds (default: all)")
    args = parser.parse_args()
    start = time.perf_counter()
    for dataset in args.dataset:
        run(dataset, args.folds, args.run_folds or args.folds)
    print(f"\ntotal {time.perf_counter() - start:.0f} s")


if __name__ == "__main__":
    main()
