"""Python side of the k-means kernels: normalise inputs, allocate outputs, reduce.

Every function here is stateless (arrays in, arrays out) and calls the numba
kernels (:mod:`~skunsup.cluster._lloyd_kernels`,
:mod:`~skunsup.cluster._seeding_kernels`,
:mod:`~skunsup.cluster._row_stats_kernels`), or, when the op's work is
at most ``NUMPY_MAX_WORK`` (:func:`is_small`), their NumPy versions in
:mod:`skunsup.cluster._kmeans_numpy`; the per-block state of the pruned steps
is :class:`~skunsup.cluster._yinyang.YinyangBounds`.

The public entry point for a block of samples is :func:`lloyd_partials`: it
returns the labels, the weighted sums and weights per cluster and the inertia
of one block, which is what a distributed k-means reduces over blocks.
"""

import contextlib

import numpy as np
import scipy.sparse as sp

from skunsup.cluster import _kmeans_numpy
from skunsup.cluster._center_geometry import center_neighbors, squared_gaps
from skunsup.cluster._lloyd_kernels import (
    _distances_to_assigned_dense,
    _lloyd_csr,
    _lloyd_dense_chunked,
    _lloyd_dense_from_hints,
)
from skunsup.cluster._row_stats_kernels import (
    _csr_row_sq_norms,
    _dense_row_sq_norms,
    _dense_weighted_moments,
)
from skunsup.cluster._seeding_kernels import _kpp_trials_csr, _kpp_trials_dense
from skunsup.utils._blas import blas_threads

# Row groups of the parallel reductions: at most MAX_GROUPS (enough for 16
# threads; more groups only add partials to zero and sum), at least
# MIN_GROUP_ROWS rows each (below that, a group's partials are a large share of
# its work), and the float64 partial sums of all groups within PARTIALS_BYTES
# (bounds the memory of a step with many clusters and features).
MAX_GROUPS = 16
MIN_GROUP_ROWS = 256
PARTIALS_BYTES = 32 * 2**20
# Rows per matrix product in the Yinyang step's BLAS path: at least
# BLAS_BLOCK_ROWS, and about PRODUCT_BLOCK_ELEMENTS products per block. Each
# block alternates a BLAS call and a numba parallel loop, two thread pools
# whose idle threads spin a while: small blocks made them fight for the cores
# (plain Lloyd steps on 20,000,000 x 32, k = 100: 41 s an iteration with
# 4,096-row blocks).
BLAS_BLOCK_ROWS = 4096
PRODUCT_BLOCK_ELEMENTS = 2**24

# Up to this many clusters the Yinyang step's direct loops (products one by
# one, the row in cache) beat a matrix product of the rows it revisits.
DIRECT_MAX_CLUSTERS = 32
# Rows per chunk of the chunked kernels (Lloyd's and k-means++'s: the BLAS
# product, then the argmin and the sums while the chunk is in cache). With few
# clusters or candidates (up to FEW_CLUSTERS; 10 and 100 were measured) the
# passes over the chunk cost most and a small chunk stays in L1/L2; with many
# the product does, and BLAS wants taller chunks. Full Lloyd partials on
# Fashion-MNIST (70,000 x 784 float32), quiet 2-core machine: k = 10 16.6 ms
# with 64-row chunks against 27.3 ms with 256; k = 100 85.8 against 75.8 ms;
# 1,000,000 x 32 blobs: k = 10 19.2 against 18.9 ms, k = 100 86.8 against
# 82.5 ms. k-means++ seeding (6 candidates a step), 3,072 x 784, k = 100:
# 0.033 s with 64-row chunks, 0.06 s with 256.
FEW_CLUSTERS = 32
FEW_CLUSTERS_CHUNK_ROWS = 64
CHUNK_ROWS = 256

# Relative margin of the triangle-inequality skip in k-means++ trials: a row is
# skipped only when the candidate is farther than twice its distance to its
# nearest centre by this factor, far beyond the float32 rounding of distances.
KPP_SKIP_MARGIN = 1e-3

# An op whose work (stored values of X times centres) is at most this runs in
# NumPy/BLAS: 2**21 multiply-adds take about a millisecond there, while the
# numba kernel it stands for costs 0.5-5 s to compile on a machine's first
# call, more than it can save over a fit of that size (measured, see
# benchmarks/RESULTS.md "First call"). numpy_max_work(-1) reaches the kernels.
NUMPY_MAX_WORK = 2**21


@contextlib.contextmanager
def numpy_max_work(value):
    """Run the ops with ``NUMPY_MAX_WORK = value`` (-1: always the numba kernels).

    For the warmup, which compiles the kernels on tiny data, and the tests.

    Examples
    --------
    >>> import numpy as np
    >>> from skunsup.cluster import _kmeans_ops as ops
    >>> with ops.numpy_max_work(-1):
    ...     ops.is_small(np.zeros((2, 2)))
    False
    """
    global NUMPY_MAX_WORK
    saved, NUMPY_MAX_WORK = NUMPY_MAX_WORK, value
    try:
        yield
    finally:
        NUMPY_MAX_WORK = saved


def is_small(X, n_clusters=1):
    """True when an op on X with ``n_clusters`` centres runs in NumPy (see NUMPY_MAX_WORK).

    Examples
    --------
    >>> import numpy as np
    >>> from skunsup.cluster._kmeans_ops import is_small
    >>> is_small(np.zeros((2000, 20)), 10), is_small(np.zeros((70000, 784)), 10)
    (True, False)
    """
    stored = X.nnz if sp.issparse(X) else X.size
    return stored * max(n_clusters, 1) <= NUMPY_MAX_WORK


def _product_block_rows(n_clusters):
    """Rows per block of the matrix products with the centres."""
    return max(BLAS_BLOCK_ROWS, PRODUCT_BLOCK_ELEMENTS // max(n_clusters, 1))


def n_row_groups(n_samples, n_clusters, n_features):
    """Number of row groups of a parallel reduction (a function of the shape only).

    Parameters
    ----------
    n_samples, n_clusters, n_features : int
        Shape of the problem.

    Returns
    -------
    n_groups : int
        Between 1 and ``MAX_GROUPS``.

    Examples
    --------
    >>> from skunsup.cluster._kmeans_ops import n_row_groups
    >>> n_row_groups(100, 3, 2), n_row_groups(70000, 10, 784)
    (1, 16)
    """
    by_rows = max(1, n_samples // MIN_GROUP_ROWS)
    by_memory = max(1, PARTIALS_BYTES // max(1, 8 * n_clusters * n_features))
    return int(min(MAX_GROUPS, by_rows, by_memory))


def _check_contiguous(X):
    if sp.issparse(X):
        return X
    if not X.flags.c_contiguous:
        raise ValueError("X must be C-contiguous for the k-means kernels.")
    return X


def half_squared_norms(centers):
    """``||c||^2 / 2`` of every centre, in float64.

    Parameters
    ----------
    centers : ndarray of shape (n_clusters, n_features)

    Returns
    -------
    half_sq : ndarray of shape (n_clusters,), dtype float64

    Examples
    --------
    >>> import numpy as np
    >>> from skunsup.cluster._kmeans_ops import half_squared_norms
    >>> half_squared_norms(np.array([[3.0, 4.0]])).tolist()
    [12.5]
    """
    centers = np.asarray(centers, dtype=np.float64)
    return 0.5 * np.einsum("ij,ij->i", centers, centers)


def weighted_total(sample_weight, values):
    """``sum(sample_weight * values)`` as a float, without BLAS.

    A BLAS dot of more than about 10,000 values runs on OpenBLAS's threads,
    which then spin for about 0.1 s and halve the speed of the numba kernels
    that follow (k-means++ seeding of 3,072 x 784 rows: 0.05 s, 0.11 s right
    after a 70,000-value ``np.dot``; quiet 2-core machine). A fit's last
    inertia would slow whatever runs next.

    Examples
    --------
    >>> import numpy as np
    >>> from skunsup.cluster._kmeans_ops import weighted_total
    >>> weighted_total(np.array([1.0, 2.0]), np.array([3.0, 4.0]))
    11.0
    """
    return float(np.einsum("i,i->", sample_weight, values))


def row_squared_norms(X):
    """Squared Euclidean norm of every row of a dense or CSR matrix, in float64.

    Parameters
    ----------
    X : {ndarray, csr_matrix} of shape (n_samples, n_features)
        C-contiguous when dense; CSR in canonical format when sparse.

    Returns
    -------
    norms : ndarray of shape (n_samples,), dtype float64

    Examples
    --------
    >>> import numpy as np
    >>> from skunsup.cluster._kmeans_ops import row_squared_norms
    >>> row_squared_norms(np.array([[3.0, 4.0], [1.0, 0.0]])).tolist()
    [25.0, 1.0]
    """
    if is_small(X):
        return _kmeans_numpy.row_squared_norms(X)
    out = np.empty(X.shape[0], dtype=np.float64)
    if sp.issparse(X):
        _csr_row_sq_norms(X.data, X.indptr, out)
    else:
        _dense_row_sq_norms(_check_contiguous(X), out)
    return out


def weighted_mean_variance(X, sample_weight):
    """Weighted mean and variance of every column of a dense C-contiguous matrix.

    Computed in one pass over fixed row groups (no copy of X), in float64, from
    the deviations from the first row.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
    sample_weight : ndarray of shape (n_samples,), dtype float64

    Returns
    -------
    mean, variance : ndarray of shape (n_features,), dtype float64

    Examples
    --------
    >>> import numpy as np
    >>> from skunsup.cluster._kmeans_ops import weighted_mean_variance
    >>> mean, var = weighted_mean_variance(np.array([[0.0], [2.0]]), np.ones(2))
    >>> mean.tolist(), var.tolist()
    ([1.0], [1.0])
    """
    if is_small(X):
        return _kmeans_numpy.weighted_mean_variance(X, sample_weight)
    n, d = X.shape
    total = sample_weight.sum()
    n_groups = n_row_groups(n, 1, d)
    first = np.empty((n_groups, d), dtype=np.float64)
    second = np.empty((n_groups, d), dtype=np.float64)
    # shifting by a row keeps the one-pass formula accurate: the sums are of
    # deviations of the order of the spread, not of the values themselves
    shift = X[0].astype(np.float64) if n else np.zeros(d)
    _dense_weighted_moments(_check_contiguous(X), sample_weight, shift, first, second)
    offset = first.sum(axis=0) / total
    variance = np.maximum(second.sum(axis=0) / total - offset * offset, 0.0)
    return shift + offset, variance


def assign_labels(X, centers, *, x_squared_norms=None, out_labels=None, out_distances=None):
    """Nearest centre of every sample and the squared distance to it.

    Parameters
    ----------
    X : {ndarray, csr_matrix} of shape (n_samples, n_features)
        C-contiguous dense data or canonical CSR, same float dtype as ``centers``.
    centers : ndarray of shape (n_clusters, n_features)
        C-contiguous centres.
    x_squared_norms : ndarray of shape (n_samples,), default=None
        Squared row norms (CSR only; computed when None).
    out_labels, out_distances : ndarray, default=None
        Buffers of shape (n_samples,) (int32, float64) to write into.

    Returns
    -------
    labels : ndarray of shape (n_samples,), dtype int32
    distances : ndarray of shape (n_samples,), dtype float64
        Squared Euclidean distance to the assigned centre.

    Examples
    --------
    >>> import numpy as np
    >>> from skunsup.cluster._kmeans_ops import assign_labels
    >>> X = np.array([[0.0, 0.0], [10.0, 0.0]])
    >>> labels, dist = assign_labels(X, np.array([[9.0, 0.0], [1.0, 0.0]]))
    >>> labels.tolist(), dist.tolist()
    ([1, 0], [1.0, 1.0])
    """
    n = X.shape[0]
    k = centers.shape[0]
    labels = np.empty(n, dtype=np.int32) if out_labels is None else out_labels
    distances = np.empty(n, dtype=np.float64) if out_distances is None else out_distances
    if is_small(X, k):
        if x_squared_norms is None:
            x_squared_norms = row_squared_norms(X)
        return _kmeans_numpy.assign_labels(X, centers, x_squared_norms, labels, distances)
    half_sq = half_squared_norms(centers)
    # no sums to accumulate; the groups are for the threads only, with no
    # partials of the centres' size to bound
    no_sums, no_weights = np.empty((0, 0, 0)), np.empty((0, 0))
    group_inertia = np.empty(n_row_groups(n, 1, 1))
    if sp.issparse(X):
        if x_squared_norms is None:
            x_squared_norms = row_squared_norms(X)
        _lloyd_csr(X.data, X.indices, X.indptr, x_squared_norms, np.empty(0), centers,
                   half_sq, False, labels, distances, no_sums, no_weights, group_inertia)
    else:
        _chunked_step(X, None, np.empty(0), centers, half_sq, labels, distances, no_sums,
                      no_weights, group_inertia, accumulate=False)
    return labels, distances


def _chunk_rows(n_columns):
    """Rows per chunk of a chunked kernel whose product has ``n_columns`` columns."""
    return FEW_CLUSTERS_CHUNK_ROWS if n_columns <= FEW_CLUSTERS else CHUNK_ROWS


def _chunked_step(X, rows, sample_weight, centers, half_sq, labels, distances, sums, weights,
                  inertia, accumulate=True):
    """Run :func:`_lloyd_dense_chunked` on one BLAS thread (its groups are the parallelism)."""
    with blas_threads(1):
        _lloyd_dense_chunked(_check_contiguous(X), rows, sample_weight, centers, half_sq,
                             _chunk_rows(centers.shape[0]), accumulate, labels, distances,
                             sums, weights, inertia)


def lloyd_partials(X, sample_weight, centers, *, rows=None, serial=False, x_squared_norms=None,
                   out_labels=None, out_distances=None):
    """One Lloyd step on a block of samples: labels and per-cluster partial sums.

    The assignment uses the centres given; the sums are what the next centres
    are made of (``sums / weights``). Reducing the outputs of several blocks
    (adding ``sums``, ``weights`` and ``inertia``) gives the step on their union.

    Parameters
    ----------
    X : {ndarray, csr_matrix} of shape (n_samples, n_features)
        C-contiguous float32/float64 data or canonical CSR.
    sample_weight : ndarray of shape (n_samples,), dtype float64
        Non-negative weights.
    centers : ndarray of shape (n_clusters, n_features)
        Current centres, same dtype as X, C-contiguous.
    rows : ndarray of shape (n_rows,), dtype int64, default=None
        Step on these rows of X only (a mini-batch; None: every row). Dense
        rows are gathered by the kernel, a chunk at a time; CSR rows (and the
        rows of a step in NumPy) into a copy first. Whether the step runs in
        NumPy (:func:`is_small`) is decided on the whole X: a batch is small,
        the fit it belongs to need not be. ``sample_weight``,
        ``x_squared_norms`` and the outputs then have one entry per row in
        ``rows``.
    serial : bool, default=False
        The caller runs numba on one thread (a CSR mini-batch step, see
        :func:`~skunsup.cluster._minibatch.step_threads`): the CSR kernel
        then keeps one group of partial sums. Dense steps ignore it.
    x_squared_norms : ndarray of shape (n_samples,), default=None
        Squared row norms; only used (and computed when None) for CSR input.
    out_labels, out_distances : ndarray of shape (n_samples,), default=None
        Buffers (int32, float64) to write the labels and squared distances into.

    Returns
    -------
    labels : ndarray of shape (n_samples,), dtype int32
        Index of the nearest centre of every sample.
    sums : ndarray of shape (n_clusters, n_features), dtype float64
        Weighted sum of the samples of every cluster.
    weights : ndarray of shape (n_clusters,), dtype float64
        Total weight of every cluster.
    inertia : float
        Weighted sum of squared distances to the assigned centres.
    distances : ndarray of shape (n_samples,), dtype float64
        Squared distance of every sample to its centre.

    Examples
    --------
    >>> import numpy as np
    >>> from skunsup.cluster._kmeans_ops import lloyd_partials
    >>> X = np.array([[0.0], [1.0], [10.0], [12.0]])
    >>> labels, sums, weights, inertia, _ = lloyd_partials(
    ...     X, np.ones(4), np.array([[0.0], [10.0]]))
    >>> labels.tolist(), sums.ravel().tolist(), weights.tolist(), inertia
    ([0, 0, 1, 1], [1.0, 22.0], [2.0, 2.0], 5.0)
    """
    labels, sums, weights, inertia, distances = lloyd_group_partials(
        X, sample_weight, centers, rows=rows, serial=serial, x_squared_norms=x_squared_norms,
        out_labels=out_labels, out_distances=out_distances)
    return labels, sums.sum(axis=0), weights.sum(axis=0), float(inertia.sum()), distances


def lloyd_group_partials(X, sample_weight, centers, *, rows=None, serial=False,
                         x_squared_norms=None, out_labels=None, out_distances=None):
    """:func:`lloyd_partials` before the sum over the kernel's row groups.

    For a caller that sums the groups itself: the mini-batch centre update
    does as it moves the centres (one pass less over the sums).

    Parameters
    ----------
    X, sample_weight, centers, rows, serial, x_squared_norms, out_labels, out_distances
        As in :func:`lloyd_partials`.

    Returns
    -------
    labels : ndarray of shape (n_samples,), dtype int32
    sums : ndarray of shape (n_groups, n_clusters, n_features), dtype float64
        Weighted sums of every group's samples of every cluster.
    weights : ndarray of shape (n_groups, n_clusters), dtype float64
    inertia : ndarray of shape (n_groups,), dtype float64
    distances : ndarray of shape (n_samples,), dtype float64

    Examples
    --------
    >>> import numpy as np
    >>> from skunsup.cluster._kmeans_ops import lloyd_group_partials
    >>> _, sums, weights, inertia, _ = lloyd_group_partials(
    ...     np.array([[0.0], [1.0], [10.0]]), np.ones(3), np.array([[0.0], [10.0]]))
    >>> sums.sum(axis=0).ravel().tolist(), weights.sum(axis=0).tolist(), float(inertia.sum())
    ([1.0, 10.0], [2.0, 1.0], 1.0)
    """
    k = centers.shape[0]
    small = is_small(X, k)
    dense = not sp.issparse(X)
    if rows is not None and (small or not dense):
        X, rows = X[rows], None
    if small:
        n = X.shape[0]
        if x_squared_norms is None:
            x_squared_norms = row_squared_norms(X)
        labels, sums, weights, inertia, distances = _kmeans_numpy.lloyd_partials(
            X, sample_weight, centers, x_squared_norms,
            np.empty(n, dtype=np.int32) if out_labels is None else out_labels,
            np.empty(n, dtype=np.float64) if out_distances is None else out_distances)
        return labels, sums[None], weights[None], np.array([inertia]), distances
    n = X.shape[0] if rows is None else rows.shape[0]
    labels, distances, sums, weights, inertia = _step_buffers(
        (n, X.shape[1]), k, out_labels, out_distances, serial and not dense)
    half_sq = half_squared_norms(centers)
    if dense:
        if rows is not None:
            rows = np.asarray(rows, dtype=np.int64)
        _chunked_step(X, rows, sample_weight, centers, half_sq, labels, distances, sums,
                      weights, inertia)
    else:
        if x_squared_norms is None:
            x_squared_norms = row_squared_norms(X)
        _lloyd_csr(X.data, X.indices, X.indptr, x_squared_norms, sample_weight, centers,
                   half_sq, True, labels, distances, sums, weights, inertia)
    return labels, sums, weights, inertia, distances


def _step_buffers(shape, n_clusters, out_labels=None, out_distances=None, serial=False):
    """Outputs of a Lloyd step kernel: labels, distances and per-group partials.

    A serial step keeps one group: its result then depends on no thread
    count either, and it zeroes and sums no partials that no thread needs.
    """
    n, d = shape
    labels = np.empty(n, dtype=np.int32) if out_labels is None else out_labels
    distances = np.empty(n, dtype=np.float64) if out_distances is None else out_distances
    n_groups = 1 if serial else n_row_groups(n, n_clusters, d)
    sums = np.empty((n_groups, n_clusters, d), dtype=np.float64)
    weights = np.empty((n_groups, n_clusters), dtype=np.float64)
    inertia = np.empty(n_groups, dtype=np.float64)
    return labels, distances, sums, weights, inertia


def lloyd_partials_from_hints(X, sample_weight, centers, hints, neighbors=None):
    """:func:`lloyd_partials` for dense X, each row starting at a hinted centre.

    Every row first measures its hinted centre ``a`` (typically its label of
    the previous step), then only the centres closer to ``a`` than twice that
    distance (Elkan's bound): one distance per row when the clusters are well
    separated and the hints right, every centre in the worst case. The result
    does not depend on the hints (up to ties between equally near centres).

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
        C-contiguous float32/float64 data.
    sample_weight : ndarray of shape (n_samples,), dtype float64
    centers : ndarray of shape (n_clusters, n_features)
        Same dtype as X.
    hints : ndarray of shape (n_samples,), int
        A centre index per row, in ``[0, n_clusters)``.
    neighbors : tuple of ndarray, default=None
        ``_center_geometry.center_neighbors(centers)`` when already computed.

    Returns
    -------
    labels, sums, weights, inertia, distances
        As :func:`lloyd_partials`; distances are exact, summed in float64.

    Examples
    --------
    >>> import numpy as np
    >>> from skunsup.cluster._kmeans_ops import lloyd_partials_from_hints
    >>> X = np.array([[0.0], [1.0], [10.0], [12.0]])
    >>> labels, sums, weights, inertia, _ = lloyd_partials_from_hints(
    ...     X, np.ones(4), np.array([[0.0], [10.0]]), np.array([1, 1, 0, 0]))
    >>> labels.tolist(), sums.ravel().tolist(), weights.tolist(), inertia
    ([0, 0, 1, 1], [1.0, 22.0], [2.0, 2.0], 5.0)
    """
    n = X.shape[0]
    k = centers.shape[0]
    hints = np.asarray(hints)
    if hints.shape != (n,) or (n and (hints.min() < 0 or hints.max() >= k)):
        raise ValueError(f"hints must be {n} centre indices in [0, {k}).")
    order, gaps = center_neighbors(centers) if neighbors is None else neighbors
    labels, distances, sums, weights, inertia = _step_buffers(X.shape, k)
    _lloyd_dense_from_hints(_check_contiguous(X), sample_weight, centers, order, gaps,
                            hints.astype(np.int32, copy=False), labels, distances, sums,
                            weights, inertia)
    return labels, sums.sum(axis=0), weights.sum(axis=0), float(inertia.sum()), distances


def distances_to_assigned(X, centers, labels, x_squared_norms):
    """Squared distance of every sample to its assigned centre (float64)."""
    if is_small(X) or sp.issparse(X):  # CSR: a product per row, no kernel needed
        return _kmeans_numpy.distances_to_assigned(X, centers, labels, x_squared_norms)
    distances = np.empty(X.shape[0], dtype=np.float64)
    _distances_to_assigned_dense(X, centers, labels, distances)
    return distances


def kmeans_plusplus_trials(X, x_squared_norms, sample_weight, candidates, closest,
                           nearest=None, chosen=None):
    """Distances to candidate centres and the potential each candidate would leave.

    Dense rows take their products with every candidate on BLAS, a chunk at a
    time (:func:`_kpp_trials_dense`). CSR rows, whose products are computed one
    by one, skip the samples a candidate cannot bring closer, given the chosen
    centres and every sample's nearest one: when ``||candidate - c||^2 >= 4
    ||x - c||^2`` for the sample's nearest centre ``c``, then ``||x -
    candidate|| >= ||x - c||`` (Raff 2021, "Exact acceleration of k-means++
    and k-means||"). Late in the seeding most samples are skipped, and the
    result is the same. (Dense seeding of 3,072 x 784 rows, k = 100: 0.033 s
    with the BLAS chunks against 0.047 s skipping with a product loop.)

    Parameters
    ----------
    X : {ndarray, csr_matrix} of shape (n_samples, n_features)
    x_squared_norms : ndarray of shape (n_samples,), dtype float64
    sample_weight : ndarray of shape (n_samples,), dtype float64
    candidates : ndarray of shape (n_trials, n_features)
        Candidate centres (dense, dtype of X).
    closest : ndarray of shape (n_samples,), dtype float64
        Squared distance of every sample to its nearest centre chosen so far.
    nearest : ndarray of shape (n_samples,), dtype intp, default=None
        Index into ``chosen`` of every sample's nearest centre. None: no
        skipping (dense X never skips).
    chosen : ndarray of shape (n_chosen, n_features), default=None
        The centres chosen so far (needed with ``nearest``).

    Returns
    -------
    trial_dist : ndarray of shape (n_trials, n_samples), dtype float64
        ``min(closest, ||x - candidate||^2)`` for every candidate.
    pots : ndarray of shape (n_trials,), dtype float64
        Weighted sum of every row of ``trial_dist``.

    Examples
    --------
    >>> import numpy as np
    >>> from skunsup.cluster._kmeans_ops import kmeans_plusplus_trials
    >>> X = np.array([[0.0], [1.0], [5.0]])
    >>> dist, pots = kmeans_plusplus_trials(
    ...     X, (X ** 2).ravel(), np.ones(3), np.array([[5.0]]), np.array([0.0, 1.0, 25.0]))
    >>> dist.tolist(), pots.tolist()
    ([[0.0, 1.0, 0.0]], [1.0])
    """
    n = X.shape[0]
    n_trials = candidates.shape[0]
    if is_small(X, n_trials):  # skipping only saves kernel work
        return _kmeans_numpy.kmeans_plusplus_trials(X, x_squared_norms, sample_weight,
                                                    candidates, closest)
    trial_dist = np.empty((n_trials, n), dtype=np.float64)
    pots = np.empty((n_row_groups(n, n_trials, 1), n_trials), dtype=np.float64)
    cand_sq = 2.0 * half_squared_norms(candidates)
    if not sp.issparse(X):
        with blas_threads(1):
            _kpp_trials_dense(_check_contiguous(X), x_squared_norms, sample_weight,
                              np.ascontiguousarray(candidates), cand_sq, closest,
                              _chunk_rows(n_trials), trial_dist, pots)
        return trial_dist, pots.sum(axis=0)
    if nearest is None:
        nearest = np.zeros(n, dtype=np.intp)
        far_enough = np.full((n_trials, 1), -np.inf)
    else:
        far_enough = squared_gaps(candidates, chosen) / (4.0 * (1.0 + KPP_SKIP_MARGIN))
    _kpp_trials_csr(X.data, X.indices, X.indptr, x_squared_norms, sample_weight,
                    candidates, cand_sq, closest, nearest, far_enough, trial_dist, pots)
    return trial_dist, pots.sum(axis=0)
