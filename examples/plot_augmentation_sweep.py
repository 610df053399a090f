r"""
A data-augmentation sweep: noise as a class-dependent ridge
============================================================

Data augmentation regularizes, and not every class equally. Here the augmentation is
Gaussian noise of standard deviation ``s`` added to the penultimate features of a small
Fashion-MNIST MLP, and the swept hyperparameter of ``cv_glmnet``: one cross-validated path
per noise level, on a shared lambda grid, with every class scored. The question is how
each class's optimal *explicit* penalty moves as the *implicit* one grows.

With ``method="quadratic"`` (the default) classdep trains on the quadratic approximation
of the expected noised loss (Wager, Wang & Liang, 2013), by default with the diagonal of
the softmax curvature (``curvature="diagonal"``; the class-coupled form is
``curvature="full"``, see the user guide). For Gaussian noise it is a ridge on each
class's weights,
:math:`\tfrac{s^2}{2} \lVert W_k \rVert^2 \, \frac1n \sum_i p_{ik} (1 - p_{ik})`: its strength
is proportional to the curvature the class's logit carries over the training samples,
which is large for the classes the model hesitates about.
"""

# %%
# The sweep
# ---------
# 1500 training images, five folds, twelve penalties, no noise and three noise levels
# (the features' standard deviation is about 1.2). ``augment=dict(kind="gaussian",
# strength=[...])`` returns a :class:`~classdep.CVGrid`: ``grid[i]`` is level ``i``'s
# :class:`~classdep.CVGlmnet` and ``grid.results`` stacks them along a leading ``augment``
# dim. The overall cross-validated deviance hardly changes: the noise replaces part of
# the explicit penalty and ``lambda_min`` falls.
import matplotlib.pyplot as plt
import numpy as np

import classdep as cd
from classdep.datasets import select_split

ds = cd.datasets.fashion_mnist_features(
    n_train=5000, n_test=2000, epochs=8, progress=False
)
train = select_split(ds, "train").isel(sample=slice(0, 1500))
lam = np.geomspace(0.03, 1e-6, 12)
strengths = [0.15, 0.3, 0.45]

plain = cd.cv_glmnet(train, nfolds=5, lambda_=lam, progress=False)
grid = cd.cv_glmnet(
    train,
    nfolds=5,
    lambda_=lam,
    augment=dict(kind="gaussian", strength=strengths),
    progress=False,
)
print(
    f"no augmentation: lambda_min {plain.lambda_min:.4g}, "
    f"CV deviance {plain.cvm.min().item():.4g}\n"
)
print(grid)
print(grid.results["cvm"].dims)

# %%
# Each class's optimum against the noise level
# --------------------------------------------
# The optima are the smoothed ones of :func:`classdep.boot` (``estimator="smooth"``: the
# vertex of a quadratic in log lambda around the grid argmin, the estimator whose
# bootstrap intervals cover; see :doc:`/bootstrap_coverage`), here read off the data
# themselves (``b.t0``). Every class's optimum falls as the noise grows, at very
# different rates: by ``s = 0.3`` the optima of Dress, Shirt and Pullover have hit the
# bottom of the grid (no explicit penalty wanted), Bag's nearly, while Trouser's has
# barely moved.
cvs = [plain, *grid.cvs]
levels = np.array([0.0, *strengths])
opt = np.array(
    [cd.boot(cv, R=2, estimator="smooth", seed=0).t0.values for cv in cvs]
)  # (level, class)
classes = [str(c) for c in plain.classes]

fig, ax = plt.subplots(figsize=(7, 4.2), constrained_layout=True)
colors = plt.get_cmap("tab10")(np.arange(len(classes)))
for k, c in enumerate(classes):
    ax.plot(levels, opt[:, k], "o-", color=colors[k], ms=4, label=c)
ax.axhline(lam.min(), color="0.5", ls=":", lw=1, label="bottom of the grid")
ax.set(
    yscale="log",
    xlabel="noise standard deviation s",
    ylabel="class's optimal lambda (smoothed)",
)
ax.legend(fontsize=7, loc="center left", bbox_to_anchor=(1.0, 0.5))

# %%
# What predicts the order
# -----------------------
# If the noise acted as the ridge :math:`s^2 \bar v_k` added to the explicit penalty of
# class :math:`k`, with :math:`\bar v_k = \frac1n \sum_i p_{ik} (1 - p_{ik})` evaluated
# at the unaugmented fit, and each class kept the total penalty it wanted, its explicit
# optimum would fall from :math:`\lambda^*_k` to :math:`\lambda^*_k - s^2 \bar v_k`.
# The figure sets the observed ratio :math:`\lambda^*_k(s) / \lambda^*_k(0)` against
# the share of the optimum that the noise supplies, :math:`x = s^2 \bar v_k /
# \lambda^*_k(0)`, with the line :math:`1 - x` of that crude model.
# The share orders the classes well: those whose logits carry much curvature relative to
# the penalty they wanted lose their explicit optimum first. The model ignores that the
# classes share one softmax and that the curvature changes with the fit, so the points
# fall below the line rather than on it.
P = cd.predict(plain.fit, train.X, s=plain.lambda_min, type="response").values
vbar = (P * (1 - P)).mean(axis=0)
share = levels[1:, None] ** 2 * vbar[None, :] / opt[0][None, :]
ratio = opt[1:] / opt[0][None, :]
print("mean curvature per class, vbar_k:")
print(
    "\n".join(f"{c:>12}: {v:.4f}" for c, v in zip(classes, vbar, strict=True))
)

fig, ax = plt.subplots(figsize=(6.5, 4.2), constrained_layout=True)
for i, s in enumerate(strengths):
    ax.scatter(
        share[i],
        ratio[i],
        c=colors,
        s=18 + 18 * i,
        edgecolors="k",
        linewidths=0.4,
        label=f"s = {s:g}",
        marker="os^"[i],
    )
x = np.linspace(0, max(1.0, share.max()), 50)
ax.plot(x, np.clip(1 - x, 0, None), "k--", lw=1, label="1 - x")
ax.set(
    xlabel=r"share of the optimum supplied by the noise, $x = s^2 \bar v_k / \lambda^*_k(0)$",
    ylabel=r"$\lambda^*_k(s) / \lambda^*_k(0)$",
    ylim=(-0.05, 1.15),
)
handles = [
    plt.Line2D([], [], ls="", marker="o", color=colors[k], label=c)
    for k, c in enumerate(classes)
]
first = ax.legend(fontsize=7, loc="upper right")
ax.add_artist(first)
ax.legend(handles=handles, fontsize=6, ncol=2, loc="center right")

# %%
# Per-class cross-validated deviance at each level's ``lambda_min``, relative to no
# augmentation. At the penalty each level would choose, the confusable upper-body classes
# (Coat, Pullover, Shirt, T-shirt/top) gain one to three percent and Trouser, whose logit
# carries the least curvature, loses five to eight: in miniature, and in the last layer
# alone, the class-dependent effect of augmentation that Balestriero, Bottou & LeCun
# (2022) found in whole networks. The curves come from 1500 images, so changes of this size are close to
# their sampling error; the shift of the optima above is the firmer finding.
j = [cv.index["min"] for cv in cvs]
dev = [
    (cv.results["deviance"].sum("fold") / cv.results["n"].sum("fold"))
    .isel({"lambda": jj})
    .values
    for cv, jj in zip(cvs, j, strict=True)
]
rel = np.array(dev) / np.array(dev[0])[None, :] - 1
print("change of per-class CV deviance at lambda_min, in percent:")
print(
    "\n".join(
        f"{c:>12}: " + "  ".join(f"{100 * r:+5.1f}" for r in rel[1:, k])
        for k, c in enumerate(classes)
    )
)

# %%
# Each class's best noise level
# -----------------------------
# The grid answers the study's second question directly: ``classwise(grid,
# over="augment")`` compares the levels class by class at one lambda (by default the
# lambda of the joint optimum over level and lambda) and reports each class's best level,
# its regret under the level best for all classes together, and which optima sit at an
# end of the grid. ``classwise(grid)`` instead gives each class's optimal lambda at every
# level, stacked along ``augment``.
over = cd.classwise(grid, over="augment", null=0)
print(over)
cd.plot(over)
