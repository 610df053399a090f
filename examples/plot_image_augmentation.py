r"""
Image augmentation through a frozen backbone, class by class
=============================================================

The study asks the same three questions of data augmentation (DA) as of weight decay: the
best strength overall, the best strength for each class, and what the shared strength costs
each class. Balestriero, Bottou & LeCun (2022) found DA's effect class dependent in whole
networks; Kirichenko et al. (2023) traced part of it to confusion between related classes,
whose balance DA shifts. Here the network is frozen and only its last layer sees the
augmentation: the training *images* are translated by up to ``m`` pixels
(:func:`~classdep.datasets.image_augment.augment_images`, the zero-padded random crop), passed
through the backbone, and the head's ridge path is fitted on their features and scored on
*clean* held-out images (:func:`~classdep.sweep.augment_images.assess_augment`). The result is
an ``augment`` dim of the evaluated sweep, and every analysis of a grid takes it.
"""

# %%
# The sweep
# ---------
# The backbone is the small Fashion-MNIST MLP behind
# :func:`~classdep.datasets.fashion_mnist_features` (5000 training images, 8 epochs, no
# augmentation), as a callable ``images -> features``; it is trained once and cached. The head
# is refitted on 1500 of its training images, four translated copies of each, at four
# strengths (0 to 3 pixels) and ten penalties; 2000 test images the backbone never saw score
# every (strength, lambda). Every strength uses the same random draws (common random numbers):
# a copy shifted by one pixel at ``m = 1`` is shifted the same way, or further, at ``m = 2``.
import time

import matplotlib.pyplot as plt
import numpy as np

import classdep as cd
from classdep.datasets import fashion_mnist
from classdep.datasets.fashion_mnist import CLASS_NAMES
from classdep.sweep.augment_images import assess_augment, fashion_mnist_backbone

backbone = fashion_mnist_backbone(n_train=5000, n_test=2000, epochs=8)
names = np.asarray(CLASS_NAMES)
train, test = fashion_mnist("train"), fashion_mnist("test")
rows = backbone.attrs["train_index"][:1500]
x = train.X.values[rows].reshape(-1, 28, 28)
y = names[train.y.values[rows]]
xnew = test.X.values[backbone.attrs["test_index"]].reshape(-1, 28, 28)
ynew = names[test.y.values[backbone.attrs["test_index"]]]

lam = np.geomspace(0.03, 1e-5, 10)
strengths = [0, 1, 2, 3]
start = time.perf_counter()
grid = assess_augment(
    backbone, x, y, xnew, ynew, "translate", strengths, copies=4, seed=0, lambda_=lam
)
seconds = time.perf_counter() - start
print(grid)
print(
    f"\n{len(strengths)} strengths x 4 copies x 1500 images x {lam.size} lambdas: "
    f"{seconds:.1f} s"
)

# %%
# Overall, translation hurts this head: the MLP is not translation-equivariant, and the
# held-out deviance and accuracy fall steadily with the strength, while each level's
# ``lambda_min`` falls too (the augmentation supplies part of the regularization the
# explicit penalty supplied).
#
# Each class's optimal lambda, and its best strength
# ---------------------------------------------------
# ``classwise(grid[0])`` is the unaugmented head's per-class optimum along lambda (``boot``
# gives its smoothed estimate and an interval); ``classwise(grid, over="augment")`` compares
# the strengths class by class at one lambda, by default that of the joint optimum over
# (strength, lambda), with the noise-only null and per-class permutation tests.
# (``classwise(grid)`` would give every strength's per-class optimal lambda.)
per_lambda = cd.classwise(grid[0], null=0)
ci_lambda = cd.boot_ci(cd.boot(grid[0], R=300, seed=0))
over = cd.classwise(grid, over="augment", debias=None)
ci_aug = cd.boot_ci(cd.boot(grid, over="augment", R=300, seed=0))
print(over)

# %%
# Side by side. On the left, where each class's penalty optimum sits without augmentation
# (dots: smoothed estimates; bars: 95 % bootstrap intervals; arrows: one-sided, the optimum at
# an end of the grid); on the right, each class's best translation at the shared lambda, with
# the bootstrap's interval over the strengths. The classes order differently on the two axes:
# a class that wants more ridge does not, for that, want more translation.
classes = [str(c) for c in grid[0].classes]
order = np.argsort(ci_lambda.t0.sel({"class": classes}).values)
fig, (left, right) = plt.subplots(1, 2, figsize=(9, 4.2), sharey=True, constrained_layout=True)
ypos = np.arange(len(classes))
for ax, ci, log in ((left, ci_lambda, True), (right, ci_aug, False)):
    t0 = ci.t0.sel({"class": classes}).values[order]
    lo = ci.ci.sel({"class": classes, "bound": "lower"}).values[order]
    hi = ci.ci.sel({"class": classes, "bound": "upper"}).values[order]
    ends = (lam.min(), lam.max()) if log else (min(strengths), max(strengths))
    lo, hi = np.clip(lo, *ends), np.clip(hi, *ends)  # a one-sided interval runs to the grid's end
    ax.hlines(ypos, lo, hi, color="0.4", lw=2)
    ax.plot(t0, ypos, "o", color="C3", ms=5)
    if log:
        ax.set_xscale("log")
left.axvline(per_lambda.table.attrs["lambda_global"], color="0.6", ls="--", lw=1)
right.axvline(over.table.attrs["augment_global"], color="0.6", ls="--", lw=1)
left.set(yticks=ypos, yticklabels=np.asarray(classes)[order], xlabel="optimal lambda (no augmentation)")
right.set(xlabel="best translation (pixels), at the shared lambda", xticks=strengths)

# %%
# The classes whose best strength differs most from the shared one are those with the
# largest regret in the table above: the shared strength (none) costs them that much held-out
# deviance. Three classes prefer some translation; the permutation test (``q``, at a false
# discovery rate of 10 %) separates those whose preference exceeds selection noise.
reg = over.table["regret"].sortby(over.table["regret"], ascending=False)
print("regret of the shared strength, per class (held-out deviance):")
for c, r in zip(reg["class"].values, reg.values, strict=True):
    print(f"{c:>12}: {r:7.2f}   best strength {int(over.table['augment_opt'].sel({'class': c}))}")

# %%
# Shirt against T-shirt/top
# -------------------------
# The most related pair of Fashion-MNIST. At the shared lambda, as the strength grows the
# head gives up on Shirt: its recall falls from about one half to under a fifth, while
# T-shirts are taken for shirts half as often and shirts for T-shirts a little more often.
# Translation moves the boundary between the two related classes (toward T-shirt/top, whose
# own best strength is 1) rather than sharpening it: the pattern Kirichenko et al. report for
# whole networks, here in the last layer alone.
j = int(np.argmin(np.abs(np.log(lam) - np.log(over.table.attrs["lambda"]))))
shirt_as_tee, tee_as_shirt, shirt_recall = [], [], []
for i in range(len(strengths)):
    C = grid[i].confusion.isel({"lambda": j})
    shirt, tee = C.sel({"class": "Shirt"}), C.sel({"class": "T-shirt/top"})
    shirt_as_tee.append(float(shirt.sel(predicted="T-shirt/top") / shirt.sum()))
    tee_as_shirt.append(float(tee.sel(predicted="Shirt") / tee.sum()))
    shirt_recall.append(float(shirt.sel(predicted="Shirt") / shirt.sum()))
for m, a, t, r in zip(strengths, shirt_as_tee, tee_as_shirt, shirt_recall, strict=True):
    print(f"m = {m}: Shirt -> T-shirt/top {a:.3f}, T-shirt/top -> Shirt {t:.3f}, Shirt recall {r:.3f}")
fig, ax = plt.subplots(figsize=(6, 3.8), constrained_layout=True)
ax.plot(strengths, shirt_as_tee, "o-", label="Shirt predicted T-shirt/top")
ax.plot(strengths, tee_as_shirt, "s-", label="T-shirt/top predicted Shirt")
ax.plot(strengths, shirt_recall, "^--", color="0.4", label="Shirt recall")
ax.set(xlabel="translation strength (pixels)", ylabel="rate on clean held-out images",
       xticks=strengths, title=f"at lambda = {lam[j]:.3g}")
ax.legend(fontsize=8)

# %%
# Augmentation in feature space: which quadratic penalty
# -------------------------------------------------------
# DA can also act on the features themselves (``glmnet(..., augment=dict(kind="gaussian",
# strength=s))``). Its ``method="quadratic"`` replaces the noise by Wager et al.'s quadratic
# approximation of the expected noised loss, ``1/2 sum_i sum_j v_ij W_j' H_i W_j``, where
# ``H_i`` is the softmax Hessian of the clean logits. The path keeps its diagonal,
# ``diag(p_i (1 - p_i))``, by default, or minimizes the full form (``curvature="full"``);
# :func:`~classdep.solvers.augment_forms.quadratic_penalty` evaluates both. When does each
# hold?
#
# * The **full** (class-coupled) curvature is the second-order term of the expected noised
#   loss: it matches the sampled objective up to the third-order remainder, so for Gaussian
#   noise small against the logits (on a four-class toy, within 1 % at every strength
#   tested), and for dropout when every feature's share of the logits is small (dropout
#   removes a whole feature at once, so a lower rate does not help: with contributions of a
#   logit or more the expansion is 25-30 % low).
# * The **diagonal** is exact for one-vs-all heads (no coupling). For the softmax it drops the
#   cross terms ``-p_ik p_il W_jk W_jl`` of the classes a sample hesitates between: it
#   understates the penalty on the features that separate a confused pair (opposite weights;
#   by half for two classes), at every noise level.
# * Fitted, the difference grows: on the same toy the diagonal fixed point lands farther from
#   the sampled fit than the unaugmented one, and Wager's objective with the full curvature,
#   minimized (:func:`~classdep.solvers.augment_forms.quadratic_fit` with ``frozen=False``), lands
#   within a few percent of the augmentation's effect.
#
# On this head, at the shared lambda:
from classdep.solvers.augment_forms import quadratic_penalty, sampled_penalty  # noqa: E402

F = backbone(x)
codes = np.searchsorted(np.asarray(grid[0].classes).astype(str), y)
W = grid[0].fit.path["coef"].isel({"lambda": j}).values.T  # (feature, class)
b = grid[0].fit.path["intercept"].isel({"lambda": j}).values
for s in (0.1, 0.3):
    full, _ = quadratic_penalty(F, W, b, "gaussian", s)
    diag, _ = quadratic_penalty(F, W, b, "gaussian", s, curvature="diagonal")
    est, se = sampled_penalty(F, codes, W, b, "gaussian", s, copies=200, seed=0)
    print(f"noise sd {s}: sampled {est:.4g} +- {se:.2g}, full {full:.4g}, diagonal {diag:.4g}")

# %%
# Stacked pre-augmented feature sets (features extracted from augmented images, one set per
# strength) are scored the same way: :func:`~classdep.sweep.augment_images.assess_features`
# fits each set and scores it on the clean held-out features, never on augmented rows.
plt.show()
