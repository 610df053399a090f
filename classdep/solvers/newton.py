"""Exact Newton (IRLS) steps: form the Hessian, factor it by Cholesky, solve.

Exact to rounding and quadratically convergent; its cost, ``n (d+1)^2 K^2`` per member
and iteration for the multinomial family, pays off when ``d K`` is small.  The same
factorization (:class:`~classdep.solvers.hessian.HessianFactor`), formed once per
lambda, is a preconditioner of the truncated-Newton solver
(:mod:`classdep.solvers.newton_cg`) for mid-sized problems.
"""

from __future__ import annotations

from .class_blocks import ClassBlockFactor, class_block_bytes
from .driver import State
from .hessian import HessianFactor, hessian_bytes
from .problem import Problem

# The factors and their byte estimates live with their preconditioners (hessian.py,
# class_blocks.py); they stay importable from here.
__all__ = ["CholeskyNewton", "ClassBlockFactor", "HessianFactor", "class_block_bytes", "hessian_bytes"]


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
