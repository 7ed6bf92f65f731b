"""
Generation by class: the conditional VAE
========================================

A :class:`~skunsup.neural_network.VAE` samples images, but not images of a
class you choose: its latent space mixes what an image *is* (a shirt, a
sneaker) with how it *looks*. A conditional VAE
(:class:`~skunsup.neural_network.ConditionalVAE`, Sohn, Lee and Yan, 2015)
gives the label y to both networks, as a one-hot vector joined to their
input: the encoder models q(z | x, y), the decoder p(x | z, y). The label
no longer has to be stored in the code z, which keeps the rest, the style;
``sample(n, y=label)`` then decodes draws z ~ N(0, I) under the label of
your choice.

To run in seconds this example trains on 4,000 images for 15 epochs; more
images and epochs give sharper samples.
"""

import matplotlib.pyplot as plt
import numpy as np
from sklearn.neighbors import KNeighborsClassifier

from skunsup.datasets import load_tour_data
from skunsup.neural_network import ConditionalVAE

data = load_tour_data("auto", n_samples=5000, random_state=0)
n_train = 4 * len(data.data) // 5  # 4,000 images (1,437 of the 1,797 digits)
X_train, X_test = data.data[:n_train], data.data[n_train:]
y_train, y_test = data.target[:n_train], data.target[n_train:]
shape, names = data.image_shape, data.target_names


def image_rows(rows):
    """One image of a grid: ``rows`` is a list of (n_cols, n_pixels) arrays."""
    return np.block([[image.reshape(shape) for image in row] for row in rows])


def show_grid(ax, rows, row_names, title):
    ax.imshow(image_rows(rows), cmap="gray_r", vmin=0, vmax=1)
    height = shape[0]
    ax.set_yticks(height * np.arange(len(row_names)) + height / 2, row_names)
    ax.set_xticks([])
    ax.set_title(title)


# %%
# Samples of every class
# ----------------------
# Each row decodes eight draws from the prior under one label. The same
# ``random_state`` gives every row the same eight codes, so a column shows
# one style (thickness, slant, brightness) worn by every class.
#
# The code z may still hold the class: the encoder sees x, and putting the
# classes in separate corners of the latent space costs only a few nats of
# KL. On Fashion-MNIST, after a training this short, the model with
# ``beta=1`` (left) does so, and its samples largely follow the code, not the
# requested label (on the simpler digits it learns to use the label). A
# larger KL weight (the β-VAE's ``beta``) makes the code expensive, so the
# decoder learns to take the class from y (right). A 5-nearest-neighbour
# classifier of the real training images judges how often the samples show
# the class that was asked for.

models = {beta: ConditionalVAE(n_components=8, hidden_layer_sizes=(256,), beta=beta,
                               max_epochs=15, batch_size=64, learning_rate=3e-3,
                               random_state=0, device="cpu").fit(X_train, y_train)
          for beta in (1.0, 8.0)}
judge = KNeighborsClassifier(n_neighbors=5).fit(X_train, y_train)
print(f"the judge's accuracy on real test images: "
      f"{np.mean(judge.predict(X_test) == y_test):.0%}")
fig, axes = plt.subplots(1, 2, figsize=(9, 6.2))
for ax, (beta, cvae) in zip(axes, models.items()):
    rows = [cvae.sample(8, y=label, random_state=0) for label in cvae.classes_]
    requested = np.repeat(cvae.classes_, 8)
    agree = np.mean(judge.predict(np.concatenate(rows)) == requested)
    print(f"beta={beta:g}: test ELBO {cvae.score(X_test, y_test):.1f} nats per image, "
          f"{agree:.0%} of the samples show the requested class")
    show_grid(ax, rows, [names[label] for label in cvae.classes_], f"beta={beta:g}")
fig.tight_layout()
cvae = models[8.0]

# %%
# Analogies: one image's style, every label
# -----------------------------------------
# With the ``beta=8`` model: ``transform(X, y)`` encodes test images under
# their own labels; decoding these codes under every label
# (``inverse_transform(Z, y)``) redraws each image as the other classes,
# keeping what the code holds.

picks = [np.flatnonzero(y_test == label)[0] for label in cvae.classes_[:6]]
codes = cvae.transform(X_test[picks], y_test[picks])
rows = [np.concatenate([X_test[i][None], cvae.inverse_transform(
            np.repeat(code[None], len(cvae.classes_), axis=0), cvae.classes_)])
        for i, code in zip(picks, codes)]
fig, ax = plt.subplots(figsize=(6.6, 4.4))
show_grid(ax, rows, [f"{names[y_test[i]]} →" for i in picks],
          "a test image (left) decoded under every label")
fig.tight_layout()

# %%
# Without labels
# --------------
# With the label frequencies p(y) of the training data, the model gives each
# label a score, log p(y) + ELBO(x, y). The best-scoring label is what
# ``transform(X)`` and a :class:`~sklearn.pipeline.Pipeline` use when no
# labels are given; it is also a classifier of its own.

log_prior = np.log(cvae.class_count_ / cvae.class_count_.sum())
scores = np.column_stack([cvae.score_samples(X_test, np.full(len(X_test), label))
                          for label in cvae.classes_]) + log_prior
found = cvae.classes_[np.argmax(scores, axis=1)]
print(f"most probable label = true label for {np.mean(found == y_test):.0%} of test images")
plt.show()
