"""Clustering: k-means on numba kernels."""

from skunsup.cluster._kmeans import KMeans, kmeans_plusplus

__all__ = ["KMeans", "kmeans_plusplus"]
