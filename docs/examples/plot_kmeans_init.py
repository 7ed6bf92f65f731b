"""
k-means: initialisation, restarts and k-means++
===============================================

Lloyd's algorithm only finds a *local* minimum of the inertia J; where it
ends depends on the initial centres. The lecture's remedy is to restart from
several random initialisations and keep the run with the lowest J
(``n_init``). k-means++ (Arthur & Vassilvitskii, 2007) starts better: each new
centre is drawn with probability proportional to the squared distance to the
nearest centre chosen so far, so the centres spread over the data. Here,
on 12 well-separated blobs, we fit many times with different seeds and
compare the final J of each strategy.
"""

import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import make_blobs

from skunsup.cluster import KMeans
from skunsup.plotting import plot_voronoi_cells

X, _ = make_blobs(n_samples=1200, centers=12, cluster_std=0.6, center_box=(-12, 12),
                  random_state=2)
strategies = {
    "random, 1 run": {"init": "random", "n_init": 1},
    "random, best of 10": {"init": "random", "n_init": 10},
    "k-means++, 1 run": {"init": "k-means++", "n_init": 1},
}
seeds = range(10)
inertias = {
    name: [KMeans(n_clusters=12, random_state=seed, **params).fit(X).inertia_ for seed in seeds]
    for name, params in strategies.items()
}
for name, values in inertias.items():
    print(f"{name:20s} median J = {np.median(values):8.1f}   worst J = {np.max(values):8.1f}")

# %%
# The final J of 10 seeds per strategy
# ------------------------------------
# One random start often ends in a local minimum where one centre sits
# between two blobs and another blob holds two centres. Ten restarts or
# k-means++ seeding make this rare.

fig, ax = plt.subplots(figsize=(6.5, 3.2))
for row, (name, values) in enumerate(inertias.items()):
    jitter = np.random.default_rng(row).uniform(-0.15, 0.15, len(values))
    ax.scatter(values, row + jitter, s=18)
ax.set_yticks(range(len(inertias)), list(inertias))
ax.set_xlabel("final inertia J (lower is better)")
fig.tight_layout()

# %%
# What a bad local minimum looks like
# -----------------------------------
# The worst single random start next to the best run.

worst_seed = int(np.argmax(inertias["random, 1 run"]))
bad = KMeans(n_clusters=12, init="random", n_init=1, random_state=worst_seed).fit(X)
good = KMeans(n_clusters=12, random_state=0).fit(X)
fig, axes = plt.subplots(1, 2, figsize=(10, 4.6))
for ax, km, title in [(axes[0], bad, "worst random start"), (axes[1], good, "k-means++")]:
    ax.scatter(X[:, 0], X[:, 1], s=4, c=plt.get_cmap("tab20")(km.labels_))
    plot_voronoi_cells(km.cluster_centers_, ax=ax, cmap="tab20")
    ax.set_title(f"{title}: J = {km.inertia_:.0f}")
    ax.set_aspect("equal")
fig.tight_layout()

# %%
# In practice: keep the default ``init='k-means++'``; raise ``n_init`` when a
# fit must be robust and time allows (each run costs a full fit). J also
# falls as k grows, so it cannot choose k by itself: compare k by a held-out
# task, a silhouette score, or the "elbow" of J against k.
