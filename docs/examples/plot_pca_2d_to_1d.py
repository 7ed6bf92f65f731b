"""
PCA from 2-D to 1-D
===================

The lecture's first PCA figure: correlated 2-D points, the direction of
largest variance, and the 1-D representation obtained by projecting every
point onto it. The first principal component is the eigenvector of the
sample covariance with the largest eigenvalue; the eigenvalue is the
variance of the projections. Projecting back (``inverse_transform``) puts
every point on the line: the orthogonal residuals are what is lost, and their
sum of squares is the smallest possible for a line.
"""

import matplotlib.pyplot as plt
import numpy as np

from skunsup.decomposition import PCA

rng = np.random.default_rng(0)
X = rng.multivariate_normal([2.0, 1.0], [[3.0, 1.6], [1.6, 1.4]], size=60)

pca = PCA(n_components=1).fit(X)
z = pca.transform(X)  # the 1-D representation
X_back = pca.inverse_transform(z)  # the points on the principal line

# %%
# The covariance eigenproblem, by hand
# ------------------------------------
# ``components_`` and ``explained_variance_`` are the leading eigenvector and
# eigenvalue of the covariance (dividing by n - 1); the sign is fixed so that
# the largest entry is positive.

cov = np.cov(X, rowvar=False)
eigenvalues, eigenvectors = np.linalg.eigh(cov)
print("eigenvalues of the covariance:", eigenvalues[::-1].round(4))
print("explained_variance_:          ", pca.explained_variance_.round(4))
print("leading eigenvector:", eigenvectors[:, -1].round(4), " components_:",
      pca.components_[0].round(4), "(same up to sign)")
print("variance of the projections:", z.var(ddof=1).round(4))

# %%
# The picture
# -----------

mean, w = pca.mean_, pca.components_[0]
sd = np.sqrt(pca.explained_variance_[0])
fig, (ax, ax1) = plt.subplots(1, 2, figsize=(10, 4.2), width_ratios=[1.4, 1])
ax.scatter(X[:, 0], X[:, 1], s=14, label="data")
for a, b in zip(X, X_back):
    ax.plot([a[0], b[0]], [a[1], b[1]], color="0.6", linewidth=0.7)
ax.scatter(X_back[:, 0], X_back[:, 1], s=10, color="C3", label="projection on PC 1")
t = np.array([-3.2, 3.2]) * sd
ax.plot(mean[0] + t * w[0], mean[1] + t * w[1], color="C3", linewidth=1)
second = np.array([-w[1], w[0]])
sd2 = np.sqrt(np.linalg.eigvalsh(cov)[0])
for vec, length, name in [(w, sd, "PC 1"), (second, sd2, "PC 2")]:
    ax.annotate("", xy=mean + 2 * length * vec, xytext=mean,
                arrowprops={"arrowstyle": "->", "lw": 2, "color": "black"})
    ax.annotate(name, mean + 2.15 * length * vec, fontsize=9)
ax.set_aspect("equal")
ax.legend(loc="upper left", fontsize=8)
ax.set_title("2-D data, principal axes (2 sd) and projections")

ax1.scatter(z[:, 0], np.zeros(len(z)), s=14, color="C3")
ax1.set_yticks([])
ax1.set_box_aspect(0.35)
ax1.set_xlabel("coordinate on PC 1 (transform)")
ax1.set_title(f"the 1-D representation: {pca.explained_variance_ratio_[0]:.0%} of the variance")
fig.tight_layout()

# %%
# The residuals are orthogonal to the line, and their mean squared length
# is the discarded eigenvalue (up to the n - 1 convention):

residual = X - X_back
print("residuals . PC 1 (max abs):", np.abs(residual @ w).max().round(12))
print("sum of squared residuals / (n - 1):", round(float((residual ** 2).sum()) / (len(X) - 1), 4),
      " smallest eigenvalue:", eigenvalues[0].round(4))
