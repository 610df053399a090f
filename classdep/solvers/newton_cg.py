"""Truncated Newton: preconditioned conjugate gradients on Hessian-vector products.

Nothing of size ``(dK)^2`` is formed: each CG iteration is one Hessian-vector product,
two matrix products of size ``n·d·MK`` for the whole batch.

Preconditioner.  The Hessian in ``W`` is ``sum_i omega_i x_i x_i^T ⊗ A_i`` with ``A_i``
the softmax curvature of sample ``i``, plus ``I ⊗ diag(lambda)``.  Replacing each
``A_i`` by the weighted average ``B`` gives the Kronecker approximation
``C ⊗ B + I ⊗ diag(lambda)`` with ``C = X^T diag(omega) X`` (centred features).  The
eigendecomposition ``C = U diag(s) U^T`` is computed once per problem (the ridge
penalty is rotation invariant, so it commutes with ``U``); per Newton iteration only the
``K × K`` matrix ``B`` changes.  The approximation keeps the exact dependence on
``lambda``, so it does not degrade as ``lambda`` shrinks the way a fixed diagonal
(Jacobi) preconditioner does, and it captures the feature correlations that make
unpreconditioned CG slow on real embeddings.  Intercepts get the block ``B`` itself:
centring makes their coupling with ``W`` vanish in the approximation.  An elementwise
(per-feature) penalty is replaced by its mean over the features in this
approximation; the ``"hessian"`` preconditioner includes it exactly.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from ..backend import to_numpy
from .chunked import cast_features
from .class_blocks import ClassBlockFactor, curvature_rows
from .driver import State
from .hessian import HessianFactor
from .kronecker import KroneckerFactor, feature_basis
from .objective import hessp
from .problem import Problem

__all__ = ["NewtonCG"]

# The Hessian preconditioner is formed at the first Newton iterate of each lambda and
# formed anew when a CG solve took more than this many iterations (the iterate has moved
# far from where it was formed, as after a large step along a coarse grid).
_REBUILD_AFTER_CG = 25
# The class-block preconditioner is cheaper to form (rows with curvature only) and goes
# stale faster (it is used where curvature moves most, at small lambda on large heads):
# measured on the synthetic 100-class problem, rebuilding after 12 CG iterations cut
# products 3x against Kronecker at lambda = 1e-5; after 25, 2.6x; every Newton step, more
# formations than the CG iterations they save.  Since the blocks carry over between
# lambdas, the 50-lambda path takes the same time (151 s) at 15, 18 and 25 (13, 8 and 2
# formations, 1864 to 2090 products) and 155 s at 12 (19 formations): 15 keeps the
# products near their fewest.
_REBUILD_BLOCKS_AFTER_CG = 15
# An adaptive "block" preconditioner (the one "auto" picks) uses the Kronecker one at a
# lambda whose classes have their curvature spread over more than this fraction of the
# training rows (large lambda): it costs nothing to form and CG needs a few iterations
# there, while the blocks would be summed over every row.  The choice is made from the
# first iterate of each lambda alone, so that a resumed path repeats it.
_BLOCK_ROWS_FRACTION = 0.5
# Smallest CG forcing term when Hessian-vector products run in float32 (their relative
# error is ~1e-7; asking CG for less would only burn iterations).
_ETA_FLOOR_MIXED = 1e-6
# The Hessian preconditioner sums over this many curvature-weighted samples per
# coefficient (measured on Fashion-MNIST PCA-128: 4 keeps CG at ~5 per Newton step).
_ROWS_PER_PARAMETER = 4


# The adaptive choice estimates that fraction on this many rows drawn once per problem
# (a fixed seed: a resumed path draws the same), when there are twice as many: the
# decision needs no more, and a formation finds its rows anew among all of them.  A
# draw, not every s-th row, which could alias with an ordering of the data or the folds.
_CHOICE_ROWS = 4096


def _kept_fraction(prob: Problem, state: State, keep, subset=None) -> float:
    """Mean fraction of its members' training rows that a class block would be summed
    over; ``keep`` from :func:`curvature_rows` with the same ``subset``."""
    omega = to_numpy(prob.omega)
    train = np.sum((omega if subset is None else omega[subset]) > 0, axis=0)  # (M,)
    frac = np.sum(keep, axis=0) / np.maximum(train, 1)[:, None]  # (M, K)
    return float(np.mean(frac[state.active])) if state.active.any() else 1.0


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
        The Kronecker approximation (module notes), the Hessian on curvature-sampled
        rows (:class:`~classdep.solvers.newton.HessianFactor`) or its per-class blocks
        with the gauge treated apart (:class:`~classdep.solvers.newton.ClassBlockFactor`).
    mixed : bool, optional
        Hessian-vector products in float32 (default: when the problem is float64).
    adaptive : bool
        With ``"block"``: at each lambda, use the Kronecker preconditioner instead when
        the classes' curvature is spread over most rows (large lambda), where it is as
        good and costs nothing to form.

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
        # Hessian-vector products in float32 for a float64 problem: CG needs them only to
        # the forcing tolerance (>= 1e-6 here), they are memory-bound, and float32 halves
        # the traffic.  Gradients, line search and convergence stay in float64.
        self.mixed = (prob.X.dtype == xp.float64) if mixed is None else mixed
        self._p32_for = self._P32_for = self._sub_key = self._sub = None
        self.preconditioner = preconditioner
        self.adaptive = adaptive
        self.reuse = reuse
        self._lambda_state = self._hf = None
        self._choice_rows = None
        if prob.n >= 2 * _CHOICE_ROWS:
            draw = np.random.default_rng(0).choice(prob.n, _CHOICE_ROWS, replace=False)
            self._choice_rows = np.sort(draw)
        self._use = preconditioner
        self._last_cg = 0
        self._rebuild_after = _REBUILD_BLOCKS_AFTER_CG if preconditioner == "block" else _REBUILD_AFTER_CG
        self.basis = feature_basis(prob)
        self.maxcg = maxcg

    def _hessp(self, prob: Problem, state: State, V, vb, running):
        """Hessian-vector product for the members still running CG (zero for the others).

        In float32 when ``mixed`` (see the class notes).  Members that have met their CG
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

    # -- the CG loop ------------------------------------------------------------------
    def __call__(self, prob: Problem, state: State):
        xp = prob.xp
        dt = prob.X.dtype
        rows = None
        if self._lambda_state is not state:
            # First Newton iterate at this lambda: choose and (re)form the preconditioner.
            last_hf, last_use = self._hf, self._use
            self._lambda_state, self._hf, self._use = state, None, self.preconditioner
            if self.preconditioner == "block" and self.adaptive:
                sub = self._choice_rows
                rows = curvature_rows(prob, state.ev.P, work_dtype=xp.float32, subset=sub)
                if _kept_fraction(prob, state, rows[1], sub) > _BLOCK_ROWS_FRACTION:
                    self._use = "kronecker"
                if sub is not None:
                    rows = None
            if (self.reuse and self._use == "block" and last_use == "block"
                    and isinstance(last_hf, ClassBlockFactor) and self._last_cg <= self._rebuild_after):
                # the last lambda's blocks, their gauge part at this lambda's penalty: the
                # curvature moves little between neighbouring lambdas, and CG's length
                # says when it has moved too far (the rebuild below)
                self._hf = last_hf.at_penalty(prob)
        if self._use in ("hessian", "block"):
            # Formed at the first iterate of this lambda, factored once and reused by
            # later Newton steps at the same lambda while CG stays short.
            if self._hf is None or self._last_cg > self._rebuild_after:
                if self._use == "block":
                    self._hf = ClassBlockFactor(prob, state.ev.P, work_dtype=xp.float32, rows=rows)
                else:
                    r = max(_ROWS_PER_PARAMETER * (prob.d + 1) * prob.K, 2000)
                    self._hf = HessianFactor(prob, state.ev.P, work_dtype=xp.float32,
                                             max_rows=r if r < prob.n // 2 else None)
                state.work.hessians += 1
            pre = self._hf
        else:
            pre = KroneckerFactor(prob, state.ev.P, self.basis)
        act = xp.asarray(state.active.astype(np.float64), dtype=dt)
        rW = -state.ev.gW * act[None, :, None]
        rb = -state.ev.gb * act[:, None]
        gnorm = to_numpy(xp.sqrt(xp.sum(rW * rW, axis=(0, 2)) + xp.sum(rb * rb, axis=1)))
        # Forcing term (Eisenstat-Walker flavour): loose far from the optimum, tight near
        # it, so that the last Newton step keeps quadratic convergence.
        prev_gap = np.where(np.isfinite(state.gap), state.gap, 1.0)
        eta = np.clip(np.sqrt(np.maximum(prev_gap, 0.0)), _ETA_FLOOR_MIXED if self.mixed else 1e-8, 0.1)
        target = eta * gnorm
        SW = xp.zeros_like(rW)
        Sb = xp.zeros_like(rb)
        zW, zb = pre.solve(rW, rb)
        pW, pb = zW, zb
        rz = xp.sum(rW * zW, axis=(0, 2)) + xp.sum(rb * zb, axis=1)
        running = state.active & (gnorm > 0)
        it = 0
        while running.any() and it < self.maxcg:
            it += 1
            HW, Hb = self._hessp(prob, state, pW, pb, running)
            state.work.products += 2 * int(running.sum()) / prob.M
            pHp = xp.sum(pW * HW, axis=(0, 2)) + xp.sum(pb * Hb, axis=1)
            run = xp.asarray(running.astype(np.float64), dtype=dt)
            safe = xp.where(pHp > 0, pHp, xp.ones_like(pHp))
            alpha = xp.where(pHp > 0, rz / safe, xp.zeros_like(pHp)) * run
            SW = SW + alpha[None, :, None] * pW
            Sb = Sb + alpha[:, None] * pb
            rW = rW - alpha[None, :, None] * HW
            rb = rb - alpha[:, None] * Hb
            rnorm = to_numpy(xp.sqrt(xp.sum(rW * rW, axis=(0, 2)) + xp.sum(rb * rb, axis=1)))
            running &= (rnorm > target) & (to_numpy(pHp) > 0)
            if not running.any():
                break
            zW, zb = pre.solve(rW, rb)
            rz_new = xp.sum(rW * zW, axis=(0, 2)) + xp.sum(rb * zb, axis=1)
            beta = xp.where(rz != 0, rz_new / xp.where(rz != 0, rz, xp.ones_like(rz)),
                            xp.zeros_like(rz))
            pW = zW + beta[None, :, None] * pW
            pb = zb + beta[:, None] * pb
            rz = rz_new
        state.work.cg_iterations += it
        self._last_cg = it
        return SW, Sb
