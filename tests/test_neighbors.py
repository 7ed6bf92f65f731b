"""Neighbour search: BLAS brute force + numba top-k vs a slow NumPy reference."""

import importlib.util
import os

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from skunsup.manifold._neighbors import build_knn_index


def _reference_knn(Q, R, k, exclude_self):
    """Exact neighbours by a full distance matrix and a stable argsort (ties: lower index)."""
    Q = np.asarray(Q, dtype=np.float64)
    R = np.asarray(R, dtype=np.float64)
    D = np.sqrt(((Q[:, None, :] - R[None, :, :]) ** 2).sum(-1))
    if exclude_self:
        np.fill_diagonal(D, np.inf)
    order = np.argsort(D, axis=1, kind="stable")[:, :k]
    return order, np.take_along_axis(D, order, axis=1)


@given(
    n=st.integers(2, 300),
    dim=st.integers(1, 12),
    k_frac=st.floats(0.0, 1.0),
    dtype=st.sampled_from([np.float32, np.float64]),
    seed=st.integers(0, 2**16),
)
def test_exact_matches_reference(n, dim, k_frac, dtype, seed):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, dim)).astype(dtype)
    k = 1 + int(k_frac * (n - 2))
    _, indices, distances = build_knn_index(X, k)
    ref_i, ref_d = _reference_knn(X, X, k, True)
    # distances exact (float64 from the data as given); indices may differ only
    # between equal distances
    np.testing.assert_allclose(distances, ref_d, rtol=1e-12, atol=1e-12)
    same = indices == ref_i
    np.testing.assert_allclose(distances[~same], ref_d[~same], rtol=1e-12)
    assert (indices != np.arange(n)[:, None]).all()


def test_large_exact_with_several_tiles_and_duplicates():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(2600, 8))  # more than one 2048-row tile and many row blocks
    X[10] = X[11]
    X[100] = X[2500]
    index, indices, distances = build_knn_index(X, 7)
    ref_i, ref_d = _reference_knn(X, X, 7, True)
    np.testing.assert_allclose(distances, ref_d, rtol=1e-10, atol=1e-12)
    assert (indices == ref_i).mean() > 0.999
    assert indices[10, 0] == 11 and indices[2500, 0] == 100
    Q = rng.normal(size=(30, 8))
    qi, qd = index.query(Q, 5)
    ri, rd = _reference_knn(Q, X, 5, False)
    np.testing.assert_array_equal(qi, ri)
    np.testing.assert_allclose(qd, rd, rtol=1e-5)


def test_identical_for_any_thread_count():
    X = np.random.default_rng(1).normal(size=(1500, 5))
    one = build_knn_index(X, 10, n_jobs=1)[1:]
    two = build_knn_index(X, 10, n_jobs=2)[1:]
    np.testing.assert_array_equal(one[0], two[0])
    np.testing.assert_array_equal(one[1], two[1])


def test_auto_is_exact_for_small_data_and_other_metrics_work():
    X = np.random.default_rng(2).normal(size=(200, 4))
    index, indices, _ = build_knn_index(X, 5, method="auto")
    assert index.method_ == "exact"
    ref_i, _ = _reference_knn(X, X, 5, True)
    np.testing.assert_array_equal(indices, ref_i)
    _, indices_l1, distances_l1 = build_knn_index(X, 5, metric="manhattan")
    D = np.abs(X[:, None, :] - X[None, :, :]).sum(-1)
    np.fill_diagonal(D, np.inf)
    np.testing.assert_allclose(distances_l1, np.sort(D, axis=1)[:, :5])


def test_bad_method_and_k():
    X = np.zeros((5, 2))
    with pytest.raises(ValueError, match="unknown neighbour search method"):
        build_knn_index(X, 2, method="annoy")
    with pytest.raises(ValueError, match="n_neighbors"):
        build_knn_index(X, 5)
    index, _, _ = build_knn_index(X, 2)
    with pytest.raises(ValueError, match="features"):
        index.query(np.zeros((2, 3)), 1)


@pytest.mark.slow
@pytest.mark.skipif(importlib.util.find_spec("pynndescent") is None,
                    reason="pynndescent is optional")
@pytest.mark.skipif(not os.environ.get("SKUNSUP_TEST_PYNNDESCENT"),
                    reason="pynndescent compiles for minutes on a 2-core machine; set "
                    "SKUNSUP_TEST_PYNNDESCENT=1 to run")
def test_approx_recall():
    rng = np.random.default_rng(3)
    centres = rng.normal(size=(10, 10)) * 5
    X = centres[rng.integers(0, 10, 3000)] + rng.normal(size=(3000, 10))
    index, indices, distances = build_knn_index(X, 15, method="approx", random_state=0)
    assert index.method_ == "approx"
    ref_i, _ = _reference_knn(X, X, 15, True)
    recall = np.mean([len(np.intersect1d(a, b)) for a, b in zip(indices, ref_i)]) / 15
    assert recall > 0.95
    assert (indices != np.arange(3000)[:, None]).all()
    assert np.all(np.diff(distances, axis=1) >= -1e-6)
    qi, _ = index.query(X[:5] + 1e-3, 3)  # queries are exact
    np.testing.assert_array_equal(qi[:, 0], np.arange(5))
