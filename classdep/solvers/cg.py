"""Preconditioned conjugate gradients on a batch of systems, truncated.

:func:`conjugate_gradients` solves ``H s = r`` for every member of a batch at once,
each member's system its own (``H`` block diagonal over the members), from ``s = 0``.
It is Algorithm 5.3 of Nocedal & Wright (2006), *Numerical Optimization*, 2nd ed.,
stopped for each member as soon as its residual falls below its own target, the
truncated (inexact) Newton step of their Algorithm 7.1, or when a direction of
non-positive curvature appears.  What the operator and the preconditioner are, and the
targets, are the caller's (:mod:`classdep.solvers.newton_cg`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from ..backend import to_numpy

__all__ = ["conjugate_gradients"]


def _norms(xp, rW, rb) -> np.ndarray:
    """Per-member norm of ``[rW; rb]``, on the host: (M,)."""
    return to_numpy(xp.sqrt(xp.sum(rW * rW, axis=(0, 2)) + xp.sum(rb * rb, axis=1)))


def conjugate_gradients(
    xp,
    hessp: Callable[[Any, Any, np.ndarray], tuple[Any, Any]],
    precondition: Callable[[Any, Any], tuple[Any, Any]],
    rW,
    rb,
    target: np.ndarray,
    running: np.ndarray,
    maxit: int,
) -> tuple[Any, Any, int]:
    """Batched preconditioned CG from zero; returns ``(SW, Sb, iterations)``.

    Parameters
    ----------
    xp : module
        Array namespace.
    hessp : callable
        ``hessp(pW, pb, running)``: the operator applied to a direction (d, M, K),
        (M, K); ``running`` (M,) says which members still iterate (the others' rows
        of the result are not used).
    precondition : callable
        ``precondition(rW, rb)``: the preconditioner's inverse applied to a residual;
        symmetric positive definite, fixed during the solve.
    rW, rb : arrays (d, M, K), (M, K)
        Right-hand side, the residual at ``s = 0``.
    target : ndarray (M,)
        A member stops once its residual norm is at most its target.
    running : ndarray (M,) bool
        Members to solve for; the others get ``s = 0``.
    maxit : int
        Cap on iterations, for the whole batch.

    Examples
    --------
    >>> import array_api_compat.numpy as xp
    >>> import numpy as np
    >>> h = np.array([1.0, 2.0, 4.0])[None, None, :]  # a diagonal operator
    >>> SW, Sb, it = conjugate_gradients(
    ...     xp, lambda pW, pb, run: (h * pW, pb), lambda rW, rb: (rW, rb),
    ...     np.ones((1, 1, 3)), np.zeros((1, 3)), np.array([1e-12]), np.array([True]), 10)
    >>> np.round(SW[0, 0], 6).tolist(), it
    ([1.0, 0.5, 0.25], 3)
    """
    dt = rW.dtype
    running = running.copy()
    SW = xp.zeros_like(rW)
    Sb = xp.zeros_like(rb)
    zW, zb = precondition(rW, rb)
    pW, pb = zW, zb
    rz = xp.sum(rW * zW, axis=(0, 2)) + xp.sum(rb * zb, axis=1)
    it = 0
    while running.any() and it < maxit:
        it += 1
        HW, Hb = hessp(pW, pb, running)
        pHp = xp.sum(pW * HW, axis=(0, 2)) + xp.sum(pb * Hb, axis=1)
        run = xp.asarray(running.astype(np.float64), dtype=dt)
        safe = xp.where(pHp > 0, pHp, xp.ones_like(pHp))
        alpha = xp.where(pHp > 0, rz / safe, xp.zeros_like(pHp)) * run
        SW = SW + alpha[None, :, None] * pW
        Sb = Sb + alpha[:, None] * pb
        rW = rW - alpha[None, :, None] * HW
        rb = rb - alpha[:, None] * Hb
        running &= (_norms(xp, rW, rb) > target) & (to_numpy(pHp) > 0)
        if not running.any():
            break
        zW, zb = precondition(rW, rb)
        rz_new = xp.sum(rW * zW, axis=(0, 2)) + xp.sum(rb * zb, axis=1)
        beta = xp.where(rz != 0, rz_new / xp.where(rz != 0, rz, xp.ones_like(rz)),
                        xp.zeros_like(rz))
        pW = zW + beta[None, :, None] * pW
        pb = zb + beta[:, None] * pb
        rz = rz_new
    return SW, Sb, it
