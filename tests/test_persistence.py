"""Persistence without code execution: save/load, Checkpoint, pickle and skops round trips."""

import copy
import functools
import json
import os
import pickle

import numpy as np
import pytest
from numpy.testing import assert_array_equal

torch = pytest.importorskip("torch")
safetensors_torch = pytest.importorskip("safetensors.torch")

from skunsup.neural_network import (  # noqa: E402
    VAE,
    Autoencoder,
    Checkpoint,
    ConditionalVAE,
    SparseAutoencoder,
    load,
)
from skunsup.neural_network._base import BaseTorchEstimator  # noqa: E402
from skunsup.neural_network._format import METADATA_KEY  # noqa: E402
from skunsup.neural_network._persistence import CLASSES  # noqa: E402
from skunsup.utils import all_estimators, get_trusted_types  # noqa: E402
from tests._instances import INIT_PARAMS  # noqa: E402

SMALL = {"n_components": 2, "hidden_layer_sizes": (4,), "max_epochs": 3, "batch_size": 16,
         "random_state": 0, "device": "cpu"}
CONV = {"architecture": "conv", "image_shape": (1, 4, 4), "channels": (2,)}


@pytest.fixture(scope="module")
def X():
    return (np.random.default_rng(0).random((64, 16)) > 0.5).astype(np.float64)


@pytest.fixture(scope="module")
def y():
    return np.array(["cat", "dog"] * 32)


def _fit(cls, X, y, **params):
    est = cls(**{**SMALL, **params})
    return est.fit(X, y) if cls is ConditionalVAE else est.fit(X)


def _weights(est):
    return est.module_.state_dict()


def assert_same_weights(a, b):
    wa, wb = _weights(a), _weights(b)
    assert list(wa) == list(wb)
    for key in wa:
        assert torch.equal(wa[key], wb[key]), key


def _without_time(history):
    return [{k: v for k, v in entry.items() if k != "time"} for entry in history]


def assert_same_outputs(a, b, X, y=None):
    """Every inference method of ``a`` and ``b`` gives the same bits."""
    assert type(a) is type(b)
    codes = a.transform(X)
    assert_array_equal(b.transform(X), codes)
    assert_array_equal(b.inverse_transform(codes), a.inverse_transform(codes))
    assert b.score(X) == a.score(X)
    if isinstance(a, VAE):
        assert_array_equal(b.score_samples(X), a.score_samples(X))
        kwargs = {"y": y[:4]} if isinstance(a, ConditionalVAE) else {}
        assert_array_equal(b.sample(4, random_state=0, **kwargs),
                           a.sample(4, random_state=0, **kwargs))
    assert_same_weights(a, b)


NEURAL = [
    (Autoencoder, {}), (SparseAutoencoder, {}), (VAE, {}), (ConditionalVAE, {}),
    (Autoencoder, CONV), (VAE, CONV), (ConditionalVAE, CONV),
    (SparseAutoencoder, {"noise_std": 0.1}),
    (VAE, {"learning_rate_schedule": "cosine", "optimizer": "sgd"}),
    (Autoencoder, {"learning_rate_schedule": "plateau", "early_stopping": True}),
]


def _case_id(case):
    cls, params = case
    return cls.__name__ + "".join(f"-{k}={v}" for k, v in params.items())


# ------------------------------------------------------------------ save / load
def test_registry_holds_every_neural_estimator():
    neural = {cls for _, cls in all_estimators() if issubclass(cls, BaseTorchEstimator)}
    assert set(CLASSES.values()) == neural


@pytest.mark.parametrize("case", NEURAL, ids=_case_id)
def test_load_gives_the_saved_model(case, X, y, tmp_path):
    cls, params = case
    est = _fit(cls, X, y, **params)
    path = est.save(tmp_path / "model.safetensors")
    loaded = load(path)
    assert_same_outputs(est, loaded, X, y)
    assert loaded.get_params() == est.get_params()
    assert loaded.history_ == est.history_
    assert (loaded.n_iter_, loaded.best_epoch_, loaded.best_loss_) == (
        est.n_iter_, est.best_epoch_, est.best_loss_)
    if cls is ConditionalVAE:
        assert_array_equal(loaded.classes_, est.classes_)
        assert loaded.classes_.dtype == est.classes_.dtype


def test_feature_names_and_output_config_are_kept(X, tmp_path):
    pd = pytest.importorskip("pandas")
    frame = pd.DataFrame(X, columns=[f"pixel{i}" for i in range(X.shape[1])])
    est = Autoencoder(**SMALL).set_output(transform="pandas").fit(frame)
    loaded = load(est.save(tmp_path / "ae.safetensors"))
    assert_array_equal(loaded.feature_names_in_, est.feature_names_in_)
    assert loaded.feature_names_in_.dtype == object
    pd.testing.assert_frame_equal(loaded.transform(frame), est.transform(frame))


def test_save_needs_a_fitted_model(tmp_path):
    from sklearn.exceptions import NotFittedError

    with pytest.raises(NotFittedError):
        Autoencoder().save(tmp_path / "ae.safetensors")


def test_save_refuses_an_attribute_it_does_not_know(X, tmp_path):
    est = _fit(Autoencoder, X, None)
    est.notes_ = "mine"
    with pytest.raises(ValueError, match="cannot store attribute 'notes_'"):
        est.save(tmp_path / "ae.safetensors")


def test_load_overrides_parameters(X, tmp_path):
    est = _fit(VAE, X, None, device="auto")
    loaded = load(est.save(tmp_path / "vae.safetensors"), device="cpu", max_epochs=7)
    assert (loaded.device, loaded.max_epochs) == ("cpu", 7)
    assert_same_outputs(est, loaded, X)
    with pytest.raises(ValueError, match=r"unknown parameters of VAE: \['colour'\]"):
        load(tmp_path / "vae.safetensors", colour="red")


def test_callbacks_are_not_stored(X, tmp_path):
    path = tmp_path / "ae.safetensors"
    est = _fit(Autoencoder, X, None, callbacks=[Checkpoint(path)])
    header = _header(path)
    assert "callbacks" not in header["params"] and "callbacks" not in header["external_params"]
    assert load(path).callbacks is None
    assert load(path, callbacks=est.callbacks).callbacks is est.callbacks


class Encoder(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.layer = torch.nn.Linear(16, 2)

    def forward(self, X):
        return self.layer(X)


def test_parameters_json_cannot_hold_must_be_given_to_load(X, tmp_path):
    schedule = functools.partial(torch.optim.lr_scheduler.StepLR, step_size=1, gamma=0.5)
    est = _fit(Autoencoder, X, None, encoder=Encoder, learning_rate_schedule=schedule)
    path = est.save(tmp_path / "ae.safetensors")
    assert sorted(_header(path)["external_params"]) == ["encoder", "learning_rate_schedule"]
    with pytest.raises(ValueError, match=r"\['encoder', 'learning_rate_schedule'\].*load"):
        load(path)
    loaded = load(path, encoder=Encoder, learning_rate_schedule=schedule)
    assert_same_outputs(est, loaded, X)
    est.set_params(warm_start=True).fit(X)
    loaded.set_params(warm_start=True).fit(X)
    assert_same_weights(est, loaded)


# ---------------------------------------------------------------- resuming
# Each training call seeds its shuffling from the epochs run so far, so two
# calls of 2 epochs differ from one call of 4. What saving must not change is
# the continuation: loading the file and training on equals training on in memory.
@pytest.mark.parametrize("optimizer, schedule", [("adam", "cosine"), ("sgd", "plateau"),
                                                 ("rmsprop", "constant")])
@pytest.mark.parametrize("method", ["fit", "partial_fit"])
def test_resuming_from_a_file_equals_training_on(optimizer, schedule, method, X, tmp_path):
    params = {**SMALL, "max_epochs": 2, "warm_start": True, "optimizer": optimizer,
              "learning_rate_schedule": schedule, "learning_rate": 0.01}
    in_memory = VAE(**params)
    for _ in range(2):
        getattr(in_memory, method)(X)
    resumed = load(in_memory.save(tmp_path / "vae.safetensors"))
    for _ in range(2):
        getattr(in_memory, method)(X)
        getattr(resumed, method)(X)
    assert_same_weights(in_memory, resumed)
    assert _without_time(resumed.history_) == _without_time(in_memory.history_)
    assert resumed.n_iter_ == in_memory.n_iter_ == (8 if method == "fit" else 4)


def test_the_optimiser_state_round_trips(X, tmp_path):
    est = _fit(VAE, X, None, learning_rate_schedule="plateau")
    loaded = load(est.save(tmp_path / "vae.safetensors"))
    a, b = est._optimizer_state, loaded._optimizer_state
    assert a["param_groups"] == b["param_groups"]
    assert a["state"].keys() == b["state"].keys()
    for index, moments in a["state"].items():
        for key, value in moments.items():
            assert torch.equal(value, b["state"][index][key]), (index, key)
    assert loaded._scheduler_state == est._scheduler_state


# ---------------------------------------------------------------- Checkpoint
class Recorder:
    """Keeps a copy of the live weights after every epoch."""

    def on_train_begin(self, est):
        self.weights = {}

    def on_epoch_end(self, est, logs):
        self.weights[logs["epoch"]] = {k: v.detach().clone()
                                       for k, v in est.module_.state_dict().items()}


class StopAt:
    def __init__(self, epoch):
        self.epoch = epoch

    def on_epoch_end(self, est, logs):
        return logs["epoch"] == self.epoch


# a VAE whose training loss is lowest before the last of 8 epochs (checked below)
NOISY = {**SMALL, "max_epochs": 8, "learning_rate": 0.05}


def test_checkpoint_holds_the_best_epoch(X, tmp_path):
    path = tmp_path / "vae.safetensors"
    recorder = Recorder()
    est = VAE(**NOISY, callbacks=[Checkpoint(path), recorder]).fit(X)
    losses = [entry["train_loss"] for entry in est.history_]
    best = int(np.argmin(losses)) + 1
    assert best == est.best_epoch_ < est.n_iter_  # the test needs a best before the end
    saved = load(path)
    assert saved.n_iter_ == saved.best_epoch_ == best
    assert saved.history_ == est.history_[:best]
    assert saved.best_loss_ == losses[best - 1]
    for key, value in recorder.weights[best].items():
        assert torch.equal(_weights(saved)[key], value), key
    assert os.listdir(tmp_path) == ["vae.safetensors"]  # no temporary file left


def test_checkpoint_with_early_stopping_holds_the_final_model(X, tmp_path):
    path = tmp_path / "ae.safetensors"
    est = Autoencoder(**{**NOISY, "early_stopping": True, "n_iter_no_change": 2},
                      callbacks=[Checkpoint(path)]).fit(X)
    saved = load(path)
    assert saved.n_iter_ == est.best_epoch_
    assert_array_equal(saved.transform(X), est.transform(X))  # both hold the best weights


def test_checkpoint_every_epoch_resumes_as_the_stopped_fit(X, tmp_path):
    path = tmp_path / "vae.safetensors"
    stopped = VAE(**NOISY, learning_rate_schedule="cosine",
                  callbacks=[Checkpoint(path, save_best_only=False), StopAt(3)]).fit(X)
    assert stopped.n_iter_ == 3
    resumed = load(path)
    assert_same_outputs(stopped, resumed, X)
    stopped.set_params(warm_start=True, max_epochs=2, callbacks=None).fit(X)
    resumed.set_params(warm_start=True, max_epochs=2).fit(X)
    assert_same_weights(stopped, resumed)
    assert _without_time(resumed.history_) == _without_time(stopped.history_)


def test_a_resumed_checkpoint_keeps_the_best_over_both_fits(X, tmp_path):
    path = tmp_path / "vae.safetensors"
    VAE(**NOISY, callbacks=[Checkpoint(path)]).fit(X)
    checkpoint = Checkpoint(path)
    resumed = load(path, callbacks=[checkpoint]).set_params(warm_start=True, max_epochs=4)
    resumed.fit(X)
    losses = [entry["train_loss"] for entry in resumed.history_]
    assert load(path).n_iter_ == int(np.argmin(losses)) + 1
    assert checkpoint.best_value_ == min(losses)


def test_checkpoint_monitors_any_logged_loss(X, tmp_path):
    path = tmp_path / "vae.safetensors"
    checkpoint = Checkpoint(path, monitor="kl")
    est = VAE(**NOISY, callbacks=[checkpoint]).fit(X)
    kl = [entry["kl"] for entry in est.history_]
    assert load(path).n_iter_ == checkpoint.saved_epoch_ == int(np.argmin(kl)) + 1


def test_checkpoint_errors(X, tmp_path):
    with pytest.raises(ValueError, match="has no 'valid_loss'.*early_stopping=True"):
        _fit(Autoencoder, X, None, callbacks=[Checkpoint(tmp_path / "a",
                                                         monitor="valid_loss")])
    with pytest.raises(FileNotFoundError, match="does not exist"):
        _fit(Autoencoder, X, None, callbacks=[Checkpoint(tmp_path / "no" / "a")])


# ---------------------------------------------------------------- tampering
def _header(path):
    from safetensors import safe_open

    with safe_open(str(path), framework="pt") as file:
        return json.loads(file.metadata()[METADATA_KEY])


def _rewrite(path, edit):
    """Rewrite a saved file after ``edit(header, tensors)`` changed it in place."""
    from safetensors import safe_open

    with safe_open(str(path), framework="pt") as file:
        header = json.loads(file.metadata()[METADATA_KEY])
        tensors = {name: file.get_tensor(name) for name in file.keys()}
    edit(header, tensors)
    safetensors_torch.save_file(tensors, str(path), metadata={METADATA_KEY: json.dumps(header)})
    return path


def _set(key, value):
    def edit(header, tensors):
        header[key] = value
    return edit


def _moment_name(header):
    moments = header["attributes"]["_optimizer_state"]["state"]["$intkeys"][0][1]
    return moments["exp_avg"]["$tensor"]


TAMPERING = {
    "tensor shape": (lambda h, t: t.update({"module.encoder.0.weight":
                                            t["module.encoder.0.weight"][:, :-1].clone()}),
                     r"do not fit.*encoder\.0\.weight"),
    "tensor dtype": (lambda h, t: t.update({"module.encoder.0.bias":
                                            t["module.encoder.0.bias"].double()}),
                     r"do not fit.*encoder\.0\.bias"),
    "tensor renamed": (lambda h, t: t.update({"module.encoder.9.bias":
                                              t.pop("module.encoder.0.bias")}),
                       "do not fit"),
    "extra tensor": (lambda h, t: t.update({"payload": torch.zeros(3)}),
                     r"nothing refers to: \['payload'\]"),
    "unknown header key": (_set("loader", "os.system"), r"unknown keys \['loader'\]"),
    "missing header key": (lambda h, t: h.pop("params"), r"lacks the keys \['params'\]"),
    "class renamed": (_set("class", "PCA"), "class 'PCA', which is not one of"),
    "class as a path": (_set("class", "os.system"), "class 'os.system'"),
    "newer format": (_set("format_version", 2), "newer than this skunsup reads"),
    "other format": (_set("format", "pickle"), "not a saved skunsup neural model"),
    "unknown parameter": (lambda h, t: h["params"].update(evil=1),
                          r"unknown parameters of Autoencoder: \['evil'\]"),
    "bad parameter": (lambda h, t: h["params"].update(activation="os.system"),
                      "'activation' parameter of Autoencoder must be"),
    "unknown attribute": (lambda h, t: h["attributes"].update(transform=1),
                          r"unknown fitted attributes \['transform'\]"),
    "missing attribute": (lambda h, t: h["attributes"].pop("_seed"),
                          r"lacks the fitted attributes \['_seed'\]"),
    "attribute of the wrong type": (lambda h, t: h["attributes"].update(n_iter_="3"),
                                    "attribute n_iter_ must be an int >= 0"),
    "unknown tag": (lambda h, t: h["attributes"].update(_clip_range={"$eval": "1"}),
                    "unknown or malformed tagged value '\\$eval'"),
    "moment shape": (lambda h, t: t.update({_moment_name(h): torch.zeros(2, 2)}),
                     "optimiser state 'exp_avg' of parameter 0"),
    "optimiser group": (lambda h, t: h["attributes"]["_optimizer_state"]["param_groups"][0]
                        .update(lr="fast"), "optimiser state does not fit"),
    "scheduler key": (lambda h, t: h["attributes"].update(
        _scheduler_state={"optimizer": "x"}), "scheduler state does not fit"),
    "huge network": (lambda h, t: h["attributes"].update(n_features_in_=10**12),
                     "do not fit"),
}


@pytest.mark.parametrize("kind", TAMPERING)
def test_a_tampered_file_is_refused(kind, X, tmp_path):
    edit, message = TAMPERING[kind]
    est = _fit(Autoencoder, X, None, learning_rate_schedule="cosine")
    path = _rewrite(est.save(tmp_path / "ae.safetensors"), edit)
    with pytest.raises(ValueError, match=message):
        load(path)


def test_files_that_are_not_saved_models_are_refused(tmp_path):
    garbage = tmp_path / "garbage.safetensors"
    garbage.write_bytes(b"\x00" * 64)
    with pytest.raises(ValueError, match="not a readable safetensors file"):
        load(garbage)
    plain = tmp_path / "plain.safetensors"
    safetensors_torch.save_file({"w": torch.zeros(2)}, str(plain))
    with pytest.raises(ValueError, match="no skunsup header"):
        load(plain)


# ---------------------------------------------------------------- pickle
@pytest.mark.parametrize("params", [{}, CONV], ids=["mlp", "conv"])
def test_pickle_stores_arrays_and_keeps_outputs(params, X, y):
    est = _fit(ConditionalVAE, X, y, learning_rate_schedule="cosine", **params)
    state = est.__getstate__()
    assert "module_" not in state

    def torch_objects(value):
        if isinstance(value, dict):
            return sum(map(torch_objects, value.values()))
        if isinstance(value, (list, tuple)):
            return sum(map(torch_objects, value))
        return isinstance(value, (torch.Tensor, torch.nn.Module))

    assert torch_objects(state) == 0
    rng_before = torch.random.get_rng_state()
    restored = pickle.loads(pickle.dumps(est))
    assert torch.equal(torch.random.get_rng_state(), rng_before)
    assert_same_outputs(est, restored, X, y)
    est.set_params(warm_start=True).fit(X, y)
    restored.set_params(warm_start=True).fit(X, y)
    assert_same_weights(est, restored)


class CopyAt:
    """Deep-copies the estimator after one epoch."""

    def __init__(self, epoch):
        self.epoch = epoch

    def on_epoch_end(self, est, logs):
        if logs["epoch"] == self.epoch:
            self.copy = copy.deepcopy(est)


def test_a_copy_during_training_is_the_model_of_that_epoch(X):
    recorder, copier = Recorder(), CopyAt(2)
    est = VAE(**NOISY, callbacks=[recorder, copier]).fit(X)
    reference = VAE(**NOISY).fit(X)
    assert_same_weights(est, reference)  # copying did not disturb the fit
    snapshot = copier.copy
    assert snapshot.n_iter_ == 2 and snapshot.history_ == est.history_[:2]
    assert not hasattr(snapshot, "_training_run")
    for key, value in recorder.weights[2].items():
        assert torch.equal(_weights(snapshot)[key], value), key
    stopped = VAE(**NOISY, callbacks=[StopAt(2)]).fit(X)
    assert_same_outputs(stopped, snapshot, X)


# ---------------------------------------------------------------- skops
VARIANTS = ["TSNE-fft", "IncrementalPCA-partial_fit", "Autoencoder-conv"]
SKOPS_CASES = [name for name, _ in all_estimators()] + VARIANTS


def _fitted(name):
    """A public estimator (or a variant with other fitted state) fitted on small data."""
    from skunsup.decomposition import IncrementalPCA
    from skunsup.manifold import TSNE

    X = np.random.default_rng(0).random((120, 6))
    if name == "TSNE-fft":
        return TSNE(method="fft", perplexity=5, max_iter=250, random_state=0).fit(X), X
    if name == "IncrementalPCA-partial_fit":
        return IncrementalPCA(2).partial_fit(X[:60]).partial_fit(X[60:]), X
    if name == "Autoencoder-conv":
        return Autoencoder(**{**SMALL, **CONV, "image_shape": (1, 2, 3)}).fit(X), X
    cls = dict(all_estimators())[name]
    params = dict(INIT_PARAMS.get(name, {}))
    if "random_state" in cls().get_params():
        params["random_state"] = 0
    est = cls(**params)
    return (est.fit(X, np.array(["a", "b", "c"] * 40)) if name == "ConditionalVAE"
            else est.fit(X)), X


def _outputs(est, X):
    out = {}
    for method in ("predict", "transform", "score", "score_samples", "inverse_transform"):
        if not hasattr(est, method):
            continue
        arg = est.transform(X) if method == "inverse_transform" else X
        try:
            out[method] = getattr(est, method)(arg)
        except NotImplementedError:
            continue
    if hasattr(est, "sample"):
        kwargs = {"y": "a"} if isinstance(est, ConditionalVAE) else {}
        out["sample"] = est.sample(3, random_state=0, **kwargs)
    for attribute in ("embedding_", "cluster_centers_", "components_", "labels_"):
        if hasattr(est, attribute):
            out[attribute] = getattr(est, attribute)
    return out


@pytest.mark.parametrize("name", SKOPS_CASES)
def test_skops_round_trip_with_the_trusted_types(name):
    sio = pytest.importorskip("skops.io")
    est, data = _fitted(name)
    dumped = sio.dumps(est)
    untrusted = set(sio.get_untrusted_types(data=dumped))
    assert untrusted <= set(get_trusted_types())
    assert not any(kind.startswith("torch") for kind in untrusted)
    loaded = sio.loads(dumped, trusted=get_trusted_types())
    assert type(loaded) is type(est)
    expected, got = _outputs(est, data), _outputs(loaded, data)
    assert expected.keys() == got.keys() and expected
    for key in expected:
        assert_array_equal(got[key], expected[key], err_msg=key)


class Sneaky:
    """A type that skunsup does not trust."""


def test_skops_refuses_a_file_with_an_untrusted_type():
    sio = pytest.importorskip("skops.io")
    from skops.io.exceptions import UntrustedTypesFoundException

    from skunsup.cluster import KMeans

    km = KMeans(n_clusters=2, n_init=1, random_state=0).fit(np.random.default_rng(0)
                                                              .random((20, 2)))
    km.extra_ = Sneaky()
    dumped = sio.dumps(km)
    assert set(sio.get_untrusted_types(data=dumped)) - set(get_trusted_types()) == {
        f"{__name__}.Sneaky"}
    with pytest.raises(UntrustedTypesFoundException, match="Sneaky"):
        sio.loads(dumped, trusted=get_trusted_types())
