"""t-SNE's input affinities on a torch device: exact kNN, perplexity calibration, joint P.

The torch executor's twin of :func:`skunsup.manifold._affinity.knn_affinities`
(Euclidean metric, dense data), the same algorithm on tensors:

* :func:`knn` -- the ``k`` nearest neighbours of every row by brute force:
  blocks of query rows multiplied by all reference rows (``|r|² - 2 q·r``
  in float32 on data centred in float64, as the CPU path's BLAS tiles),
  ``topk`` of a few more candidates than ``k``, whose distances are then
  recomputed in float64 from the data as given and re-sorted by (distance,
  index), so float32 rounding can only swap near-ties, which the exact
  re-ranking puts right (the CPU path's rule).
* :func:`calibrate` -- every row's ``beta`` found at once: the CPU path's
  safeguarded Newton iteration on the entropy (bracket narrowed at every
  step, bisection or doubling where Newton would leave it; same tolerance
  1e-10 nats and cap of 200 steps), vectorised over rows in float64, each
  row frozen once it has converged.
* :func:`joint_affinities` -- ``p_ij = (p_{j|i} + p_{i|j}) / 2n`` as a
  coalesced sparse tensor (row-major, duplicates summed), returned as CSR
  index tensors (:class:`TorchAffinities`).

* :func:`rows_of_new_points` -- the conditional rows of new points against
  the training points (``TSNE.transform`` on the device).

Everything stays on the device; only the row widths (``sigmas``, for the
estimator's ``verbose`` line) and, at the end of a fit, P as a SciPy matrix
come back.
"""

import math
import time

import numpy as np
import scipy.sparse as sp

from skunsup.manifold._affinity import (
    _MAX_ITER,
    _TOL,
    Affinities,
    describe_perplexity,
    n_neighbors_for,
)
from skunsup.manifold._neighbors import KNNIndex

__all__ = ["TorchAffinities", "calibrate", "joint_affinities", "knn", "knn_block_rows",
           "rows_of_new_points"]

# Bytes of one block of the kNN's float32 key matrix (rows x n_reference): large
# enough that a GPU runs few blocks (1M reference rows: 268 query rows a block,
# 3,732 blocks, each product and topk a full-device launch), small enough that it
# and topk's workspace (about as large again) stay a few percent of a GPU's
# memory, whatever n.
_KNN_BLOCK_BYTES = 2**30


def knn_block_rows(n_reference, block_bytes=_KNN_BLOCK_BYTES):
    """Query rows per block of :func:`knn`: ``rows x n_reference`` float32 in ``block_bytes``.

    Examples
    --------
    >>> from skunsup.manifold._torch_affinity import knn_block_rows
    >>> knn_block_rows(70_000), knn_block_rows(10)
    (3834, 26843545)
    """
    return max(1, int(block_bytes // (4 * max(int(n_reference), 1))))


def _candidates(k, n_available):
    """Candidates kept before the float64 re-ranking (the CPU path's margin)."""
    return min(k + max(4, k // 8), n_available)


def knn(torch, X, k, *, Q=None, block_bytes=_KNN_BLOCK_BYTES):
    """The ``k`` nearest rows of ``X`` for every row of ``Q`` (None: X's own, self excluded).

    Parameters
    ----------
    torch : module
    X : tensor of shape (n, d), float32 or float64
        Reference rows (on the device the search runs on).
    k : int
        Neighbours per query row (``k < n`` for the training rows themselves).
    Q : tensor of shape (m, d), default=None
        Query rows; None searches the neighbours of X's own rows, each
        row excluded from its own list.
    block_bytes : int, default=1 GiB
        Size of one block of the key matrix (see :func:`knn_block_rows`).

    Returns
    -------
    indices : int64 tensor of shape (m, k)
    distances : float64 tensor of shape (m, k)
        Euclidean distances, ascending (ties by index).

    Examples
    --------
    >>> import torch
    >>> from skunsup.manifold._torch_affinity import knn
    >>> X = torch.tensor([[0.0], [1.0], [3.0], [7.0]])
    >>> knn(torch, X, 2)[0].tolist()
    [[1, 2], [0, 2], [1, 0], [2, 1]]
    """
    training = Q is None
    n = X.shape[0]
    mean = X.to(torch.float64).mean(dim=0)
    # centred before the cast to float32: smaller norms, less cancellation
    R = (X.to(torch.float64) - mean).to(torch.float32)
    R_sq = (R * R).sum(dim=1)
    X64 = X.to(torch.float64)
    Q_exact = X64 if training else Q.to(torch.float64)
    Qc = R if training else (Q_exact - mean).to(torch.float32)
    m = Qc.shape[0]
    k_cand = _candidates(k, n - 1 if training else n)
    rows = knn_block_rows(n, block_bytes)
    indices = torch.empty((m, k), dtype=torch.int64, device=X.device)
    distances = torch.empty((m, k), dtype=torch.float64, device=X.device)
    for start in range(0, m, rows):
        stop = min(start + rows, m)
        keys = torch.addmm(R_sq, Qc[start:stop], R.T, alpha=-2.0)  # |r|² - 2 q·r
        if training:
            own = torch.arange(start, stop, device=X.device)
            keys[own - start, own] = math.inf
        cand = torch.topk(keys, k_cand, dim=1, largest=False, sorted=False).indices
        del keys
        # exact float64 distances of the candidates, sorted by (distance, index)
        cand, _ = torch.sort(cand, dim=1)
        diff = Q_exact[start:stop, None, :] - X64[cand]
        dist = torch.sqrt((diff * diff).sum(dim=2))
        dist, order = torch.sort(dist, dim=1, stable=True)
        indices[start:stop] = torch.gather(cand, 1, order[:, :k])
        distances[start:stop] = dist[:, :k]
    return indices, distances


def _scaled_squares(torch, distances):
    """Each row's distances divided by its largest finite one, squared (the CPU path's
    scaling: P unchanged, squares in [0, 1]); returns the squares and the divisors."""
    D = distances.to(torch.float64)
    finite = torch.isfinite(D)
    high = torch.where(finite, D, -math.inf).max(dim=1, keepdim=True).values
    high = torch.where(torch.isfinite(high) & (high > 0), high, torch.ones_like(high))
    D = torch.where(finite, (D / high) ** 2, math.inf)
    return D, high.squeeze(1)


def calibrate(torch, dist_sq, perplexity, tol=_TOL, max_iter=_MAX_ITER):
    """Conditional Gaussian rows calibrated to ``perplexity``, all rows at once.

    The safeguarded Newton iteration of
    :func:`skunsup.manifold._affinity.calibrate_rows`, vectorised: every row
    takes the same step as the CPU kernel's until its entropy is within
    ``tol`` of ``log(perplexity)`` (then it is frozen), or ``max_iter``
    steps have run.

    Parameters
    ----------
    torch : module
    dist_sq : float64 tensor of shape (n_rows, m)
        Squared (pre-scaled) distances; ``inf`` marks an excluded entry.
    perplexity : float
    tol : float, default=1e-10
        Absolute tolerance on each row's entropy (nats).
    max_iter : int, default=200
        Most steps per row.

    Returns
    -------
    P : float64 tensor of shape (n_rows, m)
        Rows summing to 1.
    beta : float64 tensor of shape (n_rows,)
        ``1 / (2 sigma²)`` in the units of ``dist_sq``.

    Examples
    --------
    >>> import torch
    >>> from skunsup.manifold._torch_affinity import calibrate
    >>> P, beta = calibrate(torch, torch.tensor([[0.0, 1.0, 4.0]], dtype=torch.float64), 2.0)
    >>> round(float(torch.exp(-(P * P.log()).sum())), 6)  # the perplexity reached
    2.0
    """
    finite = torch.isfinite(dist_sq)
    n_valid = finite.sum(dim=1)
    d_min = torch.where(finite, dist_sq, math.inf).min(dim=1, keepdim=True).values
    E = torch.where(finite, dist_sq - d_min, 0.0)
    E = torch.where(torch.isfinite(E), E, 0.0)  # rows with no finite entry
    mean_shift = E.sum(dim=1) / n_valid.clamp(min=1)
    target = math.log(perplexity)
    beta = torch.where(mean_shift > 0, 1.0 / mean_shift, 1.0)
    # the uniform row has the largest entropy reachable
    uniform = target >= torch.log(n_valid.to(torch.float64))
    beta = torch.where(uniform, 0.0, beta)
    lo = torch.zeros_like(beta)
    hi = torch.full_like(beta, math.inf)
    active = ~uniform & (n_valid > 0)
    for _ in range(max_iter + 1):
        if not bool(active.any()):
            break
        W = torch.where(finite, torch.exp(-beta[:, None] * E), 0.0)
        z = W.sum(dim=1)
        mean = (W * E).sum(dim=1) / z
        entropy = torch.log(z) + beta * mean
        diff = entropy - target
        active = active & (diff.abs() > tol)
        lo = torch.where(active & (diff > 0), beta, lo)  # too flat: sharpen
        hi = torch.where(active & (diff <= 0), beta, hi)
        variance = (W * E * E).sum(dim=1) / z - mean * mean
        slope = -beta * variance  # d entropy / d beta
        newton = torch.where(slope < 0, beta - diff / torch.where(slope < 0, slope, -1.0), -1.0)
        inside = (lo < newton) & (newton < hi)
        fallback = torch.where(torch.isfinite(hi), 0.5 * (lo + hi),
                               torch.where(beta > 0, 2.0 * beta, 1.0))
        candidate = torch.where(inside, newton, fallback)
        active = active & (candidate != beta)
        beta = torch.where(active, candidate, beta)
    W = torch.where(finite, torch.exp(-beta[:, None] * E), 0.0)
    z = W.sum(dim=1, keepdim=True)
    P = torch.where(z > 0, W / torch.where(z > 0, z, 1.0), 0.0)
    return P, beta


def conditional_rows(torch, distances, perplexity):
    """Row-normalised P of ``distances`` (one perplexity or several: their mixture) and sigmas.

    sigma is scikit-learn's ``sqrt(1 / beta)`` in the metric's units (the
    CPU path's ``Affinities.sigmas``); several perplexities give the mean of
    the rows calibrated to each (Lee et al. 2015) and the geometric mean of
    their sigmas.
    """
    scales = np.atleast_1d(np.asarray(perplexity, dtype=np.float64))
    dist_sq, high = _scaled_squares(torch, distances)
    mixture = None
    log_sigmas = []
    for scale in scales:
        P, beta = calibrate(torch, dist_sq, float(scale))
        mixture = P if mixture is None else mixture + P
        log_sigmas.append(torch.log(high) - 0.5 * torch.log(beta))
    if scales.size > 1:
        mixture = mixture / scales.size
    sigmas = torch.exp(torch.stack(log_sigmas).mean(dim=0))
    return mixture, sigmas


class TorchAffinities:
    """The joint P of a fit on the device.

    Attributes
    ----------
    crow, col : int64 tensors
        CSR row pointers (n + 1) and column indices (nnz) of the symmetric P,
        columns ascending in each row.
    values : float64 tensor of shape (nnz,)
        ``p_ij``, summing to 1.
    sigmas : ndarray of shape (n,)
        Each row's Gaussian width (``inf`` for a uniform row).
    perplexity : float or ndarray
    phases : list of (str, float, str)
        How P was made, as the CPU path's ``Affinities.phases``: ``("kNN",
        seconds, how)`` and ``("affinities", seconds, what)``.
    """

    def __init__(self, torch, crow, col, values, sigmas, perplexity, phases=()):
        self.torch = torch
        self.crow = crow
        self.col = col
        self.values = values
        self.sigmas = sigmas
        self.perplexity = perplexity
        self.phases = list(phases)
        self.n_samples = crow.shape[0] - 1

    def rows(self):
        """Row index of every stored entry (int64 tensor of shape (nnz,))."""
        counts = self.crow[1:] - self.crow[:-1]
        return self.torch.repeat_interleave(
            self.torch.arange(self.n_samples, device=self.crow.device), counts)

    def to_scipy(self):
        """P as a SciPy CSR array (float64), e.g. to compare with the CPU path."""
        n = self.n_samples
        return sp.csr_array((self.values.cpu().numpy(), self.col.cpu().numpy(),
                             self.crow.cpu().numpy()), shape=(n, n))

    def to_host(self, X):
        """What the estimator keeps: the CPU path's Affinities of this P, with a query
        index of the training data ``X`` (numpy; :meth:`KNNIndex.for_queries`, no search).

        ``entropies`` is None (the device calibration does not keep them).
        """
        affinities = Affinities(self.to_scipy(), self.perplexity, "euclidean",
                                KNNIndex.for_queries(X), None, self.sigmas)
        affinities.phases = list(self.phases)
        return affinities


def rows_of_new_points(torch, R, Q, perplexity):
    """Conditional rows of new points against the training points: (indices, P rows) tensors.

    Each new point's ``⌊3·perplexity⌋`` nearest training points (at most
    all of them) with a Gaussian calibrated to ``perplexity``, as the CPU
    path's :meth:`~skunsup.manifold._affinity.Affinities.to_new`.

    Parameters
    ----------
    torch : module
    R : tensor of shape (n, d)
        The training points (e.g. centred, as a query index keeps them).
    Q : tensor of shape (m, d)
        The new points, in R's frame (centred by the same mean).
    perplexity : float or array-like of floats

    Returns
    -------
    indices : int64 tensor of shape (m, k)
    P_rows : float64 tensor of shape (m, k)
        Each row sums to 1.

    Examples
    --------
    >>> import torch
    >>> from skunsup.manifold._torch_affinity import rows_of_new_points
    >>> R = torch.tensor([[0.0], [1.0], [3.0], [7.0]])
    >>> indices, P_rows = rows_of_new_points(torch, R, torch.tensor([[2.9]]), 1.0)
    >>> indices.tolist(), round(float(P_rows.sum()), 6)
    ([[2, 1, 0]], 1.0)
    """
    n = R.shape[0]
    k = int(max(1, min(n, np.floor(3 * np.max(perplexity)))))
    perplexity = np.minimum(perplexity, k)
    indices, distances = knn(torch, R, k, Q=Q)
    P_rows, _ = conditional_rows(torch, distances, perplexity)
    return indices, P_rows


def _synchronize(torch, device):
    """Wait for the device's queued work (so that a phase's wall time is its own)."""
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def joint_affinities(torch, X, perplexity):
    """The symmetric sparse P of t-SNE over the ``⌊3·perplexity⌋`` nearest neighbours.

    The torch twin of :func:`skunsup.manifold._affinity.knn_affinities` for
    the Euclidean metric on dense data: kNN (:func:`knn`), calibration
    (:func:`calibrate`), ``P + Pᵀ`` coalesced (duplicates summed, explicit
    zeros dropped) and divided by its sum.

    Parameters
    ----------
    torch : module
    X : tensor of shape (n, d)
        Training data on the device.
    perplexity : float or array-like of floats

    Returns
    -------
    affinities : TorchAffinities

    Examples
    --------
    >>> import numpy as np
    >>> import torch
    >>> from skunsup.manifold._torch_affinity import joint_affinities
    >>> X = torch.from_numpy(np.random.RandomState(0).normal(size=(30, 3)))
    >>> aff = joint_affinities(torch, X, 3.0)
    >>> P = aff.to_scipy()
    >>> P.shape, round(float(P.sum()), 6), (P != P.T).nnz
    ((30, 30), 1.0, 0)
    """
    n = X.shape[0]
    k = n_neighbors_for(perplexity, n)
    tic = time.perf_counter()
    indices, distances = knn(torch, X, k)
    _synchronize(torch, X.device)
    toc = time.perf_counter()
    P_rows, sigmas = conditional_rows(torch, distances, perplexity)
    del distances
    rows = torch.arange(n, device=X.device).repeat_interleave(k)
    cols = indices.reshape(-1)
    vals = P_rows.reshape(-1)
    del indices, P_rows
    coo = torch.sparse_coo_tensor(torch.stack([torch.cat([rows, cols]), torch.cat([cols, rows])]),
                                  torch.cat([vals, vals]), (n, n),
                                  check_invariants=False).coalesce()
    del rows, cols, vals
    idx, values = coo.indices(), coo.values()
    keep = values > 0
    idx, values = idx[:, keep], values[keep]
    values = values / values.sum()
    counts = torch.bincount(idx[0], minlength=n)
    crow = torch.zeros(n + 1, dtype=torch.int64, device=X.device)
    crow[1:] = torch.cumsum(counts, dim=0)
    sigmas = sigmas.cpu().numpy()  # (waits for the device's work)
    phases = [("kNN", toc - tic, f"{k} neighbours, exact search on {X.device}"),
              ("affinities", time.perf_counter() - toc,
               f"perplexity {describe_perplexity(perplexity)}, sparse P of {values.shape[0]} "
               "entries")]
    return TorchAffinities(torch, crow, idx[1].contiguous(), values, sigmas, perplexity, phases)
