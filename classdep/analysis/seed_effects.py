"""Per-class effects of a training setting, tested across independently trained networks.

Two training settings (with and without augmentation, two weight decays) give each class a
measure (its accuracy, its optimal lambda in decades, ...) on every network trained with a
different seed.  Seeds are the unit of replication: whether a class reacts to the setting
is a test on the per-class values of the two populations of networks (Hooker et al. 2019,
"What do compressed deep neural networks forget?", who apply a two-sample t-test per
class to populations of independently trained models), and with many classes the tests
are controlled together with the Benjamini & Hochberg (1995) step-up rule.

Two forms of the effect:

* ``center=False``: the class's own change, ``mean_b - mean_a``;
* ``center=True``: its change beyond the average class's, each network's values taken
  relative to its mean over the classes first (Hooker et al.'s normalization by the
  overall change): what *this* class gains or loses that the others do not.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np
import xarray as xr
from scipy import stats

from ..result import Result, Table, fmt
from .classwise_null import benjamini_hochberg

__all__ = ["ClassEffects", "class_effects"]


@dataclass(repr=False)
class ClassEffects(Result):
    """Per-class effects of a training setting across seeds, with tests and BH control.

    Attributes
    ----------
    data : xr.Dataset
        Over ``class``: ``mean_a``, ``mean_b``, ``effect`` (``mean_b - mean_a``),
        ``lower``, ``upper`` (its ``conf`` interval), ``statistic`` (t), ``df``,
        ``p_value``, ``q_value`` (BH) and ``differs`` (``q_value <= fdr``); ``attrs``: the
        test, ``conf``, ``fdr``, ``n_a``, ``n_b``, ``center`` and ``n_differ``.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> a = rng.normal(0.80, 0.01, size=(6, 4))
    >>> b = a + [0.0, 0.0, 0.0, -0.05] + rng.normal(0, 0.005, size=(6, 4))
    >>> eff = class_effects(a, b, paired=True)
    >>> eff.data["differs"].values.tolist()
    [False, False, False, True]
    """

    data: xr.Dataset

    _groups = ("effects",)

    def _table(self) -> Table:
        d = self.data
        a = d.attrs
        test = "paired t" if a["paired"] else "Welch two-sample t"
        what = "change beyond the mean over classes" if a["center"] else "change"
        head = [f"Per-class effects across seeds ({test}; {a['n_a']} vs {a['n_b']} networks; {what})", ""]
        rows = [("class", "mean_a", "mean_b", "effect", f"{a['conf']:.0%} lower", "upper", "t", "df",
                 "p_value", "q_value", "")]
        for i, c in enumerate(d["class"].values):
            r = d.isel({"class": i})
            rows.append((str(c), fmt(r["mean_a"].item()), fmt(r["mean_b"].item()), fmt(r["effect"].item()),
                         fmt(r["lower"].item()), fmt(r["upper"].item()), fmt(r["statistic"].item(), 3),
                         fmt(r["df"].item(), 3), fmt(r["p_value"].item(), 3), fmt(r["q_value"].item(), 3),
                         "*" if bool(r["differs"].item()) else ""))
        foot = ["", f"{a['n_differ']} of {d.sizes['class']} classes differ at FDR {a['fdr']:.0%} "
                "(Benjamini-Hochberg over the classes; * in the table)"]
        if a.get("n_flat", 0):
            foot.append(f"{a['n_flat']} classes take the same value on every network: no test (p_value NaN)")
        return Table(head, rows, foot)


def _as_seed_class(v: Any, name: str) -> xr.DataArray:
    """A (seed, class) DataArray from an array or a DataArray with those dims."""
    if isinstance(v, xr.DataArray):
        if set(v.dims) != {"seed", "class"}:
            raise ValueError(f"{name} has dims {v.dims}; pass a DataArray over ('seed', 'class') "
                             "(one row per independently trained network).")
        v = v.transpose("seed", "class")
    else:
        arr = np.asarray(v, dtype=float)
        if arr.ndim != 2:
            raise ValueError(f"{name} has shape {arr.shape}; pass a 2-D array (seed, class): one row per "
                             "independently trained network, one column per class.")
        v = xr.DataArray(arr, dims=("seed", "class"), coords={"class": np.arange(arr.shape[1])})
    if not np.isfinite(v.values).all():
        raise ValueError(f"{name} holds NaN or inf; drop the networks (rows) or classes without a value.")
    if v.sizes["seed"] < 2:
        raise ValueError(f"{name} holds {v.sizes['seed']} network; a test across seeds needs at least two "
                         "per setting.")
    return v


def class_effects(a: Any, b: Any, paired: bool = False, center: bool = False, conf: float = 0.95,
                  fdr: float = 0.1) -> ClassEffects:
    """Test every class for an effect of a training setting across independently trained networks.

    Parameters
    ----------
    a, b : array (seed, class) or DataArray over (``seed``, ``class``)
        A per-class measure of each network trained under setting A and setting B (one
        row per seed).  With a DataArray the ``class`` coordinates must agree.
    paired : bool
        The rows of ``a`` and ``b`` are pairs (the same seed, data order and
        initialization under both settings): a paired t-test.  Default: independent
        networks, Welch's two-sample t-test (unequal variances).
    center : bool
        Test each class's change beyond the mean change over the classes (each
        network's values minus its mean over the classes).
    conf : float
        Level of the intervals for the effects.
    fdr : float
        False-discovery rate of the Benjamini–Hochberg rule over the classes.

    Notes
    -----
    A class whose values do not vary across the networks under either setting (a
    discrete measure, an optimum read off a grid) has no t statistic: its p-value is NaN
    and it is left out of the BH rule (``attrs["n_flat"]`` counts them).

    Returns
    -------
    ClassEffects

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(1)
    >>> a, b = rng.normal(0.8, 0.02, (5, 3)), rng.normal(0.8, 0.02, (6, 3))
    >>> class_effects(a, b).data.attrs["n_differ"]
    0
    """
    if not 0 < conf < 1 or not 0 < fdr < 1:
        raise ValueError(f"conf={conf!r} and fdr={fdr!r} must lie strictly between 0 and 1.")
    A, B = _as_seed_class(a, "a"), _as_seed_class(b, "b")
    if A.sizes["class"] != B.sizes["class"] or not np.array_equal(A["class"].values, B["class"].values):
        raise ValueError(f"a and b hold other classes ({A['class'].values.tolist()} vs "
                         f"{B['class'].values.tolist()}); pass the same classes in the same order.")
    if paired and A.sizes["seed"] != B.sizes["seed"]:
        raise ValueError(f"paired=True needs as many networks under each setting (a has {A.sizes['seed']}, "
                         f"b has {B.sizes['seed']}); use paired=False for independent networks.")
    xa, xb = A.values, B.values
    if center:
        xa = xa - xa.mean(axis=1, keepdims=True)
        xb = xb - xb.mean(axis=1, keepdims=True)
    if paired:
        se = (xb - xa).std(axis=0, ddof=1) / np.sqrt(xa.shape[0])
    else:
        se = np.sqrt(xa.var(axis=0, ddof=1) / xa.shape[0] + xb.var(axis=0, ddof=1) / xb.shape[0])
    # a class whose values do not vary across the networks (a discrete measure, an optimum
    # on a grid) has no t statistic: SciPy would return an infinite t and p = 0, which is no
    # evidence; its p-value is NaN and it is not counted among the tests
    flat = ~(se > 1e-12 * np.maximum(np.abs(xa).max(axis=0), np.abs(xb).max(axis=0)))
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore", RuntimeWarning)
        if paired:
            res = stats.ttest_rel(xb, xa, axis=0)
        else:
            res = stats.ttest_ind(xb, xa, axis=0, equal_var=False)
        ci = res.confidence_interval(confidence_level=conf)
    p = np.where(flat, np.nan, np.asarray(res.pvalue, dtype=float))
    q, rej = benjamini_hochberg(p, fdr)
    data = xr.Dataset(
        {"mean_a": ("class", xa.mean(axis=0)), "mean_b": ("class", xb.mean(axis=0)),
         "effect": ("class", xb.mean(axis=0) - xa.mean(axis=0)),
         "lower": ("class", np.asarray(ci.low, dtype=float)),
         "upper": ("class", np.asarray(ci.high, dtype=float)),
         "statistic": ("class", np.where(flat, np.nan, np.asarray(res.statistic, dtype=float))),
         "df": ("class", np.broadcast_to(np.asarray(res.df, dtype=float), p.shape).copy()),
         "p_value": ("class", p), "q_value": ("class", q), "differs": ("class", rej)},
        coords={"class": A["class"].values},
        attrs=dict(paired=int(paired), center=int(center), conf=float(conf), fdr=float(fdr),
                   n_a=int(A.sizes["seed"]), n_b=int(B.sizes["seed"]), n_differ=int(rej.sum()),
                   n_flat=int(flat.sum())),
    )
    return ClassEffects(data)
