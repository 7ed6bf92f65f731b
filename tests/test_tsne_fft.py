"""FFT-accelerated interpolation (FIt-SNE) repulsion against the exact sums.

Documented accuracy (relative Frobenius error of the forces ``sum_j w_ij^2
(y_i - y_j)``, relative error of ``Z = sum_{i != j} w_ij``):

* defaults (3 nodes per interval, intervals at most 1 unit wide): forces
  within 0.2 on any map of 20 points or more, within 0.03 on dense
  clustered maps like t-SNE's; Z within 3e-2 (1e-3 on dense maps). The worst
  cases are sparse maps of few points, where one or two close pairs carry
  the whole force and Z is a few interpolated kernel values (TSNE does not
  use the FFT below a few hundred points).
* intervals of half a unit (``intervals_per_unit=2``): forces within 0.05, Z
  within 5e-3 — the error falls with the grid spacing (about as its cube).
"""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from skunsup.manifold._interpolation import (
    FFTReferenceRepulsion,
    FFTRepulsion,
    check_fft_components,
    fft_repulsion,
    fft_repulsive_forces,
    make_fft_workspace,
)
from skunsup.manifold._interpolation_grid import choose_n_intervals
from skunsup.utils._numba import numba_threads
from tests.reference.tsne_fft import exact_repulsion


def _errors(Y, **kwargs):
    F, Z = fft_repulsive_forces(Y, **kwargs)
    Fe, Ze = exact_repulsion(Y)
    scale = np.linalg.norm(Fe)
    force_err = np.linalg.norm(F - Fe) / scale if scale > 0 else np.linalg.norm(F)
    z_err = abs(Z - Ze) / Ze if Ze > 0 else abs(Z)
    return force_err, z_err


def _embedding(seed, n, dim, extent, kind):
    rng = np.random.default_rng(seed)
    if kind == "uniform":
        return rng.uniform(0.0, extent, size=(n, dim))
    if kind == "normal":
        return rng.normal(size=(n, dim)) * (extent / 4.0)
    centres = rng.uniform(0.0, extent, size=(5, dim))
    return centres[rng.integers(0, 5, n)] + rng.normal(size=(n, dim)) * (extent / 20.0)


@given(
    n=st.integers(20, 300),
    dim=st.sampled_from([1, 2]),
    extent=st.floats(1e-2, 200.0),
    min_intervals=st.integers(10, 100),
    kind=st.sampled_from(["uniform", "normal", "clusters"]),
    seed=st.integers(0, 2**16),
)
def test_fft_matches_exact_within_documented_error(n, dim, extent, min_intervals, kind, seed):
    Y = _embedding(seed, n, dim, extent, kind)
    force_err, z_err = _errors(Y, min_intervals=min_intervals)
    assert force_err < 0.2
    assert z_err < 3e-2


@given(
    n=st.integers(20, 300),
    dim=st.sampled_from([1, 2]),
    extent=st.floats(1.0, 120.0),
    kind=st.sampled_from(["uniform", "normal", "clusters"]),
    seed=st.integers(0, 2**16),
)
def test_finer_grid_is_more_accurate(n, dim, extent, kind, seed):
    Y = _embedding(seed, n, dim, extent, kind)
    force_err, z_err = _errors(Y, intervals_per_unit=2.0)
    assert force_err < 0.05
    assert z_err < 5e-3


@pytest.mark.parametrize("dim", [1, 2])
def test_dense_map_accuracy(dim):
    # a t-SNE-like map: a few dense clusters tens of units apart
    Y = _embedding(0, 2500, dim, 60.0, "clusters")
    force_err, z_err = _errors(Y)
    assert force_err < 0.03
    assert z_err < 1e-3


def test_error_falls_with_grid_spacing():
    Y = _embedding(1, 1500, 2, 40.0, "normal")
    errors = [_errors(Y, intervals_per_unit=ipu)[0] for ipu in (1.0, 2.0, 4.0)]
    assert errors[0] > errors[1] > errors[2]
    assert errors[2] < errors[0] / 10


@pytest.mark.parametrize("dim", [1, 2])
def test_small_maps_are_nearly_exact(dim):
    # a map that spans less than one unit sits on a 50-interval grid: tiny error
    Y = _embedding(2, 200, dim, 0.5, "uniform")
    force_err, z_err = _errors(Y)
    assert force_err < 1e-4
    assert z_err < 1e-5


def test_one_and_two_points():
    F, Z = fft_repulsive_forces(np.array([[3.0, -1.0]]))
    np.testing.assert_allclose(F, 0.0, atol=1e-6)
    assert abs(Z) < 1e-6
    F, Z = fft_repulsive_forces(np.array([[0.0, 0.0], [1.0, 0.0]]))
    np.testing.assert_allclose(F, [[-0.25, 0.0], [0.25, 0.0]], atol=1e-5)
    assert Z == pytest.approx(1.0, rel=1e-4)


def test_duplicate_points():
    Y = np.zeros((10, 2))
    F, Z = fft_repulsive_forces(Y)
    np.testing.assert_allclose(F, 0.0, atol=1e-6)
    assert Z == pytest.approx(90.0, rel=1e-5)


@pytest.mark.parametrize("dim", [1, 2])
def test_reference_repulsion_matches_exact(dim):
    rng = np.random.default_rng(3)
    Y_ref = _embedding(3, 1500, dim, 40.0, "clusters")
    repulsion = FFTReferenceRepulsion(Y_ref)
    for spread in (30.0, 80.0):  # the second batch leaves the first grid
        Y_new = rng.uniform(-spread / 4, spread, size=(40, dim))
        rep, z = np.empty_like(Y_new), np.empty(40)
        Z = repulsion(Y_new, rep, z)
        rep_exact, Z_exact = exact_repulsion(Y_new, Y_ref)
        assert np.linalg.norm(rep - rep_exact) / np.linalg.norm(rep_exact) < 0.05
        assert Z == pytest.approx(Z_exact, rel=1e-3)
        assert Z == pytest.approx(z.sum())


def test_per_point_normalisers_match_exact():
    Y = _embedding(4, 800, 2, 30.0, "clusters")
    rep, z = np.empty_like(Y), np.empty(800)
    Z = FFTRepulsion(2)(Y, rep, z)
    diff = Y[:, None, :] - Y[None, :, :]
    w = 1.0 / (1.0 + (diff**2).sum(-1))
    np.fill_diagonal(w, 0.0)
    np.testing.assert_allclose(z, w.sum(1), rtol=5e-3)
    assert Z == pytest.approx(w.sum(), rel=1e-3)


@pytest.mark.parametrize("dim", [1, 2])
def test_identical_for_any_thread_count(dim):
    Y = _embedding(5, 20000, dim, 50.0, "clusters")
    results = []
    for n_threads in (1, 2):
        with numba_threads(n_threads):
            rep, z = np.empty_like(Y), np.empty(len(Y))
            FFTRepulsion(dim)(Y, rep, z)
            results.append((rep, z))
    np.testing.assert_array_equal(results[0][0], results[1][0])
    np.testing.assert_array_equal(results[0][1], results[1][1])


def test_grid_is_reused_while_the_map_fits():
    Y = _embedding(6, 500, 2, 20.0, "normal")
    repulsion = FFTRepulsion(2)
    rep, z = np.empty_like(Y), np.empty(500)
    repulsion(Y, rep, z)
    order = repulsion._order
    repulsion(Y * 1.01, rep, z)
    assert repulsion.n_grids_built == 1
    assert repulsion._order is order  # no n-sized allocation per call
    repulsion(Y * 1.5, rep, z)  # grown out of the grid
    assert repulsion.n_grids_built == 2
    repulsion(Y * 0.2, rep, z)  # shrunk far inside it: a finer grid
    assert repulsion.n_grids_built == 3


def test_fft_repulsion_calling_convention():
    Y = _embedding(7, 300, 2, 10.0, "normal")
    workspace = make_fft_workspace()
    rep, z = np.empty_like(Y), np.empty(300)
    fft_repulsion(Y, Y, True, 0.5, rep, z, tree=workspace)
    rep2, z2 = np.empty_like(Y), np.empty(300)
    fft_repulsion(Y, Y, True, 0.5, rep2, z2)
    np.testing.assert_allclose(rep, rep2, rtol=1e-2, atol=1e-3 * np.abs(rep).max())
    rep_exact, Z_exact = exact_repulsion(Y)
    assert z.sum() == pytest.approx(Z_exact, rel=1e-3)
    # new points against a reference
    Y_new = Y[:5] + 0.1
    rep_new, z_new = np.empty_like(Y_new), np.empty(5)
    fft_repulsion(Y_new, Y, False, 0.5, rep_new, z_new, tree=make_fft_workspace(Y))
    rep_exact, Z_exact = exact_repulsion(Y_new, Y)
    assert z_new.sum() == pytest.approx(Z_exact, rel=1e-3)


def test_choose_n_intervals():
    assert choose_n_intervals(3.0, 2) == 50
    assert choose_n_intervals(300.2, 2) == 301
    assert choose_n_intervals(1e9, 2) == 1024
    assert choose_n_intervals(np.inf, 1) == 2**17
    assert choose_n_intervals(10.0, 2, intervals_per_unit=10, min_intervals=5) == 100


def test_bad_input_is_refused_clearly():
    with pytest.raises(ValueError, match="n_components 1 or 2"):
        check_fft_components(3)
    with pytest.raises(ValueError, match="n_components 1 or 2"):
        FFTRepulsion(3)
    with pytest.raises(ValueError, match="NaN or infinite"):
        fft_repulsive_forces(np.array([[0.0, np.nan], [1.0, 1.0]]))
    with pytest.raises(ValueError, match="non-empty"):
        fft_repulsive_forces(np.zeros((0, 2)))
    repulsion = FFTRepulsion(2)
    with pytest.raises(ValueError, match="shape"):
        repulsion(np.zeros((5, 1)), np.zeros((5, 1)), np.zeros(5))
    with pytest.raises(ValueError, match="rep_out"):
        repulsion(np.zeros((5, 2)), np.zeros((4, 2)), np.zeros(5))
    with pytest.raises(ValueError, match="n_interpolation_points"):
        FFTRepulsion(2, n_interpolation_points=0)


# --------------------------------------------------------------------------
# TSNE(method="fft") and method="auto"
# --------------------------------------------------------------------------
import warnings  # noqa: E402

import scipy.sparse as sp  # noqa: E402
from sklearn.datasets import load_digits  # noqa: E402
from sklearn.manifold import trustworthiness  # noqa: E402

from skunsup.manifold import TSNE, _base  # noqa: E402
from skunsup.manifold._affinity import knn_affinities  # noqa: E402
from skunsup.manifold._locality import locality_order, permute_symmetric  # noqa: E402
from skunsup.manifold._objectives import FFTObjective, TSNEObjective  # noqa: E402


_N_TRAIN = 1000  # digits used to fit; the rest are transformed


@pytest.fixture(scope="module")
def digits():
    X, y = load_digits(return_X_y=True)
    return X / 16.0, y


@pytest.fixture(scope="module")
def digits_maps(digits):
    X, _ = digits
    maps = {}
    for method in ("fft", "barnes_hut"):
        tsne = TSNE(method=method, max_iter=400, random_state=0, n_jobs=2)
        maps[method] = (tsne, tsne.fit_transform(X[:_N_TRAIN]))
    return maps


def test_fft_quality_on_digits_matches_barnes_hut(digits, digits_maps):
    X, _ = digits
    trust = {m: trustworthiness(X[:_N_TRAIN], Y, n_neighbors=10) for m, (_, Y) in digits_maps.items()}
    assert trust["fft"] >= 0.97
    assert abs(trust["fft"] - trust["barnes_hut"]) <= 0.01
    tsne = digits_maps["fft"][0]
    assert tsne._method == "fft"
    # the KL from the FFT's normaliser is the exact KL of the map's Q (same P)
    Y = tsne.embedding_
    exact = TSNEObjective(tsne._affinities.P, "exact")
    kl_exact = exact(Y, 1.0, True, np.empty_like(Y))
    assert tsne.kl_divergence_ == pytest.approx(kl_exact, rel=2e-3)


def test_fft_transform_places_new_digits_with_their_class(digits, digits_maps):
    X, y = digits
    tsne, Y = digits_maps["fft"]
    Y_new = tsne.transform(X[_N_TRAIN:])
    assert Y_new.shape == (X.shape[0] - _N_TRAIN, 2) and np.isfinite(Y_new).all()
    d = ((Y_new[:, None, :] - Y[None, :, :]) ** 2).sum(-1)
    nearest = np.argsort(d, axis=1)[:, :10]
    votes = np.array([np.bincount(y[:_N_TRAIN][row], minlength=10).argmax()
                      for row in nearest])
    assert np.mean(votes == y[_N_TRAIN:]) >= 0.9


def test_fft_objective_matches_exact_objective():
    rng = np.random.default_rng(0)
    n = 600
    Y = _embedding(8, n, 2, 20.0, "clusters")
    P = sp.random(n, n, density=0.05, random_state=0, format="csr")
    P = sp.csr_array(P + P.T)
    P.data /= P.data.sum()
    for exaggeration in (1.0, 12.0):
        g_fft, g_exact = np.empty_like(Y), np.empty_like(Y)
        kl_fft = FFTObjective(P)(Y, exaggeration, True, g_fft)
        kl_exact = TSNEObjective(P, "exact")(Y, exaggeration, True, g_exact)
        assert kl_fft == pytest.approx(kl_exact, rel=1e-3)
        assert np.linalg.norm(g_fft - g_exact) / np.linalg.norm(g_exact) < 0.03
    # new points against a fixed map: one normaliser per new point
    Y_new = rng.normal(size=(20, 2)) * 5
    P_new = sp.csr_array(sp.random(20, n, density=0.05, random_state=1, format="csr"))
    P_new = sp.csr_array(P_new.multiply(1.0 / P_new.sum(axis=1)[:, None]))
    g_fft, g_exact = np.empty_like(Y_new), np.empty_like(Y_new)
    kl_fft = FFTObjective(P_new, Y_ref=Y)(Y_new, 1.0, True, g_fft)
    kl_exact = TSNEObjective(P_new, "exact", Y_ref=Y)(Y_new, 1.0, True, g_exact)
    assert kl_fft == pytest.approx(kl_exact, rel=1e-3)
    assert np.linalg.norm(g_fft - g_exact) / np.linalg.norm(g_exact) < 0.05


def test_auto_method_by_size_and_dimension():
    X = np.random.default_rng(0).normal(size=(1000, 4))
    cases = [(200, 2, "exact"), (1000, 2, "barnes_hut"), (149_999, 2, "barnes_hut"),
             (150_000, 2, "fft"), (1000, 1, "fft"), (1000, 3, "barnes_hut"),
             (10**6, 3, "barnes_hut"), (1000, 4, "exact")]
    for n, dim, expected in cases:
        assert TSNE(n_components=dim)._resolve_method(n) == expected
    tsne = TSNE(max_iter=250, random_state=0).fit(X)
    assert tsne._method == "barnes_hut"
    assert np.isfinite(tsne.embedding_).all() and np.isfinite(tsne.kl_divergence_)


def test_fft_refuses_three_components_and_falls_back_for_tiny_n():
    X = np.random.default_rng(0).normal(size=(150, 3))
    with pytest.raises(ValueError, match="n_components 1 or 2"):
        TSNE(n_components=3, method="fft").fit(X)
    with pytest.warns(UserWarning, match="using method='exact'"):
        tsne = TSNE(method="fft", perplexity=5, max_iter=250, random_state=0).fit(X[:40])
    assert tsne._method == "exact" and tsne.embedding_.shape == (40, 2)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        Y = TSNE(n_components=1, method="fft", perplexity=10, max_iter=250,
                 random_state=0).fit_transform(X)
    assert Y.shape == (150, 1) and np.isfinite(Y).all()


def test_permute_symmetric_matches_fancy_indexing():
    rng = np.random.default_rng(3)
    P = sp.random_array((60, 60), density=0.1, random_state=4, format="csr")
    P = sp.csr_array(P + P.T)
    order = rng.permutation(60)
    permuted = permute_symmetric(P, order)
    assert permuted.has_sorted_indices
    np.testing.assert_array_equal(permuted.toarray(), P.toarray()[order][:, order])


@pytest.mark.parametrize("method", ["fft", "barnes_hut"])
def test_locality_order_gives_the_same_gradient(digits, method):
    """The objective on renumbered points is the renumbered objective (to rounding)."""
    X = digits[0][:400]
    P = knn_affinities(X, 30.0, random_state=0).P
    Y = np.random.default_rng(0).normal(scale=5.0, size=(400, 2))
    order = locality_order(P)
    make = {"fft": FFTObjective, "barnes_hut": lambda P: TSNEObjective(P, "barnes_hut", 0.5)}
    grad, grad_reordered = np.empty_like(Y), np.empty_like(Y)
    kl = make[method](P)(Y, 1.0, True, grad)
    kl_reordered = make[method](permute_symmetric(P, order))(
        np.ascontiguousarray(Y[order]), 1.0, True, grad_reordered)
    # the FFT sums its grid in float32 and P is float32: rounding at ~1e-7
    np.testing.assert_allclose(grad_reordered, grad[order], rtol=1e-5,
                               atol=1e-5 * np.abs(grad).max())
    assert kl_reordered == pytest.approx(kl, rel=1e-6)


def test_locality_order_keeps_the_map_quality(digits, monkeypatch):
    """A fit on renumbered points (done above LOCALITY_MIN_SAMPLES) returns its map in the
    data's order, as good as without (the float sums' order differs, so not the same map)."""
    X = digits[0][:600]
    params = dict(max_iter=500, random_state=0, n_jobs=2)
    plain = TSNE(**params).fit_transform(X)
    monkeypatch.setattr(_base, "LOCALITY_MIN_SAMPLES", 0)
    reordered = TSNE(**params).fit_transform(X)
    assert trustworthiness(X, reordered, n_neighbors=10) == pytest.approx(
        trustworthiness(X, plain, n_neighbors=10), abs=0.01)
