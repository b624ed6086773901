import copy
import pickle

import numpy as np
import pytest
import torch

from recfactor.sequential import BERT4Rec


@pytest.fixture(scope="module")
def fitted(histories, fast):
    # Masked training judges fewer positions per step than SASRec: it needs more epochs.
    return BERT4Rec(mask_probability=0.4,
                    **{**fast, "max_epochs": 40, "learning_rate": 1e-2}).fit(histories[0])


def test_learns_the_planted_transitions(fitted, histories, popularity_score):
    assert fitted.score(histories[1]) > popularity_score


@pytest.mark.parametrize("last_item_probability", [0.0, 1.0])
def test_last_item_samples_target_only_the_most_recent_item(histories, fast,
                                                            last_item_probability):
    targets_per_row = []

    class Recording(BERT4Rec):
        def _next_item_loss(self, network, states, targets, rng, loss):
            targets_per_row.append((targets >= 0).sum(dim=1))
            return super()._next_item_loss(network, states, targets, rng, loss)

    Recording(mask_probability=0.4, last_item_probability=last_item_probability,
              **{**fast, "max_epochs": 1}).fit(histories[0])
    counts = torch.cat(targets_per_row)
    if last_item_probability == 1.0:
        assert (counts == 1).all()
    else:
        assert counts.float().mean() > 2


def test_recommends_after_a_mask_token(fitted):
    tokens = fitted._inference_tokens([np.array([4, 7])])
    np.testing.assert_array_equal(tokens[0, -3:], [5, 8, fitted.n_items_ + 1])
    assert tokens.shape == (1, fitted.max_length)
    assert (tokens[0, :-3] == 0).all()


def test_unseen_users_pickle_and_unknown_items(fitted, histories):
    new_users = [[1, 2, 3], [39]]
    recommended = fitted.recommend(new_users, k=4)
    assert not set(recommended[0]) & {1, 2, 3}
    restored = pickle.loads(pickle.dumps(fitted))
    np.testing.assert_array_equal(restored.recommend(new_users, k=4), recommended)
    with pytest.raises(ValueError, match="catalogue has 40 items"):
        fitted.predict([[3, 41]])


def test_bidirectional_sees_both_sides_and_causal_does_not(histories, fast):
    history = np.array([3, 9, 4, 17]) + 1
    changed = np.array([3, 9, 4, 18]) + 1
    for attention, sees_future in [("bidirectional", True), ("causal", False)]:
        model = BERT4Rec(attention=attention, **{**fast, "max_epochs": 1}).fit(histories[0])
        with torch.no_grad():
            states = model.network_(torch.from_numpy(np.vstack([history, changed])))
        assert torch.allclose(states[0, 0], states[1, 0]) != sees_future


@pytest.mark.parametrize("last_item_probability", [1.0, 0.0])
def test_a_batch_loss_is_the_softmax_of_the_masked_items(
        fitted, histories, last_item_probability, softmax_cross_entropy):
    """Fixed batch: each masked position predicts its own item from the [MASK] there."""
    from recfactor.sequential._batching import mask_positions, trim_padding

    model = copy.deepcopy(fitted).set_params(last_item_probability=last_item_probability)
    arrays = model._training_arrays(histories[0][:6])
    network = model.network_.eval()
    with torch.no_grad():
        loss = model._batch_loss(network, arrays, np.random.default_rng(0),
                                 torch.device("cpu"))
        (tokens,) = trim_padding(arrays["tokens"], lengths=arrays["lengths"])
        if last_item_probability == 1.0:  # the most recent item of each row, nothing else
            masked = np.zeros(tokens.shape, dtype=bool)
            masked[:, -1] = True
        else:  # the same draw as the batch's
            masked = mask_positions(tokens != 0, model.mask_probability,
                                    np.random.default_rng(0))
        assert masked.sum() > (tokens.shape[0] if last_item_probability == 0 else 0)
        inputs = torch.from_numpy(np.where(masked, model.n_items_ + 1, tokens))
        # Reference: the states of every position, read at the masked ones.
        states = network(inputs)[torch.from_numpy(masked)]
        targets = torch.from_numpy(tokens[masked] - 1)
        expected = softmax_cross_entropy(network, states, targets)
    torch.testing.assert_close(loss, expected, rtol=1e-5, atol=1e-6)


def test_same_seed_same_model(histories, fast):
    first = BERT4Rec(**{**fast, "max_epochs": 2}).fit(histories[0])
    second = BERT4Rec(**{**fast, "max_epochs": 2}).fit(histories[0])
    assert first.loss_curve_ == second.loss_curve_


@pytest.mark.parametrize("params, match", [({"max_length": 1}, "at least 2"),
                                           ({"mask_probability": 1.0}, "mask_probability"),
                                           ({"last_item_probability": 1.5},
                                            "last_item_probability")])
def test_bad_hyper_parameters_raise(histories, fast, params, match):
    with pytest.raises(ValueError, match=match):
        BERT4Rec(**{**fast, **params}).fit(histories[0])
