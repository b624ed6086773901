"""Time the first call of every Numba entry point and of every estimator's ``recommend``.

Run: ``python benchmarks/bench_first_call.py [--threads 1] [--only top_k ALS]``. Each entry
runs in a fresh Python process three times over: with an empty ``NUMBA_CACHE_DIR`` (the first
call on a fresh install, compilation included), again in a new process with that cache now
filled (the first call of every later session), and a second call in the same process (the
compiled speed). Setup (imports, data, ``fit``) is outside the clock and its time is printed
apart; the import of recfactor's kernels is an entry of its own. Times are wall-clock; the
CPU seconds of the cold first call (all threads of the process) are printed too, since they
vary less than wall time on a machine shared with other work. The peer is
``sklearn.metrics.ndcg_score`` on the same 20,000 x 2,000 scores as recfactor's
``top_k`` + ``ndcg_at_k``, with its time as a multiple of recfactor's in each column.

Estimators are fitted on the embedded MovieLens ml-latest-small (671 users, 9,125 items)
and recommend 10 items for every user; the cold-start models are fitted on four items in
five and recommend 10 users for each of the others from its features; the sequential (torch)
models train for one epoch on each user's 20 most recent items first.
"""

import argparse
import importlib
import json
import os
import subprocess
import sys
import tempfile
import time

SCORES_SHAPE = (20_000, 2_000)


def _scores_and_relevance():
    import numpy as np
    import scipy.sparse as sp

    rng = np.random.default_rng(0)
    scores = rng.random(SCORES_SHAPE, dtype=np.float32)
    relevant = sp.random(*SCORES_SHAPE, density=0.005, format="csr", random_state=0)
    relevant.data[:] = 1.0
    # Users with no relevant item would make sklearn's ndcg_score warn and differ in meaning.
    keep = np.diff(relevant.indptr) > 0
    return scores[keep], relevant[keep]


def _numpy_top_k(scores, k):
    """Top-k ids without Numba, as input for the metric entries."""
    import numpy as np

    part = np.argpartition(-scores, k, axis=1)[:, :k]
    order = np.argsort(-np.take_along_axis(scores, part, axis=1), axis=1, kind="stable")
    return np.take_along_axis(part, order, axis=1)


def _metric_entry(name):
    def setup():
        from recfactor import metrics

        scores, relevant = _scores_and_relevance()
        top = _numpy_top_k(scores, 10)
        metric = getattr(metrics, name)
        return lambda: metric(relevant, top, 10)

    return setup


def _setup_import():
    # Timed as the "call": what importing the kernels of top_k and the metrics costs.
    def call():
        import recfactor.metrics  # noqa: F401

    return call


def _setup_top_k_ndcg():
    from recfactor.metrics import ndcg_at_k, top_k

    scores, relevant = _scores_and_relevance()
    return lambda: ndcg_at_k(relevant, top_k(scores, 10), 10)


def _setup_top_k():
    from recfactor.metrics import top_k

    scores, _ = _scores_and_relevance()
    return lambda: top_k(scores, 10)


def _setup_top_k_factors():
    import numpy as np

    from recfactor.metrics import top_k

    rng = np.random.default_rng(0)
    users, items = rng.standard_normal((20_000, 64)), rng.standard_normal((2_000, 64))
    return lambda: top_k(users, 10, item_factors=items)


def _setup_sklearn_ndcg():
    from sklearn.metrics import ndcg_score

    scores, relevant = _scores_and_relevance()
    dense = relevant.toarray()
    return lambda: ndcg_score(dense, scores, k=10)


def _setup_filtered_ranks():
    import numpy as np
    import scipy.sparse as sp

    from recfactor.metrics import filtered_ranks

    rng = np.random.default_rng(0)
    scores = rng.random((5_000, 2_000))
    true_ids = rng.integers(0, 2_000, 5_000)
    known = sp.random(5_000, 2_000, density=0.002, format="csr", random_state=0)
    return lambda: filtered_ranks(scores, true_ids, known)


def _setup_maxvol(rectangular):
    import numpy as np

    from recfactor.feature_selection import maxvol, rect_maxvol

    A = np.random.default_rng(0).standard_normal((5_000, 32))
    return (lambda: rect_maxvol(A)) if rectangular else (lambda: maxvol(A))


def _movielens():
    from recfactor.datasets import load_movielens

    return load_movielens("latest-small")


def _estimator(module, name, **params):
    # Imported by the entry itself, so that no entry imports more than it times.
    return getattr(importlib.import_module(module), name)(**params)


def _cf_entry(module, name, **params):
    def setup():
        X = _movielens().interactions
        model = _estimator(module, name, **params).fit(X)
        return lambda: model.recommend(X, k=10)

    return setup


def _cold_start_entry(module, name, **params):
    def setup():
        import numpy as np

        data = _movielens()
        F, Y = data.item_features, data.interactions.T.tocsr()
        # Every fifth item is cold: the model is fitted on the others and ranks users for it.
        cold = np.arange(F.shape[0]) % 5 == 0
        model = _estimator(module, name, **params).fit(F[~cold], Y[~cold])
        return lambda: model.recommend(F[cold], k=10)

    return setup


def _histories(rated):
    import numpy as np

    from recfactor.preprocessing import log_to_sequences

    frame = _movielens().frame
    if not rated:
        return log_to_sequences(frame)[0]
    # PNFRec reads (item, rating) rows; ratings are rounded up to whole stars.
    frame = frame.assign(stars=np.ceil(frame["rating"]).astype(np.int64))
    items, _, item_ids = log_to_sequences(frame)
    ordered = frame.sort_values(["user_id", "timestamp"], kind="stable")
    stars = [group.to_numpy() for _, group in ordered.groupby("user_id")["stars"]]
    return [np.column_stack([i, s]) for i, s in zip(items, stars)]


def _sequential_entry(name, rated=False):
    def setup():
        histories = _histories(rated)
        model = _estimator("recfactor.sequential", name, max_length=20, max_epochs=1,
                           device="cpu", random_state=0)
        model.fit(histories)
        return lambda: model.recommend(histories, k=10)

    return setup


def _entries():
    cf = "recfactor.decomposition"
    return {
        "import recfactor.metrics": _setup_import,
        "top_k + ndcg_at_k": _setup_top_k_ndcg,
        "sklearn ndcg_score (peer)": _setup_sklearn_ndcg,
        "top_k (float32 scores)": _setup_top_k,
        "top_k (float64 factors)": _setup_top_k_factors,
        "ndcg_at_k": _metric_entry("ndcg_at_k"),
        "hit_rate_at_k": _metric_entry("hit_rate_at_k"),
        "map_at_k": _metric_entry("map_at_k"),
        "mrr_at_k": _metric_entry("mrr_at_k"),
        "filtered_ranks (KG)": _setup_filtered_ranks,
        "maxvol": lambda: _setup_maxvol(False),
        "rect_maxvol": lambda: _setup_maxvol(True),
        "PopularityRecommender": _cf_entry("recfactor.dummy", "PopularityRecommender"),
        "PureSVD": _cf_entry(cf, "PureSVD", rank=32, random_state=0),
        "EASE": _cf_entry(cf, "EASE", l2=100.0),
        # The demo's settings (python -m recfactor).
        "ALS": _cf_entry(cf, "ALS", rank=64, regularization=10.0, max_epochs=15,
                         device="cpu", random_state=0),
        "BPR": _cf_entry(cf, "BPR", rank=64, learning_rate=0.05, regularization=0.001,
                         max_epochs=100, device="cpu", random_state=0),
        "HybridSVD": _cold_start_entry(cf, "HybridSVD", rank=32, random_state=0),
        "ContentKNN": _cold_start_entry("recfactor.neighbors", "ContentKNN", n_neighbors=20),
        "SASRec": _sequential_entry("SASRec"),
        "BERT4Rec": _sequential_entry("BERT4Rec"),
        "PNFRec": _sequential_entry("PNFRec", rated=True),
    }


def run_entry(name):
    """In this process: set up ``name``, then time its first and second call; print JSON."""
    start = time.perf_counter()
    call = _entries()[name]()
    setup = time.perf_counter() - start
    times, cpu = [], []
    for _ in range(2):
        start, start_cpu = time.perf_counter(), time.process_time()
        call()
        times.append(time.perf_counter() - start)
        cpu.append(time.process_time() - start_cpu)
    print(json.dumps({"setup": setup, "first": times[0], "later": times[1],
                      "first_cpu": cpu[0]}))


def measure(name, threads):
    """Cold-cache and warm-cache runs of ``name``, each in a fresh process."""
    env = dict(os.environ, PYTHONWARNINGS="ignore")
    if threads is not None:
        for variable in ("NUMBA_NUM_THREADS", "OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS",
                         "MKL_NUM_THREADS"):
            env[variable] = str(threads)
    results = {}
    with tempfile.TemporaryDirectory(prefix="numba-cache-") as cache:
        env["NUMBA_CACHE_DIR"] = cache
        for run in ("cold", "warm"):
            output = subprocess.run(
                [sys.executable, __file__, "--entry", name],
                env=env, capture_output=True, text=True, check=True,
            ).stdout
            results[run] = json.loads(output.strip().splitlines()[-1])
    return {
        "setup": results["cold"]["setup"],
        "cold": results["cold"]["first"],
        "cold_cpu": results["cold"]["first_cpu"],
        "warm": results["warm"]["first"],
        "later": min(results["cold"]["later"], results["warm"]["later"]),
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--threads", type=int, default=None,
                        help="threads of Numba, OpenMP and BLAS in every process")
    parser.add_argument("--only", nargs="+", default=None, help="entries to run (by name)")
    parser.add_argument("--entry", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.entry is not None:
        run_entry(args.entry)
        return
    names = [name for name in _entries()
             if args.only is None or any(part in name for part in args.only)]
    rows = {name: measure(name, args.threads) for name in names}
    print(f"First calls, seconds (threads: {args.threads or 'default'}); "
          "top_k and metrics on 20,000 x 2,000 scores, estimators on ml-latest-small")
    print("| entry point | first call, cold cache | (CPU) | first call, warm cache "
          "| later call | setup (not timed) |")
    print("|---|---|---|---|---|---|")
    for name, row in rows.items():
        print(f"| {name} | {row['cold']:.2f} | {row['cold_cpu']:.2f} | {row['warm']:.2f} "
              f"| {row['later']:.3f} | {row['setup']:.1f} |")
    peer, ours = rows.get("sklearn ndcg_score (peer)"), rows.get("top_k + ndcg_at_k")
    if peer and ours:
        # Column by column: sklearn's first call in a fresh process against recfactor's.
        ratios = " / ".join(f"{peer[column] / ours[column]:.1f}"
                            for column in ("cold", "warm", "later"))
        print(f"sklearn ndcg_score's time as a multiple of top_k + ndcg_at_k's, "
              f"cold / warm / later: {ratios}")


if __name__ == "__main__":
    main()
