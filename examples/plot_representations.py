"""
Does upstream regularization help the ambiguous classes?
========================================================

The last layer can only separate what the representation below it separates. This
example trains the same small MLP on Fashion-MNIST with four strengths of weight
decay ``alpha`` (same images, same initialization) and asks, for the classes the
last layer confuses most, whether the penultimate features got more or less
separable.

:func:`classdep.separability` scores every representation on the ambiguous set with
the Fisher ratio and the Mahalanobis distance of every pair of classes, the
cross-validated accuracy of linear discriminant analysis (overall, per pair, and for
the worst pair), the proportion of trace of the discriminants and Pillai's trace of
the MANOVA. It returns them as an :class:`xarray.Dataset` over (``alpha``, ``pair``).
"""

# %%
# Four representations of the same images
# ---------------------------------------
# ``fashion_mnist_features`` with a sequence of ``alpha`` trains one network per value
# and stacks the features along a leading ``alpha`` dim (each network is cached on
# disk). The networks are small and briefly trained, so that the example runs in
# seconds; their test accuracies are in ``attrs``.

import classdep as cd

alphas = [1e-4, 1e-2, 1.0, 3.0]
ds = cd.datasets.fashion_mnist_features(alpha=alphas, n_train=5000, n_test=2000, epochs=8, progress=False)
train = cd.datasets.select_split(ds, "train")
for a, acc in zip(alphas, ds.attrs["mlp_test_accuracy"], strict=True):
    print(f"alpha = {a:g}: network test accuracy {acc:.3f}")

# %%
# The ambiguous set, from the least regularized network
# -----------------------------------------------------
# The set is chosen once, from the out-of-fold confusion of the last layer on the
# features of the network with the weakest weight decay, and then held fixed so that
# every representation is scored on the same classes.

cv = cd.cv_glmnet(train.isel(alpha=0), nfolds=3, nlambda=12, progress=False)
amb = cd.ambiguous(cv, k=4)
print(amb)

# %%
# Separability across alpha
# -------------------------
# The same five folds serve every representation. Features that are constant within
# the four classes (ReLU units that never fire on them) carry no information about
# them and are left out; their number changes with ``alpha``.

sep = cd.separability(train, classes=amb, nfolds=5)
print(sep)

# %%
# The whole result is an :class:`xarray.Dataset`; for instance the Fisher ratio of
# every pair at every ``alpha``:

print(sep["fisher"].to_pandas().T.round(3))

# %%
# The figure plots the per-pair measures and the summaries against ``alpha``; the
# worst pair is drawn bold. Stronger weight decay changes the overall accuracy of the
# network little, but the measures of the ambiguous pairs show which classes pay for it.

cd.plot(sep)
