"""The R-like face: glmnet(), print, coef (glmnet's interpolation), predict, summary,
class-specific penalties, persistence and plots."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr
from scipy.special import softmax
from sklearn.metrics import log_loss

import classdep as cd
from classdep.datasets import as_features


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(0)
    y = rng.choice(["cat", "dog", "eel"], size=240)
    X = rng.normal(size=(240, 4)) + (y == "dog")[:, None] * np.array([1.0, 0, 0, 0])
    return X, y


@pytest.fixture(scope="module")
def fit(data):
    X, y = data
    return cd.glmnet(X, y, nlambda=12)


def test_print_is_r_table_with_independent_dev_ratio(fit, data):
    X, y = data
    text = repr(fit)
    assert text.startswith("Call:  glmnet(")
    header = text.splitlines()[2].split()
    assert header == ["Df", "%Dev", "Lambda"]
    assert len(text.splitlines()) == 3 + 12
    # %Dev = 1 - deviance / null deviance, recomputed with scikit-learn's log_loss
    j = 7
    P = cd.predict(fit, X, s=fit.lambda_[j], type="response").values
    null = log_loss(y, np.tile(np.unique(y, return_counts=True)[1] / y.size, (y.size, 1)))
    expect = 1 - log_loss(y, P, labels=["cat", "dog", "eel"]) / null
    assert abs(float(fit.dev_ratio[j]) - expect) < 1e-10
    assert f"{100 * expect:.2f}" in text.splitlines()[3 + j]


def test_coef_layout_and_glmnet_interpolation(fit):
    C = cd.coef(fit)
    assert C.dims == ("lambda", "class", "feature")
    assert C["feature"].values[0] == "(Intercept)"
    assert list(C["class"].values) == ["cat", "dog", "eel"]
    lam = fit.lambda_
    s = 0.3 * lam[4] + 0.7 * lam[5]
    # glmnet's lambda.interp: linear in lambda between the bracketing grid points
    frac = (s - lam[5]) / (lam[4] - lam[5])
    expect = frac * C.isel({"lambda": 4}) + (1 - frac) * C.isel({"lambda": 5})
    np.testing.assert_allclose(cd.coef(fit, s=s).values, expect.values, rtol=1e-12)
    both = cd.coef(fit, s=[lam[2], s])
    assert both.dims == ("lambda", "class", "feature")
    np.testing.assert_allclose(both.isel({"lambda": 0}).values, C.isel({"lambda": 2}).values)
    # beyond the grid: the end points, as glmnet
    np.testing.assert_allclose(cd.coef(fit, s=lam[-1] / 10).values, C.isel({"lambda": -1}).values)


def test_coef_exact_refits(fit, data):
    X, y = data
    s = float(np.sqrt(fit.lambda_[4] * fit.lambda_[5]))
    exact = cd.coef(fit, s=s, exact=True, x=X, y=y)  # the fit keeps no training data, as in R
    direct = cd.coef(cd.glmnet(X, y, lambda_=[s]), s=s)
    np.testing.assert_allclose(exact.values, direct.values, atol=1e-9)
    assert np.abs(exact.values - cd.coef(fit, s=s).values).max() > 1e-6  # not the interpolation


def test_predict_types_agree(fit, data):
    X, _ = data
    s = fit.lambda_[-1]
    link = cd.predict(fit, X[:10], s=s, type="link")
    resp = cd.predict(fit, X[:10], s=s, type="response")
    cls = cd.predict(fit, X[:10], s=s, type="class")
    C = cd.coef(fit, s=s).values
    np.testing.assert_allclose(link.values, X[:10] @ C[:, 1:].T + C[:, 0], rtol=1e-12)
    np.testing.assert_allclose(resp.values, softmax(link.values, axis=1), rtol=1e-12)
    assert list(cls.values) == list(np.array(["cat", "dog", "eel"])[link.values.argmax(1)])
    assert cd.predict(fit, X[:3], type="class").dims == ("lambda", "sample")
    with pytest.raises(ValueError, match="features"):
        cd.predict(fit, X[:3, :2], s=s)
    with pytest.raises(ValueError, match="type"):
        cd.predict(fit, X[:3], s=s, type="probability")


def test_class_specific_lambda_equals_penalty_factor(data):
    X, y = data
    lam = xr.DataArray([0.02, 0.2, 0.05], dims="class", coords={"class": ["eel", "cat", "dog"]})
    a = cd.glmnet(X, y, lambda_=lam)
    b = cd.glmnet(X, y, lambda_=[0.1], penalty_factor={"cat": 2.0, "dog": 0.5, "eel": 0.2})
    np.testing.assert_allclose(a.path["penalty"].values[0], [0.2, 0.05, 0.02])
    np.testing.assert_allclose(a.path["coef"].values, b.path["coef"].values, atol=1e-9)
    W = a.path["coef"].values[0]
    assert np.abs(a.path["penalty"].values[0] @ W).max() < 1e-8  # sum_k lambda_k W_k = 0
    with pytest.raises(ValueError, match="unknown class 'cow'"):
        cd.glmnet(X, y, lambda_=xr.DataArray([1.0, 1, 1], dims="class",
                                             coords={"class": ["cat", "dog", "cow"]}))


def test_netcdf_round_trip_is_exact(fit, tmp_path):
    path = tmp_path / "fit.nc"
    fit.to_netcdf(path)
    back = cd.GlmnetFit.from_netcdf(path)
    xr.testing.assert_identical(back.path, fit.path)
    assert repr(back) == repr(fit)
    other = tmp_path / "other.nc"
    xr.Dataset({"a": ("x", [1.0])}).to_netcdf(other)
    with pytest.raises(ValueError, match="GlmnetFit"):
        cd.GlmnetFit.from_netcdf(other)
    with pytest.raises(ValueError, match="exact=True"):
        cd.coef(back, s=0.01, exact=True)
    store = tmp_path / "fit.zarr"
    fit.to_zarr(store)
    xr.testing.assert_identical(cd.GlmnetFit.from_zarr(store).path, fit.path)


def test_dataset_input_with_feature_names(data):
    X, y = data
    ds = as_features(X, y, feature_names=["a", "b", "c", "d"])
    fit = cd.glmnet(ds, lambda_=[0.1])
    assert list(cd.coef(fit, s=0.1)["feature"].values) == ["(Intercept)", "a", "b", "c", "d"]
    np.testing.assert_allclose(fit.path["coef"].values,
                               cd.glmnet(X, y, lambda_=[0.1]).path["coef"].values, atol=1e-12)


def test_summary_and_plot(fit):
    text = repr(cd.summary(fit))
    assert "Family: multinomial" in text and "converged: yes" in text
    for xvar in ("lambda", "norm", "dev"):
        fig = cd.plot(fit, xvar=xvar)
        assert len([a for a in fig.axes if a.get_visible()]) == 3
        assert len(fig.axes[0].lines) == 4 + 1  # one per feature and the zero line
    with pytest.raises(ValueError, match="xvar"):
        cd.plot(fit, xvar="l1")


def test_face_rejects_bad_arguments(data):
    X, y = data
    with pytest.raises(ValueError, match="thresh"):
        cd.glmnet(X, y, thresh=0)
    with pytest.raises(ValueError, match="maxit"):
        cd.glmnet(X, y, maxit=0)
    with pytest.raises(ValueError, match="lambda_ has values <= 0"):
        cd.glmnet(X, y, lambda_=[0.1, -1])
    with pytest.raises(ValueError, match="NaN"):
        cd.glmnet(X, y, lambda_=[np.nan])
    with pytest.raises(ValueError, match="labels but x has"):
        cd.glmnet(X, y[:-1])
    with pytest.raises(ValueError, match="penalty_factor"):
        cd.glmnet(X, y, penalty_factor=[1.0, 2.0])
    with pytest.raises(TypeError, match="no method"):
        cd.coef("not a fit")


def test_unsorted_lambda_is_sorted_decreasing(data):
    X, y = data
    fit = cd.glmnet(X, y, lambda_=[0.01, 1.0, 0.1])
    np.testing.assert_array_equal(fit.lambda_, [1.0, 0.1, 0.01])
