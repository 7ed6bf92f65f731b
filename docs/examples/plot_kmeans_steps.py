"""
k-means step by step, and its Voronoi cells
===========================================

The lecture's figure of Lloyd's algorithm on toy data (its figure 5),
panel by panel with the lecture's letters:

A. the data and k initial centres, here k data points drawn at random
   (``init='random'``, the lecture's initialisation);
B. assignment: every point joins its nearest centre;
C. update: every centre moves to the mean of its points;
D. assignment again with the moved centres (some points change side);
E. update again;
F. repeat until no point changes its centre: converged.

Each step can only lower the objective

.. math:: J = \\sum_{i=1}^{n} \\lVert x_i - \\mu_{c(i)} \\rVert^2,

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


def draw_moves(ax, old, new):
    for a, b in zip(old, new):
        ax.annotate("", xy=b, xytext=a, arrowprops={"arrowstyle": "->", "lw": 1.5,
                                                    "color": "black"})


axes[0].scatter(X[:, 0], X[:, 1], s=12, color="0.3")
plot_voronoi_cells(centers, ax=axes[0], xlim=xlim, ylim=ylim)
axes[0].set_title("A. data and random initial centres")

history = []
for step, (assign_ax, move_ax) in enumerate([(axes[1], axes[2]), (axes[3], axes[4])]):
    labels = assign(X, centers)
    history.append(inertia(X, centers, labels))
    assign_ax.scatter(X[:, 0], X[:, 1], s=12, c=[f"C{j}" for j in labels])
    plot_voronoi_cells(centers, ax=assign_ax, xlim=xlim, ylim=ylim)
    letter = "BD"[step]
    assign_ax.set_title(f"{letter}. assign{' again' if step else ''}, J = {history[-1]:.0f}")

    new_centers = np.array([X[labels == j].mean(axis=0) for j in range(k)])
    move_ax.scatter(X[:, 0], X[:, 1], s=12, c=[f"C{j}" for j in labels])
    draw_moves(move_ax, centers, new_centers)
    plot_voronoi_cells(new_centers, ax=move_ax, xlim=xlim, ylim=ylim, edgecolor=None)
    centers = new_centers
    history.append(inertia(X, centers, labels))
    letter = "CE"[step]
    move_ax.set_title(f"{letter}. move to the means, J = {history[-1]:.0f}")

n_more = 0
labels = assign(X, centers)
while True:
    new_centers = np.array([X[labels == j].mean(axis=0) for j in range(k)])
    new_labels = assign(X, new_centers)
    n_more += 1
    if np.array_equal(new_labels, labels) and np.allclose(new_centers, centers):
        break
    centers, labels = new_centers, new_labels
    history.append(inertia(X, centers, labels))
axes[5].scatter(X[:, 0], X[:, 1], s=12, c=[f"C{j}" for j in labels])
plot_voronoi_cells(centers, ax=axes[5], xlim=xlim, ylim=ylim)
axes[5].set_title(f"F. converged {n_more} iterations later, J = {history[-1]:.0f}")
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
ax.set_xticks(range(len(history)), ["B", "C", "D", "E"] + [""] * (len(history) - 4))
ax.set_xlabel("panel, then one mark per further iteration")
ax.set_ylabel("J (inertia)")
fig.tight_layout()
