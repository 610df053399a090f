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

from ..metrics import default_k
from ..result import Result, Table, fmt
from ..rtable import format_table
from ..sweep import CVGlmnet, CVGrid, Heldout
from ..validation import check_choice
from .classwise_null import NULL_MEASURES, benjamini_hochberg, paired_se, permutation_null
from .criteria import CRITERIA, MEASURES, class_curves, global_curve
from .optimum import plateau, regret

__all__ = ["Classwise", "classwise", "edge_labels", "joint_lambda", "MEASURES"]

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
        has_q = "q_value" in t
        has_plateau = "plateau_low" in t
        rows = [("class", f"{axis}_opt", "edge") + (("plateau",) if has_plateau else ())
                + ("at_opt", "at_global", "regret", "rel_regret") + (("q",) if has_q else ())]
        for k in order:
            row = [str(t["class"].values[k]), fmt(t[f"{axis}_opt"].values[k], 3), str(edge[k])]
            if has_plateau:
                row.append(_plateau_text(t["plateau_low"].values[k], t["plateau_high"].values[k]))
            row += [f"{t['at_opt'].values[k]:.4g}", f"{t['at_global'].values[k]:.4g}",
                    f"{t['regret'].values[k]:.4g}", f"{t['rel_regret'].values[k]:.3g}"]
            if has_q:
                row.append(fmt(t["q_value"].values[k], 2))
            rows.append(tuple(row))
        at = f" at lambda = {a['lambda']:.4g}" if axis != "lambda" else ""
        where = f" over {axis}{at}" if axis != "lambda" else ""
        crit = a.get("criterion", "overall")
        if crit != "overall":
            crit = f"; shared optimum: {crit}" + (f", k = {a['k']}" if "k" in a else "")
        else:
            crit = ""
        head = [f"Class-wise optima{where} (measure: {a['measure']}{crit}; {t.sizes['class']} classes, "
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
        if has_q:
            lines.append(f"Classes whose optimum differs beyond selection noise at FDR {a['fdr']:.0%}: "
                         f"{a['n_differ']} of {t.sizes['class']} (Benjamini-Hochberg over the per-class "
                         "permutation p-values; q in the table)")
        if has_plateau:
            lines.append("plateau: the grid points within one paired standard error of the class's optimum")
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


def _plateau_text(lo, hi) -> str:
    """``"0.01-0.1"``, or the one value where the plateau is a single grid point."""
    return fmt(lo, 3) if lo == hi else f"{fmt(lo, 3)}-{fmt(hi, 3)}"


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
              null: int = 200, seed: int = 0, over: str = "lambda", s: float | None = None,
              criterion: str = "overall", k: int | None = None, fdr: float = 0.1) -> Classwise:
    """Each class's optimal lambda (or grid level), its value at the global optimum, and the regret.

    Parameters
    ----------
    cv : CVGlmnet, CVGrid or Heldout
        From :func:`classdep.cv_glmnet`: one cross-validated path, or a grid of them
        (augmentation strengths, feature sets, repeats); or from :func:`classdep.assess`:
        a path scored on held-out samples (one split; cross-fitting then uses two halves
        of the held-out samples, stratified by class, and the null permutes the labels
        among all held-out samples).
    measure : {"deviance", "ova_deviance", "ova_accuracy", "recall", "precision"}
        The per-class curve: out-of-fold (or held-out), pooled over folds.  One-vs-all
        accuracy ``1 - (FN_c + FP_c) / N`` is the per-class accuracy of Balestriero,
        Bottou & LeCun (2022); one-vs-all measures of a multinomial fit use its own
        probabilities, not renormalized.
    debias : {"crossfit", None}
        Also report the cross-fitted regret (folds split into halves).
    null : int
        Label permutations for the noise-only null of ``G`` and the per-class p-values
        (0 skips them; needs ``cv.oof``, and a measure other than ``ova_deviance``, whose
        null would need every sample's probability of every class).
    seed : int
    over : str
        The hyperparameter axis along which the optima are sought.  ``"lambda"``: along
        the path; on a grid, for every level apart (the table gains the grid's dim).
        The grid's dim (``"augment"``): each class's best level at one lambda ``s``.
    s : float, optional
        The lambda at which levels are compared when ``over`` is the grid's dim (the
        nearest grid value); default: the lambda of the joint optimum of the global
        criterion over (level, lambda).
    criterion : {"overall", "worst_class", "worst_k"}
        What the shared lambda optimizes: the measure's total (total deviance,
        accuracy, class mean), the worst class's value, or the mean of the ``k`` worst
        classes (Bitterwolf et al. 2022); see :mod:`classdep.analysis.criteria`.
    k : int, optional
        Classes pooled by ``criterion="worst_k"``; default ``ceil(K / 10)``, the worst 10 %.
    fdr : float
        False-discovery rate at which classes are declared to want a different penalty
        (Benjamini–Hochberg over the classes' permutation p-values).

    Notes
    -----
    Optima and ties: the best grid point, and among exact ties (flat accuracy curves)
    the middle one, never an end of the grid when a tied point lies inside
    (:func:`classdep.analysis.optimum.best_index`).  The plateau ``plateau_low`` ..
    ``plateau_high`` is the run of grid points whose value is within one paired
    standard error of the optimum (:func:`classdep.analysis.optimum.plateau`): where a
    curve is flat within its noise the optimum is that interval, and ``lambda_opt`` a
    point inside it.

    Returns
    -------
    Classwise
        ``table`` over ``class``: ``lambda_opt`` (``<dim>_opt`` over a grid's dim),
        ``at_edge`` (``"high"`` or ``"low"`` when the optimum is an end of the grid, see
        :func:`edge_labels`; its regret is then a lower bound), ``at_opt``, ``at_global``,
        ``regret``, ``rel_regret`` (and ``regret_crossfit``), ``plateau_low``,
        ``plateau_high`` and, with the null, ``p_value`` and ``q_value`` (BH);
        totals, the null, ``n_differ`` (classes with ``q_value <= fdr``) and
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
    check_choice(criterion, CRITERIA, "criterion")
    if not 0 < fdr < 1:
        raise ValueError(f"fdr={fdr!r} must lie strictly between 0 and 1 (e.g. 0.1).")
    if k is not None and (int(k) != k or k < 1):
        raise ValueError(f"k={k!r} must be a positive integer (the number of worst classes).")
    opts = dict(measure=measure, debias=debias, null=null, seed=seed, criterion=criterion, k=k, fdr=fdr)
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
    measure, criterion, k = opts["measure"], opts["criterion"], opts["k"]
    larger = MEASURES[measure]
    grid = res[axis].values
    cur, n_c = class_curves(res, measure)
    glob = global_curve(cur, n_c, measure, criterion, k)
    reg, j_glob, j_cls = regret(cur, glob, larger)
    K = cur.shape[1]
    at_o = cur[j_cls, np.arange(K)]
    at_g = cur[j_glob]
    # relative regret: 0 where there is no regret (a class with recall 0 everywhere has
    # at_opt = 0, and 0/0 would put an unflagged NaN in the table), inf where the optimum
    # is 0 but the shared value is worse
    with np.errstate(divide="ignore", invalid="ignore"):
        rel = np.where(reg == 0, 0.0, reg / np.abs(at_o))
    prior = n_c / n_c.sum()
    levels = axis != "lambda"  # a grid's levels: the last level is the high end
    se = paired_se(oof, measure, K, j_cls) if oof is not None else np.full(cur.shape, np.nan)
    first, last = plateau(cur, j_cls, se)
    # along lambda the grid decreases, so the plateau's first point is its largest lambda
    p_hi, p_lo = (grid[last], grid[first]) if levels else (grid[first], grid[last])
    table = xr.Dataset(
        {f"{axis}_opt": ("class", grid[j_cls]), "at_edge": ("class", edge_labels(j_cls, grid, levels)),
         "at_opt": ("class", at_o), "at_global": ("class", at_g),
         "regret": ("class", reg), "rel_regret": ("class", rel),
         "plateau_low": ("class", p_lo), "plateau_high": ("class", p_hi),
         "index_opt": ("class", j_cls), "n": ("class", n_c)},
        coords={"class": res["class"].values},
    )
    worst_g = np.nanmax(at_g) if not larger else np.nanmin(at_g)
    worst_o = np.nanmax(at_o) if not larger else np.nanmin(at_o)
    attrs = dict(measure=measure, criterion=criterion, nfolds=res.sizes["fold"], over=axis,
                 **{f"{axis}_global": _item(grid[j_glob])}, index_global=j_glob,
                 global_at_edge=str(edge_labels(j_glob, grid, levels)),
                 total_regret=float(np.nansum(reg)),
                 prior_weighted_regret=float(np.nansum(prior * reg)),
                 worst_class_gain=float(abs(worst_o - worst_g)),
                 total_regret_crossfit=np.nan, null_mean=np.nan, null_q95=np.nan, null_reps=0,
                 fdr=float(opts["fdr"]))
    if criterion == "worst_k":
        attrs["k"] = int(k) if k is not None else default_k(int(np.count_nonzero(n_c > 0)))
    if opts["debias"] == "crossfit":
        nf = res.sizes["fold"]
        if nf < 2:
            raise ValueError("cross-fitting needs at least two folds.")
        A = np.arange(0, nf, 2)
        B = np.arange(1, nf, 2)
        cA, nA = class_curves(res, measure, A)
        cB, nB = class_curves(res, measure, B)
        rAB, _, _ = regret(cA, global_curve(cA, nA, measure, criterion, k), larger, cur_eval=cB)
        rBA, _, _ = regret(cB, global_curve(cB, nB, measure, criterion, k), larger, cur_eval=cA)
        if measure in ("deviance", "ova_deviance"):
            cf = rAB + rBA  # each half scores half of the samples: add to compare with G
        else:
            cf = 0.5 * (rAB + rBA)
        table["regret_crossfit"] = ("class", cf)
        attrs["total_regret_crossfit"] = float(np.nansum(cf))
    if opts["null"] and oof is not None and measure in NULL_MEASURES:
        out = permutation_null(oof, K, measure, reg, opts["null"], opts["seed"], criterion, k)
        p = out.pop("p_value")
        q, rej = benjamini_hochberg(p, opts["fdr"])
        table["p_value"] = ("class", p)
        table["q_value"] = ("class", q)
        attrs.update(out, n_differ=int(rej.sum()))
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


def joint_lambda(grid: CVGrid, measure: str = "deviance", criterion: str = "overall",
                 k: int | None = None) -> float:
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
    glob = np.stack([global_curve(*class_curves(grid[i].results, measure), measure, criterion, k)
                     for i in range(len(grid))])  # (levels, L)
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
        j = int(np.searchsorted(-lam, -joint_lambda(grid, measure, opts["criterion"], opts["k"])))
    else:
        j = int(np.argmin(np.abs(np.log(lam) - np.log(float(s)))))
    res, oof = _level_data(grid, j)
    # held-out levels have one split: they cross-fit on the two halves of its samples
    held = all(isinstance(grid[i], Heldout) for i in range(len(grid)))
    out = _optima(res, oof, grid.dim, dict(opts, debias=None) if held else opts)
    if held and opts["debias"] == "crossfit":
        if all(grid[i].halves is not None for i in range(len(grid))):
            coord = {grid.dim: np.asarray(grid.augment)}
            hv = xr.concat([_bare(grid[i].halves.isel({"lambda": j})) for i in range(len(grid))],
                           dim=grid.dim, coords="minimal", compat="override").assign_coords(coord)
            cf = _optima(hv, None, grid.dim, dict(opts, null=0))
            out.table["regret_crossfit"] = cf.table["regret_crossfit"]
            out.table.attrs["total_regret_crossfit"] = cf.table.attrs["total_regret_crossfit"]
            out.table.attrs["crossfit"] = "two class-stratified halves of the held-out samples"
        else:
            out.table.attrs["crossfit"] = "skipped: these held-out results carry no halves"
    out.table.attrs["lambda"] = float(lam[j])
    out.curves = out.curves.assign_coords({"lambda": float(lam[j])})
    out.cv = grid
    return out
