"""
Checkpoint a training run, load the best epoch and resume
=========================================================

Long training jobs get killed: a time limit, a full disk, a laptop lid.
:class:`~skunsup.neural_network.Checkpoint` keeps the best epoch so far on
disk, as a safetensors file that :func:`~skunsup.neural_network.load` reads
back without running any code from it. The file holds the weights, the
optimiser's state and the model's history, so training resumes with
``warm_start=True`` where the checkpoint left it.

Here a VAE is trained on scikit-learn's digits with early stopping (the
checkpoint follows the validation loss), its job is "killed" by a callback
after 12 epochs, and the model is loaded and trained on.
"""

import os
import tempfile

import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import load_digits

from skunsup.neural_network import VAE, Checkpoint, load

X = load_digits().data / 16.0  # pixels in [0, 1]: a Bernoulli likelihood
X_train, X_test = X[:1500], X[1500:]
path = os.path.join(tempfile.mkdtemp(), "vae.safetensors")


class KillAt:
    """Stands in for a job killed after some epoch."""

    def __init__(self, epoch):
        self.epoch = epoch

    def on_epoch_end(self, estimator, logs):
        if logs["epoch"] == self.epoch:
            raise RuntimeError(f"job killed after epoch {self.epoch}")


vae = VAE(n_components=8, hidden_layer_sizes=(64,), max_epochs=50, learning_rate=1e-2,
          early_stopping=True, n_iter_no_change=5, random_state=0, device="cpu",
          callbacks=[Checkpoint(path), KillAt(12)])
try:
    vae.fit(X_train)
except RuntimeError as error:
    print(error)
killed_history = list(vae.history_)

# %%
# What the file holds
# -------------------
# The checkpoint is the model as a fit ending after its best epoch would have
# left it. ``load`` looks the class up among skunsup's models, rebuilds the
# network from the stored parameters and checks every tensor against it.
best = load(path)
valid = [entry["valid_loss"] for entry in killed_history]
print(f"checkpointed epoch: {best.n_iter_} (lowest validation loss "
      f"{min(valid):.3f} at epoch {int(np.argmin(valid)) + 1})")
print(f"test ELBO of the checkpoint: {best.score(X_test):.2f} nats per image")

# %%
# Resuming
# --------
# Load with a fresh ``Checkpoint`` on the same file (callbacks are never
# stored), then fit on with ``warm_start=True``. The resumed checkpoint reads
# the best loss so far from ``history_`` and replaces the file only with a
# better epoch. Each training call draws its own shuffling from the epochs run
# so far, so the resumed fit does not replay the epochs that the killed run
# went on to train after the checkpoint: it is exactly what the model would
# have done had its first fit stopped at the checkpointed epoch.
resumed = load(path, callbacks=[Checkpoint(path)])
resumed.set_params(warm_start=True, max_epochs=20).fit(X_train)
print(f"resumed to epoch {resumed.n_iter_}, best epoch {resumed.best_epoch_}; "
      f"test ELBO {resumed.score(X_test):.2f} nats per image")
final = load(path)
print(f"the file now holds epoch {final.n_iter_}")

# %%
# The validation loss of the killed run and of the resumed one: the resumed
# history starts with the checkpoint's epochs and goes on from there.
epochs = [entry["epoch"] for entry in resumed.history_]
fig, ax = plt.subplots(figsize=(6, 3.5))
ax.plot([e["epoch"] for e in killed_history], valid, "o:", color="0.6",
        label="killed run")
ax.plot(epochs, [entry["valid_loss"] for entry in resumed.history_], "-",
        color="C0", label="checkpoint, then resumed")
ax.axvline(best.n_iter_, color="C1", lw=1, label="checkpointed epoch")
ax.axvline(final.n_iter_, color="C2", lw=1, ls="--", label="final checkpoint")
ax.set_xlabel("epoch")
ax.set_ylabel("validation -ELBO (nats per image)")
ax.legend()
fig.tight_layout()
plt.show()
