"""Slow, obviously correct NumPy twins of the k-means kernels (float64 throughout)."""

import numpy as np
import scipy.sparse as sp


def _dense64(X):
    return np.asarray(X.toarray() if sp.issparse(X) else X, dtype=np.float64)


def squared_distances(X, centers):
    """All squared distances, by the definition: sum over features of (x - c)^2."""
    X = _dense64(X)
    centers = np.asarray(centers, dtype=np.float64)
    return ((X[:, None, :] - centers[None, :, :]) ** 2).sum(axis=2)


def lloyd_step(X, sample_weight, centers):
    """One Lloyd step: (labels, weighted sums per cluster, weights per cluster, inertia, dist)."""
    X = _dense64(X)
    sq = squared_distances(X, centers)
    labels = sq.argmin(axis=1)
    dist = sq[np.arange(len(X)), labels]
    sums, weights = cluster_sums(X, sample_weight, labels, len(centers))
    return labels, sums, weights, float(np.dot(sample_weight, dist)), dist


def cluster_sums(X, sample_weight, labels, n_clusters):
    """Weighted sum and total weight of the samples of every cluster, sample by sample."""
    X = _dense64(X)
    sums = np.zeros((n_clusters, X.shape[1]))
    weights = np.zeros(n_clusters)
    for x, w, label in zip(X, sample_weight, labels):
        sums[label] += w * x
        weights[label] += w
    return sums, weights


def inertia(X, sample_weight, centers, labels):
    """Weighted sum of squared distances of the samples to their assigned centre."""
    X = _dense64(X)
    diff = X - np.asarray(centers, dtype=np.float64)[labels]
    return float(np.dot(sample_weight, (diff**2).sum(axis=1)))


def kmeans_plusplus_trials(X, sample_weight, candidates, closest):
    """min(closest, ||x - candidate||^2) for every candidate, and its weighted sum."""
    trial = np.minimum(squared_distances(X, candidates).T, closest[None, :])
    return trial, trial @ sample_weight


def lloyd(X, sample_weight, centers, max_iter, tol=0.0):
    """Lloyd's algorithm with scikit-learn's stopping rules (no empty clusters expected).

    Returns (labels, inertia, centers, n_iter) where labels are those of the
    final centres.
    """
    centers = np.asarray(centers, dtype=np.float64).copy()
    labels_old = None
    for n_iter in range(1, max_iter + 1):
        labels, sums, weights, _, _ = lloyd_step(X, sample_weight, centers)
        new = sums / weights[:, None]
        shift = ((new - centers) ** 2).sum()
        centers = new
        if labels_old is not None and np.array_equal(labels, labels_old):
            break
        if shift <= tol:
            labels = lloyd_step(X, sample_weight, centers)[0]
            break
        labels_old = labels
    else:
        labels = lloyd_step(X, sample_weight, centers)[0]
    return labels, inertia(X, sample_weight, centers, labels), centers, n_iter


def minibatch_step(X, sample_weight, centers, counts, random_state=None,
                   reassignment_ratio=0.0):
    """scikit-learn's mini-batch update, centre by centre: (new centres, counts, inertia).

    Every centre a batch sample is nearest to becomes the weighted mean of its
    previous position (weighted by its count, the weight it absorbed so far)
    and its batch samples; its count grows by their weight. Then, when
    ``reassign_rows`` is given (the batch rows to draw from, in draw order),
    every centre whose count is below ``reassignment_ratio`` times the largest
    is moved to the next of those rows (at most half a batch: those with the
    smallest counts, ties in index order), and its count becomes the smallest
    count of the others. The inertia is the batch's against the old centres.
    """
    X = _dense64(X)
    centers = np.asarray(centers, dtype=np.float64)
    new = centers.copy()
    counts = np.asarray(counts, dtype=np.float64).copy()
    sq = squared_distances(X, centers)
    labels = sq.argmin(axis=1)
    batch_inertia = float(np.dot(sample_weight, sq[np.arange(len(X)), labels]))
    for c in range(len(centers)):
        mine = labels == c
        weight = float(sample_weight[mine].sum())
        if weight > 0:
            total = centers[c] * counts[c]
            for x, w in zip(X[mine], sample_weight[mine]):
                total = total + w * x
            counts[c] += weight
            new[c] = total / counts[c]
    if random_state is not None:
        small = [c for c in range(len(centers)) if counts[c] < reassignment_ratio * counts.max()]
        if len(small) > 0.5 * len(X):
            keep = sorted(range(len(centers)), key=lambda c: (counts[c], c))[:int(0.5 * len(X))]
            small = [c for c in small if c in keep]
        others = [c for c in range(len(centers)) if c not in small]
        rows = random_state.choice(len(X), replace=False, size=len(small)) if small else []
        for c, row in zip(small, rows):
            new[c] = X[row]
        if small and others:
            counts[small] = min(counts[c] for c in others)
    return new, counts, batch_inertia


def kmeans_plusplus(X, sample_weight, n_clusters, random_state, n_local_trials):
    """Greedy k-means++ by the definition; returns the indices of the chosen rows.

    The uniforms are drawn from ``random_state`` in skunsup's order: one for the
    first centre, then ``n_local_trials`` for each further centre. A uniform
    ``u`` picks the first row whose cumulative weight exceeds ``u`` times the
    total (the first centre: weights ``w``; the others: ``w * D(x)^2``, and
    "reaches" instead of "exceeds", as numpy's searchsorted sides do).
    """
    X = _dense64(X)
    n = len(X)

    def pick(weights, u, strictly):
        running = 0.0
        threshold = u * weights.sum()
        for i, w in enumerate(weights):
            running += w
            if running > threshold or (not strictly and running >= threshold):
                return i
        return n - 1

    indices = [pick(sample_weight, random_state.uniform(), strictly=True)]
    closest = squared_distances(X, X[indices]).min(axis=1)
    for _ in range(1, n_clusters):
        draws = random_state.uniform(size=n_local_trials)
        candidates = [pick(sample_weight * closest, u, strictly=False) for u in draws]
        potentials = [float(np.dot(sample_weight, np.minimum(
            closest, squared_distances(X, X[[c]])[:, 0]))) for c in candidates]
        best = candidates[int(np.argmin(potentials))]
        indices.append(best)
        closest = np.minimum(closest, squared_distances(X, X[[best]])[:, 0])
    return np.array(indices)


def successive_draw_probability(sample_weight, rows):
    """Probability that successive weighted draws without replacement give the set ``rows``.

    Sum over the orders of ``rows`` of the product of ``w_i / (remaining weight)``.
    """
    from itertools import permutations

    total = 0.0
    for order in permutations(rows):
        remaining = float(np.sum(sample_weight))
        p = 1.0
        for i in order:
            p *= sample_weight[i] / remaining
            remaining -= sample_weight[i]
        total += p
    return total
