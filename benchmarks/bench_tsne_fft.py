"""t-SNE at scale: skunsup's default TSNE against openTSNE's defaults, same input, same run.

Rows (``tsne_fft``):

* Fashion-MNIST, the first ``N`` images (``--n``, default all 70,000) after
  PCA to 50 dimensions (computed once, the same float32 array for both):
  ``skunsup.manifold.TSNE(n_jobs=threads, random_state=0)`` with its defaults
  (``method="auto"``: Barnes-Hut below 150,000 points, FFT interpolation
  from there; exact BLAS kNN, 1000 iterations, learning rate N/48) against
  ``openTSNE.TSNE(n_jobs=threads, random_state=0)`` with its defaults (FFT
  interpolation, Annoy kNN, 750 iterations, learning rate N/12); ``threads``
  is ``--threads`` (default 2).
* ``--scale``: skunsup alone on a 1,000,000-point, 50-dimensional mixture
  of 100 Gaussians (time and peak memory).

Each fit runs in a fresh subprocess (this script with ``--child``, so that the
peak resident memory is the contender's own), after a warm-up fit of 2,000
points in that process (numba loads its compiled kernels from the cache,
openTSNE its own): ``seconds`` is the steady-state wall time of ``fit``.

Quality, computed the same way for both: ``KL (common)`` is ``KL(P || Q)``
with one P (skunsup's sparse kNN affinities at perplexity 30, symmetric,
summing to 1) and the exact normaliser ``Z = sum_{i != j} (1 + |y_i -
y_j|²)⁻¹`` over all n² pairs; ``own KL`` is each library's own figure
(skunsup: its FFT normaliser, on the same kind of P; openTSNE: its FFT
estimate on its own Annoy P); ``10-NN kept`` is the mean fraction of each
point's 10 nearest neighbours in the 50-dimensional input that are among its
10 nearest in the map.

Run: ``python benchmarks/bench_tsne_fft.py [--n 70000] [--quick] [--scale]``.
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

import numpy as np
from _harness import load_fashion_mnist_float32, main

SEED = 0


# ---------------------------------------------------------------------------
# contenders, run inside a child process:
# (X, quick, n_jobs) -> (embedding, own_kl, extra)
# ---------------------------------------------------------------------------
def skunsup_default(X, quick, n_jobs):
    from skunsup.manifold import TSNE

    kwargs = {"max_iter": 300} if quick else {}
    tsne = TSNE(random_state=SEED, n_jobs=n_jobs, **kwargs).fit(X)
    return tsne.embedding_, tsne.kl_divergence_, {"method": tsne._method,
                                                  "iterations": tsne.n_iter_}


def opentsne_default(X, quick, n_jobs):
    import openTSNE

    kwargs = {"n_iter": 300 - 250} if quick else {}
    embedding = openTSNE.TSNE(n_jobs=n_jobs, random_state=SEED, **kwargs).fit(X)
    return np.asarray(embedding), float(embedding.kl_divergence), {
        "method": "fft", "iterations": 250 + (kwargs.get("n_iter") or 500)}


CONTENDERS = {"skunsup TSNE": skunsup_default, "openTSNE": opentsne_default}


def _peak_rss_mb():
    """This process' peak resident memory (VmHWM; unlike ru_maxrss it is not inherited
    from the parent across exec)."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def _child(name, data_path, out_path, quick, n_jobs):
    X = np.load(data_path)
    func = CONTENDERS[name]
    func(X[:2000], True, n_jobs)  # warm-up: JIT caches, imports
    base = _peak_rss_mb()
    tic = time.perf_counter()
    Y, own_kl, extra = func(X, quick, n_jobs)
    seconds = time.perf_counter() - tic
    peak = _peak_rss_mb()
    np.save(out_path, np.ascontiguousarray(Y, dtype=np.float64))
    print(json.dumps({"seconds": seconds, "own_kl": float(own_kl), "peak_mb": peak,
                      "peak_before_mb": base, **extra}))


def run_isolated(name, data_path, quick, n_jobs):
    with tempfile.TemporaryDirectory() as tmp:
        out_path = os.path.join(tmp, "Y.npy")
        cmd = [sys.executable, __file__, "--child", name, data_path, out_path,
               "--threads", str(n_jobs)]
        if quick:
            cmd.append("--quick")
        proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
        if proc.returncode != 0:
            raise RuntimeError(f"{name} failed:\n{proc.stderr[-3000:]}")
        info = json.loads(proc.stdout.strip().splitlines()[-1])
        return np.load(out_path), info


# ---------------------------------------------------------------------------
# quality, the same for every embedding
# ---------------------------------------------------------------------------
def common_kl(P, Y, n_jobs):
    """KL(P || Q) with the exact O(n²) normaliser (skunsup's exact kernels, parallel)."""
    from skunsup.manifold._objectives import TSNEObjective
    from skunsup.utils._numba import numba_threads

    Y = np.ascontiguousarray(Y, dtype=np.float64)
    with numba_threads(n_jobs):
        return TSNEObjective(P, "exact")(Y, 1.0, True, np.empty_like(Y))


def knn_preservation(high, Y, k=10):
    """``high``: the k nearest neighbours of every point in the input space."""
    from sklearn.neighbors import NearestNeighbors

    low = NearestNeighbors(n_neighbors=k).fit(Y).kneighbors(return_distance=False)
    return float(np.mean([len(np.intersect1d(a, b)) for a, b in zip(high, low)]) / k)


def fashion_pca50(n):
    from sklearn.decomposition import PCA

    X, _ = load_fashion_mnist_float32("all")
    X = X[:n]
    return PCA(n_components=50, random_state=SEED).fit_transform(X).astype(np.float32)


def gaussian_mixture(n, dim=50, n_components=100, seed=SEED):
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(n_components, dim)) * 4.0
    labels = rng.integers(0, n_components, n)
    X = centres[labels] + rng.normal(size=(n, dim)).astype(np.float32)
    return X.astype(np.float32)


def add_arguments(parser):
    parser.add_argument("--n", type=int, default=70000,
                        help="first N Fashion-MNIST images (--quick: 5000 and 300 iterations)")
    parser.add_argument("--scale", action="store_true", help="also the 1M-point mixture")
    parser.add_argument("--child", nargs=3, metavar=("NAME", "DATA", "OUT"),
                        help=argparse.SUPPRESS)


def run(args, report):
    if args.child:  # one fit, in the process that run_isolated started
        _child(*args.child, args.quick, args.threads)
        return
    from skunsup.manifold._affinity import knn_affinities
    from skunsup.manifold._neighbors import build_knn_index

    n = 5000 if args.quick else args.n
    X = fashion_pca50(n)
    P = knn_affinities(X.astype(np.float64), 30.0, n_jobs=args.threads).P
    high = build_knn_index(X, 10, n_jobs=args.threads)[1]
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        data_path = os.path.join(tmp, "X.npy")
        np.save(data_path, X)
        results = {}
        for name in CONTENDERS:  # one run each (a 70k run costs minutes on 2 shared cores)
            Y, info = run_isolated(name, data_path, args.quick, args.threads)
            results[name] = (Y, info)
            print(name, info, flush=True)
        peer = results["openTSNE"][1]
        for name, (Y, info) in results.items():
            kl = common_kl(P, Y, args.threads)
            rows.append({
                "data": f"Fashion-MNIST {n} (PCA-50)",
                "implementation": f"{name} (default: {info['method']})",
                "iterations": info["iterations"],
                "seconds": round(info["seconds"], 1),
                "time vs openTSNE": round(info["seconds"] / peer["seconds"], 3),
                "KL (common)": round(kl, 4),
                "own KL": round(info["own_kl"], 4),
                "10-NN kept": round(knn_preservation(high, Y), 4),
                "peak MB": round(info["peak_mb"]),
                "peak MB before fit": round(info["peak_before_mb"]),
            })
        base_kl = rows[-1]["KL (common)"]
        for row in rows:
            row["KL vs openTSNE"] = round(row["KL (common)"] / base_kl, 4)
        if args.scale and not args.quick:
            Xs = gaussian_mixture(1_000_000)
            path = os.path.join(tmp, "X1m.npy")
            np.save(path, Xs)
            del Xs
            Y, info = run_isolated("skunsup TSNE", path, False, args.threads)
            rows.append({
                "data": "Gaussian mixture 1,000,000 x 50 (100 components)",
                "implementation": f"skunsup TSNE (default: {info['method']})",
                "iterations": info["iterations"],
                "seconds": round(info["seconds"], 1),
                "own KL": round(info["own_kl"], 4),
                "peak MB": round(info["peak_mb"]),
            })
    notes = (
        "Goal (DESIGN.md): skunsup's default TSNE at <= 1.0x openTSNE's wall time with KL <= "
        "1.02x openTSNE's and 10-NN preservation within 0.005. One fit per contender, each in "
        f"its own process after a 2,000-point warm-up fit; {args.threads} threads each. KL "
        "(common): one P (skunsup's kNN affinities, perplexity 30) and the exact normaliser "
        "over all pairs. own KL: each library's figure (openTSNE's is on its own Annoy P). "
        "peak MB: the child process' peak resident memory (Python, libraries, data included)."
    )
    report(rows, notes=notes)


if __name__ == "__main__":
    main(__doc__, run, name="tsne_fft", add_arguments=add_arguments)
