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
# names as the coordinate ``class``. The coordinate ``split`` says which samples
# come from the training images and which from the test images, and ``attrs``
# record how the features were made, down to the accuracy of the network.

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from sklearn.decomposition import PCA

import classdep as cd

ds = cd.datasets.fashion_mnist_features()
print(ds)

# %%
# Class counts
# ------------
# Fashion-MNIST is balanced by design; the training images here are a random
# subset of the 60 000, so the classes are nearly, not exactly, equal in size.
# Differences between classes found later come from the classes themselves, not
# from their sizes.

class_names = [str(c) for c in ds["class"].values]
codes = ds["y"].values
counts = pd.crosstab(
    pd.Categorical.from_codes(codes, class_names, ordered=True),
    ds["split"].values,
    rownames=["class"],
    colnames=["split"],
    margins=True,
    margins_name="total",
)
print(counts[["train", "test", "total"]])

# %%
# The feature space in two dimensions
# -----------------------------------
# The first two principal components of the features (fitted on the training
# samples), for 5000 training samples drawn at random, coloured by class. Even
# in two dimensions footwear, bags and the rest part ways, while the upper-body
# garments (pullovers, coats and shirts) lie on top of one another. Classes that
# overlap are candidates for the *ambiguous* classes, whose errors a linear
# read-out trades against each other and on which the study later runs
# discriminant analysis.

train = cd.datasets.select_split(ds, "train")
X = train["X"].values
y = train["y"].values
rng = np.random.default_rng(0)
subset = rng.choice(X.shape[0], size=min(5000, X.shape[0]), replace=False)

pca = PCA(n_components=2, random_state=0).fit(X)
Z = pca.transform(X[subset])
explained = pca.explained_variance_ratio_

fig, ax = plt.subplots(figsize=(8, 5.5))
colors = plt.get_cmap("tab10")(np.arange(len(class_names)) % 10)
# one scatter in random order, so that no class is drawn entirely over another
ax.scatter(Z[:, 0], Z[:, 1], s=7, alpha=0.6, c=colors[y[subset]], linewidths=0)
handles = [
    plt.Line2D([], [], ls="", marker="o", color=colors[k], label=name)
    for k, name in enumerate(class_names)
]
ax.set_xlabel(f"PC 1 ({explained[0]:.0%} of variance)")
ax.set_ylabel(f"PC 2 ({explained[1]:.0%} of variance)")
ax.set_title(f"Penultimate-layer features ({ds.sizes['feature']} dims) of an MLP on Fashion-MNIST")
ax.legend(handles=handles, fontsize="small", loc="center left", bbox_to_anchor=(1.0, 0.5))
fig.tight_layout()
plt.show()
