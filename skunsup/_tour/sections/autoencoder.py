"""Autoencoders: compression (the lecture's 784-128-32-128-784), denoising, sparse codes."""

import time

import numpy as np

from skunsup._tour._context import one_torch_thread
from skunsup.plotting import plot_image_grid

TITLE = "Autoencoders: compression, denoising, sparse codes"
REQUIRES = ("matplotlib", "torch")


def _one_per_class(y, count=10):
    classes = np.unique(y)[:count]
    return np.array([np.flatnonzero(y == c)[0] for c in classes])


def _bce(X_hat, X):
    X_hat = np.clip(X_hat, 1e-7, 1 - 1e-7)
    return float(-np.mean(X * np.log(X_hat) + (1 - X) * np.log(1 - X_hat)))


def run(ctx):
    with one_torch_thread():
        _run(ctx)


def _run(ctx):
    import matplotlib.pyplot as plt

    from skunsup.neural_network import Autoencoder, SparseAutoencoder

    train, test = ctx.holdout()
    X_train, X_test, y_test = ctx.X[train], ctx.X[test], ctx.y[test]
    # a budget of sample presentations (about half and 5 Fashion-MNIST epochs), not of epochs:
    # the quick run's 1,600 training images need many passes to learn anything
    budget = 30_000 if ctx.quick else 300_000
    epochs = max(5, -(-budget // len(X_train)))
    common = dict(batch_size=64 if ctx.quick else 128, max_epochs=epochs,
                  random_state=ctx.random_state)
    picks = _one_per_class(y_test)

    ctx.progress(f"compression autoencoder 784-128-32, {epochs} epochs")
    start = time.perf_counter()
    ae = Autoencoder(n_components=32, hidden_layer_sizes=(128,), **common).fit(X_train)
    seconds = time.perf_counter() - start
    rec = ae.inverse_transform(ae.transform(X_test))
    ctx.add_row("Autoencoder (32-d code)", seconds, "test BCE/pixel", _bce(rec, X_test))
    images = np.concatenate([X_test[picks], rec[picks]])
    titles = [ctx.target_names[int(c)] for c in y_test[picks]] + [""] * len(picks)
    ctx.save_figure(plot_image_grid(images, ctx.image_shape, n_cols=len(picks), titles=titles),
                    "autoencoder_reconstructions",
                    "Top: test images; bottom: their reconstructions from a 32-number code.")

    noise = 0.1  # the lecture's noise level, as in the gallery's denoising example
    ctx.progress(f"denoising autoencoder (noise_std={noise})")
    start = time.perf_counter()
    dae = Autoencoder(n_components=32, hidden_layer_sizes=(128,), noise_std=noise,
                      **common).fit(X_train)
    seconds = time.perf_counter() - start
    rng = np.random.default_rng(ctx.random_state)
    noisy = np.clip(X_test + rng.normal(0, noise, X_test.shape), 0, 1).astype(np.float32)
    cleaned = dae.inverse_transform(dae.transform(noisy))
    mse_noisy = float(np.mean((noisy - X_test) ** 2))
    mse_clean = float(np.mean((cleaned - X_test) ** 2))
    ctx.add_row("Denoising autoencoder", seconds, "test MSE to clean", mse_clean)
    images = np.concatenate([noisy[picks], cleaned[picks], X_test[picks]])
    ctx.save_figure(plot_image_grid(images, ctx.image_shape, n_cols=len(picks)),
                    "autoencoder_denoising",
                    f"Rows: noisy input (Gaussian noise, std {noise}), the denoising "
                    "autoencoder's output, the clean image.")
    ctx.add_text(f"Denoising: mean squared error to the clean test images {mse_noisy:.4f} for "
                 f"the noisy input, {mse_clean:.4f} after the denoising autoencoder.")

    ctx.progress("sparse autoencoder (64 sigmoid units, target activation 0.05)")
    start = time.perf_counter()
    sae = SparseAutoencoder(n_components=64, hidden_layer_sizes=(128,), **common).fit(X_train)
    seconds = time.perf_counter() - start
    codes = sae.transform(X_test)
    rec = sae.inverse_transform(codes)
    ctx.add_row("Sparse autoencoder (64 units)", seconds, "test BCE/pixel", _bce(rec, X_test))
    figure, ax = plt.subplots(figsize=(5, 3))
    ax.hist(codes.ravel(), bins=50, color="tab:blue")
    ax.set_yscale("log")
    ax.set_xlabel("activation of a coding unit")
    ax.set_ylabel("count (log)")
    ax.axvline(sae.sparsity_target, color="tab:red", linestyle="--", label="target 0.05")
    ax.axvline(codes.mean(), color="black", linestyle=":", label=f"mean {codes.mean():.3f}")
    ax.legend()
    ctx.save_figure(figure, "autoencoder_sparse_activations",
                    "Activations of the sparse code on test images: most units are near 0 "
                    "for any one image.")
    ctx.add_text(f"Sparse autoencoder: mean code activation {sae.mean_activation_:.3f} on the "
                 f"training images for a target of {sae.sparsity_target} (penalty weight "
                 f"{sae.sparsity_weight}).")
