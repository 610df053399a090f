"""Reading results and features from hostile files (issue 8): another version's file,
another result's file, truncated and garbage files, features with wrong dims or names."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr
from builders import noise

import classdep as cd
from classdep.datasets import as_features, load_features, save_features
from classdep.persist import FORMAT


@pytest.fixture(scope="module")
def fitted():
    X, y = noise(60, 3)
    fit = cd.glmnet(X, y, lambda_=[1.0, 0.1])
    cv = cd.cv_glmnet(X, y, nfolds=3, lambda_=[1.0, 0.1], progress=False)
    return fit, cv


def test_results_file_from_a_newer_version_is_refused(fitted, tmp_path):
    fit, _ = fitted
    path = tmp_path / "fit.nc"
    fit.to_netcdf(path)
    with xr.open_dataset(path) as ds:
        assert ds.attrs["classdep_format"] == FORMAT  # every file says its layout version
        newer = ds.load()
    newer.attrs["classdep_format"] = FORMAT + 1
    newer.to_netcdf(tmp_path / "newer.nc")
    with pytest.raises(ValueError, match=rf"layout version {FORMAT + 1}, written by a newer classdep; "
                                         rf"this one reads versions up to {FORMAT}. Upgrade classdep"):
        cd.GlmnetFit.from_netcdf(tmp_path / "newer.nc")


def test_results_file_from_before_the_version_stamp_still_reads(fitted, tmp_path):
    fit, _ = fitted
    fit.to_netcdf(tmp_path / "fit.nc")
    with xr.open_dataset(tmp_path / "fit.nc") as ds:
        old = ds.load()
    del old.attrs["classdep_format"]
    old.to_netcdf(tmp_path / "old.nc")
    back = cd.GlmnetFit.from_netcdf(tmp_path / "old.nc")
    xr.testing.assert_identical(back.path, fit.path)  # the stamp is not part of the result


@pytest.mark.parametrize("store", ["netcdf", "zarr"])
def test_file_of_another_result_type(fitted, tmp_path, store):
    fit, cv = fitted
    path = tmp_path / ("fit.nc" if store == "netcdf" else "fit.zarr")
    getattr(fit, f"to_{store}")(path)
    with pytest.raises(ValueError, match="does not hold a classdep CVGlmnet"):
        getattr(cd.CVGlmnet, f"from_{store}")(path)
    cvpath = tmp_path / ("cv.nc" if store == "netcdf" else "cv.zarr")
    getattr(cv, f"to_{store}")(cvpath)
    with pytest.raises(ValueError, match=r"does not hold a classdep GlmnetFit \(written by its to_"):
        getattr(cd.GlmnetFit, f"from_{store}")(cvpath)


def test_truncated_and_garbage_results_files(fitted, tmp_path):
    _, cv = fitted
    path = tmp_path / "cv.nc"
    cv.to_netcdf(path)
    raw = path.read_bytes()
    (tmp_path / "half.nc").write_bytes(raw[: len(raw) // 2])
    with pytest.raises(ValueError, match=r"half.nc cannot be read as a netcdf file \(truncated, corrupted"
                                         r".*write it again with to_netcdf"):
        cd.CVGlmnet.from_netcdf(tmp_path / "half.nc")
    (tmp_path / "junk.nc").write_bytes(b"not a netCDF file" * 8)
    with pytest.raises(ValueError, match="junk.nc cannot be read as a netcdf file"):
        cd.GlmnetFit.from_netcdf(tmp_path / "junk.nc")
    with pytest.raises(FileNotFoundError, match="nowhere.nc does not exist"):
        cd.GlmnetFit.from_netcdf(tmp_path / "nowhere.nc")


@pytest.mark.parametrize("ext", [".npz", ".nc"])
def test_truncated_features_file(tmp_path, ext):
    ds = as_features(np.eye(4), ["a", "b", "a", "b"])
    path = save_features(ds, tmp_path / f"f{ext}")
    raw = path.read_bytes()
    path.write_bytes(raw[: len(raw) // 2])
    with pytest.raises(ValueError, match=rf"cannot be read as a {ext} file \(truncated.*save_features"):
        load_features(path)


def test_features_file_without_x(tmp_path):
    np.savez(tmp_path / "raw.npz", features=np.eye(2), y=[0, 1])
    with pytest.raises(ValueError, match=r"has no array 'X' \(it holds \['features', 'y'\]\)"):
        load_features(tmp_path / "raw.npz")


def test_features_with_wrong_dims(tmp_path):
    with pytest.raises(ValueError, match=r"expects \('sample', 'feature'\).*rename"):
        as_features(xr.DataArray(np.eye(2), dims=("row", "col")), [0, 1])


def test_foreign_npz_keeps_its_split_and_names_what_it_drops(tmp_path):
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(40, 3)), rng.integers(0, 2, 40)
    split = np.array(["train"] * 30 + ["test"] * 10)
    np.savez(tmp_path / "f.npz", X=X, y=y, split=split)
    ds = cd.datasets.load_features(tmp_path / "f.npz")
    np.testing.assert_array_equal(ds["split"].values, split)
    assert cd.datasets.select_split(ds, "test").sizes["sample"] == 10
    np.savez(tmp_path / "g.npz", X=X, y=y, epoch=np.arange(3))
    with pytest.warns(UserWarning, match=r"arrays \['epoch'\] are not part of a features file"):
        cd.datasets.load_features(tmp_path / "g.npz")
    np.savez(tmp_path / "h.npz", X=X, y=y, split=split[:5])
    with pytest.raises(ValueError, match="'split' must hold one name per sample"):
        cd.datasets.load_features(tmp_path / "h.npz")


def test_study_refuses_to_mix_splits_without_a_training_split(tmp_path):
    from classdep.cli import _training_part

    rng = np.random.default_rng(0)
    ds = cd.datasets.as_features(rng.normal(size=(20, 2)), rng.integers(0, 2, 20)).assign_coords(
        split=("sample", np.array(["a"] * 10 + ["b"] * 10)))
    with pytest.raises(ValueError, match=r"splits \['a', 'b'\] and none is named 'train'.*select_split"):
        _training_part(ds)
