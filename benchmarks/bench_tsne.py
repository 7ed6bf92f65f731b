"""t-SNE / SNE: skunsup against scikit-learn, same data, same iterations, same run.

Rows:

* Barnes-Hut t-SNE (skunsup) vs scikit-learn's Barnes-Hut TSNE on the first
  ``N`` Fashion-MNIST images after PCA to 50 dimensions (``--sizes``,
  default 10000 70000), both with 1000 iterations, perplexity 30, angle 0.5,
  PCA initialisation and the learning rate ``max(N / 48, 50)``;
* exact SNE and exact t-SNE (skunsup) vs scikit-learn's exact TSNE on 2,000
  points (``--exact-size``).

Quality, computed the same way for every embedding: ``KL (common)`` is
``KL(P || Q)`` with one P for everyone (skunsup's sparse kNN affinities at
perplexity 30, symmetric, summing to 1) and the *exact* normaliser ``Z = sum_{i
!= j} (1 + |y_i - y_j|²)⁻¹`` over all pairs (no approximation);
``10-NN kept`` is the mean fraction of each point's 10 nearest neighbours in the
50-dimensional space that are among its 10 nearest in the map. ``own KL`` is
each library's reported ``kl_divergence_`` (Barnes-Hut estimates; for SNE its
own cost, a sum of per-point KLs, not comparable).

Each contender is a function ``(X, seed, max_iter, n_jobs) -> (embedding,
own_kl)`` in ``CONTENDERS``; new rows (e.g. openTSNE, other methods) are one
function and one entry there. Every fit and quality computation runs with
``--threads`` threads (``n_jobs``).

Run: ``python benchmarks/bench_tsne.py [--sizes 10000 70000] [--quick]``
(``--name tsne_10k`` records a run of other sizes beside the main one).
"""

import time

import numpy as np
from _harness import load_fashion_mnist_float32, main

PERPLEXITY = 30.0
MAX_ITER = 1000


# ---------------------------------------------------------------------------
# contenders: (X, seed, max_iter, n_jobs) -> (embedding, own_kl)
# ---------------------------------------------------------------------------


def _sklearn_learning_rate(X):
    """scikit-learn's learning_rate='auto': max(N / early_exaggeration / 4, 50)."""
    return max(X.shape[0] / 12.0 / 4.0, 50.0)


def skunsup_bh(X, seed, max_iter, n_jobs):
    from skunsup.manifold import TSNE

    # scikit-learn's schedule (its 'auto' rate in both phases), so that both
    # libraries take the same optimisation path and only the speed differs
    tsne = TSNE(perplexity=PERPLEXITY, max_iter=max_iter, method="barnes_hut", angle=0.5,
                init="pca", learning_rate=_sklearn_learning_rate(X), random_state=seed,
                n_jobs=n_jobs).fit(X)
    return tsne.embedding_, tsne.kl_divergence_


def sklearn_bh(X, seed, max_iter, n_jobs):
    from sklearn.manifold import TSNE

    tsne = TSNE(perplexity=PERPLEXITY, max_iter=max_iter, method="barnes_hut", angle=0.5,
                init="pca", learning_rate="auto", random_state=seed, n_jobs=n_jobs)
    Y = tsne.fit_transform(X)
    return Y, tsne.kl_divergence_


def skunsup_tsne_exact(X, seed, max_iter, n_jobs):
    from skunsup.manifold import TSNE

    tsne = TSNE(perplexity=PERPLEXITY, max_iter=max_iter, method="exact", init="pca",
                learning_rate=_sklearn_learning_rate(X), random_state=seed,
                n_jobs=n_jobs).fit(X)
    return tsne.embedding_, tsne.kl_divergence_


def skunsup_sne(X, seed, max_iter, n_jobs):
    from skunsup.manifold import SNE

    sne = SNE(perplexity=PERPLEXITY, max_iter=max_iter, init="pca", random_state=seed,
              n_jobs=n_jobs).fit(X)
    return sne.embedding_, sne.kl_divergence_


def sklearn_exact(X, seed, max_iter, n_jobs):
    from sklearn.manifold import TSNE

    tsne = TSNE(perplexity=PERPLEXITY, max_iter=max_iter, method="exact", init="pca",
                learning_rate="auto", random_state=seed, n_jobs=n_jobs)
    Y = tsne.fit_transform(X)
    return Y, tsne.kl_divergence_


CONTENDERS = {
    "skunsup TSNE barnes_hut": skunsup_bh,
    "scikit-learn TSNE barnes_hut": sklearn_bh,
    "skunsup SNE (exact)": skunsup_sne,
    "skunsup TSNE exact": skunsup_tsne_exact,
    "scikit-learn TSNE exact": sklearn_exact,
}


# ---------------------------------------------------------------------------
# quality, the same for everyone
# ---------------------------------------------------------------------------


class Quality:
    """One P and the true 10-NN of X, shared by every embedding of X."""

    def __init__(self, X, n_jobs):
        from skunsup.manifold._affinity import knn_affinities
        from skunsup.manifold._neighbors import build_knn_index

        self.n_jobs = n_jobs
        self.P = knn_affinities(X, PERPLEXITY, n_jobs=n_jobs).P.tocsr()
        _, self.knn, _ = build_knn_index(X, 10, n_jobs=n_jobs)

    def common_kl(self, Y):
        """sum p log(p / w) + log Z, Z exact over all pairs."""
        from skunsup.manifold import _gradients as G
        from skunsup.utils._numba import numba_threads

        Y = np.ascontiguousarray(Y, dtype=np.float64)
        n = Y.shape[0]
        with numba_threads(self.n_jobs):
            attr, kl_rows = np.empty_like(Y), np.empty(n)
            P = self.P
            G.attractive_forces(P.data.astype(np.float64), P.indices.astype(np.int64),
                                P.indptr.astype(np.int64), Y, Y, True, attr, kl_rows)
            rep, z = np.empty_like(Y), np.empty(n)
            G.exact_repulsive_forces(Y, Y, True, 1.0, rep, z)
        return float(kl_rows.sum() + np.log(z.sum()))

    def knn_kept(self, Y):
        from sklearn.neighbors import NearestNeighbors

        nn = NearestNeighbors(n_neighbors=10).fit(Y)
        emb = nn.kneighbors(return_distance=False)
        hits = [len(np.intersect1d(a, b, assume_unique=True)) for a, b in zip(self.knn, emb)]
        return float(np.mean(hits) / 10.0)


def pca50(X, seed=0):
    from sklearn.decomposition import PCA

    return PCA(50, random_state=seed).fit_transform(X).astype(np.float64)


def run_rows(X, names, *, size_label, max_iter, seed, n_jobs, quality, on_row=None):
    """Run each contender once, in order; a row (with its quality) per contender.

    ``on_row(rows_so_far)`` is called after each contender, so that a long run
    records what it has even if a later contender does not finish.
    """
    rows = []
    for name in names:  # one run each (long); alternation matters little at these lengths
        print(f"[bench_tsne] N={size_label}: {name} ...", flush=True)
        tic = time.perf_counter()
        cpu = time.process_time()
        Y, own_kl = CONTENDERS[name](X, seed, max_iter, n_jobs)
        seconds = time.perf_counter() - tic
        cpu_seconds = time.process_time() - cpu
        print(f"[bench_tsne]   {seconds:.1f} s (process CPU {cpu_seconds:.1f} s)", flush=True)
        rows.append({
            "N": size_label,
            "implementation": name,
            "iterations": max_iter,
            "seconds": round(seconds, 2),
            "CPU seconds": round(cpu_seconds, 1),
            "KL (common)": round(quality.common_kl(Y), 4),
            "own KL": round(float(own_kl), 4),
            "10-NN kept": round(quality.knn_kept(Y), 4),
        })
        if on_row is not None:
            on_row(rows)
    return rows


def add_ratios(rows, ours, peer):
    by_name = {(r["N"], r["implementation"]): r for r in rows}
    for row in rows:
        if row["implementation"] == ours and (row["N"], peer) in by_name:
            row["peer / ours (time)"] = round(by_name[(row["N"], peer)]["seconds"] /
                                              row["seconds"], 2)


def add_arguments(parser):
    parser.add_argument("--sizes", type=int, nargs="*", default=[10000, 70000],
                        help="Barnes-Hut sizes (first N Fashion-MNIST images)")
    parser.add_argument("--exact-size", type=int, default=2000,
                        help="size of the exact SNE / t-SNE comparison (0 skips it)")
    parser.add_argument("--max-iter", type=int, default=MAX_ITER)
    parser.add_argument("--seed", type=int, default=0)


def run(args, report):
    if args.quick:  # 1,500 and 500 points, 300 iterations
        args.sizes, args.exact_size, args.max_iter = [1500], 500, 300

    notes = (
        "Fashion-MNIST (first N of the 70,000 images, [0, 1] float32) after PCA to 50 "
        "dimensions; both libraries get the same array, perplexity 30, 1000 iterations "
        "(250 of early exaggeration 12), PCA initialisation, learning rate max(N/48, 50), "
        f"n_jobs={args.threads}. *KL (common)*: KL(P || Q) of each map with one P for all "
        "(skunsup's kNN affinities, perplexity 30) and the exact normaliser over all pairs. "
        "*own KL*: each library's own figure (Barnes-Hut estimates; SNE's own cost is a sum "
        "of per-point KLs and not comparable). *10-NN kept*: mean fraction of each point's "
        "10 nearest neighbours in the 50-d space kept among its 10 nearest in the map. "
        "Goal (issue 5): Barnes-Hut >= 5x faster than scikit-learn at equal or better KL. "
        "One run per contender (they take minutes), one after the other; *CPU seconds* "
        "is the process CPU time of each fit (the wall time also depends on what else "
        "the machine runs)."
    )
    X_all, _ = load_fashion_mnist_float32("all")
    rows = []

    def finish(new_rows, final=False):
        table = rows + new_rows
        add_ratios(table, "skunsup TSNE barnes_hut", "scikit-learn TSNE barnes_hut")
        add_ratios(table, "skunsup TSNE exact", "scikit-learn TSNE exact")
        add_ratios(table, "skunsup SNE (exact)", "scikit-learn TSNE exact")
        partial = "" if final else (
            "\n\n**Partial run**: the contenders missing from the table had not finished "
            "when this was recorded.")
        report(table, notes=notes + partial)

    for n in args.sizes:
        X = pca50(X_all[:n], args.seed)
        rows += run_rows(X, ["skunsup TSNE barnes_hut", "scikit-learn TSNE barnes_hut"],
                         size_label=n, max_iter=args.max_iter, seed=args.seed,
                         n_jobs=args.threads, quality=Quality(X, args.threads),
                         on_row=finish)
    if args.exact_size:
        X = pca50(X_all[:args.exact_size], args.seed)
        rows += run_rows(X, ["skunsup SNE (exact)", "skunsup TSNE exact",
                             "scikit-learn TSNE exact"],
                         size_label=args.exact_size, max_iter=args.max_iter, seed=args.seed,
                         n_jobs=args.threads, quality=Quality(X, args.threads),
                         on_row=finish)
    finish([], final=True)


if __name__ == "__main__":
    main(__doc__, run, name="tsne", add_arguments=add_arguments)
