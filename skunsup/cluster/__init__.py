"""Clustering: k-means on numba kernels."""

from skunsup.cluster._kmeans import KMeans
from skunsup.cluster._kmeans_parallel import kmeans_parallel
from skunsup.cluster._minibatch_kmeans import MiniBatchKMeans
from skunsup.cluster._seeding import kmeans_plusplus

__all__ = ["KMeans", "MiniBatchKMeans", "kmeans_parallel", "kmeans_plusplus"]
