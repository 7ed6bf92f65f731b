"""PCA on a torch device (a GPU): the solvers of the in-memory fit on tensors.

:func:`fit_spectrum` is the torch twin of
:func:`skunsup.decomposition._pca_memory.fit_spectrum`: it copies the data to
the device, computes the spectrum there and returns it on the host, for
:func:`~skunsup.decomposition._spectrum.fitted_attributes` to turn into the
estimator's attributes (numpy arrays, so that a model fitted on a GPU loads
anywhere).

- ``'covariance_eigh'``: the exact mean in float64 first, then the covariance
  from centred blocks of rows, each block's product in the data's precision
  (IEEE float32 for float32 data, never TF32) and the blocks summed in
  float64 (:mod:`skunsup.decomposition._covariance` does the same on the
  CPU); the rounding of the float32 mean is corrected in float64 at the end.
  The float64 covariance is eigendecomposed on the device (all eigenpairs:
  torch has no subset eigensolver).
- ``'full'``: the SVD of the centred data (``torch.linalg.svd``).
- ``'randomized'``: Halko, Martinsson and Tropp's randomized SVD of the
  centred data in the order of operations of the in-memory fit (the same
  ``random_state`` gives its model, up to rounding), reporting its power
  iterations to the same callbacks, ``verbose`` lines and Ctrl-C handling.

``'arpack'`` and sparse input have no torch executor (the estimator refuses
them with a CUDA device and takes the CPU path for ``device='auto'``).
"""

import numpy as np
from sklearn.utils import assert_all_finite

from skunsup.decomposition._covariance import BLOCK_BYTES
from skunsup.decomposition._pca_memory import PassMonitor
from skunsup.decomposition._spectrum import final_n_components
from skunsup.utils._torch import as_tensor, full_precision_matmul, import_torch


def torch_unsupported(X, solver):
    """Why this fit has no torch executor (a phrase for the message), or None.

    Examples
    --------
    >>> import numpy as np
    >>> from skunsup.decomposition._pca_torch import torch_unsupported
    >>> torch_unsupported(np.ones((3, 2)), "arpack"), torch_unsupported(np.ones((3, 2)), "full")
    ("svd_solver='arpack'", None)
    """
    import scipy.sparse as sp

    if sp.issparse(X):
        return "sparse input"
    if solver == "arpack":
        return "svd_solver='arpack'"
    return None


def fit_spectrum(X, solver, n_components, *, device, copy, tol, iterated_power,
                 n_oversamples, power_iteration_normalizer, random_state, callback=None,
                 callback_every=1, verbose=0, on_interrupt=None):
    """The spectrum of the sample covariance of ``X``, computed on ``device``.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
        Validated dense float32 or float64 data (finite, except for
        ``'covariance_eigh'``, which checks it here).
    solver : {'covariance_eigh', 'full', 'randomized'}
    n_components : int, float or 'mle'
        As resolved by the estimator against the solver.
    device : torch.device
    copy : bool
        Not used: the centred data is a new tensor, X is never written.
    tol : float
        Not used (ARPACK's tolerance); accepted for the in-memory signature.
    iterated_power : int or 'auto'
    n_oversamples : int
    power_iteration_normalizer : {'auto', 'QR', 'LU', 'none'}
    random_state : RandomState
        Draws the randomized test matrix.
    callback, callback_every, verbose, on_interrupt
        What ``'randomized'`` reports of its power iterations, as in the
        in-memory fit (:class:`~skunsup.decomposition._pca_memory.PassMonitor`).

    Returns
    -------
    variances, components, total_var, mean, U
        As :func:`skunsup.decomposition._pca_memory.fit_spectrum`, on the host;
        ``U`` (the SVD solvers) holds only the columns of the components kept.

    Examples
    --------
    >>> import numpy as np
    >>> import torch
    >>> from skunsup.decomposition._pca_torch import fit_spectrum
    >>> X = np.array([[-1.0, -1.0], [-2.0, -1.0], [-3.0, -2.0], [1.0, 1.0]])
    >>> variances, components, total_var, mean, U = fit_spectrum(
    ...     X, "full", 2, device=torch.device("cpu"), copy=True, tol=0.0, iterated_power="auto",
    ...     n_oversamples=10, power_iteration_normalizer="auto",
    ...     random_state=np.random.RandomState(0))
    >>> variances.round(3).tolist(), round(total_var, 3), mean.tolist()
    ([4.437, 0.063], 4.5, [-1.25, -0.75])
    """
    torch = import_torch("PCA on a torch device")
    n_samples = X.shape[0]
    with full_precision_matmul(torch):
        X_t = as_tensor(X, device, torch)
        if solver == "covariance_eigh":
            mean, covariance = _centered_covariance(X_t, torch)
            if not bool(torch.isfinite(covariance).all() & torch.isfinite(mean).all()):
                assert_all_finite(X, input_name="X")  # NaN or infinity: the usual error
                raise ValueError(
                    f"The covariance of X overflows {X.dtype} (values near the limit of "
                    "the dtype); scale X down"
                    + (" or pass it as float64." if X.dtype == np.float32 else "."))
            total_var = float(torch.trace(covariance))
            values, vectors = torch.linalg.eigh(covariance)
            keep = min(X.shape)
            variances = values.flip(0)[:keep].clamp_min(0.0).cpu().numpy()
            components = vectors.flip(1)[:, :keep].T.cpu().numpy()
            return variances, components, max(total_var, 0.0), mean.cpu().numpy(), None
        mean = X_t.sum(dim=0, dtype=torch.float64) / n_samples
        centered = X_t - mean.to(X_t.dtype)
        if solver == "full":
            U, S, Vt = torch.linalg.svd(centered, full_matrices=False)
            variances = (S.to(torch.float64) ** 2 / (n_samples - 1)).cpu().numpy()
            total_var = float(np.sum(variances))  # the whole spectrum is here
        else:
            squares = torch.linalg.vector_norm(centered, dim=0, dtype=torch.float64) ** 2
            total_var = float(squares.sum()) / (n_samples - 1)
            if iterated_power == "auto":
                iterated_power = 7 if n_components < 0.1 * min(X.shape) else 4
            monitor = PassMonitor(iterated_power, n_samples, total_var, callback=callback,
                                  callback_every=callback_every, verbose=verbose,
                                  on_interrupt=on_interrupt)
            U, S, Vt = _randomized_svd(centered, n_components, n_oversamples, iterated_power,
                                       power_iteration_normalizer, random_state, torch,
                                       monitor)
            variances = (S.to(torch.float64) ** 2 / (n_samples - 1)).cpu().numpy()
        kept = final_n_components(n_components, variances, total_var, n_samples, X.dtype)
        return (variances, Vt.cpu().numpy(), total_var, mean.cpu().numpy(),
                U[:, :kept].cpu().numpy())


def _centered_covariance(X, torch):
    """Float64 mean and covariance of the rows of the tensor ``X``.

    Blocks of about ``BLOCK_BYTES`` (the in-memory fit's block size: measured
    there, float32 products of up to 16,384 centred rows keep the top
    eigenvalues of Fashion-MNIST within 1e-6) are centred on the float32
    mean, multiplied in the data's precision and summed in float64.
    """
    n_samples, n_features = X.shape
    mean = X.sum(dim=0, dtype=torch.float64) / n_samples
    shift = mean.to(X.dtype)
    rows = max(256, BLOCK_BYTES // max(1, n_features * X.element_size()))
    scatter = torch.zeros((n_features, n_features), dtype=torch.float64, device=X.device)
    column_sums = torch.zeros(n_features, dtype=torch.float64, device=X.device)
    for start in range(0, n_samples, rows):
        block = X[start:start + rows] - shift
        column_sums += block.sum(dim=0, dtype=torch.float64)
        scatter += (block.T @ block).to(torch.float64)
    # the blocks are centred on the float32 mean, and rounded: their own mean,
    # from their float64 column sums, corrects the scatter
    offset = column_sums / n_samples
    scatter -= n_samples * torch.outer(offset, offset)
    covariance = (scatter + scatter.T) / (2.0 * (n_samples - 1))
    return mean, covariance


def _normalizer(name, n_iter, torch):
    """The re-normalisation between power iterations (the in-memory fit's rules)."""
    if name == "auto":
        name = "none" if n_iter <= 2 else "LU"
    if name == "QR":
        return lambda Y: torch.linalg.qr(Y).Q
    if name == "LU":
        def permuted_l(Y):
            P, L, _ = torch.linalg.lu(Y)
            return P @ L

        return permuted_l
    return lambda Y: Y


def _randomized_svd(A, n_components, n_oversamples, n_iter, power_iteration_normalizer,
                    random_state, torch, monitor):
    """Truncated SVD of the tensor ``A`` by randomized subspace iteration.

    The torch twin of :func:`skunsup.decomposition._pca_memory.randomized_svd`
    (Halko, Martinsson and Tropp, 2011), in its order of operations: ``A``
    transposed when it has fewer rows than columns, a Gaussian test matrix of
    ``n_components + n_oversamples`` columns drawn from ``random_state``,
    ``n_iter`` power iterations re-normalised on both sides, then the exact
    SVD of the small projection ``Q.T @ A``; the same ``random_state`` gives
    the in-memory model, up to rounding. ``monitor`` (a
    :class:`~skunsup.decomposition._pca_memory.PassMonitor`) is told of every
    pass, with the estimate of that pass (on the host) when it asks for one,
    and may stop the iterations; Ctrl-C ends them at the last whole pass.
    """
    transpose = A.shape[0] < A.shape[1]
    if transpose:
        A = A.T
    normalize = _normalizer(power_iteration_normalizer, n_iter, torch)
    omega = torch.from_numpy(
        random_state.standard_normal((A.shape[1], n_components + n_oversamples))).to(
        device=A.device, dtype=A.dtype)

    def estimate(Y):
        Q = torch.linalg.qr(Y).Q
        U_small, S, Vt = torch.linalg.svd(Q.T @ A, full_matrices=False)
        U = Q @ U_small
        if transpose:
            return Vt[:n_components].T, S[:n_components], U[:, :n_components].T
        return U[:, :n_components], S[:n_components], Vt[:n_components]

    Y = A @ omega
    last = None  # (pass, estimate) of the last pass whose estimate was made
    n_done = 0
    try:
        for n_pass in range(1, n_iter + 1):
            # one statement: Ctrl-C leaves the iterate and its count together
            Y, n_done = A @ normalize(A.T @ normalize(Y)), n_pass
            if not monitor.wants_estimate(n_pass):
                monitor.passed(n_pass)
                continue
            last = (n_pass, estimate(Y))
            if monitor.passed(n_pass, last[1][1].cpu().numpy(), last[1][2].cpu().numpy()):
                break
    except KeyboardInterrupt:
        if monitor.on_interrupt is None:
            raise
        monitor.on_interrupt(n_done)
    if last is not None and last[0] == n_done:
        return last[1]
    return estimate(Y)
