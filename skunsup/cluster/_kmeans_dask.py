"""K-means on Dask arrays: k-means|| seeding and Lloyd iterations over row blocks.

Every pass over the data is a map over the row blocks of X running the same
numba kernels as the in-memory estimator (:func:`~skunsup.cluster.
_kmeans_kernels.lloyd_partials` per block), followed by a fixed-shape tree
reduction of the per-block partial sums (k x d sums, k weights, the inertia).
Only the k x d centres travel to the workers and only the reduced partials
come back, so the client never holds more than a few k x d arrays. Each
block's labels stay on its worker (4 bytes a row) and start the next step's
rows at their current centre, from which Elkan's bound rules out most of the
other centres (:func:`~skunsup.cluster._kmeans_kernels.lloyd_partials_from_hints`). The tree
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
import warnings

import numpy as np
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_is_fitted

from skunsup.cluster import _kmeans_kernels as kernels
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
            mean, variance = kernels.weighted_mean_variance(X, w)
        m2 = variance * total
        x_finite = bool(np.isfinite(mean).all() and np.isfinite(m2).all())
    else:
        mean = np.zeros(n_features)
        m2 = np.zeros(n_features)
        x_finite = bool(np.isfinite(X).all())
    return total, mean, m2, float(w.min()), weights_ok, x_finite


def _lloyd_block(X, sample_weight, centers, previous=None, neighbors=None):
    """One Lloyd step on one block: (sums, weights, inertia, labels).

    With the block's result of the previous step (whose labels are the hints)
    and the centres' neighbour lists, each row starts at its old centre and
    measures only the centres Elkan's bound cannot rule out; without, the
    matrix product with every centre.
    """
    X = as_block(X)
    w = block_weights(sample_weight, X.shape[0])
    hints = None if previous is None else previous[3]
    with numba_threads(1), blas_threads(1):
        if hints is None:
            labels, sums, weights, inertia, _ = kernels.lloyd_partials(X, w, centers)
        else:
            labels, sums, weights, inertia, _ = kernels.lloyd_partials_from_hints(
                X, w, centers, hints, neighbors)
    return sums, weights, inertia, labels


def _add_partials(*parts):
    sums = parts[0][0].copy()
    weights = parts[0][1].copy()
    inertia = parts[0][2]
    for part in parts[1:]:
        sums += part[0]
        weights += part[1]
        inertia += part[2]
    return sums, weights, inertia


def _farthest_block(X, sample_weight, centers, n_far, offset):
    """The ``n_far`` positive-weight rows farthest from their centre, with their data."""
    X = as_block(X)
    w = block_weights(sample_weight, X.shape[0])
    with numba_threads(1):
        labels, distances = kernels.assign_labels(X, centers)
    positive = np.flatnonzero(w > 0)
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
        labels, distances = kernels.assign_labels(X, candidates)
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
        labels, _ = kernels.assign_labels(X, centers)
    return labels


def _transform_block(X, centers):
    """Euclidean distances of every row to every centre (dtype of X)."""
    X = as_block(X)
    _check_finite_block(X)
    c_sq = 2.0 * kernels.half_squared_norms(centers)
    with numba_threads(1):
        x_sq = kernels.row_squared_norms(X)
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
        _, distances = kernels.assign_labels(X, centers)
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
    """One Lloyd step over all blocks: (sums, weights, inertia, the block results).

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
        neighbors = dask.delayed(kernels.center_neighbors(centers), pure=True)
        parts = [task(x, w, centers_delayed, p, neighbors)
                 for x, w, p in zip(blocks.data, blocks.weights, previous)]
    *parts, root = dask.persist(*parts, tree_reduce(parts, _add_partials))
    sums, weights, inertia = root.compute()
    return sums, weights, inertia, parts


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
    for cluster, pick in zip(empty, order):
        old = labels[pick]
        sums[old] -= w[pick] * rows[pick]
        weights[old] -= w[pick]
        sums[cluster] = w[pick] * rows[pick]
        weights[cluster] = w[pick]


def _lloyd(blocks, centers_init, *, max_iter, tol, verbose=0):
    """Lloyd iterations over blocks; returns (centers, inertia, n_iter, weights)."""
    centers = np.array(centers_init, dtype=blocks.dtype, order="C", copy=True)
    n_iter = 0
    previous = None
    for n_iter in range(1, max_iter + 1):
        sums, weights, inertia, previous = _lloyd_pass(blocks, centers, previous)
        _relocate_empty(blocks, centers, sums, weights)
        new_centers = centers.copy()
        filled = weights > 0
        new_centers[filled] = sums[filled] / weights[filled, None]
        shift = float(((new_centers.astype(np.float64) - centers) ** 2).sum())
        centers = new_centers
        if verbose:
            print(f"Iteration {n_iter - 1}, inertia {inertia}.")
        if shift <= tol:
            if verbose:
                print(f"Converged at iteration {n_iter - 1}: center shift {shift} "
                      f"within tolerance {tol}.")
            break
    _, weights, inertia, _ = _lloyd_pass(blocks, centers, previous)
    return centers, float(inertia), n_iter, weights


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

    from skunsup.cluster._kmeans import KMeans

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
    del state
    if candidates.shape[0] == n_clusters:
        return np.ascontiguousarray(candidates)
    # Weighted k-means++ and Lloyd on the candidates (small, in memory).
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        local = KMeans(n_clusters=n_clusters, init="k-means++", n_init=1,
                       random_state=rng.randint(np.iinfo(np.int32).max))
        if not np.any(weights > 0):
            weights = np.ones_like(weights)
        local.fit(candidates, sample_weight=weights)
    return np.ascontiguousarray(local.cluster_centers_, dtype=blocks.dtype)


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


def kmeans_parallel(X, n_clusters, *, sample_weight=None, oversampling_factor=2.0,
                    n_rounds=5, random_state=None):
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


def _resolve_n_init(estimator):
    init = estimator.init
    init_is_array = not isinstance(init, str) and not callable(init)
    if estimator.n_init == "auto":
        random_like = (isinstance(init, str) and init == "random") or callable(init)
        n_init = 10 if random_like else 1
    else:
        n_init = estimator.n_init
    if init_is_array and n_init != 1:
        warnings.warn(
            "Explicit initial center position passed: performing only one init in "
            f"KMeans instead of n_init={n_init}.", RuntimeWarning, stacklevel=4)
        n_init = 1
    return n_init


def _init_centers(estimator, blocks, rng):
    init = estimator.init
    k = estimator.n_clusters
    if isinstance(init, str) and init == "k-means++":
        return _kmeans_parallel_blocks(blocks, k, oversampling_factor=2.0, n_rounds=5,
                                       random_state=rng)
    if isinstance(init, str) and init == "random":
        return _random_rows(blocks, k, rng)
    centers = init(blocks.X, k, random_state=rng)
    if is_dask_array(centers):
        centers = centers.compute()
    return estimator._validate_centers(centers, blocks.X, "centers returned by init")


def fit_kmeans(estimator, X, sample_weight=None):
    """``KMeans.fit`` on a Dask array: k-means|| seeding, Lloyd over blocks.

    Parameters
    ----------
    estimator : KMeans
        The estimator (its parameters were validated by ``fit``).
    X : dask.array.Array or dask.dataframe.DataFrame of shape (n_samples, n_features)
        Training data, chunked by rows.
    sample_weight : array-like or dask.array.Array of shape (n_samples,), default=None
        Non-negative weights.

    Returns
    -------
    estimator : KMeans
        Fitted; ``labels_`` is a lazy Dask array.
    """
    X = check_dask_array(X, estimator=estimator, reset=True)
    k = estimator.n_clusters
    if X.shape[0] < k:
        raise ValueError(f"n_samples={X.shape[0]} should be >= n_clusters={k}.")
    blocks = _Blocks(X, sample_weight)
    _, variance = _reduce_moments(blocks)
    tol = 0.0 if estimator.tol == 0 else float(np.mean(variance) * estimator.tol)
    n_init = _resolve_n_init(estimator)
    rng = check_random_state(estimator.random_state)
    init_array = None
    if not isinstance(estimator.init, str) and not callable(estimator.init):
        init_array = estimator._validate_centers(estimator.init, X, "init")

    best = None
    for _ in range(n_init):
        centers_init = init_array if init_array is not None else _init_centers(
            estimator, blocks, rng)
        if estimator.verbose:
            print("Initialization complete")
        centers, inertia, n_iter, weights = _lloyd(
            blocks, centers_init, max_iter=estimator.max_iter, tol=tol,
            verbose=estimator.verbose)
        if best is None or inertia < best[1]:
            best = (centers, inertia, n_iter, weights)
    centers, inertia, n_iter, weights = best

    n_filled = int(np.count_nonzero(weights > 0))
    if n_filled < k:
        warnings.warn(
            f"Number of distinct clusters ({n_filled}) found smaller than "
            f"n_clusters ({k}). Possibly due to duplicate points in X.",
            ConvergenceWarning, stacklevel=3)
    estimator.cluster_centers_ = centers
    estimator._n_features_out = k
    estimator.labels_ = X.map_blocks(_predict_block, centers, dtype=np.int32, drop_axis=1)
    estimator.inertia_ = inertia
    estimator.n_iter_ = n_iter
    return estimator


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
