"""Writing and reading classdep results: xarray groups in one netCDF file or zarr store.

Every result stores its type in the ``classdep_object`` attribute of its first group, so
that reading a file that holds something else fails with a clear message.  zarr stores
use format 2, whose strings (class names) round-trip exactly.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import xarray as xr

__all__ = ["STORES", "write_groups", "read_groups"]

STORES = ("netcdf", "zarr")


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
        if store == "zarr":
            ds.to_zarr(path, mode=mode, group=name, zarr_format=2)
        else:
            ds.to_netcdf(path, mode=mode, group=name)
        mode = "a"


def read_groups(path, names: Sequence[str | None], tag: str, store: str = "netcdf",
                optional: Sequence[str] = ()) -> dict[str | None, xr.Dataset | None]:
    """Read the groups ``names`` fully into memory; the first must carry ``tag``.

    Groups listed in ``optional`` that the file lacks come back as None.
    """
    def load(name):
        if store == "zarr":
            return xr.open_zarr(path, group=name, zarr_format=2).load()
        with xr.open_dataset(path, group=name) as ds:
            return ds.load()

    out: dict[str | None, xr.Dataset | None] = {}
    for i, name in enumerate(names):
        try:
            out[name] = load(name)
        except (OSError, KeyError, FileNotFoundError):
            if name in optional:
                out[name] = None
                continue
            if i == 0 and not Path(path).exists():
                raise FileNotFoundError(f"{path} does not exist.") from None
            raise ValueError(f"{path} does not hold a classdep {tag} (group {name!r} is missing).") from None
        if i == 0 and out[name].attrs.get("classdep_object") != tag:
            raise ValueError(f"{path} does not hold a classdep {tag} (written by its to_{store}).")
    return out
