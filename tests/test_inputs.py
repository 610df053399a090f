"""The one input entry point (classdep.inputs): every accepted form of features and labels
gives the same X, labels and feature names; a Categorical's order is kept; errors are the same."""

from __future__ import annotations

import dask.array as da
import numpy as np
import pandas as pd
import pytest
import xarray as xr
import zarr

from classdep.datasets import as_features
from classdep.inputs import dataset_features, features_and_labels
from classdep.solvers.chunked import is_out_of_core, read_rows
from classdep.validation import check_labels

RNG = np.random.default_rng(17)
X0 = RNG.normal(size=(12, 3))
LABELS = np.array(["dog", "cat", "bird"])[np.arange(12) % 3]
NAMES = ["height", "width", "depth"]


def _forms(tmp_path):
    """(x, y) pairs that all mean features X0 named NAMES and labels LABELS."""
    frame = pd.DataFrame(X0, columns=NAMES)
    arr = xr.DataArray(X0, dims=("sample", "feature"), coords={"feature": NAMES})
    mm = np.lib.format.open_memmap(tmp_path / "x.npy", mode="w+", dtype=np.float64, shape=X0.shape)
    mm[:] = X0
    mm.flush()
    z = zarr.create_array(store=str(tmp_path / "x.zarr"), shape=X0.shape, chunks=(5, 3), dtype="f8")
    z[:] = X0
    lazy = xr.DataArray(da.from_array(X0, chunks=(5, 3)), dims=("sample", "feature"),
                        coords={"feature": NAMES})
    return {
        "numpy": (X0, list(LABELS)),
        "pandas": (frame, pd.Series(LABELS)),
        "dataarray": (arr, xr.DataArray(LABELS, dims="sample")),
        "transposed": (arr.T, LABELS),
        "dataset": (as_features(frame, LABELS), None),
        "dataset+y": (as_features(frame, np.zeros(12, dtype=int) + np.arange(12) % 2), LABELS),
        "memmap": (np.load(tmp_path / "x.npy", mmap_mode="r"), LABELS),
        "zarr": (zarr.open_array(str(tmp_path / "x.zarr"), mode="r"), LABELS),
        "dask": (da.from_array(X0, chunks=(5, 3)), LABELS),
        "dask-dataarray": (lazy, LABELS),
    }


@pytest.mark.parametrize("form", ["numpy", "pandas", "dataarray", "transposed", "dataset", "dataset+y",
                                  "memmap", "zarr", "dask", "dask-dataarray"])
def test_every_form_gives_the_same_features_labels_and_names(form, tmp_path):
    x, y = _forms(tmp_path)[form]
    X, labels, names = features_and_labels(x, y)
    if form in ("memmap", "zarr", "dask", "dask-dataarray"):
        assert is_out_of_core(X)  # checked, never read whole
        X = read_rows(X, 0, X.shape[0], dtype=None)
    else:
        assert isinstance(X, np.ndarray)
    np.testing.assert_array_equal(X, X0)
    codes, classes = check_labels(labels, X.shape[0])
    ref_codes, ref_classes = check_labels(LABELS)
    np.testing.assert_array_equal(codes, ref_codes)
    assert classes.tolist() == ref_classes.tolist()
    expected = [f"V{j + 1}" for j in range(3)] if form in ("numpy", "memmap", "zarr", "dask") else NAMES
    assert names == expected


def test_out_of_core_sources_are_read_when_asked(tmp_path):
    forms = _forms(tmp_path)
    for form in ("memmap", "zarr", "dask", "dask-dataarray"):
        x, y = forms[form]
        X, _, _ = features_and_labels(x, y, out_of_core=False)
        assert type(X) is np.ndarray
        np.testing.assert_array_equal(X, X0)


def test_categorical_labels_keep_their_order():
    y = pd.Series(pd.Categorical(LABELS, categories=["dog", "cat", "bird"]))
    _, labels, _ = features_and_labels(X0, y)
    assert labels is y
    codes, classes = check_labels(labels, 12)
    assert classes.tolist() == ["dog", "cat", "bird"]
    assert codes.tolist() == (np.arange(12) % 3).tolist()


def test_dataset_codes_become_their_class_names():
    ds = as_features(X0, LABELS, classes=["dog", "cat", "bird"])
    assert ds.y.values.tolist()[:3] == [0, 1, 2]
    _, labels, names = features_and_labels(ds)
    assert list(labels) == list(LABELS)
    assert names == ["0", "1", "2"]  # as_features' default feature coordinate


def test_dtype_and_unlabelled_dataarray():
    X, _, _ = features_and_labels(X0.astype(np.float32), LABELS)
    assert X.dtype == np.float32
    X, _, _ = features_and_labels(X0.astype(np.float32), LABELS, dtype=np.float64)
    assert X.dtype == np.float64
    X, _, names = features_and_labels(xr.DataArray(X0), LABELS)  # dims dim_0, dim_1
    np.testing.assert_array_equal(X, X0)
    assert names == ["V1", "V2", "V3"]


def test_labels_may_be_optional():
    X, y, _ = features_and_labels(X0, need_labels=False)
    assert y is None and X.shape == (12, 3)
    unlabelled = xr.Dataset({"X": (("sample", "feature"), X0)})
    X, y, _ = features_and_labels(unlabelled, need_labels=False)  # what predict reads
    assert y is None
    np.testing.assert_array_equal(X, X0)
    with pytest.raises(ValueError, match="y is missing: pass the labels, or an as_features Dataset as x"):
        features_and_labels(X0)
    with pytest.raises(ValueError, match="grouping is missing"):
        features_and_labels(X0, labels_name="grouping")


def test_errors_name_the_argument():
    with pytest.raises(ValueError, match=r"newx has dims \('row', 'col'\); classdep expects .*rename"):
        features_and_labels(xr.DataArray(X0, dims=("row", "col")), LABELS, name="newx")
    with pytest.raises(ValueError, match="needs data variables 'X' and 'y'"):
        features_and_labels(xr.Dataset({"features": (("sample", "feature"), X0)}))
    with pytest.raises(ValueError, match="has no labels 'y'.*pass grouping="):
        features_and_labels(xr.Dataset({"X": (("sample", "feature"), X0)}), labels_name="grouping")
    with pytest.raises(ValueError, match="non-finite"):
        features_and_labels(np.where(X0 > 1, np.nan, X0), LABELS)
    with pytest.raises(TypeError, match="not numbers"):
        features_and_labels(pd.DataFrame({"a": ["x"] * 12}), LABELS)


def test_dataset_features_keeps_a_stack_of_feature_sets():
    stack = xr.Dataset({"X": (("alpha", "sample", "feature"), np.stack([X0, 2 * X0])),
                        "y": ("sample", np.arange(12) % 3)}, coords={"class": ["dog", "cat", "bird"]})
    X, labels = dataset_features(stack)
    assert X.dims == ("alpha", "sample", "feature")
    assert list(labels) == list(LABELS)
    # codes outside the class coordinate are not names: they come back as they are
    odd = stack.assign(y=("sample", np.arange(12) % 3 + 5))
    assert dataset_features(odd)[1].tolist() == (np.arange(12) % 3 + 5).tolist()
