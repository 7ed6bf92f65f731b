"""
SNE vs t-SNE: the crowding problem
==================================

The same 600 handwritten digits embedded by the original SNE and by t-SNE.
Both compute Gaussian neighbour probabilities calibrated to a perplexity of
30 in the 64-dimensional pixel space. SNE matches them with Gaussian
similarities in the map; t-SNE with a heavy-tailed Student-t kernel and one
symmetric, joint distribution.

In 64 dimensions a digit has many neighbours at a moderate distance; in two
there is no room to keep all of them there. SNE's Gaussian map kernel lets
moderately distant points barely repel, so the classes crowd together in the
middle of the map. The Student-t kernel lets moderate distances become large
ones, and the classes separate with clear gaps.
"""

import matplotlib.pyplot as plt
import numpy as np
from scipy.spatial.distance import pdist, squareform
from sklearn.datasets import load_digits
from sklearn.manifold import trustworthiness

from skunsup.manifold import SNE, TSNE
from skunsup.plotting import plot_embedding

X, y = load_digits(return_X_y=True)
X, y = X[:600] / 16.0, y[:600]

sne = SNE(perplexity=30, random_state=0)
Y_sne = sne.fit_transform(X)
tsne = TSNE(perplexity=30, method="exact", random_state=0)
Y_tsne = tsne.fit_transform(X)

# %%
# The two maps
# ------------
# The KL divergences are not comparable with each other: SNE's is a sum of n
# conditional divergences, t-SNE's a single joint one. Trustworthiness (how
# many of each point's 10 nearest neighbours in the map are also near in the
# data, 1 is best) is.

fig, axes = plt.subplots(1, 2, figsize=(11, 5))
for ax, Y, est, name in [(axes[0], Y_sne, sne, "SNE"), (axes[1], Y_tsne, tsne, "t-SNE")]:
    plot_embedding(Y, y, ax=ax, point_size=6)
    trust = trustworthiness(X, Y, n_neighbors=10)
    ax.set_title(f"{name}: trustworthiness {trust:.3f}")
axes[0].get_legend().remove()
axes[1].legend(markerscale=2, fontsize=8, frameon=False, loc="center left",
               bbox_to_anchor=(1, 0.5))
fig.tight_layout()

# %%
# Distances in the map
# --------------------
# The crowding, measured: the ratio of the median distance between points of
# *different* classes to that between points of the *same* class. t-SNE
# opens gaps between the classes.

for name, Y in [("SNE", Y_sne), ("t-SNE", Y_tsne)]:
    D = squareform(pdist(Y))
    same = y[:, None] == y[None, :]
    off_diagonal = ~np.eye(len(y), dtype=bool)
    ratio = np.median(D[~same]) / np.median(D[same & off_diagonal])
    print(f"{name:6s} between-class / within-class median distance: {ratio:.1f}")
