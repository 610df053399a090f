"""
Label imbalance: classifier geometry and class-wise optimal penalties
=====================================================================

Under step imbalance (a fraction ``rho`` of the classes are minorities, each majority class
has ``R`` times their samples) the ridge-penalized last layer gives minority classes shorter
classifiers and bends the angles between them away from the symmetric simplex. Three views:

1. the closed forms of the unconstrained-features model (UFM) at vanishing penalty
   (``ufm_geometry``), checked against the max-margin problem solved numerically (``ufm``);
2. a Gaussian mixture with ``make_mixture(imbalance="step")``: how each class's optimal
   lambda (``classwise``) and the geometry of the fitted classifiers (``geometry``) move with
   ``R``;
3. the same mixture at one ``R`` under the logit-adjusted losses (LA's ``tau``, CDT's and
   LDT's ``gamma``).
"""

# %%
# Closed forms against the numerical max-margin solution
# ------------------------------------------------------
# Norm ratio of a majority to a minority classifier and the minority-minority cosine, for
# plain cross-entropy (SELI), CDT and LDT.  LDT with ``gamma = 1/2`` is symmetric for every
# ``R``: its effective imbalance is ``R**(1 - 2 gamma) = 1``.  Dots: ``ufm(lambda_=0)``.
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

import classdep as cd
from classdep.analysis import step_counts
from classdep.datasets import make_mixture, select_split

K = 6
Rs = np.geomspace(1, 100, 25)
losses = [("ce", 0.0), ("cdt", 0.3), ("ldt", 0.25), ("ldt", 0.5)]
fig, ax = plt.subplots(1, 2, figsize=(10, 3.8), constrained_layout=True)
for (loss, gamma), color in zip(losses, ["k", "tab:orange", "tab:green", "tab:blue"], strict=True):
    geo = [cd.ufm_geometry(K, R, loss=loss, gamma=gamma) for R in Rs]
    label = loss if loss == "ce" else f"{loss}, gamma={gamma}"
    ax[0].plot(Rs, [float(g["w_norm_ratio"]) for g in geo], color=color, label=label)
    ax[1].plot(Rs, [float(g["w_pair_cos"].sel(pair="mm")) for g in geo], color=color)
    for R in (3.0, 30.0):
        u = cd.geometry(cd.ufm(step_counts(K, R), loss=loss, gamma=gamma, lambda_=0, seed=0))
        ax[0].plot(R, float(u["w_norm_ratio"][0]), "o", color=color)
        ax[1].plot(R, float(u["w_pair_cos"].sel(pair="mm")[0]), "o", color=color)
ax[1].axhline(-1 / (K - 1), color="0.5", ls=":", label="simplex ETF")
ax[0].set(xscale="log", xlabel="imbalance ratio R", ylabel="||w_majority|| / ||w_minority||")
ax[1].set(xscale="log", xlabel="imbalance ratio R", ylabel="cos(w_minority, w_minority')")
ax[0].legend(fontsize=8)
ax[1].legend(fontsize=8)

# %%
# The slow approach of the regularized UFM to these limits
# --------------------------------------------------------
# The penalized solution reaches the max-margin geometry only like ``1 / log(1 / lambda)``:
# even at ``lambda = 1e-8`` the norm ratio is visibly off, which is why ``ufm`` solves the
# ``lambda_ = 0`` limit as a constrained problem of its own.
R = 10.0
limit = float(cd.ufm_geometry(K, R)["w_norm_ratio"])
for lam in (1e-1, 1e-2, 1e-4, 1e-8):
    u = cd.ufm(step_counts(K, R), lambda_=lam, seed=0)
    print(f"lambda {lam:8.0e}: norm ratio {float(cd.geometry(u)['w_norm_ratio'][0]):.4f} "
          f"(limit {limit:.4f}; certified gap {u.data.attrs['gap']:.1e})")

# %%
# Class-wise optimal lambda and classifier geometry on a step-imbalanced mixture
# ------------------------------------------------------------------------------
# Equal noise in every class, so that size is the only difference between them.
grid = np.geomspace(1.0, 1e-4, 20)


def study(R, loss="ce", tau=1.0, gamma=0.3, intercept=True, n_min=40):
    ds = make_mixture(n_classes=K, n_features=20, n_samples=int(n_min * (R * K / 2 + K / 2)),
                      imbalance="step", ratio=R, noise=1.0, separation=2.0, seed=0)
    train = select_split(ds, "train")
    cv = cd.cv_glmnet(train, nfolds=5, lambda_=grid, loss=loss, tau=tau, gamma=gamma, intercept=intercept,
                      progress=False)
    cw = cd.classwise(cv, null=0)
    geo = cd.geometry(cv.fit, train)
    at = geo.data.sel({"lambda": cv.lambda_min})
    major = np.arange(K) < K // 2
    lam = cw.lambda_opt.values
    row = {"lambda_opt majority": np.exp(np.log(lam[major]).mean()),
           "lambda_opt minority": np.exp(np.log(lam[~major]).mean()), "lambda_min": cv.lambda_min}
    if R > 1:
        row.update({"|wM|/|wm|": float(at["w_norm_ratio"]),
                    **{f"cos {p}": float(at["w_pair_cos"].sel(pair=p)) for p in ("MM", "mm", "Mm")}})
    return row, geo


rows, geos = {}, {}
for R in (1.0, 4.0, 16.0, 64.0):
    rows[f"R={R:g}"], geos[R] = study(R)
print(pd.DataFrame(rows).T.round(4).to_string())
cd.plot(geos[16.0])

# %%
# The loss parameters at R = 16
# -----------------------------
# LA shifts the logits by ``tau log(pi_y)``; CDT and LDT multiply them by
# ``Delta_y = (n_y / n_max)**gamma``.  With a free intercept, LA's shift is absorbed by the
# intercepts: ``W`` is plain CE's at every lambda and only the intercepts (hence the
# predictions and the CV optimum) move; without an intercept it changes ``W`` too.  Table:
# geometric means of the class-wise optima over the majority and the minority classes, and
# the geometry at the CV optimum; figure: the norm ratio along the path.
settings = [("ce", {}), ("la, tau=1", dict(loss="la", tau=1.0)),
            ("la, tau=1, no intercept", dict(loss="la", tau=1.0, intercept=False)),
            ("cdt, gamma=0.3", dict(loss="cdt", gamma=0.3)),
            ("cdt, gamma=-0.3", dict(loss="cdt", gamma=-0.3)),
            ("ldt, gamma=0.5", dict(loss="ldt", gamma=0.5))]
rows = {}
fig, ax = plt.subplots(figsize=(6, 4), constrained_layout=True)
for name, kw in settings:
    rows[name], geo = study(16.0, **kw)
    ax.plot(geo["lambda"].values, geo["w_norm_ratio"].values, label=name)
ax.axhline(1.0, color="0.5", ls=":")
ax.set(xscale="log", xlabel="lambda", ylabel="||w_majority|| / ||w_minority||", title="R = 16")
ax.legend(fontsize=7)
print(pd.DataFrame(rows).T.round(4).to_string())
