"""Class-wise optima: each class's best lambda, and what the shared lambda costs it.

For a per-class loss curve ``L_c(lambda)`` (out-of-fold, pooled over folds) the class's
optimum is ``lambda*_c = argmin L_c``, the global optimum ``lambda* = argmin sum_c L_c``,
and the regret ``G_c = L_c(lambda*) - L_c(lambda*_c) >= 0``: the per-class curves of
Balestriero, Bottou & LeCun 2022, read at their own minima.
``G = sum_c G_c`` bounds what picking one grid model per class could gain.

The plug-in ``G`` is biased upward: the minimum of a noisy curve sits below the curve.
Two corrections are reported beside it:

* cross-fitting: choose ``lambda*_c`` and ``lambda*`` on one half of the folds, score on
  the other half, swap, and add;
* a noise-only null: class labels permuted among the held-out samples of each fold, so
  that every class has the same expected curve and any regret is selection noise.

A class whose optimum is an end of the grid is flagged (``at_edge``): its true optimum
may lie beyond the grid, so its ``lambda_opt`` is only a bound and its regret a lower
bound (the curve may fall further past the end).  Along lambda, ``"high"`` is the largest
lambda of the grid (the first on the path) and ``"low"`` the smallest; along a grid's
levels, ``"high"`` is the last level in the coordinate's order and ``"low"`` the first.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import xarray as xr

from ..result import Result, Table, fmt
from ..rtable import format_table
from ..sweep import CVGlmnet, CVGrid, Heldout
from ..validation import check_choice

__all__ = ["Classwise", "classwise", "edge_labels", "joint_lambda", "MEASURES"]

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


def edge_labels(index, values, levels: bool = False) -> np.ndarray:
    """Which end of the grid each optimum sits at: ``"high"``, ``"low"`` or ``""`` (inside).

    Parameters
    ----------
    index : int or array of int
        Optimum positions along the axis.
    values : array
        The axis' values: a lambda grid (``levels=False``: ``"high"`` is its largest
        value, ``"low"`` its smallest, whatever the order), or a grid's levels
        (``levels=True``: ``"high"`` is the last level in the coordinate's order, ``"low"``
        the first).  A grid of one value has no inside, and no edge either: ``""``.

    Examples
    --------
    >>> edge_labels([0, 1, 2], np.array([1.0, 0.1, 0.01])).tolist()
    ['high', '', 'low']
    >>> edge_labels(0, np.array([0.0, 0.2, 0.4]), levels=True).item()
    'low'
    """
    index = np.asarray(index)
    values = np.asarray(values)
    out = np.full(index.shape, "", dtype="<U4")
    n = values.size
    if n < 2:
        return out
    if levels:
        hi, lo = index == n - 1, index == 0
    else:
        v = values[index]
        hi, lo = v == values.max(), v == values.min()
    out[hi] = "high"
    out[lo] = "low"
    return out


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
class Classwise(Result):
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
        if "lambda_opt" not in self.table:
            raise AttributeError(f"these optima are over {self.table.attrs['over']!r}: see "
                                 f"table['{self.table.attrs['over']}_opt'].")
        return self.table["lambda_opt"]

    @property
    def regret(self) -> xr.DataArray:
        return self.table["regret"]

    _groups = ("curves", "table")
    _main = 1

    def _datasets(self) -> dict[str, xr.Dataset]:
        return {"curves": xr.Dataset({"curve": self.curves}), "table": self.table}

    @classmethod
    def _from_groups(cls, g) -> Classwise:
        # read back without the sweep: confint needs cv
        return cls(g["table"], g["curves"]["curve"].rename(g["table"].attrs["measure"]))

    def _table(self) -> Table:
        t = self.table
        a = t.attrs
        if "grid_dim" in a:
            return self._table_per_level()
        axis = a.get("over", "lambda")
        order = np.argsort(-t["regret"].values)
        edge = t["at_edge"].values if "at_edge" in t else np.full(t.sizes["class"], "")
        rows = [("class", f"{axis}_opt", "edge", "at_opt", "at_global", "regret", "rel_regret")]
        for k in order:
            rows.append((str(t["class"].values[k]), fmt(t[f"{axis}_opt"].values[k], 3), str(edge[k]),
                         f"{t['at_opt'].values[k]:.4g}", f"{t['at_global'].values[k]:.4g}",
                         f"{t['regret'].values[k]:.4g}", f"{t['rel_regret'].values[k]:.3g}"))
        at = f" at lambda = {a['lambda']:.4g}" if axis != "lambda" else ""
        where = f" over {axis}{at}" if axis != "lambda" else ""
        head = [f"Class-wise optima{where} (measure: {a['measure']}; {t.sizes['class']} classes, "
                + ("one held-out split)" if a.get("source") == "heldout" else f"{a['nfolds']} folds)"), ""]
        g_edge = a.get("global_at_edge", "")
        lines = [f"Global optimum: {axis} = {fmt(a[f'{axis}_global'])}"
                 + (f" (at the {g_edge} end of the grid)" if g_edge else ""),
                 f"Total regret G: {a['total_regret']:.4g} (plug-in)"
                 + (f", {a['total_regret_crossfit']:.4g} (cross-fitted)"
                    if np.isfinite(a.get("total_regret_crossfit", np.nan)) else ""),
                 f"Prior-weighted regret: {a['prior_weighted_regret']:.4g};  worst-class gain: "
                 f"{a['worst_class_gain']:.4g}"]
        if np.isfinite(a.get("null_mean", np.nan)):
            lines.append(f"Noise-only null of G ({a['null_reps']} label permutations): mean "
                         f"{a['null_mean']:.4g}, 95% quantile {a['null_q95']:.4g}")
        note = _edge_note(edge, axis)
        return Table(head, rows, ([note] if note else []) + [""] + lines)

    def _table_per_level(self) -> Table:
        t = self.table
        a = t.attrs
        dim = a["grid_dim"]
        levels = [fmt(v) for v in t[dim].values]
        head = [f"Class-wise optima per {dim} level (measure: {a['measure']}; {t.sizes['class']} classes, "
                f"{a['nfolds']} folds)", "", "lambda_opt:"]
        rows = [("class", *levels)]
        for k, c in enumerate(t["class"].values):
            rows.append((str(c), *(fmt(v, 3) for v in t["lambda_opt"].values[:, k])))
        per = [(dim, "lambda_global", "G", "G_crossfit", "null_q95", "at_edge")]
        edges = t["at_edge"].values if "at_edge" in t else np.full((len(levels), t.sizes["class"]), "")
        g_edges = t["global_at_edge"].values if "global_at_edge" in t else np.full(len(levels), "")
        for i, lev in enumerate(levels):
            per.append((lev, *(fmt(float(t[v].values[i])) for v in
                               ("lambda_global", "total_regret", "total_regret_crossfit", "null_q95")),
                        _edge_count(edges[i], g_edges[i])))
        foot = ["", "Per level:"] + format_table(per)
        if (edges != "").any():
            foot.append("at_edge: classes whose optimum is an end of the level's lambda grid (global: the "
                        "global optimum); their regret is a lower bound (the optimum lies beyond the grid)")
        return Table(head, rows, foot)


def _edge_count(edge: np.ndarray, g_edge: str = "") -> str:
    """``"2 low, 1 high"`` (and the global optimum's end): blank when every optimum is inside."""
    parts = [f"{int((edge == e).sum())} {e}" for e in ("low", "high") if (edge == e).any()]
    if g_edge:
        parts.append(f"global {g_edge}")
    return ", ".join(parts)


def _edge_note(edge: np.ndarray, axis: str) -> str:
    """The line under the table about classes at an edge of the grid ("" when none is)."""
    n = int((edge != "").sum())
    if n == 0:
        return ""
    what = "lambda grid" if axis == "lambda" else f"{axis} levels"
    return (f"{n} of {edge.size} classes at an edge of the {what} ({_edge_count(edge)}): their optimum may "
            "lie beyond the grid, and their regret is a lower bound.")


def classwise(cv: CVGlmnet | CVGrid | Heldout, measure: str = "deviance", debias: str | None = "crossfit",
              null: int = 200, seed: int = 0, over: str = "lambda", s: float | None = None) -> Classwise:
    """Each class's optimal lambda (or grid level), its value at the global optimum, and the regret.

    Parameters
    ----------
    cv : CVGlmnet, CVGrid or Heldout
        From :func:`classdep.cv_glmnet`: one cross-validated path, or a grid of them
        (augmentation strengths, feature sets, repeats); or from :func:`classdep.assess`:
        a path scored on held-out samples (one split; cross-fitting then uses two halves
        of the held-out samples, stratified by class, and the null permutes the labels
        among all held-out samples).
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
    over : str
        The hyperparameter axis along which the optima are sought.  ``"lambda"``: along
        the path; on a grid, for every level apart (the table gains the grid's dim).
        The grid's dim (``"augment"``): each class's best level at one lambda ``s``;
        ties go to the first level.
    s : float, optional
        The lambda at which levels are compared when ``over`` is the grid's dim (the
        nearest grid value); default: the lambda of the joint optimum of the global
        criterion over (level, lambda).

    Returns
    -------
    Classwise
        ``table`` over ``class``: ``lambda_opt`` (``<dim>_opt`` over a grid's dim),
        ``at_edge`` (``"high"`` or ``"low"`` when the optimum is an end of the grid, see
        :func:`edge_labels`; its regret is then a lower bound), ``at_opt``, ``at_global``,
        ``regret``, ``rel_regret`` (and ``regret_crossfit``); totals, the null and
        ``global_at_edge`` in ``attrs`` (per level, variables over the grid's dim).

    Examples
    --------
    >>> import classdep as cd
    >>> cv = cd.cv_glmnet(cd.datasets.digits(), nfolds=4, nlambda=10, progress=False)
    >>> cw = cd.classwise(cv, null=20)
    >>> cw.table["regret"].dims
    ('class',)
    """
    check_choice(measure, tuple(MEASURES), "measure")
    if debias not in (None, "crossfit"):
        raise ValueError(f"debias={debias!r} is not one of None, 'crossfit'.")
    if int(null) != null or null < 0:
        raise ValueError(f"null={null!r} must be a non-negative integer (0 skips the null).")
    opts = dict(measure=measure, debias=debias, null=null, seed=seed)
    if isinstance(cv, CVGrid):
        if over == "lambda":
            return _per_level(cv, opts)
        if over != cv.dim:
            raise ValueError(f"over={over!r}: this grid's axes are 'lambda' and {cv.dim!r}.")
        if cv.dim == "repeat":
            raise ValueError("over='repeat': repeats are other fold draws, not a hyperparameter; "
                             "use over='lambda' (per repeat).")
        return _over_levels(cv, s, opts)
    if isinstance(cv, Heldout):
        return _heldout(cv, over, opts)
    if not isinstance(cv, CVGlmnet):
        raise TypeError(f"classwise() needs the result of cv_glmnet(); got {type(cv).__name__}. "
                        "A glmnet() fit has no held-out scores: run cv_glmnet() on the same data.")
    if over != "lambda":
        raise ValueError(f"over={over!r}: a single path has one axis, 'lambda'.")
    out = _optima(cv.results, cv.oof, "lambda", opts)
    out.cv = cv
    return out


def _heldout(h: Heldout, over: str, opts: dict) -> Classwise:
    """Class-wise optima on one held-out split (``assess``).

    The plug-in optima, regret and null come from the split itself.  Cross-fitting needs
    two independent parts: it chooses on one of the two class-stratified halves of the
    held-out samples (``h.halves``, seeded, see :func:`classdep.sweep.heldout.halves_of`)
    and scores on the other, then swaps, as it does with the even and odd folds of a CV.
    """
    if over != "lambda":
        raise ValueError(f"over={over!r}: a single path has one axis, 'lambda'.")
    out = _optima(h.results, h.oof, "lambda", dict(opts, debias=None))
    if opts["debias"] == "crossfit" and h.halves is not None:
        cf = _optima(h.halves, None, "lambda", dict(opts, null=0))
        out.table["regret_crossfit"] = cf.table["regret_crossfit"]
    a = out.table.attrs  # after the assignment above, which gives the table a new attrs dict
    if opts["debias"] == "crossfit" and h.halves is not None:
        a["total_regret_crossfit"] = cf.table.attrs["total_regret_crossfit"]
        a["crossfit"] = (f"two class-stratified halves of the held-out samples "
                         f"(seed {h.results.attrs.get('halves_seed', 0)})")
    elif opts["debias"] == "crossfit":
        a["crossfit"] = "skipped: this held-out result carries no halves"
    a["source"] = "heldout"
    out.cv = h
    return out


def _optima(res: xr.Dataset, oof: xr.Dataset | None, axis: str, opts: dict) -> Classwise:
    """Class-wise optima along ``axis``, the first dim of ``res`` (and of ``oof``'s curves)."""
    measure = opts["measure"]
    larger = MEASURES[measure]
    grid = res[axis].values
    cur, glob = _curves(res, measure)
    reg, j_glob, j_cls = _regret(cur, glob, grid, larger)
    K = cur.shape[1]
    at_o = cur[j_cls, np.arange(K)]
    at_g = cur[j_glob]
    # relative regret: 0 where there is no regret (a class with recall 0 everywhere has
    # at_opt = 0, and 0/0 would put an unflagged NaN in the table), inf where the optimum
    # is 0 but the shared value is worse
    with np.errstate(divide="ignore", invalid="ignore"):
        rel = np.where(reg == 0, 0.0, reg / np.abs(at_o))
    n_c = res["n"].sum("fold").values[0]
    prior = n_c / n_c.sum()
    levels = axis != "lambda"  # a grid's levels: the last level is the high end
    table = xr.Dataset(
        {f"{axis}_opt": ("class", grid[j_cls]), "at_edge": ("class", edge_labels(j_cls, grid, levels)),
         "at_opt": ("class", at_o), "at_global": ("class", at_g),
         "regret": ("class", reg), "rel_regret": ("class", rel),
         "index_opt": ("class", j_cls), "n": ("class", n_c)},
        coords={"class": res["class"].values},
    )
    worst_g = np.nanmax(at_g) if not larger else np.nanmin(at_g)
    worst_o = np.nanmax(at_o) if not larger else np.nanmin(at_o)
    attrs = dict(measure=measure, nfolds=res.sizes["fold"], over=axis,
                 **{f"{axis}_global": _item(grid[j_glob])}, index_global=j_glob,
                 global_at_edge=str(edge_labels(j_glob, grid, levels)),
                 total_regret=float(np.nansum(reg)),
                 prior_weighted_regret=float(np.nansum(prior * reg)),
                 worst_class_gain=float(abs(worst_o - worst_g)),
                 total_regret_crossfit=np.nan, null_mean=np.nan, null_q95=np.nan, null_reps=0)
    if opts["debias"] == "crossfit":
        nf = res.sizes["fold"]
        if nf < 2:
            raise ValueError("cross-fitting needs at least two folds.")
        A = np.arange(0, nf, 2)
        B = np.arange(1, nf, 2)
        cA, gA = _curves(res, measure, A)
        cB, gB = _curves(res, measure, B)
        rAB, _, _ = _regret(cA, gA, grid, larger, cur_eval=cB)
        rBA, _, _ = _regret(cB, gB, grid, larger, cur_eval=cA)
        if measure in ("deviance", "ova_deviance"):
            cf = rAB + rBA  # each half scores half of the samples: add to compare with G
        else:
            cf = 0.5 * (rAB + rBA)
        table["regret_crossfit"] = ("class", cf)
        attrs["total_regret_crossfit"] = float(np.nansum(cf))
    if opts["null"] and oof is not None and measure in ("deviance", "recall"):
        attrs.update(_null(oof, K, measure, grid, larger, opts["null"], opts["seed"]))
    table.attrs = attrs
    curves = xr.DataArray(cur, dims=(axis, "class"),
                          coords={axis: grid, "class": res["class"].values}, name=measure)
    return Classwise(table, curves)


def _item(v):
    """A coordinate value as a plain Python scalar for attrs (netCDF keeps numbers and text)."""
    v = np.asarray(v).item()
    return v if isinstance(v, int | float) else str(v)


def _per_level(grid: CVGrid, opts: dict) -> Classwise:
    """``classwise`` of every level apart, stacked along the grid's dim."""
    dim = grid.dim
    parts = [classwise(grid[i], **opts) for i in range(len(grid))]
    coord = {dim: np.asarray(grid.augment)}
    # per-level totals live in attrs of each part: they become variables over the dim
    scalars = [k for k, v in parts[0].table.attrs.items()
               if (isinstance(v, int | float | np.integer | np.floating) and k not in ("nfolds",))
               or k == "global_at_edge"]
    tables = []
    for p in parts:
        t = p.table.copy()
        for k in scalars:
            t[k] = p.table.attrs[k]
        t.attrs = {}
        tables.append(t)
    table = xr.concat(tables, dim=dim, coords="minimal", compat="override").assign_coords(coord)
    table.attrs = dict(measure=opts["measure"], nfolds=parts[0].table.attrs["nfolds"], over="lambda",
                       grid_dim=dim)
    curves = xr.concat([p.curves for p in parts], dim=dim, coords="minimal",
                       compat="override").assign_coords(coord)
    return Classwise(table, curves, grid)


def _level_data(grid: CVGrid, j: int) -> tuple[xr.Dataset, xr.Dataset | None]:
    """The grid's results and out-of-fold data at lambda index ``j``, levels first."""
    dim = grid.dim
    coord = {dim: np.asarray(grid.augment)}
    res = xr.concat([_bare(grid[i].results.isel({"lambda": j})) for i in range(len(grid))], dim=dim,
                    coords="minimal", compat="override").assign_coords(coord)
    oofs = [grid[i].oof for i in range(len(grid))]
    if any(o is None for o in oofs):
        return res, None
    y0, f0 = oofs[0]["y"].values, oofs[0]["fold"].values
    if any(not (np.array_equal(o["y"].values, y0) and np.array_equal(o["fold"].values, f0)) for o in oofs):
        raise ValueError(f"the grid's levels hold other samples or folds, so classes cannot be compared "
                         f"across {dim!r} sample by sample; pass the same samples and foldid to every level.")
    oof = xr.concat([o[["loss", "pred"]].isel({"lambda": j}) for o in oofs], dim=dim,
                    coords="minimal", compat="override").assign_coords(coord)
    oof = oof.assign(y=oofs[0]["y"], fold=oofs[0]["fold"], weight=oofs[0]["weight"])
    return res, oof


def _bare(ds: xr.Dataset) -> xr.Dataset:
    """``ds`` without its attrs (each level's settings differ; the stack keeps none)."""
    ds = ds.copy(deep=False)
    ds.attrs = {}
    return ds


def joint_lambda(grid: CVGrid, measure: str = "deviance") -> float:
    """The lambda of the joint optimum of the global criterion over (level, lambda) of a grid.

    What :func:`classwise` and :func:`classdep.boot` compare a grid's levels at by default;
    ties go to the largest lambda, as R's ``lambda.min``.

    Examples
    --------
    >>> import numpy as np, classdep as cd
    >>> grid = cd.cv_glmnet(cd.datasets.digits(), nfolds=3, lambda_=np.geomspace(1, 1e-2, 3),
    ...                     nrepeats=2, progress=False)
    >>> joint_lambda(grid) in grid[0].lambda_
    True
    """
    glob = np.stack([_curves(grid[i].results, measure)[1] for i in range(len(grid))])  # (levels, L)
    c = -glob if MEASURES[measure] else glob
    c = np.where(np.isnan(c), np.inf, c)
    j = int(np.nonzero((c == c.min()).any(axis=0))[0][0])  # the first lambda on the path: the largest
    return float(grid[0].lambda_[j])


def _over_levels(grid: CVGrid, s: float | None, opts: dict) -> Classwise:
    """Each class's best level of the grid at one lambda."""
    measure = opts["measure"]
    lam = grid[0].lambda_
    if any(not np.array_equal(grid[i].lambda_, lam) for i in range(len(grid))):
        raise ValueError("the grid's levels have different lambda grids: pass one lambda_ to cv_glmnet.")
    if s is None:
        j = int(np.searchsorted(-lam, -joint_lambda(grid, measure)))
    else:
        j = int(np.argmin(np.abs(np.log(lam) - np.log(float(s)))))
    res, oof = _level_data(grid, j)
    out = _optima(res, oof, grid.dim, opts)
    out.table.attrs["lambda"] = float(lam[j])
    out.curves = out.curves.assign_coords({"lambda": float(lam[j])})
    out.cv = grid
    return out


def _null(oof: xr.Dataset, K: int, measure, grid, larger, reps, seed) -> dict:
    """Regret of curves whose classes differ only by selection noise."""
    y = oof["y"].values
    fold = oof["fold"].values
    w = oof["weight"].values
    if measure == "deviance":
        S = 2.0 * oof["loss"].values * w  # (L, n): each sample's deviance curve
    else:
        S = (oof["pred"].values == y[None, :]).astype(float) * w
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
        reg, _, _ = _regret(cur, glob, grid, larger)
        out[r] = np.nansum(reg)
    return dict(null_mean=float(out.mean()), null_q95=float(np.quantile(out, 0.95)), null_reps=int(reps))
