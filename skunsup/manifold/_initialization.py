"""Initial embeddings: small pure functions, each returning a C-contiguous float64 array.

All of them end with :func:`rescale`: the first coordinate gets a standard
deviation of ``1e-4`` (t-SNE's customary tiny start, so that the early
exaggeration phase can form clusters before the map expands).
"""

import numpy as np
import scipy.sparse as sp
from scipy.sparse.linalg import LinearOperator, eigsh, svds
from sklearn.utils import check_random_state

__all__ = ["classical_mds", "pca", "random", "rescale", "median_of_neighbors", "spectral"]

#: standard deviation of the first coordinate of every initial map (module docstring)
TARGET_STD = 1e-4


def rescale(Y, target_std=TARGET_STD):
    """Scale ``Y`` so that its first column has standard deviation ``target_std``.

    Parameters
    ----------
    Y : ndarray of shape (n_samples, n_components)
    target_std : float, default=1e-4

    Returns
    -------
    Y : ndarray of shape (n_samples, n_components), C-contiguous float64

    Examples
    --------
    >>> import numpy as np
    >>> from skunsup.manifold._initialization import rescale
    >>> float(np.round(rescale(np.array([[1.0], [3.0]])).std(), 8))
    0.0001
    """
    Y = np.array(Y, dtype=np.float64, order="C", copy=True)
    std = Y[:, 0].std() if Y.shape[0] > 1 else 0.0
    if std > 0 and np.isfinite(std):
        Y *= target_std / std
    return Y


def random(n_samples, n_components, random_state=None, target_std=TARGET_STD):
    """Gaussian initial positions with standard deviation ``target_std``.

    Parameters
    ----------
    n_samples, n_components : int
    random_state : int, RandomState instance or None, default=None
    target_std : float, default=1e-4

    Returns
    -------
    Y : ndarray of shape (n_samples, n_components)

    Examples
    --------
    >>> from skunsup.manifold._initialization import random
    >>> random(5, 2, random_state=0).shape
    (5, 2)
    """
    rng = check_random_state(random_state)
    return np.ascontiguousarray(rng.standard_normal((n_samples, n_components)) * target_std)


def _fix_signs(components):
    """Make the largest-magnitude entry of every column positive (deterministic signs)."""
    rows = np.argmax(np.abs(components), axis=0)
    signs = np.sign(components[rows, np.arange(components.shape[1])])
    signs[signs == 0] = 1.0
    return components * signs


def pca(X, n_components, random_state=None, target_std=TARGET_STD):
    """The first principal components of ``X``, rescaled.

    Computed from the covariance matrix (``n_features × n_features``, float64),
    with deterministic signs. Missing dimensions (fewer features than
    components) are filled with tiny noise from ``random_state``.

    Sparse ``X`` stays sparse: its components come from a truncated SVD of
    the implicitly centred matrix (ARPACK, started from ``random_state``).

    Parameters
    ----------
    X : {ndarray, sparse matrix} of shape (n_samples, n_features)
    n_components : int
    random_state : int, RandomState instance or None, default=None
    target_std : float, default=1e-4

    Returns
    -------
    Y : ndarray of shape (n_samples, n_components)

    Examples
    --------
    >>> import numpy as np
    >>> from skunsup.manifold._initialization import pca
    >>> X = np.array([[0.0, 0.0], [1.0, 0.1], [2.0, 0.0], [3.0, 0.1]])
    >>> Y = pca(X, 1)
    >>> Y.shape, bool(Y[0, 0] < Y[-1, 0])
    ((4, 1), True)
    """
    if sp.issparse(X):
        if n_components < min(X.shape):
            return _sparse_pca(sp.csr_array(X, dtype=np.float64), n_components,
                               random_state, target_std)
        X = X.toarray()  # fewer features or samples than components: tiny
    X = np.asarray(X, dtype=np.float64)
    Xc = X - X.mean(axis=0)
    cov = Xc.T @ Xc
    k = min(n_components, X.shape[1])
    _, vectors = np.linalg.eigh(cov)
    components = _fix_signs(vectors[:, ::-1][:, :k])
    Y = Xc @ components
    if k < n_components:
        Y = _pad(Y, n_components, random_state)
    return _rescale_or_random(Y, random_state, target_std)


def _sparse_pca(X, n_components, random_state, target_std):
    """PCA of sparse X without densifying it: ``svds`` of ``X - 1 meanᵀ`` as an operator."""
    rng = check_random_state(random_state)
    mean = np.asarray(X.mean(axis=0)).ravel()
    ones = np.ones(X.shape[0])
    centred = LinearOperator(
        X.shape, dtype=np.float64,
        matvec=lambda v: X @ v.ravel() - ones * (mean @ v.ravel()),
        rmatvec=lambda u: X.T @ u.ravel() - mean * u.sum(),
    )
    v0 = rng.uniform(-1, 1, min(X.shape))
    _, values, vt = svds(centred, k=n_components, v0=v0)
    components = _fix_signs(vt[np.argsort(values)[::-1]].T)
    Y = X @ components - mean @ components
    return _rescale_or_random(Y, random_state, target_std)


def spectral(P, n_components, random_state=None, target_std=TARGET_STD):
    """Spectral embedding of a symmetric affinity graph, rescaled.

    The leading non-trivial eigenvectors of ``D^-1/2 P D^-1/2`` (``D`` the
    degrees), divided by ``D^1/2``: the initial map of a sparse distance graph,
    where neither PCA (no coordinates) nor classical MDS (not all distances)
    exists. ARPACK starts from ``random_state``.

    Parameters
    ----------
    P : sparse matrix of shape (n_samples, n_samples)
        Symmetric, non-negative affinities.
    n_components : int
    random_state : int, RandomState instance or None, default=None
    target_std : float, default=1e-4

    Returns
    -------
    Y : ndarray of shape (n_samples, n_components)

    Examples
    --------
    >>> import numpy as np
    >>> import scipy.sparse as sp
    >>> from skunsup.manifold._initialization import spectral
    >>> chain = sp.diags([np.ones(9), np.ones(9)], [-1, 1], format="csr")
    >>> Y = spectral(chain, 1)
    >>> Y.shape, bool(abs(Y[0, 0] - Y[-1, 0]) > abs(Y[4, 0] - Y[5, 0]))
    ((10, 1), True)
    """
    rng = check_random_state(random_state)
    P = sp.csr_array(P, dtype=np.float64)
    n = P.shape[0]
    degrees = np.asarray(P.sum(axis=1)).ravel()
    inv_sqrt = 1.0 / np.sqrt(np.where(degrees > 0, degrees, 1.0))
    A = sp.diags_array(inv_sqrt) @ P @ sp.diags_array(inv_sqrt)
    k = min(n_components + 1, n - 1)
    if k < 1:
        return random(n, n_components, rng, target_std)
    if k >= n - 1:
        values, vectors = np.linalg.eigh(A.toarray())  # tiny graph
    else:
        values, vectors = eigsh(A, k=k, which="LA", v0=rng.uniform(-1, 1, n))
    vectors = vectors[:, np.argsort(values)[::-1]]
    Y = _fix_signs(vectors[:, 1:n_components + 1] * inv_sqrt[:, None])
    if Y.shape[1] < n_components:
        Y = _pad(Y, n_components, rng)
    return _rescale_or_random(Y, rng, target_std)


def classical_mds(D, n_components, random_state=None, target_std=TARGET_STD):
    """Classical MDS of a distance matrix (equals PCA when the distances are Euclidean).

    Parameters
    ----------
    D : ndarray of shape (n_samples, n_samples)
        Distances (not squared).
    n_components : int
    random_state : int, RandomState instance or None, default=None
    target_std : float, default=1e-4

    Returns
    -------
    Y : ndarray of shape (n_samples, n_components)

    Examples
    --------
    >>> import numpy as np
    >>> from skunsup.manifold._initialization import classical_mds
    >>> D = np.abs(np.subtract.outer([0.0, 1.0, 3.0], [0.0, 1.0, 3.0]))
    >>> classical_mds(D, 2).shape
    (3, 2)
    """
    from scipy.linalg import eigh

    D = np.asarray(D, dtype=np.float64)
    n = D.shape[0]
    B = -0.5 * D**2
    B -= B.mean(axis=0)
    B -= B.mean(axis=1, keepdims=True)
    k = min(n_components, n)
    values, vectors = eigh(B, subset_by_index=[n - k, n - 1])
    values, vectors = values[::-1], _fix_signs(vectors[:, ::-1])
    Y = vectors * np.sqrt(np.clip(values, 0.0, None))
    if k < n_components:
        Y = _pad(Y, n_components, random_state)
    return _rescale_or_random(Y, random_state, target_std)


def _pad(Y, n_components, random_state):
    rng = check_random_state(random_state)
    scale = Y.std() if Y.size and Y.std() > 0 else 1.0
    extra = rng.standard_normal((Y.shape[0], n_components - Y.shape[1])) * scale * 1e-2
    return np.hstack([Y, extra])


def _rescale_or_random(Y, random_state, target_std):
    if Y.shape[0] < 2 or not np.all(np.isfinite(Y)) or Y[:, 0].std() == 0:
        # constant data: principal directions are meaningless, start at random
        return random(Y.shape[0], Y.shape[1], random_state, target_std)
    return rescale(Y, target_std)


def median_of_neighbors(P_new, Y_ref, n_neighbors=10):
    """Start new points at the coordinate-wise median of their closest reference points.

    Parameters
    ----------
    P_new : scipy.sparse.csr_array of shape (n_new, n_ref)
        Affinities of new points to the reference points (rows sum to 1).
    Y_ref : ndarray of shape (n_ref, n_components)
    n_neighbors : int, default=10
        How many of the highest-affinity reference points take part.

    Returns
    -------
    Y_new : ndarray of shape (n_new, n_components)

    Examples
    --------
    >>> import numpy as np
    >>> import scipy.sparse as sp
    >>> from skunsup.manifold._initialization import median_of_neighbors
    >>> P = sp.csr_array(np.array([[0.5, 0.5, 0.0], [0.0, 0.0, 1.0]]))
    >>> Y = np.array([[0.0, 0.0], [2.0, 2.0], [9.0, 9.0]])
    >>> median_of_neighbors(P, Y).tolist()
    [[1.0, 1.0], [9.0, 9.0]]
    """
    P_new = P_new.tocsr() if hasattr(P_new, "tocsr") else P_new
    n_new = P_new.shape[0]
    lengths = np.diff(P_new.indptr)
    if n_new and np.all(lengths == lengths[0]) and lengths[0] > 0:
        k = int(lengths[0])
        weights = P_new.data.reshape(n_new, k)
        cols = P_new.indices.reshape(n_new, k)
        order = np.argsort(-weights, axis=1, kind="stable")[:, :n_neighbors]
        top = np.take_along_axis(cols, order, axis=1)
        return np.ascontiguousarray(np.median(Y_ref[top], axis=1))
    Y_new = np.zeros((n_new, Y_ref.shape[1]))
    indptr, indices, data = P_new.indptr, P_new.indices, P_new.data
    for i in range(n_new):
        cols = indices[indptr[i]:indptr[i + 1]]
        if cols.size == 0:
            continue
        weights = data[indptr[i]:indptr[i + 1]]
        top = cols[np.argsort(-weights, kind="stable")[:n_neighbors]]
        Y_new[i] = np.median(Y_ref[top], axis=0)
    return np.ascontiguousarray(Y_new)
