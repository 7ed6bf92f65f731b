"""Loaders for the data sets used in the lecture, from local files only."""

from skunsup.datasets._fashion_mnist import find_fashion_mnist, load_fashion_mnist
from skunsup.datasets._tour_data import load_tour_data

__all__ = ["find_fashion_mnist", "load_fashion_mnist", "load_tour_data"]
