"""skunsup.neural_network (estimators land here with their issues)."""

__all__ = []
