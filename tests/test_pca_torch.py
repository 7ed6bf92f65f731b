"""PCA on a torch device: the torch solvers against the LAPACK path and the float64 references.

The ``device`` fixture (tests/_torch_executor.py) runs a test through the torch
executor on the CPU build of torch, and on CUDA too when torch sees a GPU.
"""

import pickle
import re

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given
from hypothesis import strategies as st
from numpy.testing import assert_allclose, assert_array_equal

from skunsup.decomposition import PCA
from skunsup.decomposition import _pca_torch
from skunsup.utils._torch import torch_executor_on_cpu
from tests._torch_executor import device, failed_common_checks  # noqa: F401
from tests.reference import pca as ref

torch = pytest.importorskip("torch")

DTYPES = [np.float32, np.float64]
SOLVERS = ["covariance_eigh", "full", "randomized"]


def _low_rank(n_samples=4000, n_features=30, offset=40.0, dtype=np.float32, seed=0):
    """Data far from the origin with a decaying spectrum (hard for float32 Gram matrices)."""
    rng = np.random.default_rng(seed)
    scales = np.geomspace(10.0, 0.01, n_features)
    basis = np.linalg.qr(rng.normal(size=(n_features, n_features)))[0]
    X = (rng.normal(size=(n_samples, n_features)) * scales) @ basis + offset
    return X.astype(dtype)


def _rtol(dtype):
    return 1e-4 if dtype == np.float32 else 1e-9


# ------------------------------------------------------------------ kernels


@given(n=st.integers(2, 50), d=st.integers(1, 6), seed=st.integers(0, 2**16),
       dtype=st.sampled_from(DTYPES), offset=st.sampled_from([0.0, 100.0]))
def test_centered_covariance_matches_reference(n, d, seed, dtype, offset):
    X = (np.random.default_rng(seed).normal(size=(n, d)) + offset).astype(dtype)
    mean, covariance = _pca_torch._centered_covariance(torch.from_numpy(X), torch)
    ref_mean, ref_covariance = ref.covariance(X)
    assert_allclose(mean.numpy(), ref_mean, rtol=1e-12, atol=1e-12)
    scale = max(1e-300, np.abs(ref_covariance).max())
    assert np.abs(covariance.numpy() - ref_covariance).max() <= 100 * np.finfo(dtype).eps * scale


def test_covariance_in_blocks_equals_one_block(monkeypatch):
    X = _low_rank(3000, 8, dtype=np.float64)
    whole = _pca_torch._centered_covariance(torch.from_numpy(X), torch)[1].numpy()
    monkeypatch.setattr(_pca_torch, "BLOCK_BYTES", 8 * 8 * 256)  # blocks of 256 rows
    blocks = _pca_torch._centered_covariance(torch.from_numpy(X), torch)[1].numpy()
    assert_allclose(blocks, whole, rtol=1e-12)


@pytest.mark.parametrize("normalizer", ["auto", "QR", "LU", "none"])
@pytest.mark.parametrize("shape", [(600, 40), (30, 80)])
def test_randomized_equals_in_memory_randomized(normalizer, shape):
    """The same operations from the same random_state: the in-memory model, to rounding."""
    X = _low_rank(*shape, offset=0.0, dtype=np.float64)
    params = dict(n_components=5, svd_solver="randomized", random_state=0,
                  power_iteration_normalizer=normalizer)
    cpu = PCA(**params).fit(X)
    with torch_executor_on_cpu():
        on_torch = PCA(**params).fit(X)
    assert_allclose(on_torch.explained_variance_, cpu.explained_variance_, rtol=1e-10)
    assert_allclose(on_torch.components_, cpu.components_, atol=1e-9)


# ------------------------------------------- the estimator against the CPU path


def test_covariance_eigh_float32_explained_variance_within_1e5(device):
    X = _low_rank()
    truth = ref.pca(X, 10)[0]
    model = PCA(10, svd_solver="covariance_eigh", device=device).fit(X)
    assert model.explained_variance_.dtype == np.float32
    error = np.abs(model.explained_variance_ / truth - 1).max()
    assert error <= 1e-5
    # a float32 Gram matrix minus the mean term (scikit-learn's float32 route)
    # is far off on the same data: the test data is hard enough to tell
    gram = X.T @ X - len(X) * np.outer(X.mean(0), X.mean(0))
    naive = np.linalg.eigvalsh(gram.astype(np.float64) / (len(X) - 1))[::-1][:10]
    assert np.abs(naive / truth - 1).max() > 100 * error


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("solver", SOLVERS)
def test_same_model_as_cpu_path(solver, dtype, device):
    X = _low_rank(3000, 20, dtype=dtype)
    params = dict(n_components=6, svd_solver=solver, random_state=0)
    cpu = PCA(**params).fit(X)
    model = PCA(device=device, **params).fit(X)
    rtol = _rtol(dtype) if solver != "full" else 10 * _rtol(dtype)
    for name in ("explained_variance_", "explained_variance_ratio_", "singular_values_"):
        got = getattr(model, name)
        assert got.dtype == dtype
        assert_allclose(got, getattr(cpu, name), rtol=rtol)
    assert_allclose(model.mean_, cpu.mean_, rtol=1e-6)
    assert_allclose(model.components_, cpu.components_, atol=100 * _rtol(dtype))
    assert_allclose(model.noise_variance_, cpu.noise_variance_, rtol=1e-3)
    assert model.n_components_ == cpu.n_components_ == 6


@pytest.mark.parametrize("solver", SOLVERS)
def test_fit_transform_and_whiten(solver, device):
    X = _low_rank(2000, 12, dtype=np.float64)
    params = dict(n_components=4, svd_solver=solver, whiten=True, random_state=0)
    cpu = PCA(**params).fit(X)
    model = PCA(device=device, **params)
    Z = model.fit_transform(X)
    assert_allclose(Z.var(axis=0, ddof=1), np.ones(4), rtol=1e-6)
    assert_allclose(Z, cpu.fit_transform(X), rtol=1e-6, atol=1e-8)
    assert_allclose(model.transform(X[:50]), cpu.transform(X[:50]), rtol=1e-6, atol=1e-8)
    assert_allclose(model.inverse_transform(Z[:5]), cpu.inverse_transform(Z[:5]), rtol=1e-6)


@pytest.mark.parametrize("n_components", [0.9, 0.999, "mle"])
@pytest.mark.parametrize("solver", ["covariance_eigh", "full"])
def test_fraction_and_mle_choose_as_cpu_path(n_components, solver, device):
    X = _low_rank(2000, 15, dtype=np.float64)
    cpu = PCA(n_components, svd_solver=solver).fit(X)
    model = PCA(n_components, svd_solver=solver, device=device).fit(X)
    assert model.n_components_ == cpu.n_components_
    assert_allclose(model.explained_variance_, cpu.explained_variance_, rtol=1e-8)


def test_wide_data(device):
    X = _low_rank(40, 100, dtype=np.float64)
    for solver in ("full", "randomized"):
        cpu = PCA(5, svd_solver=solver, random_state=0).fit(X)
        model = PCA(5, svd_solver=solver, random_state=0, device=device).fit(X)
        assert_allclose(model.explained_variance_, cpu.explained_variance_, rtol=1e-8)


def test_data_never_written(device):
    X = _low_rank(500, 6, dtype=np.float64)
    copy = X.copy()
    for solver in SOLVERS:
        PCA(3, svd_solver=solver, copy=False, random_state=0, device=device).fit(X)
    assert_array_equal(X, copy)


def test_fitted_model_pickles_as_numpy(device):
    X = _low_rank(500, 6)
    model = PCA(3, device=device).fit(X)
    for name in ("components_", "explained_variance_", "mean_", "singular_values_"):
        assert isinstance(getattr(model, name), np.ndarray)
    loaded = pickle.loads(pickle.dumps(model))
    assert_allclose(loaded.transform(X), model.transform(X))
    assert np.isfinite(loaded.score(X))


def test_tf32_is_off_in_the_products_and_restored(monkeypatch, device):
    matmul = torch.backends.cuda.matmul
    seen = []
    covariance = _pca_torch._centered_covariance

    def spy(*args):
        seen.append(matmul.fp32_precision)
        return covariance(*args)

    monkeypatch.setattr(_pca_torch, "_centered_covariance", spy)
    previous = matmul.fp32_precision
    matmul.fp32_precision = "tf32"
    try:
        PCA(2, svd_solver="covariance_eigh", device=device).fit(_low_rank(100, 4))
        assert matmul.fp32_precision == "tf32"
    finally:
        matmul.fp32_precision = previous
    assert seen == ["ieee"]


# --------------------------------------------------------- device parameter


def test_unsupported_inputs():
    X = _low_rank(200, 5, dtype=np.float64)
    with pytest.raises(ValueError, match="svd_solver='arpack'"):
        PCA(2, svd_solver="arpack", device="cuda").fit(X)
    with pytest.raises(ValueError, match="sparse input"):
        PCA(2, svd_solver="randomized", device="cuda").fit(sp.csr_matrix(X))
    # 'cpu' and 'auto' take the CPU path for them, even when tests route 'cpu' to torch
    cpu = PCA(2, svd_solver="arpack", random_state=0).fit(X)
    with torch_executor_on_cpu():
        for device in ("cpu", "auto"):
            model = PCA(2, svd_solver="arpack", random_state=0, device=device).fit(X)
            assert_allclose(model.explained_variance_, cpu.explained_variance_)
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match="sees no CUDA device"):
            PCA(2, device="cuda").fit(X)


@pytest.mark.parametrize("solver", SOLVERS)
def test_non_finite_values_refused(solver, device):
    X = _low_rank(100, 4)
    for bad in (np.nan, np.inf):
        X_bad = X.copy()
        X_bad[3, 1] = bad
        with pytest.raises(ValueError, match="NaN|infinity"):
            PCA(2, svd_solver=solver, device=device).fit(X_bad)


def test_overflowing_covariance_refused(device):
    X = np.array([[3e38, 0.0], [-3e38, 1.0], [0.0, 2.0]], dtype=np.float32)
    with pytest.raises(ValueError, match="overflows float32"):
        PCA(1, svd_solver="covariance_eigh", device=device).fit(X)


# ------------------------------------- randomized: callbacks, verbose, Ctrl-C


def _record(calls, stop_at=None):
    def callback(estimator, iteration, unexplained, components):
        calls.append((iteration, unexplained, components.copy()))
        return iteration == stop_at

    return callback


def test_randomized_reports_passes_as_cpu_path(capsys, device):
    X = _low_rank(600, 40, offset=0.0, dtype=np.float64)
    params = dict(n_components=5, svd_solver="randomized", random_state=0,
                  iterated_power=6, verbose=2)
    cpu_calls, calls = [], []
    PCA(callbacks=_record(cpu_calls), callbacks_every_iters=2, **params).fit(X)
    cpu_lines = capsys.readouterr().out.splitlines()
    PCA(callbacks=_record(calls), callbacks_every_iters=2, device=device, **params).fit(X)
    lines = capsys.readouterr().out.splitlines()
    assert [c[0] for c in calls] == [c[0] for c in cpu_calls] == [2, 4, 6]
    assert_allclose([c[1] for c in calls], [c[1] for c in cpu_calls], rtol=1e-8)
    for (_, _, got), (_, _, expected) in zip(calls, cpu_calls):
        assert_allclose(got, expected, atol=1e-8)
    seconds = re.compile(r"[0-9.]+ s")
    assert [seconds.sub("#", line) for line in lines] == [
        seconds.sub("#", line) for line in cpu_lines]


def test_randomized_callback_stop_and_interrupt(device):
    X = _low_rank(600, 40, offset=0.0, dtype=np.float64)
    params = dict(n_components=5, svd_solver="randomized", random_state=0, iterated_power=6)
    stopped = PCA(callbacks=_record([], stop_at=2), device=device, **params).fit(X)
    short = PCA(**{**params, "iterated_power": 2}).fit(X)
    assert_allclose(stopped.explained_variance_, short.explained_variance_, rtol=1e-10)

    def interrupt(estimator, iteration, unexplained, components):
        if iteration == 3:
            raise KeyboardInterrupt
        return False

    with pytest.warns(UserWarning, match="interrupted"):
        interrupted = PCA(callbacks=interrupt, device=device, **params).fit(X)
    short = PCA(**{**params, "iterated_power": 3}).fit(X)
    assert_allclose(interrupted.explained_variance_, short.explained_variance_, rtol=1e-10)


def test_common_checks_on_the_torch_executor():
    """scikit-learn's estimator checks pass through the torch executor as on the CPU
    (the same expected failures as tests/test_common.py)."""
    from tests._instances import INIT_PARAMS

    assert not failed_common_checks(PCA(**INIT_PARAMS.get("PCA", {})))
