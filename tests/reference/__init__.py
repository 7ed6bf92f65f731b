"""Slow, obviously-correct NumPy twins of the numba kernels, used only by tests."""
