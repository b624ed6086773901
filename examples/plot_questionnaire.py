"""
A questionnaire for new users
=============================

A new user has no history, so a collaborative model has nothing to recommend from. Rating
elicitation asks them about a few items first.
:class:`~recfactor.feature_selection.ItemQuestionnaire` picks those items by rectangular
maxvol over the item factors of a PureSVD model (Fonarev et al., ICDM 2016): the items whose
factors span the largest volume, so that every other item is a small combination of them.
The answers then give scores of every item through these combinations.

Here the questionnaire is compared, on the ml-latest-small ratings embedded in recfactor,
with asking about the most popular items or about random ones (the same predictor for all),
as the number of questions grows.
"""

# %%
# New users are held-out users
# ----------------------------
# Users are the samples, so ``KFold`` over users makes each test fold's users new. A test
# user answers with their rating of each asked movie (0 when they did not rate it), and
# ``score`` judges the 10 recommended movies, none of them asked, against the user's other
# ratings (NDCG@10).
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from sklearn.model_selection import KFold

import recfactor.datasets
from recfactor.datasets import load_movielens
from recfactor.feature_selection import ItemQuestionnaire

data = load_movielens("latest-small")
X = data.interactions
print(f"{X.shape[0]} users, {X.shape[1]} movies, {X.nnz} ratings")
folds = list(KFold(3, shuffle=True, random_state=0).split(X))


def mean_score(n_questions, strategy, seed=0):
    return np.mean([
        ItemQuestionnaire(n_questions, strategy=strategy, random_state=seed)
        .fit(X[train]).score(X[test]) for train, test in folds
    ])


questions = [2, 5, 10, 15, 20, 30]
curves = {
    "maxvol": [mean_score(q, "maxvol") for q in questions],
    "most popular": [mean_score(q, "popular") for q in questions],
    "random (mean of 3 draws)": [np.mean([mean_score(q, "random", seed) for seed in range(3)])
                                 for q in questions],
}

# %%
# NDCG@10 against the number of questions
# ---------------------------------------
fig, ax = plt.subplots(figsize=(7, 4))
for name, curve in curves.items():
    ax.plot(questions, curve, marker="o", label=name)
ax.set_xlabel("number of questions")
ax.set_ylabel("NDCG@10 of new users")
ax.legend()
fig.tight_layout()

# %%
# The questions themselves
# ------------------------
# The first questions of maxvol, fitted on every user, next to the most popular movies:
# maxvol trades some popularity (how likely a user can answer) for diversity (how much an
# answer tells about the other movies).
# (The titles are in the ``movies.csv.gz`` that ships with recfactor.)
movies = Path(recfactor.datasets.__file__).parent / "data" / "ml-latest-small" / "movies.csv.gz"
titles = pd.read_csv(movies).set_index("movieId")["title"]
quiz = ItemQuestionnaire(10, random_state=0).fit(X)
popular = ItemQuestionnaire(10, strategy="popular").fit(X)
print(f"{'maxvol':>40} | most popular")
for mine, theirs in zip(quiz.questions_, popular.questions_):
    left, right = titles[data.item_ids[mine]][:38], titles[data.item_ids[theirs]][:38]
    print(f"{left:>40} | {right}")
plt.show()
