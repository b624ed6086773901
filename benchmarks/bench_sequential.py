"""Next-item transformers: recfactor's SASRec / BERT4Rec against RecTools.

Run: ``RECFACTOR_DATA=../shared/data python benchmarks/bench_sequential.py``
(``--datasets 100k latest-small beauty ml-1m``, ``--epochs 20``, ``--seeds 3``, ``--first-seed 0``,
``--models SASRec BERT4Rec``, ``--threads N``, ``--skip-peers``,
``--rectools-python /tmp/seqbench-env/bin/python``, ``--loss sampled_ce --n-negatives 2048``).

Data: MovieLens-100K and ml-latest-small (each user's ratings ordered by time, every rating
an interaction), Amazon Beauty as preprocessed for BERT4Rec (``load_sequences("beauty")``)
and ML-1M in SASRec's preprocessing (``load_sequences("ml-1m")``: gSASRec's training file,
ids minus 1, each history without its last 2 or 3 items, re-split here as a slightly shorter
ML-1M; peers as on the MovieLens sets).

Protocol: leave-last-out (``recfactor.model_selection.leave_last_out``): every model trains
on the histories without their last two items, and ranks every item for the history without
its last item, seen items excluded; the hidden last item is judged: NDCG@10 and HR@10, and
Coverage@10 (share of the catalogue in some list). Every model, recfactor's or RecTools',
returns its top-10 lists and the same recfactor code scores them. Seconds per epoch: fit time
over epochs for recfactor; for RecTools the mean time between Lightning's epoch start and end
(its data preparation excluded) and, in brackets, fit time over epochs.

(a) Peers, same dimensions and epochs: embedding 64, 2 blocks, 1 head, max length 200,
dropout 0.1, Adam lr 1e-3, batch 128, full-softmax cross-entropy; BERT4Rec masks 20 %.
RecTools needs numpy < 2 on Python 3.11 while recfactor needs numpy 2, so RecTools runs in
its own interpreter (``--rectools-python``, a virtual environment with ``rectools[torch]``):
this script sends it the split's histories and gets its lists back. Without RecTools the
peer rows are skipped with a message. Each of ``--seeds`` seeds seeds both libraries in turn
(recfactor, then RecTools, per model), and the means and standard deviations over the seeds
are compared: one leave-last-out split of 943 users moves NDCG@10 by several thousandths
from seed to seed.

(b) The research variants (positional kernel, Barlow Twins, PNFRec) are compared with plain
SASRec, tuned alike over several seeds, by ``bench_sequential_variants.py``.

(c) Beauty, SASRec and BERT4Rec: 54,542 items make the full softmax slow on a CPU;
``--loss sampled_ce`` with a few thousand negatives shared by the batch is the feasible
option there. Each model trains without the last two items of each history, with early
stopping on the validation item (``--patience``, at most ``--epochs`` epochs), and is
refit without the last item for the best epoch count; both are tested on the last item.
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

import numpy as np
import pandas as pd
import scipy.sparse as sp
from _threads import limit_threads

K = 10
NAMES = {"100k": "MovieLens-100K", "latest-small": "MovieLens ml-latest-small",
         "beauty": "Amazon Beauty (BERT4Rec)", "ml-1m": "MovieLens-1M (SASRec, gSASRec train)"}
COMMON = dict(embedding_dim=64, n_blocks=2, n_heads=1, max_length=200, dropout=0.1,
              learning_rate=1e-3, batch_size=128)


# --- data -------------------------------------------------------------------------------

def load(name):
    """Histories (item ids), rated histories ((item, rating) rows) or None, and n_items."""
    from recfactor.datasets import load_movielens, load_sequences
    from recfactor.preprocessing import log_to_sequences

    if name in ("beauty", "ml-1m"):
        sequences = [np.asarray(s, dtype=np.int64) for s in load_sequences(name).sequences]
        return sequences, None, 1 + max(int(s.max()) for s in sequences)
    frame = load_movielens(name).frame
    sequences, users, items = log_to_sequences(frame)
    # The same order as log_to_sequences: by time, ties in the log's order.
    ordered = frame.assign(item=np.searchsorted(items, frame["item_id"]))
    ordered = ordered.sort_values(["user_id", "timestamp"], kind="stable")
    rated = {user: part[["item", "rating"]].to_numpy(np.float64)
             for user, part in ordered.groupby("user_id", sort=False)}
    rated = [rated[user] for user in users]
    assert all(np.array_equal(r[:, 0], s) for r, s in zip(rated, sequences))
    return sequences, rated, len(items)


def split(sequences, rated):
    """Leave-last-out: training histories, test inputs, test targets (and the rated ones)."""
    from recfactor.model_selection import leave_last_out

    train, valid, test = leave_last_out(sequences)
    inputs, targets = [t[:-1] for t in test], np.array([t[-1] for t in test])
    parts = {"train": train, "valid": valid, "inputs": inputs, "targets": targets,
             "train_valid": [s[:-1] if len(s) >= 3 else s for s in sequences]}
    if rated is not None:
        parts["rated_train"] = [r[:-2] if len(r) >= 3 else r for r in rated]
        parts["rated_inputs"] = [r[:-1] for r in rated if len(r) >= 3]
    return parts


def judge(lists, targets, n_items):
    from recfactor.metrics import coverage_at_k, hit_rate_at_k, ndcg_at_k

    relevant = sp.csr_matrix((np.ones(targets.size), (np.arange(targets.size), targets)),
                             shape=(targets.size, n_items))
    return {"NDCG@10": ndcg_at_k(relevant, lists, K), "HR@10": hit_rate_at_k(relevant, lists, K),
            "Coverage@10": coverage_at_k(lists, n_items, K)}


def popularity(parts, n_items):
    """The baseline every model must beat: the most frequent training items, seen excluded."""
    from recfactor.metrics import top_k
    from recfactor.sequential._batching import seen_items

    counts = np.bincount(np.concatenate(parts["train"]), minlength=n_items).astype(float)
    inputs = parts["inputs"]
    lists = top_k(np.ones((len(inputs), 1)), K, item_factors=counts[:, None],
                  exclude=seen_items(inputs, n_items))
    return judge(lists, parts["targets"], n_items)


# --- recfactor --------------------------------------------------------------------------

def run_recfactor(model, train, inputs, targets, n_items, X_valid=None):
    start = time.perf_counter()
    model.fit(train, X_valid=X_valid)
    seconds = time.perf_counter() - start
    lists = model.recommend(inputs, k=K)
    return {**judge(lists, targets, n_items), "s/epoch": seconds / model.n_iter_,
            "epochs": model.n_iter_}


def recfactor_model(kind, epochs, n_items, seed=0, **params):
    from recfactor.sequential import BERT4Rec, PNFRec, SASRec

    params = {**COMMON, "max_epochs": epochs, "patience": None, "n_items": n_items,
              "device": "cpu", "random_state": seed, **params}
    if kind == "BERT4Rec":
        return BERT4Rec(mask_probability=0.2, **params)
    if kind == "PNFRec":
        return PNFRec(rating_threshold=4.0, **params)
    return SASRec(**params)


def sasrec_rows_on_100k(column, settings, epochs, seeds, threads):
    """Fit SASRec on MovieLens-100K once per setting and seed, printing a Markdown row each.

    ``settings`` maps the value shown in the first column, headed ``column``, to SASRec's
    parameters; the other columns are NDCG@10, HR@10 and fit seconds per epoch.
    """
    import torch

    torch.set_num_threads(threads)
    sequences, rated, n_items = load("100k")
    parts = split(sequences, rated)
    print(f"MovieLens-100K: {len(sequences)} users, {n_items} items; {threads} torch threads "
          f"in all, {epochs} epochs\n")
    print(f"| {column} | seed | NDCG@10 | HR@10 | s/epoch |")
    print("|---|---|---|---|---|")
    for label, params in settings.items():
        for seed in seeds:
            model = recfactor_model("SASRec", epochs, n_items, seed=seed, **params)
            row = run_recfactor(model, parts["train"], parts["inputs"], parts["targets"],
                                n_items)
            print(f"| {label} | {seed} | {row['NDCG@10']:.4f} | {row['HR@10']:.4f} | "
                  f"{row['s/epoch']:.2f} |", flush=True)


# --- RecTools, in its own interpreter -------------------------------------------------------

def rectools_available(python):
    try:
        check = subprocess.run([python, "-c", "import rectools.models, torch"],
                               capture_output=True, text=True)
    except OSError as error:
        return False, [str(error)]
    return check.returncode == 0, check.stderr.strip().splitlines()[-1:] or [""]


def run_rectools(python, kind, parts, n_items, epochs, seed, threads):
    with tempfile.TemporaryDirectory() as folder:
        source, result = os.path.join(folder, "in.npz"), os.path.join(folder, "out.npz")
        np.savez(source, train=np.array(parts["train"], dtype=object),
                 inputs=np.array(parts["inputs"], dtype=object), allow_pickle=True)
        config = json.dumps({"kind": kind, "epochs": epochs, "k": K, "seed": seed,
                             "threads": threads})
        subprocess.run([python, os.path.abspath(__file__), "--rectools-worker", source, result,
                        config], check=True)
        out = np.load(result)
        lists, epoch_times, fit_seconds = out["lists"], out["epoch_times"], float(out["fit"])
    return {**judge(lists, parts["targets"], n_items),
            "s/epoch": float(np.mean(epoch_times)), "fit s/epoch": fit_seconds / epochs,
            "epochs": epochs}


def rectools_worker(source, result, config):
    """Fit a RecTools model on the histories in ``source``; save its top-k lists."""
    import pytorch_lightning as pl
    from rectools import Columns
    from rectools.dataset import Dataset
    from rectools.models import BERT4RecModel, SASRecModel
    from rectools.models.nn.item_net import IdEmbeddingsItemNet

    config = json.loads(config)
    data = np.load(source, allow_pickle=True)
    epoch_times = []

    class EpochTimer(pl.Callback):
        def on_train_epoch_start(self, trainer, module):
            self.start = time.perf_counter()

        def on_train_epoch_end(self, trainer, module):
            epoch_times.append(time.perf_counter() - self.start)

    def trainer():
        return pl.Trainer(max_epochs=config["epochs"], accelerator="cpu", devices=1,
                          deterministic=True, enable_checkpointing=False, logger=False,
                          enable_progress_bar=False, enable_model_summary=False,
                          callbacks=[EpochTimer()])

    def interactions(histories):
        users = np.repeat(np.arange(len(histories)), [len(h) for h in histories])
        order = np.concatenate([np.arange(len(h)) for h in histories])
        return pd.DataFrame({Columns.User: users, Columns.Item: np.concatenate(histories),
                             Columns.Weight: 1.0,
                             Columns.Datetime: pd.Timestamp("2000-01-01")
                             + pd.to_timedelta(order, unit="s")})

    params = dict(n_factors=64, n_blocks=2, n_heads=1, session_max_len=200, dropout_rate=0.1,
                  lr=1e-3, batch_size=128, epochs=config["epochs"], loss="softmax",
                  deterministic=True, item_net_block_types=(IdEmbeddingsItemNet,),
                  get_trainer_func=trainer, recommend_torch_device="cpu")
    if config["kind"] == "BERT4Rec":
        model = BERT4RecModel(mask_prob=0.2, **params)
    else:
        model = SASRecModel(**params)
    import torch

    if config["threads"] is not None:
        torch.set_num_threads(config["threads"])
    torch.manual_seed(config["seed"])
    start = time.perf_counter()
    model.fit(Dataset.construct(interactions(list(data["train"]))))
    fit_seconds = time.perf_counter() - start
    inputs = list(data["inputs"])
    recos = model.recommend(users=np.arange(len(inputs)),
                            dataset=Dataset.construct(interactions(inputs)),
                            k=config["k"], filter_viewed=True)
    lists = np.full((len(inputs), config["k"]), -1, dtype=np.int64)
    ranks = recos[Columns.Rank].to_numpy() - 1
    lists[recos[Columns.User].to_numpy(), ranks] = recos[Columns.Item].to_numpy()
    np.savez(result, lists=lists, epoch_times=np.array(epoch_times), fit=fit_seconds)


# --- the tables ---------------------------------------------------------------------------

def table(rows):
    return pd.DataFrame(rows).set_index("model").to_string(float_format="{:.4f}".format)


def peers(name, parts, n_items, epochs, python, seeds, threads, models):
    rows = []
    for seed in seeds:
        for kind in models:
            ours = run_recfactor(recfactor_model(kind, epochs, n_items, seed), parts["train"],
                                 parts["inputs"], parts["targets"], n_items)
            rows.append({"model": f"recfactor {kind}", "seed": seed, **ours})
            print(rows[-1], flush=True)
            if python is not None:
                theirs = run_rectools(python, kind, parts, n_items, epochs, seed, threads)
                rows.append({"model": f"RecTools {kind}Model", "seed": seed, **theirs})
                print(rows[-1], flush=True)
    frame = pd.DataFrame(rows)
    print(f"\n## {NAMES[name]}: recfactor against RecTools, {epochs} epochs, seeds "
          f"{seeds[0]}..{seeds[-1]}\n")
    print(frame.to_string(index=False, float_format="{:.4f}".format))
    columns = ["NDCG@10", "HR@10", "Coverage@10", "s/epoch"]
    means = frame.groupby("model", sort=False)[columns].mean()
    print(f"\nmean (standard deviation) over {len(seeds)} seed(s):\n")
    spread = frame.groupby("model", sort=False)[columns].std()
    print((means.map("{:.4f}".format) + " (" + spread.map("{:.4f}".format) + ")").to_string())
    if python is not None:
        for kind in models:
            ours, theirs = means.loc[f"recfactor {kind}"], means.loc[f"RecTools {kind}Model"]
            print(f"{kind}: recfactor / RecTools: NDCG@10 {ours['NDCG@10'] / theirs['NDCG@10']:.3f}"
                  f", HR@10 {ours['HR@10'] / theirs['HR@10']:.3f}, s/epoch "
                  f"{ours['s/epoch'] / theirs['s/epoch']:.3f}")
    return rows


def beauty(parts, n_items, epochs, loss, n_negatives, patience, models):
    """Early stopping on the validation item, then a refit on train + validation items for
    the best epoch count, the model that is tested (as a grid search refits its winner)."""
    params = {"loss": loss} if loss == "ce" else {"loss": loss, "n_negatives": n_negatives}

    def early_stopped(label, kind, **extra):
        # Hours on a CPU: the progress bar shows each epoch's loss and validation NDCG@10.
        model = recfactor_model(kind, epochs, n_items, max_length=50, patience=patience,
                                verbose=1, **params, **extra)
        result = run_recfactor(model, parts["train"], parts["inputs"], parts["targets"],
                               n_items, X_valid=parts["valid"])
        # At least one epoch: the refit trains from scratch.
        best = max(model.best_epoch_, 1)
        rows.append({"model": f"{label}, trained without the last two items", **result,
                     "epochs": f"{best} ({model.n_iter_})",
                     "valid NDCG@10": model.best_validation_score_})
        print(rows[-1], flush=True)
        return best

    rows = []
    for kind in models:
        best = early_stopped(kind, kind)
        refit = recfactor_model(kind, best, n_items, max_length=50, verbose=1, **params)
        rows.append({"model": f"{kind}, refit without the last item", "epochs": best,
                     **run_recfactor(refit, parts["train_valid"], parts["inputs"],
                                     parts["targets"], n_items)})
        print(rows[-1], flush=True)
    print(f"\n## {NAMES['beauty']}: loss={loss}"
          f"{'' if loss == 'ce' else f', {n_negatives} shared negatives'}, max length 50, "
          f"early stopping (patience {patience}, at most {epochs} epochs)\n")
    print(table(rows))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--datasets", nargs="+", choices=list(NAMES),
                        default=["100k", "latest-small"])
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--seeds", type=int, default=3, help="peer runs per model")
    parser.add_argument("--first-seed", type=int, default=0,
                        help="the peer runs use seeds first-seed, first-seed + 1, ...")
    parser.add_argument("--models", nargs="+", choices=["SASRec", "BERT4Rec"],
                        default=["SASRec", "BERT4Rec"],
                        help="recfactor / RecTools models of the peer and Beauty runs")
    parser.add_argument("--threads", type=int, default=None,
                        help="threads of torch, BLAS and Numba in both libraries "
                        "(default: their own defaults)")
    parser.add_argument("--skip-peers", action="store_true")
    parser.add_argument("--rectools-python", default=os.environ.get("RECTOOLS_PYTHON",
                                                                    sys.executable))
    parser.add_argument("--loss", choices=["ce", "sampled_ce"], default="sampled_ce",
                        help="loss on Beauty")
    parser.add_argument("--n-negatives", type=int, default=2048, help="sampled_ce on Beauty")
    parser.add_argument("--patience", type=int, default=5,
                        help="Beauty: epochs without validation gain before stopping")
    args = parser.parse_args()
    limit_threads(args.threads)
    python = None
    if not args.skip_peers:
        ok, why = rectools_available(args.rectools_python)
        if ok:
            python = args.rectools_python
        else:
            print(f"RecTools is not importable by {args.rectools_python} ({why[0]}): the peer "
                  "rows are skipped. Install rectools[torch] in a virtual environment and pass "
                  "its python with --rectools-python.")
    for name in args.datasets:
        sequences, rated, n_items = load(name)
        parts = split(sequences, rated)
        print(f"\n# {NAMES[name]}: {len(sequences)} users, {n_items} items, "
              f"{sum(map(len, sequences))} interactions, {len(parts['targets'])} test users",
              flush=True)
        baseline = popularity(parts, n_items)
        print("Popularity (most frequent training items, seen excluded): "
              + ", ".join(f"{name} {value:.4f}" for name, value in baseline.items()), flush=True)
        if name == "beauty":
            beauty(parts, n_items, args.epochs, args.loss, args.n_negatives, args.patience,
                   args.models)
            continue
        seeds = list(range(args.first_seed, args.first_seed + args.seeds))
        if not args.skip_peers:
            peers(name, parts, n_items, args.epochs, python, seeds, args.threads, args.models)


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--rectools-worker":
        rectools_worker(*sys.argv[2:5])
    else:
        main()
