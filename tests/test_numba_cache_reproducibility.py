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

import textwrap

import numpy as np
import pytest

from tests._fresh_numba_cache import compiled_and_loaded

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


@pytest.fixture(scope="module")
def compiled_and_cached_maps(tmp_path_factory):
    """The maps of a process that compiles the kernels and of one that loads them."""
    return compiled_and_loaded(FITS, tmp_path_factory.mktemp("numba_cache_reproducibility"),
                               TIMEOUT_S)


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
