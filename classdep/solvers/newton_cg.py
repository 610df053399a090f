"""Truncated Newton: preconditioned conjugate gradients on Hessian-vector products.

Nothing of size ``(dK)^2`` is formed: each CG iteration is one Hessian-vector product,
two matrix products of size ``n·d·MK`` for the whole batch.  A Newton direction is
:func:`~classdep.solvers.cg.conjugate_gradients` on :class:`HessianProducts`, stopped at
a relative residual that tightens as the Newton iterates converge (the forcing term),
preconditioned by what :class:`~classdep.solvers.schedule.PreconditionerSchedule` gives:
the Kronecker approximation (:mod:`.kronecker`), the Hessian on curvature-sampled rows
(:mod:`.hessian`) or its per-class blocks (:mod:`.class_blocks`).
"""

from __future__ import annotations

import dataclasses

import numpy as np

from ..backend import to_numpy
from .cg import conjugate_gradients
from .chunked import cast_features
from .driver import State
from .objective import hessp
from .problem import Problem
from .schedule import PreconditionerSchedule

__all__ = ["NewtonCG", "HessianProducts"]

# Smallest CG forcing term when Hessian-vector products run in float32 (their relative
# error is ~1e-7; asking CG for less would only burn iterations).
_ETA_FLOOR_MIXED = 1e-6


class HessianProducts:
    """Hessian-vector products of a batch, in float32 when ``mixed``, for the members
    still running CG only.

    Float32 for a float64 problem: CG needs the products only to the forcing tolerance
    (>= 1e-6 here), they are memory-bound, and float32 halves the traffic.  Gradients,
    line search and convergence stay in float64.  The cast features and probabilities
    are kept from one call to the next.

    Examples
    --------
    >>> import numpy as np
    >>> from classdep.solvers.driver import start
    >>> from classdep.solvers.prepare import prepare, initial_point
    >>> rng = np.random.default_rng(0)
    >>> pp = prepare(rng.normal(size=(40, 3)), rng.integers(0, 3, 40), 3, device="cpu")
    >>> prob = pp.prob.with_lambda(np.full((1, 3), 0.1))
    >>> W, b = initial_point(pp)
    >>> st = start(prob, W, b)
    >>> HW, Hb = HessianProducts(mixed=True)(prob, st, np.ones_like(W), b, np.array([True]))
    >>> HW.dtype, HW.shape
    (dtype('float64'), (3, 1, 3))
    """

    def __init__(self, mixed: bool):
        self.mixed = mixed
        self._p32_for = self._P32_for = self._sub_key = self._sub = None

    def __call__(self, prob: Problem, state: State, V, vb, running):
        """Hessian-vector product for the members still running CG (zero for the others).

        In float32 when ``mixed``.  Members that have met their CG
        tolerance drop out of the matrix products: the batch costs the sum of the
        members' CG iterations, not their maximum times ``M``.
        """
        xp = prob.xp
        wdt = xp.float32 if self.mixed else prob.X.dtype
        if self._p32_for is not prob.X:
            # X, Y and the weights are the same for every lambda: cast them once
            self._p32 = prob if not self.mixed else dataclasses.replace(
                prob, X=cast_features(xp, prob.X, wdt), Y=xp.astype(prob.Y, wdt),
                omega=xp.astype(prob.omega, wdt),
                delta=None if prob.delta is None else xp.astype(prob.delta, wdt),
                iota=None if prob.iota is None else xp.astype(prob.iota, wdt),
                scale=None if prob.scale is None else xp.astype(prob.scale, wdt))
            self._p32_for = prob.X
        key = tuple(np.nonzero(running)[0].tolist())
        if self._P32_for is not state.ev:
            # once per Newton iterate; no copy when P is already in the work dtype
            self._P32, self._P32_for, self._sub_key = xp.astype(state.ev.P, wdt, copy=False), state.ev, None
        if self._sub_key != key:
            P = self._P32
            self._sub_key = key
            self._sub = None
            if len(key) < prob.M:
                idx = xp.asarray(np.asarray(key, dtype=np.int64))
                self._sub = (idx, xp.take(P, idx, axis=1), xp.take(self._p32.omega, idx, axis=1))
        lam = xp.astype(prob.lam, wdt)
        if self._sub is None:
            p32 = dataclasses.replace(self._p32, lam=lam)
            HW, Hb = hessp(p32, self._P32, xp.astype(V, wdt), xp.astype(vb, wdt))
            return xp.astype(HW, prob.X.dtype), xp.astype(Hb, prob.X.dtype)
        idx, Psub, omsub = self._sub
        p32 = dataclasses.replace(self._p32, omega=omsub, lam=xp.take(lam, idx, axis=lam.ndim - 2))
        Vs, vbs = xp.astype(xp.take(V, idx, axis=1), wdt), xp.astype(xp.take(vb, idx, axis=0), wdt)
        HW, Hb = hessp(p32, Psub, Vs, vbs)
        # back to all M members (zeros for the others) by a 0/1 matrix: the array API has
        # no scatter
        E = xp.astype(xp.reshape(idx, (-1, 1)) == xp.reshape(xp.arange(prob.M), (1, -1)), prob.X.dtype)
        HW = xp.permute_dims(xp.tensordot(xp.astype(HW, prob.X.dtype), E, axes=([1], [0])), (0, 2, 1))
        Hb = E.T @ xp.astype(Hb, prob.X.dtype)
        return HW, Hb



class NewtonCG:
    """Inner solver: a truncated Newton direction from preconditioned CG.

    Parameters
    ----------
    prob : Problem
        Fixes ``X`` and the sample weights; the eigendecomposition of the weighted
        feature covariance is computed here once and reused along the whole path.
    maxcg : int
        Cap on CG iterations per Newton step.
    preconditioner : {"kronecker", "hessian", "block"}
        The Kronecker approximation (:class:`~classdep.solvers.kronecker.KroneckerFactor`),
        the Hessian on curvature-sampled rows
        (:class:`~classdep.solvers.hessian.HessianFactor`) or its per-class blocks with
        the gauge treated apart (:class:`~classdep.solvers.class_blocks.ClassBlockFactor`).
    mixed : bool, optional
        Hessian-vector products in float32 (default: when the problem is float64).
    adaptive : bool
        With ``"block"``: at each lambda, use the Kronecker preconditioner instead when
        the classes' curvature is spread over most rows (large lambda), where it is as
        good and costs nothing to form.
    reuse : bool
        With ``"block"``: the blocks carry over from one lambda to the next
        (:class:`~classdep.solvers.schedule.PreconditionerSchedule`).

    Examples
    --------
    >>> import numpy as np
    >>> from classdep.solvers.path import fit_path
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(60, 3)); y = rng.integers(0, 3, 60)
    >>> fit = fit_path(X, y, 3, lambdas=[0.1], solver="newton-cg")
    >>> bool(fit.converged.all())
    True
    """

    name = "newton-cg"

    def __init__(self, prob: Problem, maxcg: int = 250, preconditioner: str = "kronecker",
                 mixed: bool | None = None, adaptive: bool = False, reuse: bool = False):
        xp = prob.xp
        self.mixed = (prob.X.dtype == xp.float64) if mixed is None else mixed
        self.preconditioner = preconditioner
        self.adaptive = adaptive
        self.reuse = reuse
        self.maxcg = maxcg
        self.products = HessianProducts(self.mixed)
        self.schedule = PreconditionerSchedule(prob, preconditioner, adaptive=adaptive, reuse=reuse)

    @property
    def preconditioner_in_use(self) -> str:
        """The preconditioner at the current lambda (an adaptive ``"block"`` may use
        ``"kronecker"``)."""
        return self.schedule.use

    _use = preconditioner_in_use  # its former name, which the tests read

    def __call__(self, prob: Problem, state: State):
        xp = prob.xp
        dt = prob.X.dtype
        pre = self.schedule(prob, state)
        act = xp.asarray(state.active.astype(np.float64), dtype=dt)
        rW = -state.ev.gW * act[None, :, None]
        rb = -state.ev.gb * act[:, None]
        gnorm = to_numpy(xp.sqrt(xp.sum(rW * rW, axis=(0, 2)) + xp.sum(rb * rb, axis=1)))
        # Forcing term (Eisenstat & Walker 1996; Nocedal & Wright 2006, Sec. 7.1): loose
        # far from the optimum, tight near it, so that the last Newton step keeps
        # quadratic convergence.
        prev_gap = np.where(np.isfinite(state.gap), state.gap, 1.0)
        eta = np.clip(np.sqrt(np.maximum(prev_gap, 0.0)), _ETA_FLOOR_MIXED if self.mixed else 1e-8, 0.1)

        def products(V, vb, running):
            HW, Hb = self.products(prob, state, V, vb, running)
            state.work.products += 2 * int(running.sum()) / prob.M
            return HW, Hb

        SW, Sb, it = conjugate_gradients(xp, products, pre.solve, rW, rb, eta * gnorm,
                                         state.active & (gnorm > 0), self.maxcg)
        state.work.cg_iterations += it
        self.schedule.record(it)
        return SW, Sb
