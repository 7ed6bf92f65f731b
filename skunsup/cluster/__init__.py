"""skunsup.cluster (estimators land here with their issues)."""

__all__ = []
