"""Ctrl-C during a fit: a usable fitted estimator holding what was reached, and a warning.

The interrupt is raised from a callback (or from a patched step), where Ctrl-C
would surface in Python code during a long fit.
"""

import re

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.datasets import make_blobs

from skunsup.cluster import KMeans, MiniBatchKMeans
from skunsup.cluster import _kmeans_ops as ops
from skunsup.cluster import _lloyd_blocks

INTERRUPTED = re.escape("was interrupted (KeyboardInterrupt)")


def interrupt_at(iteration, run=1):
    """A callback that raises KeyboardInterrupt at ``iteration`` of the ``run``-th run."""
    seen = {"run": 0}

    def callback(estimator, it, objective, solution):
        if it == 1:
            seen["run"] += 1
        if seen["run"] == run and it == iteration:
            raise KeyboardInterrupt
        return False

    return callback


def check_kmeans_model(km, X):
    """labels_, inertia_ and predict agree with cluster_centers_."""
    X = np.asarray(X)
    labels, distances = ops.assign_labels(np.ascontiguousarray(X), km.cluster_centers_)
    assert_array_equal(km.labels_, labels)
    assert_allclose(km.inertia_, distances.sum(), rtol=1e-6)
    assert_array_equal(km.predict(X), km.labels_)
    assert km.cluster_centers_.dtype == X.dtype


def _blobs(n_samples=2000, dtype=np.float64):
    X, _ = make_blobs(n_samples, 5, centers=6, cluster_std=2.5, random_state=0)
    return X.astype(dtype)


@pytest.mark.parametrize("algorithm", ["lloyd", "elkan"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_kmeans_first_run_interrupted_keeps_its_centres(algorithm, dtype):
    X = _blobs(dtype=dtype)
    init = X[:6].copy()
    with pytest.warns(UserWarning, match=INTERRUPTED + " after 4 iterations of run 1"):
        km = KMeans(6, init=init, n_init=1, tol=0, algorithm=algorithm,
                    callbacks=interrupt_at(4)).fit(X)
    short = KMeans(6, init=init, n_init=1, tol=0, max_iter=4, algorithm=algorithm).fit(X)
    assert km.n_iter_ == 4
    assert_array_equal(km.cluster_centers_, short.cluster_centers_)
    check_kmeans_model(km, X)


def test_kmeans_interrupt_inside_a_step_reassigns_from_scratch(monkeypatch):
    """An interrupt in the middle of a bounded (Yinyang) step: the labels come from
    a new assignment, not from the half-updated bounds."""
    from skunsup.cluster import _yinyang

    X = _blobs(4000)
    calls = {"n": 0}
    step = _yinyang.YinyangBounds.step

    def step_then_interrupt(self, centers):
        calls["n"] += 1
        if calls["n"] == 3:
            self.labels[: X.shape[0] // 2] = 0  # half of an update, then Ctrl-C
            raise KeyboardInterrupt
        return step(self, centers)

    monkeypatch.setattr(_yinyang.YinyangBounds, "step", step_then_interrupt)
    with ops.numpy_max_work(-1), pytest.warns(UserWarning, match=INTERRUPTED):
        km = KMeans(6, random_state=0, algorithm="lloyd", tol=0).fit(X)
    assert calls["n"] == 3  # the bounded step ran, and was interrupted at its third
    assert km.n_iter_ == 2
    check_kmeans_model(km, X)


def test_kmeans_later_run_interrupted_keeps_the_best_run():
    X = _blobs()
    with pytest.warns(UserWarning, match=INTERRUPTED + " after 2 iterations of run 3 of 6"):
        km = KMeans(6, init="random", n_init=6, random_state=1, tol=0,
                    callbacks=interrupt_at(2, run=3)).fit(X)
    # runs 1 and 2 ran to the end, run 3 stopped after two iterations
    full_runs = KMeans(6, init="random", n_init=2, random_state=1, tol=0).fit(X)
    assert km.inertia_ <= full_runs.inertia_ * (1 + 1e-12)
    check_kmeans_model(km, X)


def test_kmeans_interrupt_in_seeding_keeps_the_runs_before(monkeypatch):
    from skunsup.cluster import _lloyd_memory

    X = _blobs()
    seeds = {"n": 0}
    seed = _lloyd_memory.MemoryLloyd.random_centers

    def seed_then_interrupt(self, n_clusters, random_state):
        seeds["n"] += 1
        if seeds["n"] == 3:
            raise KeyboardInterrupt
        return seed(self, n_clusters, random_state)

    monkeypatch.setattr(_lloyd_memory.MemoryLloyd, "random_centers", seed_then_interrupt)
    with pytest.warns(UserWarning, match=INTERRUPTED + " after 2 of 5 runs"):
        km = KMeans(6, init="random", n_init=5, random_state=2).fit(X)
    check_kmeans_model(km, X)
    # nothing to keep: the first seeding interrupted propagates
    seeds["n"] = 2
    with pytest.raises(KeyboardInterrupt):
        KMeans(6, init="random", n_init=5, random_state=2).fit(X)


def test_kmeans_memmap_interrupted(tmp_path, monkeypatch):
    monkeypatch.setattr(_lloyd_blocks, "BLOCKWISE_MIN_BYTES", 0)
    monkeypatch.setattr(_lloyd_blocks, "BLOCK_BYTES", 1)
    monkeypatch.setattr(_lloyd_blocks, "KERNEL_BLOCKS", False)
    X = _blobs(3000, np.float32)
    path = tmp_path / "X.dat"
    writer = np.memmap(path, dtype=X.dtype, mode="w+", shape=X.shape)
    writer[:] = X
    writer.flush()
    mapped = np.memmap(path, dtype=X.dtype, mode="r", shape=X.shape)
    init = X[:6].copy()
    with pytest.warns(UserWarning, match=INTERRUPTED + " after 3 iterations"):
        km = KMeans(6, init=init, tol=0, callbacks=interrupt_at(3)).fit(mapped)
    short = KMeans(6, init=init, tol=0, max_iter=3).fit(X)
    assert_allclose(km.cluster_centers_, short.cluster_centers_, rtol=1e-5)
    check_kmeans_model(km, X)
    assert_array_equal(km.predict(mapped), km.labels_)


def test_kmeans_dask_interrupted():
    da = pytest.importorskip("dask.array")
    import dask

    X = _blobs(3000)
    init = X[:6].copy()
    with dask.config.set(scheduler="synchronous"):
        with pytest.warns(UserWarning, match=INTERRUPTED + " after 3 iterations"):
            km = KMeans(6, init=init, tol=0, callbacks=interrupt_at(3)).fit(
                da.from_array(X, chunks=(700, -1)))
        labels = km.labels_.compute()
    short = KMeans(6, init=init, tol=0, max_iter=3).fit(X)
    assert_allclose(km.cluster_centers_, short.cluster_centers_, rtol=1e-10)
    km.labels_ = labels
    check_kmeans_model(km, X)


@pytest.mark.parametrize("compute_labels", [True, False])
def test_minibatch_loop_interrupted_keeps_the_last_whole_step(compute_labels):
    X = _blobs(3000)
    params = dict(n_clusters=6, batch_size=256, random_state=0, max_no_improvement=None,
                  compute_labels=compute_labels)
    with pytest.warns(UserWarning, match=INTERRUPTED + " after 5 mini-batch steps"):
        km = MiniBatchKMeans(**params, callbacks=interrupt_at(5)).fit(X)
    stopped = MiniBatchKMeans(**params, callbacks=lambda *a: a[1] == 5).fit(X)
    assert km.n_steps_ == stopped.n_steps_ == 5
    assert_array_equal(km.cluster_centers_, stopped.cluster_centers_)
    assert_array_equal(km._counts, stopped._counts)
    if compute_labels:
        check_kmeans_model(km, X)
    assert km.inertia_ == stopped.inertia_
    assert_array_equal(km.predict(X[:50]), stopped.predict(X[:50]))
    km.partial_fit(X[:256])  # and the stream continues
    assert km.n_steps_ == 6


def test_minibatch_interrupt_inside_a_step_restores_the_counts(monkeypatch):
    from skunsup.cluster import _minibatch

    X = _blobs(3000)
    update = _minibatch.update_centers
    calls = {"n": 0}

    def update_then_interrupt(centers, counts, sums, weights):
        calls["n"] += 1
        new = update(centers, counts, sums, weights)  # counts updated in place
        if calls["n"] == 4:
            raise KeyboardInterrupt
        return new

    monkeypatch.setattr(_minibatch, "update_centers", update_then_interrupt)
    params = dict(n_clusters=6, batch_size=256, random_state=0, max_no_improvement=None)
    with pytest.warns(UserWarning, match=INTERRUPTED + " after 3 mini-batch steps"):
        km = MiniBatchKMeans(**params).fit(X)
    monkeypatch.undo()
    stopped = MiniBatchKMeans(**params, callbacks=lambda *a: a[1] == 3).fit(X)
    assert_array_equal(km.cluster_centers_, stopped.cluster_centers_)
    assert_array_equal(km._counts, stopped._counts)
    check_kmeans_model(km, X)


def test_minibatch_interrupt_in_initialisations(monkeypatch):
    from skunsup.cluster import _minibatch_kmeans

    X = _blobs(3000)
    seeds = {"n": 0, "stop_at": 2}
    init = _minibatch_kmeans.MiniBatchKMeans._init_centroids

    def init_then_interrupt(self, *args):
        seeds["n"] += 1
        if seeds["n"] == seeds["stop_at"]:
            raise KeyboardInterrupt
        return init(self, *args)

    monkeypatch.setattr(_minibatch_kmeans.MiniBatchKMeans, "_init_centroids",
                        init_then_interrupt)
    with pytest.warns(UserWarning, match=INTERRUPTED + " after 1 of 3 initialisations"):
        km = MiniBatchKMeans(6, n_init=3, random_state=0).fit(X)
    assert km.n_steps_ == 0
    check_kmeans_model(km, X)
    seeds.update(n=0, stop_at=1)
    with pytest.raises(KeyboardInterrupt):
        MiniBatchKMeans(6, n_init=3, random_state=0).fit(X)
    # and a later interrupt of the label pass leaves the earlier fit untouched
    fitted = {name: value for name, value in vars(km).items() if name.endswith("_")}
    monkeypatch.setattr(_minibatch_kmeans.MemoryBatches, "labels_inertia",
                        lambda self, centers: (_ for _ in ()).throw(KeyboardInterrupt))
    seeds.update(n=0, stop_at=-1)
    with pytest.raises(KeyboardInterrupt):
        km.fit(X[::-1])
    for name, value in fitted.items():
        assert_array_equal(getattr(km, name), value)


# ------------------------------------------------------------------ PCA family


def _pca_data(n_samples=600, n_features=12, seed=0):
    rng = np.random.RandomState(seed)
    return rng.standard_normal((n_samples, n_features)) * np.linspace(3, 0.5, n_features)


def _assert_same_pca(a, b):
    for name in ["components_", "explained_variance_", "explained_variance_ratio_",
                 "singular_values_", "mean_", "noise_variance_", "n_samples_"]:
        assert_array_equal(getattr(a, name), getattr(b, name), err_msg=name)


def test_incremental_pca_fit_interrupted_keeps_the_batches_seen():
    from skunsup.decomposition import IncrementalPCA

    X = _pca_data()
    with pytest.warns(UserWarning, match=INTERRUPTED + " after 300 of 600 rows"):
        ipca = IncrementalPCA(4, batch_size=100, callbacks=interrupt_at(3)).fit(X)
    seen = IncrementalPCA(4, batch_size=100)
    for start in range(0, 300, 100):
        seen.partial_fit(X[start:start + 100])
    _assert_same_pca(ipca, seen)
    assert ipca.n_samples_seen_ == 300
    assert_array_equal(ipca.var_, seen.var_)
    assert_array_equal(ipca.transform(X[:4]), seen.transform(X[:4]))
    ipca.partial_fit(X[300:])  # the stream goes on
    assert ipca.n_samples_seen_ == 600


def test_incremental_pca_callbacks_see_the_model_of_the_rows_seen():
    from skunsup.decomposition import PCA, IncrementalPCA

    X = _pca_data()
    calls = []

    def record(estimator, n_batches, objective, components):
        calls.append((n_batches, objective, components))
        return n_batches == 4

    ipca = IncrementalPCA(4, batch_size=100, callbacks=record,
                          callbacks_every_iters=2).fit(X)
    assert [c[0] for c in calls] == [2, 4]
    assert ipca.n_samples_seen_ == 400  # stopped after the fourth batch
    first = PCA(4, svd_solver="covariance_eigh").fit(X[:200])
    assert_allclose(calls[0][2], first.components_, atol=1e-10)
    assert_allclose(calls[0][1], X[:200].var(axis=0, ddof=1).sum()
                    - first.explained_variance_.sum(), rtol=1e-10)
    plain = IncrementalPCA(4, batch_size=100).fit(X)
    assert_array_equal(IncrementalPCA(4, batch_size=100, callbacks=lambda *a: False)
                       .fit(X).components_, plain.components_)


@pytest.mark.parametrize("estimator", ["PCA", "IncrementalPCA"])
@pytest.mark.parametrize("when", ["before", "after"])
def test_partial_fit_interrupted_keeps_the_batches_before(estimator, when, monkeypatch):
    """Ctrl-C inside a partial_fit call, before or after its stream update: the
    model is that of the batches before it, and the interrupt goes through."""
    from skunsup import decomposition
    from skunsup.decomposition import _streaming

    X = _pca_data()
    model = getattr(decomposition, estimator)(4)
    for start in range(0, 300, 100):
        model.partial_fit(X[start:start + 100])
    expected = getattr(decomposition, estimator)(4)
    for start in range(0, 300, 100):
        expected.partial_fit(X[start:start + 100])
    update = _streaming.StreamingCovariance.update

    def interrupted_update(self, batch):
        if when == "after":
            update(self, batch)
        raise KeyboardInterrupt

    monkeypatch.setattr(_streaming.StreamingCovariance, "update", interrupted_update)
    with pytest.raises(KeyboardInterrupt):
        model.partial_fit(X[300:400])
    monkeypatch.undo()
    _assert_same_pca(model, expected)
    model.partial_fit(X[300:400])
    expected.partial_fit(X[300:400])
    _assert_same_pca(model, expected)
