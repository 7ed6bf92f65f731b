"""PCA on a GPU: skunsup ``device='cuda'`` against scikit-learn's PCA on the same GPU and on the CPU.

Two tables (issue 17). ``<name>``: every contender in the same process, interleaved: the fit
of ``PCA(n_components)`` with the default solver (``'auto'``: the covariance
route for both libraries on these shapes) on

- Fashion-MNIST 70,000 x 784 float32 -> 50 components;
- 1,000,000 x 100 float32 -> 10 (a Gaussian with a decaying spectrum, offset
  from the origin as pixel data is).

Contenders:

- skunsup ``PCA(device=...)`` from the numpy array (the copy to the device is
  part of its time);
- skunsup's array API path from a torch tensor already on the device
  (``sklearn.set_config(array_api_dispatch=True)``);
- scikit-learn's PCA under array API dispatch from the same tensor;
- scikit-learn's PCA on the CPU cores (numpy).

Quality: the largest relative error of ``explained_variance_`` against a
float64 eigendecomposition of the float64 covariance of the same data.
``<name>_parts``: where skunsup's fit goes (the copy to the device, the
covariance, the eigendecomposition on the device or on the host).

    python benchmarks/bench_pca_gpu.py --device cuda --threads 16 --json-out pca_cuda.json
    python benchmarks/bench_pca_gpu.py --from-json pca_cuda.json --name pca_cuda
    python benchmarks/bench_pca_gpu.py --from-json pca_cuda_parts.json --name pca_cuda_parts
    python benchmarks/bench_pca_gpu.py --device cpu --quick   # smoke run, tiny sizes

With ``--device cpu`` skunsup runs its torch executor on the CPU (the private
test switch :func:`skunsup.utils._torch.torch_executor_on_cpu`) and the array API
contenders take CPU tensors: the smoke run exercises the code that runs on a
GPU. Its times mean nothing.
"""

import contextlib
import os
import time

# scikit-learn's array API dispatch needs scipy's array API mode, read when scipy
# is first imported
os.environ.setdefault("SCIPY_ARRAY_API", "1")

import numpy as np  # noqa: E402
from _harness import interleave, load_fashion_mnist_float32, main, median  # noqa: E402
from sklearn import config_context  # noqa: E402
from sklearn.decomposition import PCA as SklearnPCA  # noqa: E402


def gaussian(n_samples, n_features, random_state=0):
    """Float32 rows of a Gaussian with a decaying spectrum, offset from the origin."""
    rng = np.random.default_rng(random_state)
    scales = np.geomspace(5.0, 0.05, n_features)
    basis = np.linalg.qr(rng.normal(size=(n_features, n_features)))[0]
    X = np.empty((n_samples, n_features), dtype=np.float32)
    for start in range(0, n_samples, 100_000):  # in blocks: no float64 copy of X
        block = rng.normal(size=(min(100_000, n_samples - start), n_features))
        X[start:start + len(block)] = (block * scales) @ basis + 3.0
    return X


def float64_variances(X, n_components):
    """The top explained variances from the float64 covariance (the reference)."""
    mean = X.mean(axis=0, dtype=np.float64)
    covariance = np.zeros((X.shape[1], X.shape[1]))
    for start in range(0, X.shape[0], 50_000):
        block = X[start:start + 50_000].astype(np.float64) - mean
        covariance += block.T @ block
    values = np.linalg.eigvalsh(covariance / (X.shape[0] - 1))
    return values[::-1][:n_components]


def array_api_problem(torch, device):
    """Why scikit-learn's array API dispatch fails on this machine (None if it works)."""
    try:
        with config_context(array_api_dispatch=True):
            SklearnPCA(2).fit(torch.randn(20, 4, device=device))
    except Exception as exc:  # an old scikit-learn or scipy, a missing array-api-compat
        return f"{type(exc).__name__}: {exc}"
    return None


def row(torch, X, data_name, n_components, device, skunsup_device, repeats, array_api):
    from skunsup.decomposition import PCA

    X_t = torch.from_numpy(X).to(device)

    def on_device(make):
        def fit():
            with config_context(array_api_dispatch=True):
                model = make().fit(X_t)
            if device != "cpu":
                torch.cuda.synchronize()
            return model.explained_variance_.cpu().numpy()

        return fit

    contenders = {
        "skunsup": lambda: PCA(n_components, device=skunsup_device).fit(X).explained_variance_,
        "skunsup array API": on_device(lambda: PCA(n_components)),
        "sklearn array API": on_device(lambda: SklearnPCA(n_components)),
        "sklearn CPU": lambda: SklearnPCA(n_components).fit(X).explained_variance_,
    }
    if not array_api:
        del contenders["skunsup array API"], contenders["sklearn array API"]
    for warm_up in contenders.values():  # CUDA context, cuSOLVER handles, kernels
        warm_up()
    times, variances = interleave(contenders, repeats)
    truth = float64_variances(X, n_components)
    result = {"data": f"{data_name} {X.shape[0]}x{X.shape[1]} -> {n_components}"}
    for name in contenders:
        result[f"{name} s"] = median(times[name])
    if array_api:
        result["vs sklearn array API"] = (median(times["skunsup"])
                                          / median(times["sklearn array API"]))
    result["vs sklearn CPU"] = median(times["skunsup"]) / median(times["sklearn CPU"])
    for name in contenders:
        error = np.abs(np.asarray(variances[name], dtype=np.float64) / truth - 1).max()
        result[f"{name} max rel. error"] = float(error)
    return result


def fit_parts(torch, X, device, repeats=5):
    """Where skunsup's covariance fit goes on the device: the copy of X, the float64
    covariance from centred float32 blocks, and its float64 eigendecomposition on
    the device or (copied back) by numpy on the host."""
    from skunsup.decomposition._pca_torch import _centered_covariance
    from skunsup.utils._torch import full_precision_matmul

    def synced(func):
        def run():
            result = func()
            if device != "cpu":
                torch.cuda.synchronize()
            return result

        return run

    X_t = torch.from_numpy(X).to(device)
    covariance = _centered_covariance(X_t, torch)[1]
    parts = {
        "copy X to the device": synced(lambda: torch.from_numpy(X).to(device)),
        "covariance (float32 blocks, float64 sums)": synced(
            lambda: _centered_covariance(X_t, torch)),
        "eigh float64 on the device": synced(lambda: torch.linalg.eigh(covariance)),
        "eigh float64 on the host (copy included)": lambda: np.linalg.eigh(
            covariance.cpu().numpy()),
    }
    rows = []
    with full_precision_matmul(torch):
        for name, part in parts.items():
            part()  # warm-up
            times = []
            for _ in range(repeats):
                start = time.perf_counter()
                part()
                times.append(time.perf_counter() - start)
            rows.append({"data": f"{X.shape[0]}x{X.shape[1]}", "part": name,
                         "ms (median)": 1e3 * median(times)})
    return rows


NOTES_PARTS = """
The parts of skunsup's 'covariance_eigh' fit on the device (each alone, synchronised,
median of 5), for the choice of where to eigendecompose.
"""

NOTES = """
Goal (issue 17, one H100): skunsup <= 1.0x the time of scikit-learn's PCA under array
API dispatch on the same GPU, at explained-variance error <= 1e-5 (relative to a
float64 eigendecomposition of the float64 covariance). skunsup's fit starts from the
numpy array (its time includes the copy to the device); the array API contenders
start from a tensor on the device. Times: medians of interleaved fits.
"""


def add_arguments(parser):
    parser.add_argument("--device", default="cuda",
                        help="skunsup's and the array API contenders' device (default: "
                             "%(default)s); 'cpu' runs skunsup's torch executor on the CPU")
    parser.add_argument("--repeats", type=int, default=5)


def run(args, report):
    import torch

    from skunsup.utils._torch import torch_executor_on_cpu

    fashion, _ = load_fashion_mnist_float32()
    cases = [(fashion, "fashion-mnist", 50), (gaussian(1_000_000, 100), "gaussian", 10)]
    repeats = args.repeats
    if args.quick:
        cases = [(fashion[:3000], "fashion-mnist", 50), (gaussian(20_000, 100), "gaussian", 10)]
        repeats = 1
    on_cpu = args.device == "cpu"
    context = torch_executor_on_cpu() if on_cpu else contextlib.nullcontext()
    machine = (f"torch {torch.__version__}, device {args.device}"
               + (f" ({torch.cuda.get_device_name(0)})" if not on_cpu else "")
               + f", {args.threads} CPU threads for scikit-learn's CPU fit.")
    problem = array_api_problem(torch, args.device)
    if problem is not None:
        machine += f" scikit-learn's array API dispatch failed here ({problem}): no such rows."
    rows = []
    with context:
        for X, name, n_components in cases:
            rows.append(row(torch, X, name, n_components, args.device, args.device, repeats,
                            array_api=problem is None))
            print(rows[-1], flush=True)
            report(rows, notes=NOTES + machine)
        parts = []
        for X, _, _ in cases:
            parts += fit_parts(torch, X, args.device)
            report(parts, notes=NOTES_PARTS + machine, part="parts")


if __name__ == "__main__":
    main(__doc__, run, name="pca_cuda", add_arguments=add_arguments)
