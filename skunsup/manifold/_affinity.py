"""Input-space affinities of SNE and t-SNE: perplexity calibration and P.

Every point ``i`` gets a conditional Gaussian over the other points,
``p_{j|i} ∝ exp(-beta_i d_ij²)`` with ``beta_i = 1 / (2 sigma_i²)`` (the papers'
Gaussian ``exp(-d²/2σ²)``; the lecture writes ``exp(-d²/σ²)``, which only
renames sigma), and ``beta_i`` is chosen so that the entropy of ``P_i`` (in
nats) equals ``log(perplexity)``, to ``1e-10`` nats. The search
(:func:`calibrate_rows`) is a safeguarded Newton iteration on ``beta`` in
Numba, parallel over points: Newton steps on the entropy, whose derivative is
``-beta * Var(d²)``, inside a bracket that every step narrows, with the
midpoint of the bracket (a doubling while it has no upper end) where a
Newton step would leave it; at most 200 steps per row.

Scaling, in this order: each row's distances are divided by the row's largest
finite distance and then squared (:func:`_scaled_squares`), so the squares
lie in [0, 1] whatever the data's scale; inside the kernel, the row's
smallest square is subtracted from every square before the exponential (a
common factor that cancels in the normalisation). The calibrated ``P_i`` is
unchanged (``beta`` absorbs the scale), and neither duplicates (zero
distances) nor far outliers (huge ones) can underflow or overflow. The
reported widths (``Affinities.sigmas``, ``verbose``) are scikit-learn's,
``sqrt(1 / beta)`` in the metric's units, i.e. for ``exp(-d² / sigma²)``.

Two layouts:

* :func:`exact_affinities` -- dense ``(n, n)`` P over all pairs, for the exact
  methods (O(n²) memory; :func:`check_dense_memory` refuses sizes that
  would not fit);
* :func:`knn_affinities` -- sparse CSR P over the ``⌊3·perplexity⌋`` nearest
  neighbours of every point, for Barnes-Hut (and FFT) t-SNE, O(n·k) memory.

Both return an :class:`Affinities` object holding ``P`` and the neighbour
index, whose :meth:`Affinities.to_new` gives the conditional affinities of new
points to the training points (for ``TSNE.transform``).

Distances follow scikit-learn's TSNE: the metric's own values (Euclidean,
cosine, ..., or the given ``"precomputed"`` ones) go squared into the
Gaussian. Data may be sparse (CSR); a sparse precomputed graph gives the
candidate neighbours of every point (:func:`knn_affinities` only).
"""

import time

import numba
import numpy as np
import scipy.sparse as sp
from scipy.spatial.distance import pdist, squareform
from sklearn.metrics import DistanceMetric, pairwise_distances

from skunsup.manifold._neighbors import build_knn_index
from skunsup.utils._numba import jit_kernel, jit_parallel

__all__ = [
    "Affinities",
    "calibrate_rows",
    "check_dense_memory",
    "check_distances",
    "exact_affinities",
    "knn_affinities",
    "n_neighbors_for",
]

# ---------------------------------------------------------------------------
# Numba kernels
# ---------------------------------------------------------------------------


@jit_kernel
def _calibrate_one_row(dist_sq, target, tol, max_iter, p_out):
    """Calibrate one row in place; return (beta, entropy) for that row.

    dist_sq (IN): squared, pre-scaled distances; non-finite entries are excluded.
    p_out (OUT): the row's probabilities (0 for excluded entries).
    """
    m = dist_sq.shape[0]
    d_min = np.inf
    n_valid = 0
    total = 0.0
    for j in range(m):
        d = dist_sq[j]
        if np.isfinite(d):
            n_valid += 1
            total += d
            if d < d_min:
                d_min = d
    for j in range(m):
        p_out[j] = 0.0
    if n_valid == 0:
        return 0.0, 0.0
    mean_shift = total / n_valid - d_min

    beta = 1.0 / mean_shift if mean_shift > 0 else 1.0
    lo = 0.0
    hi = np.inf
    if target >= np.log(n_valid):
        beta = 0.0  # the uniform row has the largest entropy reachable
        max_iter = 0
    entropy = 0.0
    for _ in range(max_iter + 1):
        z = 0.0
        s1 = 0.0
        s2 = 0.0
        for j in range(m):
            d = dist_sq[j]
            if np.isfinite(d):
                e = d - d_min
                w = np.exp(-beta * e)
                z += w
                s1 += w * e
                s2 += w * e * e
        mean = s1 / z
        entropy = np.log(z) + beta * mean
        diff = entropy - target
        if np.abs(diff) <= tol or max_iter == 0:
            break
        if diff > 0:
            lo = beta  # too flat: sharpen
        else:
            hi = beta
        variance = s2 / z - mean * mean
        slope = -beta * variance  # d entropy / d beta
        candidate = -1.0
        if slope < 0:
            candidate = beta - diff / slope
        if not (lo < candidate < hi):
            if np.isfinite(hi):
                candidate = 0.5 * (lo + hi)
            else:
                candidate = 2.0 * beta if beta > 0 else 1.0
        if candidate == beta:
            break
        beta = candidate

    z = 0.0
    for j in range(m):
        d = dist_sq[j]
        if np.isfinite(d):
            w = np.exp(-beta * (d - d_min))
            p_out[j] = w
            z += w
    for j in range(m):
        p_out[j] /= z
    return beta, entropy


@jit_parallel
def calibrate_rows(dist_sq, perplexity, tol, max_iter, P_out, beta_out, entropy_out):
    """Conditional Gaussian affinities of every row, calibrated to a perplexity.

    Parameters
    ----------
    dist_sq : ndarray of shape (n_rows, m), float64, C-contiguous (IN)
        Squared distances of each row's candidates; ``inf`` marks an excluded
        entry (the point itself in the dense layout).
    perplexity : float
        Target perplexity; the entropy target is ``log(perplexity)`` nats.
    tol : float
        Absolute tolerance on the entropy.
    max_iter : int
        Maximum Newton/bisection steps per row.
    P_out : ndarray of shape (n_rows, m), float64 (OUT)
        Row-normalised probabilities.
    beta_out, entropy_out : ndarray of shape (n_rows,), float64 (OUT)
        Precision ``1 / (2 sigma²)`` in the units of ``dist_sq`` and the
        entropy reached.
    """
    target = np.log(perplexity)
    for i in numba.prange(dist_sq.shape[0]):
        beta, entropy = _calibrate_one_row(dist_sq[i], target, tol, max_iter, P_out[i])
        beta_out[i] = beta
        entropy_out[i] = entropy


# ---------------------------------------------------------------------------
# Python layer
# ---------------------------------------------------------------------------

# Euclidean distances of dense data are taken from pdist (direct differences,
# exact); every other metric from scikit-learn's pairwise_distances.
_PDIST_EUCLIDEAN = ("euclidean", "l2")
# metrics whose parameters scikit-learn's NearestNeighbors requires (scipy would
# estimate them from the data): the exact path refuses them missing, as it does
_NEEDS_METRIC_PARAMS = ("mahalanobis", "seuclidean")

# Perplexity search: absolute tolerance on each row's entropy (nats), and a cap
# on the safeguarded Newton steps per row (a row reaching it keeps its last beta).
_TOL = 1e-10
_MAX_ITER = 200


def n_neighbors_for(perplexity, n_samples):
    """Neighbours kept per point by the sparse affinities: ``⌊3·perplexity⌋``, capped.

    For several perplexities (a multiscale mixture), three times the largest.
    """
    return int(max(1, min(n_samples - 1, np.floor(3 * np.max(perplexity)))))


def _scaled_squares(distances):
    """Squares of each row's distances divided by the row's largest finite one.

    Scaling a row's distances by ``c`` only rescales its ``beta`` by ``c²``,
    so P is unchanged, while the squares stay in [0, 1] whatever the scale of
    the data (no overflow for far outliers, no underflow for tiny scales).
    Non-finite entries stay ``inf`` (excluded). Returns the squares and each
    row's divisor, shape (n_rows,).
    """
    D = np.array(distances, dtype=np.float64, copy=True)
    finite = np.isfinite(D)
    high = np.where(finite, D, -np.inf).max(axis=1, keepdims=True)
    high = np.where(np.isfinite(high) & (high > 0), high, 1.0)
    D /= high
    np.square(D, out=D)
    D[~finite] = np.inf
    return np.ascontiguousarray(D), high.ravel()


def _calibrate(distances, perplexity, n_jobs):
    """Row-normalised P, each row's entropy and its sigma (in the metric's units).

    sigma is scikit-learn's ``sqrt(1 / beta)`` for ``p ∝ exp(-beta d²)``
    (``inf`` for a uniform row), reported by ``verbose``. Several
    perplexities give the multiscale mixture of Lee et al. (2015), as
    openTSNE's ``MultiscaleMixture``: each row is the mean of the rows
    calibrated to each perplexity; its entropy is the mixture's, its sigma the
    geometric mean of the scales' sigmas.
    """
    from skunsup.utils._numba import numba_threads

    scales = np.atleast_1d(np.asarray(perplexity, dtype=np.float64))
    dist_sq, high = _scaled_squares(distances)
    P = np.empty_like(dist_sq)
    beta = np.empty(dist_sq.shape[0])
    entropy = np.empty(dist_sq.shape[0])
    mixture = np.zeros_like(dist_sq) if scales.size > 1 else P
    sigmas = []
    with numba_threads(n_jobs), np.errstate(divide="ignore"):
        for scale in scales:
            calibrate_rows(dist_sq, float(scale), _TOL, _MAX_ITER, P, beta, entropy)
            if scales.size > 1:
                mixture += P
            sigmas.append(high / np.sqrt(beta))
    if scales.size == 1:
        return P, entropy, sigmas[0]
    mixture /= scales.size
    entropy = -np.sum(mixture * np.log(np.where(mixture > 0, mixture, 1.0)), axis=1)
    return mixture, entropy, np.exp(np.mean(np.log(sigmas), axis=0))


def check_distances(distances, metric):
    """Refuse negative distances from a callable metric (scikit-learn's message)."""
    if callable(metric) and np.any(distances < 0):
        raise ValueError(
            "All distances should be positive, the metric given is not correct: "
            f"metric={getattr(metric, '__name__', metric)!r} returned a distance of "
            f"{float(np.min(distances)):.6g}"
        )


def available_memory():
    """Bytes of memory available to this process (``MemAvailable``), or None."""
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:  # pragma: no cover - not Linux
        pass
    try:  # pragma: no cover - not Linux
        import os

        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return None


def check_dense_memory(n_samples, n_matrices, what):
    """Refuse an exact method whose n × n matrices would not fit in memory.

    Parameters
    ----------
    n_samples : int
    n_matrices : int
        How many ``n × n`` float64 matrices the method holds at once.
    what : str
        The method, named in the message.
    """
    needed = float(n_matrices) * 8.0 * n_samples * n_samples
    available = available_memory()
    if available is not None and needed > 0.5 * available:
        raise ValueError(
            f"{what} needs about {needed / 2**30:.1f} GiB for {n_samples} samples "
            f"(O(n²) memory) but only {available / 2**30:.1f} GiB is available; "
            "use method='barnes_hut' (approximate, O(n) memory) for data this large"
        )


class Affinities:
    """Input-space affinities P of a training set, and of new points to it.

    Built by :func:`exact_affinities` or :func:`knn_affinities`.

    Attributes
    ----------
    P : ndarray of shape (n, n) or scipy.sparse.csr_array
        Joint (t-SNE, symmetric, sums to 1) or conditional (SNE, rows sum to 1)
        affinities.
    perplexity : float or ndarray of floats
        One perplexity, or several (a multiscale mixture).
    metric : str or callable
    knn_index : KNNIndex
        Neighbour index of the training points (for :meth:`to_new`).
    entropies : ndarray of shape (n,)
        Entropy (nats) of each calibrated conditional row.
    sigmas : ndarray of shape (n,)
        Width of each row's Gaussian, ``p ∝ exp(-d² / sigma²)`` (scikit-learn's
        ``sqrt(1 / beta)``; ``inf`` for a uniform row).
    n_samples : int
    phases : list of (str, float, str)
        How P was made, for progress reports: ``("kNN", seconds, how)`` (the
        neighbour search, or all pairwise distances) and ``("affinities",
        seconds, what)`` (the perplexity calibration and P).
    """

    def __init__(self, P, perplexity, metric, knn_index, entropies, sigmas, n_jobs=None):
        self.P = P
        self.perplexity = perplexity
        self.metric = metric
        self.knn_index = knn_index
        self.entropies = entropies
        self.sigmas = sigmas
        self.n_samples = P.shape[0]
        self.n_jobs = n_jobs
        self.phases = []

    def to_new(self, X_new, perplexity=None):
        """Conditional affinities of new points to the training points.

        Each new point gets its ``⌊3·perplexity⌋`` nearest training points and
        a Gaussian over them calibrated to ``perplexity`` (its row sums to 1).

        Parameters
        ----------
        X_new : {ndarray, sparse matrix} of shape (n_new, n_features) or (n_new, n_samples)
            New points (their distances to the training points when the
            metric is ``"precomputed"``: dense, or sparse rows whose stored
            entries are the candidate neighbours).
        perplexity : float or array-like of floats, default=None
            Defaults to the training perplexity (capped by the training size).

        Returns
        -------
        P_new : scipy.sparse.csr_array of shape (n_new, n_samples)
        """
        perplexity = self.perplexity if perplexity is None else perplexity
        k = int(max(1, min(self.n_samples, np.floor(3 * np.max(perplexity)))))
        perplexity = np.minimum(perplexity, k)
        indices, distances = self.knn_index.query(X_new, k)
        check_distances(distances, self.metric)
        P_rows, _, _ = _calibrate(distances, perplexity, self.n_jobs)
        return _rows_to_csr(P_rows, indices, self.n_samples)


def describe_perplexity(perplexity):
    """A perplexity (or a list of them) as progress reports print it."""
    values = np.atleast_1d(np.asarray(perplexity, dtype=np.float64))
    return ", ".join(f"{value:g}" for value in values)


def _rows_to_csr(P_rows, indices, n_cols):
    n_rows, k = P_rows.shape
    indptr = np.arange(0, n_rows * k + 1, k, dtype=np.int64)
    P = sp.csr_array(
        (P_rows.ravel(), indices.ravel().astype(np.int64), indptr), shape=(n_rows, n_cols)
    )
    P.sort_indices()
    return P


def exact_affinities(X, perplexity, *, metric="euclidean", metric_params=None,
                     symmetrize=True, n_jobs=None):
    """Dense affinities over all pairs (for the exact methods).

    Parameters
    ----------
    X : {ndarray, sparse matrix} of shape (n_samples, n_features) or (n_samples, n_samples)
        Data (dense or CSR), or a dense square distance matrix when
        ``metric="precomputed"``.
    perplexity : float or array-like of floats
        ``0 < perplexity < n_samples``; several give their multiscale mixture.
    metric : str or callable, default="euclidean"
        Any metric of :func:`sklearn.metrics.pairwise_distances`, or
        ``"precomputed"``. Distances are squared inside the Gaussian.
    metric_params : dict, default=None
        Keyword arguments of the metric.
    symmetrize : bool, default=True
        True gives t-SNE's joint ``p_ij = (p_{j|i} + p_{i|j}) / 2n``; False
        keeps SNE's conditional ``p_{j|i}`` (rows sum to 1).
    n_jobs : int, default=None
        Threads for the distances and the calibration.

    Returns
    -------
    affinities : Affinities
        ``P`` is a dense ndarray of shape (n_samples, n_samples) with a zero
        diagonal.

    Examples
    --------
    >>> import numpy as np
    >>> from skunsup.manifold._affinity import exact_affinities
    >>> X = np.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [4.0, 4.0]])
    >>> aff = exact_affinities(X, perplexity=2.0)
    >>> aff.P.shape, bool(np.allclose(aff.P, aff.P.T)), round(float(aff.P.sum()), 6)
    ((4, 4), True, 1.0)
    """
    metric_params = metric_params or {}
    tic = time.perf_counter()
    if metric == "precomputed":
        D = np.array(X, dtype=np.float64, copy=True)
    elif metric in _PDIST_EUCLIDEAN and not sp.issparse(X) and not metric_params:
        # direct differences: exact, and the same for any thread count
        D = squareform(pdist(X, metric="euclidean"))
    else:
        # scikit-learn's own distances, so that metric=m and metric="precomputed"
        # on pairwise_distances(X, metric=m) give the same map, as in scikit-learn
        if metric in _NEEDS_METRIC_PARAMS:
            DistanceMetric.get_metric(metric, **metric_params)  # NearestNeighbors' check
        if metric == "mahalanobis" and "V" in metric_params:
            # NearestNeighbors takes the covariance V, scipy its inverse (as scipy inverts it)
            metric_params = {"VI": np.linalg.inv(metric_params["V"]).T}
        D = pairwise_distances(X, metric=metric, n_jobs=n_jobs, **metric_params)
        check_distances(D, metric)
        D = np.array(D, dtype=np.float64, copy=True)
    np.fill_diagonal(D, np.inf)
    # the index that new points are queried against (transform): part of the search
    index, _, _ = build_knn_index(X, 1, metric=metric, n_jobs=n_jobs,
                                  metric_params=metric_params)
    toc = time.perf_counter()
    P, entropies, sigmas = _calibrate(D, perplexity, n_jobs)
    del D
    if symmetrize:
        P = P + P.T
        P /= P.sum()
    affinities = Affinities(P, perplexity, metric, index, entropies, sigmas, n_jobs=n_jobs)
    affinities.phases = [
        ("kNN", toc - tic, f"all {P.shape[0] - 1} neighbours: every pairwise distance"),
        ("affinities", time.perf_counter() - toc,
         f"perplexity {describe_perplexity(perplexity)}, dense P"),
    ]
    return affinities


def knn_affinities(X, perplexity, *, metric="euclidean", metric_params=None,
                   knn_method="exact", random_state=None, n_jobs=None):
    """Sparse affinities over the nearest neighbours (for the approximate methods).

    Parameters
    ----------
    X : {ndarray, sparse matrix} of shape (n_samples, n_features) or (n_samples, n_samples)
        Data (dense or CSR), or a square distance matrix when
        ``metric="precomputed"``: dense, or a sparse graph whose stored
        entries of each row are that point's candidate neighbours (the
        nearest ``⌊3·perplexity⌋`` of them are used; a row with fewer,
        besides the point itself, raises scikit-learn's ``ValueError``). No
        dense ``n × n`` matrix is formed from a graph.
    perplexity : float or array-like of floats
        ``0 < perplexity < n_samples``; ``⌊3·perplexity⌋`` neighbours are kept
        (at most ``n_samples - 1``); several perplexities give their
        multiscale mixture over the neighbours of the largest.
    metric : str or callable, default="euclidean"
    metric_params : dict, default=None
        Keyword arguments of the metric.
    knn_method : str, default="exact"
        Neighbour search method of :func:`~skunsup.manifold._neighbors.build_knn_index`.
    random_state : int, RandomState instance or None, default=None
    n_jobs : int, default=None

    Returns
    -------
    affinities : Affinities
        ``P`` is a symmetric CSR array summing to 1.

    Examples
    --------
    >>> import numpy as np
    >>> from skunsup.manifold._affinity import knn_affinities
    >>> X = np.random.RandomState(0).normal(size=(30, 3))
    >>> aff = knn_affinities(X, perplexity=3.0)
    >>> aff.P.shape, round(float(aff.P.sum()), 6), (aff.P != aff.P.T).nnz
    ((30, 30), 1.0, 0)
    """
    n_samples = X.shape[0]
    k = n_neighbors_for(perplexity, n_samples)
    tic = time.perf_counter()
    index, indices, distances = build_knn_index(
        X, k, metric=metric, method=knn_method, random_state=random_state, n_jobs=n_jobs,
        metric_params=metric_params,
    )
    toc = time.perf_counter()
    check_distances(distances, metric)
    P_rows, entropies, sigmas = _calibrate(distances, perplexity, n_jobs)
    del distances  # the n x k arrays go before the symmetrisation, the memory peak
    P = _rows_to_csr(P_rows, indices, n_samples)
    del P_rows, indices
    P = (P + P.T).tocsr()
    P.eliminate_zeros()
    P.sort_indices()
    P.data /= P.data.sum()
    P = sp.csr_array(P)
    affinities = Affinities(P, perplexity, metric, index, entropies, sigmas, n_jobs=n_jobs)
    affinities.phases = [
        ("kNN", toc - tic, f"{k} neighbours, {index.method_} search"),
        ("affinities", time.perf_counter() - toc,
         f"perplexity {describe_perplexity(perplexity)}, sparse P of {P.nnz} entries"),
    ]
    return affinities
