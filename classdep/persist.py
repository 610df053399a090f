"""Writing and reading classdep results: xarray groups in one netCDF file or zarr store.

Every result stores its type in the ``classdep_object`` attribute of its first group, so
that reading a file that holds something else fails with a clear message, and the
version of the layout in ``classdep_format``: a file written by a newer classdep, whose
layout this one does not know, is refused rather than misread.  zarr stores
use format 2, whose strings (class names) round-trip exactly.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import xarray as xr

__all__ = ["STORES", "FORMAT", "write_groups", "read_groups"]

STORES = ("netcdf", "zarr")
# Layout version of the files written here; raise it when a result's groups or variables
# change in a way an older reader would misread.  Files without the attribute predate it
# (format 1, the same layout).
FORMAT = 1


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
        if mode == "w":
            ds = ds.copy()
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
                    f"{path} cannot be read as a {store} file (truncated, corrupted or another "
                    f"format: {exc}); write it again with to_{store}()."
                ) from exc
            raise ValueError(f"{path} does not hold a classdep {tag} (group {name!r} is missing).") from None
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
