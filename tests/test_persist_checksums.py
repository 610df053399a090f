"""Every file classdep writes carries checksums of its variables; a changed value is refused."""

import netCDF4
import numpy as np
import pytest
import xarray as xr

import classdep as cd
from classdep.persist import read_groups, variable_digest, write_groups


@pytest.fixture(scope="module")
def fit():
    ds = cd.datasets.digits().isel(sample=slice(0, 300))
    return cd.glmnet(ds, lambda_=[1.0, 0.3])


def _poke(path, group, var, index, value):
    """Change one value in place, as a flipped byte on disk would, without classdep."""
    with netCDF4.Dataset(path, "a") as nc:
        g = nc if group is None else nc.groups[group]
        v = g.variables[var]
        v.set_auto_mask(False)
        a = v[:]
        a[index] = value
        v[:] = a


def test_round_trip_keeps_values_and_checks_them(fit, tmp_path):
    p = tmp_path / "fit.nc"
    fit.to_netcdf(p)
    back = cd.GlmnetFit.from_netcdf(p)
    xr.testing.assert_identical(back.path, fit.path)  # the checksums are not part of the result


def test_a_changed_coefficient_is_refused_with_its_name(fit, tmp_path):
    p = tmp_path / "fit.nc"
    fit.to_netcdf(p)
    _poke(p, None, "coef", (0, 0, 0), 5e-318)
    with pytest.raises(ValueError, match="variable 'coef'.*checksum"):
        cd.GlmnetFit.from_netcdf(p)


def test_a_changed_value_in_a_later_group_is_refused(tmp_path):
    a = xr.Dataset({"a": ("x", [1.0, 2.0])}, attrs={"classdep_object": "Demo"})
    b = xr.Dataset({"acc": ("x", [1.0, 0.5])})
    p = tmp_path / "two.nc"
    write_groups(p, {"main": a, "more": b})
    assert read_groups(p, ["main", "more"], "Demo")["more"]["acc"].values.tolist() == [1.0, 0.5]
    _poke(p, "more", "acc", 0, 8.6e-78)
    with pytest.raises(ValueError, match="variable 'acc' of group 'more'"):
        read_groups(p, ["main", "more"], "Demo")


def test_zarr_is_checked_too(fit, tmp_path):
    p = tmp_path / "fit.zarr"
    fit.to_zarr(p)
    xr.testing.assert_identical(cd.GlmnetFit.from_zarr(p).path, fit.path)
    ds = xr.open_zarr(p, zarr_format=2).load()
    ds["df"] = ds["df"] + 1  # rewrite one variable with the old checksums left in place
    ds.to_zarr(p, mode="a", zarr_format=2)
    with pytest.raises(ValueError, match="variable 'df'"):
        cd.GlmnetFit.from_zarr(p)


def test_digest_ignores_storage_type_not_values():
    assert variable_digest(np.array([True, False])) != variable_digest(np.array([True, True]))
    assert variable_digest(np.float32([0.5])) == variable_digest(np.float64([0.5]))
    assert variable_digest(np.array(["a", "b"], dtype=object)) == variable_digest(np.array(["a", "b"]))
    assert variable_digest(np.array([0.0])) != variable_digest(np.array([-0.0]))
