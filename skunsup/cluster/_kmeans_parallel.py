"""k-means|| (Bahmani et al. 2012): the scalable k-means++ of data in Dask blocks.

:func:`kmeans_parallel` is the public function. The Dask executor,
:class:`~skunsup.cluster._kmeans_dask.DaskLloyd`, seeds ``init='k-means++'``
by :func:`_kmeans_parallel_blocks` on the blocks its moments pass has already
checked (:mod:`skunsup.cluster._kmeans_blocks`), and ``init='random'`` by
:func:`_random_rows`.

Every round is one pass over the blocks: each block keeps on its worker the
squared distance of every row to its nearest candidate and that candidate's
index (persisted from one round to the next), draws its rows and sends back
only the rows drawn and its cost. The client holds the candidates alone
(about ``oversampling_factor * n_clusters * n_rounds`` rows), weights them by
the weight of the samples nearest to them, and reduces them to ``n_clusters``
centres by weighted k-means++ and Lloyd in memory. When the rounds drew fewer
candidates than clusters, weighted random rows (the largest
Efraimidis-Spirakis keys of every block) complete them.

The block tasks are module-level functions whose kernels run on one thread
(see :mod:`skunsup.cluster._kmeans_blocks`). Dask is imported lazily, inside
the functions: importing this module (as :mod:`skunsup.cluster` does) does not
import dask.
"""

import operator

import numpy as np
from sklearn.utils import check_random_state

from skunsup.cluster import _kmeans_ops as ops
from skunsup.cluster._kmeans_blocks import _Blocks, _reduce_moments
from skunsup.cluster._lloyd_memory import kmeans_single_lloyd
from skunsup.cluster._seeding import _kmeans_plusplus
from skunsup.utils._dask import (
    as_block,
    block_weights,
    check_dask_array,
    import_dask,
    is_dask_array,
    tree_reduce,
)
from skunsup.utils._numba import numba_threads

# k-means|| as Bahmani et al. (2012) run it: l = 2 k candidates expected per
# round and 5 rounds gave seeds as good as k-means++ in their experiments.
KMEANS_PARALLEL_OVERSAMPLING = 2.0
KMEANS_PARALLEL_ROUNDS = 5
# The candidates (about l * rounds of them, in memory) are reduced to k centres
# by weighted k-means++ and Lloyd with KMeans's own defaults (max_iter, tol).
_CANDIDATE_LLOYD_MAX_ITER = 300
_CANDIDATE_LLOYD_TOL = 1e-4

# ------------------------------------------------------------------ block tasks


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
    return distances, labels, ops.weighted_total(w, distances)


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


def _sum_arrays(*arrays):
    total = arrays[0].copy()
    for array in arrays[1:]:
        total += array
    return total


# ---------------------------------------------------------------------- drivers


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
    return _reduce_candidates(candidates, weights, n_clusters, rng, blocks.dtype)


def _reduce_candidates(candidates, weights, n_clusters, rng, dtype):
    """The k-means|| candidates reduced to ``n_clusters`` centres (small, in memory).

    Weighted k-means++ and Lloyd on the candidates, each weighted by the
    weight of the samples nearest to it; shared by the Dask and the
    memory-mapped seedings.
    """
    if candidates.shape[0] == n_clusters:
        return np.ascontiguousarray(candidates)
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
    return np.ascontiguousarray(centers, dtype=dtype)


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
