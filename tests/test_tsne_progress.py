"""What a user sees of a t-SNE / SNE fit: verbose lines and the ProgressBar, phase by phase.

A fit runs the neighbour search ("kNN"), the affinities, then the
early-exaggeration and main phases of the optimisation (``optimize`` for a
continued map); verbose and callbacks with an ``on_phase`` method are told of
each, with the wall time and method of the phases before the iterations.
"""

import builtins
import io
import re

import numpy as np
import pytest

from skunsup.manifold import SNE, TSNE
from skunsup.utils import ProgressBar

X = np.random.RandomState(0).normal(size=(120, 4))
SECONDS = r"\d+\.\d\d s"


def _lines(text):
    return [line for line in text.splitlines() if line]


@pytest.mark.parametrize("method, search", [("exact", "every pairwise distance"),
                                            ("barnes_hut", "exact search"),
                                            ("fft", "exact search")])
def test_verbose_one_names_every_phase_with_its_time_and_method(capsys, method, search):
    TSNE(perplexity=10, method=method, max_iter=300, verbose=1, random_state=0).fit(X)
    out = _lines(capsys.readouterr().out)
    assert out[0] == ("[t-SNE] Computing pairwise distances (all 119 nearest neighbors...)"
                      if method == "exact" else "[t-SNE] Computing 30 nearest neighbors...")
    assert re.fullmatch(rf"\[t-SNE\] Phase kNN: {SECONDS} \(.*{search}\)", out[1])
    assert re.fullmatch(rf"\[t-SNE\] Phase affinities: {SECONDS} \(perplexity 10, "
                        rf"{'dense P' if method == 'exact' else 'sparse P of [0-9]+ entries'}\)",
                        out[2])
    assert out[3] == "[t-SNE] Computed conditional probabilities for sample 120 / 120"
    assert out[4].startswith("[t-SNE] Mean sigma: ")
    assert re.fullmatch(r"\[t-SNE\] Phase early exaggeration: 75 iterations, exaggeration 12, "
                        r"learning rate 50", out[5])
    assert out[6].startswith("[t-SNE] KL divergence after 75 iterations with early exaggeration")
    assert re.fullmatch(r"\[t-SNE\] Phase main: 225 iterations, exaggeration 1, learning rate 50",
                        out[7])
    assert out[8].startswith("[t-SNE] KL divergence after 300 iterations: ")
    assert len(out) == 9  # no per-iteration lines at verbose=1


def test_verbose_two_shows_the_phase_objective_and_time_left_of_each_check(capsys):
    TSNE(perplexity=10, method="barnes_hut", max_iter=300, verbose=2, min_grad_norm=0.0,
         random_state=0).fit(X)
    out = _lines(capsys.readouterr().out)
    checks = [line for line in out if re.match(r"\[t-SNE\] Iteration \d+ \(", line)]
    pattern = (r"\[t-SNE\] Iteration (\d+) \((early exaggeration|main)\): error = [0-9.]+, "
               r"gradient norm = [0-9.]+ \((\d+) iterations in [0-9.]+ s, ~[0-9.]+ s left\)")
    parsed = [re.fullmatch(pattern, line).groups() for line in checks]
    # every 50 iterations, in its phase; the first check of the main phase counts the
    # 25 iterations since the last one
    assert [(int(it), phase, int(n)) for it, phase, n in parsed] == [
        (50, "early exaggeration", 50), (100, "main", 25), (150, "main", 50),
        (200, "main", 50), (250, "main", 50), (300, "main", 50)]
    assert parsed[-1][0] == "300" and checks[-1].endswith("~0.0 s left)")


def test_verbose_optimize_is_a_phase(capsys):
    tsne = TSNE(perplexity=10, method="exact", max_iter=250, random_state=0).fit(X)
    capsys.readouterr()
    tsne.set_params(verbose=2).optimize(100, exaggeration=4.0, learning_rate=20.0)
    out = _lines(capsys.readouterr().out)
    assert out[0] == "[t-SNE] Phase optimize: 100 iterations, exaggeration 4, learning rate 20"
    assert re.match(r"\[t-SNE\] Iteration 300 \(optimize\): error = ", out[1])
    assert out[-1].startswith("[t-SNE] KL divergence after 350 iterations: ")


def test_sne_reports_its_phases_too(capsys):
    SNE(perplexity=10, max_iter=100, verbose=1, random_state=0).fit(X)
    out = _lines(capsys.readouterr().out)
    assert re.fullmatch(rf"\[SNE\] Phase kNN: {SECONDS} \(all 119 neighbours: every pairwise "
                        r"distance\)", out[1])
    assert any(line.startswith("[SNE] Phase main: 75 iterations") for line in out)


class _Recorder:
    """A callback that records what it is told."""

    def __init__(self):
        self.events = []

    def __call__(self, estimator, iteration, objective, solution):
        self.events.append(("iteration", iteration))

    def on_phase(self, estimator, phase, seconds, detail):
        self.events.append((phase, seconds is None, detail))


def test_callbacks_with_on_phase_hear_of_each_phase_in_order():
    recorder = _Recorder()
    plain = []
    tsne = TSNE(perplexity=10, method="fft", max_iter=200, random_state=0,
                callbacks=[recorder, lambda *args: plain.append(args[1])],
                callbacks_every_iters=100).fit(X)
    tsne.optimize(100)
    names = [event[0] for event in recorder.events]
    assert names == ["kNN", "affinities", "early exaggeration", "main", "iteration",
                     "iteration", "optimize", "iteration"]
    kinds = {event[0]: event[1] for event in recorder.events if event[0] != "iteration"}
    # finished phases come with their time, iterative ones as they start
    assert kinds == {"kNN": False, "affinities": False, "early exaggeration": True,
                     "main": True, "optimize": True}
    assert recorder.events[0][2] == "30 neighbours, exact search"
    assert plain == [100, 200, 300]  # a plain callable only sees the iterations


def _without_tqdm(monkeypatch):
    real_import = builtins.__import__

    def no_tqdm(name, *args, **kwargs):
        if name.startswith("tqdm"):
            raise ImportError(name)
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_tqdm)


def test_progress_bar_shows_the_iterations_with_and_without_tqdm(monkeypatch):
    X = np.random.RandomState(0).normal(size=(40, 3))
    out = io.StringIO()
    bar = ProgressBar(file=out)
    params = dict(perplexity=5, max_iter=300, callbacks=bar, callbacks_every_iters=100)
    TSNE(**params).fit(X)
    assert "300/300" in out.getvalue() and "TSNE" in out.getvalue()
    _without_tqdm(monkeypatch)
    lines = io.StringIO()
    TSNE(**{**params, "callbacks": ProgressBar(file=lines)}).fit(X)
    shown = lines.getvalue().splitlines()
    assert shown[-1].startswith("[TSNE] iteration 300/300 [main]: objective")
    # the two phases before the iterations, then one line per call
    assert [line.split(":")[0] for line in shown[:2]] == ["[TSNE] kNN", "[TSNE] affinities"]
    assert len(shown) == 5


def test_progress_bar_lines_name_the_phases(monkeypatch):
    _without_tqdm(monkeypatch)
    out = io.StringIO()
    bar = ProgressBar(file=out)
    params = dict(perplexity=10, method="barnes_hut", max_iter=300, callbacks=bar,
                  callbacks_every_iters=50, random_state=0)
    TSNE(**params).fit(X)
    lines = _lines(out.getvalue())
    assert re.fullmatch(rf"\[TSNE\] kNN: {SECONDS} \(30 neighbours, exact search\)", lines[0])
    assert re.fullmatch(rf"\[TSNE\] affinities: {SECONDS} \(perplexity 10, sparse P of \d+ "
                        r"entries\)", lines[1])
    assert lines[2].startswith("[TSNE] iteration 50/300 [early exaggeration]: objective ")
    assert lines[3].startswith("[TSNE] iteration 100/300 [main]: objective ")
    assert lines[-1].startswith("[TSNE] iteration 300/300 [main]: objective ")
    assert len(lines) == 8
    # the next fit with the same bar starts again from its phases
    TSNE(**params).fit(X)
    assert _lines(out.getvalue())[8].startswith("[TSNE] kNN: ")


def test_progress_bar_with_tqdm_names_the_running_phase():
    pytest.importorskip("tqdm")
    out = io.StringIO()
    TSNE(perplexity=10, method="barnes_hut", max_iter=300, random_state=0,
         callbacks=ProgressBar(file=out), callbacks_every_iters=50).fit(X)
    text = out.getvalue()
    assert re.search(rf"\[TSNE\] kNN: {SECONDS} \(30 neighbours, exact search\)", text)
    assert "TSNE [early exaggeration]" in text and "TSNE [main]" in text
    assert "300/300" in text


def test_progress_bar_of_an_estimator_without_phases_is_unchanged(monkeypatch):
    """KMeans reports no phases: one line per call, no phase in it."""
    from skunsup.cluster import KMeans

    _without_tqdm(monkeypatch)
    out = io.StringIO()
    KMeans(3, n_init=1, max_iter=4, tol=0.0, random_state=0, callbacks=ProgressBar(file=out),
           callbacks_every_iters=2).fit(X)
    assert all(re.fullmatch(r"\[KMeans\] iteration \d+/4: objective \S+", line)
               for line in _lines(out.getvalue()))
