"""The damped Newton loop shared by every inner solver.

One iteration, for all members of the batch at once:
``direction (inner solver) → X @ S (one product) → Armijo line search along the
logits, no further product → gradient at the new point (one product) → convergence``.

Convergence is measured by the Newton decrement: ``-g·s`` estimates twice the gap
``f - f*`` and is invariant to the scaling of the features, so the threshold reads
directly as a relative objective accuracy.  Once a member's estimated relative gap is
below ``thresh`` the step just computed is still taken; Newton's quadratic convergence
then leaves a gap far below ``thresh``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np

from ..backend import to_numpy
from .objective import Evaluation, evaluate, logits, moved, penalty
from .problem import Problem

__all__ = ["State", "InnerSolver", "minimize", "restart", "start", "Work"]

_ARMIJO = 1e-4
_MAX_HALVINGS = 40


@dataclass
class Work:
    """Counts of matrix products of size n·d·(batch·K): the unit of cost.

    A product over part of the batch (CG members that are done drop out) counts as the
    fraction of the batch it covers.
    """

    products: float = 0
    hessians: int = 0
    cg_iterations: int = 0

    def add(self, other: Work) -> None:
        self.products += other.products
        self.hessians += other.hessians
        self.cg_iterations += other.cg_iterations


@dataclass
class State:
    """What changes from one Newton iteration to the next."""

    W: Any  # (d, M, K)
    b: Any  # (M, K)
    Z: Any  # (n, M, K) raw logits X W + b
    ev: Evaluation
    active: np.ndarray  # (M,) bool: still iterating
    niter: np.ndarray  # (M,) int
    gap: np.ndarray  # (M,) last estimated relative gap (decrement^2 / 2 / |f|)
    converged: np.ndarray  # (M,) bool
    work: Work = field(default_factory=Work)
    extra: dict = field(default_factory=dict)  # inner-solver memory (forcing terms, ...)


class InnerSolver(Protocol):
    """What :func:`minimize` asks of an inner solver: a search direction per iteration.

    :class:`~classdep.solvers.newton.CholeskyNewton` (exact Newton) and
    :class:`~classdep.solvers.newton_cg.NewtonCG` (truncated Newton) implement it.
    """

    def __call__(self, prob: Problem, state: State) -> tuple[Any, Any]:
        """Return a descent direction (S (d,M,K), sb (M,K)) for the active members."""


def machine_eps(prob: Problem) -> float:
    """Unit roundoff of the problem's floating type."""
    return float(np.finfo(np.float32 if prob.X.dtype == prob.xp.float32 else np.float64).eps)


def start(prob: Problem, W, b, Z=None) -> State:
    """Evaluate the objective and gradient at (W, b); ``Z``: its logits, when known."""
    products = 2 if Z is None else 1
    if Z is None:
        Z = logits(prob, W, b)
    st = _fresh(W, b, Z, evaluate(prob, Z, W, b))
    st.work.products += products
    return st


def _fresh(W, b, Z, ev) -> State:
    """A state at (W, b) with every member active and nothing counted yet."""
    M = b.shape[0]
    return State(
        W=W, b=b, Z=Z, ev=ev,
        active=np.ones(M, dtype=bool), niter=np.zeros(M, dtype=np.int64),
        gap=np.full(M, np.inf), converged=np.zeros(M, dtype=bool),
    )


def restart(prob: Problem, prev: State, prev_prob: Problem) -> State:
    """``prev``, a point evaluated under ``prev_prob``, evaluated under ``prob``'s penalty.

    The two problems differ in their penalties alone (neighbouring lambdas of a path):
    the loss, its gradient and the probabilities depend on the logits only and carry
    over, so no matrix product is needed where :func:`start` needs two.

    Examples
    --------
    >>> import numpy as np
    >>> from classdep.solvers.prepare import prepare, initial_point
    >>> rng = np.random.default_rng(0)
    >>> pp = prepare(rng.normal(size=(60, 3)), rng.integers(0, 3, 60), 3, device="cpu")
    >>> p1, p2 = (pp.prob.with_lambda(np.full((1, 3), lam)) for lam in (0.1, 0.01))
    >>> W, b = initial_point(pp)
    >>> W = W + 0.1
    >>> a, ref = restart(p2, start(p1, W, b), p1), start(p2, W, b)
    >>> bool(np.allclose(a.ev.f, ref.ev.f) and np.allclose(a.ev.gW, ref.ev.gW)), a.work.products
    (True, 0)
    """
    ev = prev.ev
    gW = ev.gW + (prob.lam_w() - prev_prob.lam_w()) * prev.W
    f = ev.loss + penalty(prob, prev.W, prev.b)
    return _fresh(prev.W, prev.b, prev.Z, Evaluation(f=f, loss=ev.loss, P=ev.P, gW=gW, gb=ev.gb))


def _line_search(prob: Problem, state: State, S, sb, ZS, slope):
    """Armijo backtracking on every active member; returns step sizes (M,)."""
    xp = prob.xp
    f0 = to_numpy(state.ev.f)
    slope = np.minimum(slope, 0.0)
    t = np.where(state.active, 1.0, 0.0)
    todo = state.active.copy()
    for _ in range(_MAX_HALVINGS):
        tt = xp.asarray(t, dtype=prob.X.dtype)
        Wt = state.W + tt[None, :, None] * S
        bt = state.b + tt[:, None] * sb
        ft = to_numpy(evaluate(prob, state.Z, Wt, bt, grad=False, probs=False, along=(ZS, tt)).f)
        # Rounding: near the optimum f changes by less than its last digits; accept a
        # step that does not increase f beyond that noise.
        tol = 64 * machine_eps(prob) * np.abs(f0)
        ok = (ft <= f0 + _ARMIJO * t * slope + tol) & np.isfinite(ft)
        todo &= ~ok
        if not todo.any():
            break
        t = np.where(todo, t * 0.5, t)
    t = np.where(todo, 0.0, t)  # members whose search failed keep their point
    return t, ~todo | ~state.active


def minimize(prob: Problem, state: State, inner: InnerSolver, thresh: float, maxit: int) -> State:
    """Damped Newton iterations from ``state`` until every member meets ``thresh``.

    Examples
    --------
    >>> import numpy as np
    >>> from classdep.solvers.newton import CholeskyNewton
    >>> from classdep.solvers.prepare import prepare, initial_point
    >>> rng = np.random.default_rng(0)
    >>> pp = prepare(rng.normal(size=(60, 3)), rng.integers(0, 3, 60), 3, device="cpu")
    >>> prob = pp.prob.with_lambda(np.full((1, 3), 0.1))
    >>> st = minimize(prob, start(prob, *initial_point(pp)), CholeskyNewton(), thresh=1e-7, maxit=50)
    >>> bool(st.converged.all())
    True
    """
    xp = prob.xp
    dt = prob.X.dtype
    while state.active.any():
        S, sb = inner(prob, state)
        # decrement^2 = -g·s (= s'Hs for an exact step): twice the estimated gap.
        slope = to_numpy(xp.sum(state.ev.gW * S, axis=(0, 2)) + xp.sum(state.ev.gb * sb, axis=1))
        f = np.abs(to_numpy(state.ev.f))
        gap = -0.5 * slope / np.maximum(f, np.finfo(np.float64).tiny)
        state.gap = np.where(state.active, gap, state.gap)
        done_now = state.active & (gap <= thresh)
        ZS = logits(prob, S, sb)
        state.work.products += 1
        t, ok = _line_search(prob, state, S, sb, ZS, slope)
        tt = xp.asarray(t, dtype=dt)
        state.W = state.W + tt[None, :, None] * S
        state.b = state.b + tt[:, None] * sb
        state.Z = moved(prob, state.Z, ZS, tt)
        state.ev = evaluate(prob, state.Z, state.W, state.b)
        state.work.products += 1
        state.niter = state.niter + state.active
        stalled = state.active & ~ok
        # A failed line search at a gap below rounding noise is convergence, not failure.
        eps_gap = 1e3 * machine_eps(prob)
        state.converged |= done_now | (stalled & (gap <= max(thresh, eps_gap)))
        state.active &= ~(done_now | stalled) & (state.niter < maxit)
    return state
