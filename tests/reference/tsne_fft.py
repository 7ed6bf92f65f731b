"""Slow, obvious NumPy references for the FFT-interpolated t-SNE repulsion."""

import numpy as np


def exact_repulsion(Y, Y_ref=None, dof=1.0):
    """``sum_j w_ij u_ij (y_i - y_j)`` and ``Z = sum_{i != j} w_ij`` by an O(n^2) double sum.

    ``u = (1 + d^2 / dof)^-1`` and ``w = u^dof`` (``dof = 1``: ``w^2``, the
    Cauchy kernel). With ``Y_ref`` the sums run over the reference points (no
    self pair to remove).
    """
    Y = np.asarray(Y, dtype=np.float64)
    R = Y if Y_ref is None else np.asarray(Y_ref, dtype=np.float64)
    diff = Y[:, None, :] - R[None, :, :]
    u = 1.0 / (1.0 + (diff**2).sum(-1) / dof)
    w = u**dof
    if Y_ref is None:
        np.fill_diagonal(w, 0.0)
    forces = ((w * u)[:, :, None] * diff).sum(1)
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
