"""The neural training loop's schedules, gradient clipping and callback events."""

import functools
import math

import numpy as np
import pytest
from sklearn.datasets import load_digits

torch = pytest.importorskip("torch")

from skunsup.neural_network import VAE, Autoencoder  # noqa: E402

FAST = dict(n_components=4, hidden_layer_sizes=(16,), batch_size=64, device="cpu",
            random_state=0)


@pytest.fixture(scope="module")
def X():
    return load_digits().data[:256] / 16.0


def _rates(estimator):
    return [entry["learning_rate"] for entry in estimator.history_]


def test_constant_schedule_records_the_rate(X):
    ae = Autoencoder(max_epochs=3, learning_rate=2e-3, **FAST).fit(X)
    assert _rates(ae) == [2e-3] * 3


def test_cosine_schedule_follows_the_closed_form(X):
    lr, epochs = 1e-2, 6
    ae = Autoencoder(max_epochs=epochs, learning_rate=lr, learning_rate_schedule="cosine",
                     tol=0.0, **FAST).fit(X)
    expected = [lr * (1 + math.cos(math.pi * t / epochs)) / 2 for t in range(epochs)]
    np.testing.assert_allclose(_rates(ae), expected, rtol=1e-12)


def test_plateau_schedule_divides_the_rate_after_stalled_epochs(X):
    # tol larger than any loss: no epoch after the first counts as an improvement,
    # so with n_iter_no_change=6 the patience is 3 and the 5th epoch runs at lr / 10;
    # training stops once 6 epochs in a row did not improve.
    lr = 1e-3
    ae = Autoencoder(max_epochs=20, learning_rate=lr, learning_rate_schedule="plateau",
                     tol=1e6, n_iter_no_change=6, **FAST).fit(X)
    np.testing.assert_allclose(_rates(ae), [lr] * 4 + [lr / 10] * 3, rtol=1e-12)


def test_callable_schedule_and_its_state_across_partial_fit(X):
    step = functools.partial(torch.optim.lr_scheduler.StepLR, step_size=2, gamma=0.5)
    whole = Autoencoder(max_epochs=5, learning_rate=1e-2, learning_rate_schedule=step,
                        tol=0.0, **FAST).fit(X)
    expected = [1e-2, 1e-2, 5e-3, 5e-3, 2.5e-3]
    np.testing.assert_allclose(_rates(whole), expected, rtol=1e-12)
    stream = Autoencoder(learning_rate=1e-2, learning_rate_schedule=step, **FAST)
    for _ in range(5):
        stream.partial_fit(X)
    np.testing.assert_allclose(_rates(stream), expected, rtol=1e-12)


def test_schedule_that_is_not_a_scheduler_is_refused(X):
    ae = Autoencoder(max_epochs=1, learning_rate_schedule=lambda optimizer: 3, **FAST)
    with pytest.raises(TypeError, match="step"):
        ae.fit(X)


def _flat_weights(module):
    return torch.cat([p.detach().ravel().clone() for p in module.parameters()])


@pytest.mark.parametrize("max_norm", [1e-4, 1e-3])
def test_gradient_clipping_bounds_the_first_step(X, max_norm):
    # One full batch, one epoch, SGD with Nesterov momentum 0.9: the first update is
    # -lr * 1.9 * g, so with clipping active its norm is exactly 1.9 * lr * max_norm.
    lr = 0.5
    common = dict(FAST, batch_size=len(X))
    # the same random_state gives the same initial weights; a step of 1e-300 leaves
    # them unchanged in float32
    initial = Autoencoder(max_epochs=1, optimizer="sgd", learning_rate=1e-300,
                          **common).fit(X)
    before = _flat_weights(initial.module_)
    clipped = Autoencoder(max_epochs=1, optimizer="sgd", learning_rate=lr,
                          max_grad_norm=max_norm, **common).fit(X)
    step = torch.linalg.vector_norm((_flat_weights(clipped.module_) - before).double())
    assert float(step) == pytest.approx(1.9 * lr * max_norm, rel=1e-4)
    free = Autoencoder(max_epochs=1, optimizer="sgd", learning_rate=lr, **common).fit(X)
    free_step = torch.linalg.vector_norm((_flat_weights(free.module_) - before).double())
    assert float(free_step) > 10 * float(step)


class Events:
    """A callback that records the events it is sent."""

    def __init__(self, stop_at=None):
        self.stop_at, self.seen = stop_at, []

    def on_train_begin(self, estimator):
        self.seen.append("begin")

    def on_epoch_end(self, estimator, logs):
        self.seen.append(logs["epoch"])
        return logs["epoch"] == self.stop_at

    def on_train_end(self, estimator):
        self.seen.append("end")


class EndOnly:
    def __init__(self):
        self.ended_with = None

    def on_train_end(self, estimator):
        self.ended_with = estimator.n_iter_


def test_every_callback_hears_every_event_even_after_a_stop(X):
    stopper, listener, end_only = Events(stop_at=2), Events(), EndOnly()
    vae = VAE(max_epochs=5, callbacks=[stopper, listener, end_only], **FAST).fit(X)
    assert stopper.seen == listener.seen == ["begin", 1, 2, "end"]
    assert end_only.ended_with == vae.n_iter_ == 2
