"""Estimators of a curve's minimizer and the per-class statistics of replicate curves."""

from __future__ import annotations

import numpy as np

__all__ = ["ESTIMATORS", "SMOOTH_HALF_WIDTH", "STATISTICS", "grid_index", "minimizer", "smooth_log_min",
           "statistic_values"]

STATISTICS = ("lambda_opt", "regret")
ESTIMATORS = ("grid", "smooth", "moon")
SMOOTH_HALF_WIDTH = 3  # grid points either side of the argmin (+-2..+-5 all covered; +-8 did not)


def grid_index(curves: np.ndarray, lam: np.ndarray) -> np.ndarray:
    """Grid argmin along the last axis; ties go to the largest lambda (R's lambda.min rule)."""
    c = np.where(np.isnan(curves), np.inf, curves)
    at = c == c.min(axis=-1, keepdims=True)
    return np.where(at, lam, -np.inf).argmax(axis=-1)


def smooth_log_min(curves: np.ndarray, lam: np.ndarray, half: int = SMOOTH_HALF_WIDTH) -> np.ndarray:
    """Continuous minimizer, in log lambda, of a quadratic fitted around each grid argmin.

    Least squares of ``curve = c0 + c1 x + c2 x^2`` over the argmin and ``half`` grid points
    either side (fewer at the ends of the grid), ``x`` = log lambda centred at the argmin.
    The vertex ``-c1 / (2 c2)`` is clamped to the fitting window, hence to the grid; a
    curve with no positive curvature there keeps its grid argmin.
    """
    loglam = np.log(lam)
    L = lam.size
    j = grid_index(curves, lam)
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


def minimizer(curves: np.ndarray, lam: np.ndarray, estimator: str) -> np.ndarray:
    """Each curve's optimal lambda (lambda units): grid argmin or smoothed minimizer."""
    if estimator == "smooth":
        return np.exp(smooth_log_min(curves, lam))
    return lam[grid_index(curves, lam)]


def statistic_values(curves: np.ndarray, lam: np.ndarray, statistic, estimator: str):
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
        return minimizer(curves, lam, estimator), minimizer(total, lam, estimator)
    jg = grid_index(total, lam)
    jc = grid_index(curves, lam)
    at_g = np.take_along_axis(curves, np.broadcast_to(jg[..., None, None], curves.shape[:-1] + (1,)),
                              axis=-1)[..., 0]
    at_o = np.take_along_axis(curves, jc[..., None], axis=-1)[..., 0]
    g = at_g - at_o
    return g, g.sum(axis=-1)
