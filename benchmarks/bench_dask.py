"""KMeans (k = 100) and PCA on a Dask array, on a LocalCluster of 2 workers.

skunsup on Dask against dask-ml on the same cluster, in the same run, and
skunsup in memory (``--threads`` numba threads, default 2) on the same data
as the target of "within 2x of in memory" (its default, pruned by bounds,
and its plain Lloyd steps).
The data are synthetic float32 blobs (100 centres in 32 dimensions, unit
noise) generated chunk by chunk on the workers (never materialised on the
client) and persisted there; the in-memory contenders get a copy computed on
the client.

- KMeans per iteration: every contender starts from the same centres (from
  skunsup's k-means||), runs ``ITERS`` Lloyd iterations with ``tol=0``; the
  figure is fit seconds / iterations (so it includes the fixed passes of a
  fit: the moments pass and the final assignment). The inertia is recomputed
  for every contender from its centres, in float64 (dask-ml's own
  ``inertia_`` is not the sum of squared distances).
- KMeans default fit: each library's default seeding (k-means|| for both) and
  ``DEFAULT_ITERS`` iterations at most, from ``random_state=0``.
- PCA (10 components): explained variance against a float64 reference (eigh of
  the float64 covariance), worst relative error.
- Peak worker memory: RSS of the worker processes sampled every 20 ms during the
  contender, the larger of the two, minus the same worker's RSS before (which
  holds its half of the persisted data).

Run ``python benchmarks/bench_dask.py`` (``--quick`` for a smoke run,
``--rows N`` to change the size).
"""

import logging
import os
import threading
import time
import warnings
from types import SimpleNamespace

import numpy as np
from _harness import interleave, main, median, timed

N_FEATURES = 32
N_CENTERS = 100
N_CLUSTERS = 100
N_COMPONENTS = 10


def make_blobs_dask(n_rows, chunk_rows, seed=0):
    """Blobs generated block by block (the block index seeds its generator)."""
    import dask.array as da

    centers = np.random.RandomState(seed).uniform(-10, 10, (N_CENTERS, N_FEATURES))
    centers = centers.astype(np.float32)
    chunks = [chunk_rows] * (n_rows // chunk_rows)
    if n_rows % chunk_rows:
        chunks.append(n_rows % chunk_rows)

    def block(block_info=None):
        info = block_info[None]
        rows = info["chunk-shape"][0]
        rng = np.random.default_rng([seed, info["chunk-location"][0]])
        labels = rng.integers(N_CENTERS, size=rows)
        noise = rng.standard_normal((rows, N_FEATURES), dtype=np.float32)
        return centers[labels] + noise

    return da.map_blocks(block, chunks=(tuple(chunks), (N_FEATURES,)), dtype=np.float32,
                         meta=np.empty((0, 0), dtype=np.float32))


class PeakRSS:
    """Sample the RSS of some processes in a thread; peak above the starting value."""

    def __init__(self, pids, period=0.02):
        import psutil

        self.procs = [psutil.Process(pid) for pid in pids]
        self.period = period

    def __enter__(self):
        self.start = [p.memory_info().rss for p in self.procs]
        self.peak = list(self.start)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        return self

    def _run(self):
        while not self._stop.is_set():
            for i, p in enumerate(self.procs):
                try:
                    self.peak[i] = max(self.peak[i], p.memory_info().rss)
                except Exception:  # a worker restarting
                    pass
            time.sleep(self.period)

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()

    @property
    def extra_mb(self):
        return max(p - s for p, s in zip(self.peak, self.start)) / 2**20

    @property
    def peak_mb(self):
        return max(self.peak) / 2**20


def inertia_of(X, centers):
    from skunsup.cluster._kmeans_ops import assign_labels

    _, distances = assign_labels(X, np.ascontiguousarray(centers, dtype=X.dtype))
    return float(distances.sum()), int(np.unique(_).size)


def add_arguments(parser):
    parser.add_argument("--rows", type=int, default=None, help="rows of the data")
    parser.add_argument("--chunk-rows", type=int, default=250_000)
    parser.add_argument("--iters", type=int, default=None, help="Lloyd iterations")
    parser.add_argument("--repeats", type=int, default=None)
    parser.add_argument("--no-default-fit", action="store_true",
                        help="skip the default-seeding KMeans rows")
    parser.add_argument("--default-fit-rows", type=int, default=None,
                        help="rows of the default-fit comparison (dask-ml's seeding is "
                             "slow: a leading slice of the data)")


def run(args, report):
    # the size: 20,000,000 rows (2.4 GiB); dask-ml takes tens of seconds an
    # iteration there, hence one repeat
    n_rows = args.rows or (200_000 if args.quick else 20_000_000)
    chunk_rows = min(args.chunk_rows, max(1, n_rows // 8))
    iters = args.iters or (2 if args.quick else 8)
    repeats = args.repeats or 1
    default_iters = 3 if args.quick else 10
    default_rows = min(n_rows, args.default_fit_rows or (n_rows if args.quick else 200_000))

    warnings.simplefilter("ignore")
    import dask_ml.cluster
    import dask_ml.decomposition
    from distributed import Client, LocalCluster, wait

    from skunsup.cluster import KMeans
    from skunsup.cluster._kmeans_parallel import kmeans_parallel
    from skunsup.cluster._lloyd_memory import kmeans_single_lloyd
    from skunsup.decomposition import PCA

    cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                           dashboard_address=None, silence_logs=logging.ERROR,
                           memory_limit=None)
    client = Client(cluster)
    worker_pids = list(client.run(os.getpid).values())
    print(f"{n_rows} x {N_FEATURES} float32 ({n_rows * N_FEATURES * 4 / 2**30:.2f} GiB) "
          f"in chunks of {chunk_rows} rows, 2 workers x 1 thread", flush=True)

    t0 = time.perf_counter()
    Xd = client.persist(make_blobs_dask(n_rows, chunk_rows))
    wait(Xd)
    print(f"generated on the workers in {time.perf_counter() - t0:.1f} s", flush=True)
    X = Xd.compute()  # the in-memory copy (client side)

    # Warm-up (numba compilation in the workers and here, dask-ml's JIT too).
    small = client.persist(Xd[:20_000].rechunk((5_000, -1)))
    KMeans(N_CLUSTERS, n_init=1, max_iter=1, random_state=0).fit(small)
    KMeans(N_CLUSTERS, n_init=1, max_iter=1, random_state=0).fit(X[:20_000])
    PCA(N_COMPONENTS).fit(small)
    PCA(N_COMPONENTS).fit(X[:20_000])
    dask_ml.cluster.KMeans(N_CLUSTERS, init=X[:N_CLUSTERS], max_iter=1).fit(small)
    dask_ml.decomposition.PCA(N_COMPONENTS).fit(small)
    del small

    rows = []
    t0 = time.perf_counter()
    init = kmeans_parallel(Xd, N_CLUSTERS, random_state=0)
    print(f"k-means|| seeding: {time.perf_counter() - t0:.1f} s", flush=True)

    # ------------------------------------------------------------ KMeans
    memory = {}

    def measured(name, func):
        def call():
            with PeakRSS(worker_pids) as rss:
                result = func()
            memory[name] = (rss.extra_mb, rss.peak_mb)
            return result
        return call

    def skunsup_dask():
        return KMeans(N_CLUSTERS, init=init, n_init=1, max_iter=iters, tol=0).fit(Xd)

    def dask_ml_kmeans():
        return dask_ml.cluster.KMeans(N_CLUSTERS, init=init, max_iter=iters, tol=0).fit(Xd)

    def skunsup_memory():
        return KMeans(N_CLUSTERS, init=init, n_init=1, max_iter=iters, tol=0).fit(X)

    # Both skunsup fits prune distance computations with Hamerly/Yinyang bounds
    # (on Dask, kept next to each block): the in-memory plain Lloyd steps show
    # the cost of an iteration without pruning.
    def skunsup_memory_lloyd():
        _, _, centers, n_iter = kmeans_single_lloyd(
            X, np.ones(X.shape[0]), init, max_iter=iters, tol=0.0,
            x_squared_norms=None, step="plain")
        return SimpleNamespace(cluster_centers_=centers, n_iter_=n_iter)

    contenders = {
        "skunsup on Dask": measured("skunsup on Dask", skunsup_dask),
        "dask-ml on Dask": measured("dask-ml on Dask", dask_ml_kmeans),
        "skunsup in memory": measured("skunsup in memory", skunsup_memory),
        "skunsup in memory, plain Lloyd (no pruning)": measured(
            "skunsup in memory, plain Lloyd (no pruning)", skunsup_memory_lloyd),
    }
    times, results = interleave(contenders, repeats=repeats)
    per_iter = {name: median(t) / results[name].n_iter_ for name, t in times.items()}
    reference_inertia, _ = inertia_of(X, results["skunsup in memory"].cluster_centers_)
    for name in contenders:
        inertia, found = inertia_of(X, results[name].cluster_centers_)
        rows.append({
            "task": f"KMeans k={N_CLUSTERS}, {iters} Lloyd iterations, same init",
            "contender": name,
            "seconds": per_iter[name],
            "unit": "s / iteration",
            "× skunsup-on-Dask time": per_iter[name] / per_iter["skunsup on Dask"],
            "peak extra worker MB": memory[name][0],
            "quality": "inertia (recomputed, float64)",
            "value": inertia,
            "rel. to in-memory": inertia / reference_inertia - 1.0,
        })
        print(rows[-1], flush=True)

    if not args.no_default_fit:
        Xs = client.persist(Xd[:default_rows])
        wait(Xs)
        X_sub = X[:default_rows]

        def skunsup_default():
            return KMeans(N_CLUSTERS, random_state=0, max_iter=default_iters).fit(Xs)

        def dask_ml_default():
            return dask_ml.cluster.KMeans(N_CLUSTERS, random_state=0,
                                          max_iter=default_iters).fit(Xs)

        contenders = {
            "skunsup on Dask (k-means||)": measured("skunsup default", skunsup_default),
            "dask-ml on Dask (k-means||)": measured("dask-ml default", dask_ml_default),
        }
        times, results = interleave(contenders, repeats=1)
        base = median(times["skunsup on Dask (k-means||)"])
        seconds, sub_reference = timed(
            KMeans(N_CLUSTERS, random_state=0, max_iter=default_iters).fit, X_sub)
        reference_sub, _ = inertia_of(X_sub, sub_reference.cluster_centers_)
        name = "skunsup in memory (k-means++)"
        contenders[name] = None
        times[name] = [seconds]
        results[name] = sub_reference
        memory[name] = (0.0, 0.0)
        for name, memory_name in zip(contenders, ("skunsup default", "dask-ml default",
                                                  name)):
            inertia, found = inertia_of(X_sub, results[name].cluster_centers_)
            rows.append({
                "task": f"KMeans k={N_CLUSTERS} default fit on the first {default_rows:,} "
                        f"rows (seeding + at most {default_iters} iterations)",
                "contender": f"{name}, {found} clusters found",
                "seconds": median(times[name]),
                "unit": "s / fit",
                "× skunsup-on-Dask time": median(times[name]) / base,
                "peak extra worker MB": memory[memory_name][0],
                "quality": "inertia (recomputed, float64)",
                "value": inertia,
                "rel. to in-memory": inertia / reference_sub - 1.0,
            })
            print(rows[-1], flush=True)
        del Xs, X_sub

    # --------------------------------------------------------------- PCA
    X64 = X.astype(np.float64)
    centred = X64 - X64.mean(axis=0)
    reference = np.linalg.eigvalsh(centred.T @ centred / (n_rows - 1))[::-1][:N_COMPONENTS]
    del X64, centred

    contenders = {
        "skunsup on Dask (covariance)": measured(
            "pca skunsup", lambda: PCA(N_COMPONENTS).fit(Xd)),
        "dask-ml on Dask (auto)": measured(
            "pca dask-ml auto", lambda: dask_ml.decomposition.PCA(N_COMPONENTS).fit(Xd)),
        "dask-ml on Dask (tsqr)": measured(
            "pca dask-ml tsqr",
            lambda: dask_ml.decomposition.PCA(N_COMPONENTS, svd_solver="tsqr").fit(Xd)),
        "skunsup in memory": measured("pca memory", lambda: PCA(N_COMPONENTS).fit(X)),
    }
    times, results = interleave(contenders, repeats=max(repeats, 2))
    base = median(times["skunsup on Dask (covariance)"])
    for name, memory_name in zip(contenders, ("pca skunsup", "pca dask-ml auto",
                                              "pca dask-ml tsqr", "pca memory")):
        variance = np.asarray(results[name].explained_variance_, dtype=np.float64)
        error = float(np.max(np.abs(variance / reference - 1.0)))
        rows.append({
            "task": f"PCA {N_COMPONENTS} components",
            "contender": name,
            "seconds": median(times[name]),
            "unit": "s / fit",
            "× skunsup-on-Dask time": median(times[name]) / base,
            "peak extra worker MB": memory[memory_name][0],
            "quality": "explained variance, worst rel. error vs float64",
            "value": error,
        })
        print(rows[-1], flush=True)

    client.close()
    cluster.close()
    notes = (
        f"Data: {n_rows:,} x {N_FEATURES} float32 blobs ({n_rows * N_FEATURES * 4 / 2**30:.2f}"
        f" GiB, {N_CENTERS} centres, unit noise), generated chunk by chunk "
        f"({chunk_rows:,} rows per chunk) on a LocalCluster of 2 worker processes x 1 "
        "thread and persisted there. 'skunsup in memory' runs on the client with "
        f"{args.threads} numba threads, on a computed copy. KMeans 'seconds' = fit time / "
        "iterations from the same centres (k-means|| of skunsup), including the fixed "
        "passes of a fit; inertia recomputed from each contender's centres in float64 "
        "(dask-ml's own `inertia_` sums unsquared distances after a tolerance stop). "
        "'peak extra worker MB': the larger of the two workers' RSS peaks during the "
        "contender minus its RSS before (which holds its half of the persisted data); "
        "0 for in-memory contenders means the workers did nothing. PCA: dask-ml 'auto' "
        "is its randomized solver; error = worst relative error of the explained "
        "variance against eigh of the float64 covariance. Goals (issue 10): >= 5x "
        "faster than dask-ml per iteration, within 2x of skunsup in memory, inertia and "
        "explained variance equal to the in-memory fit."
    )
    report(rows, notes=notes)


if __name__ == "__main__":
    main(__doc__, run, name="dask", add_arguments=add_arguments)
