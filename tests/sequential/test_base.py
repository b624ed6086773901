"""scikit-learn's API checks that apply to estimators whose samples are histories.

The sequential models declare ``two_d_array=False`` (a sample is a variable-length history,
not a row of numbers), so ``parametrize_with_checks`` runs no check on them; the checks that
need no 2-D data are run here.
"""

import pytest
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

CHECKS = [
    check_do_not_raise_errors_in_init_or_set_params,
    check_estimator_cloneable,
    check_estimator_repr,
    check_get_params_invariance,
    check_no_attributes_set_in_init,
    check_parameters_default_constructible,
    check_set_params,
]


@pytest.mark.parametrize("Estimator", [SASRec, BERT4Rec, PNFRec])
@pytest.mark.parametrize("check", CHECKS, ids=lambda check: check.__name__)
def test_scikit_learn_api(Estimator, check):
    check(Estimator.__name__, Estimator())


@pytest.mark.parametrize("Estimator", [SASRec, BERT4Rec, PNFRec])
def test_tags_say_samples_are_not_rows_of_numbers(Estimator):
    tags = Estimator().__sklearn_tags__()
    assert not tags.input_tags.two_d_array
    assert not tags.target_tags.required
