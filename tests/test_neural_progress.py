"""One ProgressBar for every estimator: a neural model's epochs, its ``verbose`` bar, and
the iterative estimators that call the same object."""

import copy
import io
import re

import numpy as np
import pytest

pytest.importorskip("torch")

from skunsup.cluster import KMeans  # noqa: E402
from skunsup.neural_network import VAE, Autoencoder  # noqa: E402
from skunsup.utils import ProgressBar  # noqa: E402
from tests.test_tsne_progress import _without_tqdm  # noqa: E402

X = np.random.RandomState(0).random_sample((50, 8))
SMALL = dict(n_components=2, hidden_layer_sizes=(4,), batch_size=16, device="cpu",
             random_state=0)
SECONDS = r"\(\d+\.\d\ds\)"


class StopAt:
    def __init__(self, epoch):
        self.epoch = epoch

    def on_epoch_end(self, estimator, logs):
        return logs["epoch"] == self.epoch


def test_a_neural_fit_shows_its_epochs_and_losses():
    pytest.importorskip("tqdm")
    out = io.StringIO()
    bar = ProgressBar(file=out)
    vae = VAE(max_epochs=3, callbacks=[bar], **SMALL).fit(X)
    text = out.getvalue()
    assert "VAE" in text and "3/3" in text and "epoch/s" in text
    assert all(f"{name}=" in text for name in ("train_loss", "reconstruction", "kl"))
    # the total is the epochs of the training call: one for partial_fit
    vae.partial_fit(X)
    assert "1/1" in out.getvalue()[len(text):]


def test_without_tqdm_one_line_per_epoch_with_the_losses(monkeypatch):
    _without_tqdm(monkeypatch)
    out = io.StringIO()
    ae = Autoencoder(max_epochs=3, callbacks=[ProgressBar(file=out)], **SMALL).fit(X)
    lines = out.getvalue().splitlines()
    assert len(lines) == 3
    for k, (line, entry) in enumerate(zip(lines, ae.history_), start=1):
        assert re.fullmatch(rf"\[Autoencoder\] epoch {k}/3: train_loss=(\S+), "
                            rf"learning_rate=0.001 {SECONDS}", line)
        assert line.split("=")[1].startswith(str(round(entry["train_loss"], 5)))
    # a warm-started call counts its own epochs against its own total
    ae.set_params(warm_start=True, max_epochs=2).fit(X)
    assert [line.split(":")[0] for line in out.getvalue().splitlines()[3:]] == [
        "[Autoencoder] epoch 1/2", "[Autoencoder] epoch 2/2"]


def test_verbose_shows_the_same_bar_on_standard_error(capsys):
    pytest.importorskip("tqdm")
    Autoencoder(max_epochs=3, verbose=1, **SMALL).fit(X)
    captured = capsys.readouterr()
    assert captured.out == ""
    assert "Autoencoder" in captured.err and "3/3" in captured.err
    assert "train_loss=" in captured.err and "epoch/s" in captured.err


def test_verbose_without_tqdm_prints_the_lines_it_always_printed(monkeypatch, capsys):
    _without_tqdm(monkeypatch)
    ae = Autoencoder(max_epochs=2, verbose=1, **SMALL).fit(X)
    ae.set_params(warm_start=True, max_epochs=1).fit(X)
    captured = capsys.readouterr()
    assert captured.err == ""
    lines = captured.out.splitlines()
    # history_'s epoch numbers, continued by the warm start
    assert [line.split(":")[0] for line in lines] == ["epoch 1", "epoch 2", "epoch 3"]
    assert all(re.fullmatch(rf"epoch \d: train_loss=\S+, learning_rate=0.001 {SECONDS}", line)
               for line in lines)


@pytest.mark.parametrize("verbose", [0, 1])
def test_a_stop_from_another_callback_closes_the_bar_where_it_stopped(verbose, capsys):
    pytest.importorskip("tqdm")
    out = io.StringIO()
    bar = ProgressBar(file=out)
    ae = Autoencoder(max_epochs=10, verbose=verbose, callbacks=[bar, StopAt(2)],
                     **SMALL).fit(X)
    assert ae.n_iter_ == 2
    # a closed tqdm bar is drawn once more at its last count and ends its line
    assert "2/10" in out.getvalue() and out.getvalue().endswith("\n")
    if verbose:
        err = capsys.readouterr().err
        assert "2/10" in err and err.endswith("\n")


def test_a_stop_without_tqdm_writes_the_epochs_run(monkeypatch):
    _without_tqdm(monkeypatch)
    out = io.StringIO()
    Autoencoder(max_epochs=10, callbacks=[ProgressBar(file=out), StopAt(2)], **SMALL).fit(X)
    assert [line.split(":")[0] for line in out.getvalue().splitlines()] == [
        "[Autoencoder] epoch 1/10", "[Autoencoder] epoch 2/10"]


def test_a_copy_of_the_model_during_training_copies_a_closed_bar():
    """A callback may deep-copy the estimator mid-fit; its live tqdm bar does not copy."""
    pytest.importorskip("tqdm")
    copies = []

    class CopyAt2:
        def on_epoch_end(self, estimator, logs):
            if logs["epoch"] == 2:
                copies.append(copy.deepcopy(estimator))

    out = io.StringIO()
    Autoencoder(max_epochs=3, callbacks=[ProgressBar(file=out), CopyAt2()], **SMALL).fit(X)
    assert copies[0].n_iter_ == 2 and "3/3" in out.getvalue()


class _OnlyCalled(ProgressBar):
    """A bar that fails if it hears the neural events."""

    def on_train_begin(self, estimator):
        raise AssertionError("an iterative estimator called on_train_begin")


class _OnlyEvents(ProgressBar):
    """A bar that fails if it is called as a plain callback."""

    def __call__(self, estimator, iteration, objective, solution):
        raise AssertionError("a neural estimator called the bar")


def test_each_kind_of_estimator_uses_only_its_own_protocol(monkeypatch):
    _without_tqdm(monkeypatch)
    iterative, neural = io.StringIO(), io.StringIO()
    KMeans(3, n_init=1, max_iter=4, tol=0.0, random_state=0, callbacks=_OnlyCalled(
        file=iterative), callbacks_every_iters=2).fit(X)
    Autoencoder(max_epochs=2, callbacks=[_OnlyEvents(file=neural)], **SMALL).fit(X)
    assert [line.split(":")[0] for line in iterative.getvalue().splitlines()] == [
        "[KMeans] iteration 2/4", "[KMeans] iteration 4/4"]
    assert len(neural.getvalue().splitlines()) == 2
