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
