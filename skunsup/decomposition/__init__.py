"""Matrix decomposition: principal component analysis."""

from skunsup.decomposition._pca import PCA

__all__ = ["PCA"]
