"""The class-block preconditioner: the Hessian's per-class diagonal blocks.

Block ``(m, k)`` is ``sum_i omega_im v_ik x~_i x~_i^T`` plus the penalty, with
``x~_i = (x_i, 1)`` and ``v_ik`` the curvature of class ``k``'s own logit; the
cross-class terms of the multinomial Hessian are left out.  Each block is summed over
the rows that carry most of its curvature (:func:`curvature_rows`): at small lambda a
class has its curvature on the few rows near its decision boundaries.
"""

from __future__ import annotations

import copy

import numpy as np

from ..backend import cho_solve, to_numpy
from .chunked import take_rows
from .hessian import cholesky_jittered
from .problem import GAUGE_WEIGHT, Problem, gauge_direction, penalty_diagonal

__all__ = ["BLOCK_DROP", "curvature_rows", "class_blocks", "ClassBlockFactor", "class_block_bytes"]

# The class blocks of a preconditioner leave out the rows that together carry this
# fraction of a block's curvature.  Dropping rows makes a formation cheaper and the
# preconditioner weaker: on many classes at small lambda, 0.05 keeps about half the rows
# that 0.01 keeps for about one more CG iteration, while larger fractions lengthen CG
# faster than they save rows.
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


def class_block_bytes(n: int, d: int, K: int, M: int, itemsize: int = 8) -> int:
    """Memory the per-class Hessian blocks of a batch need, factors included.

    Examples
    --------
    >>> round(class_block_bytes(20000, 256, 100, 5) / 2**30, 2)  # GiB: 5 folds, float64
    0.57
    """
    return itemsize * (2 * M * K * (d + 1) ** 2 + 2 * n * (d + 1))


class ClassBlockFactor:
    """A preconditioner for the multinomial Hessian from its per-class diagonal blocks.

    The multinomial Hessian is ``D - C``: ``D`` holds the per-class blocks
    (:func:`class_blocks`) and ``C`` the cross-class terms
    ``sum_i x~_i x~_i^T ⊗ q_i q_i^T``.  ``D`` alone is a poor preconditioner because of
    the softmax gauge: along ``v ⊗ u`` (the same change to every class, see
    :func:`~classdep.solvers.problem.gauge_direction`) the loss is flat, ``C`` cancels
    ``D`` exactly, and the Hessian is the penalty alone, while ``D`` is large there.  The
    gauge directions and their complement are invariant subspaces of the Hessian (exactly
    so for a penalty that is the same for every class), so the preconditioner treats them
    apart: ``Pi D^{-1} Pi`` on the complement (``Pi`` the projection out of the gauge) and
    the inverse penalty on the gauge itself.

    On many nearly separable classes at small lambda, CG needs about half the
    iterations it needs with ``D^{-1}`` unprojected, and several times fewer than with the
    Kronecker preconditioner.  The cost is ``M K`` blocks of ``(d+1)^2`` (memory) and
    their sums over the rows that carry curvature, a small fraction of the full sums at
    the small lambdas where the preconditioner matters (see :func:`class_blocks`).
    For OvA the blocks are the Hessian itself (up to the skipped rows).

    Examples
    --------
    >>> import numpy as np
    >>> from classdep.solvers.prepare import prepare, initial_point
    >>> from classdep.solvers.objective import evaluate
    >>> rng = np.random.default_rng(0)
    >>> pp = prepare(rng.normal(size=(40, 3)), rng.integers(0, 3, 40), 3, device="cpu")
    >>> prob = pp.prob.with_lambda(np.full((1, 3), 0.1))
    >>> W, b = initial_point(pp)
    >>> ev = evaluate(prob, prob.matmul_x(W) + b[None], W, b)
    >>> SW, Sb = ClassBlockFactor(prob, ev.P).solve(ev.gW, ev.gb)
    >>> SW.shape, Sb.shape
    ((3, 1, 3), (1, 3))
    """

    def __init__(self, prob: Problem, P, work_dtype=None, rows=None):
        xp = prob.xp
        self.prob = prob
        d, K, M = prob.d, prob.K, prob.M
        # Factors in the work dtype: each CG iteration reads all M K of them, (d+1)^2
        # numbers each, so applying them is memory-bound and float32 halves it; the blocks
        # are float32 sums already.
        H = class_blocks(prob, P, work_dtype=work_dtype, rows=rows, dtype=work_dtype)
        H = xp.reshape(H, (M * K, d + 1, d + 1))
        self.dtype = H.dtype
        self.factor = cholesky_jittered(xp, H, approximate=True)
        # With NumPy, solves with the factors (two BLAS triangular solves per block, see
        # backend.cho_solve): explicit inverses cost more to form than they save over the
        # CG iterations that one formation serves.  Elsewhere (CuPy), explicit inverses:
        # one batched product per CG iteration instead of 2 M K triangular solves
        # launched one by one.
        self.inv = None
        kind, f = self.factor
        if kind == "cupy":
            Linv = xp.linalg.inv(f)
            self.inv = xp.permute_dims(Linv, (0, 2, 1)) @ Linv
        elif kind != "numpy":
            inv = xp.linalg.inv(f)
            self.inv = 0.5 * (inv + xp.permute_dims(inv, (0, 2, 1)))
        self.u = gauge_direction(prob)
        self.inv_gauge = self._inverse_gauge(prob)

    def _inverse_gauge(self, prob: Problem):
        """The inverse Hessian along the gauge: the inverse penalty (d+1, M), or None."""
        if self.u is None:
            return None
        xp = prob.xp
        d, M = prob.d, prob.M
        u2 = self.u * self.u
        if prob.elementwise:
            lam_g = xp.sum(prob.lam * u2[None, None, :], axis=2)  # (d, M)
        else:
            lam_g = xp.broadcast_to(xp.sum(prob.lam * u2[None, :], axis=1)[None, :], (d, M))
        gauge_b = GAUGE_WEIGHT if prob.intercept else 1.0
        return 1.0 / xp.concat([lam_g, xp.full((1, M), gauge_b, dtype=lam_g.dtype)], axis=0)

    @staticmethod
    def nbytes(n: int, d: int, K: int, M: int, *, family: str = "multinomial", itemsize: int = 8) -> int:
        """Bytes of the blocks and their factors (:func:`class_block_bytes`)."""
        return class_block_bytes(n, d, K, M, itemsize)

    def at_penalty(self, prob: Problem) -> ClassBlockFactor:
        """The same blocks for ``prob`` (another penalty): the gauge part is exact there.

        The blocks keep the penalty they were formed with; as a preconditioner for a
        neighbouring lambda that costs a few CG iterations, far less than a formation.
        """
        new = copy.copy(self)
        new.prob = prob
        new.inv_gauge = self._inverse_gauge(prob)
        return new

    def solve(self, gW, gb):
        """The preconditioner applied to ``[gW; gb]``, laid out like (gW (d, M, K), gb (M, K))."""
        prob = self.prob
        xp = prob.xp
        d, K, M = prob.d, prob.K, prob.M
        R = xp.concat([gW, gb[None, :, :]], axis=0)  # (d+1, M, K)
        u = self.u
        if u is not None:
            along = R @ u  # (d+1, M)
            R = R - along[:, :, None] * u
        g = xp.astype(xp.reshape(xp.permute_dims(R, (1, 2, 0)), (M * K, d + 1, 1)), self.dtype)
        Z = cho_solve(xp, self.factor, g) if self.inv is None else self.inv @ g
        Z = xp.astype(Z, R.dtype)
        Z = xp.permute_dims(xp.reshape(Z, (M, K, d + 1)), (2, 0, 1))
        if u is not None:
            Z = Z - (Z @ u)[:, :, None] * u + (along * self.inv_gauge)[:, :, None] * u
        return Z[:d, ...], Z[d, ...]
