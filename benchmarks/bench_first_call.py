"""First calls in a fresh environment: the numba compile a new user pays, and the warmup.

Each case runs in a fresh Python process with an empty numba cache (its own
``NUMBA_CACHE_DIR``), as on a machine that just installed skunsup:

- ``KMeans(10).fit`` of 2,000 x 20 float32 (issue 16's goal: <= 2 s);
- ``TSNE().fit`` of 1,000 x 20 float32 points (goal: <= 4 s);
- ``PCA(10).fit`` of 2,000 x 50 float32;
- ``python -m skunsup warmup`` (compiles every kernel into the cache).

For each fit the process reports the import time, the first fit (compiles
what the fit needs) and a second fit of the same data (compiled code), and
scikit-learn's time for the same fit in the same process. ``--before REV``
runs the same cases on a git revision checked out in a temporary worktree,
in the same run (the "before" of a change).

Run from the repository root::

    python benchmarks/bench_first_call.py --before 1425cd4
    python benchmarks/bench_first_call.py --quick     # no warmup, not recorded
"""

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _harness import HERE, main

# The code each case runs in its fresh process; prints one JSON line.
CASE = r"""
import json, sys, time
start = time.perf_counter()
import numpy as np
from skunsup.cluster import KMeans
from skunsup.decomposition import PCA
from skunsup.manifold import TSNE
imported = time.perf_counter() - start
rng = np.random.default_rng(0)
case = sys.argv[1]
if case == "KMeans(10).fit 2,000 x 20":
    from sklearn.cluster import KMeans as Peer
    X = rng.normal(size=(2000, 20)).astype(np.float32)
    ours, peer = (lambda: KMeans(10, random_state=0).fit(X)), (lambda: Peer(10, random_state=0).fit(X))
elif case == "TSNE().fit 1,000 x 20":
    from sklearn.manifold import TSNE as Peer
    X = rng.normal(size=(1000, 20)).astype(np.float32)
    ours, peer = (lambda: TSNE(random_state=0).fit(X)), (lambda: Peer(random_state=0).fit(X))
else:
    from sklearn.decomposition import PCA as Peer
    X = rng.normal(size=(2000, 50)).astype(np.float32)
    ours, peer = (lambda: PCA(10).fit(X)), (lambda: Peer(10).fit(X))
times = []
for fit in (ours, ours, peer, peer):
    t = time.perf_counter()
    fit()
    times.append(time.perf_counter() - t)
import skunsup
print(json.dumps({"module": skunsup.__file__, "import": imported, "first": times[0], "second": times[1],
                  "peer first": times[2], "peer second": times[3]}))
"""

CASES = ["KMeans(10).fit 2,000 x 20", "TSNE().fit 1,000 x 20", "PCA(10).fit 2,000 x 50"]


def _fresh_env(source, cache_dir):
    return dict(os.environ, NUMBA_CACHE_DIR=cache_dir, PYTHONPATH=str(source))


def run_case(source, case):
    """One case in a fresh process and an empty numba cache; its timings."""
    with tempfile.TemporaryDirectory() as cache_dir:
        out = subprocess.run([sys.executable, "-c", CASE, case], env=_fresh_env(source, cache_dir),
                             cwd=cache_dir, capture_output=True, text=True, check=True)
    timings = json.loads(out.stdout.strip().splitlines()[-1])
    if not Path(timings["module"]).resolve().is_relative_to(Path(source).resolve()):
        raise RuntimeError(f"the case imported {timings['module']}, not the code in {source}")
    return timings


def run_warmup(source):
    """Seconds of ``python -m skunsup warmup`` with an empty numba cache."""
    with tempfile.TemporaryDirectory() as cache_dir:
        start = time.perf_counter()
        subprocess.run([sys.executable, "-m", "skunsup", "warmup"],
                       env=_fresh_env(source, cache_dir), cwd=cache_dir, check=True,
                       capture_output=True)
        return time.perf_counter() - start


def add_arguments(parser):
    parser.add_argument("--before", default=None, metavar="REV",
                        help="also run the cases on this git revision (a temporary worktree)")


def run(args, report):
    sources = {"this checkout": HERE.parent}
    worktree = None
    if args.before:
        worktree = tempfile.mkdtemp(prefix="skunsup-before-")
        subprocess.run(["git", "worktree", "add", "--detach", worktree, args.before],
                       cwd=HERE.parent, check=True, capture_output=True)
        sources = {f"before ({args.before})": Path(worktree), **sources}
    try:
        rows = []
        for case in CASES:
            for label, source in sources.items():
                timings = run_case(source, case)
                rows.append({"case": case, "code": label, "import s": timings["import"],
                             "first fit s": timings["first"], "second fit s": timings["second"],
                             "scikit-learn first s": timings["peer first"],
                             "scikit-learn second s": timings["peer second"]})
                print(rows[-1], flush=True)
        if not args.quick:
            for label, source in sources.items():
                rows.append({"case": "python -m skunsup warmup", "code": label,
                             "first fit s": run_warmup(source)})
                print(rows[-1], flush=True)
    finally:
        if worktree:
            subprocess.run(["git", "worktree", "remove", "--force", worktree], cwd=HERE.parent,
                           check=True, capture_output=True)
    load = ", ".join(f"{value:.1f}" for value in os.getloadavg())
    report(rows, notes=(
        "Each case in a fresh process with an empty numba cache (NUMBA_CACHE_DIR in a new "
        "temporary folder): 'first fit' includes compiling every kernel the fit calls, "
        "'second fit' is the same fit again; scikit-learn's two fits in the same process "
        "after ours. The warmup row's time (in 'first fit s') is the whole command with an "
        "empty cache. Goals (issue 16): first KMeans fit <= 2 s, first TSNE fit <= 4 s. "
        f"Load average at the end (1, 5, 15 min): {load}."))


if __name__ == "__main__":
    main(__doc__, run, name="first_call", add_arguments=add_arguments)
