"""Wide features (d > n): the sample-space route against the feature-space solve and scikit-learn,
its memory plan against the measured peak, and interrupts that get through.

The sample-space route (:mod:`classdep.solvers.sample_space`) solves the path on the
``min(n, d)`` reduced features that span the row space of ``x``; it is exact, so it must agree
with the feature-space solve to the solvers' accuracy (1e-10 here), for every case the
argument covers: class-specific penalties, intercepts or none, sample weights, logit
adjustments, both logistic families, folds batched with one shared basis.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
import tracemalloc
import warnings

import numpy as np
import pytest
from builders import noise, quiet_cv
from sklearn.linear_model import LogisticRegression

import classdep as cd
from classdep.solvers.memory import plan_memory
from classdep.solvers.path import fit_path
from classdep.solvers.sample_space import choose_route

LAMBDAS = [0.5, 0.05, 0.01]
TIGHT = dict(thresh=1e-13, maxit=200, warn=False, device="cpu")


def _wide(n=36, d=90, K=3, seed=0):
    X, y = noise(n, d, K, seed, signal=1.0)
    X = X * np.linspace(0.5, 2.0, d) + 0.3  # unequal, uncentred features
    return X, y


def _both(X, y, K, **kw):
    a = fit_path(X, y, K, lambdas=LAMBDAS, route="sample", **TIGHT, **kw)
    b = fit_path(X, y, K, lambdas=LAMBDAS, route="feature", **TIGHT, **kw)
    assert (a.route, b.route) == ("sample", "feature")
    return a, b


def _agree(a, b, tol=1e-10):
    scale = max(1.0, np.abs(b.coef).max())
    assert np.abs(a.coef - b.coef).max() <= tol * scale
    assert np.abs(a.intercept - b.intercept).max() <= tol * max(1.0, np.abs(b.intercept).max())
    np.testing.assert_allclose(a.objective, b.objective, rtol=tol, atol=0)
    assert a.converged.all() and b.converged.all()


@pytest.mark.parametrize("family", ["multinomial", "ova"])
@pytest.mark.parametrize("intercept", [True, False])
def test_sample_space_matches_feature_space(family, intercept):
    X, y = _wide()
    w = np.random.default_rng(1).uniform(0.2, 3.0, y.size)
    pf = [0.5, 1.0, 4.0]  # class-specific penalties: lambda_k = lambda * pf[k]
    a, b = _both(X, y, 3, family=family, intercept=intercept, weights=w, penalty_factor=pf)
    _agree(a, b)


@pytest.mark.parametrize("loss", ["vs", "ldt"])
def test_sample_space_with_logit_adjustments_and_standardize(loss):
    X, y = _wide(seed=2)
    a, b = _both(X, y, 3, loss=loss, standardize=True, class_weight="balanced")
    _agree(a, b)


def test_folds_share_one_basis_of_all_rows():
    """Each fold's solution lies in the span of its training rows, which the span of all
    rows contains: one basis serves the batch, and held-out rows weigh zero."""
    X, y = _wide(n=40, d=70, seed=3)
    folds = np.arange(y.size) % 4
    masks = (folds[None, :] != np.arange(4)[:, None]).astype(float)
    a, b = _both(X, y, 3, batch_weights=masks, penalty_factor=[1.0, 2.0, 0.5])
    _agree(a, b)
    # and each fold equals its own fit on its training rows alone
    for m in range(4):
        tr = folds != m
        one = fit_path(X[tr], y[tr], 3, lambdas=LAMBDAS, route="feature", penalty_factor=[1.0, 2.0, 0.5],
                       **TIGHT)
        assert np.abs(a.coef[:, :, m, :] - one.coef[:, :, 0, :]).max() <= 1e-9 * np.abs(one.coef).max()


def test_auto_takes_the_sample_space_when_d_exceeds_n():
    X, y = _wide(n=30, d=40)
    assert fit_path(X, y, 3, lambdas=[0.1], warn=False).route == "sample"
    assert fit_path(X[:, :20], y, 3, lambdas=[0.1], warn=False).route == "feature"
    # the quadratic augmentation's per-feature penalty is not rotation invariant
    aug = dict(kind="dropout", strength=0.2)
    assert fit_path(X, y, 3, lambdas=[0.1], augment=aug, warn=False).route == "feature"
    with pytest.raises(ValueError, match="rotation invariant"):
        fit_path(X, y, 3, lambdas=[0.1], augment=aug, route="sample")
    assert choose_route(30, 40) == "sample" and choose_route(30, 40, "feature") == "feature"


def test_glmnet_reports_the_route_and_keeps_the_default_grid():
    X, y = _wide(n=30, d=60)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        a = cd.glmnet(X, y, nlambda=4, thresh=1e-13, device="cpu")
        b = cd.glmnet(X, y, nlambda=4, thresh=1e-13, device="cpu", route="feature")
    assert a.data.attrs["route"] == "sample" and b.data.attrs["route"] == "feature"
    np.testing.assert_allclose(a.lambda_, b.lambda_, rtol=1e-12)  # lambda_max in the features
    np.testing.assert_allclose(a.path["coef"].values, b.path["coef"].values, rtol=0,
                               atol=1e-10 * np.abs(b.path["coef"].values).max())


def test_cv_glmnet_in_the_sample_space_matches_the_feature_space():
    X, y = _wide(n=45, d=80, seed=4)
    kw = dict(lambda_=LAMBDAS, nfolds=3, seed=0, device="cpu", thresh=1e-13, maxit=200,
              penalty_factor=[1.0, 3.0, 0.5])
    a = quiet_cv(X, y, **kw)
    b = quiet_cv(X, y, route="feature", **kw)
    np.testing.assert_allclose(a.cvm, b.cvm, rtol=1e-10)
    np.testing.assert_allclose(a.oof["loss"].values, b.oof["loss"].values, rtol=1e-9, atol=1e-12)


def test_checkpointed_sweep_resumes_bit_for_bit(tmp_path):
    X, y = _wide(n=40, d=75, seed=5)
    kw = dict(lambda_=[0.5, 0.1, 0.05, 0.01], nfolds=4, seed=0, device="cpu")
    full = quiet_cv(X, y, checkpoint=tmp_path / "a", **kw)
    # a run stopped after two lambdas, resumed
    import shutil

    part = tmp_path / "b"
    shutil.copytree(tmp_path / "a", part)
    for f in sorted(part.glob("lambda_*.npz"))[2:]:
        f.unlink()
    assert len(list(part.glob("lambda_*.npz"))) == 2
    resumed = quiet_cv(X, y, checkpoint=part, **kw)
    np.testing.assert_array_equal(resumed.cvm, full.cvm)
    np.testing.assert_array_equal(resumed.oof["loss"].values, full.oof["loss"].values)


@pytest.mark.parametrize("family", ["multinomial", "ova"])
def test_sample_space_matches_sklearn(family):
    """scikit-learn minimizes C sum_i loss_i + ||W||^2 / 2: the same minimizer at
    C = 1 / (n lambda)."""
    X, y = _wide(n=40, d=120, seed=6)
    lam = 0.05
    fit = fit_path(X, y, 3, lambdas=[lam], family=family, **TIGHT)
    assert fit.route == "sample"
    W, b = fit.coef[0, :, 0, :], fit.intercept[0, 0]
    C = 1.0 / (lam * y.size)
    sk = dict(C=C, tol=1e-12, max_iter=1000, solver="newton-cholesky")
    if family == "multinomial":
        ref = LogisticRegression(**sk).fit(X, y)
        Wr, br = ref.coef_.T, ref.intercept_ - ref.intercept_.mean()
    else:
        refs = [LogisticRegression(**sk).fit(X, (y == k).astype(int)) for k in range(3)]
        Wr = np.stack([r.coef_[0] for r in refs], axis=1)
        br = np.array([r.intercept_[0] for r in refs])
    assert np.abs(W - Wr).max() <= 1e-6 * np.abs(Wr).max()
    assert np.abs(b - br).max() <= 1e-6 * max(1.0, np.abs(br).max())


def test_sample_space_under_array_api_strict():
    """The reduction and the solve on the reduced features run under array-api-strict and
    give the NumPy answer."""
    xps = pytest.importorskip("array_api_strict")
    import dataclasses

    import array_api_compat.numpy as xpn

    from classdep.backend import to_numpy
    from classdep.solvers.driver import minimize, start
    from classdep.solvers.newton import CholeskyNewton
    from classdep.solvers.prepare import initial_point, prepare
    from classdep.solvers.sample_space import reduce_features, to_feature_space

    X, y = _wide(n=24, d=50, seed=7)
    pp = prepare(X, y, 3, device="cpu", route="feature")
    out = []
    for xp in (xps, xpn):
        def conv(a, xp=xp):
            return None if a is None else xp.asarray(np.asarray(a))

        T, Q = reduce_features(xp, conv(pp.prob.X), conv(np.mean(pp.prob.omega, axis=1)))
        prob = dataclasses.replace(pp.prob, X=T, Y=conv(pp.prob.Y), omega=conv(pp.prob.omega), xp=xp,
                                   lam=xp.asarray(np.array([[0.05, 0.1, 0.2]])))
        W, b = initial_point(dataclasses.replace(pp, prob=prob))
        st = minimize(prob, start(prob, W, b), CholeskyNewton(), thresh=1e-12, maxit=50)
        assert st.converged.all()
        out.append(to_numpy(to_feature_space(xp, Q, st.W)))
    np.testing.assert_allclose(out[0], out[1], atol=1e-10)
    ref = fit_path(X, y, 3, lambdas=[0.1], penalty_factor=[0.5, 1.0, 2.0], route="feature", **TIGHT)
    np.testing.assert_allclose(out[0][:, 0, :], ref.coef[0, :, 0, :], atol=1e-9)


# -- the memory plan --------------------------------------------------------------------------


def test_the_plan_chooses_and_reports_the_route():
    p = plan_memory(50, 10000, 3, 5, itemsize=8, memory_limit="4GB")
    assert p.route == "sample" and p.rank == 50 and p.preconditioner == "hessian"
    assert "route: sample space" in repr(p) and "r = 50" in repr(p)
    q = plan_memory(50, 10000, 3, 5, itemsize=8, memory_limit="8GB", route="feature")
    assert q.route == "feature" and q.total_bytes > 10 * p.total_bytes
    # the plan round-trips through its dataset
    assert type(p)._from_groups(p._datasets()).route == "sample"


def test_plan_bounds_the_traced_peak_of_a_wide_fit():
    n, d, K, M = 60, 8000, 4, 5
    X, y = noise(n, d, K, 8, signal=1.0)
    folds = np.arange(n) % M
    bw = (folds[None, :] != np.arange(M)[:, None]).astype(float)
    plan = plan_memory(n, d, K, M, itemsize=8, memory_limit="20GB")
    assert plan.route == "sample"
    tracemalloc.start()
    try:
        fit_path(X, y, K, np.geomspace(1, 1e-3, 4), batch_weights=bw, device="cpu", memory_limit="20GB",
                 warn=False)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak <= plan.total_bytes <= 10 * peak, (peak / 2**20, plan.total_bytes / 2**20)


_RSS_CHILD = """
import numpy as np, sys
from classdep.solvers.memory import plan_memory
from classdep.solvers.path import fit_path
n, d, K, M = {n}, {d}, {K}, {M}
rng = np.random.default_rng(0)
X = rng.normal(size=(n, d)); y = np.arange(n) % K
bw = (np.arange(n)[None, :] % M != np.arange(M)[:, None]).astype(float) if M > 1 else None
fit_path(X[:, :50], y, K, [1.0], batch_weights=bw, device="cpu", warn=False)  # imports, BLAS pools
plan = plan_memory(n, d, K, M, itemsize=8, memory_limit="20GB")
def status(key):
    with open("/proc/self/status") as fh:
        return next(int(l.split()[1]) * 1024 for l in fh if l.startswith(key))
base = status("VmRSS:")
with open("/proc/self/clear_refs", "w") as fh:
    fh.write("5")  # resets VmHWM to the current RSS
fit_path(X, y, K, np.geomspace(1, 1e-3, 4), batch_weights=bw, device="cpu", memory_limit="20GB", warn=False)
print(plan.route, status("VmHWM:") - base, plan.total_bytes)
"""


@pytest.mark.skipif(not os.path.exists("/proc/self/clear_refs"), reason="needs Linux's /proc")
def test_plan_bounds_the_resident_peak_of_a_wide_fit():
    """The resident set (RSS) counts what tracemalloc cannot see: LAPACK's workspaces
    and NumPy's internal copies inside the QR factorization."""
    code = textwrap.dedent(_RSS_CHILD.format(n=80, d=20000, K=3, M=5))
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=600,
                         env={**os.environ, "OPENBLAS_NUM_THREADS": "1"})
    assert out.returncode == 0, out.stderr[-2000:]
    route, peak, est = out.stdout.split()
    assert route == "sample"
    assert int(peak) <= int(est), (int(peak) / 2**20, int(est) / 2**20)


# -- interrupts -------------------------------------------------------------------------------


def test_an_interrupt_gets_through_a_wide_path():
    """A KeyboardInterrupt raised by a signal handler reaches the caller promptly: no single
    uninterruptible call holds the interpreter (the bound is generous: it is no timing test)."""
    if not hasattr(signal, "setitimer"):
        pytest.skip("needs signal.setitimer")
    X, y = noise(60, 6000, 4, 9, signal=1.0)
    lam = np.geomspace(10, 1e-4, 4000)  # far longer than the alarm
    fired = []

    def handler(signum, frame):
        fired.append(time.perf_counter())
        raise KeyboardInterrupt

    old = signal.signal(signal.SIGALRM, handler)
    try:
        due = time.perf_counter() + 0.5
        signal.setitimer(signal.ITIMER_REAL, 0.5)
        with pytest.raises(KeyboardInterrupt):
            fit_path(X, y, 4, lam, device="cpu", warn=False)
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)
    # the handler runs at the first bytecode after the signal: its delay is the longest
    # single C call in flight (milliseconds here; minutes before the sample space)
    assert fired and fired[0] - due < 2.0
