import copy
import pickle
import subprocess
import sys

import numpy as np
import pytest
import torch
from sklearn.base import clone
from sklearn.model_selection import GridSearchCV, KFold

from recfactor.metrics import make_ranking_scorer, top_k
from recfactor.sequential import SASRec
from recfactor.sequential._batching import seen_items
from recfactor.utils._torch import TrainingHistory

N_ITEMS = 40  # the catalogue of the histories fixture


@pytest.fixture(scope="module")
def fitted(histories, fast):
    return SASRec(**fast).fit(histories[0])


def test_importing_the_package_does_not_import_torch():
    code = "import recfactor.sequential, sys; assert 'torch' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True)


def test_learns_the_planted_transitions(fitted, histories, popularity_score):
    score = fitted.score(histories[1])
    assert score > popularity_score + 0.15
    assert score == make_ranking_scorer("ndcg", 10, protocol="next-item")(fitted, histories[1])


@pytest.mark.parametrize(
    "loss, n_negatives, positional",
    [("ce", "auto", "learned"), ("sampled_ce", "auto", "learned"), ("gbce", 4, "learned"),
     ("gbce", "auto", "learned"), ("bce", "auto", "learned"), ("ce", "auto", "kernel"),
     ("ce", "auto", "none")],
)
def test_every_loss_and_positional_option_learns_the_planted_transitions(
        histories, loss, n_negatives, positional, popularity_score, fast):
    model = SASRec(loss=loss, n_negatives=n_negatives, positional=positional,
                   **fast).fit(histories[0])
    assert model.n_iter_ == fast["max_epochs"]
    # Popularity 0.187; ce reaches 0.40, bce 0.36, gBCE 0.38 (every item) and 0.40 (4).
    assert model.score(histories[1]) > popularity_score + 0.05


def test_a_batch_loss_is_the_softmax_of_each_next_item(
        fitted, histories, softmax_cross_entropy):
    """Fixed batch: every position predicts the item after it, from the items up to it."""
    rows = histories[0][:6]
    arrays = fitted._training_arrays(rows)
    network = fitted.network_.eval()
    with torch.no_grad():
        loss = fitted._batch_loss(network, arrays, np.random.default_rng(0),
                                  torch.device("cpu"))
        # Reference: each history alone, unpadded, all its positions.
        states, targets = [], []
        for history in rows:
            history = history[-(fitted.max_length + 1):]
            states.append(network(torch.from_numpy(history[:-1] + 1)[None])[0])
            targets.append(torch.from_numpy(history[1:]))
        expected = softmax_cross_entropy(network, torch.cat(states), torch.cat(targets))
    torch.testing.assert_close(loss, expected, rtol=1e-5, atol=1e-6)


def test_gbce_trains_to_beat_popularity(histories, popularity_score, fast):
    model = SASRec(loss="gbce", n_negatives=4, **fast).fit(histories[0])
    assert model.score(histories[1]) > popularity_score


@pytest.mark.parametrize("positional", ["learned", "kernel"])
def test_causal_states_never_look_ahead(histories, positional, fast):
    model = SASRec(positional=positional, **{**fast, "max_epochs": 1}).fit(histories[0])
    history = np.array([3, 9, 4, 17, 22, 5])
    changed = history.copy()
    changed[-1] = 30
    # The state after k items is the state of the history cut after k items.
    prefixes = [history[:k] for k in range(1, 6)]
    changed_prefixes = [changed[:k] for k in range(1, 6)]
    np.testing.assert_array_equal(model.transform(prefixes), model.transform(changed_prefixes))
    assert not np.allclose(model.transform([history]), model.transform([changed]))
    # Inside one batch too: the states of the padded sequence at earlier positions.
    tokens = torch.from_numpy(np.vstack([history, changed]) + 1)
    with torch.no_grad():
        states = model.network_(tokens)
    torch.testing.assert_close(states[0, :-1], states[1, :-1])


def test_bidirectional_attention_is_a_valid_configuration(histories, popularity_score, fast):
    model = SASRec(attention="bidirectional", **fast).fit(histories[0])
    assert model.score(histories[1]) > popularity_score
    history = np.array([3, 9, 4, 17])
    with torch.no_grad():
        states = model.network_(torch.from_numpy(np.vstack([history, [3, 9, 4, 18]]) + 1))
    assert not torch.allclose(states[0, 0], states[1, 0])  # the first position sees the last


def test_barlow_twins_term_keeps_the_planted_transitions(histories, popularity_score, fast):
    model = SASRec(barlow_twins_weight=0.1, **fast).fit(histories[0])
    assert model.score(histories[1]) > popularity_score


def test_barlow_twins_adds_its_term_of_same_final_item_histories(fitted, histories):
    """BT-SR: each history's final state against that of a history with the same last item."""
    from recfactor.sequential._batching import SameItemPartners
    from recfactor.sequential._losses import barlow_twins_loss

    train = histories[0]
    arrays = fitted._training_arrays(train)
    rows = np.arange(32)
    network = fitted.network_.eval()
    plain = fitted._backward_batch(network, arrays, rows, arrays["lengths"],
                                   np.random.default_rng(0), torch.device("cpu"))
    model = copy.deepcopy(fitted).set_params(barlow_twins_weight=0.5, barlow_twins_lambda=0.1)
    total = model._backward_batch(network, arrays, rows, arrays["lengths"],
                                  np.random.default_rng(0), torch.device("cpu"),
                                  partners=model._barlow_twins_partners(arrays))
    # The full softmax draws nothing, so the partners are the generator's first draws.
    final_items = np.array([h[-1] for h in train])
    partners = SameItemPartners(final_items)(rows, np.random.default_rng(0))
    assert np.array_equal(final_items[partners], final_items[rows])
    assert np.all(partners != rows)  # 240 histories of 40 items: every one has a partner
    with torch.no_grad():
        # Reference states: each history alone, unpadded, without its last item.
        def final_state(history):
            tokens = torch.from_numpy(history[-(fitted.max_length + 1):-1] + 1)[None]
            return network(tokens)[0, -1]

        first = torch.stack([final_state(train[r]) for r in rows])
        second = torch.stack([final_state(train[p]) for p in partners])
        term = barlow_twins_loss(first, second, 0.1)
    assert total == pytest.approx(plain + 0.5 * float(term), rel=1e-5)


def test_same_seed_same_model_and_global_rng_untouched(histories, fast):
    torch.manual_seed(123)
    np.random.seed(123)
    expected_torch, expected_numpy = torch.rand(3), np.random.rand(3)
    torch.manual_seed(123)
    np.random.seed(123)
    params = {**fast, "max_epochs": 2}
    first = SASRec(**params).fit(histories[0])
    np.testing.assert_array_equal(torch.rand(3), expected_torch)
    np.testing.assert_array_equal(np.random.rand(3), expected_numpy)
    second = SASRec(**params).fit(histories[0])
    assert first.loss_curve_ == second.loss_curve_
    np.testing.assert_array_equal(first.transform(histories[1]), second.transform(histories[1]))
    other = SASRec(**{**params, "random_state": 1}).fit(histories[0])
    assert other.loss_curve_ != first.loss_curve_


def test_a_batch_computed_in_length_chunks_gives_the_whole_batch_gradient(
    histories, fast, monkeypatch
):
    import recfactor.sequential._base as base

    model = SASRec(**{**fast, "dropout": 0.0, "max_epochs": 1}).fit(histories[0])
    arrays = model._training_arrays([np.asarray(h) for h in histories[0]])
    lengths = model._row_lengths(arrays)
    rows = np.arange(64)
    assert np.ptp(lengths[rows]) > 5  # chunks of different widths

    def gradient(n_chunks):
        monkeypatch.setattr(base, "_LENGTH_CHUNKS", n_chunks)
        model.network_.zero_grad()
        loss = model._backward_batch(model.network_, arrays, rows, lengths,
                                     np.random.default_rng(0), "cpu")
        return loss, [p.grad.clone() for p in model.network_.parameters()]

    whole, chunked = gradient(1), gradient(4)
    assert chunked[0] == pytest.approx(whole[0], rel=1e-5)
    for expected, actual in zip(whole[1], chunked[1]):
        torch.testing.assert_close(actual, expected, rtol=1e-4, atol=1e-6)


def test_pickle_round_trip_predicts_the_same(fitted, histories):
    restored = pickle.loads(pickle.dumps(fitted))
    np.testing.assert_array_equal(restored.recommend(histories[1]), fitted.recommend(histories[1]))
    np.testing.assert_array_equal(restored.transform(histories[1]), fitted.transform(histories[1]))


def test_recommendations_rank_the_states_scores_with_the_item_bias(fitted, histories):
    network = fitted.network_
    with torch.no_grad():
        scores = (fitted.transform(histories[1]) @ network.head.weights().numpy().T
                  + network.head.bias.numpy())
    expected = top_k(scores, 5, exclude=seen_items(histories[1], N_ITEMS))
    recommended = fitted.recommend(histories[1], k=5)
    # Compared by score: a near tie may order differently in another summation order.
    np.testing.assert_allclose(np.take_along_axis(scores, recommended, axis=1),
                               np.take_along_axis(scores, expected, axis=1), atol=1e-5)


def test_gbce_scores_targets_and_negatives_with_the_item_bias(fitted):
    from recfactor.sequential._losses import gbce_beta

    model = copy.deepcopy(fitted).set_params(loss="gbce", n_negatives=4)
    network = model.network_
    states = torch.randn(2, 3, fitted.embedding_dim, generator=torch.Generator().manual_seed(0))
    targets = torch.tensor([[5, -1, 7], [1, 2, 3]])
    with torch.no_grad():
        loss = model._next_item_loss(network, states, targets, np.random.default_rng(0),
                                     "gbce")
        weights, bias = network.head.weights(), network.head.bias
        # The same draws: one row of 4 uniform negatives per history.
        negatives = np.random.default_rng(0).integers(0, N_ITEMS, size=(2, 4))
        beta = gbce_beta(4, N_ITEMS, fitted.gbce_t)
        terms = []
        for row, column in zip(*np.nonzero(targets.numpy() >= 0)):
            state, target = states[row, column], int(targets[row, column])
            score = lambda item: float(state @ weights[item] + bias[item])  # noqa: E731
            terms.append(beta * np.logaddexp(0, -score(target)) + sum(
                np.logaddexp(0, score(n)) for n in negatives[row] if n != target))
    assert float(loss) == pytest.approx(np.mean(terms), rel=1e-5)


def test_item_bias_starts_from_the_training_frequencies(histories, fast):
    class Untrained(SASRec):
        def _train(self, arrays, valid, rng, device, max_epochs):
            return TrainingHistory(validated=False)

    model = Untrained(**fast).fit(histories[0])
    counts = np.bincount(model._trained_items(model._training_arrays(histories[0])),
                         minlength=N_ITEMS)
    expected = np.log1p(counts) - np.log1p(counts).mean()
    np.testing.assert_allclose(model.network_.head.bias.detach().numpy(), expected, atol=1e-6)


def test_unseen_users_get_recommendations_without_their_items(fitted):
    new_users = [[1, 2, 3], [39], np.array([5, 5, 6, 7]), list(range(30))]
    recommended = fitted.recommend(new_users, k=5)
    assert recommended.shape == (4, 5)
    for history, items in zip(new_users, recommended):
        assert not set(items) & set(np.asarray(history))
    assert recommended[3, 0] >= 30
    np.testing.assert_array_equal(fitted.predict(new_users), recommended[:, 0])
    (everything,) = fitted.recommend([list(range(N_ITEMS - 2))], k=3)
    assert sorted(everything[:2]) == [38, 39] and everything[2] == -1


def test_recommend_can_keep_seen_items_and_accepts_other_containers(fitted):
    import pandas as pd

    as_list = fitted.recommend([[1, 2, 3], [4, 5]], k=N_ITEMS, exclude_seen=False)
    assert set(as_list[0]) == set(range(N_ITEMS))
    series = pd.Series([[1, 2, 3], [4, 5]])
    objects = np.empty(2, dtype=object)
    objects[:] = [np.array([1, 2, 3]), np.array([4, 5])]
    for X in (series, objects):
        np.testing.assert_array_equal(fitted.recommend(X, k=N_ITEMS, exclude_seen=False),
                                      as_list)


def test_histories_are_truncated_to_the_most_recent_items(fitted):
    long = np.arange(35) % N_ITEMS
    np.testing.assert_array_equal(fitted.transform([long]), fitted.transform([long[-20:]]))


def test_states_do_not_depend_on_the_block_or_the_padding(fitted, histories):
    together = fitted.transform(histories[1])
    alone = np.vstack([fitted.transform([h]) for h in histories[1][:5]])
    np.testing.assert_allclose(together[:5], alone, rtol=1e-5, atol=1e-5)


def test_unknown_item_ids_raise(fitted):
    with pytest.raises(ValueError, match="contains item id 40 at position 1, but the "
                                         "catalogue has 40 items"):
        fitted.recommend([[1, 40]])
    with pytest.raises(ValueError, match="negative item id"):
        fitted.transform([[1, -2]])
    with pytest.raises(ValueError, match="y contains item id 40"):
        fitted.score([[1, 2]], y=[40])


def test_fit_with_next_items_and_a_catalogue_size(histories, fast):
    X = [h[:-1] for h in histories[0]]
    y = [h[-1] for h in histories[0]]
    with_y = SASRec(**{**fast, "max_epochs": 2}).fit(X, y)
    whole = SASRec(**{**fast, "max_epochs": 2}).fit(histories[0])
    assert with_y.loss_curve_ == whole.loss_curve_
    larger = SASRec(n_items=50, **{**fast, "max_epochs": 1}).fit(histories[0])
    assert larger.n_items_ == 50 and larger.recommend([[45]], k=3).shape == (1, 3)
    with pytest.raises(ValueError, match="n_items=30 allows ids 0 to 29"):
        SASRec(n_items=30, **fast).fit(histories[0])
    with pytest.raises(ValueError, match="one next item per history"):
        SASRec(**fast).fit(X, y[:-1])


def test_score_with_next_items_matches_hiding_the_last(fitted, histories):
    test = [h for h in histories[1] if h.size > 1]
    hidden = fitted.score(test)
    assert fitted.score([h[:-1] for h in test], [h[-1] for h in test]) == pytest.approx(hidden)


def test_early_stopping_on_validation_histories(histories, fast):
    train, test = histories
    model = SASRec(patience=1, **{**fast, "max_epochs": 30}).fit(train, X_valid=test)
    # One evaluation before training, then one per epoch.
    assert len(model.validation_scores_) == model.n_iter_ + 1
    assert model.best_validation_score_ == max(model.validation_scores_)
    assert model.best_epoch_ == int(np.argmax(model.validation_scores_)) > 0
    assert model.n_iter_ == model.best_epoch_ + 1 < 30
    # The best epoch's weights are kept.
    assert model.score(test) == pytest.approx(model.best_validation_score_)


@pytest.mark.parametrize(
    "params, error, match",
    [
        ({"loss": "hinge"}, ValueError, "'loss' parameter"),
        ({"embedding_dim": 10, "n_heads": 3}, ValueError, "divisible by n_heads"),
        ({"dropout": 1.0}, ValueError, "'dropout' parameter"),
        ({"learning_rate": 0}, ValueError, "'learning_rate' parameter"),
        ({"positional": "rotary"}, ValueError, "'positional' parameter"),
        ({"loss": "gbce", "n_negatives": 100}, ValueError, "n_negatives=100 exceeds"),
        ({"device": "tpu"}, ValueError, "device must be"),
        ({"max_length": 0}, ValueError, "'max_length' parameter"),
    ],
)
def test_bad_hyper_parameters_raise(histories, params, error, match, fast):
    with pytest.raises(error, match=match):
        SASRec(**{**fast, **params}).fit(histories[0])


def test_bad_histories_raise(fast):
    with pytest.raises(ValueError, match="two or more items"):
        SASRec(**fast).fit([[1], [2]])
    with pytest.raises(TypeError, match="item ids must be integers"):
        SASRec(**fast).fit([["a", "b"]])
    with pytest.raises(ValueError, match="X\\[1\\] is empty"):
        SASRec(**fast).fit([[1, 2], []])


def test_verbose(histories, capsys, fast):
    SASRec(**{**fast, "max_epochs": 2}).fit(histories[0], X_valid=histories[1])
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err == ""
    SASRec(verbose=1, **{**fast, "max_epochs": 2}).fit(histories[0], X_valid=histories[1])
    assert "valid NDCG@10" in capsys.readouterr().err


def test_grid_search_with_the_next_item_scorer(histories, fast):
    search = GridSearchCV(
        SASRec(**{**fast, "max_epochs": 4}),
        {"learning_rate": [1e-5, 1e-2]},
        cv=KFold(2),
        scoring=make_ranking_scorer("ndcg", 10, protocol="next-item"),
        error_score="raise",
    ).fit(histories[0])
    assert search.best_params_ == {"learning_rate": 1e-2}
    assert search.best_estimator_.score(histories[1]) > 0


def test_clone_keeps_parameters_and_drops_the_fit(fitted):
    copy = clone(fitted)
    assert copy.get_params() == fitted.get_params()
    assert not hasattr(copy, "network_")


@pytest.mark.parametrize("optimizer, learning_rate", [("adagrad", 0.1), ("adagram", 1.0)])
def test_every_optimizer_learns_the_planted_transitions(optimizer, learning_rate, histories,
                                                        popularity_score, fast):
    model = SASRec(**{**fast, "learning_rate": learning_rate}, optimizer=optimizer)
    assert model.fit(histories[0]).score(histories[1]) > popularity_score + 0.15
