import pickle

import numpy as np
import pytest

from recfactor.sequential import PNFRec


@pytest.fixture(scope="module")
def fitted(rated, fast):
    return PNFRec(**fast).fit(rated[0])


def test_learns_the_next_liked_item(fitted, rated, popularity_score):
    assert fitted.score(rated[1]) > popularity_score


def test_score_hides_the_last_liked_interaction(fitted):
    history = np.array([[3, 5], [9, 5], [4, 1]])
    hidden = fitted.score([history])
    assert hidden == fitted.score([history[:1]], y=[9])


def test_only_liked_items_are_read_but_all_rated_items_are_excluded(fitted):
    with_dislikes = np.array([[3, 5], [9, 1], [4, 5], [12, 2]])
    liked_only = np.array([[3, 5], [4, 5]])
    np.testing.assert_array_equal(fitted.transform([with_dislikes]),
                                  fitted.transform([liked_only]))
    recommended = fitted.recommend([with_dislikes], k=36)
    assert not set(recommended[0]) & {3, 9, 4, 12}


@pytest.mark.parametrize("params", [{"negative_weight": 0.0, "contrastive_weight": 0.0},
                                    {"barlow_twins_weight": 0.1, "positional": "kernel"}])
def test_every_term_keeps_the_planted_transitions(rated, fast, params, popularity_score):
    model = PNFRec(**{**fast, **params}).fit(rated[0])
    assert model.score(rated[1]) > popularity_score  # 0.38 and 0.35 against 0.19


def test_a_batch_loss_adds_its_three_terms(fitted, rated, fast, softmax_cross_entropy):
    """Fixed batch: the next liked item (softmax over every item), the next disliked item
    from the disliked items' encoder, and each next liked item against the disliked ones."""
    import copy

    import torch

    model = copy.deepcopy(fitted).set_params(negative_weight=0.3, contrastive_weight=0.2)
    # Short enough for the whole history to be encoded (no truncation to max_length).
    rows = [history for history in rated[0] if len(history) <= fast["max_length"] + 1][:6]
    arrays = model._training_arrays(model._check_histories(rows))
    network = model.network_.eval()
    with torch.no_grad():
        loss = model._batch_loss(network, arrays, np.random.default_rng(0),
                                 torch.device("cpu"))
        liked_states, liked_next, disliked_states, disliked_next = [], [], [], []
        contrast = []
        for history in rows:
            items, liked = history[:, 0].astype(np.int64), history[:, 1] >= 4
            tokens = torch.from_numpy(items[liked][:-1] + 1)[None]
            liked_states.append(network(tokens)[0])
            liked_next.append(torch.from_numpy(items[liked][1:]))
            disliked = items[~liked]
            if disliked.size > 1:
                states = network.negative_states(torch.from_numpy(disliked[:-1] + 1)[None])
                disliked_states.append(states[0])
                disliked_next.append(torch.from_numpy(disliked[1:]))
            for state, target in zip(liked_states[-1], liked_next[-1]):
                if disliked.size:  # target against the user's disliked items
                    scores = network.head.weights()[np.r_[target, disliked]] @ state
                    scores = scores + network.head.bias[np.r_[target, disliked]]
                    contrast.append(torch.logsumexp(scores, 0) - scores[0])
                else:
                    contrast.append(torch.zeros(()))
        expected = (
            softmax_cross_entropy(network, torch.cat(liked_states), torch.cat(liked_next))
            + 0.3 * softmax_cross_entropy(network, torch.cat(disliked_states),
                                          torch.cat(disliked_next))
            + 0.2 * torch.stack(contrast).mean()
        )
    torch.testing.assert_close(loss, expected, rtol=1e-5, atol=1e-6)


def test_pickle_unseen_users_and_early_stopping(rated, fast):
    model = PNFRec(patience=1, **{**fast, "max_epochs": 3}).fit(rated[0], X_valid=rated[1])
    assert len(model.validation_scores_) == model.n_iter_ + 1
    restored = pickle.loads(pickle.dumps(model))
    new_user = [[(5, 4.5), (6, 2.0)]]
    np.testing.assert_array_equal(restored.recommend(new_user), model.recommend(new_user))


@pytest.mark.parametrize(
    "X, error, match",
    [
        ([[1, 2, 3]], ValueError, "shape \\(n_interactions, 2\\); got shape \\(3,\\)"),
        ([[(1, 5), (2.5, 4)]], ValueError, "invalid item id 2.5 in row 1"),
        ([[(1, 5), (-1, 4)]], ValueError, "invalid item id -1"),
        ([[(1, 5), (2, np.nan)]], ValueError, "NaN"),
        ([[(1, "a")]], TypeError, "numeric"),
        ([[(1, 1), (2, 2)]], ValueError, "two or more liked interactions"),
    ],
)
def test_bad_histories_raise(fast, X, error, match):
    with pytest.raises(error, match=match):
        PNFRec(**fast).fit(X)


def test_unknown_items_raise(fitted):
    with pytest.raises(ValueError, match="invalid item id 40 in row 0.*catalogue has 40"):
        fitted.recommend([[(40, 5)]])


def test_items_training_never_showed_are_left_out_of_histories(rated, fast):
    model = PNFRec(n_items=50, **{**fast, "max_epochs": 1}).fit(rated[0])
    trained = np.unique(np.concatenate([h[:, 0] for h in rated[0]]))
    np.testing.assert_array_equal(np.flatnonzero(model.known_items_), trained)
    history = np.array([[3, 5], [9, 1], [4, 5]])
    np.testing.assert_array_equal(model.transform([np.vstack([history, [45, 5]])]),
                                  model.transform([history]))
