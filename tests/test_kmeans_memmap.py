"""KMeans and MiniBatchKMeans on memory-mapped files: by row blocks, never copied."""

import threading
import tracemalloc

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.datasets import make_blobs

from skunsup.cluster import KMeans, MiniBatchKMeans
from skunsup.cluster import _kmeans_ops as ops
from skunsup.cluster import _lloyd_blocks
from skunsup.cluster._lloyd_blocks import (
    BlockLloyd,
    block_rows_for,
    is_blockwise_input,
    is_file_backed,
    same_clustering,
)
from skunsup.cluster._lloyd_memory import same_clustering as memory_same_clustering

RTOL = {np.float32: 1e-5, np.float64: 1e-10}


def _memmap(tmp_path, X, name="X.dat"):
    mapped = np.memmap(tmp_path / name, dtype=X.dtype, mode="w+", shape=X.shape)
    mapped[:] = X
    mapped.flush()
    return np.memmap(tmp_path / name, dtype=X.dtype, mode="r", shape=X.shape)


@pytest.fixture(autouse=True)
def blockwise_from_any_size(monkeypatch):
    """The tests' small files take the block path (only files above 64 MiB do otherwise)."""
    monkeypatch.setattr(_lloyd_blocks, "BLOCKWISE_MIN_BYTES", 0)


@pytest.fixture
def small_blocks(monkeypatch):
    """Blocks of 256 rows, so that a fit of a few thousand rows spans many blocks."""
    monkeypatch.setattr(_lloyd_blocks, "BLOCK_BYTES", 1)
    monkeypatch.setattr(_lloyd_blocks, "KERNEL_BLOCKS", False)


@pytest.fixture(params=["numba", "default"])
def backend(request, monkeypatch):
    if request.param == "numba":
        monkeypatch.setattr(ops, "NUMPY_MAX_WORK", -1)
    return request.param


def _blobs(dtype, n_samples=3000, n_features=6, centers=5, seed=0):
    X, _ = make_blobs(n_samples, n_features=n_features, centers=centers, cluster_std=1.5,
                      random_state=seed)
    return X.astype(dtype)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("algorithm", ["lloyd", "elkan"])
@pytest.mark.parametrize("n_clusters", [5, 40])
def test_fit_equals_in_memory_fit(tmp_path, small_blocks, backend, dtype, algorithm,
                                  n_clusters):
    X = _blobs(dtype)
    weights = np.random.RandomState(1).uniform(0.2, 3.0, X.shape[0])
    init = X[np.random.RandomState(2).choice(X.shape[0], n_clusters, replace=False)]
    mapped = _memmap(tmp_path, X)
    params = dict(n_clusters=n_clusters, init=init, n_init=1, algorithm=algorithm,
                  max_iter=50)
    memory = KMeans(**params).fit(X, sample_weight=weights)
    blocks = KMeans(**params).fit(mapped, sample_weight=weights)
    assert blocks.n_iter_ == memory.n_iter_
    assert_array_equal(blocks.labels_, memory.labels_)
    assert blocks.cluster_centers_.dtype == dtype
    assert_allclose(blocks.cluster_centers_, memory.cluster_centers_, rtol=RTOL[dtype],
                    atol=RTOL[dtype])
    assert blocks.inertia_ == pytest.approx(memory.inertia_, rel=RTOL[dtype])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_seeded_fits_and_fitted_methods(tmp_path, small_blocks, dtype):
    X = _blobs(dtype, n_samples=4000)
    mapped = _memmap(tmp_path, X)
    km = KMeans(5, random_state=0).fit(mapped)
    reference = KMeans(5, random_state=0).fit(X)
    assert km.inertia_ == pytest.approx(reference.inertia_, rel=1e-3)  # both find the blobs
    assert_array_equal(km.predict(mapped), km.predict(X))
    assert_array_equal(km.predict(mapped), km.labels_)
    assert_allclose(km.transform(mapped), km.transform(X), rtol=1e-4, atol=1e-4)
    assert km.score(mapped) == pytest.approx(km.score(X), rel=RTOL[dtype])
    random = KMeans(5, init="random", n_init=10, random_state=0).fit(mapped)
    assert random.inertia_ == pytest.approx(reference.inertia_, rel=1e-2)
    assert KMeans(5, random_state=0).fit(mapped).inertia_ == km.inertia_  # deterministic


def test_validation_passes_the_mapping_through(tmp_path):
    X = _blobs(np.float32)
    mapped = _memmap(tmp_path, X)
    assert is_file_backed(mapped) and is_blockwise_input(mapped)
    assert is_file_backed(np.asarray(mapped)) and not is_file_backed(X)
    assert not is_blockwise_input(np.asfortranarray(mapped))
    km = KMeans(5)
    executor = km._executor(mapped, None)
    assert isinstance(executor, BlockLloyd)
    assert np.shares_memory(executor.X, mapped)
    assert km.n_features_in_ == X.shape[1]
    assert executor.X.dtype == np.float32


@pytest.mark.parametrize("value", [np.nan, np.inf])
def test_nonfinite_and_overflowing_values_are_refused(tmp_path, small_blocks, value):
    X = _blobs(np.float64)
    X[2500, 3] = value
    mapped = _memmap(tmp_path, X)
    with pytest.raises(ValueError, match="NaN or infinity"):
        KMeans(3).fit(mapped)
    with pytest.raises(ValueError, match="NaN or infinity"):
        MiniBatchKMeans(3).fit(mapped)
    fitted = KMeans(3, random_state=0).fit(_blobs(np.float64))
    with pytest.raises(ValueError, match="NaN or infinity"):
        fitted.predict(mapped)
    X[2500, 3] = 1e300
    with pytest.raises(ValueError, match="magnitude"):
        KMeans(3).fit(_memmap(tmp_path, X, "big.dat"))


def test_bad_weights_are_refused(tmp_path):
    mapped = _memmap(tmp_path, _blobs(np.float64))
    with pytest.raises(ValueError, match="non-negative"):
        KMeans(3).fit(mapped, sample_weight=-np.ones(mapped.shape[0]))


def test_kmeans_parallel_matches_dask(tmp_path, small_blocks):
    da = pytest.importorskip("dask.array")
    import dask

    from skunsup.cluster._kmeans_dask import DaskLloyd

    X = _blobs(np.float64)
    mapped = _memmap(tmp_path, X)
    executor = BlockLloyd(np.asarray(mapped), None, 8, block_rows=500)
    with dask.config.set(scheduler="synchronous"):
        dask_executor = DaskLloyd(da.from_array(X, chunks=(500, -1)), None, KMeans(8))
        expected = dask_executor.kmeans_plusplus(8, np.random.RandomState(3))
    assert_array_equal(executor.kmeans_plusplus(8, np.random.RandomState(3)), expected)
    assert_allclose(executor.feature_variances(), dask_executor.feature_variances())


def test_empty_clusters_are_relocated_as_in_memory(tmp_path, small_blocks):
    X = _blobs(np.float64)
    init = np.vstack([X[:4], [[1e3] * X.shape[1]]])  # the last centre starts empty
    mapped = _memmap(tmp_path, X)
    memory = KMeans(5, init=init, n_init=1).fit(X)
    blocks = KMeans(5, init=init, n_init=1).fit(mapped)
    assert_array_equal(blocks.labels_, memory.labels_)
    assert_allclose(blocks.cluster_centers_, memory.cluster_centers_, rtol=1e-10)


def test_same_clustering_by_blocks():
    rng = np.random.RandomState(0)
    a = rng.randint(0, 4, 1000)
    perm = rng.permutation(4)
    for b in (perm[a], perm[a] * (np.arange(1000) != 777), np.zeros(1000, dtype=int)):
        assert same_clustering(a, b, 4, block_rows=64) == memory_same_clustering(a, b, 4)


def test_block_rows():
    assert block_rows_for(100, 3, 8) == 100
    assert block_rows_for(10**8, 10**6, 4) == _lloyd_blocks.MIN_BLOCK_ROWS
    # blocks large enough for the kernels (not NumPy's float64 temporaries)
    rows = block_rows_for(10**7, 100, 8)
    assert rows * 100 > ops.NUMPY_MAX_WORK
    X = np.zeros((10 * rows + 5, 100))
    blocks = _lloyd_blocks.MappedBlocks(X, None, rows)
    assert len(blocks) == 10 and blocks.bounds[-1] == (9 * rows, 10 * rows + 5)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_minibatch_equals_in_memory_fit(tmp_path, small_blocks, dtype):
    X = _blobs(dtype, n_samples=5000)
    weights = np.random.RandomState(1).uniform(0.2, 3.0, X.shape[0])
    mapped = _memmap(tmp_path, X)
    params = dict(n_clusters=5, random_state=0, batch_size=256, n_init=2)
    memory = MiniBatchKMeans(**params).fit(X, sample_weight=weights)
    blocks = MiniBatchKMeans(**params).fit(mapped, sample_weight=weights)
    assert blocks.n_steps_ == memory.n_steps_
    assert_array_equal(blocks.labels_, memory.labels_)
    assert_allclose(blocks.cluster_centers_, memory.cluster_centers_, rtol=RTOL[dtype])
    assert blocks.inertia_ == pytest.approx(memory.inertia_, rel=RTOL[dtype])


def _anonymous_bytes():
    with open("/proc/self/smaps_rollup") as f:
        for line in f:
            if line.startswith("Anonymous:"):
                return int(line.split()[1]) * 1024
    raise OSError("no Anonymous line")


def test_peak_memory_is_a_few_blocks(tmp_path):
    """A 240 MB file: numpy's peak allocation (tracemalloc) and the process's
    anonymous memory (smaps_rollup, sampled) stay far below the file's size."""
    n_samples, n_features = 600_000, 100
    path = tmp_path / "big.dat"
    writer = np.memmap(path, dtype=np.float32, mode="w+", shape=(n_samples, n_features))
    rng = np.random.RandomState(0)
    centers = rng.uniform(-10, 10, (4, n_features)).astype(np.float32)
    for start in range(0, n_samples, 50_000):
        writer[start:start + 50_000] = (centers[rng.randint(0, 4, 50_000)]
                                        + rng.standard_normal((50_000, n_features)))
    writer.flush()
    del writer
    mapped = np.memmap(path, dtype=np.float32, mode="r", shape=(n_samples, n_features))
    # compile (or load) the kernels for read-only arrays outside the measure: numba's
    # compiler allocates tens of MB of Python objects once per process
    KMeans(4, random_state=0, max_iter=2).fit(mapped[:100_000])
    MiniBatchKMeans(4, random_state=0, max_iter=1).fit(mapped[:100_000])

    try:
        baseline = _anonymous_bytes()
    except OSError:
        baseline = None
    peak = [0]
    done = threading.Event()

    def sample():
        while not done.is_set():
            peak[0] = max(peak[0], _anonymous_bytes() - baseline)
            done.wait(0.002)

    sampler = threading.Thread(target=sample) if baseline is not None else None
    tracemalloc.start()
    if sampler is not None:
        sampler.start()
    try:
        km = KMeans(4, random_state=0, max_iter=20).fit(mapped)
        mb = MiniBatchKMeans(4, random_state=0, max_iter=2).fit(mapped)
    finally:
        done.set()
        if sampler is not None:
            sampler.join()
        _, traced_peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
    file_bytes = n_samples * n_features * 4
    assert km.labels_.shape == (n_samples,) and mb.labels_.shape == (n_samples,)
    # per row: k-means|| state 8 bytes, labels 4 (and MiniBatch's weights 8)
    assert traced_peak < 24 * 2**20 < file_bytes / 8
    if sampler is not None:
        assert peak[0] < 80 * 2**20


def test_small_files_fit_as_in_memory_arrays(tmp_path, monkeypatch):
    """Below BLOCKWISE_MIN_BYTES a file-backed array is fitted as its in-memory copy:
    the same random_state gives the same k-means++ seeding and fit."""
    monkeypatch.setattr(_lloyd_blocks, "BLOCKWISE_MIN_BYTES", 64 * 2**20)
    X = _blobs(np.float64)
    mapped = _memmap(tmp_path, X)
    assert not is_blockwise_input(mapped)
    on_file = KMeans(5, n_init=2, random_state=3).fit(mapped)
    in_memory = KMeans(5, n_init=2, random_state=3).fit(X)
    np.testing.assert_array_equal(on_file.labels_, in_memory.labels_)
    np.testing.assert_array_equal(on_file.cluster_centers_, in_memory.cluster_centers_)
