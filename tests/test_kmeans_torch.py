"""KMeans on a torch device: the torch executor against the numba path and the references.

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
from scipy.stats import chisquare
from sklearn.datasets import make_blobs
from sklearn.utils._param_validation import InvalidParameterError

from skunsup.cluster import KMeans, kmeans_plusplus
from skunsup.cluster import _kmeans_ops as ops
from skunsup.cluster import _seeding_torch
from skunsup.cluster._lloyd_memory import relocate_empty_clusters
from skunsup.cluster._lloyd_torch import TorchLloyd, same_clustering
from skunsup.utils._torch import torch_executor_on_cpu
from tests._torch_executor import device, failed_common_checks  # noqa: F401
from tests.reference import kmeans as ref

torch = pytest.importorskip("torch")

DTYPES = [np.float32, np.float64]


def _rtol(dtype):
    return 1e-4 if dtype == np.float32 else 1e-10


def _blobs(n_samples=3000, n_features=6, centers=8, dtype=np.float64, random_state=0):
    X, _ = make_blobs(n_samples, n_features, centers=centers, cluster_std=2.0,
                      random_state=random_state)
    return X.astype(dtype)


# ------------------------------------------------------- the step and its kernels


@given(n=st.integers(1, 60), d=st.integers(1, 5), k=st.integers(1, 8),
       seed=st.integers(0, 2**16), dtype=st.sampled_from(DTYPES), weighted=st.booleans())
def test_step_matches_reference(n, d, k, seed, dtype, weighted):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d)).astype(dtype)
    centers = rng.normal(size=(k, d)).astype(dtype)
    w = rng.integers(1, 4, size=n).astype(np.float64) if weighted else np.ones(n)
    with torch_executor_on_cpu():
        executor = TorchLloyd(X, w, torch.device("cpu"))
    sums, weights, n_changed = executor.step(centers)
    labels, ref_sums, ref_weights, ref_inertia, _ = ref.lloyd_step(X, w, centers)
    assert n_changed == n  # the first step of a run counts every sample
    assert_array_equal(executor.labels.numpy(), labels)  # continuous data: no ties
    assert_allclose(sums, ref_sums, rtol=_rtol(dtype), atol=1e-5)
    assert_allclose(weights, ref_weights)
    assert_allclose(executor.assignment_inertia(centers), ref_inertia, rtol=_rtol(dtype))
    _, _, n_changed = executor.step(centers)
    assert n_changed == 0


@given(n=st.integers(1, 30), d=st.integers(1, 5), m=st.integers(1, 6),
       seed=st.integers(0, 2**16), dtype=st.sampled_from(DTYPES))
def test_seeding_distances_match_reference(n, d, m, seed, dtype):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d)).astype(dtype)
    centers = rng.normal(size=(m, d)).astype(dtype)
    X_t = torch.from_numpy(X)
    got = _seeding_torch.squared_distances(X_t, (X_t.double() ** 2).sum(1),
                                           torch.from_numpy(centers))
    assert_allclose(got.numpy(), ref.squared_distances(X, centers), rtol=_rtol(dtype),
                    atol=1e-5)


def test_feature_variances_match_weighted_variance():
    rng = np.random.default_rng(0)
    X = rng.normal(loc=100.0, size=(500, 4)).astype(np.float32)
    w = rng.random(500)
    executor = TorchLloyd(X, w, torch.device("cpu"))
    mean = np.average(X.astype(np.float64), axis=0, weights=w)
    expected = np.average((X - mean) ** 2, axis=0, weights=w)
    assert_allclose(executor.feature_variances(), expected, rtol=1e-6)


def test_relocation_matches_memory_executor():
    X = _blobs(400, 3)
    w = np.random.default_rng(0).random(400)
    executor = TorchLloyd(X, w, torch.device("cpu"))
    centers = np.vstack([X[:3], np.full((2, 3), 1e3)])  # the far centres stay empty
    sums, weights, _ = executor.step(centers)
    expected_sums, expected_weights = sums.copy(), weights.copy()
    labels = executor.labels.numpy()
    distances = ref.squared_distances(X, centers)[np.arange(len(X)), labels]
    relocate_empty_clusters(X, w, labels, distances, expected_sums, expected_weights)
    executor.relocate_empty(centers, sums, weights)
    assert_allclose(sums, expected_sums)
    assert_allclose(weights, expected_weights)
    assert np.all(weights > 0)


def test_same_clustering():
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 5, size=200)
    permuted = np.array([3, 0, 4, 1, 2])[labels]
    assert same_clustering(labels, permuted, 5)
    merged = np.where(labels == 4, 3, labels)
    assert not same_clustering(labels, merged, 5)
    assert not same_clustering(merged, labels, 5)


# ---------------------------------------------------------------- seeding


@pytest.mark.parametrize("weighted", [False, True])
def test_kmeans_plusplus_matches_seeded_reference(weighted):
    X = _blobs(600, 4, centers=12)
    w = np.random.default_rng(1).random(600) if weighted else np.ones(600)
    X_t = torch.from_numpy(X)
    for seed in range(5):
        _, indices = _seeding_torch.kmeans_plusplus(
            X_t, (X_t ** 2).sum(1), torch.from_numpy(w), 12, np.random.RandomState(seed),
            n_local_trials=3)
        expected = ref.kmeans_plusplus(X, w, 12, np.random.RandomState(seed), 3)
        assert_array_equal(indices.numpy(), expected)
        # and the in-memory seeding picks the same rows from the same seed
        _, cpu_indices = kmeans_plusplus(X, 12, sample_weight=w, random_state=seed,
                                         n_local_trials=3)
        assert_array_equal(indices.numpy(), cpu_indices)


def test_kmeans_plusplus_draws_by_squared_distance():
    """With one trial per centre, the second centre follows w * D^2 from the first."""
    X = np.array([[0.0], [1.0], [3.0], [7.0]])
    w = np.array([1.0, 2.0, 1.0, 0.5])
    X_t = torch.from_numpy(X)
    counts = np.zeros((4, 4))
    n_draws = 4000
    rng = np.random.RandomState(0)
    for _ in range(n_draws):
        _, (first, second) = _seeding_torch.kmeans_plusplus(
            X_t, (X_t ** 2).sum(1), torch.from_numpy(w), 2, rng, n_local_trials=1)
        counts[int(first), int(second)] += 1
    d2 = ref.squared_distances(X, X)
    expected = (w / w.sum())[:, None] * (w * d2) / (w * d2).sum(axis=1, keepdims=True)
    cells = expected > 0
    assert counts[~cells].sum() == 0  # never a row already chosen
    assert chisquare(counts[cells], expected[cells] * n_draws).pvalue > 1e-3


def test_random_rows_follow_successive_weighted_draws():
    X = torch.arange(4.0)[:, None]
    w = np.array([1.0, 2.0, 3.0, 4.0])
    rng = np.random.RandomState(0)
    n_draws = 4000
    pairs = [(0, 1), (0, 2), (0, 3), (1, 2), (1, 3), (2, 3)]
    counts = dict.fromkeys(pairs, 0)
    for _ in range(n_draws):
        _, indices = _seeding_torch.random_rows(X, torch.from_numpy(w), 2, rng)
        counts[tuple(sorted(indices.tolist()))] += 1
    expected = [ref.successive_draw_probability(w, pair) * n_draws for pair in pairs]
    assert chisquare([counts[p] for p in pairs], expected).pvalue > 1e-3


def test_random_rows_distinct_and_zero_weights_last():
    X = torch.arange(10.0)[:, None]
    w = np.zeros(10)
    w[[2, 5, 7]] = 1.0
    for seed in range(20):
        _, indices = _seeding_torch.random_rows(X, torch.from_numpy(w), 5,
                                                np.random.RandomState(seed))
        indices = indices.tolist()
        assert len(set(indices)) == 5
        assert {2, 5, 7} <= set(indices)
        _, indices = _seeding_torch.random_rows(X, torch.from_numpy(w), 3,
                                                np.random.RandomState(seed))
        assert sorted(indices.tolist()) == [2, 5, 7]


@pytest.mark.parametrize("init", ["k-means++", "random"])
def test_device_seeding_gives_distinct_rows(init, device):
    X = _blobs(500, 3, centers=20, dtype=np.float32)
    km = KMeans(20, init=init, n_init=1, max_iter=1, device=device, random_state=0)
    centers = km._init_centroids(km._executor(X, None), np.random.RandomState(0))
    rows = {tuple(row) for row in X.tolist()}
    assert len({tuple(c) for c in centers.tolist()}) == 20
    assert all(tuple(c) in rows for c in centers.tolist())


# ----------------------------------------------- the estimator against the numba path


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("tol", [0.0, 1e-4, 1e-2])
def test_same_fit_as_numba_path_from_same_init(dtype, tol, device):
    X = _blobs(4000, 8, centers=10, dtype=dtype)
    init, _ = kmeans_plusplus(X, 10, random_state=0)
    params = dict(n_clusters=10, init=init, n_init=1, tol=tol)
    cpu = KMeans(**params).fit(X)
    gpu = KMeans(device=device, **params).fit(X)
    assert gpu.n_iter_ == cpu.n_iter_
    assert_array_equal(gpu.labels_, cpu.labels_)
    assert gpu.cluster_centers_.dtype == dtype and gpu.labels_.dtype == cpu.labels_.dtype
    assert_allclose(gpu.cluster_centers_, cpu.cluster_centers_, rtol=_rtol(dtype),
                    atol=_rtol(dtype))
    assert_allclose(gpu.inertia_, cpu.inertia_, rtol=_rtol(dtype))


def test_same_verbose_lines_as_numba_path(capsys, device):
    X = _blobs(1000, 4)
    init = X[:8].copy()
    KMeans(8, init=init, n_init=1, verbose=1).fit(X)
    cpu = capsys.readouterr().out
    KMeans(8, init=init, n_init=1, verbose=1, device=device).fit(X)
    gpu = capsys.readouterr().out
    number = re.compile(r"inertia [0-9.e+-]+|center shift [0-9.e+-]+")
    assert number.sub("#", gpu) == number.sub("#", cpu) and "Converged" in cpu


@pytest.mark.parametrize("init", ["k-means++", "random"])
def test_default_fit_close_to_numba_path(init, device):
    X = _blobs(3000, 5, centers=6, dtype=np.float32)
    cpu = KMeans(6, init=init, random_state=0).fit(X)
    gpu = KMeans(6, init=init, random_state=0, device=device).fit(X)
    assert same_clustering(gpu.labels_, cpu.labels_, 6)
    assert_allclose(gpu.inertia_, cpu.inertia_, rtol=1e-4)


def test_empty_cluster_relocated_as_numba_path(device):
    X = _blobs(1000, 3, centers=4)
    init = np.vstack([X[:4], np.full((1, 3), 500.0)])
    cpu = KMeans(5, init=init, n_init=1).fit(X)
    gpu = KMeans(5, init=init, n_init=1, device=device).fit(X)
    assert np.unique(gpu.labels_).size == 5
    assert_array_equal(gpu.labels_, cpu.labels_)
    assert_allclose(gpu.cluster_centers_, cpu.cluster_centers_, rtol=1e-10)


def test_n_init_keeps_the_best_run(device):
    X = _blobs(2000, 4, centers=15)
    one = KMeans(15, init="random", n_init=1, random_state=3, device=device).fit(X)
    many = KMeans(15, init="random", n_init=6, random_state=3, device=device).fit(X)
    assert many.inertia_ <= one.inertia_  # the first run of both is the same
    assert_allclose(many.inertia_, ref.inertia(X, np.ones(len(X)), many.cluster_centers_,
                                               many.labels_), rtol=1e-10)


def test_sample_weight_is_repeated_rows(device):
    X = _blobs(600, 3, centers=5)
    repeats = np.random.default_rng(0).integers(1, 4, size=600)
    init = X[:5].copy()
    weighted = KMeans(5, init=init, n_init=1, device=device).fit(
        X, sample_weight=repeats.astype(float))
    repeated = KMeans(5, init=init, n_init=1, device=device).fit(np.repeat(X, repeats, axis=0))
    cpu = KMeans(5, init=init, n_init=1).fit(X, sample_weight=repeats.astype(float))
    assert_allclose(weighted.cluster_centers_, repeated.cluster_centers_, rtol=1e-10)
    assert_allclose(weighted.inertia_, repeated.inertia_, rtol=1e-10)
    assert_allclose(weighted.inertia_, cpu.inertia_, rtol=1e-10)


def test_callbacks_and_interrupt(device):
    X = _blobs(1000, 3, centers=5)
    init = X[:5].copy()
    seen = []

    def interrupt(estimator, iteration, inertia, centers):
        seen.append(iteration)
        if iteration == 2:
            raise KeyboardInterrupt
        return False

    with pytest.warns(UserWarning, match="interrupted"):
        km = KMeans(5, init=init, n_init=1, tol=0, callbacks=interrupt, device=device).fit(X)
    short = KMeans(5, init=init, n_init=1, tol=0, max_iter=2).fit(X)
    assert seen == [1, 2] and km.n_iter_ == 2
    assert_allclose(km.cluster_centers_, short.cluster_centers_, rtol=1e-12)
    assert_array_equal(km.labels_, km.predict(X))


def test_fitted_model_pickles_as_numpy(device):
    X = _blobs(500, 3, centers=4, dtype=np.float32)
    km = KMeans(4, random_state=0, device=device).fit(X)
    assert all(isinstance(getattr(km, name), np.ndarray)
               for name in ("cluster_centers_", "labels_"))
    assert isinstance(km.inertia_, float)
    loaded = pickle.loads(pickle.dumps(km))
    assert_array_equal(loaded.predict(X), km.labels_)
    assert_allclose(-loaded.score(X), km.inertia_, rtol=1e-5)


def test_tf32_is_off_in_the_products_and_restored(monkeypatch, device):
    matmul = torch.backends.cuda.matmul
    seen = []
    nearest = TorchLloyd._nearest

    def spy(self, *args):
        seen.append(matmul.fp32_precision)
        return nearest(self, *args)

    monkeypatch.setattr(TorchLloyd, "_nearest", spy)
    previous = matmul.fp32_precision
    matmul.fp32_precision = "tf32"
    try:
        KMeans(3, random_state=0, device=device).fit(_blobs(200, 2, centers=3))
        assert matmul.fp32_precision == "tf32"
    finally:
        matmul.fp32_precision = previous
    assert seen and set(seen) == {"ieee"}


# ----------------------------------------------------------- device parameter


def test_device_validation():
    X = _blobs(100, 2, centers=2)
    with pytest.raises(InvalidParameterError, match="'cuda:<index>'"):
        KMeans(2, device="gpu").fit(X)
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match="sees no CUDA device"):
            KMeans(2, device="cuda").fit(X)
        with pytest.raises(ValueError, match="sees no CUDA device"):
            KMeans(2, device="cuda:0").fit(X)
        # 'auto' without CUDA is the numba path
        auto = KMeans(2, device="auto", random_state=0).fit(X)
        assert_allclose(auto.inertia_, KMeans(2, random_state=0).fit(X).inertia_)
    with pytest.raises(ValueError, match="sparse input"):
        KMeans(2, device="cuda").fit(sp.csr_matrix(X))


def test_sparse_stays_on_numba_path_for_cpu_and_auto():
    X = sp.random(200, 5, density=0.5, format="csr", random_state=0)
    cpu = KMeans(3, random_state=0).fit(X)
    for device in ("cpu", "auto"):
        with torch_executor_on_cpu():
            km = KMeans(3, random_state=0, device=device).fit(X)
        assert_allclose(km.inertia_, cpu.inertia_)


def test_bad_values_refused(device):
    X = _blobs(100, 2, centers=2, dtype=np.float32)
    with pytest.raises(ValueError, match="as large as"):
        KMeans(2, device=device).fit(np.vstack([X, [[1e20, 0.0]]]).astype(np.float32))
    X_nan = X.copy()
    X_nan[0, 0] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        KMeans(2, device=device).fit(X_nan)
    with pytest.raises(ValueError, match="n_samples=1 should be >= n_clusters=2"):
        KMeans(2, device=device).fit(X[:1])


def test_read_only_and_memmap_input(tmp_path, device):
    X = _blobs(300, 3, centers=3)
    X.setflags(write=False)
    path = tmp_path / "X.npy"
    np.save(path, X)
    mapped = np.load(path, mmap_mode="r")
    init = X[:3].copy()
    weights = np.full(300, 2.0)
    weights.setflags(write=False)
    expected = KMeans(3, init=init, n_init=1).fit(X)
    for data in (X, mapped):
        km = KMeans(3, init=init, n_init=1, device=device).fit(data, sample_weight=weights)
        assert_array_equal(km.labels_, expected.labels_)
    assert_array_equal(X, np.load(path))


def test_float64_data_never_written(device):
    X = _blobs(300, 3, centers=3)
    copy = X.copy()
    KMeans(3, random_state=0, device=device).fit(X, sample_weight=np.full(300, 2.0))
    assert_array_equal(X, copy)


def test_same_fit_as_numba_kernels():
    """The in-memory fits above are small enough for the CPU path's NumPy ops; here
    every op of the CPU path runs its numba kernel (Hamerly/Yinyang steps)."""
    X = _blobs(3000, 8, centers=10)
    init = X[:10].copy()
    with ops.numpy_max_work(-1):  # every op on the numba kernels
        kernels = KMeans(10, init=init, n_init=1).fit(X)
    with torch_executor_on_cpu():
        torch_fit = KMeans(10, init=init, n_init=1, device="cpu").fit(X)
    assert_array_equal(torch_fit.labels_, kernels.labels_)
    assert kernels.n_iter_ == torch_fit.n_iter_


def test_common_checks_on_the_torch_executor():
    """scikit-learn's estimator checks pass through the torch executor as on the CPU
    (the same expected failures as tests/test_common.py)."""
    from tests._instances import INIT_PARAMS

    assert not failed_common_checks(KMeans(**INIT_PARAMS.get("KMeans", {})))
