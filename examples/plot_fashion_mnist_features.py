"""
Fashion-MNIST features: what the last layer sees
================================================

classdep studies the *last layer* of a network: a multinomial logistic
regression on the features of the penultimate layer, with the rest of the
network frozen. This example loads such features and looks at them before
anything is fitted: the :class:`xarray.Dataset` that every classdep function
takes, how many samples each class has, and a two-dimensional view of the
feature space in which the classes that a linear read-out will confuse already
sit next to each other.

:func:`classdep.datasets.fashion_mnist_features` trains a small multilayer
perceptron on Fashion-MNIST (with upstream weight decay ``alpha``) and returns
its penultimate-layer activations. The first call trains the network, which
takes well under a minute; the features are cached on disk, so later calls
return at once.
"""

# %%
# Load the features
# -----------------
# The result is an :class:`xarray.Dataset` with the features ``X`` (``sample``,
# ``feature``), the labels ``y`` (``sample``) as integer codes, and the class
# names as the coordinate ``class``. Its ``attrs`` record how the features were
# made.

import matplotlib.pyplot as plt
import numpy as np
from sklearn.decomposition import PCA

import classdep as cd

ds = cd.datasets.fashion_mnist_features()
print(ds)

# %%
# Class counts
# ------------
# Fashion-MNIST is balanced by design: each of the ten classes has the same
# number of samples, so differences between classes found later come from
# the classes themselves, not from their sizes.

class_names = [str(c) for c in ds["class"].values]
codes = ds["y"].values
counts = np.bincount(codes, minlength=len(class_names))
for name, n in zip(class_names, counts, strict=True):
    print(f"{name:>12s}  {n:6d}")
print(f"{'total':>12s}  {counts.sum():6d}  ({ds.sizes['feature']} features per sample)")

# %%
# The feature space in two dimensions
# -----------------------------------
# The first two principal components of the features, for a random subsample
# of the points, coloured by class. Footwear (sandals, sneakers, ankle boots)
# and trousers separate cleanly; the upper-body garments (T-shirts, pullovers,
# coats and shirts) overlap. Those are the *ambiguous* classes on which the
# study later runs discriminant analysis, and whose optimal penalty is expected
# to differ most from the global one.

X = ds["X"].values
rng = np.random.default_rng(0)
subset = rng.choice(X.shape[0], size=min(5000, X.shape[0]), replace=False)

pca = PCA(n_components=2, random_state=0).fit(X)
Z = pca.transform(X[subset])
explained = pca.explained_variance_ratio_

fig, ax = plt.subplots(figsize=(7.5, 6))
cmap = plt.get_cmap("tab10")
for k, name in enumerate(class_names):
    mask = codes[subset] == k
    ax.scatter(Z[mask, 0], Z[mask, 1], s=4, alpha=0.5, color=cmap(k % 10), label=name)
ax.set_xlabel(f"PC 1 ({explained[0]:.0%} of variance)")
ax.set_ylabel(f"PC 2 ({explained[1]:.0%} of variance)")
ax.set_title("Penultimate-layer features of Fashion-MNIST")
ax.legend(markerscale=4, fontsize="small", loc="center left", bbox_to_anchor=(1.0, 0.5))
fig.tight_layout()
plt.show()
