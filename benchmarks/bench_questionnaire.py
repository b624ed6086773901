"""A questionnaire for new users on MovieLens: which q items to ask about.

Run: ``RECFACTOR_DATA=../shared/data OPENBLAS_NUM_THREADS=1 python
benchmarks/bench_questionnaire.py`` (``--dataset 100k latest-small``, ``--folds 5``,
``--draws 5``).

Users are the samples, so ``KFold`` over users (shuffled, seed 0) makes each test fold's users
new. On the training users, :class:`~recfactor.feature_selection.ItemQuestionnaire` fits
PureSVD and chooses q = 5, 10, 20 questions by each strategy:

- ``maxvol``: rectangular maxvol at the default rank ``ceil(q / 2)`` (nothing tuned);
- ``maxvol, tuned rank``: the same with the rank chosen by an inner ``KFold(3)`` over the
  training users among 1, 2, 3, 5, 8, 10, 15, 20 (at most q);
- ``square maxvol``: rank = q, Representative Based Matrix Factorization (Liu et al. 2011);
- ``popular``: the q items with the most training users, rank tuned as above;
- ``random``: q items drawn among those with a training user, ``--draws`` draws (seeds
  0, 1, ...), each with its rank tuned as above; the fold's value is the mean over draws.

Every strategy predicts with the same least-squares representation ``C = V pinv(V_Q)``.
Each test user answers with their rating of each asked item (0 when unrated); the model
recommends 10 items that were not asked, judged against the user's other rated items
(binary relevance): NDCG@10 and Recall@10, averaged over the test users, then over folds.
A user who rated none of the asked items gets the most popular items. ``no questions`` is
that popularity ranking for everyone, judged against all their ratings. The paired standard
error of a difference is the standard deviation over folds of the per-fold difference,
divided by sqrt(folds).
"""

import argparse
import platform
import subprocess
import time

import numpy as np
import scipy
import sklearn
from sklearn.model_selection import GridSearchCV, KFold

from recfactor.datasets import load_movielens
from recfactor.dummy import PopularityRecommender
from recfactor.feature_selection import ItemQuestionnaire
from recfactor.metrics import ndcg_at_k, recall_at_k

QUESTIONS = (5, 10, 20)
RANKS = (1, 2, 3, 5, 8, 10, 15, 20)


def judge(quiz, X):
    """NDCG@10 and Recall@10 of ``quiz`` under its ``score`` protocol on the users of X."""
    relevant = (X != 0).astype(np.float64).tolil()
    relevant[:, quiz.questions_] = 0
    relevant = relevant.tocsr()
    relevant.eliminate_zeros()
    users = np.flatnonzero(np.diff(relevant.indptr))
    recommended = quiz.recommend(X[users], k=10)
    return ndcg_at_k(relevant[users], recommended, 10), recall_at_k(relevant[users],
                                                                     recommended, 10)


def tuned(estimator, train, q):
    """The estimator refitted on ``train`` at the rank an inner KFold(3) prefers."""
    ranks = [r for r in RANKS if r <= q]
    search = GridSearchCV(estimator, {"rank": ranks}, cv=KFold(3, shuffle=True, random_state=0))
    return search.fit(train).best_estimator_


def fold_results(train, test, q, draws):
    rows = {}
    quiz = ItemQuestionnaire(q, random_state=0).fit(train)
    rows["maxvol"] = judge(quiz, test)
    assert abs(rows["maxvol"][0] - quiz.score(test)) < 1e-12
    best = tuned(ItemQuestionnaire(q, random_state=0), train, q)
    rows["maxvol, tuned rank"] = (*judge(best, test), best.rank)
    rows["square maxvol"] = judge(ItemQuestionnaire(q, rank=q, random_state=0).fit(train), test)
    popular = tuned(ItemQuestionnaire(q, strategy="popular", random_state=0), train, q)
    rows["popular"] = (*judge(popular, test), popular.rank)
    results = [judge(tuned(ItemQuestionnaire(q, strategy="random", random_state=seed), train, q),
                     test) for seed in range(draws)]
    rows["random"] = tuple(np.mean(results, axis=0))
    return rows


def no_questions(train, test):
    """Popularity for every new user, judged against all their interactions."""
    model = PopularityRecommender().fit(train)
    relevant = (test != 0).astype(np.float64).tocsr()
    users = np.flatnonzero(np.diff(relevant.indptr))
    recommended = model.recommend(test[users] * 0, k=10)
    return ndcg_at_k(relevant[users], recommended, 10), recall_at_k(relevant[users],
                                                                     recommended, 10)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", nargs="+", default=["100k", "latest-small"])
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--draws", type=int, default=5)
    args = parser.parse_args()
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True,
                            text=True).stdout.strip()
    print(f"commit {commit}; Python {platform.python_version()}, NumPy {np.__version__}, "
          f"SciPy {scipy.__version__}, scikit-learn {sklearn.__version__}")
    for dataset in args.dataset:
        X = load_movielens(dataset).interactions
        start = time.perf_counter()
        folds = list(KFold(args.folds, shuffle=True, random_state=0).split(X))
        floor = np.array([no_questions(X[tr], X[te]) for tr, te in folds])
        print(f"\n{dataset}: {X.shape[0]} users, {X.shape[1]} items, {X.nnz} ratings; "
              f"{args.folds} folds of users, {args.draws} random draws")
        print(f"no questions (popularity): NDCG@10 {floor[:, 0].mean():.4f} "
              f"± {floor[:, 0].std(ddof=1) / np.sqrt(len(folds)):.4f}, Recall@10 "
              f"{floor[:, 1].mean():.4f} ± {floor[:, 1].std(ddof=1) / np.sqrt(len(folds)):.4f}")
        header = (f"{'q':>3}  {'strategy':<20}{'NDCG@10':>17}{'Recall@10':>17}"
                  f"{'ranks':>16}  vs best baseline (NDCG ratio, paired diff ± SE)")
        print(header)
        for q in QUESTIONS:
            per_fold = [fold_results(X[tr], X[te], q, args.draws) for tr, te in folds]
            names = list(per_fold[0])
            values = {name: np.array([fold[name][:2] for fold in per_fold]) for name in names}
            baselines = ["popular", "random"]
            best = max(baselines, key=lambda name: values[name][:, 0].mean())
            for name in names:
                ndcg, recall = values[name][:, 0], values[name][:, 1]
                se = np.sqrt(len(folds))
                ranks = ""
                if len(per_fold[0][name]) == 3:
                    ranks = ",".join(str(fold[name][2]) for fold in per_fold)
                elif name == "maxvol":
                    ranks = f"{-(-q // 2)}"
                elif name == "square maxvol":
                    ranks = f"{q}"
                else:
                    ranks = "tuned"
                compare = ""
                if name not in baselines:
                    diff = ndcg - values[best][:, 0]
                    compare = (f"{ndcg.mean() / values[best][:, 0].mean():.3f} x {best}, "
                               f"{diff.mean():+.4f} ± {diff.std(ddof=1) / se:.4f}")
                print(f"{q:>3}  {name:<20}{ndcg.mean():>9.4f} ± {ndcg.std(ddof=1) / se:.4f}"
                      f"{recall.mean():>9.4f} ± {recall.std(ddof=1) / se:.4f}"
                      f"{ranks:>16}  {compare}", flush=True)
        print(f"({dataset}: {time.perf_counter() - start:.1f} s)")


if __name__ == "__main__":
    main()
