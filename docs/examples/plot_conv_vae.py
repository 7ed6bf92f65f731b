"""
A convolutional VAE on images: latent map and samples
=====================================================

Images are rows of pixels to scikit-learn, but their pixels have neighbours.
``architecture="conv"`` gives :class:`~skunsup.neural_network.VAE` (and the
autoencoders) a convolutional encoder and decoder that read every row as an
image of ``image_shape``: 3 × 3 convolutions with stride 2 halve the height
and width at every layer of ``channels``, a ``Linear`` maps the last feature
maps to the mean and log-variance of :math:`q(z \\mid x)`, and transposed
convolutions bring a latent point back to an image. ``X`` stays a 2-D array,
so the model still works in a ``Pipeline`` or a ``GridSearchCV``.

To run in seconds, this example trains on 2,000 images for a few epochs.
"""

import matplotlib.pyplot as plt
import numpy as np

from skunsup.datasets import load_tour_data
from skunsup.neural_network import VAE
from skunsup.plotting import plot_embedding, plot_image_grid

data = load_tour_data("auto", n_samples=2500, random_state=0)
n_train = 4 * len(data.data) // 5  # 2,000 images (1,437 of the 1,797 digits)
X_train, X_test = data.data[:n_train], data.data[n_train:]
y_test = data.target[n_train:]
shape, names = data.image_shape, data.target_names

# %%
# A convolutional VAE with a two-dimensional latent space
# -------------------------------------------------------
# ``image_shape`` is the ``(height, width)`` of the images (one channel), or
# ``(channels, height, width)``. The default ``channels=(32, 64)`` takes a
# 28 × 28 image to 64 feature maps of 7 × 7 (an 8 × 8 digit to 2 × 2).

conv = VAE(n_components=2, architecture="conv", image_shape=shape, max_epochs=8,
           batch_size=64, learning_rate=2e-3, random_state=0, device="cpu").fit(X_train)
print(conv.module_["encoder"])
print(f"conv VAE: test ELBO {conv.score(X_test):.1f} nats per image")

# %%
# The latent map and the decoded plane
# ------------------------------------
# ``transform`` gives the posterior means of the test images; a regular grid
# of latent points (quantiles of the prior) goes through ``inverse_transform``.

from scipy.stats import norm  # noqa: E402

fig, (ax_map, ax_grid) = plt.subplots(1, 2, figsize=(12, 5.4))
plot_embedding(conv.transform(X_test), y_test, target_names=names, ax=ax_map, point_size=6)
ax_map.set_title("posterior means of test images (conv VAE)")
ax_map.legend(markerscale=3, fontsize=7, frameon=False, loc="center left",
              bbox_to_anchor=(1, 0.5))
ticks = norm.ppf(np.linspace(0.05, 0.95, 10))
grid = np.array([[a, b] for b in ticks[::-1] for a in ticks], dtype=np.float32)
images = conv.inverse_transform(grid).reshape(10, 10, *shape)
ax_grid.imshow(np.block([[images[r, c] for c in range(10)] for r in range(10)]),
               cmap="gray_r", vmin=0, vmax=1)
ax_grid.set_xticks([])
ax_grid.set_yticks([])
ax_grid.set_title("decoded grid of the latent plane")
fig.tight_layout()

# %%
# Samples
# -------
# ``sample`` decodes draws from the prior :math:`\\mathcal N(0, I)`: new
# images, in no data set. With two latent dimensions they are blurred
# averages; more ``n_components`` and more training sharpen them.

fig = plot_image_grid(conv.sample(24, random_state=1), image_shape=shape, n_cols=8)
fig.suptitle("samples from the prior (conv VAE)")
fig.tight_layout()
plt.show()
