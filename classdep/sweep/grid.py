"""Grids of sweeps: augmentation levels, feature sets along an ``augment`` dim, repeats."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import xarray as xr

from ..glmnet_fit import GlmnetFit
from ..result import Result, Table
from .cvresult import CVGlmnet

__all__ = ["CVGrid", "augment_levels"]


def augment_levels(x, augment):
    """``(levels, coord)``: per level the features and the augment spec; None if no grid.

    Examples
    --------
    >>> levels, coord = augment_levels(np.eye(2), dict(kind="dropout", strength=[0.1, 0.2]))
    >>> [sp["strength"] for _, sp in levels], coord.tolist()
    ([0.1, 0.2], [0.1, 0.2])
    """
    stacked = isinstance(x, xr.DataArray) and "augment" in x.dims
    if isinstance(x, xr.Dataset) and "X" in x and "augment" in x["X"].dims:
        stacked = True
    if augment is None and not stacked:
        return None, None
    if stacked:
        if augment is not None:
            raise ValueError("pass either feature sets along an 'augment' dim or augment=, not both.")
        Xa = x["X"] if isinstance(x, xr.Dataset) else x
        coord = Xa["augment"].values if "augment" in Xa.coords else np.arange(Xa.sizes["augment"])
        levels = []
        for i in range(Xa.sizes["augment"]):
            xi = x.isel(augment=i) if isinstance(x, xr.Dataset) else Xa.isel(augment=i)
            levels.append((xi, None))
        return levels, coord
    specs = augment if isinstance(augment, list | tuple) else [augment]
    expanded = []
    for sp in specs:
        if isinstance(sp, dict) and np.ndim(sp.get("strength")) == 1:
            expanded += [dict(sp, strength=float(v)) for v in sp["strength"]]
        else:
            expanded.append(sp)
    if len(expanded) == 1 and not isinstance(augment, list | tuple) and np.ndim(augment.get("strength")) == 0:
        return None, None  # a single spec is augmentation inside one fit, not a grid
    strengths = [sp.get("strength") if isinstance(sp, dict) else None for sp in expanded]
    kinds = {sp.get("kind") for sp in expanded if isinstance(sp, dict)}
    coord = np.asarray(strengths, dtype=float) if len(kinds) == 1 and None not in strengths \
        else np.arange(len(expanded))
    return [(x, sp) for sp in expanded], coord


@dataclass(repr=False)
class CVGrid(Result):
    """Cross-validated paths over an augmentation grid, or repeated with other folds.

    ``results`` (and ``oof``) stack every level's :attr:`CVGlmnet.results` (and
    :attr:`CVGlmnet.oof`) along a leading ``augment`` (or ``repeat``) dim, ``dim``;
    ``cvs[i]`` (or ``grid[i]``) is level ``i``'s :class:`CVGlmnet`.  A grid is written to
    one file (every level's results, out-of-fold data and full-data path stacked along
    ``dim``) and read back whole.

    Examples
    --------
    >>> import classdep as cd
    >>> import numpy as np
    >>> grid = cd.cv_glmnet(cd.datasets.digits(), nfolds=3, lambda_=np.geomspace(1, 1e-3, 4),
    ...                     nrepeats=2, progress=False)
    >>> "repeat" in grid.results.dims, grid.oof["loss"].dims
    (True, ('repeat', 'lambda', 'sample'))
    """

    augment: np.ndarray  # coordinate of the grid's leading dim
    cvs: list
    dim: str = "augment"

    _groups = ("results", "oof", "fit")

    def _frame_vars(self) -> list[str]:
        # every level's path table: one row per (level, lambda)
        r = self.data
        return [v for v in r.data_vars if set(r[v].dims) == {self.dim, "lambda"}]

    _optional = ("oof",)

    def __getitem__(self, i: int) -> CVGlmnet:
        return self.cvs[i]

    def __len__(self) -> int:
        return len(self.cvs)

    @property
    def results(self) -> xr.Dataset:
        per = [cv.results.drop_attrs() if hasattr(cv.results, "drop_attrs") else cv.results
               for cv in self.cvs]
        out = xr.concat(per, dim=self.dim, coords="minimal", compat="override")
        out = out.assign_coords({self.dim: self.augment})
        out["lambda_min"] = (self.dim, [cv.lambda_min for cv in self.cvs])
        out["lambda_1se"] = (self.dim, [cv.lambda_1se for cv in self.cvs])
        return out

    @property
    def oof(self) -> xr.Dataset | None:
        """The levels' out-of-fold data stacked along ``dim`` (None if a level kept none)."""
        if any(cv.oof is None for cv in self.cvs):
            return None
        out = xr.concat([cv.oof for cv in self.cvs], dim=self.dim, coords="minimal", compat="override")
        return out.assign_coords({self.dim: self.augment})

    # --- files: each group stacks the levels; their attributes go under "level<i>." ------
    def _stack(self, parts: list[xr.Dataset]) -> xr.Dataset:
        out = xr.concat(parts, dim=self.dim, coords="minimal", compat="override")
        out = out.assign_coords({self.dim: self.augment})
        out.attrs = {f"level{i}.{k}": v for i, p in enumerate(parts) for k, v in p.attrs.items()}
        out.attrs["grid_dim"] = self.dim
        return out

    def _datasets(self) -> dict[str | None, xr.Dataset | None]:
        oofs = [cv.oof for cv in self.cvs]
        return {"results": self._stack([cv.results for cv in self.cvs]),
                "oof": None if any(o is None for o in oofs) else self._stack(oofs),
                "fit": self._stack([cv.fit.path for cv in self.cvs])}

    @staticmethod
    def _level(ds: xr.Dataset | None, dim: str, i: int) -> xr.Dataset | None:
        """Level ``i`` of a stacked group, with the attrs that were its own (``level{i}.*``)."""
        if ds is None:
            return None
        part = ds.isel({dim: i}, drop=True)
        prefix = f"level{i}."
        part.attrs = {k[len(prefix):]: v for k, v in ds.attrs.items() if k.startswith(prefix)}
        return part

    @classmethod
    def _from_groups(cls, groups) -> CVGrid:
        res = groups["results"]
        dim = str(res.attrs["grid_dim"])

        def level(ds: xr.Dataset | None, i: int) -> xr.Dataset | None:
            return cls._level(ds, dim, i)

        cvs = []
        for i in range(res.sizes[dim]):
            oof = level(groups["oof"], i)
            cvs.append(CVGlmnet(level(res, i), oof, GlmnetFit(level(groups["fit"], i)),
                                None if oof is None else oof["fold"].values))
        return cls(res[dim].values, cvs, dim)

    def _table(self) -> Table:
        rows = [(self.dim, "lambda_min", "Measure", "SE", "lambda_1se")]
        for a, cv in zip(self.augment, self.cvs, strict=True):
            j = cv.index["min"]
            rows.append((f"{a:g}" if isinstance(a, float | np.floating) else str(a), f"{cv.lambda_min:.4g}",
                         f"{cv.cvm.values[j]:.4g}", f"{cv.cvsd.values[j]:.4g}", f"{cv.lambda_1se:.4g}"))
        what = "augmentation levels" if self.dim == "augment" else "repeats (fold seeds)"
        return Table([f"Cross-validation over {len(self.cvs)} {what}", ""], rows)
