"""ONNX export of the torch models, run by onnxruntime against the torch model itself."""

import numpy as np
import pytest

from recfactor.datasets import make_sequences, make_triples
from recfactor.knowledge_graph import MIGTF, TuckER
from recfactor.sequential import BERT4Rec, PNFRec, SASRec

torch = pytest.importorskip("torch")
pytest.importorskip("onnxscript")
ort = pytest.importorskip("onnxruntime")

FAST = dict(max_epochs=3, device="cpu", random_state=0)


@pytest.fixture(scope="module")
def histories():
    # Shorter than max_length: the graph sees every item of a history, as recommend does.
    train = make_sequences(n_users=80, n_items=30, max_length=15, random_state=0)
    rng = np.random.default_rng(0)
    rated = [np.column_stack([h, np.where(rng.random(h.size) < 0.2, 1, 5)]) for h in train]
    return train, rated


def run(path, inputs):
    return ort.InferenceSession(str(path), providers=["CPUExecutionProvider"]).run(None, inputs)


@pytest.mark.parametrize("Estimator", [SASRec, BERT4Rec, PNFRec])
def test_the_graph_recommends_what_the_model_recommends(Estimator, histories, tmp_path):
    X = histories[1] if Estimator is PNFRec else histories[0]
    model = Estimator(embedding_dim=16, max_length=20, **FAST).fit(X)
    if Estimator is PNFRec:
        # The graph sees the liked items only (the encoder's input), so it leaves out those;
        # on histories of liked items that is recommend's exclusion too.
        X = [np.column_stack([h[:, 0], np.full(len(h), 5)]) for h in X]
    path = model.export_onnx(tmp_path / "model.onnx", k=5)
    inputs = model.onnx_inputs(X)
    assert inputs["tokens"].shape == (len(X), 20)
    scores, items = run(path, inputs)
    np.testing.assert_array_equal(items, model.recommend(X, k=5))
    # The scores are the head's: states @ W + b of the items returned.
    W = model.network_.head.weights().detach().numpy()
    b = model.network_.head.bias.detach().numpy()
    expected = np.take_along_axis(model.transform(X) @ W.T + b, items, axis=1)
    np.testing.assert_allclose(scores, expected, rtol=1e-4, atol=1e-5)
    # Any number of rows: one query at a time, as a service gets them.
    single = {"tokens": inputs["tokens"][:1]}
    np.testing.assert_array_equal(run(path, single)[1], items[:1])


@pytest.mark.parametrize("make", [
    lambda: TuckER(entity_dim=8, relation_dim=4, **FAST),
    lambda: MIGTF(base=TuckER(entity_dim=8, relation_dim=4, **FAST), hyperbolic_dim=2, **FAST),
], ids=["TuckER", "MIGTF"])
def test_the_graph_scores_what_the_model_scores(make, tmp_path):
    triples = make_triples(n_entities=30, n_relations=3, n_triples=200, random_state=0)
    model = make().fit(triples)
    path = model.export_onnx(tmp_path / "kg.onnx")
    tails = model.onnx_inputs(triples[:, 0], triples[:, 1])
    (scores,) = run(path, tails)
    assert scores.shape == (len(triples), 30)
    # sigmoid of the tail's logit is predict's plausibility, and top tails agree.
    plausibility = 1 / (1 + np.exp(-scores[np.arange(len(triples)), triples[:, 2]]))
    np.testing.assert_allclose(plausibility, model.predict(triples), atol=1e-5)
    np.testing.assert_array_equal(np.argsort(-scores, axis=1, kind="stable")[:, :3],
                                  model.predict_tails(triples[:, 0], triples[:, 1], k=3))
    heads = model.onnx_inputs(triples[:, 2], triples[:, 1], answer="heads")
    np.testing.assert_array_equal(heads["relations"], triples[:, 1] + 3)
    (head_scores,) = run(path, heads)
    np.testing.assert_array_equal(np.argsort(-head_scores, axis=1, kind="stable")[:, :3],
                                  model.predict_heads(triples[:, 1], triples[:, 2], k=3))


def test_bad_export_arguments_raise(histories, tmp_path):
    model = SASRec(embedding_dim=8, **{**FAST, "max_epochs": 1}).fit(histories[0])
    with pytest.raises(ValueError, match="larger than the catalogue"):
        model.export_onnx(tmp_path / "m.onnx", k=1000)
    with pytest.raises(Exception, match="not fitted"):
        SASRec().export_onnx(tmp_path / "m.onnx")
    kg = TuckER(entity_dim=4, relation_dim=4, **{**FAST, "max_epochs": 1}).fit(
        make_triples(n_entities=30, n_relations=3, n_triples=200, random_state=0))
    with pytest.raises(ValueError, match="answer"):
        kg.onnx_inputs([0], [0], answer="both")
