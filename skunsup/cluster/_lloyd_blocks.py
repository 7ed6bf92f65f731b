"""The out-of-core executor of Lloyd's algorithm: row blocks of a memory-mapped X.

:class:`BlockLloyd` implements the step protocol of :mod:`skunsup.cluster._lloyd`
for a dense X backed by a file (a :class:`numpy.memmap`, ``np.load(...,
mmap_mode='r')``, or any ndarray whose base is a mapped file): every pass is a
plain Python loop over row blocks (views of the mapping, never copied) running
the stateless ops of :mod:`skunsup.cluster._kmeans_ops` on each, as the Dask
executor (:mod:`skunsup.cluster._kmeans_dask`) does on its workers, with the
same block functions (:func:`~skunsup.cluster._kmeans_blocks._moments_block`,
:func:`~skunsup.cluster._kmeans_blocks._farthest_block` and the k-means||
block tasks of :mod:`skunsup.cluster._kmeans_parallel`). Only the mapped
file's pages hold the data; the anonymous memory of a fit is a few blocks'
temporaries plus the per-row state:

- Lloyd: the int32 labels (4 bytes a row), which are also the next step's
  hints (each row starts at its current centre and Elkan's bound rules out
  the others, :func:`~skunsup.cluster._kmeans_ops.lloyd_partials_from_hints`)
  and the fit's ``labels_``; with ``n_init > 1`` the best run's labels too;
- k-means|| seeding: each row's squared distance to its nearest candidate (in
  the dtype of X) and that candidate's index (int32): 8 bytes a row for
  float32 data, 12 for float64, freed before the Lloyd iterations;
- ``sample_weight`` when given (float64, 8 bytes a row); none when None.

Per-cluster sums are reduced block by block in block order, so a fit does
not depend on the thread count and equals the in-memory fit up to the order
of the float64 sums.
"""

import mmap

import numpy as np
from sklearn.utils.validation import validate_data

from skunsup.cluster import _kmeans_ops as ops
from skunsup.cluster._center_geometry import center_neighbors
from skunsup.cluster._kmeans_blocks import (
    _farthest_block,
    _merge_moments,
    _moments_block,
    _relocate_from_farthest,
)
from skunsup.cluster._kmeans_parallel import (
    KMEANS_PARALLEL_OVERSAMPLING,
    KMEANS_PARALLEL_ROUNDS,
    _candidate_weights,
    _pick_row,
    _random_keys_block,
    _reduce_candidates,
    _sample_block,
    _update_state,
)
from skunsup.cluster._lloyd_memory import ELKAN_MAX_FRACTION, hinted_fraction
from skunsup.utils._row_blocks import RowBlockArray, as_row_blocks
from skunsup.utils._validation import check_squares_fit

# Bytes of a block: the rows of X it maps plus the per-row temporaries of a
# step (squared distances, weights, labels, and the dot products with every
# centre on the matrix-product path). 16 MiB of float32 data is 4-10 ms of
# kernel work per block on 2 cores, so the Python loop and the per-block
# reduction (a k x d addition) cost under a few percent, and the kernels still
# split a block into their 16 row groups (of at least 256 rows); the anonymous
# temporaries of a block stay a few MiB whatever the file's size.
BLOCK_BYTES = 16 * 2**20
MIN_BLOCK_ROWS = 256
# A block of at most ops.NUMPY_MAX_WORK values runs the ops' NumPy versions,
# whose float64 temporaries are 2-3 times the block (40 MB for a 17,000 x 100
# float32 block, measured with tracemalloc); the kernels allocate only their
# outputs. So when X is not small, every block holds more values than that: the
# block rows are at least NUMPY_MAX_WORK / n_features + 1 and a short last
# block joins the one before it. (Tests turn this off to get many small blocks.)
KERNEL_BLOCKS = True
# File-backed arrays smaller than this are fitted as any in-memory array (their
# pages stay in memory anyway, and the in-memory fit's per-row state, at most
# 2k + 24 bytes a row for the bounds, is small beside them): the same
# random_state then gives the same fit as for an in-memory copy, as scikit-learn's
# check_clustering asks (the blocks are seeded by k-means||, in memory k-means++).
BLOCKWISE_MIN_BYTES = 64 * 2**20


def is_file_backed(X):
    """Whether X is an ndarray whose memory is a mapped file (np.memmap or a view of one).

    Examples
    --------
    >>> import numpy as np
    >>> from skunsup.cluster._lloyd_blocks import is_file_backed
    >>> is_file_backed(np.zeros((2, 2)))
    False
    """
    if not isinstance(X, np.ndarray):
        return False
    while X is not None:
        if isinstance(X, (np.memmap, mmap.mmap)):
            return True
        X = getattr(X, "base", None)
    return False


def is_blockwise_input(X):
    """A file-backed C-contiguous float32/float64 ndarray of at least
    ``BLOCKWISE_MIN_BYTES``, or a :class:`~skunsup.utils._row_blocks.RowBlockArray`
    (see :func:`as_blockwise`): fitted by blocks, never copied."""
    if isinstance(X, RowBlockArray):
        return True
    return (is_file_backed(X) and X.ndim == 2 and X.dtype in (np.float32, np.float64)
            and X.flags.c_contiguous and X.nbytes >= BLOCKWISE_MIN_BYTES)


def as_blockwise(X):
    """X with an HDF5/zarr-like array-like of at least ``BLOCKWISE_MIN_BYTES``
    wrapped to be read by row blocks (a smaller one read whole), as a mapped file.

    Examples
    --------
    >>> import numpy as np
    >>> from skunsup.cluster._lloyd_blocks import as_blockwise
    >>> as_blockwise(np.zeros((2, 2))).shape
    (2, 2)
    """
    return as_row_blocks(X, BLOCKWISE_MIN_BYTES)


def validate_blocks(estimator, X, *, reset):
    """scikit-learn's checks of a blockwise X, without reading it whole.

    A mapped file passes ``validate_data`` uncopied; a row-block array-like
    has its first rows checked (feature count, dtype, at least one row).
    The values (NaN, infinity, overflow) are the block pass's to check.
    """
    if isinstance(X, RowBlockArray):
        validate_data(estimator, X[:1], dtype=[np.float64, np.float32], reset=reset,
                      ensure_all_finite=False)
        return X
    return validate_data(estimator, X, dtype=[np.float64, np.float32], order="C",
                         reset=reset, ensure_all_finite=False)


def block_rows_for(n_samples, n_features, itemsize, n_clusters=1, budget=None):
    """Rows per block: ``budget`` bytes of data and per-row temporaries (None:
    ``BLOCK_BYTES``, read at the call).

    Examples
    --------
    >>> from skunsup.cluster._lloyd_blocks import block_rows_for
    >>> block_rows_for(10_000_000, 100, 4, n_clusters=10)
    33288
    """
    if budget is None:
        budget = BLOCK_BYTES
    per_row = n_features * itemsize + 8 * (n_clusters + 3)
    rows = max(MIN_BLOCK_ROWS, budget // per_row)
    if KERNEL_BLOCKS:
        rows = max(rows, ops.NUMPY_MAX_WORK // max(n_features, 1) + 1)
    return int(max(1, min(n_samples, rows)))


class MappedBlocks:
    """The row blocks of a 2-D array and of its weights (views, never copies).

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
        C-contiguous float32/float64 (typically file-backed).
    sample_weight : ndarray of shape (n_samples,) or None
        float64 weights; None: ones, made per block.
    block_rows : int
        Rows per block (the last one may be shorter).
    """

    def __init__(self, X, sample_weight, block_rows):
        self.X = X
        self.dtype = X.dtype
        self.n_features = X.shape[1]
        self.sample_weight = sample_weight
        self.block_rows = int(block_rows)
        n = X.shape[0]
        starts = range(0, n, self.block_rows)
        self.bounds = [(s, min(s + self.block_rows, n)) for s in starts]
        if (KERNEL_BLOCKS and len(self.bounds) > 1
                and ops.is_small(X[self.bounds[-1][0]:]) and not ops.is_small(X)):
            self.bounds[-2:] = [(self.bounds[-2][0], n)]  # no NumPy-path last block
        self.offsets = np.array([s for s, _ in self.bounds], dtype=np.int64)
        self.totals = None
        self._ones = np.ones(max([stop - start for start, stop in self.bounds] or [0]),
                             dtype=np.float64)

    def __len__(self):
        return len(self.bounds)

    def __iter__(self):
        """(start, stop, X block, float64 weights of the block)."""
        for start, stop in self.bounds:
            w = (self._ones[: stop - start] if self.sample_weight is None
                 else self.sample_weight[start:stop])
            yield start, stop, self.X[start:stop], w

    def scan(self, estimator):
        """One pass: checks X (finite, squares within range) and the weights.

        Sets ``totals`` (the weight of every block) and returns the weighted
        mean and variance of every feature.
        """
        parts, max_norms = [], []
        for _, _, x, w in self:
            part = _moments_block(x, w)
            if not part[5] and np.isfinite(x).all():
                # finite values whose squares overflow: check_squares_fit names them
                part = part[:5] + (True,)
            parts.append(part)
            with np.errstate(over="ignore"):
                max_norms.append(float(ops.row_squared_norms(x).max()) if len(x) else 0.0)
        if all(p[5] for p in parts):
            check_squares_fit(self.X, dtype=self.dtype, estimator=estimator,
                              x_squared_norms=np.array(max_norms))
        self.totals, mean, variance = _merge_moments(
            parts, self.n_features, where="in a block of the memory-mapped X")
        return mean, variance


def check_blocks(X, estimator, block_rows=None):
    """Refuse a file-backed X with NaN, infinity or overflowing squares, block by block."""
    if block_rows is None:
        block_rows = block_rows_for(X.shape[0], X.shape[1], X.dtype.itemsize)
    max_norms = []
    for _, _, x, _ in MappedBlocks(X, None, block_rows):
        if not np.isfinite(x).all():
            raise ValueError("Input X contains NaN or infinity.")
        with np.errstate(over="ignore"):
            max_norms.append(float(ops.row_squared_norms(x).max()) if len(x) else 0.0)
    check_squares_fit(X, dtype=X.dtype, estimator=estimator,
                      x_squared_norms=np.array(max_norms))


# ---------------------------------------------------------------- seeding


def kmeans_parallel_blocks(blocks, n_clusters, random_state,
                           oversampling_factor=KMEANS_PARALLEL_OVERSAMPLING,
                           n_rounds=KMEANS_PARALLEL_ROUNDS):
    """k-means|| over the blocks of ``blocks`` (scanned), in a Python loop.

    The rounds of :func:`skunsup.cluster._kmeans_parallel._kmeans_parallel_blocks`
    with the same block tasks and the same random draws (on the same blocks,
    the same candidates as the Dask seeding), one pass over X per round. The
    per-row state (distance to the nearest candidate, in the dtype of X, and
    its int32 index) lives in memory between the rounds.
    """
    rng = random_state
    dtype = blocks.dtype
    ell = oversampling_factor * n_clusters
    candidates = _first_center(blocks, rng)[None, :].astype(dtype)
    state = [None] * len(blocks)

    def update(new):
        offset = candidates.shape[0] - new.shape[0]
        cost = 0.0
        for i, (_, _, x, w) in enumerate(blocks):
            distances, labels, block_cost = _update_state(x, w, state[i], new, offset)
            state[i] = (distances.astype(dtype, copy=False), labels.astype(np.int32),
                        block_cost)
            cost += block_cost
        return cost

    cost = update(candidates)
    for _ in range(n_rounds):
        if cost <= 0:
            break
        seeds = rng.randint(np.iinfo(np.int32).max, size=len(blocks))
        picked = [_sample_block(x, w, s, ell / cost, int(seed))
                  for (_, _, x, w), s, seed in zip(blocks, state, seeds)]
        new = np.concatenate(picked, axis=0).astype(dtype, copy=False)
        if new.shape[0] == 0:
            continue
        candidates = np.concatenate([candidates, new], axis=0)
        cost = update(new)
    if candidates.shape[0] < n_clusters:
        extra = random_rows(blocks, n_clusters - candidates.shape[0], rng)
        candidates = np.concatenate([candidates, extra.astype(dtype)], axis=0)
        cost = update(extra)
    weights = np.zeros(candidates.shape[0])
    for (_, _, _, w), s in zip(blocks, state):
        weights += _candidate_weights(w, s, candidates.shape[0])
    state = None  # free the per-row state before the reduction
    return _reduce_candidates(candidates, weights, n_clusters, rng, dtype)


def _first_center(blocks, rng):
    totals = blocks.totals
    cumulative = np.cumsum(totals)
    target = rng.uniform() * cumulative[-1]
    index = min(int(np.searchsorted(cumulative, target, side="right")), len(blocks) - 1)
    while totals[index] <= 0:  # rounding at the very end of the cumulative sum
        index -= 1
    residual = target - (cumulative[index - 1] if index > 0 else 0.0)
    start, stop = blocks.bounds[index]
    w = None if blocks.sample_weight is None else blocks.sample_weight[start:stop]
    return _pick_row(blocks.X[start:stop], w, residual)


def random_rows(blocks, n_rows, rng):
    """``n_rows`` distinct rows drawn with probability proportional to their weight."""
    seeds = rng.randint(np.iinfo(np.int32).max, size=len(blocks))
    parts = [_random_keys_block(x, w, n_rows, int(seed))
             for (_, _, x, w), seed in zip(blocks, seeds)]
    keys = np.concatenate([p[0] for p in parts])
    rows = np.concatenate([p[1] for p in parts])
    top = np.argsort(-keys, kind="stable")[:n_rows]
    return np.ascontiguousarray(rows[top])


# -------------------------------------------------------------- executor


def same_clustering(labels1, labels2, n_clusters, block_rows=2**20):
    """True when two labelings are equal up to a relabelling (compared by blocks).

    Examples
    --------
    >>> import numpy as np
    >>> from skunsup.cluster._lloyd_blocks import same_clustering
    >>> same_clustering(np.array([0, 0, 1]), np.array([1, 1, 0]), 2)
    True
    >>> same_clustering(np.array([0, 0, 1]), np.array([1, 0, 0]), 2)
    False
    """
    mapping = np.full(n_clusters, -1, dtype=np.int64)
    for start in range(0, labels1.shape[0], block_rows):
        a = labels1[start:start + block_rows].astype(np.int64)
        b = labels2[start:start + block_rows].astype(np.int64)
        pairs = np.unique(a * n_clusters + b)
        pa, pb = pairs // n_clusters, pairs % n_clusters
        if np.unique(pa).size != pa.size:
            return False
        known = mapping[pa]
        if np.any((known != -1) & (known != pb)):
            return False
        mapping[pa] = pb
    return True


class BlockLloyd:
    """Lloyd steps over the row blocks of a file-backed X (see the module docstring).

    Construction is one pass over X: it checks X (NaN, infinity, squares
    within range) and the weights, and gives the feature variances and the
    blocks' weights that the seeding needs.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
        C-contiguous float32/float64 data, typically a memory-mapped file;
        never copied.
    sample_weight : ndarray of shape (n_samples,), dtype float64, or None
        Validated weights (None: ones, without an n_samples array).
    n_clusters : int
        Number of clusters (sizes the blocks).
    step : {'auto', 'plain', 'elkan'}, default='auto'
        'elkan': hinted steps (each row starts at its current centre);
        'plain': every distance of every row; 'auto': the hinted step when a
        probe finds it measures at most ``ELKAN_MAX_FRACTION`` of the centres
        per row, as the in-memory executor decides, plain otherwise.
    block_rows : int, default=None
        Rows per block (default: :func:`block_rows_for`).
    estimator : str, default='KMeans'
        Named in the errors.

    Attributes
    ----------
    labels : ndarray of shape (n_samples,), dtype int32
        The current assignment.
    """

    def __init__(self, X, sample_weight, n_clusters, *, step="auto", block_rows=None,
                 estimator="KMeans"):
        if step not in ("auto", "plain", "elkan"):
            raise ValueError(f"step must be 'auto', 'plain' or 'elkan', got {step!r}.")
        self.X = X
        self.dtype = X.dtype
        self.n_samples = X.shape[0]
        if block_rows is None:
            block_rows = block_rows_for(X.shape[0], X.shape[1], X.dtype.itemsize, n_clusters)
        self._blocks = MappedBlocks(X, sample_weight, block_rows)
        _, self._variances = self._blocks.scan(estimator)
        self.requested_step = step
        self.step_kind = None
        self.labels = None
        self._first = True
        self._last = None

    def feature_variances(self):
        """Weighted variance of every feature (from the construction's pass)."""
        return self._variances

    def kmeans_plusplus(self, n_clusters, random_state):
        """k-means|| centres over the blocks (a handful of passes, not one per centre)."""
        return kmeans_parallel_blocks(self._blocks, n_clusters, random_state)

    def random_centers(self, n_clusters, random_state):
        """Distinct rows drawn with probability proportional to their weight."""
        return random_rows(self._blocks, n_clusters, random_state)

    def choose_step(self, centers):
        """'elkan' (hinted) or 'plain' for a run from ``centers``."""
        if self.requested_step != "auto":
            return self.requested_step
        if ops.is_small(self.X, centers.shape[0]):
            return "plain"
        return "elkan" if hinted_fraction(self.X, centers) <= ELKAN_MAX_FRACTION else "plain"

    def _pass(self, centers, first):
        """One assignment over all blocks: (sums, weights, inertia, n_changed)."""
        k, d = centers.shape
        sums = np.zeros((k, d), dtype=np.float64)
        weights = np.zeros(k, dtype=np.float64)
        inertia = 0.0
        n_changed = 0
        hinted = self.step_kind == "elkan" and not first
        neighbors = center_neighbors(centers) if hinted else None
        for start, stop, x, w in self._blocks:
            labels = self.labels[start:stop]
            if hinted:
                new, s, wt, i, _ = ops.lloyd_partials_from_hints(x, w, centers, labels,
                                                                 neighbors)
                n_changed += int(np.count_nonzero(new != labels))
                labels[:] = new
            else:
                old = None if first else labels.copy()
                _, s, wt, i, _ = ops.lloyd_partials(x, w, centers, out_labels=labels)
                n_changed += (stop - start) if first else int(np.count_nonzero(labels != old))
            sums += s
            weights += wt
            inertia += i
        return sums, weights, inertia, n_changed

    def step(self, centers):
        """One Lloyd step over the blocks; returns (sums, weights, n_changed)."""
        first = self._first
        if first:
            self.step_kind = self.choose_step(centers)
            if self.labels is None:
                self.labels = np.empty(self.n_samples, dtype=np.int32)
        sums, weights, inertia, n_changed = self._pass(centers, first)
        self._first = False
        self._last = (inertia, weights)
        return sums, weights, n_changed

    def relocate_empty(self, centers, sums, weights):
        """Empty clusters take the farthest rows of all blocks (in place)."""
        empty = np.flatnonzero(weights <= 0)
        if empty.size == 0:
            return
        parts = [_farthest_block(x, w, centers, int(empty.size), start)
                 for start, _, x, w in self._blocks]
        _relocate_from_farthest(parts, empty, sums, weights)

    def assignment_inertia(self, centers):
        """Inertia of the last step's assignment (against the centres it used)."""
        return float(self._last[0])

    def moved(self, shift):
        """Nothing to update: the hints are the labels themselves."""

    def finish(self, centers, reassign):
        """Labels for the final centres (a new pass when ``reassign``); the inertia."""
        if reassign:
            _, weights, inertia, _ = self._pass(centers, first=False)
            self._last = (inertia, weights)
        else:
            inertia = 0.0
            for start, stop, x, w in self._blocks:
                distances = ops.distances_to_assigned(x, centers, self.labels[start:stop],
                                                      None)
                inertia += ops.weighted_total(w, distances)
        self._first = True
        return float(inertia)

    def reassign(self, centers):
        """Every row to its nearest centre by a plain pass (no hints: an interrupted
        pass may have left the labels half updated); the inertia."""
        if self.labels is None:
            self.labels = np.empty(self.n_samples, dtype=np.int32)
        _, weights, inertia, _ = self._pass(centers, first=True)
        self._last = (inertia, weights)
        self._first = True
        return float(inertia)

    def result(self):
        """(labels, number of distinct labels) of the run just finished.

        Hands the labels over (the next run writes a new array), so a fit
        holds at most the current and the best run's labels.
        """
        labels, self.labels = self.labels, None
        k = int(self._last[1].shape[0])
        counts = np.zeros(k, dtype=np.int64)
        for start, stop in self._blocks.bounds:
            counts += np.bincount(labels[start:stop], minlength=k)
        return labels, int(np.count_nonzero(counts))

    same_clustering = staticmethod(same_clustering)


# ----------------------------------------------------- fitted model on blocks


def predict_blocks(X, centers, block_rows=None):
    """Nearest centre of every row, block by block (allocates the labels only)."""
    if block_rows is None:
        block_rows = block_rows_for(X.shape[0], X.shape[1], X.dtype.itemsize,
                                    centers.shape[0])
    labels = np.empty(X.shape[0], dtype=np.int32)
    for start, stop, x, _ in MappedBlocks(X, None, block_rows):
        ops.assign_labels(x, centers, out_labels=labels[start:stop])
    return labels


def score_blocks(X, sample_weight, centers, block_rows=None):
    """Weighted inertia of X against ``centers``, block by block."""
    if block_rows is None:
        block_rows = block_rows_for(X.shape[0], X.shape[1], X.dtype.itemsize,
                                    centers.shape[0])
    total = 0.0
    for _, _, x, w in MappedBlocks(X, sample_weight, block_rows):
        _, distances = ops.assign_labels(x, centers)
        total += ops.weighted_total(w, distances)
    return total


def labels_inertia_blocks(X, sample_weight, centers, block_rows=None):
    """Nearest centre of every row and the weighted inertia, block by block."""
    if block_rows is None:
        block_rows = block_rows_for(X.shape[0], X.shape[1], X.dtype.itemsize,
                                    centers.shape[0])
    labels = np.empty(X.shape[0], dtype=np.int32)
    total = 0.0
    for start, stop, x, w in MappedBlocks(X, sample_weight, block_rows):
        _, distances = ops.assign_labels(x, centers, out_labels=labels[start:stop])
        total += ops.weighted_total(w, distances)
    return labels, total
