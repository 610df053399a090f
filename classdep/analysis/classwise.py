"""Class-wise optima: each class's best lambda, and what the shared lambda costs it.

For a per-class loss curve ``L_c(lambda)`` (out-of-fold, pooled over folds) the class's
optimum is ``lambda*_c = argmin L_c``, the global optimum ``lambda* = argmin sum_c L_c``,
and the regret ``G_c = L_c(lambda*) - L_c(lambda*_c) >= 0`` (REFERENCES.md §1).
``G = sum_c G_c`` bounds what picking one grid model per class could gain.

The plug-in ``G`` is biased upward: the minimum of a noisy curve sits below the curve.
Two corrections are reported beside it (REFERENCES.md §6):

* cross-fitting: choose ``lambda*_c`` and ``lambda*`` on one half of the folds, score on
  the other half, swap, and add;
* a noise-only null: class labels permuted among the held-out samples of each fold, so
  that every class has the same expected curve and any regret is selection noise.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import xarray as xr

from ..persist import read_groups, write_groups
from ..rtable import format_table
from ..sweep import CVGlmnet
from ..validation import check_choice

__all__ = ["Classwise", "classwise", "MEASURES"]

# measure -> True if larger is better
MEASURES = {"deviance": False, "ova_deviance": False, "recall": True, "precision": True,
            "ova_accuracy": True}


def _curves(res: xr.Dataset, measure: str, folds=None) -> tuple[np.ndarray, np.ndarray]:
    """Per-class curve (L, K) and the global criterion (L,) from the folds given."""
    r = res if folds is None else res.isel(fold=folds)
    if measure in ("deviance", "ova_deviance"):
        cur = r[measure].sum("fold").values
        glob = r["deviance"].sum("fold").values.sum(axis=1)
        return cur, glob
    C = r["confusion"].sum("fold").values.astype(float)  # (L, K, K)
    tp = np.diagonal(C, axis1=1, axis2=2)
    n_c = C.sum(axis=2)
    pred_c = C.sum(axis=1)
    N = C.sum(axis=(1, 2))[:, None]
    if measure == "recall":
        cur = tp / np.where(n_c > 0, n_c, np.nan)
        glob = tp.sum(axis=1) / N[:, 0]  # accuracy = sum_c pi_c recall_c
    elif measure == "precision":
        cur = np.where(pred_c > 0, tp / np.where(pred_c > 0, pred_c, 1), 1.0)
        glob = np.nanmean(cur, axis=1)
    else:
        cur = 1.0 - (n_c - tp + pred_c - tp) / N
        glob = cur.mean(axis=1)
    return cur, glob


def _argbest(curve: np.ndarray, lam: np.ndarray, larger: bool, axis: int = 0) -> np.ndarray:
    """Index of the best value; ties go to the largest lambda (R's lambda.min rule)."""
    c = -curve if larger else curve
    c = np.where(np.isnan(c), np.inf, c)
    best = c.min(axis=axis, keepdims=True)
    at = c == best
    # lambdas decrease along the grid, so the first index at the optimum is the largest lambda
    return np.argmax(at, axis=axis)


def _regret(cur, glob, lam, larger, cur_eval=None):
    """Regret per class when choosing on (cur, glob) and scoring on cur_eval."""
    cur_eval = cur if cur_eval is None else cur_eval
    j_glob = int(_argbest(glob, lam, larger))
    j_cls = _argbest(cur, lam, larger)
    K = cur.shape[1]
    at_g = cur_eval[j_glob]
    at_o = cur_eval[j_cls, np.arange(K)]
    reg = (at_o - at_g) if larger else (at_g - at_o)
    return reg, j_glob, j_cls


@dataclass(repr=False)
class Classwise:
    """Class-wise optima and regret: ``table`` over ``class``, ``curves`` over (lambda, class).

    ``cv`` is the :class:`~classdep.CVGlmnet` the result was computed from, kept (not
    written by :meth:`to_netcdf`) so that ``confint(cw)`` can bootstrap its per-sample
    losses; None for a result read from disk.
    Examples
    --------
    >>> import classdep as cd
    >>> cv = cd.cv_glmnet(cd.datasets.digits(), nfolds=3, nlambda=8, progress=False)
    >>> cw = cd.classwise(cv)
    >>> bool((cw.table["regret"] >= 0).all())
    True
    """

    table: xr.Dataset
    curves: xr.DataArray
    cv: Any = field(default=None, repr=False, compare=False)

    @property
    def lambda_opt(self) -> xr.DataArray:
        """Each class's optimal lambda, a DataArray over ``class``: pass it to ``glmnet(lambda_=...)``."""
        return self.table["lambda_opt"]

    @property
    def regret(self) -> xr.DataArray:
        return self.table["regret"]

    def to_netcdf(self, path) -> None:
        """Write the table and the curves to one netCDF file."""
        curves = xr.Dataset({"curve": self.curves}, attrs={"classdep_object": "Classwise"})
        write_groups(path, {"curves": curves, "table": self.table})

    @classmethod
    def from_netcdf(cls, path) -> Classwise:
        """Read a result written by :meth:`to_netcdf` (without the sweep: ``confint`` needs ``cv``)."""
        g = read_groups(path, ["curves", "table"], "Classwise")
        return cls(g["table"], g["curves"]["curve"].rename(g["table"].attrs["measure"]))

    def __repr__(self) -> str:
        t = self.table
        a = t.attrs
        order = np.argsort(-t["regret"].values)
        head = ("class", "lambda_opt", "at_opt", "at_global", "regret", "rel_regret")
        rows = [head]
        for k in order:
            rows.append((str(t["class"].values[k]), f"{t['lambda_opt'].values[k]:.3g}",
                         f"{t['at_opt'].values[k]:.4g}", f"{t['at_global'].values[k]:.4g}",
                         f"{t['regret'].values[k]:.4g}", f"{t['rel_regret'].values[k]:.3g}"))
        lines = [f"Class-wise optima (measure: {a['measure']}; {t.sizes['class']} classes, "
                 f"{a['nfolds']} folds)", ""]
        lines += format_table(rows)
        lines += ["", f"Global optimum: lambda = {a['lambda_global']:.4g}",
                  f"Total regret G: {a['total_regret']:.4g} (plug-in)"
                  + (f", {a['total_regret_crossfit']:.4g} (cross-fitted)"
                     if np.isfinite(a.get("total_regret_crossfit", np.nan)) else ""),
                  f"Prior-weighted regret: {a['prior_weighted_regret']:.4g};  worst-class gain: "
                  f"{a['worst_class_gain']:.4g}"]
        if np.isfinite(a.get("null_mean", np.nan)):
            lines.append(f"Noise-only null of G ({a['null_reps']} label permutations): mean "
                         f"{a['null_mean']:.4g}, 95% quantile {a['null_q95']:.4g}")
        return "\n".join(lines)


def classwise(cv: CVGlmnet, measure: str = "deviance", debias: str | None = "crossfit",
              null: int = 200, seed: int = 0) -> Classwise:
    """Each class's optimal lambda, its value at the global optimum, and the regret.

    Parameters
    ----------
    cv : CVGlmnet
        From :func:`classdep.cv_glmnet`.
    measure : {"deviance", "recall", "precision", "ova_accuracy", "ova_deviance"}
        The per-class curve: out-of-fold, pooled over folds.  The global optimum
        minimizes the total deviance (deviance measures) or maximizes accuracy (recall)
        or the class-mean (others).
    debias : {"crossfit", None}
        Also report the cross-fitted regret (folds split into halves).
    null : int
        Label permutations for the noise-only null of ``G`` (0 skips it; needs
        ``cv.oof``, and the deviance or recall measure).
    seed : int

    Returns
    -------
    Classwise
        ``table`` over ``class``: ``lambda_opt``, ``at_opt``, ``at_global``, ``regret``,
        ``rel_regret`` (and ``regret_crossfit``); totals and the null in ``attrs``.

    Examples
    --------
    >>> import classdep as cd
    >>> cv = cd.cv_glmnet(cd.datasets.digits(), nfolds=4, nlambda=10, progress=False)
    >>> cw = cd.classwise(cv, null=20)
    >>> cw.table["regret"].dims
    ('class',)
    """
    if not isinstance(cv, CVGlmnet):
        raise TypeError(f"classwise() needs the result of cv_glmnet(); got {type(cv).__name__}. "
                        "A glmnet() fit has no held-out scores: run cv_glmnet() on the same data.")
    check_choice(measure, tuple(MEASURES), "measure")
    if debias not in (None, "crossfit"):
        raise ValueError(f"debias={debias!r} is not one of None, 'crossfit'.")
    if int(null) != null or null < 0:
        raise ValueError(f"null={null!r} must be a non-negative integer (0 skips the null).")
    larger = MEASURES[measure]
    res = cv.results
    lam = res["lambda"].values
    cur, glob = _curves(res, measure)
    reg, j_glob, j_cls = _regret(cur, glob, lam, larger)
    K = cur.shape[1]
    at_o = cur[j_cls, np.arange(K)]
    at_g = cur[j_glob]
    # relative regret: 0 where there is no regret (a class with recall 0 everywhere has
    # at_opt = 0, and 0/0 would put an unflagged NaN in the table), inf where the optimum
    # is 0 but the shared lambda is worse
    with np.errstate(divide="ignore", invalid="ignore"):
        rel = np.where(reg == 0, 0.0, reg / np.abs(at_o))
    n_c = res["n"].sum("fold").values[0]
    prior = n_c / n_c.sum()
    table = xr.Dataset(
        {"lambda_opt": ("class", lam[j_cls]), "at_opt": ("class", at_o), "at_global": ("class", at_g),
         "regret": ("class", reg), "rel_regret": ("class", rel),
         "index_opt": ("class", j_cls), "n": ("class", n_c)},
        coords={"class": res["class"].values},
    )
    worst_g = np.nanmax(at_g) if not larger else np.nanmin(at_g)
    worst_o = np.nanmax(at_o) if not larger else np.nanmin(at_o)
    attrs = dict(measure=measure, nfolds=res.sizes["fold"], lambda_global=float(lam[j_glob]),
                 index_global=j_glob, total_regret=float(np.nansum(reg)),
                 prior_weighted_regret=float(np.nansum(prior * reg)),
                 worst_class_gain=float(abs(worst_o - worst_g)),
                 total_regret_crossfit=np.nan, null_mean=np.nan, null_q95=np.nan, null_reps=0)
    if debias == "crossfit":
        nf = res.sizes["fold"]
        if nf < 2:
            raise ValueError("cross-fitting needs at least two folds.")
        A = np.arange(0, nf, 2)
        B = np.arange(1, nf, 2)
        cA, gA = _curves(res, measure, A)
        cB, gB = _curves(res, measure, B)
        rAB, _, _ = _regret(cA, gA, lam, larger, cur_eval=cB)
        rBA, _, _ = _regret(cB, gB, lam, larger, cur_eval=cA)
        if measure in ("deviance", "ova_deviance"):
            cf = rAB + rBA  # each half scores half of the samples: add to compare with G
        else:
            cf = 0.5 * (rAB + rBA)
        table["regret_crossfit"] = ("class", cf)
        attrs["total_regret_crossfit"] = float(np.nansum(cf))
    if null and cv.oof is not None and measure in ("deviance", "recall"):
        attrs.update(_null(cv, measure, lam, larger, null, seed))
    table.attrs = attrs
    curves = xr.DataArray(cur, dims=("lambda", "class"),
                          coords={"lambda": lam, "class": res["class"].values}, name=measure)
    return Classwise(table, curves, cv)


def _null(cv: CVGlmnet, measure, lam, larger, reps, seed) -> dict:
    """Regret of curves whose classes differ only by selection noise."""
    oof = cv.oof
    y = oof["y"].values
    fold = oof["fold"].values
    w = oof["weight"].values
    if measure == "deviance":
        S = 2.0 * oof["loss"].values * w  # (L, n): each sample's deviance curve
    else:
        S = (oof["pred"].values == y[None, :]).astype(float) * w
    K = cv.results.sizes["class"]
    rng = np.random.default_rng(seed)
    out = np.empty(reps)
    for r in range(reps):
        yp = y.copy()
        for f in np.unique(fold):
            idx = np.nonzero(fold == f)[0]
            yp[idx] = rng.permutation(yp[idx])
        onehot = np.zeros((y.size, K))
        onehot[np.arange(y.size), yp] = 1.0
        cur = S @ onehot  # (L, K)
        if measure == "recall":
            cur = cur / (w @ onehot)[None, :]
            glob = (S.sum(axis=1)) / w.sum()
        else:
            glob = cur.sum(axis=1)
        reg, _, _ = _regret(cur, glob, lam, larger)
        out[r] = np.nansum(reg)
    return dict(null_mean=float(out.mean()), null_q95=float(np.quantile(out, 0.95)), null_reps=int(reps))
