"""TSNE(dof=...): the heavy-tailed kernels of Kobak et al. (2019) in every method.

``w = (1 + d² / dof)^-dof`` and ``u = (1 + d² / dof)^-1``: the exact kernels and
objectives against the NumPy reference (``tests/reference/tsne.py``) and against
finite differences of the KL; Barnes-Hut and FFT against the exact gradient; the
general code at ``dof`` next to 1 against the Cauchy code of ``dof = 1``; the
estimator's KL, optimize and transform under its kernel; finer clusters.
"""

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from scipy.optimize import check_grad
from sklearn.datasets import load_digits

from skunsup.manifold import TSNE
from skunsup.manifold import _barnes_hut, _gradients
from skunsup.manifold._affinity import knn_affinities
from skunsup.manifold._barnes_hut import BHTree
from skunsup.manifold._interpolation import fft_repulsive_forces
from skunsup.manifold._objectives import FFTObjective, TSNEObjective
from tests.reference.tsne import (
    grouped_barnes_hut_repulsion,
    new_points_kl_and_grad,
    random_joint_P,
    tsne_kl_and_grad,
    tsne_terms,
)
from tests.reference.tsne_fft import exact_repulsion

DOFS = [0.5, 1.0, 2.0, 100.0]
dofs = st.one_of(st.sampled_from(DOFS), st.floats(0.05, 500.0))


def _as_stored(P):
    """A sparse P as the objectives keep it (float32 values), dense float64."""
    return np.asarray(P.toarray() if sp.issparse(P) else P, dtype=np.float32).astype(np.float64)


def _relative(a, b):
    return np.linalg.norm(a - b) / np.linalg.norm(b)


# ---------------------------------------------------------------------------
# Exact kernels and objectives vs the NumPy reference and finite differences
# ---------------------------------------------------------------------------


@given(n=st.integers(2, 30), dim=st.integers(1, 3), scale=st.floats(1e-3, 30.0), dof=dofs,
       seed=st.integers(0, 2**31 - 1))
def test_exact_gradient_matches_reference(n, dim, scale, dof, seed):
    rng = np.random.RandomState(seed)
    Y = rng.normal(size=(n, dim)) * scale
    P = random_joint_P(rng, n)
    attr, rep = np.empty_like(Y), np.empty_like(Y)
    z, kl_rows = np.empty(n), np.empty(n)
    _gradients.tsne_exact_gradient(P, Y, dof, True, attr, rep, z, kl_rows)
    ref = tsne_terms(P, Y, Y, skip_self=True, dof=dof)
    # rows whose whole kernel underflows (sparse maps, large dof) have no gradient
    assume(ref[2].min() > 1e-250)
    for ours, theirs in zip((attr, rep, z, kl_rows), ref):
        np.testing.assert_allclose(ours, theirs, rtol=1e-9, atol=1e-13 * max(1.0, scale))
    objective = TSNEObjective(P, "exact", dof=dof)
    grad = np.empty_like(Y)
    kl = objective(Y, 1.0, True, grad)
    kl_ref, grad_ref = tsne_kl_and_grad(P, Y, dof)
    assert kl == pytest.approx(kl_ref, rel=1e-9, abs=1e-11)
    np.testing.assert_allclose(grad, grad_ref, rtol=1e-8, atol=1e-13)


@given(n=st.integers(1, 30), n_new=st.integers(1, 12), dim=st.integers(1, 3),
       scale=st.floats(1e-3, 30.0), dof=dofs, seed=st.integers(0, 2**31 - 1))
def test_exact_repulsion_and_new_points_match_reference(n, n_new, dim, scale, dof, seed):
    rng = np.random.RandomState(seed)
    Y_ref = rng.normal(size=(n, dim)) * scale
    Y_new = rng.normal(size=(n_new, dim)) * scale
    rep, z = np.empty_like(Y_new), np.empty(n_new)
    _gradients.exact_repulsive_forces(Y_new, Y_ref, False, dof, rep, z)
    # rows of multiples of 2^-20 summing to 1: exact in the objective's float32 too
    cuts = np.sort(rng.randint(0, 2**20 + 1, size=(n_new, n - 1)), axis=1)
    edges = np.hstack([np.zeros((n_new, 1)), cuts, np.full((n_new, 1), 2**20)])
    P = np.diff(edges, axis=1) / 2**20
    _, ref_rep, ref_z, _ = tsne_terms(P, Y_new, Y_ref, skip_self=False, dof=dof)
    assume(ref_z.min() > 1e-250)  # see above
    np.testing.assert_allclose(rep, ref_rep, rtol=1e-9, atol=1e-13 * max(1.0, scale))
    np.testing.assert_allclose(z, ref_z, rtol=1e-9)
    kl_ref, grad_ref = new_points_kl_and_grad(P, Y_new, Y_ref, dof)
    for method in ("exact", "barnes_hut"):
        objective = TSNEObjective(sp.csr_array(P), method, angle=0.0, Y_ref=Y_ref, dof=dof)
        grad = np.empty_like(Y_new)
        kl = objective(Y_new, 1.0, True, grad)
        assert kl == pytest.approx(kl_ref, rel=1e-9, abs=1e-12)
        np.testing.assert_allclose(grad, grad_ref, rtol=1e-7, atol=1e-12)


@pytest.mark.parametrize("dof", [0.3, 0.5, 2.0, 100.0])
def test_gradient_is_the_derivative_of_the_kl(dof):
    """The gradient of the fit's objective and of new points' objective against
    finite differences of their KL, for kernels other than the Cauchy one."""
    rng = np.random.RandomState(0)
    n, dim = 12, 2
    objective = TSNEObjective(random_joint_P(rng, n), "exact", dof=dof)
    Y_ref = rng.normal(size=(30, dim)) * 3
    P_new = rng.random_sample((5, 30))
    P_new /= P_new.sum(axis=1, keepdims=True)
    new_points = TSNEObjective(sp.csr_array(P_new), "exact", Y_ref=Y_ref, dof=dof)
    for obj, m, y0 in ((objective, n, rng.normal(size=n * dim)),
                       (new_points, 5, rng.normal(size=5 * dim) * 3)):
        def kl(flat, obj=obj, m=m):
            return obj(flat.reshape(m, dim), 1.0, True, np.empty((m, dim)))

        def grad(flat, obj=obj, m=m):
            out = np.empty((m, dim))
            obj(flat.reshape(m, dim), 1.0, False, out)
            return out.ravel()

        assert check_grad(kl, grad, y0) / np.linalg.norm(grad(y0)) < 1e-5


# ---------------------------------------------------------------------------
# Barnes-Hut and FFT against the exact gradient
# ---------------------------------------------------------------------------


@settings(max_examples=25)
@given(n=st.integers(30, 160), dim=st.integers(1, 3), spread=st.floats(0.5, 30.0),
       dof=st.sampled_from(DOFS), seed=st.integers(0, 2**16))
def test_barnes_hut_gradient_approximates_the_exact_one(n, dim, spread, dof, seed):
    """angle=0 is the exact gradient and KL; angle=0.5 stays close to them."""
    rng = np.random.RandomState(seed)
    P = knn_affinities(rng.normal(size=(n, 4)), 5.0).P
    Y = rng.normal(size=(n, dim)) * spread
    g_exact, g0, g_bh = (np.empty_like(Y) for _ in range(3))
    kl_exact = TSNEObjective(P, "exact", dof=dof)(Y, 2.0, True, g_exact)
    kl0 = TSNEObjective(P, "barnes_hut", angle=0.0, dof=dof)(Y, 2.0, True, g0)
    kl_bh = TSNEObjective(P, "barnes_hut", angle=0.5, dof=dof)(Y, 2.0, True, g_bh)
    np.testing.assert_allclose(g0, g_exact, rtol=1e-9, atol=1e-12 * np.abs(g_exact).max())
    assert kl0 == pytest.approx(kl_exact, rel=1e-12)
    assert _relative(g_bh, g_exact) < 0.05
    assert kl_bh == pytest.approx(kl_exact, rel=0.01)
    kl_ref, _ = tsne_kl_and_grad(_as_stored(P), Y, dof)
    assert kl_exact == pytest.approx(kl_ref, rel=1e-7)  # float32 P: see test_tsne.py


@settings(max_examples=25)
@given(n=st.integers(100, 300), dim=st.sampled_from([1, 2]), spread=st.floats(1.0, 40.0),
       dof=st.sampled_from(DOFS), seed=st.integers(0, 2**16))
def test_fft_gradient_approximates_the_exact_one(n, dim, spread, dof, seed):
    """The interpolated kernel of ``dof`` (forces and Z) against the exact sums, on
    clustered maps like t-SNE's."""
    rng = np.random.RandomState(seed)
    labels = rng.randint(0, 5, n)
    centres = rng.uniform(-spread, spread, size=(5, dim))
    Y = centres[labels] + rng.normal(size=(n, dim))
    X = rng.normal(size=(5, 6))[labels] * 3 + rng.normal(size=(n, 6))
    P = knn_affinities(X, 5.0).P
    g_exact, g_fft = np.empty_like(Y), np.empty_like(Y)
    kl_exact = TSNEObjective(P, "exact", dof=dof)(Y, 1.0, True, g_exact)
    kl_fft = FFTObjective(P, dof=dof)(Y, 1.0, True, g_fft)
    # worst of 120 draws: 0.06 for dof=0.5, 0.054 for dof=1, 4e-4 and 8e-4 for the KL
    assert _relative(g_fft, g_exact) < 0.1
    assert kl_fft == pytest.approx(kl_exact, rel=2e-3)


def _clustered_map(seed, n, dim, extent):
    """A t-SNE-like map: five dense clusters spread over ``extent`` units."""
    rng = np.random.default_rng(seed)
    centres = rng.uniform(0.0, extent, size=(5, dim))
    return centres[rng.integers(0, 5, n)] + rng.normal(size=(n, dim)) * (extent / 20.0)


@pytest.mark.parametrize("dof", DOFS)
@pytest.mark.parametrize("dim", [1, 2])
def test_fft_repulsion_interpolates_the_kernel_of_dof(dof, dim):
    """Forces and Z of the interpolation against the reference double sum: for a fit on
    a dense map (measured: forces within 0.038 for dof=0.5 in 1-D, 0.033 for dof=100 in
    2-D, 0.028 for dof=1, whose documented bound is 0.03) and for new points against a
    fixed map (measured: forces within 0.045 and Z within 2.6e-3, both for dof=100 in
    2-D, where the lighter tail leaves the points between clusters a small Z)."""
    Y = _clustered_map(0, 2500, dim, 60.0)
    forces, Z = fft_repulsive_forces(Y, dof=dof)
    ref_forces, ref_Z = exact_repulsion(Y, dof=dof)
    assert _relative(forces, ref_forces) < 0.05 and Z == pytest.approx(ref_Z, rel=1e-3)
    Y_ref = _clustered_map(3, 1500, dim, 40.0)
    Y_new = np.random.default_rng(3).uniform(-10.0, 40.0, size=(40, dim))
    rep, z = np.empty_like(Y_new), np.empty(40)
    FFTObjective(sp.csr_array(np.ones((40, 1500)) / 1500), Y_ref=Y_ref, dof=dof).workspace(
        Y_new, rep, z)
    ref_rep, ref_Z_new = exact_repulsion(Y_new, Y_ref, dof=dof)
    assert _relative(rep, ref_rep) < 0.06 and z.sum() == pytest.approx(ref_Z_new, rel=5e-3)


@given(n=st.integers(2, 120), scale=st.floats(1e-3, 30.0), seed=st.integers(0, 2**16),
       dof=dofs, angle=st.sampled_from([0.0, 0.5, 1.5]), list_capacity=st.integers(1, 64))
def test_grouped_barnes_hut_matches_reference_for_any_dof(n, scale, seed, dof, angle,
                                                          list_capacity):
    rng = np.random.default_rng(seed)
    Y = rng.normal(size=(n, 2)) * scale
    tree = BHTree(Y, leaf_size=int(rng.integers(1, 9)))
    groups = _barnes_hut.tree_groups(tree.node_i, int(rng.integers(1, 40)))
    rep, z = np.empty((n, 2)), np.empty(n)
    _barnes_hut.bh_repulsive_forces_2d_grouped(tree.Y_sorted, tree.node_f, tree.node_i, groups,
                                               angle, dof, tree.max_stack, list_capacity, 2,
                                               rep, z)
    ref_rep, ref_z = grouped_barnes_hut_repulsion(tree, groups, angle, dof)
    np.testing.assert_allclose(rep, ref_rep, rtol=1e-9, atol=1e-13)
    np.testing.assert_allclose(z, ref_z, rtol=1e-9, atol=1e-13)


@pytest.mark.parametrize("method, dim", [("exact", 1), ("exact", 3), ("barnes_hut", 1),
                                         ("barnes_hut", 2), ("barnes_hut", 3), ("fft", 1),
                                         ("fft", 2)])
def test_general_kernel_next_to_one_is_the_cauchy_kernel(method, dim):
    """The code of dof != 1 (powers) at dof = 1 + 1e-9 agrees with the specialised
    Cauchy code of dof = 1: every method, fit and new points."""
    rng = np.random.RandomState(dim)
    X = rng.normal(size=(200, 4))
    affinities = knn_affinities(X, 8.0)
    P = affinities.P.toarray() if method == "exact" else affinities.P
    Y = rng.normal(size=(200, dim)) * 6
    P_new = affinities.to_new(X[:7] + 0.1)
    values = []
    for dof in (1.0, 1.0 + 1e-9):
        make = (lambda P, **kw: FFTObjective(P, **kw)) if method == "fft" else (
            lambda P, **kw: TSNEObjective(P, method, **kw))
        grad, grad_new = np.empty_like(Y), np.empty((7, dim))
        kl = make(P, dof=dof)(Y, 1.0, True, grad)
        kl_new = make(P_new, Y_ref=Y, dof=dof)(Y[:7] + 0.5, 1.0, True, grad_new)
        values.append((kl, grad, kl_new, grad_new))
    (kl1, g1, n1, gn1), (kl2, g2, n2, gn2) = values
    assert kl2 == pytest.approx(kl1, rel=1e-7) and n2 == pytest.approx(n1, rel=1e-7)
    assert _relative(g2, g1) < 1e-6 and _relative(gn2, gn1) < 1e-6


# ---------------------------------------------------------------------------
# The estimator
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("method", ["exact", "barnes_hut", "fft"])
def test_kl_divergence_is_the_kl_under_the_kernel_of_dof(method):
    """kl_divergence_ is the KL of the returned map under its own kernel: exactly for
    the exact method, within the approximation of the normaliser otherwise."""
    X = np.random.RandomState(0).normal(size=(150, 5))
    tsne = TSNE(perplexity=10, method=method, dof=0.5, max_iter=300, random_state=0).fit(X)
    P = tsne._affinities.P
    kl_ref, _ = tsne_kl_and_grad(_as_stored(P), tsne.embedding_, 0.5)
    if method == "exact":
        kl_ref, _ = tsne_kl_and_grad(P, tsne.embedding_, 0.5)
    assert tsne.kl_divergence_ == pytest.approx(kl_ref, rel=1e-9 if method == "exact" else 1e-2)
    kl_cauchy, _ = tsne_kl_and_grad(_as_stored(P), tsne.embedding_, 1.0)
    assert abs(kl_cauchy - kl_ref) > 1e-2  # another kernel gives another KL


def test_optimize_uses_the_current_dof_and_transform_the_maps_kernel():
    """set_params(dof=...) then optimize anneals the kernel (the FFT grid is rebuilt
    for it); transform places points with the kernel the map was optimised with."""
    X = np.random.RandomState(1).normal(size=(200, 5))
    tsne = TSNE(perplexity=10, method="fft", max_iter=300, random_state=0).fit(X)
    new = tsne.transform(X[:5] + 0.05)
    tsne.set_params(dof=0.5)
    np.testing.assert_array_equal(tsne.transform(X[:5] + 0.05), new)  # not optimised yet
    tsne.optimize(100)
    kl_ref, _ = tsne_kl_and_grad(_as_stored(tsne._affinities.P), tsne.embedding_, 0.5)
    assert tsne.kl_divergence_ == pytest.approx(kl_ref, rel=1e-2)
    assert not np.array_equal(tsne.transform(X[:5] + 0.05), new)
    # the next optimize continues on the grid of the new kernel
    grid = tsne._workspace
    assert grid.dof == 0.5
    tsne.optimize(10)
    assert tsne._workspace is grid


@pytest.mark.parametrize("method", ["exact", "barnes_hut", "fft"])
def test_dof_one_is_the_default_map(method):
    X = np.random.RandomState(2).normal(size=(150, 4))
    params = dict(perplexity=10, method=method, max_iter=260, random_state=0)
    default = TSNE(**params).fit(X)
    one = TSNE(dof=1, **params).fit(X)
    np.testing.assert_array_equal(one.embedding_, default.embedding_)
    np.testing.assert_array_equal(one.transform(X[:4] + 0.1), default.transform(X[:4] + 0.1))


@pytest.mark.parametrize("dof", [0.0, -1.0, np.inf, np.nan, "1"])
def test_bad_dof_is_refused(dof):
    with pytest.raises(ValueError, match="dof"):
        TSNE(perplexity=5, dof=dof).fit(np.random.RandomState(0).normal(size=(30, 3)))


def _groups(Y):
    """Groups of at least 5 points in a map: the components of its 5-NN graph cut at
    three times the median nearest-neighbour distance (a rule free of the map's scale)."""
    from scipy.sparse.csgraph import connected_components
    from sklearn.neighbors import NearestNeighbors

    n = Y.shape[0]
    distances, neighbours = NearestNeighbors(n_neighbors=5).fit(Y).kneighbors()
    near = distances.ravel() <= 3 * np.median(distances[:, 0])
    rows = np.repeat(np.arange(n), 5)[near]
    graph = sp.csr_array((np.ones(rows.size), (rows, neighbours.ravel()[near])), shape=(n, n))
    _, labels = connected_components(graph, directed=False)
    return int(np.sum(np.bincount(labels) >= 5))


def test_heavier_tails_give_finer_clusters():
    """Kobak et al.'s observation, on 700 digits: dof=0.5 breaks the map into at least
    twice as many groups of points as the Cauchy kernel (subclusters of the digit
    classes: 53 against 25 here), and the classes separate more."""
    from sklearn.metrics import silhouette_score

    X, y = load_digits(return_X_y=True)
    X, y = X[:700], y[:700]
    params = dict(perplexity=20, method="barnes_hut", max_iter=500, random_state=0)
    cauchy = TSNE(**params).fit_transform(X)
    heavy = TSNE(dof=0.5, **params).fit_transform(X)
    assert _groups(heavy) >= 2 * _groups(cauchy)
    assert silhouette_score(heavy, y) > silhouette_score(cauchy, y)
