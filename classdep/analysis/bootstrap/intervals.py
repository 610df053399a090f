"""Bootstrap confidence intervals: :class:`BootCI` and ``boot_ci`` (R's ``boot.ci``), BCa via scipy."""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass
from types import SimpleNamespace
from typing import ClassVar

import numpy as np
import xarray as xr
from scipy.special import ndtri

from ...result import Result, Table, fmt
from ...validation import check_choice
from .estimators import statistic_values
from .replicates import Boot, BootWarning
from .resampling import BLOCK

__all__ = ["ATOM_SHARE", "TYPES", "BootCI", "boot_ci"]

TYPES = {"norm": "Normal", "basic": "Basic", "perc": "Percentile", "bca": "BCa"}
ATOM_SHARE = 0.05  # share of replicates equal to the original value above which boot_ci warns


@dataclass(repr=False)
class BootCI(Result):
    """Bootstrap confidence intervals, R's ``bootci`` object.

    Attributes
    ----------
    ci : xr.DataArray
        Dims (``class``, ``bound``), ``bound`` = lower, upper; in the statistic's units
        (lambda for ``lambda_opt``).  Settings in ``ci.attrs``.  Per level of a grid the
        grid's dim comes first (``ci.attrs["grid_dim"]``).
    t0 : xr.DataArray
        The statistic on the original data (``class``).
    ci_global : xr.DataArray or None
        Interval (``bound``) of the global optimum (``lambda_opt``) or of the total regret
        ``G`` (``regret``).
    t0_global : xr.DataArray or None

    For an optimum, ``ci`` carries the coordinate ``at_edge`` (``class``; ``ci_global``
    the scalar ``global_at_edge``): ``"high"`` or ``"low"`` for a one-sided interval,
    whose bound beyond the grid is infinite (see :func:`boot_ci`).

    Examples
    --------
    >>> import classdep as cd
    >>> cv = cd.cv_glmnet(cd.datasets.digits(), nfolds=3, nlambda=8, progress=False)
    >>> ci = cd.boot_ci(cd.boot(cv, R=50, estimator="smooth", seed=0), conf=0.9, type="perc")
    >>> bool((ci.ci.sel(bound="lower") <= ci.ci.sel(bound="upper")).all())
    True
    """

    ci: xr.DataArray
    t0: xr.DataArray
    ci_global: xr.DataArray | None = None
    t0_global: xr.DataArray | None = None

    _groups: ClassVar[tuple[str | None, ...]] = (None,)

    def _datasets(self) -> dict[str | None, xr.Dataset]:
        ds = xr.Dataset({"ci": self.ci, "t0": self.t0}, attrs=dict(self.ci.attrs))
        if self.ci_global is not None:
            ds["ci_global"], ds["t0_global"] = self.ci_global, self.t0_global
        return {None: ds}

    @classmethod
    def _from_groups(cls, groups) -> BootCI:
        ds = groups[None]
        attrs = {k: v for k, v in ds.attrs.items() if k != "classdep_object"}
        name, gname = attrs["statistic"], f"{attrs['statistic']}_{attrs['global_name']}"
        # the global edge is a file coordinate that reaches every variable: it belongs to the globals
        ci = ds["ci"].drop_vars("global_at_edge", errors="ignore").rename(name).assign_attrs(attrs)
        cig = ds["ci_global"].rename(gname).assign_attrs(attrs) if "ci_global" in ds else None
        g0 = ds["t0_global"].rename(gname) if "t0_global" in ds else None
        return cls(ci, ds["t0"].drop_vars("global_at_edge", errors="ignore").rename(name), cig, g0)

    def _table(self) -> Table:
        a = self.ci.attrs
        name = TYPES[a["type"]]
        level = f"{100 * a['conf']:g}%"
        head = ["BOOTSTRAP CONFIDENCE INTERVAL CALCULATIONS",
                f"Based on {a['R']} bootstrap replicates", "", "CALL : ", a["call"], "", "Intervals : ",
                f"Statistic: {a['statistic']} of {a.get('measure', 'deviance')} "
                f"(estimator '{a['estimator']}')"]
        if a.get("over", "lambda") != "lambda":
            head.append(f"(each class's best {a['over']} level at lambda = {a['s']:.4g})")
        dim = a.get("grid_dim")
        rows = [("Level", *((dim,) if dim else ()), "class", "original", name)]

        def num(v):
            # R prints infinite bounds as Inf
            return f"{'-Inf' if v < 0 else 'Inf':>10}" if np.isinf(v) else f"{v:10.4g}"

        def pair(lo, hi):
            return f"({num(lo)}, {num(hi)} )"

        levels = self.ci[dim].values if dim else [None]
        for i, lev in enumerate(levels):
            at = {dim: i} if dim else {}
            col = (fmt(lev),) if dim else ()
            ci, t0 = self.ci.isel(at).values, self.t0.isel(at).values
            for k, c in enumerate(self.ci["class"].values):
                rows.append((level, *col, str(c), f"{t0[k]:.4g}", pair(*ci[k])))
            if self.ci_global is not None:
                rows.append((level, *col, a["global_name"], f"{float(self.t0_global.isel(at)):.4g}",
                             pair(*self.ci_global.isel(at).values)))
        foot = ["Calculations on Transformed Scale;  Intervals on Original Scale" if a["log"]
                else "Calculations and Intervals on Original Scale"]
        edge = self.ci["at_edge"].values if "at_edge" in self.ci.coords else np.array([], dtype=str)
        g_edge = (self.ci_global["global_at_edge"].values if self.ci_global is not None
                  and "global_at_edge" in self.ci_global.coords else np.array([], dtype=str))
        n = int((edge != "").sum()) + int((g_edge != "").sum())
        if n:
            beyond = "0" if a["log"] else "-Inf"
            foot.append(f"{n} one-sided interval{'s' if n > 1 else ''}: the optimum on the original data is "
                        f"an end of the grid, so the bound beyond it is {beyond} (low end) or Inf (high end)")
        return Table(head, rows, foot)


def _check_bca(b: Boot) -> None:
    """BCa needs the data the replicates were drawn from (for its jackknife) and plain replicates."""
    if b._source is None:
        raise ValueError("type='bca' needs the per-sample losses the replicates were drawn from: it is "
                         "not available for method='refit' or for a Boot read from disk; use 'perc'.")
    if b._source.estimator == "moon":
        raise ValueError("type='bca' does not apply to rescaled m-out-of-n replicates; use type='perc'.")


def _bca_scipy(b: Boot, h: Callable, conf: float, ht: np.ndarray, htg: np.ndarray | None):
    """BCa limits on the transformed scale from scipy.stats.bootstrap, with b's replicates.

    scipy computes z0 from the bootstrap distribution it is given (``bootstrap_result``,
    ``n_resamples=0``: our paired, stratified replicates, not new ones) and the
    acceleration from its jackknife over the data, one sample per stratum (the stratified
    jackknife).  The data are the sample indices of each stratum; the statistic turns
    index arrays into resampling counts and counts into curves, as boot() does.
    """
    from scipy import stats

    src = b._source
    los = src.losses
    bounds, starts, D = los.bounds, los.starts, los.D
    nb = bounds.size - 1

    def counts_of(a: np.ndarray, ns: int) -> np.ndarray:
        """Counts (..., ns) of index arrays (..., m); rows broadcast by scipy are counted once."""
        if a.ndim > 1 and all(s == 0 for s in a.strides[:-1]):
            row = np.bincount(a[(0,) * (a.ndim - 1)], minlength=ns).astype(np.float64)
            return row.reshape((1,) * (a.ndim - 1) + (ns,))
        lead = a.shape[:-1]
        flat = a.reshape(-1, a.shape[-1])
        r = flat.shape[0]
        c = np.bincount((flat + (np.arange(r) * ns)[:, None]).ravel(), minlength=r * ns)
        return c.reshape(lead + (ns,)).astype(np.float64)

    def stat(*idx: np.ndarray, axis: int = -1) -> np.ndarray:
        if los.measure == "deviance" and nb == starts.size - 1:
            # strata are the classes: each class's curve from its own sample alone
            per = [counts_of(a, int(starts[k + 1] - starts[k])) @ D[starts[k]:starts[k + 1]]
                   for k, a in enumerate(idx)]
            curves = np.stack(np.broadcast_arrays(*per), axis=-2)
            total = curves.sum(axis=-2)
        else:
            # an accuracy measure's class curve depends on other classes' samples (false
            # positives) and is normalized: the counts of every stratum side by side
            per = [counts_of(a, int(bounds[s + 1] - bounds[s])) for s, a in enumerate(idx)]
            lead = np.broadcast_shapes(*(c.shape[:-1] for c in per))
            counts = np.concatenate([np.broadcast_to(c, lead + c.shape[-1:]) for c in per], axis=-1)
            curves, total = los.curves(counts)
        v, g = statistic_values(curves, los.axis, src.statistic, src.estimator, getattr(src, "window", None),
                                total)
        out = h(v) if g is None else np.concatenate([h(v), h(g)[..., None]], axis=-1)
        return np.moveaxis(out, -1, 0)

    dist = ht.T if htg is None else np.concatenate([ht, htg[:, None]], axis=1).T
    data = tuple(np.arange(bounds[s + 1] - bounds[s]) for s in range(nb))
    batch = max(1, BLOCK // max(int(np.diff(bounds).max() if los.measure == "deviance" else bounds[-1]), 1))
    given = SimpleNamespace(bootstrap_distribution=dist)
    res = stats.bootstrap(data, stat, n_resamples=0, bootstrap_result=given, method="BCa",
                          confidence_level=conf, vectorized=True, batch=batch)
    lo, hi = np.asarray(res.confidence_interval.low), np.asarray(res.confidence_interval.high)
    return np.stack([lo, hi], axis=-1)  # (K [+1], 2)


def _atom_share(x: np.ndarray) -> np.ndarray:
    """Share of the replicates (rows) taken by each column's most frequent value."""
    xs = np.sort(x, axis=0)
    R = xs.shape[0]
    out = np.empty(xs.shape[1])
    for k in range(xs.shape[1]):
        starts = np.flatnonzero(np.r_[True, xs[1:, k] != xs[:-1, k], True])
        out[k] = np.diff(starts).max() / R
    return out


def _without_edge_atoms(x: np.ndarray, edge: np.ndarray) -> np.ndarray:
    """Replicates (R, k) with each one-sided column's grid-end value made unique (NaN).

    A class whose optimum is at an end of the grid piles its replicates up there: that atom
    is expected (the interval is one-sided) and must not trigger the warning.  Replicates
    cannot pass the grid's end, so the atom is the column's largest value (high end) or its
    smallest (low end); NaN never equals itself, so it counts as no atom.
    """
    x = np.array(x, dtype=np.float64)
    for k, e in enumerate(edge):
        if e:
            end = np.nanmax(x[:, k]) if e == "high" else np.nanmin(x[:, k])
            x[x[:, k] == end, k] = np.nan
    return x


def _warn_atoms(x: np.ndarray, names: list[str], type_: str, statistic: str, estimator: str) -> None:
    share = _atom_share(x)
    bad = share > ATOM_SHARE
    if not bad.any():
        return
    which = ", ".join(f"{n} ({100 * s:.0f}%)"
                      for n, s in zip(np.asarray(names)[bad], share[bad], strict=True))
    why = {"grid": "a grid argmin is discrete",
           "smooth": "a smoothed optimum clamped to the end of the grid piles up there (extend the grid)"}
    cause = why.get(estimator, "") if statistic.endswith("_opt") else (
        "a regret is exactly zero whenever the class's optimum is the global one" if statistic == "regret"
        else "the statistic is discrete")
    if estimator == "smooth":
        # already the recommended estimator: the remedy is the grid, or the set of lambdas
        fix = ("extend the grid past that end (cv_glmnet(extend=True)), or use confset() for the set of "
               "grid lambdas not rejected as the optimum")
    else:
        fix = ("for an optimum, use boot(..., estimator='smooth') or 'moon' for intervals, or confset() for "
               "the set of grid lambdas not rejected as the optimum")
    warnings.warn(
        f"the bootstrap distribution has atoms: one value takes more than {100 * ATOM_SHARE:g}% of the "
        f"replicates for {which} ({cause}). {TYPES[type_]} intervals are unreliable on such a distribution "
        f"(Hall & Miller 2009); {fix}.", BootWarning, stacklevel=4)


def boot_ci(b: Boot, conf: float = 0.95, type: str = "perc", log: bool | None = None) -> BootCI:  # noqa: A002
    """Bootstrap confidence intervals for every class: R's ``boot.ci``.

    Parameters
    ----------
    b : Boot
        From :func:`boot`.
    conf : float
        Confidence level, in (0, 1).
    type : {"perc", "basic", "norm", "bca"}
        Percentile ``(q_a, q_b)``; basic ``(2 t0 - q_b, 2 t0 - q_a)``; normal
        ``t0 - bias -+ z sd`` (R's norm.ci, bias = mean(t) - t0); BCa from
        :func:`scipy.stats.bootstrap` with these replicates (z0) and its stratified
        jackknife (acceleration; ``method="oof"`` only).  ``q`` are ``np.quantile``'s
        linear-interpolation quantiles at ``a = (1 - conf)/2`` and ``b = 1 - a``, as scipy
        computes them (R interpolates order statistics on the normal scale instead).
    log : bool, optional
        Compute on log scale and exponentiate (default: True for ``lambda_opt``, where
        intervals are in lambda units, False otherwise).

    Returns
    -------
    BootCI
        ``ci`` over (``class``, ``bound``) and, when the statistic has one, the interval of
        the global optimum or total regret (``ci_global``); ``print(ci)`` is R's print.bootci.

    Notes
    -----
    One-sided intervals at the grid's edges.  For an optimum (``lambda_opt``,
    ``<dim>_opt``), a class whose grid argmin on the original data is an end of the grid
    (``b.t0["at_edge"]``, the rule of :func:`classdep.classwise`, whatever the estimator:
    the smoothed minimizer is clamped to the grid and the m-out-of-n replicates are too)
    has a true optimum that may lie beyond it, where no replicate can go: its bootstrap
    distribution is truncated by the grid.  Its interval is one-sided: the bound beyond
    the grid is 0 (low end of a lambda grid; -Inf on a grid's levels, which are not on a
    log scale) or Inf (high end), and the inner bound is the one ``type`` computes (at the
    two-sided level, hence conservative).  The coordinate ``at_edge`` of ``ci`` records
    which classes are one-sided (``global_at_edge`` of ``ci_global``); the atom of such a
    class at the grid's end does not trigger the warning below.

    Warns
    -----
    BootWarning
        When more than 5% of a class's replicates equal its original value (a grid argmin
        is discrete): percentile, basic and BCa intervals are then unreliable; and, like
        R, when extreme order statistics are used as endpoints.

    Examples
    --------
    >>> import numpy as np, classdep as cd
    >>> ds = cd.datasets.make_mixture(n_classes=3, n_samples=300, seed=0)
    >>> cv = cd.cv_glmnet(ds, nfolds=3, lambda_=np.geomspace(3, 1e-3, 12), progress=False)
    >>> ci = cd.boot_ci(cd.boot(cv, R=200, estimator="smooth", seed=1), conf=0.9)
    >>> ci.ci.dims
    ('class', 'bound')
    """
    if not isinstance(b, Boot):
        raise TypeError(f"boot_ci() needs a Boot from boot(); got {b.__class__.__name__}.")
    try:
        conf = float(conf)
    except (TypeError, ValueError):
        raise ValueError(f"conf={conf!r} must be a number in (0, 1).") from None
    if not 0.0 < conf < 1.0:
        raise ValueError(f"conf={conf!r} must lie strictly between 0 and 1 (e.g. 0.95).")
    check_choice(type, tuple(TYPES), "type")
    dim = b.t.attrs.get("grid_dim")
    if dim is not None:
        parts = []
        for level in b.per_level():  # a loop, not a comprehension: warnings point at the caller
            parts.append(_interval(level, conf, type, log))
        return _stack(parts, dim, b.t0[dim].values)
    return _interval(b, conf, type, log)


def _interval(b: Boot, conf: float, type: str, log: bool | None) -> BootCI:  # noqa: A002
    """The intervals of one Boot (no grid dim), from checked arguments."""
    a = b.t.attrs
    if type == "bca":
        _check_bca(b)
    floor = 0.0 if a.get("log", 0) else -np.inf  # below a lambda grid: any smaller positive lambda
    log = bool(a.get("log", 0)) if log is None else bool(log)
    t = b.t.values
    t0 = b.t0.values
    if log and (np.any(t <= 0) or np.any(t0 <= 0)):
        raise ValueError("log=True needs a positive statistic.")
    h, hinv = (np.log, np.exp) if log else ((lambda v: v), (lambda v: v))
    ht, h0 = h(t), h(t0)
    htg = h0g = None
    if b.t0_global is not None:
        htg, h0g = h(b.t_global.values), h(float(b.t0_global))
    R = t.shape[0]
    # m-out-of-n replicates keep the argmin's atoms, but its rescaled percentiles are consistent
    # where the n-out-of-n ones are not: no warning there
    edge = b.t0["at_edge"].values if "at_edge" in b.t0.coords else np.full(t0.shape, "")
    g_edge = (str(b.t0_global["global_at_edge"].values) if b.t0_global is not None
              and "global_at_edge" in b.t0_global.coords else "")
    if type in ("perc", "basic", "bca") and R > 1 and a["estimator"] != "moon":
        names = [str(c) for c in b.t0["class"].values]
        allt = _without_edge_atoms(ht if htg is None else np.column_stack([ht, htg]),
                                   np.append(edge, g_edge) if htg is not None else edge)
        _warn_atoms(allt, names + ([a["global_name"]] if htg is not None else []), type, a["statistic"],
                    a["estimator"])
    alpha = (1.0 - conf) / 2.0
    if type != "norm" and (R + 1) * alpha < 1.0:
        warnings.warn("extreme order statistics used as endpoints", BootWarning, stacklevel=3)

    def interval(x: np.ndarray, x0) -> np.ndarray:
        """(…, 2) limits on the transformed scale from replicates x (R, …)."""
        if type == "norm":
            sd = np.std(x, axis=0, ddof=1) if R > 1 else np.full(np.shape(x0), np.nan)
            z = ndtri(1.0 - alpha)
            centre = x0 - (x.mean(axis=0) - x0)  # R's norm.ci: bias-corrected centre
            return np.stack([centre - z * sd, centre + z * sd], axis=-1)
        q = np.quantile(x, [alpha, 1.0 - alpha], axis=0)
        if type == "basic":
            return np.stack([2 * x0 - q[1], 2 * x0 - q[0]], axis=-1)
        return np.stack([q[0], q[1]], axis=-1)

    if type == "bca":
        lim = _bca_scipy(b, h, conf, ht, htg)
        lim_k, lim_g = lim[: t0.size], (lim[t0.size] if htg is not None else None)
    else:
        lim_k = interval(ht, h0)
        lim_g = interval(htg, h0g) if htg is not None else None
    attrs = dict(conf=conf, type=type, R=R, statistic=a["statistic"], estimator=a["estimator"],
                 measure=a.get("measure", "deviance"), **{k: a[k] for k in ("window",) if k in a},
                 method=a["method"], log=int(log), global_name=a.get("global_name", "global"),
                 call=f"boot_ci(b, conf = {conf:g}, type = {type!r})",
                 **{k: a[k] for k in ("over", "s") if k in a})
    bound = ["lower", "upper"]
    ci = xr.DataArray(_one_sided(hinv(lim_k), edge, floor), dims=("class", "bound"),
                      coords={"class": b.t0["class"].values, "bound": bound}, name=a["statistic"],
                      attrs=attrs)
    if "at_edge" in b.t0.coords:
        ci = ci.assign_coords(at_edge=("class", edge))
    cig = None
    if lim_g is not None:
        cig = xr.DataArray(_one_sided(hinv(lim_g), np.array(g_edge), floor), dims=("bound",),
                           coords={"bound": bound}, name=b.t0_global.name, attrs=attrs)
        if "global_at_edge" in b.t0_global.coords:
            cig = cig.assign_coords(global_at_edge=g_edge)
    return BootCI(ci, b.t0, cig, b.t0_global)


def _one_sided(lim: np.ndarray, edge: np.ndarray, floor: float) -> np.ndarray:
    """Limits (..., 2) on the original scale whose bound beyond the grid is unbounded where
    ``edge`` names the grid's end: ``floor`` (0 for lambda, -inf for a grid's levels) at the
    low end, inf at the high end."""
    lim = np.array(lim, dtype=np.float64)
    edge = np.broadcast_to(np.asarray(edge), lim.shape[:-1])
    lim[..., 0] = np.where(edge == "low", floor, lim[..., 0])
    lim[..., 1] = np.where(edge == "high", np.inf, lim[..., 1])
    return lim


def _stack(parts: list[BootCI], dim: str, coord: np.ndarray) -> BootCI:
    """Per-level intervals stacked along the grid's dim (the settings of the first level)."""

    def cat(xs):
        return None if xs[0] is None else xr.concat(xs, dim=dim).assign_coords({dim: coord})

    ci = cat([p.ci for p in parts])
    ci.attrs = dict(parts[0].ci.attrs, grid_dim=dim)
    cig = cat([p.ci_global for p in parts])
    if cig is not None:
        cig.attrs = dict(ci.attrs)
    return BootCI(ci, cat([p.t0 for p in parts]), cig, cat([p.t0_global for p in parts]))
