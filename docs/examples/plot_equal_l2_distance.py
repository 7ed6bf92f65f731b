"""
Three images at the same L2 distance
====================================

k-means, PCA and t-SNE all compare images by the Euclidean (L2) distance of
their pixel vectors. The lecture makes the point with a slide of three
altered copies of one image that are all equally far from it in L2, though a
person sees them as very different changes. This example makes that slide
from the data: an image and three copies at exactly the same L2 distance
from it,

* **shifted** by two pixels (one for the 8 × 8 digits): the object is
  unchanged, only moved,
* **occluded**: a square of pixels blended towards grey (black on the
  small digits, where grey is not far enough),
* **noisy**: Gaussian noise on every pixel,

and puts them next to the nearest image of *another* class. Where the
lecture shows a photograph of a face, this example uses a Fashion-MNIST item
(scikit-learn's digits where Fashion-MNIST is not installed): skunsup ships
no face images and never downloads data.
"""

import matplotlib.pyplot as plt
import numpy as np

from skunsup.datasets import load_tour_data

data = load_tour_data("auto", n_samples=3000, random_state=0)
X, y, shape = data.data.astype(np.float64), data.target, data.image_shape
image = X[0]
original = image.reshape(shape)

# %%
# The shift fixes the distance
# ----------------------------
# Shifting to the right moves every edge of the object: its L2
# distance to the original is ``d``. The occlusion and the noise are then
# scaled so that their distance is exactly ``d`` too.

shift = 2 if shape[0] >= 28 else 1
shifted = np.roll(original, shift, axis=1)
shifted[:, :shift] = 0.0
d = np.linalg.norm(shifted - original)


def at_distance(altered, distance):
    """Move ``image`` towards ``altered`` until it is ``distance`` away (in L2)."""
    direction = altered.ravel() - image
    return (image + distance / np.linalg.norm(direction) * direction).reshape(shape)




def occlusion(distance):
    """The smallest centred grey (else black) square at least ``distance`` away."""
    centre = shape[0] // 2
    for fill in (0.5, 1.0):
        for half in range(1, centre + 1):
            block = original.copy()
            block[centre - half:centre + half, centre - half:centre + half] = fill
            if np.linalg.norm(block - original) >= distance:
                return block
    return block


occluded = at_distance(occlusion(d), d)  # blended in just enough to be d away
noisy = at_distance(image + np.random.default_rng(0).normal(size=image.size), d)

others = np.flatnonzero(y != y[0])
distances = np.linalg.norm(X[others] - image, axis=1)
nearest = others[np.argmin(distances)]

panels = [
    ("original", original),
    ("shifted", shifted),
    ("occluded", occluded),
    ("noisy", noisy),
    (f"nearest other class:\n{data.target_names[y[nearest]]}", X[nearest].reshape(shape)),
]
for name, picture in panels[1:]:
    label = name.splitlines()[0].rstrip(":")
    print(f"{label:>20s}: L2 distance {np.linalg.norm(picture - original):.3f}")

fig, axes = plt.subplots(1, len(panels), figsize=(11, 2.8))
for ax, (name, picture) in zip(axes, panels):
    ax.imshow(picture, cmap="gray_r", vmin=0, vmax=1)
    ax.set_xticks([])
    ax.set_yticks([])
    if name == "original":
        ax.set_title(f"original: {data.target_names[y[0]]}", fontsize=9)
    else:
        ax.set_title(f"{name}\nL2 = {np.linalg.norm(picture - original):.2f}", fontsize=9)
fig.suptitle(f"{data.name}: three alterations at the same L2 distance d = {d:.2f}")
fig.tight_layout()

# %%
# What it means for the methods of the lecture
# --------------------------------------------
# To the L2 distance, the shifted copy is as different from the original as
# the occluded and the noisy ones; compare it with the distance to the
# nearest image of another class printed above. k-means assigns by L2
# distance, PCA keeps the directions of largest L2 variance, and t-SNE's
# affinities are Gaussians of L2 distances: none of them knows that a shift
# leaves an object unchanged. Aligned, centred data sets such as
# Fashion-MNIST and the digits make pixel distances meaningful enough;
# otherwise compare images through features that ignore such changes (the
# code of an autoencoder trained on shifted copies, for instance).
