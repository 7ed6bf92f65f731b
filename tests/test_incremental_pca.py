"""IncrementalPCA and PCA.partial_fit: the streaming covariance against the NumPy
reference, the models against the batch 'covariance_eigh' fit, scikit-learn's rules."""

import pickle

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy import sparse
from sklearn.decomposition import PCA as SklearnPCA
from sklearn.decomposition import IncrementalPCA as SklearnIncrementalPCA

from skunsup.decomposition import PCA, IncrementalPCA
from skunsup.decomposition import _covariance, _streaming
from tests.reference import pca as ref

DTYPES = [np.float32, np.float64]
SPECTRAL = ["components_", "explained_variance_", "explained_variance_ratio_",
            "singular_values_", "noise_variance_", "n_components_"]


def make_data(seed, n_samples, n_features, dtype=np.float64, offset=100.0):
    """Correlated rows far from the origin (a large mean tests the centring)."""
    rng = np.random.default_rng(seed)
    mixing = rng.standard_normal((n_features, n_features)) * np.geomspace(5, 0.1, n_features)
    X = rng.standard_normal((n_samples, n_features)) @ mixing.T + offset * rng.uniform(
        -1, 1, n_features)
    return X.astype(dtype)


def split_points(data, n_samples, min_first=1):
    """Random sorted cut points of ``range(n_samples)``; the first batch has min_first rows."""
    cuts = data.draw(st.lists(st.integers(min_first, n_samples - 1), max_size=8, unique=True))
    return [0, *sorted(cuts), n_samples]


def batches_of(X, points):
    return [X[a:b] for a, b in zip(points[:-1], points[1:]) if b > a]


def assert_same_model(fitted, expected, rtol=1e-8):
    """Every fitted attribute of ``fitted`` equals ``expected``'s to ``rtol``."""
    assert fitted.n_components_ == expected.n_components_
    scale = float(np.max(expected.explained_variance_))
    np.testing.assert_allclose(fitted.explained_variance_, expected.explained_variance_,
                               rtol=rtol, atol=rtol * scale)
    np.testing.assert_allclose(fitted.singular_values_, expected.singular_values_,
                               rtol=rtol, atol=rtol * np.sqrt(scale))
    np.testing.assert_allclose(fitted.explained_variance_ratio_,
                               expected.explained_variance_ratio_, rtol=rtol, atol=rtol)
    np.testing.assert_allclose(fitted.mean_, expected.mean_, rtol=rtol,
                               atol=rtol * np.abs(expected.mean_).max())
    np.testing.assert_allclose(fitted.noise_variance_, expected.noise_variance_, rtol=rtol,
                               atol=rtol * scale)
    # components of well separated eigenvalues (the others are defined up to rotation)
    values = np.asarray(expected.explained_variance_, dtype=np.float64)
    gaps = np.abs(np.diff(np.concatenate([[np.inf], values, [0.0]])))
    separated = np.minimum(gaps[:-1], gaps[1:]) > 1e-3 * scale
    np.testing.assert_allclose(fitted.components_[separated], expected.components_[separated],
                               rtol=0, atol=1e-6)


# ------------------------------------------------ the accumulator vs the reference
@given(
    n_samples=st.integers(2, 400),
    n_features=st.integers(1, 12),
    dtype=st.sampled_from(DTYPES),
    sparse_input=st.booleans(),
    seed=st.integers(0, 2**16),
    data=st.data(),
)
def test_streaming_covariance_matches_reference(n_samples, n_features, dtype, sparse_input,
                                                 seed, data):
    X = make_data(seed, n_samples, n_features, dtype)
    if sparse_input:
        X[X < np.median(X)] = 0
    batches = batches_of(X, split_points(data, n_samples))
    stream = _streaming.StreamingCovariance(n_features)
    for batch in batches:
        stream.update(sparse.csr_matrix(batch) if sparse_input else batch)
    n, mean, scatter = ref.streaming_moments(batches)
    assert stream.n_samples == n
    scale = np.abs(scatter).max()
    np.testing.assert_allclose(stream.mean, mean, rtol=1e-12, atol=1e-12 * np.abs(mean).max())
    np.testing.assert_allclose(stream.scatter, scatter, rtol=1e-8, atol=1e-10 * scale)
    np.testing.assert_array_equal(stream.scatter, stream.scatter.T)
    np.testing.assert_allclose(stream.covariance(), ref.covariance(X)[1], rtol=1e-8,
                               atol=1e-10 * scale / (n - 1))


@given(
    n_samples=st.integers(1, 300),
    n_features=st.integers(1, 9),
    dtype=st.sampled_from(DTYPES),
    seed=st.integers(0, 2**16),
)
def test_center_block_widens_to_float64(n_samples, n_features, dtype, seed):
    """_covariance.center_block as batch_moments calls it: float64 shift and output."""
    X = make_data(seed, n_samples, n_features, dtype)
    shift = np.random.default_rng(seed).standard_normal(n_features) * 100
    out = np.full((n_samples + 1, n_features), np.nan)
    sums = np.full(n_features, np.nan)
    _covariance.center_block(X, 0, n_samples, shift, out, sums)
    expected = X.astype(np.float64) - shift
    np.testing.assert_array_equal(out[:n_samples], expected)
    np.testing.assert_allclose(sums, expected.sum(axis=0), rtol=1e-12,
                               atol=1e-12 * np.abs(expected).sum(axis=0).max())
    assert np.isnan(out[n_samples:]).all()


def test_shift_far_from_the_mean_costs_nothing(monkeypatch):
    """A shift far out in the tail (the smallest of sorted rows): still exact."""
    monkeypatch.setattr(_streaming, "SHIFT_SAMPLE", 1)  # the sample is the first row
    X = np.sort(make_data(13, 2000, 4), axis=0)
    X[:, 0] *= 1e3
    X[0] -= 1e3 * np.abs(X).max()
    n, mean, scatter = _streaming.batch_moments(X)
    _, expected = ref.streaming_moments([X])[1:]
    np.testing.assert_allclose(scatter, expected, rtol=1e-10, atol=1e-12 * np.abs(
        expected).max())


def test_batch_moments_blocks_do_not_matter(monkeypatch):
    """Many small row blocks (a tiny BLOCK_BYTES) give the moments of one block."""
    X = make_data(0, 300, 7, np.float32)
    n, mean, scatter = _streaming.batch_moments(X)
    monkeypatch.setattr(_streaming, "BLOCK_BYTES", 8 * 7 * 5)  # 5 rows per block
    n_small, mean_small, scatter_small = _streaming.batch_moments(X)
    assert n == n_small == 300
    np.testing.assert_allclose(mean_small, mean, rtol=1e-14)
    np.testing.assert_allclose(scatter_small, scatter, rtol=1e-10)


def test_merge_moments_of_nothing_is_the_other():
    n, mean, scatter = _streaming.batch_moments(np.arange(6.0).reshape(3, 2))
    expected = scatter.copy()
    empty = (0, np.zeros(2), np.zeros((2, 2)))
    merged = _streaming.merge_moments(empty, (n, mean, scatter))
    assert merged[0] == 3 and merged[2] is scatter  # the second's matrix is reused
    np.testing.assert_array_equal(merged[1], mean)
    np.testing.assert_array_equal(merged[2], expected)


def test_non_finite_batches_raise():
    X = make_data(0, 10, 3)
    X[4, 1] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        _streaming.batch_moments(X)
    X[4, 1] = np.inf
    with pytest.raises(ValueError, match="infinity"):
        IncrementalPCA().fit(X)
    with pytest.raises(ValueError, match="overflow"):
        _streaming.batch_moments(np.full((4, 2), 1e308))


def test_too_many_features_raise_a_clear_error():
    with pytest.raises(ValueError, match="4096 features"):
        _streaming.StreamingCovariance(_streaming.MAX_FEATURES + 1)


@pytest.mark.parametrize("n_components", [3, 8])
def test_svd_route_above_the_line_is_scikit_learns(monkeypatch, n_components):
    """Above MAX_FEATURES, IncrementalPCA follows scikit-learn's incremental SVD;
    PCA.partial_fit, which needs the whole spectrum, refuses."""
    monkeypatch.setattr(_streaming, "MAX_FEATURES", 7)
    X = make_data(12, 300, 8)
    ours = IncrementalPCA(n_components, batch_size=40).fit(X)
    theirs = SklearnIncrementalPCA(n_components, batch_size=40).fit(X)
    assert isinstance(ours._stream, _streaming.StreamingSVD)
    for name in ("components_", "explained_variance_", "explained_variance_ratio_",
                 "singular_values_", "mean_", "var_"):
        np.testing.assert_allclose(getattr(ours, name), getattr(theirs, name), rtol=1e-9,
                                   atol=1e-12, err_msg=name)
    if n_components == 8:  # nothing dropped: exact
        assert_same_model(ours, PCA(8, svd_solver="covariance_eigh").fit(X))
    with pytest.raises(ValueError, match="too many for a streaming covariance"):
        PCA(3).partial_fit(X)
    ours.partial_fit(X[:10])
    theirs.partial_fit(X[:10])
    np.testing.assert_allclose(ours.explained_variance_, theirs.explained_variance_,
                               rtol=1e-9)
    with pytest.raises(ValueError, match="NaN"):
        ours.partial_fit(np.full((2, 8), np.nan))


# ------------------------------------------------ the estimators vs the batch PCA
@given(
    n_samples=st.integers(12, 300),
    n_features=st.integers(2, 10),
    seed=st.integers(0, 2**16),
    data=st.data(),
)
def test_partial_fit_equals_batch_covariance_eigh(n_samples, n_features, seed, data):
    X = make_data(seed, n_samples, n_features)
    n_components = data.draw(st.integers(1, n_features))
    points = split_points(data, n_samples, min_first=n_features)
    expected = PCA(n_components, svd_solver="covariance_eigh").fit(X)
    ipca = IncrementalPCA(n_components)
    pca = PCA(n_components)
    for batch in batches_of(X, points):
        ipca.partial_fit(batch)
        pca.partial_fit(batch)
    assert_same_model(ipca, expected)
    assert_same_model(pca, expected)
    assert ipca.n_samples_seen_ == pca.n_samples_ == n_samples
    np.testing.assert_allclose(ipca.var_, X.var(axis=0), rtol=1e-8)


@given(
    n_components=st.one_of(st.none(), st.integers(1, 8), st.floats(0.05, 0.95),
                           st.just("mle")),
    seed=st.integers(0, 2**16),
    data=st.data(),
)
def test_pca_partial_fit_takes_every_n_components(n_components, seed, data):
    X = make_data(seed, 120, 8)
    points = split_points(data, 120, min_first=8)
    pca = PCA(n_components)
    for batch in batches_of(X, points):
        pca.partial_fit(batch)
    assert_same_model(pca, PCA(n_components, svd_solver="covariance_eigh").fit(X))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("batch_size", [None, 7, 50, 1000])
def test_fit_equals_batch_covariance_eigh(dtype, batch_size):
    X = make_data(1, 400, 12, dtype)
    ipca = IncrementalPCA(6, batch_size=batch_size).fit(X)
    expected = PCA(6, svd_solver="covariance_eigh").fit(X.astype(np.float64))
    # float32 data: the moments are float64 from the exact float32 values, so the
    # model is the float64 one rounded to float32
    assert_same_model(ipca, expected, rtol=1e-8 if dtype == np.float64 else 1e-6)
    assert ipca.components_.dtype == ipca.mean_.dtype == ipca.var_.dtype == dtype
    assert ipca.transform(X).dtype == dtype
    assert ipca.batch_size_ == (batch_size or 60)


def test_float32_moments_are_exact():
    """Rows of float32 far from the origin: the float64 moments do not lose digits."""
    X = make_data(2, 5000, 20, np.float32, offset=1e4)
    ipca = IncrementalPCA(batch_size=333).fit(X)
    values = np.linalg.eigvalsh(ref.covariance(X)[1])[::-1]
    np.testing.assert_allclose(ipca.explained_variance_, values, rtol=1e-6)


@pytest.mark.parametrize("container", [sparse.csr_matrix, sparse.csc_matrix,
                                       sparse.lil_matrix])
def test_sparse_fit_and_transform(container):
    X = make_data(3, 200, 9)
    X[X < 0] = 0
    dense = IncrementalPCA(4, batch_size=30).fit(X)
    fitted = IncrementalPCA(4, batch_size=30).fit(container(X))
    assert_same_model(fitted, dense, rtol=1e-10)
    np.testing.assert_allclose(fitted.transform(container(X)), dense.transform(X),
                               rtol=1e-10, atol=1e-10)
    with pytest.raises(TypeError, match="does not support sparse input"):
        IncrementalPCA(4).partial_fit(sparse.csr_matrix(X))
    pca = PCA(4).partial_fit(sparse.csr_matrix(X[:100])).partial_fit(X[100:])
    assert_same_model(pca, dense, rtol=1e-10)


def test_memmap_fit_equals_in_memory_fit(tmp_path):
    X = make_data(4, 500, 10, np.float32)
    path = tmp_path / "x.dat"
    mapped = np.memmap(path, dtype=np.float32, mode="w+", shape=X.shape)
    mapped[:] = X
    mapped.flush()
    readonly = np.memmap(path, dtype=np.float32, mode="r", shape=X.shape)
    assert_same_model(IncrementalPCA(5).fit(readonly), IncrementalPCA(5).fit(X), rtol=1e-12)


# ------------------------------------------------ the stream's state
def test_spectrum_is_computed_once_when_read(monkeypatch):
    X = make_data(5, 200, 6)
    calls = []
    spectrum = _streaming.StreamingCovariance.spectrum
    monkeypatch.setattr(_streaming.StreamingCovariance, "spectrum",
                        lambda self, k: calls.append(k) or spectrum(self, k))
    ipca = IncrementalPCA(3)
    for batch in np.array_split(X, 10):
        ipca.partial_fit(batch)
    assert not calls and not any(name in vars(ipca) for name in SPECTRAL if name !=
                                 "n_components_")
    ipca.transform(X[:3])
    ipca.components_
    assert calls == [3]
    ipca.partial_fit(X[:5])
    assert "components_" not in vars(ipca)  # a stale spectrum is never read
    assert ipca.explained_variance_.shape == (3,) and calls == [3, 3]


def test_fit_restarts_and_partial_fit_continues_after_fit():
    X = make_data(6, 200, 5)
    ipca = IncrementalPCA(2).partial_fit(X[:50]).fit(X[50:150])
    assert ipca.n_samples_seen_ == 100
    ipca.partial_fit(X[150:])
    assert_same_model(ipca, PCA(2, svd_solver="covariance_eigh").fit(X[50:]))


def test_pca_fit_ends_the_stream():
    X = make_data(7, 100, 4)
    pca = PCA(2).partial_fit(X[:50])
    pca.fit(X[50:])
    assert pca.n_samples_ == 50
    # a fit keeps the result of fit, whatever the stream before
    assert_same_model(pca, PCA(2).fit(X[50:]), rtol=1e-12)
    with pytest.warns(UserWarning, match="cannot continue a model fitted by fit"):
        pca.partial_fit(X[:10])
    assert_same_model(pca, PCA(2, svd_solver="covariance_eigh").fit(X[:10]))


def test_pca_partial_fit_checks_n_components_against_rows_seen():
    X = make_data(8, 40, 6)
    pca = PCA(5)
    with pytest.raises(ValueError, match="must be between 0 and"):
        pca.partial_fit(X[:3])
    pca.partial_fit(X[:5]).partial_fit(X[5:6])
    assert pca.n_components_ == 5 and pca.n_samples_ == 6
    with pytest.raises(ValueError, match="minimum of 2 is required"):
        PCA(1).partial_fit(X[:1])


def test_pickled_stream_continues():
    X = make_data(9, 120, 5)
    ipca = IncrementalPCA(3).partial_fit(X[:60])
    restored = pickle.loads(pickle.dumps(ipca))
    restored.partial_fit(X[60:])
    assert_same_model(restored, PCA(3, svd_solver="covariance_eigh").fit(X))


# ------------------------------------------------ scikit-learn's rules
def test_n_components_rules_as_scikit_learn():
    X = make_data(10, 100, 8)
    for batch_size in (3, 5, 40):
        ours = IncrementalPCA(batch_size=batch_size).fit(X)
        theirs = SklearnIncrementalPCA(batch_size=batch_size).fit(X)
        assert ours.n_components_ == theirs.n_components_
        assert ours.batch_size_ == theirs.batch_size_
    ours = IncrementalPCA().partial_fit(X[:4]).partial_fit(X[4:])
    assert ours.n_components_ == 4
    with pytest.raises(ValueError, match="fixed by the first call"):
        IncrementalPCA(3).partial_fit(X).set_params(n_components=2).partial_fit(X)


def test_close_to_scikit_learn():
    """scikit-learn's IncrementalPCA approximates the model that ours gives exactly."""
    X = make_data(11, 1000, 20)
    ours = IncrementalPCA(5, batch_size=100).fit(X)
    exact = SklearnPCA(5, svd_solver="full").fit(X)
    theirs = SklearnIncrementalPCA(5, batch_size=100).fit(X)
    np.testing.assert_allclose(ours.explained_variance_, exact.explained_variance_,
                               rtol=1e-10)
    np.testing.assert_allclose(ours.transform(X), exact.transform(X), rtol=1e-8, atol=1e-8)
    np.testing.assert_allclose(ours.var_, theirs.var_, rtol=1e-10)
    np.testing.assert_allclose(ours.mean_, theirs.mean_, rtol=1e-10)
    # theirs is off by up to 1 % here: the truncated SVD update forgets directions
    np.testing.assert_allclose(ours.explained_variance_, theirs.explained_variance_,
                               rtol=2e-2)
