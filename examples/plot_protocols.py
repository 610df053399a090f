"""
Two protocols: held-out scoring and cross-validation inside held-out features
=============================================================================

The study's protocol (Balestriero, Bottou & LeCun 2022) refits the last layer on the
features of the images the backbone was trained on and scores every class on images
it never saw: :func:`classdep.glmnet` on the training features, then
:func:`classdep.assess` on the test features. ``classdep study`` runs it by default.
The documented alternative, ``classdep study --protocol cv``, never touches the
training features: it cross-validates the head inside the held-out features.

Both read each class's curve on samples the backbone never saw, but they are not the
same question. The held-out protocol asks which penalty is best for a head trained on
the backbone's own (overfit) training features; cross-validation inside the held-out
features asks it for a head trained on unseen features, with a fifth of them less
data per fit. This example runs both on the same Fashion-MNIST features and measures
how far apart each class's optimum lands, in decades of lambda.
"""

# %%
# The features and the two sweeps
# -------------------------------
# The features are the 64-unit penultimate layer of a small MLP trained on 5000
# Fashion-MNIST images (cached on disk after the first call); the ``split``
# coordinate says which samples are the backbone's training images. One grid of 10
# penalties over 2.7 decades (0.3 decades apart) serves both protocols, so their optima
# compare on the same values; a difference is a whole number of grid steps.
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

import classdep as cd
from classdep.datasets import select_split

ds = cd.datasets.fashion_mnist_features(n_train=5000, n_test=2000, epochs=8, progress=False)
train, test = select_split(ds, "train"), select_split(ds, "test")
lam = np.geomspace(0.1, 2e-4, 10)

# held-out: fitted on the training features, scored on the test features (by class name:
# ``y`` holds codes into ``ds["class"]``, the fit knows the names)
fit = cd.glmnet(train, lambda_=lam)
heldout = cd.assess(fit, test.X, test["class"].values[test.y.values])
# cv: five folds inside the test features
cv = cd.cv_glmnet(test, nfolds=5, lambda_=lam, progress=False)
print(heldout)
print(cv)

# %%
# Each class's optimum under each protocol
# ----------------------------------------
# :func:`classdep.classwise` takes either sweep. Its table flags an optimum at an end
# of the grid (``at_edge``): such an optimum is only a bound, and so is its
# difference. ``decades`` is ``log10(lambda_cv / lambda_heldout)``: positive where
# cross-validation inside the held-out features asks for more penalty.
cw_h = cd.classwise(heldout, null=0)
cw_c = cd.classwise(cv, null=0)
names = [str(c) for c in cw_h.table["class"].values]
table = pd.DataFrame({
    "heldout": cw_h.lambda_opt.values,
    "edge_heldout": cw_h.table["at_edge"].values,
    "cv": cw_c.lambda_opt.values,
    "edge_cv": cw_c.table["at_edge"].values,
    "decades": np.log10(cw_c.lambda_opt.values / cw_h.lambda_opt.values),
}, index=pd.Index(names, name="class"))
print(table.round(4))
print(f"\nGlobal optimum: held-out {cw_h.table.attrs['lambda_global']:.3g}, "
      f"cv {cw_c.table.attrs['lambda_global']:.3g}; median |difference| over classes "
      f"{np.median(np.abs(table['decades'])):.2f} decades, largest {np.abs(table['decades']).max():.2f}.")

# %%
# Side by side
# ------------
# Left: each class's held-out deviance per sample relative to its own minimum (dots)
# under the two protocols; right: the optima, one line per class from its held-out
# optimum (circle) to its cross-validated one (square). The longer the line, the
# more the answer depends on the protocol; a class whose line crosses the others
# changes rank.
fig, (ax, bx) = plt.subplots(1, 2, figsize=(11, 4.6), constrained_layout=True)
colors = plt.get_cmap("tab10")(np.arange(len(names)))
for src, ls in ((heldout, "-"), (cv, "--")):
    res = src.results
    dev = (res["deviance"].sum("fold") / res["n"].sum("fold")).values  # (lambda, class)
    for k in range(len(names)):
        d = dev[:, k]
        ax.plot(lam, d - d.min(), ls=ls, color=colors[k], lw=1.2)
        ax.plot(lam[np.argmin(d)], 0, "o" if src is heldout else "s", color=colors[k], mec="k", ms=5,
                clip_on=False, zorder=3)
ax.plot([], [], "k-", label="held-out (fit on train, score on test)")
ax.plot([], [], "k--", label="cv inside the test features")
ax.set(xscale="log", ylim=(0, 0.4), xlabel="lambda", ylabel="deviance per sample above the class's minimum",
       title="Per-class curves")
ax.legend(fontsize="small", loc="upper left")
y = np.arange(len(names))
bx.hlines(y, table["heldout"], table["cv"], color=colors, lw=2)
bx.scatter(table["heldout"], y, marker="o", c=colors, edgecolors="k", zorder=3)
bx.scatter(table["cv"], y, marker="s", c=colors, edgecolors="k", zorder=3)
for marker, label in (("o", "held-out"), ("s", "cv")):
    bx.scatter([], [], marker=marker, facecolors="white", edgecolors="k", label=label)
bx.set(xscale="log", yticks=y, yticklabels=names, xlabel="optimal lambda",
       title="Each class's optimum under the two protocols")
bx.invert_yaxis()
bx.legend(fontsize="small", loc="lower right")
plt.show()

# %%
# From the shell
# --------------
# ``classdep study fashion-mnist`` runs the held-out protocol on the default features
# (20 000 training images), and ``classdep study fashion-mnist --protocol cv`` the
# alternative; each report opens with the protocol that produced its numbers.
