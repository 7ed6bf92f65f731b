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


def conv2d(X, W, b, stride, padding):
    """torch's ``Conv2d`` by its definition: every output pixel is a kernel-weighted patch sum.

    ``X`` has shape (n, c_in, h, w), ``W`` (c_out, c_in, kh, kw); the input is
    padded with ``padding`` zeros on every side and the kernel moves by ``stride``.
    """
    X = np.pad(np.asarray(X, dtype=np.float64),
               ((0, 0), (0, 0), (padding, padding), (padding, padding)))
    W = np.asarray(W, dtype=np.float64)
    kh, kw = W.shape[2:]
    rows, cols = (X.shape[2] - kh) // stride + 1, (X.shape[3] - kw) // stride + 1
    out = np.empty((X.shape[0], W.shape[0], rows, cols))
    for i in range(rows):
        for j in range(cols):
            patch = X[:, :, i * stride:i * stride + kh, j * stride:j * stride + kw]
            out[:, :, i, j] = np.einsum("nckl,ockl->no", patch, W) + b
    return out


def conv_transpose2d(X, W, b, stride, padding, output_padding):
    """torch's ``ConvTranspose2d`` by its definition: every input pixel paints the kernel.

    ``X`` has shape (n, c_in, h, w), ``W`` (c_in, c_out, kh, kw). Input pixel
    (i, j) adds its values times the kernel at (i * stride, j * stride) of a
    canvas of side (h - 1) * stride + kh; the output is the canvas without
    ``padding[0]`` rows (``padding[1]`` columns) on each side, the far side
    extended by ``output_padding`` (which must not exceed the padding).
    """
    X, W = np.asarray(X, dtype=np.float64), np.asarray(W, dtype=np.float64)
    n, _, h, w = X.shape
    kh, kw = W.shape[2:]
    canvas = np.zeros((n, W.shape[1], (h - 1) * stride + kh, (w - 1) * stride + kw))
    for i in range(h):
        for j in range(w):
            canvas[:, :, i * stride:i * stride + kh, j * stride:j * stride + kw] += np.einsum(
                "nc,cokl->nokl", X[:, :, i, j], W)
    rows = canvas.shape[2] - 2 * padding[0] + output_padding[0]
    cols = canvas.shape[3] - 2 * padding[1] + output_padding[1]
    out = canvas[:, :, padding[0]:padding[0] + rows, padding[1]:padding[1] + cols]
    return out + np.asarray(b, dtype=np.float64)[None, :, None, None]


def conditional_vae_elbo(X, Y, encoder, decoder, eps, loss="bce"):
    """ELBO(x | y) per row of a conditional VAE, float64, from the textbook formulas.

    The encoder reads ``[x, y]`` and returns ``[mu, log_var]``; the decoder reads
    ``[z, y]`` with ``z = mu + exp(log_var / 2) * eps[:, d]`` for every draw d and
    returns Bernoulli logits ('bce') or the means of unit-variance Gaussians
    ('mse'). ``encoder`` and ``decoder`` are the layers ``(W, b)`` of MLPs over
    those joined inputs, or functions ``f(x_or_z, Y)`` (for other networks).
    ``Y`` holds one-hot rows; ``eps`` has shape (n, n_draws, k).
    Returns the mean over draws of log p(x | z, y), minus KL(q(z | x, y) || N(0, I)).
    """
    X = np.asarray(X, dtype=np.float64)
    Y = np.asarray(Y, dtype=np.float64)
    encode, decode = (network if callable(network) else
                      (lambda A, Y, layers=network: mlp_forward(np.hstack([A, Y]), layers))
                      for network in (encoder, decoder))
    out = encode(X, Y)
    k = out.shape[1] // 2
    mu, log_var = out[:, :k], out[:, k:]
    log_lik = np.zeros(len(X))
    for draw in range(eps.shape[1]):
        z = mu + np.exp(0.5 * log_var) * eps[:, draw]
        raw = decode(z, Y)
        if loss == "bce":  # log sigmoid(t) = t - log(1 + e^t), log(1 - sigmoid(t)) = -log(1 + e^t)
            log_lik += np.sum(X * raw - np.logaddexp(0.0, raw), axis=1)
        else:
            log_lik += np.sum(-0.5 * (X - raw) ** 2 - 0.5 * np.log(2 * np.pi), axis=1)
    return log_lik / eps.shape[1] - gaussian_kl_to_standard_normal(mu, log_var)
