"""
Ambiguous classes and discriminant analysis upstream
====================================================

The last layer of a network confuses some classes more than others. On
Fashion-MNIST the usual suspects are the upper-body garments: shirts, T-shirts,
pullovers and coats. This example finds such a set from the data, with no list of
suspects given, and then looks *upstream* of the last layer: how well do the
penultimate-layer features separate those classes at all?

1. :func:`classdep.cv_glmnet` fits the last layer (a ridge multinomial regression
   on the features) and keeps the out-of-fold confusion at every penalty;
2. :func:`classdep.ambiguous` picks the four classes with the largest mutual
   confusion at ``lambda_min``;
3. :func:`classdep.lda` (R's ``MASS::lda``) projects those classes on their linear
   discriminants, and :func:`classdep.manova` tests and measures how far apart
   their means are.
"""

# %%
# Features and the last layer
# ---------------------------
# A small MLP, trained for a few epochs on 5000 images, gives 64 penultimate
# features per image (cached on disk after the first call). The last layer is fitted
# on the training images with five-fold cross-validation.

import warnings

import numpy as np

import classdep as cd

ds = cd.datasets.fashion_mnist_features(alpha=1e-4, n_train=5000, n_test=2000, epochs=8, progress=False)
train = cd.datasets.select_split(ds, "train")
test = cd.datasets.select_split(ds, "test")
cv = cd.cv_glmnet(train, nfolds=5, nlambda=20, progress=False)
print(cv)

# %%
# The ambiguous set
# -----------------
# The symmetrized out-of-fold confusion rates ``(P(l|k) + P(k|l)) / 2`` score every
# pair of classes; the set of four with the largest total is the ambiguous set.
# ``print`` shows its confusion sub-matrix and each member's most-confused partner.

amb = cd.ambiguous(cv, k=4)
print(amb)
cd.plot(amb)

# %%
# Linear discriminants of the ambiguous classes
# ---------------------------------------------
# ``lda`` follows ``MASS::lda``: the scores on the discriminants have identity
# within-class covariance, and the proportion of trace says how much of the
# between-class scatter each discriminant carries. Dead ReLU units (features that are
# zero for every image of these classes) are constant within the classes; MASS
# refuses them, ``drop_constant=True`` gives them zero coefficients instead.

with warnings.catch_warnings():
    warnings.simplefilter("ignore")  # the dead units are listed in fit.model.attrs["n_dropped"]
    fit = cd.lda(train, classes=amb, drop_constant=True)
print(fit)
print(f"{fit.model.attrs['n_dropped']} of {train.sizes['feature']} features are constant within these "
      "classes")
cd.plot(fit)

# %%
# The discriminants were fitted on the training images, on which the network itself
# was trained; on the test images the LDA classifier restricted to the four classes
# loses several points, as the network's own accuracy does between its training and
# test images. The overlap in the figure is, if anything, smaller than on new images.


def accuracy(part):
    names = part["class"].values[part.y.values]
    keep = np.isin(names, amb.classes)
    return np.mean(cd.predict(fit, part.X.values[keep])["class"].values == names[keep])


print(f"LDA accuracy on the ambiguous classes: train {accuracy(train):.3f}, test {accuracy(test):.3f}")

# %%
# MANOVA and pairwise distances
# -----------------------------
# All four MANOVA statistics reject equal means by far (thousands of images): the
# classes *are* different on average. The Mahalanobis distances between the class
# means, in units of the within-class spread, say which pairs overlap: the closest
# pair is the pair the last layer confuses most.

mv = cd.manova(train, classes=amb, drop_constant=True)
print(mv)
