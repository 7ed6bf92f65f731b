"""Lloyd's algorithm, written once over the step protocol its executors implement.

An executor holds the data where it lives (in memory: ``MemoryLloyd`` in
:mod:`skunsup.cluster._lloyd_memory`; on a Dask cluster: ``DaskLloyd`` in
:mod:`skunsup.cluster._kmeans_dask`) and answers for it:

- ``dtype``: the dtype of the data, kept by the centres;
- ``step(centers) -> (sums, weights, n_changed)``: assign every sample to its
  nearest centre and return the weighted sum of the samples of every cluster
  (float64, ``(n_clusters, n_features)``), the total weight of every cluster
  and how many samples changed cluster since the previous step (all of them
  at the first step of a run);
- ``relocate_empty(centers, sums, weights)``: give every cluster without
  weight a sample far from its centre (in place);
- ``assignment_inertia(centers)``: the inertia of the last step's assignment
  against ``centers`` (printed when ``verbose``);
- ``moved(shift)``: how far each centre moved (executors that keep bounds);
- ``finish(centers, reassign) -> inertia``: the final assignment (a new one
  when ``reassign``, the last step's otherwise) and its inertia;
- ``reassign(centers) -> inertia``: a new assignment of every sample to its
  nearest centre that trusts nothing an earlier step left (a step stopped by
  Ctrl-C may have left its labels or bounds half updated), and its inertia;
  the run ends there, as after ``finish``.

The estimator (:class:`~skunsup.cluster.KMeans`) chooses the executor, seeds
the centres and writes the fitted attributes; this module only iterates.
"""

import numpy as np


def lloyd(executor, centers_init, *, max_iter, tol, verbose=0, callback=None,
          callback_every=1, on_interrupt=None):
    """Lloyd iterations from ``centers_init`` on any executor.

    Stops when no sample changes cluster (strict convergence), when the sum of
    squared centre shifts is at most ``tol`` (an absolute value), after
    ``max_iter`` steps, when ``callback`` returns True, or (with
    ``on_interrupt``) on Ctrl-C; prints scikit-learn's lines when ``verbose``.

    Parameters
    ----------
    executor : object
        Implements the step protocol of this module.
    centers_init : ndarray of shape (n_clusters, n_features)
        Initial centres.
    max_iter : int
        Largest number of steps.
    tol : float
        Absolute tolerance on the sum of squared centre shifts.
    verbose : int, default=0
        Print the inertia of every step and why the run stopped.
    callback : callable, default=None
        ``callback(iteration, inertia, centers) -> bool``, called after every
        ``callback_every``-th step with the inertia of that step's assignment
        (the one ``verbose`` prints) and a copy of the centres it moved to.
        True stops the run as ``max_iter`` would have at that step.
    callback_every : int, default=1
        Steps between two calls of ``callback``.
    on_interrupt : callable, default=None
        Called as ``on_interrupt(n_iter)`` when a ``KeyboardInterrupt``
        arrives during the run; the run then ends at the centres of the last
        whole step (``n_iter`` of them; the initial centres if none), every
        sample assigned afresh to them (``executor.reassign``). None lets the
        interrupt through.

    Returns
    -------
    centers : ndarray of shape (n_clusters, n_features)
        Final centres (dtype of the data).
    inertia : float
        Weighted sum of squared distances of the samples to their centre.
    n_iter : int
        Steps run (whole steps, when interrupted).

    Examples
    --------
    >>> import numpy as np
    >>> from skunsup.cluster._lloyd import lloyd
    >>> from skunsup.cluster._lloyd_memory import MemoryLloyd
    >>> X = np.array([[0.0], [1.0], [10.0], [12.0]])
    >>> executor = MemoryLloyd(X, np.ones(4), step="plain")
    >>> centers, inertia, n_iter = lloyd(executor, X[[0, 2]], max_iter=10, tol=0.0)
    >>> centers.ravel().tolist(), inertia, executor.labels.tolist()
    ([0.5, 11.0], 2.5, [0, 0, 1, 1])
    """
    centers = np.array(centers_init, dtype=executor.dtype, order="C", copy=True)
    strict_convergence = False
    n_iter = n_done = 0
    try:
        for n_iter in range(1, max_iter + 1):
            sums, weights, n_changed = executor.step(centers)
            if np.any(weights <= 0):
                executor.relocate_empty(centers, sums, weights)
            call_back = callback is not None and n_iter % callback_every == 0
            if verbose or call_back:
                step_inertia = executor.assignment_inertia(centers)
            if verbose:
                print(f"Iteration {n_iter - 1}, inertia {step_inertia}.")
            new_centers = centers.copy()
            filled = weights > 0
            new_centers[filled] = sums[filled] / weights[filled, None]
            shift = np.sqrt(((new_centers.astype(np.float64) - centers) ** 2).sum(axis=1))
            shift_total = float((shift**2).sum())
            executor.moved(shift)
            # one statement: an interrupt leaves the centres and their count together
            centers, n_done = new_centers, n_iter
            if call_back and callback(n_iter, step_inertia, centers.copy()):
                break
            if n_changed == 0:
                if verbose:
                    print(f"Converged at iteration {n_iter - 1}: strict convergence.")
                strict_convergence = True
                break
            if shift_total <= tol:
                if verbose:
                    print(f"Converged at iteration {n_iter - 1}: center shift "
                          f"{shift_total} within tolerance {tol}.")
                break
        inertia = executor.finish(centers, reassign=not strict_convergence)
    except KeyboardInterrupt:
        if on_interrupt is None:
            raise
        on_interrupt(n_done)
        return centers, executor.reassign(centers), n_done
    return centers, inertia, n_iter
