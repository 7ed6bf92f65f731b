"""PCA as a drop-in for scikit-learn's: randomized solver, array API, edge cases."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from numpy.testing import assert_allclose
from scipy import sparse
from sklearn import config_context
from sklearn.decomposition import PCA as SklearnPCA

from skunsup.decomposition import PCA

NORMALIZERS = ["auto", "QR", "LU", "none"]


def _low_rank(n_samples, n_features, seed, rank=8):
    rng = np.random.default_rng(seed)
    return rng.standard_normal((n_samples, rank)) @ rng.standard_normal((rank, n_features))


def _assert_same_model(ours, theirs, rtol=1e-7):
    assert ours.n_components_ == theirs.n_components_
    # same sign convention: equal, not just equal up to sign
    assert_allclose(ours.components_, theirs.components_, rtol=rtol, atol=1e-9)
    assert_allclose(ours.explained_variance_, theirs.explained_variance_, rtol=rtol)
    assert_allclose(ours.explained_variance_ratio_, theirs.explained_variance_ratio_, rtol=rtol)
    assert_allclose(ours.singular_values_, theirs.singular_values_, rtol=rtol)
    assert_allclose(ours.noise_variance_, theirs.noise_variance_, rtol=1e-6)
    assert_allclose(ours.mean_, theirs.mean_, rtol=rtol, atol=1e-12)


@pytest.mark.parametrize("power_iteration_normalizer", NORMALIZERS)
@pytest.mark.parametrize("whiten", [False, True])
def test_randomized_equals_sklearn(power_iteration_normalizer, whiten):
    X = _low_rank(120, 40, seed=0, rank=30)
    params = dict(
        n_components=5, svd_solver="randomized", whiten=whiten, random_state=0,
        power_iteration_normalizer=power_iteration_normalizer,
    )
    ours, theirs = PCA(**params), SklearnPCA(**params)
    Y_ours, Y_theirs = ours.fit_transform(X), theirs.fit_transform(X)
    _assert_same_model(ours, theirs)
    assert_allclose(Y_ours, Y_theirs, rtol=1e-7, atol=1e-9)
    assert_allclose(ours.transform(X), theirs.transform(X), rtol=1e-7, atol=1e-9)


@settings(max_examples=15)
@given(
    n_samples=st.integers(12, 60),
    n_features=st.integers(12, 60),
    n_components=st.integers(1, 10),
    seed=st.integers(0, 2**16),
    normalizer=st.sampled_from(NORMALIZERS),
)
def test_randomized_equals_sklearn_any_shape(n_samples, n_features, n_components, seed,
                                             normalizer):
    X = _low_rank(n_samples, n_features, seed, rank=min(n_samples, n_features))
    params = dict(n_components=n_components, svd_solver="randomized", random_state=seed,
                  power_iteration_normalizer=normalizer)
    ours, theirs = PCA(**params).fit(X), SklearnPCA(**params).fit(X)
    _assert_same_model(ours, theirs, rtol=1e-6)


def test_randomized_variance_is_that_of_the_projections():
    X = np.random.default_rng(0).standard_normal((100, 80))
    pca = PCA(n_components=2, svd_solver="randomized", random_state=0)
    projections = pca.fit_transform(X)
    assert_allclose(pca.explained_variance_, projections.var(axis=0, ddof=1))


@pytest.mark.parametrize("power_iteration_normalizer", NORMALIZERS)
def test_sparse_randomized_takes_the_normalizer(power_iteration_normalizer):
    X = sparse.random(300, 40, density=0.2, format="csr", random_state=0)
    # as many random vectors as features: the sketch spans the whole row space,
    # so the result is exact whatever the normaliser
    params = dict(n_components=3, svd_solver="randomized", random_state=0, n_oversamples=37,
                  power_iteration_normalizer=power_iteration_normalizer)
    ours = PCA(**params).fit(X)
    exact = PCA(n_components=3, svd_solver="full").fit(X.toarray())
    _assert_same_model(ours, exact, rtol=1e-8)


def test_fraction_near_one_keeps_the_count():
    X = np.random.default_rng(0).standard_normal((50, 6)) * np.arange(1, 7)
    for dtype in (np.float64, np.float32):
        full = PCA().fit(X.astype(dtype))
        cumulative = full.explained_variance_ratio_.cumsum()
        for k in range(1, X.shape[1]):
            pca = PCA(n_components=float(cumulative[k - 1])).fit(X.astype(dtype))
            expected = SklearnPCA(n_components=float(cumulative[k - 1])).fit(X.astype(dtype))
            assert pca.n_components_ == min(k + 1, X.shape[1]) == expected.n_components_


@pytest.mark.parametrize("svd_solver", ["full", "randomized", "covariance_eigh"])
def test_zero_noise_score_is_finite(svd_solver):
    X = np.random.default_rng(0).standard_normal((100, 3)) * 0.1 + [3, 4, 5]
    pca = PCA(n_components=3, svd_solver=svd_solver, random_state=0).fit(X)
    theirs = SklearnPCA(n_components=3, svd_solver=svd_solver, random_state=0).fit(X)
    assert pca.noise_variance_ == 0
    assert np.isfinite(pca.score(X))
    assert_allclose(pca.score(X), theirs.score(X), rtol=1e-10)


# ------------------------------------------------------------------ array API
def _check_array_api_fit(X_np, to_xp, xp_name, svd_solver, whiten, **params):
    reference = PCA(svd_solver=svd_solver, whiten=whiten, random_state=0, **params).fit(X_np)
    X_xp = to_xp(X_np)
    with config_context(array_api_dispatch=True):
        pca = PCA(svd_solver=svd_solver, whiten=whiten, random_state=0, **params).fit(X_xp)
        Y = pca.transform(X_xp)
        back = pca.inverse_transform(Y)
        score = pca.score(X_xp)
        precision = pca.get_precision()
    arrays = {
        "components_": pca.components_, "explained_variance_": pca.explained_variance_,
        "explained_variance_ratio_": pca.explained_variance_ratio_,
        "singular_values_": pca.singular_values_, "mean_": pca.mean_,
        "transform": Y, "inverse_transform": back, "get_precision": precision,
    }
    expected = {
        "transform": reference.transform(X_np),
        "inverse_transform": reference.inverse_transform(reference.transform(X_np)),
        "get_precision": reference.get_precision(),
    }
    rtol = 1e-4 if X_np.dtype == np.float32 else 1e-9
    for name, value in arrays.items():
        assert type(value).__module__.split(".")[0] == xp_name, name
        host = np.asarray(value)
        assert host.dtype == X_np.dtype, name
        want = expected.get(name, getattr(reference, name, None))
        assert_allclose(host, want, rtol=rtol, atol=rtol * np.abs(want).max(), err_msg=name)
    assert isinstance(pca.noise_variance_, float)
    assert_allclose(pca.noise_variance_, reference.noise_variance_, rtol=rtol)
    assert isinstance(score, float)
    assert_allclose(score, reference.score(X_np), rtol=rtol)
    return pca


@pytest.mark.parametrize("svd_solver", ["full", "covariance_eigh", "randomized"])
@pytest.mark.parametrize("whiten", [False, True])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_array_api_torch_cpu(svd_solver, whiten, dtype):
    torch = pytest.importorskip("torch")
    X = _low_rank(200, 12, seed=1, rank=12).astype(dtype)
    params = {"power_iteration_normalizer": "QR"} if svd_solver == "randomized" else {}
    pca = _check_array_api_fit(X, torch.asarray, "torch", svd_solver, whiten,
                               n_components=3, **params)
    assert pca.components_.device == torch.asarray(X).device


@pytest.mark.parametrize("svd_solver", ["full", "covariance_eigh"])
@pytest.mark.parametrize("n_components", [3, 0.9, "mle"])
def test_array_api_strict(svd_solver, n_components):
    xp = pytest.importorskip("array_api_strict")
    X = _low_rank(200, 12, seed=2, rank=12)
    _check_array_api_fit(X, xp.asarray, "array_api_strict", svd_solver, False,
                         n_components=n_components)


def test_array_api_solver_errors():
    xp = pytest.importorskip("array_api_strict")
    X = xp.asarray(_low_rank(50, 6, seed=3))
    with config_context(array_api_dispatch=True):
        with pytest.raises(ValueError, match="arpack"):
            PCA(2, svd_solver="arpack").fit(X)
        with pytest.raises(ValueError, match="LU"):
            PCA(2, svd_solver="randomized", power_iteration_normalizer="LU").fit(X)
        with pytest.warns(UserWarning, match="falling back to QR"):
            PCA(2, svd_solver="randomized", random_state=0).fit(X)


def test_numpy_under_dispatch_stays_numpy():
    X = _low_rank(100, 10, seed=4)
    with config_context(array_api_dispatch=True):
        pca = PCA(3).fit(X)
    assert isinstance(pca.components_, np.ndarray)
    assert_allclose(pca.components_, PCA(3).fit(X).components_)
