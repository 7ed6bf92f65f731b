"""MiniBatchKMeans: steps against the NumPy reference of scikit-learn's rule, and the estimator."""

import re

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import assume, given
from hypothesis import strategies as st
from sklearn.cluster import MiniBatchKMeans as SklearnMiniBatchKMeans
from sklearn.datasets import make_blobs

from skunsup.cluster import KMeans, MiniBatchKMeans
from skunsup.cluster import _kmeans_ops as ops
from skunsup.cluster._minibatch import EwaStopping, minibatch_step, update_centers
from tests.reference import kmeans as ref

DTYPES = [np.float32, np.float64]


def _rtol(dtype):
    return 1e-4 if dtype == np.float32 else 1e-10


@st.composite
def minibatch_problems(draw):
    """A sequence of batches (Gaussian values: no ties between centres), centres, weights."""
    n_batches = draw(st.integers(1, 4))
    n = draw(st.integers(1, 30))
    d = draw(st.integers(1, 5))
    k = draw(st.integers(1, 12))
    dtype = draw(st.sampled_from(DTYPES))
    rng = np.random.default_rng(draw(st.integers(0, 2**16)))
    batches = [rng.normal(size=(n, d)).astype(dtype) for _ in range(n_batches)]
    centers = rng.normal(size=(k, d)).astype(dtype)
    weights = [rng.uniform(0.5, 2.0, size=n) if draw(st.booleans()) else np.ones(n)
               for _ in range(n_batches)]
    ratio = draw(st.sampled_from([0.0, 0.3, 1.5]))
    return (batches, weights, centers, ratio, draw(st.booleans()), draw(st.integers(0, 99)),
            draw(st.booleans()))


def _in_larger_data(X, seed):
    """X's rows scattered among as many others: (the larger data, the rows of X in it)."""
    rng = np.random.RandomState(seed)
    order = rng.permutation(2 * X.shape[0])
    data = np.empty((2 * X.shape[0], X.shape[1]), dtype=X.dtype)
    data[order] = np.concatenate([X, rng.normal(size=X.shape).astype(X.dtype)])
    return data, order[:X.shape[0]].astype(np.int64)


@pytest.mark.parametrize("max_work", [-1, 2**62], ids=["numba", "numpy"])
@given(problem=minibatch_problems())
def test_steps_match_reference(max_work, problem):
    """A sequence of steps (updates and reassignments) equals scikit-learn's rule, whether
    the step is given its batch or the batch's rows of larger data."""
    batches, weights, centers, ratio, sparse, seed, in_place = problem
    dtype = centers.dtype
    counts = np.zeros(len(centers))
    ref_centers, ref_counts = centers.astype(np.float64), counts.copy()
    ours_rng, ref_rng = np.random.RandomState(seed), np.random.RandomState(seed)
    with ops.numpy_max_work(max_work):
        for X, w in zip(batches, weights):
            X_in, rows = _in_larger_data(X, seed) if in_place else (X, None)
            X_in = sp.csr_matrix(X_in) if sparse else X_in
            # A reassigned centre can land on a row that is (up to rounding) another
            # cluster's centre: a sample then has two nearest centres, and which one
            # wins is decided by rounding. The rule is only defined without such ties.
            nearest_two = np.sort(ref.squared_distances(X, ref_centers), axis=1)[:, :2]
            if nearest_two.shape[1] == 2:
                assume(np.all(nearest_two[:, 1] - nearest_two[:, 0]
                              > _rtol(dtype) * (1.0 + nearest_two[:, 1])))
            centers, inertia = minibatch_step(X_in, w, centers, counts, rows=rows,
                                              random_state=ours_rng, reassign=ratio > 0,
                                              reassignment_ratio=ratio)
            ref_centers, ref_counts, ref_inertia = ref.minibatch_step(
                X, w, ref_centers, ref_counts, ref_rng if ratio > 0 else None, ratio)
            assert centers.dtype == dtype
            np.testing.assert_allclose(centers, ref_centers, rtol=_rtol(dtype),
                                       atol=10 * _rtol(dtype))
            np.testing.assert_allclose(counts, ref_counts)
            np.testing.assert_allclose(inertia, ref_inertia, rtol=_rtol(dtype),
                                       atol=_rtol(dtype))


@given(n_groups=st.integers(1, 5), k=st.integers(1, 6), d=st.integers(1, 4),
       dtype=st.sampled_from(DTYPES), seed=st.integers(0, 2**16))
def test_update_sums_the_row_groups(n_groups, k, d, dtype, seed):
    """The centre update from the step kernel's per-group partials is the rule on their sums."""
    rng = np.random.default_rng(seed)
    centers = rng.normal(size=(k, d)).astype(dtype)
    counts = rng.integers(0, 5, size=k).astype(np.float64)
    weights = rng.integers(0, 3, size=(n_groups, k)).astype(np.float64)
    sums = rng.normal(size=(n_groups, k, d)) * weights[:, :, None]
    total_weight, total_sum = weights.sum(axis=0), sums.sum(axis=0)
    touched = total_weight > 0
    expected = centers.astype(np.float64)
    expected[touched] = ((expected[touched] * counts[touched, None] + total_sum[touched])
                         / (counts[touched] + total_weight[touched])[:, None])
    expected_counts = counts + total_weight
    new = update_centers(centers, counts, sums, weights)
    assert new.dtype == dtype
    np.testing.assert_allclose(new, expected, rtol=_rtol(dtype), atol=_rtol(dtype))
    np.testing.assert_array_equal(new[~touched], centers[~touched])
    np.testing.assert_allclose(counts, expected_counts)


def _blobs(n=600, centers=4, dtype=np.float64, seed=0):
    X, y = make_blobs(n, 5, centers=centers, cluster_std=0.5, random_state=seed)
    return X.astype(dtype), y


def test_partial_fit_sequence_is_the_steps():
    """partial_fit on a sequence of batches makes exactly the reference's steps."""
    X, _ = _blobs()
    init = X[:4].copy()
    km = MiniBatchKMeans(4, init=init, reassignment_ratio=0.0)
    centers, counts = init.copy(), np.zeros(4)
    for batch in np.array_split(X, 6):
        km.partial_fit(batch)
        centers, counts, inertia = ref.minibatch_step(batch, np.ones(len(batch)), centers,
                                                      counts)
        np.testing.assert_allclose(km.cluster_centers_, centers, rtol=1e-10)
    assert km.n_steps_ == 6
    assert km.labels_.shape == (len(batch),)
    np.testing.assert_allclose(km.inertia_, ref.inertia(batch, np.ones(len(batch)), centers,
                                                        km.labels_), rtol=1e-10)


def test_partial_fit_continues_a_fit():
    X, _ = _blobs()
    km = MiniBatchKMeans(4, random_state=0, batch_size=100).fit(X)
    steps, centers = km.n_steps_, km.cluster_centers_.copy()
    km.partial_fit(X[:50])
    assert km.n_steps_ == steps + 1
    assert not np.array_equal(km.cluster_centers_, centers)


@pytest.mark.parametrize("dtype", DTYPES)
def test_float32_kept_and_clusters_found(dtype):
    X, y = _blobs(dtype=dtype)
    km = MiniBatchKMeans(4, random_state=0, batch_size=64).fit(X)
    assert km.cluster_centers_.dtype == dtype
    assert km.transform(X).dtype == dtype
    assert len(set(zip(km.labels_, y))) == 4  # the blobs, up to a permutation
    km.partial_fit(X[:10])
    assert km.cluster_centers_.dtype == dtype


def test_sparse_equals_dense():
    X, _ = _blobs()
    X[X < 0] = 0.0
    params = dict(n_clusters=4, random_state=3, batch_size=50, n_init=2)
    dense = MiniBatchKMeans(**params).fit(X)
    sparse = MiniBatchKMeans(**params).fit(sp.csr_matrix(X))
    np.testing.assert_allclose(dense.cluster_centers_, sparse.cluster_centers_, rtol=1e-8,
                               atol=1e-10)
    np.testing.assert_array_equal(dense.labels_, sparse.labels_)
    assert dense.n_steps_ == sparse.n_steps_


def test_integer_weights_draw_like_repeated_rows():
    """Batches are drawn with probability proportional to the weights: weight 0 rows
    never reach a centre, and fitted labels/inertia use the weights."""
    X, _ = _blobs()
    weights = np.ones(len(X))
    far = np.full((10, X.shape[1]), 1e3)
    X_far = np.vstack([X, far])
    w_far = np.concatenate([weights, np.zeros(10)])
    km = MiniBatchKMeans(4, random_state=0, init=X[:4].copy(), batch_size=64,
                         reassignment_ratio=0.0).fit(X_far, sample_weight=w_far)
    assert np.abs(km.cluster_centers_).max() < 100  # the far rows were never drawn
    labels = km.predict(X_far)
    distances = ((X_far - km.cluster_centers_[labels]) ** 2).sum(axis=1)
    np.testing.assert_allclose(km.inertia_, w_far @ distances, rtol=1e-8)


def test_sample_weight_in_partial_fit():
    X = np.array([[0.0], [1.0]])
    km = MiniBatchKMeans(1, init=np.array([[0.0]])).partial_fit(X, sample_weight=[1.0, 3.0])
    np.testing.assert_allclose(km.cluster_centers_, [[0.75]])


def test_reassignment_moves_starved_centres():
    """Centres stuck where no sample is are moved onto samples."""
    X, _ = _blobs(centers=2)
    init = np.vstack([X[:2], np.full((3, X.shape[1]), 1e3)])
    km = MiniBatchKMeans(5, init=init, batch_size=100, random_state=0).fit(X)
    assert np.abs(km.cluster_centers_).max() < 100
    stuck = MiniBatchKMeans(5, init=init, batch_size=100, random_state=0,
                            reassignment_ratio=0.0).fit(X)
    assert (np.abs(stuck.cluster_centers_) >= 1e3 - 1).any()


def test_reassignment_verbose_line(capsys):
    X, _ = _blobs(centers=2)
    init = np.vstack([X[:2], np.full((3, X.shape[1]), 1e3)])
    MiniBatchKMeans(5, init=init, batch_size=100, random_state=0, verbose=1).fit(X)
    assert re.search(r"\[MiniBatchKMeans\] Reassigning [0-9]+ cluster centers",
                     capsys.readouterr().out)


def test_early_stopping_on_ewa_inertia():
    X, _ = _blobs(n=5000)
    km = MiniBatchKMeans(4, random_state=0, batch_size=100, max_iter=50).fit(X)
    assert km.n_steps_ < (50 * 5000) // 100
    never = MiniBatchKMeans(4, random_state=0, batch_size=1000, max_iter=3,
                            max_no_improvement=None).fit(X)
    assert never.n_steps_ == 15 and never.n_iter_ == 3


def test_early_stopping_on_tol(capsys):
    X, _ = _blobs(n=2000)
    km = MiniBatchKMeans(4, random_state=0, batch_size=100, tol=1e-2,
                         max_no_improvement=None, verbose=1).fit(X)
    assert km.n_steps_ < (100 * 2000) // 100
    assert "Converged (small centers change)" in capsys.readouterr().out


def test_ewa_stopping_counts_steps_without_improvement():
    stop = EwaStopping(n_samples=10, batch_size=10, tol=0.0, max_no_improvement=2, verbose=0)
    # alpha = min(1, 20 / 11) = 1: the smoothed inertia is the last batch's (per sample);
    # the first step only prints, 4 and 3 are new minima, 3.5 and 3.1 are not: stop
    outcomes = []
    for step, inertia in enumerate([50.0, 40.0, 30.0, 35.0, 31.0, 29.0]):
        outcomes.append(stop.update(step, 9, 0.0, inertia))
        if outcomes[-1]:
            break
    assert outcomes == [False, False, False, False, True]
    assert stop.ewa_inertia == pytest.approx(3.1)


def test_compute_labels_false_estimates_inertia():
    X, _ = _blobs(n=3000)
    km = MiniBatchKMeans(4, random_state=0, compute_labels=False, batch_size=200).fit(X)
    assert not hasattr(km, "labels_")
    exact = -km.score(X)
    assert 0.5 * exact < km.inertia_ < 2.0 * exact


def test_n_init_keeps_the_best_validation_inertia():
    X, _ = _blobs(n=2000, centers=8)
    one = MiniBatchKMeans(8, init="random", n_init=1, random_state=1).fit(X)
    several = MiniBatchKMeans(8, init="random", n_init=5, random_state=1).fit(X)
    assert several.inertia_ <= one.inertia_ * 1.05


def test_as_good_as_sklearn_on_blobs():
    X, _ = _blobs(n=4000, centers=10, dtype=np.float32, seed=1)
    ours = np.mean([MiniBatchKMeans(10, random_state=s).fit(X).inertia_ for s in range(3)])
    theirs = np.mean([SklearnMiniBatchKMeans(10, random_state=s).fit(X).inertia_
                      for s in range(3)])
    ideal = KMeans(10, random_state=0, n_init=3).fit(X).inertia_
    assert ours <= max(theirs, ideal) * 1.05


def test_init_size_warning_and_errors():
    X, _ = _blobs(n=100)
    with pytest.warns(RuntimeWarning, match="init_size=2 should be larger than n_clusters"):
        MiniBatchKMeans(4, init_size=2, random_state=0).fit(X)
    with pytest.raises(ValueError, match="n_samples=3 should be >= n_clusters=4"):
        MiniBatchKMeans(4).fit(X[:3])
    km = MiniBatchKMeans(4, random_state=0).fit(X)
    with pytest.raises(ValueError, match="features"):
        km.partial_fit(X[:, :2])


def test_callbacks_see_every_step_and_stop_the_fit():
    X, _ = make_blobs(2000, 3, centers=5, random_state=0)
    seen = []

    def watch(estimator, step, inertia, centers):
        seen.append((estimator, step, inertia, centers.copy()))
        return step == 5

    mbk = MiniBatchKMeans(5, batch_size=100, random_state=0, callbacks=watch).fit(X)
    assert [s[1] for s in seen] == [1, 2, 3, 4, 5] and all(s[0] is mbk for s in seen)
    assert mbk.n_steps_ == 5 and all(np.isfinite(s[2]) and s[2] > 0 for s in seen)
    np.testing.assert_array_equal(seen[-1][3], mbk.cluster_centers_)
    every_third = []
    MiniBatchKMeans(5, batch_size=100, random_state=0, max_iter=1, callbacks_every_iters=3,
                    callbacks=lambda est, step, *rest: every_third.append(step)).fit(X)
    assert every_third and all(step % 3 == 0 for step in every_third)
