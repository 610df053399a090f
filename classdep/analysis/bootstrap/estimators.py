"""Estimators of a curve's minimizer and the per-class statistics of replicate curves.

A curve runs along one axis: the lambda path (estimated on log lambda, ties to the largest
lambda, R's ``lambda.min`` rule) or a grid's levels such as augmentation strengths
(estimated on the level itself, ties to the first level, as :func:`classdep.classwise`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["ESTIMATORS", "SMOOTH_HALF_WIDTH", "STATISTICS", "Axis", "grid_index", "minimizer", "smooth_min",
           "statistic_values"]

STATISTICS = ("lambda_opt", "regret")
ESTIMATORS = ("grid", "smooth", "moon")
SMOOTH_HALF_WIDTH = 3  # grid points either side of the argmin (+-2..+-5 all covered; +-8 did not)


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


def smooth_min(curves: np.ndarray, axis: Axis, half: int = SMOOTH_HALF_WIDTH) -> np.ndarray:
    """Continuous minimizer, on the axis' scale, of a quadratic fitted around each grid argmin.

    Least squares of ``curve = c0 + c1 x + c2 x^2`` over the argmin and ``half`` grid points
    either side (fewer at the ends of the grid), ``x`` = log lambda (or the level) centred
    at the argmin.  The vertex ``-c1 / (2 c2)`` is clamped to the fitting window, hence to
    the grid; a curve with no positive curvature there keeps its grid argmin.
    """
    loglam = axis.scale(axis.values)
    L = axis.size
    j = grid_index(curves, axis.key)
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


def minimizer(curves: np.ndarray, axis: Axis, estimator: str) -> np.ndarray:
    """Each curve's optimum in the axis' units: grid argmin or smoothed minimizer."""
    if estimator == "smooth":
        return axis.unscale(smooth_min(curves, axis))
    return axis.values[grid_index(curves, axis.key)]


def statistic_values(curves: np.ndarray, axis: Axis, statistic, estimator: str):
    """``(per class (..., K), global (...) or None)`` from curves (..., K, L) along ``axis``.

    lambda_opt: each class's optimum and the global optimum (argmin of the summed curve);
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
    total = curves.sum(axis=-2)
    if statistic == "lambda_opt":
        return minimizer(curves, axis, estimator), minimizer(total, axis, estimator)
    jg = grid_index(total, axis.key)
    jc = grid_index(curves, axis.key)
    at_g = np.take_along_axis(curves, np.broadcast_to(jg[..., None, None], curves.shape[:-1] + (1,)),
                              axis=-1)[..., 0]
    at_o = np.take_along_axis(curves, jc[..., None], axis=-1)[..., 0]
    g = at_g - at_o
    return g, g.sum(axis=-1)
