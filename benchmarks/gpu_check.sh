#!/bin/bash
# One short GPU run of the neural benchmarks (device machine; see benchmarks/README or the
# bench scripts). Needs the Fashion-MNIST .gz files in ./.fmnist (carried, git-ignored) and,
# where the machine's scikit-learn is older than 1.6 or skorch is missing, wheels in ./.whl.
# Writes JSON under $OUT; record locally with
#   python benchmarks/bench_autoencoder.py --from-json autoencoder_cuda.json --name autoencoder_cuda
set -u
export PYTHONUNBUFFERED=1 SKUNSUP_DATA="$PWD/.fmnist"
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv | tee "$OUT/gpu.txt"
python3 -c "import sklearn, sys; sys.exit(0 if tuple(map(int, sklearn.__version__.split('.')[:2])) >= (1, 6) else 1)" \
  || SK=1
python3 -c "import skorch" 2>/dev/null || SKORCH=1
if [ -n "${SK:-}${SKORCH:-}" ] && ls .whl/*.whl >/dev/null 2>&1; then
  wheels=""
  [ -n "${SK:-}" ] && wheels="$wheels $(ls .whl/scikit_learn-*.whl)"
  [ -n "${SKORCH:-}" ] && wheels="$wheels $(ls .whl/skorch-*.whl)"
  python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --target /tmp/site $wheels \
    && export PYTHONPATH=/tmp/site
fi
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"
python3 -c "import torch, sklearn, numpy; print('torch', torch.__version__, 'sklearn', sklearn.__version__, 'numpy', numpy.__version__, torch.cuda.get_device_name(0))" | tee -a "$OUT/gpu.txt"
timeout 200 python3 benchmarks/bench_autoencoder.py --device cuda --repeats 2 --threads 4 \
  --json-out "$OUT/autoencoder_cuda.json" 2>&1 | tail -n 60
timeout 170 python3 benchmarks/bench_vae.py --device cuda --repeats 2 --threads 4 \
  --json-out "$OUT/vae_cuda.json" 2>&1 | tail -n 40
