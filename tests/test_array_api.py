"""The solver kernels run unchanged under array-api-strict (proof of NumPy/CuPy
portability on a CPU-only machine), and on CuPy where a GPU is present."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from classdep.backend import gpu_available, to_numpy
from classdep.solvers.driver import minimize, start
from classdep.solvers.newton import CholeskyNewton
from classdep.solvers.newton_cg import NewtonCG
from classdep.solvers.path import fit_path, initial_point, prepare


def _data(seed=0, n=240, d=4, K=3):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, K, n)
    X = rng.normal(size=(n, d)) + rng.normal(size=(K, d))[y]
    return X, y


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


@pytest.mark.parametrize("inner", ["newton", "hessian", "kronecker"])
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


@pytest.mark.gpu
@pytest.mark.skipif(not gpu_available(), reason="needs CuPy and a CUDA device")
def test_gpu_path_matches_cpu():
    X, y = _data(n=2000, d=16, K=5)
    cpu = fit_path(X, y, 5, lambdas=[0.1, 0.01], device="cpu")
    gpu64 = fit_path(X, y, 5, lambdas=[0.1, 0.01], device="gpu", dtype=np.float64)
    np.testing.assert_allclose(gpu64.coef, cpu.coef, atol=1e-7)
    gpu32 = fit_path(X, y, 5, lambdas=[0.1, 0.01], device="gpu")
    assert np.abs(gpu32.objective - cpu.objective).max() / cpu.objective.max() < 1e-5
