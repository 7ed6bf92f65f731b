"""The variational autoencoder: its loss terms, bounds, generation and errors."""

import numpy as np
import pytest
from sklearn.datasets import load_digits

torch = pytest.importorskip("torch")

from skunsup.neural_network import VAE  # noqa: E402
from skunsup.neural_network._gaussian import gaussian_kl  # noqa: E402
from tests.reference.neural import gaussian_kl_to_standard_normal  # noqa: E402

FAST = dict(n_components=4, hidden_layer_sizes=(32,), batch_size=64, device="cpu")


@pytest.fixture(scope="module")
def binary_digits():
    X, y = load_digits(return_X_y=True)
    return (X / 16.0 > 0.5).astype(np.float64), y


@pytest.fixture(scope="module")
def vae(binary_digits):
    return VAE(max_epochs=25, learning_rate=3e-3, random_state=0, **FAST).fit(
        binary_digits[0])


def test_kl_closed_form_matches_monte_carlo_and_reference():
    rng = np.random.default_rng(0)
    mu = rng.normal(0, 1.5, (5, 3))
    log_var = rng.normal(0, 1.0, (5, 3))
    closed = gaussian_kl(torch.from_numpy(mu), torch.from_numpy(log_var)).numpy()
    np.testing.assert_allclose(closed, gaussian_kl_to_standard_normal(mu, log_var), rtol=1e-12)
    # Monte Carlo: E_q[log q(z) - log p(z)] with z ~ q
    sigma = np.exp(0.5 * log_var)
    eps = rng.standard_normal((200_000, 5, 3))
    z = mu + sigma * eps
    log_q = -0.5 * (eps**2 + log_var + np.log(2 * np.pi)).sum(axis=2)
    log_p = -0.5 * (z**2 + np.log(2 * np.pi)).sum(axis=2)
    diff = log_q - log_p
    stderr = diff.std(axis=0) / np.sqrt(len(diff))
    assert np.all(np.abs(diff.mean(axis=0) - closed) < 4 * stderr + 1e-9)
    # and torch's own KL of the two distributions
    q = torch.distributions.Normal(torch.from_numpy(mu), torch.from_numpy(sigma))
    p = torch.distributions.Normal(torch.zeros(3, dtype=torch.float64), 1.0)
    np.testing.assert_allclose(torch.distributions.kl_divergence(q, p).sum(1).numpy(), closed,
                               rtol=1e-10)


def test_elbo_below_iwae_below_zero_on_binarised_data(vae, binary_digits):
    X = binary_digits[0][:300]
    elbo = vae.score_samples(X)
    iwae = vae.log_likelihood(X, n_importance_samples=64, random_state=0)
    iwae_1 = vae.log_likelihood(X, n_importance_samples=1, random_state=0)
    assert elbo.shape == iwae.shape == (300,)
    assert elbo.mean() <= iwae.mean() <= 0
    assert np.all(iwae <= 0)
    assert vae.score(X) == pytest.approx(elbo.mean())
    # one importance sample is the ELBO (a single-draw estimate of it)
    assert abs(iwae_1.mean() - elbo.mean()) < 0.05 * abs(elbo.mean())


def test_history_reports_reconstruction_and_kl(vae):
    assert len(vae.history_) == vae.n_iter_ == 25
    for entry in vae.history_:
        assert entry["train_loss"] == pytest.approx(entry["reconstruction"] + entry["kl"],
                                                    rel=1e-5)
        assert entry["kl"] > 0
    assert vae.history_[-1]["train_loss"] < vae.history_[0]["train_loss"]


def test_beta_zero_is_a_noisy_autoencoder(binary_digits):
    X = binary_digits[0]
    kw = dict(max_epochs=10, learning_rate=3e-3, random_state=0, **FAST)
    plain = VAE(beta=0.0, **kw).fit(X)
    regular = VAE(beta=1.0, **kw).fit(X)
    for entry in plain.history_:  # the loss is the reconstruction alone
        assert entry["train_loss"] == pytest.approx(entry["reconstruction"], rel=1e-6)
    assert plain.history_[-1]["reconstruction"] < regular.history_[-1]["reconstruction"]
    assert plain.history_[-1]["kl"] > regular.history_[-1]["kl"]
    # still a noisy encoder: z = mu + sigma * eps with sigma > 0
    with torch.no_grad():
        _, log_var = plain.module_["encoder"](torch.from_numpy(X[:20]).float()).chunk(2, 1)
    assert torch.all(log_var.exp() > 0)


def test_sample_and_interpolate_shape_range_dtype(vae, binary_digits):
    X = binary_digits[0]
    samples = vae.sample(7, random_state=0)
    assert samples.shape == (7, 64) and samples.dtype == np.float64
    assert np.all(np.isfinite(samples)) and samples.min() >= 0 and samples.max() <= 1
    np.testing.assert_array_equal(samples, vae.sample(7, random_state=0))
    path = vae.interpolate(X[0], X[1], n_steps=5)
    assert path.shape == (5, 64) and np.all(np.isfinite(path))
    assert path.min() >= 0 and path.max() <= 1
    ends = vae.inverse_transform(vae.transform(X[:2]))
    np.testing.assert_allclose(path[[0, -1]], ends, atol=1e-6)


def test_attribute_vector_and_add_attribute(vae, binary_digits):
    X, y = binary_digits
    vector = vae.attribute_vector(X[y == 1], X[y == 0])
    assert vector.shape == (4,)
    same = vae.add_attribute(X[:3], vector, scale=0.0)
    np.testing.assert_allclose(same, vae.inverse_transform(vae.transform(X[:3])), atol=1e-6)
    moved = vae.add_attribute(X[y == 0][:10], vector)
    assert moved.shape == (10, 64) and np.all((moved >= 0) & (moved <= 1))
    # moving zeros by (ones - zeros) brings their codes to the ones' side
    codes = vae.transform(moved)
    ones, zeros = vae.transform(X[y == 1]).mean(0), vae.transform(X[y == 0]).mean(0)
    assert np.linalg.norm(codes.mean(0) - ones) < np.linalg.norm(codes.mean(0) - zeros)


def test_reproducible_under_random_state(binary_digits):
    X = binary_digits[0][:200]
    a = VAE(max_epochs=2, random_state=5, **FAST).fit(X)
    b = VAE(max_epochs=2, random_state=5, **FAST).fit(X)
    np.testing.assert_array_equal(a.transform(X), b.transform(X))
    np.testing.assert_array_equal(a.score_samples(X), b.score_samples(X))
    assert a.history_[-1]["kl"] == b.history_[-1]["kl"]


def test_gaussian_likelihood_on_standardised_data(binary_digits):
    X = binary_digits[0][:200] * 4.0 - 2.0
    vae = VAE(max_epochs=2, random_state=0, **FAST).fit(X)
    assert vae.reconstruction_loss_ == "mse"
    assert np.isfinite(vae.score(X))
    assert vae.sample(3, random_state=0).shape == (3, 64)


@pytest.mark.parametrize(
    "params, match",
    [({"beta": -1.0}, "beta"), ({"n_components": 0}, "n_components"),
     ({"loss": "bce"}, "MinMaxScaler")],
)
def test_bad_parameters_fail_before_training(binary_digits, params, match):
    class Tracker:
        began = False

        def on_train_begin(self, estimator):
            self.began = True

    tracker = Tracker()
    X = binary_digits[0][:50] * (3 if "loss" in params else 1)
    with pytest.raises(ValueError, match=match):
        VAE(callbacks=[tracker], **{**FAST, **params}).fit(X)
    assert not tracker.began


def test_bad_inputs_of_the_generation_methods(vae, binary_digits):
    X = binary_digits[0]
    with pytest.raises(ValueError, match="one sample"):
        vae.interpolate(X[:2], X[2])
    with pytest.raises(ValueError, match="features"):
        vae.interpolate(X[0, :10], X[1, :10])
    with pytest.raises(ValueError, match="n_steps"):
        vae.interpolate(X[0], X[1], n_steps=1)
    with pytest.raises(ValueError, match="shape \\(n_components,\\)"):
        vae.add_attribute(X[:2], np.zeros(3))
    with pytest.raises(ValueError, match="n_samples"):
        vae.sample(0)
    with pytest.raises(ValueError, match="n_importance_samples"):
        vae.log_likelihood(X[:2], n_importance_samples=0)
    with pytest.raises(ValueError, match="NaN"):
        vae.score_samples(np.where(X[:5] > 0.5, np.nan, X[:5]))


def test_score_draws_depend_on_the_row_alone():
    from skunsup.neural_network._gaussian import row_keyed_normals as _row_keyed_normals

    X = np.random.default_rng(0).random((2000, 5))
    draws = _row_keyed_normals(X, 7, (4, 3))
    assert draws.shape == (2000, 4, 3)
    np.testing.assert_array_equal(_row_keyed_normals(X[::-1], 7, (4, 3)), draws[::-1])
    np.testing.assert_array_equal(_row_keyed_normals(X[5:6].astype(np.float32), 7, (4, 3))[0],
                                  _row_keyed_normals(X[5:6].astype(np.float32).astype(float),
                                                     7, (4, 3))[0])
    assert abs(draws.mean()) < 0.02 and abs(draws.std() - 1) < 0.02
    assert not np.array_equal(_row_keyed_normals(X, 8, (4, 3)), draws)
