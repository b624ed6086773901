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

from bench_sequential import sasrec_rows_on_100k  # noqa: E402


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--processes", nargs="+", type=int, default=[1, 2])
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1])
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    settings = {n: {"n_processes": n} for n in args.processes}
    sasrec_rows_on_100k("processes", settings, args.epochs, args.seeds, args.threads)


if __name__ == "__main__":
    main()
