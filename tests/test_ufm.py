"""The unconstrained-features model: ``ufm``, ``ufm_geometry``, step imbalance in ``make_mixture``.

References, each independent of the code under test:

* the max-margin limit: ``ufm(lambda_=0)`` (SLSQP on the constrained problem, with a duality
  certificate) against the closed forms of ``ufm_geometry`` (explicit formulas of SELI, CDT
  and LDT), and the explicit formulas against the SVD form of SELI;
* finite lambda: the per-sample problem (one free embedding per *sample*, no collapse, plain
  parameterization, logit adjustments written out here) minimized by L-BFGS from several
  random starts — not the closed forms, which the regularized solution approaches only like
  1 / log(1 / lambda).
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from scipy.optimize import minimize
from scipy.special import logsumexp

import classdep as cd
from classdep.analysis.closed_forms import seli, step_counts
from classdep.analysis.ufm import _maxmargin_certificate, _ridge_certificate, logit_factors
from classdep.datasets import class_proportions, make_mixture

TOL = 1e-5  # max-margin solutions against closed forms (SLSQP reaches ~1e-9 here)
VARS = ("w_norm_ratio", "h_norm_ratio", "w_pair_cos", "h_pair_cos", "wh_group_cos")


def _measured(u):
    g = cd.geometry(u).data.isel({"lambda": 0})
    return {v: np.atleast_1d(g[v].values) for v in VARS}


@pytest.mark.parametrize("K, R, loss, gamma", [
    (4, 10.0, "ce", 0.0), (6, 3.0, "ce", 0.0), (10, 10.0, "ce", 0.0), (4, 10.0, "la", 0.0),
    (4, 10.0, "cdt", 0.3), (6, 5.0, "cdt", 1.0), (10, 10.0, "vs", 0.5), (8, 20.0, "cdt", -0.2),
    (4, 10.0, "ldt", 0.3), (6, 5.0, "ldt", 1.0), (10, 100.0, "ldt", 0.25), (8, 4.0, "ldt", 0.5),
])
def test_maxmargin_reaches_closed_form(K, R, loss, gamma):
    u = cd.ufm(step_counts(K, R), loss=loss, gamma=gamma, lambda_=0, seed=0)
    assert u.data.attrs["gap"] < 1e-9  # certified global optimum of the max-margin problem
    np.testing.assert_allclose(u.data["margin"].values, 1.0, atol=1e-9)
    got = _measured(u)
    want = cd.ufm_geometry(K, R, loss=loss, gamma=gamma, method="formula")
    for v in VARS:
        np.testing.assert_allclose(got[v], np.atleast_1d(want[v].values), atol=TOL, err_msg=v)


@pytest.mark.parametrize("K, R, rho, loss, gamma", [
    (5, 7.0, 0.4, "ce", 0.0), (7, 3.0, 0.3, "ldt", 0.4), (6, 10.0, 2 / 3, "ldt", 0.8)])
def test_maxmargin_matrix_form_any_rho(K, R, rho, loss, gamma):
    u = cd.ufm(step_counts(K, R, rho), loss=loss, gamma=gamma, lambda_=0, seed=1)
    got = _measured(u)
    want = cd.ufm_geometry(K, R, rho=rho, loss=loss, gamma=gamma)
    assert want.attrs["method"] == "matrix"
    for v in VARS:
        np.testing.assert_allclose(got[v], np.atleast_1d(want[v].values), atol=TOL, equal_nan=True, err_msg=v)


@pytest.mark.parametrize("K, R, gamma", [(4, 10.0, 0.0), (10, 3.0, 0.0), (6, 50.0, 0.3), (8, 5.0, 1.2)])
def test_formulas_match_svd_form(K, R, gamma):
    for loss in ("ce", "ldt"):
        f = cd.ufm_geometry(K, R, loss=loss, gamma=gamma, method="formula")
        m = cd.ufm_geometry(K, R, loss=loss, gamma=gamma, method="matrix")
        for v in VARS:
            np.testing.assert_allclose(f[v].values, m[v].values, rtol=1e-10, atol=1e-12,
                                       err_msg=f"{loss} {v}")


def test_seli_logits_are_simplex_encoded_labels():
    n = np.array([9.0, 4.0, 1.0, 1.0, 2.0])
    W, H = seli(n)
    np.testing.assert_allclose(W @ H.T, np.eye(5) - 0.2, atol=1e-12)
    np.testing.assert_allclose(np.sum(W ** 2), np.sum(n[:, None] * H ** 2), rtol=1e-12)  # balanced


@pytest.mark.parametrize("loss", ["ce", "cdt", "ldt"])
@pytest.mark.parametrize("lam", [0.0, 0.05])
def test_balanced_classes_give_simplex_etf(loss, lam):
    K = 5
    u = cd.ufm([3] * K, loss=loss, gamma=0.7, lambda_=lam, seed=2)
    g = cd.geometry(u).data
    off = ~np.eye(K, dtype=bool)
    for cos, nrm in ((g["w_cos"].values[0], g["w_norm"].values[0]), (g["h_cos"].values, g["h_norm"].values)):
        np.testing.assert_allclose(cos[off], -1.0 / (K - 1), atol=1e-6)
        np.testing.assert_allclose(nrm / nrm.mean(), 1.0, atol=1e-6)
    np.testing.assert_allclose(g["wh_cos"].values, 1.0, atol=1e-6)  # self-duality
    etf = cd.ufm_geometry(K, 1.0, rho=0.4)
    np.testing.assert_allclose(etf["w_pair_cos"].values, -0.25, atol=1e-12)
    assert float(etf["w_norm_ratio"]) == pytest.approx(1.0)


@pytest.mark.parametrize("K, R, rho", [(4, 10.0, 0.5), (6, 100.0, 0.5), (5, 30.0, 0.4)])
def test_ldt_half_is_symmetric(K, R, rho):
    u = cd.ufm(step_counts(K, R, rho), loss="ldt", gamma=0.5, lambda_=0, seed=0)
    g = cd.geometry(u).data
    off = ~np.eye(K, dtype=bool)
    np.testing.assert_allclose(g["w_cos"].values[0][off], -1.0 / (K - 1), atol=TOL)
    np.testing.assert_allclose(g["w_norm"].values[0] / g["w_norm"].values[0].mean(), 1.0, atol=TOL)
    np.testing.assert_allclose(float(g["h_norm_ratio"]), R ** -0.5, rtol=TOL)
    # plain CE at the same sizes is not symmetric: the test can tell the two apart
    ce = cd.geometry(cd.ufm(step_counts(K, R, rho), lambda_=0, seed=0)).data
    assert abs(float(ce["w_norm_ratio"][0]) - 1.0) > 0.1


# -- finite lambda against an independent per-sample solve --------------------------------------

def _per_sample_objective(x, y, K, d, lam_w, lam_h, loss, counts, tau, gamma):
    """Sum of sample losses + ridge on W and on every sample's own embedding."""
    N = y.size
    W = x[: K * d].reshape(K, d)
    H = x[K * d:].reshape(N, d)
    Z = H @ W.T  # (N, K)
    delta = (counts / counts.max()) ** gamma
    prior = counts / counts.sum()
    if loss in ("cdt", "vs"):
        Zp = Z * delta[None, :]
    elif loss == "ldt":
        Zp = Z * delta[y][:, None]
    else:
        Zp = Z
    if loss in ("la", "vs"):
        Zp = Zp + tau * np.log(prior)[None, :]
    lse = logsumexp(Zp, axis=1)
    P = np.exp(Zp - lse[:, None])
    P[np.arange(N), y] -= 1.0
    val = np.sum(lse - Zp[np.arange(N), y]) + 0.5 * lam_w * np.sum(W ** 2) + 0.5 * lam_h * np.sum(H ** 2)
    if loss in ("cdt", "vs"):
        P = P * delta[None, :]
    elif loss == "ldt":
        P = P * delta[y][:, None]
    gW = P.T @ H + lam_w * W
    gH = P @ W + lam_h * H
    return val, np.concatenate([gW.ravel(), gH.ravel()])


def _independent(counts, loss, lam_w, lam_h, tau, gamma, starts=6):
    K = counts.size
    d = K
    y = np.repeat(np.arange(K), counts.astype(int))
    rng = np.random.default_rng(123)
    best = None
    for _ in range(starts):
        x0 = rng.standard_normal(K * d + y.size * d)
        r = minimize(_per_sample_objective, x0, jac=True, method="L-BFGS-B",
                     args=(y, K, d, lam_w, lam_h, loss, counts, tau, gamma),
                     options=dict(maxiter=20000, ftol=1e-15, gtol=1e-11))
        if best is None or r.fun < best.fun:
            best = r
    return best.fun, best.x[: K * d].reshape(K, d), best.x[K * d:].reshape(y.size, d), y


@pytest.mark.parametrize("loss, lam, tau, gamma", [
    ("ce", 0.1, 1.0, 0.3), ("la", 0.05, 1.0, 0.3), ("vs", 0.05, 0.5, 0.4), ("cdt", 0.2, 1.0, 0.6),
    ("ldt", 0.05, 1.0, 0.3), ("ce", (0.4, 0.02), 1.0, 0.3)])
def test_finite_lambda_matches_independent_per_sample_solve(loss, lam, tau, gamma):
    counts = np.array([4.0, 4.0, 1.0, 1.0])
    u = cd.ufm(counts, loss=loss, lambda_=lam, tau=tau, gamma=gamma, seed=0)
    lw, lh = (lam, lam) if np.isscalar(lam) else lam
    best, Wi, Hi, y = _independent(counts, loss, lw, lh, tau, gamma)
    a = u.data.attrs
    assert a["gap"] < 1e-9
    assert a["objective"] == pytest.approx(best, rel=1e-8)
    # the independent solution collapses within classes, and its geometry is ufm's
    means = np.stack([Hi[y == k].mean(axis=0) for k in range(4)])
    np.testing.assert_allclose(Hi, means[y], atol=1e-4)
    W, H = u.W.values, u.H.values
    np.testing.assert_allclose(W @ W.T, Wi @ Wi.T, atol=1e-4)
    np.testing.assert_allclose(H @ H.T, means @ means.T, atol=1e-4)
    np.testing.assert_allclose(W @ H.T, Wi @ means.T, atol=1e-4)


def test_regularized_geometry_approaches_max_margin_slowly():
    K, R = 10, 10.0
    target = cd.ufm_geometry(K, R)
    err, cos_err = [], []
    for lam in (1e-1, 1e-3, 1e-6, 1e-12):
        u = cd.ufm(step_counts(K, R), lambda_=lam, seed=0)
        assert u.data.attrs["gap"] < 1e-9  # certified even where the loss is ~1e-10 of one
        g = cd.geometry(u).data.isel({"lambda": 0})
        err.append(abs(float(g["w_norm_ratio"]) - float(target["w_norm_ratio"])))
        cos_err.append(np.abs(g["w_pair_cos"].values - target["w_pair_cos"].values).max())
    assert err[0] > err[1] > err[2] > err[3]
    assert err[3] > 1e-2  # still far at 1e-12: why the max-margin mode exists
    assert cos_err[3] < 0.01 < cos_err[1]  # the cosines get there first


def test_certificates_flag_points_that_are_not_optimal():
    n = step_counts(4, 10.0)
    C, iota = logit_factors("ce", n)
    u = cd.ufm(n, lambda_=0.01, seed=0)
    W, G = u.W.values, u.H.values * np.sqrt(n)[:, None]
    assert _ridge_certificate(W, G, n, C, iota, 0.01)["gap"] < 1e-9
    assert _ridge_certificate(1.1 * W, G, n, C, iota, 0.01)["gap"] > 1e-4
    # the balanced SELI is feasible for the imbalanced max-margin problem but not optimal
    Wb, Hb = seli(np.ones(4))
    x = np.concatenate([Wb.ravel(), (Hb * np.sqrt(n)[:, None]).ravel()])
    x = x / np.sqrt(_maxmargin_certificate(x, 4, 4, n, C)["min_margin"])
    assert _maxmargin_certificate(x, 4, 4, n, C)["gap"] > 1e-2


def test_low_dimension_warns_when_not_certified():
    # dim = 1 cannot hold the rank-(K-1) solution: the certificate fails and says so
    with pytest.warns(cd.ConvergenceWarning, match="certified relative gap"):
        cd.ufm([5, 5, 1, 1], lambda_=0.1, dim=1, seed=0, n_init=1)


def test_ufm_result_print_embeddings_and_netcdf(tmp_path):
    u = cd.ufm([3, 3, 1], lambda_=0.1, seed=0)
    text = repr(u)
    assert "certified relative gap" in text and "||w||" in text
    E = u.embeddings()
    assert E.dims == ("sample", "dim") and E.sizes["sample"] == 7
    np.testing.assert_array_equal(E.values[-1], u.H.values[2])
    u.to_netcdf(tmp_path / "u.nc")
    back = type(u).from_netcdf(tmp_path / "u.nc")
    np.testing.assert_array_equal(back.W.values, u.W.values)
    assert back.data.attrs["loss"] == "ce"


def test_ufm_same_seed_same_result():
    a = cd.ufm([4, 2, 1], lambda_=0.05, seed=3)
    b = cd.ufm([4, 2, 1], lambda_=0.05, seed=3)
    np.testing.assert_array_equal(a.W.values, b.W.values)


@pytest.mark.parametrize("kwargs, match", [
    (dict(counts=[3, 0, 1]), "<= 0"),
    (dict(counts=[3]), "at least 2"),
    (dict(counts=[3, 1], lambda_=-1.0), "must be a number >= 0"),
    (dict(counts=[3, 1], lambda_=(0.1, 0.0)), "both penalties"),
    (dict(counts=[3, 1], loss="focal"), "not one of"),
])
def test_ufm_input_errors(kwargs, match):
    with pytest.raises(ValueError, match=match):
        cd.ufm(**kwargs)


def test_ufm_geometry_errors():
    with pytest.raises(ValueError, match="rho = 1/2"):
        cd.ufm_geometry(5, 10.0, rho=0.4, loss="cdt")
    with pytest.raises(ValueError, match="method='matrix'"):
        cd.ufm_geometry(5, 10.0, rho=0.4, method="formula")
    with pytest.raises(ValueError, match="ratio"):
        cd.ufm_geometry(4, 0.5)


# -- step imbalance as the paper uses it ----------------------------------------------------------

@pytest.mark.parametrize("K, R, rho, minority", [(10, 10.0, 0.5, 5), (10, 100.0, 0.3, 3), (4, 3.0, 0.5, 2),
                                                 (5, 2.0, 0.5, 3)])
def test_step_imbalance_counts(K, R, rho, minority):
    n_min = 7
    n = int(n_min * (R * (K - minority) + minority))
    ds = make_mixture(n_classes=K, n_samples=n, imbalance="step", ratio=R, minority_fraction=rho, seed=0)
    counts = np.bincount(ds.y.values, minlength=K)
    np.testing.assert_array_equal(counts, [int(R * n_min)] * (K - minority) + [n_min] * minority)
    np.testing.assert_array_equal(step_counts(K, R, rho) * n_min, counts)
    p = class_proportions(K, "step", ratio=R, minority_fraction=rho)
    np.testing.assert_allclose(p * n, counts)


def test_step_imbalance_rejects_bad_settings():
    with pytest.raises(ValueError, match="ratio"):
        class_proportions(4, "step", ratio=0.5)
    with pytest.raises(ValueError, match="minority"):
        class_proportions(4, "step", ratio=5, minority_fraction=0.05)


def test_no_warning_for_certified_solutions():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        cd.ufm(step_counts(6, 10.0), loss="vs", lambda_=1e-3, seed=0)
