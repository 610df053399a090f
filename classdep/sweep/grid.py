"""Grids of sweeps: augmentation levels, feature sets along an ``augment`` dim, repeats."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import xarray as xr

from ..exceptions import HeldoutRowsWarning, warn_caller
from ..glmnet_fit import GlmnetFit
from ..result import Result, Table
from .cvresult import CVGlmnet

__all__ = ["CVGrid", "HeldoutRowsWarning", "augment_levels", "clean_features"]

# augment coordinates that name the un-augmented level (besides the number 0)
_CLEAN_NAMES = ("none", "clean", "0")


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


def clean_features(x, levels, coord, clean, augment=None) -> tuple[np.ndarray | None, str | None]:
    """``(rows, description)``: the clean features on which stacked levels are scored.

    For ``x`` stacked along ``augment`` (see :func:`augment_levels`) every level is fitted
    on its own training rows; its held-out fold is scored on

    * ``clean`` as given, an array (n, d) or a DataArray (``sample``, ``feature``): the
      un-augmented features of the same samples;
    * ``clean="auto"``: the level whose ``augment`` coordinate is 0 (or ``"none"``,
      ``"clean"``), an error naming the fix when there is none;
    * ``clean=False``: each level's own rows (the levels are representations, e.g.
      backbones trained with and without augmentation, not augmented copies);
    * ``clean=None`` (the default): each level's own rows, as before ``clean`` existed,
      with a :class:`HeldoutRowsWarning` that names the choices above.

    Returns ``(None, None)`` when ``x`` is not stacked (``clean`` must then be None).
    Checked before any fit.

    Examples
    --------
    >>> xa = xr.DataArray(np.arange(12.0).reshape(2, 3, 2), dims=("augment", "sample", "feature"),
    ...                   coords={"augment": [0.0, 0.5]})
    >>> levels, coord = augment_levels(xa, None)
    >>> rows, what = clean_features(xa, levels, coord, "auto")
    >>> rows.tolist(), what
    ([[0.0, 1.0], [2.0, 3.0], [4.0, 5.0]], 'clean rows: the level augment=0.0')
    """
    stacked = levels is not None and all(sp is None for _, sp in levels) and augment is None
    if not stacked:
        if clean is not None:
            what = ("augment= levels are noised inside the objective and already scored on clean rows"
                    if augment is not None else "x has no 'augment' dim")
            raise ValueError(f"clean= applies to feature sets stacked along an 'augment' dim of x; {what}. "
                             "Drop clean=.")
        return None, None
    Xa = x["X"] if isinstance(x, xr.Dataset) else x
    if set(Xa.dims) != {"augment", "sample", "feature"}:
        raise ValueError(f"x has dims {Xa.dims}; feature sets stacked along 'augment' need dims "
                         "('augment', 'sample', 'feature').")
    n, d = Xa.sizes["sample"], Xa.sizes["feature"]
    if clean is False:
        return None, "each level's own rows (clean=False)"
    if clean is None:
        warn_caller(
            "x is stacked along 'augment' and clean= is not given, so each level's held-out fold is "
            "scored on its own rows: for augmented feature sets that measures the augmented rows, not "
            "the clean ones. Pass clean='auto' (the level at augment=0 is the clean features), clean=<the "
            "un-augmented features (sample, feature)>, or clean=False if the levels are different "
            "representations, which silences this warning.", HeldoutRowsWarning)
        return None, "each level's own rows (clean= not given)"
    if isinstance(clean, str):
        if clean != "auto":
            raise ValueError(f"clean={clean!r}: pass 'auto', False, or the clean features (sample, feature).")
        coord = np.asarray(coord)
        if coord.dtype.kind in "iuf":
            hit = np.flatnonzero(coord == 0)
        else:
            hit = np.flatnonzero([str(c).strip().lower() in _CLEAN_NAMES for c in coord])
        if hit.size == 0:
            raise ValueError(
                f"clean='auto' looks for the clean level (augment coordinate 0 or 'none') among the levels "
                f"{coord.tolist()} and finds none. Pass clean= the un-augmented features of the same samples "
                "(sample, feature), add the clean level with augment coordinate 0, or pass clean=False if "
                "the levels are different representations to be scored on their own rows.")
        if hit.size > 1:
            raise ValueError(f"x has {hit.size} levels that name the clean features ({coord[hit].tolist()}); "
                             "keep one, or pass clean= the clean features.")
        i = int(hit[0])
        rows = Xa.isel(augment=i).transpose("sample", "feature").values
        return np.asarray(rows, dtype=np.float64), f"clean rows: the level augment={coord[i]}"
    if isinstance(clean, xr.DataArray):
        if set(clean.dims) != {"sample", "feature"}:
            raise ValueError(f"clean has dims {clean.dims}; it must be (sample, feature): the clean "
                             "features of x's samples.")
        clean = clean.transpose("sample", "feature")
        both = "sample" in clean.coords and "sample" in Xa.coords
        if both and (clean.sizes["sample"] != n
                     or not np.array_equal(clean["sample"].values, Xa["sample"].values)):
            raise ValueError("clean's 'sample' coordinate differs from x's: pass the clean features of the "
                             "same samples, in the same order (e.g. clean.sel(sample=x.sample)).")
        clean = clean.values
    rows = np.asarray(clean)
    if rows.dtype.kind not in "iuf":
        raise TypeError(f"clean must be numeric features (sample, feature), 'auto' or False; got dtype "
                        f"{rows.dtype}.")
    if rows.shape != (n, d):
        raise ValueError(f"clean has shape {rows.shape}; it must be ({n}, {d}), the clean features of the "
                         f"{n} samples of x (one row per sample, as in every level).")
    rows = rows.astype(np.float64)
    if not np.isfinite(rows).all():
        raise ValueError("clean has non-finite values; the held-out rows must be finite features.")
    return rows, "clean rows: clean="


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
