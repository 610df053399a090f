"""classdep.datasets: the features data model, file formats, loaders and synthetic mixtures."""

from __future__ import annotations

import gzip
import importlib
import importlib.util
import os

import numpy as np
import pandas as pd
import pytest
import xarray as xr
from hypothesis import given, settings
from hypothesis import strategies as st

from classdep.datasets import (
    CLASS_NAMES,
    as_features,
    class_proportions,
    digits,
    fashion_mnist,
    fashion_mnist_dir,
    fashion_mnist_features,
    load_features,
    make_mixture,
    read_idx,
    save_features,
    select_split,
)

# the function classdep.datasets.fashion_mnist shadows its module's name in the package
fm = importlib.import_module("classdep.datasets.fashion_mnist")
HAS_TORCH = importlib.util.find_spec("torch") is not None


def _debian_dir():
    try:
        return fashion_mnist_dir(fm.DEBIAN_DIR)
    except FileNotFoundError:
        return None


needs_fashion_mnist = pytest.mark.skipif(
    _debian_dir() is None,
    reason="Debian's dataset-fashion-mnist is not installed "
    "(apt-get install dataset-fashion-mnist)",
)


def write_idx(path, array: np.ndarray, code: int = 0x08, compress: bool = True) -> None:
    """An IDX file written from the format's definition (independent of read_idx)."""
    header = bytes([0, 0, code, array.ndim]) + b"".join(
        int(s).to_bytes(4, "big") for s in array.shape
    )
    big = {0x08: ">u1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}[code]
    raw = header + array.astype(big).tobytes()
    with (gzip.open if compress else open)(path, "wb") as f:
        f.write(raw)


@pytest.fixture
def fake_fashion_dir(tmp_path):
    """A directory of small Fashion-MNIST-like IDX files: 120 train and 40 test images."""
    rng = np.random.default_rng(0)
    for stem, n in (("train", 120), ("t10k", 40)):
        labels = np.arange(n) % 10
        images = rng.integers(0, 256, size=(n, 28, 28))
        images[:, labels, labels] = 255  # make the classes learnable
        write_idx(tmp_path / f"{stem}-images-idx3-ubyte.gz", images)
        write_idx(tmp_path / f"{stem}-labels-idx1-ubyte.gz", labels)
    return tmp_path


# -- as_features ---------------------------------------------------------------------------------


def test_as_features_string_labels():
    X = np.arange(12.0).reshape(4, 3)
    ds = as_features(X, ["dog", "cat", "dog", "bird"])
    assert ds["class"].values.tolist() == ["bird", "cat", "dog"]
    assert ds.y.values.tolist() == [2, 1, 2, 0]
    assert ds.y.dtype == np.int64
    assert ds.X.dims == ("sample", "feature")
    assert ds.X.dtype == np.float64
    assert ds.sample.values.tolist() == [0, 1, 2, 3]
    assert ds.feature.values.tolist() == [0, 1, 2]
    np.testing.assert_array_equal(ds.X.values, X)
    assert "numpy.ndarray" in ds.attrs["source"]


def test_as_features_noncontiguous_int_labels_and_dtypes():
    ds = as_features(np.ones((4, 2), dtype=np.float32), np.array([10, 3, 7, 3]))
    assert ds["class"].values.tolist() == [3, 7, 10]
    assert ds["class"].dtype == np.int64
    assert ds.y.values.tolist() == [2, 0, 1, 0]
    assert ds.X.dtype == np.float32  # float32 stays float32
    assert as_features(np.ones((2, 2), dtype=np.int32), [0, 1]).X.dtype == np.float64


def test_as_features_whole_float_labels():
    ds = as_features(np.eye(3), [2.0, 0.0, 2.0])
    assert ds["class"].values.tolist() == [0, 2]
    assert ds.y.values.tolist() == [1, 0, 1]


def test_as_features_pandas():
    X = pd.DataFrame({"height": [1.0, 2.0, 3.0], "width": [4.0, 5.0, 6.0]}, index=["a", "b", "c"])
    y = pd.Series(pd.Categorical(["small", "big", "small"], categories=["small", "big"]))
    ds = as_features(X, y)
    assert ds.feature.values.tolist() == ["height", "width"]
    assert ds.sample.values.tolist() == ["a", "b", "c"]
    assert ds["class"].values.tolist() == ["small", "big"]  # category order kept
    assert ds.y.values.tolist() == [0, 1, 0]


def test_as_features_xarray_dataarray_transposed():
    da = xr.DataArray(
        np.arange(6.0).reshape(2, 3),
        dims=("feature", "sample"),
        coords={"feature": ["u", "v"], "sample": [10, 11, 12]},
    )
    ds = as_features(da, xr.DataArray([1, 0, 1], dims="sample"))
    assert ds.X.dims == ("sample", "feature")
    np.testing.assert_array_equal(ds.X.values, da.values.T)
    assert ds.feature.values.tolist() == ["u", "v"]
    assert ds.sample.values.tolist() == [10, 11, 12]


def test_as_features_of_a_features_dataset_is_identity():
    ds = make_mixture(n_classes=3, n_samples=60, seed=3)
    ds = ds.drop_vars(["class_mean", "class_noise", "class_prior"])
    xr.testing.assert_identical(as_features(ds), ds)
    # y codes are read through the Dataset's class names, here reversed
    flipped = ds.assign_coords({"class": [2, 1, 0]})
    assert as_features(flipped, classes=[0, 1, 2]).y.values.tolist() == (2 - ds.y.values).tolist()


def test_as_features_classes_order_and_names():
    ds = as_features(np.eye(3), ["b", "a", "b"], classes=["b", "a", "c"])
    assert ds["class"].values.tolist() == ["b", "a", "c"]
    assert ds.y.values.tolist() == [0, 1, 0]
    ds = as_features(np.eye(3), [5, 1, 5], classes={1: "one", 5: "five"})
    assert ds["class"].values.tolist() == ["one", "five"]
    assert ds.y.values.tolist() == [1, 0, 1]


def test_as_features_rejects_bad_classes_and_names():
    with pytest.raises(ValueError, match=r"unknown class 'c'.*Add the missing labels"):
        as_features(np.eye(3), ["a", "b", "c"], classes=["a", "b"])
    with pytest.raises(ValueError, match="repeated entries"):
        as_features(np.eye(3), ["a", "b", "a"], classes=["a", "b", "a"])
    with pytest.raises(ValueError, match="feature_names has 2 names but X has 3"):
        as_features(np.eye(3), [0, 1, 0], feature_names=["p", "q"])
    with pytest.raises(ValueError, match="dims"):
        as_features(xr.DataArray(np.eye(2), dims=("row", "col")), [0, 1])


@settings(max_examples=40, deadline=None)
@given(
    st.lists(st.integers(-1000, 1000), min_size=2, max_size=30).filter(lambda v: len(set(v)) > 1)
)
def test_as_features_codes_point_at_labels(labels):
    ds = as_features(np.zeros((len(labels), 1)), labels)
    assert ds["class"].values[ds.y.values].tolist() == labels
    assert ds["class"].values.tolist() == sorted(set(labels))


def test_select_split():
    ds = make_mixture(n_classes=3, n_samples=60, n_test=30, seed=0)
    train, test = select_split(ds, "train"), select_split(ds, "test")
    assert train.sizes["sample"] == 60 and test.sizes["sample"] == 30
    assert set(test.split.values.tolist()) == {"test"}
    with pytest.raises(ValueError, match="not one of the Dataset's splits"):
        select_split(ds, "validation")
    with pytest.raises(ValueError, match="no 'split'"):
        select_split(as_features(np.eye(2), [0, 1]), "train")


# -- save / load ---------------------------------------------------------------------------------


def _example(class_names, dtype):
    rng = np.random.default_rng(0)
    n = 7
    ds = as_features(
        rng.standard_normal((n, 3)).astype(dtype),
        rng.permutation(np.arange(n) % len(class_names)),
        classes=dict(enumerate(class_names)),
        feature_names=["f_a", "f_b", "pixel_0_0"],
        attrs={
            "source": "test",
            "alpha": 1e-4,
            "n": 3,
            "hidden": [128, 64],
            "flag": True,
            "seed": None,
            "settings": {"lr": 0.001, "names": ["x", "y"]},
            "text": "T-shirt/top ünïcode",
        },
    )
    ds.X.attrs["units"] = "activation"
    return ds.assign_coords(split=("sample", np.array(["train"] * 4 + ["test"] * 3)))


FORMATS = [
    ".npz",
    ".nc",
    ".zarr",
    pytest.param(".pt", marks=pytest.mark.skipif(not HAS_TORCH, reason="torch is not installed")),
]


@pytest.mark.parametrize("ext", FORMATS)
@pytest.mark.parametrize(
    ("class_names", "dtype"),
    [(list(CLASS_NAMES[:3]), np.float32), ([3, 8, 11], np.float64)],
)
def test_round_trip_is_exact(tmp_path, ext, class_names, dtype):
    ds = _example(class_names, dtype)
    back = load_features(save_features(ds, tmp_path / f"features{ext}"))
    xr.testing.assert_identical(back, ds)
    for name, var in ds.variables.items():
        assert back[name].dtype == var.dtype, name
        assert back[name].dims == var.dims, name
    assert back.attrs == ds.attrs
    assert {k: type(v) for k, v in back.attrs.items()} == {k: type(v) for k, v in ds.attrs.items()}
    assert back["class"].values.tolist() == class_names
    assert back.X.attrs == {"units": "activation"}


@pytest.mark.parametrize("ext", FORMATS)
def test_round_trip_with_leading_alpha_dim(tmp_path, ext):
    base = make_mixture(n_classes=3, n_features=4, n_samples=30, n_test=9, seed=2)
    X = xr.concat([base.X, 2 * base.X], dim="alpha").assign_coords(alpha=[0.0, 0.1])
    ds = base.assign(X=X)
    back = load_features(save_features(ds, tmp_path / f"stack{ext}"))
    xr.testing.assert_identical(back, ds)
    assert back.X.dims == ("alpha", "sample", "feature")


@pytest.mark.parametrize("ext", FORMATS)
def test_round_trip_odd_variable_names(tmp_path, ext):
    ds = _example(["a", "b"], np.float64)
    ds = ds.assign(file=("sample", np.arange(7)), allow_pickle=("class", [True, False]))
    xr.testing.assert_identical(load_features(save_features(ds, tmp_path / f"odd{ext}")), ds)


def test_save_overwrites(tmp_path):
    first = _example(["a", "b"], np.float64)
    second = make_mixture(n_classes=2, n_samples=10, seed=0)
    for ext in (".npz", ".nc", ".zarr"):
        path = tmp_path / f"f{ext}"
        save_features(first, path)
        xr.testing.assert_identical(load_features(save_features(second, path)), second)


def test_unknown_extension(tmp_path):
    ds = _example(["a", "b"], np.float64)
    with pytest.raises(ValueError, match=r"supported extensions are \.npz, \.nc, \.zarr, \.pt"):
        save_features(ds, tmp_path / "features.csv")
    with pytest.raises(ValueError, match="supported extensions"):
        load_features(tmp_path / "features.parquet")


def test_load_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="no features file"):
        load_features(tmp_path / "absent.nc")


def test_load_rejects_files_without_x_or_y(tmp_path):
    np.savez(tmp_path / "only_x.npz", X=np.eye(3))
    with pytest.raises(ValueError, match="no array 'y'"):
        load_features(tmp_path / "only_x.npz")
    np.savez(tmp_path / "only_y.npz", y=np.arange(3))
    with pytest.raises(ValueError, match="no array 'X'"):
        load_features(tmp_path / "only_y.npz")
    xr.Dataset({"X": (("sample", "feature"), np.eye(3))}).to_netcdf(tmp_path / "only_x.nc")
    with pytest.raises(ValueError, match="no variable 'y'"):
        load_features(tmp_path / "only_x.nc")
    xr.Dataset({"y": ("sample", np.arange(3))}).to_zarr(tmp_path / "only_y.zarr", zarr_format=2)
    with pytest.raises(ValueError, match="no variable 'X'"):
        load_features(tmp_path / "only_y.zarr")


def test_save_rejects_non_features(tmp_path):
    with pytest.raises(ValueError, match="no variable 'y'"):
        save_features(xr.Dataset({"X": (("sample", "feature"), np.eye(2))}), tmp_path / "a.npz")
    with pytest.raises(TypeError, match="xarray.Dataset"):
        save_features(np.eye(2), tmp_path / "a.npz")


def test_load_foreign_files(tmp_path):
    np.savez(tmp_path / "raw.npz", X=np.eye(3), y=[1, 0, 1], classes=["no", "yes"])
    ds = load_features(tmp_path / "raw.npz")
    assert ds["class"].values.tolist() == ["no", "yes"]
    assert ds.y.values.tolist() == [1, 0, 1]
    xr.Dataset(
        {"X": (("sample", "feature"), np.eye(3)), "y": ("sample", ["b", "a", "b"])}
    ).to_netcdf(tmp_path / "raw.nc")
    ds = load_features(tmp_path / "raw.nc")
    assert ds["class"].values.tolist() == ["a", "b"]
    assert ds.y.values.tolist() == [1, 0, 1]


@pytest.mark.skipif(HAS_TORCH, reason="checks the message shown when torch is missing")
def test_pt_without_torch_says_so(tmp_path):
    with pytest.raises(ImportError, match=r"PyTorch.*pip install torch"):
        save_features(_example(["a", "b"], np.float32), tmp_path / "f.pt")


# -- digits --------------------------------------------------------------------------------------


def test_digits_matches_sklearn():
    from sklearn.datasets import load_digits

    ref = load_digits()
    ds = digits()
    assert ds.X.shape == (1797, 64)
    np.testing.assert_array_equal(ds.X.values, ref.data)
    np.testing.assert_array_equal(ds["class"].values[ds.y.values], ref.target)
    assert ds["class"].values.tolist() == list(range(10))
    assert ds.feature.values[8 * 3 + 5] == "pixel_3_5"


# -- IDX and Fashion-MNIST -----------------------------------------------------------------------


@pytest.mark.parametrize("code", [0x08, 0x0B, 0x0C, 0x0D, 0x0E])
@pytest.mark.parametrize("compress", [True, False])
def test_read_idx(tmp_path, code, compress):
    array = (np.arange(24).reshape(2, 3, 4) * 7) % 200
    write_idx(tmp_path / "a-idx3", array, code=code, compress=compress)
    back = read_idx(tmp_path / "a-idx3")
    assert back.shape == (2, 3, 4)
    assert back.dtype.isnative
    np.testing.assert_array_equal(back, array)


def test_read_idx_rejects_corrupt_files(tmp_path):
    (tmp_path / "text").write_bytes(b"hello, this is not IDX")
    with pytest.raises(ValueError, match="not an IDX file.*magic number"):
        read_idx(tmp_path / "text")
    write_idx(tmp_path / "whole", np.arange(100), compress=False)
    (tmp_path / "cut").write_bytes((tmp_path / "whole").read_bytes()[:-10])
    with pytest.raises(ValueError, match="truncated or corrupt"):
        read_idx(tmp_path / "cut")
    write_idx(tmp_path / "whole.gz", np.arange(100))
    (tmp_path / "cut.gz").write_bytes((tmp_path / "whole.gz").read_bytes()[:20])
    with pytest.raises(ValueError, match="damaged gzip"):
        read_idx(tmp_path / "cut.gz")


def test_fashion_mnist_missing_dir_says_how_to_get_it(tmp_path):
    with pytest.raises(
        FileNotFoundError, match=r"apt-get install dataset-fashion-mnist.*CLASSDEP_DATA"
    ):
        fashion_mnist("train", path=tmp_path / "nowhere")
    with pytest.raises(ValueError, match="split='valid' is not one of"):
        fashion_mnist("valid", path=tmp_path)


def test_fashion_mnist_reads_classdep_data(fake_fashion_dir, monkeypatch):
    monkeypatch.setenv("CLASSDEP_DATA", str(fake_fashion_dir))
    ds = fashion_mnist("test")
    assert ds.X.shape == (40, 784)
    assert ds.X.dtype == np.float32
    with gzip.open(fake_fashion_dir / "t10k-images-idx3-ubyte.gz") as f:
        first = np.frombuffer(f.read(), dtype=np.uint8, offset=16)[:784]
    np.testing.assert_allclose(ds.X.values[0] * 255, first, atol=1e-4)
    assert ds.y.values.tolist() == (np.arange(40) % 10).tolist()
    assert ds.attrs["path"] == str(fake_fashion_dir)


@needs_fashion_mnist
def test_fashion_mnist_real_files():
    train, test = fashion_mnist("train"), fashion_mnist("test")
    assert train.X.shape == (60000, 784) and test.X.shape == (10000, 784)
    assert np.bincount(train.y.values).tolist() == [6000] * 10
    assert np.bincount(test.y.values).tolist() == [1000] * 10
    assert train["class"].values.tolist() == list(CLASS_NAMES)
    assert train.X.dtype == np.float32
    assert float(train.X.min()) == 0.0 and float(train.X.max()) == 1.0
    # against the raw bytes, read as Debian's utils/mnist_reader.py does
    with gzip.open(fm.DEBIAN_DIR / "t10k-labels-idx1-ubyte.gz") as f:
        labels = np.frombuffer(f.read(), dtype=np.uint8, offset=8)
    np.testing.assert_array_equal(test.y.values, labels)
    assert set(test.split.values.tolist()) == {"test"}


def test_fashion_mnist_features_tiny(fake_fashion_dir, tmp_path, monkeypatch):
    cache = tmp_path / "cache"
    kwargs = dict(
        hidden=(16,), n_train=100, n_test=30, epochs=2, path=fake_fashion_dir, cache_dir=cache
    )
    ds = fashion_mnist_features(alpha=1e-4, progress=False, **kwargs)
    assert ds.X.dims == ("sample", "feature")
    assert ds.X.shape == (130, 16)
    assert ds.X.dtype == np.float32
    assert (ds.X.values >= 0).all()  # ReLU activations
    assert ds.split.values.tolist() == ["train"] * 100 + ["test"] * 30
    assert ds.image.values[:100].max() < 120 and ds.image.values[100:].max() < 40
    assert ds["class"].values.tolist() == list(CLASS_NAMES)
    assert ds.attrs["hidden"] == [16] and ds.attrs["epochs"] == 2 and ds.attrs["alpha"] == 1e-4
    # the labels are those of the images the samples came from
    raw = read_idx(fake_fashion_dir / "train-labels-idx1-ubyte.gz")
    np.testing.assert_array_equal(ds.y.values[:100], raw[ds.image.values[:100]])
    files = sorted(cache.glob("*.npz"))
    assert len(files) == 1

    def no_training(*args, **kw):
        raise AssertionError("trained again instead of reading the cache")

    monkeypatch.setattr(fm, "_train_one", no_training)
    again = fashion_mnist_features(alpha=1e-4, progress=False, **kwargs)
    xr.testing.assert_identical(again, ds)
    monkeypatch.undo()

    both = fashion_mnist_features(alpha=[1e-4, 1.0], progress=True, **kwargs)
    assert both.X.dims == ("alpha", "sample", "feature")
    assert both.alpha.values.tolist() == [1e-4, 1.0]
    np.testing.assert_array_equal(both.X.sel(alpha=1e-4).values, ds.X.values)
    assert not np.array_equal(both.X.sel(alpha=1.0).values, ds.X.values)
    assert len(both.attrs["mlp_test_accuracy"]) == 2
    assert len(sorted(cache.glob("*.npz"))) == 2  # alpha=1e-4 came from the cache


@needs_fashion_mnist
def test_fashion_mnist_features_real_files(tmp_path, monkeypatch):
    monkeypatch.delenv("CLASSDEP_DATA", raising=False)
    ds = fashion_mnist_features(
        hidden=(8,), n_train=300, n_test=50, epochs=1, cache_dir=tmp_path, progress=False
    )
    assert ds.X.shape == (350, 8)
    assert ds.attrs["data_path"] == str(fm.DEBIAN_DIR.resolve())
    test_labels = read_idx(fm.DEBIAN_DIR / "t10k-labels-idx1-ubyte.gz")
    np.testing.assert_array_equal(ds.y.values[300:], test_labels[ds.image.values[300:]])
    assert 0.0 <= ds.attrs["mlp_test_accuracy"] <= 1.0


def test_fashion_mnist_features_rejects_bad_settings(fake_fashion_dir, tmp_path):
    with pytest.raises(ValueError, match="weight decay must be a finite number >= 0"):
        fashion_mnist_features(alpha=-1.0, path=fake_fashion_dir, cache_dir=tmp_path)
    with pytest.raises(ValueError, match="n_train=5 is too small"):
        fashion_mnist_features(n_train=5, path=fake_fashion_dir, cache_dir=tmp_path)
    with pytest.raises(FileNotFoundError, match="apt-get install dataset-fashion-mnist"):
        fashion_mnist_features(path=tmp_path / "nowhere", cache_dir=tmp_path)


# -- synthetic mixtures --------------------------------------------------------------------------


def test_mixture_step_imbalance_ratio():
    ds = make_mixture(n_classes=5, n_samples=2300, imbalance="step", ratio=10, seed=0)
    counts = np.bincount(ds.y.values, minlength=5)
    # minority_fraction=0.5 of 5 classes -> floor(2.5 + 0.5) = 3 minority classes (the last);
    # 2 majority classes of 10 m each and 3 minority classes of m: 23 m = 2300
    assert counts.tolist() == [1000, 1000, 100, 100, 100]
    assert counts[0] / counts[-1] == 10
    np.testing.assert_allclose(ds.class_prior.values, counts / counts.sum())


def test_mixture_proportions():
    p = class_proportions(4, "exp", ratio=8)
    np.testing.assert_allclose(p[0] / p[-1], 8)
    np.testing.assert_allclose(p.sum(), 1)
    np.testing.assert_allclose(class_proportions(3, [1, 1, 2]), [0.25, 0.25, 0.5])
    assert (
        class_proportions(10, "step", minority_fraction=0.3)
        .tolist()
        .count(class_proportions(10, "step", minority_fraction=0.3).min())
        == 3
    )
    with pytest.raises(ValueError, match="at least one minority and one majority"):
        class_proportions(4, "step", minority_fraction=0.0)
    with pytest.raises(ValueError, match="not one of None, 'step', 'exp'"):
        class_proportions(4, "zipf")
    with pytest.raises(ValueError, match=r"one proportion per class, shape \(4,\)"):
        class_proportions(4, [0.5, 0.5])


def test_mixture_same_seed_same_data():
    a = make_mixture(n_samples=200, n_test=100, seed=7)
    b = make_mixture(n_samples=200, n_test=100, seed=7)
    c = make_mixture(n_samples=200, n_test=100, seed=8)
    xr.testing.assert_identical(a, b)
    assert not np.array_equal(a.X.values, c.X.values)


def test_mixture_parameters_and_test_sample():
    noise = np.array([0.5, 1.0, 2.0])
    ds = make_mixture(
        n_classes=3,
        n_features=6,
        n_samples=3000,
        imbalance=[2, 1, 1],
        noise=noise,
        separation=4.0,
        n_test=6000,
        seed=1,
    )
    train, test = select_split(ds, "train"), select_split(ds, "test")
    assert train.sizes["sample"] == 3000 and test.sizes["sample"] == 6000
    assert np.bincount(test.y.values).tolist() == [2000, 2000, 2000]  # balanced test
    assert np.bincount(train.y.values).tolist() == [1500, 750, 750]
    np.testing.assert_allclose(np.linalg.norm(ds.class_mean.values, axis=1), 4.0)
    gram = ds.class_mean.values @ ds.class_mean.values.T
    np.testing.assert_allclose(gram, 16.0 * np.eye(3), atol=1e-10)  # orthogonal means
    X, y = test.X.values, test.y.values
    for k in range(3):
        resid = X[y == k] - ds.class_mean.values[k]
        assert abs(resid.std() / noise[k] - 1) < 0.05
        assert np.abs(resid.mean(axis=0)).max() < 5 * noise[k] / np.sqrt(2000)
    np.testing.assert_array_equal(ds.class_noise.values, noise)


def test_mixture_rejects_bad_settings():
    with pytest.raises(ValueError, match="noise has entries that are <= 0"):
        make_mixture(noise=[1, 1, 1, 1, 0])
    with pytest.raises(ValueError, match="noise has shape"):
        make_mixture(noise=[1, 2])
    with pytest.raises(ValueError, match="n_classes=1 is too small"):
        make_mixture(n_classes=1)
    with pytest.raises(ValueError, match="without samples"):
        make_mixture(n_classes=5, n_samples=12, imbalance="exp", ratio=100)


def test_env_cache_dir(monkeypatch, tmp_path):
    monkeypatch.setenv("CLASSDEP_CACHE", str(tmp_path))
    assert fm.cache_path(None) == tmp_path
    monkeypatch.delenv("CLASSDEP_CACHE")
    assert fm.cache_path(None) == fm.Path.home() / ".cache" / "classdep"
    assert os.fspath(fm.cache_path(tmp_path / "x")) == os.fspath(tmp_path / "x")
