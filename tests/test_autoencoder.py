"""The torch training base, Autoencoder (compression, denoising) and SparseAutoencoder."""

import copy
import pickle
import subprocess
import sys

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from sklearn.datasets import load_digits
from sklearn.decomposition import PCA

torch = pytest.importorskip("torch")

from skunsup.neural_network import Autoencoder, SparseAutoencoder  # noqa: E402
from skunsup.neural_network._autoencoder import kl_sparsity_penalty  # noqa: E402
from tests.reference.neural import kl_sparsity_penalty as kl_sparsity_reference  # noqa: E402

FAST = dict(n_components=4, hidden_layer_sizes=(16,), max_epochs=3, batch_size=64,
            device="cpu")


@pytest.fixture(scope="module")
def digits():
    X, y = load_digits(return_X_y=True)
    return (X / 16.0).astype(np.float64), y


@pytest.fixture(scope="module")
def small(digits):
    return digits[0][:300]


def _weights(estimator):
    return {k: v.detach().clone() for k, v in estimator.module_.state_dict().items()}


def _same_weights(a, b):
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


class Recorder:
    """Callback keeping a copy of the weights at the end of every epoch."""

    def __init__(self, action=None):
        self.action = action

    def on_train_begin(self, estimator):
        self.states, self.began = {}, True

    def on_epoch_end(self, estimator, logs):
        self.states[logs["epoch"]] = _weights(estimator)
        if self.action is not None:
            return self.action(estimator, logs)
        return False


# --------------------------------------------------------------------- base
def test_import_does_not_import_torch():
    code = ("import sys, skunsup, skunsup.neural_network; "
            "import skunsup.neural_network._modules, skunsup.neural_network._base; "
            "skunsup.Autoencoder, skunsup.SparseAutoencoder; "
            "assert 'torch' not in sys.modules, 'torch imported'")
    subprocess.run([sys.executable, "-c", code], check=True)


def test_same_random_state_same_weights_and_global_rng_untouched(small):
    before = torch.random.get_rng_state()
    a = Autoencoder(random_state=3, noise_std=0.1, **FAST).fit(small)
    b = Autoencoder(random_state=3, noise_std=0.1, **FAST).fit(small)
    c = Autoencoder(random_state=4, noise_std=0.1, **FAST).fit(small)
    assert torch.equal(before, torch.random.get_rng_state())
    assert _same_weights(_weights(a), _weights(b))
    assert not _same_weights(_weights(a), _weights(c))
    np.testing.assert_array_equal(a.transform(small), b.transform(small))
    assert a.history_[-1]["train_loss"] == b.history_[-1]["train_loss"]


def test_early_stopping_restores_best_epoch(small):
    def spoil_after_third(estimator, logs):
        if logs["epoch"] >= 3:  # wreck the weights: later epochs validate worse
            with torch.no_grad():
                for p in estimator.module_.parameters():
                    p.add_(torch.randn(p.shape, generator=torch.Generator().manual_seed(0)))
        return False

    recorder = Recorder(spoil_after_third)
    ae = Autoencoder(early_stopping=True, n_iter_no_change=2, tol=0.0, random_state=0,
                     callbacks=[recorder], **{**FAST, "max_epochs": 20}).fit(small)
    valid = [entry["valid_loss"] for entry in ae.history_]
    assert ae.best_epoch_ == int(np.argmin(valid)) + 1
    assert ae.best_epoch_ < ae.n_iter_ <= ae.best_epoch_ + 2
    assert ae.best_loss_ == min(valid)
    assert _same_weights(_weights(ae), recorder.states[ae.best_epoch_])


def test_pickle_and_deepcopy_round_trip_identical_transform(small):
    ae = Autoencoder(random_state=0, **FAST).fit(small)
    expected = ae.transform(small)
    for restored in (pickle.loads(pickle.dumps(ae)), copy.deepcopy(ae)):
        np.testing.assert_array_equal(restored.transform(small), expected)
        assert all(p.device.type == "cpu" for p in restored.module_.parameters())
    # a restored model keeps training where it stopped (optimiser state travels too)
    restored = pickle.loads(pickle.dumps(ae))
    restored.set_params(warm_start=True, max_epochs=1).fit(small)
    assert restored.n_iter_ == ae.n_iter_ + 1


def test_nan_loss_raises_documented_error_and_keeps_best_weights(small):
    def poison_after_second(estimator, logs):
        if logs["epoch"] == 2:
            with torch.no_grad():
                next(estimator.module_.parameters()).fill_(float("nan"))
        return False

    recorder = Recorder(poison_after_second)
    ae = Autoencoder(random_state=0, callbacks=[recorder], **{**FAST, "max_epochs": 5})
    with pytest.raises(FloatingPointError, match="learning_rate.*unscaled input data"):
        ae.fit(small)
    assert ae.n_iter_ == 3
    assert _same_weights(_weights(ae), recorder.states[ae.best_epoch_])
    assert np.all(np.isfinite(ae.transform(small)))


def test_unscaled_data_is_refused_before_training(small):
    # squares of 1e30 overflow float32: refused up front, not a diverging fit
    ae = Autoencoder(random_state=0, **FAST)
    with pytest.raises(ValueError, match=r"as large as 1e\+30 .*overflow float32"):
        ae.fit(small * 1e30)
    assert not hasattr(ae, "module_")


def test_keyboard_interrupt_leaves_usable_model(small):
    def interrupt(estimator, logs):
        if logs["epoch"] == 2:
            raise KeyboardInterrupt

    ae = Autoencoder(random_state=0, callbacks=[Recorder(interrupt)],
                     **{**FAST, "max_epochs": 10})
    with pytest.warns(UserWarning, match=r"Autoencoder.fit was interrupted \(KeyboardInterrupt\) "
                      r"after 2 epochs; the model is usable and holds the weights reached"):
        ae.fit(small)
    assert ae.n_iter_ == 2 and len(ae.history_) == 2
    assert ae.transform(small).shape == (300, 4)


def test_callback_stops_and_history(small):
    ae = Autoencoder(random_state=0, callbacks=[Recorder(lambda e, logs: logs["epoch"] == 2)],
                     **{**FAST, "max_epochs": 10}).fit(small)
    assert ae.n_iter_ == 2
    assert ae.loss_curve_ == [entry["train_loss"] for entry in ae.history_]
    assert {"epoch", "train_loss", "time"} <= set(ae.history_[0])


def test_warm_start_and_partial_fit_continue(small):
    ae = Autoencoder(random_state=0, warm_start=True, **FAST).fit(small)
    ae.fit(small)
    assert ae.n_iter_ == 6 and len(ae.history_) == 6
    pf = Autoencoder(random_state=0, **FAST)
    for _ in range(3):
        pf.partial_fit(small)
    assert pf.n_iter_ == 3
    with pytest.raises(ValueError, match="features"):
        pf.partial_fit(small[:, :10])
    with pytest.raises(ValueError, match="warm_start"):
        ae.fit(small[:, :10])


def test_dtype_kept(small):
    ae = Autoencoder(random_state=0, **FAST).fit(small.astype(np.float32))
    assert ae.transform(small.astype(np.float32)).dtype == np.float32
    assert ae.transform(small).dtype == np.float64
    assert ae.inverse_transform(np.zeros((2, 4), np.float32)).dtype == np.float32


def test_loss_auto_and_output_range(small):
    bce = Autoencoder(random_state=0, **FAST).fit(small)
    assert bce.reconstruction_loss_ == "bce"
    out = bce.inverse_transform(bce.transform(small))
    assert out.min() >= 0 and out.max() <= 1
    mse = Autoencoder(random_state=0, **FAST).fit(small * 4 - 2)
    assert mse.reconstruction_loss_ == "mse"
    assert mse.score(small * 4 - 2) < 0


# ---------------------------------------------------------------- bad input
class _Tracker:
    began = False

    def on_train_begin(self, estimator):
        self.began = True


@pytest.mark.parametrize(
    "params, X_change, error, match",
    [
        ({}, lambda X: np.where(X > 0.5, np.nan, X), ValueError, "NaN"),
        ({}, lambda X: np.where(X > 0.5, np.inf, X), ValueError, "infinity"),
        ({}, lambda X: X[:0], ValueError, "0 sample"),
        ({"n_components": 0}, None, ValueError, "n_components"),
        ({"batch_size": 0}, None, ValueError, "batch_size"),
        ({"activation": "swish"}, None, ValueError, "activation"),
        ({"loss": "hinge"}, None, ValueError, "loss"),
        ({"optimizer": "lbfgs"}, None, ValueError, "optimizer"),
        ({"device": "tpu"}, None, ValueError, "device"),
        ({"hidden_layer_sizes": (8, -1)}, None, ValueError, "hidden_layer_sizes"),
        ({"loss": "bce"}, lambda X: X * 2 - 1, ValueError, "MinMaxScaler"),
        ({"loss": "bce", "output_activation": "identity"}, None, ValueError, "sigmoid"),
        # finite in float64, infinite once cast to the networks' float32
        ({"loss": "mse"}, lambda X: X * 1e300, ValueError, "as large as 1e.300.*float32"),
        ({"loss": "mse"}, lambda X: X * 1e19, ValueError, "Scale the data"),
        ({"early_stopping": True, "validation_fraction": 0.0}, None, ValueError,
         "empty training or validation set"),
    ],
)
def test_bad_input_fails_before_training(small, params, X_change, error, match):
    tracker = _Tracker()
    X = small if X_change is None else X_change(small)
    with pytest.raises(error, match=match):
        Autoencoder(callbacks=[tracker], **{**FAST, **params}).fit(X)
    assert not tracker.began


def test_validation_fraction_zero_without_early_stopping(small):
    # scikit-learn's MLP accepts validation_fraction in [0, 1)
    ae = Autoencoder(validation_fraction=0.0, random_state=0, **FAST).fit(small)
    assert ae.n_iter_ == FAST["max_epochs"]


def test_large_values_after_fit_are_refused(small):
    ae = Autoencoder(loss="mse", random_state=0, **FAST).fit(small)
    with pytest.raises(ValueError, match="Scale the data"):
        ae.transform(small * 1e300)


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has CUDA")
def test_cuda_without_cuda_is_a_clear_error(small):
    with pytest.raises(ValueError, match="no CUDA device"):
        Autoencoder(**{**FAST, "device": "cuda"}).fit(small)


@pytest.mark.parametrize("target", [0.0, 1.0, 1.5])
def test_sparsity_target_outside_unit_interval(small, target):
    with pytest.raises(ValueError, match="sparsity_target"):
        SparseAutoencoder(sparsity_target=target, **FAST).fit(small)


def test_wrong_feature_count_and_code_size(small):
    ae = Autoencoder(random_state=0, **FAST).fit(small)
    with pytest.raises(ValueError, match="features"):
        ae.transform(small[:, :5])
    with pytest.raises(ValueError, match="n_components=4"):
        ae.inverse_transform(np.zeros((2, 3)))


# ------------------------------------------------------------------ quality
@given(
    n_samples=st.integers(1, 40),
    n_units=st.integers(1, 12),
    target=st.floats(0.01, 0.99),
    seed=st.integers(0, 2**16),
)
def test_sparsity_penalty_matches_numpy_reference(n_samples, n_units, target, seed):
    codes = np.random.default_rng(seed).random((n_samples, n_units))
    got = float(kl_sparsity_penalty(torch.from_numpy(codes), target))
    np.testing.assert_allclose(got, kl_sparsity_reference(codes, target), rtol=1e-9, atol=1e-12)


def test_autoencoder_beats_pca_on_digits(digits):
    X = digits[0]
    X_train, X_test = X[:1400], X[1400:]
    ae = Autoencoder(n_components=8, hidden_layer_sizes=(64,), activation="tanh",
                     learning_rate=3e-3, batch_size=64, max_epochs=60, random_state=0,
                     device="cpu").fit(X_train)
    pca = PCA(n_components=8).fit(X_train)
    ae_error = np.mean((ae.inverse_transform(ae.transform(X_test)) - X_test) ** 2)
    pca_error = np.mean((pca.inverse_transform(pca.transform(X_test)) - X_test) ** 2)
    assert ae_error < 0.95 * pca_error


def test_sparse_autoencoder_defaults_reach_the_target(digits):
    sae = SparseAutoencoder(random_state=0, device="cpu").fit(digits[0])
    assert sae.sparsity_target / 2 <= sae.mean_activation_ <= 2 * sae.sparsity_target
    assert {"reconstruction", "sparsity"} <= set(sae.history_[-1])
    codes = sae.transform(digits[0][:50])
    assert codes.shape == (50, sae.n_components) and codes.min() >= 0 and codes.max() <= 1


def test_denoising_autoencoder_removes_noise(digits):
    X = digits[0]
    rng = np.random.default_rng(0)
    X_test = X[1400:]
    noisy = np.clip(X_test + rng.normal(0, 0.3, X_test.shape), 0, 1)
    dae = Autoencoder(n_components=16, hidden_layer_sizes=(64,), noise_std=0.3,
                      learning_rate=3e-3, batch_size=64, max_epochs=15, random_state=0,
                      device="cpu").fit(X[:1400])
    cleaned = dae.inverse_transform(dae.transform(noisy))
    assert np.mean((cleaned - X_test) ** 2) < 0.7 * np.mean((noisy - X_test) ** 2)
