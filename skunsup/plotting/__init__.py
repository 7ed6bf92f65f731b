"""Matplotlib helpers for embeddings and image grids (matplotlib is imported lazily)."""

from skunsup.plotting._gallery import plot_dendrogram, plot_voronoi_cells
from skunsup.plotting._images import plot_embedding, plot_image_grid
from skunsup.plotting._kmeans import lloyd_steps, plot_kmeans_steps
from skunsup.plotting._pca import plot_explained_variance

__all__ = [
    "lloyd_steps",
    "plot_dendrogram",
    "plot_embedding",
    "plot_explained_variance",
    "plot_image_grid",
    "plot_kmeans_steps",
    "plot_voronoi_cells",
]
