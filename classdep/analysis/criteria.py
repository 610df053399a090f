"""Per-class curves of each measure, and the criteria that pick the shared lambda.

The per-class curve of a measure is read off the evaluated sweep's additive counts (summed
over folds): the class's deviance and one-vs-all deviance as totals, its recall, precision
and one-vs-all accuracy as rates from the pooled confusion matrix.  One-vs-all measures on
a multinomial fit use its own probabilities, not renormalized, so each class's curve
depends on that class's scores only as a one-vs-all model would.

The shared (global) lambda maximizes or minimizes one of three criteria:

* ``"overall"``: the measure's own total: the summed deviance (multinomial or one-vs-all),
  the accuracy (for recall: ``sum_c pi_c recall_c``), the class mean (precision,
  one-vs-all accuracy);
* ``"worst_class"``: the worst class's value (Bitterwolf et al. 2022, "Classifiers should
  do well even on their worst classes", ICML), with deviances per sample of the class;
* ``"worst_k"``: the mean over the ``k`` worst classes at each lambda, ``k`` by default
  ``ceil(K / 10)``: the mean of the worst 10 % of the classes.
"""

from __future__ import annotations

import numpy as np
import xarray as xr

from ..metrics import default_k
from ..validation import check_choice

__all__ = ["MEASURES", "CRITERIA", "class_curves", "global_curve"]

# measure -> True if larger is better
MEASURES = {"deviance": False, "ova_deviance": False, "recall": True, "precision": True,
            "ova_accuracy": True}
CRITERIA = ("overall", "worst_class", "worst_k")


def class_curves(res: xr.Dataset, measure: str, folds=None) -> tuple[np.ndarray, np.ndarray]:
    """Per-class curves (L, K) of ``measure`` and the class sizes (K,), pooled over ``folds``.

    Examples
    --------
    >>> import classdep as cd
    >>> cv = cd.cv_glmnet(cd.datasets.digits(), nfolds=3, nlambda=4, progress=False)
    >>> cur, n = class_curves(cv.results, "ova_accuracy")
    >>> cur.shape, int(n.sum()) == cv.oof.sizes["sample"]
    ((4, 10), True)
    """
    r = res if folds is None else res.isel(fold=folds)
    n_c = r["n"].sum("fold").values
    n_c = n_c.reshape(-1, n_c.shape[-1])[0]
    if measure in ("deviance", "ova_deviance"):
        return r[measure].sum("fold").values, n_c
    C = r["confusion"].sum("fold").values.astype(float)  # (L, K, K)
    tp = np.diagonal(C, axis1=-2, axis2=-1)
    n_l = C.sum(axis=-1)
    pred_c = C.sum(axis=-2)
    N = C.sum(axis=(-2, -1))[..., None]
    with np.errstate(divide="ignore", invalid="ignore"):
        if measure == "recall":
            cur = tp / np.where(n_l > 0, n_l, np.nan)
        elif measure == "precision":
            cur = np.where(pred_c > 0, tp / np.where(pred_c > 0, pred_c, 1), 1.0)
        else:
            cur = 1.0 - (n_l - tp + pred_c - tp) / N
    return cur, n_c


def global_curve(cur: np.ndarray, n_c: np.ndarray, measure: str, criterion: str = "overall",
                 k: int | None = None) -> np.ndarray:
    """The criterion that picks the shared lambda, along the grid (first axis of ``cur``).

    Parameters
    ----------
    cur : array (L, K)
        Per-class curves from :func:`class_curves`.
    n_c : array (K,)
        Class sizes (weighted), for the accuracy and the per-sample deviances.
    measure : str
        One of :data:`MEASURES`.
    criterion : {"overall", "worst_class", "worst_k"}
    k : int, optional
        Classes pooled by ``"worst_k"`` (default :func:`classdep.metrics.default_k`, the
        worst 10 %, as ``worst_k_recall``).

    Returns
    -------
    ndarray (L,)
        Better is smaller for the deviances, larger for the others.

    Examples
    --------
    >>> cur = np.array([[0.9, 0.5], [0.8, 0.7]])
    >>> global_curve(cur, np.array([1.0, 3.0]), "recall").round(4).tolist()
    [0.6, 0.725]
    >>> global_curve(cur, np.array([1.0, 3.0]), "recall", "worst_class").tolist()
    [0.5, 0.7]
    """
    check_choice(criterion, CRITERIA, "criterion")
    larger = MEASURES[measure]
    if criterion == "overall":
        if measure in ("deviance", "ova_deviance"):
            return np.nansum(cur, axis=-1)
        if measure == "recall":
            return np.nansum(cur * n_c, axis=-1) / n_c[n_c > 0].sum()
        return np.nanmean(cur, axis=-1)
    q = cur
    if measure == "deviance":  # per sample of the class: classes of every size compare
        q = cur / np.where(n_c > 0, n_c, np.nan)
    # the worst first: the largest deviances, the smallest rates; NaN (an empty class) last
    key = np.where(np.isnan(q), -np.inf, q) if not larger else np.where(np.isnan(q), np.inf, q)
    order = np.sort(key, axis=-1)
    if not larger:
        order = order[..., ::-1]
    K = int(np.count_nonzero(n_c > 0))
    m = 1 if criterion == "worst_class" else (default_k(K) if k is None else int(k))
    if not 1 <= m <= max(K, 1):
        raise ValueError(f"k = {k}: the worst-k criterion needs 1 <= k <= {K} (the classes present).")
    return order[..., :m].mean(axis=-1)
