"""
How do I choose PCA's n_components? Cross-validated likelihood
==============================================================

:class:`~skunsup.decomposition.PCA` is also probabilistic PCA (Tipping and
Bishop): with k components the data are modelled as
:math:`x \\sim \\mathcal N(\\mu, W W^\\top + \\sigma^2 I)`, and
:meth:`~skunsup.decomposition.PCA.score` is the mean log-likelihood of the
given samples under that Gaussian. On the training data it keeps rising
with k; on held-out data it rises while the components capture structure and
falls once they start to fit noise. ``GridSearchCV`` maximises ``score`` by
default, so choosing k is one line. Here on scikit-learn's digits (64
pixels) with added noise.
"""

import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import load_digits
from sklearn.model_selection import GridSearchCV, KFold

from skunsup.decomposition import PCA

X = load_digits().data / 16.0
rng = np.random.default_rng(0)
X = X + rng.normal(scale=0.3, size=X.shape)  # isotropic noise: what PPCA's sigma^2 models

grid = {"n_components": list(range(4, 64, 4))}
search = GridSearchCV(PCA(), grid, cv=KFold(5, shuffle=True, random_state=0),
                      return_train_score=True).fit(X)
best = search.best_params_["n_components"]
print(f"best n_components by 5-fold CV log-likelihood: {best}")

# %%
# Likelihood against the number of components
# -------------------------------------------
# Minka's Bayesian estimate (``n_components='mle'``) is a cheaper
# alternative; the fraction of variance (``n_components=0.95``) is a rule of
# thumb that knows nothing about noise.

mle = PCA(n_components="mle").fit(X).n_components_
ninety_five = PCA(n_components=0.95).fit(X).n_components_
ks = np.array(grid["n_components"])
train = search.cv_results_["mean_train_score"]
test = search.cv_results_["mean_test_score"]
fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(10, 3.8))
ax1.plot(ks, train, label="training folds", color="0.5")
ax1.plot(ks, test, marker=".", label="held-out folds")
ax1.set_title("training likelihood keeps rising")
ax2.plot(ks, test, marker=".", color="C0")
ax2.set_title("held-out likelihood peaks (zoom)")
for ax in (ax1, ax2):
    ax.axvline(best, color="C0", linestyle="--", linewidth=1, label=f"CV best: {best}")
    ax.axvline(mle, color="C2", linestyle=":", linewidth=1.5, label=f"'mle': {mle}")
    ax.axvline(ninety_five, color="C3", linestyle="-.", linewidth=1,
               label=f"95 % of variance: {ninety_five}")
    ax.set_xlabel("n_components")
ax1.set_ylabel("mean log-likelihood per sample")
ax1.legend(fontsize=8)
fig.tight_layout()
