"""Architectures of the neural estimators: 'mlp', 'conv', and a user's own torch modules."""

import functools
import pickle
import subprocess
import sys

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from sklearn.base import clone
from sklearn.datasets import load_digits
from sklearn.model_selection import GridSearchCV
from sklearn.utils.estimator_checks import (
    check_dataframe_column_names_consistency,
    check_param_validation,
    check_set_output_transform_pandas,
    parametrize_with_checks,
)

torch = pytest.importorskip("torch")

from skunsup.neural_network import VAE, Autoencoder, SparseAutoencoder  # noqa: E402
from skunsup.neural_network._conv import conv_decoder, conv_encoder, conv_sides  # noqa: E402

ESTIMATORS = (Autoencoder, SparseAutoencoder, VAE)
CONV = dict(architecture="conv", image_shape=(1, 8, 8), channels=(4, 8), max_epochs=3,
            batch_size=64, device="cpu", random_state=0)


@pytest.fixture(scope="module")
def digits():
    X, y = load_digits(return_X_y=True)
    return (X[:300] / 16.0).astype(np.float32), y[:300]


def _weights(module):
    return {k: v.detach().clone() for k, v in module.state_dict().items()}


def _same(a, b):
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


# ----------------------------------------------------------------- user modules
class TinyEncoder(torch.nn.Module):
    """64 features -> 4 outputs (the code of an n_components=4 autoencoder)."""

    def __init__(self, n_outputs=4):
        super().__init__()
        self.net = torch.nn.Sequential(torch.nn.Linear(64, 16), torch.nn.Tanh(),
                                       torch.nn.Linear(16, n_outputs))

    def forward(self, X):
        return self.net(X)


class TinyDecoder(torch.nn.Module):
    """4 code units -> 64 features."""

    def __init__(self):
        super().__init__()
        self.net = torch.nn.Sequential(torch.nn.Linear(4, 16), torch.nn.Tanh(),
                                       torch.nn.Linear(16, 64))

    def forward(self, Z):
        return self.net(Z)


class TupleEncoder(TinyEncoder):
    def forward(self, X):
        out = self.net(X)
        return out, out


class NeedsWidth(torch.nn.Module):
    def __init__(self, width):
        super().__init__()
        self.linear = torch.nn.Linear(64, width)

    def forward(self, X):
        return self.linear(X)


# -------------------------------------------------------------- conv geometry
@given(channels_in=st.integers(1, 3), height=st.integers(1, 40), width=st.integers(1, 40),
       widths=st.lists(st.integers(1, 5), min_size=1, max_size=4),
       n_outputs=st.integers(1, 6))
def test_conv_networks_map_every_image_size_back_to_itself(channels_in, height, width,
                                                           widths, n_outputs):
    shape = (channels_in, height, width)
    n_features = channels_in * height * width
    encoder = conv_encoder(shape, widths, n_outputs, "relu")
    decoder = conv_decoder(n_outputs, shape, widths, "relu")
    X = torch.rand(3, n_features)
    # the feature maps halve every side, rounding up, as conv_sides says
    maps = encoder[0](X)
    for level, layer in enumerate(encoder[1:1 + 2 * len(widths):2], start=1):
        maps = torch.relu(layer(maps))
        assert tuple(maps.shape) == (3, widths[level - 1], conv_sides(height, level)[-1],
                                     conv_sides(width, level)[-1])
    assert tuple(encoder(X).shape) == (3, n_outputs)
    assert tuple(decoder(encoder(X)).shape) == (3, n_features)


@pytest.mark.parametrize("image_shape", [(1, 8, 8), (8, 8), (1, -1, 8), (2, 4, 8), (1, 1, -1),
                                         (1, 2, 32), (4, 4, 4)])
@pytest.mark.parametrize("cls", ESTIMATORS)
def test_conv_codes_and_reconstructions_have_the_right_shapes(cls, image_shape, digits):
    X = digits[0][:80]
    est = cls(n_components=3, **{**CONV, "image_shape": image_shape, "max_epochs": 1}).fit(X)
    Z = est.transform(X)
    assert Z.shape == (80, 3) and Z.dtype == np.float32
    assert est.inverse_transform(Z).shape == (80, 64)


def test_height_and_width_shape_without_channels_is_one_channel(digits):
    X = digits[0]
    a = VAE(n_components=2, **{**CONV, "image_shape": (8, 8)}).fit(X)
    b = VAE(n_components=2, **{**CONV, "image_shape": (1, -1, 8)}).fit(X)
    assert _same(_weights(a.module_), _weights(b.module_))


def test_conv_reads_rows_as_c_order_images(digits):
    """The encoder sees ``X.reshape(-1, *image_shape)``: a hand-built torch net agrees."""
    X = np.random.default_rng(0).random((5, 2 * 6 * 10)).astype(np.float32)
    est = Autoencoder(n_components=3, architecture="conv", image_shape=(2, 6, 10),
                      channels=(3,), max_epochs=1, device="cpu", random_state=0).fit(X)
    conv, linear = est.module_["encoder"][1], est.module_["encoder"][4]
    with torch.no_grad():
        maps = torch.relu(conv(torch.from_numpy(X.reshape(-1, 2, 6, 10))))
        expected = torch.relu(linear(maps.reshape(5, -1))).numpy()
    np.testing.assert_allclose(est.transform(X), expected, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("params, error, match", [
    ({"image_shape": None}, ValueError, "needs image_shape"),
    ({"image_shape": (1, 28, 28)}, ValueError,
     r"holds 784 values per image, but X has 64 features"),
    ({"image_shape": (3, -1, 5)}, ValueError, r"a multiple of 15 values per image.*64 features"),
    ({"image_shape": (0, 8, 8)}, ValueError, "positive integers"),
    ({"image_shape": (-1, -1, 8)}, ValueError, "one of which may be -1"),
    ({"image_shape": (1, 1, 8, 8)}, ValueError, r"\(channels, height, width\)"),
    ({"image_shape": (1, 8.0, 8)}, ValueError, "tuple of integers"),
    ({"channels": ()}, ValueError, "tuple of integers"),
    ({"channels": (4, 0)}, ValueError, "positive integers"),
    ({"architecture": "resnet"}, ValueError, "The 'architecture' parameter .* must be"),
    ({"encoder": "mlp"}, ValueError, "The 'encoder' parameter .* must be"),
])
@pytest.mark.parametrize("cls", ESTIMATORS)
def test_bad_architecture_parameters_are_clear_errors_at_fit(cls, params, error, match,
                                                             digits):
    est = cls(n_components=2, **{**CONV, **params})
    with pytest.raises(error, match=match):
        est.fit(digits[0])
    assert not hasattr(est, "module_")


# ------------------------------------------------------------ conv estimators
@pytest.mark.parametrize("cls", ESTIMATORS)
def test_conv_estimators_train_and_keep_their_api(cls, digits):
    X = digits[0]
    est = cls(n_components=4, **{**CONV, "max_epochs": 8, "learning_rate": 3e-3}).fit(X)
    assert est.loss_curve_[-1] < est.loss_curve_[0]
    score = est.score(X)
    assert np.isfinite(score) and score < 0
    reconstruction = est.inverse_transform(est.transform(X))
    assert reconstruction.min() >= 0.0 and reconstruction.max() <= 1.0
    if cls is SparseAutoencoder:
        assert 0.0 < est.mean_activation_ < 1.0
    if cls is VAE:
        samples = est.sample(6, random_state=0)
        assert samples.shape == (6, 64) and np.all((samples >= 0) & (samples <= 1))
        assert est.interpolate(X[0], X[1], n_steps=3).shape == (3, 64)
        assert np.all(np.isfinite(est.log_likelihood(X[:5], n_importance_samples=4,
                                                     random_state=0)))


def test_conv_fit_is_reproducible_and_warm_start_continues(digits):
    X = digits[0]
    a = VAE(n_components=2, **CONV).fit(X)
    b = VAE(n_components=2, **CONV).fit(X)
    assert _same(_weights(a.module_), _weights(b.module_))
    before = _weights(a.module_)
    a.set_params(warm_start=True, max_epochs=1).fit(X)
    assert a.n_iter_ == 4 and not _same(before, _weights(a.module_))


def test_fitted_conv_model_pickles_and_loads_where_only_torch_is(digits, tmp_path):
    X = digits[0]
    est = VAE(n_components=2, **CONV).fit(X)
    restored = pickle.loads(pickle.dumps(est))
    np.testing.assert_array_equal(restored.transform(X), est.transform(X))
    np.testing.assert_array_equal(restored.score_samples(X[:5]), est.score_samples(X[:5]))
    path = tmp_path / "module.pkl"
    path.write_bytes(pickle.dumps(est.module_))
    code = (f"import pickle, sys, torch; m = pickle.load(open({str(path)!r}, 'rb')); "
            "print(tuple(m['decoder'](torch.zeros(3, 2)).shape)); "
            "assert not [n for n in sys.modules if n.startswith('skunsup')]")
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True,
                         text=True, cwd=tmp_path)
    assert out.stdout.strip() == "(3, 64)"


# ---------------------------------------------------------------- user modules
def test_user_modules_as_classes_are_built_and_seeded(digits):
    X = digits[0]
    kw = dict(n_components=4, encoder=TinyEncoder, decoder=TinyDecoder, max_epochs=2,
              device="cpu")
    a = Autoencoder(random_state=0, **kw).fit(X)
    b = Autoencoder(random_state=0, **kw).fit(X)
    c = Autoencoder(random_state=1, **kw).fit(X)
    assert isinstance(a.module_["encoder"], TinyEncoder)
    assert isinstance(a.module_["decoder"], TinyDecoder)
    assert _same(_weights(a.module_), _weights(b.module_))
    assert not _same(_weights(a.module_), _weights(c.module_))
    assert a.transform(X).shape == (300, 4)
    assert a.inverse_transform(a.transform(X)).shape == (300, 64)


def test_user_module_instance_is_copied_never_trained_in_place(digits):
    X = digits[0]
    encoder, decoder = TinyEncoder(), TinyDecoder()
    before = _weights(encoder), _weights(decoder)
    est = Autoencoder(n_components=4, encoder=encoder, decoder=decoder, max_epochs=2,
                      device="cpu", random_state=0)
    est.fit(X)
    assert est.encoder is encoder and est.decoder is decoder
    assert _same(before[0], _weights(encoder)) and _same(before[1], _weights(decoder))
    assert est.module_["encoder"] is not encoder
    # training started from the instance's own weights
    fresh = Autoencoder(n_components=4, encoder=encoder, decoder=decoder, max_epochs=1,
                        device="cpu", random_state=0)
    fresh.fit(X)
    assert not _same(_weights(fresh.module_["encoder"]), before[0])
    cloned = clone(est)
    assert type(cloned.encoder) is TinyEncoder and cloned.encoder is not encoder
    assert _same(_weights(cloned.encoder), before[0])
    assert not hasattr(cloned, "module_")


def test_grid_search_over_user_modules_and_other_parameters(digits):
    X = digits[0]
    est = VAE(n_components=2, encoder=TinyEncoder(n_outputs=4), max_epochs=2, device="cpu",
              random_state=0)
    grid = {"encoder": [functools.partial(TinyEncoder, n_outputs=4), None],
            "learning_rate": [1e-3, 3e-3]}
    search = GridSearchCV(est, grid, cv=2).fit(X)
    assert np.isfinite(search.best_score_)
    assert len(search.cv_results_["params"]) == 4
    assert isinstance(est.encoder, TinyEncoder) and not hasattr(est, "module_")


@pytest.mark.parametrize("architecture", ["mlp", "conv"])
def test_one_user_part_and_the_architecture_default_for_the_other(architecture, digits):
    X = digits[0]
    kw = dict(n_components=4, architecture=architecture, image_shape=(8, 8), channels=(4,),
              hidden_layer_sizes=(16,), max_epochs=1, device="cpu", random_state=0)
    enc = Autoencoder(encoder=TinyEncoder, **kw).fit(X)
    dec = Autoencoder(decoder=TinyDecoder, **kw).fit(X)
    default = Autoencoder(**kw).fit(X)
    assert isinstance(enc.module_["encoder"], TinyEncoder)
    assert isinstance(dec.module_["decoder"], TinyDecoder)
    assert type(enc.module_["decoder"]) is type(default.module_["decoder"])
    assert str(enc.module_["decoder"]) == str(default.module_["decoder"])
    assert str(dec.module_["encoder"]) == str(default.module_["encoder"])


def test_sparse_autoencoder_appends_its_sigmoid_to_a_user_encoder(digits):
    X = digits[0]
    est = SparseAutoencoder(n_components=4, encoder=TinyEncoder, max_epochs=1, device="cpu",
                            random_state=0).fit(X)
    assert isinstance(est.module_["encoder"][-1], torch.nn.Sigmoid)
    codes = est.transform(X)
    assert codes.min() > 0.0 and codes.max() < 1.0


def test_vae_with_user_modules_scores_and_samples(digits):
    X = digits[0]
    est = VAE(n_components=2, encoder=functools.partial(TinyEncoder, n_outputs=4),
              decoder=torch.nn.Sequential(torch.nn.Linear(2, 64)), max_epochs=2,
              device="cpu", random_state=0).fit(X)
    assert np.isfinite(est.score(X))
    assert est.sample(3, random_state=0).shape == (3, 64)


@pytest.mark.parametrize("cls, params, error, match", [
    (Autoencoder, {"encoder": functools.partial(TinyEncoder, n_outputs=3)}, ValueError,
     r"encoder maps a batch of shape \(2, 64\) to shape \(2, 3\), but it must map "
     r"\(batch, 64\) to \(batch, 4\): the code"),
    (VAE, {"encoder": TinyEncoder}, ValueError,
     r"encoder maps .* to shape \(2, 4\), but it must map \(batch, 64\) to \(batch, 8\): "
     r"mu then log_var"),
    (Autoencoder, {"decoder": torch.nn.Linear(4, 63)}, ValueError,
     r"decoder maps a batch of shape \(2, 4\) to shape \(2, 63\), but it must map "
     r"\(batch, 4\) to \(batch, 64\)"),
    (Autoencoder, {"encoder": torch.nn.Linear(10, 4)}, ValueError,
     r"encoder failed on a float32 batch of shape \(2, 64\).*RuntimeError"),
    (Autoencoder, {"decoder": torch.nn.Linear(4, 64).double()}, ValueError,
     r"decoder failed on a float32 batch of shape \(2, 4\)"),
    (Autoencoder, {"encoder": TupleEncoder}, ValueError, "must return one tensor.*tuple"),
    (Autoencoder, {"encoder": NeedsWidth}, TypeError,
     r"called with no arguments at fit.*functools.partial"),
    (Autoencoder, {"encoder": lambda: "not a module"}, TypeError,
     r"must be a torch.nn.Module.*returned str"),
])
def test_user_module_of_the_wrong_shape_is_a_clear_error(cls, params, error, match, digits):
    est = cls(n_components=4, max_epochs=1, device="cpu", **params)
    with pytest.raises(error, match=match):
        est.fit(digits[0])


class InitialWeights:
    """Callback keeping the weights a fit starts from."""

    def on_train_begin(self, estimator):
        self.weights = _weights(estimator.module_)


def test_a_user_part_leaves_the_default_part_s_initial_weights_as_they_were(digits):
    X = digits[0]
    kw = dict(n_components=4, hidden_layer_sizes=(16,), max_epochs=1, device="cpu",
              random_state=0)
    seen = InitialWeights(), InitialWeights()
    Autoencoder(callbacks=[seen[0]], **kw).fit(X)
    Autoencoder(decoder=TinyDecoder(), callbacks=[seen[1]], **kw).fit(X)
    encoder = {k: v for k, v in seen[0].weights.items() if k.startswith("encoder.")}
    assert _same(encoder, {k: v for k, v in seen[1].weights.items()
                           if k.startswith("encoder.")})


# -------------------------------------------------- scikit-learn's estimator checks
# image_shape=(1, 1, -1): every row a one-pixel-high image, so the conv networks
# take the checks' data of any width (a user's module has fixed widths and
# n_components, which the checks change: it cannot be among them).
CHECKED = [
    Autoencoder(n_components=2, architecture="conv", image_shape=(1, 1, -1), channels=(4,),
                max_epochs=5, batch_size=32, device="cpu"),
    SparseAutoencoder(n_components=4, architecture="conv", image_shape=(1, 1, -1),
                      channels=(4,), max_epochs=5, batch_size=32, device="cpu"),
    VAE(n_components=2, architecture="conv", image_shape=(1, 1, -1), channels=(4,),
        max_epochs=5, batch_size=32, device="cpu"),
]


@parametrize_with_checks(CHECKED)
def test_sklearn_compatible_architectures(estimator, check):
    check(estimator)


@pytest.mark.parametrize("estimator", CHECKED, ids=lambda est: type(est).__name__)
@pytest.mark.parametrize("extra_check", [check_set_output_transform_pandas,
                                         check_dataframe_column_names_consistency,
                                         check_param_validation],
                         ids=lambda check: check.__name__)
def test_extra_sklearn_checks_of_conv_instances(estimator, extra_check):
    pytest.importorskip("pandas")
    extra_check(type(estimator).__name__, estimator)
