"""SASRec's next-item losses side by side on MovieLens-100K: ce, sampled_ce, bce and gbce.

Run: ``RECFACTOR_DATA=../shared/data python benchmarks/bench_losses.py`` (``--losses ce
sampled_ce bce gbce``, ``--epochs 20``, ``--seeds 0``, ``--threads 1``).

The split, the settings and the judging are ``bench_sequential.py``'s (leave-one-out, the
histories without their last two items to train on, the last item to find; NDCG@10 and
HR@10 over every item, seen items excluded). Each loss keeps its "auto" negatives: 256
shared by the batch for sampled_ce, one per history for bce, 128 per history for gbce
(``gbce_t=0.75``).
"""

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_sequential import sasrec_rows_on_100k  # noqa: E402


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--losses", nargs="+", default=["ce", "sampled_ce", "bce", "gbce"])
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--seeds", nargs="+", type=int, default=[0])
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    settings = {loss: {"loss": loss} for loss in args.losses}
    sasrec_rows_on_100k("loss", settings, args.epochs, args.seeds, args.threads)


if __name__ == "__main__":
    main()
