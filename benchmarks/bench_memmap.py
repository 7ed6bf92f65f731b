"""Fits of a memory-mapped file: time and peak anonymous memory, KMeans, MiniBatchKMeans, PCA.

Writes a ``--rows`` x 100 float32 memmap (default 10,000,000 rows: a 4 GB file)
of blobs around 10 centres (unit noise, centres uniform in [-10, 10]) in a
temporary directory (deleted after), then fits on it, each estimator once:

- ``KMeans(10, random_state=0)`` (k-means|| seeding and Lloyd over row
  blocks, :mod:`skunsup.cluster._lloyd_blocks`);
- ``MiniBatchKMeans(10, random_state=0)`` (random batches; validation and
  final labels by blocks);
- ``PCA(10)`` as it fits a memmap today (whatever path ``PCA.fit`` takes).

Peak anonymous memory is the growth of ``Anonymous:`` in
``/proc/self/smaps_rollup`` over its value before the fit, sampled every 2 ms
by a thread: the mapped file's pages are file-backed and do not count (its
resident size is reported apart). ``tracemalloc peak`` is the peak of what
numpy and Python allocate during the fit. Each estimator first fits a
100,000-row slice, so that compiling (or loading) the numba kernels, tens of
MB of compiler objects once per process, is not in the measure.

The issue's goal (issue 18): at most 150 MB peak anonymous memory whatever
the file's size.

Run from the repository root: ``python benchmarks/bench_memmap.py``
(``--quick --rows 200000`` for a smoke run that records nothing).
"""

import os
import shutil
import tempfile
import threading
import time
import tracemalloc

import numpy as np
from _harness import main

N_FEATURES = 100
N_CENTERS = 10
WRITE_ROWS = 100_000


def _smaps(field):
    with open("/proc/self/smaps_rollup") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1]) * 1024
    return 0


def write_blobs(path, n_rows):
    rng = np.random.RandomState(0)
    centers = rng.uniform(-10, 10, (N_CENTERS, N_FEATURES)).astype(np.float32)
    writer = np.memmap(path, dtype=np.float32, mode="w+", shape=(n_rows, N_FEATURES))
    for start in range(0, n_rows, WRITE_ROWS):
        rows = min(WRITE_ROWS, n_rows - start)
        writer[start:start + rows] = (centers[rng.randint(0, N_CENTERS, rows)]
                                      + rng.standard_normal((rows, N_FEATURES),
                                                            ).astype(np.float32))
    writer.flush()
    del writer


def measure(fit):
    """(seconds, peak anonymous growth, tracemalloc peak, file-backed RSS after)."""
    baseline = _smaps("Anonymous")
    peak = [0]
    done = threading.Event()

    def sample():
        while not done.is_set():
            peak[0] = max(peak[0], _smaps("Anonymous") - baseline)
            done.wait(0.002)

    sampler = threading.Thread(target=sample, daemon=True)
    tracemalloc.start()
    sampler.start()
    start = time.perf_counter()
    try:
        fitted = fit()
    finally:
        seconds = time.perf_counter() - start
        done.set()
        sampler.join()
        _, traced = tracemalloc.get_traced_memory()
        tracemalloc.stop()
    peak[0] = max(peak[0], _smaps("Anonymous") - baseline)
    return fitted, seconds, peak[0], traced, _smaps("Rss") - _smaps("Anonymous")


def run(args, report):
    from skunsup.cluster import KMeans, MiniBatchKMeans
    from skunsup.decomposition import PCA

    directory = tempfile.mkdtemp(prefix="bench_memmap_")
    try:
        path = os.path.join(directory, "X.f32")
        n_rows = args.rows
        start = time.perf_counter()
        write_blobs(path, n_rows)
        print(f"wrote {n_rows} x {N_FEATURES} float32 ({n_rows * N_FEATURES * 4 / 1e9:.2f} GB)"
              f" in {time.perf_counter() - start:.1f} s", flush=True)
        X = np.memmap(path, dtype=np.float32, mode="r", shape=(n_rows, N_FEATURES))
        cases = {
            "KMeans(10)": lambda: KMeans(N_CENTERS, random_state=0),
            "MiniBatchKMeans(10)": lambda: MiniBatchKMeans(N_CENTERS, random_state=0),
            "PCA(10)": lambda: PCA(10, random_state=0),
        }
        rows = []
        for name, make in cases.items():
            make().fit(X[: min(n_rows, 100_000)])  # compile / load the kernels
            fitted, seconds, anonymous, traced, file_rss = measure(lambda: make().fit(X))
            row = {
                "estimator": name,
                "data": f"memmap {n_rows}x{N_FEATURES} float32",
                "file MB": n_rows * N_FEATURES * 4 / 2**20,
                "fit s": seconds,
                "peak anonymous MB": anonymous / 2**20,
                "tracemalloc peak MB": traced / 2**20,
                "file-backed RSS MB after (libs incl.)": file_rss / 2**20,
                "n_iter": getattr(fitted, "n_iter_", ""),
                "inertia": getattr(fitted, "inertia_", ""),
            }
            print(row, flush=True)
            rows.append(row)
        report(rows, notes=(
            "Peak anonymous memory: growth of smaps_rollup's Anonymous during the fit "
            "(sampled every 2 ms), the mapped file's pages excluded; kernels compiled on a "
            "100,000-row slice before. Goal (issue 18): <= 150 MB whatever the file size."))
    finally:
        shutil.rmtree(directory, ignore_errors=True)


def add_arguments(parser):
    parser.add_argument("--rows", type=int, default=10_000_000,
                        help="rows of the float32 memmap (default: %(default)s, 4 GB)")


if __name__ == "__main__":
    main(__doc__, run, name="memmap", add_arguments=add_arguments)
