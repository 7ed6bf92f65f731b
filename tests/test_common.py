"""Every public estimator through scikit-learn's checks and the workflows users rely on."""

import pickle

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.datasets import load_digits
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import MinMaxScaler
from sklearn.utils import get_tags
from sklearn.utils.estimator_checks import (
    check_dataframe_column_names_consistency,
    check_global_output_transform_pandas,
    check_param_validation,
    check_set_output_transform_pandas,
    parametrize_with_checks,
)

from tests._instances import (
    PARAM_GRIDS,
    estimator_instances,
    expected_failed_checks,
)

ESTIMATORS = list(estimator_instances())


def _ids(estimator):
    return type(estimator).__name__


def _has_torch_backend(estimator):
    return type(estimator).__module__.startswith("skunsup.neural_network")


@pytest.fixture(autouse=True)
def _skip_without_torch(request):
    estimator = request.node.callspec.params.get("estimator") if hasattr(
        request.node, "callspec"
    ) else None
    if estimator is not None and _has_torch_backend(estimator):
        pytest.importorskip("torch")


@parametrize_with_checks(ESTIMATORS, expected_failed_checks=expected_failed_checks)
def test_sklearn_compatible_estimator(estimator, check):
    check(estimator)


@pytest.mark.parametrize("estimator", ESTIMATORS, ids=_ids)
@pytest.mark.parametrize(
    "extra_check",
    [
        check_set_output_transform_pandas,
        check_global_output_transform_pandas,
        check_dataframe_column_names_consistency,
        check_param_validation,
    ],
    ids=lambda check: check.__name__,
)
def test_extra_sklearn_checks(estimator, extra_check):
    pytest.importorskip("pandas")
    reason = expected_failed_checks(estimator).get(extra_check.__name__)
    if reason:
        pytest.xfail(reason)
    extra_check(type(estimator).__name__, estimator)


@pytest.fixture(scope="module")
def digits():
    X, _ = load_digits(return_X_y=True)
    return X[:120] / 16.0


@pytest.fixture(scope="module")
def digits_target():
    return load_digits().target[:120]


def _fit_data(estimator, X, y):
    """(X,) or, for an estimator that requires y (ConditionalVAE), (X, y)."""
    return (X, y) if get_tags(estimator).target_tags.required else (X,)


@pytest.mark.parametrize("estimator", ESTIMATORS, ids=_ids)
def test_clone_keeps_params_and_forgets_fit(estimator, digits, digits_target):
    fitted = clone(estimator).fit(*_fit_data(estimator, digits, digits_target))
    cloned = clone(fitted)
    assert cloned.get_params() == fitted.get_params()
    assert not [name for name in vars(cloned) if name.endswith("_") and not name.startswith("_")]


@pytest.mark.parametrize("estimator", ESTIMATORS, ids=_ids)
def test_pickle_round_trip_keeps_output(estimator, digits, digits_target):
    fitted = clone(estimator).fit(*_fit_data(estimator, digits, digits_target))
    restored = pickle.loads(pickle.dumps(fitted))
    for method in ("transform", "predict"):
        if hasattr(fitted, method):
            np.testing.assert_allclose(
                getattr(restored, method)(digits[:10]),
                getattr(fitted, method)(digits[:10]),
                rtol=1e-6,
                atol=1e-6,
            )
            return
    pytest.skip(f"{type(estimator).__name__} has neither transform nor predict")


@pytest.mark.parametrize("estimator", ESTIMATORS, ids=_ids)
def test_works_as_last_step_of_a_pipeline(estimator, digits, digits_target):
    pipeline = make_pipeline(MinMaxScaler(), clone(estimator))
    data = _fit_data(estimator, digits, digits_target)
    if hasattr(pipeline, "fit_transform"):
        out = pipeline.fit_transform(*data)
        assert out.shape[0] == digits.shape[0]
        assert np.all(np.isfinite(out))
    else:
        pipeline.fit(*data)


@pytest.mark.parametrize(
    "estimator", [e for e in ESTIMATORS if hasattr(e, "score")], ids=_ids
)
def test_grid_search_selects_by_score(estimator, digits, digits_target):
    grid = PARAM_GRIDS.get(type(estimator).__name__)
    assert grid, f"add a small grid for {type(estimator).__name__} to PARAM_GRIDS"
    search = GridSearchCV(clone(estimator), grid, cv=2).fit(
        *_fit_data(estimator, digits, digits_target))
    assert np.isfinite(search.best_score_)
    assert set(search.best_params_) == set(grid)
