"""
Tune ALS with GridSearchCV
==========================

:class:`~recfactor.decomposition.ALS` wraps the ``implicit`` package's alternating least
squares in the scikit-learn surface, so it is tuned like any estimator. Users are the
samples: ``KFold`` over the rows of the user x item matrix holds out users, and the fold-in
scorer hides 20 % of each held-out user's items, lets the model recommend from the rest and
judges the top 10 against the hidden ones. Two parameters matter most for implicit feedback:
the ``regularization`` of the factors and ``alpha``, the weight of an observed interaction
against the unobserved ones.
"""

# %%
# Implicit feedback from the embedded MovieLens sample
# ----------------------------------------------------
# Every rating of ``ml-latest-small`` becomes a 1: the task is to find what a user watches,
# not how they rate it.
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from sklearn.model_selection import GridSearchCV, KFold

from recfactor.datasets import load_movielens
from recfactor.decomposition import ALS, PureSVD
from recfactor.dummy import PopularityRecommender
from recfactor.metrics import make_ranking_scorer

X = load_movielens().interactions.copy()
X.data[:] = 1.0
print(f"{X.shape[0]} users, {X.shape[1]} items, {X.nnz} interactions")

# %%
# The grid search
# ---------------
# Three folds of users, 15 candidates. ALS is seeded, so every candidate starts from the
# same factors and the curves compare parameters, not luck.
ndcg = make_ranking_scorer("ndcg", k=10, protocol="fold-in")
cv = KFold(3, shuffle=True, random_state=0)
grid = {"regularization": [0.3, 1.0, 3.0, 10.0, 30.0], "alpha": [0.3, 1.0, 3.0]}
search = GridSearchCV(ALS(rank=64, max_epochs=15, device="cpu", random_state=0),
                      grid, scoring=ndcg, cv=cv).fit(X)
print("best:", search.best_params_, f"NDCG@10 {search.best_score_:.4f}")

# %%
# The validation curve
# --------------------
# Mean NDCG@10 over the folds, with one standard deviation shaded, against the
# regularization, one curve per ``alpha``; the dashed lines are two models with nothing to
# tune in this grid, scored on the same folds.
results = pd.DataFrame(search.cv_results_)
fig, ax = plt.subplots(figsize=(6, 4))
for alpha, curve in results.groupby("param_alpha"):
    regularization = curve["param_regularization"].astype(float)
    mean, std = curve["mean_test_score"], curve["std_test_score"]
    ax.plot(regularization, mean, marker="o", label=f"ALS, alpha={alpha:g}")
    ax.fill_between(regularization, mean - std, mean + std, alpha=0.2)
for name, model in {"PureSVD, rank 32": PureSVD(32, random_state=0),
                    "Popularity": PopularityRecommender()}.items():
    score = np.mean([ndcg(model.fit(X[train]), X[test]) for train, test in cv.split(X)])
    ax.axhline(score, linestyle="--", color="grey" if name == "Popularity" else "black",
               label=name)
ax.set_xscale("log")
ax.set_xlabel("regularization")
ax.set_ylabel("NDCG@10 of held-out users")
ax.set_title("ALS on ml-latest-small, 3-fold user cross-validation")
ax.legend(fontsize="small")
fig.tight_layout()

plt.show()

# %%
# The best model is refitted on all users and recommends for any user row, seen in
# training or not.
print(search.best_estimator_.recommend(X[:3], k=5))
