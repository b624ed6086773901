"""
Quickstart: a recommender Pipeline tuned by GridSearchCV
========================================================

recfactor's estimators are scikit-learn estimators. For collaborative filtering a sample is a
user: ``X`` is the user x item matrix, ``KFold`` over its rows holds out users, and a model's
``score`` hides a fifth of each held-out user's items, recommends from the rest and computes
NDCG@10 against the hidden ones. So a weighting step and a model make an ordinary
``Pipeline``, and ``GridSearchCV`` tunes both.
"""

# %%
# The embedded MovieLens sample
# -----------------------------
# ``load_movielens()`` reads ``ml-latest-small``, which ships inside the package: ratings of
# 671 users, as a sparse user x item matrix, with the raw ids to map results back.
import matplotlib.pyplot as plt
import pandas as pd
from sklearn.feature_extraction.text import TfidfTransformer
from sklearn.model_selection import GridSearchCV, KFold

from recfactor.datasets import load_movielens
from recfactor.decomposition import PureSVD
from recfactor.dummy import PopularityRecommender
from recfactor.pipeline import make_pipeline
from recfactor.preprocessing import decode_ids

data = load_movielens()
X = data.interactions
print(f"{X.shape[0]} users x {X.shape[1]} items, {X.nnz} ratings")

# %%
# Tune the weighting and the rank together
# ----------------------------------------
# TF-IDF down-weights items that everybody rates, so that the SVD spends its rank on what
# tells users apart; whether that helps, and at which rank, is for the cross-validation to
# say.
pipe = make_pipeline(TfidfTransformer(), PureSVD(random_state=0))
grid = {"tfidftransformer__use_idf": [False, True], "puresvd__rank": [8, 16, 32, 64]}
cv = KFold(3, shuffle=True, random_state=0)
search = GridSearchCV(pipe, grid, cv=cv).fit(X)
print("best:", search.best_params_, f"NDCG@10 {search.best_score_:.4f}")

# %%
# The validation curves
# ---------------------
# Mean NDCG@10 of the held-out users over the folds against the rank, with and without the
# inverse document frequency, and the popularity baseline on the same folds.
results = pd.DataFrame(search.cv_results_)
popularity = GridSearchCV(PopularityRecommender(), {}, cv=cv).fit(X).best_score_
fig, ax = plt.subplots(figsize=(6, 4))
for use_idf, curve in results.groupby("param_tfidftransformer__use_idf"):
    ax.errorbar(curve["param_puresvd__rank"].astype(int), curve["mean_test_score"],
                yerr=curve["std_test_score"], marker="o", capsize=3,
                label="TF-IDF + PureSVD" if use_idf else "rows normalised, no idf + PureSVD")
ax.axhline(popularity, color="grey", linestyle="--", label="Popularity")
ax.set_xscale("log", base=2)
ax.set_xlabel("rank")
ax.set_ylabel("NDCG@10 of held-out users")
ax.set_title("PureSVD on ml-latest-small, 3-fold user cross-validation")
ax.legend()
fig.tight_layout()
plt.show()

# %%
# Recommend with the refitted best pipeline
# -----------------------------------------
# ``best_estimator_`` was refitted on every user. ``recfactor.pipeline.make_pipeline`` gives
# the pipeline its last step's ``recommend``, which weights the rows first. Any row can be
# folded in, whether its user was in the training data or not; ``decode_ids`` maps the item
# indices back to MovieLens movie ids.
top = search.best_estimator_.recommend(X[:3], k=5)
print(decode_ids(top, data.item_ids))
