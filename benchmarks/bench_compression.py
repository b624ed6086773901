"""Low-rank compression of fitted SASRec and TuckER: GFWSVD, FWSVD and truncated SVD.

Run: ``RECFACTOR_DATA=../shared/data python benchmarks/bench_compression.py --threads 1``
(``--datasets 100k latest-small umls``, default ``100k umls``; ``--keeps 0.1 0.3 0.5 0.7
0.9``, ``--methods gfwsvd fwsvd svd``, ``--parts all items``, ``--fine-tune-epochs 1``,
``--fine-tune-lr-scales 1``, ``--balanced-lr-scales``, ``--n-batches 16``, ``--epochs 20``,
``--max-epochs 200``, ``--seed 0``, ``--no-gradient-cache``, ``--threads N``). The default
run takes about 17 minutes on one thread of the 2-core machine; ``latest-small`` adds about
50 (each compress call there costs 15 to 120 s, see the docs); ``wn18rr`` is accepted but
its TuckER takes hours to train on a CPU.

Each model is trained once, with the settings of the benchmark it comes from:

- SASRec on MovieLens-100K and ml-latest-small, as in ``bench_sequential.py`` (embedding 64,
  2 blocks, 1 head, max length 200, dropout 0.1, Adam lr 1e-3, batch 128, full-softmax
  cross-entropy, ``--epochs`` epochs, seed ``--seed``) on its leave-last-out split; judged
  by NDCG@10 of the hidden last item, every item ranked, seen items excluded;
- TuckER on UMLS as in ``bench_knowledge_graph.py`` (d_e = d_r = 100, lr 0.005, dropouts
  .2/.2/.3, label smoothing 0.1, batch 128, early stopping on the validation MRR every 5
  epochs with patience 10, at most ``--max-epochs`` epochs); judged by the filtered
  realistic MRR over both directions of the test triples.

Then, for every method and keep, a ``copy.deepcopy`` of the fitted model is compressed with
``compress(train, keep, method=...)`` (the training histories / triples; defaults
``n_batches=16, shrinkage=0.1``) and judged. SASRec is compressed twice: "all" parts (the
item table, every attention projection and feed-forward layer) and "items" only (the item
table, which holds most of its parameters). TuckER's ``compress`` compresses its entity
table only. The columns: the share of the whole network's parameters that remains
(``sum(p.numel() for p in network.parameters())`` after over before), the share of the
compressed matrices' parameters that remains, the rank given to the item / entity table,
the metric without fine-tuning, then with ``--fine-tune-epochs`` epochs of fine-tuning
(``compress(..., fine_tune_epochs=E)`` on a fresh copy: the same factors, then training) at
the model's learning rate times each of ``--fine-tune-lr-scales``, and the seconds of the
compress call without fine-tuning. A scale other than 1 is set on the copy before
``compress`` (SASRec's ``learning_rate``, TuckER's resolved ``learning_rate_``): the
library's fine-tune always uses the model's learning rate. With ``--balanced-lr-scales``,
the compressed copy is also fine-tuned after its factors are rescaled to equal norms per
component (:func:`balance`, the same product), by the library's fine-tune loop, at those
multiples of the learning rate. The row "uncompressed" is the
fitted model, and its fine-tune columns are the same epochs of training on the uncompressed
model (a fresh optimizer, as in ``compress``): what fine-tuning alone does. A third table
gives the differences between the methods, with the standard error of the mean of the
paired per-user (per-triple) differences: the noise of the test sample for this one fitted
model, not that of training.
"""

import argparse
import copy
import os
import sys
import time
from types import SimpleNamespace

import numpy as np
import pandas as pd

SEQUENTIAL = {"100k": "MovieLens-100K", "latest-small": "MovieLens ml-latest-small"}
GRAPHS = {"umls": "UMLS", "wn18rr": "WN18RR"}
PARTS = {"all": ("items", "attention", "feed_forward"), "items": ("items",)}
CACHE = None  # the GradientCache, unless --no-gradient-cache


def n_parameters(module):
    return sum(parameter.numel() for parameter in module.parameters())


def matrix_parameters(network, paths):
    """Parameters of the matrices at ``paths``: the weight, or the two factors."""
    total = 0
    for path in paths:
        layer = network.get_submodule(path)
        if hasattr(layer, "left"):
            total += layer.left.numel() + layer.right.numel()
        else:
            total += layer.weight.numel()
    return total


# --- the Fisher gradients, once per matrix -----------------------------------------------------

class GradientCache:
    """Compute each matrix's Fisher gradients once per fitted model, replay them after.

    ``compress`` back-propagates ``n_batches`` training batches through the fitted network
    and keeps the gradients of the matrices it compresses. They depend on the fitted
    weights, the data and the seed, not on ``keep`` or ``method``, and every call here starts
    from a deep copy of the same fitted model, so the gradients of the first call are those
    of every later one; replaying them saves most of the time of a gfwsvd / fwsvd call. The
    compression itself runs unchanged (``recfactor.utils._compression.compress_in_place``
    gets replayed batches that set the recorded gradients). Neither model's training loss
    draws from the generator during these batches (SASRec's full-softmax cross-entropy,
    TuckER's 1-N loss), so the fine-tune that follows sees the same random state as well.
    A call that replays them is timed as its own time plus that of the back-propagation
    it replayed (``replayed``).
    """

    def __init__(self):
        from recfactor.utils import _compression

        self.module, self.original = _compression, _compression.compress_in_place
        self.gradients, self.seconds, self.replayed = {}, 0.0, 0.0
        _compression.compress_in_place = self.compress_in_place

    def reset(self):
        self.gradients, self.seconds = {}, 0.0

    def compress_in_place(self, network, paths, backward_batches, **kwargs):
        self.replayed = 0.0
        if kwargs["method"] == "svd":
            return self.original(network, paths, backward_batches, **kwargs)
        layers = {path: network.get_submodule(path) for path in paths}
        if all(path in self.gradients for path in paths):
            n_batches = len(self.gradients[paths[0]])

            def replay(i):
                for path, layer in layers.items():
                    layer.weight.grad = self.gradients[path][i]

            batches = [lambda i=i: replay(i) for i in range(n_batches)]
            self.replayed = self.seconds
            return self.original(network, paths, batches, **kwargs)
        recorded = {path: [] for path in paths}

        def record(backward):
            start = time.perf_counter()
            backward()
            self.seconds += time.perf_counter() - start
            for path, layer in layers.items():
                grad = layer.weight.grad
                recorded[path].append(None if grad is None else grad.detach().clone())

        self.seconds = 0.0
        batches = [lambda b=backward: record(b) for backward in backward_batches]
        ranks = self.original(network, paths, batches, **kwargs)
        self.gradients.update(recorded)
        return ranks


def balance(network):
    """Rescale each component of every factor pair to equal norms (the product unchanged).

    ``fisher_weighted_svd`` puts the singular values and the Fisher weights' inverse square
    roots into the factors as they fall: with GFWSVD one factor is thousands of times smaller
    than the other (the ``rms left / right`` printed), and Adam moves every entry by about the
    learning rate. Here column ``j`` of ``left`` and row ``j`` of ``right`` are scaled by
    ``sqrt(|right_j| / |left_j|)`` and its inverse: an experiment, not something ``compress``
    does.
    """
    import torch

    with torch.no_grad():
        for layer in network.modules():
            if hasattr(layer, "left") and hasattr(layer, "right"):
                left, right = layer.left.norm(dim=0), layer.right.norm(dim=1)
                scale = torch.sqrt(right / left.clamp_min(1e-30)).clamp_min(1e-30)
                layer.left.mul_(scale)
                layer.right.div_(scale[:, None])


def compressed_rows(fitted, hooks, paths, table, args):
    """Rows of one model and one choice of matrices: the uncompressed model, then every
    method and keep, and the per-user (per-triple) scores behind each mean, by (method, keep,
    column). ``hooks``: ``module(model)`` (its network), ``judge(model)`` (the test metric of
    each test user or triple), ``compress(model, keep, method, epochs)``,
    ``set_rate(model, scale)`` and ``fine_tune(model, epochs)`` (the library's fine-tune loop
    on the model as it is)."""
    epochs = args.fine_tune_epochs
    network = hooks.module(fitted)
    whole, matrices = n_parameters(network), matrix_parameters(network, paths)
    scores = {}

    def judge(row, column, model):
        scores[row["method"], row["keep"], column] = values = hooks.judge(model)
        row[column] = float(values.mean())

    rows = [{"method": "uncompressed", "keep": 1.0, "params kept": 1.0,
             "matrices kept": 1.0, "rank": min(network.get_submodule(table).weight.shape)}]
    judge(rows[0], "metric", fitted)
    for scale in sorted({*args.fine_tune_lr_scales, *args.balanced_lr_scales}, reverse=True):
        model = hooks.set_rate(copy.deepcopy(fitted), scale)
        hooks.fine_tune(model, epochs)
        judge(rows[0], f"+{epochs} ep x{scale:g}", model)
        if scale in args.balanced_lr_scales:
            judge(rows[0], f"+{epochs} ep x{scale:g} balanced", model)
    print(rows[0], flush=True)
    for method in args.methods:
        for keep in args.keeps:
            model = copy.deepcopy(fitted)
            start = time.perf_counter()
            hooks.compress(model, keep, method, 0)
            seconds = time.perf_counter() - start + (CACHE.replayed if CACHE else 0.0)
            network = hooks.module(model)
            factors = network.get_submodule(table)
            row = {"method": method, "keep": keep,
                   "params kept": n_parameters(network) / whole,
                   "matrices kept": matrix_parameters(network, paths) / matrices,
                   "rank": factors.left.shape[1],
                   # How unevenly the product is split between the factors (SVD: S on the
                   # left, orthonormal rows on the right): Adam's steps are of one size.
                   "rms left / right": float(factors.left.detach().pow(2).mean().sqrt()
                                             / factors.right.detach().pow(2).mean().sqrt())}
            judge(row, "metric", model)
            for scale in args.fine_tune_lr_scales:
                tuned = hooks.set_rate(copy.deepcopy(fitted), scale)
                hooks.compress(tuned, keep, method, epochs)
                judge(row, f"+{epochs} ep x{scale:g}", tuned)
            for scale in args.balanced_lr_scales:
                tuned = hooks.set_rate(copy.deepcopy(model), scale)
                balance(hooks.module(tuned))
                hooks.fine_tune(tuned, epochs)
                judge(row, f"+{epochs} ep x{scale:g} balanced", tuned)
            row["compress s"] = seconds
            rows.append(row)
            print(row, flush=True)
    return rows, scores


# --- SASRec ----------------------------------------------------------------------------------

def bench_sequential(name, args):
    import scipy.sparse as sp
    from bench_sequential import judge, load, recfactor_model, split

    from recfactor.metrics import ndcg_at_k

    from recfactor.utils._torch import seeded_fit

    sequences, rated, n_items = load(name)
    parts = split(sequences, rated)
    train = parts["train"]
    start = time.perf_counter()
    fitted = recfactor_model("SASRec", args.epochs, n_items, args.seed).fit(train)
    fit_seconds = time.perf_counter() - start
    print(f"\n# {SEQUENTIAL[name]}: {len(sequences)} users, {n_items} items; SASRec "
          f"{args.epochs} epochs, seed {args.seed}, fit {fit_seconds:.1f} s, "
          f"{n_parameters(fitted.network_)} parameters", flush=True)

    targets = parts["targets"]
    relevant = sp.csr_matrix((np.ones(targets.size), (np.arange(targets.size), targets)),
                             shape=(targets.size, n_items))

    def ndcg(model):  # each test user's NDCG@10
        lists = model.recommend(parts["inputs"], k=10)
        values = ndcg_at_k(relevant, lists, 10, average=False)
        assert np.isclose(values.mean(), judge(lists, targets, n_items)["NDCG@10"])
        return values

    def set_rate(model, scale):
        model.learning_rate = fitted.learning_rate * scale
        return model

    def fine_tune(model, epochs):  # compress's fine-tune, on the network as it is
        arrays = model._training_arrays(model._fitted_histories(train))
        network, device = model._network_on_device()
        with seeded_fit(model.random_state, device) as (_, seed):
            model._train(arrays, None, np.random.default_rng(seed), device, epochs)

    tables = {}
    for label in args.parts:
        def compress(model, keep, method, epochs, label=label):
            model.compress(train, keep, method=method, parts=PARTS[label],
                           n_batches=args.n_batches, fine_tune_epochs=epochs)

        paths = fitted._compressible(PARTS[label])
        hooks = SimpleNamespace(module=lambda model: model.network_, judge=ndcg,
                                compress=compress, set_rate=set_rate, fine_tune=fine_tune)
        start = time.perf_counter()
        tables[label] = compressed_rows(fitted, hooks, paths, "head.items", args)
        print(f"{label}: {time.perf_counter() - start:.0f} s", flush=True)
    return tables, "NDCG@10"


# --- TuckER ----------------------------------------------------------------------------------

def bench_graph(name, args):
    from bench_knowledge_graph import Filter, evaluate, recfactor_scores, settings

    from recfactor.datasets import load_knowledge_graph
    from recfactor.knowledge_graph import TuckER
    from recfactor.knowledge_graph._training import QueryAnswers, train_one_to_n
    from recfactor.metrics import mrr

    data = load_knowledge_graph(name)
    known = Filter(np.concatenate([data.train, data.valid, data.test]), len(data.entity_ids),
                   len(data.relation_ids))
    start = time.perf_counter()
    fitted = TuckER(**settings(name), max_epochs=args.max_epochs, eval_every=5, patience=10,
                    device="cpu", random_state=args.seed).fit(data.train, X_valid=data.valid)
    fit_seconds = time.perf_counter() - start
    print(f"\n# {GRAPHS[name]}: {data.DESCR}\nTuckER {fitted.n_iter_} epochs (best "
          f"{fitted.best_epoch_}), fit {fit_seconds:.1f} s, "
          f"{n_parameters(fitted.module_)} parameters", flush=True)

    def filtered_mrr(model):  # each test triple's reciprocal rank, over both directions
        ranks = evaluate(*recfactor_scores(model), data.test, known)
        values = (1 / ranks).reshape(2, -1).mean(axis=0)  # tails, then heads
        assert np.isclose(values.mean(), mrr(ranks))
        return values

    def set_rate(model, scale):
        model.learning_rate_ = fitted.learning_rate_ * scale
        return model

    def fine_tune(model, epochs):  # compress's fine-tune, on the network as it is
        triples, unknown = model._validated_triples(data.train, "they are left out")
        queries = QueryAnswers(triples[~unknown], model._n_entities, model._n_relations)
        scorer, device = model._ready_scorer()
        with model._seeded_fit() as (_, rng):
            train_one_to_n(
                scorer, scorer.parameters(), queries, label_smoothing=model.label_smoothing,
                optimizer=model.optimizer, learning_rate=model.learning_rate_,
                decay_rate=model.decay_rate, batch_size=model.batch_size, max_epochs=epochs,
                eval_every=1, patience=None, validate=None, rng=rng, device=device,
                verbose=0, description="fine-tune")

    def compress(model, keep, method, epochs):
        model.compress(data.train, keep, method=method, n_batches=args.n_batches,
                       fine_tune_epochs=epochs)

    hooks = SimpleNamespace(module=lambda model: model.module_, judge=filtered_mrr,
                            compress=compress, set_rate=set_rate, fine_tune=fine_tune)
    return {"entities": compressed_rows(fitted, hooks, ["entity_embeddings"],
                                        "entity_embeddings", args)}, "MRR"


# --- tables ----------------------------------------------------------------------------------

def rst_table(frame, title, formats):
    """``frame`` (its index the first column) as an RST list-table."""
    frame = frame.reset_index()
    lines = [f".. list-table:: {title}", "   :class: table-sm small", "   :header-rows: 1",
             "   :widths: auto", ""]
    lines += [f"   {'*' if i == 0 else ' '} - {c}" for i, c in enumerate(frame.columns)]
    for row in frame.itertuples(index=False):
        for i, (column, value) in enumerate(zip(frame.columns, row)):
            if isinstance(value, str):
                text = value
            else:
                text = "" if pd.isna(value) else formats.get(column, "{:.4f}").format(value)
            lines.append(f"   {'*' if i == 0 else ' '} - {text}".rstrip())
    return "\n".join(lines)


def rst_tables(rows, title, metric, methods):
    """The metric without fine-tuning, then with it, by keep (rows) and method (columns)."""
    frame = pd.DataFrame(rows)
    frame["keep"] = [("uncompressed" if m == "uncompressed" else f"{k:g}")
                     for m, k in zip(frame["method"], frame["keep"])]
    compressed = frame[frame["method"] != "uncompressed"]
    base = frame[frame["method"] == "uncompressed"].iloc[0]
    sizes = frame.drop_duplicates("keep").set_index("keep")[
        ["params kept", "matrices kept", "rank"]]
    plain = compressed.pivot(index="keep", columns="method", values="metric")[methods]
    plain.loc["uncompressed"] = base["metric"]
    plain = sizes.join(plain).loc[sizes.index]
    formats = {"params kept": "{:.3f}", "matrices kept": "{:.3f}", "rank": "{:d}",
               "keep": "{}"}
    out = [rst_table(plain, f"{title}: test {metric}, no fine-tuning", formats)]
    tuned = [c for c in rows[-1] if c.startswith("+")]  # those of the compressed rows
    if tuned:
        parts = []
        for column in tuned:
            part = compressed.pivot(index="keep", columns="method", values=column)[methods]
            part.loc["uncompressed"] = base[column]
            parts.append(part.rename(columns=lambda m: f"{m} {column}"))
        both = pd.concat(parts, axis=1).loc[sizes.index]
        out.append(rst_table(both, f"{title}: test {metric}, fine-tuned (uncompressed: the "
                             "same epochs of training alone)", formats))
    return "\n\n".join(out)


PAIRS = [("gfwsvd", "svd"), ("fwsvd", "svd"), ("gfwsvd", "fwsvd")]


def differences(scores, rows, title, metric):
    """Differences of the methods' means, with the standard error of the mean of the paired
    per-user (per-triple) differences: the noise of the test sample, not of training."""
    columns = [c for c in rows[-1] if c == "metric" or c.startswith("+")]
    keeps = sorted({key[1] for key in scores if key[0] != "uncompressed"})
    methods = {key[0] for key in scores}
    table = {}
    for keep in keeps:
        for column in columns:
            for a, b in PAIRS:
                if {a, b} <= methods:
                    d = scores[a, keep, column] - scores[b, keep, column]
                    name = f"{a} - {b}" + ("" if column == "metric" else f" {column}")
                    table.setdefault(f"{keep:g}", {})[name] = (
                        f"{d.mean():+.4f} ({d.std(ddof=1) / np.sqrt(d.size):.4f})")
    frame = pd.DataFrame(table).T.rename_axis("keep")
    return rst_table(frame, f"{title}: differences of test {metric} (standard error of the "
                     "paired differences)", {})


def summary(rows, metric):
    """The best method per keep, without and with fine-tuning."""
    frame = pd.DataFrame(rows)
    frame = frame[frame["method"] != "uncompressed"]
    out = []
    for column in [c for c in rows[-1] if c == "metric" or c.startswith("+")]:
        best = frame.loc[frame.groupby("keep")[column].idxmax(), ["keep", "method", column]]
        out.append(f"  {metric if column == 'metric' else metric + ' ' + column}: " + ", ".join(
            f"keep {k:g} {m} ({v:.4f})" for k, m, v in best.itertuples(index=False)))
    return "\n".join(out)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--datasets", nargs="+", choices=[*SEQUENTIAL, *GRAPHS],
                        default=["100k", "umls"])
    parser.add_argument("--keeps", nargs="+", type=float, default=[0.1, 0.3, 0.5, 0.7, 0.9])
    parser.add_argument("--methods", nargs="+", choices=["gfwsvd", "fwsvd", "svd"],
                        default=["gfwsvd", "fwsvd", "svd"])
    parser.add_argument("--parts", nargs="+", choices=list(PARTS), default=["all", "items"],
                        help="SASRec: compress every matrix, or the item table only")
    parser.add_argument("--fine-tune-epochs", type=int, default=1)
    parser.add_argument("--fine-tune-lr-scales", nargs="*", type=float, default=[1.0],
                        help="fine-tune learning rates, as multiples of the model's")
    parser.add_argument("--balanced-lr-scales", nargs="*", type=float, default=[],
                        help="also fine-tune with the factors balanced first, at these "
                        "multiples of the model's learning rate (an experiment)")
    parser.add_argument("--epochs", type=int, default=20, help="SASRec training epochs")
    parser.add_argument("--max-epochs", type=int, default=200, help="TuckER, early stopping")
    parser.add_argument("--n-batches", type=int, default=16,
                        help="batches of the Fisher gradients (compress's n_batches)")
    parser.add_argument("--no-gradient-cache", dest="gradient_cache", action="store_false",
                        help="let every compress call back-propagate its own batches")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=None)
    args = parser.parse_args()
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    from _threads import limit_threads

    limit_threads(args.threads)  # before numba is imported
    import torch

    import recfactor

    global CACHE
    CACHE = GradientCache() if args.gradient_cache else None
    print(f"recfactor {recfactor.__version__}, torch {torch.__version__}, numpy "
          f"{np.__version__}, {os.cpu_count()} CPUs, {torch.get_num_threads()} torch threads")
    start = time.perf_counter()
    for name in args.datasets:
        if CACHE:
            CACHE.reset()
        tables, metric = (bench_sequential if name in SEQUENTIAL else bench_graph)(name, args)
        title = {**SEQUENTIAL, **GRAPHS}[name]
        for label, (rows, scores) in tables.items():
            what = {"all": "every matrix", "items": "item table only",
                    "entities": "entity table"}[label]
            print(f"\n## {title}: {what}\n")
            print(rst_tables(rows, f"{title}, {what}", metric, args.methods))
            print("\n" + differences(scores, rows, f"{title}, {what}", metric))
            print(f"\nbest method per keep:\n{summary(rows, metric)}")
            frame = pd.DataFrame(rows[1:])
            by_method = frame.groupby("method", sort=False)
            print("compress seconds per call (no fine-tuning; mean, min-max over keeps): "
                  + "; ".join(f"{m} {g['compress s'].mean():.2f} ({g['compress s'].min():.2f}"
                              f"-{g['compress s'].max():.2f})" for m, g in by_method))
            print("rms(left) / rms(right) of the table's factors (mean over keeps): "
                  + ", ".join(f"{m} {g['rms left / right'].mean():.3g}"
                              for m, g in by_method), flush=True)
        if CACHE and CACHE.seconds:
            print(f"back-propagation of the Fisher batches: {CACHE.seconds:.2f} s (timed "
                  "once, added to every gfwsvd / fwsvd call that replayed it)")
        print(f"elapsed {time.perf_counter() - start:.0f} s", flush=True)


if __name__ == "__main__":
    main()
