"""
The data: one row of images per class
=====================================

The tour and the benchmarks use Fashion-MNIST when it is installed, else
scikit-learn's bundled 8x8 digits. :func:`skunsup.datasets.load_tour_data`
returns either as float32 pixels in [0, 1].
"""

import numpy as np

from skunsup.datasets import load_tour_data
from skunsup.plotting import plot_image_grid

data = load_tour_data("auto", n_samples=2000)
rows = [np.flatnonzero(data.target == label)[:6] for label in np.unique(data.target)]
images = np.concatenate([data.data[r] for r in rows])
titles = [data.target_names[int(data.target[i])] if j == 0 else "" for r in rows for j, i in enumerate(r)]
fig = plot_image_grid(images, image_shape=data.image_shape, n_cols=6, titles=titles)
fig.suptitle(data.name)
