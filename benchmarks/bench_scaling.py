"""How fit time and peak memory grow with the number of users and items.

Run: ``python benchmarks/bench_scaling.py`` (``--max-users 1000000``, ``--max-items 200000``,
``--time-limit 300``, ``--threads 1``, ``--memory-limit-gb 20``, ``--sasrec-histories 2000``,
``--models PureSVD EASE ...``, ``--json results.json``, ``--plots-dir docs/_static``;
``--report results.json`` prints the tables and draws the figures of a saved run);
``--quick`` runs a tiny grid in about a minute, as a smoke test (no plots unless
``--plots-dir`` is given).

Data: synthetic power-law interactions, generated as a CSR matrix directly. A user's number
of interactions is ``1 + floor(19.5 L)`` with ``L`` Lomax (Pareto II) of tail index 2, so
about 20 on average with a power-law tail (capped at half the catalogue); the items are drawn
from a Zipf popularity ``p_i ~ (1 + rank_i)^-0.9`` (ranks in random order over the ids), and
a repeated draw is one interaction, so heavy users keep a little fewer than they drew. Every
interaction has weight 1. Item features (HybridSVD, ContentKNN): 500 binary features, 10
drawn uniformly per item (a repeat is one feature). SASRec: ``--sasrec-histories`` histories
of 40 to 60 items (uniform) drawn from the same Zipf popularity.

Sweeps: users grow (10k, 30k, 100k, 300k, 1M) at 10,000 items; items grow (1k, 3k, 10k, 30k,
100k, 200k) at 50,000 users; SASRec's seconds per epoch as the catalogue grows (1k, 3k, 10k,
30k, 100k items), ``loss="ce"`` against ``loss="sampled_ce"`` (256 negatives per batch).
Models: PureSVD (rank 64), EASE (l2 500, ``max_items`` raised), ALS (rank 64, 3 epochs, CPU),
HybridSVD (rank 64, alpha 0.5, the item features), ContentKNN (50 neighbours; its ``fit``
only stores the matrices, so the time of ``recommend(k=10)`` for 1,000 items taken as cold is
measured too, in the same process), and ``recommend(X, k=10)`` for every user of a fitted
PureSVD (its item factors come from the PureSVD fit of the same size; random orthonormal ones
when that fit did not run). SASRec: embedding_dim 64, max_length 50, 2 blocks, batch 128, one
epoch, ``device="cpu"``.

Each (model, size) runs in a fresh process (``ProcessPoolExecutor(max_workers=1)`` with the
``spawn`` context, one task per process), which loads the data saved by the parent, warms the
model up on a tiny problem (imports, Numba caches, torch kernels), then measures. Seconds are
wall-clock seconds of the call. Peak memory is the peak RSS during the call minus the RSS
just before it: ``VmHWM`` of ``/proc/self/status``, reset to the current RSS just before the
call (``5`` written to ``/proc/self/clear_refs``). ``ru_maxrss`` minus the same RSS is saved
too (``--json``), but in a spawned child it still holds the parent's RSS at the fork and the
peaks of the loading and the warm-up, so it is only an upper bound (the table says ``<=``
where the reset is not allowed and ``ru_maxrss`` is used). With ``--quick`` only the first
task gets a fresh process and the others run in the parent, so that the smoke test is quick.

A size whose predicted memory exceeds ``--memory-limit-gb`` (EASE: ``8 n_items^2`` bytes, the
one dense items x items matrix that EASE builds, factorises and inverts in place, plus the
column blocks of the Gram matrix; SASRec with ``"ce"``: twice a float32 batch x max_length x
n_items tensor, about what was measured) is skipped and printed as "does not fit in 24 GB". A
sweep stops for a model after a size takes longer than ``--time-limit`` seconds (the process
is killed at the limit plus the time to load the data), or when the slope of its last two
sizes predicts more than twice the limit for the next one.

BLAS, OpenMP and Numba get ``--threads`` threads in every process (default 1: with the second
core busy with another job, two threads made torch and LAPACK several times slower;
environment variables set before the process starts), torch
``torch.set_num_threads(threads)``; the ALS processes get ``OPENBLAS_NUM_THREADS=1``
(implicit parallelises over users and items itself, and recfactor also limits BLAS to one
thread inside ``fit``). The script prints RST tables (model x size: seconds, peak MB), the
exponent of a line fitted to log(seconds) and log(MB) against log(size) (``np.polyfit``, over
every measured size and over the largest three), and saves three figures:
``scaling_users.png``, ``scaling_items.png``, ``scaling_sasrec.png``.
"""

import argparse
import gc
import json
import math
import multiprocessing
import os
import platform
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path

import numpy as np
import scipy.sparse as sp

RANK = 64
ALS_EPOCHS = 3
N_FEATURES = 500
FEATURES_PER_ITEM = 10
COLD_ITEMS = 1000
K = 10
ITEM_EXPONENT = 0.9
SASREC_PARAMS = dict(embedding_dim=64, max_length=50, n_blocks=2, batch_size=128,
                     max_epochs=1, device="cpu", random_state=0)
LOAD_ALLOWANCE = 120  # seconds a child may spend loading data and warming up

GRIDS = {
    "default": dict(users=[10_000, 30_000, 100_000, 300_000, 1_000_000], users_items=10_000,
                    items=[1_000, 3_000, 10_000, 30_000, 100_000, 200_000], items_users=50_000,
                    sasrec_items=[1_000, 3_000, 10_000, 30_000, 100_000]),
    "quick": dict(users=[2_000, 6_000], users_items=1_000,
                  items=[500, 1_500], items_users=3_000,
                  sasrec_items=[500, 1_500]),
}
MODELS = ["PureSVD", "EASE", "ALS", "HybridSVD", "ContentKNN", "recommend"]
# Rows of the tables: ContentKNN's process also measures recommend on 1,000 cold items.
ROWS = ["PureSVD", "EASE", "ALS", "HybridSVD", "ContentKNN", "ContentKNN.recommend",
        "recommend"]
ROW_LABELS = {"ContentKNN.recommend": f"ContentKNN recommend ({COLD_ITEMS:,} items)",
              "recommend": "PureSVD recommend (all users)"}
NO_FIT = "does not fit in 24 GB"
THREAD_VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS",
                    "NUMBA_NUM_THREADS")


# --------------------------------------------------------------------------- data


def zipf_popularity(n_items, rng):
    """Item probabilities ``~ (1 + rank)^-ITEM_EXPONENT``, the ranks in random order."""
    weights = (1.0 + np.arange(n_items)) ** -ITEM_EXPONENT
    popularity = np.empty(n_items)
    popularity[rng.permutation(n_items)] = weights / weights.sum()
    return popularity


def binary_csr(rows, columns, shape):
    """A CSR matrix of ones at (rows, columns), a repeated pair counted once."""
    keys = np.unique(rows.astype(np.int64) * shape[1] + columns)
    indptr = np.zeros(shape[0] + 1, dtype=np.int64)
    np.cumsum(np.bincount(keys // shape[1], minlength=shape[0]), out=indptr[1:])
    indices = (keys % shape[1]).astype(np.int32)
    return sp.csr_matrix((np.ones(len(indices), dtype=np.float32), indices, indptr),
                         shape=shape)


def make_power_law(n_users, n_items, seed=0):
    """Users x items CSR: Lomax(2) activity (mean about 20), Zipf item popularity."""
    rng = np.random.default_rng(seed)
    counts = 1 + np.floor(19.5 * rng.pareto(2.0, n_users)).astype(np.int64)
    np.minimum(counts, max(1, n_items // 2), out=counts)
    popularity = zipf_popularity(n_items, rng)
    cumulative = np.cumsum(popularity)
    items = np.searchsorted(cumulative, rng.random(counts.sum()) * cumulative[-1])
    np.minimum(items, n_items - 1, out=items)
    rows = np.repeat(np.arange(n_users, dtype=np.int64), counts)
    return binary_csr(rows, items, (n_users, n_items))


def make_item_features(n_items, seed=1):
    """Items x N_FEATURES binary CSR, about FEATURES_PER_ITEM features per item."""
    rng = np.random.default_rng(seed)
    rows = np.repeat(np.arange(n_items, dtype=np.int64), FEATURES_PER_ITEM)
    columns = rng.integers(0, N_FEATURES, size=len(rows))
    return binary_csr(rows, columns, (n_items, N_FEATURES))


def make_histories(n_histories, n_items, seed=0):
    """Histories of 40 to 60 items drawn from the Zipf popularity."""
    rng = np.random.default_rng(seed)
    cumulative = np.cumsum(zipf_popularity(n_items, rng))
    lengths = rng.integers(40, 61, size=n_histories)
    items = np.searchsorted(cumulative, rng.random(lengths.sum()) * cumulative[-1])
    np.minimum(items, n_items - 1, out=items)
    return np.split(items.astype(np.int64), np.cumsum(lengths)[:-1])


def save_csr(path, matrix):
    np.savez(path, indptr=matrix.indptr, indices=matrix.indices, shape=matrix.shape)


def load_csr(path):
    stored = np.load(path)
    indices = stored["indices"]
    return sp.csr_matrix((np.ones(len(indices), dtype=np.float32), indices, stored["indptr"]),
                         shape=tuple(stored["shape"]))


# --------------------------------------------------------------------------- child process


def rss_bytes():
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def max_rss_bytes():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # KB on Linux


def high_water_mark_bytes():
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    return None


def reset_high_water_mark():
    """Set the process's peak RSS (VmHWM) to its current RSS; False where Linux forbids it."""
    try:
        with open("/proc/self/clear_refs", "w") as clear_refs:
            clear_refs.write("5")
        return True
    except OSError:
        return False


def measured(call):
    """Seconds of ``call()``, and the peak memory it added to the RSS just before it.

    ``peak_mb``: the peak RSS during the call (VmHWM, reset to the current RSS just before
    it) minus that RSS. ``ru_maxrss_mb``: ``ru_maxrss`` after the call minus the same RSS;
    it also remembers the peaks of everything the process did before (imports, loading the
    data, the warm-up), so when it did not grow during the call (``ru_maxrss_hidden``) it
    is only an upper bound. Without the reset, ``peak_mb`` is ``ru_maxrss_mb``.
    """
    gc.collect()
    peak_before = max_rss_bytes()
    reset = reset_high_water_mark()
    before = rss_bytes()
    start = time.perf_counter()
    result = call()
    seconds = time.perf_counter() - start
    max_rss = max_rss_bytes()
    peak = high_water_mark_bytes() if reset else max_rss
    return result, dict(seconds=seconds, peak_mb=(peak - before) / 1e6,
                        ru_maxrss_mb=(max_rss - before) / 1e6,
                        ru_maxrss_hidden=max_rss <= peak_before,
                        upper_bound=not reset and max_rss <= peak_before)


def fitted_pure_svd(n_items, factors_path):
    from recfactor.decomposition import PureSVD

    model = PureSVD(rank=RANK)
    if factors_path and os.path.exists(factors_path):
        model.item_factors_ = np.load(factors_path)
        model.factors_source = "PureSVD fit"
    else:
        rng = np.random.default_rng(0)
        model.item_factors_ = np.linalg.qr(rng.standard_normal((n_items, RANK)))[0]
        model.factors_source = "random orthonormal"
    model.singular_values_ = np.ones(RANK)
    model.n_features_in_ = n_items
    return model


def child(task):
    """Run one measurement; called in a fresh spawned process."""
    threads = task["threads"]
    model = task["model"]
    rows = {}
    if model == "SASRec":
        import torch

        from recfactor.sequential import SASRec

        torch.set_num_threads(threads)
        SASRec(loss=task["loss"], **dict(SASREC_PARAMS, embedding_dim=8, max_length=10)).fit(
            make_histories(20, 50, seed=1))
        histories = make_histories(task["n_histories"], task["n_items"])
        estimator = SASRec(loss=task["loss"], n_items=task["n_items"], **SASREC_PARAMS)
        _, row = measured(lambda: estimator.fit(histories))
        row["seconds"] /= estimator.n_iter_
        rows[model] = row
        return rows

    X = load_csr(task["X"])
    tiny = make_power_law(300, 100, seed=5)
    if model in ("HybridSVD", "ContentKNN"):
        F, Y = load_csr(task["F"]), X.T.tocsr()
        del X
        tiny_f, tiny_y = make_item_features(100), tiny.T.tocsr()
    if model == "PureSVD":
        from recfactor.decomposition import PureSVD

        PureSVD(rank=8, random_state=0).fit(tiny)
        estimator = PureSVD(rank=RANK, random_state=0)
        _, rows[model] = measured(lambda: estimator.fit(X))
        if task.get("save_factors"):
            np.save(task["save_factors"], estimator.item_factors_)
    elif model == "EASE":
        from recfactor.decomposition import EASE

        EASE().fit(tiny)
        estimator = EASE(l2=500.0, max_items=10**7)
        _, rows[model] = measured(lambda: estimator.fit(X))
    elif model == "ALS":
        from threadpoolctl import threadpool_limits

        from recfactor.decomposition import ALS

        with threadpool_limits(1, user_api="blas"):
            ALS(rank=8, max_epochs=1, device="cpu", random_state=0).fit(tiny)
            estimator = ALS(rank=RANK, max_epochs=ALS_EPOCHS, device="cpu", random_state=0)
            _, rows[model] = measured(lambda: estimator.fit(X))
    elif model == "HybridSVD":
        from recfactor.decomposition import HybridSVD

        HybridSVD(rank=8, random_state=0).fit(tiny_f, tiny_y)
        estimator = HybridSVD(rank=RANK, alpha=0.5, random_state=0)
        _, rows[model] = measured(lambda: estimator.fit(F, Y))
    elif model == "ContentKNN":
        from recfactor.neighbors import ContentKNN

        ContentKNN().fit(tiny_f, tiny_y).recommend(tiny_f[:10], k=K)
        estimator = ContentKNN(n_neighbors=50)
        _, rows[model] = measured(lambda: estimator.fit(F, Y))
        cold = F[:COLD_ITEMS].copy()
        _, rows["ContentKNN.recommend"] = measured(lambda: estimator.recommend(cold, k=K))
    elif model == "recommend":
        warm = fitted_pure_svd(tiny.shape[1], None)
        warm.recommend(tiny, k=K)
        estimator = fitted_pure_svd(X.shape[1], task.get("load_factors"))
        _, row = measured(lambda: estimator.recommend(X, k=K))
        row["factors"] = estimator.factors_source
        rows[model] = row
    else:
        raise ValueError(f"unknown model {model!r}")
    return rows


# --------------------------------------------------------------------------- parent


def predicted_bytes(model, n_users, n_items, nnz, loss=None):
    """A rough prediction of a measurement's peak memory, to skip what cannot fit."""
    if model == "EASE":
        return 8.0 * n_items**2 + 20.0 * 1024 * n_items + 40.0 * nnz
    if model == "SASRec":
        batch = SASREC_PARAMS["batch_size"] * SASREC_PARAMS["max_length"]
        # measured: about one float32 batch x max_length x n_items tensor at the peak
        return 2 * 4.0 * batch * n_items if loss == "ce" else 1e9
    if model == "ContentKNN":  # recommend: blocks of 2**25 floats of similarities and scores
        return 3 * 8.0 * 2**25 + 30.0 * nnz
    if model == "recommend":  # the factors, the output and blocks of 2**23 scores
        return 8.0 * (RANK + K) * n_users + 3 * 8.0 * 2**23 + 12.0 * nnz
    return 8.0 * (2 * RANK + 1) * min(n_users, n_items) + 8.0 * RANK * (n_users + n_items) \
        + 40.0 * nnz


def child_environment(model, threads):
    variables = {name: str(threads) for name in THREAD_VARIABLES}
    if model == "ALS":
        variables["OPENBLAS_NUM_THREADS"] = "1"
    variables["PYTHONWARNINGS"] = "ignore"
    return variables


def run_in_fresh_process(task, time_limit):
    """Result rows of ``child(task)``, or a one-word reason why there are none."""
    saved = {name: os.environ.get(name) for name in (*THREAD_VARIABLES, "PYTHONWARNINGS")}
    os.environ.update(child_environment(task["model"], task["threads"]))
    executor = ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("spawn"))
    try:
        future = executor.submit(child, task)
        try:
            return future.result(timeout=time_limit + LOAD_ALLOWANCE)
        except FutureTimeout:
            for process in list(executor._processes.values()):
                process.kill()
            return "timeout"
        except BrokenProcessPool:
            return "killed"
        except Exception as error:  # noqa: BLE001 - report and go on with the sweep
            print(f"    {task['model']} failed: {type(error).__name__}: {error}", flush=True)
            return "error"
    finally:
        executor.shutdown(wait=False, cancel_futures=True)
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def run_task(task, args):
    """``run_in_fresh_process``; with ``--quick``, only the first task gets its own process
    (to check that path) and the others run in this one, so that the smoke test is quick."""
    if not args.quick or not args.fresh_done:
        args.fresh_done = True
        return run_in_fresh_process(task, args.time_limit)
    try:
        return child(task)
    except Exception as error:  # noqa: BLE001 - report and go on with the sweep
        print(f"    {task['model']} failed: {type(error).__name__}: {error}", flush=True)
        return "error"


def extrapolated_seconds(points, size):
    """Seconds at ``size`` on the line through the last two measured (size, seconds)."""
    if len(points) < 2 or points[-1][1] < 1.0:
        return None
    (n0, t0), (n1, t1) = points[-2], points[-1]
    slope = max(1.0, math.log(t1 / max(t0, 1e-3)) / math.log(n1 / n0))
    return t1 * (size / n1) ** slope


def sweep(name, sizes, dataset, models, args, workdir, results):
    """Measure every model at every size of one sweep; ``dataset(size)`` gives the shape."""
    stopped = {}
    points = {model: [] for model in models}
    for size in sizes:
        n_users, n_items = dataset(size)
        X = make_power_law(n_users, n_items)
        x_path = os.path.join(workdir, f"{name}_{size}_X.npz")
        save_csr(x_path, X)
        nnz = X.nnz
        info = dict(n_users=n_users, n_items=n_items, nnz=nnz)
        del X
        f_path = os.path.join(workdir, f"{name}_{size}_F.npz")
        save_csr(f_path, make_item_features(n_items))
        factors_path = os.path.join(workdir, f"{name}_{size}_factors.npy")
        print(f"  {name}={size:,}: {n_users:,} users, {n_items:,} items, {nnz:,} "
              f"interactions ({nnz / n_users:.1f} per user); load {os.getloadavg()[0]:.2f}",
              flush=True)
        for model in models:
            row_names = ["ContentKNN", "ContentKNN.recommend"] if model == "ContentKNN" \
                else [model]
            cell = results.setdefault(name, {}).setdefault(str(size), dict(info))
            need = predicted_bytes(model, n_users, n_items, nnz)
            if need > args.memory_limit_gb * 1e9:
                for row in row_names:
                    cell[row] = dict(status="memory", predicted_gb=need / 1e9)
                print(f"    {model}: {NO_FIT} (predicted {need / 1e9:.1f} GB)", flush=True)
                continue
            if model in stopped:
                for row in row_names:
                    cell[row] = dict(status="stopped", reason=stopped[model])
                continue
            guess = extrapolated_seconds(points[model], size)
            if guess is not None and guess > 2 * args.time_limit:
                stopped[model] = f"predicted {guess:.0f} s"
                for row in row_names:
                    cell[row] = dict(status="predicted", predicted_s=guess)
                print(f"    {model}: skipped, the last two sizes predict {guess:.0f} s",
                      flush=True)
                continue
            task = dict(model=model, threads=args.threads, X=x_path, F=f_path,
                        save_factors=factors_path if model == "PureSVD" else None,
                        load_factors=factors_path if model == "recommend" else None)
            start = time.perf_counter()
            outcome = run_task(task, args)
            wall = time.perf_counter() - start
            if isinstance(outcome, str):
                for row in row_names:
                    cell[row] = dict(status=outcome)
                stopped[model] = outcome
                print(f"    {model}: {outcome} after {wall:.0f} s in all", flush=True)
                continue
            for row, measurement in outcome.items():
                cell[row] = dict(status="ok", **measurement)
                print(f"    {row}: {measurement['seconds']:.2f} s, "
                      f"{measurement['peak_mb']:.0f} MB peak "
                      f"({wall:.0f} s with the process)", flush=True)
            seconds = outcome[model]["seconds"]
            points[model].append((size, seconds))
            if seconds > args.time_limit:
                stopped[model] = f"{seconds:.0f} s > {args.time_limit:.0f} s"
        for path in (x_path, f_path):
            os.remove(path)


def sasrec_sweep(sizes, args, results):
    points = {loss: [] for loss in ("ce", "sampled_ce")}
    stopped = {}
    for size in sizes:
        cell = results.setdefault("sasrec", {}).setdefault(
            str(size), dict(n_items=size, n_histories=args.sasrec_histories))
        print(f"  SASRec, {size:,} items, {args.sasrec_histories:,} histories; "
              f"load {os.getloadavg()[0]:.2f}", flush=True)
        for loss in ("ce", "sampled_ce"):
            need = predicted_bytes("SASRec", None, size, None, loss=loss)
            if need > args.memory_limit_gb * 1e9:
                cell[loss] = dict(status="memory", predicted_gb=need / 1e9)
                print(f"    {loss}: {NO_FIT} (predicted {need / 1e9:.1f} GB)", flush=True)
                continue
            if loss in stopped:
                cell[loss] = dict(status="stopped", reason=stopped[loss])
                continue
            guess = extrapolated_seconds(points[loss], size)
            if guess is not None and guess > 2 * args.time_limit:
                stopped[loss] = f"predicted {guess:.0f} s"
                cell[loss] = dict(status="predicted", predicted_s=guess)
                continue
            task = dict(model="SASRec", loss=loss, n_items=size, threads=args.threads,
                        n_histories=args.sasrec_histories)
            outcome = run_task(task, args)
            if isinstance(outcome, str):
                cell[loss] = dict(status=outcome)
                stopped[loss] = outcome
                print(f"    {loss}: {outcome}", flush=True)
                continue
            measurement = outcome["SASRec"]
            cell[loss] = dict(status="ok", **measurement)
            points[loss].append((size, measurement["seconds"]))
            print(f"    {loss}: {measurement['seconds']:.2f} s/epoch, "
                  f"{measurement['peak_mb']:.0f} MB peak", flush=True)
            if measurement["seconds"] > args.time_limit:
                stopped[loss] = f"{measurement['seconds']:.0f} s"


# --------------------------------------------------------------------------- report


def cell_text(entry, key, time_limit):
    status = entry.get("status") if entry else None
    if status is None:
        return ""
    if status == "ok":
        if key == "seconds":
            value = entry["seconds"]
            return f"{value:.3g}" if value < 100 else f"{value:.0f}"
        mb = max(entry["peak_mb"], 0.0)
        text = f"{mb:.3g}" if mb < 1000 else f"{mb:,.0f}"
        return f"<= {text}" if entry.get("upper_bound") else text
    if status == "memory":
        return NO_FIT
    if status == "timeout":
        return f"> {time_limit:.0f} s (killed)"
    if status == "predicted":
        return f"skipped (~{entry['predicted_s']:.0f} s)"
    if status == "stopped":
        return "(stopped)"
    return status


def rst_table(header, rows):
    widths = [max(len(str(line[i])) for line in [header, *rows]) for i in range(len(header))]
    rule = "  ".join("=" * width for width in widths)
    lines = [rule, "  ".join(str(h).ljust(w) for h, w in zip(header, widths)), rule]
    lines += ["  ".join(str(c).ljust(w) for c, w in zip(line, widths)) for line in rows]
    return "\n".join([*lines, rule])


def exponent(points, floor):
    """Slope of log(value) against log(size), over the values of at least ``floor``."""
    if len(points) < 2:
        return None
    sizes, values = np.array(points, dtype=float).T
    keep = values >= floor
    if keep.sum() < 2:
        return None
    return float(np.polyfit(np.log(sizes[keep]), np.log(values[keep]), 1)[0])


def series(sweep_results, row, key):
    points = []
    for size, cell in sweep_results.items():
        entry = cell.get(row)
        if entry and entry.get("status") == "ok":
            points.append((int(size), max(entry[key], 1e-3)))
    return sorted(points)


def exponent_text(points, key):
    floor = 0.01 if key == "seconds" else 1.0  # below, overheads and noise, not the model
    both = [exponent(points, floor), exponent(points[-3:], floor) if len(points) > 3 else None]
    return " / ".join("" if value is None else f"{value:.2f}" for value in both)


def with_walls(results, memory_limit_gb):
    """Cells skipped after a stop that would not have fitted anyway say so (for results
    saved before the memory check came first)."""
    for name, sweep_results in results.items():
        for cell in sweep_results.values():
            for row, entry in cell.items():
                if not isinstance(entry, dict) or entry.get("status") != "stopped":
                    continue
                if name == "sasrec":
                    need = predicted_bytes("SASRec", None, cell["n_items"], None, loss=row)
                else:
                    model = "ContentKNN" if row.startswith("ContentKNN") else row
                    need = predicted_bytes(model, cell["n_users"], cell["n_items"], cell["nnz"])
                if need > memory_limit_gb * 1e9:
                    cell[row] = dict(status="memory", predicted_gb=need / 1e9)
    return results


def report(results, args):
    labels = {"users": "users (at {} items)", "items": "items (at {} users)"}
    for name, fixed in (("users", "n_items"), ("items", "n_users")):
        if name not in results:
            continue
        sweep_results = results[name]
        sizes = sorted(sweep_results, key=int)
        rows = [row for row in ROWS if any(row in cell for cell in sweep_results.values())]
        fixed_value = sweep_results[sizes[0]][fixed]
        title = labels[name].format(f"{fixed_value:,}")
        for key, what in (("seconds", "seconds"), ("peak_mb", "peak MB")):
            header = ["model"] + [f"{int(size):,}" for size in sizes] + ["exponent"]
            table = [[ROW_LABELS.get(row, row)]
                     + [cell_text(sweep_results[size].get(row), key, args.time_limit)
                        for size in sizes]
                     + [exponent_text(series(sweep_results, row, key), key)] for row in rows]
            print(f"\n{what[0].upper() + what[1:]} as the {title} grow; exponent: slope "
                  "of the log-log fit over all / the largest three measured sizes\n")
            print(rst_table(header, table))
    if "sasrec" in results:
        sweep_results = results["sasrec"]
        sizes = sorted(sweep_results, key=int)
        for key, what in (("seconds", "seconds per epoch"), ("peak_mb", "peak MB")):
            header = ["loss"] + [f"{int(size):,}" for size in sizes] + ["exponent"]
            table = [[loss] + [cell_text(sweep_results[size].get(loss), key, args.time_limit)
                               for size in sizes]
                     + [exponent_text(series(sweep_results, loss, key), key)]
                     for loss in ("ce", "sampled_ce")]
            print(f"\nSASRec, {what}, as the items grow "
                  f"({args.sasrec_histories:,} histories of 40 to 60 items)\n")
            print(rst_table(header, table))


def plot(results, plots_dir):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    os.makedirs(plots_dir, exist_ok=True)
    figures = [("users", "users", ROWS), ("items", "items", ROWS),
               ("sasrec", "items", ["ce", "sampled_ce"])]
    written = []
    for name, axis, rows in figures:
        if name not in results:
            continue
        figure, panels = plt.subplots(1, 2, figsize=(11, 4.2))
        for panel, key, label in ((panels[0], "seconds", "seconds"),
                                  (panels[1], "peak_mb", "peak MB")):
            for row in rows:
                points = series(results[name], row, key)
                if not points:
                    continue
                sizes, values = zip(*points)
                text = ("SASRec " + row) if name == "sasrec" else ROW_LABELS.get(row, row)
                panel.plot(sizes, values, marker="o", label=text)
            panel.set_xscale("log")
            panel.set_yscale("log")
            panel.set_xlabel(f"number of {axis}")
            panel.set_ylabel(label + (" per epoch" if name == "sasrec" and key == "seconds"
                                      else ""))
            panel.grid(True, which="both", alpha=0.3)
        panels[0].legend(fontsize=8)
        fixed = {"users": "at {n_items:,} items", "items": "at {n_users:,} users",
                 "sasrec": "{n_histories:,} histories"}[name]
        first = results[name][min(results[name], key=int)]
        figure.suptitle(f"{'SASRec' if name == 'sasrec' else 'Fit'}: cost as the {axis} "
                        f"grow ({fixed.format(**first)})")
        figure.tight_layout()
        path = os.path.join(plots_dir, f"scaling_{name}.png")
        figure.savefig(path, dpi=90)
        plt.close(figure)
        written.append(path)
    return written


def versions():
    import numba
    import scipy
    import sklearn
    import threadpoolctl

    import recfactor

    found = dict(python=platform.python_version(), recfactor=recfactor.__version__,
                 numpy=np.__version__, scipy=scipy.__version__,
                 scikit_learn=sklearn.__version__, numba=numba.__version__,
                 threadpoolctl=threadpoolctl.__version__)
    for module in ("implicit", "torch"):
        try:
            found[module] = __import__(module).__version__
        except ImportError:
            found[module] = "absent"
    return found


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--max-users", type=int, default=None,
                        help="largest size of the users sweep")
    parser.add_argument("--max-items", type=int, default=None,
                        help="largest size of the items and SASRec sweeps")
    parser.add_argument("--time-limit", type=float, default=300.0,
                        help="seconds per fit after which a model's sweep stops")
    parser.add_argument("--threads", type=int, default=1,
                        help="BLAS, OpenMP, Numba and torch threads of each process")
    parser.add_argument("--memory-limit-gb", type=float, default=20.0,
                        help="skip sizes whose predicted memory exceeds this")
    parser.add_argument("--sasrec-histories", type=int, default=None,
                        help="number of SASRec histories (default 2000, quick 200)")
    parser.add_argument("--models", nargs="+", default=MODELS + ["SASRec"],
                        choices=MODELS + ["SASRec"])
    parser.add_argument("--sweeps", nargs="+", default=["users", "items", "sasrec"],
                        choices=["users", "items", "sasrec"])
    parser.add_argument("--quick", action="store_true", help="a tiny grid, a smoke test")
    parser.add_argument("--plots-dir", default=None,
                        help="where to save the PNGs (default docs/_static; none with --quick)")
    parser.add_argument("--json", default=None, help="also save the raw results here")
    parser.add_argument("--report", default=None, metavar="JSON",
                        help="print the tables and draw the plots of a saved run; no runs")
    args = parser.parse_args()
    if args.report:
        with open(args.report) as saved:
            results = json.load(saved)
        meta = results.pop("meta")
        args.time_limit = meta["time_limit"]
        args.sasrec_histories = next(iter(results.get("sasrec", {None: {}}).values())).get(
            "n_histories")
        print(f"bench_scaling, commit {meta['commit']}, {meta['date']}, "
              f"{meta['wall_s']:.0f} s; loads {meta['load_start']} -> {meta['load_end']}")
        report(with_walls(results, args.memory_limit_gb), args)
        for path in plot(results, args.plots_dir or str(
                Path(__file__).resolve().parent.parent / "docs" / "_static")):
            print(f"saved {path}")
        return
    args.fresh_done = False
    if args.quick:  # most tasks run in this process: give it the threads a child would get
        import numba
        from threadpoolctl import threadpool_limits

        threadpool_limits(args.threads)
        numba.set_num_threads(min(args.threads, numba.config.NUMBA_NUM_THREADS))
    grid = GRIDS["quick" if args.quick else "default"]
    if args.sasrec_histories is None:
        args.sasrec_histories = 200 if args.quick else 2000
    if args.plots_dir is None and not args.quick:
        args.plots_dir = str(Path(__file__).resolve().parent.parent / "docs" / "_static")
    users = [n for n in grid["users"] if args.max_users is None or n <= args.max_users]
    items = [n for n in grid["items"] if args.max_items is None or n <= args.max_items]
    sasrec_items = [n for n in grid["sasrec_items"]
                    if args.max_items is None or n <= args.max_items]

    try:
        commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True,
                                text=True, cwd=Path(__file__).resolve().parent).stdout.strip()
    except OSError:
        commit = "unknown"
    found = versions()
    print(f"bench_scaling, commit {commit}, {time.strftime('%Y-%m-%d %H:%M')}; "
          f"{os.cpu_count()} CPUs, {args.threads} threads per process, time limit "
          f"{args.time_limit:.0f} s, memory limit {args.memory_limit_gb:.0f} GB")
    print("versions: " + ", ".join(f"{name} {version}" for name, version in found.items()))
    print(f"load average at start: {' '.join(f'{x:.2f}' for x in os.getloadavg())}",
          flush=True)
    started = time.perf_counter()
    results = dict(meta=dict(commit=commit, versions=found, threads=args.threads,
                             time_limit=args.time_limit, load_start=os.getloadavg(),
                             date=time.strftime("%Y-%m-%d %H:%M")))
    workdir = tempfile.mkdtemp(prefix="bench_scaling_")
    loads = []
    try:
        models = [model for model in args.models if model != "SASRec"]
        if "users" in args.sweeps and models:
            print(f"\nUsers grow at {grid['users_items']:,} items", flush=True)
            sweep("users", users, lambda n: (n, grid["users_items"]), models, args, workdir,
                  results)
            loads.append(os.getloadavg()[0])
        if "items" in args.sweeps and models:
            print(f"\nItems grow at {grid['items_users']:,} users", flush=True)
            sweep("items", items, lambda n: (grid["items_users"], n), models, args, workdir,
                  results)
            loads.append(os.getloadavg()[0])
        if "sasrec" in args.sweeps and "SASRec" in args.models:
            print("\nSASRec: items grow", flush=True)
            sasrec_sweep(sasrec_items, args, results)
            loads.append(os.getloadavg()[0])
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    results["meta"].update(load_end=os.getloadavg(), loads_after_sweeps=loads,
                           wall_s=time.perf_counter() - started)
    report(with_walls({k: v for k, v in results.items() if k != "meta"},
                      args.memory_limit_gb), args)
    if args.plots_dir:
        for path in plot({k: v for k, v in results.items() if k != "meta"}, args.plots_dir):
            print(f"saved {path}")
    if args.json:
        with open(args.json, "w") as out:
            json.dump(results, out, indent=1)
    print(f"\ntotal {results['meta']['wall_s']:.0f} s; load average at the end: "
          f"{' '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    sys.exit(main())
