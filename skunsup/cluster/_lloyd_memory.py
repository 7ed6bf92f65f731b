"""The in-memory executor of Lloyd's algorithm: numba kernels over a dense or CSR X.

:class:`MemoryLloyd` implements the step protocol of
:mod:`skunsup.cluster._lloyd` with one of three assignment steps, all giving
the result of Lloyd's algorithm (up to ties between equally near centres):

- ``'plain'``: fused Lloyd steps, every distance of every sample (a matrix
  product or a direct loop; the only step for CSR data);
- ``'hamerly'``: Hamerly's bounds, Yinyang's grouped bounds for many clusters
  (:class:`~skunsup.cluster._yinyang.YinyangBounds`), dense data only;
- ``'elkan'``: each sample starts at its previous centre and measures only the
  centres that Elkan's inequality between centres leaves possible
  (:func:`~skunsup.cluster._kmeans_ops.lloyd_partials_from_hints`), dense
  data only; the first step of a run is a plain one.
"""

import numpy as np
import scipy.sparse as sp

from skunsup.cluster import _kmeans_numpy
from skunsup.cluster import _kmeans_ops as ops
from skunsup.cluster._center_geometry import center_neighbors
from skunsup.cluster._lloyd import lloyd
from skunsup.cluster._seeding import _kmeans_plusplus, random_centers
from skunsup.cluster._yinyang import YinyangBounds

STEPS = ("plain", "hamerly", "elkan")

# The cost model of choose_step. Elkan's hinted step measures, per row, the
# centres nearer its hinted centre than twice its distance to it; Yinyang's
# bounds pay per row for every group of centres, whatever the data. Probed on
# PROBE_ROWS evenly spaced rows against the run's first centres (a 2,048-row
# mean is within a few percent of the full one), the hinted step runs when a
# row measures at most ELKAN_MAX_FRACTION of the centres on average. Measured
# (bench_kmeans, 2 cores, k-means++ centres): blobs 1M x 32, k = 100 measure
# 3.5 % of the centres and the hinted step takes 0.042 s an iteration against
# Yinyang's 0.057 s; Fashion-MNIST, k = 10 / 100 / 256, measure 82 / 47 / 36 %
# and the hinted step is 3.3-3.6x slower. 0.1 is about the geometric middle.
PROBE_ROWS = 2048
ELKAN_MAX_FRACTION = 0.1


def hinted_fraction(X, centers):
    """Mean share of the centres that Elkan's hinted step measures per row (a probe).

    Every probed row is hinted at its nearest centre ``a`` and measures the
    centres nearer ``a`` than twice its distance to ``a`` (``a`` included).

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
        Dense data.
    centers : ndarray of shape (n_clusters, n_features)

    Returns
    -------
    fraction : float
        In ``(0, 1]``.

    Examples
    --------
    >>> import numpy as np
    >>> from skunsup.cluster._lloyd_memory import hinted_fraction
    >>> X = np.array([[0.0], [0.1], [10.0], [10.1]])
    >>> hinted_fraction(X, np.array([[0.0], [10.0]]))
    0.5
    """
    n_clusters = centers.shape[0]
    if n_clusters == 1:
        return 1.0
    rows = X[np.linspace(0, X.shape[0] - 1, min(X.shape[0], PROBE_ROWS)).astype(np.intp)]
    squared = _kmeans_numpy.squared_distances(rows, _kmeans_numpy.row_squared_norms(rows),
                                              centers)
    nearest = squared.argmin(axis=1)
    reach = 2.0 * np.sqrt(squared[np.arange(rows.shape[0]), nearest])
    _, gaps = center_neighbors(centers)
    measured = 1 + np.count_nonzero(gaps[nearest] < reach[:, None], axis=1)
    return float(measured.mean() / n_clusters)


def relocate_empty_clusters(X, sample_weight, labels, distances, sums, weights):
    """Move every empty cluster to one of the samples farthest from their centre.

    Deterministic: the farthest positive-weight samples, ties broken by index.
    Samples that sit on their centre are never moved: with more clusters than
    distinct samples, relocating duplicates would only swap them between
    centres forever (scikit-learn issue #28055). Works in place on ``sums``
    and ``weights``; returns the relocated clusters.

    Examples
    --------
    >>> import numpy as np
    >>> from skunsup.cluster._lloyd_memory import relocate_empty_clusters
    >>> X = np.array([[0.0], [1.0], [9.0]])
    >>> sums, weights = np.array([[10.0], [0.0]]), np.array([3.0, 0.0])
    >>> relocate_empty_clusters(X, np.ones(3), np.zeros(3, dtype=int),
    ...                         np.array([9.0, 4.0, 36.0]), sums, weights).tolist()
    [1]
    >>> sums.ravel().tolist(), weights.tolist()
    ([1.0, 9.0], [2.0, 1.0])
    """
    empty = np.flatnonzero(weights <= 0)
    if empty.size == 0:
        return empty
    candidates = np.flatnonzero((sample_weight > 0) & (distances > 0))
    order = np.argsort(-distances[candidates], kind="stable")
    far = candidates[order[: empty.size]]
    rows = X[far].toarray() if sp.issparse(X) else X[far]
    move_samples_to_empty(empty, labels[far], sample_weight[far], rows, sums, weights)
    return empty[: far.size]


def move_samples_to_empty(empty, old_labels, row_weights, rows, sums, weights):
    """Move the sample ``rows[i]`` from cluster ``old_labels[i]`` to ``empty[i]``.

    In place on the per-cluster ``sums`` and ``weights`` (as many moves as the
    shorter of ``empty`` and ``rows``): the relocation step of every executor.

    Examples
    --------
    >>> import numpy as np
    >>> from skunsup.cluster._lloyd_memory import move_samples_to_empty
    >>> sums, weights = np.array([[10.0], [0.0]]), np.array([3.0, 0.0])
    >>> move_samples_to_empty([1], [0], [1.0], np.array([[9.0]]), sums, weights)
    >>> sums.ravel().tolist(), weights.tolist()
    ([1.0, 9.0], [2.0, 1.0])
    """
    for cluster, old, w, row in zip(empty, old_labels, row_weights, rows):
        sums[old] -= w * row
        weights[old] -= w
        sums[cluster] = w * row
        weights[cluster] = w


def same_clustering(labels1, labels2, n_clusters):
    """True when two labelings are equal up to a permutation of the labels."""
    mapping = np.full(n_clusters, -1, dtype=np.int64)
    for a, b in zip(labels1, labels2):
        if mapping[a] == -1:
            mapping[a] = b
        elif mapping[a] != b:
            return False
    return True


class MemoryLloyd:
    """Lloyd steps over data in memory (see the module docstring for ``step``).

    Parameters
    ----------
    X : {ndarray, csr_matrix} of shape (n_samples, n_features)
        C-contiguous float32/float64, or canonical CSR.
    sample_weight : ndarray of shape (n_samples,), dtype float64
    x_squared_norms : ndarray of shape (n_samples,), default=None
        ``row_squared_norms(X)`` (computed when None).
    step : {'auto', 'plain', 'hamerly', 'elkan'}, default='auto'
        'auto': chosen per run by :meth:`choose_step`.

    Attributes
    ----------
    labels : ndarray of shape (n_samples,), dtype int32
        The current assignment (overwritten by every run).
    """

    def __init__(self, X, sample_weight, x_squared_norms=None, step="auto"):
        if step not in ("auto",) + STEPS or step in ("hamerly", "elkan") and sp.issparse(X):
            raise ValueError(f"step must be 'auto' or one of {STEPS} ('plain' for CSR data), "
                             f"got {step!r}.")
        self.X = X
        self.sample_weight = sample_weight
        self.x_squared_norms = (ops.row_squared_norms(X) if x_squared_norms is None
                                else x_squared_norms)
        self.requested_step = step
        self.step_kind = None
        self.dtype = X.dtype
        self.n_samples = X.shape[0]
        self.labels = np.empty(self.n_samples, dtype=np.int32)
        self._previous = np.empty(self.n_samples, dtype=np.int32)
        self._distances = np.empty(self.n_samples, dtype=np.float64)
        self._state = None
        self._first = True

    def choose_step(self, centers):
        """The step of a run from ``centers``: the one asked for, else the cheapest.

        'plain' on CSR data and on problems small enough for NumPy
        (:func:`~skunsup.cluster._kmeans_ops.is_small`); on other dense data,
        'elkan' when :func:`hinted_fraction` is at most ``ELKAN_MAX_FRACTION``,
        'hamerly' otherwise (see the cost model above them).
        """
        if self.requested_step != "auto":
            return self.requested_step
        if sp.issparse(self.X) or ops.is_small(self.X, centers.shape[0]):
            return "plain"
        if hinted_fraction(self.X, centers) <= ELKAN_MAX_FRACTION:
            return "elkan"
        return "hamerly"

    def _start(self, centers):
        """Begin a run from ``centers``: choose its step (forgets the previous
        run's bounds)."""
        n_clusters = centers.shape[0]
        self._first = True
        self.step_kind = self.choose_step(centers)
        self._state = None
        if self.step_kind == "hamerly":
            self._state = YinyangBounds(self.X, self.sample_weight, self.labels, n_clusters,
                                        x_squared_norms=self.x_squared_norms)

    def step(self, centers):
        """One assignment step; returns (sums, weights, n_changed)."""
        if self._first:
            self._start(centers)
        first = self._first
        self._previous[:] = self.labels
        sums, weights = self._assign(centers, hinted=not first)
        n_changed = self.n_samples if first else int(np.count_nonzero(
            self.labels != self._previous))
        self._first = False
        return sums, weights, n_changed

    def _assign(self, centers, hinted):
        if self.step_kind == "hamerly":
            return self._state.step(centers)
        if self.step_kind == "elkan" and hinted:
            labels, sums, weights, _, distances = ops.lloyd_partials_from_hints(
                self.X, self.sample_weight, centers, self.labels)
            self.labels[:] = labels
            self._distances[:] = distances
            return sums, weights
        _, sums, weights, _, _ = ops.lloyd_partials(
            self.X, self.sample_weight, centers, x_squared_norms=self.x_squared_norms,
            out_labels=self.labels, out_distances=self._distances)
        return sums, weights

    def relocate_empty(self, centers, sums, weights):
        """Empty clusters take the farthest samples (in place on sums and weights)."""
        if self.step_kind == "hamerly":  # the bounds keep no exact distances
            self._distances = ops.distances_to_assigned(self.X, centers, self.labels,
                                                    self.x_squared_norms)
        relocate_empty_clusters(self.X, self.sample_weight, self.labels, self._distances,
                                sums, weights)

    def assignment_inertia(self, centers):
        """Inertia of the current labels against ``centers``."""
        return ops.weighted_total(self.sample_weight, ops.distances_to_assigned(
            self.X, centers, self.labels, self.x_squared_norms))

    def moved(self, shift):
        """Record the centre shifts (the bounds of the 'hamerly' step need them)."""
        if self._state is not None:
            self._state.moved(shift)

    def finish(self, centers, reassign):
        """Labels for the final centres (a new step when ``reassign``); the inertia."""
        if reassign:
            self._assign(centers, hinted=not self._first)
        self._state = None
        self._first = True
        return self.assignment_inertia(centers)

    def reassign(self, centers):
        """Every sample to its nearest centre by a plain step (no bounds, no hints:
        an interrupted step may have left them half updated); the inertia."""
        self._state = None
        self._first = True
        ops.lloyd_partials(self.X, self.sample_weight, centers,
                           x_squared_norms=self.x_squared_norms, out_labels=self.labels,
                           out_distances=self._distances)
        return self.assignment_inertia(centers)

    def result(self):
        """(labels, number of distinct labels) of the run just finished."""
        labels = self.labels.copy()
        return labels, int(np.unique(labels).size)

    same_clustering = staticmethod(same_clustering)

    # what KMeans.fit asks of an executor besides the step protocol

    def feature_variances(self):
        """Weighted variance of every feature (KMeans scales ``tol`` by their mean)."""
        X, w = self.X, self.sample_weight
        if sp.issparse(X):
            total = w.sum()
            mean = np.asarray(X.T @ w).ravel() / total
            second = np.asarray(X.multiply(X).T @ w).ravel() / total
            return np.maximum(second - mean**2, 0.0)
        return ops.weighted_mean_variance(X, w)[1]

    def kmeans_plusplus(self, n_clusters, random_state):
        """Greedy k-means++ centres."""
        return _kmeans_plusplus(self.X, n_clusters, self.x_squared_norms, self.sample_weight,
                                random_state)[0]

    def random_centers(self, n_clusters, random_state):
        """Distinct rows drawn with probability proportional to their weight."""
        return random_centers(self.X, n_clusters, self.sample_weight, random_state)


def kmeans_single_lloyd(X, sample_weight, centers_init, *, max_iter, tol, x_squared_norms,
                        verbose=0, step="auto"):
    """One in-memory Lloyd run; returns (labels, inertia, centers, n_iter).

    Examples
    --------
    >>> import numpy as np
    >>> from skunsup.cluster._lloyd_memory import kmeans_single_lloyd
    >>> X = np.array([[0.0], [1.0], [10.0], [12.0]])
    >>> labels, inertia, centers, n_iter = kmeans_single_lloyd(
    ...     X, np.ones(4), X[[0, 2]], max_iter=10, tol=0.0, x_squared_norms=None)
    >>> labels.tolist(), inertia, n_iter
    ([0, 0, 1, 1], 2.5, 2)
    """
    executor = MemoryLloyd(X, sample_weight, x_squared_norms, step)
    centers, inertia, n_iter = lloyd(executor, centers_init, max_iter=max_iter, tol=tol,
                                     verbose=verbose)
    return executor.result()[0], inertia, centers, n_iter
