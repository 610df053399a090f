"""The class-coupled quadratic augmentation penalty, minimized along the path.

With ``augment=dict(..., curvature="full")`` the penalty of Wager, Wang & Liang (2013)
keeps the whole softmax curvature ``H_i = diag(p_i) - p_i p_i'`` of the clean logits
(:meth:`classdep.solvers.augment.QuadraticPenalty.coupled_terms`).  The frozen fixed point
that the diagonal form uses is a different point from the minimizer of that objective, and
farther from the sampled fit, so here the objective itself is minimized, the curvature
moving with the fit.
"""

from __future__ import annotations

import numpy as np

from ..backend import to_numpy
from .augment import QuadraticPenalty
from .problem import Problem

__all__ = ["minimize_coupled"]


# Outer iterations of the coupled minimization: each is one Newton step (a CG solve).
_COUPLED_ARMIJO = 1e-4
_COUPLED_HALVINGS = 40


def minimize_coupled(prob: Problem, st, base, quad: QuadraticPenalty, pen, inner, thresh, maxit):
    """Minimize the objective with Wager's class-coupled penalty, the curvature moving with the fit.

    ``F(W, b) = mean loss + sum lam/2 W^2 + R(W; P(W, b))`` with ``R`` the full-curvature
    penalty (:meth:`QuadraticPenalty.coupled_terms`).  ``F`` is smooth; its minimizer is
    what the approximation of Wager, Wang & Liang (2013) defines (the frozen fixed point
    of the diagonal form is not: see the user guide's section on augmentation).  Newton steps on ``F``: the
    exact gradient (the terms through ``P`` included); the Hessian of the loss, the ridge
    and the penalty with the curvature frozen (the derivative of the curvature is left
    out of the Hessian only, so the steps converge linearly at a fast rate to the exact
    minimizer); each system solved by preconditioned CG, the preconditioner being the
    inner solver's for the problem with the penalty's diagonal (``pen``) as elementwise
    ridge; an Armijo line search on ``F``.  Stops per member when the estimated relative
    gap ``-g's / 2|F|`` is below ``thresh / 10`` (the frozen Hessian's decrement can
    understate the gap) or, once below ``thresh``, when a full step no longer lowers ``F``
    beyond rounding; at most ``maxit`` steps.

    The signature is :func:`classdep.solvers.path._fixed_point`'s: ``prob`` carries
    ``base + pen`` and ``st`` is its solution (the warm start).  Returns the problem with
    the diagonal penalty at the solution, the state (``ev`` that problem's evaluation,
    ``ev.f`` replaced by ``F``) and that penalty; ``st.extra`` gets ``augment_rounds``
    (the Newton steps), ``augment_converged``, ``augment_penalty`` and
    ``augment_gradient`` (per member, the largest entry of ``F``'s gradient).

    Examples
    --------
    >>> from classdep.solvers.augment import check_augment
    >>> from classdep.solvers.driver import start
    >>> from classdep.solvers.newton import CholeskyNewton
    >>> from classdep.solvers.prepare import initial_point, prepare
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(80, 3)); y = rng.integers(0, 3, 80)
    >>> pp = prepare(X, y, 3, device="cpu")
    >>> aug = check_augment(dict(kind="dropout", strength=0.3, curvature="full"))
    >>> quad = QuadraticPenalty(pp.prob, aug, pp.center, pp.sd)
    >>> base = np.full((1, 3), 0.05)
    >>> prob = pp.prob.with_lambda(base)
    >>> _, st, _ = minimize_coupled(prob, start(prob, *initial_point(pp)), base, quad, None,
    ...                             CholeskyNewton(), 1e-12, 100)
    >>> st.extra["augment_converged"], bool(st.extra["augment_gradient"].max() < 1e-6)
    (True, True)
    """
    from .cg import conjugate_gradients
    from .driver import State, machine_eps
    from .hessian import HessianFactor
    from .objective import Evaluation, evaluate, hessp, logits, moved

    xp = prob.xp
    dt = prob.X.dtype
    M = prob.M
    pb = prob.with_lambda(base)  # the ridge alone: R is added here

    def objective(W, b, Z, along=None, grad=True):
        ev = evaluate(pb, Z, W, b, grad=grad, along=along)
        R, gW, gb = quad.coupled_terms(pb, W, ev.P, grad=grad)
        ev.f = ev.f + R
        if grad:
            ev.gW = ev.gW + gW
            ev.gb = ev.gb + gb
        return ev

    W, b, Z = st.W, st.b, st.Z
    ev = objective(W, b, Z)
    st.work.products += 5
    niter = st.niter.copy()
    active = np.ones(M, dtype=bool)
    gap = np.full(M, np.inf)
    converged = np.zeros(M, dtype=bool)
    eps = machine_eps(prob)
    steps = 0
    surrogate = State(W=W, b=b, Z=Z, ev=ev, active=active, niter=niter, gap=gap, converged=converged,
                      work=st.work)
    schedule = getattr(inner, "schedule", None)
    while active.any() and steps < maxit:
        steps += 1
        pen = quad(pb, ev.P)
        ps = prob.with_lambda(quad.combine(base, pen))
        surrogate.ev, surrogate.active, surrogate.gap = ev, active.copy(), gap.copy()
        if schedule is not None:
            pre = schedule(ps, surrogate).solve
        else:
            pre = HessianFactor(ps, ev.P).solve
            st.work.hessians += 1
        act = xp.asarray(active.astype(np.float64), dtype=dt)
        rW, rb = -ev.gW * act[None, :, None], -ev.gb * act[:, None]
        gnorm = np.asarray(to_numpy(xp.sqrt(xp.sum(rW * rW, axis=(0, 2)) + xp.sum(rb * rb, axis=1))))
        prev = np.where(np.isfinite(gap), gap, 1.0)
        eta = np.clip(np.sqrt(np.maximum(prev, 0.0)), 1e-10, 0.1)

        def products(V, vb, running, P=ev.P):
            HW, Hb = hessp(pb, P, V, vb)
            st.work.products += 4 * int(running.sum()) / M
            return HW + quad.coupled_hessp(pb, P, V, running), Hb

        S, sb, it = conjugate_gradients(xp, products, pre, rW, rb, eta * gnorm, active & (gnorm > 0), 500)
        st.work.cg_iterations += it
        slope = np.minimum(np.asarray(to_numpy(xp.sum(ev.gW * S, axis=(0, 2)) + xp.sum(ev.gb * sb, axis=1))),
                           0.0)
        f0 = np.asarray(to_numpy(ev.f))
        est = -0.5 * slope / np.maximum(np.abs(f0), np.finfo(np.float64).tiny)
        gap = np.where(active, est, gap)
        ZS = logits(prob, S, sb)
        st.work.products += 1
        t = np.where(active, 1.0, 0.0)
        todo = active.copy()
        tol = 64 * eps * np.abs(f0)
        for _ in range(_COUPLED_HALVINGS):
            tt = xp.asarray(t, dtype=dt)
            ft = np.asarray(to_numpy(objective(W + tt[None, :, None] * S, b + tt[:, None] * sb, Z,
                                               along=(ZS, tt), grad=False).f))
            st.work.products += 2
            ok = (ft <= f0 + _COUPLED_ARMIJO * t * slope + tol) & np.isfinite(ft)
            todo &= ~ok
            if not todo.any():
                break
            t = np.where(todo, 0.5 * t, t)
        t = np.where(todo, 0.0, t)
        tt = xp.asarray(t, dtype=dt)
        W = W + tt[None, :, None] * S
        b = b + tt[:, None] * sb
        Z = moved(prob, Z, ZS, tt)
        ev = objective(W, b, Z)
        st.work.products += 6
        niter = niter + active
        # done: a tiny estimated gap, or a small one whose full step changed F by rounding only
        fnew = np.asarray(to_numpy(ev.f))
        stalled = (t == 1.0) & (f0 - fnew <= tol)
        done = active & ((gap <= 0.1 * thresh) | ((gap <= thresh) & stalled))
        failed = active & todo  # no step lowered F
        converged |= done | (failed & (gap <= thresh))
        active &= ~(done | failed)
    st.W, st.b, st.Z = W, b, Z
    pen = quad(pb, ev.P)
    ps = prob.with_lambda(quad.combine(base, pen))
    gmax = np.maximum(np.asarray(to_numpy(xp.max(xp.abs(ev.gW), axis=(0, 2)))),
                      np.asarray(to_numpy(xp.max(xp.abs(ev.gb), axis=1))))
    # the state the next lambda restarts from: the surrogate problem's evaluation (no product:
    # the loss gradient is F's minus R's), with F as its objective
    _, gRW, gRb = quad.coupled_terms(pb, W, ev.P)
    lw = ps.lam_w() - pb.lam_w()
    sev = Evaluation(f=ev.f, loss=ev.loss, P=ev.P, gW=ev.gW - gRW + lw * W, gb=ev.gb - gRb)
    st.ev = sev
    st.niter = niter
    st.gap = gap
    st.converged = st.converged & converged
    st.extra.update(augment_penalty=pen, augment_rounds=steps, augment_converged=bool(converged.all()),
                    augment_gradient=gmax)
    return ps, st, pen
