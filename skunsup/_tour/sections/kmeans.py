"""k-means: Lloyd's steps on toy data, clusters of the images, purity, centroids as images."""

import time

import numpy as np

from skunsup.cluster import KMeans
from skunsup.plotting import plot_image_grid, plot_kmeans_steps

TITLE = "k-means"
REQUIRES = ("matplotlib",)


def _purity_table(labels, y, target_names):
    """Per cluster: size, majority class and its share; overall purity."""
    rows = []
    majority_total = 0
    for cluster in range(labels.max() + 1):
        members = y[labels == cluster]
        if members.size == 0:
            rows.append((cluster, 0, "-", 0.0))
            continue
        counts = np.bincount(members, minlength=len(target_names))
        majority = int(counts.argmax())
        majority_total += counts[majority]
        rows.append((cluster, members.size, target_names[majority],
                     counts[majority] / members.size))
    return rows, majority_total / labels.size


def _toy_data(random_state):
    rng = np.random.default_rng(random_state)
    a = rng.normal(size=(150, 2)) @ np.array([[0.6, 0.25], [0.0, 0.45]]) + [-1.0, -0.8]
    b = rng.normal(size=(150, 2)) @ np.array([[0.5, -0.2], [0.0, 0.5]]) + [1.1, 0.9]
    X = np.vstack([a, b])
    return (X - X.mean(axis=0)) / X.std(axis=0)


def run(ctx):
    ctx.progress("Lloyd's steps on 2-D toy data")
    toy = _toy_data(ctx.random_state)
    figure = plot_kmeans_steps(toy, np.array([[-1.8, 1.2], [0.8, -1.8]]))
    ctx.save_figure(figure, "kmeans_steps",
                    "Lloyd's algorithm on two 2-D clusters: (A) initial centres, (B) assign "
                    "every point to its nearest centre, (C) move every centre to the mean of "
                    "its points, (D, E) once more, (F) converged. J is the sum of squared "
                    "distances, which never increases.")

    n_clusters = len(ctx.target_names)
    X, y = ctx.X, np.asarray(ctx.y)
    fits = [("KMeans, k-means++ seeding", dict(init="k-means++", n_init=1)),
            ("KMeans, random init (the lecture's), best of "
             f"{3 if ctx.quick else 10} runs", dict(init="random", n_init=3 if ctx.quick else 10))]
    results = []
    for name, params in fits:
        ctx.progress(f"fitting {name} with k={n_clusters} on {len(X)} images")
        start = time.perf_counter()
        km = KMeans(n_clusters, random_state=ctx.random_state, **params).fit(X)
        seconds = time.perf_counter() - start
        table, purity = _purity_table(km.labels_, y, ctx.target_names)
        ctx.add_row(f"{name} (k={n_clusters})", seconds, "purity", purity)
        results.append((name, km, table, purity, seconds))

    name, km, table, purity, seconds = min(results, key=lambda r: r[1].inertia_)
    lines = [
        f"**k-means on {ctx.data_name}** ({len(X)} images, k = {n_clusters}). "
        + "; ".join(f"{n}: {s:.1f} s, inertia {m.inertia_:.4g}, {m.n_iter_} iterations, "
                    f"purity {p:.3f}" for n, m, _, p, s in results)
        + ". Purity is the share of images whose class is the majority class of their "
          "cluster (chance: about 0.1). Clusters of the lowest-inertia run, by size:",
        "",
        "| cluster | images | majority class | purity |",
        "|---|---|---|---|",
    ]
    for cluster, size, majority, share in sorted(table, key=lambda r: -r[1]):
        lines.append(f"| {cluster} | {size} | {majority} | {share:.3f} |")
    ctx.add_text("\n".join(lines))

    ctx.progress("drawing the centroids")
    order = np.argsort([-r[1] for r in table])
    titles = [f"{table[c][2]}\n{table[c][3]:.0%}" for c in order]
    figure = plot_image_grid(km.cluster_centers_[order], image_shape=ctx.image_shape,
                             n_cols=min(10, n_clusters), titles=titles, vmin=None, vmax=None)
    ctx.save_figure(figure, "kmeans_centroids",
                    f"The {n_clusters} centroids of the lowest-inertia run ({name}) drawn as "
                    "images, with the majority class and purity of their cluster.")
