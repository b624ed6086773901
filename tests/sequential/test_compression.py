"""Compressing a fitted sequential model in place: factors, parameter counts, gradients."""

import copy
import pickle

import numpy as np
import pytest
from sklearn.utils._param_validation import InvalidParameterError

from recfactor.decomposition import fisher_weighted_svd
from recfactor.sequential import BERT4Rec, PNFRec, SASRec

torch = pytest.importorskip("torch")

from recfactor.utils._compression import (  # noqa: E402  (imports torch)
    LowRankEmbedding,
    LowRankLinear,
    kept_rank,
)

PARTS = ("items", "attention", "feed_forward")


@pytest.fixture(scope="module")
def fitted(histories, fast):
    return SASRec(**fast).fit(histories[0])


def n_parameters(model):
    return sum(p.numel() for p in model.network_.parameters())


def matrices(model):
    """Dotted path and (m, n) shape of every matrix ``compress`` replaces, by part."""
    network = model.network_
    shapes = {"items": {"head.items": tuple(network.head.items.weight.shape)}}
    shapes["attention"] = {f"encoder.blocks.{i}.attention.{name}":
                           tuple(getattr(block.attention, name).weight.shape)
                           for i, block in enumerate(network.encoder.blocks)
                           for name in ("qkv", "out")}
    shapes["feed_forward"] = {f"encoder.blocks.{i}.ffn.{j}": tuple(block.ffn[j].weight.shape)
                              for i, block in enumerate(network.encoder.blocks)
                              for j in (0, 3)}
    return shapes


@pytest.mark.parametrize("parts", [PARTS, ("items",), ("attention", "feed_forward")])
@pytest.mark.parametrize("keep", [0.1, 0.5])
def test_parameter_count_falls_as_documented(fitted, histories, parts, keep):
    shapes = {path: shape for part in parts for path, shape in matrices(fitted)[part].items()}
    expected = n_parameters(fitted) - sum(
        m * n - kept_rank(m, n, keep) * (m + n) for m, n in shapes.values())
    model = copy.deepcopy(fitted).compress(histories[0], keep, method="svd", parts=parts)
    assert n_parameters(model) == expected
    for path, (m, n) in shapes.items():
        layer = model.network_.get_submodule(path)
        assert isinstance(layer, LowRankEmbedding if path == "head.items" else LowRankLinear)
        assert layer.left.shape == (m, kept_rank(m, n, keep))
        # At most the share kept of the matrix's parameters, and the rank rule's largest.
        assert layer.left.numel() + layer.right.numel() <= keep * m * n or layer.left.shape[1] == 1


def test_svd_replaces_each_matrix_by_its_truncated_svd(fitted, histories):
    model = copy.deepcopy(fitted).compress(histories[0], 0.3, method="svd")
    for part in matrices(fitted).values():
        for path, (m, n) in part.items():
            W = fitted.network_.get_submodule(path).weight.detach().double().numpy()
            U, s, Vt = np.linalg.svd(W, full_matrices=False)
            r = kept_rank(m, n, 0.3)
            product = model.network_.get_submodule(path).weight.detach().double().numpy()
            np.testing.assert_allclose(product, (U[:, :r] * s[:r]) @ Vt[:r], atol=1e-5)


def test_the_fisher_comes_from_the_gradients_of_the_models_own_loss(
        histories, fast, monkeypatch):
    # One batch holding every history, and the full softmax: the gradient of the whole
    # training loss, with nothing drawn at random.
    model = SASRec(**{**fast, "batch_size": 1000, "loss": "ce"}).fit(histories[0])
    arrays = model._training_arrays(histories[0])
    lengths = model._row_lengths(arrays)
    network = copy.deepcopy(model.network_).eval()
    model._backward_batch(network, arrays, np.arange(lengths.size), lengths,
                          np.random.default_rng(0), torch.device("cpu"))
    expected = network.head.items.weight.grad.double().numpy()
    seen = {}

    def spy(W, rank, **kwargs):
        seen.setdefault(W.shape, kwargs["gradients"])
        return fisher_weighted_svd(W, rank, **kwargs)

    monkeypatch.setattr("recfactor.utils._compression.fisher_weighted_svd", spy)
    model.compress(histories[0], 0.5, n_batches=3, parts=("items",))
    gradients = np.asarray(seen[expected.shape])
    assert gradients.shape == (3, *expected.shape)
    for gradient in gradients:
        np.testing.assert_allclose(gradient, expected, rtol=1e-4, atol=1e-7)


@pytest.mark.parametrize("method", ["gfwsvd", "fwsvd", "svd"])
def test_a_compressed_model_still_beats_popularity(fitted, histories, method,
                                                   popularity_score):
    model = copy.deepcopy(fitted).compress(histories[0], 0.5, method=method)
    assert model.score(histories[1]) > popularity_score
    assert model.recommend(histories[1], k=5).shape == (len(histories[1]), 5)
    assert model.transform(histories[1]).shape == (len(histories[1]), fitted.embedding_dim)


def test_compression_is_deterministic_and_survives_pickling(fitted, histories):
    first = copy.deepcopy(fitted).compress(histories[0], 0.3)
    second = copy.deepcopy(fitted).compress(histories[0], 0.3)
    np.testing.assert_array_equal(first.transform(histories[1]), second.transform(histories[1]))
    loaded = pickle.loads(pickle.dumps(first))
    np.testing.assert_array_equal(loaded.recommend(histories[1]),
                                  first.recommend(histories[1]))


def test_fine_tuning_trains_the_factors_and_keeps_the_fitted_history(fitted, histories):
    compressed = copy.deepcopy(fitted).compress(histories[0], 0.3)
    tuned = copy.deepcopy(fitted).compress(histories[0], 0.3, fine_tune_epochs=2)
    assert tuned.loss_curve_ == fitted.loss_curve_ and tuned.n_iter_ == fitted.n_iter_
    before = compressed.network_.head.items.left.detach()
    assert not torch.equal(tuned.network_.head.items.left.detach(), before)
    assert n_parameters(tuned) == n_parameters(compressed)


@pytest.mark.parametrize("Estimator", [BERT4Rec, PNFRec])
def test_every_encoder_of_the_other_models_is_compressed(Estimator, histories, rated, fast):
    train = rated[0] if Estimator is PNFRec else histories[0]
    model = Estimator(**{**fast, "max_epochs": 2}).fit(train)
    before = n_parameters(model)
    linear = [name for name, module in model.network_.named_modules()
              if isinstance(module, torch.nn.Linear)]
    model.compress(train, 0.2)
    assert not any(isinstance(module, torch.nn.Linear)
                   for module in model.network_.modules())
    assert isinstance(model.network_.head.items, LowRankEmbedding)
    assert n_parameters(model) < before and len(linear) == 4 * model.n_blocks * (
        2 if Estimator is PNFRec else 1)
    assert model.recommend(train[:5]).shape == (5, 10)


def test_compressing_twice_unfitted_or_with_bad_arguments_raises(fitted, histories, fast):
    model = copy.deepcopy(fitted).compress(histories[0], 0.5, method="svd")
    with pytest.raises(ValueError, match="compressed already"):
        model.compress(histories[0], 0.3, method="svd")
    with pytest.raises(Exception, match="not fitted"):
        SASRec(**fast).compress(histories[0])
    for kwargs in [dict(keep=1.0), dict(keep=0), dict(method="qr"), dict(n_batches=0),
                   dict(fine_tune_epochs=-1)]:
        with pytest.raises(InvalidParameterError):
            copy.deepcopy(fitted).compress(histories[0], **kwargs)
    with pytest.raises(ValueError, match="parts"):
        copy.deepcopy(fitted).compress(histories[0], parts=("embeddings",))
