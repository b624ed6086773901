"""The sequential research variants against plain SASRec: tuned alike, several seeds.

Run: ``RECFACTOR_DATA=../shared/data python benchmarks/bench_sequential_variants.py
--dataset 100k`` (``--dataset latest-small``, ``--arms kernel BT PNFRec``, ``--seeds 0 1 2``,
``--epochs 20``, ``--threads 1``, ``--results FILE``). Every fit is appended to the results
file (JSON lines, by default ``variants-DATASET.jsonl`` in the working directory) and read
back on the next run, so a long run can be stopped and resumed, and arms added later.

Protocol: leave-last-out (``recfactor.model_selection.leave_last_out``) on MovieLens-100K or
ml-latest-small, each user's ratings ordered by time, or on the ML-1M file of
``bench_sequential.py`` (no ratings, so no PNFRec arms). Every model trains on the histories
without their last two items for ``--epochs`` epochs (no early stopping), with the settings
of ``bench_sequential.py`` (embedding 64, 2 blocks, 1 head, max length 200, dropout 0.1,
Adam, batch 128, full-softmax cross-entropy). From one fit it is judged twice, every item
ranked and the history's items excluded: on the validation item (the second-to-last, from
the items before it) and on the test item (the last, from the items before it).

Tuning, the same budget for every arm: three settings of the arm's own hyper-parameter are
fitted with the first seed, and the one with the best validation NDCG@10 is fitted with the
other seeds. The test metrics of that setting are reported as mean and standard error over
the seeds, and the difference from SASRec is paired by seed (same split, same seed):
"shown" when it exceeds twice its standard error. With ``--settings-from FILE`` the
settings selected in the results file of another data set are fitted with every seed
instead: how the choices carry to data they were not made on.

Arms (``--arms``):

- ``SASRec``: the baseline, learning rate 5e-4, 1e-3 or 2e-3.
- ``kernel``: ``positional="kernel"`` (PASA), learning rate 5e-4, 1e-3 or 2e-3.
- ``no-positions``: ``positional="none"``, the ablation of the kernel: how much the order
  of a history tells at all; learning rate 5e-4, 1e-3 or 2e-3.
- ``BT``: ``barlow_twins_weight`` 0.05, 0.2 or 0.8 (BT-SR; ``barlow_twins_lambda=0.05``), at
  the learning rate selected for SASRec.
- ``SASRec-liked``: SASRec trained on and reading the liked items only (rating >= 4; the
  PNFRec paper's ``SASRec_p``: ``PNFRec`` with both negative terms off), learning rate 5e-4,
  1e-3 or 2e-3.
- ``PNFRec``: ``(negative_weight, contrastive_weight)`` (0.45, 0.25) (the authors' ML-1M
  setting), (0.2, 0.5) or (0.45, 1.0), at the learning rate selected for SASRec-liked.

With ratings, every metric is also given on the users whose test (validation) item is
liked, ``_p``, and disliked, ``_n``, as in the PNFRec paper, whose claim is a smaller
``HR_n`` ("wrongly promoted negatives") at an ``HR_p`` at least as good: ``dHR = HR_p - HR_n``.
Both PNFRec arms are selected on the validation NDCG@10 of liked items (``NDCG_p``), the
others on that of every item. PNFRec and SASRec-liked read the same interactions as SASRec
(the ratings of every interaction) and exclude all of them from their lists.
"""

import argparse
import json
import os
import sys
import time

import numpy as np
import pandas as pd
from _threads import limit_threads

from bench_sequential import COMMON, K, judge, load, split

LIKED = 4.0  # ratings at or above it are liked, as PNFRec's rating_threshold
LEARNING_RATES = [5e-4, 1e-3, 2e-3]
# name: (estimator, fixed parameters, tuned parameter, its values); an arm that does not tune
# the learning rate runs at its baseline's selected one (SASRec-liked's for PNFRec, SASRec's
# for the others).
ARMS = {
    "SASRec": ("SASRec", {}, "learning_rate", LEARNING_RATES),
    "kernel": ("SASRec", {"positional": "kernel"}, "learning_rate", LEARNING_RATES),
    "no-positions": ("SASRec", {"positional": "none"}, "learning_rate", LEARNING_RATES),
    "BT": ("SASRec", {"barlow_twins_lambda": 0.05}, "barlow_twins_weight", [0.05, 0.2, 0.8]),
    "SASRec-liked": ("PNFRec", {"negative_weight": 0.0, "contrastive_weight": 0.0},
                     "learning_rate", LEARNING_RATES),
    "PNFRec": ("PNFRec", {}, "weights", [(0.45, 0.25), (0.2, 0.5), (0.45, 1.0)]),
}
# Selected on the validation NDCG@10 of liked items; the others on that of every item.
LIKED_SELECTION = {"SASRec-liked", "PNFRec"}


# --- one fit ------------------------------------------------------------------------------

def fit_and_judge(kind, params, parts, n_items, seed, epochs):
    """Fit on the training part; metrics on the validation and test items."""
    from recfactor.sequential import PNFRec, SASRec

    estimator = {"SASRec": SASRec, "PNFRec": PNFRec}[kind]
    model = estimator(**{**COMMON, "max_epochs": epochs, "patience": None, "n_items": n_items,
                         "device": "cpu", "random_state": seed, **params})
    rated = kind == "PNFRec"
    start = time.perf_counter()
    model.fit(parts["rated_train" if rated else "train"])
    seconds = time.perf_counter() - start
    valid_inputs = parts["rated_train_evaluated" if rated else "train_evaluated"]
    test_inputs = parts["rated_inputs" if rated else "inputs"]
    valid = judge_by_rating(model.recommend(valid_inputs, k=K), parts["valid_targets"],
                            parts.get("valid_liked"), n_items)
    test = judge_by_rating(model.recommend(test_inputs, k=K), parts["targets"],
                           parts.get("test_liked"), n_items)
    return {**{f"valid {m}": v for m, v in valid.items()}, **test,
            "s/epoch": seconds / model.n_iter_}


def judge_by_rating(lists, targets, liked, n_items):
    """The metrics of every user, and with ratings of those whose target is liked (``_p``)
    and disliked (``_n``)."""
    metrics = judge(lists, targets, n_items)
    if liked is not None:
        for mark, users in (("p", liked), ("n", ~liked)):
            part = judge(lists[users], targets[users], n_items)
            metrics.update({f"NDCG_{mark}": part["NDCG@10"], f"HR_{mark}": part["HR@10"]})
    return metrics


def prepare(parts, rated):
    """The validation inputs (the training histories of evaluated users) and targets, and
    with ratings whether each validation and test item is liked."""
    # Evaluated users: those whose validation item was held out of training.
    evaluated = [i for i, t in enumerate(parts["train_valid"]) if len(parts["train"][i]) < len(t)]
    parts["train_evaluated"] = [parts["train"][i] for i in evaluated]
    parts["valid_targets"] = np.array([parts["train_valid"][i][-1] for i in evaluated])
    if "rated_train" in parts:
        parts["rated_train_evaluated"] = [parts["rated_train"][i] for i in evaluated]
        parts["valid_liked"] = np.array([rated[i][-2, 1] >= LIKED for i in evaluated])
        parts["test_liked"] = np.array([rated[i][-1, 1] >= LIKED for i in evaluated])
    assert len(parts["train_evaluated"]) == len(parts["inputs"])
    return parts


# --- the runs, cached -----------------------------------------------------------------------

class Results:
    """Fits by arm, setting, seed, learning rate and epochs, appended to a JSON-lines file
    as they finish."""

    def __init__(self, path):
        self.path = path
        self.rows = []
        if os.path.exists(path):
            with open(path) as lines:
                self.rows = [json.loads(line) for line in lines if line.strip()]

    def get(self, arm, setting, seed, learning_rate, epochs, run):
        key = {"arm": arm, "setting": setting, "seed": seed, "learning_rate": learning_rate,
               "epochs": epochs}
        for row in self.rows:
            if all(row.get(name) == value for name, value in key.items()):
                return row
        row = {**key, **run()}
        self.rows.append(row)
        with open(self.path, "a") as out:
            out.write(json.dumps(row) + "\n")
        print(json.dumps(row), flush=True)
        return row


def run_arm(name, spec, results, parts, n_items, seeds, epochs, learning_rate, preset=None):
    """Select the arm's setting on the first seed's validation NDCG@10, fit the others.

    With a ``preset`` setting (its label, as ``"learning_rate=0.001"``), that setting is
    fitted with every seed, and nothing is tuned.
    """
    kind, fixed, tuned, values = spec
    first = {}
    for value in values:
        if preset is not None and f"{tuned}={value}" != preset:
            continue
        if tuned == "weights":
            params = {**fixed, "negative_weight": value[0], "contrastive_weight": value[1]}
        else:
            params = {**fixed, tuned: value}
        if tuned != "learning_rate":
            params["learning_rate"] = learning_rate
        setting = f"{tuned}={value}"
        first[setting] = (params, results.get(
            name, setting, seeds[0], params["learning_rate"], epochs,
            lambda p=params: fit_and_judge(kind, p, parts, n_items, seeds[0], epochs)))
    if not first:
        raise ValueError(f"{name}: the preset {preset!r} is none of the settings tried.")
    selected = max(first, key=lambda s: first[s][1][selection_metric(name)])
    params = first[selected][0]
    rows = [first[selected][1]] + [
        results.get(name, selected, seed, params["learning_rate"], epochs,
                    lambda s=seed: fit_and_judge(kind, params, parts, n_items, s, epochs))
        for seed in seeds[1:]]
    return selected, params, rows, first


def selection_metric(arm):
    return "valid NDCG_p" if arm in LIKED_SELECTION else "valid NDCG@10"


def selected_settings(path):
    """The setting each arm of a results file selected: the best on its first seed."""
    fitted = pd.DataFrame(Results(path).rows)
    if fitted.empty:
        raise ValueError(f"{path} holds no fits.")
    selected = {}
    for arm, part in fitted.groupby("arm"):
        first = part[part["seed"] == part["seed"].min()]
        selected[arm] = first.loc[first[selection_metric(arm)].idxmax(), "setting"]
    return selected


def summary(arms, baseline="SASRec"):
    """Mean and standard error over seeds, and the paired difference from the baseline."""

    def metrics(row):
        found = {m: row[m] for m in ("NDCG@10", "HR@10", "Coverage@10", "NDCG_p", "HR_p",
                                     "HR_n") if m in row}
        if "HR_p" in row:
            found["dHR"] = row["HR_p"] - row["HR_n"]
        return found

    lines = []
    base = {row["seed"]: metrics(row) for row in arms[baseline][2]}
    for name, (selected, _, rows, _) in arms.items():
        line = {"arm": name, "selected": selected, "seeds": len(rows)}
        for metric in metrics(rows[0]):
            values = np.array([metrics(row)[metric] for row in rows])
            line[metric] = values.mean()
            line[f"{metric} se"] = values.std(ddof=1) / np.sqrt(values.size)
            if name != baseline:
                diff = values - np.array([base[row["seed"]][metric] for row in rows])
                line[f"d {metric}"] = diff.mean()
                line[f"d {metric} se"] = diff.std(ddof=1) / np.sqrt(diff.size)
        line["s/epoch"] = np.mean([row["s/epoch"] for row in rows])
        lines.append(line)
    return pd.DataFrame(lines).set_index("arm").T


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", choices=["100k", "latest-small", "ml-1m"], default="100k")
    parser.add_argument("--arms", nargs="+", choices=list(ARMS), default=list(ARMS))
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--results", default=None)
    parser.add_argument("--settings-from", default=None, metavar="FILE",
                        help="fit the settings selected in this results file of another "
                        "data set, with no tuning here")
    args = parser.parse_args()
    presets = selected_settings(args.settings_from) if args.settings_from else {}
    missing = set(args.arms) - set(presets) if presets else set()
    if missing:
        parser.error(f"{args.settings_from} has no fits of {sorted(missing)}.")
    limit_threads(args.threads)
    results = Results(args.results or f"variants-{args.dataset}.jsonl")
    sequences, rated, n_items = load(args.dataset)
    if rated is None and set(args.arms) & LIKED_SELECTION:
        parser.error(f"{args.dataset} has no ratings: drop the arms {sorted(LIKED_SELECTION)}.")
    parts = prepare(split(sequences, rated), rated)
    print(f"{args.dataset}: {len(sequences)} users, {n_items} items, {len(parts['inputs'])} "
          f"evaluated; seeds {args.seeds}, {args.epochs} epochs, {args.threads} thread(s)",
          flush=True)
    arms = {"SASRec": run_arm("SASRec", ARMS["SASRec"], results, parts, n_items, args.seeds,
                              args.epochs, None, presets.get("SASRec"))}
    names = list(args.arms)
    if "PNFRec" in names and "SASRec-liked" not in names:
        names.insert(names.index("PNFRec"), "SASRec-liked")
    for name in sorted(names, key=list(ARMS).index):
        if name != "SASRec":
            # The arms that tune a parameter of their own run at their baseline's rate.
            baseline = "SASRec-liked" if name == "PNFRec" else "SASRec"
            learning_rate = arms[baseline][1]["learning_rate"]
            arms[name] = run_arm(name, ARMS[name], results, parts, n_items, args.seeds,
                                 args.epochs, learning_rate, presets.get(name))
    print("\nSettings fitted with the first seed (the validation NDCG@10 that selects, of "
          "liked items for the arms marked _p / test NDCG@10, Coverage@10):")
    for name, (selected, _, _, first) in arms.items():
        liked = name in LIKED_SELECTION
        print(f"  {name}{' _p' if liked else ''}: " + "; ".join(
            f"{s} {row['valid NDCG_p' if liked else 'valid NDCG@10']:.4f} / "
            f"{row['NDCG@10']:.4f}, {row['Coverage@10']:.4f}"
            + (" (selected)" if s == selected else "") for s, (_, row) in first.items()))
    print()
    print(summary(arms).to_string(float_format="{:.4f}".format))
    if "PNFRec" in arms:
        print("\nPNFRec against SASRec-liked (the paper's SASRec_p), paired by seed:")
        liked = {name: arms[name] for name in ("SASRec-liked", "PNFRec")}
        table = summary(liked, baseline="SASRec-liked")["PNFRec"]
        print(table[[i for i in table.index if i.startswith("d ")]].to_string(
            float_format="{:.4f}".format))


if __name__ == "__main__":
    sys.exit(main())
