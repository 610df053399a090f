"""Exact Newton (IRLS) steps: form the Hessian, factor it by Cholesky, solve.

Exact to rounding and quadratically convergent; its cost, ``n (d+1)^2 K^2`` per member
and iteration for the multinomial family, pays off when ``d K`` is small.  The same
factorization, formed once per lambda, is the preconditioner of the truncated-Newton
solver (:mod:`classdep.solvers.newton_cg`) for mid-sized problems.
"""

from __future__ import annotations

import copy

import numpy as np

from ..backend import cho_factor, cho_solve
from .class_blocks import class_blocks
from .driver import State
from .hessian import hessian_blocks
from .problem import GAUGE_WEIGHT, Problem, gauge_direction

__all__ = ["CholeskyNewton", "ClassBlockFactor", "HessianFactor", "class_block_bytes", "hessian_bytes"]


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


def class_block_bytes(n: int, d: int, K: int, M: int, itemsize: int = 8) -> int:
    """Memory the per-class Hessian blocks of a batch need, factors included.

    Examples
    --------
    >>> round(class_block_bytes(20000, 256, 100, 5) / 2**30, 2)  # GiB: 5 folds, float64
    0.57
    """
    return itemsize * (2 * M * K * (d + 1) ** 2 + 2 * n * (d + 1))


def _cho_factor_jittered(xp, H, approximate: bool):
    """Cholesky factors; an approximate Hessian (float32 sums, sampled rows) that lost
    definiteness to rounding gets a diagonal shift of a few float32 roundoffs, doubled
    until the factorization succeeds.  The exact Hessian is positive definite and is
    factored as it is."""
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
    """Cholesky factors of the exact Hessian of every member, and solves with them."""

    def __init__(self, prob: Problem, P, **approx):
        xp = prob.xp
        self.prob = prob
        H, self.per_class = hessian_blocks(prob, P, **approx)
        d, K, M = prob.d, prob.K, prob.M
        if self.per_class:
            H = xp.reshape(H, (M * K, d + 1, d + 1))
        self.factor = _cho_factor_jittered(xp, H, approximate=bool(approx))

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


class ClassBlockFactor:
    """A preconditioner for the multinomial Hessian from its per-class diagonal blocks.

    The multinomial Hessian is ``D - C``: ``D`` holds the per-class blocks
    (:func:`~classdep.solvers.objective.class_blocks`) and ``C`` the cross-class terms
    ``sum_i x~_i x~_i^T ⊗ q_i q_i^T``.  ``D`` alone is a poor preconditioner because of
    the softmax gauge: along ``v ⊗ u`` (the same change to every class, see
    :func:`~classdep.solvers.objective.gauge_direction`) the loss is flat, ``C`` cancels
    ``D`` exactly, and the Hessian is the penalty alone, while ``D`` is large there.  The
    gauge directions and their complement are invariant subspaces of the Hessian (exactly
    so for a penalty that is the same for every class), so the preconditioner treats them
    apart: ``Pi D^{-1} Pi`` on the complement (``Pi`` the projection out of the gauge) and
    the inverse penalty on the gauge itself.

    Measured on the synthetic 100-class problem at lambda = 1e-5 (PCG to 1e-2 relative
    residual): 12 iterations, against 23 with ``D^{-1}`` unprojected and 91 with the
    Kronecker preconditioner.  The cost is ``M K`` blocks of ``(d+1)^2`` (memory) and
    their sums over the rows that carry curvature, a small fraction of the full sums at
    the small lambdas where the preconditioner matters (see ``class_blocks``).
    For OvA the blocks are the Hessian itself (up to the skipped rows).
    """

    def __init__(self, prob: Problem, P, work_dtype=None, rows=None):
        xp = prob.xp
        self.prob = prob
        d, K, M = prob.d, prob.K, prob.M
        # Factors in the work dtype: each CG iteration reads all M K of them (264 MB in
        # float64 at K = 100, d = 256), so applying them is memory-bound and float32 halves
        # it; the blocks are float32 sums already.
        H = class_blocks(prob, P, work_dtype=work_dtype, rows=rows, dtype=work_dtype)
        H = xp.reshape(H, (M * K, d + 1, d + 1))
        self.dtype = H.dtype
        self.factor = _cho_factor_jittered(xp, H, approximate=True)
        # With NumPy, solves with the factors (two BLAS triangular solves per block, see
        # backend.cho_solve): explicit inverses cost 0.7 s a formation at M K = 500 blocks
        # of 257, which the 6 ms they save per solve repays after about 100 solves, more
        # than a formation serves.  Elsewhere (CuPy), explicit inverses: one batched
        # product per CG iteration instead of 2 M K triangular solves launched one by one.
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


class CholeskyNewton:
    """Inner solver: the exact Newton direction ``-H^{-1} g``, by Cholesky.

    Examples
    --------
    >>> import numpy as np
    >>> from classdep.solvers.path import fit_path
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(60, 3)); y = rng.integers(0, 3, 60)
    >>> fit = fit_path(X, y, 3, lambdas=[0.1], solver="newton")
    >>> bool(fit.converged.all())
    True
    """

    name = "cholesky"

    def __call__(self, prob: Problem, state: State):
        xp = prob.xp
        S, sb = HessianFactor(prob, state.ev.P).solve(-state.ev.gW, -state.ev.gb)
        state.work.hessians += 1
        active = xp.asarray(state.active.astype("float64"), dtype=S.dtype)
        return S * active[None, :, None], sb * active[:, None]
