"""The class-coupled ("full" softmax curvature) quadratic augmentation penalty inside the path solver.

``augment=dict(kind=..., strength=s, curvature="full")`` minimizes Wager, Wang & Liang's (2013)
quadratic objective with the curvature moving with the fit (:func:`minimize_coupled`).  Checked
against the dense reference (``augment_forms.quadratic_fit(..., frozen=False)``, L-BFGS on the same
objective), against the penalty's own formulas (``quadratic_penalty`` and its terms through the
probabilities), and against the sampled objective (``method="sample"`` with many copies).
"""

from __future__ import annotations

import numpy as np
import pytest
from builders import blobs

import classdep as cd
from classdep.link import response
from classdep.solvers.augment import QuadraticPenalty, check_augment
from classdep.solvers.augment_coupled import minimize_coupled
from classdep.solvers.augment_forms import (
    _noise_variance,
    _through_probabilities,
    quadratic_fit,
    quadratic_penalty,
)
from classdep.solvers.driver import start
from classdep.solvers.newton import CholeskyNewton
from classdep.solvers.newton_cg import NewtonCG
from classdep.solvers.path import fit_path
from classdep.solvers.prepare import initial_point, prepare


@pytest.fixture(scope="module")
def toy():
    return blobs(n=300, d=5, K=4, seed=3, spread=1.0)


def _grad_F(X, y, W, b, lam, kind, s):
    """The gradient of Wager's full-curvature objective (mean loss + lam/2 |W|^2 + R), dense."""
    n, K = X.shape[0], W.shape[1]
    P = response(X @ W + b, "multinomial")
    _, g = quadratic_penalty(X, W, b, kind, s)
    R = (P - np.eye(K)[y]) / n + _through_probabilities(X, W, _noise_variance(X, kind, s) / n, P, "full",
                                                         "multinomial")
    return np.r_[(X.T @ R + lam * W + g).ravel(), R.sum(axis=0)]


@pytest.mark.parametrize("kind", ["dropout", "gaussian"])
def test_coupled_terms_are_the_dense_formulas_member_by_member(toy, kind):
    """Value and gradient (the terms through P included) of the penalty in the problem's
    coordinates equal quadratic_penalty's and _through_probabilities' on each member's rows."""
    X, y = toy
    masks = np.stack([np.arange(300) % 3 != m for m in range(2)]).astype(float)
    pp = prepare(X, y, 4, batch_weights=masks, device="cpu")
    quad = QuadraticPenalty(pp.prob, check_augment(dict(kind=kind, strength=0.3, curvature="full")),
                            pp.center, pp.sd)
    rng = np.random.default_rng(0)
    W, b = rng.normal(scale=0.5, size=(5, 2, 4)), rng.normal(scale=0.5, size=(2, 4))
    Z = pp.prob.matmul_x(W) + b[None]
    P = response(Z.reshape(-1, 4), "multinomial").reshape(Z.shape)
    val, gW, gb = quad.coupled_terms(pp.prob, W, P)
    for m in range(2):
        rows = masks[m] > 0
        Xm = X[rows]
        bu = b[m] - pp.center @ W[:, m, :]  # the same logits on the features as given
        want, g = quadratic_penalty(Xm, W[:, m, :], bu, kind, 0.3)
        Pm = response(Xm @ W[:, m, :] + bu, "multinomial")
        dZ = _through_probabilities(Xm, W[:, m, :], _noise_variance(Xm, kind, 0.3) / rows.sum(), Pm, "full",
                                    "multinomial")
        assert float(val[m]) == pytest.approx(want, rel=1e-12)
        # the problem's W moves with the centred intercept fixed: the terms through P meet X - center
        np.testing.assert_allclose(gW[:, m, :], g + (Xm - pp.center).T @ dZ, rtol=1e-10, atol=1e-14)
        np.testing.assert_allclose(gb[m], dZ.sum(axis=0), rtol=1e-10, atol=1e-14)


@pytest.mark.parametrize("kind,s", [("gaussian", 0.3), ("dropout", 0.3)])
@pytest.mark.parametrize("inner", ["newton", "newton-cg"])
def test_minimize_coupled_reaches_the_reference_minimizer(toy, kind, s, inner):
    """From the plain start, both inner solvers land on quadratic_fit(frozen=False)'s minimizer:
    objective within 1e-12 (relative), coefficients within 1e-6 of their largest, and a gradient of
    the objective below 1e-7 (the reference's L-BFGS reaches about 1e-9)."""
    X, y = toy
    lam = 0.01
    pp = prepare(X, y, 4, device="cpu")
    quad = QuadraticPenalty(pp.prob, check_augment(dict(kind=kind, strength=s, curvature="full")),
                            pp.center, pp.sd)
    base = np.full((1, 4), lam)
    prob = pp.prob.with_lambda(base)
    solver = CholeskyNewton() if inner == "newton" else NewtonCG(prob)
    _, st, _ = minimize_coupled(prob, start(prob, *initial_point(pp)), base, quad, None, solver, 1e-13, 200)
    assert st.extra["augment_converged"]
    ref = quadratic_fit(X, y, lam, kind, s, frozen=False)
    W = np.asarray(st.W)[:, 0, :]
    b = np.asarray(st.b)[0] - pp.center @ W
    assert float(st.ev.f[0]) == pytest.approx(ref.objective, rel=1e-12)
    np.testing.assert_allclose(W - W.mean(axis=1, keepdims=True), ref.W - ref.W.mean(axis=1, keepdims=True),
                               rtol=0, atol=1e-6 * np.abs(ref.W).max())
    assert np.abs(_grad_F(X, y, W, b, lam, kind, s)).max() < 1e-7


@pytest.mark.parametrize("kind,s", [("gaussian", 0.3), ("dropout", 0.2)])
def test_path_with_full_curvature_matches_the_reference_at_every_lambda(toy, kind, s):
    X, y = toy
    lams = [0.3, 0.03, 0.003]
    fit = fit_path(X, y, 4, lambdas=lams, thresh=1e-13, augment=dict(kind=kind, strength=s, curvature="full"))
    assert fit.converged.all() and (fit.augment_rounds >= 1).all()
    for j, lam in enumerate(lams):
        ref = quadratic_fit(X, y, lam, kind, s, frozen=False)
        assert fit.objective[j, 0] == pytest.approx(ref.objective, rel=1e-11)
        W = fit.coef[j, :, 0, :]
        want = ref.W - ref.W.mean(axis=1, keepdims=True) + W.mean(axis=1, keepdims=True)  # same gauge
        np.testing.assert_allclose(W, want, rtol=0, atol=1e-5 * np.abs(ref.W).max())


def test_cv_folds_with_full_curvature_equal_separate_reference_fits(toy):
    """All folds batched (members with their own weights, so their own curvature): each held-out
    prediction equals the reference fitted on the fold's training rows, to 1e-6."""
    X, y = toy
    lam = 0.02
    cv = cd.cv_glmnet(X, y, nfolds=3, lambda_=[0.2, lam], thresh=1e-13, progress=False,
                      augment=dict(kind="dropout", strength=0.3, curvature="full"))
    P = np.exp(-cv.oof["loss"].values[1])  # p of the true class at lam
    for f in range(3):
        out = cv.foldid == f
        ref = quadratic_fit(X[~out], y[~out], lam, "dropout", 0.3, frozen=False)
        Pr = response(X[out] @ ref.W + ref.b, "multinomial")[np.arange(out.sum()), y[out]]
        np.testing.assert_allclose(P[out], Pr, rtol=1e-6)


def test_full_curvature_path_approaches_the_sampled_fit_as_copies_grow(toy):
    """Gaussian noise 0.3, lambda 0.01: distances to the sampled fit (1000 and 3000 copies, the
    expected noised loss by Monte Carlo), relative to what the augmentation moves the plain fit.
    The full-curvature path is within 0.06 (measured 0.02; the sampled fit's own Monte-Carlo
    error, from two seeds at 1000 copies, is 0.03) and closer at 3000 copies; the diagonal
    form (the frozen fixed point) is beyond the whole effect (measured 1.15)."""
    X, y = toy
    lam, s = 0.01, 0.3
    plain = fit_path(X, y, 4, lambdas=[lam], thresh=1e-12).coef[0, :, 0, :]
    full = fit_path(X, y, 4, lambdas=[lam], thresh=1e-12,
                    augment=dict(kind="gaussian", strength=s, curvature="full")).coef[0, :, 0, :]
    diag = fit_path(X, y, 4, lambdas=[lam], thresh=1e-12,
                    augment=dict(kind="gaussian", strength=s)).coef[0, :, 0, :]

    def sampled(copies, seed):
        return fit_path(X, y, 4, lambdas=[lam], thresh=1e-12, augment=dict(
            kind="gaussian", strength=s, method="sample", copies=copies, seed=seed)).coef[0, :, 0, :]

    s1000, s3000 = sampled(1000, 2), sampled(3000, 2)
    effect = np.linalg.norm(s3000 - plain)
    mc = np.linalg.norm(sampled(1000, 5) - s1000) / effect / np.sqrt(2)  # one fit's Monte-Carlo error
    d1000 = np.linalg.norm(full - s1000) / effect
    d3000 = np.linalg.norm(full - s3000) / effect
    assert mc < 0.04
    assert d3000 < 0.06 and d3000 < d1000 + mc
    assert np.linalg.norm(diag - s3000) / effect > 1.0


def test_full_curvature_refuses_what_it_does_not_cover(toy):
    X, y = toy
    with pytest.raises(ValueError, match="diagonal is the whole curvature"):
        fit_path(X, y, 4, lambdas=[0.1], family="ova", augment=dict(kind="dropout", strength=0.2,
                                                                    curvature="full"))
    with pytest.raises(ValueError, match="loss='ce'"):
        fit_path(X, y, 4, lambdas=[0.1], loss="la",
                 augment=dict(kind="dropout", strength=0.2, curvature="full"))
    with pytest.raises(ValueError, match="method='quadratic' only"):
        check_augment(dict(kind="dropout", strength=0.2, method="sample", curvature="full"))
    with pytest.raises(ValueError, match="not one of"):
        check_augment(dict(kind="dropout", strength=0.2, curvature="block"))
    aug = check_augment(dict(kind="dropout", strength=0.2, curvature="full"))
    assert aug.describe() == "kind=dropout, strength=0.2, method=quadratic, curvature=full"
    assert check_augment(aug) == aug


def test_full_curvature_runs_under_array_api_strict():
    """The coupled minimization is written against the array API: the same steps and solution
    in array-api-strict as in NumPy (two members, standardized dropout)."""
    xps = pytest.importorskip("array_api_strict")
    import array_api_compat.numpy as xpn
    from test_array_api import _data, _strict_prepared

    from classdep.backend import to_numpy
    from classdep.solvers.path import iter_path

    X, y = _data()
    masks = np.stack([np.arange(X.shape[0]) % 2 != m for m in range(2)]).astype(float)
    pp = prepare(X, y, 3, batch_weights=masks, device="cpu", standardize=True,
                 augment=dict(kind="dropout", strength=0.3, curvature="full"))
    res = []
    for xp in (xps, xpn):
        sts = list(iter_path(_strict_prepared(xp, pp), np.array([0.1, 0.001]), solver="newton"))
        assert all(st.converged.all() and st.extra["augment_converged"] for _, st in sts)
        res.append([(to_numpy(st.W), st.extra["augment_rounds"]) for _, st in sts])
    for (Ws, rs), (Wn, rn) in zip(res[0], res[1], strict=True):
        np.testing.assert_allclose(Ws, Wn, atol=1e-9)
        assert rs == rn
