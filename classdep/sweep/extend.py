"""Extending a cross-validated lambda grid past an end where optima sit: ``cv_glmnet(extend=True)``.

A class whose cross-validated deviance is smallest at the first or last lambda of the grid
has its optimum at or beyond that end: its optimum and its regret are then only bounds
(see :func:`classdep.classwise`).  R's ``cv.glmnet`` has no remedy; classdep's is to extend
the grid by its own log spacing, in blocks of :data:`BLOCK` lambdas, and to rerun the
cross-validation on the longer grid (same folds, the path warm-started in order, so the
new small lambdas start from the last solution), until every class's optimum and the
global one are inside the grid or a stated limit is reached.

Above ``lambda_max`` (the data-derived start of the default grid, where the fit is
practically the intercept-only one) every class's curve is flat: the grid is extended
upward only when it started below ``lambda_max``, and never past it.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from ..exceptions import warn_caller
from .cvresult import CVGlmnet

__all__ = ["BLOCK", "EdgeWarning", "edge_optima", "extend_sweep"]

BLOCK = 5  # lambdas added at an end per round


class EdgeWarning(UserWarning):
    """Some optimum is still at an end of the grid after ``cv_glmnet(extend=True)`` reached its limit."""


def edge_optima(cv: CVGlmnet) -> tuple[np.ndarray, int]:
    """Each class's and the global deviance optimum as indices into ``cv.lambda_``.

    The per-class curves are the deviances pooled over folds, the global one their sum;
    ties go to the largest lambda (R's ``lambda.min`` rule, as :func:`classdep.classwise`).

    Examples
    --------
    >>> import numpy as np, classdep as cd
    >>> cv = cd.cv_glmnet(cd.datasets.digits(), nfolds=3, lambda_=np.geomspace(1, 1e-2, 4), progress=False)
    >>> j, jg = edge_optima(cv)
    >>> j.shape, 0 <= jg < 4
    ((10,), True)
    """
    dev = cv.results["deviance"].sum("fold").values  # (L, K); lambdas decrease along the path

    def first_min(c: np.ndarray) -> np.ndarray:
        c = np.where(np.isnan(c), np.inf, c)
        return np.argmax(c == c.min(axis=0, keepdims=True), axis=0)

    return first_min(dev), int(first_min(dev.sum(axis=1)))


def extend_sweep(cv: CVGlmnet, rerun: Callable[[np.ndarray], CVGlmnet], lambda_max: Callable[[], float],
                 limit: float = 1e-3) -> CVGlmnet:
    """Rerun ``cv`` on longer grids until no deviance optimum sits at an end, or the limit.

    Parameters
    ----------
    cv : CVGlmnet
        The sweep on the original grid.
    rerun : callable
        ``rerun(lambdas)`` -> the same cross-validation (data, folds, settings) on
        ``lambdas`` (decreasing).
    lambda_max : callable
        ``lambda_max()`` -> the data's ``lambda_max`` (called only when an optimum sits at
        the large-lambda end).
    limit : float
        How far the grid may grow, as a ratio in (0, 1): down to ``limit`` times the
        original grid's smallest lambda, up to its largest divided by ``limit`` (and never
        past ``lambda_max``).

    Returns
    -------
    CVGlmnet
        The sweep on the extended grid; ``results.attrs`` records ``extend_added_low``,
        ``extend_added_high`` (lambdas added below and above), ``extend_limit`` and
        ``extend_limit_reached`` (1 when an optimum is still at an end that the limit
        stopped; an :class:`EdgeWarning` names its classes).

    Examples
    --------
    >>> import numpy as np, classdep as cd
    >>> ds = cd.datasets.make_mixture(n_classes=3, n_samples=300, seed=0)
    >>> cv = cd.cv_glmnet(ds, nfolds=3, lambda_=np.geomspace(10, 1, 4), extend=True, progress=False)
    >>> int(cv.results.attrs["extend_added_low"]) > 0
    True
    """
    if not 0.0 < limit < 1.0:
        raise ValueError(f"extend_limit={limit!r} must lie in (0, 1): the grid may grow down to limit times "
                         "its smallest lambda (default 1e-3, three decades).")
    lam0 = np.asarray(cv.lambda_, dtype=np.float64)
    if lam0.size < 2:
        raise ValueError("extend=True continues the grid by its own log spacing: it needs two lambdas.")
    step = np.log(lam0[0] / lam0[-1]) / (lam0.size - 1)
    floor, ceil = lam0[-1] * limit, lam0[0] / limit
    lmax: list[float] = []  # computed once, when first needed
    ahead = np.exp(step * np.arange(1, BLOCK + 1))
    while True:
        lam = cv.lambda_
        j, jg = edge_optima(cv)
        new = []
        if (j == lam.size - 1).any() or jg == lam.size - 1:
            below = np.maximum(lam[-1] / ahead, floor)  # the last block stops at the limit exactly
            new.append(below[below < lam[-1] * (1 - 1e-12)])
        if (j == 0).any() or jg == 0:
            if not lmax:
                lmax.append(float(lambda_max()))
            top = min(ceil, lmax[0])
            above = np.minimum(lam[0] * ahead, top)
            new.append(above[above > lam[0] * (1 + 1e-12)])
        new = np.unique(np.concatenate(new)) if new else np.empty(0)
        if new.size == 0:
            break
        cv = rerun(np.sort(np.concatenate([lam, new]))[::-1])
    lam = cv.lambda_
    j, jg = edge_optima(cv)
    names = np.asarray(cv.classes).astype(str)
    stuck = []

    def at(i: int) -> list[str]:
        return [*names[j == i], *(["global"] if jg == i else [])]

    if at(lam.size - 1):
        stuck.append(("low", lam[-1], at(lam.size - 1)))
    if at(0) and lmax and lam[0] < lmax[0] * (1 - 1e-12):
        stuck.append(("high", lam[0], at(0)))
    cv.results.attrs.update(extend_added_low=int((lam < lam0[-1]).sum()),
                            extend_added_high=int((lam > lam0[0]).sum()),
                            extend_limit=float(limit), extend_limit_reached=int(bool(stuck)))
    for end, at, who in stuck:
        warn_caller(f"extending the grid reached its limit (extend_limit={limit:g}) at the {end} end, "
                    f"lambda = {at:.4g}, with the optimum of {', '.join(who)} still there: it lies beyond "
                    f"the grid; pass a smaller extend_limit or a grid that reaches further.", EdgeWarning)
    return cv
