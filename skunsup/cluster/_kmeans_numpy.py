"""NumPy/BLAS versions of the k-means ops, for problems too small to pay a compile.

Every numba kernel of k-means (``skunsup/cluster/_*_kernels.py``) costs 0.5-5 s to
compile on its first call on a machine (then it loads from numba's cache). On
a small problem the same work takes milliseconds in NumPy, so
:mod:`skunsup.cluster._kmeans_ops` sends every op whose work is at most
``NUMPY_MAX_WORK`` here: a first ``KMeans(10).fit`` on a notebook-sized array
compiles nothing. The functions take and return what their namesakes in
``_kmeans_ops`` do (dense C-contiguous or canonical CSR X; float64 sums,
weights, distances; int32 labels) and give the same results up to the
rounding of a matrix product (ties between equally near centres aside).
"""

import numpy as np
import scipy.sparse as sp


def row_squared_norms(X):
    """Squared Euclidean norm of every row, float64 (see ``_kmeans_ops``)."""
    if sp.issparse(X):
        return np.asarray(X.multiply(X).sum(axis=1), dtype=np.float64).ravel()
    return np.einsum("ij,ij->i", X, X, dtype=np.float64)


def weighted_mean_variance(X, sample_weight):
    """Weighted mean and variance of every column, from deviations from the first row."""
    X = np.asarray(X, dtype=np.float64)
    n, d = X.shape
    shift = X[0].copy() if n else np.zeros(d)
    deviations = X - shift
    total = sample_weight.sum()
    offset = sample_weight @ deviations / total
    variance = np.maximum(sample_weight @ (deviations * deviations) / total - offset * offset,
                          0.0)
    return shift + offset, variance


def squared_distances(X, x_squared_norms, centers):
    """``||x - c||^2`` of every sample to every centre, (n_samples, n_centers) float64.

    From the expansion ``||x||^2 - 2 x.c + ||c||^2`` (one matrix product),
    clipped at zero.
    """
    centers = np.asarray(centers, dtype=np.float64)
    dots = np.asarray(X @ centers.T, dtype=np.float64)
    c_sq = np.einsum("ij,ij->i", centers, centers)
    return np.maximum(x_squared_norms[:, None] - 2.0 * dots + c_sq[None, :], 0.0)


def distances_to_assigned(X, centers, labels, x_squared_norms):
    """Squared distance of every sample to its assigned centre (float64).

    Dense rows are measured exactly (differences, summed in float64); CSR rows
    by the expansion, as the CSR kernels do.
    """
    if sp.issparse(X):
        dots = np.asarray(X.multiply(centers[labels]).sum(axis=1), dtype=np.float64).ravel()
        c_sq = np.einsum("ij,ij->i", centers, centers, dtype=np.float64)
        return np.maximum(x_squared_norms - 2.0 * dots + c_sq[labels], 0.0)
    diff = np.asarray(X, dtype=np.float64) - centers[labels]
    return np.einsum("ij,ij->i", diff, diff)


def assign_labels(X, centers, x_squared_norms, labels, distances):
    """Nearest centre of every sample and the squared distance to it (in place)."""
    labels[:] = np.argmin(squared_distances(X, x_squared_norms, centers), axis=1)
    distances[:] = distances_to_assigned(X, centers, labels, x_squared_norms)
    return labels, distances


def lloyd_partials(X, sample_weight, centers, x_squared_norms, labels, distances):
    """One Lloyd step: labels, sums and weights per cluster, inertia, distances."""
    n_clusters = centers.shape[0]
    assign_labels(X, centers, x_squared_norms, labels, distances)
    # the weighted one-hot matrix of the assignment, times X: per-cluster sums
    membership = sp.csr_matrix((sample_weight, (labels, np.arange(X.shape[0]))),
                               shape=(n_clusters, X.shape[0]))
    sums = membership @ X
    sums = sums.toarray() if sp.issparse(sums) else sums
    weights = np.bincount(labels, weights=sample_weight, minlength=n_clusters)
    inertia = float(sample_weight @ distances)
    return labels, np.asarray(sums, dtype=np.float64), weights, inertia, distances


def kmeans_plusplus_trials(X, x_squared_norms, sample_weight, candidates, closest):
    """Distances to candidate centres (capped by ``closest``) and their potentials."""
    trial_dist = np.minimum(squared_distances(X, x_squared_norms, candidates).T,
                            closest[None, :])
    return trial_dist, trial_dist @ sample_weight
