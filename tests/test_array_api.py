"""The solver kernels run unchanged under array-api-strict (proof of NumPy/CuPy
portability on a CPU-only machine), and on CuPy where a GPU is present."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from builders import blobs

from classdep.backend import gpu_available, to_numpy
from classdep.solvers.driver import minimize, start
from classdep.solvers.newton import CholeskyNewton
from classdep.solvers.newton_cg import NewtonCG
from classdep.solvers.path import fit_path
from classdep.solvers.prepare import initial_point, prepare


def _data(seed=0, n=240, d=4, K=3):
    return blobs(n, d, K, seed)


def _solve_in(xp, X, y, K, family, loss, inner_name, lam=0.05, masks=None):
    pp = prepare(X, y, K, family=family, loss=loss, batch_weights=masks, device="cpu")
    prob = pp.prob

    def conv(a):
        return None if a is None else xp.asarray(np.asarray(a))

    prob = dataclasses.replace(
        prob, X=conv(prob.X), Y=conv(prob.Y), omega=conv(prob.omega), delta=conv(prob.delta),
        iota=conv(prob.iota), scale=conv(prob.scale), xp=xp,
        lam=xp.asarray(np.full((prob.M, K), lam)),
    )
    W, b = initial_point(dataclasses.replace(pp, prob=prob))
    inner = CholeskyNewton() if inner_name == "newton" else NewtonCG(prob, preconditioner=inner_name)
    st = minimize(prob, start(prob, W, b), inner, thresh=1e-10, maxit=50)
    return to_numpy(st.W), to_numpy(st.b), st.converged


@pytest.mark.parametrize("inner", ["newton", "hessian", "block", "kronecker"])
@pytest.mark.parametrize("family,loss", [("multinomial", "ce"), ("multinomial", "vs"),
                                         ("ova", "ce"), ("multinomial", "ldt")])
def test_solvers_under_array_api_strict(inner, family, loss):
    xps = pytest.importorskip("array_api_strict")
    X, y = _data()
    masks = np.stack([np.arange(X.shape[0]) % 3 != m for m in range(3)]).astype(float)
    Ws, bs, conv = _solve_in(xps, X, y, 3, family, loss, inner, masks=masks)
    import array_api_compat.numpy as xpn

    Wn, bn, _ = _solve_in(xpn, X, y, 3, family, loss, inner, masks=masks)
    assert conv.all()
    np.testing.assert_allclose(Ws, Wn, atol=1e-9)
    np.testing.assert_allclose(bs, bn, atol=1e-9)


def _strict_prepared(xp, pp, lam=None):
    def conv(a):
        return None if a is None else xp.asarray(np.asarray(a))

    prob = pp.prob
    prob = dataclasses.replace(
        prob, X=conv(prob.X), Y=conv(prob.Y), omega=conv(prob.omega), delta=conv(prob.delta),
        iota=conv(prob.iota), scale=conv(prob.scale), xp=xp,
        lam=conv(prob.lam if lam is None else lam),
    )
    return dataclasses.replace(pp, prob=prob)


@pytest.mark.parametrize("inner", ["newton", "hessian", "block", "kronecker"])
@pytest.mark.parametrize("family", ["multinomial", "ova", "gaussian"])
def test_elementwise_penalty_and_gaussian_family_under_array_api_strict(inner, family):
    xps = pytest.importorskip("array_api_strict")
    import array_api_compat.numpy as xpn

    X, y = _data()
    masks = np.stack([np.arange(X.shape[0]) % 3 != m for m in range(3)]).astype(float)
    lam = np.random.default_rng(0).uniform(0.01, 0.5, size=(X.shape[1], 3, 3))  # (d, M, K)
    pp = prepare(X, y, 3, family=family, batch_weights=masks, device="cpu")
    out = []
    for xp in (xps, xpn):
        ppx = _strict_prepared(xp, pp, lam)
        prob = ppx.prob
        W, b = initial_point(ppx)
        solver = CholeskyNewton() if inner == "newton" else NewtonCG(prob, preconditioner=inner)
        st = minimize(prob, start(prob, W, b), solver, thresh=1e-10, maxit=50)
        assert st.converged.all()
        out.append((to_numpy(st.W), to_numpy(st.b)))
    np.testing.assert_allclose(out[0][0], out[1][0], atol=1e-9)
    np.testing.assert_allclose(out[0][1], out[1][1], atol=1e-9)


@pytest.mark.parametrize("family,kind", [("multinomial", "dropout"), ("ova", "gaussian"),
                                         ("gaussian", "dropout")])
def test_quadratic_augmentation_fixed_point_under_array_api_strict(family, kind):
    """Wager's penalty, its fixed point and the Anderson steps run in any namespace."""
    xps = pytest.importorskip("array_api_strict")
    import array_api_compat.numpy as xpn

    from classdep.solvers.path import iter_path

    X, y = _data()
    masks = np.stack([np.arange(X.shape[0]) % 2 != m for m in range(2)]).astype(float)
    pp = prepare(X, y, 3, family=family, batch_weights=masks, device="cpu", standardize=True,
                 augment=dict(kind=kind, strength=0.3))
    res = []
    for xp in (xps, xpn):
        sts = list(iter_path(_strict_prepared(xp, pp), np.array([0.1, 0.001]), solver="newton"))
        res.append([(to_numpy(st.W), st.extra["augment_rounds"]) for _, st in sts])
        assert all(st.converged.all() and st.extra["augment_converged"] for _, st in sts)
    for (Ws, rs), (Wn, rn) in zip(res[0], res[1], strict=True):
        np.testing.assert_allclose(Ws, Wn, atol=1e-9)
        assert rs == rn


@pytest.mark.gpu
@pytest.mark.skipif(not gpu_available(), reason="needs CuPy and a CUDA device")
def test_gpu_path_matches_cpu():
    X, y = _data(n=2000, d=16, K=5)
    cpu = fit_path(X, y, 5, lambdas=[0.1, 0.01], device="cpu")
    gpu64 = fit_path(X, y, 5, lambdas=[0.1, 0.01], device="gpu", dtype=np.float64)
    np.testing.assert_allclose(gpu64.coef, cpu.coef, atol=1e-7)
    gpu32 = fit_path(X, y, 5, lambdas=[0.1, 0.01], device="gpu")
    assert np.abs(gpu32.objective - cpu.objective).max() / cpu.objective.max() < 1e-5
