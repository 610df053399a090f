"""Exact Newton (IRLS) steps: form the Hessian, factor it by Cholesky, solve.

Exact to rounding and quadratically convergent; its cost, ``n (d+1)^2 K^2`` per member
and iteration for the multinomial family, pays off when ``d K`` is small or when the
truncated-Newton solver would need many conjugate-gradient iterations.  The memory
estimate that decides between the two lives in :mod:`classdep.solvers.path`.
"""

from __future__ import annotations

from ..backend import solve_pd
from .driver import State
from .objective import Problem, hessian_blocks

__all__ = ["CholeskyNewton", "hessian_bytes"]


def hessian_bytes(n: int, d: int, K: int, M: int, family: str, itemsize: int = 8) -> int:
    """Memory the exact Hessians of a batch need, with the largest temporary."""
    D1 = d + 1
    if family == "multinomial":
        return itemsize * (M * (D1 * K) ** 2 + 2 * n * D1 * K)
    return itemsize * (M * K * D1 * D1 + n * D1)


class CholeskyNewton:
    """Inner solver: the exact Newton direction ``-H^{-1} g``, by Cholesky.

    Examples
    --------
    >>> import numpy as np
    >>> from classdep.solvers.path import fit_path
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(60, 3)); y = rng.integers(0, 3, 60)
    >>> fit = fit_path(X, y, 3, lambdas=[0.1], solver="cholesky")
    >>> bool(fit.converged.all())
    True
    """

    name = "cholesky"

    def __call__(self, prob: Problem, state: State):
        xp = prob.xp
        d, K, M = prob.d, prob.K, prob.M
        H, per_class = hessian_blocks(prob, state.ev.P)
        state.work.hessians += 1
        gW, gb = state.ev.gW, state.ev.gb
        if per_class:
            # (M, K, d+1): each class's coefficients and intercept.
            g = xp.concat([xp.permute_dims(gW, (1, 2, 0)), gb[:, :, None]], axis=2)
            s = solve_pd(xp, xp.reshape(H, (M * K, d + 1, d + 1)),
                         xp.reshape(-g, (M * K, d + 1, 1)))
            s = xp.reshape(s, (M, K, d + 1))
            S = xp.permute_dims(s[:, :, :d], (2, 0, 1))
            sb = s[:, :, d]
        else:
            # rows ordered (feature-or-intercept, class), as hessian_blocks lays them out
            g = xp.concat([xp.permute_dims(gW, (1, 0, 2)), gb[:, None, :]], axis=1)  # (M, d+1, K)
            s = solve_pd(xp, H, xp.reshape(-g, (M, (d + 1) * K, 1)))
            s = xp.reshape(s, (M, d + 1, K))
            S = xp.permute_dims(s[:, :d, :], (1, 0, 2))
            sb = s[:, d, :]
        active = xp.asarray(state.active, dtype=S.dtype)
        return S * active[None, :, None], sb * active[:, None]
