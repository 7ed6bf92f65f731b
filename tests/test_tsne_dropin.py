"""TSNE as a drop-in for scikit-learn's: sparse input, distance graphs, metric semantics, bad input."""

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.metrics import pairwise_distances
from sklearn.metrics.pairwise import cosine_distances
from sklearn.neighbors import KNeighborsTransformer, kneighbors_graph
from sklearn.pipeline import make_pipeline

from skunsup.manifold import TSNE

FAST = dict(max_iter=250, random_state=0, init="random")


def _data(seed, n, d):
    return np.random.RandomState(seed).normal(size=(n, d))


@settings(max_examples=2, deadline=None)
@given(seed=st.integers(0, 1000), n_neighbors=st.integers(6, 12))
def test_kneighbors_transformer_pipeline_fits_and_transforms(seed, n_neighbors):
    X = _data(seed, 60, 4)
    pipe = make_pipeline(
        KNeighborsTransformer(mode="distance", n_neighbors=n_neighbors),
        TSNE(metric="precomputed", perplexity=n_neighbors / 3, max_iter=250, random_state=0),
    )
    Y = pipe.fit_transform(X)
    assert Y.shape == (60, 2) and np.all(np.isfinite(Y))
    assert pipe[-1]._method != "exact"  # a graph never goes to the dense path
    Y_new = pipe.transform(X[:5] + 0.01)
    assert Y_new.shape == (5, 2) and np.all(np.isfinite(Y_new))


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.EfficiencyWarning")
def test_complete_sparse_graph_equals_dense_distances():
    # scikit-learn's meaning of a graph: each row stores its point (distance 0)
    # and its candidate neighbours
    X = _data(0, 50, 3)
    graph = kneighbors_graph(X, n_neighbors=50, mode="distance", include_self=True)
    tsne = TSNE(metric="precomputed", method="barnes_hut", perplexity=5, **FAST)
    np.testing.assert_array_equal(tsne.fit_transform(pairwise_distances(X)),
                                  tsne.fit_transform(graph))


@pytest.mark.parametrize("method", ["exact", "barnes_hut"])
@settings(max_examples=2, deadline=None)
@given(seed=st.integers(0, 1000))
def test_cosine_metric_equals_precomputed_cosine_distances(method, seed):
    X = np.abs(_data(seed, 40, 5))
    params = dict(method=method, perplexity=5, **FAST)
    a = TSNE(metric="cosine", **params).fit_transform(X)
    b = TSNE(metric="precomputed", **params).fit_transform(cosine_distances(X))
    np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("seed, density", [(0, 0.3125), (1, 0.5), (7, 0.9)])
def test_sparse_X_equals_dense_X(seed, density):
    # Fixed cases, not hypothesis: sparse and dense distances round differently
    # (1e-16), and the optimisations of fit and transform amplify that to about
    # 1e-4 of the map's scale on some draws (seed 0, density 0.3125 here).
    X = _data(seed, 40, 6)
    X[np.random.RandomState(seed + 1).uniform(size=X.shape) > density] = 0.0
    tsne = TSNE(method="barnes_hut", perplexity=5, **FAST)
    dense = tsne.fit_transform(X)
    sparse = tsne.fit_transform(sp.csr_array(X))
    scale = np.abs(dense).max()
    np.testing.assert_allclose(sparse, dense, rtol=0, atol=1e-3 * scale)
    new = X[:3] + 0.01
    np.testing.assert_allclose(tsne.transform(sp.csr_array(new)), tsne.transform(new),
                               rtol=0, atol=1e-3 * scale)


def test_sparse_X_gives_dense_X_affinities_in_the_exact_method():
    # the exact maps themselves differ after a few hundred iterations: the sparse
    # distances round differently (1e-16) and t-SNE's descent amplifies that
    X = _data(0, 40, 6)
    X[np.abs(X) < 0.6] = 0.0
    tsne = TSNE(method="exact", perplexity=5, **FAST)
    P_dense = tsne.fit(X)._affinities.P
    P_sparse = tsne.fit(sp.csr_array(X))._affinities.P
    np.testing.assert_allclose(P_sparse, P_dense, rtol=1e-9, atol=1e-15)


def test_sparse_X_with_pca_init_is_finite():
    X = sp.random(50, 30, density=0.2, random_state=0, format="csr")
    Y = TSNE(perplexity=5, max_iter=250, random_state=0).fit_transform(X)
    assert np.all(np.isfinite(Y))


@pytest.mark.parametrize("sparse", [False, True])
def test_negative_precomputed_distances_are_refused(sparse):
    D = np.abs(_data(0, 10, 10))
    D[2, 3] = -1.0
    with pytest.raises(ValueError, match="positive distances"):
        TSNE(metric="precomputed", perplexity=2).fit(sp.csr_array(D) if sparse else D)


@pytest.mark.parametrize("method", ["exact", "barnes_hut"])
def test_negative_callable_metric_is_refused(method):
    with pytest.raises(ValueError, match="All distances should be positive"):
        TSNE(metric=lambda a, b: -1.0, method=method, perplexity=2).fit(_data(0, 10, 2))


@settings(max_examples=3, deadline=None)
@given(perplexity=st.floats(2.0, 5.0), stored=st.integers(1, 4))
def test_rows_with_too_few_neighbours_are_refused(perplexity, stored):
    n = 20
    rng = np.random.RandomState(0)
    rows = np.repeat(np.arange(n), stored)
    cols = (rows + 1 + np.tile(np.arange(stored), n)) % n
    graph = sp.csr_array((rng.uniform(1, 2, rows.size), (rows, cols)), shape=(n, n))
    with pytest.raises(ValueError, match="neighbors per samples are required"):
        TSNE(metric="precomputed", perplexity=perplexity).fit(graph)


def test_exact_method_refuses_a_sparse_graph():
    with pytest.raises(TypeError, match="sparse"):
        TSNE(metric="precomputed", method="exact", perplexity=1).fit(
            sp.csr_array(np.array([[0.0, 5.0], [5.0, 0.0]])))


@pytest.mark.parametrize("sparse", [False, True])
@pytest.mark.parametrize("scale", [1e160, 1e300])
def test_overflowing_squared_distances_are_refused(sparse, scale):
    X = _data(0, 20, 4) * scale
    with pytest.raises(ValueError, match=r"as large as .*e\+.*Scale the data"):
        TSNE(perplexity=3).fit(sp.csr_array(X) if sparse else X)
    tsne = TSNE(perplexity=3, **FAST).fit(_data(0, 20, 4))
    with pytest.raises(ValueError, match="Scale the data"):
        tsne.transform(X[:2])
