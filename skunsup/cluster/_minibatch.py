"""Mini-batch k-means (Sculley 2010, as scikit-learn runs it), written once over batches.

A mini-batch step assigns a batch to the current centres and moves every
centre the batch touched to the weighted mean of everything it has been
given so far: with ``counts[c]`` the total weight the centre has absorbed,
its new position is ``(counts[c] * center + batch_sum[c]) / (counts[c] +
batch_weight[c])`` (a per-centre learning rate ``batch_weight / counts``
that decays as the centre ages). Centres whose count falls below
``reassignment_ratio`` times the largest are moved to random samples of the
batch. :func:`minibatch_step` is that step; :func:`minibatch_loop` repeats it
over the batches an executor draws, with scikit-learn's stopping rules and
``verbose`` lines (:class:`EwaStopping`).

An executor (``MemoryBatches`` in :mod:`skunsup.cluster._minibatch_memory`)
holds the data and answers for it:

- ``n_samples``, ``batch_size``: the size of the data and of a batch;
- ``draw(random_state) -> (X, rows, weights, x_squared_norms)``: a batch of
  rows drawn with probability proportional to their weight -- the data and
  the batch's row indices into it (the step gathers them), with its weights
  (ones: the weights are in the draw) and the rows' squared norms (None where
  the step needs none: dense data).

The estimator (:class:`~skunsup.cluster.MiniBatchKMeans`) seeds the centres,
keeps the state between ``partial_fit`` calls and writes the fitted
attributes; this module only updates centres.
"""

import contextlib

import numpy as np
import scipy.sparse as sp

from skunsup.cluster import _kmeans_ops as ops
from skunsup.cluster._minibatch_kernels import _update_centers
from skunsup.utils._blas import blas_threads
from skunsup.utils._numba import numba_threads

# CSR batches of at most this many rows are stepped with numba on one thread.
# A step of 1,024 rows is too small to share, and parallel kernels between
# BLAS calls left the two pools' idle threads spinning against each other:
# every step 5-50x slower on 2 cores (measured on dense batches, default fits
# with k = 100: Fashion-MNIST 5.8 s on all threads, 1.1 s on one; 200,000 x 32
# blobs 10.2 s against 0.21 s). From 16,384 rows on, the parallel kernels were
# faster again. Dense steps need no limit: their kernel
# (_lloyd_kernels._lloyd_dense_chunked) calls BLAS from its own threads, on one
# BLAS thread each, so only one pool runs.
SINGLE_THREAD_MAX_ROWS = 8192


@contextlib.contextmanager
def step_threads(batch_rows, sparse):
    """The thread limits of a loop of mini-batch steps.

    CSR batches of at most ``SINGLE_THREAD_MAX_ROWS`` rows run on one numba
    thread. Dense steps call BLAS from the chunked kernel's threads, on one
    BLAS thread each: the limit is held over the loop (one threadpoolctl call
    instead of one a step).

    Examples
    --------
    >>> import numba
    >>> from skunsup.cluster._minibatch import step_threads
    >>> with step_threads(1024, sparse=True):
    ...     numba.get_num_threads()
    1
    """
    if not sparse:
        with blas_threads(1):
            yield
    elif batch_rows <= SINGLE_THREAD_MAX_ROWS:
        with numba_threads(1):
            yield
    else:
        yield


def update_centers(centers, counts, sums, weights):
    """Move the centres a batch touched to the mean of all they have absorbed.

    Parameters
    ----------
    centers : ndarray of shape (n_clusters, n_features)
        The centres before the batch (not modified).
    counts : ndarray of shape (n_clusters,), dtype float64
        Total weight every centre has absorbed; updated in place.
    sums : ndarray of shape (n_groups, n_clusters, n_features), dtype float64
        Weighted sum of the batch's samples of every centre, by row group of
        the step kernel (summed here).
    weights : ndarray of shape (n_groups, n_clusters), dtype float64
        Total weight of the batch's samples of every centre, likewise.

    Returns
    -------
    new_centers : ndarray of shape (n_clusters, n_features)
        Same dtype as ``centers``; untouched centres keep their position.

    Examples
    --------
    >>> import numpy as np
    >>> from skunsup.cluster._minibatch import update_centers
    >>> counts = np.array([3.0, 0.0])
    >>> new = update_centers(np.array([[0.0], [5.0]]), counts, np.array([[[4.0], [0.0]]]),
    ...                      np.array([[1.0, 0.0]]))
    >>> new.ravel().tolist(), counts.tolist()
    ([1.0, 5.0], [4.0, 0.0])
    """
    new_centers = np.empty_like(centers)
    _update_centers(centers, counts, sums, weights, new_centers)
    return new_centers


def reassign_small_clusters(X, centers, counts, reassignment_ratio, random_state,
                            verbose=0, rows=None):
    """Move the centres with the smallest counts to random rows of the batch (in place).

    A centre whose count is below ``reassignment_ratio`` times the largest is
    moved to a row of the batch drawn uniformly without replacement; at most
    half a batch of centres (those with the smallest counts) are moved. The
    moved centres' counts become the smallest count of the others, so that
    they are not moved again at once (which also slows their next updates,
    as in scikit-learn).

    Parameters
    ----------
    X : {ndarray, csr_matrix} of shape (batch_size, n_features)
        The batch.
    centers : ndarray of shape (n_clusters, n_features)
        Updated in place.
    counts : ndarray of shape (n_clusters,), dtype float64
        Updated in place.
    reassignment_ratio : float
        The fraction of the largest count below which a centre is moved.
    random_state : RandomState instance
        Draws the rows.
    verbose : int, default=0
        Print how many centres moved when positive.
    rows : ndarray of shape (batch_size,), dtype int64, default=None
        The batch's rows of X (None: X is the batch).

    Returns
    -------
    n_reassigned : int

    Examples
    --------
    >>> import numpy as np
    >>> from skunsup.cluster._minibatch import reassign_small_clusters
    >>> centers, counts = np.array([[0.0], [1.0]]), np.array([100.0, 0.5])
    >>> reassign_small_clusters(np.array([[7.0], [7.0]]), centers, counts, 0.01,
    ...                         np.random.RandomState(0))
    1
    >>> centers.ravel().tolist(), counts.tolist()
    ([0.0, 7.0], [100.0, 100.0])
    """
    n_batch = X.shape[0] if rows is None else rows.shape[0]
    to_reassign = counts < reassignment_ratio * counts.max()
    if to_reassign.sum() > 0.5 * n_batch:
        to_reassign[np.argsort(counts, kind="stable")[int(0.5 * n_batch):]] = False
    n_reassigned = int(to_reassign.sum())
    if n_reassigned:
        chosen = random_state.choice(n_batch, replace=False, size=n_reassigned)
        picked = X[chosen if rows is None else rows[chosen]]
        centers[to_reassign] = picked.toarray() if sp.issparse(picked) else picked
        if verbose:
            print(f"[MiniBatchKMeans] Reassigning {n_reassigned} cluster centers.")
        if not to_reassign.all():  # (a ratio above 1 may name every centre)
            counts[to_reassign] = counts[~to_reassign].min()
    return n_reassigned


def minibatch_step(X, sample_weight, centers, counts, *, rows=None, x_squared_norms=None,
                   random_state=None, reassign=False, reassignment_ratio=0.01, verbose=0):
    """One mini-batch step: assign the batch, update the centres, maybe reassign.

    CSR batches of at most ``SINGLE_THREAD_MAX_ROWS`` rows keep one group of
    partial sums (the loop runs them on one thread, see :func:`step_threads`).

    Parameters
    ----------
    X : {ndarray, csr_matrix} of shape (n_samples, n_features)
        The batch, or the data the batch's ``rows`` are taken from:
        C-contiguous float32/float64 or canonical CSR.
    sample_weight : ndarray of shape (batch_size,), dtype float64
        Weights of the batch's samples.
    centers : ndarray of shape (n_clusters, n_features)
        Current centres, dtype of X (not modified).
    counts : ndarray of shape (n_clusters,), dtype float64
        Total weight every centre has absorbed; updated in place.
    rows : ndarray of shape (batch_size,), dtype int64, default=None
        The batch's rows of X (None: X is the batch).
    x_squared_norms : ndarray of shape (batch_size,), default=None
        Squared row norms of the batch (CSR only; computed when None).
    random_state : RandomState instance, default=None
        Draws the rows of a reassignment (needed when ``reassign``).
    reassign : bool, default=False
        Whether to move the centres with small counts after the update.
    reassignment_ratio : float, default=0.01
        See :func:`reassign_small_clusters`; 0 moves nothing.
    verbose : int, default=0
        Print reassignments when positive.

    Returns
    -------
    new_centers : ndarray of shape (n_clusters, n_features)
    inertia : float
        Weighted sum of squared distances of the batch to ``centers`` (before
        the update).

    Examples
    --------
    >>> import numpy as np
    >>> from skunsup.cluster._minibatch import minibatch_step
    >>> counts = np.zeros(2)
    >>> new, inertia = minibatch_step(np.array([[0.0], [1.0], [9.0]]), np.ones(3),
    ...                               np.array([[0.0], [10.0]]), counts)
    >>> new.ravel().tolist(), inertia, counts.tolist()
    ([0.5, 9.0], 2.0, [2.0, 1.0])
    """
    n_batch = X.shape[0] if rows is None else rows.shape[0]
    _, sums, weights, inertia, _ = ops.lloyd_group_partials(
        X, sample_weight, centers, rows=rows, serial=n_batch <= SINGLE_THREAD_MAX_ROWS,
        x_squared_norms=x_squared_norms)
    new_centers = update_centers(centers, counts, sums, weights)
    if reassign and reassignment_ratio > 0:
        reassign_small_clusters(X, new_centers, counts, reassignment_ratio, random_state,
                                verbose, rows=rows)
    return new_centers, float(inertia.sum())


def reassignment_due(counts, n_since_last, batch_size):
    """Whether the next step reassigns, and the samples seen since the last one.

    A reassignment is due every ``10 * n_clusters`` samples, and at every
    step while a centre has absorbed nothing.

    Examples
    --------
    >>> import numpy as np
    >>> from skunsup.cluster._minibatch import reassignment_due
    >>> reassignment_due(np.ones(3), 0, 10), reassignment_due(np.ones(3), 20, 10)
    ((False, 10), (True, 0))
    """
    n_since_last += batch_size
    if (counts == 0).any() or n_since_last >= 10 * counts.shape[0]:
        return True, 0
    return False, n_since_last


class EwaStopping:
    """scikit-learn's stopping rules for mini-batch k-means, and its verbose lines.

    The batch inertias (per sample) are smoothed by an exponentially weighted
    average with weight ``min(1, 2 * batch_size / (n_samples + 1))``; a fit
    stops when that average has not reached a new minimum for
    ``max_no_improvement`` steps, or when the squared centre shift of a step
    is at most ``tol`` (an absolute value; 0 disables the rule). The first
    step only prints: its inertia is that of the initial centres.

    Parameters
    ----------
    n_samples, batch_size : int
    tol : float
    max_no_improvement : int or None
    verbose : int

    Attributes
    ----------
    ewa_inertia : float or None
        The smoothed mean batch inertia (None before the second step).

    Examples
    --------
    >>> from skunsup.cluster._minibatch import EwaStopping
    >>> stop = EwaStopping(n_samples=100, batch_size=10, tol=0.0, max_no_improvement=1,
    ...                    verbose=0)
    >>> [stop.update(step, 5, 0.0, 10.0) for step in range(3)]
    [False, False, True]
    """

    def __init__(self, n_samples, batch_size, tol, max_no_improvement, verbose):
        self.n_samples = n_samples
        self.batch_size = batch_size
        self.tol = tol
        self.max_no_improvement = max_no_improvement
        self.verbose = verbose
        self.ewa_inertia = None
        self._ewa_min = None
        self._no_improvement = 0

    def update(self, step, n_steps, centers_squared_diff, batch_inertia):
        """Record a step (0-based); True when the fit should stop."""
        batch_inertia /= self.batch_size
        step += 1
        if step == 1:
            if self.verbose:
                print(f"Minibatch step {step}/{n_steps}: mean batch inertia: {batch_inertia}")
            return False
        if self.ewa_inertia is None:
            self.ewa_inertia = batch_inertia
        else:
            alpha = min(self.batch_size * 2.0 / (self.n_samples + 1), 1.0)
            self.ewa_inertia = self.ewa_inertia * (1 - alpha) + batch_inertia * alpha
        if self.verbose:
            print(f"Minibatch step {step}/{n_steps}: mean batch inertia: {batch_inertia}, "
                  f"ewa inertia: {self.ewa_inertia}")
        if self.tol > 0.0 and centers_squared_diff <= self.tol:
            if self.verbose:
                print(f"Converged (small centers change) at step {step}/{n_steps}")
            return True
        if self._ewa_min is None or self.ewa_inertia < self._ewa_min:
            self._no_improvement = 0
            self._ewa_min = self.ewa_inertia
        else:
            self._no_improvement += 1
        if (self.max_no_improvement is not None
                and self._no_improvement >= self.max_no_improvement):
            if self.verbose:
                print(f"Converged (lack of improvement in inertia) at step {step}/{n_steps}")
            return True
        return False


def minibatch_loop(batches, centers, counts, n_since_last, *, n_steps, tol,
                   max_no_improvement, reassignment_ratio, random_state, verbose=0,
                   callback=None, callback_every=1, on_interrupt=None):
    """Mini-batch steps over the batches an executor draws, until a stopping rule holds.

    Parameters
    ----------
    batches : object
        Implements the batch protocol of this module.
    centers : ndarray of shape (n_clusters, n_features)
        Initial centres (not modified).
    counts : ndarray of shape (n_clusters,), dtype float64
        Weight absorbed by every centre; updated in place.
    n_since_last : int
        Samples seen since the last reassignment.
    n_steps : int
        Most steps to run.
    tol : float
        Absolute tolerance on the squared centre shift of a step (0: off).
    max_no_improvement : int or None
        See :class:`EwaStopping`.
    reassignment_ratio : float
        See :func:`reassign_small_clusters`.
    random_state : RandomState instance
        Draws the batches and the reassigned rows.
    verbose : int, default=0
    callback : callable, default=None
        ``callback(step, mean_batch_inertia, centers) -> bool``, called after
        every ``callback_every``-th step (counted from 1) with the batch's
        inertia per unit of weight before the update and a copy of the
        updated centres; True stops the loop there.
    callback_every : int, default=1
    on_interrupt : callable, default=None
        Called as ``on_interrupt(n_steps_run)`` when a ``KeyboardInterrupt``
        arrives; the loop then returns the centres, ``counts`` and
        ``n_since_last`` of its last whole step. None lets the interrupt
        through.

    Returns
    -------
    centers : ndarray of shape (n_clusters, n_features)
    n_steps_run : int
    last_mean_inertia : float
        The smoothed mean batch inertia (the last batch's when a single step ran).
    n_since_last : int
    """
    stopping = EwaStopping(batches.n_samples, batches.batch_size, tol, max_no_improvement,
                           verbose)
    batch_inertia = 0.0
    # (centres, steps, counts, n_since_last) after the last whole step: a step
    # updates counts in place before its centres, so Ctrl-C may split them
    whole = (centers, 0, counts.copy(), n_since_last)
    try:
        with step_threads(batches.batch_size, sp.issparse(batches.X)):
            for step in range(n_steps):
                X, rows, weights, x_squared_norms = batches.draw(random_state)
                reassign, n_since_last = reassignment_due(counts, n_since_last,
                                                          batches.batch_size)
                new_centers, batch_inertia = minibatch_step(
                    X, weights, centers, counts, rows=rows, x_squared_norms=x_squared_norms,
                    random_state=random_state, reassign=reassign,
                    reassignment_ratio=reassignment_ratio, verbose=verbose)
                shift = float(((new_centers - centers) ** 2).sum()) if tol > 0 else 0.0
                centers = new_centers
                whole = (centers, step + 1, counts.copy(), n_since_last)
                if (callback is not None and (step + 1) % callback_every == 0
                        and callback(step + 1, batch_inertia / weights.sum(),
                                     centers.copy())):
                    break
                if stopping.update(step, n_steps, shift, batch_inertia):
                    break
    except KeyboardInterrupt:
        if on_interrupt is None:
            raise
        centers, _, counts[:], n_since_last = whole
        on_interrupt(whole[1])
    mean_inertia = (stopping.ewa_inertia if stopping.ewa_inertia is not None
                    else batch_inertia / batches.batch_size)
    return centers, whole[1], mean_inertia, n_since_last
