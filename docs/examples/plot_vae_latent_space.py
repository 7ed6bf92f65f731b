"""
The VAE's latent space: map, samples, interpolation, attribute arithmetic
=========================================================================

A variational autoencoder (:class:`~skunsup.neural_network.VAE`) encodes
every image as a Gaussian :math:`q(z \\mid x) = \\mathcal N(\\mu, \\sigma^2)` in a
latent space, trained so that these Gaussians stay close to the prior
:math:`\\mathcal N(0, I)`. The latent space is therefore continuous and
filled: every point of it decodes to a plausible image. That is what makes
the lecture's figures possible: sampling new images, walking from one image
to another, and adding a feature by vector arithmetic.

To run in seconds, this example trains small models on 2,000 images for a
few epochs; the tour (``python -m skunsup tour``) trains longer.
"""

import matplotlib.pyplot as plt
import numpy as np

from skunsup.datasets import load_tour_data
from skunsup.neural_network import VAE
from skunsup.plotting import plot_embedding, plot_image_grid

data = load_tour_data("auto", n_samples=2500, random_state=0)
n_train = 4 * len(data.data) // 5  # 2,000 images (1,437 of the 1,797 digits)
X_train, X_test = data.data[:n_train], data.data[n_train:]
y_train, y_test = data.target[:n_train], data.target[n_train:]
shape, names = data.image_shape, data.target_names

# %%
# A two-dimensional latent space
# ------------------------------
# With ``n_components=2`` the posterior means (``transform``) can be drawn
# directly, and a regular grid of latent points can be decoded.

vae2 = VAE(n_components=2, hidden_layer_sizes=(256,), max_epochs=15, batch_size=128,
           random_state=0, device="cpu").fit(X_train)
print(f"2-D VAE: test ELBO {vae2.score(X_test):.1f} nats per image")
last = vae2.history_[-1]
print(f"last epoch: reconstruction {last['reconstruction']:.1f}, KL {last['kl']:.2f} nats")

fig, (ax_map, ax_grid) = plt.subplots(1, 2, figsize=(12, 5.4))
plot_embedding(vae2.transform(X_test), y_test, target_names=names, ax=ax_map, point_size=5)
ax_map.set_title("posterior means of test images")
ax_map.legend(markerscale=3, fontsize=7, frameon=False, loc="center left",
              bbox_to_anchor=(1, 0.5))
# decode a grid of latent points (quantiles of the prior, as Kingma & Welling)
from scipy.stats import norm

ticks = norm.ppf(np.linspace(0.05, 0.95, 12))
grid = np.array([[a, b] for b in ticks[::-1] for a in ticks], dtype=np.float32)
images = vae2.inverse_transform(grid).reshape(12, 12, *shape)
ax_grid.imshow(np.block([[images[r, c] for c in range(12)] for r in range(12)]),
               cmap="gray_r", vmin=0, vmax=1)
ax_grid.set_xticks([])
ax_grid.set_yticks([])
ax_grid.set_title("decoded grid of the latent plane")
fig.tight_layout()

# %%
# A 16-dimensional latent space: samples, interpolation, attributes
# -----------------------------------------------------------------
# More latent dimensions reconstruct better. ``sample`` decodes draws from
# the prior :math:`\\mathcal N(0, I)`: images that are in no data set.

vae = VAE(n_components=16, hidden_layer_sizes=(256,), max_epochs=15, batch_size=128,
          random_state=0, device="cpu").fit(X_train)
print(f"16-D VAE: test ELBO {vae.score(X_test):.1f} nats per image")
fig = plot_image_grid(vae.sample(16, random_state=0), image_shape=shape, n_cols=8)
fig.suptitle("samples from the prior")
fig.tight_layout()

# %%
# ``interpolate`` decodes points evenly spaced on the segment between the
# posterior means of two images: the decoded images change smoothly, because
# the space between the two codes is filled with plausible images too.

pairs = [(0, 9), (1, 8)] if len(names) == 10 else [(0, 1), (2, 3)]
rows = []
for a, b in pairs:
    x_a = X_test[np.flatnonzero(y_test == a)[0]]
    x_b = X_test[np.flatnonzero(y_test == b)[0]]
    rows.append(np.concatenate([x_a[None], vae.interpolate(x_a, x_b, n_steps=8), x_b[None]]))
titles = (["input"] + [""] * 8 + ["input"]) * len(pairs)
fig = plot_image_grid(np.concatenate(rows), image_shape=shape, n_cols=10, titles=titles)
fig.suptitle(" and ".join(f"{names[a]} → {names[b]}" for a, b in pairs))
fig.tight_layout()

# %%
# Attribute arithmetic: "face with glasses = face + (glasses − no glasses)".
# ``attribute_vector`` is the difference of the mean codes of two groups;
# ``add_attribute`` decodes :math:`\\mu(x) + s \\cdot v`. The lecture shows it
# on faces; skunsup ships no face images and never downloads data, so here
# the attribute is "long sleeves": the mean code of pullovers minus that of
# T-shirts, added to T-shirts with growing scale s (for digits, "8 minus 3"
# added to threes).

with_, without = (2, 0) if data.name == "Fashion-MNIST" else (8, 3)
vector = vae.attribute_vector(X_train[y_train == with_], X_train[y_train == without])
base = X_test[y_test == without][:4]
scales = [0.0, 0.5, 1.0, 1.5]
moved = np.stack([vae.add_attribute(base, vector, scale=s) for s in scales], axis=1)
images = np.concatenate([base[:, None], moved], axis=1).reshape(-1, base.shape[1])
titles = ["input"] + [f"s = {s}" for s in scales] + [""] * (len(images) - 1 - len(scales))
fig = plot_image_grid(images, image_shape=shape, n_cols=1 + len(scales), titles=titles)
fig.suptitle(f"{names[without]} + s · ({names[with_]} − {names[without]})")
fig.tight_layout()
