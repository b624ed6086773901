"""Knowledge-graph completion: accuracy of TuckER and MIGTF, PyKEEN's TuckER, and speed.

Run: ``RECFACTOR_DATA=../shared/data python benchmarks/bench_knowledge_graph.py``
(``--parts accuracy peer speed compact defaults``, ``--datasets umls nations wn18rr
fb15k-237``, ``--max-epochs 500``, ``--peer-epochs 100``, ``--seeds 3``,
``--speed-batches 30``, ``--compact-dims 5 10 20``, ``--compact-epochs 1000``,
``--defaults-epochs 100``, ``--synthetic 100 25 6000``, ``--threads N``).
PyKEEN is optional and only for the peer rows; install it in its own environment
(``python -m venv --system-site-packages ENV && ENV/bin/pip install pykeen==1.11.1``) and run
this script with ``ENV/bin/python``. Without it, the peer rows are skipped with a message.

Evaluation, the same for every model: each test triple ``(h, r, t)`` asks ``(h, r, ?)`` and
``(?, r, t)``; every entity is scored, the other known answers of the query (from train,
valid and test) are left out of the candidates, and ties count half (realistic rank,
:func:`recfactor.metrics.filtered_ranks`). MRR and Hits@1,3,10 average over both directions.
A query about (or answered by) an entity the model has no embedding for ranks last. The ids
are those of :func:`recfactor.datasets.load_knowledge_graph` (over all three splits); a model
fitted on integer ids embeds every id up to the largest of train + valid, so test-only
entities below it keep their initial embedding, as in the TuckER authors' code.

(a) accuracy: TuckER fitted on train with the validation triples (early stopping on the
validation MRR every ``--eval-every`` epochs, patience ``--patience``, at most
``--max-epochs``), then MIGTF on top of that same fitted TuckER (``MIGTF(tucker)``).
Settings: FB15k-237 and WN18RR, the TuckER authors' README (lr 0.0005 / 0.01, decay 1.0,
d_e = 200, d_r = 200 / 30, dropouts .3/.4/.5 / .2/.2/.3, label smoothing 0.1, batch 128,
500 epochs); UMLS and Nations (no published TuckER settings) d_e = d_r = 100, lr 0.005,
dropouts .2/.2/.3. MIGTF: recfactor's defaults (hyperbolic dim 50, c 1.3, lr 0.01),
at most ``--max-epochs`` epochs. The table states the epochs run, the wall time and the
hardware, and the MRR on (at most 3,000 of) the training triples: MIGTF's term learns from
what its frozen TuckER gets wrong on them, which is nothing where that MRR is 1.

(b) peer, UMLS and Nations: recfactor's TuckER against ``pykeen.models.TuckER`` with the same
dimensions, dropouts, epochs (``--peer-epochs``, no early stopping), batch size, Adam learning
rate, reciprocal relations (``create_inverse_triples=True``) and 1-N training
(``LCWATrainingLoop`` with ``BCEWithLogitsLoss`` and label smoothing 0.1; PyKEEN smooths to
``1 - eps`` / ``eps / (n - 1)``, recfactor to ``1 - eps + eps / n`` / ``eps / n``; PyKEEN
drops an incomplete last batch, as it does for models with batch norm, recfactor splits
an epoch into equal batches of at most the batch size), each library seeded with the same
``--seeds`` seeds in turn. Both are evaluated by the same code above (PyKEEN's
``predict_t`` / ``predict_h``), and PyKEEN's own ``RankBasedEvaluator`` (realistic,
filtered by train + valid) is printed as a cross-check. Seconds per epoch are
the training time over the epochs (recfactor, then PyKEEN, alternating per seed).

(c) speed on WN18RR with the authors' WN18RR dimensions:

- the floor: one epoch's plain matrix products, timed on random torch matrices of the same
  shapes, for each batch of 128 queries: ``relations (128 x d_r) @ core (d_r x d_e^2)``, the
  batched vector-matrix products ``(1 x d_e) @ (d_e x d_e)``, ``hidden (128 x d_e) @
  entities^T (d_e x n_entities)``, and both gradient products of each (twice the forward);
  the median over ``--repeat`` timings of one batch, times the batches of an epoch;
- recfactor's full training epoch (``TuckER(max_epochs=1).fit``), and its full filtered test
  evaluation (``score`` on the 3,134 test triples: 6,268 queries against every entity);
- recfactor and PyKEEN over the same fixed number of batches (``--speed-batches``): both
  train one epoch on the first ``64 * batches`` training triples (with their reciprocals,
  about ``batches`` batches of 128 queries) against all entities, and the time per batch is
  extrapolated to a full epoch (PyKEEN's full epoch is not run: it takes hours on a CPU).

The ratios are to the floor. Timings on a shared machine are noisy: the parts run in one
process, alternating the methods.

(d) compact, UMLS and Nations: MIGTF over TuckERs of few parameters (d_e = d_r in
``--compact-dims``, the other settings as in (a)), each TuckER with early stopping on the
validation MRR (at most ``--compact-epochs`` epochs), then MIGTF with recfactor's defaults
on top, for ``--seeds`` seeds; test MRR, the gain over the base per seed, and the number of
parameters (MIGTF: its base's plus the hyperbolic term's).

(e) defaults, UMLS, Nations and a synthetic graph (``make_triples`` with the sizes of
``--synthetic``, split 80 / 10 / 10): ``TuckER()`` with its defaults against the tuned
settings of (a) (the synthetic graph gets UMLS's and Nations') and the former defaults (the
authors' FB15k-237 settings on every graph: d_e = d_r = 200, lr 0.0005, dropouts
.3/.4/.5), each fitted with the
validation triples (early stopping as in (a), the defaults ``eval_every=5, patience=10``) for
at most ``--defaults-epochs`` epochs, for ``--seeds`` seeds; then MIGTF with its defaults over
the default TuckER. It prints what the defaults' "auto" chose, and the ratio of the mean test
MRRs, defaults over tuned.
"""

import argparse
import os
import time

import numpy as np
import pandas as pd
import scipy.sparse as sp

from recfactor.datasets import load_knowledge_graph, make_triples
from recfactor.knowledge_graph import MIGTF, TuckER
from recfactor.metrics import filtered_ranks, hits_at_k, mrr

PAPER = {
    "fb15k-237": dict(entity_dim=200, relation_dim=200, learning_rate=0.0005, decay_rate=1.0,
                      input_dropout=0.3, hidden_dropout1=0.4, hidden_dropout2=0.5),
    # The authors' README: the paper's lr 0.003 / decay 0.995 were found with an object bias
    # their released model no longer has (ibalazevic/TuckER issue #15).
    "wn18rr": dict(entity_dim=200, relation_dim=30, learning_rate=0.01, decay_rate=1.0,
                   input_dropout=0.2, hidden_dropout1=0.2, hidden_dropout2=0.3),
}
SMALL = dict(entity_dim=100, relation_dim=100, learning_rate=0.005, decay_rate=1.0,
             input_dropout=0.2, hidden_dropout1=0.2, hidden_dropout2=0.3)
COMMON = dict(label_smoothing=0.1, batch_size=128)
BLOCK = 512  # queries scored at once by the evaluator
TRAIN_SAMPLE = 3000  # training triples whose MRR shows how closely a model fits them


def settings(name):
    return {**PAPER.get(name, SMALL), **COMMON}


def hardware():
    import torch

    return (f"{os.cpu_count()} CPUs, torch {torch.__version__} on cpu, "
            f"{torch.get_num_threads()} torch threads")


# -- evaluation -----------------------------------------------------------------------------


class Filter:
    """Every known answer of every query (h, r, ?) and (t, r^-1, ?) of a set of triples."""

    def __init__(self, triples, n_entities, n_relations):
        self.n_relations = n_relations
        entities, relations, answers = self.queries(triples)
        self.keys, rows = np.unique(self.key(entities, relations), return_inverse=True)
        matrix = sp.csr_array((np.ones(rows.size), (rows, answers)),
                              shape=(self.keys.size, n_entities))
        matrix.sum_duplicates()
        self.matrix = matrix

    def queries(self, triples):
        heads, relations, tails = triples.T
        return (np.concatenate([heads, tails]),
                np.concatenate([relations, relations + self.n_relations]),
                np.concatenate([tails, heads]))

    def key(self, entities, relations):
        return entities.astype(np.int64) * 2 * self.n_relations + relations

    def rows(self, entities, relations):
        return self.matrix[np.searchsorted(self.keys, self.key(entities, relations))]


def evaluate(score_queries, n_known, test, known):
    """Filtered realistic ranks of both queries of each test triple (tails, then heads).

    ``score_queries(entities, relations)`` returns the scores of a block of queries against
    the model's ``n_known`` entities (relations ``>= n_relations`` are reciprocals).
    """
    import torch

    # numba's OpenMP threading layer (filtered_ranks) may reset torch's thread count.
    threads = torch.get_num_threads()
    n_entities = known.matrix.shape[1]
    entities, relations, answers = known.queries(test)
    ranks = np.empty(entities.size)
    for start in range(0, entities.size, BLOCK):
        block = slice(start, start + BLOCK)
        filter_rows = known.rows(entities[block], relations[block]).tocsr()
        inside = (entities[block] < n_known) & (answers[block] < n_known)
        scores = np.full((inside.size, n_entities), -np.inf, dtype=np.float32)
        if inside.any():
            scores[inside, :n_known] = score_queries(entities[block][inside],
                                                     relations[block][inside])
        # An answer the model does not know ranks after every candidate.
        candidates = n_entities - np.diff(filter_rows.indptr)
        ranks[block] = candidates + 1.0
        ranks[block][inside] = filtered_ranks(scores[inside], answers[block][inside],
                                              filter_rows[inside])
    torch.set_num_threads(threads)
    return ranks


def metrics(ranks):
    return {"MRR": mrr(ranks), **{f"H@{k}": hits_at_k(ranks, k) for k in (1, 3, 10)}}


def recfactor_scores(model):
    """``score_queries`` of a fitted recfactor model (its module, in evaluation mode)."""
    import torch

    scorer, device = model._ready_scorer()
    scorer.eval()

    def score_queries(entities, relations):
        with torch.no_grad():
            return scorer(torch.as_tensor(entities, device=device),
                          torch.as_tensor(relations, device=device)).cpu().numpy()

    return score_queries, len(model.entities_)


def pykeen_scores(model, n_relations):
    import torch

    model.eval()

    def score_queries(entities, relations):
        tail = relations < n_relations
        scores = np.empty((entities.size, model.num_entities), dtype=np.float32)
        with torch.no_grad():
            if tail.any():
                hr = torch.as_tensor(np.column_stack([entities[tail], relations[tail]]))
                scores[tail] = model.predict_t(hr).cpu().numpy()
            if (~tail).any():
                rt = torch.as_tensor(np.column_stack([relations[~tail] - n_relations,
                                                      entities[~tail]]))
                scores[~tail] = model.predict_h(rt).cpu().numpy()
        return scores

    return score_queries, model.num_entities


# -- (a) accuracy ---------------------------------------------------------------------------


def fit_tucker_then_migtf(data, params, max_epochs, args, seed=0):
    """TuckER with early stopping on the validation triples, then MIGTF on top of it; each
    with its fit time in seconds."""
    training = dict(max_epochs=max_epochs, eval_every=args.eval_every, patience=args.patience,
                    device="cpu", random_state=seed, verbose=args.verbose)
    start = time.perf_counter()
    tucker = TuckER(**params, **training).fit(data.train, X_valid=data.valid)
    fit_tucker = time.perf_counter() - start
    start = time.perf_counter()
    migtf = MIGTF(tucker, **training).fit(data.train, X_valid=data.valid)
    return tucker, fit_tucker, migtf, time.perf_counter() - start


def bench_accuracy(args):
    rows = []
    for name in args.datasets:
        data = load_knowledge_graph(name)
        n_entities, n_relations = len(data.entity_ids), len(data.relation_ids)
        known = Filter(np.concatenate([data.train, data.valid, data.test]), n_entities,
                       n_relations)
        tucker, fit_tucker, migtf, fit_migtf = fit_tucker_then_migtf(
            data, settings(name), args.max_epochs, args)
        seen = data.train[np.random.default_rng(0).permutation(len(data.train))[:TRAIN_SAMPLE]]
        for label, model, seconds in [("TuckER", tucker, fit_tucker),
                                      ("MIGTF(TuckER)", migtf, fit_migtf)]:
            start = time.perf_counter()
            ranks = evaluate(*recfactor_scores(model), data.test, known)
            rows.append({"data": name, "model": label, **metrics(ranks),
                         "epochs run": model.n_iter_, "best epoch": model.best_epoch_,
                         "valid MRR": model.best_validation_score_,
                         "fit s": seconds, "test eval s": time.perf_counter() - start,
                         "train MRR": mrr(evaluate(*recfactor_scores(model), seen, known))})
        print(f"{name}: {data.DESCR}", flush=True)
    table = pd.DataFrame(rows)
    print(f"\n(a) accuracy, filtered realistic ranks on test, both directions "
          f"(max {args.max_epochs} epochs; {hardware()})")
    print(table.to_string(index=False, float_format=lambda x: f"{x:.4f}"))
    gain = table.pivot(index="data", columns="model", values="MRR")
    print("\nMRR of MIGTF(TuckER) minus TuckER's:")
    print((gain["MIGTF(TuckER)"] - gain["TuckER"]).to_string(float_format=lambda x: f"{x:+.4f}"))


# -- (d) MIGTF over compact TuckERs ---------------------------------------------------------


def n_parameters(module):
    return sum(parameter.numel() for parameter in module.parameters())


def bench_compact(args):
    rows = []
    for name in [n for n in args.datasets if n in ("umls", "nations")]:
        data = load_knowledge_graph(name)
        known = Filter(np.concatenate([data.train, data.valid, data.test]),
                       len(data.entity_ids), len(data.relation_ids))
        for dim in args.compact_dims:
            for seed in range(args.seeds):
                tucker, _, migtf, _ = fit_tucker_then_migtf(
                    data, {**settings(name), "entity_dim": dim, "relation_dim": dim},
                    args.compact_epochs, args, seed)
                size = n_parameters(tucker.module_)
                for label, model, parameters in [
                        ("TuckER", tucker, size),
                        ("MIGTF(TuckER)", migtf, size + n_parameters(migtf.module_))]:
                    ranks = evaluate(*recfactor_scores(model), data.test, known)
                    rows.append({"data": name, "d_e = d_r": dim, "model": label, "seed": seed,
                                 **metrics(ranks), "parameters": parameters,
                                 "best epoch": model.best_epoch_,
                                 "valid MRR": model.best_validation_score_})
                print(rows[-2], rows[-1], sep="\n", flush=True)
    if not rows:
        return
    table = pd.DataFrame(rows)
    print(f"\n(d) MIGTF (recfactor's defaults) over TuckERs of few parameters, early stopping "
          f"on validation MRR (at most {args.compact_epochs} epochs each), seeds "
          f"0..{args.seeds - 1}; {hardware()}")
    print(table.to_string(index=False, float_format=lambda x: f"{x:.4f}"))
    keys = ["data", "d_e = d_r", "model"]
    summary = table.groupby(keys, sort=False)[["MRR", "H@1", "H@10"]].agg(["mean", "std"])
    summary[("parameters", "")] = table.groupby(keys, sort=False)["parameters"].first()
    print(f"\nmean and standard deviation over {args.seeds} seed(s):")
    print(summary.to_string(float_format=lambda x: f"{x:.4f}"))
    mrrs = table.pivot(index=["data", "d_e = d_r", "seed"], columns="model", values="MRR")
    gains = (mrrs["MIGTF(TuckER)"] - mrrs["TuckER"]).groupby(level=[0, 1], sort=False)
    print("\nMRR of MIGTF(TuckER) minus its TuckER's: mean, and seeds where it is higher")
    print(pd.DataFrame({"mean": gains.mean(), "higher": gains.apply(lambda g: (g > 0).sum())})
          .to_string(float_format=lambda x: f"{x:+.4f}"))


# -- (b) peer -------------------------------------------------------------------------------


def import_pykeen():
    try:
        import pykeen  # noqa: F401
        from pykeen.version import get_version
    except ImportError:
        print("PyKEEN is not installed in this environment (see the module docstring): "
              "its rows are skipped.")
        return None
    return get_version()


def pykeen_tucker(triples, n_entities, n_relations, params, seed=0):
    """PyKEEN's TuckER, factory and LCWA training loop with recfactor's TuckER settings."""
    import torch
    from pykeen.losses import BCEWithLogitsLoss
    from pykeen.models import TuckER as PyKEENTuckER
    from pykeen.training import LCWATrainingLoop
    from pykeen.triples import CoreTriplesFactory

    factory = CoreTriplesFactory.create(
        torch.as_tensor(triples, dtype=torch.long), num_entities=n_entities,
        num_relations=n_relations, create_inverse_triples=True,
    )
    model = PyKEENTuckER(
        triples_factory=factory, embedding_dim=params["entity_dim"],
        relation_dim=params["relation_dim"], dropout_0=params["input_dropout"],
        dropout_1=params["hidden_dropout1"], dropout_2=params["hidden_dropout2"],
        loss=BCEWithLogitsLoss(), random_seed=seed,
    )
    optimizer = torch.optim.Adam(model.parameters(), lr=params["learning_rate"])
    loop = LCWATrainingLoop(model=model, triples_factory=factory, optimizer=optimizer)
    return model, factory, loop


def pykeen_own_mrr(model, data):
    import torch
    from pykeen.evaluation import RankBasedEvaluator

    evaluator = RankBasedEvaluator(filtered=True)
    result = evaluator.evaluate(
        model, torch.as_tensor(data.test), batch_size=256, use_tqdm=False,
        additional_filter_triples=[torch.as_tensor(data.train), torch.as_tensor(data.valid)],
    )
    return result.get_metric("both.realistic.inverse_harmonic_mean_rank")


def bench_peer(args):
    version = import_pykeen()
    rows = []
    for name in [n for n in args.datasets if n in ("umls", "nations")]:
        data = load_knowledge_graph(name)
        n_entities, n_relations = len(data.entity_ids), len(data.relation_ids)
        known = Filter(np.concatenate([data.train, data.valid, data.test]), n_entities,
                       n_relations)
        params = settings(name)
        for seed in range(args.seeds):
            start = time.perf_counter()
            ours = TuckER(**params, max_epochs=args.peer_epochs, device="cpu",
                          random_state=seed).fit(data.train)
            seconds = time.perf_counter() - start
            ranks = evaluate(*recfactor_scores(ours), data.test, known)
            rows.append({"data": name, "model": "recfactor TuckER", "seed": seed,
                         **metrics(ranks),
                         "own evaluator MRR": ours.score(data.test),  # train + test filtered
                         "s / epoch": seconds / args.peer_epochs})
            if version is None:
                continue
            model, factory, loop = pykeen_tucker(data.train, n_entities, n_relations, params,
                                                 seed)
            start = time.perf_counter()
            loop.train(triples_factory=factory, num_epochs=args.peer_epochs,
                       batch_size=params["batch_size"],
                       label_smoothing=params["label_smoothing"], use_tqdm=False)
            seconds = time.perf_counter() - start
            ranks = evaluate(*pykeen_scores(model, n_relations), data.test, known)
            rows.append({"data": name, "model": f"PyKEEN {version} TuckER", "seed": seed,
                         **metrics(ranks), "own evaluator MRR": pykeen_own_mrr(model, data),
                         "s / epoch": seconds / args.peer_epochs})
            print(rows[-2 if version else -1], flush=True)
    if not rows:
        return
    table = pd.DataFrame(rows)
    print(f"\n(b) peer: TuckER, {args.peer_epochs} epochs each, same settings "
          f"(d_e = d_r = 100, lr 0.005, dropouts .2/.2/.3, batch 128, label smoothing 0.1), "
          f"seeds 0..{args.seeds - 1}; {hardware()}")
    print("'own evaluator MRR': recfactor's score() (fitted without X_valid, it filters "
          "train + test only), PyKEEN's RankBasedEvaluator (realistic, train + valid + test)")
    print(table.to_string(index=False, float_format=lambda x: f"{x:.4f}"))
    columns = ["MRR", "H@1", "H@3", "H@10", "s / epoch"]
    summary = table.groupby(["data", "model"], sort=False)[columns].agg(["mean", "std"])
    print(f"\nmean and standard deviation over {args.seeds} seed(s):")
    print(summary.to_string(float_format=lambda x: f"{x:.4f}"))
    if version is not None:
        means = table.groupby(["data", "model"], sort=False)[columns].mean()
        for name in table["data"].unique():
            ours, theirs = means.loc[name].iloc[0], means.loc[name].iloc[1]
            print(f"{name}: PyKEEN / recfactor: MRR {theirs['MRR'] / ours['MRR']:.3f}, "
                  f"s per epoch {theirs['s / epoch'] / ours['s / epoch']:.2f}")


# -- (c) speed ------------------------------------------------------------------------------


def floor_batch_seconds(n_entities, entity_dim, relation_dim, batch, repeat):
    """Median seconds of one batch's plain matrix products, forward and both gradients."""
    import torch

    g = torch.Generator().manual_seed(0)

    def rand(*shape):
        return torch.randn(*shape, generator=g)

    relations, core = rand(batch, relation_dim), rand(relation_dim, entity_dim * entity_dim)
    matrices_grad = rand(batch, entity_dim * entity_dim)
    vectors, matrices = rand(batch, 1, entity_dim), rand(batch, entity_dim, entity_dim)
    hidden_grad = rand(batch, 1, entity_dim)
    hidden, entities = rand(batch, entity_dim), rand(n_entities, entity_dim)
    scores_grad = rand(batch, n_entities)

    def products():
        relations @ core  # forward: the relation-specific matrices
        matrices_grad @ core.T  # their gradient with respect to the relations
        relations.T @ matrices_grad  # ... and to the core
        torch.bmm(vectors, matrices)  # forward: the hidden vectors
        torch.bmm(hidden_grad, matrices.transpose(1, 2))  # gradients: subjects
        torch.bmm(vectors.transpose(1, 2), hidden_grad)  # ... and matrices
        hidden @ entities.T  # forward: scores against every entity
        scores_grad @ entities  # gradients: hidden vectors
        scores_grad.T @ hidden  # ... and entity embeddings

    products()
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        products()
        times.append(time.perf_counter() - start)
    return float(np.median(times))


def n_queries(triples, n_relations):
    heads, relations, tails = triples.T
    keys = np.concatenate([heads * 2 * n_relations + relations,
                           tails * 2 * n_relations + relations + n_relations])
    return np.unique(keys).size


def bench_speed(args):
    data = load_knowledge_graph("wn18rr")
    n_relations = len(data.relation_ids)
    params = settings("wn18rr")
    n_entities = int(data.train[:, [0, 2]].max()) + 1  # what TuckER.fit(train) embeds
    batch = params["batch_size"]
    epoch_batches = int(np.ceil(n_queries(data.train, n_relations) / batch))
    subset = data.train[: 64 * args.speed_batches]
    subset_batches = int(np.ceil(n_queries(subset, n_relations) / batch))
    # A triple with the largest entity id, passed as X_valid (never evaluated: eval_every is
    # above max_epochs), so that the subset's model embeds every entity too.
    anchor = data.train[[np.argmax(data.train[:, [0, 2]].max(axis=1))]]
    print(f"\n(c) speed, WN18RR ({n_entities} entities, {epoch_batches} batches of {batch} "
          f"queries per epoch), d_e = {params['entity_dim']}, d_r = {params['relation_dim']}; "
          f"{hardware()}")
    rows = []
    floor = floor_batch_seconds(n_entities, params["entity_dim"], params["relation_dim"],
                                batch, args.repeat)
    rows.append({"what": "floor: matrix products of one epoch (measured per batch)",
                 "batches timed": 1, "s / batch": floor, "s / epoch": floor * epoch_batches})
    version = import_pykeen()
    for run in ("recfactor", "pykeen"):
        if run == "pykeen" and version is None:
            continue
        start = time.perf_counter()
        if run == "recfactor":
            TuckER(**params, max_epochs=1, eval_every=2, device="cpu",
                   random_state=0).fit(subset, X_valid=anchor)
        else:
            model, factory, loop = pykeen_tucker(subset, n_entities, n_relations,
                                                 params)
            loop.train(triples_factory=factory, num_epochs=1, batch_size=batch,
                       label_smoothing=params["label_smoothing"], use_tqdm=False)
        seconds = time.perf_counter() - start
        label = "recfactor TuckER" if run == "recfactor" else f"PyKEEN {version} TuckER"
        rows.append({"what": f"{label}, fixed batches, extrapolated to an epoch",
                     "batches timed": subset_batches, "s / batch": seconds / subset_batches,
                     "s / epoch": seconds / subset_batches * epoch_batches})
    if args.full_epoch:
        start = time.perf_counter()
        model = TuckER(**params, max_epochs=1, device="cpu", random_state=0).fit(data.train)
        seconds = time.perf_counter() - start
        rows.append({"what": "recfactor TuckER, one full epoch (fit)",
                     "batches timed": epoch_batches, "s / batch": seconds / epoch_batches,
                     "s / epoch": seconds})
        start = time.perf_counter()
        model.score(data.test)
        evaluation = time.perf_counter() - start
    table = pd.DataFrame(rows)
    table["x floor"] = table["s / epoch"] / table["s / epoch"].iloc[0]
    print(table.to_string(index=False, float_format=lambda x: f"{x:.4g}"))
    if args.full_epoch:
        print(f"recfactor full filtered test evaluation (score on {len(data.test)} triples, "
              f"{2 * len(data.test)} queries x {n_entities} entities): {evaluation:.1f} s")
    print(f"Fixed batches: one epoch on the first {len(subset)} training triples "
          f"({subset_batches} batches with reciprocals), per batch times the "
          f"{epoch_batches} batches of a full epoch.")


# -- (e) defaults ---------------------------------------------------------------------------


class Synthetic:
    """A graph of :func:`recfactor.datasets.make_triples`, split 80 / 10 / 10 at random."""

    def __init__(self, n_entities, n_relations, n_triples):
        triples = make_triples(n_entities=n_entities, n_relations=n_relations,
                               n_triples=n_triples, random_state=0)
        order = np.random.default_rng(0).permutation(n_triples)
        cut = [int(0.8 * n_triples), int(0.9 * n_triples)]
        self.train, self.valid, self.test = (triples[part] for part in np.split(order, cut))
        self.entity_ids, self.relation_ids = np.arange(n_entities), np.arange(n_relations)
        self.DESCR = (f"make_triples(n_entities={n_entities}, n_relations={n_relations}, "
                      f"n_triples={n_triples}, random_state=0), {len(self.train)} / "
                      f"{len(self.valid)} / {len(self.test)} train / valid / test")


RESOLVED = ["entity_dim_", "relation_dim_", "learning_rate_", "input_dropout_", "hidden_dropout1_",
            "hidden_dropout2_"]


def bench_defaults(args):
    graphs = [(name, load_knowledge_graph(name)) for name in args.datasets
              if name in ("umls", "nations")]
    graphs.append(("synthetic", Synthetic(*args.synthetic)))
    rows, resolved = [], []
    for name, data in graphs:
        print(f"{name}: {data.DESCR}", flush=True)
        known = Filter(np.concatenate([data.train, data.valid, data.test]),
                       len(data.entity_ids), len(data.relation_ids))
        for seed in range(args.seeds):
            training = dict(max_epochs=args.defaults_epochs, device="cpu", random_state=seed)
            for label, params in [("TuckER() defaults", {}), ("tuned", settings(name)),
                                  ("former defaults", PAPER["fb15k-237"])]:
                start = time.perf_counter()
                tucker = TuckER(**params, **training).fit(data.train, X_valid=data.valid)
                fits = [(label, tucker, time.perf_counter() - start)]
                if label == "TuckER() defaults":
                    resolved.append({"data": name, "seed": seed, **{
                        key: getattr(tucker, key) for key in RESOLVED}})
                    start = time.perf_counter()
                    migtf = MIGTF(tucker, **training).fit(data.train, X_valid=data.valid)
                    fits.append(("MIGTF(defaults TuckER)", migtf, time.perf_counter() - start))
                for model_label, model, seconds in fits:
                    ranks = evaluate(*recfactor_scores(model), data.test, known)
                    rows.append({"data": name, "model": model_label, "seed": seed,
                                 **metrics(ranks), "epochs run": model.n_iter_,
                                 "best epoch": model.best_epoch_,
                                 "valid MRR": model.best_validation_score_, "fit s": seconds})
                    print(rows[-1], flush=True)
    table = pd.DataFrame(rows)
    print(f"\n(e) defaults: TuckER() with its defaults against the tuned settings of (a) "
          f"(synthetic: those of UMLS and Nations) and the former defaults (FB15k-237's), "
          f"each fitted with the validation triples "
          f"(eval_every 5, patience 10) for at most {args.defaults_epochs} epochs, seeds "
          f"0..{args.seeds - 1}; MIGTF with its defaults over the default TuckER; {hardware()}")
    print(table.to_string(index=False, float_format=lambda x: f"{x:.4f}"))
    print("\nwhat the defaults' \"auto\" resolved to (the same for every seed):")
    print(pd.DataFrame(resolved).drop_duplicates(subset=["data"]).drop(columns="seed")
          .to_string(index=False))
    means = table.groupby(["data", "model"], sort=False)[["MRR", "H@1", "H@10", "fit s"]].mean()
    means = means.unstack("model")
    summary = pd.DataFrame({
        "defaults MRR": means[("MRR", "TuckER() defaults")],
        "tuned MRR": means[("MRR", "tuned")],
        "defaults / tuned": means[("MRR", "TuckER() defaults")] / means[("MRR", "tuned")],
        "former defaults MRR": means[("MRR", "former defaults")],
        "MIGTF(defaults) MRR": means[("MRR", "MIGTF(defaults TuckER)")],
        "defaults fit s": means[("fit s", "TuckER() defaults")],
        "tuned fit s": means[("fit s", "tuned")],
    }).loc[[name for name, _ in graphs]]
    print(f"\nmean over {args.seeds} seed(s):")
    print(summary.to_string(float_format=lambda x: f"{x:.4f}"))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--parts", nargs="+",
                        default=["accuracy", "peer", "speed", "compact", "defaults"],
                        choices=["accuracy", "peer", "speed", "compact", "defaults"])
    parser.add_argument("--datasets", nargs="+", default=["umls", "nations", "wn18rr",
                                                          "fb15k-237"])
    parser.add_argument("--max-epochs", type=int, default=500)
    parser.add_argument("--eval-every", type=int, default=5)
    parser.add_argument("--patience", type=int, default=10)
    parser.add_argument("--peer-epochs", type=int, default=100)
    parser.add_argument("--seeds", type=int, default=3,
                        help="peer runs per library; compact runs per dimension; "
                             "defaults runs per setting")
    parser.add_argument("--compact-dims", nargs="+", type=int, default=[5, 10, 20])
    parser.add_argument("--compact-epochs", type=int, default=1000)
    parser.add_argument("--defaults-epochs", type=int, default=100)
    parser.add_argument("--synthetic", nargs=3, type=int, default=[100, 25, 6000],
                        metavar=("ENTITIES", "RELATIONS", "TRIPLES"),
                        help="make_triples sizes of the defaults part's synthetic graph")
    parser.add_argument("--speed-batches", type=int, default=30)
    parser.add_argument("--no-full-epoch", dest="full_epoch", action="store_false",
                        help="skip recfactor's full WN18RR epoch and test evaluation")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--threads", type=int, default=None,
                        help="torch.set_num_threads (default: torch's)")
    parser.add_argument("--verbose", type=int, default=0)
    args = parser.parse_args()
    import torch

    if args.threads is not None:
        torch.set_num_threads(args.threads)
    print(hardware())
    if "accuracy" in args.parts:
        bench_accuracy(args)
    if "peer" in args.parts:
        bench_peer(args)
    if "speed" in args.parts:
        bench_speed(args)
    if "compact" in args.parts:
        bench_compact(args)
    if "defaults" in args.parts:
        bench_defaults(args)


if __name__ == "__main__":
    main()
