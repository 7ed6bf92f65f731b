"""A t-SNE map does not depend on whether numba compiled its kernels or loaded them.

The first process to call a kernel compiles it and writes numba's on-disk
cache; later processes load it from there. Numba links a copy of each
parallel loop body (and of each helper a kernel calls) into every code
library that uses it and optimises each copy again; the compiling process
runs the first copy, a loading process the last one, the one in the cache.
Floating-point sums that LLVM may reassociate (``fastmath`` ``reassoc``)
could round differently in the two, and over a few hundred iterations of
the optimiser a last-bit difference grows into another map.

Each method is fitted in two fresh processes sharing one fresh, empty
``NUMBA_CACHE_DIR``: the first compiles every kernel of the fit, the second
loads them all. The maps must be equal bit for bit.
"""

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

import skunsup

METHODS = ("barnes_hut", "fft", "exact")
# Enough points for each method's own path (the FFT falls back to exact below
# 100 points) and enough iterations for a last-bit difference to show in the map.
N_SAMPLES = 500
MAX_ITER = 100
# Generous bound on one process (the one that compiles every kernel of the
# three fits took about 15 s on a busy 2-core machine).
TIMEOUT_S = 600

FITS = textwrap.dedent(f"""
    import sys
    import numpy as np
    from sklearn.datasets import load_digits
    from skunsup.manifold import TSNE

    X = load_digits().data[:{N_SAMPLES}]
    maps = {{method: TSNE(method=method, random_state=0, max_iter={MAX_ITER},
                         n_jobs=2).fit_transform(X)
            for method in {METHODS!r}}}
    np.savez(sys.argv[1], **maps)
""")


def _fit_in_fresh_process(out, cache_dir):
    env = dict(os.environ, NUMBA_CACHE_DIR=str(cache_dir))
    package_root = str(Path(skunsup.__file__).resolve().parent.parent)
    env["PYTHONPATH"] = os.pathsep.join(
        [package_root] + [p for p in [env.get("PYTHONPATH")] if p])
    result = subprocess.run([sys.executable, "-c", FITS, str(out)], env=env,
                            capture_output=True, text=True, timeout=TIMEOUT_S)
    assert result.returncode == 0, result.stderr
    return dict(np.load(out))


def _cache_files(cache_dir):
    """The compiled kernels in numba's cache, with the time each was written."""
    return {p.name: p.stat().st_mtime_ns for p in cache_dir.rglob("*.nbc")}


@pytest.fixture(scope="module")
def compiled_and_cached_maps(tmp_path_factory):
    """The maps of a process that compiles the kernels and of one that loads them."""
    root = tmp_path_factory.mktemp("numba_cache_reproducibility")
    cache_dir = root / "numba_cache"
    cache_dir.mkdir()
    compiled = _fit_in_fresh_process(root / "compiled.npz", cache_dir)
    cached_files = _cache_files(cache_dir)
    loaded = _fit_in_fresh_process(root / "loaded.npz", cache_dir)
    # the second process compiled nothing (it would have written or rewritten
    # a file): it loaded every kernel
    assert _cache_files(cache_dir) == cached_files
    return compiled, loaded, sorted(cached_files)


def test_the_first_process_fills_the_cache(compiled_and_cached_maps):
    _, _, cached_files = compiled_and_cached_maps
    assert any(name.startswith("_barnes_hut.") for name in cached_files)
    assert any(name.startswith("_interpolation_kernels.") for name in cached_files)


@pytest.mark.parametrize("method", METHODS)
def test_map_is_the_same_from_compiled_and_from_cached_kernels(compiled_and_cached_maps,
                                                               method):
    compiled, loaded, _ = compiled_and_cached_maps
    assert compiled[method].shape == (N_SAMPLES, 2)
    np.testing.assert_array_equal(compiled[method], loaded[method])
