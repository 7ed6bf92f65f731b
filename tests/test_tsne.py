"""TSNE: kernels against NumPy references, gradients, affinities, quality, bad input."""

import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given
from hypothesis import strategies as st
from scipy.optimize import check_grad
from scipy.spatial.distance import cdist
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.manifold import trustworthiness
from sklearn.neighbors import NearestNeighbors

from skunsup.manifold import SNE, TSNE
from skunsup.manifold import _affinity, _barnes_hut, _bh_tree, _gradients
from skunsup.manifold._affinity import exact_affinities, knn_affinities
from skunsup.manifold._barnes_hut import BHTree
from skunsup.manifold._objectives import TSNEObjective
from skunsup.manifold._optimizer import GradientDescent
from tests.reference.tsne import (
    conditional_row,
    grouped_barnes_hut_repulsion,
    new_points_kl_and_grad,
    random_joint_P,
    tsne_kl_and_grad,
    tsne_terms,
)


embeddings = st.tuples(
    st.integers(2, 30), st.integers(1, 3), st.floats(1e-3, 30.0), st.integers(0, 2**31 - 1)
)


# ---------------------------------------------------------------------------
# Kernels vs references
# ---------------------------------------------------------------------------


@given(embeddings)
def test_exact_gradient_kernel_matches_reference(params):
    n, dim, scale, seed = params
    rng = np.random.RandomState(seed)
    Y = rng.normal(size=(n, dim)) * scale
    P = random_joint_P(rng, n)
    attr, rep = np.empty_like(Y), np.empty_like(Y)
    z, kl_rows = np.empty(n), np.empty(n)
    _gradients.tsne_exact_gradient(P, Y, 1.0, True, attr, rep, z, kl_rows)
    ref = tsne_terms(P, Y, Y, skip_self=True)
    for ours, theirs in zip((attr, rep, z, kl_rows), ref):
        np.testing.assert_allclose(ours, theirs, rtol=1e-10, atol=1e-14)
    kl, grad = TSNEObjective(P, "exact")(Y, 1.0, True, np.empty_like(Y)), np.empty_like(Y)
    TSNEObjective(P, "exact")(Y, 1.0, False, grad)
    kl_ref, grad_ref = tsne_kl_and_grad(P, Y)
    assert kl == pytest.approx(kl_ref, rel=1e-9, abs=1e-12)
    np.testing.assert_allclose(grad, grad_ref, rtol=1e-9, atol=1e-14)


@given(embeddings, st.integers(1, 25))
def test_sparse_attraction_and_exact_repulsion_match_reference(params, n_new):
    n, dim, scale, seed = params
    rng = np.random.RandomState(seed)
    Y_ref = rng.normal(size=(n, dim)) * scale
    Y_new = rng.normal(size=(n_new, dim)) * scale
    P = rng.random_sample((n_new, n)) * (rng.random_sample((n_new, n)) < 0.5)
    P_csr = sp.csr_array(P)
    attr, kl_rows = np.empty_like(Y_new), np.empty(n_new)
    _gradients.attractive_forces(P_csr.data, P_csr.indices.astype(np.int64),
                                 P_csr.indptr.astype(np.int64), Y_new, Y_ref, True, attr,
                                 kl_rows)
    rep, z = np.empty_like(Y_new), np.empty(n_new)
    _gradients.exact_repulsive_forces(Y_new, Y_ref, False, 1.0, rep, z)
    ref_attr, ref_rep, ref_z, ref_kl = tsne_terms(P, Y_new, Y_ref, skip_self=False)
    np.testing.assert_allclose(attr, ref_attr, rtol=1e-10, atol=1e-14)
    np.testing.assert_allclose(kl_rows, ref_kl, rtol=1e-10, atol=1e-12)
    if dim == 2:
        attr2, kl2 = np.empty_like(Y_new), np.empty(n_new)
        _gradients.attractive_forces_2d(P_csr.data, P_csr.indices.astype(np.int64),
                                        P_csr.indptr.astype(np.int64), Y_new, Y_ref, True,
                                        attr2, kl2)
        np.testing.assert_allclose(attr2, ref_attr, rtol=1e-10, atol=1e-14)
        np.testing.assert_allclose(kl2, ref_kl, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(rep, ref_rep, rtol=1e-10, atol=1e-14)
    np.testing.assert_allclose(z, ref_z, rtol=1e-10)


@given(embeddings, st.booleans())
def test_barnes_hut_with_angle_zero_equals_exact(params, duplicates):
    n, dim, scale, seed = params
    rng = np.random.RandomState(seed)
    Y = rng.normal(size=(n, dim)) * scale
    if duplicates:
        Y[: n // 2] = Y[0]
    rep, z = np.empty_like(Y), np.empty(n)
    _gradients.exact_repulsive_forces(Y, Y, True, 1.0, rep, z)
    rep_bh, z_bh = np.empty_like(Y), np.empty(n)
    from skunsup.manifold._objectives import bh_repulsion

    bh_repulsion(Y, Y, True, 0.0, rep_bh, z_bh)
    np.testing.assert_allclose(rep_bh, rep, rtol=1e-9, atol=1e-13)
    np.testing.assert_allclose(z_bh, z, rtol=1e-9)


@given(n=st.integers(1, 400), dim=st.integers(1, 3), scale=st.floats(1e-3, 1e3),
       seed=st.integers(0, 2**16), duplicates=st.booleans(), leaf_size=st.integers(1, 9),
       max_depth=st.sampled_from([2, 48]))
def test_barnes_hut_tree_is_a_partition_into_cells(n, dim, scale, seed, duplicates,
                                                   leaf_size, max_depth):
    """Every node holds the points inside its cell, in one contiguous range that its
    children split; its centre of mass is their mean; leaves are small or cannot split."""
    rng = np.random.default_rng(seed)
    Y = rng.normal(size=(n, dim)) * scale
    if duplicates:
        Y[: n // 2] = Y[0]
    perm, position, Y_sorted, start, end, first_child, n_children, com, side2 = \
        _bh_tree.build_tree(Y, leaf_size, max_depth)
    np.testing.assert_array_equal(np.sort(perm), np.arange(n))
    np.testing.assert_array_equal(position[perm], np.arange(n))
    np.testing.assert_array_equal(Y_sorted, Y[perm])
    assert (start[0], end[0]) == (0, n)
    spread = np.abs(Y).max() + 1.0
    for node in range(len(start)):
        points = Y_sorted[start[node]:end[node]]
        assert len(points) > 0
        np.testing.assert_allclose(com[node], points.mean(axis=0), rtol=1e-12,
                                   atol=1e-12 * spread)
        # the cell (side sqrt(side2)) holds its points
        assert np.ptp(points, axis=0).max() <= np.sqrt(side2[node]) * (1 + 1e-9)
        if first_child[node] < 0:
            assert n_children[node] == 0
            assert (len(points) <= leaf_size or max_depth == 2
                    or np.ptp(points, axis=0).max() <= 1e-9 * spread)
        else:
            children = range(first_child[node], first_child[node] + n_children[node])
            assert [start[c] for c in children][0] == start[node]
            assert [end[c] for c in children][-1] == end[node]
            assert all(end[a] == start[a + 1] for a in list(children)[:-1])
            assert all(side2[c] == side2[node] / 4 for c in children)


@given(n=st.integers(2, 120), scale=st.floats(1e-3, 30.0), seed=st.integers(0, 2**16),
       duplicates=st.booleans(), group_size=st.integers(1, 40),
       list_capacity=st.integers(1, 64), angle=st.sampled_from([0.0, 0.3, 0.5, 0.8, 1.5]))
def test_grouped_barnes_hut_matches_reference(n, scale, seed, duplicates, group_size,
                                              list_capacity, angle):
    """One tree walk per group of points, lists applied in pieces of ``list_capacity``."""
    rng = np.random.default_rng(seed)
    Y = rng.normal(size=(n, 2)) * scale
    if duplicates:
        Y[: n // 2] = Y[0]
    tree = BHTree(Y, leaf_size=int(rng.integers(1, 9)))
    groups = _barnes_hut.tree_groups(tree.node_i, group_size)
    covered = np.concatenate([np.arange(tree.start[g], tree.end[g]) for g in groups])
    np.testing.assert_array_equal(covered, np.arange(n))
    rep, z = np.empty((n, 2)), np.empty(n)
    _barnes_hut.bh_repulsive_forces_2d_grouped(tree.Y_sorted, tree.node_f, tree.node_i, groups,
                                               angle, 1.0, tree.max_stack, list_capacity,
                                               int(rng.integers(1, 5)), rep, z)
    ref_rep, ref_z = grouped_barnes_hut_repulsion(tree, groups, angle)
    np.testing.assert_allclose(rep, ref_rep, rtol=1e-9, atol=1e-13)
    np.testing.assert_allclose(z, ref_z, rtol=1e-9, atol=1e-13)


def _as_stored(P):
    """A sparse P as the objectives store it (float32 values), back in float64."""
    return np.asarray(P, dtype=np.float32).astype(np.float64)


@pytest.mark.parametrize("dim", [1, 2, 3])
def test_barnes_hut_objective_with_angle_zero_is_the_exact_objective(dim):
    rng = np.random.RandomState(dim)
    X = rng.normal(size=(120, 4))
    P = knn_affinities(X, 5.0).P
    Y = rng.normal(size=(120, dim)) * 5
    g_exact, g_bh = np.empty_like(Y), np.empty_like(Y)
    kl_exact = TSNEObjective(P, "exact")(Y, 2.0, True, g_exact)
    kl_bh = TSNEObjective(P, "barnes_hut", angle=0.0)(Y, 2.0, True, g_bh)
    np.testing.assert_allclose(g_bh, g_exact, rtol=1e-9, atol=1e-15)
    assert kl_bh == pytest.approx(kl_exact, rel=1e-12)
    # the objectives keep a sparse P in float32 (half the bytes to stream per
    # iteration): the reference gets the same rounded P, which no longer sums
    # to 1 exactly (the objectives' "+ log Z" assumes it does): ~1e-9 apart
    kl_ref, grad_ref = tsne_kl_and_grad(_as_stored(P.toarray()), Y)
    assert kl_exact == pytest.approx(kl_ref, rel=1e-8)


@given(n=st.integers(2, 90), density=st.floats(0.02, 0.5), seed=st.integers(0, 2**16),
       with_diagonal=st.booleans())
def test_symmetric_attraction_equals_the_full_one(n, density, seed, with_diagonal):
    """The fit's attraction from P's upper triangle (each pair once) equals the row-wise
    one over all of P, forces and KL."""
    rng = np.random.default_rng(seed)
    P = sp.random_array((n, n), density=density, random_state=seed, format="csr")
    P = sp.csr_array(P + P.T)
    if not with_diagonal:
        P.setdiag(0.0)
        P.eliminate_zeros()
    if P.nnz == 0 or P.sum() == 0:
        return
    P.data /= P.data.sum()
    Y = rng.normal(size=(n, 2)) * 4
    objective = TSNEObjective(P, "barnes_hut")
    assert objective._upper is not None
    attr = np.empty_like(Y)
    kl_part = objective._upper(Y, True, attr)
    full, kl_rows = np.empty_like(Y), np.empty(n)
    _gradients.attractive_forces_2d(objective.P_data, objective.P_indices, objective.P_indptr,
                                    Y, Y, True, full, kl_rows)
    np.testing.assert_allclose(attr, full, rtol=1e-10, atol=1e-12 * np.abs(full).max())
    assert kl_part == pytest.approx(kl_rows.sum(), rel=1e-10, abs=1e-12)


def test_asymmetric_P_keeps_the_row_wise_attraction():
    P = sp.csr_array(np.array([[0.0, 0.3], [0.7, 0.0]]))
    assert TSNEObjective(P, "barnes_hut")._upper is None


def test_barnes_hut_approximates_exact_gradient():
    rng = np.random.RandomState(0)
    n = 400
    Y = rng.normal(size=(n, 2)) * 10
    X = rng.normal(size=(n, 5))
    P = knn_affinities(X, 10.0).P
    g_exact, g_bh = np.empty_like(Y), np.empty_like(Y)
    kl_exact = TSNEObjective(P, "exact")(Y, 1.0, True, g_exact)
    kl_bh = TSNEObjective(P, "barnes_hut", angle=0.5)(Y, 1.0, True, g_bh)
    assert np.linalg.norm(g_bh - g_exact) / np.linalg.norm(g_exact) < 0.05
    assert kl_bh == pytest.approx(kl_exact, rel=0.01)


def test_tree_holds_every_point_once_and_centres_of_mass():
    rng = np.random.RandomState(1)
    Y = rng.normal(size=(300, 2))
    tree = BHTree(Y, leaf_size=1)
    assert np.array_equal(np.sort(tree.perm), np.arange(300))
    np.testing.assert_array_equal(tree.Y_sorted, Y[tree.perm])
    for node in range(len(tree.start)):
        members = tree.perm[tree.start[node]:tree.end[node]]
        np.testing.assert_allclose(tree.com[node], Y[members].mean(axis=0), atol=1e-12)
        if tree.first_child[node] >= 0:
            kids = range(tree.first_child[node], tree.first_child[node] + tree.n_children[node])
            assert sum(tree.end[k] - tree.start[k] for k in kids) == len(members)
            # every member lies inside the cell
            side = np.sqrt(tree.side2[node])
            span = Y[members].max(axis=0) - Y[members].min(axis=0)
            assert np.all(span <= side * (1 + 1e-9))


def test_gradient_matches_finite_differences():
    rng = np.random.RandomState(0)
    n, dim = 12, 2
    P = random_joint_P(rng, n)
    objective = TSNEObjective(P, "exact")

    def kl(flat):
        return objective(flat.reshape(n, dim), 1.0, True, np.empty((n, dim)))

    def grad(flat):
        out = np.empty((n, dim))
        objective(flat.reshape(n, dim), 1.0, False, out)
        return out.ravel()

    y0 = rng.normal(size=n * dim)
    assert check_grad(kl, grad, y0) / np.linalg.norm(grad(y0)) < 1e-5


def test_new_points_gradient_matches_reference_and_finite_differences():
    rng = np.random.RandomState(3)
    Y_ref = rng.normal(size=(40, 2)) * 3
    Y_new = rng.normal(size=(6, 2)) * 3
    P_new = rng.random_sample((6, 40)) * (rng.random_sample((6, 40)) < 0.3)
    P_new[:, 0] += 0.1
    P_new /= P_new.sum(axis=1, keepdims=True)
    for method in ("exact", "barnes_hut"):
        objective = TSNEObjective(sp.csr_array(P_new), method, angle=0.0, Y_ref=Y_ref)
        grad = np.empty_like(Y_new)
        kl = objective(Y_new, 1.0, True, grad)
        kl_ref, grad_ref = new_points_kl_and_grad(_as_stored(P_new), Y_new, Y_ref)
        assert kl == pytest.approx(kl_ref, rel=1e-8)  # float32 P, see above
        np.testing.assert_allclose(grad, grad_ref, rtol=1e-9, atol=1e-13)

    def f(flat):
        return objective(flat.reshape(6, 2), 1.0, True, np.empty((6, 2)))

    def g(flat):
        out = np.empty((6, 2))
        objective(flat.reshape(6, 2), 1.0, False, out)
        return out.ravel()

    assert check_grad(f, g, Y_new.ravel()) / np.linalg.norm(g(Y_new.ravel())) < 1e-5


# ---------------------------------------------------------------------------
# Affinities
# ---------------------------------------------------------------------------


@given(st.integers(8, 60), st.floats(1.5, 6.0), st.floats(1e-3, 1e3), st.integers(0, 2**31 - 1))
def test_calibrated_entropies_equal_log_perplexity(n, perplexity, scale, seed):
    rng = np.random.RandomState(seed)
    X = rng.normal(size=(n, 4)) * scale
    for aff in (exact_affinities(X, perplexity), knn_affinities(X, perplexity)):
        np.testing.assert_allclose(aff.entropies, np.log(perplexity), atol=1e-5)


def test_calibration_matches_reference_bisection():
    rng = np.random.RandomState(0)
    D = rng.random_sample((5, 30)) * 3
    D[:, 0] = np.inf
    P, entropies, _ = _affinity._calibrate(np.sqrt(D), 7.0, None)
    for i in range(5):
        row = D[i] / np.sqrt(D[i][np.isfinite(D[i])]).max() ** 2
        np.testing.assert_allclose(P[i], conditional_row(row, 7.0), atol=1e-8)
    assert np.all(P[:, 0] == 0)


@given(n=st.integers(12, 50), scales=st.lists(st.floats(1.5, 3.5), min_size=1, max_size=3),
       seed=st.integers(0, 2**31 - 1))
def test_multiscale_affinities_are_the_mean_of_the_scales(n, scales, seed):
    """A list of perplexities: each conditional row is the mean of the rows calibrated
    to every perplexity (reference bisection), over the neighbours of the largest."""
    rng = np.random.RandomState(seed)
    X = rng.normal(size=(n, 3))
    D = cdist(X, X) ** 2
    np.fill_diagonal(D, np.inf)
    conditional = exact_affinities(X, scales, symmetrize=False).P
    for i in range(n):
        row = D[i] / D[i][np.isfinite(D[i])].max()
        expected = np.mean([conditional_row(row, p) for p in scales], axis=0)
        np.testing.assert_allclose(conditional[i], expected, atol=1e-7)
    sparse = knn_affinities(X, scales)
    k = _affinity.n_neighbors_for(scales, n)
    assert k == min(n - 1, int(np.floor(3 * max(scales))))
    assert sparse.P.shape == (n, n) and np.isclose(sparse.P.sum(), 1.0)


def test_multiscale_perplexity_fits_and_is_validated():
    X = np.random.RandomState(0).normal(size=(120, 4))
    tsne = TSNE(perplexity=[5, 30], method="barnes_hut", max_iter=250, random_state=0)
    assert tsne.fit_transform(X).shape == (120, 2)
    assert tsne.transform(X[:4]).shape == (4, 2)
    # one scale in a list is that perplexity
    params = dict(method="barnes_hut", max_iter=250, random_state=0)
    np.testing.assert_array_equal(TSNE(perplexity=[10.0], **params).fit_transform(X),
                                  TSNE(perplexity=10.0, **params).fit_transform(X))
    for bad in ([], [5, -1], [[5, 10]]):
        with pytest.raises(ValueError, match="perplexity must be a positive number"):
            TSNE(perplexity=bad, max_iter=250).fit(X)
    with pytest.raises(ValueError, match="must be less than n_samples"):
        TSNE(perplexity=[5, 200], max_iter=250).fit(X)


def test_joint_affinities_are_symmetric_and_normalised():
    X = np.random.RandomState(0).normal(size=(80, 6))
    dense = exact_affinities(X, 10.0).P
    sparse = knn_affinities(X, 10.0).P
    for P in (dense, sparse.toarray()):
        np.testing.assert_allclose(P, P.T, atol=1e-15)
        assert P.min() >= 0 and np.all(np.diag(P) == 0)
        assert P.sum() == pytest.approx(1.0)
    # with all n - 1 neighbours, the kNN affinities are the exact ones
    full = knn_affinities(X, 26.5).P.toarray()
    np.testing.assert_allclose(full, exact_affinities(X, 26.5).P, atol=1e-12)


def test_affinities_survive_duplicates_and_outliers():
    rng = np.random.RandomState(0)
    X = np.vstack([np.zeros((15, 3)), rng.normal(size=(30, 3)), [[1e8, 1e8, 1e8]]])
    for aff in (exact_affinities(X, 5.0), knn_affinities(X, 5.0)):
        P = aff.P.toarray() if sp.issparse(aff.P) else aff.P
        assert np.all(np.isfinite(P)) and P.sum() == pytest.approx(1.0)
        assert P[-1].sum() > 0  # the outlier keeps neighbours
    P_new = knn_affinities(X, 5.0).to_new(np.array([[0.0, 0.0, 0.0], [5e7, 5e7, 5e7]]))
    np.testing.assert_allclose(P_new.sum(axis=1), 1.0)


def test_precomputed_affinities_equal_euclidean():
    X = np.random.RandomState(0).normal(size=(50, 4))
    D = cdist(X, X)
    a, b = knn_affinities(X, 5.0).P, knn_affinities(D, 5.0, metric="precomputed").P
    np.testing.assert_allclose(a.toarray(), b.toarray(), atol=1e-12)
    new = np.random.RandomState(1).normal(size=(4, 4))
    np.testing.assert_allclose(
        knn_affinities(X, 5.0).to_new(new).toarray(),
        knn_affinities(D, 5.0, metric="precomputed").to_new(cdist(new, X)).toarray(),
        rtol=1e-5, atol=1e-12,  # the two neighbour searches round distances differently
    )


# ---------------------------------------------------------------------------
# The estimator
# ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def digits_split():
    X, y = load_digits(return_X_y=True)
    order = np.random.RandomState(0).permutation(len(X))
    train, test = order[:1500], order[1500:]
    tsne = TSNE(method="barnes_hut", max_iter=500, random_state=0).fit(X[train])
    return X, y, train, test, tsne


def test_digits_trustworthiness(digits_split):
    X, _, train, _, tsne = digits_split
    assert trustworthiness(X[train], tsne.embedding_, n_neighbors=10) >= 0.97
    assert tsne.n_iter_ <= 1000 and np.isfinite(tsne.kl_divergence_)
    assert tsne.learning_rate_ == pytest.approx(max(1500 / 12 / 4, 50))
    assert tsne.n_iter_ <= 500


def test_transform_places_held_out_digits_among_their_class(digits_split):
    X, y, train, test, tsne = digits_split
    Y_new = tsne.transform(X[test])
    assert Y_new.shape == (len(test), 2) and np.all(np.isfinite(Y_new))
    nn = NearestNeighbors(n_neighbors=10).fit(tsne.embedding_)
    neighbours = nn.kneighbors(Y_new, return_distance=False)
    majority = np.array([np.bincount(y[train][row], minlength=10).argmax()
                         for row in neighbours])
    assert np.mean(majority == y[test]) >= 0.90
    # a point's position does not depend on the batch it comes in
    np.testing.assert_array_equal(tsne.transform(X[test[:7]]), Y_new[:7])


def test_kl_divergence_is_that_of_the_returned_embedding():
    X = np.random.RandomState(0).normal(size=(60, 4))
    tsne = TSNE(perplexity=8, method="exact", max_iter=300, random_state=0).fit(X)
    kl, _ = tsne_kl_and_grad(tsne._affinities.P, tsne.embedding_)
    assert tsne.kl_divergence_ == pytest.approx(kl, rel=1e-10)


@pytest.mark.parametrize("method", ["barnes_hut", "exact"])
def test_result_does_not_depend_on_thread_count(method):
    X = np.random.RandomState(0).normal(size=(150, 5))
    params = dict(perplexity=10, method=method, max_iter=120, random_state=0)
    one = TSNE(n_jobs=1, **params).fit(X)
    two = TSNE(n_jobs=2, **params).fit(X)
    np.testing.assert_array_equal(one.embedding_, two.embedding_)
    assert one.kl_divergence_ == two.kl_divergence_
    np.testing.assert_array_equal(one.transform(X[:20] + 0.1), two.transform(X[:20] + 0.1))


def test_exact_and_barnes_hut_in_1d_and_3d():
    X = np.random.RandomState(0).normal(size=(60, 5))
    for n_components in (1, 3):
        for method in ("barnes_hut", "exact"):
            Y = TSNE(n_components, perplexity=10, method=method, max_iter=100,
                     random_state=0).fit_transform(X)
            assert Y.shape == (60, n_components) and np.all(np.isfinite(Y))


def test_precomputed_metric_gives_the_euclidean_map():
    X = np.random.RandomState(0).normal(size=(80, 5))
    params = dict(perplexity=10, max_iter=300, random_state=0, init="random", method="exact")
    a = TSNE(**params).fit(X)
    b = TSNE(metric="precomputed", **params).fit(cdist(X, X))
    np.testing.assert_allclose(a.embedding_, b.embedding_, atol=1e-6)
    np.testing.assert_allclose(a.transform(X[:5] + 0.1), b.transform(cdist(X[:5] + 0.1, X)),
                               atol=1e-8)
    # 'pca' with distances is classical MDS
    assert TSNE(metric="precomputed", perplexity=10, max_iter=250).fit(cdist(X, X)).n_iter_


def test_other_metric_and_float32():
    X = np.random.RandomState(0).random_sample((70, 6)).astype(np.float32)
    Y = TSNE(perplexity=8, metric="cosine", max_iter=250, random_state=0).fit_transform(X)
    assert Y.dtype == np.float64 and np.all(np.isfinite(Y))


@pytest.mark.parametrize("X", [np.zeros((30, 4)), np.random.RandomState(0).normal(
    size=(30, 4)) * 1e-300, np.random.RandomState(0).normal(size=(30, 4)) * 1e120])
def test_degenerate_scales_give_finite_maps(X):
    tsne = TSNE(perplexity=5, max_iter=250, random_state=0).fit(X)
    assert np.all(np.isfinite(tsne.embedding_)) and np.isfinite(tsne.kl_divergence_)
    assert np.all(np.isfinite(tsne.transform(X[:3])))


def test_init_array_is_used_and_not_modified():
    X = np.random.RandomState(0).normal(size=(40, 3))
    init = np.random.RandomState(1).normal(size=(40, 2)) * 1e-4
    kept = init.copy()
    a = TSNE(perplexity=5, init=init, max_iter=250).fit(X)
    b = TSNE(perplexity=5, init=init, max_iter=250, random_state=123).fit(X)
    np.testing.assert_array_equal(init, kept)
    np.testing.assert_array_equal(a.embedding_, b.embedding_)


def test_max_iter_and_learning_rate_reach_the_optimiser():
    X = np.random.RandomState(0).normal(size=(50, 3))
    tsne = TSNE(perplexity=5, max_iter=300, learning_rate=20.0, min_grad_norm=0.0,
                n_iter_without_progress=None, random_state=0).fit(X)
    assert tsne.n_iter_ == 300 and tsne.learning_rate_ == 20.0


def test_verbose_reports_progress(capsys):
    X = np.random.RandomState(0).normal(size=(50, 3))
    TSNE(perplexity=5, max_iter=250, verbose=2, min_grad_norm=0.0, random_state=0).fit(X)
    out = capsys.readouterr().out
    assert "Iteration 100 (main): error = " in out and "[t-SNE] KL divergence after" in out


def test_optimizer_stops_on_non_finite_gradient_and_keeps_last_embedding():
    calls = []

    def objective(Y, exaggeration, compute_kl, grad_out):
        calls.append(1)
        grad_out[:] = np.nan if len(calls) > 3 else Y
        objective.last_grad_norm2 = float(np.sum(grad_out**2))
        return 0.0

    Y = np.ones((4, 2))
    with pytest.warns(ConvergenceWarning, match="non-finite"):
        result = GradientDescent()(Y, objective, 10, 0.1, 0.5)
    assert result.reason == "non_finite" and result.n_iter == 3 and np.all(np.isfinite(Y))


def test_ctrl_c_keeps_a_usable_embedding():
    calls = []

    def objective(Y, exaggeration, compute_kl, grad_out):
        calls.append(1)
        if len(calls) > 5:
            raise KeyboardInterrupt
        grad_out[:] = Y
        objective.last_grad_norm2 = float(np.sum(grad_out**2))
        return 0.0

    Y = np.ones((4, 2))
    with pytest.warns(UserWarning, match="interrupted"):
        result = GradientDescent()(Y, objective, 10, 0.1, 0.5)
    assert result.reason == "interrupted" and np.all(np.isfinite(Y))


# ---------------------------------------------------------------------------
# Bad input
# ---------------------------------------------------------------------------


def _X(n=30, d=4):
    return np.random.RandomState(0).normal(size=(n, d))


@pytest.mark.parametrize(
    "params, X, match",
    [
        (dict(perplexity=30), _X(30), "perplexity .* must be less than n_samples"),
        (dict(perplexity=5, n_components=4, method="barnes_hut"), _X(),
         "n_components in \\{1, 2, 3\\}"),
        (dict(perplexity=5, metric="precomputed"), _X(30, 4), "square"),
        (dict(perplexity=5, metric="precomputed"), -np.abs(cdist(_X(), _X())), "Negative"),
        (dict(perplexity=5), np.where(_X() > 1, np.nan, _X()), "NaN"),
        (dict(perplexity=5), np.where(_X() > 1, np.inf, _X()), "infinity"),
        (dict(perplexity=0.5), _X(1), "1 sample"),
        (dict(perplexity=5, init=np.zeros((29, 2))), _X(), "init array has shape"),
        (dict(perplexity=5, method="fast"), _X(), "method"),
        (dict(perplexity=-1), _X(), "perplexity"),
    ],
)
def test_bad_input_is_refused_clearly(params, X, match):
    with pytest.raises(ValueError, match=match):
        TSNE(**params).fit(X)


def test_exact_method_refuses_sizes_that_would_not_fit(monkeypatch):
    monkeypatch.setattr(_affinity, "available_memory", lambda: 1000 * 8 * 4)
    with pytest.raises(ValueError, match="method='barnes_hut'"):
        TSNE(method="exact", perplexity=5).fit(_X(100))


def test_transform_checks_its_input(digits_split):
    X, _, _, _, tsne = digits_split
    with pytest.raises(ValueError, match="features"):
        tsne.transform(X[:3, :10])
    with pytest.raises(ValueError, match="NaN"):
        tsne.transform(np.full((2, 64), np.nan))
    from sklearn.exceptions import NotFittedError

    with pytest.raises(NotFittedError):
        TSNE().transform(X[:3])


def test_no_warnings_on_a_normal_fit():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        TSNE(perplexity=5, max_iter=250, random_state=0).fit(_X())


# --------------------------------------------------------------- callbacks and optimize


@pytest.mark.parametrize("Estimator", [TSNE, SNE])
@pytest.mark.parametrize("reordered", [False, True])
def test_callbacks_see_the_map_at_the_documented_iterations(Estimator, reordered,
                                                            monkeypatch):
    """Called every callbacks_every_iters iterations over both phases, with the estimator,
    the KL of the map and a copy of the map in the samples' order; True stops the fit
    with that very map."""
    from skunsup.manifold import _base

    if reordered:  # the optimiser's points renumbered for locality (done above 200,000)
        monkeypatch.setattr(_base, "LOCALITY_MIN_SAMPLES", 0)
    X = np.random.RandomState(0).normal(size=(120, 4))
    calls = []

    def record(estimator, iteration, kl, embedding):
        calls.append((estimator, iteration, kl, embedding.copy()))
        embedding += 1.0  # a copy: the fit does not see this
        return iteration >= 160

    # min_grad_norm=0: SNE's tiny gradients would end this fit near iteration 80
    params = dict(perplexity=10, max_iter=1000, random_state=0, n_iter_without_progress=None,
                  min_grad_norm=0.0)
    if Estimator is TSNE:
        params["method"] = "barnes_hut"
    est = Estimator(callbacks=[record], callbacks_every_iters=40, **params).fit(X)
    assert [c[1] for c in calls] == [40, 80, 120, 160]
    assert all(c[0] is est for c in calls)
    assert est.n_iter_ == 159 and est._stop_reason == "callback"
    # the last map seen is the fitted map (the callback's +1 was on its copy)
    np.testing.assert_array_equal(calls[-1][3], est.embedding_)
    # a callback that does not stop changes nothing of the fit
    quiet = Estimator(**params).fit(X)
    watched = Estimator(callbacks=lambda *args: None, callbacks_every_iters=40,
                        **params).fit(X)
    np.testing.assert_array_equal(watched.embedding_, quiet.embedding_)


def test_callbacks_are_validated():
    X = np.random.RandomState(0).normal(size=(40, 3))
    with pytest.raises(TypeError, match="callbacks must be"):
        TSNE(perplexity=5, callbacks=[1], max_iter=250).fit(X)
    with pytest.raises(ValueError, match="callbacks_every_iters"):
        TSNE(perplexity=5, callbacks_every_iters=0, max_iter=250).fit(X)


@pytest.mark.parametrize("method", ["exact", "barnes_hut", "fft"])
def test_optimize_continues_the_fit_exactly(method):
    """fit(max_iter=1000) then optimize(100) is the fit with max_iter=1100: same state,
    same schedule (both exaggerate 250 iterations), the same map to the last bit."""
    X = np.random.RandomState(1).normal(size=(150, 4))
    params = dict(perplexity=10, method=method, random_state=0, n_iter_without_progress=None)
    whole = TSNE(max_iter=1100, **params).fit(X)
    continued = TSNE(max_iter=1000, **params).fit(X).optimize(100)
    assert continued.n_iter_ == whole.n_iter_ == 1100
    np.testing.assert_array_equal(continued.embedding_, whole.embedding_)
    assert continued.kl_divergence_ == whole.kl_divergence_


def test_optimize_with_exaggeration_separates_and_can_be_stopped():
    X = np.random.RandomState(2).normal(size=(150, 4))
    tsne = TSNE(perplexity=10, method="barnes_hut", random_state=0, max_iter=500).fit(X)
    spread = np.ptp(tsne.embedding_, axis=0).max()
    tsne.optimize(200, exaggeration=4.0)
    # exaggerating P pulls the map together (Kobak & Berens 2019)
    assert np.ptp(tsne.embedding_, axis=0).max() < spread
    assert tsne.n_iter_ == 700
    iterations = []
    tsne.optimize(200, callbacks=lambda est, it, kl, Y: iterations.append(it) or it >= 800,
                  callbacks_every_iters=50)
    assert iterations == [750, 800] and tsne.n_iter_ == 799
    with pytest.raises(ValueError, match="n_iter"):
        tsne.optimize(0)
    with pytest.raises(ValueError, match="learning_rate"):
        tsne.optimize(10, learning_rate=-1.0)


def test_main_phase_exaggeration_of_one_is_the_default():
    X = np.random.RandomState(3).normal(size=(100, 4))
    params = dict(perplexity=10, method="barnes_hut", random_state=0, max_iter=400)
    np.testing.assert_array_equal(TSNE(exaggeration=1.0, **params).fit_transform(X),
                                  TSNE(**params).fit_transform(X))
    assert not np.array_equal(TSNE(exaggeration=2.0, **params).fit_transform(X),
                              TSNE(**params).fit_transform(X))
