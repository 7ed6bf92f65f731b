"""Slow, obviously correct NumPy twins of skunsup's PCA kernels and solver.

Everything is computed in float64 from the float64 copy of the input, so these
are the references against which float32 results are judged.
"""

import numpy as np


def center_block(X, start, stop, shift):
    """Rows ``start:stop`` minus ``shift`` (in X's dtype) and their float64 column sums."""
    centered = (X[start:stop] - shift).astype(X.dtype)
    return centered, centered.astype(np.float64).sum(axis=0)


def covariance(X):
    """Mean and ddof=1 covariance of the rows of ``X``, all in float64."""
    X = np.asarray(X, dtype=np.float64)
    mean = X.mean(axis=0)
    centered = X - mean
    return mean, centered.T @ centered / (X.shape[0] - 1)


def total_variance(X):
    """Sum of the ddof=1 variances of the columns, in float64."""
    X = np.asarray(X, dtype=np.float64)
    return float(((X - X.mean(axis=0)) ** 2).sum() / (X.shape[0] - 1))


def pca(X, n_components):
    """Explained variances (descending) and components from numpy's eigh of the covariance."""
    _, cov = covariance(X)
    values, vectors = np.linalg.eigh(cov)
    order = np.argsort(values)[::-1][:n_components]
    return np.clip(values[order], 0.0, None), vectors[:, order].T


def probabilistic_log_likelihood(X, mean, components, variances, noise):
    """Log-density of each row under N(mean, V' diag(var - noise) V + noise I), densely."""
    V = np.asarray(components, dtype=np.float64)
    cov = V.T @ np.diag(np.clip(np.asarray(variances, np.float64) - noise, 0, None)) @ V
    cov += noise * np.eye(V.shape[1])
    residual = np.asarray(X, dtype=np.float64) - mean
    sign, log_det = np.linalg.slogdet(cov)
    assert sign > 0
    quad = np.einsum("ij,ij->i", residual @ np.linalg.inv(cov), residual)
    return -0.5 * (quad + V.shape[1] * np.log(2 * np.pi) + log_det)


def streaming_moments(batches):
    """Count, mean and scatter matrix of all the rows of ``batches``, stacked in float64."""
    X = np.concatenate([np.asarray(batch, dtype=np.float64) for batch in batches])
    mean = X.mean(axis=0)
    centered = X - mean
    return X.shape[0], mean, centered.T @ centered
