"""skunsup KMeans against scikit-learn's KMeans, in the same process, interleaved.

Two parts:

1. Time per Lloyd iteration from the same initial centres (k-means++ seeds
   computed once and given to everyone), ``n_init=1``, ``tol=0`` and a fixed
   ``max_iter``: skunsup (its default ``algorithm='lloyd'``, and ``'elkan'``)
   against scikit-learn's 'lloyd' and 'elkan', with the final inertias.
   Fashion-MNIST (70,000 x 784 float32) with k = 10, 100, 256, and blobs
   1,000,000 x 32 float32 with k = 100.
2. The default fit (k-means++, ``n_init='auto'``, ``tol=1e-4``) of both over
   several seeds: mean wall time and mean inertia, plus the peak memory a fit
   allocates (tracemalloc) on top of X.

Run from the repository root: ``python benchmarks/bench_kmeans.py`` (``--quick``
for a smoke run on subsets that records nothing). The two parts are recorded as
``kmeans`` and ``kmeans_default_fit`` (``--name`` and ``<name>_default_fit``).
"""

import tracemalloc

import numpy as np
from _harness import (
    interleave,
    load_fashion_mnist_float32,
    main,
    median,
    relative_difference_error,
    timed,
)
from sklearn.cluster import KMeans as SklearnKMeans
from sklearn.datasets import make_blobs


def blobs(n_samples, random_state=0):
    X, _ = make_blobs(n_samples, 32, centers=100, cluster_std=2.0, center_box=(-10, 10),
                      random_state=random_state)
    return X.astype(np.float32)


def per_iteration_rows(datasets, cases, max_iter, repeats):
    from skunsup.cluster import KMeans, kmeans_plusplus

    rows = []
    for data_name, k in cases:
        X = datasets[data_name]
        init, _ = kmeans_plusplus(X, k, random_state=0)
        params = dict(n_clusters=k, init=init, n_init=1, max_iter=max_iter[data_name], tol=0)
        contenders = {
            "skunsup": lambda: KMeans(**params).fit(X),
            "skunsup elkan": lambda: KMeans(algorithm="elkan", **params).fit(X),
            "lloyd": lambda: SklearnKMeans(algorithm="lloyd", **params).fit(X),
            "elkan": lambda: SklearnKMeans(algorithm="elkan", **params).fit(X),
        }
        times, fits = interleave(contenders, repeats)
        per_iter = {name: median(times[name]) / fits[name].n_iter_ for name in contenders}
        peer = min(per_iter["lloyd"], per_iter["elkan"])
        best_peer_inertia = min(fits["lloyd"].inertia_, fits["elkan"].inertia_)
        row = {
            "data": f"{data_name} {X.shape[0]}x{X.shape[1]}",
            "k": k,
            "iterations": "/".join(str(fits[n].n_iter_) for n in contenders),
            "skunsup s/iter": per_iter["skunsup"],
            "skunsup elkan s/iter": per_iter["skunsup elkan"],
            "sklearn lloyd s/iter": per_iter["lloyd"],
            "sklearn elkan s/iter": per_iter["elkan"],
            "ratio to faster": per_iter["skunsup"] / peer,
            "skunsup inertia": fits["skunsup"].inertia_,
            "skunsup elkan inertia": fits["skunsup elkan"].inertia_,
            "lloyd inertia": fits["lloyd"].inertia_,
            "elkan inertia": fits["elkan"].inertia_,
            "inertia rel. diff": (fits["skunsup"].inertia_ - best_peer_inertia)
            / best_peer_inertia,
        }
        print(row, flush=True)
        rows.append(row)
    return rows


def peak_fit_memory(estimator, X):
    """Peak bytes allocated through numpy/python while fitting (X itself excluded)."""
    tracemalloc.start()
    estimator.fit(X)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return peak


def relative_difference(inertias, n_seeds):
    """Mean skunsup inertia over the first ``n_seeds`` seeds, relative to scikit-learn's."""
    ours = np.mean(inertias["skunsup"][:n_seeds])
    theirs = np.mean(inertias["sklearn"][:n_seeds])
    return float(ours / theirs - 1)


def default_fit_rows(X, data_name, ks, seeds):
    from skunsup.cluster import KMeans

    rows = []
    for k in ks:
        times = {"skunsup": [], "sklearn": []}
        inertias = {"skunsup": [], "sklearn": []}
        for index, seed in enumerate(seeds):
            contenders = [("skunsup", KMeans), ("sklearn", SklearnKMeans)]
            if index % 2:
                contenders.reverse()
            for name, cls in contenders:
                seconds, fit = timed(cls(k, random_state=seed).fit, X)
                times[name].append(seconds)
                inertias[name].append(fit.inertia_)
        memory = {name: peak_fit_memory(cls(k, random_state=0, max_iter=3), X) / 2**20
                  for name, cls in (("skunsup", KMeans), ("sklearn", SklearnKMeans))}
        row = {
            "data": f"{data_name} {X.shape[0]}x{X.shape[1]}",
            "k": k,
            "seeds": len(seeds),
            "skunsup mean s": float(np.mean(times["skunsup"])),
            "sklearn mean s": float(np.mean(times["sklearn"])),
            "time ratio": float(np.mean(times["skunsup"]) / np.mean(times["sklearn"])),
            "skunsup mean inertia": float(np.mean(inertias["skunsup"])),
            "sklearn mean inertia": float(np.mean(inertias["sklearn"])),
            "inertia rel. diff": relative_difference(inertias, len(seeds)),
            "std. error of diff": relative_difference_error(inertias["skunsup"],
                                                                inertias["sklearn"]),
            "rel. diff, first 5 seeds": relative_difference(inertias, 5),
            "skunsup peak MiB": memory["skunsup"],
            "sklearn peak MiB": memory["sklearn"],
        }
        print(row, flush=True)
        rows.append(row)
    return rows


NOTES_PER_ITERATION = """
Goal (DESIGN.md / issue 3): ratio to the faster of scikit-learn's 'lloyd' and 'elkan'
<= 0.8 with inertia no worse than 1e-4 relative.

Rows: both libraries start from the same k-means++ centres, `n_init=1`,
`tol=0`, a fixed `max_iter`; seconds per iteration = median fit time over the
interleaved repeats / `n_iter_` (iterations column: skunsup/skunsup elkan/lloyd/elkan;
a fit may stop early on strict convergence). The fit time includes everything a fit does
(scikit-learn also copies and centres X). skunsup's default (`algorithm='lloyd'`) runs
Hamerly/Yinyang-pruned steps (a direct loop or matrix products on the rows whose bounds
fail); `skunsup elkan` (`algorithm='elkan'`) starts each row at its previous centre and
measures only the centres Elkan's inequality leaves possible. 'ratio to faster' is
skunsup's default against the faster of scikit-learn's two.
`inertia rel. diff` = (skunsup - best scikit-learn) / best scikit-learn; float32
inertias of scikit-learn are accumulated in float32, skunsup's in float64 from exact
per-sample distances.
"""

NOTES_DEFAULT = """
Goal (issue 3): default fit <= 0.5x scikit-learn's time at equal or lower mean inertia.

Rows: `KMeans(k, random_state=seed)` of both libraries (k-means++, n_init
'auto' = 1, tol 1e-4, max_iter 300), seeds 0..n-1 alternating which runs first; peak
MiB = tracemalloc peak of a 3-iteration fit (scikit-learn's includes its copy of X).
*inertia rel. diff* = mean skunsup inertia / mean scikit-learn inertia - 1 over all
seeds; *std. error of diff*: its standard error from the seed-to-seed spread of both
(the two libraries draw different random streams, so a seed does not pair the fits);
*rel. diff, first 5 seeds*: the same over seeds 0-4, the issue's comparison.
"""


def add_arguments(parser):
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--seeds", type=int, default=5,
                        help="seeds of the default-fit comparison (0..n-1)")
    parser.add_argument("--default-fit-only", action="store_true",
                        help="only the default-fit comparison")
    parser.add_argument("--per-iteration-only", action="store_true",
                        help="only the per-iteration comparison (keeps the default-fit "
                             "record, e.g. a --seeds 20 run)")


def run(args, report):
    from skunsup.cluster import KMeans

    fashion, _ = load_fashion_mnist_float32()
    n_blobs = 1_000_000
    seeds = list(range(args.seeds))
    default_ks = [10, 100]
    max_iter = {"fashion-mnist": 40, "blobs": 20}
    repeats = args.repeats
    if args.quick:
        fashion = fashion[:5000]
        n_blobs = 50_000
        seeds = [0]
        default_ks = [10]
        max_iter = {"fashion-mnist": 5, "blobs": 5}
        repeats = 1
    datasets = {"fashion-mnist": fashion, "blobs": blobs(n_blobs)}

    # warm-up: compile every kernel on small data, outside the timings
    for X in datasets.values():
        for k in (3, 40):
            KMeans(k, n_init=1, max_iter=3, random_state=0).fit(X[:2000])

    cases = [("fashion-mnist", 10), ("fashion-mnist", 100), ("fashion-mnist", 256),
             ("blobs", 100)]
    if not args.default_fit_only:
        report(per_iteration_rows(datasets, cases, max_iter, repeats),
               notes=NOTES_PER_ITERATION)
    if not args.per_iteration_only:
        report(default_fit_rows(fashion, "fashion-mnist", default_ks, seeds),
               notes=NOTES_DEFAULT, part="default_fit")


if __name__ == "__main__":
    main(__doc__, run, name="kmeans", add_arguments=add_arguments)
