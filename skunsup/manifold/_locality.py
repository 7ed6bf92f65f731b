"""An order of the points that keeps each point's affinity neighbours close in memory.

The attractive forces of t-SNE read, for every point i, the positions of the
points j of row i of P: about ``3 * perplexity`` to twice that, scattered over
the whole embedding when the points come in the data's order. Once the
embedding outgrows the caches (hundreds of thousands of points) every read is
a cache miss. Renumbering the points by the reverse Cuthill-McKee order of P's
graph (scipy) puts the neighbours of a point at nearby indices: measured on
600,000 points with 90 neighbours each on 2 cores, one pass of the attraction
went from 1.18 s to 0.20 s, for a one-off 1.3 s ordering.
"""

import numba
import numpy as np
import scipy.sparse as sp
from scipy.sparse.csgraph import reverse_cuthill_mckee

from skunsup.utils._numba import jit_parallel

# From this many points on, the fit renumbers the points (below, the whole
# embedding stays in cache and the ordering is not worth its cost).
LOCALITY_MIN_SAMPLES = 200_000


@jit_parallel
def _permute_rows(data, indices, indptr, order, inverse, new_indptr, new_data, new_indices):
    """Row ``r`` of the output is row ``order[r]`` of the input, columns renumbered by
    ``inverse`` and sorted (IN: the input CSR, order, inverse, new_indptr; OUT: new_data,
    new_indices)."""
    for r in numba.prange(order.shape[0]):
        old = order[r]
        lo = indptr[old]
        length = indptr[old + 1] - lo
        columns = np.empty(length, dtype=np.int64)
        for t in range(length):
            columns[t] = inverse[indices[lo + t]]
        by_column = np.argsort(columns)
        out = new_indptr[r]
        for t in range(length):
            new_indices[out + t] = columns[by_column[t]]
            new_data[out + t] = data[lo + by_column[t]]


def locality_order(P):
    """The reverse Cuthill-McKee order of the graph of a symmetric sparse P.

    Parameters
    ----------
    P : sparse matrix of shape (n, n)
        Symmetric affinities.

    Returns
    -------
    order : ndarray of shape (n,), dtype intp
        ``order[r]`` is the point placed at position ``r``.

    Examples
    --------
    >>> import numpy as np
    >>> import scipy.sparse as sp
    >>> from skunsup.manifold._locality import locality_order
    >>> P = sp.csr_array(np.array([[0, 0, 1], [0, 0, 1], [1, 1, 0]], dtype=float))
    >>> sorted(locality_order(P).tolist())
    [0, 1, 2]
    """
    graph = sp.csr_matrix(P)
    return np.asarray(reverse_cuthill_mckee(graph, symmetric_mode=True), dtype=np.intp)


def permute_symmetric(P, order, dtype=None):
    """``P[order][:, order]`` of a CSR matrix, in one parallel pass.

    Parameters
    ----------
    P : sparse matrix of shape (n, n)
        The matrix (CSR or convertible).
    order : ndarray of shape (n,)
        A permutation of ``range(n)``.
    dtype : dtype, default=None
        dtype of the new values (default: P's). The column indices are int32
        when they fit.

    Returns
    -------
    P_new : scipy.sparse.csr_array of shape (n, n)
        With sorted indices.

    Examples
    --------
    >>> import numpy as np
    >>> import scipy.sparse as sp
    >>> from skunsup.manifold._locality import permute_symmetric
    >>> P = sp.csr_array(np.array([[0., 1, 2], [1, 0, 0], [2, 0, 0]]))
    >>> permute_symmetric(P, np.array([2, 0, 1])).toarray().tolist()
    [[0.0, 2.0, 0.0], [2.0, 0.0, 1.0], [0.0, 1.0, 0.0]]
    """
    P = sp.csr_array(P)
    order = np.asarray(order, dtype=np.int64)
    inverse = np.empty_like(order)
    inverse[order] = np.arange(order.size)
    lengths = np.diff(P.indptr)[order]
    new_indptr = np.zeros(order.size + 1, dtype=np.int64)
    np.cumsum(lengths, out=new_indptr[1:])
    new_data = np.empty(P.nnz, dtype=P.data.dtype if dtype is None else dtype)
    new_indices = np.empty(P.nnz, dtype=np.int32 if P.shape[1] < 2**31 else np.int64)
    _permute_rows(P.data, P.indices, P.indptr.astype(np.int64), order, inverse, new_indptr,
                  new_data, new_indices)
    return sp.csr_array((new_data, new_indices, new_indptr), shape=P.shape)
