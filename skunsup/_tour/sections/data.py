"""The data the tour runs on: a grid of examples per class."""

import numpy as np

from skunsup.plotting import plot_image_grid

TITLE = "The data"
REQUIRES = ("matplotlib",)


def run(ctx):
    ctx.progress("drawing examples of each class")
    picks = [np.flatnonzero(ctx.y == label)[:8] for label in np.unique(ctx.y)]
    images = np.concatenate([ctx.X[p] for p in picks])
    titles = [ctx.target_names[int(label)] if i == 0 else ""
              for label, p in zip(np.unique(ctx.y), picks) for i in range(len(p))]
    figure = plot_image_grid(images, image_shape=ctx.image_shape, n_cols=8, titles=titles)
    ctx.save_figure(figure, "data_examples", f"Examples of every class of {ctx.data_name}.")
    counts = np.bincount(ctx.y)
    ctx.add_text(f"{len(ctx.X)} images, {len(counts)} classes, "
                 f"{counts.min()}–{counts.max()} images per class.")
