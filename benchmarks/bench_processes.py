"""SASRec on MovieLens-100K in one process and in several (DistributedDataParallel, gloo).

Run: ``RECFACTOR_DATA=../shared/data python benchmarks/bench_processes.py`` (``--processes
1 2``, ``--epochs 20``, ``--seeds 0 1``, ``--threads 2``).

The split, the settings and the judging are ``bench_sequential.py``'s (leave-one-out, the
histories without their last two items to train on, the last item to find; NDCG@10 and
HR@10, seen items excluded). Every run gets the same ``--threads`` torch threads in all:
with ``n_processes=p`` each process has ``threads / p`` of them, so the rows compare one
process using the cores with several processes sharing them. Seconds per epoch include
starting the processes (``fit`` time over epochs).
"""

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_sequential import load, recfactor_model, run_recfactor, split  # noqa: E402


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--processes", nargs="+", type=int, default=[1, 2])
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1])
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    import torch

    torch.set_num_threads(args.threads)
    sequences, rated, n_items = load("100k")
    parts = split(sequences, rated)
    print(f"MovieLens-100K: {len(sequences)} users, {n_items} items; {args.threads} torch "
          f"threads in all, {args.epochs} epochs\n")
    print("| processes | seed | NDCG@10 | HR@10 | s/epoch |")
    print("|---|---|---|---|---|")
    for n_processes in args.processes:
        for seed in args.seeds:
            model = recfactor_model("SASRec", args.epochs, n_items, seed=seed,
                                    n_processes=n_processes)
            row = run_recfactor(model, parts["train"], parts["inputs"], parts["targets"],
                                n_items)
            print(f"| {n_processes} | {seed} | {row['NDCG@10']:.4f} | {row['HR@10']:.4f} | "
                  f"{row['s/epoch']:.2f} |", flush=True)


if __name__ == "__main__":
    main()
