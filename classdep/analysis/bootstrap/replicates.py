"""``boot`` (R's ``boot``) and its result :class:`Boot`: out-of-fold and refit replicates."""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any

import numpy as np
import xarray as xr

from ...inputs import features_and_labels
from ...persist import read_groups, write_groups
from ...rtable import format_table
from ...sweep import CVGlmnet, cv_glmnet, make_folds
from ...validation import check_choice, check_int, check_labels
from .estimators import ESTIMATORS, STATISTICS, statistic_values
from .resampling import STRATA, block_curves, class_order, count_blocks

__all__ = ["METHODS", "MOON_EXPONENT", "Boot", "BootWarning", "boot", "oof_source"]

METHODS = ("oof", "refit")
MOON_EXPONENT = 0.7  # m = n^0.7 draws per stratum: m -> inf and m / n -> 0, as the m-out-of-n theory needs


class BootWarning(UserWarning):
    """A bootstrap interval that its replicates do not support well (atoms, extreme order statistics)."""


@dataclass(repr=False)
class Boot:
    """Bootstrap replicates of a per-class statistic, R's ``boot`` object, holding xarray data.

    Attributes
    ----------
    t0 : xr.DataArray
        The statistic on the original data, over ``class``.
    t : xr.DataArray
        Its replicates, dims (``iteration``, ``class``); the settings are in ``t.attrs``.
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

    @property
    def R(self) -> int:
        return int(self.t.sizes["iteration"])

    @property
    def bias(self) -> xr.DataArray:
        return self.t.mean("iteration") - self.t0

    @property
    def std_error(self) -> xr.DataArray:
        return self.t.std("iteration", ddof=1) if self.R > 1 else xr.zeros_like(self.t0) * np.nan

    def __repr__(self) -> str:
        a = self.t.attrs
        head = "STRATIFIED BOOTSTRAP" if a["strata"] == "class" else "ORDINARY NONPARAMETRIC BOOTSTRAP"
        lines = ["", head, ""]
        if a["estimator"] == "moon":
            lines.append(f"(m-out-of-n: m = n^{MOON_EXPONENT:g} draws per stratum; deviations in "
                         "log lambda rescaled by sqrt(m/n))")
        if a["method"] == "refit":
            lines.append("(refit: training data resampled, cross-validation rerun per replicate)")
        lines += ["", "Call:", a["call"], "", "", "Bootstrap Statistics :"]
        rows = [("", "class", "original", "bias", "std. error")]
        bias, se = self.bias.values, self.std_error.values
        for k, c in enumerate(self.t0["class"].values):
            rows.append((f"t{k + 1}*", str(c), f"{self.t0.values[k]:.4g}", f"{bias[k]:.4g}", f"{se[k]:.4g}"))
        if self.t0_global is not None:
            g0, gt = float(self.t0_global), self.t_global.values
            gse = float(np.std(gt, ddof=1)) if gt.size > 1 else np.nan
            rows.append((f"t{len(rows)}*", a["global_name"], f"{g0:.4g}", f"{gt.mean() - g0:.4g}",
                         f"{gse:.4g}"))
        lines += format_table(rows)
        lines += ["", f"Statistic: {a['statistic']} (estimator '{a['estimator']}'); {a['resampled']}"]
        return "\n".join(lines)

    def to_netcdf(self, path) -> None:
        """Write the replicates and settings to netCDF (BCa needs the CV object again after reading)."""
        ds = xr.Dataset({"t0": self.t0, "t": self.t}, attrs=dict(self.t.attrs, classdep_object="Boot"))
        if self.t0_global is not None:
            ds["t0_global"], ds["t_global"] = self.t0_global, self.t_global
        write_groups(path, {None: ds})

    @classmethod
    def from_netcdf(cls, path) -> Boot:
        """Read replicates written by :meth:`to_netcdf`."""
        ds = read_groups(path, [None], "Boot")[None]
        attrs = {k: v for k, v in ds.attrs.items() if k != "classdep_object"}
        name, gname = attrs["statistic"], f"{attrs['statistic']}_{attrs['global_name']}"
        t = ds["t"].rename(name).assign_attrs(attrs)
        g0 = ds["t0_global"].rename(gname) if "t0_global" in ds else None
        gt = ds["t_global"].rename(gname) if "t_global" in ds else None
        return cls(ds["t0"].rename(name), t, g0, gt)


def oof_source(cv, strata) -> SimpleNamespace:
    """Per-sample deviance curves sorted by class, from ``cv.oof`` (or an oof-like Dataset)."""
    if not isinstance(cv, CVGlmnet | xr.Dataset):
        raise TypeError(f"boot() needs the result of cv_glmnet() (or its oof Dataset); got "
                        f"{type(cv).__name__}.")
    oof = cv if isinstance(cv, xr.Dataset) else getattr(cv, "oof", None)
    if oof is None:
        raise ValueError("cv.oof is None: the out-of-fold bootstrap needs the per-sample losses; "
                         "rerun cv_glmnet(..., keep=True).")
    for v in ("loss", "y"):
        if v not in oof:
            raise ValueError(f"the out-of-fold Dataset needs the variable {v!r} (see CVGlmnet.oof).")
    if oof["loss"].dims != ("lambda", "sample"):
        raise ValueError(f"oof['loss'] must have dims ('lambda', 'sample'); got {oof['loss'].dims}.")
    loss = oof["loss"].values.astype(np.float64)
    if not np.isfinite(loss).all():
        raise ValueError("oof['loss'] holds NaN or infinite values.")
    y = oof["y"].values.astype(np.int64)
    w = oof["weight"].values.astype(np.float64) if "weight" in oof else np.ones(y.size)
    lam = oof["lambda"].values.astype(np.float64)
    if np.any(lam <= 0):
        raise ValueError("the lambda grid must be positive.")
    classes = oof["class"].values if "class" in oof.coords else np.arange(int(y.max()) + 1)
    K = classes.size
    if y.min() < 0 or y.max() >= K:
        raise ValueError(f"oof['y'] must hold class codes 0..{K - 1}.")
    order, starts = class_order(y, K)
    if np.any(np.diff(starts) == 0):
        raise ValueError("every class needs at least one out-of-fold sample.")
    bounds = starts if strata == "class" else np.array([0, y.size])
    return SimpleNamespace(D=(2.0 * w[:, None] * loss.T)[order], starts=starts, bounds=bounds, lam=lam,
                           classes=classes, n=y.size)


def _refit_replicate(seed: int, X: np.ndarray, labels: np.ndarray, codes: np.ndarray, strata, nfolds: int,
                     args: dict, weights: np.ndarray | None) -> tuple[np.ndarray, int]:
    """One refit replicate: per-class CV deviance curves (K, L) and the number of warnings.

    Copies of a training row share its fold (folds are drawn for the original rows), so
    that no row is validated by a model trained on its own copy.
    """
    rng = np.random.default_rng(seed)
    K = int(codes.max()) + 1
    order, starts = class_order(codes, K)
    bounds = starts if strata == "class" else np.array([0, codes.size])
    f_sorted = next(count_blocks(rng, bounds, 1))[0]
    counts = np.empty(codes.size)
    counts[order] = f_sorted
    rows = np.repeat(np.arange(codes.size), counts.astype(np.int64))
    folds = make_folds(codes, nfolds, seed=int(rng.integers(2**31 - 1)))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")  # counted and reported once by boot(), not raised per replicate
        cvr = cv_glmnet(X[rows], labels[rows], foldid=folds[rows] + 1, keep=False, progress=False,
                        weights=None if weights is None else weights[rows], **args)
    return cvr.results["deviance"].sum("fold").values.T.copy(), len(caught)


def _call(**kw) -> str:
    parts = ", ".join(f"{k} = {v!r}" for k, v in kw.items())
    return f"boot(cv, {parts})"


def boot(cv: CVGlmnet | xr.Dataset, R: int = 2000, statistic: str | Callable = "lambda_opt",
         method: str = "oof", strata: str | None = "class", estimator: str = "grid", seed=None,
         client=None, *, x=None, y=None, refit_args: dict | None = None) -> Boot:
    """Bootstrap every class's optimal lambda, or its regret: R's ``boot``.

    Parameters
    ----------
    cv : CVGlmnet or xr.Dataset
        From :func:`classdep.cv_glmnet` with ``keep=True`` (the default), or an
        out-of-fold Dataset like ``cv.oof``: ``loss`` (``lambda``, ``sample``) = -log p
        of the true class, ``y`` class codes, optional ``weight`` and ``class`` coord.
    R : int
        Number of bootstrap replicates.
    statistic : {"lambda_opt", "regret"} or callable
        ``"lambda_opt"``: each class's optimal lambda (and the global optimum);
        ``"regret"``: ``G_c = L_c(lambda_glob) - L_c(lambda_c)`` on the grid (and the total
        ``G``), the plug-in regret of :func:`classdep.classwise`, biased upward like it;
        a callable ``f(curves, lambdas) -> (K,)`` receives one replicate's per-class
        deviance curves (K, L) and the grid.
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
    estimator : {"grid", "smooth", "moon"}
        For ``"lambda_opt"``: the grid argmin (ties to the largest lambda, as
        :func:`classdep.classwise`; discrete, so its intervals are unreliable), the
        continuous minimizer of a local quadratic in log lambda over the argmin +- 3 grid
        points (clamped to the grid; use it for scalar intervals), or the m-out-of-n
        bootstrap of the grid argmin (``m = n^0.7`` per stratum, deviations in log lambda
        rescaled by ``sqrt(m/n)``; ``method="oof"`` only).  Other statistics use ``"grid"``.
    seed : int, optional
        Seed of ``numpy.random.default_rng``; the seed drawn when None is kept in ``attrs``.
    client : dask.distributed.Client, optional
        Run the refit replicates as tasks on a Dask cluster (``client.map`` over replicate
        seeds); the results equal the local run's.
    x, y
        The training data (``method="refit"``), as for :func:`classdep.cv_glmnet`.
    refit_args : dict, optional
        Further :func:`classdep.cv_glmnet` arguments of the original sweep (``loss``,
        ``class_weight``, ``weights``, ...) for the refits.

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
    >>> b = cd.boot(cv, R=200, estimator="smooth", seed=1)
    >>> b.t.dims
    ('iteration', 'class')
    """
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
        raise ValueError("estimator='moon' (m-out-of-n) resamples the out-of-fold samples; use method='oof'.")
    if client is not None and method != "refit":
        raise ValueError("client= distributes the refits of method='refit'; method='oof' is one matrix "
                         "product and runs locally.")
    ss = np.random.SeedSequence(seed)
    stat_name = getattr(statistic, "__name__", "statistic") if callable(statistic) else statistic
    call = _call(R=R, statistic=stat_name, method=method, strata=strata, estimator=estimator,
                 seed=seed if seed is not None else ss.entropy)
    extra: dict[str, Any] = {}
    if method == "oof":
        src = oof_source(cv, strata)
        lam, classes = src.lam, src.classes
        if estimator == "smooth" and lam.size < 3:
            raise ValueError("estimator='smooth' fits a quadratic: the grid needs at least 3 lambdas.")
        curves0 = block_curves(np.ones(src.n), src.D, src.starts)
        est0 = "grid" if estimator == "moon" else estimator
        v0, g0 = statistic_values(curves0, lam, statistic, est0)
        sizes = np.diff(src.bounds)
        D, m = src.D, None
        if estimator == "moon":
            m = np.minimum(sizes, np.maximum(2, np.round(sizes**MOON_EXPONENT))).astype(np.int64)
            # each of the m draws stands for n/m samples, so that the summed (global) curve mixes
            # the classes in their true proportions
            D = src.D * np.repeat(sizes / m, sizes)[:, None]
        rng = np.random.default_rng(ss)
        vs, gs = [], []
        for block in count_blocks(rng, src.bounds, R, m):
            v, g = statistic_values(block_curves(block, D, src.starts), lam, statistic, est0)
            vs.append(v)
            gs.append(g)
        t = np.concatenate(vs)
        tg = None if g0 is None else np.concatenate(gs)
        if estimator == "moon":
            # m-out-of-n: deviations from the full-data optimum shrink by sqrt(m/n) in log lambda
            if strata == "class":
                rate = np.sqrt(m / sizes)
            else:
                rate = np.full(classes.size, np.sqrt(m.sum() / sizes.sum()))
            rate_g = np.sqrt(m.sum() / sizes.sum())
            t = np.exp(np.log(v0) + rate * (np.log(t) - np.log(v0)))
            tg = np.exp(np.log(g0) + rate_g * (np.log(tg) - np.log(g0)))
            extra["m"] = m.tolist() if m.size > 1 else int(m[0])
        resampled = ("out-of-fold samples resampled within classes, paired across lambdas"
                     if strata == "class" else "out-of-fold samples resampled, paired across lambdas")
        source = SimpleNamespace(losses=src, statistic=statistic, estimator=estimator, strata=strata)
    else:
        if x is None:
            raise ValueError("method='refit' reruns the sweep: pass the training data as x= (and y=).")
        if not isinstance(cv, CVGlmnet):
            raise TypeError("method='refit' needs the CVGlmnet whose sweep it reruns.")
        X, labels, _ = features_and_labels(x, y, out_of_core=False)
        labels = np.asarray(labels.values if hasattr(labels, "values") else labels)
        codes, cls = check_labels(labels, X.shape[0])
        classes = cv.classes
        if [str(c) for c in cls] != [str(c) for c in classes]:
            raise ValueError(f"the classes of y ({list(cls)}) are not those of cv ({list(classes)}).")
        lam = cv.lambda_
        args = dict(refit_args or {})
        weights = args.pop("weights", None)
        weights = None if weights is None else np.asarray(weights, dtype=np.float64)
        args.update(lambda_=lam, family=cv.results.attrs.get("family", "multinomial"))
        nfolds = int(cv.results.attrs["nfolds"])
        curves0 = cv.results["deviance"].sum("fold").values.T
        v0, g0 = statistic_values(curves0, lam, statistic, estimator)
        seeds = [int(s.generate_state(1)[0]) for s in ss.spawn(R)]
        fixed = dict(labels=labels, codes=codes, strata=strata, nfolds=nfolds, args=args, weights=weights)
        if client is not None:
            Xf = client.scatter(X, broadcast=True)
            futures = client.map(_refit_replicate, seeds, X=Xf, pure=False, **fixed)
            out = client.gather(futures)
        else:
            out = [_refit_replicate(s, X, **fixed) for s in seeds]
        curves = np.stack([o[0] for o in out])
        nwarn = sum(o[1] for o in out)
        if nwarn:
            warnings.warn(f"{nwarn} warnings (convergence or separation) were raised by the refits of "
                          f"{R} replicates.", BootWarning, stacklevel=2)
        t, tg = statistic_values(curves, lam, statistic, estimator)
        extra["refit_warnings"] = int(nwarn)
        resampled = ("training data resampled within classes, cross-validation rerun"
                     if strata == "class" else "training data resampled, cross-validation rerun")
        source = None  # BCa's jackknife would need n refits
    attrs = dict(statistic=stat_name, method=method, strata=str(strata) if strata else "",
                 estimator=estimator, R=R, seed=str(seed if seed is not None else ss.entropy), call=call,
                 log=int(statistic == "lambda_opt"), resampled=resampled,
                 global_name="global" if statistic == "lambda_opt" else "total", **extra)
    coords = {"class": classes}
    t0 = xr.DataArray(v0, dims=("class",), coords=coords, name=stat_name)
    ta = xr.DataArray(t, dims=("iteration", "class"), coords=dict(coords, iteration=np.arange(R)),
                      name=stat_name, attrs=attrs)
    t0g = tgl = None
    if g0 is not None:
        t0g = xr.DataArray(float(g0), name=f"{stat_name}_{attrs['global_name']}")
        tgl = xr.DataArray(tg, dims=("iteration",), coords={"iteration": np.arange(R)}, name=t0g.name)
    return Boot(t0, ta, t0g, tgl, source)
