"""The variational autoencoder: samples, a 2-D latent map, interpolation, attribute vectors."""

import time

import numpy as np

from skunsup._tour._context import one_torch_thread
from skunsup.plotting import plot_embedding, plot_image_grid

TITLE = "Variational autoencoder"
REQUIRES = ("matplotlib", "torch")


def _pick_classes(ctx):
    """Two classes for the attribute example: T-shirt -> Pullover (sleeves) if present."""
    names = [str(n).lower() for n in ctx.target_names]
    if "t-shirt/top" in names and "pullover" in names:
        return names.index("t-shirt/top"), names.index("pullover"), "long sleeves"
    classes = np.unique(ctx.y)
    return int(classes[0]), int(classes[1]), f"class {ctx.target_names[int(classes[1])]}"


def run(ctx):
    with one_torch_thread():
        _run(ctx)


def _run(ctx):
    import matplotlib.pyplot as plt

    from skunsup.neural_network import VAE

    train, test = ctx.holdout()
    X_train, X_test = ctx.X[train], ctx.X[test]
    y_train, y_test = ctx.y[train], ctx.y[test]
    budget = 20_000 if ctx.quick else 200_000  # sample presentations, see autoencoder.py
    epochs = max(5, -(-budget // len(X_train)))
    batch = 64 if ctx.quick else 128

    ctx.progress(f"VAE 784-400-20, {epochs} epochs")
    start = time.perf_counter()
    vae = VAE(n_components=20, batch_size=batch, max_epochs=epochs,
              random_state=ctx.random_state).fit(X_train)
    seconds = time.perf_counter() - start
    elbo = vae.score(X_test)
    ctx.add_row("VAE (20-d latent)", seconds, "test -ELBO (nats)", -elbo)
    last = vae.history_[-1]
    ctx.add_text(f"VAE: test ELBO {elbo:.1f} nats per image; last epoch's reconstruction "
                 f"term {last['reconstruction']:.1f} and KL term {last['kl']:.1f} nats.")
    samples = vae.sample(32, random_state=ctx.random_state)
    ctx.save_figure(plot_image_grid(samples, ctx.image_shape, n_cols=8), "vae_samples",
                    "New images: decoder means of 32 draws from the prior N(0, I).")

    a, b = (int(c) for c in np.unique(y_test)[[0, -1]])
    x_a, x_b = X_test[y_test == a][0], X_test[y_test == b][0]
    path = vae.interpolate(x_a, x_b, n_steps=10)
    strip = np.concatenate([x_a[None], path, x_b[None]])
    titles = ["input"] + [""] * 10 + ["input"]
    ctx.save_figure(plot_image_grid(strip, ctx.image_shape, n_cols=12, titles=titles),
                    "vae_interpolation",
                    f"Interpolation between a {ctx.target_names[a]} and a "
                    f"{ctx.target_names[b]}: decoded points on the segment between their "
                    "latent means.")

    without, with_, what = _pick_classes(ctx)
    vector = vae.attribute_vector(X_train[y_train == with_], X_train[y_train == without])
    base = X_test[y_test == without][:8]
    rows = [base] + [vae.add_attribute(base, vector, scale=s) for s in (0.0, 0.5, 1.0)]
    ctx.save_figure(plot_image_grid(np.concatenate(rows), ctx.image_shape, n_cols=len(base)),
                    "vae_attribute_vector",
                    f"Adding an attribute ({what}): rows are test images of "
                    f"{ctx.target_names[without]}, their reconstruction, and the "
                    f"reconstruction moved by 0.5 and 1 times the latent difference between "
                    f"the means of {ctx.target_names[with_]} and {ctx.target_names[without]}.")

    ctx.progress(f"VAE with a 2-D latent space, {epochs} epochs")
    start = time.perf_counter()
    vae2 = VAE(n_components=2, batch_size=batch, max_epochs=epochs,
               random_state=ctx.random_state).fit(X_train)
    seconds = time.perf_counter() - start
    ctx.add_row("VAE (2-d latent)", seconds, "test -ELBO (nats)", -vae2.score(X_test))
    figure, axes = plt.subplots(1, 2, figsize=(12, 5.5))
    plot_embedding(vae2.transform(X_test), y_test, target_names=ctx.target_names, ax=axes[0],
                   title="Latent means of test images")
    grid = np.linspace(-2.0, 2.0, 12)
    Z = np.array([[x, y] for y in grid[::-1] for x in grid])
    images = vae2.inverse_transform(Z).reshape(12, 12, *ctx.image_shape)
    mosaic = images.transpose(0, 2, 1, 3).reshape(12 * ctx.image_shape[0],
                                                   12 * ctx.image_shape[1])
    axes[1].imshow(mosaic, cmap="gray_r", extent=(-2, 2, -2, 2), vmin=0, vmax=1)
    axes[1].set_title("Decoded latent grid")
    ctx.save_figure(figure, "vae_latent_map",
                    "Left: 2-D latent means of test images by class; right: images decoded "
                    "from a grid of latent points in [-2, 2]^2.")
