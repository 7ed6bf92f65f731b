"""K-means on Dask arrays: the Dask executor of Lloyd's algorithm, and k-means||.

:class:`DaskLloyd` implements the step protocol of :mod:`skunsup.cluster._lloyd`
(the loop itself, its stopping rules and verbose lines are written once there)
and the seeding that :class:`~skunsup.cluster.KMeans` asks of an executor;
``predict``, ``transform`` and ``score`` of a fitted KMeans on Dask arrays are
lazy maps over the blocks.

Every pass over the data is a map over the row blocks of X running the same
numba kernels as the in-memory estimator (:func:`~skunsup.cluster.
_kmeans_ops.lloyd_partials` per block), followed by a fixed-shape tree
reduction of the per-block partial sums (k x d sums, k weights, the inertia).
Only the k x d centres travel to the workers and only the reduced partials
come back, so the client never holds more than a few k x d arrays. Each
block's labels stay on its worker (4 bytes a row) and start the next step's
rows at their current centre, from which Elkan's bound rules out most of the
other centres (:func:`~skunsup.cluster._kmeans_ops.lloyd_partials_from_hints`). The tree
depends only on the number of blocks, hence the result does not depend on which
worker ran which block, and equals the in-memory fit up to the order of the
float64 sums.

Inside a block task the kernels run on one numba thread and one BLAS thread:
Dask already runs one task per core (a worker thread of a ``LocalCluster``, a thread of the
threaded scheduler), so more threads would only oversubscribe the cores.

Dask is imported lazily, inside the functions: importing this module does not
import dask.
"""

import operator

import numpy as np
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_is_fitted

from skunsup.cluster import _kmeans_ops as ops
from skunsup.cluster._lloyd_memory import kmeans_single_lloyd, move_samples_to_empty
from skunsup.cluster._seeding import _kmeans_plusplus
from skunsup.utils._dask import (
    as_block,
    block_weights,
    check_dask_array,
    check_dask_sample_weight,
    import_dask,
    is_dask_array,
    row_blocks,
    tree_reduce,
)
from skunsup.utils._blas import blas_threads
from skunsup.utils._numba import numba_threads

# k-means|| as Bahmani et al. (2012) run it: l = 2 k candidates expected per
# round and 5 rounds gave seeds as good as k-means++ in their experiments.
KMEANS_PARALLEL_OVERSAMPLING = 2.0
KMEANS_PARALLEL_ROUNDS = 5
# The candidates (about l * rounds of them, in memory) are reduced to k centres
# by weighted k-means++ and Lloyd with KMeans's own defaults (max_iter, tol).
_CANDIDATE_LLOYD_MAX_ITER = 300
_CANDIDATE_LLOYD_TOL = 1e-4

# --------------------------------------------------------------- block tasks
# Plain module-level functions: Dask pickles them by reference.


def _check_finite_block(X):
    if not np.isfinite(X).all():
        raise ValueError("Input X contains NaN or infinity (found in a Dask block).")


def _moments_block(X, sample_weight):
    """Weight total, weighted mean and sum of squared deviations of one block."""
    X = as_block(X)
    w = block_weights(sample_weight, X.shape[0])
    n_features = X.shape[1]
    if X.shape[0] == 0:
        return 0.0, np.zeros(n_features), np.zeros(n_features), np.inf, True, True
    weights_ok = bool(np.isfinite(w).all())
    total = float(w.sum()) if weights_ok else np.nan
    if weights_ok and total > 0:
        with numba_threads(1):
            mean, variance = ops.weighted_mean_variance(X, w)
        m2 = variance * total
        x_finite = bool(np.isfinite(mean).all() and np.isfinite(m2).all())
    else:
        mean = np.zeros(n_features)
        m2 = np.zeros(n_features)
        x_finite = bool(np.isfinite(X).all())
    return total, mean, m2, float(w.min()), weights_ok, x_finite


def _lloyd_block(X, sample_weight, centers, previous=None, neighbors=None):
    """One Lloyd step on one block: (sums, weights, inertia, n_changed, labels).

    With the block's result of the previous step (whose labels are the hints)
    and the centres' neighbour lists, each row starts at its old centre and
    measures only the centres Elkan's bound cannot rule out; without, the
    matrix product with every centre (and every row counts as changed).
    """
    X = as_block(X)
    w = block_weights(sample_weight, X.shape[0])
    hints = None if previous is None else previous[4]
    with numba_threads(1), blas_threads(1):
        if hints is None:
            labels, sums, weights, inertia, _ = ops.lloyd_partials(X, w, centers)
            n_changed = X.shape[0]
        else:
            labels, sums, weights, inertia, _ = ops.lloyd_partials_from_hints(
                X, w, centers, hints, neighbors)
            n_changed = int(np.count_nonzero(labels != hints))
    return sums, weights, inertia, n_changed, labels


def _add_partials(*parts):
    sums = parts[0][0].copy()
    weights = parts[0][1].copy()
    inertia = parts[0][2]
    n_changed = parts[0][3]
    for part in parts[1:]:
        sums += part[0]
        weights += part[1]
        inertia += part[2]
        n_changed += part[3]
    return sums, weights, inertia, n_changed


def _farthest_block(X, sample_weight, centers, n_far, offset):
    """The ``n_far`` positive-weight rows farthest from their centre, with their data."""
    X = as_block(X)
    w = block_weights(sample_weight, X.shape[0])
    with numba_threads(1):
        labels, distances = ops.assign_labels(X, centers)
    # as in memory: rows sitting on their centre are never moved
    positive = np.flatnonzero((w > 0) & (distances > 0))
    order = np.argsort(-distances[positive], kind="stable")[:n_far]
    rows = positive[order]
    return distances[rows], rows + offset, labels[rows], w[rows], X[rows]


def _pick_row(X, sample_weight, target):
    """The first row whose cumulative weight exceeds ``target``."""
    X = as_block(X)
    w = block_weights(sample_weight, X.shape[0])
    index = int(np.searchsorted(np.cumsum(w), target, side="right"))
    return X[min(index, X.shape[0] - 1)].copy()


def _update_state(X, sample_weight, state, candidates, offset):
    """Distance of every row to its nearest candidate (and its index) after new ones."""
    X = as_block(X)
    w = block_weights(sample_weight, X.shape[0])
    with numba_threads(1):
        labels, distances = ops.assign_labels(X, candidates)
    labels = labels.astype(np.int64) + offset
    if state is not None:
        closest, nearest, _ = state
        closer = distances < closest
        distances = np.where(closer, distances, closest)
        labels = np.where(closer, labels, nearest)
    return distances, labels, float(np.dot(w, distances))


def _sample_block(X, sample_weight, state, scale, seed):
    """Rows drawn independently with probability ``min(1, scale * w * d^2)``."""
    w = block_weights(sample_weight, X.shape[0])
    rng = np.random.RandomState(seed)
    probability = np.minimum(1.0, scale * w * state[0])
    picked = np.flatnonzero(rng.uniform(size=w.shape[0]) < probability)
    return np.ascontiguousarray(X[picked])


def _candidate_weights(sample_weight, state, n_candidates):
    w = block_weights(sample_weight, state[1].shape[0])
    return np.bincount(state[1], weights=w, minlength=n_candidates)


def _random_keys_block(X, sample_weight, n_rows, seed):
    """Top ``n_rows`` of the Efraimidis-Spirakis keys log(u) / w of one block."""
    w = block_weights(sample_weight, X.shape[0])
    rng = np.random.RandomState(seed)
    u = rng.uniform(size=w.shape[0])
    with np.errstate(divide="ignore"):
        keys = np.where(w > 0, np.log(u) / np.where(w > 0, w, 1.0), -np.inf)
    top = np.argsort(-keys, kind="stable")[:n_rows]
    return keys[top], np.ascontiguousarray(X[top])


def _predict_block(X, centers):
    X = as_block(X)
    _check_finite_block(X)
    with numba_threads(1):
        labels, _ = ops.assign_labels(X, centers)
    return labels


def _transform_block(X, centers):
    """Euclidean distances of every row to every centre (dtype of X)."""
    X = as_block(X)
    _check_finite_block(X)
    c_sq = 2.0 * ops.half_squared_norms(centers)
    with numba_threads(1):
        x_sq = ops.row_squared_norms(X)
    dots = np.asarray(X @ centers.T, dtype=np.float64)
    sq = x_sq[:, None] + c_sq[None, :] - 2.0 * dots
    return np.sqrt(np.maximum(sq, 0.0)).astype(X.dtype, copy=False)


def _score_block(X, sample_weight, centers):
    X = as_block(X)
    _check_finite_block(X)
    w = block_weights(sample_weight, X.shape[0])
    if not np.isfinite(w).all() or np.any(w < 0):
        raise ValueError("sample_weight must be finite and non-negative.")
    with numba_threads(1):
        _, distances = ops.assign_labels(X, centers)
    return float(np.dot(w, distances))


# ------------------------------------------------------------------- drivers


class _Blocks:
    """The row blocks of X and of the weights, with the per-block weight totals."""

    def __init__(self, X, sample_weight):
        self.X = X
        self.dtype = X.dtype
        self.n_features = X.shape[1]
        self.data = row_blocks(X)
        self.weights = check_dask_sample_weight(sample_weight, X)
        self.offsets = np.concatenate([[0], np.cumsum(X.chunks[0])[:-1]]).astype(np.int64)
        self.totals = None

    def __len__(self):
        return len(self.data)

    def map(self, func, *args, with_offset=False):
        import dask

        task = dask.delayed(func, pure=True)
        if with_offset:
            return [task(x, w, *args, int(o))
                    for x, w, o in zip(self.data, self.weights, self.offsets)]
        return [task(x, w, *args) for x, w in zip(self.data, self.weights)]


def _reduce_moments(blocks):
    """Weighted mean and variance of every feature; checks X and the weights."""
    import dask

    parts = dask.compute(*blocks.map(_moments_block))
    totals = np.array([p[0] for p in parts], dtype=np.float64)
    if not all(p[4] for p in parts):
        raise ValueError("sample_weight contains NaN or infinity.")
    if min(p[3] for p in parts) < 0:
        raise ValueError("sample_weight must be non-negative; negative weights were given.")
    if not all(p[5] for p in parts):
        raise ValueError("Input X contains NaN or infinity (found while reducing the "
                         "Dask blocks).")
    total = 0.0
    mean = np.zeros(blocks.n_features)
    m2 = np.zeros(blocks.n_features)
    for block_total, block_mean, block_m2, *_ in parts:
        if block_total <= 0:
            continue
        new_total = total + block_total
        delta = block_mean - mean
        mean = mean + delta * (block_total / new_total)
        m2 = m2 + block_m2 + delta**2 * (total * block_total / new_total)
        total = new_total
    if total <= 0:
        raise ValueError("sample_weight must have at least one positive weight; all are zero.")
    blocks.totals = totals
    return mean, m2 / total


def _lloyd_pass(blocks, centers, previous=None):
    """One Lloyd step over all blocks: (sums, weights, inertia, n_changed, block results).

    The block results (with their labels) are persisted where they were
    computed and passed to the next step (``previous``), which starts every
    row at its current centre; the labels never reach the client. One graph
    per step: the block tasks and the reduction are submitted together.
    """
    import dask

    centers_delayed = dask.delayed(centers, pure=True)
    if previous is None:
        parts = blocks.map(_lloyd_block, centers_delayed)
    else:
        task = dask.delayed(_lloyd_block, pure=True)
        neighbors = dask.delayed(ops.center_neighbors(centers), pure=True)
        parts = [task(x, w, centers_delayed, p, neighbors)
                 for x, w, p in zip(blocks.data, blocks.weights, previous)]
    *parts, root = dask.persist(*parts, tree_reduce(parts, _add_partials))
    sums, weights, inertia, n_changed = root.compute()
    return sums, weights, inertia, n_changed, parts


def _relocate_empty(blocks, centers, sums, weights):
    """Move empty clusters to the farthest samples, as the in-memory fit does."""
    import dask

    empty = np.flatnonzero(weights <= 0)
    if empty.size == 0:
        return
    parts = dask.compute(*blocks.map(_farthest_block, dask.delayed(centers, pure=True),
                                     int(empty.size), with_offset=True))
    dist = np.concatenate([p[0] for p in parts])
    index = np.concatenate([p[1] for p in parts])
    labels = np.concatenate([p[2] for p in parts])
    w = np.concatenate([p[3] for p in parts])
    rows = np.concatenate([p[4] for p in parts])
    order = np.lexsort((index, -dist))[: empty.size]
    move_samples_to_empty(empty, labels[order], w[order], rows[order], sums, weights)


def _first_center(blocks, rng):
    totals = blocks.totals
    cumulative = np.cumsum(totals)
    target = rng.uniform() * cumulative[-1]
    index = int(np.searchsorted(cumulative, target, side="right"))
    index = min(index, len(blocks) - 1)
    while totals[index] <= 0:  # rounding at the very end of the cumulative sum
        index -= 1
    residual = target - (cumulative[index - 1] if index > 0 else 0.0)
    import dask

    return dask.delayed(_pick_row, pure=True)(
        blocks.data[index], blocks.weights[index], residual).compute()


def _random_rows(blocks, n_rows, rng):
    """``n_rows`` distinct rows drawn with probability proportional to their weight."""
    import dask

    seeds = rng.randint(np.iinfo(np.int32).max, size=len(blocks))
    parts = dask.compute(*[
        dask.delayed(_random_keys_block, pure=True)(x, w, n_rows, int(seed))
        for x, w, seed in zip(blocks.data, blocks.weights, seeds)])
    keys = np.concatenate([p[0] for p in parts])
    rows = np.concatenate([p[1] for p in parts])
    top = np.argsort(-keys, kind="stable")[:n_rows]
    return np.ascontiguousarray(rows[top])


def _kmeans_parallel_blocks(blocks, n_clusters, *, oversampling_factor, n_rounds,
                            random_state):
    """k-means|| on validated blocks (``blocks.totals`` set); returns the centres."""
    import dask

    rng = random_state
    ell = oversampling_factor * n_clusters
    candidates = _first_center(blocks, rng)[None, :].astype(blocks.dtype)
    state = [None] * len(blocks)

    def update(new):
        new_delayed = dask.delayed(new, pure=True)
        offset = candidates.shape[0] - new.shape[0]
        tasks = [dask.delayed(_update_state, pure=True)(x, w, s, new_delayed, offset)
                 for x, w, s in zip(blocks.data, blocks.weights, state)]
        persisted = dask.persist(*tasks)
        cost = float(sum(dask.compute(*[
            dask.delayed(operator.getitem, pure=True)(s, 2) for s in persisted])))
        return list(persisted), cost

    state, cost = update(candidates)
    for _ in range(n_rounds):
        if cost <= 0:
            break
        seeds = rng.randint(np.iinfo(np.int32).max, size=len(blocks))
        picked = dask.compute(*[
            dask.delayed(_sample_block, pure=True)(x, w, s, ell / cost, int(seed))
            for x, w, s, seed in zip(blocks.data, blocks.weights, state, seeds)])
        new = np.concatenate(picked, axis=0).astype(blocks.dtype, copy=False)
        if new.shape[0] == 0:
            continue
        candidates = np.concatenate([candidates, new], axis=0)
        state, cost = update(new)
    if candidates.shape[0] < n_clusters:
        extra = _random_rows(blocks, n_clusters - candidates.shape[0], rng)
        candidates = np.concatenate([candidates, extra.astype(blocks.dtype)], axis=0)
        state, cost = update(extra)
    weights = tree_reduce([
        dask.delayed(_candidate_weights, pure=True)(w, s, candidates.shape[0])
        for w, s in zip(blocks.weights, state)], _sum_arrays).compute()
    state = None  # drop the persisted block states (not del: update() reads the name)
    if candidates.shape[0] == n_clusters:
        return np.ascontiguousarray(candidates)
    # Weighted k-means++ and Lloyd on the candidates (small, in memory).
    if not np.any(weights > 0):
        weights = np.ones_like(weights)
    candidates = np.ascontiguousarray(candidates)
    x_squared_norms = ops.row_squared_norms(candidates)
    local_rng = check_random_state(rng.randint(np.iinfo(np.int32).max))
    centers, _ = _kmeans_plusplus(candidates, n_clusters, x_squared_norms, weights,
                                  local_rng)
    tol = float(np.mean(ops.weighted_mean_variance(candidates, weights)[1])
                * _CANDIDATE_LLOYD_TOL)
    _, _, centers, _ = kmeans_single_lloyd(candidates, weights, centers,
                                           max_iter=_CANDIDATE_LLOYD_MAX_ITER, tol=tol,
                                           x_squared_norms=x_squared_norms)
    return np.ascontiguousarray(centers, dtype=blocks.dtype)


def _sum_arrays(*arrays):
    total = arrays[0].copy()
    for array in arrays[1:]:
        total += array
    return total


def _as_dask(X, what):
    da = import_dask(what)
    if not is_dask_array(X):
        X = np.asarray(X)
        if X.ndim == 2:
            X = da.from_array(X, chunks=(max(1, min(X.shape[0], 100_000)), -1))
    return X


def kmeans_parallel(X, n_clusters, *, sample_weight=None,
                    oversampling_factor=KMEANS_PARALLEL_OVERSAMPLING,
                    n_rounds=KMEANS_PARALLEL_ROUNDS, random_state=None):
    """Choose initial k-means centres with k-means|| (scalable k-means++).

    The seeding of Bahmani et al. (2012) for data spread over blocks: after
    one first centre drawn with probability proportional to the sample
    weight, each of ``n_rounds`` rounds draws every sample independently with
    probability ``min(1, l * w * D(x)^2 / phi)`` (``l = oversampling_factor *
    n_clusters``, ``D`` the distance to the nearest candidate so far, ``phi``
    the current weighted cost), in one pass over the blocks. The candidates
    (about ``l * n_rounds`` of them) are weighted by the weight of the samples
    nearest to them and reduced to ``n_clusters`` centres by weighted
    k-means++ and Lloyd iterations in memory.

    This is what :class:`~skunsup.cluster.KMeans` uses for ``init='k-means++'``
    on a Dask array. Pass it as ``init`` (through :func:`functools.partial`)
    to change the oversampling factor or the number of rounds.

    Parameters
    ----------
    X : dask.array.Array or array-like of shape (n_samples, n_features)
        The data, chunked by rows. An in-memory array is wrapped in a Dask
        array.
    n_clusters : int
        Number of centres.
    sample_weight : array-like of shape (n_samples,), default=None
        Non-negative weights (None: all ones).
    oversampling_factor : float, default=2.0
        ``l / n_clusters``: expected candidates drawn per round, relative to
        the number of clusters.
    n_rounds : int, default=5
        Sampling rounds (each one pass over the data). Bahmani et al. find a
        handful enough in practice.
    random_state : int, RandomState instance or None, default=None
        Seed of the random draws.

    Returns
    -------
    centers : ndarray of shape (n_clusters, n_features)
        The initial centres, in the dtype of X (float32 stays float32).

    See Also
    --------
    kmeans_plusplus : The sequential k-means++ seeding of in-memory data.

    References
    ----------
    B. Bahmani, B. Moseley, A. Vattani, R. Kumar and S. Vassilvitskii,
    "Scalable k-means++", Proceedings of the VLDB Endowment 5(7), 2012.

    Examples
    --------
    >>> import dask.array as da
    >>> import numpy as np
    >>> from skunsup.cluster import kmeans_parallel
    >>> X = np.array([[0.0, 0.0], [0.1, 0.0], [10.0, 10.0], [10.1, 10.0]] * 5)
    >>> centers = kmeans_parallel(da.from_array(X, chunks=(4, 2)), 2, random_state=0)
    >>> sorted(np.round(centers[:, 0]).tolist())
    [0.0, 10.0]
    """
    if int(n_clusters) < 1:
        raise ValueError(f"n_clusters must be >= 1, got {n_clusters}.")
    if not oversampling_factor > 0:
        raise ValueError(f"oversampling_factor must be > 0, got {oversampling_factor}.")
    if int(n_rounds) < 0:
        raise ValueError(f"n_rounds must be >= 0, got {n_rounds}.")
    X = check_dask_array(_as_dask(X, "kmeans_parallel"))
    if X.shape[0] < n_clusters:
        raise ValueError(f"n_samples={X.shape[0]} should be >= n_clusters={n_clusters}.")
    blocks = _Blocks(X, sample_weight)
    _reduce_moments(blocks)
    return _kmeans_parallel_blocks(blocks, int(n_clusters),
                                   oversampling_factor=float(oversampling_factor),
                                   n_rounds=int(n_rounds),
                                   random_state=check_random_state(random_state))


# ------------------------------------------------------- estimator entry points


class DaskLloyd:
    """The executor of Lloyd's algorithm (:mod:`skunsup.cluster._lloyd`) on Dask blocks.

    Validates X (setting the estimator's ``n_features_in_`` as
    ``validate_data`` does) and the weights in one moments pass, seeds by
    k-means|| or weighted random rows, and runs every step as one graph over
    the blocks: each block's labels stay on its worker and start the next
    step's rows at their current centre.

    Parameters
    ----------
    X : dask.array.Array or dask.dataframe.DataFrame of shape (n_samples, n_features)
        Training data, chunked by rows.
    sample_weight : array-like or dask.array.Array of shape (n_samples,) or None
        Non-negative weights.
    estimator : KMeans
        The estimator being fitted (for feature names and counts only).
    """

    def __init__(self, X, sample_weight, estimator):
        self.X = check_dask_array(X, estimator=estimator, reset=True)
        self.dtype = self.X.dtype
        self.n_samples = self.X.shape[0]
        self._blocks = _Blocks(self.X, sample_weight)
        _, self._variances = _reduce_moments(self._blocks)
        self._previous = None
        self._last = None

    def feature_variances(self):
        """Weighted variance of every feature (from the moments pass)."""
        return self._variances

    def kmeans_plusplus(self, n_clusters, random_state):
        """k-means|| centres (Bahmani et al.), the scalable k-means++."""
        return _kmeans_parallel_blocks(self._blocks, n_clusters,
                                       oversampling_factor=KMEANS_PARALLEL_OVERSAMPLING,
                                       n_rounds=KMEANS_PARALLEL_ROUNDS,
                                       random_state=random_state)

    def random_centers(self, n_clusters, random_state):
        """Distinct rows drawn with probability proportional to their weight."""
        return _random_rows(self._blocks, n_clusters, random_state)

    def step(self, centers):
        sums, weights, inertia, n_changed, self._previous = _lloyd_pass(
            self._blocks, centers, self._previous)
        self._last = (inertia, weights)
        return sums, weights, n_changed

    def relocate_empty(self, centers, sums, weights):
        _relocate_empty(self._blocks, centers, sums, weights)

    def assignment_inertia(self, centers):
        return float(self._last[0])

    def moved(self, shift):
        """Nothing to update: the hints are the labels themselves."""

    def finish(self, centers, reassign):
        """A last hinted pass: the labels of the final centres and their inertia.

        Also when the labels did not change (``reassign`` False): the pass is
        what gives the inertia against the final centres.
        """
        _, weights, inertia, _, _ = _lloyd_pass(self._blocks, centers, self._previous)
        self._previous = None
        self._last = (inertia, weights)
        self._centers = centers
        return float(inertia)

    def result(self):
        """(lazy labels, number of clusters with weight) of the run just finished."""
        labels = self.X.map_blocks(_predict_block, self._centers, dtype=np.int32,
                                   drop_axis=1)
        return labels, int(np.count_nonzero(self._last[1] > 0))

    @staticmethod
    def same_clustering(labels1, labels2, n_clusters):
        """Lazy labels are not compared: a lower inertia always wins."""
        return False


def _fitted_centers(estimator, X):
    return np.ascontiguousarray(estimator.cluster_centers_, dtype=X.dtype)


def predict_kmeans(estimator, X):
    """``KMeans.predict`` on a Dask array: a lazy Dask array of labels.

    Parameters
    ----------
    estimator : KMeans
        A fitted estimator.
    X : dask.array.Array or dask.dataframe.DataFrame of shape (n_samples, n_features)
        New data, chunked by rows.

    Returns
    -------
    labels : dask.array.Array of shape (n_samples,), dtype int32
        Index of the nearest centre; computed when the caller computes it.
    """
    check_is_fitted(estimator)
    X = check_dask_array(X, estimator=estimator, reset=False)
    return X.map_blocks(_predict_block, _fitted_centers(estimator, X), dtype=np.int32,
                        drop_axis=1)


def transform_kmeans(estimator, X):
    """``KMeans.transform`` on a Dask array: lazy distances to every centre.

    Parameters
    ----------
    estimator : KMeans
        A fitted estimator.
    X : dask.array.Array or dask.dataframe.DataFrame of shape (n_samples, n_features)
        New data, chunked by rows.

    Returns
    -------
    distances : dask.array.Array of shape (n_samples, n_clusters)
        Euclidean distances, dtype of X.
    """
    check_is_fitted(estimator)
    X = check_dask_array(X, estimator=estimator, reset=False)
    centers = _fitted_centers(estimator, X)
    return X.map_blocks(_transform_block, centers, dtype=X.dtype,
                        chunks=(X.chunks[0], (centers.shape[0],)))


def score_kmeans(estimator, X, sample_weight=None):
    """``KMeans.score`` on a Dask array (computed: it is one number).

    Parameters
    ----------
    estimator : KMeans
        A fitted estimator.
    X : dask.array.Array or dask.dataframe.DataFrame of shape (n_samples, n_features)
        New data, chunked by rows.
    sample_weight : array-like or dask.array.Array of shape (n_samples,), default=None
        Non-negative weights.

    Returns
    -------
    score : float
        Minus the weighted sum of squared distances to the nearest centre.
    """
    import dask

    check_is_fitted(estimator)
    X = check_dask_array(X, estimator=estimator, reset=False)
    blocks = _Blocks(X, sample_weight)
    centers = dask.delayed(_fitted_centers(estimator, X), pure=True)
    parts = blocks.map(_score_block, centers)
    return -float(tree_reduce(parts, _sum_floats).compute())


def _sum_floats(*values):
    return float(sum(values))
