"""``geometry()`` of paths, sweeps and UFM solutions, its plot, and the max-margin limit of the path.

References, each independent of the code under test:

* norms, cosines, NC1 and the other summaries recomputed here with plain NumPy from the fit's
  coefficients (NC1 with ``numpy.linalg.pinv`` of the between-class covariance);
* the multiclass hard-margin SVM with free intercepts, ``min ||W||^2`` subject to
  ``Delta_y z_iy - Delta_k z_ik >= 1`` (``Delta = 1`` for plain CE), solved here as a QP with
  SciPy's SLSQP: the limit direction of the ridge path on separable data (Rosset, Zhu &
  Hastie 2004).
"""

from __future__ import annotations

import warnings

import matplotlib
import numpy as np
import pytest
from scipy.optimize import minimize

import classdep as cd
from classdep.datasets import make_mixture

matplotlib.use("Agg")


@pytest.fixture(scope="module")
def mixture():
    return make_mixture(n_classes=4, n_features=6, n_samples=330, imbalance="step", ratio=10,
                        separation=2.0, seed=3)


@pytest.fixture(scope="module")
def fit(mixture):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", cd.SeparationWarning)
        return cd.glmnet(mixture, lambda_=np.geomspace(1.0, 1e-3, 6))


def _unit(A):
    return A / np.linalg.norm(A, axis=-1, keepdims=True)


def test_geometry_matches_numpy(fit, mixture):
    g = cd.geometry(fit, mixture).data
    B = fit.path["coef"].values  # (L, K, d)
    X, y = mixture.X.values, mixture.y.values
    K = 4
    L = B.shape[0]
    np.testing.assert_allclose(g["w_norm"].values, np.sqrt((B ** 2).sum(axis=2)), rtol=1e-12)
    np.testing.assert_allclose(g["intercept"].values, fit.path["intercept"].values)
    for j in range(L):
        C = _unit(B[j]) @ _unit(B[j]).T
        np.testing.assert_allclose(g["w_cos"].values[j], C, atol=1e-12)
        off = C[~np.eye(K, dtype=bool)]
        assert g["w_equiangular"].values[j] == pytest.approx(off.std(), abs=1e-12)
        assert g["w_maxangle"].values[j] == pytest.approx(np.abs(off + 1 / 3).mean(), abs=1e-12)
        nrm = np.linalg.norm(B[j], axis=1)
        assert g["w_equinorm"].values[j] == pytest.approx(nrm.std() / nrm.mean(), rel=1e-10)
    mu = np.stack([X[y == k].mean(axis=0) for k in range(K)])
    M = mu - X.mean(axis=0)
    np.testing.assert_allclose(g["h_norm"].values, np.linalg.norm(M, axis=1), rtol=1e-12)
    np.testing.assert_allclose(g["h_cos"].values, _unit(M) @ _unit(M).T, atol=1e-12)
    Sw = (X - mu[y]).T @ (X - mu[y]) / X.shape[0]
    Sb = M.T @ M / K
    assert float(g["nc1"]) == pytest.approx(np.trace(Sw @ np.linalg.pinv(Sb)) / K, rel=1e-8)
    np.testing.assert_allclose(g["wh_cos"].values, (_unit(B) * _unit(M)[None]).sum(axis=2), atol=1e-12)
    Wn = B / np.linalg.norm(B, axis=(1, 2), keepdims=True)
    np.testing.assert_allclose(g["self_duality"].values, ((Wn - M / np.linalg.norm(M)) ** 2).sum(axis=(1, 2)),
                               atol=1e-12)
    # step summaries: classes 0, 1 are the majority (10x)
    np.testing.assert_array_equal(g["n"].values, np.bincount(y))
    assert g["role"].values.tolist() == ["majority", "majority", "minority", "minority"]
    nr = np.linalg.norm(B, axis=2)
    np.testing.assert_allclose(g["w_norm_ratio"].values, nr[:, :2].mean(1) / nr[:, 2:].mean(1), rtol=1e-12)
    wc = g["w_cos"].values
    np.testing.assert_allclose(g["w_pair_cos"].sel(pair="MM").values, wc[:, 0, 1], atol=1e-12)
    np.testing.assert_allclose(g["w_pair_cos"].sel(pair="mm").values, wc[:, 2, 3], atol=1e-12)
    np.testing.assert_allclose(g["w_pair_cos"].sel(pair="Mm").values,
                               wc[:, :2, 2:].reshape(L, -1).mean(axis=1), atol=1e-12)
    # minority classifiers are shorter than majority ones under ridge at every lambda here
    assert (g["w_norm_ratio"].values > 1).all()


def test_centering_options(fit, mixture):
    X, y = mixture.X.values, mixture.y.values
    mu = np.stack([X[y == k].mean(axis=0) for k in range(4)])
    gc = cd.geometry(fit, mixture, center="classes").data
    gn = cd.geometry(fit, mixture, center="none").data
    np.testing.assert_allclose(gc["h_norm"].values, np.linalg.norm(mu - mu.mean(0), axis=1), rtol=1e-12)
    np.testing.assert_allclose(gn["h_norm"].values, np.linalg.norm(mu, axis=1), rtol=1e-12)
    gg = cd.geometry(fit, mixture).data
    assert not np.allclose(gg["h_norm"].values, gc["h_norm"].values)  # imbalance moves the global mean


def test_geometry_of_cv_is_its_full_data_fit(mixture):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", cd.SeparationWarning)
        cv = cd.cv_glmnet(mixture, nfolds=3, lambda_=np.geomspace(1, 1e-2, 4), progress=False)
    g = cd.geometry(cv).data
    np.testing.assert_allclose(g["w_norm"].values, cd.geometry(cv.fit).data["w_norm"].values)
    np.testing.assert_array_equal(g["n"].values, np.bincount(mixture.y.values))
    assert "nc1" not in g  # no features given


def test_no_step_summaries_with_three_sizes():
    rng = np.random.default_rng(0)
    y = np.repeat([0, 1, 2], [30, 20, 10])
    X = rng.normal(size=(60, 3)) + 2 * np.eye(3)[y]
    g = cd.geometry(cd.glmnet(X, y, lambda_=[0.1]), X, y).data
    assert "w_norm_ratio" not in g and "role" not in g.coords
    assert g["n"].values.tolist() == [30, 20, 10]


def test_geometry_print_plot_and_netcdf(fit, mixture, tmp_path):
    geo = cd.geometry(fit, mixture)
    text = repr(geo)
    assert "Classifier geometry of glmnet()" in text and "NC1" in text and "cos Mm" in text
    fig = cd.plot(geo)
    axes = fig.axes
    assert len(axes) == 2
    labels = [t.get_text() for t in axes[0].get_legend().get_texts()]
    assert labels == ["majority", "minority"]
    colors = {ln.get_label(): ln.get_color() for ln in axes[0].get_lines()}
    assert colors["majority"] != colors["minority"]
    assert "simplex ETF" in [t.get_text() for t in axes[1].get_legend().get_texts()]
    fig2 = cd.plot(cd.geometry(cd.ufm([5, 5, 1, 1], lambda_=0, seed=0)))
    assert len(fig2.axes) == 2
    geo.to_netcdf(tmp_path / "g.nc")
    back = type(geo).from_netcdf(tmp_path / "g.nc")
    np.testing.assert_allclose(back["w_cos"].values, geo["w_cos"].values)


def test_logit_adjustment_is_absorbed_by_a_free_intercept(mixture):
    lam = [0.1, 0.01]
    ce = cd.geometry(cd.glmnet(mixture, lambda_=lam)).data
    la = cd.geometry(cd.glmnet(mixture, lambda_=lam, loss="la", tau=1.0)).data
    np.testing.assert_allclose(la["w_cos"].values, ce["w_cos"].values, atol=1e-9)
    np.testing.assert_allclose(la["w_norm"].values, ce["w_norm"].values, rtol=1e-8)
    shift = la["intercept"].values - ce["intercept"].values
    logpi = np.log(np.bincount(mixture.y.values) / mixture.sizes["sample"])
    np.testing.assert_allclose(shift, -(logpi - logpi.mean())[None, :].repeat(2, 0), atol=1e-7)
    ce0 = cd.geometry(cd.glmnet(mixture, lambda_=lam, intercept=False)).data
    la0 = cd.geometry(cd.glmnet(mixture, lambda_=lam, loss="la", tau=1.0, intercept=False)).data
    assert np.abs(la0["w_norm_ratio"].values - ce0["w_norm_ratio"].values).max() > 1e-2


def test_geometry_errors(fit, mixture):
    with pytest.raises(TypeError, match="geometry"):
        cd.geometry(np.zeros((3, 3)))
    with pytest.raises(ValueError, match="features"):
        cd.geometry(fit, mixture.X.values[:, :3], mixture.y.values)
    with pytest.raises(ValueError, match="takes no x"):
        cd.geometry(cd.ufm([2, 1], lambda_=0.1, seed=0), mixture.X.values, mixture.y.values)
    with pytest.raises(ValueError, match="center"):
        cd.geometry(fit, mixture, center="median")


# -- Rosset, Zhu & Hastie: the normalized ridge path tends to the max-margin direction -------------

def _multiclass_svm(X, y, K, delta):
    """min ||W||^2 s.t. delta_y (x_i w_y + b_y) - delta_k (x_i w_k + b_k) >= 1 (free intercepts)."""
    n, d = X.shape
    rows = [(i, k) for i in range(n) for k in range(K) if k != y[i]]
    A = np.zeros((len(rows), K * d + K))
    for r, (i, k) in enumerate(rows):
        c = y[i]
        A[r, c * d:(c + 1) * d] += delta[c] * X[i]
        A[r, k * d:(k + 1) * d] -= delta[k] * X[i]
        A[r, K * d + c] += delta[c]
        A[r, K * d + k] -= delta[k]
    pen = np.r_[np.ones(K * d), np.zeros(K)]
    res = minimize(lambda v: (0.5 * np.sum(pen * v * v), pen * v), np.zeros(K * d + K), jac=True,
                   method="SLSQP", constraints=[dict(type="ineq", fun=lambda v: A @ v - 1, jac=lambda v: A)],
                   options=dict(ftol=1e-15, maxiter=2000))
    assert res.success and (A @ res.x).min() > 1 - 1e-8
    return res.x[: K * d].reshape(K, d)


@pytest.mark.parametrize("loss, gamma, sizes", [("ce", 0.0, (6, 6, 6)), ("cdt", 1.0, (12, 6, 3))])
def test_ridge_path_tends_to_multiclass_max_margin(loss, gamma, sizes):
    # three well separated clusters in 2-D; convergence is slow (about 1/log(1/lambda)^2 in
    # 1 - cos here), so the test checks a steady decrease over ten decades and a final cosine
    # within 1e-3 of 1.
    rng = np.random.default_rng(0)
    centers = np.array([[3.0, 0.0], [-1.5, 2.6], [-1.5, -2.6]])
    y = np.repeat(np.arange(3), sizes)
    X = centers[y] + 0.6 * rng.standard_normal((y.size, 2))
    counts = np.bincount(y).astype(float)
    delta = (counts / counts.max()) ** gamma
    Ws = _multiclass_svm(X, y, 3, delta)
    lams = np.geomspace(1e-0, 1e-10, 11)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", cd.SeparationWarning)
        f = cd.glmnet(X, y, lambda_=lams, loss=loss, gamma=gamma)
    assert f.path["converged"].values.all()
    B = f.path["coef"].values.reshape(lams.size, -1)
    gap = 1 - B @ Ws.ravel() / (np.linalg.norm(B, axis=1) * np.linalg.norm(Ws))
    assert (np.diff(gap[2:]) < 0).all()  # closer at every decade from 1e-2 down
    assert gap[-1] < 1e-3
    assert gap[0] > 3 * gap[-1]  # the large-lambda fit is clearly not the max-margin one
    if loss == "cdt":  # the cost-sensitive margins matter: the plain SVM is another direction
        Wp = _multiclass_svm(X, y, 3, np.ones(3))
        assert 1 - B[-1] @ Wp.ravel() / (np.linalg.norm(B[-1]) * np.linalg.norm(Wp)) > 0.05
