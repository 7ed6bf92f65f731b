"""Clustering: k-means on numba kernels."""

from skunsup.cluster._kmeans import KMeans, kmeans_plusplus
from skunsup.cluster._kmeans_dask import kmeans_parallel

__all__ = ["KMeans", "kmeans_parallel", "kmeans_plusplus"]
