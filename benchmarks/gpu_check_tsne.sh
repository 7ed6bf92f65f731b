#!/bin/bash
# t-SNE on the GPU (issue 17): the CUDA tests of tests/test_tsne_torch.py, then
# benchmarks/bench_tsne_gpu.py, on the device machine; about 5 minutes;
# run by gpu_check.sh, or alone (`bash benchmarks/gpu_check_tsne.sh`) in a call of its own.
# The machine has no network: openTSNE comes from a wheel in ./.whl, fetched here beforehand with
#   for v in 3.10 3.11 3.12 3.13; do pip download openTSNE --no-deps --only-binary=:all: --python-version $v -d .whl; done
# (pip picks the one of the machine's Python; its dependencies numpy, scipy, scikit-learn are there).
# .whl and .fmnist (the Fashion-MNIST .gz files) are git-ignored: name both in the run's `carry`.
# Writes $OUT/tsne_gpu.json; record locally with
#   python benchmarks/bench_tsne_gpu.py --from-json tsne_gpu.json --name tsne_gpu_cuda
set -u
export PYTHONUNBUFFERED=1 SKUNSUP_DATA="$PWD/.fmnist"
[ -s "$OUT/gpu.txt" ] || nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv > "$OUT/gpu.txt"
if ! python3 -c "import openTSNE" 2>/dev/null && ls .whl/opentsne-*.whl >/dev/null 2>&1; then
  python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --find-links .whl \
    --target /tmp/site-tsne openTSNE && export PYTHONPATH="/tmp/site-tsne${PYTHONPATH:+:$PYTHONPATH}"
fi
python3 -c "import openTSNE" 2>/dev/null || NO_OPENTSNE=--no-opentsne
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"
# the executor's CUDA tests first (affinities, objective, fit and transform on the GPU)
if python3 -c "import pytest, hypothesis" 2>/dev/null; then
  timeout 120 python3 -m pytest -q -p no:cacheprovider -k cuda tests/test_tsne_torch.py 2>&1 | tail -n 15
fi
timeout 420 python3 benchmarks/bench_tsne_gpu.py --threads "$(nproc)" ${NO_OPENTSNE:-} \
  --json-out "$OUT/tsne_gpu.json" 2>&1 | tail -n 40
