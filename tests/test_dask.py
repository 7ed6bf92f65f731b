"""KMeans and PCA on Dask arrays, on a LocalCluster of two worker processes."""

import logging
import os
import signal
import subprocess
import sys
import textwrap
import threading

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.datasets import make_blobs
from sklearn.metrics import adjusted_rand_score

da = pytest.importorskip("dask.array")
distributed = pytest.importorskip("distributed")

from skunsup.cluster import KMeans  # noqa: E402
from skunsup.decomposition import PCA  # noqa: E402
from skunsup.utils._dask import check_dask_array, is_dask_array  # noqa: E402


@pytest.fixture(scope="module")
def client():
    """Two single-threaded worker processes; the client is the default scheduler."""
    import dask

    # Compile the block kernels here first (numba caches them on disk), so that
    # the workers load them instead of compiling them twice more.
    small = da.from_array(np.random.default_rng(0).random((400, 3)), chunks=(100, 3))
    with dask.config.set(scheduler="sync"):
        for dtype in (np.float64, np.float32):
            KMeans(2, n_init=1, random_state=0).fit(small.astype(dtype)).predict(small)
            PCA(2).fit(small.astype(dtype))
    cluster = distributed.LocalCluster(
        n_workers=2, processes=True, threads_per_worker=1, dashboard_address=None,
        silence_logs=logging.ERROR)
    client = distributed.Client(cluster)
    yield client
    client.close()
    cluster.close()


@pytest.fixture
def threads():
    """Dask's threaded scheduler, even while the module's cluster is the default."""
    import dask

    with dask.config.set(scheduler="threads"):
        yield


def _blobs(n_samples=6000, n_features=6, centers=8, dtype=np.float64, seed=0):
    X, y = make_blobs(n_samples, n_features, centers=centers, random_state=seed)
    return X.astype(dtype), y


# ----------------------------------------------------------------- no dask


def test_in_memory_path_never_imports_dask():
    code = textwrap.dedent("""
        import sys
        import numpy as np
        from skunsup.cluster import KMeans
        from skunsup.decomposition import PCA
        from skunsup.utils._dask import is_dask_array
        X = np.random.default_rng(0).random((60, 4))
        assert not is_dask_array(X)
        km = KMeans(3, n_init=1, random_state=0).fit(X)
        km.predict(X), km.transform(X), km.score(X)
        pca = PCA(2).fit(X)
        pca.inverse_transform(pca.transform(X))
        loaded = sorted(m for m in sys.modules if m == "dask" or m.startswith("dask."))
        print(loaded)
    """)
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


# ------------------------------------------------------------------ KMeans


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_kmeans_on_cluster_equals_in_memory(client, dtype):
    X, _ = _blobs(dtype=dtype)
    init = X[np.random.RandomState(0).choice(X.shape[0], 12, replace=False)]
    Xd = client.persist(da.from_array(X, chunks=(700, -1)))
    ref = KMeans(12, init=init, n_init=1, max_iter=50).fit(X)
    est = KMeans(12, init=init, n_init=1, max_iter=50).fit(Xd)
    rtol = 1e-10 if dtype == np.float64 else 1e-5
    assert est.cluster_centers_.dtype == dtype
    assert_allclose(est.cluster_centers_, ref.cluster_centers_, rtol=rtol, atol=rtol)
    assert_allclose(est.inertia_, ref.inertia_, rtol=rtol)
    assert est.n_iter_ == ref.n_iter_
    assert is_dask_array(est.labels_)
    assert_array_equal(est.labels_.compute(), ref.labels_)

    labels = est.predict(Xd)
    distances = est.transform(Xd)
    assert is_dask_array(labels) and is_dask_array(distances)
    assert distances.dtype == dtype and distances.chunks[0] == Xd.chunks[0]
    assert_array_equal(labels.compute(), ref.predict(X))
    assert_allclose(distances.compute(), ref.transform(X), rtol=rtol, atol=1e-4)
    assert_allclose(est.score(Xd), ref.score(X), rtol=rtol)


def test_kmeans_sample_weight_on_cluster(client):
    X, _ = _blobs(n_samples=3000)
    weights = np.random.RandomState(1).uniform(0, 2, size=X.shape[0])
    init = X[:8]
    ref = KMeans(8, init=init, n_init=1, max_iter=10).fit(X, sample_weight=weights)
    Xd = da.from_array(X, chunks=(500, -1))
    for given in (weights, da.from_array(weights, chunks=300)):
        est = KMeans(8, init=init, n_init=1, max_iter=10).fit(Xd, sample_weight=given)
        assert_allclose(est.cluster_centers_, ref.cluster_centers_, rtol=1e-10)
        assert_allclose(est.inertia_, ref.inertia_, rtol=1e-10)


def test_kmeans_parallel_init_finds_the_blobs(client):
    X, y = make_blobs(4000, 5, centers=20, cluster_std=0.5, center_box=(-40, 40),
                      random_state=3)
    Xd = da.from_array(X, chunks=(1000, -1))
    est = KMeans(20, random_state=0).fit(Xd)  # 'k-means++' on Dask = k-means||
    assert adjusted_rand_score(y, est.labels_.compute()) > 0.99


def test_kmeans_parallel_function_and_random_init(threads):
    from skunsup.cluster import kmeans_parallel

    X, _ = _blobs(n_samples=1000, dtype=np.float32)
    Xd = da.from_array(X, chunks=(300, -1))
    centers = kmeans_parallel(Xd, 8, oversampling_factor=1.5, n_rounds=3, random_state=0)
    assert centers.shape == (8, X.shape[1]) and centers.dtype == np.float32
    assert_array_equal(centers, kmeans_parallel(Xd, 8, oversampling_factor=1.5,
                                                n_rounds=3, random_state=0))
    est = KMeans(8, init="random", n_init=1, max_iter=5, random_state=0).fit(Xd)
    assert est.cluster_centers_.shape == (8, X.shape[1])
    with pytest.raises(ValueError, match="oversampling_factor"):
        kmeans_parallel(Xd, 8, oversampling_factor=0)


def test_empty_clusters_are_relocated_as_in_memory(threads):
    X, _ = _blobs(n_samples=2000, centers=4)
    init = np.vstack([X[:3], X[:3] + 1000.0])  # three centres far away: empty
    Xd = da.from_array(X, chunks=(300, -1))
    ref = KMeans(6, init=init, n_init=1, max_iter=20).fit(X)
    est = KMeans(6, init=init, n_init=1, max_iter=20).fit(Xd)
    assert_allclose(est.cluster_centers_, ref.cluster_centers_, rtol=1e-10)
    assert_allclose(est.inertia_, ref.inertia_, rtol=1e-10)
    assert est.n_iter_ == ref.n_iter_


def _verbose_lines(capsys, fit):
    """The verbose lines of a fit, with every number rounded to 9 significant digits."""
    import re

    capsys.readouterr()
    fit()
    out = capsys.readouterr().out
    return [re.sub(r"[-+]?\d+\.\d+(e[-+]\d+)?", lambda m: f"{float(m.group()):.9g}", line)
            for line in out.splitlines()]


@pytest.mark.parametrize("tol", [0.0, 1e-2])
def test_in_memory_and_dask_fits_run_the_same_loop(threads, capsys, tol):
    # one Lloyd loop for both executors: same stopping iteration (strict
    # convergence or tolerance), same verbose lines up to float64 summation order
    X, _ = _blobs(n_samples=3000, centers=6)
    init = X[np.random.RandomState(2).choice(X.shape[0], 6, replace=False)]
    Xd = da.from_array(X, chunks=(700, -1))
    params = dict(init=init, n_init=1, max_iter=100, tol=tol, verbose=1)
    memory = _verbose_lines(capsys, lambda: KMeans(6, **params).fit(X))
    on_dask = _verbose_lines(capsys, lambda: KMeans(6, **params).fit(Xd))
    assert on_dask == memory
    assert "strict convergence" in memory[-1] if tol == 0 else "within tolerance" in memory[-1]


def test_callbacks_stop_a_dask_fit_as_in_memory(threads):
    X, _ = _blobs(n_samples=3000, centers=6)
    init = X[np.random.RandomState(2).choice(X.shape[0], 6, replace=False)]
    seen = {}

    def stop_at_3(name):
        def callback(estimator, iteration, inertia, centers):
            seen.setdefault(name, []).append((iteration, inertia))
            return iteration == 3
        return callback

    params = dict(init=init, n_init=1, tol=0.0)
    memory = KMeans(6, callbacks=stop_at_3("memory"), **params).fit(X)
    on_dask = KMeans(6, callbacks=stop_at_3("dask"), **params).fit(
        da.from_array(X, chunks=(700, -1)))
    assert [it for it, _ in seen["dask"]] == [it for it, _ in seen["memory"]] == [1, 2, 3]
    assert_allclose([v for _, v in seen["dask"]], [v for _, v in seen["memory"]], rtol=1e-10)
    assert on_dask.n_iter_ == memory.n_iter_ == 3
    assert_allclose(on_dask.cluster_centers_, memory.cluster_centers_, rtol=1e-10)


# --------------------------------------------------------------------- PCA


@pytest.mark.parametrize("solver", ["covariance_eigh", "full", "randomized"])
def test_pca_on_cluster_equals_in_memory(client, solver):
    rng = np.random.RandomState(0)
    X = (rng.randn(4000, 12) @ rng.randn(12, 12) + 5).astype(np.float32)
    Xd = client.persist(da.from_array(X, chunks=(600, -1)))
    ref = PCA(4, svd_solver=solver, random_state=0).fit(X)
    est = PCA(4, svd_solver=solver, random_state=0).fit(Xd)
    assert est.components_.dtype == np.float32
    assert_allclose(est.explained_variance_, ref.explained_variance_, rtol=1e-5)
    assert_allclose(est.explained_variance_ratio_, ref.explained_variance_ratio_, rtol=1e-5)
    assert_allclose(est.mean_, ref.mean_, rtol=1e-5)
    assert_allclose(est.components_, ref.components_, atol=1e-4)
    assert_allclose(est.noise_variance_, ref.noise_variance_, rtol=1e-4)

    projected = est.transform(Xd)
    assert is_dask_array(projected) and projected.shape == (X.shape[0], 4)
    assert_allclose(projected.compute(), ref.transform(X), atol=1e-3)
    restored = est.inverse_transform(projected)
    assert is_dask_array(restored) and restored.shape == X.shape
    assert_allclose(restored.compute(), ref.inverse_transform(ref.transform(X)), atol=1e-3)


def test_pca_variance_fraction_and_whiten(threads):
    rng = np.random.RandomState(1)
    X = rng.randn(3000, 8) @ rng.randn(8, 8)
    Xd = da.from_array(X, chunks=(400, -1))
    ref = PCA(0.9, whiten=True).fit(X)
    est = PCA(0.9, whiten=True).fit(Xd)
    assert est.n_components_ == ref.n_components_
    assert_allclose(est.explained_variance_, ref.explained_variance_, rtol=1e-10)
    assert_allclose(est.transform(Xd).compute(), ref.transform(X), atol=1e-8)
    assert_allclose(est.fit_transform(Xd).compute(), ref.transform(X), atol=1e-8)


# --------------------------------------------------------------- bad input


def test_chunks_along_features_are_rechunked_with_a_warning(threads):
    X, _ = _blobs(n_samples=1000)
    Xd = da.from_array(X, chunks=(250, 3))
    with pytest.warns(UserWarning, match="chunked along the features"):
        est = KMeans(8, init=X[:8], n_init=1).fit(Xd)
    ref = KMeans(8, init=X[:8], n_init=1).fit(X)
    assert_allclose(est.cluster_centers_, ref.cluster_centers_, rtol=1e-10)
    with pytest.warns(UserWarning, match="chunked along the features"):
        PCA(2).fit(Xd)


def test_unknown_chunk_sizes_are_computed(threads):
    X, _ = _blobs(n_samples=1000)
    Xd = da.from_array(X, chunks=(300, -1))
    Xd = Xd[Xd[:, 0] > -np.inf]  # boolean mask: NaN chunk sizes
    assert np.isnan(Xd.shape[0])
    checked = check_dask_array(Xd)
    assert checked.shape == X.shape
    est = KMeans(8, init=X[:8], n_init=1).fit(Xd)
    assert_allclose(est.cluster_centers_, KMeans(8, init=X[:8], n_init=1).fit(X)
                    .cluster_centers_, rtol=1e-10)
    assert PCA(3).fit(Xd).n_samples_ == X.shape[0]


def test_dask_dataframe_is_converted_and_feature_names_kept(threads):
    dd = pytest.importorskip("dask.dataframe")
    pd = pytest.importorskip("pandas")
    X, _ = _blobs(n_samples=400, n_features=3)
    frame = pd.DataFrame(X, columns=["a", "b", "c"])
    ddf = dd.from_pandas(frame, npartitions=4)
    est = KMeans(8, init=X[:8], n_init=1).fit(ddf)
    assert list(est.feature_names_in_) == ["a", "b", "c"]
    ref = KMeans(8, init=X[:8], n_init=1).fit(frame)
    assert_allclose(est.cluster_centers_, ref.cluster_centers_, rtol=1e-10)
    assert_array_equal(est.predict(ddf).compute(), ref.predict(frame))
    pca = PCA(2).fit(ddf)
    assert list(pca.feature_names_in_) == ["a", "b", "c"]


def test_bad_input_is_refused_clearly(threads):
    X, _ = _blobs(n_samples=500)
    Xd = da.from_array(X, chunks=(100, -1))
    bad = X.copy()
    bad[123, 2] = np.nan
    with pytest.raises(ValueError, match="NaN or infinity"):
        KMeans(3, n_init=1).fit(da.from_array(bad, chunks=(100, -1)))
    with pytest.raises(ValueError, match="NaN or infinity"):
        PCA(2).fit(da.from_array(bad, chunks=(100, -1)))
    with pytest.raises(ValueError, match="2D"):
        KMeans(3).fit(Xd[:, 0])
    with pytest.raises(ValueError, match="dtype"):
        KMeans(3).fit(da.from_array(np.full((10, 2), "a"), chunks=5))
    with pytest.raises(ValueError, match="n_clusters"):
        KMeans(600).fit(Xd)
    with pytest.raises(ValueError, match="negative"):
        KMeans(3).fit(Xd, sample_weight=-np.ones(500))
    with pytest.raises(ValueError, match="sample_weight must have shape"):
        KMeans(3).fit(Xd, sample_weight=np.ones(7))
    with pytest.raises(ValueError, match="arpack"):
        PCA(2, svd_solver="arpack").fit(Xd)

    est = KMeans(3, n_init=1, random_state=0).fit(Xd)
    with pytest.raises(ValueError, match="non-negative"):
        est.score(Xd, sample_weight=-np.ones(500))
    with pytest.raises(ValueError, match="features"):
        est.predict(Xd[:, :2])
    lazy = est.predict(da.from_array(bad, chunks=(100, -1)))  # lazy: no error yet
    with pytest.raises(ValueError, match="NaN or infinity"):
        lazy.compute()
    pca = PCA(2).fit(Xd)
    with pytest.raises(ValueError, match="n_components_"):
        pca.inverse_transform(Xd)


# -------------------------------------------------------------- lost worker


def test_fit_survives_a_killed_worker(client, monkeypatch):
    """A worker process is SIGKILLed during a Lloyd pass: Dask recomputes, the fit ends."""
    from skunsup.cluster import _kmeans_dask

    rng = np.random.RandomState(0)
    X = rng.uniform(size=(60000, 8))
    init = X[:30]
    ref = KMeans(30, init=init, n_init=1, max_iter=12, tol=0).fit(X)
    Xd = client.persist(da.from_array(X, chunks=(5000, -1)))
    distributed.wait(Xd)
    pids = client.run(os.getpid)
    victim = sorted(pids.values())[0]
    original = _kmeans_dask._lloyd_pass
    calls = []

    def lloyd_pass_with_a_kill(blocks, centers, previous=None):
        calls.append(1)
        if len(calls) == 4:  # mid-fit: the kill lands while this pass runs
            threading.Timer(0.02, os.kill, (victim, signal.SIGKILL)).start()
        return original(blocks, centers, previous)

    monkeypatch.setattr(_kmeans_dask, "_lloyd_pass", lloyd_pass_with_a_kill)
    est = KMeans(30, init=init, n_init=1, max_iter=12, tol=0).fit(Xd)
    client.wait_for_workers(2, timeout=120)
    assert victim not in set(client.run(os.getpid).values())  # it really died
    assert est.n_iter_ == ref.n_iter_
    assert_allclose(est.cluster_centers_, ref.cluster_centers_, rtol=1e-10)
    assert_allclose(est.inertia_, ref.inertia_, rtol=1e-10)


@pytest.mark.parametrize("shape, n_components", [((600, 8), 3), ((600, 8), 0.9),
                                                  ((300, 40), 5), ((60, 700), 5),
                                                  ((60, 700), 50)])
def test_pca_on_dask_and_in_memory_choose_the_same_solver(threads, shape, n_components):
    # one solver choice, eigh policy and spectrum -> attributes step for both
    X = np.random.RandomState(0).normal(size=shape)
    X[:, 0] *= 5.0
    ref = PCA(n_components, random_state=0).fit(X)
    est = PCA(n_components, random_state=0).fit(da.from_array(X, chunks=(100, -1)))
    assert est._fit_svd_solver == ref._fit_svd_solver
    assert est.n_components_ == ref.n_components_
    if ref._fit_svd_solver != "randomized":  # the two randomized SVDs draw differently
        assert_allclose(est.explained_variance_, ref.explained_variance_, rtol=1e-8)
        assert_allclose(np.abs(est.components_ @ ref.components_.T),
                        np.eye(ref.n_components_), atol=1e-6)
