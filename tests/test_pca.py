"""PCA: kernels against the NumPy reference, solvers against numpy's eigh, scikit-learn parity."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import sparse
from sklearn.decomposition import PCA as SklearnPCA

from skunsup import PCA
from skunsup.decomposition import _covariance
from skunsup.utils._numba import numba_threads
from tests.reference import pca as ref

SOLVERS = ["covariance_eigh", "full", "arpack", "randomized"]
DTYPES = [np.float32, np.float64]


def low_rank_data(rng, n_samples, n_features, rank, dtype=np.float64, offset=3.0):
    """Data with ``rank`` well separated directions plus small noise and a mean offset."""
    rank = min(rank, n_samples - 1, n_features)
    scales = np.geomspace(10.0, 2.0, rank)
    basis = np.linalg.qr(rng.standard_normal((n_features, rank)))[0].T
    X = (rng.standard_normal((n_samples, rank)) * scales) @ basis
    X += 0.01 * rng.standard_normal((n_samples, n_features))
    X += offset * rng.uniform(-1, 1, n_features)
    return X.astype(dtype), rank


def projector(components):
    V = np.asarray(components, dtype=np.float64)
    return V.T @ V


# ---------------------------------------------------------------- kernels
@given(
    n_samples=st.integers(1, 700),
    n_features=st.integers(1, 9),
    start_frac=st.floats(0, 1),
    dtype=st.sampled_from(DTYPES),
    seed=st.integers(0, 2**16),
)
def test_center_block_matches_reference(n_samples, n_features, start_frac, dtype, seed):
    rng = np.random.default_rng(seed)
    X = (rng.standard_normal((n_samples, n_features)) * 5 + 2).astype(dtype)
    start = int(start_frac * (n_samples - 1))
    stop = n_samples
    shift = rng.standard_normal(n_features).astype(dtype)
    out = np.full((stop - start + 2, n_features), np.nan, dtype=dtype)
    sums = np.full(n_features, np.nan)
    _covariance.center_block(X, start, stop, shift, out, sums)
    expected, expected_sums = ref.center_block(X, start, stop, shift)
    np.testing.assert_array_equal(out[: stop - start], expected)
    np.testing.assert_allclose(sums, expected_sums, rtol=1e-12, atol=1e-9)
    assert np.isnan(out[stop - start :]).all()  # rows past the block untouched


@given(
    n_samples=st.integers(2, 3000),
    n_features=st.integers(1, 12),
    block_rows=st.sampled_from([None, 1, 256, 700]),
    dtype=st.sampled_from(DTYPES),
    offset=st.sampled_from([0.0, 1.0, 1e3]),
    sorted_rows=st.booleans(),
    seed=st.integers(0, 2**16),
)
def test_centered_covariance_matches_float64_reference(n_samples, n_features, block_rows,
                                                        dtype, offset, sorted_rows, seed):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n_samples, n_features)) * rng.uniform(0.1, 3, n_features)
    X = (X + offset).astype(dtype)
    if sorted_rows:  # the shift comes from a strided sample: sorted data must not hurt
        X = X[np.argsort(X[:, 0])]
    mean, cov = _covariance.centered_covariance(X, block_rows=block_rows)
    expected_mean, expected_cov = ref.covariance(X)
    scale = np.abs(expected_cov).max()
    rtol = 2e-6 if dtype == np.float32 else 1e-11
    np.testing.assert_allclose(mean, expected_mean, rtol=rtol, atol=rtol * (offset + 1))
    np.testing.assert_allclose(cov, expected_cov, rtol=0, atol=rtol * scale * 10)
    np.testing.assert_array_equal(cov, cov.T)
    total = _covariance.total_variance(X, expected_mean)
    np.testing.assert_allclose(total, ref.total_variance(X), rtol=1e-10)


def test_covariance_same_for_any_thread_count():
    X = np.random.default_rng(0).random((5000, 17), dtype=np.float32)
    with numba_threads(1):
        one = _covariance.centered_covariance(X, block_rows=1024)
        total_one = _covariance.total_variance(X, one[0])
    with numba_threads(2):
        two = _covariance.centered_covariance(X, block_rows=1024)
        total_two = _covariance.total_variance(X, one[0])
    np.testing.assert_array_equal(one[0], two[0])
    np.testing.assert_array_equal(one[1], two[1])
    assert total_one == total_two


def test_centered_covariance_needs_two_rows():
    with pytest.raises(ValueError, match="at least 2 samples"):
        _covariance.centered_covariance(np.ones((1, 3)))


# ---------------------------------------------------------------- solvers
@pytest.mark.parametrize("solver", SOLVERS)
@settings(max_examples=15)  # x 4 solvers
@given(
    n_samples=st.integers(4, 60),
    n_features=st.integers(2, 60),
    rank=st.integers(1, 5),
    dtype=st.sampled_from(DTYPES),
    seed=st.integers(0, 2**16),
)
def test_solver_spans_eigh_subspace(solver, n_samples, n_features, rank, dtype, seed):
    """Each solver finds numpy eigh's leading subspace, with its variances, for any shape."""
    rng = np.random.default_rng(seed)
    X, rank = low_rank_data(rng, n_samples, n_features, rank, dtype)
    if solver == "arpack" and rank >= min(n_samples, n_features):
        rank = min(n_samples, n_features) - 1
    if rank < 1:
        return
    pca = PCA(rank, svd_solver=solver, random_state=seed).fit(X)
    variances, components = ref.pca(X, rank)
    assert pca.components_.dtype == dtype
    atol = 1e-4 if dtype == np.float32 else 1e-8
    np.testing.assert_allclose(projector(pca.components_), projector(components), atol=atol)
    # 1e-5 relative, plus the rounding of the data itself for eigenvalues far below
    # the largest (a float32 input is only known to eps32 relative to its largest scale)
    np.testing.assert_allclose(pca.explained_variance_, variances, rtol=1e-5,
                               atol=10 * np.finfo(dtype).eps * variances[0])
    gram = pca.components_.astype(np.float64) @ pca.components_.T
    np.testing.assert_allclose(gram, np.eye(rank), atol=10 * np.finfo(dtype).eps * n_features)


@pytest.mark.parametrize("solver", ["covariance_eigh", "full", "arpack"])
@pytest.mark.parametrize("dtype", DTYPES)
def test_explained_variance_matches_float64_reference_on_digits(solver, dtype):
    """Real data with a slowly decaying spectrum, float32 included: 1e-5 relative."""
    from sklearn.datasets import load_digits

    X = (load_digits().data / 16.0).astype(dtype)
    n_components = 20
    pca = PCA(n_components, svd_solver=solver, random_state=0).fit(X)
    variances, components = ref.pca(X, n_components)
    np.testing.assert_allclose(pca.explained_variance_, variances, rtol=1e-5)
    total = ref.total_variance(X)
    np.testing.assert_allclose(pca.explained_variance_ratio_, variances / total, rtol=1e-5)
    all_variances = ref.pca(X, None)[0]
    noise = all_variances[n_components:].sum() / (min(X.shape) - n_components)
    np.testing.assert_allclose(pca.noise_variance_, noise, rtol=1e-4)


@pytest.mark.parametrize("solver", ["covariance_eigh", "full"])
@pytest.mark.parametrize("whiten", [False, True])
@settings(max_examples=12)  # x 4 combinations
@given(
    n_samples=st.integers(2, 40),
    n_features=st.integers(1, 40),
    dtype=st.sampled_from(DTYPES),
    seed=st.integers(0, 2**16),
)
def test_inverse_transform_exact_at_full_rank(solver, whiten, n_samples, n_features, dtype,
                                              seed):
    rng = np.random.default_rng(seed)
    X = (rng.standard_normal((n_samples, n_features)) + 1).astype(dtype)
    if solver == "covariance_eigh" and n_samples <= n_features:
        # the covariance of n samples has rank n - 1: the last direction is lost
        return
    pca = PCA(svd_solver=solver, whiten=whiten).fit(X)
    Xt = pca.transform(X)
    back = pca.inverse_transform(Xt)
    assert back.dtype == dtype
    tol = 1e-3 if dtype == np.float32 else 1e-9
    np.testing.assert_allclose(back, X, atol=tol * np.abs(X).max())
    np.testing.assert_allclose(pca.fit_transform(X), Xt, atol=tol * max(1.0, np.abs(Xt).max()))


@pytest.mark.parametrize("solver", SOLVERS)
@pytest.mark.parametrize("n_components", [1, 3, 6])
def test_score_equals_scikit_learn(solver, n_components):
    rng = np.random.default_rng(0)
    X, _ = low_rank_data(rng, 80, 8, 4)
    ours = PCA(n_components, svd_solver=solver, random_state=0).fit(X)
    theirs = SklearnPCA(n_components, svd_solver=solver, random_state=0).fit(X)
    X_test = low_rank_data(np.random.default_rng(1), 30, 8, 4)[0]
    np.testing.assert_allclose(ours.score_samples(X_test), theirs.score_samples(X_test),
                               rtol=1e-6)
    np.testing.assert_allclose(ours.score(X_test), theirs.score(X_test), rtol=1e-6)
    np.testing.assert_allclose(ours.get_covariance(), theirs.get_covariance(), atol=1e-8)
    np.testing.assert_allclose(ours.get_precision() @ ours.get_covariance(), np.eye(8),
                               atol=1e-8)
    expected = ref.probabilistic_log_likelihood(X_test, ours.mean_, ours.components_,
                                                ours.explained_variance_, ours.noise_variance_)
    np.testing.assert_allclose(ours.score_samples(X_test), expected, rtol=1e-8)
    np.testing.assert_allclose(np.abs(ours.components_), np.abs(theirs.components_),
                               atol=1e-6)


def test_score_does_not_depend_on_whiten():
    X, _ = low_rank_data(np.random.default_rng(0), 50, 6, 3)
    plain = PCA(3).fit(X)
    white = PCA(3, whiten=True).fit(X)
    np.testing.assert_allclose(white.score_samples(X), plain.score_samples(X))


def test_grid_search_chooses_true_rank_by_score():
    from sklearn.model_selection import GridSearchCV

    X, _ = low_rank_data(np.random.default_rng(0), 300, 12, 4, offset=0.0)
    X += 0.3 * np.random.default_rng(1).standard_normal(X.shape)  # isotropic noise
    search = GridSearchCV(PCA(), {"n_components": [1, 2, 4, 8]}, cv=3).fit(X)
    assert search.best_params_["n_components"] == 4


@pytest.mark.parametrize("solver", SOLVERS)
@pytest.mark.parametrize("dtype", DTYPES)
def test_dtype_kept_and_signs_deterministic(solver, dtype):
    rng = np.random.default_rng(3)
    X, _ = low_rank_data(rng, 120, 10, 4, dtype)
    a = PCA(4, svd_solver=solver, random_state=1).fit(X)
    b = PCA(4, svd_solver=solver, random_state=2).fit(X)
    reference = PCA(4, svd_solver="full").fit(X)
    for name in ("components_", "explained_variance_", "explained_variance_ratio_",
                 "singular_values_", "mean_"):
        assert getattr(a, name).dtype == dtype, name
    assert a.transform(X).dtype == dtype
    assert a.fit_transform(X).dtype == dtype
    rows = np.arange(4)
    largest = np.abs(a.components_).argmax(axis=1)
    assert np.all(a.components_[rows, largest] > 0)
    tol = 1e-3 if dtype == np.float32 else 1e-7
    np.testing.assert_allclose(a.components_, b.components_, atol=tol)
    np.testing.assert_allclose(a.components_, reference.components_, atol=tol)


@pytest.mark.parametrize("solver", ["covariance_eigh", "arpack", "randomized"])
@pytest.mark.parametrize("fmt", ["csr", "csc"])
def test_sparse_input_matches_dense(solver, fmt):
    rng = np.random.default_rng(0)
    X = sparse.random(200, 15, density=0.3, format=fmt, random_state=0) * 3
    X = X + sparse.random(200, 15, density=0.02, format=fmt, random_state=1) * 50
    dense = X.toarray()
    ours = PCA(4, svd_solver=solver, random_state=0, iterated_power=20).fit(X)
    expected = PCA(4, svd_solver="full").fit(dense)
    np.testing.assert_allclose(ours.explained_variance_, expected.explained_variance_,
                               rtol=1e-6)
    np.testing.assert_allclose(ours.noise_variance_, expected.noise_variance_, rtol=1e-6)
    np.testing.assert_allclose(ours.transform(X), expected.transform(dense), atol=1e-6)
    np.testing.assert_allclose(ours.fit_transform(X), expected.transform(dense), atol=1e-6)
    assert sparse.issparse(X) and rng is not None  # X was not densified in place


def test_auto_solver_choice():
    rng = np.random.default_rng(0)
    assert PCA(2).fit(rng.random((300, 20)))._fit_svd_solver == "covariance_eigh"
    assert PCA(2).fit(rng.random((30, 200)))._fit_svd_solver == "full"
    assert PCA(5).fit(rng.random((100, 1100)))._fit_svd_solver == "randomized"
    assert PCA(0.9).fit(rng.random((100, 1100)))._fit_svd_solver == "full"
    X_sparse = sparse.random(100, 1100, density=0.01, format="csr", random_state=0)
    assert PCA(5).fit(X_sparse)._fit_svd_solver == "randomized"


def test_fraction_and_mle_choose_like_scikit_learn():
    from sklearn.datasets import load_digits

    X = load_digits().data[:400]
    for n_components in (0.5, 0.8, 0.95, "mle"):
        for solver in ("full", "covariance_eigh"):
            ours = PCA(n_components, svd_solver=solver).fit(X)
            theirs = SklearnPCA(n_components, svd_solver="full").fit(X)
            assert ours.n_components_ == theirs.n_components_, (n_components, solver)
            np.testing.assert_allclose(ours.noise_variance_, theirs.noise_variance_,
                                       rtol=1e-6, atol=1e-12)
    # scale-free: the same choice for the data scaled by 1e-9 (scikit-learn's absolute
    # 1e-15 eigenvalue floor changes its choice there)
    assert PCA("mle").fit(X * 1e-9).n_components_ == PCA("mle").fit(X).n_components_


def test_whiten_gives_unit_variance_and_copy_false_centres_in_place():
    X, _ = low_rank_data(np.random.default_rng(0), 200, 7, 3)
    Xt = PCA(3, whiten=True).fit_transform(X)
    np.testing.assert_allclose(Xt.var(axis=0, ddof=1), 1.0, rtol=1e-8)
    Xc = X.copy()
    PCA(3, svd_solver="full", copy=False).fit(Xc)
    np.testing.assert_allclose(Xc.mean(axis=0), 0.0, atol=1e-10)
    untouched = X.copy()
    PCA(3, svd_solver="full").fit(untouched)
    np.testing.assert_array_equal(untouched, X)


# ---------------------------------------------------------------- bad input
@pytest.mark.parametrize("solver", SOLVERS)
def test_constant_features_give_finite_results(solver):
    rng = np.random.default_rng(0)
    X = rng.random((50, 6))
    X[:, 2] = 7.0
    pca = PCA(3, svd_solver=solver, whiten=True, random_state=0).fit(X)
    assert np.all(np.isfinite(pca.transform(X)))
    assert np.all(np.isfinite(pca.explained_variance_ratio_))
    constant = np.full((20, 4), 3.0)
    for whiten in (False, True):
        flat = PCA(2, svd_solver="full", whiten=whiten).fit(constant)
        np.testing.assert_array_equal(flat.explained_variance_ratio_, 0.0)
        assert np.all(np.isfinite(flat.transform(constant)))
        np.testing.assert_allclose(flat.inverse_transform(flat.transform(constant)), constant)
    full_rank_singular = PCA(svd_solver="full").fit(constant)
    with pytest.raises(np.linalg.LinAlgError, match="singular"):  # as scikit-learn
        full_rank_singular.score(constant)


@pytest.mark.parametrize(
    "X, params, error, match",
    [
        (np.array([[1.0, np.nan], [2.0, 3.0], [0.0, 1.0]]), {}, ValueError, "NaN"),
        (np.array([[1.0, np.inf], [2.0, 3.0], [0.0, 1.0]]), {}, ValueError, "infinity"),
        (np.ones((5, 3)), {"n_components": 4}, ValueError, "between 0 and min"),
        (np.ones((5, 3)), {"n_components": 1.5}, ValueError, "n_components"),
        (np.ones((5, 3)), {"n_components": -1}, ValueError, "n_components"),
        (np.ones((5, 3)), {"n_components": 3, "svd_solver": "arpack"}, ValueError, "arpack"),
        (np.ones((5, 3)), {"n_components": 0.5, "svd_solver": "arpack"}, ValueError, "fraction"),
        (np.ones((3, 5)), {"n_components": "mle"}, ValueError, "n_samples >= n_features"),
        (np.ones((1, 3)), {}, ValueError, "1 sample"),
        (np.ones((0, 3)), {}, ValueError, "0 sample"),
        (np.array([["a", "b"], ["c", "d"]]), {}, ValueError, "convert"),
        (sparse.random(10, 4, density=0.5, format="csr"), {"svd_solver": "full"}, TypeError,
         "sparse"),
    ],
)
def test_bad_input_is_rejected_clearly(X, params, error, match):
    with pytest.raises(error, match=match):
        PCA(**params).fit(X)


@pytest.mark.parametrize("solver", ["covariance_eigh", "full", "randomized", "arpack"])
@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_non_finite_values_are_refused_by_every_solver(solver, bad, dtype):
    # dense 'covariance_eigh' finds them in its own pass; the others beforehand
    X = np.random.default_rng(0).normal(size=(50, 6)).astype(dtype)
    X[17, 3] = bad
    with pytest.raises(ValueError, match="NaN" if np.isnan(bad) else "infinity"):
        PCA(2, svd_solver=solver).fit(X)
    X_sparse = sparse.csr_matrix(np.where((np.abs(X) > 1) | ~np.isfinite(X), X, 0))
    if solver != "full":
        with pytest.raises(ValueError, match="NaN" if np.isnan(bad) else "infinity"):
            PCA(2, svd_solver=solver).fit(X_sparse)


def test_values_near_the_dtype_limit_are_refused_clearly():
    # finite, but centring them overflows float32 (and the variances would too)
    X = (np.random.default_rng(1).choice([-1.0, 1.0], size=(40, 3)) * 3e38)
    with pytest.raises(ValueError, match="overflows float32.*float64"):
        PCA(2, svd_solver="covariance_eigh").fit(X.astype(np.float32))


def test_bad_input_after_fit():
    from sklearn.exceptions import NotFittedError

    X = np.random.default_rng(0).random((20, 5))
    with pytest.raises(NotFittedError):
        PCA().transform(X)
    pca = PCA(2).fit(X)
    with pytest.raises(ValueError, match="5 features"):
        pca.transform(X[:, :4])
    with pytest.raises(ValueError, match="n_components_=2"):
        pca.inverse_transform(X)
    with pytest.raises(ValueError, match="NaN"):
        pca.transform(np.full((2, 5), np.nan))
