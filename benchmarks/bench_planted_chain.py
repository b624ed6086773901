"""SASRec and BERT4Rec on a planted first-order Markov chain, against the oracle.

Run: ``python benchmarks/bench_planted_chain.py`` (``--models SASRec BERT4Rec``,
``--data-seeds 0 1``, ``--seed 0``, ``--epochs 30``, ``--params JSON``).

300 items, each with three successors of probability .5, .25 and .15 (the other .10 spread
uniformly over the other items), 3,000 histories of 15 to 40 items: the generator of
``tests/sequential/test_planted_chain.py`` at a larger size. Every model trains with its
defaults (``max_epochs`` from ``--epochs``, one thread, the CPU) on the histories without
their last item and ranks every item for that input, seen items not excluded (the chain can
come back to them); HR@10 of the held-out last item. The oracle ranks the three successors
of the input's last item first; the ratio to its hit rate is printed.
"""

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "sequential"))

from test_planted_chain import planted_chain  # noqa: E402


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--models", nargs="+", choices=["SASRec", "BERT4Rec"],
                        default=["SASRec", "BERT4Rec"])
    parser.add_argument("--data-seeds", nargs="+", type=int, default=[0, 1])
    parser.add_argument("--seed", type=int, default=0, help="the models' random_state")
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--params", default="{}", help="more hyper-parameters, as JSON")
    args = parser.parse_args()
    import numba
    import torch

    from recfactor import sequential

    torch.set_num_threads(1)
    numba.set_num_threads(1)
    for data_seed in args.data_seeds:
        histories, successors = planted_chain(300, 3000, random_state=data_seed)
        inputs = [history[:-1] for history in histories]
        targets = np.array([history[-1] for history in histories])
        oracle = np.mean([target in successors[history[-1]]
                          for history, target in zip(inputs, targets)])
        for name in args.models:
            start = time.perf_counter()
            model = getattr(sequential, name)(max_epochs=args.epochs, device="cpu",
                                              random_state=args.seed,
                                              **json.loads(args.params)).fit(inputs)
            recommended = model.recommend(inputs, k=10, exclude_seen=False)
            hit_rate = (recommended == targets[:, None]).any(axis=1).mean()
            print(f"{name:8s} data seed {data_seed}: HR@10 {hit_rate:.4f}, oracle {oracle:.4f}, "
                  f"ratio {hit_rate / oracle:.3f} ({time.perf_counter() - start:.0f} s)",
                  flush=True)


if __name__ == "__main__":
    main()
