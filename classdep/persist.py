"""Writing and reading classdep results: xarray groups in one netCDF file or zarr store.

Every result stores its type in the ``classdep_object`` attribute of its first group, so
that reading a file that holds something else fails with a clear message, and the
version of the layout in ``classdep_format``: a file written by a newer classdep, whose
layout this one does not know, is refused rather than misread.  zarr stores
use format 2, whose strings (class names) round-trip exactly.

Every group carries the sha256 of each of its variables (``classdep_sha256``), computed on
the values (not the file's bytes, which the format may lay out differently); reading
recomputes them, and a variable that changed after it was written is refused with its
name, never loaded.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import xarray as xr

__all__ = ["STORES", "FORMAT", "write_groups", "read_groups"]

STORES = ("netcdf", "zarr")
# Layout version of the files written here; raise it when a result's groups or variables
# change in a way an older reader would misread.  Files without the attribute predate it
# (format 1, the same layout).
FORMAT = 1
CHECKSUMS = "classdep_sha256"


def variable_digest(values) -> str:
    """sha256 of an array's shape and values, the same before and after a netCDF/zarr round trip.

    Numbers are hashed as float64 or int64 (a file may store a narrower type), booleans as
    bytes, text as UTF-8.

    Examples
    --------
    >>> variable_digest(np.array([1, 2], dtype=np.int16)) == variable_digest(np.array([1, 2]))
    True
    >>> variable_digest(np.array([1.0, 2.0])) == variable_digest(np.array([1.0, 2.0000001]))
    False
    """
    a = np.asarray(values)
    h = hashlib.sha256(f"{a.shape}|".encode())
    if a.dtype.kind in "OUS":
        h.update("\x1f".join(str(v) for v in a.ravel()).encode())
    elif a.dtype.kind == "b":
        h.update(np.ascontiguousarray(a, dtype=np.uint8).tobytes())
    elif a.dtype.kind in "iu":
        h.update(np.ascontiguousarray(a, dtype="<i8").tobytes())
    elif a.dtype.kind == "f":
        h.update(np.ascontiguousarray(a, dtype="<f8").tobytes())
    else:
        h.update(np.ascontiguousarray(a).tobytes())
    return h.hexdigest()


def _digests(ds: xr.Dataset) -> dict[str, str]:
    return {str(k): variable_digest(ds[k].values) for k in list(ds.data_vars) + list(ds.coords)}


def write_groups(path, groups: dict[str | None, xr.Dataset], store: str = "netcdf") -> None:
    """Write ``groups`` (name → Dataset, ``None`` for the root; None values skipped) to ``path``.

    Examples
    --------
    >>> ds = xr.Dataset({"a": ("x", [1.0])}, attrs={"classdep_object": "Demo"})
    >>> write_groups("/tmp/classdep-demo.nc", {"main": ds})
    >>> read_groups("/tmp/classdep-demo.nc", ["main"], "Demo")["main"]["a"].values
    array([1.])
    """
    mode = "w"
    for name, ds in groups.items():
        if ds is None:
            continue
        ds = ds.copy()
        ds.attrs[CHECKSUMS] = json.dumps(_digests(ds))
        if mode == "w":
            ds.attrs["classdep_format"] = FORMAT
        if store == "zarr":
            ds.to_zarr(path, mode=mode, group=name, zarr_format=2)
        else:
            ds.to_netcdf(path, mode=mode, group=name)
        mode = "a"


def read_groups(path, names: Sequence[str | None], tag: str, store: str = "netcdf",
                optional: Sequence[str] = ()) -> dict[str | None, xr.Dataset | None]:
    """Read the groups ``names`` fully into memory; the first must carry ``tag``.

    Groups listed in ``optional`` that the file lacks come back as None.

    Examples
    --------
    >>> ds = xr.Dataset({"a": ("x", [1.0, 2.0])}, attrs={"classdep_object": "Demo"})
    >>> write_groups("/tmp/classdep-demo-read.nc", {"main": ds})
    >>> g = read_groups("/tmp/classdep-demo-read.nc", ["main", "oof"], "Demo", optional=["oof"])
    >>> g["main"]["a"].values.tolist(), g["oof"]
    ([1.0, 2.0], None)
    """
    def load(name):
        if store == "zarr":
            return xr.open_zarr(path, group=name, zarr_format=2).load()
        with xr.open_dataset(path, group=name) as ds:
            return ds.load()

    if not Path(path).exists():
        raise FileNotFoundError(f"{path} does not exist.")
    out: dict[str | None, xr.Dataset | None] = {}
    for i, name in enumerate(names):
        try:
            out[name] = load(name)
        except (OSError, KeyError, ValueError) as exc:
            if name in optional:
                out[name] = None
                continue
            if i == 0 and not _readable(path, store):
                raise ValueError(
                    f"{path} cannot be read as a {store} file (truncated, corrupted or another format; "
                    f"the reader stopped with {type(exc).__name__}); is it a file classdep wrote? If so, "
                    f"write it again with to_{store}()."
                ) from exc
            raise ValueError(f"{path} does not hold a classdep {tag} (group {name!r} is missing).") from None
        _verify(out[name], path, name, tag)
        if i == 0:
            attrs = out[name].attrs
            if attrs.get("classdep_object") != tag:
                raise ValueError(f"{path} does not hold a classdep {tag} (written by its to_{store}).")
            fmt = attrs.pop("classdep_format", 1)  # a file attribute, not the result's
            if int(fmt) > FORMAT:
                raise ValueError(
                    f"{path} holds a {tag} in layout version {int(fmt)}, written by a newer classdep; "
                    f"this one reads versions up to {FORMAT}. Upgrade classdep to read it."
                )
    return out


def _verify(ds: xr.Dataset, path, group, tag: str) -> None:
    """Check every variable of a group read back against the checksums written with it."""
    stored = ds.attrs.pop(CHECKSUMS, None)
    if stored is None:
        return  # written before checksums existed (same layout): nothing to check against
    try:
        want = json.loads(stored)
    except (TypeError, ValueError):
        raise ValueError(f"{path}: the checksums of group {group!r} are unreadable (the file was changed "
                         f"after classdep wrote it); write the {tag} again from its source.") from None
    got = _digests(ds)
    for name in sorted(set(want) | set(got)):
        if want.get(name) != got.get(name):
            what = "is missing" if name not in got else ("was added" if name not in want else
                                                          "fails its sha256 checksum")
            raise ValueError(
                f"{path}: variable {name!r} of group {group!r} {what}: the file changed after classdep "
                f"wrote it. Write the {tag} again from its source (or recompute it); do not edit the file."
            )


def _readable(path, store: str) -> bool:
    """Whether ``path`` opens as a netCDF file or zarr store at all (its root group)."""
    try:
        if store == "zarr":
            import zarr

            zarr.open_group(str(path), mode="r", zarr_format=2)
        else:
            with xr.open_dataset(path):
                pass
    except Exception:  # noqa: BLE001 - any failure to open means "not readable"
        return False
    return True
