"""Manifold learning: SNE and t-SNE."""

from skunsup.manifold._sne import SNE
from skunsup.manifold._tsne import TSNE

__all__ = ["SNE", "TSNE"]
