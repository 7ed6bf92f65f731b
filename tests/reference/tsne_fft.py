"""Slow, obvious NumPy references for the FFT-interpolated t-SNE repulsion."""

import numpy as np


def exact_repulsion(Y, Y_ref=None):
    """``sum_j w_ij^2 (y_i - y_j)`` and ``Z = sum_{i != j} w_ij`` by an O(n^2) double sum.

    With ``Y_ref`` the sums run over the reference points (no self pair to remove).
    """
    Y = np.asarray(Y, dtype=np.float64)
    R = Y if Y_ref is None else np.asarray(Y_ref, dtype=np.float64)
    diff = Y[:, None, :] - R[None, :, :]
    w = 1.0 / (1.0 + (diff**2).sum(-1))
    if Y_ref is None:
        np.fill_diagonal(w, 0.0)
    forces = ((w**2)[:, :, None] * diff).sum(1)
    return forces, float(w.sum())


def exact_attraction(Y, P):
    """``sum_j p_ij w_ij (y_i - y_j)`` over a (dense or sparse) P, and ``sum p_ij log w_ij``."""
    Y = np.asarray(Y, dtype=np.float64)
    P = P.toarray() if hasattr(P, "toarray") else np.asarray(P)
    diff = Y[:, None, :] - Y[None, :, :]
    w = 1.0 / (1.0 + (diff**2).sum(-1))
    forces = ((P * w)[:, :, None] * diff).sum(1)
    nz = P > 0
    return forces, float((P[nz] * np.log(w[nz])).sum())
