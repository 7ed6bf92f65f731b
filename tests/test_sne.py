"""SNE: the exact kernel against its NumPy reference, gradient checks, the estimator."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy.optimize import check_grad
from sklearn.datasets import load_digits
from sklearn.manifold import trustworthiness

from skunsup.manifold import SNE, TSNE
from skunsup.manifold._affinity import exact_affinities
from skunsup.manifold._objectives import SNEObjective
from tests.reference.tsne import sne_kl_and_grad


def _random_conditional_P(rng, n):
    P = rng.random_sample((n, n)) * (rng.random_sample((n, n)) < 0.6)
    np.fill_diagonal(P, 0.0)
    P[np.arange(n), (np.arange(n) + 1) % n] += 0.05
    return P / P.sum(axis=1, keepdims=True)


@given(st.integers(2, 30), st.integers(1, 3), st.floats(1e-3, 40.0), st.floats(1.0, 12.0),
       st.integers(0, 2**31 - 1))
def test_sne_gradient_matches_reference(n, dim, scale, exaggeration, seed):
    rng = np.random.RandomState(seed)
    Y = rng.normal(size=(n, dim)) * scale  # large scales: q underflows without the shift
    P = _random_conditional_P(rng, n)
    objective = SNEObjective(P)
    grad = np.empty_like(Y)
    kl = objective(Y, 1.0, True, grad)
    kl_ref, grad_ref = sne_kl_and_grad(P, Y)
    assert np.isfinite(kl) and kl == pytest.approx(kl_ref, rel=1e-8, abs=1e-10)
    np.testing.assert_allclose(grad, grad_ref, rtol=1e-8, atol=1e-12)
    # exaggeration multiplies P in the gradient only
    objective(Y, exaggeration, False, grad)
    _, grad_exag = sne_kl_and_grad(P * exaggeration, Y)
    np.testing.assert_allclose(grad, grad_exag, rtol=1e-8, atol=1e-10)


def test_sne_gradient_matches_finite_differences():
    rng = np.random.RandomState(0)
    n, dim = 10, 2
    objective = SNEObjective(_random_conditional_P(rng, n))

    def f(flat):
        return objective(flat.reshape(n, dim), 1.0, True, np.empty((n, dim)))

    def g(flat):
        out = np.empty((n, dim))
        objective(flat.reshape(n, dim), 1.0, False, out)
        return out.ravel()

    y0 = rng.normal(size=n * dim)
    assert check_grad(f, g, y0) / np.linalg.norm(g(y0)) < 1e-5


def test_sne_affinities_are_conditional():
    X = np.random.RandomState(0).normal(size=(40, 3))
    aff = exact_affinities(X, 6.0, symmetrize=False)
    np.testing.assert_allclose(aff.P.sum(axis=1), 1.0)
    np.testing.assert_allclose(aff.entropies, np.log(6.0), atol=1e-5)


@pytest.fixture(scope="module")
def digits():
    X, y = load_digits(return_X_y=True)
    return X[:250], y[:250]


def test_sne_embeds_digits(digits):
    X, _ = digits
    sne = SNE(perplexity=20, random_state=0).fit(X)
    assert sne.embedding_.shape == (250, 2) and np.isfinite(sne.kl_divergence_)
    assert trustworthiness(X, sne.embedding_, n_neighbors=10) >= 0.93
    P = sne._affinities.P
    kl_ref, _ = sne_kl_and_grad(P, sne.embedding_)
    assert sne.kl_divergence_ == pytest.approx(kl_ref, rel=1e-8)
    assert sne.learning_rate_ == 0.25 and 1 <= sne.n_iter_ <= 1000


def test_sne_result_does_not_depend_on_thread_count(digits):
    X, _ = digits
    a = SNE(perplexity=10, max_iter=60, random_state=0, n_jobs=1).fit_transform(X[:120])
    b = SNE(perplexity=10, max_iter=60, random_state=0, n_jobs=2).fit_transform(X[:120])
    np.testing.assert_array_equal(a, b)


def test_sne_has_no_transform_and_fit_returns_self(digits):
    X, _ = digits
    sne = SNE(perplexity=5, max_iter=50)
    assert sne.fit(X[:50]) is sne and not hasattr(sne, "transform")


def test_tsne_relieves_sne_crowding(digits):
    """t-SNE separates classes better than SNE (the crowding problem)."""
    from sklearn.metrics import silhouette_score

    X, y = digits
    sne = SNE(perplexity=20, max_iter=400, random_state=0).fit_transform(X)
    tsne = TSNE(perplexity=20, method="exact", max_iter=400, random_state=0).fit_transform(X)
    assert silhouette_score(tsne, y) > silhouette_score(sne, y)


@pytest.mark.parametrize(
    "params, X, match",
    [
        (dict(perplexity=30), np.zeros((20, 3)), "perplexity"),
        (dict(perplexity=2, metric="precomputed"), np.ones((5, 4)), "square"),
        (dict(perplexity=2), np.array([[np.nan, 1.0], [1.0, 2.0], [0.0, 0.0]]), "NaN"),
    ],
)
def test_sne_bad_input(params, X, match):
    with pytest.raises(ValueError, match=match):
        SNE(**params).fit(X)


def test_sne_refuses_sizes_that_would_not_fit(monkeypatch):
    from skunsup.manifold import _affinity

    monkeypatch.setattr(_affinity, "available_memory", lambda: 10_000)
    with pytest.raises(ValueError, match="O\\(n²\\) memory"):
        SNE(perplexity=5).fit(np.random.RandomState(0).normal(size=(100, 3)))
