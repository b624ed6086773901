"""Optimizers: AdaGram against Adam and Adagrad, on SASRec (MovieLens-100K) and TuckER (UMLS).

Run: ``RECFACTOR_DATA=../shared/data python benchmarks/bench_optim.py --threads 1``
(``--datasets 100k umls``, ``--epochs N`` for both tasks (default 20 for SASRec, 30 for
TuckER), ``--seeds 2``, ``--first-seed 0``, ``--optimizers adam adagrad adagram``,
``--lrs adam=0.0003,0.001`` to replace a grid, ``--step-repeats 50``, ``--in-process``).

Every estimator takes ``optimizer="adam" | "adagrad" | "adagram"``, and ``learning_rate``
is the chosen optimizer's lr (:func:`recfactor.utils._torch.make_optimizer`: Adam with the
model's own options, ``torch.optim.Adagrad`` and :class:`recfactor.optim.AdaGram` with
their defaults besides lr; AdaGram: rank 5, delta 1, blocks of 4,096 entries).

(a) SASRec on MovieLens-100K, the split of ``bench_sequential.py`` (its ``load`` and
``split``): leave-last-out, training on the histories without their last two items,
validation NDCG@10 on the second-to-last item (``X_valid``, every epoch, ``patience=None``),
test NDCG@10 and HR@10 on the last item, every item ranked and seen items excluded.
Settings of ``bench_sequential.py`` (embedding 64, 2 blocks, 1 head, dropout 0.1, batch 128,
full-softmax cross-entropy, Adam's betas 0.9 / 0.98) except the history length: the 50
most recent items (SASRec's default) instead of 200, which makes an epoch about 3.5 times
cheaper and the whole grid affordable.

(b) TuckER on UMLS, the triples and evaluator of ``bench_knowledge_graph.py`` (its
``settings("umls")``, ``Filter``, ``evaluate``): d_e = d_r = 100, dropouts .2/.2/.3, label
smoothing 0.1, batch 128, no decay; validation MRR every epoch (``patience=None``), test
MRR and Hits@1/3/10, filtered realistic ranks of both directions.

Protocol, the same for each optimizer: the learning rate is picked from a grid of three
log-spaced values (``GRIDS``, placed by a few-epoch pilot) by the best validation score of
a fit on the first seed; the chosen rate is then fitted on the other seeds. Every fit runs
the same number of epochs, and keeps the parameters of its best validation epoch (epoch 0,
before training, included): the test scores are those of these parameters. The means are
over the seeds; the first seed's run is the grid's.

Time: the script wraps the estimators' epoch loop (``train_epochs``) and times each epoch's
training (``run_epoch``: batches, backward passes, optimizer steps) and each validation
separately; "train s/epoch" is the mean of the former, without validation, "valid s" the
mean cost of one validation, and "fit s/epoch" the whole fit (setup, training and the
``n_iter_ + 1`` validations) over ``n_iter_``.

Memory: the state of the optimizer that trained the model, captured by wrapping
``make_optimizer``, summed over its tensors after the fit (Adam: ``exp_avg`` and
``exp_avg_sq``, two floats per parameter entry; Adagrad: ``sum``, one; AdaGram: per tensor
``U`` and ``S``, ``n_blocks x (m k + k^2)`` floats with ``m`` the block length and
``k = min(rank, m)``), with the formula's figure beside it (step counters not counted).
Peak RSS: each optimizer's fits of a task run in a fresh process (``spawn``), whose peak
resident set size (``ru_maxrss``) is printed with its size before the first fit (data
loaded, torch imported). ``--in-process`` runs everything in this process, without RSS.

Step cost: on each task's network (one Adam epoch from the first seed), real gradients of
``--step-repeats`` (+ 5 warm-up) random training batches are computed once; then each
optimizer, built by ``make_optimizer`` exactly as the estimator builds it (SASRec: Adam
with betas, for-loop implementation; TuckER: fused Adam), takes one ``step()`` per gradient,
the optimizers in turn at every gradient so that a noisy machine slows them alike. The
median seconds of a step are printed, and the ratio to Adam's.

The tables are printed as reStructuredText ``csv-table`` blocks.
"""

import argparse
import copy
import os
import resource
import time
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from multiprocessing import get_context

import numpy as np
import pandas as pd
from _threads import limit_threads

OPTIMIZERS = ["adam", "adagrad", "adagram"]
LABELS = {"adam": "Adam", "adagrad": "Adagrad", "adagram": "AdaGram"}
TASKS = {
    "100k": {"model": "SASRec", "data": "MovieLens-100K", "metric": "NDCG@10", "epochs": 20},
    "umls": {"model": "TuckER", "data": "UMLS", "metric": "MRR", "epochs": 30},
}
GRIDS = {
    "100k": {"adam": [1e-3, 3e-3, 1e-2], "adagrad": [0.01, 0.03, 0.1],
             "adagram": [1.0, 2.0, 4.0]},
    "umls": {"adam": [0.005, 0.01, 0.02], "adagrad": [0.05, 0.1, 0.2],
             "adagram": [10.0, 20.0, 40.0]},
}
SASREC = {"max_length": 50}  # on top of bench_sequential's COMMON
WARMUP_STEPS = 5


def rss_mib():
    """Current resident set size of this process, MiB."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


# --- instrumentation of the estimators' training --------------------------------------------


class Record:
    """What one fit did: its optimizer, each epoch's training seconds, each validation's."""

    def __init__(self):
        self.optimizers, self.epoch_seconds, self.valid_seconds = [], [], []


@contextmanager
def instrumented():
    """Wrap ``train_epochs`` and ``make_optimizer`` where the estimators call them.

    Nothing in the training changes: the wrappers only time ``run_epoch`` and ``validate``
    and keep the optimizer that ``make_optimizer`` returned.
    """
    import recfactor.knowledge_graph._training as kg_training
    import recfactor.sequential._base as sequential_base
    from recfactor.utils import _torch

    record = Record()

    def timed(function, times):
        def wrapper():
            start = time.perf_counter()
            value = function()
            times.append(time.perf_counter() - start)
            return value
        return wrapper

    def train_epochs(module, run_epoch, *, validate=None, **options):
        return _torch.train_epochs(
            module, timed(run_epoch, record.epoch_seconds),
            validate=None if validate is None else timed(validate, record.valid_seconds),
            **options)

    def make_optimizer(*args, **options):
        optimizer = _torch.make_optimizer(*args, **options)
        record.optimizers.append(optimizer)
        return optimizer

    modules = [sequential_base, kg_training]
    saved = [(module, module.train_epochs, module.make_optimizer) for module in modules]
    for module in modules:
        module.train_epochs, module.make_optimizer = train_epochs, make_optimizer
    try:
        yield record
    finally:
        for module, original_train, original_make in saved:
            module.train_epochs, module.make_optimizer = original_train, original_make


def state_bytes(optimizer):
    """Bytes of every tensor in the optimizer's state (step counters included)."""
    import torch

    return int(sum(value.numel() * value.element_size() for state in optimizer.state.values()
                   for value in state.values() if isinstance(value, torch.Tensor)))


def formula_bytes(name, optimizer):
    """What the state should hold, in bytes, without the step counters (float32)."""
    from recfactor.optim._adagram import _block_shape

    floats = 0
    for group in optimizer.param_groups:
        for parameter in group["params"]:
            if name == "adam":
                floats += 2 * parameter.numel()
            elif name == "adagrad":
                floats += parameter.numel()
            else:
                n_blocks, m = _block_shape(parameter.numel(), group["block_size"])
                k = min(group["rank"], m)
                floats += n_blocks * (m * k + k * k)
    return 4 * floats


# --- the two tasks --------------------------------------------------------------------------


class SASRecTask:
    """SASRec on MovieLens-100K, leave-last-out (bench_sequential's load and split)."""

    def __init__(self):
        from bench_sequential import load, split

        sequences, rated, self.n_items = load("100k")
        self.parts = split(sequences, rated)

    def model(self, optimizer, learning_rate, seed, epochs):
        from bench_sequential import recfactor_model

        return recfactor_model("SASRec", epochs, self.n_items, seed, optimizer=optimizer,
                               learning_rate=learning_rate, **SASREC)

    def fit(self, model):
        return model.fit(self.parts["train"], X_valid=self.parts["valid"])

    def test(self, model):
        from bench_sequential import K, judge

        scores = judge(model.recommend(self.parts["inputs"], k=K), self.parts["targets"],
                       self.n_items)
        return {"test NDCG@10": scores["NDCG@10"], "test HR@10": scores["HR@10"]}

    def network(self, model):
        return model.network_

    def gradient_batches(self, model, n, rng):
        """``n`` closures, each leaving the gradient of one random training batch."""
        import torch

        arrays = model._training_arrays(model._check_histories(self.parts["train"]))
        lengths = model._row_lengths(arrays)
        device = torch.device("cpu")

        def backward(rows):
            return lambda network: model._backward_batch(network, arrays, rows, lengths, rng,
                                                         device)

        return [backward(rng.choice(lengths.size, model.batch_size, replace=False))
                for _ in range(n)]

    def optimizer_options(self):
        return {"betas": (0.9, 0.98)}  # as SASRec's _train builds Adam

    def steps_per_epoch(self, model):
        return -(-len(self.parts["train"]) // model.batch_size)


class TuckERTask:
    """TuckER on UMLS (bench_knowledge_graph's settings, filter and evaluator)."""

    def __init__(self):
        from bench_knowledge_graph import Filter
        from recfactor.datasets import load_knowledge_graph

        self.data = load_knowledge_graph("umls")
        data = self.data
        self.known = Filter(np.concatenate([data.train, data.valid, data.test]),
                            len(data.entity_ids), len(data.relation_ids))

    def model(self, optimizer, learning_rate, seed, epochs):
        from bench_knowledge_graph import settings
        from recfactor.knowledge_graph import TuckER

        params = {**settings("umls"), "learning_rate": learning_rate}
        return TuckER(**params, optimizer=optimizer, max_epochs=epochs, eval_every=1,
                      patience=None, device="cpu", random_state=seed)

    def fit(self, model):
        return model.fit(self.data.train, X_valid=self.data.valid)

    def test(self, model):
        from bench_knowledge_graph import evaluate, metrics, recfactor_scores

        scores = metrics(evaluate(*recfactor_scores(model), self.data.test, self.known))
        return {f"test {name}": value for name, value in scores.items()}

    def network(self, model):
        return model.module_

    def _queries(self, model):
        from recfactor.knowledge_graph._training import QueryAnswers
        from recfactor.utils import check_triples

        encoded = model._encode(check_triples(self.data.train), "X")
        return QueryAnswers(encoded, model._n_entities, model._n_relations)

    def gradient_batches(self, model, n, rng):
        import torch
        from recfactor.knowledge_graph._training import smoothed_one_to_n_bce

        queries = self._queries(model)

        def backward(rows):
            def run(network):
                logits = network(torch.as_tensor(queries.entities[rows]),
                                 torch.as_tensor(queries.relations[rows]))
                loss = smoothed_one_to_n_bce(logits, queries.answers[rows],
                                             model.label_smoothing)
                loss.backward()
                return loss.item()
            return run

        return [backward(np.sort(rng.choice(queries.n_queries, model.batch_size,
                                            replace=False)))
                for _ in range(n)]

    def optimizer_options(self):
        return {"fused": True}  # as train_one_to_n builds Adam

    def steps_per_epoch(self, model):
        n_queries = self._queries(model).n_queries
        return max(1, min(-(-n_queries // model.batch_size), n_queries // 2))


def make_task(name):
    return SASRecTask() if name == "100k" else TuckERTask()


# --- the work of one process -----------------------------------------------------------------


def fit_once(task, optimizer, learning_rate, seed, epochs):
    model = task.model(optimizer, learning_rate, seed, epochs)
    with instrumented() as record:
        start = time.perf_counter()
        task.fit(model)
        fit_seconds = time.perf_counter() - start
    trained_with = record.optimizers[-1]
    parameters = list(task.network(model).parameters())
    return {
        "optimizer": optimizer, "lr": learning_rate, "seed": seed,
        "valid": list(model.validation_scores_), "best valid": model.best_validation_score_,
        "best epoch": model.best_epoch_, "epochs": model.n_iter_,
        **task.test(model),
        "train s/epoch": float(np.mean(record.epoch_seconds)),
        "valid s": float(np.mean(record.valid_seconds)),
        "fit s/epoch": fit_seconds / model.n_iter_,
        "parameters": int(sum(p.numel() for p in parameters)),
        "state bytes": state_bytes(trained_with),
        "formula bytes": formula_bytes(optimizer, trained_with),
    }


def run_optimizer(name, optimizer, grid, seeds, epochs, threads, measure_rss=True):
    """The grid on the first seed, then the chosen rate on the others; every fit's row."""
    limit_threads(threads)
    task = make_task(name)
    before = rss_mib() if measure_rss else None
    rows = []
    for learning_rate in grid:
        rows.append({**fit_once(task, optimizer, learning_rate, seeds[0], epochs),
                     "grid": True})
        print(short(name, rows[-1]), flush=True)
    grid_rows = rows[:]
    chosen = max(grid_rows, key=lambda row: row["best valid"])["lr"]
    for seed in seeds[1:]:
        rows.append({**fit_once(task, optimizer, chosen, seed, epochs), "grid": False})
        print(short(name, rows[-1]), flush=True)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024 if measure_rss else None
    return {"rows": rows, "chosen": chosen, "rss before": before, "peak rss": peak}


def short(name, row):
    metric = TASKS[name]["metric"]
    return (f"{TASKS[name]['model']} {LABELS[row['optimizer']]} lr={row['lr']:g} "
            f"seed={row['seed']}: best valid {metric} {row['best valid']:.4f} (epoch "
            f"{row['best epoch']}), test {metric} {row[f'test {metric}']:.4f}, train "
            f"{row['train s/epoch']:.2f} s/epoch, valid {row['valid s']:.2f} s")


def step_costs(name, seed, repeats, threads):
    """Median seconds of one ``step()`` of each optimizer on the same real gradients."""
    import torch

    from recfactor.utils._torch import make_optimizer

    limit_threads(threads)
    task = make_task(name)
    lr = {optimizer: GRIDS[name][optimizer][1] for optimizer in OPTIMIZERS}
    model = task.model("adam", lr["adam"], seed, 1)
    task.fit(model)
    network = task.network(model)
    network.train()  # gradients as in training: dropout on
    rng = np.random.default_rng(seed)
    gradients = []
    for backward in task.gradient_batches(model, WARMUP_STEPS + repeats, rng):
        network.zero_grad(set_to_none=True)
        backward(network)
        gradients.append([torch.zeros_like(p) if p.grad is None else p.grad.detach().clone()
                          for p in network.parameters()])
    copies, optimizers = {}, {}
    for optimizer in OPTIMIZERS:
        copies[optimizer] = copy.deepcopy(network)
        parameters = list(copies[optimizer].parameters())
        for parameter in parameters:
            parameter.grad = torch.zeros_like(parameter)
        options = task.optimizer_options() if optimizer == "adam" else {}
        optimizers[optimizer] = make_optimizer(optimizer, parameters, lr[optimizer], **options)
    times = {optimizer: [] for optimizer in OPTIMIZERS}
    for i, gradient in enumerate(gradients):
        for optimizer in OPTIMIZERS:
            for parameter, g in zip(copies[optimizer].parameters(), gradient):
                parameter.grad.copy_(g)
            start = time.perf_counter()
            optimizers[optimizer].step()
            seconds = time.perf_counter() - start
            if i >= WARMUP_STEPS:
                times[optimizer].append(seconds)
    n_parameters = sum(p.numel() for p in network.parameters())
    return {"steps per epoch": task.steps_per_epoch(model), "parameters": n_parameters,
            "tensors": len(list(network.parameters())),
            "median": {o: float(np.median(t)) for o, t in times.items()},
            "quartiles": {o: (float(np.percentile(t, 25)), float(np.percentile(t, 75)))
                          for o, t in times.items()},
            "state bytes": {o: state_bytes(optimizers[o]) for o in OPTIMIZERS}}


# --- printing -------------------------------------------------------------------------------


def csv_table(title, frame):
    """A reStructuredText csv-table of ``frame`` (its index becomes the first column)."""
    frame = frame.reset_index()
    lines = [f".. csv-table:: {title}", "   :class: table-sm small", "   :header-rows: 1", ""]

    def cell(value):
        text = str(value)
        return f'"{text}"' if "," in text or '"' in text else text

    lines.append("   " + ", ".join(cell(c) for c in frame.columns))
    for row in frame.itertuples(index=False):
        lines.append("   " + ", ".join(cell(v) for v in row))
    print("\n" + "\n".join(lines) + "\n", flush=True)


def mean_sd(values, digits=4):
    values = np.asarray(values, dtype=float)
    if values.size == 1:
        return f"{values[0]:.{digits}f}"
    return f"{values.mean():.{digits}f} ({values.std(ddof=1):.{digits}f})"


def report_task(name, results, seeds, epochs):
    task = TASKS[name]
    metric = task["metric"]
    header = f"{task['model']} on {task['data']}, {epochs} epochs"
    grid = pd.DataFrame([
        {"optimizer": LABELS[o], "lr": f"{row['lr']:g}",
         f"best valid {metric}": f"{row['best valid']:.4f}", "best epoch": row["best epoch"],
         f"valid {metric} at epoch {epochs}": f"{row['valid'][-1]:.4f}",
         f"test {metric}": f"{row[f'test {metric}']:.4f}",
         "train s/epoch": f"{row['train s/epoch']:.2f}",
         "chosen": "yes" if row["lr"] == results[o]["chosen"] else ""}
        for o in results for row in results[o]["rows"] if row["grid"]]).set_index("optimizer")
    csv_table(f"{header}: learning-rate grid, seed {seeds[0]}", grid)

    chosen = {o: [r for r in results[o]["rows"] if r["lr"] == results[o]["chosen"]]
              for o in results}
    first = next(iter(chosen.values()))[0]
    tests = [c for c in first if c.startswith("test ")]
    summary = []
    for o in results:
        runs = chosen[o]
        summary.append({
            "optimizer": LABELS[o], "lr": f"{results[o]['chosen']:g}",
            f"best valid {metric}": mean_sd([r["best valid"] for r in runs]),
            **{c: mean_sd([r[c] for r in runs]) for c in tests},
            "best epoch": "/".join(str(r["best epoch"]) for r in runs),
            "train s/epoch": mean_sd([r["train s/epoch"] for r in runs], 2),
            "valid s": f"{np.mean([r['valid s'] for r in runs]):.2f}",
            "fit s/epoch": f"{np.mean([r['fit s/epoch'] for r in runs]):.2f}",
            "state bytes": f"{runs[0]['state bytes']:,}",
            "formula bytes": f"{runs[0]['formula bytes']:,}",
            "peak RSS MiB (before fits)": (
                "n/a" if results[o]["peak rss"] is None
                else f"{results[o]['peak rss']:.0f} ({results[o]['rss before']:.0f})")})
    summary = pd.DataFrame(summary).set_index("optimizer")
    seed_text = (f"seed {seeds[0]}" if len(seeds) == 1
                 else f"mean (sd) over seeds {seeds[0]}..{seeds[-1]}")
    print(f"{header}: {first['parameters']:,} parameters")
    csv_table(f"{header}: the chosen learning rates, {seed_text}", summary)

    curves = pd.DataFrame({LABELS[o]: np.mean([r["valid"] for r in chosen[o]], axis=0)
                           for o in results})
    curves.index.name = "epoch"
    csv_table(f"{header}: validation {metric} per epoch (0: before training), chosen rates, "
              f"{seed_text}", curves.map("{:.4f}".format))

    def ratio(column, other):
        return (np.mean([r[column] for r in chosen[other]])
                / np.mean([r[column] for r in chosen["adam"]]))

    ratios = pd.DataFrame([{"compared": f"{LABELS[o]} / Adam",
                            "train s/epoch": f"{ratio('train s/epoch', o):.2f}",
                            "fit s/epoch": f"{ratio('fit s/epoch', o):.2f}",
                            "state bytes": f"{ratio('state bytes', o):.3f}",
                            f"test {metric}": f"{ratio(f'test {metric}', o):.3f}"}
                           for o in ("adagram", "adagrad") if o in results])
    if "adam" in results and len(ratios):
        csv_table(f"{header}: ratios to Adam at the chosen rates", ratios.set_index("compared"))
    return summary


def report_steps(costs, repeats):
    rows = []
    for name, cost in costs.items():
        for o in OPTIMIZERS:
            median = cost["median"][o]
            low, high = cost["quartiles"][o]
            rows.append({
                "network": f"{TASKS[name]['model']} ({cost['parameters']:,} parameters, "
                           f"{cost['tensors']} tensors)",
                "optimizer": LABELS[o], "ms/step (median)": f"{1e3 * median:.2f}",
                "quartiles": f"{1e3 * low:.2f} to {1e3 * high:.2f}",
                "x Adam": f"{median / cost['median']['adam']:.2f}",
                "state bytes": f"{cost['state bytes'][o]:,}",
                "ms per epoch of steps": f"{1e3 * median * cost['steps per epoch']:.0f} "
                                         f"({cost['steps per epoch']} steps)"})
    csv_table(f"One optimizer.step() on the same real gradients, median of {repeats} steps "
              f"(after {WARMUP_STEPS} warm-up steps)", pd.DataFrame(rows).set_index("network"))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--datasets", nargs="+", choices=list(TASKS), default=list(TASKS))
    parser.add_argument("--epochs", type=int, default=None,
                        help="epochs of every fit (default: 20 for SASRec, 30 for TuckER)")
    parser.add_argument("--seeds", type=int, default=2,
                        help="seeds of the chosen rates (the first seed runs the grid)")
    parser.add_argument("--first-seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=None,
                        help="threads of torch, BLAS and Numba (default: their own)")
    parser.add_argument("--optimizers", nargs="+", choices=OPTIMIZERS, default=OPTIMIZERS)
    parser.add_argument("--lrs", nargs="+", default=[], metavar="OPTIMIZER=LR,LR",
                        help="replace an optimizer's grid on every data set run, e.g. "
                        "adam=0.0003,0.001")
    parser.add_argument("--step-repeats", type=int, default=50,
                        help="timed optimizer steps of the per-step comparison (0: skip)")
    parser.add_argument("--in-process", action="store_true",
                        help="no process per optimizer (and no peak RSS)")
    args = parser.parse_args()
    replaced = {}
    for text in args.lrs:
        optimizer, _, values = text.partition("=")
        if optimizer not in OPTIMIZERS or not values:
            parser.error(f"--lrs takes OPTIMIZER=LR,LR... with OPTIMIZER in {OPTIMIZERS}, "
                         f"got {text!r}")
        replaced[optimizer] = [float(value) for value in values.split(",")]
    started = time.perf_counter()
    limit_threads(args.threads)  # here too: the spawned processes inherit the variables
    import torch

    print(f"{os.cpu_count()} CPUs, torch {torch.__version__}, numpy {np.__version__}, "
          f"{torch.get_num_threads()} torch threads", flush=True)
    seeds = list(range(args.first_seed, args.first_seed + args.seeds))
    context = get_context("spawn")

    def call(function, *call_args):
        if args.in_process:
            return function(*call_args)
        # A fresh process for each call: its peak RSS is its own.
        with ProcessPoolExecutor(max_workers=1, mp_context=context) as pool:
            return pool.submit(function, *call_args).result()

    costs = {}
    for name in args.datasets:
        epochs = args.epochs or TASKS[name]["epochs"]
        grids = {o: replaced.get(o, GRIDS[name][o]) for o in args.optimizers}
        print(f"\n# {TASKS[name]['model']} on {TASKS[name]['data']}: {epochs} epochs, grids "
              + "; ".join(f"{LABELS[o]} {grid}" for o, grid in grids.items()), flush=True)
        results = {}
        for optimizer, grid in grids.items():
            if args.in_process:
                results[optimizer] = run_optimizer(name, optimizer, grid, seeds, epochs,
                                                   args.threads, False)
            else:
                results[optimizer] = call(run_optimizer, name, optimizer, grid, seeds, epochs,
                                          args.threads)
        report_task(name, results, seeds, epochs)
        if args.step_repeats:
            costs[name] = call(step_costs, name, seeds[0], args.step_repeats, args.threads)
    if costs:
        report_steps(costs, args.step_repeats)
    print(f"total {time.perf_counter() - started:.0f} s", flush=True)


if __name__ == "__main__":
    main()
