"""Matrix decomposition: principal component analysis, batch and incremental."""

from skunsup.decomposition._incremental_pca import IncrementalPCA
from skunsup.decomposition._pca import PCA

__all__ = ["IncrementalPCA", "PCA"]
