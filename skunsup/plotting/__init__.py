"""Matplotlib helpers for embeddings and image grids (matplotlib is imported lazily)."""

from skunsup.plotting._gallery import plot_dendrogram, plot_voronoi_cells
from skunsup.plotting._images import plot_embedding, plot_image_grid

__all__ = ["plot_dendrogram", "plot_embedding", "plot_image_grid", "plot_voronoi_cells"]
