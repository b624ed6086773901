"""TuckER: learning, ids, determinism, pickling, early stopping and bad input."""

import pickle
import subprocess
import sys

import numpy as np
import pytest
from sklearn.model_selection import cross_val_score
from sklearn.utils._param_validation import InvalidParameterError

from recfactor.knowledge_graph import MIGTF, TuckER
from recfactor.knowledge_graph._tucker import _auto_settings

torch = pytest.importorskip("torch")

SMALL = dict(entity_dim=16, relation_dim=16, learning_rate=0.01, device="cpu")
# The benchmark's tuned settings for small graphs (UMLS, Nations), and a short training.
TUNED = dict(entity_dim=100, relation_dim=100, learning_rate=0.005, input_dropout=0.2,
             hidden_dropout1=0.2, hidden_dropout2=0.3)
EPOCHS = 20


@pytest.fixture(scope="module")
def fitted(split):
    train, _, _ = split
    return TuckER(**SMALL, max_epochs=100, random_state=0).fit(train)


def test_import_does_not_import_torch_or_tensorly():
    code = (
        "import sys, recfactor.knowledge_graph; "
        "print([m for m in ('torch', 'tensorly') if m in sys.modules])"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_without_torch_estimators_are_listed_and_fit_says_how_to_install_it():
    code = (
        "import sys\n"
        "class NoTorch:\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name.split('.')[0] == 'torch':\n"
        "            raise ModuleNotFoundError(f'No module named {name!r}')\n"
        "sys.meta_path.insert(0, NoTorch())\n"
        "from recfactor.utils import all_estimators\n"
        "assert 'TuckER' in dict(all_estimators())\n"
        "from recfactor.knowledge_graph import TuckER\n"
        "try:\n"
        "    TuckER().fit([[0, 0, 1]])\n"
        "except ImportError as error:\n"
        "    print(error)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert "pip install torch" in out.stdout


def test_learns_more_than_popularity(fitted, split, reference_mrr):
    train, _, test = split
    random_scores = np.random.RandomState(0).rand(100, 8, 100)
    answers = np.concatenate([train[:, 2], train[:, 0]])
    popularity = np.bincount(answers, minlength=100).astype(float)
    per_relation = np.zeros((8, 100))
    np.add.at(per_relation, (np.r_[train[:, 1], train[:, 1] + 4], answers), 1)

    score = fitted.score(test)

    assert score > 3 * reference_mrr(lambda e, r: random_scores[e, r], train, test)
    assert score > 2 * reference_mrr(lambda e, r: popularity, train, test)
    # Answers depend on the relation's clusters only, so the per-relation popularity is
    # close to the best any model can do on this graph.
    assert score > 0.9 * reference_mrr(lambda e, r: per_relation[r], train, test)


def test_score_is_the_filtered_mrr_of_the_models_scores(fitted, split, reference_mrr):
    train, _, test = split

    def logits(entity, relation):
        [(_, block)] = fitted._query_logits(np.array([entity]), np.array([relation]))
        return block[0].numpy().astype(float)

    assert fitted.score(test) == pytest.approx(reference_mrr(logits, train, test))


def test_predictions_agree_with_top_tails_and_heads(fitted, split):
    _, _, test = split
    heads, relations, tails = test[:5].T
    top = fitted.predict_tails(heads, relations, k=100)
    for h, r, ranked in zip(heads, relations, top):
        probabilities = fitted.predict(np.column_stack([np.full(100, h), np.full(100, r), ranked]))
        assert np.all(np.diff(probabilities) <= 0)
        assert 0 < probabilities.min() and probabilities.max() < 1
    assert fitted.predict_heads(relations, tails, k=3).shape == (5, 3)
    with pytest.raises(ValueError, match="larger than the number of entities"):
        fitted.predict_tails(heads, relations, k=101)


def test_transform_concatenates_head_and_tail_embeddings(fitted, split):
    _, _, test = split
    embeddings = fitted.module_.entity_embeddings.weight.detach().numpy()
    np.testing.assert_array_equal(
        fitted.transform(test[:4]), np.hstack([embeddings[test[:4, 0]], embeddings[test[:4, 2]]])
    )


def test_same_seed_same_model_and_global_torch_state_left_alone(split):
    train, _, test = split
    state = torch.random.get_rng_state()
    first = TuckER(**SMALL, max_epochs=3, random_state=7).fit(train)
    assert torch.equal(torch.random.get_rng_state(), state)
    second = TuckER(**SMALL, max_epochs=3, random_state=7).fit(train)
    other = TuckER(**SMALL, max_epochs=3, random_state=8).fit(train)
    np.testing.assert_array_equal(first.predict(test), second.predict(test))
    assert not np.array_equal(first.predict(test), other.predict(test))


def test_pickle_round_trip_gives_identical_predictions(fitted, split):
    _, _, test = split
    restored = pickle.loads(pickle.dumps(fitted))
    np.testing.assert_array_equal(restored.predict(test), fitted.predict(test))
    assert restored.score(test) == fitted.score(test)


def test_string_ids_give_the_model_of_their_integer_codes(split):
    train, _, test = split
    # Zero-padded names sort like the integers, so both models index entities alike.
    entity, relation = np.vectorize(lambda i: f"e{i:03d}"), np.vectorize(lambda i: f"r{i}")

    def named(triples):
        heads, relations, tails = triples.T
        return np.column_stack([entity(heads), relation(relations), entity(tails)])

    on_ints = TuckER(**SMALL, max_epochs=2, random_state=0).fit(train)
    on_strings = TuckER(**SMALL, max_epochs=2, random_state=0).fit(named(train))

    assert list(on_strings.relations_) == ["r0", "r1", "r2", "r3"]
    np.testing.assert_allclose(on_strings.predict(named(test)), on_ints.predict(test))
    top = on_strings.predict_tails(entity(test[:3, 0]), relation(test[:3, 1]), k=4)
    np.testing.assert_array_equal(top, entity(on_ints.predict_tails(test[:3, 0], test[:3, 1], k=4)))
    with pytest.raises(TypeError, match="fitted on string ids"):
        on_strings.predict(test)


def test_unknown_entities_are_ranked_last_with_a_warning(fitted, split):
    _, _, test = split
    with_unknown = np.vstack([test[:3], [[500, 0, test[0, 2]]]])
    with pytest.warns(UserWarning, match="1 of 4 triples of X have an entity not seen in fit"):
        probabilities = fitted.predict(with_unknown)
    assert probabilities[3] == 0.0
    np.testing.assert_allclose(probabilities[:3], fitted.predict(test[:3]), rtol=1e-6)
    with pytest.warns(UserWarning, match="1 of 4 triples"):
        score = fitted.score(with_unknown)
    # Both queries of the unknown triple rank their answer after every candidate.
    known_score = fitted.score(test[:3])
    assert score < known_score
    with pytest.warns(UserWarning, match="1 of 2 heads were not seen in fit"):
        top = fitted.predict_tails([500, 1], [0, 0], k=2)
    np.testing.assert_array_equal(top[0], [-1, -1])
    with pytest.warns(UserWarning, match="embeddings are zeros"):
        assert not fitted.transform(with_unknown)[3, :16].any()


def test_unknown_relations_are_an_error(fitted):
    with pytest.raises(ValueError, match="1 relation\\(s\\) not seen in fit, for example 9"):
        fitted.predict([[0, 9, 1]])
    with pytest.raises(ValueError, match="relation"):
        fitted.predict_heads([9], [1])


@pytest.mark.parametrize(
    "params",
    [
        {"entity_dim": 0},
        {"input_dropout": 1.0},
        {"hidden_dropout2": -0.1},
        {"label_smoothing": 1.0},
        {"learning_rate": 0},
        {"decay_rate": 0},
        {"decay_rate": 1.5},
        {"batch_size": 1},
        {"max_epochs": 0},
        {"patience": 0},
        {"eval_every": 2.5},
    ],
)
def test_bad_hyper_parameters_are_rejected(params, split):
    with pytest.raises(InvalidParameterError):
        TuckER(**params).fit(split[0])


def test_bad_device_and_triples_are_rejected(split):
    with pytest.raises(ValueError, match="device must be"):
        TuckER(device="gpu").fit(split[0])
    with pytest.raises(ValueError, match="shape \\(n_triples, 3\\)"):
        TuckER().fit(split[0][:, :2])


def test_early_stopping_stops_and_keeps_the_best_epoch(split, capsys):
    train, valid, _ = split
    model = TuckER(
        **{**SMALL, "learning_rate": 0.05}, max_epochs=300, eval_every=1, patience=3,
        random_state=0,
    ).fit(train, X_valid=valid)

    assert model.n_iter_ < 300
    # Evaluated before training (epoch 0) and after every epoch.
    assert len(model.validation_scores_) == model.n_iter_ + 1 == len(model.loss_curve_) + 1
    assert model.best_validation_score_ == max(model.validation_scores_)
    assert model.best_epoch_ == int(np.argmax(model.validation_scores_)) > 0
    assert model.n_iter_ == model.best_epoch_ + 3
    # The restored parameters are those of the best epoch: same filter, same MRR.
    assert model.score(valid) == pytest.approx(model.best_validation_score_)
    assert capsys.readouterr() == ("", "")


def test_progress_bar_only_when_verbose(split, capsys):
    train, valid, _ = split
    TuckER(**SMALL, max_epochs=2, random_state=0).fit(train, X_valid=valid)
    assert capsys.readouterr() == ("", "")
    TuckER(**SMALL, max_epochs=2, eval_every=1, verbose=1, random_state=0).fit(
        train, X_valid=valid
    )
    assert "valid MRR" in capsys.readouterr().err


def test_validation_ids_must_be_of_the_same_kind():
    with pytest.raises(TypeError, match="same kind as X"):
        TuckER().fit([[0, 0, 1]], X_valid=[["a", "r", "b"]])


def test_validation_entities_are_in_the_vocabulary():
    model = TuckER(**SMALL, max_epochs=1).fit([[0, 0, 1], [1, 0, 2]], X_valid=[[5, 1, 0]])
    assert len(model.entities_) == 6 and len(model.relations_) == 2


def test_works_in_cross_validation(split):
    scores = cross_val_score(TuckER(**SMALL, max_epochs=2, random_state=0), split[0], cv=2)
    assert scores.shape == (2,) and np.all(scores > 0)


# -- defaults ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "n_entities, n_relations, expected",
    [
        # WN18RR and FB15k-237: the authors' settings for each.
        (40943, 11, dict(entity_dim=200, relation_dim=30, learning_rate=0.01,
                         input_dropout=0.2, hidden_dropout1=0.2, hidden_dropout2=0.3)),
        (14541, 237, dict(entity_dim=200, relation_dim=200, learning_rate=0.0005,
                          input_dropout=0.3, hidden_dropout1=0.4, hidden_dropout2=0.5)),
        # UMLS and Nations: each embedding as wide as its table has rows, at least 30.
        (135, 46, dict(entity_dim=135, relation_dim=92, learning_rate=0.01,
                       input_dropout=0.2, hidden_dropout1=0.2, hidden_dropout2=0.3)),
        (14, 55, dict(entity_dim=30, relation_dim=110, learning_rate=0.01,
                      input_dropout=0.2, hidden_dropout1=0.2, hidden_dropout2=0.3)),
        # The regime changes at 100 relations.
        (500, 99, dict(entity_dim=200, relation_dim=198, learning_rate=0.01,
                       input_dropout=0.2, hidden_dropout1=0.2, hidden_dropout2=0.3)),
        (500, 100, dict(entity_dim=200, relation_dim=200, learning_rate=0.0005,
                        input_dropout=0.3, hidden_dropout1=0.4, hidden_dropout2=0.5)),
    ],
)
def test_auto_settings_follow_the_size_of_the_graph(n_entities, n_relations, expected):
    assert _auto_settings(n_entities, n_relations) == expected


def test_auto_is_resolved_in_fit_and_explicit_values_are_kept(split):
    train, valid, _ = split
    model = TuckER(max_epochs=1, device="cpu", random_state=0).fit(train, X_valid=valid)
    # 100 entities and 4 relations.
    assert (model.entity_dim_, model.relation_dim_, model.learning_rate_) == (100, 30, 0.01)
    assert (model.input_dropout_, model.hidden_dropout1_, model.hidden_dropout2_) == (
        0.2, 0.2, 0.3
    )
    assert model.module_.interaction.core.shape == (30, 100, 100)
    assert model.get_params()["entity_dim"] == "auto"

    model = TuckER(
        entity_dim=8, learning_rate=0.02, hidden_dropout2=0.1, max_epochs=1, device="cpu",
        random_state=0,
    ).fit(train)
    assert (model.entity_dim_, model.relation_dim_, model.learning_rate_) == (8, 30, 0.02)
    assert (model.input_dropout_, model.hidden_dropout2_) == (0.2, 0.1)
    assert model.module_.interaction.core.shape == (30, 8, 8)


def test_defaults_learn_a_small_graph_in_few_epochs(split, reference_mrr):
    train, valid, test = split
    answers = np.concatenate([train[:, 2], train[:, 0]])
    popularity = np.bincount(answers, minlength=100).astype(float)
    per_relation = np.zeros((8, 100))
    np.add.at(per_relation, (np.r_[train[:, 1], train[:, 1] + 4], answers), 1)

    score = TuckER(max_epochs=EPOCHS, device="cpu", random_state=0).fit(
        train, X_valid=valid
    ).score(test)
    tuned = TuckER(**TUNED, max_epochs=EPOCHS, device="cpu", random_state=0).fit(
        train, X_valid=valid
    ).score(test)

    assert score > 2 * reference_mrr(lambda e, r: popularity, train, test)
    assert score > 0.9 * reference_mrr(lambda e, r: per_relation[r], train, test)
    assert score > 0.95 * tuned


# TuckER's gradients are small (a mean over every entity of every query): with its damping
# delta=1, AdaGram steps as gradient descent at lr and needs a large one.
@pytest.mark.parametrize("optimizer, learning_rate", [("adagrad", 0.05), ("adagram", 30.0)])
def test_every_optimizer_learns_more_than_popularity(optimizer, learning_rate, split,
                                                     reference_mrr):
    train, _, test = split
    model = TuckER(**{**SMALL, "learning_rate": learning_rate}, optimizer=optimizer,
                   max_epochs=30, random_state=0).fit(train)
    answers = np.concatenate([train[:, 2], train[:, 0]])
    popularity = np.bincount(answers, minlength=100).astype(float)
    assert model.score(test) > 1.5 * reference_mrr(lambda e, r: popularity, train, test)


def test_compressing_the_entity_table(fitted, split):
    import copy

    from recfactor.utils._compression import LowRankEmbedding, kept_rank

    train, _, test = split
    table = fitted.module_.entity_embeddings.weight.detach().double().numpy()
    m, n = table.shape
    before = sum(p.numel() for p in fitted.module_.parameters())
    for method in ("gfwsvd", "fwsvd", "svd"):
        model = copy.deepcopy(fitted).compress(train, 0.3, method=method)
        layer = model.module_.entity_embeddings
        rank = kept_rank(m, n, 0.3)
        assert isinstance(layer, LowRankEmbedding) and layer.left.shape == (m, rank)
        assert sum(p.numel() for p in model.module_.parameters()) == (
            before - m * n + rank * (m + n))
        assert model.score(test) > 0.5 * fitted.score(test)
        if method == "svd":
            U, s, Vt = np.linalg.svd(table, full_matrices=False)
            np.testing.assert_allclose(layer.weight.detach().double().numpy(),
                                       (U[:, :rank] * s[:rank]) @ Vt[:rank], atol=1e-5)
    tuned = copy.deepcopy(fitted).compress(train, 0.3, fine_tune_epochs=2)
    assert tuned.loss_curve_ == fitted.loss_curve_
    np.testing.assert_array_equal(pickle.loads(pickle.dumps(tuned)).predict(test[:20]),
                                  tuned.predict(test[:20]))
    with pytest.raises(ValueError, match="compressed already"):
        tuned.compress(train, 0.3)
    with pytest.raises(InvalidParameterError):
        copy.deepcopy(fitted).compress(train, keep=1.5)


def test_two_processes_train_tucker_and_the_hyperbolic_term(split, reference_mrr):
    train, valid, test = split
    settings = dict(**SMALL, max_epochs=30, eval_every=5, random_state=0)
    one = TuckER(**settings).fit(train, X_valid=valid)
    two = TuckER(**settings, n_processes=2).fit(train, X_valid=valid)
    answers = np.concatenate([train[:, 2], train[:, 0]])
    popularity = np.bincount(answers, minlength=100).astype(float)
    assert two.score(test) > 2 * reference_mrr(lambda e, r: popularity, train, test)
    assert two.score(test) > 0.8 * one.score(test)
    assert len(two.validation_scores_) == 7 and two.validation_scores_[0] == pytest.approx(
        one.validation_scores_[0])
    corrected = MIGTF(base=two, hyperbolic_dim=4, max_epochs=3, device="cpu", n_processes=2,
                      random_state=0).fit(train, X_valid=valid)
    assert corrected.score(test) >= 0.95 * two.score(test)
