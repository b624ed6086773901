"""scikit-learn's estimator checks over every public recfactor estimator."""

import inspect
from pathlib import Path

import pytest
from sklearn.preprocessing import Normalizer
from sklearn.utils.estimator_checks import parametrize_with_checks

from recfactor.decomposition import PureSVD
from recfactor.knowledge_graph import TuckER
from recfactor.utils import all_estimators

TESTS = Path(__file__).parent

# Hyper-parameters that keep a check fast (fewer epochs, smaller ranks); defaults otherwise.
TEST_PARAMS = {
    "PureSVD": {"rank": 1},
    "RecommenderPipeline": {"steps": [("normalize", Normalizer()), ("svd", PureSVD(rank=1))]},
    "ALS": {"rank": 2, "max_epochs": 2, "device": "cpu"},
    "BPR": {"rank": 2, "max_epochs": 5, "device": "cpu"},
    "HybridSVD": {"rank": 1},
    "ContentKNN": {"n_neighbors": 3},
    "MaxVolSelector": {"n_features_to_select": 1, "rank": 1},
    "CollaborativeMaxVolSelector": {"n_features_to_select": 1, "rank": 1},
    "ItemQuestionnaire": {"n_questions": 1, "rank": 1},
    "TuckER": {"entity_dim": 2, "relation_dim": 2, "max_epochs": 1, "device": "cpu"},
    "MIGTF": {
        "base": TuckER(entity_dim=2, relation_dim=2, max_epochs=1, device="cpu"),
        "hyperbolic_dim": 2,
        "max_epochs": 1,
        "device": "cpu",
    },
}

# Checks an estimator cannot pass, each with the reason, keyed by class name.
_SCORES_PER_ITEM = (
    "asserts predict returns one value per sample; a collaborative model's predict scores "
    "every item, shape (n_users, n_items) (sparse input is tested in the model's own tests)"
)
_USER_RECOMMENDER_FAILURES = {
    "check_estimator_sparse_array": _SCORES_PER_ITEM,
    "check_estimator_sparse_matrix": _SCORES_PER_ITEM,
}
_NOT_TRIPLES = (
    "fits on random float features; a knowledge-graph model's X is (n, 3) integer or string "
    "ids of (head, relation, tail), rejected otherwise (tested in tests/knowledge_graph)"
)
_KNOWLEDGE_GRAPH_FAILURES = dict.fromkeys(
    [
        "check_complex_data",
        "check_dict_unchanged",
        "check_dont_overwrite_parameters",
        "check_dtype_object",
        "check_estimator_sparse_array",
        "check_estimator_sparse_matrix",
        "check_estimator_sparse_tag",
        "check_estimators_dtypes",
        "check_estimators_empty_data_messages",
        "check_estimators_fit_returns_self",
        "check_estimators_nan_inf",
        "check_estimators_overwrite_params",
        "check_estimators_pickle",
        "check_f_contiguous_array_estimator",
        "check_fit2d_1feature",
        "check_fit2d_1sample",
        "check_fit2d_predict1d",
        "check_fit_check_is_fitted",
        "check_fit_idempotent",
        "check_fit_score_takes_y",
        "check_methods_sample_order_invariance",
        "check_methods_subset_invariance",
        "check_n_features_in",
        "check_n_features_in_after_fitting",
        "check_pipeline_consistency",
        "check_positive_only_tag_during_fit",
        "check_readonly_memmap_input",
        "check_transformer_data_not_an_array",
        "check_transformer_general",
        "check_transformer_preserve_dtypes",
    ],
    _NOT_TRIPLES,
)
_PIPELINE_FAILURES = {
    **_USER_RECOMMENDER_FAILURES,
    **dict.fromkeys(
        ["check_dont_overwrite_parameters", "check_estimators_overwrite_params"],
        "scikit-learn's Pipeline fails it too: fit stores the fitted steps in `steps`",
    ),
    "check_transformer_preserve_dtypes": "a Pipeline calls set_output on every step, and "
    "the recommenders have none (their transform gives factors, not named features)",
}
EXPECTED_FAILED_CHECKS = {
    "PopularityRecommender": _USER_RECOMMENDER_FAILURES,
    "PureSVD": _USER_RECOMMENDER_FAILURES,
    "RecommenderPipeline": _PIPELINE_FAILURES,
    "ALS": _USER_RECOMMENDER_FAILURES,
    "BPR": _USER_RECOMMENDER_FAILURES,
    "EASE": _USER_RECOMMENDER_FAILURES,
    "ItemQuestionnaire": _USER_RECOMMENDER_FAILURES,
    "TuckER": _KNOWLEDGE_GRAPH_FAILURES,
    "MIGTF": _KNOWLEDGE_GRAPH_FAILURES,
}


def _instances():
    return [cls(**TEST_PARAMS.get(name, {})) for name, cls in all_estimators()]


@parametrize_with_checks(
    _instances(),
    expected_failed_checks=lambda est: EXPECTED_FAILED_CHECKS.get(type(est).__name__, {}),
)
def test_sklearn_compatible_estimator(estimator, check):
    check(estimator)


@pytest.mark.parametrize("name, cls", all_estimators())
def test_estimator_has_its_own_test_module(name, cls):
    # recfactor/feature_selection/_maxvol.py is tested in tests/feature_selection/test_maxvol.py
    parts = cls.__module__.split(".")[1:]
    expected = TESTS.joinpath(*parts[:-1], f"test_{parts[-1].lstrip('_')}.py")
    assert expected.is_file(), f"{name} ({inspect.getfile(cls)}) has no test module {expected}"


@pytest.mark.parametrize("name", sorted(set(TEST_PARAMS) | set(EXPECTED_FAILED_CHECKS)))
def test_common_test_tables_name_real_estimators(name):
    assert name in dict(all_estimators()), f"{name} is listed here but is not an estimator"


@pytest.mark.parametrize("name, cls", all_estimators())
def test_validation_data_is_keyword_only(name, cls):
    parameter = inspect.signature(cls.fit).parameters.get("X_valid")
    assert parameter is None or parameter.kind is inspect.Parameter.KEYWORD_ONLY
