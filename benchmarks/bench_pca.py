"""PCA: skunsup's solvers against scikit-learn's fastest solver, speed and accuracy.

Two problems (float32, as images and most real data arrive):

- Fashion-MNIST 70,000 x 784 in [0, 1], 50 components;
- synthetic 1,000,000 x 100, rank 10 plus small noise and a non-zero mean, 10 components.

For each problem every scikit-learn solver is timed once to find its fastest;
then each skunsup solver and that scikit-learn solver are timed in the same
process, interleaved, and the medians are compared ('auto' and
'covariance_eigh' in 2 * repeats + 1 rounds, the slow solvers in
``repeats``). Next to each time is the worst relative error of the explained
variances against a float64 reference (numpy's eigh of the covariance of the
float64 copy of the data). Goal: ratio
<= 1.0 at an error <= 1e-5.

Run from the repository root::

    python benchmarks/bench_pca.py            # full run, recorded in RESULTS.md
    python benchmarks/bench_pca.py --quick    # smoke run on subsets, not recorded
"""

import os
import time

import numpy as np
from _harness import interleave, load_fashion_mnist_float32, main, median

OUR_SOLVERS = ["auto", "covariance_eigh", "full", "randomized", "arpack"]
PEER_SOLVERS = ["covariance_eigh", "full", "randomized", "arpack"]


def synthetic_low_rank(n_samples, n_features=100, rank=10, seed=0):
    """Rank-``rank`` float32 data with decaying scales, noise 0.05 and offsets in [0, 5)."""
    rng = np.random.default_rng(seed)
    scales = np.geomspace(3.0, 0.5, rank).astype(np.float32)
    latent = rng.standard_normal((n_samples, rank), dtype=np.float32) * scales
    basis = np.linalg.qr(rng.standard_normal((n_features, rank)))[0].T.astype(np.float32)
    X = latent @ basis
    del latent
    X += 0.05 * rng.standard_normal((n_samples, n_features), dtype=np.float32)
    X += rng.uniform(0.0, 5.0, n_features).astype(np.float32)
    return X


def reference_variances(X, n_components, block_rows=65536):
    """Top eigenvalues of the covariance of float64(X), blocked to bound memory."""
    n_samples, n_features = X.shape
    mean = X.mean(axis=0, dtype=np.float64)
    cov = np.zeros((n_features, n_features))
    for start in range(0, n_samples, block_rows):
        block = X[start : start + block_rows].astype(np.float64) - mean
        cov += block.T @ block
    cov /= n_samples - 1
    return np.linalg.eigvalsh(cov)[::-1][:n_components]


def relative_error(variances, reference):
    return float(np.max(np.abs(np.asarray(variances, dtype=np.float64) - reference) / reference))


def run_problem(name, X, n_components, repeats, ours, theirs, threads_note):
    reference = reference_variances(X, n_components)
    warm = X[:2000]

    def ours_fit(solver, data=X):
        return lambda: ours(n_components, svd_solver=solver, random_state=0).fit(data)

    def theirs_fit(solver, data=X):
        return lambda: theirs(n_components, svd_solver=solver, random_state=0).fit(data)

    # 1. scikit-learn's fastest solver for this shape (one run each, warmed on a subset).
    survey = {}
    for solver in PEER_SOLVERS:
        theirs_fit(solver, warm)()
        start = time.perf_counter()
        model = theirs_fit(solver)()
        survey[solver] = (time.perf_counter() - start,
                          relative_error(model.explained_variance_, reference))
        print(f"{name}: scikit-learn {solver}: {survey[solver][0]:.3f} s, "
              f"error {survey[solver][1]:.2e}", flush=True)
    peer = min(survey, key=lambda s: survey[s][0])
    peer_key = f"scikit-learn {peer}"

    # 2. every skunsup solver against it, interleaved: the fast solvers with more
    # rounds, the slow ones (seconds to a minute each) with fewer.
    rows = []
    groups = [(["auto", "covariance_eigh"], 2 * repeats + 1), (["full", "randomized", "arpack"],
                                                                 repeats)]
    for solvers, rounds in groups:
        contenders = {f"ours {s}": ours_fit(s) for s in solvers}
        contenders[peer_key] = theirs_fit(peer)
        for solver in solvers:
            ours_fit(solver, warm)()  # JIT cache load, imports
        theirs_fit(peer, warm)()
        times, results = interleave(contenders, repeats=rounds)
        peer_time = median(times[peer_key])
        peer_error = relative_error(results[peer_key].explained_variance_, reference)
        for solver in solvers:
            key = f"ours {solver}"
            chosen = results[key]._fit_svd_solver
            rows.append({
                "problem": name,
                "skunsup solver": solver if solver != "auto" else f"auto ({chosen})",
                "skunsup s": median(times[key]),
                "skunsup EV error": relative_error(results[key].explained_variance_,
                                                   reference),
                "scikit-learn solver": peer,
                "scikit-learn s": peer_time,
                "scikit-learn EV error": peer_error,
                "ratio": median(times[key]) / peer_time,
                "rounds": rounds,
            })
            print(rows[-1], flush=True)
    survey_text = ", ".join(f"'{s}' {t:.3g} s at {e:.1e}" for s, (t, e) in survey.items())
    return rows, f"- {name}: scikit-learn solvers (one run each): {survey_text}. {threads_note}"


def add_arguments(parser):
    parser.add_argument("--repeats", type=int, default=None,
                        help="rounds of the slow solvers (the fast ones: 2 * repeats + 1; "
                             "default: 3, 1 with --quick)")


def run(args, report):
    import numba
    from sklearn.decomposition import PCA as SklearnPCA

    from skunsup import PCA

    repeats = args.repeats or (1 if args.quick else 3)
    load_start = ", ".join(f"{value:.1f}" for value in os.getloadavg())
    PCA(2).fit(np.random.default_rng(0).random((600, 8), dtype=np.float32))  # load JIT cache
    threads_note = f"numba threads {numba.get_num_threads()}."

    X, _ = load_fashion_mnist_float32("all")
    if args.quick:
        X = X[:10000]
    rows, notes = run_problem(f"Fashion-MNIST {X.shape[0]:,} x {X.shape[1]} -> 50", X, 50,
                              repeats, PCA, SklearnPCA, threads_note)
    del X
    n_samples = 100_000 if args.quick else 1_000_000
    X = synthetic_low_rank(n_samples)
    more_rows, more_notes = run_problem(f"low rank {n_samples:,} x 100 -> 10", X, 10, repeats,
                                        PCA, SklearnPCA, threads_note)
    rows += more_rows
    load = ", ".join(f"{value:.1f}" for value in os.getloadavg())
    text = "\n".join([
        "Fit times in seconds (medians of interleaved runs in one process, float32 input); "
        "'EV error' is the worst relative error of `explained_variance_` against numpy's "
        "eigh of the float64 covariance. Goal (DESIGN.md): ratio <= 1.0 against "
        "scikit-learn's fastest solver for the shape, at an error <= 1e-5.",
        notes,
        more_notes,
        f"- Machine load average at the end of the run (1, 5, 15 min): {load} "
        f"(load at start: {load_start}); on a shared machine above 2 the times are "
        f"noisy, compare the ratios of one run only.",
    ])
    report(rows, notes=text)


if __name__ == "__main__":
    main(__doc__, run, name="pca", add_arguments=add_arguments)
