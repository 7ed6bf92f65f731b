"""
Watching a t-SNE map form, stopping it and continuing it
========================================================

A t-SNE fit is a gradient descent of a thousand iterations, and nothing in a
plain ``fit`` shows what happens on the way. ``callbacks`` are called every
``callbacks_every_iters`` iterations with the estimator, the iteration, the
KL divergence and a copy of the current map: here one records snapshots of
the map as it forms, on 1,000 Fashion-MNIST images (scikit-learn's digits
where Fashion-MNIST is not installed) after PCA to 50 dimensions.

The first 250 iterations exaggerate P (``early_exaggeration=12``): clusters
form and separate while the map is still small; the main phase then lets the
map expand to its final scale. A callback that returns True stops the fit
with the map reached; :meth:`~skunsup.manifold.TSNE.optimize` continues a
fitted map, here with an exaggeration of 4 after the fit, which pulls the
clusters tighter (Kobak & Berens, 2019).
"""

import matplotlib.pyplot as plt

from skunsup.datasets import load_tour_data
from skunsup.decomposition import PCA
from skunsup.manifold import TSNE
from skunsup.plotting import plot_embedding

data = load_tour_data("auto", n_samples=1000, random_state=0)
X = PCA(n_components=50, random_state=0).fit_transform(data.data)
y = data.target

# %%
# Snapshots from a callback
# -------------------------
# The callback keeps the map at a few iterations; returning nothing (None)
# lets the fit go on.

shown_at = [50, 150, 250, 400, 700, 1000]
snapshots = {}


def keep_snapshots(estimator, iteration, kl, embedding):
    if iteration in shown_at:
        snapshots[iteration] = (embedding, kl)


tsne = TSNE(random_state=0, callbacks=keep_snapshots, callbacks_every_iters=50)
tsne.fit(X)

fig, axes = plt.subplots(2, 3, figsize=(13, 8.5))
for ax, iteration in zip(axes.ravel(), shown_at):
    embedding, kl = snapshots[iteration]
    plot_embedding(embedding, y, ax=ax, point_size=2)
    ax.get_legend().remove()
    phase = "early exaggeration" if iteration <= 250 else "main phase"
    ax.set_title(f"iteration {iteration} ({phase})\nKL {kl:.2f}", fontsize=10)
fig.suptitle("The map as it forms (the axes' scales differ: the map grows)")
fig.tight_layout()

# %%
# Stopping early and continuing
# -----------------------------
# A callback that returns True ends the fit cleanly: the estimator is fitted
# with the map reached (the step of the iteration that stopped it is not
# taken). ``optimize`` continues it from the optimiser's state (momentum,
# gains and iteration count kept): here to the 1,000 iterations of the fit
# above, whose KL it reaches; then 300 iterations with P exaggerated 4 times.


def stop_at_600(estimator, iteration, kl, embedding):
    return iteration >= 600


stopped = TSNE(random_state=0, callbacks=stop_at_600, callbacks_every_iters=50).fit(X)
print(f"stopped after {stopped.n_iter_} iterations, KL {stopped.kl_divergence_:.3f}")
stopped.set_params(callbacks=None).optimize(1000 - stopped.n_iter_)
print(f"continued to {stopped.n_iter_} iterations, KL {stopped.kl_divergence_:.3f} "
      f"(the uninterrupted fit: KL {tsne.kl_divergence_:.3f})")
plain_map = stopped.embedding_.copy()
stopped.optimize(300, exaggeration=4.0)

fig, axes = plt.subplots(1, 2, figsize=(11, 5))
plot_embedding(plain_map, y, ax=axes[0], point_size=2, target_names=data.target_names)
axes[0].set_title("exaggeration 1 (the fit)")
plot_embedding(stopped.embedding_, y, ax=axes[1], point_size=2)
axes[1].get_legend().remove()
axes[1].set_title("then 300 iterations at exaggeration 4")
axes[0].legend(loc="center left", bbox_to_anchor=(2.25, 0.5), markerscale=4, fontsize=8,
               frameon=False)
fig.tight_layout()
plt.show()
