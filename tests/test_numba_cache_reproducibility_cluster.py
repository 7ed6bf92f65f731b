"""KMeans, MiniBatchKMeans and PCA do not depend on whether numba compiled or loaded.

The same check as tests/test_numba_cache_reproducibility.py (which explains
why they could differ: numba links and re-optimises a copy of each parallel
loop body into every library that uses it, and a reassociated sum may round
differently in the copy that a compiling process runs and in the cached one)
for the k-means and PCA kernels: every fit runs in two fresh processes sharing
one fresh, empty ``NUMBA_CACHE_DIR``, the first compiles the kernels, the
second loads them, and the fitted arrays must be equal bit for bit.

The data is above ``_kmeans_ops.NUMPY_MAX_WORK`` (2**21 multiply-adds), so the
numba kernels run rather than their NumPy versions: 20,000 x 20 dense rows
with 8 clusters (the direct kernel) and 40 (the BLAS product and the
accumulation kernel), Lloyd (Yinyang's pruned steps) and 'elkan' (the
hinted steps), MiniBatchKMeans with 16,384-row batches (the parallel kernels)
and with 1,024-row batches under ``numpy_max_work(-1)`` (the serial twins),
and PCA's 'covariance_eigh' and 'randomized' solvers. Under
``numpy_max_work(-1)`` KMeans also fits 3,000 x 37 rows without clusters and
CSR rows, so that every k-means kernel runs (row norms, moments, distances,
k-means++ trials on CSR, Yinyang's matrix-product step).
"""

import textwrap

import numpy as np
import pytest

from tests._fresh_numba_cache import compiled_and_loaded

# Rows and features of the dense data: 400,000 values, times 8 clusters above
# NUMPY_MAX_WORK = 2**21, so every fit below reaches the numba kernels.
N_SAMPLES, N_FEATURES = 20_000, 20
# Few iterations keep the fits short; a last-bit difference shows in the first.
MAX_ITER = 10
# Rows and features of the data fitted with every op on the kernels: a row
# length that is no multiple of 4 (the data above has 20): vectorised loops
# over it also take their remainder loops.
N_SMALL, N_SMALL_FEATURES = 3000, 37
# Generous bound on one process (both processes together took about 50 s on
# a busy 2-core machine, most of it compiling).
TIMEOUT_S = 600

FITS = textwrap.dedent(f"""
    import sys
    import numpy as np
    import scipy.sparse as sp
    from skunsup.cluster import KMeans, MiniBatchKMeans
    from skunsup.cluster import _kmeans_ops as ops
    from skunsup.decomposition import PCA

    rng = np.random.default_rng(0)
    centres = rng.normal(scale=4.0, size=(10, {N_FEATURES}))
    X64 = (centres[rng.integers(10, size={N_SAMPLES})]
           + rng.normal(size=({N_SAMPLES}, {N_FEATURES})))
    data = {{"float64": X64, "float32": X64.astype(np.float32),
             "csr": sp.random({N_SAMPLES}, 200, density=0.1, format="csr",
                              random_state=0)}}
    out = {{}}

    def keep(name, model, attributes):
        for attribute in attributes:
            out[name + "." + attribute] = np.asarray(getattr(model, attribute))

    KMEANS = ("cluster_centers_", "labels_", "inertia_", "n_iter_")
    for dtype in ("float64", "float32"):
        for k in (8, 40):
            for algorithm in ("lloyd", "elkan"):
                model = KMeans(k, n_init=1, max_iter={MAX_ITER}, algorithm=algorithm,
                               random_state=0).fit(data[dtype])
                keep(f"kmeans.{{dtype}}.{{k}}.{{algorithm}}", model, KMEANS)
        for k in (8, 40):
            model = MiniBatchKMeans(k, batch_size=16384, n_init=1, max_iter={MAX_ITER},
                                    random_state=0).fit(data[dtype])
            keep(f"minibatch.{{dtype}}.{{k}}.parallel", model, KMEANS)
            with ops.numpy_max_work(-1):
                model = MiniBatchKMeans(k, batch_size=1024, n_init=1,
                                        max_iter={MAX_ITER}, random_state=0)
                model.fit(data[dtype])
            keep(f"minibatch.{{dtype}}.{{k}}.serial", model, KMEANS)
        for solver in ("covariance_eigh", "randomized"):
            model = PCA(5, svd_solver=solver, random_state=0).fit(data[dtype])
            keep(f"pca.{{dtype}}.{{solver}}", model,
                 ("components_", "explained_variance_", "mean_"))
    # every op on the numba kernels (the row norms, moments and distances of
    # the data above are NumPy's), on another row length, and data without
    # clusters, on which Yinyang's steps also take the matrix product
    small = rng.normal(size=({N_SMALL}, {N_SMALL_FEATURES}))
    data.update({{"small64": small, "small32": small.astype(np.float32)}})
    with ops.numpy_max_work(-1):
        for dtype in ("small64", "small32"):
            for k in (8, 40):
                for algorithm in ("lloyd", "elkan"):
                    model = KMeans(k, n_init=1, max_iter={MAX_ITER},
                                   algorithm=algorithm, random_state=0)
                    model.fit(data[dtype])
                    keep(f"kmeans.{{dtype}}.{{k}}.{{algorithm}}", model, KMEANS)
        model = KMeans(8, n_init=1, max_iter={MAX_ITER}, random_state=0)
        model.fit(data["csr"])
        keep("kmeans.csr.8.lloyd", model, KMEANS)
    np.savez(sys.argv[1], **out)
""")


@pytest.fixture(scope="module")
def compiled_and_cached_fits(tmp_path_factory):
    """The fitted arrays of a process compiling the kernels and of one loading them."""
    return compiled_and_loaded(FITS, tmp_path_factory.mktemp("numba_cache_reproducibility_cluster"),
                               TIMEOUT_S)


@pytest.mark.parametrize("module", ["_lloyd_kernels", "_yinyang_kernels",
                                    "_seeding_kernels", "_row_stats_kernels",
                                    "_covariance"])
def test_the_first_process_fills_the_cache(compiled_and_cached_fits, module):
    _, _, cached_files = compiled_and_cached_fits
    assert any(name.startswith(module + ".") for name in cached_files)


def _fits(prefix):
    """Names of the fits whose arrays start with ``prefix`` (as ``FITS`` names them)."""
    dtypes = ("float64", "float32")
    if prefix == "kmeans":
        return [f"kmeans.{d}.{k}.{a}" for d in dtypes + ("small64", "small32")
                for k in (8, 40) for a in ("lloyd", "elkan")] + ["kmeans.csr.8.lloyd"]
    if prefix == "minibatch":
        return [f"minibatch.{d}.{k}.{s}" for d in dtypes for k in (8, 40)
                for s in ("parallel", "serial")]
    return [f"pca.{d}.{s}" for d in dtypes for s in ("covariance_eigh", "randomized")]


@pytest.mark.parametrize("fit", _fits("kmeans") + _fits("minibatch") + _fits("pca"))
def test_fit_is_the_same_from_compiled_and_from_cached_kernels(
        compiled_and_cached_fits, fit):
    compiled, loaded, _ = compiled_and_cached_fits
    names = sorted(name for name in compiled if name.startswith(fit + "."))
    assert names
    assert names == sorted(name for name in loaded if name.startswith(fit + "."))
    for name in names:
        np.testing.assert_array_equal(compiled[name], loaded[name], err_msg=name)
