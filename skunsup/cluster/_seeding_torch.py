"""Seeding of k-means on a torch device: greedy k-means++ and weighted random rows.

The torch twins of :mod:`skunsup.cluster._seeding`, for the torch executor
(:class:`~skunsup.cluster._lloyd_torch.TorchLloyd`): the data, its squared row
norms and the sample weights are tensors on the device, and so is every
distance, cumulative sum and draw. Nothing waits for the device inside the
loop over centres.

- :func:`kmeans_plusplus` draws its uniforms from the caller's numpy
  ``RandomState`` in the order the in-memory seeding draws them (one for the
  first centre, then ``n_local_trials`` per centre), so that both choose the
  same rows from the same seed, up to the rounding of the distances.
- :func:`random_rows` draws on the device, from a ``torch.Generator`` seeded
  by the caller's ``RandomState``.
"""

import numpy as np


def squared_distances(X, x_squared_norms, centers):
    """``||x - c||^2`` of every row to every centre, (n_samples, n_centers) float64.

    From the expansion ``||x||^2 - 2 x.c + ||c||^2``: the products in the
    dtype of ``X`` (one matrix product), the rest in float64, clipped at zero,
    as the in-memory seeding computes them.

    Parameters
    ----------
    X : Tensor of shape (n_samples, n_features)
    x_squared_norms : Tensor of shape (n_samples,), float64
    centers : Tensor of shape (n_centers, n_features), dtype of ``X``

    Returns
    -------
    distances : Tensor of shape (n_samples, n_centers), float64

    Examples
    --------
    >>> import torch
    >>> from skunsup.cluster._seeding_torch import squared_distances
    >>> X = torch.tensor([[0.0, 0.0], [3.0, 4.0]])
    >>> squared_distances(X, (X.double() ** 2).sum(1), X[:1]).ravel().tolist()
    [0.0, 25.0]
    """
    dots = (X @ centers.T).double()
    c_sq = (centers.double() ** 2).sum(1)
    return (x_squared_norms[:, None] + c_sq[None, :] - 2.0 * dots).clamp_min_(0.0)


def kmeans_plusplus(X, x_squared_norms, sample_weight, n_clusters, random_state,
                    n_local_trials=None):
    """Greedy k-means++ on the device; returns (centers, indices) tensors.

    The first centre is a row drawn with probability proportional to its
    weight; every further centre is the best of ``n_local_trials`` rows drawn
    with probability proportional to ``weight * D(x)^2`` (the one leaving the
    smallest weighted potential), as :func:`skunsup.cluster.kmeans_plusplus`.

    Parameters
    ----------
    X : Tensor of shape (n_samples, n_features)
        The data, float32 or float64.
    x_squared_norms : Tensor of shape (n_samples,), float64
    sample_weight : Tensor of shape (n_samples,), float64
    n_clusters : int
    random_state : numpy.random.RandomState
        Draws the uniforms (all of them at once, in the in-memory order).
    n_local_trials : int, default=None
        Candidates per centre; ``2 + int(log(n_clusters))`` when None.

    Returns
    -------
    centers : Tensor of shape (n_clusters, n_features), dtype of ``X``
    indices : Tensor of shape (n_clusters,), int64

    Examples
    --------
    >>> import numpy as np
    >>> import torch
    >>> from skunsup.cluster._seeding_torch import kmeans_plusplus
    >>> X = torch.tensor([[0.0, 0.0], [0.1, 0.0], [10.0, 10.0], [10.1, 10.0]])
    >>> centers, indices = kmeans_plusplus(X, (X.double() ** 2).sum(1),
    ...                                    torch.ones(4, dtype=torch.float64), 2,
    ...                                    np.random.RandomState(0))
    >>> sorted(centers[:, 0].round().tolist())
    [0.0, 10.0]
    """
    import torch

    n_samples = X.shape[0]
    if n_local_trials is None:
        n_local_trials = 2 + int(np.log(n_clusters))
    uniforms = torch.as_tensor(
        random_state.uniform(size=1 + n_local_trials * (n_clusters - 1)),
        dtype=torch.float64, device=X.device)
    centers = torch.empty((n_clusters, X.shape[1]), dtype=X.dtype, device=X.device)
    indices = torch.empty(n_clusters, dtype=torch.int64, device=X.device)

    cumulative = torch.cumsum(sample_weight, 0)
    first = torch.searchsorted(cumulative, uniforms[:1] * cumulative[-1], right=True)
    first = first.clamp_max_(n_samples - 1)
    indices[0] = first[0]
    centers[0] = X[first[0]]
    closest = squared_distances(X, x_squared_norms, X[first])[:, 0]
    for c in range(1, n_clusters):
        draws = uniforms[1 + (c - 1) * n_local_trials: 1 + c * n_local_trials]
        cumulative = torch.cumsum(sample_weight * closest, 0)
        candidates = torch.searchsorted(cumulative, draws * cumulative[-1])
        candidates = candidates.clamp_max_(n_samples - 1)
        trial = torch.minimum(squared_distances(X, x_squared_norms, X[candidates]),
                              closest[:, None])
        best = torch.argmin(sample_weight @ trial)
        closest = trial[:, best]
        indices[c] = candidates[best]
        centers[c] = X[candidates[best]]
    return centers, indices


def random_rows(X, sample_weight, n_clusters, random_state):
    """``n_clusters`` distinct rows drawn with probability proportional to their weight.

    Sampling without replacement by Efraimidis and Spirakis' keys
    ``log(u) / w`` (the largest ``n_clusters`` keys win), which draws rows in
    the law of successive weighted draws. When fewer rows than that have a
    positive weight, all of them are taken and zero-weight rows, drawn
    uniformly, complete the set.

    Parameters
    ----------
    X : Tensor of shape (n_samples, n_features)
    sample_weight : Tensor of shape (n_samples,), float64
    n_clusters : int
    random_state : numpy.random.RandomState
        Seeds the device's generator.

    Returns
    -------
    centers : Tensor of shape (n_clusters, n_features)
    indices : Tensor of shape (n_clusters,), int64

    Examples
    --------
    >>> import numpy as np
    >>> import torch
    >>> from skunsup.cluster._seeding_torch import random_rows
    >>> X = torch.arange(6.0).reshape(3, 2)
    >>> _, indices = random_rows(X, torch.tensor([0.0, 1.0, 1.0], dtype=torch.float64), 2,
    ...                          np.random.RandomState(0))
    >>> sorted(indices.tolist())
    [1, 2]
    """
    import torch

    generator = torch.Generator(device=X.device)
    generator.manual_seed(int(random_state.randint(np.iinfo(np.int32).max)))
    positive = sample_weight > 0
    n_positive = int(positive.sum())
    if n_positive < n_clusters:
        kept = torch.nonzero(positive)[:, 0]
        rest = torch.nonzero(~positive)[:, 0]
        fill = torch.randperm(rest.shape[0], generator=generator, device=X.device)
        indices = torch.cat([kept, rest[fill[: n_clusters - n_positive]]])
    else:
        # u in (0, 1]: log(u) is finite, and the largest key log(u) / w is the next draw
        u = 1.0 - torch.rand(sample_weight.shape[0], generator=generator,
                             dtype=torch.float64, device=X.device)
        keys = torch.where(positive, torch.log(u) / sample_weight, -torch.inf)
        indices = torch.topk(keys, n_clusters).indices
    return X[indices], indices
