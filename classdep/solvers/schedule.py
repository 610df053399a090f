"""When the truncated-Newton solver forms its preconditioner anew, and which one it uses.

The Kronecker factors (:mod:`.kronecker`) cost little and are formed at every Newton
iterate.  The Hessian (:mod:`.hessian`) and the class blocks (:mod:`.class_blocks`)
cost a formation each: :class:`PreconditionerSchedule` forms them at the first Newton
iterate of a lambda and reuses them at the later iterates of that lambda until a CG
solve runs long, which says that the curvature has moved away from where they were
formed.  With ``reuse``, the class blocks also carry over from one lambda to the next
(the curvature moves little between neighbouring lambdas), and so does the Hessian when
it is summed over every row, whose formation is then most of a fit's time.  With
``adaptive``, the
``"block"`` preconditioner gives way to the Kronecker one at a lambda whose classes
carry their curvature on most rows (large lambda), where the blocks would be summed
over nearly every row and the Kronecker factors are as good.
"""

from __future__ import annotations

import numpy as np

from ..backend import to_numpy
from .class_blocks import ClassBlockFactor, curvature_rows
from .driver import State
from .hessian import HessianFactor
from .kronecker import KroneckerFactor, feature_basis
from .preconditioner import Preconditioner
from .problem import Problem

__all__ = ["PreconditionerSchedule", "kept_fraction"]

# The Hessian preconditioner is formed at the first Newton iterate of each lambda and
# formed anew when a CG solve took more than this many iterations (the iterate has moved
# far from where it was formed, as after a large step along a coarse grid).
_REBUILD_AFTER_CG = 25
# The class-block preconditioner is cheaper to form (rows with curvature only) and goes
# stale faster (it is used where curvature moves most, at small lambda on large heads).
# Rebuilt at every Newton step it costs more formations than the CG iterations they
# save; rebuilt rarely, CG runs long.  With the blocks carried over between lambdas, 15
# keeps the products of a long path near their fewest.
_REBUILD_BLOCKS_AFTER_CG = 15
# An adaptive "block" preconditioner (the one "auto" picks) uses the Kronecker one at a
# lambda whose classes have their curvature spread over more than this fraction of the
# training rows (large lambda): it costs nothing to form and CG needs a few iterations
# there, while the blocks would be summed over every row.  The choice is made from the
# first iterate of each lambda alone, so that a resumed path repeats it.
_BLOCK_ROWS_FRACTION = 0.5
# The Hessian preconditioner sums over this many curvature-weighted samples per
# coefficient: enough that CG stays at a few iterations per Newton step.
_ROWS_PER_PARAMETER = 4
# The adaptive choice estimates that fraction on this many rows drawn once per problem
# (a fixed seed: a resumed path draws the same), when there are twice as many: the
# decision needs no more, and a formation finds its rows anew among all of them.  A
# draw, not every s-th row, which could alias with an ordering of the data or the folds.
_CHOICE_ROWS = 4096


def hessian_rows(prob: Problem) -> int | None:
    """Rows the Hessian preconditioner is summed over: a curvature-weighted sample of
    ``_ROWS_PER_PARAMETER`` per coefficient (at least 2000), or None for every row when
    that would be half of them or more."""
    r = max(_ROWS_PER_PARAMETER * (prob.d + 1) * prob.K, 2000)
    return None if r >= prob.n // 2 else r


def kept_fraction(prob: Problem, state: State, keep, subset=None) -> float:
    """Mean fraction of its members' training rows that a class block would be summed
    over; ``keep`` from :func:`~classdep.solvers.class_blocks.curvature_rows` with the
    same ``subset`` (the active members of ``state`` only).

    Examples
    --------
    >>> import numpy as np
    >>> from classdep.solvers.driver import start
    >>> from classdep.solvers.prepare import prepare, initial_point
    >>> rng = np.random.default_rng(0)
    >>> pp = prepare(rng.normal(size=(40, 3)), rng.integers(0, 3, 40), 3, device="cpu")
    >>> st = start(pp.prob, *initial_point(pp))
    >>> kept_fraction(pp.prob, st, np.ones((40, 1, 3), dtype=bool))
    1.0
    """
    omega = to_numpy(prob.omega)
    train = np.sum((omega if subset is None else omega[subset]) > 0, axis=0)  # (M,)
    frac = np.sum(keep, axis=0) / np.maximum(train, 1)[:, None]  # (M, K)
    return float(np.mean(frac[state.active])) if state.active.any() else 1.0


class PreconditionerSchedule:
    """The preconditioner at each Newton iterate of a path: formed anew or reused.

    Parameters
    ----------
    prob : Problem
        Fixes ``X`` and the sample weights; the eigendecomposition of the weighted
        feature covariance (:func:`~classdep.solvers.kronecker.feature_basis`) is
        computed here once and reused along the whole path.
    preconditioner : {"kronecker", "hessian", "block"}
    adaptive : bool
        With ``"block"``: at each lambda, the Kronecker preconditioner instead when the
        classes' curvature is spread over most rows.
    reuse : bool
        With ``"block"``, and with ``"hessian"`` summed over every row: the last lambda's
        factor serves the next lambda while CG stays short (not for a checkpointed sweep,
        whose lambdas must each depend on themselves alone so that a resumed path repeats
        them).

    Examples
    --------
    >>> import numpy as np
    >>> from classdep.solvers.driver import start
    >>> from classdep.solvers.prepare import prepare, initial_point
    >>> rng = np.random.default_rng(0)
    >>> pp = prepare(rng.normal(size=(40, 3)), rng.integers(0, 3, 40), 3, device="cpu")
    >>> prob = pp.prob.with_lambda(np.full((1, 3), 0.1))
    >>> st = start(prob, *initial_point(pp))
    >>> schedule = PreconditionerSchedule(prob, "block")
    >>> type(schedule(prob, st)).__name__, st.work.hessians, schedule.use
    ('ClassBlockFactor', 1, 'block')
    >>> schedule(prob, st) is schedule.factor  # the same lambda while CG stays short
    True
    """

    def __init__(self, prob: Problem, preconditioner: str = "kronecker", adaptive: bool = False,
                 reuse: bool = False):
        self.preconditioner = preconditioner
        self.adaptive = adaptive
        self.reuse = reuse
        #: the preconditioner in use at the current lambda (the adaptive choice's outcome)
        self.use = preconditioner
        #: the Hessian or class-block factor formed last, or None
        self.factor: Preconditioner | None = None
        self.last_cg = 0
        self.rebuild_after = _REBUILD_BLOCKS_AFTER_CG if preconditioner == "block" else _REBUILD_AFTER_CG
        self._lambda_state = None
        self._choice_rows = None
        if prob.n >= 2 * _CHOICE_ROWS:
            draw = np.random.default_rng(0).choice(prob.n, _CHOICE_ROWS, replace=False)
            self._choice_rows = np.sort(draw)
        self._prob = prob
        self._basis = None

    @property
    def basis(self):
        """:func:`~classdep.solvers.kronecker.feature_basis` of the problem, computed when
        the Kronecker preconditioner is first used: the Hessian and block preconditioners
        never need the ``d x d`` eigendecomposition (``d^3`` flops in one uninterruptible
        LAPACK call)."""
        if self._basis is None:
            self._basis = feature_basis(self._prob)
        return self._basis

    def record(self, cg_iterations: int) -> None:
        """The length of the CG solve just run: a long one has the factor formed anew."""
        self.last_cg = cg_iterations

    def __call__(self, prob: Problem, state: State) -> Preconditioner:
        """The preconditioner for the Newton iterate ``state`` (a formation counts in
        ``state.work.hessians``)."""
        xp = prob.xp
        rows = None
        if self._lambda_state is not state:
            # First Newton iterate at this lambda: choose and (re)form the preconditioner.
            last_factor, last_use = self.factor, self.use
            self._lambda_state, self.factor, self.use = state, None, self.preconditioner
            if self.preconditioner == "block" and self.adaptive:
                sub = self._choice_rows
                rows = curvature_rows(prob, state.ev.P, work_dtype=xp.float32, subset=sub)
                if kept_fraction(prob, state, rows[1], sub) > _BLOCK_ROWS_FRACTION:
                    self.use = "kronecker"
                if sub is not None:
                    rows = None
            # The class blocks carry over; the Hessian only where it was summed over every
            # row (few rows for its (d+1)K coefficients), where a formation costs more than
            # the CG iterations that a factor formed at the last lambda adds.  Summed over
            # sampled rows (many rows), it is cheap enough to form anew: carried there,
            # the added CG iterations cost more than the formations saved.
            carry = (isinstance(last_factor, ClassBlockFactor) or
                     (isinstance(last_factor, HessianFactor) and hessian_rows(prob) is None))
            if (self.reuse and self.use in ("block", "hessian") and last_use == self.use and carry
                    and self.last_cg <= self.rebuild_after):
                # the last lambda's factor (the blocks: their gauge part at this lambda's
                # penalty): the curvature moves little between neighbouring lambdas, and
                # CG's length says when it has moved too far (the rebuild below)
                self.factor = last_factor.at_penalty(prob)
        if self.use not in ("hessian", "block"):
            return KroneckerFactor(prob, state.ev.P, self.basis)
        # Formed at the first iterate of this lambda, factored once and reused by later
        # Newton steps at the same lambda while CG stays short.
        if self.factor is None or self.last_cg > self.rebuild_after:
            if self.use == "block":
                self.factor = ClassBlockFactor(prob, state.ev.P, work_dtype=xp.float32, rows=rows)
            else:
                self.factor = HessianFactor(prob, state.ev.P, work_dtype=xp.float32,
                                            max_rows=hessian_rows(prob))
            state.work.hessians += 1
        return self.factor
