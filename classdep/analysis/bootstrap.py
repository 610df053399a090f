"""Bootstrap intervals for every class's optimal lambda and for the regret (R's ``boot``).

A class's optimum read off a noisy validation curve is itself noisy.  ``boot`` resamples
and recomputes it; ``boot_ci`` turns the replicates into intervals; ``confset`` gives
the set of grid lambdas not rejected as a class's optimum.

Two resampling schemes:

* ``method="oof"`` resamples the kept out-of-fold samples within each class, the same
  resample for every lambda (paired), so that the correlation of a class's curve across
  lambdas is kept.  A replicate is a vector of resampling counts ``f`` (one per sample);
  class ``c``'s deviance curve under it is ``sum_i f_i 2 w_i loss_i(lambda)`` over the
  samples of class ``c``.  For R replicates this is one matrix product of the (R, n)
  count matrix by the block-diagonal (n, K L) matrix of per-sample deviance curves,
  computed block by block (one (R, n_c) x (n_c, L) product per class), so thousands of
  replicates cost seconds.
* ``method="refit"`` resamples the training data and reruns the cross-validation: the
  training side's variability too, at the price of one sweep per replicate.

The grid argmin is discrete, and the naive bootstrap of an argmin is unreliable (Hall &
Miller 2009): its distribution has atoms, so percentile and BCa intervals are not to be
trusted (``boot_ci`` warns).  Three remedies (REFERENCES.md section 6):

* ``estimator="smooth"``: the continuous minimizer of a local quadratic in log lambda
  fitted over the grid argmin and three grid points either side; a smooth functional,
  whose percentile intervals covered 0.93-0.94 at nominal 0.95 in the reference study;
* ``estimator="moon"``: the m-out-of-n bootstrap, ``m = n^0.7`` draws per stratum and
  deviations in log lambda rescaled by ``sqrt(m / n)`` (0.89-0.93);
* :func:`confset`: the grid lambdas not rejected as the optimum (conservative, 0.97-0.99;
  it answers "which lambdas could be best", not "where is the best").
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any

import numpy as np
import xarray as xr
from scipy.special import ndtri

from ..generics import confint
from ..persist import read_groups, write_groups
from ..rtable import format_table
from ..sweep import CVGlmnet, cv_glmnet, make_folds
from ..validation import check_choice, check_int, check_labels
from .classwise import Classwise

__all__ = ["Boot", "BootCI", "BootWarning", "boot", "boot_ci", "confset", "replicate_curves",
           "resample_counts"]

STATISTICS = ("lambda_opt", "regret")
METHODS = ("oof", "refit")
ESTIMATORS = ("grid", "smooth", "moon")
STRATA = ("class", None)
TYPES = {"norm": "Normal", "basic": "Basic", "perc": "Percentile", "bca": "BCa"}
MOON_EXPONENT = 0.7  # m = n^0.7 draws per stratum (REFERENCES.md section 6)
SMOOTH_HALF_WIDTH = 3  # grid points either side of the argmin (+-2..+-5 all covered; +-8 did not)
ATOM_SHARE = 0.05  # share of replicates equal to the original value above which boot_ci warns
_BLOCK = 1 << 22  # entries of one block of the count matrix (32 MB of float64)


class BootWarning(UserWarning):
    """A bootstrap interval that its replicates do not support well (atoms, extreme order statistics)."""


# ---------------------------------------------------------------------------------------------
# resampling counts and replicate curves (the NumPy kernels)
# ---------------------------------------------------------------------------------------------


def _count_blocks(rng: np.random.Generator, bounds: np.ndarray, R: int,
                  m: np.ndarray | None = None) -> Iterator[np.ndarray]:
    """Blocks of multinomial resampling counts, (r, n) each, for rows sorted by stratum.

    Stratum ``s`` (rows ``bounds[s]:bounds[s+1]``) gets ``m[s]`` draws with replacement
    (default: its size), so each replicate keeps every stratum's count.  The block size
    depends only on ``n``, so a seed gives the same counts however they are consumed.
    """
    n = int(bounds[-1])
    sizes = np.diff(bounds)
    m = sizes if m is None else np.asarray(m)
    step = max(1, _BLOCK // max(n, 1))
    for a in range(0, R, step):
        r = min(step, R - a)
        block = np.empty((r, n))
        for s in range(sizes.size):
            lo, hi, ns = bounds[s], bounds[s + 1], int(sizes[s])
            # draw indices and count them: a multinomial over the stratum's rows, one per
            # replicate, without rng.multinomial's loop over categories
            idx = rng.integers(0, ns, size=(r, int(m[s]))) + (np.arange(r) * ns)[:, None]
            block[:, lo:hi] = np.bincount(idx.ravel(), minlength=r * ns).reshape(r, ns)
        yield block


def _block_curves(counts: np.ndarray, D: np.ndarray, starts: np.ndarray) -> np.ndarray:
    """Per-class curves (..., K, L) from counts (..., n) over rows sorted by class.

    The product of the counts by the block-diagonal matrix of per-sample curves, done one
    class block at a time (the zero blocks would cost K times the work).
    """
    K = starts.size - 1
    out = np.empty(counts.shape[:-1] + (K, D.shape[1]))
    for k in range(K):
        lo, hi = starts[k], starts[k + 1]
        out[..., k, :] = counts[..., lo:hi] @ D[lo:hi]
    return out


def _class_order(y: np.ndarray, K: int) -> tuple[np.ndarray, np.ndarray]:
    """Rows sorted by class (stable) and the class boundaries ``starts`` (K + 1,)."""
    order = np.argsort(y, kind="stable")
    starts = np.concatenate([[0], np.cumsum(np.bincount(y, minlength=K))])
    return order, starts


def resample_counts(y, R: int, seed=None, strata: str | None = "class") -> np.ndarray:
    """Bootstrap resampling counts, (R, n): how often each sample is drawn in each replicate.

    The counts :func:`boot` draws with the same ``seed`` (``method="oof"``): multinomial
    within each class (``strata="class"``), so every replicate keeps each class's count,
    or over all samples (``strata=None``).

    Parameters
    ----------
    y : array_like of int, shape (n,)
        Class codes ``0..K-1`` (``cv.oof["y"]``).
    R : int
        Number of replicates.
    seed : int or numpy.random.SeedSequence, optional
    strata : {"class", None}

    Returns
    -------
    ndarray of float, shape (R, n)

    Examples
    --------
    >>> f = resample_counts([0, 0, 1, 1, 1], R=3, seed=0)
    >>> f.shape, f[:, :2].sum(axis=1).tolist()
    ((3, 5), [2.0, 2.0, 2.0])
    """
    R = check_int(R, "R", minimum=1)
    check_choice(strata, STRATA, "strata")
    y = np.asarray(y, dtype=np.int64)
    K = int(y.max()) + 1
    order, starts = _class_order(y, K)
    bounds = starts if strata == "class" else np.array([0, y.size])
    rng = np.random.default_rng(seed)
    sorted_counts = np.concatenate(list(_count_blocks(rng, bounds, R)))
    out = np.empty_like(sorted_counts)
    out[:, order] = sorted_counts
    return out


def replicate_curves(counts, loss, y, weight=None, n_classes: int | None = None) -> np.ndarray:
    """Per-class deviance curves of every replicate: one product of counts by per-sample curves.

    Class ``c``'s curve under replicate ``r`` is ``2 sum_{i: y_i = c} f_ri w_i loss_i``,
    the resampled version of ``cv.results["deviance"].sum("fold")``.

    Parameters
    ----------
    counts : array_like, shape (R, n)
        Resampling counts (:func:`resample_counts`); a row of ones is the original data.
    loss : array_like, shape (L, n)
        Per-sample loss along the grid, ``cv.oof["loss"]`` (``lambda``, ``sample``).
    y : array_like of int, shape (n,)
        Class codes.
    weight : array_like, shape (n,), optional
        Sample weights (``cv.oof["weight"]``); default ones.
    n_classes : int, optional

    Returns
    -------
    ndarray, shape (R, K, L)

    Examples
    --------
    >>> import numpy as np
    >>> loss = np.array([[1.0, 2.0, 3.0], [0.5, 0.5, 1.0]])  # L = 2, n = 3
    >>> replicate_curves(np.ones((1, 3)), loss, [0, 0, 1])[0].tolist()
    [[6.0, 2.0], [6.0, 2.0]]
    """
    loss = np.asarray(loss, dtype=np.float64)
    y = np.asarray(y, dtype=np.int64)
    counts = np.atleast_2d(np.asarray(counts, dtype=np.float64))
    w = np.ones(y.size) if weight is None else np.asarray(weight, dtype=np.float64)
    K = int(y.max()) + 1 if n_classes is None else int(n_classes)
    order, starts = _class_order(y, K)
    D = 2.0 * w[:, None] * loss.T
    return _block_curves(counts[:, order], D[order], starts)


# ---------------------------------------------------------------------------------------------
# estimators of a curve's minimizer, over any leading dims
# ---------------------------------------------------------------------------------------------


def _grid_index(curves: np.ndarray, lam: np.ndarray) -> np.ndarray:
    """Grid argmin along the last axis; ties go to the largest lambda (R's lambda.min rule)."""
    c = np.where(np.isnan(curves), np.inf, curves)
    at = c == c.min(axis=-1, keepdims=True)
    return np.where(at, lam, -np.inf).argmax(axis=-1)


def _smooth_log_min(curves: np.ndarray, lam: np.ndarray, half: int = SMOOTH_HALF_WIDTH) -> np.ndarray:
    """Continuous minimizer, in log lambda, of a quadratic fitted around each grid argmin.

    Least squares of ``curve = c0 + c1 x + c2 x^2`` over the argmin and ``half`` grid points
    either side (fewer at the ends of the grid), ``x`` = log lambda centred at the argmin.
    The vertex ``-c1 / (2 c2)`` is clamped to the fitting window, hence to the grid; a
    curve with no positive curvature there keeps its grid argmin.
    """
    loglam = np.log(lam)
    L = lam.size
    j = _grid_index(curves, lam)
    idx = j[..., None] + np.arange(-half, half + 1)
    ok = (idx >= 0) & (idx < L)
    idx = np.clip(idx, 0, L - 1)
    x = np.where(ok, loglam[idx] - loglam[j][..., None], 0.0)
    y = np.take_along_axis(curves, idx, axis=-1) - np.take_along_axis(curves, j[..., None], axis=-1)
    w = ok.astype(np.float64)
    y = np.where(ok, y, 0.0)
    # normal equations (moments of x up to 4): centring at the argmin keeps them well scaled
    mom = np.stack([(w * x**p).sum(axis=-1) for p in range(5)], axis=-1)
    A = np.stack([mom[..., p:p + 3] for p in range(3)], axis=-2)
    rhs = np.stack([(w * x**p * y).sum(axis=-1) for p in range(3)], axis=-1)
    finite = np.isfinite(A).all(axis=(-2, -1)) & np.isfinite(rhs).all(axis=-1)
    A = np.where(finite[..., None, None], A, np.eye(3))
    rhs = np.where(finite[..., None], rhs, 0.0)
    coef = np.linalg.solve(A, rhs[..., None])[..., 0]
    c1, c2 = coef[..., 1], coef[..., 2]
    convex = finite & (c2 > 0)
    xs = np.where(convex, -c1 / np.where(convex, 2.0 * c2, 1.0), 0.0)
    lo = np.where(ok, x, np.inf).min(axis=-1)
    hi = np.where(ok, x, -np.inf).max(axis=-1)
    return loglam[j] + np.clip(xs, lo, hi)


def _minimizer(curves: np.ndarray, lam: np.ndarray, estimator: str) -> np.ndarray:
    """Each curve's optimal lambda (lambda units): grid argmin or smoothed minimizer."""
    if estimator == "smooth":
        return np.exp(_smooth_log_min(curves, lam))
    return lam[_grid_index(curves, lam)]


def _statistic(curves: np.ndarray, lam: np.ndarray, statistic, estimator: str):
    """``(per class (..., K), global (...) or None)`` from curves (..., K, L).

    lambda_opt: each class's optimum and the global optimum (argmin of the summed curve);
    regret: ``G_c = L_c(lambda*) - L_c(lambda*_c)`` on the grid and the total ``G``.
    """
    if callable(statistic):
        K, L = curves.shape[-2:]
        flat = curves.reshape(-1, K, L)
        out = np.empty((flat.shape[0], K))
        for r in range(flat.shape[0]):
            v = np.asarray(statistic(flat[r], lam), dtype=np.float64)
            if v.shape != (K,):
                raise ValueError(f"the statistic must return one value per class, shape ({K},); "
                                 f"got shape {v.shape}.")
            out[r] = v
        return out.reshape(curves.shape[:-2] + (K,)), None
    total = curves.sum(axis=-2)
    if statistic == "lambda_opt":
        return _minimizer(curves, lam, estimator), _minimizer(total, lam, estimator)
    jg = _grid_index(total, lam)
    jc = _grid_index(curves, lam)
    at_g = np.take_along_axis(curves, np.broadcast_to(jg[..., None, None], curves.shape[:-1] + (1,)),
                              axis=-1)[..., 0]
    at_o = np.take_along_axis(curves, jc[..., None], axis=-1)[..., 0]
    g = at_g - at_o
    return g, g.sum(axis=-1)


# ---------------------------------------------------------------------------------------------
# result objects
# ---------------------------------------------------------------------------------------------


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


@dataclass(repr=False)
class BootCI:
    """Bootstrap confidence intervals, R's ``bootci`` object.

    Attributes
    ----------
    ci : xr.DataArray
        Dims (``class``, ``bound``), ``bound`` = lower, upper; in the statistic's units
        (lambda for ``lambda_opt``).  Settings in ``ci.attrs``.
    t0 : xr.DataArray
        The statistic on the original data (``class``).
    ci_global : xr.DataArray or None
        Interval (``bound``) of the global optimum (``lambda_opt``) or of the total regret
        ``G`` (``regret``).
    t0_global : xr.DataArray or None
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

    def __repr__(self) -> str:
        a = self.ci.attrs
        name = TYPES[a["type"]]
        level = f"{100 * a['conf']:g}%"
        lines = ["BOOTSTRAP CONFIDENCE INTERVAL CALCULATIONS",
                 f"Based on {a['R']} bootstrap replicates", "", "CALL : ", a["call"], "", "Intervals : ",
                 f"Statistic: {a['statistic']} (estimator '{a['estimator']}')"]
        rows = [("Level", "class", "original", name)]

        def fmt(lo, hi):
            return f"({lo:10.4g}, {hi:10.4g} )"

        for k, c in enumerate(self.ci["class"].values):
            lo, hi = self.ci.values[k]
            rows.append((level, str(c), f"{self.t0.values[k]:.4g}", fmt(lo, hi)))
        if self.ci_global is not None:
            lo, hi = self.ci_global.values
            rows.append((level, a["global_name"], f"{float(self.t0_global):.4g}", fmt(lo, hi)))
        lines += format_table(rows)
        lines.append("Calculations on Transformed Scale;  Intervals on Original Scale" if a["log"]
                     else "Calculations and Intervals on Original Scale")
        return "\n".join(lines)


# ---------------------------------------------------------------------------------------------
# boot
# ---------------------------------------------------------------------------------------------


def _losses(cv, strata) -> SimpleNamespace:
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
    order, starts = _class_order(y, K)
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
    order, starts = _class_order(codes, K)
    bounds = starts if strata == "class" else np.array([0, codes.size])
    f_sorted = next(_count_blocks(rng, bounds, 1))[0]
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
        count per replicate (keep ``R`` small).  The reference study (REFERENCES.md
        section 6) measured the refit bootstrap biased toward larger lambda -- a resample
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
        src = _losses(cv, strata)
        lam, classes = src.lam, src.classes
        if estimator == "smooth" and lam.size < 3:
            raise ValueError("estimator='smooth' fits a quadratic: the grid needs at least 3 lambdas.")
        curves0 = _block_curves(np.ones(src.n), src.D, src.starts)
        est0 = "grid" if estimator == "moon" else estimator
        v0, g0 = _statistic(curves0, lam, statistic, est0)
        sizes = np.diff(src.bounds)
        D, m = src.D, None
        if estimator == "moon":
            m = np.minimum(sizes, np.maximum(2, np.round(sizes**MOON_EXPONENT))).astype(np.int64)
            # each of the m draws stands for n/m samples, so that the summed (global) curve mixes
            # the classes in their true proportions
            D = src.D * np.repeat(sizes / m, sizes)[:, None]
        rng = np.random.default_rng(ss)
        vs, gs = [], []
        for block in _count_blocks(rng, src.bounds, R, m):
            v, g = _statistic(_block_curves(block, D, src.starts), lam, statistic, est0)
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
        from ..glmnet_fit import _features_and_labels

        X, labels, _ = _features_and_labels(x, y)
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
        v0, g0 = _statistic(curves0, lam, statistic, estimator)
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
        t, tg = _statistic(curves, lam, statistic, estimator)
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


# ---------------------------------------------------------------------------------------------
# boot_ci
# ---------------------------------------------------------------------------------------------


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
    bounds, starts, D, lam = los.bounds, los.starts, los.D, los.lam
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
        if nb == starts.size - 1:  # strata are the classes: each class's curve from its own sample
            per = [counts_of(a, int(starts[k + 1] - starts[k])) @ D[starts[k]:starts[k + 1]]
                   for k, a in enumerate(idx)]
            curves = np.stack(np.broadcast_arrays(*per), axis=-2)
        else:
            curves = _block_curves(counts_of(idx[0], int(bounds[-1])), D, starts)
        v, g = _statistic(curves, lam, src.statistic, src.estimator)
        out = h(v) if g is None else np.concatenate([h(v), h(g)[..., None]], axis=-1)
        return np.moveaxis(out, -1, 0)

    dist = ht.T if htg is None else np.concatenate([ht, htg[:, None]], axis=1).T
    data = tuple(np.arange(bounds[s + 1] - bounds[s]) for s in range(nb))
    batch = max(1, _BLOCK // max(int(np.diff(bounds).max()), 1))
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


def _warn_atoms(x: np.ndarray, names: list[str], type_: str, statistic: str, estimator: str) -> None:
    share = _atom_share(x)
    bad = share > ATOM_SHARE
    if not bad.any():
        return
    which = ", ".join(f"{n} ({100 * s:.0f}%)"
                      for n, s in zip(np.asarray(names)[bad], share[bad], strict=True))
    why = {"grid": "a grid argmin is discrete",
           "smooth": "a smoothed optimum clamped to the end of the grid piles up there (extend the grid)"}
    cause = why.get(estimator, "") if statistic == "lambda_opt" else (
        "a regret is exactly zero whenever the class's optimum is the global one" if statistic == "regret"
        else "the statistic is discrete")
    warnings.warn(
        f"the bootstrap distribution has atoms: one value takes more than {100 * ATOM_SHARE:g}% of the "
        f"replicates for {which} ({cause}). {TYPES[type_]} intervals are unreliable on such a distribution "
        "(Hall & Miller 2009); for an optimum, use boot(..., estimator='smooth') or 'moon' for intervals, "
        "or confset() for the set of grid lambdas not rejected as the optimum.", BootWarning, stacklevel=3)


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
    a = b.t.attrs
    if type == "bca":
        _check_bca(b)
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
    if type in ("perc", "basic", "bca") and R > 1 and a["estimator"] != "moon":
        names = [str(c) for c in b.t0["class"].values]
        allt = ht if htg is None else np.column_stack([ht, htg])
        _warn_atoms(allt, names + ([a["global_name"]] if htg is not None else []), type, a["statistic"],
                    a["estimator"])
    alpha = (1.0 - conf) / 2.0
    if type != "norm" and (R + 1) * alpha < 1.0:
        warnings.warn("extreme order statistics used as endpoints", BootWarning, stacklevel=2)

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
                 method=a["method"], log=int(log), global_name=a.get("global_name", "global"),
                 call=f"boot_ci(b, conf = {conf:g}, type = {type!r})")
    bound = ["lower", "upper"]
    ci = xr.DataArray(hinv(lim_k), dims=("class", "bound"),
                      coords={"class": b.t0["class"].values, "bound": bound}, name=a["statistic"],
                      attrs=attrs)
    cig = None
    if lim_g is not None:
        cig = xr.DataArray(hinv(lim_g), dims=("bound",), coords={"bound": bound},
                           name=b.t0_global.name, attrs=attrs)
    return BootCI(ci, b.t0, cig, b.t0_global)


# ---------------------------------------------------------------------------------------------
# confset
# ---------------------------------------------------------------------------------------------


def _pair_scale(Dc: np.ndarray) -> np.ndarray:
    """Standard deviation of the sum of ``d_i(j) - d_i(k)`` over the rows of Dc, (L, L)."""
    n = Dc.shape[0]
    if n < 2:
        return np.zeros((Dc.shape[1],) * 2)
    C = np.atleast_2d(np.cov(Dc, rowvar=False, ddof=1))
    d = np.diag(C)
    return np.sqrt(np.clip(n * (d[:, None] + d[None, :] - 2.0 * C), 0.0, None))


def _max_studentized(diff: np.ndarray, inv: np.ndarray) -> np.ndarray:
    """``max_k diff[..., j, k] * inv[j, k]`` over the k with a positive scale (inv > 0)."""
    return np.where(inv > 0, diff * inv, -np.inf).max(axis=-1)


def confset(cv: CVGlmnet | xr.Dataset, alpha: float = 0.05, R: int = 1000, strata: str | None = "class",
            seed=None) -> xr.Dataset:
    """Confidence sets over the grid: each class's lambdas not rejected as its optimum.

    In the spirit of Lei (2020), "Cross-validation with confidence".  For class ``c`` and
    each grid point ``j``, test ``H0_j``: ``mu_c(j) <= mu_c(k)`` for every ``k`` (``j`` is a
    best lambda for ``c``; ``mu`` the expected curve) with the studentized max statistic

    ``T_j = max_{k != j} (S_j - S_k) / s_jk``

    where ``S`` is the class's out-of-fold deviance curve (a sum over its samples) and
    ``s_jk`` the standard error of ``S_j - S_k`` (from the per-sample differences).  Its
    null distribution is bootstrapped with the paired, stratified resamples of
    :func:`boot`, centred: ``T*_j = max_k ((S*_j - S*_k) - (S_j - S_k)) / s_jk``; under
    ``H0_j`` every ``mu(j) - mu(k) <= 0``, so ``T_j`` is at most its centred version and
    the test keeps level ``alpha`` (asymptotically; Lei uses Gaussian multipliers where
    this uses the nonparametric bootstrap).  ``j`` is kept when its p-value
    ``(1 + #{T*_j >= T_j}) / (R + 1)`` exceeds ``alpha``.  Each class's set covers its
    optimum with probability about ``1 - alpha`` (use ``alpha / K`` for all classes at
    once); the sets are conservative (REFERENCES.md: 0.97-0.99 at nominal 0.90) and need
    not be contiguous.

    Parameters
    ----------
    cv : CVGlmnet or xr.Dataset
        As for :func:`boot` (``method="oof"``).
    alpha : float
        Level of each test, in (0, 1).
    R : int
        Bootstrap replicates.
    strata : {"class", None}
    seed : int, optional

    Returns
    -------
    xr.Dataset
        ``kept`` (``class``, ``lambda``) bool, ``pvalue`` (``class``, ``lambda``),
        ``lambda_opt`` (``class``, the grid argmin), ``lambda_lower`` / ``lambda_upper``
        (``class``, the smallest and largest kept lambda), ``interval`` (``class``,
        ``bound``), and the same for the global optimum (``kept_global``, ``pvalue_global``).

    Examples
    --------
    >>> import numpy as np, classdep as cd
    >>> ds = cd.datasets.make_mixture(n_classes=3, n_samples=300, seed=0)
    >>> cv = cd.cv_glmnet(ds, nfolds=3, lambda_=np.geomspace(3, 1e-3, 12), progress=False)
    >>> cs = cd.confset(cv, alpha=0.1, R=200, seed=0)
    >>> cs["kept"].dims
    ('class', 'lambda')
    """
    R = check_int(R, "R", minimum=1)
    if not 0.0 < float(alpha) < 1.0:
        raise ValueError(f"alpha={alpha!r} must lie strictly between 0 and 1.")
    check_choice(strata, STRATA, "strata")
    src = _losses(cv, strata)
    lam, starts, D = src.lam, src.starts, src.D
    K, L = starts.size - 1, lam.size
    S0 = _block_curves(np.ones(src.n), D, starts)  # (K, L)
    scale = np.stack([_pair_scale(D[starts[k]:starts[k + 1]]) for k in range(K)])  # (K, L, L)
    # the summed curve's pair scale: classes are resampled independently, so variances add
    scale_g = np.sqrt((scale**2).sum(axis=0))
    inv = np.where(scale > 0, 1.0 / np.where(scale > 0, scale, 1.0), 0.0)
    inv[:, np.arange(L), np.arange(L)] = 0.0  # k = j is not a competitor
    inv_g = np.where(scale_g > 0, 1.0 / np.where(scale_g > 0, scale_g, 1.0), 0.0)
    np.fill_diagonal(inv_g, 0.0)
    G0 = S0.sum(axis=0)
    T = _max_studentized(S0[:, :, None] - S0[:, None, :], inv)  # (K, L)
    Tg = _max_studentized(G0[:, None] - G0[None, :], inv_g)
    ge = np.zeros((K, L))
    ge_g = np.zeros(L)
    rng = np.random.default_rng(seed)
    step = max(1, _BLOCK // max(K * L * L, 1))
    for block in _count_blocks(rng, src.bounds, R):
        for a in range(0, block.shape[0], step):
            dS = _block_curves(block[a:a + step], D, starts) - S0  # centred replicate curves (r, K, L)
            Ts = _max_studentized(dS[..., :, None] - dS[..., None, :], inv)
            ge += (Ts >= T).sum(axis=0)
            dG = dS.sum(axis=1)
            ge_g += (_max_studentized(dG[..., :, None] - dG[..., None, :], inv_g) >= Tg).sum(axis=0)
    p = (1.0 + ge) / (R + 1.0)
    pg = (1.0 + ge_g) / (R + 1.0)
    kept = p > alpha
    lamK = np.broadcast_to(lam, (K, L))
    lower = np.where(kept, lamK, np.inf).min(axis=1)
    upper = np.where(kept, lamK, -np.inf).max(axis=1)
    lower, upper = np.where(np.isfinite(lower), lower, np.nan), np.where(np.isfinite(upper), upper, np.nan)
    coords = {"class": src.classes, "lambda": lam, "bound": ["lower", "upper"]}
    return xr.Dataset(
        {"kept": (("class", "lambda"), kept), "pvalue": (("class", "lambda"), p),
         "lambda_opt": ("class", lam[_grid_index(S0, lam)]),
         "lambda_lower": ("class", lower), "lambda_upper": ("class", upper),
         "interval": (("class", "bound"), np.column_stack([lower, upper])),
         "kept_global": ("lambda", pg > alpha), "pvalue_global": ("lambda", pg),
         "lambda_global": ((), float(lam[_grid_index(G0, lam)]))},
        coords=coords,
        attrs=dict(alpha=float(alpha), R=R, strata=str(strata) if strata else "",
                   seed=str(seed), method="studentized max-difference bootstrap test (Lei 2020)"),
    )


# ---------------------------------------------------------------------------------------------
# confint methods
# ---------------------------------------------------------------------------------------------


@confint.register
def _(b: Boot, conf: float = 0.95, type: str = "perc", **kwargs) -> xr.DataArray:  # noqa: A002
    """``boot_ci(b, conf, type).ci``: (``class``, ``bound``)."""
    return boot_ci(b, conf=conf, type=type, **kwargs).ci


@confint.register
def _(ci: BootCI, **kwargs) -> xr.DataArray:
    return ci.ci


@confint.register
def _(cv: CVGlmnet, conf: float = 0.95, type: str = "perc", **kwargs) -> xr.DataArray:  # noqa: A002
    """Bootstrap the class-wise optima of a sweep (``boot(cv, **kwargs)``) and return their intervals."""
    return boot_ci(boot(cv, **kwargs), conf=conf, type=type).ci


@confint.register
def _(cw: Classwise, conf: float = 0.95, type: str = "perc", **kwargs) -> xr.DataArray:  # noqa: A002
    """Intervals for every class's optimum of ``cw``: ``boot_ci(boot(cw.cv, **kwargs), conf, type).ci``.

    ``cw`` keeps a reference to the sweep it came from (not saved by ``to_netcdf``).
    """
    if cw.cv is None:
        raise ValueError("this Classwise holds no reference to its CVGlmnet (e.g. it was read with "
                         "Classwise.from_netcdf): the bootstrap resamples the sweep's per-sample losses, so "
                         "use confint(cv) or boot_ci(boot(cv)) on the CVGlmnet itself.")
    measure = cw.table.attrs.get("measure", "deviance")
    if measure != "deviance":
        raise ValueError(f"confint(cw) bootstraps the per-class deviance optimum; cw was computed with "
                         f"measure={measure!r}, whose optima it would not match. Use "
                         "classwise(cv, measure='deviance').")
    return boot_ci(boot(cw.cv, **kwargs), conf=conf, type=type).ci
