"""scikit-learn's estimator checks, for estimators whose samples are histories.

The sequential models declare ``two_d_array=False`` (a sample is a variable-length history,
not a row of numbers), so ``parametrize_with_checks`` runs no check on them. Here, in one
place: scikit-learn's checks that need no data (``CHECKS``), and the checks of its suite
that do need data, rewritten for histories (``HISTORY_CHECKS``).
"""

import copy

import numpy as np
import pytest
from sklearn.exceptions import NotFittedError
from sklearn.utils.estimator_checks import (
    check_do_not_raise_errors_in_init_or_set_params,
    check_estimator_cloneable,
    check_estimator_repr,
    check_get_params_invariance,
    check_no_attributes_set_in_init,
    check_parameters_default_constructible,
    check_set_params,
)

from recfactor.sequential import BERT4Rec, PNFRec, SASRec

ESTIMATORS = [SASRec, BERT4Rec, PNFRec]

CHECKS = [
    check_do_not_raise_errors_in_init_or_set_params,
    check_estimator_cloneable,
    check_estimator_repr,
    check_get_params_invariance,
    check_no_attributes_set_in_init,
    check_parameters_default_constructible,
    check_set_params,
]


@pytest.mark.parametrize("Estimator", ESTIMATORS)
@pytest.mark.parametrize("check", CHECKS, ids=lambda check: check.__name__)
def test_scikit_learn_api(Estimator, check):
    check(Estimator.__name__, Estimator())


def check_fit_returns_self(model, X):
    assert model.fit(X) is model


def check_fit_idempotent(model, X):
    """Fitting twice with the same ``random_state`` gives the same model."""
    first = model.fit(X).transform(X)
    np.testing.assert_array_equal(model.fit(X).transform(X), first)


def check_fit_check_is_fitted(model, X):
    """Every method needing a fit raises NotFittedError before it."""
    for method in ("transform", "recommend", "predict", "score"):
        with pytest.raises(NotFittedError):
            getattr(model, method)(X)


def check_readonly_input(model, X):
    """Read-only histories fit and predict as writable ones do."""
    readonly = [np.array(x) for x in X]
    for x in readonly:
        x.setflags(write=False)
    expected = copy.deepcopy(model).fit(X).recommend(X)
    np.testing.assert_array_equal(model.fit(readonly).recommend(readonly), expected)


def check_methods_do_not_mutate_X(model, X):
    """Neither fit nor a prediction changes the histories given."""
    original = copy.deepcopy(X)
    model.fit(X, X_valid=X)
    for method in ("transform", "recommend", "predict", "score"):
        getattr(model, method)(X)
    for given, before in zip(X, original):
        np.testing.assert_array_equal(given, before)


HISTORY_CHECKS = [
    check_fit_returns_self,
    check_fit_idempotent,
    check_fit_check_is_fitted,
    check_readonly_input,
    check_methods_do_not_mutate_X,
]


@pytest.mark.parametrize("Estimator", ESTIMATORS)
@pytest.mark.parametrize("check", HISTORY_CHECKS, ids=lambda check: check.__name__)
def test_scikit_learn_checks_on_histories(Estimator, check, histories, rated, fast):
    X = rated[0][:60] if Estimator is PNFRec else histories[0][:60]
    check(Estimator(**{**fast, "max_epochs": 1}), X)


@pytest.mark.parametrize("Estimator", ESTIMATORS)
def test_tags_say_samples_are_not_rows_of_numbers(Estimator):
    tags = Estimator().__sklearn_tags__()
    assert not tags.input_tags.two_d_array
    assert not tags.target_tags.required


@pytest.mark.parametrize("Estimator, window", [(SASRec, 6), (BERT4Rec, 5)])
def test_items_training_never_showed_are_left_out_of_histories(Estimator, window,
                                                               histories, fast):
    long = [h for h in histories[0] if h.size >= window]
    # Item 45 comes before every window the encoder reads (SASRec reads the last
    # max_length + 1 items: inputs and targets; BERT4Rec the last max_length).
    model = Estimator(n_items=50, **{**fast, "max_length": 5, "max_epochs": 1}).fit(
        [np.r_[45, h] for h in long])
    in_windows = np.unique(np.concatenate([h[-window:] for h in long]))
    np.testing.assert_array_equal(np.flatnonzero(model.known_items_), in_windows)
    history = long[0][-3:]
    for unknown in (45, 49):
        for with_unknown in (np.r_[history, unknown], np.r_[unknown, history]):
            np.testing.assert_array_equal(model.transform([with_unknown]),
                                          model.transform([history]))
    seen = np.r_[history, 45]
    everything_unseen = model.recommend([seen], k=50 - np.unique(seen).size)[0]
    assert not set(everything_unseen) & set(seen)
    assert model.recommend([[45, 49]], k=3).shape == (1, 3)


@pytest.mark.parametrize("Estimator", ESTIMATORS)
def test_barlow_twins_pairs_the_states_that_predict_each_last_item(
        Estimator, histories, rated, fast):
    """``_final_tokens`` encode to the state of the history without its last (liked) item,
    the one ``transform`` gives, and ``_final_items`` are those items."""
    import torch

    if Estimator is PNFRec:
        train = rated[0]
        # Training rows: the users with two or more liked items; the last one is predicted.
        users = [u for u, h in enumerate(train) if (h[:, 1] >= 4).sum() > 1]
        last = [np.flatnonzero(train[u][:, 1] >= 4)[-1] for u in users]
        inputs = [train[u][:i] for u, i in zip(users, last)]
        final = [train[u][i, 0] for u, i in zip(users, last)]
    else:
        train = histories[0]
        inputs, final = [h[:-1] for h in train], [h[-1] for h in train]
    model = Estimator(**{**fast, "max_epochs": 1}).fit(train)
    arrays = model._training_arrays(model._check_histories(train))
    rows = np.arange(8)
    np.testing.assert_array_equal(model._final_items(arrays)[rows], np.array(final)[rows])
    network = model.network_.eval()
    with torch.no_grad():
        states = network.user_states(torch.from_numpy(model._final_tokens(arrays, rows)))
    np.testing.assert_allclose(states.numpy(), model.transform([inputs[r] for r in rows]),
                               rtol=1e-5, atol=1e-6)
