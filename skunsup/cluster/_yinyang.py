"""Yinyang's grouped bounds: the state of the pruned Lloyd steps on a dense block.

With one group of centres the bounds are Hamerly's (one lower bound per
sample); with several, Yinyang's global and local filters (Ding et al. 2015).
The kernels are the ``_hamerly_*`` and ``_yinyang_*`` functions of
:mod:`skunsup.cluster._yinyang_kernels`.
"""

import numpy as np

from skunsup.cluster._yinyang_kernels import (
    _hamerly_bounds_dense,
    _hamerly_reassign_dense,
    _hamerly_reassign_direct,
    _yinyang_reassign_direct,
)
from skunsup.cluster._center_geometry import group_centers, squared_gaps
from skunsup.cluster._kmeans_ops import (
    DIRECT_MAX_CLUSTERS,
    _check_contiguous,
    _product_block_rows,
    half_squared_norms,
    n_row_groups,
    row_squared_norms,
)

# Centres per Yinyang group: 40 iterations on Fashion-MNIST from the same
# k-means++ centres took 0.068 s an iteration with 4 (k = 100; 0.076 s with 8,
# 0.077 s with 12) and 0.113 s with 4 or 8 (k = 256). The bounds take
# 8 * n_clusters / CENTERS_PER_GROUP bytes per sample.
CENTERS_PER_GROUP = 4

# Cost of a product computed in a direct loop relative to one inside a BLAS
# matrix product (an estimate, not a timing): a pruned step takes the matrix
# product with every centre when Yinyang's local filter would compute more
# than 1 / DIRECT_PRODUCT_COST of the products (and there are more than
# DIRECT_MAX_CLUSTERS clusters).
DIRECT_PRODUCT_COST = 3.0


class YinyangBounds:
    """Yinyang's bounds and running sums of pruned Lloyd steps on a dense block.

    With a single group of centres this is Hamerly's algorithm.

    One object per block: :meth:`step` runs one Lloyd step (assignment with
    pruning) and returns the per-cluster sums; :meth:`moved` tells it how far
    the centres then moved. The result of every step is that of a plain Lloyd
    step up to ties and rounding: the pruning only skips distance
    computations that cannot change a label. The per-cluster sums are kept up
    to date by adding and removing only the samples that change cluster (in
    float64, in a fixed order), so a step reads X only for the samples whose
    bounds fail.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
        C-contiguous float32/float64 data.
    sample_weight : ndarray of shape (n_samples,), dtype float64
        Non-negative weights.
    labels : ndarray of shape (n_samples,), dtype int32
        Buffer the labels are written into.
    n_clusters : int
        Number of centres; they are split into groups of nearby centres, each
        with its own lower bound per sample (Yinyang's filters; one group is
        Hamerly's algorithm).
    n_bound_groups : int, default=None
        Number of groups (None: ``max(1, n_clusters // CENTERS_PER_GROUP)``).
    x_squared_norms : ndarray of shape (n_samples,), default=None
        ``row_squared_norms(X)`` when the caller has it (saves a pass over X).

    Examples
    --------
    >>> import numpy as np
    >>> from skunsup.cluster._yinyang import YinyangBounds
    >>> X = np.array([[0.0], [1.0], [10.0], [12.0]])
    >>> state = YinyangBounds(X, np.ones(4), np.empty(4, dtype=np.int32), 2)
    >>> sums, weights = state.step(np.array([[0.0], [10.0]]))
    >>> state.labels.tolist(), sums.ravel().tolist(), weights.tolist()
    ([0, 0, 1, 1], [1.0, 22.0], [2.0, 2.0])
    """

    def __init__(self, X, sample_weight, labels, n_clusters, n_bound_groups=None,
                 x_squared_norms=None):
        self.X = _check_contiguous(X)
        self.sample_weight = sample_weight
        self.labels = labels
        n, d = X.shape
        self.x_sq = row_squared_norms(X) if x_squared_norms is None else x_squared_norms
        # Yinyang's groups of nearby centres, formed at the first step
        if n_bound_groups is None:
            n_bound_groups = max(1, n_clusters // CENTERS_PER_GROUP)
        self.n_bound_groups = n_bound_groups
        self.group_of = self.group_ptr = self.members = None
        self.upper = np.empty(n, dtype=np.float64)
        self.lower = np.empty((n, n_bound_groups), dtype=np.float64)
        self.need = np.empty(n, dtype=np.int32)
        self.sums = np.zeros((n_clusters, d), dtype=np.float64)
        self.weights = np.zeros(n_clusters, dtype=np.float64)
        self.counts = np.zeros(n_clusters, dtype=np.int64)
        self.shift = None
        self.n_recomputed = n
        # rounding margin of ||x||^2 - 2 x.c + ||c||^2 (worst case of a d-term dot)
        self.slack = float(4 * (d + 2) * np.finfo(X.dtype).eps)

    def moved(self, shift):
        """Record how far every centre moved since the last step (plain distances).

        Parameters
        ----------
        shift : ndarray of shape (n_clusters,)
            Euclidean distance between the old and the new position of every centre.
        """
        self.shift = np.asarray(shift, dtype=np.float64)

    def _add(self, sums, weights, counts):
        self.sums += sums.sum(axis=0)
        self.weights += weights.sum(axis=0)
        self.counts += counts.sum(axis=0)

    def step(self, centers):
        """Assign every sample to its nearest centre and return the cluster sums.

        Parameters
        ----------
        centers : ndarray of shape (n_clusters, n_features)
            Current centres, dtype of X, C-contiguous.

        Returns
        -------
        sums : ndarray of shape (n_clusters, n_features), dtype float64
            Weighted sums of the samples of every cluster (a copy).
        weights : ndarray of shape (n_clusters,), dtype float64
            Total weight of every cluster; exactly 0 for a cluster without a
            sample of positive weight.
        """
        X, k, d = self.X, centers.shape[0], self.X.shape[1]
        half_sq = half_squared_norms(centers)
        first_step = self.shift is None
        if first_step:
            self.group_of = group_centers(centers, self.n_bound_groups)
            self.members = np.argsort(self.group_of, kind="stable")
            self.group_ptr = np.searchsorted(self.group_of[self.members],
                                             np.arange(self.n_bound_groups + 1))
            index = np.arange(X.shape[0], dtype=np.intp)
            self.labels[:] = -1
            self.sums[:] = 0.0
            self.weights[:] = 0.0
            self.counts[:] = 0
        else:
            gaps = squared_gaps(centers, centers)
            np.fill_diagonal(gaps, np.inf)
            half_gap = 0.5 * np.sqrt(gaps.min(axis=1)) if k > 1 else np.full(1, np.inf)
            group_shift = np.zeros(self.lower.shape[1])
            np.maximum.at(group_shift, self.group_of, self.shift)
            _hamerly_bounds_dense(X, centers, self.labels, self.upper, self.lower, half_gap,
                                  self.shift, group_shift, self.need)
            index = np.flatnonzero(self.need)
        self.n_recomputed = index.size
        # Yinyang's local filter computes the products with the centres of the
        # groups in ``need`` one by one; the matrix product computes them all, faster
        # per product: take it when the local filter would visit most centres.
        local_filter = k <= DIRECT_MAX_CLUSTERS or (
            not first_step and DIRECT_PRODUCT_COST * self.need.sum(dtype=np.int64)
            * (k / self.n_bound_groups) < index.size * k)
        if index.size and not first_step and local_filter:
            parts = n_row_groups(index.size, k, d)
            sums = np.empty((parts, k, d), dtype=np.float64)
            weights = np.empty((parts, k), dtype=np.float64)
            counts = np.empty((parts, k), dtype=np.int64)
            _yinyang_reassign_direct(X, index, self.x_sq, self.sample_weight, centers, half_sq,
                                     self.slack, self.group_ptr, self.members, self.group_of,
                                     self.labels, self.upper, self.lower, sums, weights,
                                     counts)
            self._add(sums, weights, counts)
        elif index.size and k <= DIRECT_MAX_CLUSTERS:
            parts = n_row_groups(index.size, k, d)
            sums = np.empty((parts, k, d), dtype=np.float64)
            weights = np.empty((parts, k), dtype=np.float64)
            counts = np.empty((parts, k), dtype=np.int64)
            _hamerly_reassign_direct(X, index, self.x_sq, self.sample_weight, centers,
                                     half_sq, self.slack, self.group_of, self.labels,
                                     self.upper, self.lower, sums, weights, counts)
            self._add(sums, weights, counts)
        elif index.size:
            # Above half the rows, a product with every row beats gathering the flagged
            # ones; recomputing a row that was not flagged is exact, just unneeded.
            whole = 2 * index.size > X.shape[0]
            if whole:
                index = np.arange(X.shape[0], dtype=np.intp)
            centers_t = np.ascontiguousarray(centers.T)
            block = _product_block_rows(k)
            for start in range(0, index.size, block):
                rows = index[start:start + block]
                Xg = X[start:start + block] if whole else X[rows]
                dots = Xg @ centers_t
                parts = n_row_groups(rows.size, k, d)
                sums = np.empty((parts, k, d), dtype=np.float64)
                weights = np.empty((parts, k), dtype=np.float64)
                counts = np.empty((parts, k), dtype=np.int64)
                _hamerly_reassign_dense(Xg, dots, rows, self.x_sq, self.sample_weight,
                                        centers, half_sq, self.slack, self.group_of,
                                        self.labels, self.upper, self.lower, sums, weights,
                                        counts)
                self._add(sums, weights, counts)
        self.shift = None
        weights = self.weights.copy()
        weights[self.counts <= 0] = 0.0
        return self.sums.copy(), weights
