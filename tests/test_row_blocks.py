"""Fits of HDF5/zarr-like arrays (shape, dtype, __getitem__ by rows): read by row blocks."""

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.datasets import make_blobs

from skunsup.cluster import KMeans, MiniBatchKMeans
from skunsup.cluster import _kmeans_ops as ops
from skunsup.cluster import _lloyd_blocks
from skunsup.decomposition import PCA, IncrementalPCA
from skunsup.decomposition import _pca_memory, _streaming
from skunsup.utils import _row_blocks
from skunsup.utils._row_blocks import RowBlockArray, as_row_blocks, is_row_block_array

# rows per block of the block fits in these tests (see the fixture)
BLOCK_ROWS = 256


class Rows:
    """Only what an h5py Dataset offers the fits: shape, dtype, row slices.

    Counts the rows of every read; any other key (fancy indexing, a tuple) or
    a conversion to a numpy array fails.
    """

    def __init__(self, X):
        self._X = X
        self.shape = X.shape
        self.dtype = X.dtype
        self.reads = []

    def __getitem__(self, key):
        if not isinstance(key, slice):
            raise TypeError(f"only row slices, got {key!r}")
        rows = self._X[key]
        self.reads.append(rows.shape[0])
        return rows.copy()


@pytest.fixture
def small_blocks(monkeypatch):
    """Every array-like takes the block path, in blocks of BLOCK_ROWS rows."""
    monkeypatch.setattr(_lloyd_blocks, "BLOCKWISE_MIN_BYTES", 0)
    monkeypatch.setattr(_lloyd_blocks, "BLOCK_BYTES", 1)
    monkeypatch.setattr(_lloyd_blocks, "KERNEL_BLOCKS", False)
    monkeypatch.setattr(_row_blocks, "MIN_BYTES", 0)
    monkeypatch.setattr(_row_blocks, "READ_BYTES", 1)  # gathers: one row a read
    monkeypatch.setattr(_streaming, "BLOCK_BYTES", 8 * 6 * BLOCK_ROWS)  # 6 features
    monkeypatch.setattr(_pca_memory, "BLOCK_BYTES", 1)  # transform: blocks of 256 rows


def _blobs(n_samples=3000, dtype=np.float64):
    X, _ = make_blobs(n_samples, 6, centers=5, cluster_std=1.5, random_state=0)
    return X.astype(dtype)


def test_detection_and_reads():
    X = np.arange(20.0).reshape(10, 2)
    assert is_row_block_array(Rows(X))
    for other in (X, X.tolist(), np.memmap, "text"):
        assert not is_row_block_array(other)
    blocks = RowBlockArray(Rows(X.astype(np.int32)))
    assert blocks.dtype == np.float64 and blocks.nbytes == 160 and len(blocks) == 10
    assert_array_equal(blocks[2:4], X[2:4])
    assert_array_equal(blocks[::3], X[::3])
    assert_array_equal(blocks[-1], X[-1])
    assert_array_equal(blocks[[7, 1, 2, 7, -1]], X[[7, 1, 2, 7, -1]])
    assert_array_equal(blocks[np.arange(10) % 3 == 0], X[::3])
    assert blocks[2:4].flags.c_contiguous
    with pytest.raises(IndexError):
        blocks[[10]]
    # small array-likes are read whole, as numpy arrays
    assert isinstance(as_row_blocks(Rows(X)), np.ndarray)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_kmeans_reads_blocks_and_equals_the_memmap_fit(tmp_path, small_blocks, dtype):
    X = _blobs(dtype=dtype)
    path = tmp_path / "X.dat"
    writer = np.memmap(path, dtype=dtype, mode="w+", shape=X.shape)
    writer[:] = X
    writer.flush()
    mapped = np.memmap(path, dtype=dtype, mode="r", shape=X.shape)
    rows = Rows(X)
    km = KMeans(5, random_state=0, n_init=2).fit(rows)
    expected = KMeans(5, random_state=0, n_init=2).fit(mapped)
    assert max(rows.reads) <= BLOCK_ROWS
    assert_array_equal(km.cluster_centers_, expected.cluster_centers_)
    assert_array_equal(km.labels_, expected.labels_)
    assert km.inertia_ == expected.inertia_ and km.cluster_centers_.dtype == dtype
    rows.reads.clear()
    assert_array_equal(km.predict(rows), km.labels_)
    assert_allclose(km.score(rows), km.score(X), rtol=1e-6)
    assert max(rows.reads) <= BLOCK_ROWS
    rows.reads.clear()
    assert_allclose(km.transform(rows), km.transform(X), rtol=1e-6)
    assert max(rows.reads) <= ops.BLAS_BLOCK_ROWS  # the blocks of transform
    with pytest.raises(ValueError, match="features"):
        km.predict(Rows(X[:, :4]))


def test_minibatch_kmeans_reads_blocks_and_rows(small_blocks):
    X = _blobs()
    rows = Rows(X)
    km = MiniBatchKMeans(5, batch_size=200, random_state=0).fit(rows)
    expected = MiniBatchKMeans(5, batch_size=200, random_state=0).fit(X)
    assert max(rows.reads) <= BLOCK_ROWS
    assert_allclose(km.cluster_centers_, expected.cluster_centers_, rtol=1e-10)
    assert_array_equal(km.labels_, expected.labels_)


def test_nonfinite_values_are_refused(small_blocks):
    X = _blobs()
    X[2000, 3] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        KMeans(5).fit(Rows(X))


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.int16])
def test_pca_covariance_by_row_blocks(small_blocks, dtype):
    X = (_blobs() * 10).astype(dtype)
    rows = Rows(X)
    pca = PCA(3).fit(rows)
    expected = PCA(3, svd_solver="covariance_eigh").fit(X)
    # blocks, and the strided sample whose mean centres them (at most 2 x 256 rows)
    assert max(rows.reads) <= max(BLOCK_ROWS, 2 * _streaming.SHIFT_SAMPLE)
    assert pca._fit_svd_solver == "covariance_eigh" and pca.n_samples_ == X.shape[0]
    out_dtype = np.float64 if dtype == np.int16 else dtype
    assert pca.components_.dtype == pca.mean_.dtype == out_dtype
    rtol = 1e-5 if dtype == np.float32 else 1e-10
    for name in ["components_", "explained_variance_", "mean_", "noise_variance_"]:
        assert_allclose(getattr(pca, name), getattr(expected, name), rtol=rtol,
                        atol=1e-7 * np.abs(getattr(expected, name)).max(), err_msg=name)
    rows.reads.clear()
    projected = expected.transform(X)
    atol = rtol * np.abs(projected).max()  # float32 rounding of the largest values
    assert_allclose(pca.transform(rows), projected, rtol=rtol, atol=atol)
    assert_allclose(PCA(3).fit_transform(rows), projected, rtol=rtol, atol=atol)
    assert max(rows.reads) <= max(BLOCK_ROWS, 2 * _streaming.SHIFT_SAMPLE)


def test_pca_other_solvers_read_the_array_whole(small_blocks):
    """The SVD solvers need X in memory: a wrapped array is read whole for them."""
    X = _blobs()
    pca = PCA(3, svd_solver="full").fit(RowBlockArray(Rows(X)))
    assert_allclose(pca.components_, PCA(3, svd_solver="full").fit(X).components_)


def test_incremental_pca_batches_are_row_slices(small_blocks):
    X = _blobs()
    rows = Rows(X)
    ipca = IncrementalPCA(3, batch_size=200).fit(rows)
    expected = IncrementalPCA(3, batch_size=200).fit(X)
    assert max(rows.reads) <= 200
    assert_allclose(ipca.components_, expected.components_, rtol=1e-12, atol=1e-14)
    assert ipca.n_samples_seen_ == X.shape[0]


def test_pca_nonfinite_values_are_refused(small_blocks):
    X = _blobs()
    X[2500, 1] = np.inf
    with pytest.raises(ValueError, match="NaN|infinity"):
        PCA(3).fit(Rows(X))
    pca = PCA(3).fit(_blobs())
    with pytest.raises(ValueError, match="NaN or infinity"):
        pca.transform(Rows(X))


def test_h5py_dataset(tmp_path, small_blocks):
    h5py = pytest.importorskip("h5py")
    X = _blobs(dtype=np.float32)
    with h5py.File(tmp_path / "X.h5", "w") as f:
        f.create_dataset("X", data=X, chunks=(100, X.shape[1]))
    with h5py.File(tmp_path / "X.h5", "r") as f:
        dataset = f["X"]
        km = KMeans(5, init=X[:5], n_init=1).fit(dataset)
        pca = PCA(3).fit(dataset)
        mbk = MiniBatchKMeans(5, random_state=0).fit(dataset)
        ipca = IncrementalPCA(3).fit(dataset)
        assert_array_equal(km.predict(dataset), km.labels_)
    assert_allclose(km.cluster_centers_, KMeans(5, init=X[:5], n_init=1).fit(X)
                    .cluster_centers_, rtol=1e-5)
    assert_allclose(pca.components_, PCA(3, svd_solver="covariance_eigh").fit(X).components_,
                    rtol=1e-4, atol=1e-6)
    assert_allclose(ipca.components_, pca.components_, rtol=1e-4, atol=1e-6)
    assert mbk.cluster_centers_.shape == (5, 6)
