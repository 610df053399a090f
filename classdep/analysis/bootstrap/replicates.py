"""``boot`` (R's ``boot``) and its result :class:`Boot`.

Every scheme ends in one place: replicate curves (per class, along an axis) are turned
into the statistic by :func:`.estimators.statistic_values`, for the original data and for
each block of replicates.  The schemes differ only in where the curves come from: the
resampled out-of-fold samples (along lambda, or along a grid's levels at one lambda), or
the refits of :mod:`.refit`.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any, ClassVar

import numpy as np
import xarray as xr

from ...result import Result, Table, fmt
from ...sweep import CVGlmnet, CVGrid, Heldout
from ...validation import check_choice, check_int
from ..classwise import edge_labels
from .estimators import (
    ESTIMATORS,
    LEVEL_HALF_POINTS,
    SMOOTH_WINDOW,
    STATISTICS,
    Axis,
    check_window,
    grid_index,
    statistic_values,
)
from .refit import RefitOptions, refit_curves
from .resampling import STRATA, count_blocks
from .sources import Losses, check_measure, check_over, grid_source, oof_source

__all__ = ["METHODS", "MOON_EXPONENT", "Boot", "BootWarning", "boot"]

METHODS = ("oof", "refit")
MOON_EXPONENT = 0.7  # m = n^0.7 draws per stratum: m -> inf and m / n -> 0, as the m-out-of-n theory needs


class BootWarning(UserWarning):
    """A bootstrap interval that its replicates do not support well (atoms, extreme order statistics)."""


@dataclass(repr=False)
class Boot(Result):
    """Bootstrap replicates of a per-class statistic, R's ``boot`` object, holding xarray data.

    Attributes
    ----------
    t0 : xr.DataArray
        The statistic on the original data, over ``class``.
    t : xr.DataArray
        Its replicates, dims (``iteration``, ``class``); the settings are in ``t.attrs``.
        Per level of a grid both gain the grid's dim first (``t.attrs["grid_dim"]``).
    t0_global, t_global : xr.DataArray or None
        For ``lambda_opt`` the global optimum (argmin of the summed curve), for ``regret``
        the total ``G``: original () and replicates (``iteration``); None for a callable.

    Examples
    --------
    >>> import classdep as cd
    >>> cv = cd.cv_glmnet(cd.datasets.digits(), nfolds=3, nlambda=8, progress=False)
    >>> b = cd.boot(cv, R=50, seed=0)
    >>> b.t.sizes["iteration"], b.t.sizes["class"]
    (50, 10)
    """

    t0: xr.DataArray
    t: xr.DataArray
    t0_global: xr.DataArray | None = None
    t_global: xr.DataArray | None = None
    _source: Any = field(default=None, repr=False, compare=False)  # what BCa's jackknife needs

    _groups: ClassVar[tuple[str | None, ...]] = (None,)

    @property
    def R(self) -> int:
        return int(self.t.sizes["iteration"])

    @property
    def bias(self) -> xr.DataArray:
        return self.t.mean("iteration") - self.t0

    @property
    def std_error(self) -> xr.DataArray:
        return self.t.std("iteration", ddof=1) if self.R > 1 else xr.zeros_like(self.t0) * np.nan

    def per_level(self) -> list[Boot]:
        """The Boot of every level of a grid (``[self]`` when there is no grid dim).

        Examples
        --------
        >>> import classdep as cd
        >>> cv = cd.cv_glmnet(cd.datasets.digits(), nfolds=3, nlambda=4, progress=False)
        >>> len(cd.boot(cv, R=5, seed=0).per_level())
        1
        """
        dim = self.t.attrs.get("grid_dim")
        if dim is None:
            return [self]
        attrs = {k: v for k, v in self.t.attrs.items() if k != "grid_dim"}
        out = []
        for i in range(self.t.sizes[dim]):
            # the dim's coordinate goes, the edges of each level (coordinates over dim) stay
            t0, t, g0, tg = (None if a is None else a.isel({dim: i}).drop_vars(dim)
                             for a in (self.t0, self.t, self.t0_global, self.t_global))
            src = None if self._source is None else self._source[i]
            out.append(Boot(t0, t.assign_attrs(attrs), g0, tg, src))
        return out

    # --- Result hooks ---------------------------------------------------------------------
    def _datasets(self) -> dict[str | None, xr.Dataset]:
        ds = xr.Dataset({"t0": self.t0, "t": self.t}, attrs=dict(self.t.attrs))
        if self.t0_global is not None:
            ds["t0_global"], ds["t_global"] = self.t0_global, self.t_global
        return {None: ds}

    @classmethod
    def _from_groups(cls, groups) -> Boot:
        ds = groups[None]
        attrs = {k: v for k, v in ds.attrs.items() if k != "classdep_object"}
        name, gname = attrs["statistic"], f"{attrs['statistic']}_{attrs['global_name']}"
        # a file's coordinates reach every variable over their dims: the edges go back to
        # the originals they describe (at_edge on t0, global_at_edge on t0_global)
        edges = ["at_edge", "global_at_edge"]
        t = ds["t"].drop_vars(edges, errors="ignore").rename(name).assign_attrs(attrs)
        g0 = (ds["t0_global"].drop_vars("at_edge", errors="ignore").rename(gname) if "t0_global" in ds
              else None)
        gt = ds["t_global"].drop_vars(edges, errors="ignore").rename(gname) if "t_global" in ds else None
        return cls(ds["t0"].drop_vars("global_at_edge", errors="ignore").rename(name), t, g0, gt)

    def _frame_vars(self) -> list[str]:
        return ["t"]  # the replicates, one row per (iteration, class): R's as.data.frame(b$t)

    def _table(self) -> Table:
        a = self.t.attrs
        head = "STRATIFIED BOOTSTRAP" if a["strata"] == "class" else "ORDINARY NONPARAMETRIC BOOTSTRAP"
        lines = ["", head, ""]
        axis = "lambda" if a.get("over", "lambda") == "lambda" else f"the {a['over']} level"
        if a["estimator"] == "moon":
            lines.append(f"(m-out-of-n: m = n^{MOON_EXPONENT:g} draws per stratum; deviations in "
                         f"{'log lambda' if axis == 'lambda' else axis} rescaled by sqrt(m/n))")
        if a["method"] == "refit":
            lines.append("(refit: training data resampled, cross-validation rerun per replicate)")
        if "grid_dim" in a:
            lines.append(f"(per {a['grid_dim']} level: each level's sweep bootstrapped along lambda, "
                         "with the same resamples)")
        if a.get("over", "lambda") != "lambda":
            lines.append(f"(each class's best {a['over']} level at lambda = {a['s']:.4g}; samples "
                         "resampled paired across the levels)")
        lines += ["", "Call:", a["call"], "", "", "Bootstrap Statistics :"]
        dim = a.get("grid_dim")
        rows = [("", *((dim,) if dim else ()), "class", "original", "bias", "std. error")]
        for b, level in zip(self.per_level(), self.t0[dim].values if dim else [None], strict=True):
            lev = (fmt(level),) if dim else ()
            bias, se = b.bias.values, b.std_error.values
            for k, c in enumerate(b.t0["class"].values):
                rows.append((f"t{k + 1}*", *lev, str(c), f"{b.t0.values[k]:.4g}", f"{bias[k]:.4g}",
                             f"{se[k]:.4g}"))
            if b.t0_global is not None:
                g0, gt = float(b.t0_global), b.t_global.values
                gse = float(np.std(gt, ddof=1)) if gt.size > 1 else np.nan
                rows.append((f"t{b.t0.size + 1}*", *lev, a["global_name"], f"{g0:.4g}",
                             f"{gt.mean() - g0:.4g}", f"{gse:.4g}"))
        est = f"estimator '{a['estimator']}'"
        if "window" in a:
            w = a["window"]
            decades = isinstance(w, int | float) and a.get("log")
            est += f", window {w:g} decade{'' if w == 1 else 's'}" if decades else f", window {w}"
        measure = a.get("measure", "deviance")
        foot = ["", f"Statistic: {a['statistic']} of {measure} ({est}); {a['resampled']}"]
        return Table(lines, rows, foot)


# ---------------------------------------------------------------------------------------------
# settings, replicate curves, statistics
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Spec:
    """The validated settings of one bootstrap."""

    R: int
    statistic: str | Callable
    method: str
    strata: str | None
    estimator: str
    seed: Any  # as recorded: the given seed, or the entropy drawn for None
    ss: np.random.SeedSequence
    measure: str = "deviance"
    window: float | None = None

    @classmethod
    def of(cls, R, statistic, method, strata, estimator, seed, measure="deviance", window=None) -> _Spec:
        R = check_int(R, "R", minimum=1)
        if not callable(statistic):
            check_choice(statistic, STATISTICS, "statistic")
        check_choice(method, METHODS, "method")
        check_choice(strata, STRATA, "strata")
        check_choice(estimator, ESTIMATORS, "estimator")
        if estimator != "grid" and statistic != "lambda_opt":
            raise ValueError(f"estimator={estimator!r} applies to statistic='lambda_opt'; the regret and a "
                             "callable statistic are computed from the grid curves (estimator='grid').")
        if method == "refit" and estimator == "moon":
            raise ValueError("estimator='moon' (m-out-of-n) resamples the out-of-fold samples; use "
                             "method='oof'.")
        check_measure(measure)
        if method == "refit" and measure != "deviance":
            raise ValueError(f"method='refit' bootstraps the deviance curves of the refits; "
                             f"measure={measure!r} is resampled from the per-sample predictions: use "
                             "method='oof'.")
        window = check_window(window)
        if window is not None and estimator != "smooth":
            raise ValueError(f"window={window!r} is the smoothed estimator's window; estimator={estimator!r} "
                             "has none (use estimator='smooth', the default for lambda_opt).")
        ss = np.random.SeedSequence(seed)
        return cls(R, statistic, method, strata, estimator, seed if seed is not None else ss.entropy, ss,
                   measure, window)

    def call(self, what: str, **more) -> str:
        stat = self.statistic
        name = getattr(stat, "__name__", "statistic") if callable(stat) else stat
        kw = dict(R=self.R, statistic=name, method=self.method, strata=self.strata, estimator=self.estimator,
                  seed=self.seed, measure=self.measure)
        if self.estimator == "smooth":
            kw["window"] = self.window if self.window is not None else SMOOTH_WINDOW
        kw.update(more)
        return f"boot({what}, " + ", ".join(f"{k} = {v!r}" for k, v in kw.items()) + ")"


def _oof_draws(src: Losses, spec: _Spec) -> SimpleNamespace:
    """Replicate curves of the out-of-fold samples resampled (paired along ``src.axis``)."""
    axis = src.axis
    if spec.estimator == "smooth" and axis.size < 3:
        what = "lambdas" if axis.dim == "lambda" else f"{axis.dim} levels"
        raise ValueError(f"estimator='smooth' fits a quadratic: the grid needs at least 3 {what}.")
    sizes = np.diff(src.bounds)
    drawn, m, rate, extra = src, None, None, {}
    if spec.estimator == "moon":
        m = np.minimum(sizes, np.maximum(2, np.round(sizes**MOON_EXPONENT))).astype(np.int64)
        # each of the m draws stands for n/m samples, so that the summed (global) curve mixes
        # the classes in their true proportions
        drawn = src.scaled(np.repeat(sizes / m, sizes))
        # m-out-of-n: deviations from the full-data optimum shrink by sqrt(m/n)
        rate_g = np.sqrt(m.sum() / sizes.sum())
        rate = (np.sqrt(m / sizes) if spec.strata == "class" else np.full(src.classes.size, rate_g), rate_g)
        extra["m"] = m.tolist() if m.size > 1 else int(m[0])
    rng = np.random.default_rng(spec.ss)
    blocks = (drawn.curves(block) for block in count_blocks(rng, src.bounds, spec.R, m))
    paired = "lambdas" if axis.dim == "lambda" else f"{axis.dim} levels"
    within = " within classes" if spec.strata == "class" else ""
    return SimpleNamespace(
        axis=axis, classes=src.classes, curves0=src.curves(np.ones(src.n)),
        blocks=blocks, rate=rate, extra=extra,
        resampled=f"out-of-fold samples resampled{within}, paired across {paired}",
        source=SimpleNamespace(losses=src, statistic=spec.statistic, estimator=spec.estimator,
                               strata=spec.strata, window=spec.window))


def _refit_draws(cv: CVGlmnet, spec: _Spec, opts: RefitOptions) -> SimpleNamespace:
    """Replicate curves of the refits (training data resampled, cross-validation rerun)."""
    seeds = [int(s.generate_state(1)[0]) for s in spec.ss.spawn(spec.R)]
    curves, nwarn = refit_curves(cv, opts, spec.strata, seeds)
    if nwarn:
        warnings.warn(f"{nwarn} warnings (convergence or separation) were raised by the refits of "
                      f"{spec.R} replicates.", BootWarning, stacklevel=3)
    within = " within classes" if spec.strata == "class" else ""
    c0 = cv.results["deviance"].sum("fold").values.T
    return SimpleNamespace(
        axis=Axis.path(cv.lambda_), classes=cv.classes, curves0=(c0, c0.sum(axis=-2)),
        blocks=[(curves, curves.sum(axis=-2))], rate=None, extra={"refit_warnings": int(nwarn)},
        resampled=f"training data resampled{within}, cross-validation rerun",
        source=None)  # BCa's jackknife would need n refits


def _summarize(d: SimpleNamespace, spec: _Spec, call: str, more: dict | None = None) -> Boot:
    """The statistic of the original curves and of every block of replicate curves, as a Boot."""
    axis = d.axis
    est = "grid" if spec.estimator == "moon" else spec.estimator  # m-out-of-n bootstraps the argmin
    cur0, glob0 = d.curves0
    v0, g0 = statistic_values(cur0, axis, spec.statistic, est, spec.window, glob0)
    parts = [statistic_values(c, axis, spec.statistic, est, spec.window, g) for c, g in d.blocks]
    t = np.concatenate([p[0] for p in parts])
    tg = None if g0 is None else np.concatenate([p[1] for p in parts])
    if d.rate is not None:
        rate, rate_g = d.rate
        h0, hg = axis.scale(v0), axis.scale(g0)
        t = axis.unscale(h0 + rate * (axis.scale(t) - h0))
        tg = axis.unscale(hg + rate_g * (axis.scale(tg) - hg))
    if callable(spec.statistic):
        name = getattr(spec.statistic, "__name__", "statistic")
    else:
        name = spec.statistic if axis.dim == "lambda" else spec.statistic.replace("lambda", axis.dim)
    optimum = spec.statistic == "lambda_opt"
    window = {}
    if spec.estimator == "smooth":
        # netCDF attributes cannot be None: the default along a grid's levels is said in words
        window["window"] = (spec.window if spec.window is not None
                            else SMOOTH_WINDOW if axis.log else f"+-{LEVEL_HALF_POINTS} levels")
    attrs = dict(statistic=name, method=spec.method, strata=str(spec.strata) if spec.strata else "",
                 estimator=spec.estimator, measure=spec.measure, **window, R=spec.R, seed=str(spec.seed),
                 call=call,
                 log=int(optimum and axis.log), resampled=d.resampled,
                 global_name="global" if optimum else "total", **d.extra, **(more or {}))
    coords = {"class": d.classes}
    it = {"iteration": np.arange(spec.R)}
    t0 = xr.DataArray(v0, dims=("class",), coords=coords, name=name)
    ta = xr.DataArray(t, dims=("iteration", "class"), coords=dict(coords, **it), name=name, attrs=attrs)
    t0g = tgl = None
    if g0 is not None:
        t0g = xr.DataArray(float(g0), name=f"{name}_{attrs['global_name']}")
        tgl = xr.DataArray(tg, dims=("iteration",), coords=it, name=t0g.name)
    if optimum:
        # which optima sit at an end of the grid on the original data (the grid argmin, whatever
        # the estimator: a smoothed minimizer is clamped to the grid too): boot_ci makes their
        # intervals one-sided
        levels = axis.dim != "lambda"
        t0 = t0.assign_coords(at_edge=("class", edge_labels(grid_index(cur0, axis.key), axis.values,
                                                            levels)))
        jg = grid_index(glob0, axis.key)
        t0g = t0g.assign_coords(global_at_edge=str(edge_labels(jg, axis.values, levels)))
    return Boot(t0, ta, t0g, tgl, d.source)


def _stack(parts: Iterable[Boot], dim: str, coord: np.ndarray) -> Boot:
    """Per-level Boots stacked along the grid's dim (the settings of the first level)."""
    parts = list(parts)

    def cat(xs):
        return None if xs[0] is None else xr.concat(xs, dim=dim).assign_coords({dim: coord})

    t = cat([b.t for b in parts])
    t.attrs = dict(parts[0].t.attrs, grid_dim=dim)
    return Boot(cat([b.t0 for b in parts]), t, cat([b.t0_global for b in parts]),
                cat([b.t_global for b in parts]), [b._source for b in parts])


def boot(cv: CVGlmnet | CVGrid | Heldout | xr.Dataset, R: int = 2000,
         statistic: str | Callable = "lambda_opt", method: str = "oof", strata: str | None = "class",
         estimator: str | None = None, seed=None, *, measure: str = "deviance", window: float | None = None,
         over: str = "lambda", s: float | None = None, **refit: Any) -> Boot:
    """Bootstrap every class's optimal lambda, or its regret: R's ``boot``.

    Parameters
    ----------
    cv : CVGlmnet, CVGrid, Heldout or xr.Dataset
        From :func:`classdep.cv_glmnet` with ``keep=True`` (the default), from
        :func:`classdep.assess` (held-out samples, resampled within class; ``"oof"`` only), or an
        out-of-fold Dataset like ``cv.oof``: ``loss`` (``lambda``, ``sample``) = -log p
        of the true class, ``y`` class codes, optional ``weight`` and ``class`` coord.
        A grid (augmentation levels, feature sets, repeats) is bootstrapped as ``over``
        says.
    R : int
        Number of bootstrap replicates.
    statistic : {"lambda_opt", "regret"} or callable
        ``"lambda_opt"``: each class's optimal lambda (and the global optimum);
        ``"regret"``: ``G_c = L_c(lambda_glob) - L_c(lambda_c)`` on the grid (and the total
        ``G``), the plug-in regret of :func:`classdep.classwise`, biased upward like it;
        a callable ``f(curves, lambdas) -> (K,)`` receives one replicate's per-class
        curves of ``measure`` as losses (K, L) and the grid.
    method : {"oof", "refit"}
        ``"oof"``: resample the out-of-fold samples, paired across lambdas (seconds for
        thousands of replicates).  ``"refit"``: resample the training data (``x``,
        ``y``) and rerun :func:`classdep.cv_glmnet` with the same lambda grid and fold
        count per replicate (keep ``R`` small).  The documentation's coverage study
        measured the refit bootstrap biased toward larger lambda -- a resample
        holds about 63% distinct rows, so it behaves like less data -- and its percentile
        interval covered 0.70 at nominal 0.90: prefer ``"oof"``, whose resampling already
        spans the training-set spread of the optimum there.
    strata : {"class", None}
        Resample within classes (every replicate keeps each class's count), or over all
        samples.
    estimator : {None, "grid", "smooth", "moon"}
        None (the default): ``"smooth"`` for ``"lambda_opt"`` along lambda, the estimator
        whose percentile intervals covered at their nominal level in the coverage study
        (see the docs' coverage page), and ``"grid"`` otherwise.
        For ``"lambda_opt"``: the grid argmin (ties to the largest lambda, as
        :func:`classdep.classwise`; discrete, so its intervals are unreliable), the
        continuous minimizer of a local quadratic in log lambda fitted over ``window``
        decades centred on the grid argmin (clamped to the grid; use it for scalar
        intervals), or the m-out-of-n bootstrap of the grid argmin (``m = n^0.7`` per
        stratum, deviations in log lambda rescaled by ``sqrt(m/n)``; ``method="oof"``
        only).  Other statistics use ``"grid"``.
    seed : int, optional
        Seed of ``numpy.random.default_rng``; the seed drawn when None is kept in ``attrs``.
    measure : {"deviance", "ova_accuracy", "recall"}
        The per-class curve whose optimum is bootstrapped, as :func:`classdep.classwise`
        computes it: the summed deviance, the one-vs-all accuracy ``1 - (FN_c + FP_c)/N``
        (the per-class accuracy of Balestriero, Bottou & LeCun 2022; the global lambda
        maximizes the mean, i.e. the accuracy), or the recall ``TP_c / n_c`` (the global
        lambda maximizes the accuracy).  The accuracy measures are resampled from the
        per-sample predictions (``cv.oof["pred"]``); an accuracy's optimum is its
        maximum, and its regret is in accuracy units.  ``"ova_deviance"`` is refused: it
        needs every class's probability for every sample, which ``cv.oof`` does not keep.
        An accuracy that is flat in lambda (balanced classes, often) has a plateau, not a
        point optimum, and no interval covers a point it does not have: the coverage study
        measured the default at nominal for the one-vs-all accuracy of imbalanced classes
        and at 0.52-0.61 for balanced ones (see the docs' coverage page).
    window : float, optional
        Full width, in decades of lambda, of the window of ``estimator="smooth"``: the
        quadratic is fitted to the grid lambdas within ``window / 2`` decades of the grid
        argmin (and always its two neighbours).  Default
        :data:`~classdep.analysis.bootstrap.estimators.SMOOTH_WINDOW` (1 decade), the width
        chosen by the coverage study at 20 and 50 lambdas; in decades so that the estimate
        does not move with the grid's density.  Along a grid's levels (``over`` = the
        grid's dim) it is in the level's units, and the default is the argmin and three
        levels either side.
    over : str
        On a :class:`~classdep.CVGrid`: ``"lambda"`` bootstraps every level's sweep along
        lambda, with the same resamples, and stacks the replicates along the grid's dim
        (``t`` over (dim, ``iteration``, ``class``)); the grid's dim (e.g. ``"augment"``)
        bootstraps each class's best level at one lambda ``s``, the statistic then being
        ``<dim>_opt`` (ties to the first level, the smooth estimator fitted on the level
        itself, not its log), the samples resampled paired across the levels (which must
        hold the same samples).
    s : float, optional
        The lambda at which levels are compared (``over`` = the grid's dim; the nearest
        grid value); default: the lambda of the joint optimum of the global deviance over
        (level, lambda).
    **refit
        The options of ``method="refit"`` (:class:`~classdep.analysis.bootstrap.refit.RefitOptions`):
        ``x``, ``y`` the training data, as for :func:`classdep.cv_glmnet`;
        ``client`` a ``dask.distributed.Client`` to run the replicates as tasks on a Dask
        cluster (the results equal the local run's); ``refit_args`` a dict of further
        :func:`classdep.cv_glmnet` arguments of the original sweep (``loss``,
        ``class_weight``, ``weights``, ...).

    Returns
    -------
    Boot
        ``t0`` (``class``) and ``t`` (``iteration``, ``class``); ``print(b)`` is R's
        print.boot table; :func:`boot_ci` gives intervals.

    Examples
    --------
    >>> import numpy as np, classdep as cd
    >>> ds = cd.datasets.make_mixture(n_classes=3, n_samples=300, seed=0)
    >>> cv = cd.cv_glmnet(ds, nfolds=3, lambda_=np.geomspace(3, 1e-3, 12), progress=False)
    >>> b = cd.boot(cv, R=200, seed=1)  # the smoothed optimum over a 1-decade window
    >>> b.t.dims, b.t.attrs["window"]
    (('iteration', 'class'), 1.0)
    >>> acc = cd.boot(cv, R=200, seed=1, measure="ova_accuracy")  # one-vs-all accuracy optima
    >>> acc.t.attrs["measure"]
    'ova_accuracy'
    """
    if estimator is None:
        # the coverage study's recommendation where it applies; the grid curves elsewhere
        smooth = isinstance(statistic, str) and statistic == "lambda_opt" and over == "lambda"
        estimator = "smooth" if smooth else "grid"
    spec = _Spec.of(R, statistic, method, strata, estimator, seed, measure, window)
    opts = RefitOptions.of(refit, method)
    check_over(cv, over, s)
    if isinstance(cv, CVGrid):
        if method == "refit":
            raise ValueError("method='refit' reruns one sweep; over a grid, bootstrap each level: "
                             "boot(grid[i], method='refit', x=..., refit_args=...).")
        if over == "lambda":
            call = spec.call("grid", over=over)
            parts = (_summarize(_oof_draws(oof_source(cv[i], strata, measure), spec), spec, call)
                     for i in range(len(cv)))
            return _stack(parts, cv.dim, np.asarray(cv.augment))
        src = grid_source(cv, strata, s, measure)
        return _summarize(_oof_draws(src, spec), spec, spec.call("grid", over=over, s=src.s),
                          dict(over=over, s=src.s))
    draws = (_oof_draws(oof_source(cv, strata, measure), spec) if method == "oof"
             else _refit_draws(cv, spec, opts))
    return _summarize(draws, spec, spec.call("cv"))
