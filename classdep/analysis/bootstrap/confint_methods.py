"""``confint`` methods of the bootstrap results, a sweep and class-wise optima."""

from __future__ import annotations

import xarray as xr

from ...generics import confint
from ...sweep import CVGlmnet, CVGrid, Heldout
from ..classwise import Classwise
from .intervals import BootCI, boot_ci
from .replicates import Boot, boot
from .sources import MEASURES

__all__: list[str] = []


@confint.register
def _(b: Boot, conf: float = 0.95, type: str = "perc", **kwargs) -> xr.DataArray:  # noqa: A002
    """``boot_ci(b, conf, type).ci``: (``class``, ``bound``)."""
    return boot_ci(b, conf=conf, type=type, **kwargs).ci


@confint.register
def _(ci: BootCI, **kwargs) -> xr.DataArray:
    return ci.ci


@confint.register
def _(cv: CVGlmnet, conf: float = 0.95, type: str = "perc", **kwargs) -> xr.DataArray:  # noqa: A002
    """Bootstrap the class-wise optima of a sweep (``boot(cv, **kwargs)``) and return their intervals."""
    return boot_ci(boot(cv, **kwargs), conf=conf, type=type).ci


@confint.register
def _(h: Heldout, conf: float = 0.95, type: str = "perc", **kwargs) -> xr.DataArray:  # noqa: A002
    """Bootstrap the class-wise optima on held-out samples (``boot(h, **kwargs)``): their intervals."""
    return boot_ci(boot(h, **kwargs), conf=conf, type=type).ci


@confint.register
def _(grid: CVGrid, conf: float = 0.95, type: str = "perc", **kwargs) -> xr.DataArray:  # noqa: A002
    """Intervals of a grid's class-wise optima, per level or over its levels (``boot(grid, **kwargs)``)."""
    return boot_ci(boot(grid, **kwargs), conf=conf, type=type).ci


@confint.register
def _(cw: Classwise, conf: float = 0.95, type: str = "perc", **kwargs) -> xr.DataArray:  # noqa: A002
    """Intervals for every class's optimum of ``cw``: ``boot_ci(boot(cw.cv, **kwargs), conf, type).ci``.

    The bootstrap resamples ``cw``'s measure (``deviance``, ``ova_accuracy`` or ``recall``).

    ``cw`` keeps a reference to the sweep it came from (not saved by ``to_netcdf``).
    """
    if cw.cv is None:
        raise ValueError("this Classwise holds no reference to its CVGlmnet (e.g. it was read with "
                         "Classwise.from_netcdf): the bootstrap resamples the sweep's per-sample losses, so "
                         "use confint(cv) or boot_ci(boot(cv)) on the CVGlmnet itself.")
    measure = cw.table.attrs.get("measure", "deviance")
    if measure not in MEASURES:
        raise ValueError(f"confint(cw) bootstraps the per-class optimum of cw's measure; measure={measure!r} "
                         f"cannot be resampled from the per-sample data (the bootstrap's measures: "
                         f"{', '.join(MEASURES)}). Use classwise(cv, measure='deviance') or 'ova_accuracy'.")
    kwargs = dict(kwargs, measure=kwargs.get("measure", measure))
    a = cw.table.attrs
    if a.get("over", "lambda") != "lambda":  # optima over a grid's levels at the lambda they were read at
        kwargs = dict(kwargs, over=a["over"], s=a["lambda"])
    return boot_ci(boot(cw.cv, **kwargs), conf=conf, type=type).ci
