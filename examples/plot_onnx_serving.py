"""
Serving SASRec with ONNX Runtime
================================

A model that answers users one request at a time needs neither torch nor the training
code: :meth:`~recfactor.sequential.SASRec.export_onnx` writes the recommendation graph
(token rows in, the top-k items and their scores out, the history's items left out) to an
ONNX file, and `ONNX Runtime <https://onnxruntime.ai>`_ runs it. Here a SASRec trained on
the embedded ``ml-latest-small`` histories is exported, checked against the torch model,
and timed per request: one history at a time, as a service receives them, and in a batch.

It needs ``pip install recfactor[onnx]`` and runs in about 35 seconds on a 2-core CPU.
"""

# %%
# A trained model and its graph
# -----------------------------
# One epoch on the 671 users' histories is enough here: the point is the serving path, not
# the accuracy (see the sequential example for that).
import tempfile
import time
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import onnxruntime
import torch

from recfactor.datasets import load_movielens
from recfactor.preprocessing import log_to_sequences
from recfactor.sequential import SASRec

torch.set_num_threads(1)
sequences, _, items = log_to_sequences(load_movielens().frame)
model = SASRec(max_length=50, max_epochs=1, device="cpu", random_state=0).fit(sequences)

path = Path(tempfile.mkdtemp()) / "sasrec.onnx"
model.export_onnx(path, k=10)
options = onnxruntime.SessionOptions()
options.intra_op_num_threads = 1
session = onnxruntime.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
# The weights may be written beside the graph, in a file of external data.
size = sum(file.stat().st_size for file in path.parent.iterdir())
print(f"{len(sequences)} histories, {len(items)} movies; graph and weights {size / 1e6:.1f} MB")

# %%
# The same recommendations
# ------------------------
# :meth:`~recfactor.sequential.SASRec.onnx_inputs` turns histories into the token rows the
# graph reads (the last ``max_length`` items, left-padded). For histories within that
# length the graph's items are ``recommend``'s; for longer ones only the encoded items are
# left out, where ``recommend`` leaves out the whole history.
short = [s for s in sequences if len(s) <= model.max_length]
scores, recommended = session.run(None, model.onnx_inputs(short))
agreement = np.mean(recommended == model.recommend(short, k=10))
print(f"{len(short)} histories of at most {model.max_length} items: "
      f"{agreement:.1%} of the top-10 items equal recommend's")

# %%
# Latency per request
# -------------------
# The median time to answer one history, over 100 requests, and the time per history in
# batches of 256, for ``recommend`` (torch, the library's path) and the ONNX graph (one
# thread each). ``onnx_inputs`` is part of both the request's cost and the timing.
rng = np.random.default_rng(0)
requests = [sequences[i] for i in rng.integers(len(sequences), size=100)]


def per_request(answer):
    times = []
    for history in requests:
        start = time.perf_counter()
        answer([history])
        times.append(time.perf_counter() - start)
    return 1e3 * np.median(times)


def per_history_in_batches(answer, size=256):
    batch = [sequences[i] for i in rng.integers(len(sequences), size=size)]
    answer(batch)  # warm
    start = time.perf_counter()
    answer(batch)
    return 1e3 * (time.perf_counter() - start) / size


def with_torch(histories):
    return model.recommend(histories, k=10)


def with_onnx(histories):
    return session.run(None, model.onnx_inputs(histories))


with_torch(requests[:1]), with_onnx(requests[:1])  # first calls compile and allocate
rows = {name: (per_request(answer), per_history_in_batches(answer))
        for name, answer in [("torch recommend", with_torch), ("ONNX Runtime", with_onnx)]}
print(f"{'':16} {'one request (ms)':>17} {'per history, batch of 256 (ms)':>31}")
for name, (single, batched) in rows.items():
    print(f"{name:16} {single:17.2f} {batched:31.3f}")

fig, ax = plt.subplots(figsize=(6, 3))
ax.barh(list(rows), [single for single, _ in rows.values()], color=["tab:blue", "tab:green"])
ax.set_xlabel("median latency of one request (ms)")
ax.set_title("SASRec, top-10 of 9,000 movies, one CPU thread")
fig.tight_layout()
plt.show()
