"""Training in two processes with DistributedDataParallel (gloo on the CPU)."""

import numpy as np
import pytest

from recfactor.sequential import PNFRec, SASRec

torch = pytest.importorskip("torch")


def test_two_processes_learn_as_one_does(histories, popularity_score, fast):
    train, test = histories
    one = SASRec(**fast).fit(train, X_valid=test)
    two = SASRec(**fast, n_processes=2).fit(train, X_valid=test)
    # The trained weights came back into this process: the untrained network ranks by
    # popularity.
    assert two.score(test) > popularity_score + 0.15
    assert abs(two.score(test) - one.score(test)) < 0.05
    # The history is the first process's, with the validation it broadcast to the other.
    assert two.n_iter_ == fast["max_epochs"] and len(two.validation_scores_) == two.n_iter_ + 1
    assert two.best_validation_score_ == max(two.validation_scores_)
    assert np.isfinite(two.loss_curve_).all()


def test_every_parameter_is_synchronised_with_the_kernel_and_two_encoders(
        histories, rated, popularity_score, fast):
    # With the Barlow Twins term too: its pairs and shares pass through DDP's forward.
    kernel = SASRec(**{**fast, "max_epochs": 4}, positional="kernel", barlow_twins_weight=0.1,
                    n_processes=2)
    assert kernel.fit(histories[0]).score(histories[1]) > popularity_score
    model = PNFRec(**{**fast, "max_epochs": 4}, n_processes=2).fit(rated[0])
    assert model.recommend(rated[1][:3]).shape == (3, 10)
