"""The per-class block preconditioner (:class:`classdep.solvers.newton.ClassBlockFactor`)
against the exact Hessian, the identities it rests on, and the adaptive choice that
``preconditioner="auto"`` makes for large heads."""

from __future__ import annotations

import numpy as np
import pytest
from builders import blobs

from classdep.solvers.driver import minimize, start
from classdep.solvers.newton import ClassBlockFactor
from classdep.solvers.newton_cg import NewtonCG
from classdep.solvers.objective import class_blocks, curvature_rows, gauge_direction, hessian_blocks, hessp
from classdep.solvers.path import fit_path
from classdep.solvers.prepare import initial_point, prepare


def _state(loss="ce", K=5, d=4, n=400, lam=1e-2, intercept=True, seed=0, M=2, pf=None):
    rng = np.random.default_rng(seed)
    X, y = blobs(n, d, K, rng, spread=1.5)
    masks = np.stack([np.arange(n) % M != m for m in range(M)]).astype(float)
    pp = prepare(X, y, K, loss=loss, batch_weights=masks, intercept=intercept, device="cpu")
    lamk = np.full((M, K), lam) if pf is None else lam * np.broadcast_to(pf, (M, K))
    prob = pp.prob.with_lambda(np.ascontiguousarray(lamk))
    W, b = initial_point(pp)
    W = W + rng.normal(scale=0.3, size=W.shape)
    return prob, start(prob, W, b)


@pytest.mark.parametrize("intercept", [True, False])
@pytest.mark.parametrize("loss", ["ce", "cdt", "ldt"])
def test_blocks_with_no_rows_dropped_are_the_exact_hessian_diagonal_blocks(loss, intercept):
    prob, st = _state(loss=loss, intercept=intercept)
    H, per_class = hessian_blocks(prob, st.ev.P)
    assert not per_class
    d, K, M = prob.d, prob.K, prob.M
    Hr = H.reshape(M, d + 1, K, d + 1, K)
    if intercept:
        # hessian_blocks adds the intercept gauge term; the blocks leave it to the projection
        g = np.concatenate([np.zeros(d * K), np.asarray(prob.gauge)])
        Hr = (H - np.asarray(g)[:, None] * g[None, :]).reshape(M, d + 1, K, d + 1, K)
    B = class_blocks(prob, st.ev.P, drop=0.0)
    for m in range(M):
        for k in range(K):
            np.testing.assert_allclose(B[m, k], Hr[m, :, k, :, k], rtol=1e-12, atol=1e-14)


def test_dropped_rows_carry_at_most_the_requested_curvature():
    prob, st = _state(lam=1e-4)
    v, keep = curvature_rows(prob, st.ev.P, drop=0.05)
    v = np.asarray(v)
    kept = (v * keep).sum(axis=0)
    total = v.sum(axis=0)
    assert (kept >= 0.95 * total * (1 - 1e-12)).all()
    # and it is the fewest such rows: without the smallest kept row the mass falls short
    for m in range(prob.M):
        for k in range(prob.K):
            rows = np.nonzero(keep[:, m, k])[0]
            smallest = v[rows, m, k].min()
            assert kept[m, k] - smallest < 0.95 * total[m, k] or (v[rows, m, k] == smallest).sum() > 1


@pytest.mark.parametrize("loss", ["ce", "cdt"])
def test_gauge_directions_get_the_inverse_penalty_exactly(loss):
    """Along v ⊗ u the Hessian is the penalty alone (uniform lambda): H z = lam z, so
    the preconditioner must return z / lam there, whatever the blocks are."""
    lam = 3e-3
    prob, st = _state(loss=loss, lam=lam)
    u = np.asarray(gauge_direction(prob))
    v = np.random.default_rng(1).normal(size=(prob.d, prob.M))
    Z = v[:, :, None] * u[None, None, :]
    HW, Hb = hessp(prob, st.ev.P, Z, np.zeros((prob.M, prob.K)))
    np.testing.assert_allclose(HW, lam * Z, atol=1e-12)
    np.testing.assert_allclose(Hb, 0.0, atol=1e-12)
    SW, Sb = ClassBlockFactor(prob, st.ev.P).solve(Z, np.zeros((prob.M, prob.K)))
    np.testing.assert_allclose(SW, Z / lam, rtol=1e-10)
    np.testing.assert_allclose(Sb, 0.0, atol=1e-10)


def test_preconditioner_is_symmetric_positive_definite():
    """CG needs a fixed SPD preconditioner: check <a, P b> = <P a, b> and <a, P a> > 0."""
    prob, st = _state(lam=1e-3, pf=np.linspace(0.5, 2.0, 5))
    f = ClassBlockFactor(prob, st.ev.P)
    rng = np.random.default_rng(2)
    a = (rng.normal(size=(prob.d, prob.M, prob.K)), rng.normal(size=(prob.M, prob.K)))
    c = (rng.normal(size=(prob.d, prob.M, prob.K)), rng.normal(size=(prob.M, prob.K)))
    Pa, Pc = f.solve(*a), f.solve(*c)

    def dot(x, y):
        return (x[0] * y[0]).sum() + (x[1] * y[1]).sum()

    assert dot(a, Pc) == pytest.approx(dot(Pa, c), rel=1e-10)
    assert dot(a, Pa) > 0 and dot(c, Pc) > 0


def _many_classes(K=30, d=12, n=3000):
    """30 well-separated classes: nearly separable at small lambda."""
    rng = np.random.default_rng(0)
    y = rng.integers(0, K, n)
    X = rng.normal(size=(K, d))[y] * 2.5 + rng.normal(size=(n, d))
    return X, y, K, d


@pytest.mark.filterwarnings("ignore::classdep.SeparationWarning")
def test_block_preconditioner_beats_kronecker_on_many_classes_at_small_lambda():
    """The reason it exists: fewer CG iterations where the data are nearly separable."""
    X, y, K, d = _many_classes()
    lams = np.geomspace(1e-1, 1e-5, 5)
    its = {}
    for pre in ("block", "kronecker"):
        fit = fit_path(X, y, K, lambdas=lams, solver="newton-cg", preconditioner=pre, thresh=1e-10)
        assert fit.converged.all()
        its[pre] = (fit.work[-1].cg_iterations, fit.objective[-1, 0])
    assert its["block"][0] < its["kronecker"][0] / 2
    assert its["block"][1] == pytest.approx(its["kronecker"][1], rel=1e-9)


@pytest.mark.filterwarnings("ignore::classdep.SeparationWarning")
def test_adaptive_block_chooses_kronecker_at_large_lambda_and_blocks_at_small():
    X, y, K, d = _many_classes()
    pp = prepare(X, y, K, device="cpu")
    chosen = {}
    for lam in (1.0, 1e-5):
        prob = pp.prob.with_lambda(np.full((1, K), lam))
        W, b = initial_point(pp)
        if lam < 1:  # start near this lambda's solution, where the curvature has concentrated
            ref = fit_path(X, y, K, lambdas=[lam], solver="newton-cg", preconditioner="kronecker")
            W = (ref.coef[0] * 0.9)
            b = ref.intercept[0] + (pp.center @ ref.coef[0].reshape(d, K)).reshape(1, K)
        inner = NewtonCG(prob, preconditioner="block", adaptive=True)
        minimize(prob, start(prob, W, b), inner, thresh=1e-9, maxit=50)
        chosen[lam] = inner._use
    assert chosen == {1.0: "kronecker", 1e-5: "block"}



@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_factor_solves_match_dense_solves(dtype):
    """The NumPy route solves one right-hand side by two BLAS triangular solves per
    factor (backend.cho_solve): against numpy.linalg.solve on the same blocks."""
    import array_api_compat.numpy as xp

    from classdep.backend import cho_factor, cho_solve

    rng = np.random.default_rng(2)
    A = rng.normal(size=(7, 9, 30))
    H = (A @ A.transpose(0, 2, 1) + np.eye(9)).astype(dtype)
    g = rng.normal(size=(7, 9, 1)).astype(dtype)
    ref = np.linalg.solve(H.astype(np.float64), g.astype(np.float64))
    x = cho_solve(xp, cho_factor(xp, H), g)
    assert x.dtype == dtype
    tol = 1e-4 if dtype == np.float32 else 1e-12
    assert np.max(np.abs(x - ref)) <= tol * np.max(np.abs(ref))
    # two right-hand sides take SciPy's cho_solve: the same answers
    g2 = np.concatenate([g, 2 * g], axis=2)
    x2 = cho_solve(xp, cho_factor(xp, H), g2)
    assert np.max(np.abs(x2[..., 1:] - 2 * x)) <= tol * np.max(np.abs(ref))


def test_curvature_rows_on_a_subset_estimate_the_kept_fraction():
    """The adaptive choice looks at a fixed draw of rows: the same per-row curvature
    there, and a kept fraction within 0.05 of the one from all rows."""
    from classdep.solvers.schedule import kept_fraction as _kept_fraction

    prob, st = _state(K=8, d=6, n=8000, lam=1e-4, M=2)
    v, keep = curvature_rows(prob, st.ev.P)
    sub = np.sort(np.random.default_rng(0).choice(8000, 2000, replace=False))
    vs, keeps = curvature_rows(prob, st.ev.P, subset=sub)
    np.testing.assert_array_equal(vs, v[sub])
    full, est = _kept_fraction(prob, st, keep), _kept_fraction(prob, st, keeps, sub)
    assert 0.0 < full < 1.0
    assert abs(est - full) <= 0.05


def test_hessian_summed_over_every_row_carries_over_between_lambdas():
    """Few rows for (d+1)K coefficients: the Hessian preconditioner is summed over every row
    and carried to the next lambda (fewer formations than lambdas), with the same answers as
    a reproducible run, which forms it anew at every lambda."""
    X, y = blobs(n=300, d=10, K=3, seed=4)
    lams = np.geomspace(1.0, 1e-3, 8)
    kw = dict(solver="newton-cg", preconditioner="hessian", thresh=1e-12)
    carried = fit_path(X, y, 3, lambdas=lams, **kw)
    fresh = fit_path(X, y, 3, lambdas=lams, reproducible=True, **kw)
    assert sum(w.hessians for w in carried.work) < lams.size
    assert sum(w.hessians for w in fresh.work) >= lams.size
    np.testing.assert_allclose(carried.coef, fresh.coef, rtol=0, atol=1e-6 * np.abs(fresh.coef).max())


def test_hessian_summed_over_sampled_rows_is_formed_at_every_lambda():
    """Many rows: the Hessian is summed over curvature-sampled rows, cheap enough to form anew
    at each lambda (carried, its extra CG iterations cost more than the formations saved)."""
    X, y = blobs(n=6000, d=2, K=2, seed=5)
    lams = np.geomspace(1.0, 1e-2, 5)
    fit = fit_path(X, y, 2, lambdas=lams, solver="newton-cg", preconditioner="hessian")
    assert sum(w.hessians for w in fit.work) >= lams.size
