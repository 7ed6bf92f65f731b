"""Slow, obvious NumPy versions of the neural models' loss terms."""

import numpy as np


def kl_sparsity_penalty(codes, target, eps=1e-6):
    """Sum over coding units j of KL(Bernoulli(target) || Bernoulli(mean_j)), float64."""
    codes = np.asarray(codes, dtype=np.float64)
    total = 0.0
    for j in range(codes.shape[1]):
        rho_hat = min(max(codes[:, j].mean(), eps), 1.0 - eps)
        total += target * np.log(target / rho_hat)
        total += (1.0 - target) * np.log((1.0 - target) / (1.0 - rho_hat))
    return total


def gaussian_kl_to_standard_normal(mu, log_var):
    """KL(N(mu, diag(exp(log_var))) || N(0, I)) per row, from the textbook formula."""
    mu = np.asarray(mu, dtype=np.float64)
    var = np.exp(np.asarray(log_var, dtype=np.float64))
    return 0.5 * np.sum(mu**2 + var - np.log(var) - 1.0, axis=1)


def bernoulli_log_likelihood(probabilities, X):
    """log p(X | probabilities) summed over features, per row."""
    p = np.clip(np.asarray(probabilities, dtype=np.float64), 1e-12, 1 - 1e-12)
    X = np.asarray(X, dtype=np.float64)
    return np.sum(X * np.log(p) + (1 - X) * np.log(1 - p), axis=1)


def mlp_forward(H, layers):
    """Linear layers ``(W, b)`` (torch's layout: ``h @ W.T + b``), ReLU between them."""
    H = np.asarray(H, dtype=np.float64)
    for index, (W, b) in enumerate(layers):
        H = H @ np.asarray(W, dtype=np.float64).T + np.asarray(b, dtype=np.float64)
        if index < len(layers) - 1:
            H = np.maximum(H, 0.0)
    return H


def conditional_vae_elbo(X, Y, encoder, decoder, eps, loss="bce"):
    """ELBO(x | y) per row of a conditional VAE, float64, from the textbook formulas.

    The encoder reads ``[x, y]`` and returns ``[mu, log_var]``; the decoder reads
    ``[z, y]`` with ``z = mu + exp(log_var / 2) * eps[:, d]`` for every draw d and
    returns Bernoulli logits ('bce') or the means of unit-variance Gaussians
    ('mse'). ``Y`` holds one-hot rows; ``eps`` has shape (n, n_draws, k).
    Returns the mean over draws of log p(x | z, y), minus KL(q(z | x, y) || N(0, I)).
    """
    X = np.asarray(X, dtype=np.float64)
    Y = np.asarray(Y, dtype=np.float64)
    out = mlp_forward(np.hstack([X, Y]), encoder)
    k = out.shape[1] // 2
    mu, log_var = out[:, :k], out[:, k:]
    log_lik = np.zeros(len(X))
    for draw in range(eps.shape[1]):
        z = mu + np.exp(0.5 * log_var) * eps[:, draw]
        raw = mlp_forward(np.hstack([z, Y]), decoder)
        if loss == "bce":  # log sigmoid(t) = t - log(1 + e^t), log(1 - sigmoid(t)) = -log(1 + e^t)
            log_lik += np.sum(X * raw - np.logaddexp(0.0, raw), axis=1)
        else:
            log_lik += np.sum(-0.5 * (X - raw) ** 2 - 0.5 * np.log(2 * np.pi), axis=1)
    return log_lik / eps.shape[1] - gaussian_kl_to_standard_normal(mu, log_var)
