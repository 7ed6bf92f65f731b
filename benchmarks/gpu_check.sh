#!/bin/bash
# One short GPU run of the GPU benchmarks (device machine; see the bench scripts).
#   bash benchmarks/gpu_check.sh                  # neural kmeans pca (the default parts)
#   bash benchmarks/gpu_check.sh kmeans pca tests # only the parts named
# Parts: neural (bench_autoencoder, bench_vae), kmeans (bench_kmeans_gpu), pca
# (bench_pca_gpu), tests (the KMeans/PCA torch tests on CUDA; needs pytest and
# hypothesis there). Each part has its own timeout; a benchmark files its JSON after
# every row, so a part cut short keeps the rows it finished. Needs the Fashion-MNIST .gz
# files in ./.fmnist (carried, git-ignored) and, where the machine's scikit-learn is
# older than 1.6 or skorch is missing, wheels in ./.whl.
# Writes JSON under $OUT; record locally with, e.g.
#   python benchmarks/bench_autoencoder.py --from-json autoencoder_cuda.json --name autoencoder_cuda
#   python benchmarks/bench_kmeans_gpu.py --from-json kmeans_cuda.json --name kmeans_cuda
#   (and kmeans_cuda_step, kmeans_cuda_default_fit: one JSON file per table)
#   python benchmarks/bench_pca_gpu.py --from-json pca_cuda.json --name pca_cuda
#   (and pca_cuda_parts)
set -u
parts=" ${*:-neural kmeans pca} "
want() { [[ "$parts" == *" $1 "* ]]; }
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
if want neural; then
  timeout 200 python3 benchmarks/bench_autoencoder.py --device cuda --repeats 2 --threads 4 \
    --json-out "$OUT/autoencoder_cuda.json" 2>&1 | tail -n 60
  timeout 170 python3 benchmarks/bench_vae.py --device cuda --repeats 2 --threads 4 \
    --json-out "$OUT/vae_cuda.json" 2>&1 | tail -n 40
fi
# scikit-learn, the peer of the KMeans and PCA rows, runs on every core of the machine
if want kmeans; then
  timeout 100 python3 benchmarks/bench_kmeans_gpu.py --device cuda --threads "$(nproc)" \
    --json-out "$OUT/kmeans_cuda.json" 2>&1 | tail -n 30
fi
if want pca; then
  timeout 75 python3 benchmarks/bench_pca_gpu.py --device cuda --threads "$(nproc)" \
    --json-out "$OUT/pca_cuda.json" 2>&1 | tail -n 20
fi
if want tests; then
  timeout 150 python3 -m pytest -q -p no:cacheprovider -k cuda \
    tests/test_kmeans_torch.py tests/test_pca_torch.py 2>&1 | tail -n 30
fi
# Part tsne (not a default part, about 5 minutes: `bash benchmarks/gpu_check.sh tsne`): t-SNE
# on the GPU by benchmarks/gpu_check_tsne.sh (openTSNE's wheel in ./.whl; record with
#   python benchmarks/bench_tsne_gpu.py --from-json tsne_gpu.json --name tsne_gpu_cuda)
if want tsne; then
  bash benchmarks/gpu_check_tsne.sh
fi
