"""
Autoencoder or VAE: what the latent space looks like
====================================================

The lecture motivates the variational autoencoder with two pictures of a
two-dimensional code space: a plain autoencoder's codes form separate,
irregular clouds with empty space between them (decode a point of that empty
space and you get no plausible image), while a VAE's codes fill a round
region around the origin. It then shows what the KL term does by comparing
:math:`\\beta = 0` (reconstruction only) with :math:`\\beta = 1` (the ELBO).

Three models with a 2-D code, trained the same way on the same images:

* :class:`~skunsup.neural_network.Autoencoder` with ``n_components=2``;
* :class:`~skunsup.neural_network.VAE` with ``beta=0``: the encoder still
  outputs a mean and a variance and the decoder sees noisy samples, but
  nothing pulls the codes towards the prior;
* :class:`~skunsup.neural_network.VAE` with ``beta=1``.

Here on Fashion-MNIST (or scikit-learn's digits where it is not
installed). To run in seconds the
models are small (one hidden layer of 256 units) and see 2,000 images (1,437
digits) for 20 epochs; the pictures sharpen with more data and epochs.
"""

import matplotlib.pyplot as plt
import numpy as np

from skunsup.datasets import load_tour_data
from skunsup.neural_network import VAE, Autoencoder
from skunsup.plotting import plot_embedding

data = load_tour_data("auto", n_samples=2500, random_state=0)
n_train = 4 * len(data.data) // 5  # digits has only 1,797 images
X_train, X_test, y_test = data.data[:n_train], data.data[n_train:], data.target[n_train:]
common = dict(n_components=2, hidden_layer_sizes=(256,), max_epochs=20, batch_size=64,
              random_state=0, device="cpu")

models = {
    "autoencoder": Autoencoder(activation="elu", **common),
    "VAE, β = 0": VAE(beta=0.0, **common),
    "VAE, β = 1": VAE(beta=1.0, **common),
}
for name, model in models.items():
    model.fit(X_train)
    codes = model.transform(X_test)
    print(f"{name:12s} codes: mean {np.round(codes.mean(axis=0), 2)}, "
          f"std {np.round(codes.std(axis=0), 2)}")

# %%
# The codes of the test images
# ----------------------------
# ``transform`` gives the code (the posterior mean for the VAEs). The
# autoencoder and the VAE with β = 0 place the classes at arbitrary positions
# and scales (see the means and standard deviations printed above), in
# irregular clouds with sparsely filled regions between them: nothing in
# their loss says where codes should be. With β = 1 the KL term pulls the
# codes into a region about the size of the prior :math:`\\mathcal N(0, I)`,
# drawn as circles of radius 1 and 2.

fig, axes = plt.subplots(1, 3, figsize=(15, 4.8))
for ax, (name, model) in zip(axes, models.items()):
    plot_embedding(model.transform(X_test), y_test, target_names=data.target_names, ax=ax,
                   point_size=5)
    ax.get_legend().remove()
    ax.set_title(name)
    ax.set_xticks(ax.get_xticks())
    ax.set_yticks(ax.get_yticks())
for radius in (1, 2):
    axes[2].add_patch(plt.Circle((0, 0), radius, fill=False, linestyle="--", color="0.4"))
handles, labels = axes[0].get_legend_handles_labels()
fig.legend(handles, labels, loc="lower center", ncol=10, markerscale=4, fontsize=8,
           frameon=False)
fig.tight_layout(rect=(0, 0.06, 1, 1))

# %%
# Decoding a grid of the code plane
# ---------------------------------
# Each model decodes an 8 x 8 grid of codes spanning the central 90 % of its
# test codes along each axis. Where a grid point falls between or beside
# the clouds of the autoencoder or of the β = 0 VAE, the decoder has seen no
# code during training, and the images there are blurred, mixed or broken
# up; the β = 1 VAE's decoder was trained on codes drawn around every
# posterior mean, pulled together around the origin, and decodes its whole
# region to plausible images. That is what makes sampling (decoding draws
# from the prior) and interpolation work.

fig, axes = plt.subplots(1, 3, figsize=(15, 5.2))
shape = data.image_shape
for ax, (name, model) in zip(axes, models.items()):
    codes = model.transform(X_test)
    low, high = np.quantile(codes, [0.05, 0.95], axis=0)
    xs, ys = np.linspace(low[0], high[0], 8), np.linspace(high[1], low[1], 8)
    grid = np.array([[a, b] for b in ys for a in xs], dtype=np.float32)
    images = model.inverse_transform(grid).reshape(8, 8, *shape)
    ax.imshow(np.block([[images[r, c] for c in range(8)] for r in range(8)]), cmap="gray_r",
              vmin=0, vmax=1)
    ax.set_xticks([])
    ax.set_yticks([])
    ax.set_title(f"{name}: decoded grid")
fig.tight_layout()

# %%
# The price of the KL term
# ------------------------
# The β = 1 VAE reconstructs worse than the β = 0 one (a 2-D code is a tight
# bottleneck and the KL term spends some of it on regularity); its KL term
# per image is what the ``kl`` column of ``history_`` records.

for name in ("VAE, β = 0", "VAE, β = 1"):
    last = models[name].history_[-1]
    print(f"{name}: reconstruction {last['reconstruction']:.1f} nats, KL {last['kl']:.1f} nats "
          "(last epoch, per image)")
