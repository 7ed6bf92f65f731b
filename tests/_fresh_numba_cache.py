"""Run code in two fresh processes sharing one fresh numba cache: one compiles, one loads.

What the reproducibility tests share (tests/test_numba_cache_reproducibility*.py):
:func:`compiled_and_loaded` runs a script (which saves arrays with
``np.savez(sys.argv[1], ...)``) in a process with an empty ``NUMBA_CACHE_DIR``,
which compiles every kernel the script calls and writes the cache, then in a
second process on the same cache, which must load every kernel (it writes or
rewrites no file), and returns both processes' arrays.
"""

import os
import subprocess
import sys
from pathlib import Path

import numpy as np

import skunsup


def _run_in_fresh_process(script, out, cache_dir, timeout):
    env = dict(os.environ, NUMBA_CACHE_DIR=str(cache_dir))
    package_root = str(Path(skunsup.__file__).resolve().parent.parent)
    env["PYTHONPATH"] = os.pathsep.join(
        [package_root] + [p for p in [env.get("PYTHONPATH")] if p])
    result = subprocess.run([sys.executable, "-c", script, str(out)], env=env,
                            capture_output=True, text=True, timeout=timeout)
    assert result.returncode == 0, result.stderr
    return dict(np.load(out))


def _cache_files(cache_dir):
    """The compiled kernels in numba's cache, with the time each was written."""
    return {p.name: p.stat().st_mtime_ns for p in cache_dir.rglob("*.nbc")}


def compiled_and_loaded(script, root, timeout):
    """(arrays of the compiling process, arrays of the loading one, cached file names).

    ``root``: an empty folder for the cache and the two processes' outputs.
    """
    cache_dir = Path(root) / "numba_cache"
    cache_dir.mkdir()
    compiled = _run_in_fresh_process(script, Path(root) / "compiled.npz", cache_dir, timeout)
    cached_files = _cache_files(cache_dir)
    loaded = _run_in_fresh_process(script, Path(root) / "loaded.npz", cache_dir, timeout)
    # the second process compiled nothing (it would have written or rewritten
    # a file): it loaded every kernel
    assert _cache_files(cache_dir) == cached_files
    return compiled, loaded, sorted(cached_files)
