"""The one base class of classdep's results: xarray data, R-like print, notebooks, files.

Every result (a fit, a cross-validated sweep, class-wise optima, bootstrap replicates,
a discriminant analysis, ...) holds its numbers as :class:`xarray.Dataset` objects and
derives from :class:`Result`, which writes once what they all share:

* ``print(obj)``: R's look, built from one hook, :meth:`Result._table` (lines above, a
  right-aligned table, lines below);
* ``obj._repr_html_()``: the same table as HTML, which Jupyter shows;
* ``obj.to_dataframe()``: the main variables as a :class:`pandas.DataFrame`;
* ``obj.to_netcdf(path)`` / ``Class.from_netcdf(path)`` and the zarr pair: the datasets as
  groups of one file, each variable checked against the checksum written with it.

A subclass names its datasets in :attr:`Result._groups` (the first one is :attr:`data`)
and rebuilds itself from them in :meth:`Result._from_groups`.
"""

from __future__ import annotations

import html
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np
import pandas as pd
import xarray as xr

from .persist import read_groups, write_groups
from .rtable import format_table

__all__ = ["Result", "Table"]


@dataclass
class Table:
    """What ``print`` shows: ``head`` lines, a table (``rows[0]`` its header), ``foot`` lines.

    Examples
    --------
    >>> print("\\n".join(Table(["Call: demo()", ""], [("", "Df"), ("1", "10")]).lines()))
    Call: demo()
    <BLANKLINE>
       Df
    1  10
    """

    head: list[str] = field(default_factory=list)
    rows: list[tuple[str, ...]] = field(default_factory=list)
    foot: list[str] = field(default_factory=list)

    def lines(self) -> list[str]:
        # taken literally: blank lines are the caller's, as R's prints differ in them
        return list(self.head) + (format_table(self.rows) if self.rows else []) + list(self.foot)

    def html(self) -> str:
        def para(lines):
            # <pre>: R's prints align columns with spaces, which HTML would collapse
            text = "\n".join(html.escape(s) for s in lines).strip("\n")
            return f"<pre>{text}</pre>" if text else ""

        parts = [para(self.head)]
        if self.rows:
            head = "".join(f"<th>{html.escape(c)}</th>" for c in self.rows[0])
            body = "".join("<tr>" + "".join(f"<td>{html.escape(v)}</td>" for v in r) + "</tr>"
                           for r in self.rows[1:])
            parts.append(f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>")
        parts.append(para(self.foot))
        return "<div class=\"classdep-result\">" + "".join(parts) + "</div>"


class Result:
    """Base class of every classdep result.

    Subclasses set ``_groups`` (names of the datasets written to a file, the first being
    :attr:`data`; ``None`` names the file's root group), return them from
    :meth:`_datasets` and rebuild themselves in :meth:`_from_groups`; ``_optional``
    lists groups that may be absent (written as nothing when None).

    Examples
    --------
    >>> import classdep as cd
    >>> fit = cd.glmnet(cd.datasets.digits(), nlambda=3)
    >>> isinstance(fit, cd.Result), "<table>" in fit._repr_html_()
    (True, True)
    """

    _groups: ClassVar[tuple[str | None, ...]] = ("data",)
    _optional: ClassVar[tuple[str, ...]] = ()
    #: which of ``_groups`` is :attr:`data` (the first group carries the file's stamp, and
    #: a result keeps the group order of the files it wrote before, so they still read)
    _main: ClassVar[int] = 0
    #: the dims of the variables :meth:`to_dataframe` returns (None: the first variable's)
    _frame_dims: ClassVar[tuple[str, ...] | None] = None

    # --- hooks ------------------------------------------------------------------------
    def _datasets(self) -> dict[str | None, xr.Dataset | None]:
        """The datasets to write, keyed by the names in ``_groups``."""
        return {self._groups[self._main]: self.data}

    @classmethod
    def _from_groups(cls, groups: dict[str | None, xr.Dataset | None]) -> Result:
        """Rebuild the result from the datasets read back (keys as in ``_groups``)."""
        return cls(groups[cls._groups[cls._main]])  # type: ignore[call-arg]

    def _table(self) -> Table:
        """What ``print`` and the notebook show."""
        return Table([f"{type(self).__name__}"], [], [repr(self.data)])

    # --- shared behaviour -----------------------------------------------------------------
    @property
    def data(self) -> xr.Dataset:
        """The result's main dataset."""
        if "_main_data" in self.__dict__:
            return self.__dict__["_main_data"]
        return self._datasets()[self._groups[self._main]]

    @data.setter
    def data(self, value: xr.Dataset) -> None:
        # a subclass whose main dataset is a field named ``data`` (a dataclass) sets it here
        self.__dict__["_main_data"] = value

    def __repr__(self) -> str:
        return "\n".join(self._table().lines())

    def _repr_html_(self) -> str:
        return self._table().html()

    def _frame_vars(self) -> list[str]:
        """The variables of :meth:`to_dataframe`: those over the first variable's dims."""
        ds = self.data
        names = list(ds.data_vars)
        if not names:
            return []
        dims = self._frame_dims or ds[names[0]].dims
        return [v for v in names if ds[v].dims == tuple(dims)]

    def to_dataframe(self) -> pd.DataFrame:
        """The main variables as a :class:`pandas.DataFrame`, one row per coordinate tuple.

        Examples
        --------
        >>> import classdep as cd
        >>> fit = cd.glmnet(cd.datasets.digits(), nlambda=3)
        >>> fit.to_dataframe().shape[0]
        3
        """
        ds = self.data
        names = self._frame_vars()
        if not names:
            return pd.DataFrame(index=pd.RangeIndex(0))
        sub = ds[names]
        drop = [c for c in sub.coords if c not in sub.dims]
        return sub.drop_vars(drop).to_dataframe()

    def to_netcdf(self, path, store: str = "netcdf") -> None:
        """Write the result to one netCDF file (one group per dataset), with checksums."""
        groups = {k: v for k, v in self._datasets().items()}
        first = self._groups[0]
        tagged = groups[first].copy()
        if tagged.attrs.get("classdep_object") != self._tag():
            # the stamp names the file's content; it is not part of the result, so it goes on read
            tagged.attrs["classdep_object"] = self._tag()
            tagged.attrs["classdep_stamp_only"] = 1
        groups[first] = tagged
        write_groups(path, {k: groups.get(k) for k in self._groups}, store)

    def to_zarr(self, path) -> None:
        """Write the result to a zarr store (one group per dataset), with checksums."""
        self.to_netcdf(path, store="zarr")

    @classmethod
    def from_netcdf(cls, path, store: str = "netcdf") -> Any:
        """Read a result written by :meth:`to_netcdf`; a damaged or foreign file is refused."""
        groups = read_groups(path, list(cls._groups), cls._tag(), store, optional=list(cls._optional))
        first = groups[cls._groups[0]]
        if first.attrs.pop("classdep_stamp_only", 0):
            first.attrs.pop("classdep_object", None)
        return cls._from_groups(groups)

    @classmethod
    def from_zarr(cls, path) -> Any:
        """Read a result written by :meth:`to_zarr`."""
        return cls.from_netcdf(path, store="zarr")

    @classmethod
    def _tag(cls) -> str:
        return cls.__name__


def fmt(v: Any, digits: int = 4) -> str:
    """A number as R prints it in a table (``digits`` significant), anything else as text.

    Examples
    --------
    >>> fmt(0.000123456), fmt(3), fmt("a")
    ('0.0001235', '3', 'a')
    """
    if isinstance(v, bool | np.bool_):
        return str(bool(v))
    if isinstance(v, int | np.integer):
        return str(int(v))
    if isinstance(v, float | np.floating):
        return f"{float(v):.{digits}g}"
    return str(v)
