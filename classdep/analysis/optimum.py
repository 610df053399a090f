"""Where a curve's optimum lies: the tie rule, and the plateau within the curve's noise.

A per-class accuracy curve is a step function of counts: on a coarse grid or at large
lambda it is often flat, so "the" optimum is a set.  R's ``lambda.min`` rule (the largest
lambda among the ties) then puts the optimum at the first lambda of the path whenever the
curve starts flat, and the class looks as if it wanted more penalty than the grid offers.
classdep reports the optimum in two parts:

* a point estimate, :func:`best_index`: the best value, and among exact ties the middle
  one (the median of the tied positions), moved off an end of the grid when another tied
  position is inside it; so a tie never pushes the optimum to an edge;
* the plateau, :func:`plateau`: the run of grid points around the point estimate whose
  value is within ``z`` standard errors of the optimum, the standard error being that of
  the paired difference between the two grid points over the same held-out samples (the
  noise that decides whether two lambdas can be told apart; the one-standard-error rule of
  Hastie, Tibshirani & Friedman 2009, sect. 7.10, applied per class and paired).
"""

from __future__ import annotations

import numpy as np

__all__ = ["best_index", "plateau", "regret"]


def best_index(curve: np.ndarray, larger: bool = False) -> np.ndarray:
    """Position of each column's best value along the first axis, ties to their middle.

    Parameters
    ----------
    curve : array (n, ...)
        Values along the grid (first axis); NaN counts as worst.
    larger : bool
        Larger is better (accuracies) rather than smaller (deviances).

    Returns
    -------
    ndarray of int, shape ``curve.shape[1:]``
        The median of the positions that attain the best value (the upper median of an
        even count); if it is an end of the grid (0 or n - 1) and a tied position is not,
        the tied position inside the grid nearest to it.

    Examples
    --------
    >>> best_index(np.array([0.9, 0.9, 0.9, 0.8]), larger=True).item()
    1
    >>> best_index(np.array([[3.0, 1.0], [2.0, 1.0], [1.0, 2.0]])).tolist()
    [2, 1]
    """
    c = np.asarray(curve, dtype=float)
    c = -c if larger else c
    c = np.where(np.isnan(c), np.inf, c)
    n = c.shape[0]
    flat = c.reshape(n, -1)
    at = flat == flat.min(axis=0)
    out = np.argmax(at, axis=0)
    # only columns with ties need the rule; most deviance curves have none
    for k in np.nonzero(at.sum(axis=0) > 1)[0]:
        tied = np.nonzero(at[:, k])[0]
        j = tied[tied.size // 2]
        inner = tied[(tied > 0) & (tied < n - 1)]
        if j in (0, n - 1) and inner.size:
            j = inner[np.argmin(np.abs(inner - j))]
        out[k] = j
    return out.reshape(c.shape[1:])


def plateau(curve: np.ndarray, index: np.ndarray, se: np.ndarray,
            z: float = 1.0) -> tuple[np.ndarray, np.ndarray]:
    """The run of grid points around each optimum within ``z`` standard errors of it.

    Parameters
    ----------
    curve : array (n, K)
        Per-class curves along the grid.
    index : array (K,) of int
        The optimum of each class (:func:`best_index`).
    se : array (n, K)
        Standard error of ``curve[j, k] - curve[index[k], k]`` (0 at the optimum); NaN
        where it is unknown, in which case the plateau is the run of exact ties.
    z : float
        How many standard errors count as "within the noise".

    Returns
    -------
    first, last : ndarray of int, shape (K,)
        The first and last grid positions of each class's plateau (``first <= index <=
        last``); the plateau is contiguous, so a distant second minimum is not part of it.

    Examples
    --------
    >>> cur = np.array([[5.0], [4.1], [4.0], [4.6], [9.0]])
    >>> plateau(cur, np.array([2]), np.full((5, 1), 0.7))
    (array([1]), array([3]))
    """
    cur = np.asarray(curve, dtype=float)
    n, K = cur.shape
    first = np.empty(K, dtype=int)
    last = np.empty(K, dtype=int)
    for k in range(K):
        j0 = int(index[k])
        gap = np.abs(cur[:, k] - cur[j0, k])
        tol = np.where(np.isnan(se[:, k]), 0.0, z * se[:, k])
        inside = (gap <= tol) | (gap == 0)
        lo = hi = j0
        while lo > 0 and inside[lo - 1]:
            lo -= 1
        while hi < n - 1 and inside[hi + 1]:
            hi += 1
        first[k], last[k] = lo, hi
    return first, last


def regret(cur: np.ndarray, glob: np.ndarray, larger: bool,
           cur_eval: np.ndarray | None = None) -> tuple[np.ndarray, int, np.ndarray]:
    """Each class's regret when the optima are chosen on (``cur``, ``glob``), scored on ``cur_eval``.

    Parameters
    ----------
    cur : array (L, K)
        Per-class curves on which each class's optimum is chosen.
    glob : array (L,)
        The criterion on which the shared optimum is chosen.
    larger : bool
        Larger is better.
    cur_eval : array (L, K), optional
        The curves on which the choice is scored (default ``cur``; cross-fitting passes
        the other half).

    Returns
    -------
    regret : ndarray (K,)
        ``cur_eval`` at the class's optimum minus at the shared one, signed so that
        positive means the shared lambda costs the class.
    j_glob : int
    j_cls : ndarray (K,) of int

    Examples
    --------
    >>> cur = np.array([[1.0, 5.0], [2.0, 3.0], [4.0, 2.0]])
    >>> regret(cur, cur.sum(axis=1), larger=False)[0].tolist()
    [1.0, 1.0]
    """
    cur_eval = cur if cur_eval is None else cur_eval
    j_glob = int(best_index(glob, larger))
    j_cls = best_index(cur, larger)
    K = cur.shape[1]
    at_g = cur_eval[j_glob]
    at_o = cur_eval[j_cls, np.arange(K)]
    return ((at_o - at_g) if larger else (at_g - at_o)), j_glob, j_cls
