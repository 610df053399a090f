"""The class-block preconditioner: the Hessian's per-class diagonal blocks.

Block ``(m, k)`` is ``sum_i omega_im v_ik x~_i x~_i^T`` plus the penalty, with
``x~_i = (x_i, 1)`` and ``v_ik`` the curvature of class ``k``'s own logit; the
cross-class terms of the multinomial Hessian are left out.  Each block is summed over
the rows that carry most of its curvature (:func:`curvature_rows`): at small lambda a
class has its curvature on the few rows near its decision boundaries.
"""

from __future__ import annotations

import numpy as np

from ..backend import to_numpy
from .chunked import take_rows
from .problem import Problem, penalty_diagonal

__all__ = ["BLOCK_DROP", "curvature_rows", "class_blocks"]

# The class blocks of a preconditioner leave out the rows that together carry this
# fraction of a block's curvature.  Measured on the synthetic 100-class problem (PCG to
# 1e-2 at lambda = 1e-5): 0.01 keeps 950 rows a block and needs 12 iterations, 0.05 keeps
# 430 and needs 13, 0.1 keeps 290 and needs 18.
BLOCK_DROP = 0.05


def curvature_rows(prob: Problem, P, *, work_dtype=None, drop: float = BLOCK_DROP, subset=None):
    """Each class's own curvature per row, and the rows that carry most of it.

    Returns ``(v, keep)``: ``v`` (n, M, K) is ``omega_im v_ik`` (see
    :func:`~classdep.solvers.curvature.curvature_diagonal`) in ``work_dtype``; ``keep``
    (NumPy bool, n x M x K) marks, for each (member, class), the fewest rows whose
    weights sum to a fraction
    ``1 - drop`` of the total (ties kept).  ``subset`` (increasing NumPy row indices)
    looks at those rows only (``n`` is then their number): enough to estimate what
    fraction of the rows the blocks would keep.

    Examples
    --------
    >>> import numpy as np
    >>> from classdep.solvers.prepare import prepare, initial_point
    >>> from classdep.solvers.objective import evaluate
    >>> rng = np.random.default_rng(0)
    >>> pp = prepare(rng.normal(size=(40, 3)), rng.integers(0, 3, 40), 3, device="cpu")
    >>> W, b = initial_point(pp)
    >>> P = evaluate(pp.prob, pp.prob.matmul_x(W) + b[None], W, b).P
    >>> v, keep = curvature_rows(pp.prob, P)
    >>> v.shape, keep.dtype
    ((40, 1, 3), dtype('bool'))
    """
    xp = prob.xp
    K, M = prob.K, prob.M
    wdt = prob.X.dtype if work_dtype is None else work_dtype
    # c p (1 - p) for both logistic families (the multinomial diagonal is p - p^2, as for
    # OvA), c for the gaussian family, with c the weight times the squared logit scale.
    omega, ls = prob.omega, prob.link_scale()
    if subset is not None:
        idx = xp.asarray(subset)
        omega, P = xp.take(omega, idx, axis=0), xp.take(P, idx, axis=0)
        if ls is not None and ls.shape[0] > 1:
            ls = xp.take(ls, idx, axis=0)
    c = xp.astype(omega, wdt)[:, :, None]
    n = c.shape[0]
    if ls is not None:
        c = c * xp.astype(ls * ls, wdt)
    if prob.family == "gaussian":
        v = c * xp.ones((1, 1, K), dtype=wdt)
    else:
        P32 = xp.astype(P, wdt)
        v = c * P32 * (1.0 - P32)
    # On the host: a sort of n·M·K numbers costs about one Hessian-vector product, far
    # less than the row sums it saves.
    # Blocks as rows (M K, n): sorts and sums along contiguous memory.
    vn = np.ascontiguousarray(np.reshape(to_numpy(v), (n, M * K)).T)
    srt = -np.sort(-vn, axis=1)
    # float32 sums: the threshold only decides which rows a preconditioner keeps
    cum = np.cumsum(srt, axis=1)
    r = np.minimum(np.sum(cum < (1.0 - drop) * cum[:, -1:], axis=1), n - 1)
    tau = srt[np.arange(M * K), r]
    keep = np.reshape(((vn >= tau[:, None]) & (vn > 0)).T, (n, M, K))
    return v, keep


def class_blocks(prob: Problem, P, *, work_dtype=None, drop: float = BLOCK_DROP, rows=None, dtype=None):
    """The diagonal blocks of the Hessian in (W, b), one per (member, class): (M, K, d+1, d+1).

    Block ``(m, k)`` is ``sum_i omega_im v_ik x~_i x~_i^T`` plus the penalty, with
    ``x~_i = (x_i, 1)`` and ``v_ik`` the curvature of the class's own logit
    (:func:`~classdep.solvers.curvature.curvature_diagonal`).  The cross-class terms
    ``-p_ik p_il`` are left out.

    The sum runs over the fewest rows that carry a fraction ``1 - drop`` of the block's
    curvature (:func:`curvature_rows`; pass its result as ``rows`` to reuse it).  At
    small lambda each class has its curvature on a few hundred rows (those near its
    decision boundaries), so the blocks cost a small fraction of the
    ``2 n (d+1)^2 K`` flops of the full sums.  ``work_dtype`` (e.g. float32) runs the
    products in lower precision; the result is in ``dtype`` (default: the problem's).

    Examples
    --------
    >>> import numpy as np
    >>> from classdep.solvers.prepare import prepare, initial_point
    >>> from classdep.solvers.objective import evaluate
    >>> rng = np.random.default_rng(0)
    >>> pp = prepare(rng.normal(size=(40, 3)), rng.integers(0, 3, 40), 3, device="cpu")
    >>> W, b = initial_point(pp)
    >>> P = evaluate(pp.prob, pp.prob.matmul_x(W) + b[None], W, b).P
    >>> class_blocks(pp.prob, P).shape
    (1, 3, 4, 4)
    """
    xp = prob.xp
    n, d, K, M = prob.n, prob.d, prob.K, prob.M
    dt = prob.X.dtype
    wdt = dt if work_dtype is None else work_dtype
    D1 = d + 1
    v, keep = curvature_rows(prob, P, work_dtype=wdt, drop=drop) if rows is None else rows
    # The rows any block keeps, read once (a chunked X reads each of its chunks once).
    union = np.nonzero(keep.any(axis=(1, 2)))[0]
    pos = np.full(n, -1, dtype=np.int64)
    pos[union] = np.arange(union.size)
    Xu = take_rows(xp, prob.X, xp.asarray(union))
    Xu = xp.astype(xp.concat([Xu, xp.ones((union.size, 1), dtype=dt)], axis=1), wdt)
    odt = dt if dtype is None else dtype
    out = xp.zeros((M, K, D1, D1), dtype=odt)
    eye = xp.eye(D1, dtype=odt)
    for m in range(M):
        pen = xp.astype(penalty_diagonal(prob, m), odt)  # (d+1, K)
        for k in range(K):
            rows_k = np.nonzero(keep[:, m, k])[0]
            idx = xp.asarray(rows_k)
            Xs = xp.take(Xu, xp.asarray(pos[rows_k]), axis=0)
            w = xp.take(v[:, m, k], idx, axis=0)
            Hk = xp.astype(Xs.T @ (Xs * w[:, None]), odt)
            Hk += eye * pen[:, k][None, :]
            out[m, k, ...] = Hk
    if not prob.intercept:
        # b stays zero: its Hessian is the identity, decoupled from W (see Problem)
        mask = xp.concat([xp.ones(d, dtype=odt), xp.zeros(1, dtype=odt)])
        out = out * (mask[:, None] * mask[None, :]) + eye * (1.0 - mask)[None, :]
    return out
