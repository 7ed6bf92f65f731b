"""The torch executor of Lloyd's algorithm: KMeans on a GPU (or any torch device).

:class:`TorchLloyd` implements the step protocol of :mod:`skunsup.cluster._lloyd`
over a copy of the data on a torch device; :func:`~skunsup.cluster._lloyd.lloyd`
iterates it as it iterates the in-memory and Dask executors, so the stopping
rules, ``verbose`` lines, callbacks and ``n_init`` are those of every KMeans fit.
The centres travel between the loop (numpy) and the device once per step in
each direction: the ``n_clusters x n_features`` centres in, one packed float64
vector of the sums, weights and number of changed labels out (the step's only
wait for the device).

A step, block of rows by block of rows (:data:`STEP_BLOCK_BYTES`):

- ``||c||^2 - 2 x.c`` for every centre by one fused matrix product
  (``addmm``; ``||x||^2`` is the same for every centre and left out) and its
  argmin: the nearest centre of every row, as the CPU path chooses it;
- the count of rows whose label changed;
- the per-cluster sums of the (weighted) rows and the cluster weights by
  ``index_add_`` into float64 accumulators.

Float32 matrix products run in IEEE float32 whatever torch's TF32 setting
(:func:`~skunsup.utils._torch.full_precision_matmul`). Distances to the
assigned centres (the inertia, the rows that empty clusters take) are
measured exactly as ``sum((x - c)^2)`` in float64. No pruning by bounds:
on a GPU the full product is a few milliseconds, and bounds cost memory
traffic per row that is not measured to pay.
"""

import functools

import numpy as np

from skunsup.cluster import _seeding_torch
from skunsup.cluster._lloyd_memory import move_samples_to_empty
from skunsup.utils._dask import is_dask_array
from skunsup.utils._torch import as_tensor, full_precision_matmul, import_torch
from skunsup.utils._validation import check_squares_fit

# Bytes of the temporaries of one block of rows in a step: the block's
# distances to every centre (rows x n_clusters, dtype of X) and its rows
# widened to float64 for the sums (rows x n_features). 1 GiB holds the whole
# of 1,000,000 x 32 at k = 100 (672 MB in float32) or of Fashion-MNIST at
# k = 256 (511 MB): a step is then a handful of kernel launches, and the
# temporaries fit beside the data on any CUDA GPU with 4 GB.
STEP_BLOCK_BYTES = 2**30


def torch_unsupported(X):
    """Why X has no torch executor (a phrase for the message), or None.

    Examples
    --------
    >>> import scipy.sparse as sp
    >>> from skunsup.cluster._lloyd_torch import torch_unsupported
    >>> torch_unsupported(sp.eye(3, format="csr")), torch_unsupported([[1.0]])
    ('sparse input', None)
    """
    import scipy.sparse as sp

    if sp.issparse(X):
        return "sparse input"
    if is_dask_array(X):
        return "Dask arrays"
    return None


def same_clustering(labels1, labels2, n_clusters):
    """True when two labelings are equal up to a permutation of the labels.

    Vectorised: the labelings are equal up to a permutation when their pairs
    ``(a, b)`` are as many as the distinct labels of either.

    Examples
    --------
    >>> import numpy as np
    >>> from skunsup.cluster._lloyd_torch import same_clustering
    >>> same_clustering(np.array([0, 0, 1]), np.array([1, 1, 0]), 2)
    True
    >>> same_clustering(np.array([0, 0, 1]), np.array([0, 1, 1]), 2)
    False
    """
    labels1 = np.asarray(labels1, dtype=np.int64)
    labels2 = np.asarray(labels2, dtype=np.int64)
    n_pairs = np.unique(labels1 * n_clusters + labels2).size
    return n_pairs == np.unique(labels1).size == np.unique(labels2).size


def _ieee_products(method):
    """Run an executor method with float32 products in IEEE float32 (no TF32)."""

    @functools.wraps(method)
    def wrapper(self, *args, **kwargs):
        with full_precision_matmul(self._torch):
            return method(self, *args, **kwargs)

    return wrapper


class TorchLloyd:
    """Lloyd steps over a copy of the data on a torch device (see the module docstring).

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
        Validated C-contiguous float32/float64 data (kept on the host too: a
        callable ``init`` receives it).
    sample_weight : ndarray of shape (n_samples,), float64
    device : torch.device
        Where the steps run.
    estimator : str, default='KMeans'
        Named in the error for values whose squares overflow.

    Attributes
    ----------
    labels : Tensor of shape (n_samples,), int64
        The current assignment, on the device.

    Examples
    --------
    >>> import numpy as np
    >>> import torch
    >>> from skunsup.cluster._lloyd import lloyd
    >>> from skunsup.cluster._lloyd_torch import TorchLloyd
    >>> X = np.array([[0.0], [1.0], [10.0], [12.0]])
    >>> executor = TorchLloyd(X, np.ones(4), torch.device("cpu"))
    >>> centers, inertia, n_iter = lloyd(executor, X[[0, 2]], max_iter=10, tol=0.0)
    >>> centers.ravel().tolist(), inertia, executor.result()[0].tolist()
    ([0.5, 11.0], 2.5, [0, 0, 1, 1])
    """

    def __init__(self, X, sample_weight, device, *, estimator="KMeans"):
        torch = import_torch(f"{estimator} on a torch device")
        self._torch = torch
        self.X = X
        self.sample_weight = sample_weight
        self.dtype = X.dtype
        self.n_samples = X.shape[0]
        self.device = device
        self._X = as_tensor(X, device, torch)
        self._w = as_tensor(sample_weight, device, torch)
        self._weighted = bool(np.any(sample_weight != 1.0))
        self._x_sq = torch.linalg.vector_norm(self._X, dim=1, dtype=torch.float64) ** 2
        # the largest squared norm is all the overflow check needs (one value back)
        check_squares_fit(X, dtype=X.dtype, estimator=estimator,
                          x_squared_norms=np.array([float(self._x_sq.max())]))
        self.labels = torch.zeros(self.n_samples, dtype=torch.int64, device=device)
        self._first = True

    # ------------------------------------------------------------- helpers

    def _blocks(self, n_clusters):
        """(start, stop) of the row blocks of a step with ``n_clusters`` centres."""
        row_bytes = n_clusters * self.dtype.itemsize + 8 * self.X.shape[1]
        rows = max(1, STEP_BLOCK_BYTES // row_bytes)
        return [(start, min(start + rows, self.n_samples))
                for start in range(0, self.n_samples, rows)]

    def _centers(self, centers):
        return self._torch.from_numpy(np.ascontiguousarray(centers, dtype=self.dtype)).to(
            self.device)

    def _nearest(self, block, centers, c_sq):
        """Index of the nearest centre of every row of ``block``."""
        return self._torch.addmm(c_sq, block, centers.T, beta=1.0, alpha=-2.0).argmin(dim=1)

    def _assign(self, centers, accumulate):
        """New labels for ``centers``; with ``accumulate``, the float64 sums and
        weights per cluster and the count of changed labels (tensors)."""
        torch = self._torch
        n_clusters, n_features = centers.shape
        c_sq = (centers * centers).sum(dim=1)
        sums = torch.zeros((n_clusters, n_features), dtype=torch.float64, device=self.device)
        weights = torch.zeros(n_clusters, dtype=torch.float64, device=self.device)
        changed = torch.zeros((), dtype=torch.int64, device=self.device)
        for start, stop in self._blocks(n_clusters):
            block = self._X[start:stop]
            labels = self._nearest(block, centers, c_sq)
            if accumulate:
                changed += (labels != self.labels[start:stop]).sum()
                rows = block.to(torch.float64)  # X itself when X is float64: no in-place
                w = self._w[start:stop]
                if self._weighted:
                    rows = rows * w[:, None]
                sums.index_add_(0, labels, rows)
                weights.index_add_(0, labels, w)
            self.labels[start:stop] = labels
        return sums, weights, changed

    def _distances_to_assigned(self, centers):
        """``sum((x - c)^2)`` of every row to its assigned centre, float64."""
        torch = self._torch
        centers = centers.to(torch.float64)
        out = torch.empty(self.n_samples, dtype=torch.float64, device=self.device)
        for start, stop in self._blocks(centers.shape[0]):
            diff = self._X[start:stop].to(torch.float64) - centers[self.labels[start:stop]]
            out[start:stop] = (diff * diff).sum(dim=1)
        return out

    # -------------------------------------------------------- step protocol

    @_ieee_products
    def step(self, centers):
        """One assignment step; returns (sums, weights, n_changed) on the host."""
        torch = self._torch
        first = self._first
        self._first = False
        n_clusters, n_features = centers.shape
        sums, weights, changed = self._assign(self._centers(centers), accumulate=True)
        packed = torch.cat([sums.ravel(), weights, changed.to(torch.float64)[None]])
        packed = packed.cpu().numpy()
        sums = packed[: n_clusters * n_features].reshape(n_clusters, n_features)
        weights = packed[n_clusters * n_features: -1].copy()
        n_changed = self.n_samples if first else int(packed[-1])
        return sums, weights, n_changed

    def relocate_empty(self, centers, sums, weights):
        """Empty clusters take the samples farthest from their centre (in place).

        As the in-memory executor: the farthest positive-weight samples not
        on their centre, ties broken by index.
        """
        torch = self._torch
        empty = np.flatnonzero(weights <= 0)
        distances = self._distances_to_assigned(self._centers(centers))
        candidates = (self._w > 0) & (distances > 0)
        scores = torch.where(candidates, distances, -1.0)
        order = torch.sort(scores, descending=True, stable=True).indices[: empty.size]
        far = order[scores[order] > 0].cpu().numpy()
        old_labels = self.labels[torch.from_numpy(far).to(self.device)].cpu().numpy()
        move_samples_to_empty(empty, old_labels, self.sample_weight[far], self.X[far],
                              sums, weights)

    def assignment_inertia(self, centers):
        """Inertia of the current labels against ``centers``."""
        return float(self._w @ self._distances_to_assigned(self._centers(centers)))

    def moved(self, shift):
        """Nothing to do: this executor keeps no bounds."""

    @_ieee_products
    def finish(self, centers, reassign):
        """Labels for the final centres (a new assignment when ``reassign``); the inertia."""
        if reassign:
            self._assign(self._centers(centers), accumulate=False)
        self._first = True
        return self.assignment_inertia(centers)

    def reassign(self, centers):
        """Every sample to its nearest centre afresh; the inertia."""
        return self.finish(centers, reassign=True)

    def result(self):
        """(labels, number of distinct labels) of the run just finished, on the host."""
        labels = self.labels.to(self._torch.int32).cpu().numpy()
        return labels, int(np.count_nonzero(np.bincount(labels)))

    same_clustering = staticmethod(same_clustering)

    # what KMeans.fit asks of an executor besides the step protocol

    def feature_variances(self):
        """Weighted variance of every feature, in float64 (KMeans scales ``tol`` by
        their mean), from the deviations from the first row."""
        torch = self._torch
        n_features = self.X.shape[1]
        shift = self._X[0].to(torch.float64)
        first = torch.zeros(n_features, dtype=torch.float64, device=self.device)
        second = torch.zeros(n_features, dtype=torch.float64, device=self.device)
        for start, stop in self._blocks(1):
            deviations = self._X[start:stop].to(torch.float64) - shift
            w = self._w[start:stop]
            first += w @ deviations
            second += w @ (deviations * deviations)
        total = self._w.sum()
        offset = first / total
        return (second / total - offset * offset).clamp_min(0.0).cpu().numpy()

    @_ieee_products
    def kmeans_plusplus(self, n_clusters, random_state):
        """Greedy k-means++ centres, chosen on the device."""
        centers, _ = _seeding_torch.kmeans_plusplus(self._X, self._x_sq, self._w,
                                                    n_clusters, random_state)
        return centers.cpu().numpy()

    def random_centers(self, n_clusters, random_state):
        """Distinct rows drawn with probability proportional to their weight, on the device."""
        centers, _ = _seeding_torch.random_rows(self._X, self._w, n_clusters, random_state)
        return centers.cpu().numpy()
