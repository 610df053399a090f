"""The exact Hessian of the objective in (W, b), member by member.

For the multinomial family it couples every pair of classes: ``(d+1) K`` square per
member, ``sum_i x~_i x~_i^T ⊗ omega_i D (diag p_i - p_i p_i^T) D`` plus the penalty and
the gauge term (``x~_i = (x_i, 1)``); for OvA and the gaussian family the classes
decouple into ``K`` blocks of ``(d+1)`` square.  Exact Newton factors it every
iteration; the truncated-Newton solver factors an approximation of it, summed in
float32 over curvature-sampled rows, as its preconditioner.
"""

from __future__ import annotations

import copy

import numpy as np

from ..backend import cho_factor, cho_solve, to_numpy
from .chunked import ChunkedFeatures, row_blocks, take_rows
from .curvature import curvature_trace, curvature_weights
from .problem import GAUGE_WEIGHT, Problem, penalty_diagonal

__all__ = ["hessian_blocks", "HessianFactor", "hessian_bytes", "cholesky_jittered"]


def _sampled_rows(xp, v, idx, factor):
    """Rows ``idx`` of ``v`` scaled by their sampling ``factor`` (all rows when idx is None)."""
    if idx is None:
        return v
    v = xp.take(v, idx, axis=0)
    return v * (factor if v.ndim == 1 else factor[:, None])


def hessian_blocks(prob: Problem, P, *, work_dtype=None, max_rows: int | None = None, seed: int = 0):
    """The Hessian in (W, b) for every member.

    Returns ``(H, per_class)``.  For the multinomial family ``H`` has shape
    (M, (d+1)K, (d+1)K), rows ordered (feature-or-intercept, class).  For OvA the
    classes decouple and ``H`` has shape (M, K, d+1, d+1), one block per class.

    Cost: ``2 n (d+1)^2 (K^2 + K)`` flops per member (multinomial: one product of size
    n x (d+1)K for the rank-one parts, K of size (d+1)^2 for the diagonal ones),
    ``2 n (d+1)^2 K`` (OvA).  For a preconditioner, ``work_dtype``
    (e.g. float32) runs the products in lower precision and ``max_rows`` replaces the
    sum over samples by an unbiased one over ``max_rows`` samples drawn with
    probability proportional to their curvature ``omega_i tr(A_i)`` (sub-sampled Newton
    with non-uniform sampling, Xu et al. 2016): at small lambda most samples are
    classified confidently and carry almost no curvature.  The penalty is added
    exactly, so the result stays positive definite.  It is in the problem's dtype.

    Examples
    --------
    >>> import numpy as np
    >>> from classdep.solvers.prepare import prepare, initial_point
    >>> from classdep.solvers.objective import evaluate
    >>> rng = np.random.default_rng(0)
    >>> pp = prepare(rng.normal(size=(40, 3)), rng.integers(0, 3, 40), 3, device="cpu")
    >>> W, b = initial_point(pp)
    >>> P = evaluate(pp.prob, pp.prob.matmul_x(W) + b[None], W, b).P
    >>> H, per_class = hessian_blocks(pp.prob, P)
    >>> H.shape, per_class
    ((1, 12, 12), False)
    """
    xp = prob.xp
    n, d, K, M = prob.n, prob.d, prob.K, prob.M
    dt = prob.X.dtype
    wdt = dt if work_dtype is None else work_dtype
    D1 = d + 1
    diag, q = curvature_weights(prob, P)
    tr = curvature_trace(prob, P)  # (n, M)
    eyeD = xp.eye(D1, dtype=dt)
    Hs = []
    rng = np.random.default_rng(seed)
    # an in-memory X with its column of ones, built once for every member; a chunked X
    # is read (and extended) chunk by chunk for each member instead
    full = None if isinstance(prob.X, ChunkedFeatures) else [
        (0, n, xp.astype(xp.concat([prob.X, xp.ones((n, 1), dtype=dt)], axis=1), wdt))]
    for m in range(M):
        if max_rows is not None and max_rows < n:
            p = to_numpy(tr[:, m]).astype(np.float64)
            p = p / p.sum()
            draw = np.bincount(rng.choice(n, size=max_rows, p=p), minlength=n)
            sel = np.nonzero(draw)[0]
            # each draw of row i stands for (1 / (max_rows p_i)) of its curvature
            idx = xp.asarray(sel)
            factor = xp.asarray(draw[sel] / (max_rows * p[sel]), dtype=dt)
            Xs = take_rows(xp, prob.X, idx)
            Xs = xp.astype(xp.concat([Xs, xp.ones((Xs.shape[0], 1), dtype=dt)], axis=1), wdt)
            dms = _sampled_rows(xp, diag[:, m, :], idx, factor)
            qms = None if q is None else xp.take(q[:, m, :], idx, axis=0) * xp.sqrt(factor)[:, None]
            parts = [(Xs, dms, qms)]
        else:
            blocks = full if full is not None else (
                (a, b, xp.astype(xp.concat([Xc, xp.ones((b - a, 1), dtype=dt)], axis=1), wdt))
                for a, b, Xc in row_blocks(prob.X))
            parts = ((Xw, diag[a:b, m, :], None if q is None else q[a:b, m, :]) for a, b, Xw in blocks)
        Hm = None
        for Xw, dm, qm in parts:
            dm = xp.astype(dm, wdt)
            if q is None:
                part = xp.stack([Xw.T @ (Xw * dm[:, k][:, None]) for k in range(K)])
            else:
                # sum_i x~_i x~_i^T ⊗ (diag(c_i p_i) - q_i q_i^T) with q_i = sqrt(c_i) p_i:
                # the rank-one parts are one product F^T F (F = x~ ⊗ q, rows scaled by the
                # sampling factor's square root), the diagonal parts K products of size (d+1)^2.
                part = xp.reshape(-_rank_one_sum(xp, Xw, xp.astype(qm, wdt)), (D1, K, D1, K))
                for k in range(K):
                    part[:, k, :, k] = part[:, k, :, k] + Xw.T @ (Xw * dm[:, k][:, None])
            Hm = part if Hm is None else Hm + part
        if q is None:
            Hm = xp.astype(Hm, dt)
            Hm = Hm + xp.permute_dims(penalty_diagonal(prob, m), (1, 0))[:, :, None] * eyeD[None, ...]
            if not prob.intercept:
                Hm[:, d, :] = 0.0
                Hm[:, :, d] = 0.0
                Hm[:, d, d] = 1.0
            Hs.append(Hm)
            continue
        Hm = xp.astype(Hm, dt)
        Hm = xp.reshape(Hm, (D1 * K, D1 * K))
        pen = xp.reshape(penalty_diagonal(prob, m), (D1 * K,))
        Hm = Hm + pen[:, None] * xp.eye(D1 * K, dtype=dt)
        if prob.intercept:
            g = xp.concat([xp.zeros(d * K, dtype=dt), prob.gauge])
            Hm = Hm + GAUGE_WEIGHT * g[:, None] * g[None, :]
        else:
            Hm[d * K:, :] = 0.0
            Hm[:, d * K:] = 0.0
            Hm = Hm + xp.concat([xp.zeros(d * K, dtype=dt), xp.ones(K, dtype=dt)])[:, None] * xp.eye(
                D1 * K, dtype=dt)
        Hs.append(Hm)
    return xp.stack(Hs), q is None


# Flops of one block of the rank-one sum F^T F (see _rank_one_sum): BLAS holds the
# interpreter for the whole of one call, so blocks of about this size (a fraction of a
# second on one core) let a Ctrl-C or an alarm through between them.
_BLOCK_FLOPS = 2e9
_MIN_BLOCK_ROWS = 256


def _rank_one_sum(xp, Xw, q):
    """``F^T F`` with ``F = x~ ⊗ q`` (rows ``x~_i ⊗ q_i``), summed over row blocks.

    One product over all rows would cost ``2 n ((d+1) K)^2`` flops in one uninterruptible
    call (minutes for large heads); blocks of :data:`_BLOCK_FLOPS` (at least
    :data:`_MIN_BLOCK_ROWS` rows, so that each stays an efficient product) do the same
    sum, and never form ``F`` whole.
    """
    nr, D1 = Xw.shape
    K = q.shape[1]
    p = D1 * K
    step = int(max(_MIN_BLOCK_ROWS, _BLOCK_FLOPS // (2 * p * p + 1)))
    out = None
    for a in range(0, nr, step):
        e = min(a + step, nr)
        F = xp.reshape(Xw[a:e, :, None] * q[a:e, None, :], (e - a, p))
        part = F.T @ F
        out = part if out is None else out + part
    return out


def hessian_bytes(n: int, d: int, K: int, M: int, family: str, itemsize: int = 8) -> int:
    """Memory the exact Hessians of a batch need, with the largest temporary.

    Examples
    --------
    >>> round(hessian_bytes(60000, 128, 10, 5, "multinomial") / 2**30, 2)  # GiB: 5 folds, float64
    1.22
    """
    D1 = d + 1
    if family == "multinomial":
        return itemsize * (M * (D1 * K) ** 2 + 2 * n * D1 * K)
    return itemsize * (M * K * D1 * D1 + n * D1)


def cholesky_jittered(xp, H, approximate: bool):
    """Cholesky factors of the matrices ``H`` (B, p, p), as :func:`~classdep.backend.cho_factor`.

    An approximate Hessian (``approximate``: float32 sums, sampled rows) that lost
    definiteness to rounding gets a diagonal shift of a few float32 roundoffs, doubled
    until the factorization succeeds.  The exact Hessian is positive definite and is
    factored as it is.

    Examples
    --------
    >>> import array_api_compat.numpy as xp
    >>> import numpy as np
    >>> f = cholesky_jittered(xp, np.eye(2)[None] * 4.0, approximate=False)
    >>> cho_solve(xp, f, np.ones((1, 2, 1)))[0, :, 0].tolist()
    [0.25, 0.25]
    """
    try:
        f = cho_factor(xp, H)
        if not approximate or _finite(xp, f):
            return f
    except np.linalg.LinAlgError:
        if not approximate:
            raise
    diag = xp.linalg.diagonal(H)
    shift = 16 * float(np.finfo(np.float32).eps) * xp.max(xp.abs(diag), axis=-1)
    eye = xp.eye(H.shape[-1], dtype=H.dtype)
    for _ in range(30):
        try:
            f = cho_factor(xp, H + shift[:, None, None] * eye)
            if _finite(xp, f):
                return f
        except np.linalg.LinAlgError:
            pass
        shift = 2 * shift
    raise np.linalg.LinAlgError("the Hessian preconditioner could not be factored; pass "
                                "preconditioner='kronecker'.")


def _finite(xp, factor) -> bool:
    kind, f = factor
    if kind == "numpy":
        return True  # LAPACK raised already if it failed
    return bool(xp.all(xp.isfinite(f)))  # cuSOLVER returns NaN instead of raising


class HessianFactor:
    """Cholesky factors of the exact Hessian of every member, and solves with them.

    ``approx`` goes to :func:`hessian_blocks` (``work_dtype``, ``max_rows``, ``seed``):
    without it this is exact Newton's solve; with it, a preconditioner.

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
    >>> SW, Sb = HessianFactor(prob, ev.P).solve(ev.gW, ev.gb)
    >>> SW.shape, Sb.shape
    ((3, 1, 3), (1, 3))
    """

    def __init__(self, prob: Problem, P, **approx):
        xp = prob.xp
        self.prob = prob
        H, self.per_class = hessian_blocks(prob, P, **approx)
        d, K, M = prob.d, prob.K, prob.M
        if self.per_class:
            H = xp.reshape(H, (M * K, d + 1, d + 1))
        self.factor = cholesky_jittered(xp, H, approximate=bool(approx))

    def at_penalty(self, prob: Problem) -> HessianFactor:
        """The same factors for ``prob`` (another penalty on the same rows and members).

        They keep the penalty they were formed with: for a neighbouring lambda, a
        preconditioner at the cost of more CG iterations, where a formation sums
        ``2 m ((d+1) K)^2`` flops over ``m`` rows.
        """
        new = copy.copy(self)
        new.prob = prob
        return new

    @staticmethod
    def nbytes(n: int, d: int, K: int, M: int, *, family: str = "multinomial", itemsize: int = 8) -> int:
        """Bytes of the Hessians and their largest temporary (:func:`hessian_bytes`)."""
        return hessian_bytes(n, d, K, M, family, itemsize)

    def solve(self, gW, gb):
        """``H^{-1} [gW; gb]`` laid out like (gW (d, M, K), gb (M, K))."""
        prob = self.prob
        xp = prob.xp
        d, K, M = prob.d, prob.K, prob.M
        if self.per_class:
            g = xp.concat([xp.permute_dims(gW, (1, 2, 0)), gb[:, :, None]], axis=2)  # (M, K, d+1)
            s = cho_solve(xp, self.factor, xp.reshape(g, (M * K, d + 1, 1)))
            s = xp.reshape(s, (M, K, d + 1))
            return xp.permute_dims(s[:, :, :d], (2, 0, 1)), s[:, :, d]
        # rows ordered (feature-or-intercept, class), as hessian_blocks lays them out
        g = xp.concat([xp.permute_dims(gW, (1, 0, 2)), gb[:, None, :]], axis=1)  # (M, d+1, K)
        s = cho_solve(xp, self.factor, xp.reshape(g, (M, (d + 1) * K, 1)))
        s = xp.reshape(s, (M, d + 1, K))
        return xp.permute_dims(s[:, :d, :], (1, 0, 2)), s[:, d, :]
