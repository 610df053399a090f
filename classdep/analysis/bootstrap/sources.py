"""What the out-of-fold bootstrap resamples: per-sample deviance curves along one axis.

Along the lambda path they come from a sweep's ``oof`` (``lambda``, ``sample``); over a
grid's levels (``over="augment"``) from every level's ``oof`` at one lambda ``s``, the
levels sharing their samples, so that one resample of the samples is paired across levels
as it is across lambdas.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import xarray as xr

from ...sweep import CVGlmnet, CVGrid, Heldout
from ..classwise import joint_lambda
from .estimators import Axis
from .resampling import class_order

__all__ = ["Losses", "check_over", "grid_source", "oof_source"]


@dataclass(frozen=True, eq=False)
class Losses:
    """Per-sample deviance curves ``D`` (n, P), rows sorted by class, along ``axis``.

    ``starts`` (K + 1) bound the classes, ``bounds`` the resampling strata (the classes,
    or all samples); ``s`` is the lambda at which a grid's levels were read, else None.
    """

    D: np.ndarray
    starts: np.ndarray
    bounds: np.ndarray
    axis: Axis
    classes: np.ndarray
    s: float | None = None

    @property
    def n(self) -> int:
        return int(self.D.shape[0])


def _sorted(loss: np.ndarray, y: np.ndarray, w: np.ndarray, classes: np.ndarray, strata,
            axis: Axis, s: float | None = None) -> Losses:
    """Losses from per-sample losses (P, n), checked, with the rows sorted by class."""
    if not np.isfinite(loss).all():
        raise ValueError("oof['loss'] holds NaN or infinite values.")
    K = classes.size
    if y.min() < 0 or y.max() >= K:
        raise ValueError(f"oof['y'] must hold class codes 0..{K - 1}.")
    order, starts = class_order(y, K)
    if np.any(np.diff(starts) == 0):
        raise ValueError("every class needs at least one out-of-fold sample.")
    bounds = starts if strata == "class" else np.array([0, y.size])
    return Losses((2.0 * w[:, None] * loss.T)[order], starts, bounds, axis, classes, s)


def _oof_of(cv) -> xr.Dataset:
    """``cv.oof`` (or the Dataset itself), with the variables the bootstrap reads."""
    if not isinstance(cv, CVGlmnet | Heldout | xr.Dataset):
        raise TypeError(f"boot() needs the result of cv_glmnet() or assess() (or its oof Dataset); got "
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
    return oof


def _labels(oof: xr.Dataset) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    y = oof["y"].values.astype(np.int64)
    w = oof["weight"].values.astype(np.float64) if "weight" in oof else np.ones(y.size)
    classes = oof["class"].values if "class" in oof.coords else np.arange(int(y.max()) + 1)
    return y, w, classes


def oof_source(cv: CVGlmnet | Heldout | xr.Dataset, strata) -> Losses:
    """Per-sample deviance curves along the lambda path, from ``cv.oof`` (or an oof-like Dataset).

    ``cv`` may be a :class:`~classdep.Heldout` (``assess``): its held-out samples are then
    resampled within class, as a sweep's out-of-fold samples are.

    Examples
    --------
    >>> import numpy as np, xarray as xr
    >>> oof = xr.Dataset({"loss": (("lambda", "sample"), np.ones((2, 3))), "y": ("sample", [0, 1, 0])},
    ...                  coords={"lambda": [1.0, 0.1]})
    >>> src = oof_source(oof, "class")
    >>> src.D.shape, src.starts.tolist()
    ((3, 2), [0, 2, 3])
    """
    oof = _oof_of(cv)
    lam = oof["lambda"].values.astype(np.float64)
    if np.any(lam <= 0):
        raise ValueError("the lambda grid must be positive.")
    y, w, classes = _labels(oof)
    return _sorted(oof["loss"].values.astype(np.float64), y, w, classes, strata, Axis.path(lam))


def check_over(cv, over: str, s: float | None) -> None:
    """``over`` names an axis of ``cv``: ``"lambda"``, or a grid's dim (with ``s`` only then)."""
    if isinstance(cv, CVGrid):
        if over not in ("lambda", cv.dim):
            raise ValueError(f"over={over!r}: this grid's axes are 'lambda' (per {cv.dim} level) and "
                             f"{cv.dim!r} (each class's best level at one lambda s).")
        if over == "repeat":
            raise ValueError("over='repeat': repeats are other fold draws, not a hyperparameter; use "
                             "over='lambda' (per repeat).")
    elif over != "lambda":
        raise ValueError(f"over={over!r}: a single sweep has one axis, 'lambda'; over a grid's levels "
                         "needs the CVGrid of cv_glmnet(..., augment=...).")
    if s is not None and over == "lambda":
        raise ValueError("s= is the lambda at which a grid's levels are compared: it goes with over=<the "
                         "grid's dim>, not with over='lambda'.")


def grid_source(grid: CVGrid, strata, s: float | None = None) -> Losses:
    """Per-sample deviance curves along the grid's levels at one lambda ``s``.

    ``s`` defaults to :func:`joint_lambda`; a given ``s`` is read at the nearest grid
    lambda (in log).  The levels must hold the same samples (same ``y`` and weights).
    """
    oofs = [_oof_of(grid[i]) for i in range(len(grid))]
    lam = oofs[0]["lambda"].values.astype(np.float64)
    if any(not np.array_equal(o["lambda"].values, lam) for o in oofs):
        raise ValueError(f"the grid's levels have different lambda grids, so no one lambda compares them "
                         f"across {grid.dim!r}: pass one lambda_ to cv_glmnet.")
    y, w, classes = _labels(oofs[0])
    for i, o in enumerate(oofs[1:], start=1):
        yi, wi, _ = _labels(o)
        if not (np.array_equal(yi, y) and np.array_equal(wi, w)):
            raise ValueError(f"over={grid.dim!r} resamples samples paired across the levels, but level {i} "
                             f"holds other samples than level 0 (its y or weights differ): pass the same "
                             f"samples to every level.")
    s = joint_lambda(grid) if s is None else float(s)
    if not s > 0:
        raise ValueError(f"s={s!r} must be a positive lambda.")
    j = int(np.argmin(np.abs(np.log(lam) - np.log(s))))
    levels = np.asarray(grid.augment)
    if not np.issubdtype(levels.dtype, np.number):
        raise ValueError(f"the grid's {grid.dim!r} coordinate is not numeric ({levels!r}).")
    loss = np.stack([o["loss"].values[j] for o in oofs]).astype(np.float64)  # (levels, n)
    d = np.diff(levels.astype(np.float64))
    if not (np.all(d > 0) or np.all(d < 0)):
        # the smooth estimator fits over neighbouring levels: they must be neighbours in value
        order = np.argsort(levels, kind="stable")
        levels, loss = levels[order], loss[order]
    return _sorted(loss, y, w, classes, strata, Axis.levels(levels, grid.dim), float(lam[j]))
