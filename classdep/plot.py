"""Figures: one generic ``plot`` dispatched on the result type (R's ``plot``).

Each result module's figure lives here so that matplotlib is imported only by this
module, and only when a figure is asked for.
"""

from __future__ import annotations

from functools import singledispatch
from typing import Any

import numpy as np

from .analysis.bootstrap import TYPES, BootCI
from .analysis.classwise import Classwise
from .glmnet_fit import GlmnetFit
from .sweep import CVGlmnet
from .validation import check_choice

__all__ = ["plot"]


def _axes_grid(n: int, ax=None):
    import matplotlib.pyplot as plt

    if ax is not None:
        return ax.figure, np.atleast_1d(ax).ravel()
    cols = min(n, 5)
    rows = int(np.ceil(n / cols))
    fig, axes = plt.subplots(rows, cols, figsize=(2.8 * cols, 2.4 * rows), squeeze=False,
                             sharex=True, constrained_layout=True)
    for a in axes.ravel()[n:]:
        a.set_visible(False)
    return fig, axes.ravel()[:n]


@singledispatch
def plot(obj: Any, **kwargs):
    """Draw a classdep result; dispatches on its type.

    Examples
    --------
    >>> import numpy as np, classdep as cd
    >>> rng = np.random.default_rng(0)
    >>> fit = cd.glmnet(rng.normal(size=(80, 3)), rng.integers(0, 3, 80), nlambda=10)
    >>> fig = cd.plot(fit, xvar="lambda")
    >>> len(fig.axes)
    3
    """
    raise TypeError(f"plot() has no method for {type(obj).__name__}.")


@plot.register
def _(fit: GlmnetFit, xvar: str = "lambda", ax=None, label: bool = False):
    """Coefficient paths like R's ``plot.glmnet``: one panel per class.

    ``xvar="lambda"`` plots against log(lambda), ``"norm"`` against the class's L1 norm,
    ``"dev"`` against the fraction of deviance explained.  The top axis shows Df.
    """
    check_choice(xvar, ("lambda", "norm", "dev"), "xvar")
    p = fit.path
    classes = p["class"].values
    fig, axes = _axes_grid(len(classes), ax)
    B = p["coef"].values  # (L, K, d)
    for k, a in enumerate(axes):
        if xvar == "lambda":
            xs, xl = np.log(p["lambda"].values), "Log Lambda"
        elif xvar == "norm":
            xs, xl = np.abs(B[:, k, :]).sum(axis=1), "L1 Norm"
        else:
            xs, xl = p["dev_ratio"].values, "Fraction Deviance Explained"
        a.plot(xs, B[:, k, :], lw=0.8)
        a.axhline(0.0, color="0.6", lw=0.5)
        a.set_title(f"{classes[k]}", fontsize=9)
        a.set_xlabel(xl, fontsize=8)
        a.set_ylabel("Coefficients", fontsize=8)
        a.tick_params(labelsize=7)
        if label:
            for j, name in enumerate(p["feature"].values):
                a.annotate(str(name), (xs[-1], B[-1, k, j]), fontsize=6)
    return fig


@plot.register
def _(cv: CVGlmnet, ax=None):
    """R's ``plot.cv.glmnet``: the CV measure against log(lambda) with one-SE bars and the
    ``lambda_min`` / ``lambda_1se`` lines."""
    import matplotlib.pyplot as plt

    if ax is None:
        fig, ax = plt.subplots(figsize=(5.5, 4), constrained_layout=True)
    r = cv.results
    x = np.log(r["lambda"].values)
    ax.errorbar(x, r["cvm"].values, yerr=r["cvsd"].values, fmt="o", color="tab:red", ms=3,
                ecolor="0.6", elinewidth=0.8, capsize=1.5)
    for name in ("min", "1se"):
        ax.axvline(x[cv.index[name]], color="0.3", ls=":", lw=0.8)
    ax.set_xlabel("Log Lambda")
    ax.set_ylabel(cv.results.attrs["type_measure"].replace("class", "Misclassification Error")
                  .replace("deviance", "Multinomial Deviance"))
    top = ax.secondary_xaxis("top")
    top.set_xticks(x[:: max(1, x.size // 8)])
    top.set_xticklabels([str(int(v)) for v in r["nzero"].values[:: max(1, x.size // 8)]])
    return ax.figure


@plot.register
def _(cw: Classwise, ax=None):
    """Heatmap of each class's curve over log(lambda), normalized per class, with each
    class's optimum (dots) and the global optimum (dashed line)."""
    import matplotlib.pyplot as plt

    cur = cw.curves.values  # (L, K)
    larger = cw.table.attrs["measure"] in ("recall", "precision", "ova_accuracy")
    best = np.nanmax(cur, axis=0) if larger else np.nanmin(cur, axis=0)
    excess = np.abs(cur - best) / np.where(np.abs(best) > 0, np.abs(best), 1.0)  # relative excess
    vmax = float(np.nanquantile(excess, 0.5)) or 1.0  # keep the region near the optima readable
    classes = [str(c) for c in cw.curves["class"].values]
    if ax is None:
        fig, ax = plt.subplots(figsize=(6.5, 0.35 * len(classes) + 1.8), constrained_layout=True)
    lam = cw.curves["lambda"].values
    x = np.log10(lam)
    order = np.argsort(x)  # log lambda increasing to the right, as plot.cv.glmnet
    im = ax.imshow(excess[order].T, aspect="auto", cmap="viridis_r", origin="lower", vmin=0, vmax=vmax,
                   extent=(x[order][0], x[order][-1], -0.5, len(classes) - 0.5), interpolation="nearest")
    ax.plot(x[cw.table["index_opt"].values], np.arange(len(classes)), "wo", ms=4, mec="k",
            label="class optimum")
    ax.axvline(np.log10(cw.table.attrs["lambda_global"]), color="w", ls="--", lw=1, label="global optimum")
    ax.set_yticks(np.arange(len(classes)), classes, fontsize=7)
    ax.set_xlabel("log10 lambda")
    ax.set_title(f"class-wise {cw.table.attrs['measure']}: relative excess over each class's best",
                 fontsize=9)
    ax.figure.colorbar(im, ax=ax, label="relative excess (clipped)", extend="max")
    ax.legend(fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.18), ncol=2, frameon=False)
    return ax.figure


@plot.register
def _(ci: BootCI, ax=None):
    """Forest plot of a :class:`~classdep.BootCI`: every class's estimate with its interval,
    classes sorted by the estimate, the global optimum (or zero, for the regret) as a
    vertical line; a log-lambda axis for ``lambda_opt``."""
    import matplotlib.pyplot as plt

    a = ci.ci.attrs
    t0 = ci.t0.values
    lo, hi = ci.ci.sel(bound="lower").values, ci.ci.sel(bound="upper").values
    order = np.argsort(t0, kind="stable")
    classes = [str(c) for c in ci.t0["class"].values[order]]
    if ax is None:
        fig, ax = plt.subplots(figsize=(6, 0.3 * len(classes) + 1.6), constrained_layout=True)
    y = np.arange(len(classes))
    ax.hlines(y, lo[order], hi[order], color="tab:blue", lw=1.5)
    ax.plot(t0[order], y, "o", color="tab:blue", ms=4, label="class estimate")
    if a["statistic"] == "lambda_opt" and ci.t0_global is not None:
        ax.axvline(float(ci.t0_global), color="k", ls="--", lw=1, label="global optimum")
        if ci.ci_global is not None:
            ax.axvspan(*ci.ci_global.values, color="0.85", zorder=0, label="its interval")
    elif a["statistic"] == "regret":
        ax.axvline(0.0, color="k", ls="--", lw=1)
    if a["log"]:
        ax.set_xscale("log")
    ax.set_yticks(y, classes, fontsize=7)
    ax.set_ylabel("class")
    ax.set_xlabel("lambda" if a["statistic"] == "lambda_opt" else a["statistic"])
    ax.set_title(f"{100 * a['conf']:g}% {TYPES[a['type']]} intervals of {a['statistic']} "
                 f"(estimator '{a['estimator']}')", fontsize=9)
    ax.legend(fontsize=7, loc="best")
    return ax.figure
