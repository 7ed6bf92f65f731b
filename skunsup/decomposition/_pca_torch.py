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
  centred data, with the power-iteration normalisers of the in-memory fit;
  the test matrix is drawn from the caller's ``RandomState``.

``'arpack'`` and sparse input have no torch executor (the estimator refuses
them with a CUDA device and takes the CPU path for ``device='auto'``).
"""

import numpy as np
from sklearn.utils import assert_all_finite

from skunsup.decomposition._covariance import BLOCK_BYTES
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


def fit_spectrum(X, solver, n_components, *, device, tol, iterated_power, n_oversamples,
                 power_iteration_normalizer, random_state, copy=True):
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
    tol : float
        Not used (ARPACK's tolerance); accepted for the in-memory signature.
    iterated_power : int or 'auto'
    n_oversamples : int
    power_iteration_normalizer : {'auto', 'QR', 'LU', 'none'}
    random_state : RandomState
        Draws the randomized test matrix.
    copy : bool, default=True
        Not used: the device holds its own copy of X, which is never written.

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
    ...     X, "full", 2, device=torch.device("cpu"), tol=0.0, iterated_power="auto",
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
        else:
            U, S, Vt = _randomized_svd(centered, n_components, n_oversamples, iterated_power,
                                       power_iteration_normalizer, random_state, torch)
        variances = (S.to(torch.float64) ** 2 / (n_samples - 1)).cpu().numpy()
        if solver == "full":  # the whole spectrum is here: its sum is the total variance
            total_var = float(np.sum(variances))
        else:
            squares = torch.linalg.vector_norm(centered, dim=0, dtype=torch.float64) ** 2
            total_var = float(squares.sum()) / (n_samples - 1)
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
    offset = column_sums / n_samples  # what the float32 mean left: mean - shift
    scatter -= n_samples * torch.outer(offset, offset)
    covariance = (scatter + scatter.T) / (2.0 * (n_samples - 1))
    return shift.to(torch.float64) + offset, covariance


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
                    random_state, torch):
    """Truncated SVD of the tensor ``A`` by randomized subspace iteration.

    Halko, Martinsson and Tropp (2011), algorithms 4.4 and 5.1, as the
    in-memory ``_randomized_svd``: a Gaussian test matrix from
    ``random_state``, ``n_iter`` power iterations re-normalised on both sides,
    then the exact SVD of the small projection ``Q.T @ A``.
    """
    n_samples, n_features = A.shape
    size = min(n_components + n_oversamples, n_samples, n_features)
    if n_iter == "auto":
        n_iter = 7 if n_components < 0.1 * min(n_samples, n_features) else 4
    normalize = _normalizer(power_iteration_normalizer, n_iter, torch)
    omega = torch.from_numpy(random_state.standard_normal((n_features, size))).to(
        device=A.device, dtype=A.dtype)
    Q = A @ omega
    for _ in range(n_iter):
        Q = A @ normalize(A.T @ normalize(Q))
    Q = torch.linalg.qr(Q).Q
    U_small, S, Vt = torch.linalg.svd(Q.T @ A, full_matrices=False)
    return Q @ U_small[:, :n_components], S[:n_components], Vt[:n_components]
