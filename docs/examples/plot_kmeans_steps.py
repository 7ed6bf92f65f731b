"""
k-means step by step, and its Voronoi cells
===========================================

The lecture's figure of Lloyd's algorithm on toy data, panel by panel:

A. the data;
B. k initial centres, here k data points drawn at random (``init='random'``);
C. assignment: every point joins its nearest centre;
D. update: every centre moves to the mean of its points;
E. assignment again with the moved centres (some points change side);
F. repeat C–D until no point changes its centre: converged.

Each pair of steps can only lower the objective

.. math:: J = \\sum_{i=1}^{m} \\lVert x_i - \\mu_{c(i)} \\rVert^2,

the sum of **squared** distances to the assigned centres (``inertia_``), so the
algorithm stops after finitely many steps, but in a local minimum that depends
on the start. The regions a set of centres claims are its **Voronoi cells**,
bounded by the perpendicular bisectors between pairs of centres.
"""

import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import make_blobs

from skunsup.cluster import KMeans
from skunsup.plotting import plot_voronoi_cells

X, _ = make_blobs(n_samples=150, centers=[[-2, -1], [2, -1.5], [0, 2.2]],
                  cluster_std=0.8, random_state=3)
k = 3
rng = np.random.default_rng(7)
centers = X[rng.choice(len(X), size=k, replace=False)]


def assign(X, centers):
    """Index of the nearest centre of every point."""
    return ((X[:, None, :] - centers[None]) ** 2).sum(axis=2).argmin(axis=1)


def inertia(X, centers, labels):
    return float(((X - centers[labels]) ** 2).sum())


# %%
# Panels A–F
# ----------
# Each panel shades the Voronoi cells of the centres it shows, so you can see
# which side of a border every point falls on.

xlim = (X[:, 0].min() - 0.8, X[:, 0].max() + 0.8)
ylim = (X[:, 1].min() - 0.8, X[:, 1].max() + 0.8)
fig, axes = plt.subplots(2, 3, figsize=(11, 7.2), sharex=True, sharey=True)
axes = axes.ravel()

axes[0].scatter(X[:, 0], X[:, 1], s=12, color="0.3")
axes[0].set_title("A. the data")

axes[1].scatter(X[:, 0], X[:, 1], s=12, color="0.3")
plot_voronoi_cells(centers, ax=axes[1], xlim=xlim, ylim=ylim)
axes[1].set_title("B. random initial centres")

labels = assign(X, centers)
axes[2].scatter(X[:, 0], X[:, 1], s=12, c=[f"C{j}" for j in labels])
plot_voronoi_cells(centers, ax=axes[2], xlim=xlim, ylim=ylim)
axes[2].set_title(f"C. assign, J = {inertia(X, centers, labels):.0f}")

new_centers = np.array([X[labels == j].mean(axis=0) for j in range(k)])
axes[3].scatter(X[:, 0], X[:, 1], s=12, c=[f"C{j}" for j in labels])
for old, new in zip(centers, new_centers):
    axes[3].annotate("", xy=new, xytext=old,
                     arrowprops={"arrowstyle": "->", "lw": 1.5, "color": "black"})
plot_voronoi_cells(new_centers, ax=axes[3], xlim=xlim, ylim=ylim, edgecolor=None)
axes[3].set_title(f"D. move to the means, J = {inertia(X, new_centers, labels):.0f}")
centers = new_centers

labels = assign(X, centers)
axes[4].scatter(X[:, 0], X[:, 1], s=12, c=[f"C{j}" for j in labels])
plot_voronoi_cells(centers, ax=axes[4], xlim=xlim, ylim=ylim)
axes[4].set_title(f"E. assign again, J = {inertia(X, centers, labels):.0f}")

history = [inertia(X, centers, labels)]
for step in range(100):
    centers = np.array([X[labels == j].mean(axis=0) for j in range(k)])
    new_labels = assign(X, centers)
    history.append(inertia(X, centers, new_labels))
    if np.array_equal(new_labels, labels):
        break
    labels = new_labels
axes[5].scatter(X[:, 0], X[:, 1], s=12, c=[f"C{j}" for j in labels])
plot_voronoi_cells(centers, ax=axes[5], xlim=xlim, ylim=ylim)
axes[5].set_title(f"F. converged after {step + 1} more steps, J = {history[-1]:.0f}")
for ax in axes:
    ax.set_aspect("equal")
fig.tight_layout()

# %%
# The same with :class:`~skunsup.cluster.KMeans`
# ----------------------------------------------
# Started from the same initial centres, skunsup's Lloyd iterations find the
# same centres; ``inertia_`` is J.

first = X[np.random.default_rng(7).choice(len(X), size=k, replace=False)]
km = KMeans(n_clusters=k, init=first, n_init=1).fit(X)


def rows_sorted(C):
    return np.round(C[np.argsort(C[:, 0])], 4).tolist()


print("hand-written Lloyd:", rows_sorted(centers), round(history[-1], 4))
print("skunsup KMeans:    ", rows_sorted(km.cluster_centers_), round(float(km.inertia_), 4),
      f"({km.n_iter_} iterations)")

# %%
# J never increases
# -----------------
# Assignment can only lower J (each point picks its best centre), and so can
# the update (the mean minimises the sum of squared distances to a set of
# points).

fig, ax = plt.subplots(figsize=(5, 3))
ax.plot(range(len(history)), history, marker="o")
ax.set_xlabel("iteration after panel E")
ax.set_ylabel("J (inertia)")
fig.tight_layout()
