"""MIGTF: a frozen TuckER plus the hyperbolic term (its algebra is in test_modules.py)."""

import functools
import pickle

import numpy as np
import pytest
from sklearn.utils._param_validation import InvalidParameterError

from recfactor.knowledge_graph import MIGTF, TuckER
from recfactor.knowledge_graph import _migtf

torch = pytest.importorskip("torch")

BASE = dict(entity_dim=16, relation_dim=16, learning_rate=0.01, device="cpu")
SMALL = dict(hyperbolic_dim=8, learning_rate=0.01, device="cpu")


@pytest.fixture(scope="module")
def base(split):
    return TuckER(**BASE, max_epochs=100, random_state=0).fit(split[0])


@pytest.fixture(scope="module")
def fitted(base, split):
    return MIGTF(base, **SMALL, max_epochs=25, random_state=0).fit(split[0])


def test_learns_and_keeps_at_least_its_base_accuracy(fitted, base, split, reference_mrr):
    train, _, test = split
    random_scores = np.random.RandomState(0).rand(100, 8, 100)
    score = fitted.score(test)
    assert score > 3 * reference_mrr(lambda e, r: random_scores[e, r], train, test)
    assert score >= base.score(test) - 0.02


def test_starts_from_the_ranking_of_its_base(base, split):
    # Hyperbolic points start near the origin, where the term is about the same for every
    # candidate: before it learns anything, MIGTF ranks as its base does.
    train, _, test = split
    untrained = MIGTF(base, **{**SMALL, "learning_rate": 1e-12}, max_epochs=1,
                      random_state=0).fit(train)
    assert untrained.score(test) == pytest.approx(base.score(test), abs=1e-4)


def test_probabilities_are_the_sigmoid_of_the_summed_logits(fitted, split):
    _, _, test = split
    heads, relations, tails = (torch.as_tensor(column) for column in test[:6].T)
    fitted.base_.module_.eval()
    fitted.module_.eval()
    with torch.no_grad():
        logits = fitted.base_.module_(heads, relations) + fitted.module_(heads, relations)
    expected = logits.gather(1, tails.unsqueeze(1)).squeeze(1).sigmoid().numpy()
    np.testing.assert_allclose(fitted.predict(test[:6]), expected, rtol=1e-6)


def test_a_fitted_base_is_copied_and_never_modified(fitted, base):
    assert fitted.base_ is not base and fitted.base_.module_ is not base.module_
    for name, value in base.module_.state_dict().items():
        torch.testing.assert_close(fitted.base_.module_.state_dict()[name], value)
    assert all(p.requires_grad for p in base.module_.parameters())
    np.testing.assert_array_equal(fitted.entities_, base.entities_)


def test_an_unfitted_base_is_cloned_and_fitted(split):
    unfitted = TuckER(**BASE, max_epochs=1, random_state=0)
    model = MIGTF(unfitted, **SMALL, max_epochs=1, random_state=0).fit(split[0])
    assert not hasattr(unfitted, "module_")
    assert model.base_.get_params() == unfitted.get_params()


def test_no_base_fits_a_default_tucker_with_the_models_settings(split, monkeypatch):
    # A default TuckER takes minutes; keep its role, shrink its size.
    monkeypatch.setattr(_migtf, "TuckER", functools.partial(TuckER, entity_dim=4, max_epochs=1))
    model = MIGTF(**SMALL, max_epochs=1, random_state=3).fit(split[0])
    assert isinstance(model.base_, TuckER)
    assert (model.base_.device, model.base_.random_state) == ("cpu", 3)


def test_a_fitted_base_cannot_score_entities_it_never_saw(base):
    with pytest.raises(ValueError, match="entities the fitted base was not trained on"):
        MIGTF(base, **SMALL, max_epochs=1).fit([[0, 0, 500]])


def test_same_seed_same_model(base, split):
    train, _, test = split
    first = MIGTF(base, **SMALL, max_epochs=2, random_state=1).fit(train)
    second = MIGTF(base, **SMALL, max_epochs=2, random_state=1).fit(train)
    np.testing.assert_array_equal(first.predict(test), second.predict(test))


def test_pickle_round_trip_gives_identical_predictions(fitted, split):
    _, _, test = split
    restored = pickle.loads(pickle.dumps(fitted))
    np.testing.assert_array_equal(restored.predict(test), fitted.predict(test))
    relations, tails = test[:5, 1], test[:5, 2]
    np.testing.assert_array_equal(
        restored.predict_heads(relations, tails), fitted.predict_heads(relations, tails)
    )


def test_transform_has_euclidean_and_hyperbolic_embeddings(fitted, split):
    triples = split[2][:3]
    euclidean = fitted.base_.module_.entity_embeddings.weight.detach().numpy()
    hyperbolic = fitted.module_.entity_embeddings.weight.detach().numpy()
    assert hyperbolic.shape[1] == 8 and euclidean.shape[1] == 16
    entity = np.hstack([euclidean, hyperbolic])  # the base's, then the spatial coordinates
    np.testing.assert_array_equal(
        fitted.transform(triples), np.hstack([entity[triples[:, 0]], entity[triples[:, 2]]])
    )


def test_early_stopping_on_validation(base, split, capsys):
    train, valid, _ = split
    model = MIGTF(base, **SMALL, max_epochs=100, eval_every=1, patience=2, random_state=0)
    model.fit(train, X_valid=valid)
    assert model.n_iter_ == model.best_epoch_ + 2
    assert model.score(valid) == pytest.approx(model.best_validation_score_)
    assert capsys.readouterr() == ("", "")


def test_keeps_its_base_unchanged_when_training_never_helps_on_validation(split):
    # A term that only makes validation worse (a step far too large) is not kept: the
    # starting point, the base's ranking, is the best validation score.
    train, valid, test = split
    base = TuckER(**BASE, max_epochs=100, random_state=0).fit(train, X_valid=valid)
    model = MIGTF(base, **{**SMALL, "learning_rate": 1.0}, max_epochs=20, eval_every=1,
                  patience=2, random_state=0).fit(train, X_valid=valid)
    assert model.best_epoch_ == 0 and model.n_iter_ == 2
    assert max(model.validation_scores_[1:]) < model.validation_scores_[0]
    assert model.best_validation_score_ == pytest.approx(base.score(valid), abs=1e-4)
    assert model.score(test) == pytest.approx(base.score(test), abs=1e-4)


@pytest.mark.parametrize(
    "params",
    [{"curvature": 0}, {"hyperbolic_dim": 0}, {"hidden_dropout": 1}, {"base": "tucker"}],
)
def test_bad_hyper_parameters_are_rejected(params, split):
    with pytest.raises(InvalidParameterError):
        MIGTF(**params).fit(split[0])


def test_an_unfitted_base_with_bad_hyper_parameters_is_rejected(split):
    with pytest.raises(InvalidParameterError, match="entity_dim"):
        MIGTF(TuckER(entity_dim=0)).fit(split[0])
