"""KMeans: kernels against the NumPy reference, scikit-learn parity, invariants, bad input."""

import re
import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.cluster import KMeans as SklearnKMeans
from sklearn.cluster import MiniBatchKMeans as SklearnMiniBatchKMeans
from sklearn.datasets import make_blobs
from sklearn.exceptions import ConvergenceWarning, NotFittedError

from skunsup.cluster import KMeans, MiniBatchKMeans, kmeans_plusplus
from skunsup.cluster import _kmeans_ops as ops
from skunsup.cluster._center_geometry import center_neighbors
from skunsup.cluster import _yinyang
from skunsup.cluster._lloyd_memory import kmeans_single_lloyd as _kmeans_single_lloyd
from skunsup.utils._numba import numba_threads
from tests.reference import kmeans as ref

DTYPES = [np.float32, np.float64]
# NUMPY_MAX_WORK values that send every op to the numba kernels / to NumPy
BACKENDS = {"numba": -1, "numpy": 2**62, "default": ops.NUMPY_MAX_WORK}


def ops_backend(name):
    """Run the k-means ops on the numba kernels or on NumPy, whatever the size."""
    return ops.numpy_max_work(BACKENDS[name])


@pytest.fixture(autouse=True, scope="module")
def _numba_kernels():
    """This module's small data reaches the numba kernels (it would run in NumPy
    otherwise); the tests of the NumPy versions ask for them by name."""
    with ops_backend("numba"):
        yield


def _rtol(dtype):
    return 1e-4 if dtype == np.float32 else 1e-10


@st.composite
def lloyd_problems(draw):
    n = draw(st.integers(1, 40))
    d = draw(st.integers(1, 6))
    k = draw(st.integers(1, min(n, 40)))
    dtype = draw(st.sampled_from(DTYPES))
    seed = draw(st.integers(0, 2**16))
    rng = np.random.default_rng(seed)
    if draw(st.booleans()):  # a coarse grid: duplicate points and ties
        X = rng.integers(0, 3, size=(n, d)).astype(dtype)
    else:
        X = rng.normal(size=(n, d)).astype(dtype)
    centers = np.ascontiguousarray(X[rng.integers(0, n, size=k)] + rng.normal(
        scale=0.5, size=(k, d)).astype(dtype))
    w = rng.integers(0, 4, size=n).astype(np.float64)
    if draw(st.booleans()):
        w = np.ones(n)
    w[rng.integers(0, n)] += 1.0
    sparse = draw(st.booleans())
    return X, w, centers, sparse


@pytest.mark.parametrize("backend", ["numba", "numpy"])
@given(problem=lloyd_problems())
def test_lloyd_partials_match_reference(backend, problem):
    X, w, centers, sparse = problem
    Xin = sp.csr_matrix(X) if sparse else X
    with ops_backend(backend):
        step = ops.lloyd_partials(Xin, w, centers)
    _check_step_against_reference(X, w, centers, step)


def _check_step_against_reference(X, w, centers, step):
    """A Lloyd step's (labels, sums, weights, inertia, distances) on X against the reference."""
    labels, sums, weights, inertia, dist = step
    ref_labels, _, _, ref_inertia, ref_dist = ref.lloyd_step(X, w, centers)
    rtol = _rtol(X.dtype)
    scale = 1.0 + np.abs(X).max() ** 2 + np.abs(centers).max() ** 2
    # the chosen centre is a nearest one (ties may be broken either way) ...
    np.testing.assert_allclose(ref.squared_distances(X, centers)[np.arange(len(X)), labels],
                               ref_dist, rtol=rtol, atol=rtol * scale)
    # ... and a unique nearest centre is found
    sq = np.sort(ref.squared_distances(X, centers), axis=1)
    unique = (sq[:, 1] - sq[:, 0] > 1e-3 * scale) if sq.shape[1] > 1 else np.ones(len(X), bool)
    np.testing.assert_array_equal(labels[unique], ref_labels[unique])
    np.testing.assert_allclose(dist, ref_dist, rtol=rtol, atol=rtol * scale)
    ref_sums, ref_weights = ref.cluster_sums(X, w, labels, len(centers))
    np.testing.assert_allclose(sums, ref_sums, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(weights, ref_weights, rtol=1e-12)
    np.testing.assert_allclose(inertia, ref_inertia, rtol=rtol, atol=rtol * scale)
    assert labels.dtype == np.int32 and sums.dtype == np.float64


@st.composite
def chunked_problems(draw):
    """Dense problems over several row groups and chunks, maybe a mini-batch's rows of X."""
    n = draw(st.integers(1, 1300))
    d = draw(st.integers(1, 6))
    k = draw(st.integers(1, 40))
    dtype = draw(st.sampled_from(DTYPES))
    rng = np.random.default_rng(draw(st.integers(0, 2**16)))
    X = rng.normal(size=(n, d)).astype(dtype)
    centers = rng.normal(size=(k, d)).astype(dtype)
    rows = rng.integers(0, n, size=draw(st.integers(1, 1300))) if draw(st.booleans()) else None
    m = n if rows is None else rows.size
    w = rng.uniform(0.5, 2.0, size=m) if draw(st.booleans()) else np.ones(m)
    return X, rows, w, centers, draw(st.sampled_from([None, 1, 7]))


@given(problem=chunked_problems())
@settings(max_examples=60, deadline=None)
def test_chunked_step_matches_reference(problem):
    """The chunked kernel (groups, chunks, gathered rows) is the reference step on X[rows]."""
    X, rows, w, centers, chunk_rows = problem
    with pytest.MonkeyPatch.context() as patch:
        if chunk_rows is not None:  # chunks across the groups' bounds
            patch.setattr(ops, "CHUNK_ROWS", chunk_rows)
            patch.setattr(ops, "FEW_CLUSTERS_CHUNK_ROWS", chunk_rows)
        step = ops.lloyd_partials(X, w, centers, rows=rows)
        batch = X if rows is None else X[rows]
        assign_labels, assign_dist = ops.assign_labels(np.ascontiguousarray(batch), centers)
    _check_step_against_reference(batch, w, centers, step)
    # assigning alone gives the same labels and distances
    np.testing.assert_array_equal(assign_labels, step[0])
    np.testing.assert_array_equal(assign_dist, step[4])


def test_csr_assignment_over_row_groups_matches_dense():
    """CSR labels and distances, over several row groups, on one thread or two."""
    rng = np.random.default_rng(3)
    X = np.where(rng.random((3000, 30)) < 0.2, rng.normal(size=(3000, 30)), 0.0)
    centers = np.ascontiguousarray(X[:12] + 0.1)
    dense_labels, dense_dist = ops.assign_labels(X, centers)
    results = []
    for n_threads in (1, 2):
        with numba_threads(n_threads):
            results.append(ops.assign_labels(sp.csr_matrix(X), centers))
    np.testing.assert_array_equal(results[0][0], results[1][0])
    np.testing.assert_array_equal(results[0][1], results[1][1])
    np.testing.assert_array_equal(results[0][0], dense_labels)
    np.testing.assert_allclose(results[0][1], dense_dist, rtol=1e-9, atol=1e-9)


@pytest.mark.parametrize("gathered", [False, True])
def test_chunked_step_does_not_depend_on_thread_count(gathered):
    X = make_blobs(3000, 12, centers=50, random_state=1)[0].astype(np.float32)
    rows = np.random.RandomState(0).randint(0, 3000, 2500) if gathered else None
    w = np.ones(3000 if rows is None else rows.size)
    results = []
    for n_threads in (1, 2):
        with numba_threads(n_threads):
            results.append(ops.lloyd_partials(X, w, X[:50].copy(), rows=rows))
    for one, two in zip(*results):
        np.testing.assert_array_equal(one, two)


@given(lloyd_problems(), st.sampled_from(["random", "right", "zero"]))
def test_lloyd_from_hints_matches_reference(problem, hint_kind):
    """Any hint gives the reference step: labels at a nearest centre, exact sums."""
    X, w, centers, _ = problem
    k = len(centers)
    rng = np.random.default_rng(0)
    ref_labels, ref_sums, ref_weights, ref_inertia, ref_dist = ref.lloyd_step(X, w, centers)
    hints = {"random": rng.integers(0, k, size=len(X)), "right": ref_labels,
             "zero": np.zeros(len(X), dtype=int)}[hint_kind]
    labels, sums, weights, inertia, dist = ops.lloyd_partials_from_hints(
        X, w, centers, hints)
    sq = ref.squared_distances(X, centers)
    scale = 1.0 + np.abs(X).max() ** 2 + np.abs(centers).max() ** 2
    np.testing.assert_allclose(sq[np.arange(len(X)), labels], sq.min(axis=1),
                               rtol=1e-12, atol=1e-12 * scale)
    np.testing.assert_allclose(dist, ref_dist, rtol=1e-12, atol=1e-12 * scale)
    ref_sums, ref_weights = ref.cluster_sums(X, w, labels, k)
    np.testing.assert_allclose(sums, ref_sums, rtol=1e-12, atol=1e-12)
    np.testing.assert_array_equal(weights, ref_weights)
    np.testing.assert_allclose(inertia, ref_inertia, rtol=1e-12, atol=1e-12 * scale)


@pytest.mark.parametrize("backend", ["numba", "numpy"])
@given(n=st.integers(1, 60), d=st.integers(1, 5), offset=st.floats(-1e4, 1e4),
       scale=st.floats(1e-3, 1e3), dtype=st.sampled_from(DTYPES), seed=st.integers(0, 2**16))
def test_weighted_mean_variance_matches_numpy(backend, n, d, offset, scale, dtype, seed):
    rng = np.random.default_rng(seed)
    X = (offset + scale * rng.normal(size=(n, d))).astype(dtype)
    w = rng.uniform(0.0, 3.0, size=n)
    w[0] += 1.0
    with ops_backend(backend):
        mean, var = ops.weighted_mean_variance(X, w)
    X64 = X.astype(np.float64)
    ref_mean = np.average(X64, axis=0, weights=w)
    ref_var = np.average((X64 - ref_mean) ** 2, axis=0, weights=w)
    # numpy's reference rounds at eps * |values|: compare at that scale
    size = np.abs(X64).max(axis=0)
    np.testing.assert_allclose(mean, ref_mean, rtol=1e-12, atol=1e-14 * size.max())
    np.testing.assert_allclose(var, ref_var, rtol=1e-9, atol=1e-13 * size.max() ** 2)


def test_center_neighbors_lists_the_others_nearest_first():
    centers = np.random.default_rng(3).normal(size=(9, 4))
    order, gaps = center_neighbors(centers)
    full = np.sqrt(ref.squared_distances(centers, centers))
    for a in range(9):
        assert sorted(order[a]) == [j for j in range(9) if j != a]
        np.testing.assert_allclose(gaps[a], full[a, order[a]], atol=1e-12)
        assert np.all(np.diff(gaps[a]) >= 0)


def test_lloyd_from_hints_refuses_bad_hints():
    X = np.zeros((3, 2))
    with pytest.raises(ValueError, match="centre indices"):
        ops.lloyd_partials_from_hints(X, np.ones(3), np.zeros((2, 2)), np.array([0, 2, 1]))


@pytest.mark.parametrize("backend", ["numba", "numpy"])
@given(problem=lloyd_problems(), n_trials=st.integers(1, 4))
def test_kmeans_plusplus_trials_match_reference(backend, problem, n_trials):
    X, w, centers, sparse = problem
    closest = np.random.default_rng(0).uniform(0, 5, size=len(X))
    with ops_backend(backend):
        _check_trials_against_reference(X, w, centers, n_trials, closest, sparse)


@given(lloyd_problems(), st.integers(1, 4), st.integers(1, 5))
def test_kmeans_plusplus_trials_skip_changes_nothing(problem, n_trials, n_chosen):
    """The triangle-inequality skip gives the reference's distances and potentials."""
    X, w, centers, sparse = problem
    rng = np.random.default_rng(1)
    chosen = np.ascontiguousarray(X[rng.integers(0, len(X), size=n_chosen)])
    sq = ref.squared_distances(X, chosen)
    _check_trials_against_reference(X, w, centers, n_trials, sq.min(axis=1), sparse,
                                     nearest=sq.argmin(axis=1).astype(np.intp),
                                     chosen=chosen)


@given(n=st.integers(1, 1300), d=st.integers(1, 6), n_trials=st.integers(1, 40),
       dtype=st.sampled_from(DTYPES), chunk_rows=st.sampled_from([None, 1, 7]),
       seed=st.integers(0, 2**16))
@settings(max_examples=40, deadline=None)
def test_kmeans_plusplus_trials_over_groups_and_chunks(n, d, n_trials, dtype, chunk_rows, seed):
    """The dense trials kernel's row groups and chunks give the reference's distances."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d)).astype(dtype)
    centers = rng.normal(size=(n_trials, d)).astype(dtype)
    closest = rng.uniform(0, 5, size=n)
    with pytest.MonkeyPatch.context() as patch:
        if chunk_rows is not None:
            patch.setattr(ops, "CHUNK_ROWS", chunk_rows)
            patch.setattr(ops, "FEW_CLUSTERS_CHUNK_ROWS", chunk_rows)
        _check_trials_against_reference(X, rng.uniform(0.5, 2.0, size=n), centers, n_trials,
                                        closest, sparse=False)


def _check_trials_against_reference(X, w, centers, n_trials, closest, sparse, **skip):
    """k-means++ trials of the first ``n_trials`` centres against the reference."""
    candidates = np.ascontiguousarray(centers[:n_trials])
    Xin = sp.csr_matrix(X) if sparse else X
    trial, pots = ops.kmeans_plusplus_trials(
        Xin, ops.row_squared_norms(Xin), w, candidates, closest, **skip)
    ref_trial, ref_pots = ref.kmeans_plusplus_trials(X, w, candidates, closest)
    scale = 1.0 + np.abs(X).max() ** 2 + np.abs(centers).max() ** 2
    rtol = _rtol(X.dtype)
    np.testing.assert_allclose(trial, ref_trial, rtol=rtol, atol=rtol * scale)
    np.testing.assert_allclose(pots, ref_pots, rtol=rtol, atol=rtol * scale * len(X) * 4)


@pytest.mark.parametrize("k", [7, 45, 130])
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("flagged_rows", ["cost model", "local filter", "matrix product"])
def test_hamerly_equals_plain_lloyd(dtype, k, flagged_rows, monkeypatch):
    # the pruned steps treat the flagged rows by Yinyang's local filter or by a
    # matrix product with every centre (k > 32), chosen by a cost model: force each
    cost = {"cost model": _yinyang.DIRECT_PRODUCT_COST, "local filter": 0.0,
            "matrix product": np.inf}[flagged_rows]
    monkeypatch.setattr(_yinyang, "DIRECT_PRODUCT_COST", cost)
    X, _ = make_blobs(3000, 12, centers=50, cluster_std=2.0, random_state=1)
    X = X.astype(dtype)
    w = np.random.default_rng(0).uniform(0.5, 2, size=len(X))
    init = X[:k].copy()
    runs = [_kmeans_single_lloyd(X, w, init, max_iter=60, tol=0, x_squared_norms=None,
                                 step=a) for a in ("plain", "hamerly")]
    np.testing.assert_array_equal(runs[0][0], runs[1][0])
    np.testing.assert_allclose(runs[0][2], runs[1][2], rtol=1e-5 if dtype == np.float32 else 1e-12)
    assert runs[0][3] == runs[1][3]
    np.testing.assert_allclose(runs[0][1], runs[1][1], rtol=1e-6)


@settings(max_examples=15)
@given(st.integers(20, 300), st.integers(1, 8), st.integers(2, 30), st.floats(0.3, 4.0),
       st.sampled_from(DTYPES), st.sampled_from(["k-means++", "random", "array"]),
       st.integers(0, 2**16))
def test_algorithm_values_give_the_same_fit(n, d, k, spread, dtype, init, seed):
    # 'lloyd' and 'elkan' only change how distances are skipped: from the same
    # initial centres both give the fit of the default (labels, centres, inertia,
    # iterations), as scikit-learn promises for its two values.
    k = min(k, n)
    X = make_blobs(n, d, centers=k, cluster_std=spread, random_state=seed)[0].astype(dtype)
    if init == "array":
        init = X[np.random.default_rng(seed).choice(n, k, replace=False)]
    fits = [KMeans(k, init=init, n_init=1, random_state=seed, tol=0, **params).fit(X)
            for params in ({}, {"algorithm": "lloyd"}, {"algorithm": "elkan"})]
    for fit in fits[1:]:
        np.testing.assert_array_equal(fit.labels_, fits[0].labels_)
        np.testing.assert_allclose(fit.cluster_centers_, fits[0].cluster_centers_,
                                   rtol=_rtol(dtype), atol=1e-6)
        np.testing.assert_allclose(fit.inertia_, fits[0].inertia_, rtol=_rtol(dtype))
        assert fit.n_iter_ == fits[0].n_iter_


def test_elkan_step_matches_reference():
    X, _ = make_blobs(400, 4, centers=5, random_state=3)
    w = np.random.default_rng(1).uniform(0.1, 3.0, size=len(X))
    init = X[[0, 100, 200, 300, 399]]
    labels, inertia, centers, n_iter = _kmeans_single_lloyd(
        X, w, init, max_iter=50, tol=0, x_squared_norms=None, step="elkan")
    r_labels, r_inertia, r_centers, r_iter = ref.lloyd(X, w, init, max_iter=50)
    np.testing.assert_array_equal(labels, r_labels)
    np.testing.assert_allclose(centers, r_centers, rtol=1e-12)
    assert n_iter == r_iter
    np.testing.assert_allclose(inertia, r_inertia, rtol=1e-12)


def test_elkan_on_sparse_or_one_cluster_runs_lloyd():
    X = make_blobs(100, 3, centers=3, random_state=0)[0]
    with pytest.warns(RuntimeWarning, match="single cluster"):
        KMeans(1, algorithm="elkan").fit(X)
    Xs = sp.csr_matrix(np.where(X > 0, X, 0.0))
    init = Xs[:3].toarray()
    a = KMeans(3, init=init, algorithm="elkan").fit(Xs)
    b = KMeans(3, init=init).fit(Xs)
    np.testing.assert_array_equal(a.labels_, b.labels_)


def test_full_lloyd_matches_reference():
    X, _ = make_blobs(400, 4, centers=5, random_state=3)
    w = np.random.default_rng(1).uniform(0.1, 3.0, size=len(X))
    init = X[[0, 100, 200, 300, 399]]
    labels, inertia, centers, n_iter = _kmeans_single_lloyd(
        X, w, init, max_iter=50, tol=0, x_squared_norms=None)
    r_labels, r_inertia, r_centers, r_iter = ref.lloyd(X, w, init, max_iter=50)
    np.testing.assert_array_equal(labels, r_labels)
    np.testing.assert_allclose(centers, r_centers, rtol=1e-12)
    assert n_iter == r_iter
    np.testing.assert_allclose(inertia, r_inertia, rtol=1e-12)


def _datasets():
    blobs = make_blobs(1500, 10, centers=6, random_state=0)[0]
    many = make_blobs(2000, 8, centers=40, cluster_std=1.5, random_state=2)[0]
    wide = np.random.default_rng(0).normal(size=(600, 50))
    return [("blobs-k6", blobs, 6), ("blobs-k40", many, 40), ("gaussian-k5", wide, 5)]


@pytest.mark.parametrize("name, X, k", _datasets(), ids=lambda v: v if isinstance(v, str) else "")
@pytest.mark.parametrize("sparse", [False, True])
def test_matches_sklearn_lloyd_float64(name, X, k, sparse):
    init = X[np.random.default_rng(0).choice(len(X), k, replace=False)]
    if sparse:
        X = sp.csr_matrix(np.where(np.abs(X) < 0.5, 0.0, X))
    ours = KMeans(k, init=init, n_init=1, max_iter=100).fit(X)
    theirs = SklearnKMeans(k, init=init, n_init=1, max_iter=100, algorithm="lloyd").fit(X)
    np.testing.assert_array_equal(ours.labels_, theirs.labels_)
    np.testing.assert_allclose(ours.cluster_centers_, theirs.cluster_centers_, rtol=1e-7,
                               atol=1e-9)
    np.testing.assert_allclose(ours.inertia_, theirs.inertia_, rtol=1e-7)
    assert ours.n_iter_ == theirs.n_iter_


@pytest.mark.parametrize("k", [6, 40])
def test_float32_kept_and_inertia_close_to_sklearn(k):
    X = make_blobs(2000, 16, centers=k, random_state=4)[0].astype(np.float32)
    init = X[:k]
    ours = KMeans(k, init=init, n_init=1, max_iter=50).fit(X)
    theirs = SklearnKMeans(k, init=init, n_init=1, max_iter=50, algorithm="lloyd").fit(X)
    assert ours.cluster_centers_.dtype == np.float32
    assert ours.transform(X[:5]).dtype == np.float32
    assert ours.fit_transform(X).dtype == np.float32
    np.testing.assert_allclose(ours.inertia_, theirs.inertia_, rtol=1e-4)
    # our inertia is the exact one (in float64 from the float32 centres)
    exact = ref.inertia(X, np.ones(len(X)), ours.cluster_centers_, ours.labels_)
    np.testing.assert_allclose(ours.inertia_, exact, rtol=1e-6)


@pytest.mark.parametrize("step", ["plain", "hamerly", "elkan"])
def test_inertia_never_increases(step):
    X = make_blobs(800, 5, centers=45, cluster_std=3.0, random_state=5)[0]
    init = X[:40]
    w = np.ones(len(X))
    previous = np.inf
    for max_iter in range(1, 16):
        inertia = _kmeans_single_lloyd(X, w, init, max_iter=max_iter, tol=0,
                                       x_squared_norms=None, step=step)[1]
        assert inertia <= previous * (1 + 1e-12)
        previous = inertia


@pytest.mark.parametrize("init", ["k-means++", "random"])
def test_random_state_makes_fits_reproducible(init, global_random_seed):
    X = make_blobs(500, 6, centers=8, random_state=0)[0]
    a = KMeans(8, init=init, n_init=2, random_state=global_random_seed).fit(X)
    b = KMeans(8, init=init, n_init=2, random_state=global_random_seed).fit(X)
    np.testing.assert_array_equal(a.cluster_centers_, b.cluster_centers_)
    np.testing.assert_array_equal(a.labels_, b.labels_)
    noise = np.random.default_rng(0).normal(size=(200, 3))
    seeds = {KMeans(8, init=init, n_init=1, max_iter=1, random_state=s).fit(noise).inertia_
             for s in range(4)}
    assert len(seeds) > 1


@pytest.mark.parametrize("case", ["dense-small-k", "dense-large-k", "csr", "kmeans++"])
def test_results_do_not_depend_on_thread_count(case):
    X = make_blobs(6000, 10, centers=40, cluster_std=3.0, random_state=6)[0].astype(np.float32)
    k = 40 if case == "dense-large-k" else 8
    if case == "csr":
        X = sp.csr_matrix(np.where(X < 0, 0, X))
    init = "k-means++" if case == "kmeans++" else (X[:k].toarray() if sp.issparse(X) else X[:k])
    fits = []
    for n_threads in (1, 2):
        with numba_threads(n_threads):
            fits.append(KMeans(k, init=init, n_init=1, max_iter=20, random_state=0).fit(X))
    np.testing.assert_array_equal(fits[0].cluster_centers_, fits[1].cluster_centers_)
    np.testing.assert_array_equal(fits[0].labels_, fits[1].labels_)
    assert fits[0].inertia_ == fits[1].inertia_


def test_kmeans_plusplus_seeds_are_weighted_samples():
    X, blob = make_blobs(300, 3, centers=5, cluster_std=0.2, random_state=7)
    w = np.ones(len(X))
    w[::2] = 0.0
    centers, indices = kmeans_plusplus(X, 5, sample_weight=w, random_state=0)
    np.testing.assert_array_equal(centers, X[indices])
    assert np.all(w[indices] > 0) and len(set(indices)) == 5
    again, _ = kmeans_plusplus(X.astype(np.float32), 5, sample_weight=w, random_state=0)
    assert again.dtype == np.float32
    # a good seeding: every (well separated) blob gets a seed
    assert len(set(blob[indices])) == 5


def test_integer_weights_equal_repeated_samples():
    X = make_blobs(200, 4, centers=4, random_state=8)[0]
    w = np.random.default_rng(0).integers(0, 4, size=len(X))
    init = X[w > 0][:4]
    weighted = KMeans(4, init=init, n_init=1).fit(X, sample_weight=w)
    repeated = KMeans(4, init=init, n_init=1).fit(np.repeat(X, w, axis=0))
    np.testing.assert_allclose(weighted.cluster_centers_, repeated.cluster_centers_, rtol=1e-12)
    np.testing.assert_allclose(weighted.inertia_, repeated.inertia_, rtol=1e-10)


def test_sparse_and_dense_agree():
    X = np.maximum(make_blobs(500, 20, centers=5, random_state=9)[0], 0)
    a = KMeans(5, random_state=0, n_init=2).fit(X)
    b = KMeans(5, random_state=0, n_init=2).fit(sp.csr_matrix(X))
    np.testing.assert_array_equal(a.labels_, b.labels_)
    np.testing.assert_allclose(a.cluster_centers_, b.cluster_centers_, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(a.transform(X), b.transform(sp.csr_matrix(X)), rtol=1e-7,
                               atol=1e-7)


def test_methods_are_consistent():
    X = make_blobs(300, 3, centers=4, random_state=10)[0]
    X_before = X.copy()
    km = KMeans(4, random_state=0, copy_x=False).fit(X)
    np.testing.assert_array_equal(X, X_before)  # X is never modified
    np.testing.assert_allclose(km.score(X), -km.inertia_, rtol=1e-10)
    np.testing.assert_array_equal(km.predict(X), km.labels_)
    np.testing.assert_array_equal(km.fit_predict(X), km.labels_)
    distances = km.transform(X)
    np.testing.assert_allclose(distances, np.sqrt(ref.squared_distances(X, km.cluster_centers_)),
                               rtol=1e-7, atol=1e-7)
    np.testing.assert_array_equal(distances.argmin(axis=1), km.labels_)
    assert list(km.get_feature_names_out()) == [f"kmeans{i}" for i in range(4)]


def test_empty_cluster_is_relocated_deterministically():
    X = np.array([[0.0], [0.1], [0.2], [10.0], [10.1], [30.0]])
    init = np.array([[0.0], [10.0], [1000.0]])  # the third centre attracts no point
    a = KMeans(3, init=init, n_init=1).fit(X)
    b = KMeans(3, init=init, n_init=1).fit(X)
    np.testing.assert_array_equal(a.cluster_centers_, b.cluster_centers_)
    assert len(np.unique(a.labels_)) == 3
    assert np.isclose(a.cluster_centers_[:, 0], 30.0).any()  # the farthest point took it


def test_fewer_distinct_points_than_clusters_warns():
    X = np.repeat(np.array([[0.0, 0.0], [1.0, 1.0], [5.0, 5.0]]), 4, axis=0)
    for init in ("k-means++", "random"):
        with pytest.warns(ConvergenceWarning, match="distinct clusters"):
            km = KMeans(5, init=init, random_state=0).fit(X)
        assert np.all(np.isfinite(km.cluster_centers_))
        assert km.inertia_ == pytest.approx(0.0, abs=1e-12)


@pytest.mark.parametrize("sparse", [False, True])
def test_more_clusters_than_distinct_points_stops_at_once(sparse):
    # relocating an empty cluster to a duplicate of a centre would swap the
    # duplicates between centres forever: they stay, and the fit ends at once
    X = np.array([[0, 0], [1, 1], [1, 1], [1, 0], [0, 1]], dtype=float)
    with pytest.warns(ConvergenceWarning, match=r"distinct clusters \(4\)"):
        km = KMeans(5, init=X).fit(sp.csr_matrix(X) if sparse else X)
    assert km.n_iter_ == 1
    assert km.inertia_ == 0.0


def test_n_samples_equal_to_one_and_k_equal_to_one():
    km = KMeans(1, random_state=0).fit([[3.0, 4.0]])
    np.testing.assert_array_equal(km.cluster_centers_, [[3.0, 4.0]])
    X = make_blobs(50, 2, random_state=0)[0]
    km = KMeans(1, random_state=0).fit(X)
    np.testing.assert_allclose(km.cluster_centers_[0], X.mean(axis=0))


@pytest.mark.parametrize(
    "X, params, fit_kwargs, error, match",
    [
        ([[np.nan, 1.0], [1.0, 2.0]], {"n_clusters": 1}, {}, ValueError, "NaN"),
        ([[np.inf, 1.0], [1.0, 2.0]], {"n_clusters": 1}, {}, ValueError, "infinity"),
        (np.empty((0, 2)), {"n_clusters": 1}, {}, ValueError, "0 sample"),
        ([[0.0], [1.0]], {"n_clusters": 3}, {}, ValueError, "n_samples=2 should be >= n_clusters=3"),
        ([[0.0], [1.0]], {"n_clusters": 0}, {}, ValueError, "n_clusters"),
        ([[0.0], [1.0]], {"n_clusters": 2, "init": np.zeros((3, 1))}, {}, ValueError,
         "shape of the initial centers"),
        ([[0.0], [1.0]], {"n_clusters": 2, "init": np.zeros((2, 2))}, {}, ValueError,
         "shape of the initial centers"),
        ([[0.0], [1.0]], {"n_clusters": 1}, {"sample_weight": [1.0, -1.0]}, ValueError,
         "non-negative"),
        ([[0.0], [1.0]], {"n_clusters": 1}, {"sample_weight": [0.0, 0.0]}, ValueError,
         "positive"),
        ([[0.0], [1.0]], {"n_clusters": 1}, {"sample_weight": [1.0]}, ValueError, "shape"),
        ([[0.0], [1.0]], {"n_clusters": 1}, {"sample_weight": [1.0, np.nan]}, ValueError,
         "NaN"),
        ([["a"], ["b"]], {"n_clusters": 1}, {}, ValueError, "convert"),
    ],
)
def test_bad_input_gives_clear_errors(X, params, fit_kwargs, error, match):
    with pytest.raises(error, match=match):
        KMeans(**params).fit(X, **fit_kwargs)


def test_bad_input_after_fit():
    km = KMeans(2, random_state=0)
    with pytest.raises(NotFittedError):
        km.predict([[0.0, 1.0]])
    km.fit([[0.0, 1.0], [1.0, 0.0], [5.0, 5.0]])
    with pytest.raises(ValueError, match="features"):
        km.predict([[0.0, 1.0, 2.0]])
    with pytest.raises(ValueError, match="NaN"):
        km.transform([[np.nan, 1.0]])


def test_explicit_init_with_n_init_warns():
    X = make_blobs(50, 2, centers=2, random_state=0)[0]
    with pytest.warns(RuntimeWarning, match="only one init"):
        KMeans(2, init=X[:2], n_init=3).fit(X)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        KMeans(2, init=X[:2]).fit(X)


def test_callable_init_and_verbose(capsys):
    X = make_blobs(60, 2, centers=3, random_state=0)[0]

    def first_rows(X, n_clusters, random_state):
        return X[:n_clusters]

    km = KMeans(3, init=first_rows, n_init=1, verbose=1).fit(X)
    out = capsys.readouterr().out
    # scikit-learn's lines: the inertia of every assignment, then why it stopped
    inertias = [float(v) for v in re.findall(r"Iteration \d+, inertia ([-+.e\d]+)\.", out)]
    assert len(inertias) == km.n_iter_
    assert inertias == sorted(inertias, reverse=True)
    assert re.search(r"Converged at iteration \d+: (strict convergence|center shift)", out)
    with pytest.raises(ValueError, match="shape of the initial centers"):
        KMeans(3, init=lambda X, k, random_state: X[:2], n_init=1).fit(X)
    assert km.n_iter_ >= 1


@settings(max_examples=10)
@given(st.integers(1, 30), st.integers(1, 4), st.integers(0, 1000))
def test_inertia_is_the_sum_of_squared_distances(n, d, seed):
    X = np.random.default_rng(seed).normal(size=(n, d))
    k = min(n, 3)
    km = KMeans(k, random_state=seed, n_init=1).fit(X)
    np.testing.assert_allclose(
        km.inertia_, ref.inertia(X, np.ones(n), km.cluster_centers_, km.labels_),
        rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("dtype, value", [(np.float64, 1e300), (np.float64, 1e155),
                                          (np.float32, 1e19)])
def test_values_whose_squares_overflow_are_refused(dtype, value):
    # finite values whose squared distances overflow the dtype the kernels use:
    # a clear error before any kernel runs (scikit-learn returns inf inertia)
    X = np.array([[value, 0.0], [0.0, 1.0], [1.0, 1.0]], dtype=dtype)
    with pytest.raises(ValueError, match=r"as large as .* Scale the data"):
        KMeans(2, random_state=0).fit(X)
    km = KMeans(2, random_state=0).fit(X / value)
    with pytest.raises(ValueError, match="Scale the data"):
        km.predict(X)
    big_but_fine = X / value * (np.sqrt(np.finfo(dtype).max) / 1e3)  # below the limit
    assert np.isfinite(KMeans(2, random_state=0).fit(big_but_fine).inertia_)


@pytest.mark.parametrize("estimator", [KMeans, MiniBatchKMeans])
@pytest.mark.parametrize("value", [np.nan, np.inf, -np.inf])
@pytest.mark.parametrize("sparse", [False, True])
def test_nonfinite_values_get_sklearns_own_message(estimator, value, sparse):
    """The finite check read from the row norms raises scikit-learn's error, word for word."""
    X = np.array([[0.0, 1.0], [1.0, 0.0], [5.0, 5.0], [6.0, 5.0]])
    bad = X.copy()
    bad[2, 1] = value
    if sparse:
        X, bad = sp.csr_matrix(X), sp.csr_matrix(bad)
    sklearn_class = {KMeans: SklearnKMeans, MiniBatchKMeans: SklearnMiniBatchKMeans}[estimator]
    with pytest.raises(ValueError) as theirs:
        sklearn_class(2, n_init=1).fit(bad)
    with pytest.raises(ValueError) as ours:
        estimator(2, n_init=1).fit(bad)
    assert str(ours.value) == str(theirs.value)
    fitted, sklearn_fitted = estimator(2, n_init=1).fit(X), sklearn_class(2, n_init=1).fit(X)
    with pytest.raises(ValueError) as theirs:
        sklearn_fitted.predict(bad)
    with pytest.raises(ValueError) as ours:
        fitted.predict(bad)
    assert str(ours.value) == str(theirs.value)


def test_small_problems_compile_no_kernel(monkeypatch):
    """A notebook-sized fit, predict, transform and score touch no numba kernel."""
    from numba.core.registry import CPUDispatcher

    from skunsup.cluster import _seeding, _yinyang

    def refuse(*args, **kwargs):
        raise AssertionError("a numba kernel was called")

    for module in (ops, _yinyang, _seeding):
        for name, value in vars(module).items():
            if isinstance(value, CPUDispatcher):
                monkeypatch.setattr(module, name, refuse)
    X = np.random.default_rng(0).normal(size=(2000, 20)).astype(np.float32)
    with ops_backend("default"):
        for algorithm in ("lloyd", "elkan"):
            km = KMeans(10, algorithm=algorithm, random_state=0).fit(X)
            km.predict(X), km.transform(X), km.score(X)
        KMeans(10, init="random", random_state=0).fit(sp.csr_matrix(np.maximum(X, 0)))
        kmeans_plusplus(X, 10, random_state=0)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("sparse", [False, True])
def test_numpy_and_numba_ops_give_the_same_fit(dtype, sparse):
    X, _ = make_blobs(3000, 8, centers=12, cluster_std=2.0, random_state=5)
    X = X.astype(dtype)
    if sparse:
        X = sp.csr_matrix(np.where(X > 0, X, 0))
    fits = []
    for backend in ("numba", "numpy"):
        with ops_backend(backend):
            fits.append(KMeans(12, n_init=1, random_state=3).fit(X))
    np.testing.assert_array_equal(fits[0].labels_, fits[1].labels_)
    assert fits[0].n_iter_ == fits[1].n_iter_
    np.testing.assert_allclose(fits[0].cluster_centers_, fits[1].cluster_centers_,
                               rtol=_rtol(dtype), atol=_rtol(dtype))
    np.testing.assert_allclose(fits[0].inertia_, fits[1].inertia_, rtol=_rtol(dtype))


@settings(max_examples=25)
@given(n=st.integers(1, 200), d=st.integers(1, 5), k=st.integers(1, 12),
       seed=st.integers(0, 2**16))
def test_hinted_fraction_counts_the_centres_elkan_measures(n, d, k, seed):
    from skunsup.cluster._lloyd_memory import hinted_fraction

    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d))
    centers = rng.normal(size=(k, d)) * 3
    measured = []
    for x in X:  # all rows are probed below PROBE_ROWS
        dist = np.sqrt(((centers - x) ** 2).sum(axis=1))
        a = np.argmin(dist)
        gaps = np.sqrt(((centers - centers[a]) ** 2).sum(axis=1))
        measured.append(1 + sum(gaps[j] < 2 * dist[a] for j in range(k) if j != a))
    expected = 1.0 if k == 1 else np.mean(measured) / k
    assert hinted_fraction(X, centers) == pytest.approx(expected, rel=1e-12)


def test_run_step_is_chosen_by_the_cost_model():
    from skunsup.cluster._lloyd_memory import MemoryLloyd

    separated, _ = make_blobs(20000, 16, centers=60, cluster_std=0.5, center_box=(-50, 50),
                              random_state=0)
    overlapping = np.random.default_rng(0).normal(size=(20000, 16))
    with ops_backend("default"):
        for X, expected in [(separated, "elkan"), (overlapping, "hamerly"),
                            (sp.csr_matrix(overlapping), "plain"), (separated[:500], "plain")]:
            executor = MemoryLloyd(X, np.ones(X.shape[0]))
            centers = kmeans_plusplus(X, 60, random_state=0)[0]
            assert executor.choose_step(centers) == expected
            # an explicit step is kept
            if not sp.issparse(X):
                assert MemoryLloyd(X, np.ones(X.shape[0]), step="hamerly").choose_step(
                    centers) == "hamerly"


@pytest.mark.parametrize("backend", ["numba", "numpy"])
def test_callbacks_see_each_iteration_and_stop_like_max_iter(backend, capsys):
    """callback(estimator, iteration, inertia, centers) after every iteration, with
    the inertia verbose prints; True ends the fit as max_iter would have there."""
    X, _ = make_blobs(600, 4, centers=6, cluster_std=3.0, random_state=1)
    init = X[:6].copy()
    calls = []

    def watch(estimator, iteration, inertia, centers):
        calls.append((estimator, iteration, inertia, centers.copy()))
        centers += 100.0  # a copy: the fit does not see this
        return iteration == 4

    with ops_backend(backend):
        km = KMeans(6, init=init, n_init=1, tol=0, verbose=1, callbacks=watch).fit(X)
        printed = [float(line.split("inertia ")[1].rstrip("."))
                   for line in capsys.readouterr().out.splitlines() if "inertia" in line]
        short = KMeans(6, init=init, n_init=1, tol=0, max_iter=4).fit(X)
    assert [c[1] for c in calls] == [1, 2, 3, 4] and all(c[0] is km for c in calls)
    np.testing.assert_allclose([c[2] for c in calls], printed, rtol=1e-12)
    assert km.n_iter_ == short.n_iter_ == 4
    np.testing.assert_array_equal(km.cluster_centers_, short.cluster_centers_)
    np.testing.assert_array_equal(calls[-1][3], km.cluster_centers_)
    np.testing.assert_array_equal(km.labels_, short.labels_)
    assert km.inertia_ == short.inertia_


def test_callback_stop_ends_every_run_and_keeps_the_best():
    X, _ = make_blobs(300, 3, centers=4, random_state=2)
    runs = []

    def first_iteration_of_each_run(estimator, iteration, inertia, centers):
        if iteration == 1:
            runs.append(inertia)
        return len(runs) == 2 and iteration == 3

    km = KMeans(4, n_init=5, random_state=0, callbacks=[first_iteration_of_each_run],
                callbacks_every_iters=1).fit(X)
    assert len(runs) == 2  # the second run stopped the fit: no third run
    assert hasattr(km, "cluster_centers_") and km.n_iter_ >= 1
