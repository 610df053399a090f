"""
Cross-validation: lambda.min, lambda.1se and every class's own curve
=====================================================================

``cv_glmnet`` is R's ``cv.glmnet``: it fits the path on every training fold, scores the
held-out fold at every penalty and reports the penalty of smallest cross-validated
deviance (``lambda_min``) and the largest penalty within one standard error of it
(``lambda_1se``). classdep solves the five folds as one batch and keeps every class's
score, so the same sweep also shows which classes the shared choice serves and which it
does not.

The features are the 64-unit penultimate layer of a small MLP trained on 5000
Fashion-MNIST images (cached on disk after the first call).
"""

# %%
# The sweep
# ---------
# A grid of 30 penalties over five decades, five stratified folds. ``print`` gives R's
# table: the two chosen lambdas, their index on the grid (1-based, as in R), the
# cross-validated deviance per sample with its standard error over folds, and the number
# of features with a non-zero coefficient (dead ReLU units stay at zero).
import matplotlib.pyplot as plt
import numpy as np

import classdep as cd
from classdep.datasets import select_split

ds = cd.datasets.fashion_mnist_features(
    n_train=5000, n_test=2000, epochs=8, progress=False
)
train, test = select_split(ds, "train"), select_split(ds, "test")
cv = cd.cv_glmnet(
    train, nfolds=5, lambda_=np.geomspace(1, 1e-5, 30), progress=False
)
print(cv)

# %%
# The CV curve
# ------------
# ``plot(cv)`` draws R's ``plot.cv.glmnet``: the mean over folds with one-SE bars against
# log lambda (natural logarithm, as in R), dotted lines at ``lambda_min`` (left) and
# ``lambda_1se`` (right), and the number of non-zero features along the top. The curve is
# flat over about a decade around its minimum: ``lambda_1se`` buys a simpler model at a cost the folds cannot
# distinguish from noise.
cd.plot(cv)

# %%
# Every class's curve
# -------------------
# ``cv.results`` keeps the deviance per (``lambda``, ``class``, ``fold``); summed over
# folds and divided by the class size it is each class's cross-validated deviance per
# sample. Shown relative to each class's own minimum (dots), near the global optimum, the
# classes disagree by more than the distance between ``lambda_min`` and ``lambda_1se``:
# Pullover wants about three times ``lambda_min``, Sneaker a third of it.
# :func:`classdep.classwise` reads these optima off and prices them (see
# :ref:`sphx_glr_auto_examples_plot_classwise_optima.py`).
res = cv.results
dev = res["deviance"].sum("fold") / res["n"].sum("fold")  # (lambda, class)
lam = cv.lambda_
fig, ax = plt.subplots(figsize=(7, 4.5), constrained_layout=True)
colors = plt.get_cmap("tab10")(np.arange(dev.sizes["class"]))
for k, name in enumerate(dev["class"].values):
    d = dev.isel({"class": k}).values
    ax.plot(lam, d - d.min(), color=colors[k], label=str(name))
    ax.plot(
        lam[d.argmin()],
        0,
        "o",
        color=colors[k],
        ms=6,
        mec="k",
        clip_on=False,
        zorder=3,
    )
for name, ls in (("lambda_min", "--"), ("lambda_1se", ":")):
    ax.axvline(getattr(cv, name), color="k", ls=ls, lw=1, label=name)
ax.set(
    xscale="log",
    xlim=(1e-5, 3e-2),
    ylim=(0, 0.12),
    xlabel="lambda",
    ylabel="CV deviance per sample\nabove the class's minimum",
)
ax.legend(fontsize=7, ncol=2, loc="upper center")

# %%
# On the test images
# ------------------
# The path fitted on all training images (``cv.fit``, R's ``glmnet.fit``) scored by
# ``assess`` (R's ``assess.glmnet``) on the 2000 test images at the two chosen penalties.
# Accuracy and recall barely move between the two. The test deviance is higher than the
# cross-validated one, and lower at ``lambda_1se``: the network that made the features was
# trained on the training images, so their features separate the classes better than
# those of unseen images, and cross-validation within the training images cannot see that
# shift. Read cross-validated optima on frozen features with this in mind.
labels = test["class"].values[test.y.values]
a = cd.assess(cv.fit, test.X, labels, s=[cv.lambda_min, cv.lambda_1se])
print(
    a[["accuracy", "total_deviance"]]
    .assign(total_deviance=a["total_deviance"] / labels.size)
    .to_dataframe()
    .rename(columns={"total_deviance": "deviance per sample"})
)
print(
    a["recall"]
    .to_pandas()
    .T.rename(columns=lambda s: f"recall @ {s:.3g}")
    .round(3)
)

# %%
# R's ``type.measure = "class"``
# ------------------------------
# ``cv_glmnet(..., type_measure="class")`` chooses on the misclassification error instead,
# as R does; the per-fold accuracy behind it is already in ``cv.results``. The error is a
# step function of the coefficients and noisier across folds, so its minimum is less
# sharply located than the deviance's.
err = 1 - res["accuracy"]  # (lambda, fold)
fig, ax = plt.subplots(figsize=(6, 3.5), constrained_layout=True)
ax.errorbar(
    lam,
    err.mean("fold"),
    yerr=err.std("fold", ddof=1) / np.sqrt(err.sizes["fold"]),
    fmt="o",
    ms=3,
    color="tab:red",
    ecolor="0.6",
    capsize=1.5,
)
for name, ls in (("lambda_min", "--"), ("lambda_1se", ":")):
    ax.axvline(
        getattr(cv, name), color="k", ls=ls, lw=1, label=f"{name} (deviance)"
    )
ax.set(xscale="log", xlabel="lambda", ylabel="CV misclassification error")
ax.legend(fontsize=8)
