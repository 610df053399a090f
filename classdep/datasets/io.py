"""Save and load features Datasets: ``.npz``, netCDF (``.nc``), zarr (``.zarr``), PyTorch (``.pt``).

The format follows the file's extension. netCDF and zarr go through xarray's own
writers; ``.npz`` and ``.pt`` hold one array (or tensor) per variable plus a JSON
record of dims and attrs under the key ``__classdep__``.  A ``.npz`` or ``.pt`` file
written elsewhere loads too if it holds ``X`` and ``y`` (and optionally ``classes``
and ``feature_names``).

Round trips are exact: dtypes, coordinates (class, feature and sample names) and
attrs come back as they went in.  Attribute values that netCDF cannot hold
(booleans, ``None``, lists, dicts) are stored as JSON and decoded on load; tuples
come back as lists and NumPy scalars as Python numbers.
"""

from __future__ import annotations

import json
import os
import shutil
import warnings
import zipfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

from ..validation import check_dims
from .features import as_features

__all__ = ["save_features", "load_features", "SUPPORTED_FORMATS", "storable", "restored"]

#: File extensions :func:`save_features` and :func:`load_features` understand.
SUPPORTED_FORMATS: dict[str, str] = {
    ".npz": "NumPy archive",
    ".nc": "netCDF-4 (xarray, engine h5netcdf or netCDF4)",
    ".zarr": "zarr directory (xarray, zarr format 2)",
    ".pt": "PyTorch dict of tensors (needs torch)",
}
_ALIASES = {".nc4": ".nc", ".pth": ".pt"}
_META_KEY = "__classdep__"
_JSON_ATTRS = "_classdep_json_attrs"
_FORMAT_TAG = "classdep.features"


def _format_of(path: str | os.PathLike) -> str:
    suffix = Path(path).suffix.lower()
    suffix = _ALIASES.get(suffix, suffix)
    if Path(path).is_dir() and suffix != ".zarr":
        raise ValueError(
            f"{os.fspath(path)!r} is a folder, not a features file; pass a .npz, .nc or .pt file, "
            "or a zarr store named *.zarr."
        )
    if suffix not in SUPPORTED_FORMATS:
        supported = ", ".join(list(SUPPORTED_FORMATS) + list(_ALIASES))
        raise ValueError(
            f"cannot tell the format of {os.fspath(path)!r} from its extension "
            f"{Path(path).suffix!r}; supported extensions are {supported}."
        )
    return suffix


def _check_features(ds: Any, where: str) -> None:
    if not isinstance(ds, xr.Dataset):
        raise TypeError(
            f"{where} expects an xarray.Dataset (see classdep.datasets.as_features); "
            f"got {type(ds).__name__}."
        )
    missing = [v for v in ("X", "y") if v not in ds.variables]
    if missing:
        raise ValueError(
            f"{where}: the features have no variable {missing[0]!r} (they hold "
            f"{sorted(map(str, ds.variables))}); a features file needs 'X' (sample, feature) "
            "and 'y' (sample). Build one with classdep.datasets.as_features(X, y)."
        )
    if not {"sample", "feature"} <= set(ds["X"].dims):
        raise ValueError(
            f"{where}: X has dims {ds['X'].dims}; it needs dims 'sample' and 'feature'. "
            "Rename with ds.rename({old: new})."
        )
    check_dims(ds["y"], ("sample",), "y")


def _json_default(obj: Any) -> Any:
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, (tuple, set)):
        return list(obj)
    raise TypeError(f"attribute value {obj!r} of type {type(obj).__name__} cannot be saved")


def _plain(value: Any) -> Any:
    """A JSON-native copy of ``value`` (tuples become lists, NumPy scalars Python numbers)."""
    return json.loads(json.dumps(value, default=_json_default))


def _encode_attrs(attrs: Mapping[str, Any]) -> dict[str, Any]:
    """Attrs netCDF and zarr can store: scalars as they are, everything else as JSON."""
    out: dict[str, Any] = {}
    as_json = []
    for key, value in attrs.items():
        if isinstance(value, (bool, np.bool_)) or value is None:
            out[key] = json.dumps(_plain(value))
            as_json.append(key)
        elif isinstance(value, (str, int, float, np.integer, np.floating)):
            out[key] = value.item() if isinstance(value, np.generic) else value
        else:
            out[key] = json.dumps(value, default=_json_default)
            as_json.append(key)
    if as_json:
        out[_JSON_ATTRS] = json.dumps(as_json)
    return out


def _decode_attrs(attrs: Mapping[str, Any]) -> dict[str, Any]:
    attrs = dict(attrs)
    as_json = json.loads(attrs.pop(_JSON_ATTRS, "[]"))
    out = {}
    for key, value in attrs.items():
        if key in as_json:
            out[key] = json.loads(value)
        elif isinstance(value, np.generic):
            out[key] = value.item()
        elif isinstance(value, np.ndarray):
            out[key] = value.tolist()
        else:
            out[key] = value
    return out


def _map_attrs(ds: xr.Dataset, fn) -> xr.Dataset:
    ds = ds.copy()
    ds.attrs = fn(ds.attrs)
    for name in ds.variables:
        ds[name].attrs = fn(ds[name].attrs)
    return ds


def storable(ds: xr.Dataset) -> xr.Dataset:
    """``ds`` with attrs that netCDF and zarr can store (non-scalars as JSON); see :func:`restored`.

    Examples
    --------
    >>> ds = xr.Dataset(attrs={"hidden": [128, 64]})
    >>> restored(storable(ds)).attrs["hidden"]
    [128, 64]
    """
    return _map_attrs(ds, _encode_attrs)


def restored(ds: xr.Dataset) -> xr.Dataset:
    """A Dataset as read back from a store: its attrs decoded, encodings dropped, text as ``str``.

    Examples
    --------
    >>> restored(xr.Dataset(attrs={"n": 3})).attrs
    {'n': 3}
    """
    return _map_attrs(_normalize(ds), _decode_attrs)


def _normalize(ds: xr.Dataset) -> xr.Dataset:
    """Undo what the storage did: drop encodings, variable-length strings back to ``str``."""
    ds = ds.drop_encoding()
    fixes = {}
    for name, var in ds.variables.items():
        if var.dtype == object or var.dtype.kind == "T":
            fixes[name] = var.copy(data=np.asarray(var.values).astype(str))
    if fixes:
        coords = {k: v for k, v in fixes.items() if k in ds.coords}
        data = {k: v for k, v in fixes.items() if k not in ds.coords}
        ds = ds.assign_coords(coords).assign(data)
    return ds


def _netcdf_engine() -> str:
    try:
        import h5py  # noqa: F401

        return "h5netcdf"
    except ImportError:
        pass
    try:
        import netCDF4  # noqa: F401

        return "netcdf4"
    except ImportError:
        raise ImportError(
            "writing or reading netCDF needs h5netcdf with h5py, or netCDF4; "
            "install one (pip install h5py, or pip install netCDF4)."
        ) from None


# -- npz and pt: one array per variable plus a JSON record ---------------------------------------


def _to_payload(ds: xr.Dataset) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    arrays: dict[str, np.ndarray] = {}
    variables = {}
    for name, var in ds.variables.items():
        if name == _META_KEY:
            raise ValueError(f"the variable name {_META_KEY!r} is reserved; rename it.")
        data = np.asarray(var.values)
        if data.dtype == object or data.dtype.kind == "T":
            data = data.astype(str)
        # np.savez takes its arrays as keyword arguments: keep clear of its own parameter names
        key = f"var:{name}" if name in ("file", "allow_pickle", "args", "kwds") else str(name)
        arrays[key] = data
        variables[str(name)] = {
            "key": key,
            "dims": list(map(str, var.dims)),
            "dtype": data.dtype.str,
            "shape": list(data.shape),
            "coord": name in ds.coords,
            "attrs": _plain(dict(var.attrs)),
        }
    meta = {
        "format": _FORMAT_TAG,
        "version": 1,
        "variables": variables,
        "attrs": _plain(dict(ds.attrs)),
    }
    return arrays, meta


def _from_payload(
    arrays: Mapping[str, Any], meta: Mapping[str, Any] | None, path: str
) -> xr.Dataset:
    if meta is None:  # written elsewhere: X, y and maybe classes / feature_names
        for key in ("X", "y"):
            if key not in arrays:
                raise ValueError(
                    f"{path} has no array {key!r} (it holds {sorted(arrays)}); a features file "
                    "needs 'X' (samples x features) and 'y' (one label per sample)."
                )
        y = np.asarray(arrays["y"])
        classes = arrays.get("classes", arrays.get("class"))
        if classes is not None:
            classes = list(np.asarray(classes).tolist())
            if (
                np.issubdtype(y.dtype, np.integer)
                and y.size
                and 0 <= y.min()
                and y.max() < len(classes)
            ):
                classes = dict(enumerate(classes))  # y holds codes into the class names
        names = arrays.get("feature_names", arrays.get("feature"))
        ds = as_features(
            arrays["X"],
            y,
            classes=classes,
            feature_names=None if names is None else np.asarray(names),
            attrs={"source": f"load_features({path!r})"},
        )
        if "split" in arrays:
            # which images the backbone saw: the study's protocol depends on it, never drop it
            split = np.asarray(arrays["split"]).astype(str)
            if split.shape != (ds.sizes["sample"],):
                raise ValueError(f"{path}: 'split' must hold one name per sample (shape "
                                 f"({ds.sizes['sample']},)); got shape {split.shape}.")
            ds = ds.assign_coords(split=("sample", split))
        known = {"X", "y", "classes", "class", "feature_names", "feature", "split"}
        extra = sorted(set(arrays) - known)
        if extra:
            warnings.warn(f"{path}: arrays {extra} are not part of a features file and were not loaded "
                          "(known: X, y, classes, feature_names, split).", UserWarning, stacklevel=3)
        return ds
    data_vars, coords = {}, {}
    for name, info in meta["variables"].items():
        data = np.asarray(arrays[info["key"]]).astype(np.dtype(info["dtype"]), copy=False)
        shape = [int(size) for size in info["shape"]]
        var = xr.Variable(tuple(info["dims"]), data.reshape(shape), attrs=info["attrs"])
        (coords if info["coord"] else data_vars)[name] = var
    return xr.Dataset(data_vars, coords=coords, attrs=meta["attrs"])


def _save_npz(ds: xr.Dataset, path: Path) -> None:
    arrays, meta = _to_payload(ds)
    arrays[_META_KEY] = np.array(json.dumps(meta))
    with open(path, "wb") as f:  # a file object keeps numpy from appending ".npz"
        np.savez(f, **arrays)


def _unreadable(path: Path, fmt: str, exc: Exception) -> ValueError:
    # the reader's own words are left out: numpy's, for a damaged zip, advise loading untrusted
    # pickles, which classdep never does
    return ValueError(
        f"{os.fspath(path)!r} cannot be read as a {fmt} file (truncated, corrupted or another "
        f"format; the reader stopped with {type(exc).__name__}); write it again with save_features()."
    )


def _load_npz(path: Path) -> xr.Dataset:
    try:
        with np.load(path, allow_pickle=False) as f:
            arrays = {k: f[k] for k in f.files}
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as exc:
        raise _unreadable(path, ".npz", exc) from exc
    meta = arrays.pop(_META_KEY, None)
    meta = None if meta is None else json.loads(str(meta))
    return _from_payload(arrays, meta, str(path))


def _torch():
    try:
        import torch
    except ImportError:
        raise ImportError(
            "reading or writing .pt files needs PyTorch, which is not installed; "
            "install it (pip install torch) or use .npz, .nc or .zarr instead."
        ) from None
    return torch


def _save_pt(ds: xr.Dataset, path: Path) -> None:
    torch = _torch()
    arrays, meta = _to_payload(ds)
    payload: dict[str, Any] = {}
    for name, arr in arrays.items():
        if arr.dtype.kind == "U":
            payload[name] = arr.tolist()  # strings: plain lists
        else:
            payload[name] = torch.from_numpy(np.array(arr, order="C"))  # a copy: torch wants it writable
    if "classes" not in payload and "class" in ds.coords:
        payload["classes"] = ds["class"].values.tolist()  # for readers without classdep
    payload[_META_KEY] = json.dumps(meta)
    torch.save(payload, path)


def _load_pt(path: Path) -> xr.Dataset:
    torch = _torch()
    payload = torch.load(path, map_location="cpu", weights_only=True)
    if not isinstance(payload, Mapping):
        raise ValueError(
            f"{path} holds a {type(payload).__name__}, not a dict of tensors; save "
            "{'X': tensor, 'y': tensor, 'classes': [...]} with torch.save."
        )
    meta = payload.get(_META_KEY)
    meta = None if meta is None else json.loads(meta)
    arrays = {}
    for name, value in payload.items():
        if name == _META_KEY or value is None:
            continue
        if isinstance(value, torch.Tensor):
            arrays[name] = value.detach().cpu().numpy()
        else:
            arrays[name] = np.asarray(value)
    return _from_payload(arrays, meta, str(path))


# -- public functions ----------------------------------------------------------------------------


def save_features(ds: xr.Dataset, path: str | os.PathLike) -> Path:
    """Write a features Dataset to ``path``, in the format its extension names.

    Parameters
    ----------
    ds : xarray.Dataset
        Features as :func:`~classdep.datasets.as_features` makes them: at least ``X``
        (``sample``, ``feature``, maybe leading dims) and ``y`` (``sample``).
    path : str or os.PathLike
        Target file; ``.npz``, ``.nc``, ``.zarr`` (a directory) or ``.pt`` (needs torch).
        An existing file or directory there is replaced.

    Returns
    -------
    pathlib.Path
        The path written.

    Raises
    ------
    ValueError
        Unknown extension, or ``ds`` lacks ``X`` or ``y``.
    ImportError
        ``.pt`` without torch, or ``.nc`` without a netCDF library.

    Examples
    --------
    >>> import numpy as np, tempfile, os
    >>> from classdep.datasets import as_features
    >>> ds = as_features(np.eye(3), ["a", "b", "a"])
    >>> path = os.path.join(tempfile.mkdtemp(), "features.nc")
    >>> load_features(save_features(ds, path)).identical(ds)
    True
    """
    fmt = _format_of(path)
    _check_features(ds, "save_features")
    path = Path(path)
    if fmt == ".npz":
        _save_npz(ds, path)
    elif fmt == ".pt":
        _save_pt(ds, path)
    elif fmt == ".nc":
        engine = _netcdf_engine()
        storable(ds.drop_encoding()).to_netcdf(path, engine=engine)
    else:  # .zarr
        if path.exists() and not path.is_dir():
            path.unlink()
        elif path.exists():
            shutil.rmtree(path)
        storable(ds.drop_encoding()).to_zarr(
            path, mode="w", zarr_format=2, consolidated=True
        )
    return path


def load_features(path: str | os.PathLike) -> xr.Dataset:
    """Read a features Dataset written by :func:`save_features` (or by other tools).

    Parameters
    ----------
    path : str or os.PathLike
        A ``.npz``, ``.nc``, ``.zarr`` or ``.pt`` file.  Files written elsewhere need
        arrays ``X`` and ``y``; ``classes`` (names of the codes in ``y``, or the order of
        its labels) and ``feature_names`` are used when present.

    Returns
    -------
    xarray.Dataset
        In memory (the file is closed), as :func:`~classdep.datasets.as_features` makes
        them.

    Raises
    ------
    FileNotFoundError
        ``path`` does not exist.
    ValueError
        Unknown extension, or the file lacks ``X`` or ``y``.

    Examples
    --------
    >>> import numpy as np, tempfile, os
    >>> path = os.path.join(tempfile.mkdtemp(), "raw.npz")
    >>> np.savez(path, X=np.eye(2), y=[0, 1], classes=["no", "yes"])
    >>> load_features(path)["class"].values.tolist()
    ['no', 'yes']
    """
    fmt = _format_of(path)
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"no features file at {os.fspath(path)!r}.")
    if fmt == ".npz":
        ds = _load_npz(path)
    elif fmt == ".pt":
        ds = _load_pt(path)
    else:
        engine = _netcdf_engine() if fmt == ".nc" else "zarr"
        try:
            opened = xr.open_dataset(path, engine=engine, chunks=None)
        except (OSError, ValueError, KeyError) as exc:  # not netCDF/zarr, truncated
            raise _unreadable(path, fmt, exc) from exc
        with opened as f:
            ds = f.load()
        ds = restored(ds)
    _check_features(ds, f"load_features({os.fspath(path)!r})")
    if "class" not in ds.coords:  # written elsewhere: derive the classes from y
        attrs = dict(ds.attrs) or {"source": f"load_features({os.fspath(path)!r})"}
        ds = as_features(ds, attrs=attrs)
    return ds
