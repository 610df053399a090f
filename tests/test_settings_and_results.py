"""Settings objects (validated once, saved with a fit, read back) and the sweep's results
through the Result base: a fit without its training data, a grid written to one file."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr

import classdep as cd
from classdep.solvers.settings import Control, Model, settings_attrs, settings_from_attrs, split_settings


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(3)
    y = rng.choice(["a", "b", "c"], size=120)
    X = rng.normal(size=(120, 3)) + (y == "b")[:, None]
    return X, y


def test_settings_are_validated_once_and_round_trip():
    with pytest.raises(ValueError, match="family"):
        Model(family="poisson")
    with pytest.raises(ValueError, match="loss='ce' only"):
        Model(family="gaussian", loss="la")
    with pytest.raises(ValueError, match="penalty_factor must be positive"):
        Model(penalty_factor=[1, 0])
    with pytest.raises(ValueError, match="thresh"):
        Control(thresh=1.5)
    with pytest.raises(ValueError, match="dtype"):
        Control(dtype="int32")
    with pytest.raises(ValueError, match="memory_limit"):
        Control(memory_limit="lots")
    with pytest.raises(TypeError, match="unexpected keyword"):
        split_settings(alpha=0.5)
    m = Model(loss="vs", tau=0.5, gamma=0.2, class_weight=[1, 2, 3], penalty_factor=[1, 2, 3],
              augment=dict(kind="dropout", strength=0.25, method="sample", copies=2, seed=4))
    c = Control(solver="newton-cg", preconditioner="block", thresh=1e-9, maxit=20, dtype=np.float32,
                memory_limit="2GB", reproducible=True)
    assert settings_from_attrs(settings_attrs(m, c)) == (m, c)


def test_fit_keeps_no_data_and_refits_from_saved_settings(data, tmp_path):
    X, y = data
    w = np.linspace(0.5, 1.5, y.size)
    fit = cd.glmnet(X, y, nlambda=6, weights=w, penalty_factor=[1.0, 2.0, 0.5], loss="la")
    assert not hasattr(fit, "_data")
    np.testing.assert_array_equal(fit.path["n"].values, [np.sum(y == k) for k in ("a", "b", "c")])
    fit.to_netcdf(tmp_path / "fit.nc")
    back = cd.GlmnetFit.from_netcdf(tmp_path / "fit.nc")
    assert back.settings == fit.settings
    s = float(np.sqrt(fit.lambda_[3] * fit.lambda_[4]))
    with pytest.raises(ValueError, match="pass x= and y="):
        cd.coef(back, s=s, exact=True)
    exact = cd.coef(back, s=s, exact=True, x=X, y=y)
    direct = cd.glmnet(X, y, lambda_=[s], weights=w, penalty_factor=[1.0, 2.0, 0.5], loss="la")
    np.testing.assert_allclose(exact.values, cd.coef(direct, s=s).values, atol=1e-10)
    p = cd.predict(back, X[:4], s=s, type="response", exact=True, x=X, y=y)
    np.testing.assert_allclose(p.sum("class").values, 1.0)


@pytest.mark.parametrize("store", ["netcdf", "zarr"])
def test_grid_oof_and_file_round_trip(data, tmp_path, store):
    X, y = data
    grid = cd.cv_glmnet(X, y, nfolds=3, lambda_=np.geomspace(1, 1e-3, 4), nrepeats=2, progress=False)
    oof = grid.oof
    assert oof["loss"].dims == ("repeat", "lambda", "sample")
    for i in range(len(grid)):
        xr.testing.assert_identical(oof.isel(repeat=i, drop=True)[["loss", "pred"]],
                                    grid[i].oof[["loss", "pred"]])
    path = tmp_path / ("grid.nc" if store == "netcdf" else "grid.zarr")
    (grid.to_netcdf if store == "netcdf" else grid.to_zarr)(path)
    back = (cd.CVGrid.from_netcdf if store == "netcdf" else cd.CVGrid.from_zarr)(path)
    assert isinstance(back, cd.Result) and repr(back) == repr(grid) and back.dim == "repeat"
    for a, b in zip(grid.cvs, back.cvs, strict=True):
        assert repr(a) == repr(b)
        xr.testing.assert_equal(a.results, b.results)
        xr.testing.assert_equal(a.oof, b.oof)
        xr.testing.assert_equal(a.fit.path, b.fit.path)
        assert a.results.attrs == b.results.attrs
    other = tmp_path / "cv.nc"
    grid[0].to_netcdf(other)
    with pytest.raises(ValueError, match="CVGrid"):
        cd.CVGrid.from_netcdf(other)
