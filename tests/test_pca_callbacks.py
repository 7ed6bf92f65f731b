"""PCA's randomized power iterations: callbacks, verbose lines, early stop, Ctrl-C."""

import re

import numpy as np
import pytest
import scipy.sparse as sp
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.utils.extmath import randomized_svd as sklearn_randomized_svd

from skunsup.decomposition import PCA
from skunsup.decomposition._pca_memory import randomized_svd

INTERRUPTED = re.escape("PCA.fit was interrupted (KeyboardInterrupt) after")
FITTED = ["components_", "explained_variance_", "explained_variance_ratio_",
          "singular_values_", "mean_", "noise_variance_"]


def _data(n_samples=400, n_features=60, dtype=np.float64, seed=0):
    rng = np.random.RandomState(seed)
    scales = np.linspace(3.0, 0.2, n_features)
    return (rng.standard_normal((n_samples, n_features)) * scales).astype(dtype)


def _randomized(**params):
    return PCA(n_components=5, svd_solver="randomized", random_state=0, **params)


def _assert_same_model(a, b):
    for name in FITTED:
        assert_array_equal(getattr(a, name), getattr(b, name), err_msg=name)


@pytest.mark.parametrize("shape", [(300, 40), (40, 300)])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("normalizer", ["auto", "QR", "LU", "none"])
@pytest.mark.parametrize("n_iter", [0, 2, 5])
def test_randomized_svd_is_scikit_learns_bit_for_bit(shape, dtype, normalizer, n_iter):
    """Dense data: the very operations of sklearn's randomized_svd (tall and wide),
    with or without a monitor watching every pass."""
    X = _data(*shape, dtype=dtype)
    X -= X.mean(axis=0)
    expected = sklearn_randomized_svd(X, 7, n_oversamples=5, n_iter=n_iter,
                                      power_iteration_normalizer=normalizer,
                                      flip_sign=False, random_state=np.random.RandomState(3))
    got = randomized_svd(X, 7, n_oversamples=5, n_iter=n_iter,
                         power_iteration_normalizer=normalizer,
                         random_state=np.random.RandomState(3))
    for e, g in zip(expected, got):
        assert_array_equal(g, e)


@pytest.mark.parametrize("sparse", [False, True])
@pytest.mark.parametrize("every", [1, 3])
def test_callbacks_see_every_pass_and_change_nothing(sparse, every):
    X = _data()
    data = sp.csr_matrix(X) if sparse else X
    calls = []

    def record(estimator, iteration, objective, components):
        calls.append((estimator, iteration, objective, components.copy()))
        components[:] = 0.0  # a copy: the fit does not see this
        return False

    pca = _randomized(iterated_power=7, callbacks=[record],
                      callbacks_every_iters=every).fit(data)
    plain = _randomized(iterated_power=7).fit(data)
    _assert_same_model(pca, plain)
    assert [c[1] for c in calls] == list(range(every, 8, every))
    assert all(c[0] is pca for c in calls)
    # the objective is the variance left unexplained, and it goes down
    objectives = [c[2] for c in calls]
    assert all(b <= a * (1 + 1e-12) for a, b in zip(objectives, objectives[1:]))
    total = X.var(axis=0, ddof=1).sum()
    if calls[-1][1] == 7:
        assert_allclose(objectives[-1], total - pca.explained_variance_.sum(), rtol=1e-10)
        assert_allclose(calls[-1][3], pca.components_)


@pytest.mark.parametrize("stop_at", [1, 3])
def test_callback_stop_gives_the_fit_of_fewer_passes(stop_at):
    """Stopping after pass i is the estimate of pass i; with the 'QR' normaliser
    (the same whatever the number of passes) that is the fit with iterated_power=i."""
    X = _data()
    calls = []

    def stop(estimator, iteration, objective, components):
        calls.append(components)
        return iteration == stop_at

    pca = _randomized(iterated_power=6, power_iteration_normalizer="QR",
                      callbacks=stop).fit(X)
    short = _randomized(iterated_power=stop_at, power_iteration_normalizer="QR").fit(X)
    assert len(calls) == stop_at
    _assert_same_model(pca, short)
    assert_array_equal(calls[-1], pca.components_)
    assert_array_equal(pca.transform(X[:5]), short.transform(X[:5]))
    assert_array_equal(pca.fit_transform(X), short.fit_transform(X))


def test_verbose_lines(capsys):
    X = _data()
    _randomized(iterated_power=3, verbose=1).fit(X)
    lines = capsys.readouterr().out.splitlines()
    assert [line.split(":")[0] for line in lines] == [
        f"[PCA] power iteration {i}/3" for i in (1, 2, 3)]
    assert "unexplained" not in lines[0]
    pca = _randomized(iterated_power=3, verbose=2).fit(X)
    lines = capsys.readouterr().out.splitlines()
    unexplained = float(lines[-1].rsplit("unexplained ", 1)[1])
    assert_allclose(unexplained, X.var(axis=0, ddof=1).sum() - pca.explained_variance_.sum(),
                    rtol=1e-5)
    _assert_same_model(pca, _randomized(iterated_power=3).fit(X))
    # the other solvers do not iterate in Python: nothing printed, no callback
    PCA(5, svd_solver="full", verbose=2, callbacks=lambda *a: 1 / 0).fit(X)
    assert capsys.readouterr().out == ""


@pytest.mark.parametrize("sparse", [False, True])
def test_ctrl_c_keeps_the_passes_done(sparse):
    X = _data()
    data = sp.csr_matrix(X) if sparse else X

    def interrupt(estimator, iteration, objective, components):
        if iteration == 2:
            raise KeyboardInterrupt
        return False

    with pytest.warns(UserWarning, match=INTERRUPTED + " 2 power iterations"):
        pca = _randomized(iterated_power=6, power_iteration_normalizer="QR",
                          callbacks=interrupt).fit(data)
    short = _randomized(iterated_power=2, power_iteration_normalizer="QR").fit(data)
    _assert_same_model(pca, short)
    assert_allclose(pca.inverse_transform(pca.transform(X[:3])),
                    short.inverse_transform(short.transform(X[:3])))


def test_ctrl_c_inside_a_pass_drops_it(monkeypatch):
    """Ctrl-C inside a product: the iterate of the last whole pass is kept."""
    from skunsup.decomposition import _pca_memory

    X = _data()
    calls = {"n": 0}
    matmat = _pca_memory._Operator.matmat

    def matmat_then_interrupt(self, V):
        calls["n"] += 1
        if calls["n"] == 4:  # the products of pass 3 (pass 0 is the test matrix's)
            raise KeyboardInterrupt
        return matmat(self, V)

    monkeypatch.setattr(_pca_memory._Operator, "matmat", matmat_then_interrupt)
    with pytest.warns(UserWarning, match=INTERRUPTED + " 2 power iterations"):
        pca = _randomized(iterated_power=6, power_iteration_normalizer="QR").fit(X)
    monkeypatch.undo()
    _assert_same_model(pca, _randomized(iterated_power=2,
                                        power_iteration_normalizer="QR").fit(X))
