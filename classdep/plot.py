"""Figures: one generic ``plot`` dispatched on the result type (R's ``plot``).

Each result module's figure lives here so that matplotlib is imported only by this
module, and only when a figure is asked for.
"""

from __future__ import annotations

from functools import singledispatch
from typing import Any

import numpy as np

from .analysis.ambiguous import Ambiguous
from .analysis.bootstrap import TYPES, BootCI
from .analysis.classwise import Classwise
from .analysis.geometry import Geometry
from .analysis.lda import LDA
from .analysis.seed_effects import ClassEffects
from .analysis.separability import Separability
from .glmnet_fit import GlmnetFit
from .sweep import CVGlmnet, CVGrid, Heldout
from .sweep.cvresult import measure_name
from .validation import check_choice

__all__ = ["plot"]


def _level(v) -> str:
    """A grid level as a label: numbers in %g, anything else as text."""
    return f"{v:g}" if isinstance(v, float | np.floating | int | np.integer) else str(v)


def _nonzero_axis(ax, x: np.ndarray, nzero: np.ndarray) -> None:
    """R's top axis of a CV plot: the number of non-zero coefficients at a few lambdas."""
    top = ax.secondary_xaxis("top")
    step = max(1, x.size // 8)
    top.set_xticks(x[::step])
    top.set_xticklabels([str(int(v)) for v in nzero[::step]])


def _measure_name(cv: CVGlmnet | Heldout) -> str:
    a = cv.results.attrs
    return measure_name(a["type_measure"], a.get("family", "multinomial"))


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
    ax.set_ylabel(_measure_name(cv))
    _nonzero_axis(ax, x, r["nzero"].values)
    return ax.figure


@plot.register
def _(h: Heldout, ax=None):
    """The held-out measure against log(lambda), as ``plot.cv.glmnet`` draws a CV's, with the
    ``lambda_min`` line; no SE bars and no ``lambda_1se`` (one split has no spread)."""
    import matplotlib.pyplot as plt

    if ax is None:
        fig, ax = plt.subplots(figsize=(5.5, 4), constrained_layout=True)
    r = h.results
    x = np.log(r["lambda"].values)
    ax.plot(x, r["cvm"].values, "o", color="tab:red", ms=3)
    ax.axvline(x[h.index["min"]], color="0.3", ls=":", lw=0.8)
    ax.set_xlabel("Log Lambda")
    ax.set_ylabel(f"{_measure_name(h)} (held-out)")
    _nonzero_axis(ax, x, r["nzero"].values)
    return ax.figure


@plot.register
def _(cw: Classwise, ax=None):
    """Heatmap of each class's curve along the swept axis (log lambda, or a grid's levels),
    normalized per class, with each class's optimum (dots; a triangle pointing out of the grid
    for an optimum at its end, which may lie beyond) and the global optimum (dashed line);
    per level of a grid, one heatmap per level."""
    import matplotlib.pyplot as plt

    a = cw.table.attrs
    if "grid_dim" in a:
        return _classwise_per_level(cw, ax)
    axis = a.get("over", "lambda")
    cur = cw.curves.values  # (L, K)
    larger = a["measure"] in ("recall", "precision", "ova_accuracy")
    best = np.nanmax(cur, axis=0) if larger else np.nanmin(cur, axis=0)
    excess = np.abs(cur - best) / np.where(np.abs(best) > 0, np.abs(best), 1.0)  # relative excess
    vmax = float(np.nanquantile(excess, 0.5)) or 1.0  # keep the region near the optima readable
    classes = [str(c) for c in cw.curves["class"].values]
    if ax is None:
        fig, ax = plt.subplots(figsize=(6.5, 0.35 * len(classes) + 1.8), constrained_layout=True)
    values = cw.curves[axis].values
    if axis == "lambda":
        x = np.log10(values)
        glob = np.log10(a["lambda_global"])
        ax.set_xlabel("log10 lambda")
        where = ""
    else:
        # a grid's levels (augmentation strengths, feature sets): equally spaced, labelled
        x = np.arange(values.size, dtype=float)
        glob = float(a["index_global"])
        ax.set_xticks(x, [_level(v) for v in values])
        ax.set_xlabel(axis)
        where = f" at lambda {a['lambda']:.3g}"
    order = np.argsort(x)  # increasing to the right, as plot.cv.glmnet
    half = 0.5 * (np.min(np.diff(x[order])) if x.size > 1 else 1.0)
    im = ax.imshow(excess[order].T, aspect="auto", cmap="viridis_r", origin="lower", vmin=0, vmax=vmax,
                   extent=(x[order][0] - (half if axis != "lambda" else 0),
                           x[order][-1] + (half if axis != "lambda" else 0), -0.5, len(classes) - 0.5),
                   interpolation="nearest")
    xo, yo = x[cw.table["index_opt"].values], np.arange(len(classes))
    if "plateau_low" in cw.table:
        # the plateau: where the curve is within one paired SE of the class's optimum
        pos = {v: x[i] for i, v in enumerate(values.tolist())}
        lo = np.array([pos[v] for v in cw.table["plateau_low"].values.tolist()])
        hi = np.array([pos[v] for v in cw.table["plateau_high"].values.tolist()])
        ax.hlines(yo, np.minimum(lo, hi), np.maximum(lo, hi), color="w", lw=2, label="plateau (1 SE)")
    if "q_value" in cw.table:
        # classes that want another penalty beyond selection noise (BH at the result's FDR)
        fdr = a.get("fdr", 0.1)
        classes = [c + (" *" if q <= fdr else "") for c, q in zip(classes, cw.table["q_value"].values,
                                                                  strict=True)]
    edge = cw.table["at_edge"].values if "at_edge" in cw.table else np.full(len(classes), "")
    ax.plot(xo[edge == ""], yo[edge == ""], "wo", ms=4, mec="k", label="class optimum")
    # x increases to the right for lambda and for a grid's levels alike: low is left, high right
    for end, marker in (("low", "<"), ("high", ">")):
        if (edge == end).any():
            ax.plot(xo[edge == end], yo[edge == end], marker, color="w", ms=7, mec="tab:red",
                    label=f"optimum at the {end} end")
    ax.axvline(glob, color="w", ls="--", lw=1, label="global optimum")
    ax.set_yticks(np.arange(len(classes)), classes, fontsize=7)
    star = f"; * differs at FDR {a.get('fdr', 0.1):.0%}" if "q_value" in cw.table else ""
    ax.set_title(f"class-wise {a['measure']}{where}\nrelative excess over each class's best{star}",
                 fontsize=9)
    ax.figure.colorbar(im, ax=ax, label="relative excess (clipped)", extend="max")
    ax.legend(fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.18), ncol=4, frameon=False)
    return ax.figure


def _classwise_per_level(cw: Classwise, ax=None):
    """One heatmap per level of a grid (``classwise(grid)``), side by side."""
    import matplotlib.pyplot as plt

    t = cw.table
    dim = t.attrs["grid_dim"]
    n = t.sizes[dim]
    if ax is None:
        K = t.sizes["class"]
        fig, axes = plt.subplots(1, n, figsize=(5.0 * n, 0.35 * K + 1.8), squeeze=False,
                                 constrained_layout=True)
        axes = axes.ravel()
    else:
        fig, axes = _axes_grid(n, ax)
    for i in range(n):
        ti = t.isel({dim: i})
        level = ti[dim].values.item()
        ti = ti.drop_vars([v for v in ti.data_vars if ti[v].dims == ()])
        ti.attrs = dict(measure=t.attrs["measure"], over="lambda", fdr=t.attrs.get("fdr", 0.1),
                        lambda_global=float(t["lambda_global"].values[i]))
        one = Classwise(ti, cw.curves.isel({dim: i}))
        plot(one, ax=axes[i])
        axes[i].set_title(f"{dim} = {_level(level)}", fontsize=9)
    return fig


@plot.register
def _(grid: CVGrid, ax=None):
    """Every level's cross-validated curve (mean and one SE band) over log lambda, with
    its lambda_min; the R picture of ``plot.cv.glmnet`` for each level, on one axes."""
    import matplotlib.pyplot as plt

    if ax is None:
        fig, ax = plt.subplots(figsize=(6, 4), constrained_layout=True)
    colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    for i, level in enumerate(grid.augment):
        cv = grid[i]
        x = np.log(cv.lambda_)
        m, se = cv.cvm.values, cv.results["cvsd"].values  # a held-out level's is NaN: no band
        c = colors[i % len(colors)]
        ax.plot(x, m, color=c, lw=1.2, label=f"{grid.dim} = {_level(level)}")
        ax.fill_between(x, m - se, m + se, color=c, alpha=0.15, lw=0)
        j = cv.index["min"]
        ax.plot(x[j], m[j], "o", color=c, ms=4)
    ax.set_xlabel("Log Lambda")
    ax.set_ylabel(_measure_name(grid[0]))
    ax.legend(fontsize=7, loc="best")
    return ax.figure


@plot.register
def _(ci: BootCI, ax=None):
    """Forest plot of a :class:`~classdep.BootCI`: every class's estimate with its interval,
    classes sorted by the estimate, the global optimum (or zero, for the regret) as a
    vertical line; a log-lambda axis for ``lambda_opt``."""
    import matplotlib.pyplot as plt

    a = ci.ci.attrs
    if "grid_dim" in a:
        return _boot_ci_per_level(ci, ax)
    t0 = ci.t0.values
    lo, hi = ci.ci.sel(bound="lower").values, ci.ci.sel(bound="upper").values
    # one-sided intervals (an optimum at an end of the grid): the open bound (0 or -inf, inf)
    # is drawn a little past the finite values, ending in a triangle pointing outwards
    open_lo = ~np.isfinite(lo) | ((lo <= 0) & bool(a["log"]))
    open_hi = ~np.isfinite(hi)
    lo, hi = _open_ends(lo, hi, t0, open_lo, open_hi, bool(a["log"]))
    order = np.argsort(t0, kind="stable")
    classes = [str(c) for c in ci.t0["class"].values[order]]
    if ax is None:
        fig, ax = plt.subplots(figsize=(6, 0.3 * len(classes) + 1.6), constrained_layout=True)
    y = np.arange(len(classes))
    ax.hlines(y, lo[order], hi[order], color="tab:blue", lw=1.5)
    ax.plot(t0[order], y, "o", color="tab:blue", ms=4, label="class estimate")
    for opened, end, marker in ((open_lo[order], lo[order], "<"), (open_hi[order], hi[order], ">")):
        if opened.any():
            ax.plot(end[opened], y[opened], marker, color="tab:blue", ms=5)
    if str(a["statistic"]).endswith("_opt") and ci.t0_global is not None:
        ax.axvline(float(ci.t0_global), color="k", ls="--", lw=1, label="global optimum")
        if ci.ci_global is not None:
            g = ci.ci_global.values
            glo, ghi = (np.array([g[0]]), np.array([g[1]]))
            glo, ghi = _open_ends(glo, ghi, t0, ~np.isfinite(glo) | ((glo <= 0) & bool(a["log"])),
                                  ~np.isfinite(ghi), bool(a["log"]))
            ax.axvspan(glo[0], ghi[0], color="0.85", zorder=0, label="its interval")
    elif a["statistic"] == "regret":
        ax.axvline(0.0, color="k", ls="--", lw=1)
    if a["log"]:
        ax.set_xscale("log")
    ax.set_yticks(y, classes, fontsize=7)
    ax.set_ylabel("class")
    ax.set_xlabel(str(a["statistic"]).removesuffix("_opt") if str(a["statistic"]).endswith("_opt")
                  else a["statistic"])
    ax.set_title(f"{100 * a['conf']:g}% {TYPES[a['type']]} intervals of {a['statistic']} "
                 f"(estimator '{a['estimator']}')", fontsize=9)
    ax.legend(fontsize=7, loc="best")
    return ax.figure


def _open_ends(lo, hi, t0, open_lo, open_hi, log: bool):
    """Intervals with their open bounds put 15% of the finite span past the finite values."""
    vals = np.concatenate([lo[~open_lo], hi[~open_hi], t0])
    vals = vals[np.isfinite(vals) & ((vals > 0) if log else True)]
    if vals.size == 0 or not (open_lo.any() or open_hi.any()):
        return lo, hi
    s = np.log(vals) if log else vals
    pad = 0.15 * max(float(s.max() - s.min()), 1.0 if log else 1e-12 + abs(float(s.max())))
    left, right = s.min() - pad, s.max() + pad
    if log:
        left, right = np.exp(left), np.exp(right)
    return np.where(open_lo, left, lo), np.where(open_hi, right, hi)


def _boot_ci_per_level(ci: BootCI, ax=None):
    """One forest plot per level of a grid (``boot_ci(boot(grid))``), side by side."""
    import matplotlib.pyplot as plt

    dim = ci.ci.attrs["grid_dim"]
    n = ci.ci.sizes[dim]
    if ax is None:
        K = ci.t0.sizes["class"]
        fig, axes = plt.subplots(1, n, figsize=(4.5 * n, 0.3 * K + 1.6), squeeze=False,
                                 constrained_layout=True)
        axes = axes.ravel()
    else:
        fig, axes = _axes_grid(n, ax)

    def level(x, i):
        return None if x is None else x.isel({dim: i}, drop=True)

    for i in range(n):
        one = level(ci.ci, i)
        one.attrs = {k: v for k, v in ci.ci.attrs.items() if k != "grid_dim"}
        plot(BootCI(one, level(ci.t0, i), level(ci.ci_global, i), level(ci.t0_global, i)), ax=axes[i])
        axes[i].set_title(f"{dim} = {_level(ci.ci[dim].values[i])}", fontsize=9)
    return fig


@plot.register
def _(fit: LDA, ax=None, dims=(0, 1), level: float = 0.95, max_points: int = 4000, seed: int = 0):
    """The training samples on two linear discriminants (``dims``, default LD1 and LD2), one
    colour per class, with each class's normal ``level`` ellipse (from the class's own mean and
    covariance of the scores); a density of LD1 per class when there is one discriminant.
    At most ``max_points`` samples, drawn at random, are shown; the ellipses use all."""
    import matplotlib.pyplot as plt
    from matplotlib.patches import Ellipse
    from scipy.stats import chi2

    if fit.scores is None:
        raise ValueError("this LDA holds no training scores (read from disk without them); "
                         "plot predict(fit, x)['x'] yourself.")
    Z = fit.scores.values
    groups = fit.scores["group"].values
    classes = [str(c) for c in fit.classes]
    if ax is None:
        fig, ax = plt.subplots(figsize=(6.5, 5), constrained_layout=True)
    colors = plt.get_cmap("tab10")(np.arange(len(classes)) % 10)
    rng = np.random.default_rng(seed)
    show = rng.permutation(Z.shape[0])[:max_points]  # random order: no class drawn over another
    pt = fit.prop_trace.values
    if Z.shape[1] == 1:
        for k, c in enumerate(classes):
            ax.hist(Z[groups == c, 0], bins=40, density=True, alpha=0.5, color=colors[k], label=c)
        ax.set_xlabel(f"LD1 ({pt[0]:.1%} of trace)")
        ax.set_ylabel("density")
    else:
        i, j = dims
        code = {c: k for k, c in enumerate(classes)}
        ax.scatter(Z[show, i], Z[show, j], s=5, alpha=0.4, linewidths=0,
                   c=colors[[code[str(g)] for g in groups[show]]])
        r = np.sqrt(chi2.ppf(level, 2))
        for k, c in enumerate(classes):
            z = Z[groups == c][:, [i, j]]
            m = z.mean(axis=0)
            vals, vecs = np.linalg.eigh(np.cov(z, rowvar=False))
            angle = np.degrees(np.arctan2(vecs[1, 1], vecs[0, 1]))
            ax.add_patch(Ellipse(m, 2 * r * np.sqrt(vals[1]), 2 * r * np.sqrt(vals[0]), angle=angle,
                                 fill=False, color=colors[k], lw=1.8))
            ax.plot(*m, "x", color=colors[k], ms=8, mew=2, label=c)
        ax.set_xlabel(f"LD{i + 1} ({pt[i]:.1%} of trace)")
        ax.set_ylabel(f"LD{j + 1} ({pt[j]:.1%} of trace)")
    ax.set_title(f"Linear discriminants of {len(classes)} classes ({level:.0%} ellipses)", fontsize=9)
    ax.legend(fontsize=7, loc="best")
    return ax.figure


@plot.register
def _(sep: Separability, ax=None):
    """Separability against the representation's hyperparameter: Fisher ratio and two-class LDA
    accuracy of every pair (worst pair bold), and the overall cross-validated LDA accuracy and
    Pillai's trace.  A numeric dim with positive, geometrically spread values gets a log axis."""
    import matplotlib.pyplot as plt

    d = sep.data
    dim = sep.dim
    vals = d[dim].values
    numeric = np.issubdtype(vals.dtype, np.number)
    x = vals if numeric else np.arange(vals.size)
    if ax is None:
        fig, ax = plt.subplots(1, 3, figsize=(12, 3.8), constrained_layout=True)
    axes = np.atleast_1d(ax).ravel()
    if axes.size < 3:
        raise ValueError("plot(separability) draws three panels: pass ax= three axes, or none.")
    worst = set(d["worst_pair"].values.tolist())
    for name, a, label in (("fisher", axes[0], "Fisher ratio"),
                           ("pair_accuracy", axes[1], "two-class accuracy (CV)")):
        for p in d["pair"].values:
            bold = str(p) in worst
            a.plot(x, d[name].sel(pair=p).values, "o-", lw=2.2 if bold else 0.9, ms=3,
                   label=str(p), alpha=1.0 if bold else 0.7)
        a.set_ylabel(label)
    axes[1].legend(fontsize=6, loc="best")
    axes[2].plot(x, d["cv_accuracy"].values, "o-", color="k", label="LDA accuracy (CV)")
    axes[2].plot(x, d["worst_pair_accuracy"].values, "s--", color="tab:red", label="worst pair accuracy")
    axes[2].set_ylabel("accuracy")
    tw = axes[2].twinx()
    tw.plot(x, d["pillai"].values, "^:", color="tab:blue", label="Pillai's trace")
    tw.set_ylabel("Pillai's trace", color="tab:blue")
    axes[2].legend(fontsize=7, loc="lower left")
    geometric = numeric and (vals > 0).all() and vals.size > 2 and vals.max() / vals.min() > 50
    for a in axes[:3]:
        a.set_xlabel(dim)
        if geometric:
            a.set_xscale("log")
        if not numeric:
            a.set_xticks(x, [str(v) for v in vals], fontsize=7)
    tw.set_xscale(axes[2].get_xscale())
    axes[0].set_title(f"separability of {', '.join(d.attrs['classes'])}", fontsize=8, loc="left")
    return axes[0].figure


@plot.register
def _(amb: Ambiguous, ax=None):
    """Heatmap of the symmetrized confusion rates of all classes, the ambiguous set outlined."""
    import matplotlib.pyplot as plt

    S = amb.symmetric
    names = [str(c) for c in S["class"].values]
    if ax is None:
        fig, ax = plt.subplots(figsize=(5.5, 4.8), constrained_layout=True)
    im = ax.imshow(100 * S.values, cmap="magma_r")
    ax.set_xticks(np.arange(len(names)), names, rotation=60, ha="right", fontsize=7)
    ax.set_yticks(np.arange(len(names)), names, fontsize=7)
    for c in amb.classes:
        k = names.index(str(c))
        for kk in (names.index(str(o)) for o in amb.classes):
            ax.add_patch(plt.Rectangle((kk - 0.5, k - 0.5), 1, 1, fill=False, ec="tab:cyan", lw=1.5))
    ax.figure.colorbar(im, ax=ax, label="symmetrized confusion (%)")
    ax.set_title(f"ambiguous set: {', '.join(map(str, amb.classes))}", fontsize=8)
    return ax.figure


def _class_styles(d) -> list[dict]:
    """Line style per class: majority solid blue and minority dashed red under step imbalance,
    otherwise a colour ramp by class size (light = small) or, sizes unknown, tab10."""
    import matplotlib.pyplot as plt

    K = d.sizes["class"]
    if "role" in d.coords:
        return [dict(color="tab:blue", ls="-") if r == "majority" else dict(color="tab:red", ls="--")
                for r in d["role"].values]
    if "n" in d.coords:
        rank = np.argsort(np.argsort(d["n"].values, kind="stable"), kind="stable")
        return [dict(color=plt.get_cmap("viridis")(0.85 - 0.7 * r / max(K - 1, 1)), ls="-") for r in rank]
    return [dict(color=plt.get_cmap("tab10")(k % 10), ls="-") for k in range(K)]


@plot.register
def _(geo: Geometry, ax=None):
    """Two panels along the path: every class's classifier norm, and the cosines between
    classifiers (under step imbalance the mean majority-majority, minority-minority and mixed
    cosines; otherwise each class's mean cosine to the others), the simplex-ETF value
    ``-1/(K-1)`` dotted.  Majority classes solid blue, minority dashed red."""
    import matplotlib.pyplot as plt

    d = geo.data
    if ax is None:
        fig, ax = plt.subplots(1, 2, figsize=(10, 3.8), constrained_layout=True)
    axes = np.atleast_1d(ax).ravel()
    if axes.size < 2:
        raise ValueError("plot(geometry) draws two panels: pass ax= two axes, or none.")
    lam = d["lambda"].values
    log = bool((lam > 0).all())
    x = lam if log else np.arange(lam.size)
    mk = "o" if lam.size < 3 else None
    K = d.sizes["class"]
    styles = _class_styles(d)
    seen = set()
    for k, st in enumerate(styles):
        role = str(d["role"].values[k]) if "role" in d.coords else None
        label = role if role and role not in seen else (str(d["class"].values[k]) if role is None else None)
        seen.add(role)
        axes[0].plot(x, d["w_norm"].values[:, k], marker=mk, lw=1.2, label=label, **st)
    axes[0].set_ylabel("classifier norm ||w_k||")
    if geo.step:
        pal = {"MM": ("tab:blue", "-"), "mm": ("tab:red", "--"), "Mm": ("tab:purple", "-.")}
        for j, p in enumerate(d["pair"].values):
            c, ls = pal[str(p)]
            axes[1].plot(x, d["w_pair_cos"].values[:, j], color=c, ls=ls, marker=mk,
                         label={"MM": "majority-majority", "mm": "minority-minority", "Mm": "mixed"}[str(p)])
    else:
        C = d["w_cos"].values
        off = (C.sum(axis=2) - 1.0) / (K - 1)  # mean cosine to the other classes
        for k, st in enumerate(styles):
            axes[1].plot(x, off[:, k], marker=mk, lw=1.2, **st)
    axes[1].axhline(-1.0 / (K - 1), color="k", ls=":", lw=0.8, label="simplex ETF")
    axes[1].set_ylabel("cosine between classifiers")
    for a in axes[:2]:
        if log:
            a.set_xscale("log")
            a.set_xlabel("lambda")
        else:
            a.set_xticks(x, [f"{v:g}" for v in lam])
            a.set_xlabel("lambda (0: max-margin)")
        a.legend(fontsize=7, loc="best")
    axes[0].set_title(f"geometry of {d.attrs['source']}", fontsize=9, loc="left")
    return axes[0].figure


@plot.register
def _(eff: ClassEffects, ax=None):
    """Forest plot of the per-class effects across seeds: each class's effect and its
    interval, the classes BH declares different in red, zero dashed."""
    import matplotlib.pyplot as plt

    d = eff.data
    K = d.sizes["class"]
    if ax is None:
        fig, ax = plt.subplots(figsize=(5.5, 0.3 * K + 1.5), constrained_layout=True)
    order = np.argsort(d["effect"].values)
    y = np.arange(K)
    diff = d["differs"].values[order]
    e, lo, hi = (d[v].values[order] for v in ("effect", "lower", "upper"))
    groups = ((~diff, "0.4", "no evidence"), (diff, "tab:red", f"differs at FDR {d.attrs['fdr']:.0%}"))
    for mask, color, label in groups:
        if mask.any():
            ax.errorbar(e[mask], y[mask], xerr=[e[mask] - lo[mask], hi[mask] - e[mask]], fmt="o", color=color,
                        ms=4, capsize=2, label=label)
    ax.axvline(0.0, color="k", ls="--", lw=0.8)
    ax.set_yticks(y, [str(c) for c in d["class"].values[order]], fontsize=7)
    what = "change beyond the class mean" if d.attrs["center"] else "effect (b - a)"
    ax.set_xlabel(f"{what}, {d.attrs['conf']:.0%} interval")
    ax.set_title(f"per-class effects across seeds ({d.attrs['n_a']} vs {d.attrs['n_b']} networks)",
                 fontsize=9)
    ax.legend(fontsize=7, loc="lower right")
    return ax.figure
