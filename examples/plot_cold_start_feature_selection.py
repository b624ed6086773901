"""
Fewer item features for cold-start recommendation
=================================================

A new item has no interactions, only features, and a cold-start model ranks it for users
through those features. Many features are noise.
:class:`~recfactor.feature_selection.CollaborativeMaxVolSelector` keeps the features that
explain who interacts with the items (hybrid factorization of the features in a
collaborative item similarity, then rectangular maxvol). Here it is compared with
unsupervised maxvol, random features and the most or least frequent ones, by the accuracy of
a :class:`~recfactor.neighbors.ContentKNN` on cold items.
"""

# %%
# Items with a few informative features among many noisy ones
# -----------------------------------------------------------
# Items are the samples: ``X`` holds their features and ``y`` their interactions with users,
# so ``KFold`` over items holds out cold items.
import matplotlib.pyplot as plt
import numpy as np
from sklearn.model_selection import KFold

from recfactor.datasets import make_item_features
from recfactor.feature_selection import (
    CollaborativeMaxVolSelector,
    FeatureFrequencySelector,
    MaxVolSelector,
    RandomSelector,
)
from recfactor.metrics import make_ranking_scorer
from recfactor.neighbors import ContentKNN

F, Y, informative = make_item_features(n_items=1500, n_features=200, n_users=400,
                                       n_informative=10, density=0.1,
                                       return_informative=True, random_state=0)
print(f"{F.shape[0]} items, {F.shape[1]} features ({informative.sum()} informative), "
      f"{Y.shape[1]} users")

# %%
# Cold-item cross-validation at several budgets
# ---------------------------------------------
# Each selector is fitted on the training items of a fold, the model on the features it
# keeps, and every user ranks the held-out (cold) items.
shares = [0.02, 0.05, 0.1, 0.2, 0.5]  # 4 to 100 of the 200 features
selectors = {
    "collaborative maxvol": lambda n: CollaborativeMaxVolSelector(n, rank=min(n, 10),
                                                                  random_state=0),
    "maxvol": lambda n: MaxVolSelector(n, rank=min(n, 10), random_state=0),
    "random": lambda n: RandomSelector(n, random_state=0),
    "most frequent": lambda n: FeatureFrequencySelector(n),
    "rarest": lambda n: FeatureFrequencySelector(n, rarest=True),
}
ndcg = make_ranking_scorer("ndcg", 10, protocol="cold-start")
folds = list(KFold(3, shuffle=True, random_state=0).split(F))


def cold_start_ndcg(make_selector=None, n_features=None):
    scores = []
    for train, test in folds:
        F_train, F_test = F[train], F[test]
        if make_selector is not None:
            selector = make_selector(n_features).fit(F_train, Y[train])
            F_train, F_test = selector.transform(F_train), selector.transform(F_test)
        model = ContentKNN(n_neighbors=50).fit(F_train, Y[train])
        scores.append(ndcg(model, F_test, Y[test]))
    return np.mean(scores)


curves = {name: [cold_start_ndcg(make, max(1, round(share * F.shape[1]))) for share in shares]
          for name, make in selectors.items()}
all_features = cold_start_ndcg()

# %%
# NDCG@10 against the share of features kept
# ------------------------------------------
fig, ax = plt.subplots(figsize=(7, 4))
for name, curve in curves.items():
    ax.plot(shares, curve, marker="o", label=name)
ax.axhline(all_features, color="grey", linestyle="--", label="all features")
ax.set_xscale("log")
ax.minorticks_off()
ax.set_xticks(shares, [f"{share:.0%}" for share in shares])
ax.set_xlabel("share of the features kept")
ax.set_ylabel("NDCG@10 on cold items")
ax.legend()
fig.tight_layout()

# %%
# Which features were kept?
# -------------------------
# At the budget of the informative features, the share of them each selector found.
n_informative = int(informative.sum())
for name, make in selectors.items():
    support = make(n_informative).fit(F, Y).get_support()
    print(f"{name:>22}: {informative[support].sum()} of {n_informative} informative")
plt.show()
