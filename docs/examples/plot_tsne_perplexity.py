"""
t-SNE of Fashion-MNIST and the effect of perplexity
===================================================

A t-SNE map of 1,000 Fashion-MNIST images (scikit-learn's digits where
Fashion-MNIST is not installed), made the usual way: PCA to 50 dimensions
first (fast neighbour search, less noise), then t-SNE, chained in a
``Pipeline``. The perplexity, the effective number of neighbours every point
tries to keep, is the parameter that changes the picture most: small values
show fine local structure and break classes into many small clumps, large
values give rounder, more connected clusters and more of the global layout.
None of the three maps is "the right one"; read them together (see
:ref:`the user guide <manifold>` on how to read a t-SNE map).
"""

import matplotlib.pyplot as plt
from sklearn.pipeline import make_pipeline

from skunsup.datasets import load_tour_data
from skunsup.decomposition import PCA
from skunsup.manifold import TSNE
from skunsup.plotting import plot_embedding

data = load_tour_data("auto", n_samples=1000, random_state=0)
X, y = data.data, data.target

# %%
# Three perplexities
# ------------------

fig, axes = plt.subplots(1, 3, figsize=(15, 5))
for ax, perplexity in zip(axes, [5, 30, 100]):
    pipe = make_pipeline(PCA(n_components=50, random_state=0),
                         TSNE(perplexity=perplexity, random_state=0))
    Y = pipe.fit_transform(X)
    tsne = pipe[-1]
    plot_embedding(Y, y, ax=ax, point_size=3, target_names=data.target_names)
    ax.set_title(f"perplexity {perplexity}: KL {tsne.kl_divergence_:.2f}")
    ax.get_legend().remove()
handles, labels = axes[0].get_legend_handles_labels()
fig.legend(handles, labels, loc="lower center", ncol=10, markerscale=4, fontsize=9,
           frameon=False)
fig.suptitle(f"t-SNE of {len(X)} {data.name} images after PCA to 50 dimensions")
fig.tight_layout(rect=(0, 0.06, 1, 1))

# %%
# What to read and what not to read
# ---------------------------------
# * The classes that separate (trousers, bags, footwear) do so at every
#   perplexity: that structure is real.
# * Tops, pullovers, coats and shirts overlap at every perplexity: in pixel
#   space they are neighbours.
# * The size of a cluster and the gaps between clusters change with the
#   perplexity: t-SNE adapts each point's bandwidth to the local density, so
#   neither says much about the data.
# * KL divergences of different perplexities are not comparable (the target
#   distribution P changes with it).
