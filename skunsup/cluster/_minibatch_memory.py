"""Mini-batches drawn from data in memory: the executor of :mod:`skunsup.cluster._minibatch`.

Also what :class:`~skunsup.cluster.MiniBatchKMeans` asks of the data besides
batches: a random subset to seed on, the final assignment and the feature
variances that scale ``tol``.
"""

import numpy as np
import scipy.sparse as sp
from sklearn.utils.sparsefuncs import mean_variance_axis

from skunsup.cluster import _kmeans_ops as ops


class MemoryBatches:
    """Batches of rows of X drawn with replacement, with probability proportional to weight.

    Equal weights draw uniform row indices (``randint``, no per-fit table);
    unequal weights draw from their cumulative sum once computed (a binary
    search per row), so a batch costs O(batch_size) whatever ``n_samples``
    (scikit-learn rebuilds an O(n_samples) table at every step). The weights
    are in the draw, so every drawn row has weight one in the step.

    Parameters
    ----------
    X : {ndarray, csr_matrix} of shape (n_samples, n_features)
        C-contiguous float32/float64, or canonical CSR.
    sample_weight : ndarray of shape (n_samples,), dtype float64
    x_squared_norms : ndarray of shape (n_samples,), dtype float64
    batch_size : int
        Rows per batch (at most ``n_samples`` is not required: rows repeat).

    Examples
    --------
    >>> import numpy as np
    >>> from skunsup.cluster._minibatch_memory import MemoryBatches
    >>> X = np.arange(6.0).reshape(3, 2)
    >>> batches = MemoryBatches(X, np.array([0.0, 1.0, 0.0]), (X ** 2).sum(1), 4)
    >>> _, rows, weights, _ = batches.draw(np.random.RandomState(0))
    >>> rows.tolist(), weights.tolist()
    ([1, 1, 1, 1], [1.0, 1.0, 1.0, 1.0])
    """

    def __init__(self, X, sample_weight, x_squared_norms, batch_size):
        self.X = X
        self.sample_weight = sample_weight
        self.x_squared_norms = x_squared_norms
        self.n_samples = X.shape[0]
        self.batch_size = batch_size
        uniform = sample_weight.min() == sample_weight.max()
        self._cumulative = None if uniform else np.cumsum(sample_weight)
        self._unit_weights = np.ones(batch_size, dtype=np.float64)

    def _draw_indices(self, random_state):
        """The rows of a batch, drawn with probability proportional to their weight."""
        if self._cumulative is None:
            return random_state.randint(0, self.n_samples, self.batch_size)
        targets = random_state.uniform(size=self.batch_size) * self._cumulative[-1]
        return np.minimum(np.searchsorted(self._cumulative, targets, side="right"),
                          self.n_samples - 1)

    def draw(self, random_state):
        """A batch: (X, the batch's row indices, unit weights, their squared norms or None)."""
        indices = self._draw_indices(random_state)
        norms = None if self.x_squared_norms is None else self.x_squared_norms[indices]
        return self.X, indices, self._unit_weights, norms

    def subset_rows(self, size, random_state):
        """``size`` row indices drawn uniformly with replacement."""
        return random_state.randint(0, self.n_samples, size)

    def subset(self, rows):
        """The given rows: (X, x_squared_norms, weights)."""
        return self.X[rows], self.x_squared_norms[rows], self.sample_weight[rows]

    def labels_inertia(self, centers):
        """Nearest centre of every row and the weighted inertia of that assignment."""
        labels, distances = ops.assign_labels(self.X, centers,
                                              x_squared_norms=self.x_squared_norms)
        return labels, ops.weighted_total(self.sample_weight, distances)

    def mean_feature_variance(self):
        """Mean (unweighted) variance of the features: the unit of ``tol``."""
        if sp.issparse(self.X):
            return float(np.mean(mean_variance_axis(self.X, axis=0)[1]))
        ones = np.ones(self.n_samples, dtype=np.float64)
        return float(np.mean(ops.weighted_mean_variance(self.X, ones)[1]))


class BlockBatches(MemoryBatches):
    """:class:`MemoryBatches` of a memory-mapped dense X, which is never read whole.

    The step gathers a batch's ``batch_size`` rows from the mapping; no
    squared norm of any row is kept (dense steps need none). The final
    assignment runs by row blocks
    (:func:`~skunsup.cluster._lloyd_blocks.labels_inertia_blocks`). The per-row
    memory of a fit is the float64 weights (8 bytes a row) and the int32
    ``labels_`` (4 bytes).

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
        C-contiguous float32/float64, typically file-backed.
    sample_weight : ndarray of shape (n_samples,), dtype float64
    batch_size : int
    mean_feature_variance : float
        Mean unweighted variance of the features (from the validation pass).
    """

    def __init__(self, X, sample_weight, batch_size, mean_feature_variance):
        super().__init__(X, sample_weight, None, batch_size)
        self._mean_feature_variance = mean_feature_variance

    def subset(self, rows):
        """The given rows: (X, x_squared_norms, weights)."""
        picked = self.X[rows]
        return picked, ops.row_squared_norms(picked), self.sample_weight[rows]

    def labels_inertia(self, centers):
        """Nearest centre of every row and the weighted inertia, by row blocks."""
        from skunsup.cluster._lloyd_blocks import labels_inertia_blocks

        return labels_inertia_blocks(self.X, self.sample_weight, centers)

    def mean_feature_variance(self):
        """Mean (unweighted) variance of the features: the unit of ``tol``."""
        return self._mean_feature_variance
