"""The Gaussian pieces of the VAEs: the closed-form KL, the reparameterised draw, fixed draws.

Shared by :class:`~skunsup.neural_network.VAE` and
:class:`~skunsup.neural_network.ConditionalVAE`, and free of any estimator.
"""

import math

import numpy as np

LOG_2PI = math.log(2.0 * math.pi)
# Fixed draws of eps shared by every sample in score_samples (common random numbers:
# the estimate of a sample does not depend on which other samples are scored with it).
N_SCORE_DRAWS = 4
_GOLDEN = np.uint64(0x9E3779B97F4A7C15)


def _splitmix64(x):
    """The splitmix64 finaliser, elementwise on uint64 arrays (wrapping arithmetic)."""
    x = x + _GOLDEN
    x = (x ^ (x >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    x = (x ^ (x >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return x ^ (x >> np.uint64(31))


def row_keyed_normals(X, seed, shape):
    """Standard normal draws of ``shape`` for every row of X, a function of the row alone.

    Each row's bits are hashed into a key; the draws are a counter-based hash of
    (seed, key, counter) pushed through the normal quantile function. So a sample
    gets the same draws in any batch, in any order, and distinct samples get
    independent-looking draws.
    """
    from scipy.special import ndtri

    bits = np.ascontiguousarray(X, dtype=np.float64).view(np.uint64)
    position = np.arange(bits.shape[1], dtype=np.uint64) * _GOLDEN
    with np.errstate(over="ignore"):
        keys = _splitmix64(bits + position).sum(axis=1, dtype=np.uint64)
        keys = _splitmix64(keys ^ np.uint64(seed))
        counters = np.arange(int(np.prod(shape)), dtype=np.uint64) * _GOLDEN
        words = _splitmix64(keys[:, None] + counters[None, :])
    uniforms = ((words >> np.uint64(11)).astype(np.float64) + 0.5) / 2.0**53
    return ndtri(uniforms).reshape((X.shape[0], *shape))


def gaussian_kl(mu, log_var):
    """KL(N(mu, diag(exp(log_var))) || N(0, I)) per row, in closed form.

    ``0.5 * sum_j (mu_j^2 + sigma_j^2 - log sigma_j^2 - 1)``.

    Parameters
    ----------
    mu, log_var : torch.Tensor of shape (n_samples, n_components)
        Mean and log-variance of the diagonal Gaussian posterior.

    Returns
    -------
    kl : torch.Tensor of shape (n_samples,)
    """
    return 0.5 * (mu.pow(2) + log_var.exp() - log_var - 1.0).sum(dim=1)


def reparameterize(mu, log_var, eps):
    """A draw of z ~ N(mu, diag(exp(log_var))) from standard normal ``eps``.

    ``z = mu + sigma * eps`` with the standard deviation ``sigma = exp(log_var / 2)``
    (the lecture's slide writes sigma^2; the paper and this code use sigma). The
    draw is differentiable in ``mu`` and ``log_var`` (the reparameterisation trick).

    Parameters
    ----------
    mu, log_var, eps : torch.Tensor of shape (n_samples, n_components)

    Returns
    -------
    z : torch.Tensor of shape (n_samples, n_components)

    Examples
    --------
    >>> import torch
    >>> from skunsup.neural_network._gaussian import reparameterize
    >>> reparameterize(torch.zeros(1, 2), torch.full((1, 2), 2 * torch.log(torch.tensor(3.0))),
    ...                torch.ones(1, 2))
    tensor([[3., 3.]])
    """
    return mu + (0.5 * log_var).exp() * eps
