"""Estimators of a curve's minimizer and the per-class statistics of replicate curves.

A curve runs along one axis: the lambda path (estimated on log lambda, ties to the largest
lambda, R's ``lambda.min`` rule) or a grid's levels such as augmentation strengths
(estimated on the level itself, ties to the first level, as :func:`classdep.classwise`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["ESTIMATORS", "LEVEL_HALF_POINTS", "SMOOTH_WINDOW", "STATISTICS", "Axis", "check_window",
           "grid_index", "minimizer", "smooth_min", "statistic_values"]

STATISTICS = ("lambda_opt", "regret")
ESTIMATORS = ("grid", "smooth", "moon")
#: Full width, in decades of lambda, of the window the smoothed estimator fits its quadratic
#: over (centred on the grid argmin).  In decades, not grid points, so that the estimate does
#: not move with the grid's density.  The coverage study (docs' coverage page) found 0.5 and
#: 1 decade alike at nominal, 1.5 beginning to under-cover and 2-3 failing (a wide window
#: reaches the curve's asymmetric flanks and moves the vertex); 1 decade keeps more points
#: against the noise of a coarse grid.
SMOOTH_WINDOW = 1.0
#: Along a grid's levels (augmentation strengths, not on a log scale) no width was studied:
#: the window is the argmin and this many levels either side.
LEVEL_HALF_POINTS = 3


def check_window(window) -> float | None:
    """``window`` as a positive float, or None (the default)."""
    if window is None:
        return None
    try:
        w = float(window)
    except (TypeError, ValueError):
        raise TypeError(f"window={window!r} must be a positive number (decades of lambda) or None.") from None
    if not (np.isfinite(w) and w > 0):
        raise ValueError(f"window={window!r} must be a positive, finite number (decades of lambda).")
    return w


@dataclass(frozen=True, eq=False)
class Axis:
    """The axis a curve runs along: its values, the scale the estimators work on, the tie rule.

    Examples
    --------
    >>> import numpy as np
    >>> a = Axis.path(np.array([1.0, 0.1, 0.01]))
    >>> a.dim, a.log, a.key.tolist()
    ('lambda', True, [1.0, 0.1, 0.01])
    """

    values: np.ndarray
    dim: str = "lambda"
    log: bool = True  # estimate on log values (lambda); False: on the values (a grid's levels)
    key: np.ndarray | None = None  # among tied minima the largest key wins

    @classmethod
    def path(cls, lam: np.ndarray) -> Axis:
        """A lambda path: log scale, ties to the largest lambda."""
        lam = np.asarray(lam, dtype=np.float64)
        return cls(lam, "lambda", True, lam)

    @classmethod
    def levels(cls, values: np.ndarray, dim: str) -> Axis:
        """A grid's levels: linear scale, ties to the first level."""
        values = np.asarray(values, dtype=np.float64)
        return cls(values, dim, False, -np.arange(values.size, dtype=np.float64))

    @property
    def size(self) -> int:
        return int(self.values.size)

    def scale(self, v):
        """Values on the estimators' scale (log lambda, or the level itself)."""
        return np.log(v) if self.log else np.asarray(v, dtype=np.float64)

    def unscale(self, v):
        return np.exp(v) if self.log else v


def grid_index(curves: np.ndarray, key: np.ndarray) -> np.ndarray:
    """Grid argmin along the last axis; among ties the largest ``key`` (``Axis.key``) wins."""
    c = np.where(np.isnan(curves), np.inf, curves)
    at = c == c.min(axis=-1, keepdims=True)
    return np.where(at, key, -np.inf).argmax(axis=-1)


def smooth_min(curves: np.ndarray, axis: Axis, window: float | None = None) -> np.ndarray:
    """Continuous minimizer, on the axis' scale, of a quadratic fitted around each grid argmin.

    Least squares of ``curve = c0 + c1 x + c2 x^2`` over the grid values within
    ``window / 2`` of the argmin, ``x`` = log lambda (or the level) centred at the argmin.
    Along lambda ``window`` is in decades (default :data:`SMOOTH_WINDOW`); along a grid's
    levels it is in the level's units (default: the argmin and :data:`LEVEL_HALF_POINTS`
    levels either side).  The argmin's two neighbours are always in the window, since a
    quadratic needs three points.  The vertex ``-c1 / (2 c2)`` is clamped to the window,
    hence to the grid; a curve with no positive curvature there keeps its grid argmin.

    Examples
    --------
    >>> lam = np.geomspace(1.0, 1e-4, 41)  # 0.1 decades apart
    >>> curve = (np.log10(lam) + 2.03) ** 2  # minimum at lambda = 10^-2.03
    >>> round(float(smooth_min(curve, Axis.path(lam)) / np.log(10)), 6)
    -2.03
    """
    xs_all = axis.scale(axis.values)
    L = axis.size
    j = grid_index(curves, axis.key)
    x = xs_all - xs_all[j][..., None]  # (..., L): every grid value, centred at the argmin
    pos = np.arange(L) - j[..., None]
    if axis.log:
        half = 0.5 * (SMOOTH_WINDOW if window is None else window) * np.log(10.0)
        ok = np.abs(x) <= half * (1.0 + 1e-9)  # the tolerance keeps a point that sits on the edge
    elif window is None:
        ok = np.abs(pos) <= LEVEL_HALF_POINTS
    else:
        ok = np.abs(x) <= 0.5 * window * (1.0 + 1e-9)
    ok |= np.abs(pos) <= 1
    x = np.where(ok, x, 0.0)
    y = np.where(ok, curves - np.take_along_axis(curves, j[..., None], axis=-1), 0.0)
    w = ok.astype(np.float64)
    # normal equations (moments of x up to 4): centring at the argmin keeps them well scaled
    mom = np.stack([(w * x**p).sum(axis=-1) for p in range(5)], axis=-1)
    A = np.stack([mom[..., p:p + 3] for p in range(3)], axis=-2)
    rhs = np.stack([(w * x**p * y).sum(axis=-1) for p in range(3)], axis=-1)
    finite = np.isfinite(A).all(axis=(-2, -1)) & np.isfinite(rhs).all(axis=-1)
    # a window of fewer than three points (a grid of two) has a singular system: keep the argmin
    finite &= w.sum(axis=-1) >= 3
    A = np.where(finite[..., None, None], A, np.eye(3))
    rhs = np.where(finite[..., None], rhs, 0.0)
    coef = np.linalg.solve(A, rhs[..., None])[..., 0]
    c1, c2 = coef[..., 1], coef[..., 2]
    convex = finite & (c2 > 0)
    xs = np.where(convex, -c1 / np.where(convex, 2.0 * c2, 1.0), 0.0)
    lo = np.where(ok, x, np.inf).min(axis=-1)
    hi = np.where(ok, x, -np.inf).max(axis=-1)
    return xs_all[j] + np.clip(xs, lo, hi)


def minimizer(curves: np.ndarray, axis: Axis, estimator: str, window: float | None = None) -> np.ndarray:
    """Each curve's optimum in the axis' units: grid argmin or smoothed minimizer."""
    if estimator == "smooth":
        return axis.unscale(smooth_min(curves, axis, window))
    return axis.values[grid_index(curves, axis.key)]


def statistic_values(curves: np.ndarray, axis: Axis, statistic, estimator: str, window: float | None = None,
                     total: np.ndarray | None = None):
    """``(per class (..., K), global (...) or None)`` from curves (..., K, L) along ``axis``.

    The curves are losses (smaller is better: deviance, or an error rate for an accuracy
    measure); ``total`` (..., L) is the global criterion (default: the sum of the classes').
    lambda_opt: each class's optimum and the global optimum (argmin of ``total``);
    regret: ``G_c = L_c(lambda*) - L_c(lambda*_c)`` on the grid and the total ``G``.
    A callable gets one replicate's curves (K, L) and the axis values.
    """
    lam = axis.values
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
    total = curves.sum(axis=-2) if total is None else total
    if statistic == "lambda_opt":
        return minimizer(curves, axis, estimator, window), minimizer(total, axis, estimator, window)
    jg = grid_index(total, axis.key)
    jc = grid_index(curves, axis.key)
    at_g = np.take_along_axis(curves, np.broadcast_to(jg[..., None, None], curves.shape[:-1] + (1,)),
                              axis=-1)[..., 0]
    at_o = np.take_along_axis(curves, jc[..., None], axis=-1)[..., 0]
    g = at_g - at_o
    return g, g.sum(axis=-1)
