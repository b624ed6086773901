"""
Leave-last-out or a global temporal split? Audit them
=====================================================

Two splits of the same MovieLens log give a model two different tasks. Leave-last-out (the
SASRec / BERT4Rec protocol) tests each user's last interaction, whenever it happened, so the
model trains on interactions from after the test ones. A global temporal split tests what
happens after one moment, as a deployed model meets its data. Here
:func:`~recfactor.model_selection.audit_split` measures the difference, and
:func:`~recfactor.metrics.cold_start_curve` measures from how many interactions on an item a
model starts to find it.
"""

# %%
# Two splits of one log
# ---------------------
# The embedded ``ml-latest-small`` log (671 users, 100,004 ratings, 1995 to 2016).
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from recfactor.datasets import load_movielens
from recfactor.model_selection import (
    audit_split,
    compare_splits,
    describe_interactions,
    global_temporal_split,
    leave_last_out,
)

movielens = load_movielens()
log = movielens.frame
print(describe_interactions(log)[["n_users", "n_items", "n_interactions",
                                  "timestamp_collision_share"]])

splits = {
    "leave-last-out": leave_last_out(log),
    "global temporal": global_temporal_split(log, quantile=0.9, validation="by_time"),
}

# %%
# Side by side
# ------------
# Each check has a value and a status from documented thresholds
# (``recfactor.model_selection._audit.THRESHOLDS``). Leave-last-out leaks: most of its test
# interactions are older than the last training interaction with the same movie.
with pd.option_context("display.width", 120, "display.precision", 3):
    print(compare_splits(splits))

# %%
# When the test happens
# ---------------------
# The timestamps of each part. Under leave-last-out, training and test cover the same
# twenty years; under the global split, the test starts where training ends.
fig, axes = plt.subplots(2, 1, figsize=(8, 5), sharex=True)
years = {name: [pd.to_datetime(part.timestamp, unit="s") for part in parts]
         for name, parts in splits.items()}
for ax, (name, (train, validation, test)) in zip(axes, years.items()):
    bins = pd.date_range("1995", "2017", freq="QS")
    ax.hist([train, validation, test], bins=bins, stacked=True,
            label=["train", "validation", "test"])
    ax.set_yscale("log")
    ax.set_title(name)
    ax.legend(loc="upper left")
axes[-1].set_xlabel("time of the interaction")
fig.tight_layout()

# %%
# Is the validation set like the test set?
# ----------------------------------------
# Tuning on a validation set is tuning for its targets. The reports compare the validation
# and test targets' time gaps (since the user's previous interaction) and positions in the
# user's history, with two-sample Kolmogorov-Smirnov statistics.
fig, axes = plt.subplots(2, 2, figsize=(10, 7))
for row, (name, (train, validation, test)) in zip(axes, splits.items()):
    audit_split(train, test, validation=validation).plot(axes=row)
    row[0].set_ylabel(name)
fig.tight_layout()

# %%
# The cold-start threshold of the data
# ------------------------------------
# How often a model finds a hidden movie, by the number of training users who rated that
# movie: PureSVD fitted on 80 % of the users, evaluated by fold-in on the other 20 %.
from recfactor.decomposition import PureSVD  # noqa: E402
from recfactor.dummy import PopularityRecommender  # noqa: E402
from recfactor.metrics import cold_start_curve  # noqa: E402

X = movielens.interactions
users = np.random.RandomState(0).permutation(X.shape[0])
X_train, X_test = X[users[:536]], X[users[536:]]
edges = [0, 1, 2, 5, 10, 20, 50, 100, 200, 400]
fig, ax = plt.subplots(figsize=(7, 3.5))
for model in (PopularityRecommender(), PureSVD(rank=32, random_state=0)):
    curve = cold_start_curve(model.fit(X_train), X_train, X_test, k=10, bins=edges)
    ax.plot(curve.low, curve["recall@10"], marker="o", label=type(model).__name__)
ax.set_xscale("symlog")
ax.set_xlabel("training interactions of the hidden movie (group's lower bound)")
ax.set_ylabel("share found in the top 10")
ax.legend()
fig.tight_layout()
plt.show()
