"""PCA: explained variance, the 2-D projection, reconstructions and denoising."""

import time

import numpy as np

from skunsup.decomposition import PCA
from skunsup.plotting import plot_embedding, plot_explained_variance, plot_image_grid

TITLE = "PCA"
REQUIRES = ("matplotlib",)

RECONSTRUCTION_RANKS = (2, 10, 50, 200)
NOISE_STD = 0.25


def _reconstruct(pca, X, k):
    """Project on the first k components of a fitted full PCA and map back."""
    components = pca.components_[:k]
    return ((X - pca.mean_) @ components.T) @ components + pca.mean_


def run(ctx):
    X, y = ctx.X, np.asarray(ctx.y)
    train, test = ctx.holdout()
    X_train, X_test = X[train], X[test]

    ctx.progress(f"fitting PCA (all components) on {len(X_train)} images")
    start = time.perf_counter()
    pca = PCA(random_state=ctx.random_state).fit(X_train)
    seconds = time.perf_counter() - start
    ratio = pca.explained_variance_ratio_.astype(np.float64)
    cumulative = np.cumsum(ratio)
    ctx.add_row(f"PCA, all {pca.n_components_} components ({pca._fit_svd_solver})", seconds,
                "variance share of 50 components", cumulative[min(50, len(ratio)) - 1])

    ax = plot_explained_variance(ratio, title=f"Explained variance, {ctx.data_name}")
    needed = {t: int(np.searchsorted(cumulative, t)) + 1 for t in (0.8, 0.9, 0.95, 0.99)}
    ctx.save_figure(ax.figure, "pca_explained_variance",
                    "Share of the variance explained by each principal component (blue, log "
                    "scale) and by the first k together (red). " + ", ".join(
                        f"{t:.0%} needs {k}" for t, k in needed.items()) +
                    f" of {X.shape[1]} dimensions.")

    ctx.progress("2-D projection")
    projection = pca.transform(X_test)[:, :2]
    two = cumulative[1]
    ax = plot_embedding(projection, y[test], target_names=ctx.target_names,
                        title=f"First two principal components: {two:.1%} of the variance")
    ax.set_xlabel("PC 1")
    ax.set_ylabel("PC 2")
    ctx.save_figure(ax.figure, "pca_projection",
                    f"Held-out images projected on the first two principal components, coloured "
                    f"by class (the lecture's 'clustering with PCA' figure). Together they "
                    f"explain {two:.1%} of the variance.")

    ctx.progress("principal components as images")
    n_show = min(16, pca.n_components_)
    scale = np.abs(pca.components_[:n_show]).max()
    figure = plot_image_grid(0.5 + 0.5 * pca.components_[:n_show] / scale,
                             image_shape=ctx.image_shape, n_cols=8,
                             titles=[f"PC {i + 1}" for i in range(n_show)], cmap="RdBu_r")
    ctx.save_figure(figure, "pca_components",
                    f"The first {n_show} principal components as images (red positive, blue "
                    f"negative, white zero): the directions of largest variance around the "
                    f"mean image.")

    ctx.progress("reconstructions from k components")
    picks = np.array([test[y[test] == label][0] for label in np.unique(y[test])])[:8]
    rows, titles, errors = [X[picks]], ["original"] + [""] * (len(picks) - 1), {}
    for k in RECONSTRUCTION_RANKS:
        if k > pca.n_components_:
            continue
        # the first k components of the full fit are PCA(k)'s components
        rows.append(_reconstruct(pca, X[picks], k))
        titles += [f"k = {k}"] + [""] * (len(picks) - 1)
        errors[k] = float(np.mean((_reconstruct(pca, X_test, k) - X_test) ** 2))
    figure = plot_image_grid(np.clip(np.vstack(rows), 0, 1), image_shape=ctx.image_shape,
                             n_cols=len(picks), titles=titles)
    ctx.save_figure(figure, "pca_reconstructions",
                    "Held-out images (top row) and their reconstructions from the first k "
                    "principal components (rows below), one image per class.")

    ctx.progress("denoising")
    rng = np.random.default_rng(ctx.random_state)
    noisy = (X_test + NOISE_STD * rng.standard_normal(X_test.shape)).astype(X.dtype)
    # k is chosen on noisy copies of training images, then judged on held-out ones
    check = X_train[: len(X_test)]
    noisy_check = check + NOISE_STD * rng.standard_normal(check.shape).astype(X.dtype)
    candidates = [k for k in (10, 20, 30, 50, 80, 120) if k <= pca.n_components_]
    k_best = min(candidates, key=lambda k: np.mean((_reconstruct(pca, noisy_check, k) - check)
                                                   ** 2))
    best = _reconstruct(pca, noisy, k_best)
    mse_best = float(np.mean((best - X_test) ** 2))
    mse_noisy = float(np.mean((noisy - X_test) ** 2))
    index = np.array([np.flatnonzero(test == p)[0] for p in picks])
    figure = plot_image_grid(
        np.clip(np.vstack([X_test[index], noisy[index], best[index]]), 0, 1),
        image_shape=ctx.image_shape, n_cols=len(index),
        titles=["clean"] + [""] * (len(index) - 1) + [f"noise σ={NOISE_STD}"]
        + [""] * (len(index) - 1) + [f"PCA, k={k_best}"] + [""] * (len(index) - 1))
    ctx.save_figure(figure, "pca_denoising",
                    f"Denoising: held-out images (top), with Gaussian noise of standard "
                    f"deviation {NOISE_STD} (middle), and projected on the first {k_best} "
                    f"components learnt from clean training images, then reconstructed "
                    f"(bottom). Mean squared error per pixel: {mse_noisy:.4f} noisy, "
                    f"{mse_best:.4f} denoised.")
    ctx.add_row(f"PCA denoising (k={k_best}, σ={NOISE_STD})", 0.0,
                "MSE denoised / noisy", mse_best / mse_noisy)

    lines = [
        f"**PCA on {ctx.data_name}** ({len(X_train)} training images, {X.shape[1]} pixels; "
        f"solver '{pca._fit_svd_solver}', {seconds:.2f} s for all components). The first two "
        f"components explain {two:.1%} of the variance; "
        + ", ".join(f"{t:.0%} of it needs {k} components" for t, k in needed.items()) + ".",
        "",
        "| k | held-out reconstruction MSE per pixel |",
        "|---|---|",
    ] + [f"| {k} | {e:.4f} |" for k, e in errors.items()] + [
        "",
        f"Denoising (σ = {NOISE_STD}): k = {k_best} (the best of 10-120 on noisy training "
        f"images) cuts "
        f"the mean squared error from {mse_noisy:.4f} to {mse_best:.4f} "
        f"({mse_best / mse_noisy:.0%} of the noise left).",
    ]
    ctx.add_text("\n".join(lines))
