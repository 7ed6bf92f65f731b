"""
How do I embed new points into a t-SNE map? ``TSNE.transform``
==============================================================

scikit-learn's t-SNE can only embed the data it was fitted on. skunsup's
:class:`~skunsup.manifold.TSNE` also has ``transform``: each new point gets
affinities to its nearest *training* points and is placed by minimising its
own KL divergence against the fixed training map (the method of openTSNE).
The training map does not move and new points do not influence each other,
so a fitted t-SNE can end a ``Pipeline`` that is applied to unseen data.

Here we fit on 1,300 digits and place the other 497.
"""

import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split
from sklearn.neighbors import KNeighborsClassifier

from skunsup.manifold import TSNE

X, y = load_digits(return_X_y=True)
X = X / 16.0
X_train, X_new, y_train, y_new = train_test_split(X, y, train_size=1300, random_state=0,
                                                  stratify=y)

tsne = TSNE(perplexity=30, random_state=0).fit(X_train)
Y_new = tsne.transform(X_new)

# %%
# Are new points placed among their own class?
# --------------------------------------------
# A 10-nearest-neighbour vote among the *training* points of the map: how
# often does it give a new point's true class?

knn = KNeighborsClassifier(n_neighbors=10).fit(tsne.embedding_, y_train)
print(f"new points whose 10 nearest training points vote for their class: "
      f"{knn.score(Y_new, y_new):.1%}")

# %%
# The map
# -------
# Training points faded, new points as black-edged markers in their class colour.

fig, ax = plt.subplots(figsize=(7, 6))
colours = plt.get_cmap("tab10")
ax.scatter(tsne.embedding_[:, 0], tsne.embedding_[:, 1], s=6, c=colours(y_train), alpha=0.25)
ax.scatter(Y_new[:, 0], Y_new[:, 1], s=22, c=colours(y_new), edgecolors="black",
           linewidths=0.5)
for digit in range(10):
    centre = np.median(tsne.embedding_[y_train == digit], axis=0)
    ax.annotate(str(digit), centre, fontsize=16, weight="bold", ha="center", va="center")
ax.set_xticks([])
ax.set_yticks([])
ax.set_title("training map (faded) and 497 new digits placed by transform")
fig.tight_layout()

# %%
# What ``transform`` costs and promises
# -------------------------------------
# One nearest-neighbour query per new point, then a few hundred cheap
# gradient steps that move only the new points. A new point's position
# depends on the training map and on itself alone, not on the batch it comes
# with. ``transform(X_train)`` does not give back ``embedding_`` exactly:
# each point is re-placed as if it were new.

again = tsne.transform(X_new[:5])
print("same position when transformed alone:", np.allclose(again, Y_new[:5], atol=1e-6))
