"""
Hierarchical clustering of raw 2-D points
=========================================

Agglomerative clustering starts with every point in its own cluster and
repeatedly merges the two closest clusters. The *linkage* says what "closest"
means for clusters: the closest pair of points (single), the farthest pair
(complete), the mean pairwise distance (average) or the increase of the
within-cluster sum of squares (Ward, the k-means objective). The history of
merges is a tree, the **dendrogram**; cutting it at a height gives a flat
clustering. Unlike k-means, nothing has to be fixed in advance: the number of
clusters is read off the tree afterwards.

The linkage itself comes from :func:`scipy.cluster.hierarchy.linkage`;
:func:`skunsup.plotting.plot_dendrogram` draws the tree and the cut.
"""

import matplotlib.pyplot as plt
import numpy as np
from scipy.cluster.hierarchy import fcluster, linkage

from skunsup.plotting import plot_dendrogram

rng = np.random.default_rng(0)
centres = np.array([[0.0, 0.0], [4.0, 0.5], [2.0, 3.5]])
X = np.concatenate([c + rng.normal(scale=0.6, size=(6, 2)) for c in centres])
# a thin bridge of three points between the two lower groups
X = np.concatenate([X, [[1.4, 0.25], [2.0, 0.3], [2.5, -0.1]]])
names = [chr(ord("a") + i) for i in range(len(X))]

# %%
# The points and the tree (Ward linkage)
# --------------------------------------
# The leaves of the tree are the points; the height of a merge is the
# linkage distance between the two clusters it joins. Cutting at the dashed
# line leaves three clusters, coloured alike in both panels.

Z = linkage(X, method="ward")
labels = fcluster(Z, t=3, criterion="maxclust")

fig, (ax_points, ax_tree) = plt.subplots(1, 2, figsize=(10, 4), width_ratios=[1, 1.4])
ax_points.scatter(X[:, 0], X[:, 1], c=[f"C{label - 1}" for label in labels], s=40)
for name, (x, y) in zip(names, X):
    ax_points.annotate(name, (x, y), xytext=(4, 4), textcoords="offset points", fontsize=9)
ax_points.set_title(f"{len(X)} points in the plane")
ax_points.set_aspect("equal")
plot_dendrogram(Z, labels=names, ax=ax_tree, n_clusters=3, title="Ward linkage, cut into 3")
fig.tight_layout()

# %%
# The linkage matters
# -------------------
# Single linkage chains: through the three bridge points (s, t, u) the two
# lower groups merge at a small height, and its 3-cluster cut splits off a
# lone outlier (e) instead of a group. Complete, average and Ward linkage
# prefer compact clusters: they find the three groups and share the bridge
# points between the two lower ones. The four trees below are built from the
# same points.

fig, axes = plt.subplots(2, 2, figsize=(10, 6.5))
for ax, method in zip(axes.ravel(), ["single", "complete", "average", "ward"]):
    plot_dendrogram(linkage(X, method=method), labels=names, ax=ax, n_clusters=3,
                    title=f"{method} linkage")
fig.tight_layout()

# %%
# Complexity: the naive algorithm keeps the matrix of all pairwise distances,
# O(n²) memory and O(n²)–O(n³) time, which limits hierarchical clustering to
# some tens of thousands of points. k-means (see the next examples) scales
# linearly in n, at the price of fixing k and assuming roughly spherical
# clusters.
