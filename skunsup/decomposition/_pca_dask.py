"""PCA on Dask arrays: covariance route for moderate widths, TSQR / randomized SVD else.

- ``'covariance_eigh'`` (the lecture's method, 'auto' for up to 1,000 features):
  every row block gives its sample count, mean and centred scatter matrix
  (the same float32-product / float64-sum kernel as the in-memory PCA), the
  blocks are merged in a fixed tree with the parallel-variance formula of
  Chan et al., and the d x d covariance is eigendecomposed on the client.
  Only d x d matrices travel.
- ``'full'``: the exact SVD of the centred data by ``dask.array.linalg.svd``
  (tall-and-skinny QR, TSQR), for wide data where d x d blocks are too big
  to add up but the full spectrum is wanted.
- ``'randomized'``: ``dask.array.linalg.svd_compressed`` with power
  iterations (scikit-learn's default count), for wide data and few
  components.

The fitted attributes are those of the in-memory fit (NumPy arrays);
``transform`` and ``inverse_transform`` of a Dask array return Dask arrays,
lazily. Dask is imported inside the functions only.
"""

import numpy as np
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_is_fitted

from skunsup.decomposition._covariance import centered_covariance
from skunsup.decomposition._spectrum import (
    choose_solver,
    eigh_spectrum,
    fitted_attributes,
)
from skunsup.utils._dask import as_block, check_dask_array, row_blocks, tree_reduce
from skunsup.utils._numba import numba_threads


# --------------------------------------------------------------- block tasks


def _scatter_block(X):
    """(n, mean, centred scatter matrix) of one block, in float64."""
    X = as_block(X)
    n, d = X.shape
    if n == 0:
        return 0, np.zeros(d), np.zeros((d, d))
    if n == 1:
        return 1, X[0].astype(np.float64), np.zeros((d, d))
    with numba_threads(1):
        mean, covariance = centered_covariance(X)
    return n, mean, covariance * (n - 1)


def _moments_block(X):
    """(n, mean, sum of squared deviations per feature) of one block, in float64."""
    X = as_block(X)
    n, d = X.shape
    if n == 0:
        return 0, np.zeros(d), np.zeros(d)
    mean = X.mean(axis=0, dtype=np.float64)
    deviations = X - mean.astype(X.dtype)
    shift = deviations.mean(axis=0, dtype=np.float64)  # rounding left by the cast
    m2 = np.einsum("ij,ij->j", deviations, deviations, dtype=np.float64)
    m2 -= n * shift**2
    return n, mean, np.maximum(m2, 0.0)


def _merge(parts):
    """Chan et al.'s pairwise update of (count, mean, scatter) over parts, in order."""
    n, mean, scatter = parts[0]
    mean = np.array(mean, dtype=np.float64)
    scatter = np.array(scatter, dtype=np.float64)
    for n_b, mean_b, scatter_b in parts[1:]:
        if n_b == 0:
            continue
        if n == 0:
            n, mean, scatter = n_b, np.array(mean_b), np.array(scatter_b)
            continue
        total = n + n_b
        delta = mean_b - mean
        if scatter.ndim == 2:
            scatter += scatter_b + np.outer(delta, delta) * (n * n_b / total)
        else:
            scatter += scatter_b + delta**2 * (n * n_b / total)
        mean = mean + delta * (n_b / total)
        n = total
    return n, mean, scatter


def _merge_parts(*parts):
    return _merge(parts)


def _project_block(X, mean, components, scale):
    X = as_block(X)
    if not np.isfinite(X).all():
        raise ValueError("Input X contains NaN or infinity (found in a Dask block).")
    dtype = np.result_type(X.dtype, components.dtype)
    out = np.matmul(X - mean, components.T).astype(dtype, copy=False)
    if scale is not None:
        out /= scale
    return out


def _inverse_block(X, mean, components, scale):
    X = np.asarray(X)
    if scale is not None:
        X = X * scale
    return X @ components + mean


# ------------------------------------------------------------------- drivers


def _reduce(X, block_func):
    import dask

    parts = [dask.delayed(block_func, pure=True)(block) for block in row_blocks(X)]
    n, mean, scatter = tree_reduce(parts, _merge_parts).compute()
    if not (np.isfinite(mean).all() and np.isfinite(scatter).all()):
        raise ValueError("Input X contains NaN or infinity (found while reducing the Dask "
                         "blocks).")
    return n, mean, scatter


def _choose_solver(estimator, n_samples, n_features):
    if estimator.svd_solver == "arpack":
        raise ValueError(
            "svd_solver='arpack' is not available for Dask arrays; use 'covariance_eigh' "
            "(n_features up to a few thousand), 'full' (exact, TSQR) or 'randomized'.")
    return choose_solver(estimator.svd_solver, n_samples, n_features, estimator.n_components)


def fit_pca(estimator, X):
    """``PCA.fit`` on a Dask array chunked by rows.

    Parameters
    ----------
    estimator : PCA
        The estimator (its parameters were validated by ``fit``).
    X : dask.array.Array or dask.dataframe.DataFrame of shape (n_samples, n_features)
        Training data.

    Returns
    -------
    attributes : dict
        The fitted attributes (NumPy arrays, as an in-memory fit's), for the
        estimator to set.
    solver : str
        The solver used ('auto' resolved).
    """

    X = check_dask_array(X, estimator=estimator, reset=True, ensure_min_samples=2)
    n_samples, n_features = X.shape
    solver = _choose_solver(estimator, n_samples, n_features)
    n_components = estimator._resolve_n_components(solver, n_samples, n_features)
    dtype = X.dtype

    if solver == "covariance_eigh":
        _, mean, scatter = _reduce(X, _scatter_block)
        covariance = scatter / (n_samples - 1)
        total_var = max(float(np.trace(covariance)), 0.0)
        variances, components = eigh_spectrum(covariance, n_components, n_samples)
    else:
        import dask
        import dask.array as da

        _, mean, m2 = _reduce(X, _moments_block)
        total_var = float(np.sum(m2) / (n_samples - 1))
        Xc = X - mean.astype(dtype)
        if solver == "full":
            _, S, Vt = da.linalg.svd(Xc, coerce_signs=False)
        else:
            iterated_power = estimator.iterated_power
            if iterated_power == "auto":
                iterated_power = 7 if n_components < 0.1 * min(X.shape) else 4
            seed = check_random_state(estimator.random_state).randint(np.iinfo(np.int32).max)
            _, S, Vt = da.linalg.svd_compressed(
                Xc, n_components, n_power_iter=iterated_power,
                n_oversamples=estimator.n_oversamples, seed=seed, coerce_signs=False)
        S, Vt = dask.compute(S, Vt)
        S = np.asarray(S, dtype=np.float64)
        if not (np.isfinite(S).all() and np.isfinite(Vt).all()):
            raise ValueError("Input X contains NaN or infinity.")
        variances = S**2 / (n_samples - 1)
        components = Vt
        if solver == "full":
            total_var = float(np.sum(variances))

    attributes, _ = fitted_attributes(
        variances, components, total_var, mean, n_components=n_components,
        n_samples=n_samples, n_features=n_features, dtype=dtype)
    return attributes, solver


def transform_pca(estimator, X):
    """``PCA.transform`` on a Dask array: lazy projections.

    Parameters
    ----------
    estimator : PCA
        A fitted estimator.
    X : dask.array.Array or dask.dataframe.DataFrame of shape (n_samples, n_features)
        New data, chunked by rows.

    Returns
    -------
    X_new : dask.array.Array of shape (n_samples, n_components_)
        ``(X - mean_) @ components_.T`` (whitened if ``whiten``).
    """
    check_is_fitted(estimator)
    X = check_dask_array(X, estimator=estimator, reset=False)
    components = estimator.components_
    scale = estimator._whitening_scale() if estimator.whiten else None
    dtype = np.result_type(X.dtype, components.dtype)
    return X.map_blocks(_project_block, estimator.mean_, components, scale, dtype=dtype,
                        chunks=(X.chunks[0], (components.shape[0],)))


def inverse_transform_pca(estimator, X):
    """``PCA.inverse_transform`` on a Dask array: lazy reconstructions.

    Parameters
    ----------
    estimator : PCA
        A fitted estimator.
    X : dask.array.Array of shape (n_samples, n_components_)
        Projections, chunked by rows.

    Returns
    -------
    X_original : dask.array.Array of shape (n_samples, n_features)
        ``X @ components_ + mean_`` (undoing whitening first).
    """
    check_is_fitted(estimator)
    X = check_dask_array(X)
    if X.shape[1] != estimator.n_components_:
        raise ValueError(
            f"X has {X.shape[1]} columns, but PCA has n_components_="
            f"{estimator.n_components_}: inverse_transform expects projections.")
    components = estimator.components_
    scale = estimator._whitening_scale() if estimator.whiten else None
    dtype = np.result_type(X.dtype, components.dtype)
    return X.map_blocks(_inverse_block, estimator.mean_, components, scale, dtype=dtype,
                        chunks=(X.chunks[0], (components.shape[1],)))
