"""``python -m skunsup warmup``: compile the numba kernels into this machine's cache.

numba compiles a kernel on its first call (seconds each), and with
``cache=True`` keeps the machine code on disk, so only the first fit on a
machine pays. Running tiny fits through every path the estimators dispatch to
(float32 and float64, dense and CSR, each k-means step, each t-SNE gradient)
moves that cost to install time; afterwards the command lists the kernels of
the package that are still not compiled.
"""

import time
import warnings

import numpy as np


def _kmeans_paths():
    import scipy.sparse as sp

    from skunsup.cluster import KMeans, MiniBatchKMeans
    from skunsup.cluster import _kmeans_ops as ops
    from skunsup.cluster._lloyd_memory import kmeans_single_lloyd

    rng = np.random.default_rng(0)
    # these tiny fits would run in NumPy (_kmeans_ops.is_small): send them to
    # the kernels, which larger fits run
    with ops.numpy_max_work(-1):
        for dtype in (np.float32, np.float64):
            X = rng.normal(size=(300, 5)).astype(dtype)
            # k <= 4: Hamerly's single bound; k = 40: Yinyang's groups and the
            # matrix-product path; 'elkan': the hinted step; CSR: the sparse kernels
            for k in (3, 40):
                KMeans(k, n_init=1, max_iter=3, random_state=0).fit(X).transform(X[:5])
                # plain steps: the Dask blocks' and the plotting helpers' path
                kmeans_single_lloyd(X, np.ones(len(X)), X[:k], max_iter=2, tol=0.0,
                                    x_squared_norms=None, step="plain")
            # mini-batch steps: the chunked kernel gathering a batch's rows
            for k in (3, 40):
                MiniBatchKMeans(k, batch_size=64, n_init=1, max_iter=2, random_state=0).fit(X)
            KMeans(3, n_init=1, max_iter=3, algorithm="elkan", random_state=0).fit(X)
            KMeans(3, n_init=1, max_iter=3, random_state=0).fit(
                sp.csr_matrix(np.where(X > 0, X, 0))).predict(X[:5])


def _pca_paths():
    from skunsup.decomposition import PCA, IncrementalPCA

    rng = np.random.default_rng(0)
    for dtype in (np.float32, np.float64):
        X = rng.normal(size=(200, 6)).astype(dtype)
        for solver in ("covariance_eigh", "full"):
            PCA(3, svd_solver=solver).fit(X).transform(X[:5])
        # the streaming covariance widens float32 blocks to float64
        IncrementalPCA(3, batch_size=50).fit(X)


def _manifold_paths():
    from skunsup.manifold import SNE, TSNE

    rng = np.random.default_rng(0)
    X = rng.normal(size=(250, 5))
    for method in ("exact", "barnes_hut", "fft"):
        for n_components in (1, 2):
            TSNE(n_components=n_components, method=method, perplexity=10, max_iter=60,
                 random_state=0).fit(X)
    TSNE(n_components=3, method="barnes_hut", perplexity=10, max_iter=60,
         random_state=0).fit(X)
    TSNE(perplexity=10, max_iter=60, random_state=0).fit(X).transform(X[:5])
    SNE(perplexity=10, max_iter=60, random_state=0).fit(X[:80])
    # the cache-friendly renumbering of P that fits above 200,000 points use
    from skunsup.manifold._affinity import knn_affinities
    from skunsup.manifold._locality import locality_order, permute_symmetric

    P = knn_affinities(X, 10.0).P
    permute_symmetric(P, locality_order(P))


SECTIONS = {"KMeans": _kmeans_paths, "PCA": _pca_paths, "SNE / TSNE": _manifold_paths}


def numba_kernels():
    """Every numba kernel of the package, as ``{qualified name: dispatcher}``.

    Inline helpers (compiled into their callers) are not listed.

    Examples
    --------
    >>> from skunsup._warmup import numba_kernels
    >>> any(name.startswith("skunsup.cluster.") for name in numba_kernels())
    True
    """
    import importlib
    import pkgutil

    from numba.core.registry import CPUDispatcher

    import skunsup

    kernels = {}
    for info in pkgutil.walk_packages(skunsup.__path__, "skunsup."):
        if info.name.startswith(("skunsup._tour", "skunsup.plotting", "skunsup.neural",
                                 "skunsup.__main__")):
            continue  # no kernels there (and importing __main__ would run the CLI)
        module = importlib.import_module(info.name)
        for name, value in vars(module).items():
            if (isinstance(value, CPUDispatcher) and value.__module__ == info.name
                    and value.targetoptions.get("inline") != "always"):
                # inline helpers are compiled into their callers, never alone
                kernels[f"{info.name}.{name}"] = value
    return kernels


def warmup(out=print):
    """Compile the kernels through tiny fits; return the seconds per section.

    Parameters
    ----------
    out : callable, default=print
        Where the progress lines go.

    Returns
    -------
    seconds : dict
        ``{section: seconds}``.
    """
    seconds = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # tiny data: convergence and size warnings
        for section, run in SECTIONS.items():
            tic = time.perf_counter()
            run()
            seconds[section] = time.perf_counter() - tic
            out(f"{section}: {seconds[section]:.1f} s")
    kernels = numba_kernels()
    idle = sorted(name for name, kernel in kernels.items() if not kernel.signatures)
    out(f"{len(kernels) - len(idle)} of {len(kernels)} kernels compiled and cached "
        f"in {sum(seconds.values()):.1f} s")
    if idle:
        out("not compiled by these fits (used only on rarer paths): " + ", ".join(idle))
    return seconds
