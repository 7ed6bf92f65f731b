"""Seeding of k-means on data in memory: k-means++ and weighted random rows.

Also the input helpers they share with :class:`~skunsup.cluster.KMeans`
(sample weights, canonical CSR).
"""

from numbers import Integral

import numpy as np
import scipy.sparse as sp
from sklearn.utils import check_array, check_random_state

from skunsup.cluster import _kmeans_ops as ops
from skunsup.utils._sklearn_compat import Interval, validate_params


def _validate_sample_weight(sample_weight, n_samples):
    """Sample weights as a float64 vector: finite, non-negative, not all zero."""
    if sample_weight is None:
        return np.ones(n_samples, dtype=np.float64)
    if np.isscalar(sample_weight):
        weights = np.full(n_samples, sample_weight, dtype=np.float64)
    else:
        weights = check_array(sample_weight, ensure_2d=False, dtype=np.float64,
                              input_name="sample_weight", order="C", copy=False)
        if weights.ndim != 1 or weights.shape[0] != n_samples:
            raise ValueError(
                f"sample_weight must have shape ({n_samples},), got {weights.shape}.")
    if not np.all(np.isfinite(weights)):
        raise ValueError("sample_weight contains NaN or infinity.")
    if np.any(weights < 0):
        raise ValueError("sample_weight must be non-negative; negative weights were given.")
    if not np.any(weights > 0):
        raise ValueError("sample_weight must have at least one positive weight; all are zero.")
    return weights


def _prepare_csr(X):
    """Canonical CSR (sorted, no duplicate entries); copies only when X is not canonical."""
    if not X.has_canonical_format:
        X = X.copy()
        X.sum_duplicates()
    return X


def _kmeans_plusplus(X, n_clusters, x_squared_norms, sample_weight, random_state,
                     n_local_trials=None):
    """Greedy k-means++ on validated inputs; returns (centers, indices)."""
    n_samples = X.shape[0]
    if n_local_trials is None:
        n_local_trials = 2 + int(np.log(n_clusters))
    is_sparse = sp.issparse(X)

    def rows(index):
        picked = X[index]
        return picked.toarray() if is_sparse else picked

    centers = np.empty((n_clusters, X.shape[1]), dtype=X.dtype)
    indices = np.full(n_clusters, -1, dtype=np.intp)
    cumulative = np.cumsum(sample_weight)
    first = int(np.searchsorted(cumulative, random_state.uniform() * cumulative[-1],
                                side="right"))
    first = min(first, n_samples - 1)
    centers[0] = rows([first])[0]
    indices[0] = first
    closest = ops.kmeans_plusplus_trials(
        X, x_squared_norms, sample_weight, centers[:1], np.full(n_samples, np.inf))[0][0]
    # every row's nearest chosen centre: what the CSR trials' skip reads (dense
    # trials take every product on BLAS and skip nothing)
    nearest = np.zeros(n_samples, dtype=np.intp) if is_sparse else None
    for c in range(1, n_clusters):
        cumulative = np.cumsum(sample_weight * closest)
        draws = random_state.uniform(size=n_local_trials) * cumulative[-1]
        candidate_ids = np.minimum(np.searchsorted(cumulative, draws), n_samples - 1)
        trial_dist, pots = ops.kmeans_plusplus_trials(
            X, x_squared_norms, sample_weight, rows(candidate_ids), closest,
            nearest=nearest, chosen=centers[:c])
        best = int(np.argmin(pots))
        if is_sparse:
            nearest[trial_dist[best] < closest] = c
        closest = trial_dist[best]
        centers[c] = rows([candidate_ids[best]])[0]
        indices[c] = candidate_ids[best]
    return centers, indices


@validate_params(
    {
        "X": ["array-like", "sparse matrix"],
        "n_clusters": [Interval(Integral, 1, None, closed="left")],
        "sample_weight": ["array-like", None],
        "random_state": ["random_state"],
        "n_local_trials": [Interval(Integral, 1, None, closed="left"), None],
    },
    prefer_skip_nested_validation=True,
)
def kmeans_plusplus(X, n_clusters, *, sample_weight=None, random_state=None,
                    n_local_trials=None):
    """Choose initial k-means centres with greedy k-means++.

    The first centre is a sample drawn with probability proportional to its
    weight; every further centre is the best of ``n_local_trials`` samples
    drawn with probability proportional to ``weight * D(x)^2`` (``D`` the
    distance to the nearest centre chosen so far), the best being the one that
    leaves the smallest weighted potential. Each step is one fused parallel
    pass over the data.

    Parameters
    ----------
    X : {array-like, sparse matrix} of shape (n_samples, n_features)
        The data to pick seeds from.
    n_clusters : int
        Number of centres.
    sample_weight : array-like of shape (n_samples,), default=None
        Non-negative weights of the samples (None: all ones).
    random_state : int, RandomState instance or None, default=None
        Seed of the random draws.
    n_local_trials : int, default=None
        Candidates tried per centre; ``2 + int(log(n_clusters))`` when None.

    Returns
    -------
    centers : ndarray of shape (n_clusters, n_features)
        The initial centres (dtype of X: float32 stays float32).
    indices : ndarray of shape (n_clusters,)
        Index in X of every chosen centre.

    Examples
    --------
    >>> import numpy as np
    >>> from skunsup.cluster import kmeans_plusplus
    >>> X = np.array([[0.0, 0.0], [0.1, 0.0], [10.0, 10.0], [10.1, 10.0]])
    >>> centers, indices = kmeans_plusplus(X, 2, random_state=0)
    >>> sorted(np.round(centers[:, 0]).tolist())
    [0.0, 10.0]
    """
    X = check_array(X, accept_sparse="csr", dtype=[np.float64, np.float32], order="C",
                    accept_large_sparse=False)
    if X.shape[0] < n_clusters:
        raise ValueError(f"n_samples={X.shape[0]} should be >= n_clusters={n_clusters}.")
    if sp.issparse(X):
        X = _prepare_csr(X)
    sample_weight = _validate_sample_weight(sample_weight, X.shape[0])
    return _kmeans_plusplus(X, n_clusters, ops.row_squared_norms(X), sample_weight,
                            check_random_state(random_state), n_local_trials)


def random_centers(X, n_clusters, sample_weight, random_state):
    """``n_clusters`` distinct rows drawn with probability proportional to their weight.

    When fewer rows than that have a positive weight, all of them are taken
    and zero-weight rows complete the set.

    Examples
    --------
    >>> import numpy as np
    >>> from skunsup.cluster._seeding import random_centers
    >>> X = np.array([[0.0], [1.0], [2.0]])
    >>> random_centers(X, 2, np.array([0.0, 1.0, 1.0]), np.random.RandomState(0)).shape
    (2, 1)
    """
    positive = np.flatnonzero(sample_weight > 0)
    if positive.size < n_clusters:
        rest = np.setdiff1d(np.arange(X.shape[0]), positive)
        picks = np.concatenate([
            random_state.permutation(positive),
            random_state.choice(rest, n_clusters - positive.size, replace=False),
        ])
    else:
        p = sample_weight[positive] / sample_weight[positive].sum()
        picks = positive[random_state.choice(positive.size, size=n_clusters, replace=False,
                                             p=p)]
    centers = X[picks]
    return centers.toarray() if sp.issparse(centers) else np.array(centers)
