"""
PCA on images: variance explained, components, reconstructions
===============================================================

PCA of Fashion-MNIST (or, where it is not installed, scikit-learn's digits):
every 28 × 28 image is a point in 784 dimensions. We look at how much of the
variance the first components explain, what the components look like as
images, the 2-D projection coloured by class (the lecture's "clustering with
PCA" figure), reconstructions from k components, and denoising by
projecting noisy images onto the leading components.
"""

import matplotlib.pyplot as plt
import numpy as np

from skunsup.datasets import load_tour_data
from skunsup.decomposition import PCA
from skunsup.plotting import plot_embedding, plot_image_grid

data = load_tour_data("auto", n_samples=5000, random_state=0)
X, y, shape = data.data, data.target, data.image_shape
# four fifths to fit, the rest to project (digits has 1,797 images, Fashion-MNIST 5,000 here)
n_train = 4 * X.shape[0] // 5
X_train, X_test = X[:n_train], X[n_train:]

pca = PCA().fit(X_train)  # all components: 'auto' picks the covariance solver here
cumulative = np.cumsum(pca.explained_variance_ratio_)
for fraction in (0.5, 0.8, 0.9, 0.95, 0.99):
    print(f"{fraction:.0%} of the variance: {np.searchsorted(cumulative, fraction) + 1} components")

# %%
# Variance explained
# ------------------
# The eigenvalues fall quickly: a few dozen of the 784 directions hold most of
# the variance. ``PCA(n_components=0.9)`` keeps just enough components for 90 %.

fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(10, 3.5))
ax1.plot(np.arange(1, 51), pca.explained_variance_ratio_[:50], marker=".")
ax1.set_xlabel("component")
ax1.set_ylabel("explained variance ratio")
ax1.set_title("first 50 eigenvalues (scree plot)")
ax2.plot(np.arange(1, len(cumulative) + 1), cumulative)
ax2.axhline(0.9, color="0.5", linestyle="--", linewidth=1)
ax2.set_xscale("log")
ax2.set_xlabel("number of components")
ax2.set_ylabel("cumulative ratio")
ax2.set_title("cumulative explained variance")
fig.tight_layout()

# %%
# The mean and the first components as images
# --------------------------------------------
# Components have positive and negative entries: red adds ink to the mean
# image, blue removes it.

components = pca.components_[:11]
scale = np.abs(components).max()
fig = plot_image_grid(np.concatenate([pca.mean_[None] / pca.mean_.max(), components / scale]),
                      image_shape=shape, n_cols=6, cmap="gray_r",
                      titles=["mean"] + [f"PC {j + 1}" for j in range(11)])
for ax in fig.axes[1:]:
    ax.images[0].set_cmap("RdBu_r")
    ax.images[0].set_clim(-1, 1)
fig.suptitle("mean image and principal components")
fig.tight_layout()

# %%
# Two components: the lecture's 2-D projection
# --------------------------------------------
# The components are nested: the first k components of the full PCA are the
# k-component PCA, so one fit serves every k below.

scores = pca.transform(X_test)
ax = plot_embedding(scores[:, :2], y[n_train:], target_names=data.target_names, point_size=4)
ax.set_title(f"first two components: {cumulative[1]:.0%} of the variance")
ax.set_xlabel("PC 1")
ax.set_ylabel("PC 2")
ax.legend(markerscale=3, fontsize=7, frameon=False, loc="center left", bbox_to_anchor=(1, 0.5))
ax.figure.tight_layout()

# %%
# Reconstructions from k components
# ---------------------------------
# Keeping the first k coordinates and mapping back,
# :math:`\hat x = \hat\mu + \sum_{j \le k} z_j w_j`, is what
# ``PCA(n_components=k)``'s ``inverse_transform(transform(x))`` computes: the
# best rank-k approximation of the centred data.


def reconstruct(scores, k):
    return scores[:, :k] @ pca.components_[:k] + pca.mean_


show = X_test[:6]
rows, titles = [show], ["original"] + [""] * 5
for k in (5, 20, 50, 150):
    rows.append(reconstruct(scores[:6], k))
    mse = np.mean((reconstruct(scores, k) - X_test) ** 2)
    titles += [f"k = {k}, MSE {mse:.4f}"] + [""] * 5
fig = plot_image_grid(np.clip(np.concatenate(rows), 0, 1), image_shape=shape, n_cols=6,
                      titles=titles)
fig.suptitle("reconstructions")
fig.tight_layout()

# %%
# Denoising
# ---------
# Noise spreads evenly over all 784 directions, the images mostly over the
# first few dozen: keeping 40 components removes most of the noise and little
# of the image.

rng = np.random.default_rng(0)
noisy = np.clip(show + rng.normal(scale=0.2, size=show.shape), 0, 1)
pca40 = PCA(n_components=40).fit(X_train)
denoised = np.clip(pca40.inverse_transform(pca40.transform(noisy)), 0, 1)
fig = plot_image_grid(np.concatenate([noisy, denoised, show]), image_shape=shape, n_cols=6,
                      titles=["noisy"] + [""] * 5 + ["PCA, 40 components"] + [""] * 5
                      + ["clean"] + [""] * 5)
fig.suptitle("denoising by projection")
fig.tight_layout()
