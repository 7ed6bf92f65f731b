"""
Clusters in a graph: connected components and cliques
======================================================

The lecture introduces clustering with a graph (its figures 3 and 4): join
every two points closer than a threshold :math:`r`, then call a cluster

* a **connected component**: points linked by a path of short edges, however
  long the path (clusters may be chains);
* a **clique**: points that are *all* pairwise closer than :math:`r`
  (clusters are compact, but a point may belong to several maximal cliques).

Both are the flat clusterings of hierarchical clustering cut at the height
:math:`r`: the connected components are the clusters of **single** linkage,
and every cluster of **complete** linkage is a clique (its diameter is at
most :math:`r`). This example builds the graph with scikit-learn's
:func:`~sklearn.neighbors.radius_neighbors_graph`, finds the components with
SciPy's :func:`~scipy.sparse.csgraph.connected_components` and the maximal
cliques with the Bron–Kerbosch algorithm (a dozen lines below; skunsup does
not depend on a graph library), and checks both statements.

The 22 points and the threshold are ours, chosen to show a chain, two
compact groups and an outlier in one picture.
"""

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.collections import LineCollection
from scipy.cluster.hierarchy import fcluster, linkage
from scipy.sparse.csgraph import connected_components
from sklearn.neighbors import radius_neighbors_graph

rng = np.random.default_rng(4)
compact = np.concatenate([[0.0, 0.0] + rng.normal(scale=0.35, size=(7, 2)),
                          [4.2, 0.3] + rng.normal(scale=0.35, size=(7, 2))])
chain = np.column_stack([np.linspace(0.6, 3.6, 7), 2.4 + 0.25 * np.sin(np.arange(7))])
X = np.concatenate([compact, chain, [[5.5, 3.2]]])
r = 1.0

graph = radius_neighbors_graph(X, radius=r, mode="connectivity", include_self=False)
n_components, component = connected_components(graph, directed=False)
neighbours = [set(graph.indices[graph.indptr[i]:graph.indptr[i + 1]]) for i in range(len(X))]
edges = [(i, j) for i in range(len(X)) for j in neighbours[i] if i < j]
print(f"{len(X)} points, {len(edges)} edges shorter than r = {r}, "
      f"{n_components} connected components")

# %%
# Maximal cliques (Bron–Kerbosch with pivoting)
# ---------------------------------------------
# ``R`` is the clique being grown, ``P`` the points that could still join it
# (neighbours of every point of ``R``), ``X`` those already tried. A clique is
# maximal when nothing can join it.


def maximal_cliques(neighbours):
    cliques = []

    def expand(R, P, X):
        if not P and not X:
            cliques.append(sorted(R))
            return
        pivot = max(P | X, key=lambda u: len(neighbours[u] & P))
        for v in list(P - neighbours[pivot]):
            expand(R | {v}, P & neighbours[v], X & neighbours[v])
            P = P - {v}
            X = X | {v}

    expand(set(), set(range(len(neighbours))), set())
    return sorted(cliques, key=len, reverse=True)


cliques = maximal_cliques(neighbours)
print(f"{len(cliques)} maximal cliques; sizes {[len(c) for c in cliques]}")

# %%
# The graph, its components and its cliques
# -----------------------------------------


def draw_graph(ax, title):
    segments = [(X[i], X[j]) for i, j in edges]
    ax.add_collection(LineCollection(segments, colors="0.6", linewidths=0.8, zorder=1))
    ax.set_title(title, fontsize=10)
    ax.set_xlim(X[:, 0].min() - 0.6, X[:, 0].max() + 1.2)
    ax.set_ylim(X[:, 1].min() - 0.6, X[:, 1].max() + 1.2)
    ax.set_aspect("equal")
    ax.set_xticks([])
    ax.set_yticks([])


fig, axes = plt.subplots(1, 3, figsize=(13, 4.2))
draw_graph(axes[0], f"edges between points closer than r = {r}")
axes[0].scatter(X[:, 0], X[:, 1], s=30, color="0.2", zorder=2)
axes[0].add_patch(plt.Circle(X[-1], r, fill=False, linestyle="--", color="C3"))
axes[0].annotate("r", X[-1] + [0.08, 0.45 * r], color="C3", fontsize=10)
axes[0].plot([X[-1, 0], X[-1, 0]], [X[-1, 1], X[-1, 1] + r], color="C3", linewidth=0.8)

draw_graph(axes[1], f"{n_components} connected components")
axes[1].scatter(X[:, 0], X[:, 1], s=30, c=[f"C{c}" for c in component], zorder=2)

draw_graph(axes[2], "maximal cliques of 3 or more points")
axes[2].scatter(X[:, 0], X[:, 1], s=30, color="0.2", zorder=2)
for number, clique in enumerate(c for c in cliques if len(c) >= 3):
    hull = X[clique]
    centre = hull.mean(axis=0)
    order = np.argsort(np.arctan2(*(hull - centre).T[::-1]))
    polygon = centre + 1.15 * (hull[order] - centre)
    axes[2].fill(polygon[:, 0], polygon[:, 1], facecolor=f"C{number % 10}", alpha=0.3,
                 edgecolor=f"C{number % 10}", linewidth=1.5, zorder=0)
fig.tight_layout()

# %%
# The chain is one connected component, however far apart its two ends are;
# as cliques it falls apart into overlapping pairs. Each compact group is one
# component, covered by two large cliques that share points: a point can
# belong to several maximal cliques, so the cliques are not a partition of
# the data. The outlier is a component and a clique of its own.
#
# The same clusterings from hierarchical clustering
# -------------------------------------------------
# Cutting the single-linkage tree at height ``r`` gives exactly the connected
# components; cutting the complete-linkage tree at ``r`` gives clusters whose
# points are all pairwise within ``r``: cliques of the graph.

single = fcluster(linkage(X, method="single"), t=r, criterion="distance")
same_partition = all(len(set(single[component == c])) == 1 for c in range(n_components)) \
    and len(set(single)) == n_components
print("single linkage cut at r == connected components:", same_partition)

complete = fcluster(linkage(X, method="complete"), t=r, criterion="distance")
all_cliques = all(
    j in neighbours[i]
    for label in set(complete)
    for i in np.flatnonzero(complete == label)
    for j in np.flatnonzero(complete == label) if i != j
)
print(f"complete linkage cut at r: {len(set(complete))} clusters, each a clique:", all_cliques)
