"""
Autoencoders: compression, denoising and a sparse code
======================================================

An autoencoder is trained to give back its input: an encoder f squeezes
every image into a short code z = f(x), a decoder g rebuilds it,
x̂ = g(z), and the weights minimise the reconstruction loss between x and x̂
(binary cross-entropy for grey levels in [0, 1]). The lecture's model is
784 → 128 → 32 → 128 → 784 on (Fashion-)MNIST. Three variants:

* **compression**: the 32-number code must keep what matters to rebuild the
  image (:class:`~skunsup.neural_network.Autoencoder`);
* **denoising**: the input is corrupted by Gaussian noise, the target is the
  clean image (``noise_std > 0``), so the network learns to remove noise;
* **sparse**: a wide code whose units must be mostly off, enforced by the
  penalty β Σ_j KL(ρ ‖ ρ̂_j) (:class:`~skunsup.neural_network.SparseAutoencoder`).

To run in seconds this example trains on 1,600 images for a dozen short epochs; the
tour (``python -m skunsup tour``) trains on more.
"""

import matplotlib.pyplot as plt
import numpy as np

from skunsup.datasets import load_tour_data
from skunsup.neural_network import Autoencoder, SparseAutoencoder
from skunsup.plotting import plot_image_grid

data = load_tour_data("auto", n_samples=2000, random_state=0)
X_train, X_test = data.data[:1600], data.data[1600:]
shape = data.image_shape
show = X_test[:8]

# %%
# Compression: 784 numbers to 32 and back
# ---------------------------------------

ae = Autoencoder(n_components=32, hidden_layer_sizes=(128,), max_epochs=12, batch_size=128,
                 random_state=0, device="cpu").fit(X_train)
codes = ae.transform(X_test)
print(f"code shape {codes.shape}, test BCE per pixel {-ae.score(X_test):.4f}")
fig = plot_image_grid(np.concatenate([show, ae.inverse_transform(ae.transform(show))]),
                      image_shape=shape, n_cols=8,
                      titles=["input"] + [""] * 7 + ["reconstruction"] + [""] * 7)
fig.suptitle(f"Autoencoder 784-128-32: {data.name} test images")
fig.tight_layout()

# %%
# Denoising
# ---------
# The same network trained on noisy inputs with clean targets, with the
# lecture's noise level: Gaussian noise of standard deviation σ = 0.1 on
# grey levels in [0, 1] (``noise_std=0.1``). At test time we corrupt test
# images with the same noise and decode them.

noise = 0.1
denoiser = Autoencoder(n_components=32, hidden_layer_sizes=(128,), noise_std=noise,
                       max_epochs=12, batch_size=128, random_state=0, device="cpu").fit(X_train)
rng = np.random.default_rng(1)
noisy = np.clip(show + rng.normal(scale=noise, size=show.shape), 0, 1).astype(np.float32)
denoised = denoiser.inverse_transform(denoiser.transform(noisy))
fig = plot_image_grid(np.concatenate([noisy, denoised, show]), image_shape=shape, n_cols=8,
                      titles=["noisy input"] + [""] * 7 + ["denoised"] + [""] * 7
                      + ["clean"] + [""] * 7)
fig.suptitle(f"Denoising autoencoder, noise std {noise}")
fig.tight_layout()

# %%
# A sparse code
# -------------
# 64 sigmoid coding units with target mean activation ρ = 0.05. Without the
# penalty (``sparsity_weight=0``) the activations spread over the whole range
# and many units saturate at 0 or 1; with it most activations are near 0 and
# none comes close to 1. ``mean_activation_`` checks that the constraint holds.

sparse = SparseAutoencoder(n_components=64, sparsity_target=0.05, max_epochs=12, batch_size=128,
                           random_state=0, device="cpu").fit(X_train)
dense = SparseAutoencoder(n_components=64, sparsity_weight=0.0, max_epochs=6, batch_size=128,
                          random_state=0, device="cpu").fit(X_train)
print(f"mean code activation: sparse {sparse.mean_activation_:.3f}, "
      f"unpenalised {dense.mean_activation_:.3f} (target 0.05)")

fig, ax = plt.subplots(figsize=(6, 3.2))
bins = np.linspace(0, 1, 41)
ax.hist(dense.transform(X_test).ravel(), bins=bins, alpha=0.6, label="no penalty")
ax.hist(sparse.transform(X_test).ravel(), bins=bins, alpha=0.6, label="KL penalty, ρ = 0.05")
ax.set_yscale("log")
ax.set_xlabel("activation of a coding unit")
ax.set_ylabel("count (test images × units)")
ax.legend()
fig.tight_layout()

# %%
# Note what the penalty does and does not ask for: it fixes the *mean*
# activation of each unit over a batch. The network may meet it with a few
# strongly active units per image or, as here, with many weakly active ones:
# no activation comes near 1. The sparse code reconstructs the images more
# coarsely than the 32-unit code above: β trades reconstruction for sparsity.

codes = sparse.transform(show)
print("activation quantiles 50/90/99 %:",
      np.round(np.quantile(sparse.transform(X_test), [0.5, 0.9, 0.99]), 3).tolist())
fig = plot_image_grid(np.concatenate([show, sparse.inverse_transform(codes)]),
                      image_shape=shape, n_cols=8,
                      titles=["input"] + [""] * 7 + ["sparse AE"] + [""] * 7)
fig.suptitle("Sparse autoencoder (64 units, ρ = 0.05): reconstructions")
fig.tight_layout()
