"""
How do I tune PCA + KMeans together? A Pipeline in GridSearchCV
===============================================================

skunsup estimators are scikit-learn estimators, so they chain in a
:class:`~sklearn.pipeline.Pipeline` and are tuned by
:class:`~sklearn.model_selection.GridSearchCV` like any other. Here PCA
reduces scikit-learn's digits before k-means clusters them, and the grid
search chooses the number of components and whether to whiten (any other
parameter, e.g. ``kmeans__n_init``, goes into the grid the same way).

What to maximise? A pipeline's default ``score`` is its last step's:
:meth:`KMeans.score <skunsup.cluster.KMeans.score>` is minus the inertia,
which is only comparable between models that work in the *same* space; with
fewer PCA components the inertia shrinks whatever the clustering quality. When
some labelled data exist for validation, score the clusters against them
(here with the adjusted Rand index); without labels, fix the representation
and compare only k-means settings, or use an internal index such as the
silhouette.
"""

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from sklearn.datasets import load_digits
from sklearn.metrics import adjusted_rand_score
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import Pipeline

from skunsup.cluster import KMeans
from skunsup.decomposition import PCA
from skunsup.plotting import plot_image_grid

X, y = load_digits(return_X_y=True)
X = X / 16.0

pipe = Pipeline([("pca", PCA(random_state=0)), ("kmeans", KMeans(n_clusters=10, random_state=0))])
grid = {
    "pca__n_components": [5, 10, 20, 40],
    "pca__whiten": [False, True],
}


def rand_index(estimator, X, y):
    """Adjusted Rand index between the predicted clusters and the labels."""
    return adjusted_rand_score(y, estimator.predict(X))


search = GridSearchCV(pipe, grid, scoring=rand_index, cv=3).fit(X, y)
print("best parameters:", search.best_params_)
print(f"best cross-validated adjusted Rand index: {search.best_score_:.3f}")

# %%
# The whole grid
# --------------
# Whitening helps with a moderate number of
# components and hurts with many: it scales every component to unit variance,
# so the many low-variance, mostly-noise components weigh as much in k-means'
# distances as the informative ones.

results = pd.DataFrame(search.cv_results_)
table = results.pivot_table(index="param_pca__n_components", columns="param_pca__whiten",
                            values="mean_test_score")
print(table.round(3))

fig, ax = plt.subplots(figsize=(6, 3.6))
for whiten, column in table.items():
    ax.plot(table.index, column, marker="o", label=f"whiten={whiten}")
ax.set_xscale("log")
ax.minorticks_off()
ax.set_xticks(table.index, [str(k) for k in table.index])
ax.set_xlabel("PCA n_components")
ax.set_ylabel("adjusted Rand index (3-fold CV)")
ax.legend(fontsize=8)
fig.tight_layout()

# %%
# The clusters of the best pipeline
# ---------------------------------
# Its k-means centres live in PCA space; ``inverse_transform`` of the PCA step
# maps them back to images. Each title gives the digit most common in the
# cluster and its share.

best = search.best_estimator_
pca, kmeans = best.named_steps["pca"], best.named_steps["kmeans"]
centres = pca.inverse_transform(kmeans.cluster_centers_)
labels = best.predict(X)
titles = []
for j in range(10):
    members = y[labels == j]
    top = np.bincount(members, minlength=10).argmax()
    titles.append(f"{top} ({np.mean(members == top):.0%})")
fig = plot_image_grid(np.clip(centres, 0, 1), image_shape=(8, 8), n_cols=5, titles=titles)
fig.suptitle("k-means centres of the best pipeline, mapped back to pixels")
fig.tight_layout()
