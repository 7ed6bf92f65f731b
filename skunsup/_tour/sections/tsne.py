"""t-SNE: the map of the images, new images placed into it, and SNE's crowding problem."""

import time

import numpy as np

from skunsup.manifold import SNE, TSNE
from skunsup.plotting import plot_embedding

TITLE = "SNE and t-SNE"
REQUIRES = ("matplotlib",)


def _knn_kept(X, Y, k=10):
    """Mean share of each point's k nearest neighbours in X kept among its k nearest in Y."""
    from sklearn.neighbors import NearestNeighbors

    high = NearestNeighbors(n_neighbors=k).fit(X).kneighbors(return_distance=False)
    low = NearestNeighbors(n_neighbors=k).fit(Y).kneighbors(return_distance=False)
    return float(np.mean([len(np.intersect1d(a, b)) for a, b in zip(high, low)]) / k)


def _pca50(X, random_state):
    try:
        from skunsup.decomposition import PCA
    except ImportError:  # pragma: no cover - the PCA issue not merged yet
        from sklearn.decomposition import PCA
    n_components = min(50, X.shape[1], X.shape[0])
    return np.asarray(PCA(n_components, random_state=random_state).fit_transform(X),
                      dtype=np.float64)


def run(ctx):
    import matplotlib.pyplot as plt

    X, y = ctx.X, np.asarray(ctx.y)
    ctx.progress(f"PCA to 50 dimensions of {len(X)} images")
    Xp = _pca50(X, ctx.random_state)

    # 1. the map of (almost) all images; a tenth held out and placed afterwards
    rng = np.random.default_rng(ctx.random_state)
    order = rng.permutation(len(X))
    n_new = len(X) // 10
    train, new = np.sort(order[n_new:]), np.sort(order[:n_new])
    ctx.progress(f"t-SNE of {len(train)} images")
    start = time.perf_counter()
    tsne = TSNE(perplexity=30, random_state=ctx.random_state).fit(Xp[train])
    seconds = time.perf_counter() - start
    ctx.progress("quality of the map")
    kept = _knn_kept(Xp[train], tsne.embedding_)
    method = getattr(tsne, "_method", tsne.method)
    ctx.add_row(f"TSNE {method} ({len(train)} images)", seconds, "10-NN kept", kept)

    ctx.progress(f"placing {len(new)} held-out images into the map (transform)")
    start = time.perf_counter()
    Y_new = tsne.transform(Xp[new])
    seconds_new = time.perf_counter() - start
    from sklearn.neighbors import NearestNeighbors

    neighbours = NearestNeighbors(n_neighbors=10).fit(tsne.embedding_).kneighbors(
        Y_new, return_distance=False)
    majority = np.array([np.bincount(y[train][row], minlength=len(ctx.target_names)).argmax()
                         for row in neighbours])
    agreement = float(np.mean(majority == y[new]))
    ctx.add_row(f"TSNE.transform ({len(new)} new images)", seconds_new,
                "10-NN class agreement", agreement)

    figure, axes = plt.subplots(1, 2, figsize=(13, 6))
    plot_embedding(tsne.embedding_, y[train], target_names=ctx.target_names, ax=axes[0],
                   title=f"t-SNE of {len(train)} images (KL {tsne.kl_divergence_:.3f})")
    axes[1].scatter(tsne.embedding_[:, 0], tsne.embedding_[:, 1], s=1, c="0.85")
    plot_embedding(Y_new, y[new], target_names=ctx.target_names, ax=axes[1], point_size=4,
                   title=f"{len(new)} new images placed by transform")
    ctx.save_figure(figure, "tsne_map",
                    f"Left: t-SNE map of {len(train)} {ctx.data_name} images (PCA to 50 "
                    "dimensions first), coloured by class. Right: held-out images placed "
                    "into the fixed map by `TSNE.transform` (grey: the training map).")
    ctx.add_text(
        f"**t-SNE** (method '{method}', perplexity 30, {tsne.n_iter_} iterations): "
        f"{seconds:.1f} s for {len(train)} images, KL divergence {tsne.kl_divergence_:.3f}; "
        f"on average {kept:.1%} of each image's 10 nearest neighbours (in the 50-d PCA space) "
        f"are among its 10 nearest in the map. `transform` placed {len(new)} unseen images in "
        f"{seconds_new:.1f} s; {agreement:.1%} of them landed among training images whose "
        "10-nearest-neighbour majority is their own class.")

    # 2. SNE vs t-SNE on a subset: the crowding problem
    n_sub = 500 if ctx.quick else 1500
    sub = np.sort(order[:n_sub])
    ctx.progress(f"SNE (exact) of {n_sub} images")
    start = time.perf_counter()
    sne = SNE(perplexity=30, random_state=ctx.random_state).fit(Xp[sub])
    seconds_sne = time.perf_counter() - start
    ctx.add_row(f"SNE exact ({n_sub} images)", seconds_sne, "10-NN kept",
                _knn_kept(Xp[sub], sne.embedding_))
    ctx.progress(f"t-SNE (exact) of the same {n_sub} images")
    start = time.perf_counter()
    tsne_sub = TSNE(perplexity=30, method="exact", random_state=ctx.random_state).fit(Xp[sub])
    seconds_tsne = time.perf_counter() - start
    ctx.add_row(f"TSNE exact ({n_sub} images)", seconds_tsne, "10-NN kept",
                _knn_kept(Xp[sub], tsne_sub.embedding_))

    figure, axes = plt.subplots(1, 2, figsize=(13, 6))
    plot_embedding(sne.embedding_, y[sub], target_names=ctx.target_names, ax=axes[0],
                   title="SNE (Gaussian map kernel)")
    plot_embedding(tsne_sub.embedding_, y[sub], target_names=ctx.target_names, ax=axes[1],
                   title="t-SNE (Student-t map kernel)")
    ctx.save_figure(figure, "sne_vs_tsne",
                    f"The same {n_sub} images embedded by SNE (left) and t-SNE (right). SNE's "
                    "Gaussian kernel crowds moderately distant points into the centre; the "
                    "heavy tail of t-SNE's kernel lets clusters separate.")
    ctx.add_text(
        f"**SNE vs t-SNE** on {n_sub} images: SNE took {seconds_sne:.1f} s ({sne.n_iter_} "
        f"iterations), exact t-SNE {seconds_tsne:.1f} s. In SNE's map the classes press "
        "together in one crowded disc (the crowding problem: a Gaussian in two dimensions has "
        "no room for all the moderately distant neighbours of high-dimensional data); "
        "t-SNE's heavy-tailed kernel lets them spread into separate clusters.")
