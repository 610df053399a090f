"""What selection noise alone gives: the permutation null of the regret, per class and in total.

Under the null every class has the same curve: a class differs from the others only by
which held-out samples it holds.  The null draws that world by regrouping the samples:
class labels are permuted among the held-out samples of each fold (or of the held-out
split), each sample keeping its own loss curve and its own right-or-wrong predictions, so
every pseudo-class has its class's size and the pooled curves of the real classes.  For
the measures built from the confusion matrix, a wrong prediction counts against its
sample's pseudo-class (a false negative) and against one other pseudo-class drawn once per
sample (the false positive), so one-vs-all accuracy and precision keep their structure.

The per-class p-value of "this class wants a different penalty" is the permutation
p-value of its regret, ``(1 + #{G_c* >= G_c}) / (1 + R)`` (Phipson & Smyth 2010, "Permutation
p-values should never be zero"), and the classes are tested together with the
Benjamini & Hochberg (1995) step-up rule at false-discovery rate ``fdr``
(``statsmodels.stats.multitest.multipletests``).

The one-vs-all deviance has no null here: it needs every sample's probability of every
class, which the evaluated sweep does not keep.
"""

from __future__ import annotations

import numpy as np
import xarray as xr
from statsmodels.stats.multitest import multipletests

from .criteria import MEASURES, global_curve
from .optimum import regret

__all__ = ["NULL_MEASURES", "permutation_null", "benjamini_hochberg", "paired_se"]

NULL_MEASURES = ("deviance", "recall", "precision", "ova_accuracy")


def _parts(oof: xr.Dataset, measure: str) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Per-sample weighted contributions (L, n): the deviance, or right and wrong predictions."""
    y = oof["y"].values
    w = oof["weight"].values.astype(float)
    if measure == "deviance":
        return y, w, 2.0 * oof["loss"].values * w, np.zeros(0)
    right = oof["pred"].values == y
    return y, w, right * w, (~right) * w


def _curves_for(labels: np.ndarray, dest: np.ndarray | None, w: np.ndarray, A: np.ndarray,
                B: np.ndarray, measure: str, K: int) -> tuple[np.ndarray, np.ndarray]:
    """Per-class curves (L, K) and class sizes when the samples belong to ``labels``."""
    onehot = np.zeros((labels.size, K))
    onehot[np.arange(labels.size), labels] = 1.0
    n_c = w @ onehot
    if measure == "deviance":
        return A @ onehot, n_c
    tp = A @ onehot
    fp = B @ _onehot(dest, K) if dest is not None else np.zeros_like(tp)
    with np.errstate(divide="ignore", invalid="ignore"):
        if measure == "recall":
            cur = tp / np.where(n_c > 0, n_c, np.nan)
        elif measure == "precision":
            pred_c = tp + fp
            cur = np.where(pred_c > 0, tp / np.where(pred_c > 0, pred_c, 1), 1.0)
        else:
            cur = 1.0 - ((n_c - tp) + fp) / w.sum()
    return cur, n_c


def _onehot(labels: np.ndarray, K: int) -> np.ndarray:
    out = np.zeros((labels.size, K))
    out[np.arange(labels.size), labels] = 1.0
    return out


def permutation_null(oof: xr.Dataset, K: int, measure: str, observed: np.ndarray, reps: int,
                     seed: int = 0, criterion: str = "overall", k: int | None = None) -> dict:
    """The permutation null of the regret: its total's mean and 95 % quantile, per-class p-values.

    Parameters
    ----------
    oof : Dataset
        The evaluated sweep's per-sample data: ``loss`` and ``pred`` over (axis, sample),
        ``y``, ``fold``, ``weight`` over ``sample``.
    K : int
        Number of classes.
    measure : str
        One of :data:`NULL_MEASURES`.
    observed : array (K,)
        The observed per-class regret.
    reps : int
        Permutations.
    seed : int
    criterion, k
        The criterion that picks the shared lambda (see :mod:`classdep.analysis.criteria`).

    Returns
    -------
    dict
        ``null_mean``, ``null_q95``, ``null_reps`` and ``p_value`` (K,).

    Examples
    --------
    >>> import classdep as cd
    >>> cv = cd.cv_glmnet(cd.datasets.digits(), nfolds=3, nlambda=6, progress=False)
    >>> cw = cd.classwise(cv, null=0)
    >>> out = permutation_null(cv.oof, 10, "deviance", cw.table["regret"].values, reps=19)
    >>> bool(((out["p_value"] >= 0.05) & (out["p_value"] <= 1)).all())
    True
    """
    if measure not in NULL_MEASURES:
        raise ValueError(f"measure={measure!r} has no permutation null (it needs each sample's "
                         f"probability of every class); use one of {NULL_MEASURES}.")
    y, w, A, B = _parts(oof, measure)
    fold = oof["fold"].values
    larger = MEASURES[measure]
    rng = np.random.default_rng(seed)
    groups = [np.nonzero(fold == f)[0] for f in np.unique(fold)]
    total = np.empty(reps)
    exceed = np.zeros(K)
    obs = np.asarray(observed, dtype=float)
    for r in range(reps):
        yp = y.copy()
        for idx in groups:
            yp[idx] = rng.permutation(yp[idx])
        dest = None
        if measure != "deviance" and K > 1:
            # the false positive of a wrong prediction goes to one other pseudo-class
            dest = (yp + rng.integers(1, K, size=yp.size)) % K
        cur, n_c = _curves_for(yp, dest, w, A, B, measure, K)
        reg, _, _ = regret(cur, global_curve(cur, n_c, measure, criterion, k), larger)
        total[r] = np.nansum(reg)
        # a relative tolerance keeps float noise in equal regrets from deciding the p-value
        exceed += reg >= obs - 1e-10 * np.maximum(np.abs(obs), 1.0)
    p = (1.0 + exceed) / (1.0 + reps)
    p = np.where(np.isnan(obs), np.nan, p)
    return dict(null_mean=float(total.mean()), null_q95=float(np.quantile(total, 0.95)),
                null_reps=int(reps), p_value=p)


def benjamini_hochberg(p: np.ndarray, fdr: float = 0.1) -> tuple[np.ndarray, np.ndarray]:
    """Benjamini–Hochberg adjusted p-values (q-values) and the rejections at ``fdr``.

    NaN p-values (classes without a test) stay NaN and are not counted among the tests.

    Examples
    --------
    >>> q, rej = benjamini_hochberg(np.array([0.001, 0.02, 0.5, np.nan]), fdr=0.1)
    >>> np.round(q, 3).tolist()[:3], rej.tolist()
    ([0.003, 0.03, 0.5], [True, True, False, False])
    """
    p = np.asarray(p, dtype=float)
    q = np.full(p.shape, np.nan)
    rej = np.zeros(p.shape, dtype=bool)
    ok = ~np.isnan(p)
    if ok.any():
        rej[ok], q[ok], _, _ = multipletests(p[ok], alpha=fdr, method="fdr_bh")
    return q, rej


def paired_se(oof: xr.Dataset, measure: str, K: int, index: np.ndarray) -> np.ndarray:
    """Standard error of each class's curve difference from its optimum, paired over samples.

    ``se[j, c]`` is the standard error of ``curve_c(j) - curve_c(index[c])`` when the
    held-out samples are a random sample: the same samples score both grid points, so
    the difference's noise is that of the per-sample differences, far below the noise of
    either value.  NaN where the measure does not split into per-sample terms (precision,
    the one-vs-all deviance).

    Examples
    --------
    >>> import classdep as cd
    >>> cv = cd.cv_glmnet(cd.datasets.digits(), nfolds=3, nlambda=6, progress=False)
    >>> j = cd.classwise(cv, null=0).table["index_opt"].values
    >>> se = paired_se(cv.oof, "deviance", 10, j)
    >>> bool((se[j, range(10)] == 0).all())
    True
    """
    L = oof["loss"].shape[0]
    se = np.full((L, K), np.nan)
    if measure not in ("deviance", "recall", "ova_accuracy"):
        return se
    y, w, A, B = _parts(oof, measure)
    N = w.sum()
    if measure == "ova_accuracy":
        pred = oof["pred"].values
    for c in range(K):
        j0 = int(index[c])
        if measure == "ova_accuracy":
            # a sample counts against class c when exactly one of (is c, predicted c) holds
            rows = np.nonzero((y == c) | (pred == c).any(axis=0))[0]
            e = ((y[rows] == c)[None, :] != (pred[:, rows] == c)) * w[rows]
            d = -(e - e[j0])  # accuracy = 1 - errors / N
            scale, n_rows = 1.0 / N, y.size
        else:
            rows = np.nonzero(y == c)[0]
            if rows.size < 2:
                continue
            d = A[:, rows] - A[j0, rows]
            n_rows = rows.size
            scale = 1.0 if measure == "deviance" else 1.0 / w[rows].sum()
        # variance over all n_rows samples (the rows left out contribute zeros)
        s1 = d.sum(axis=1)
        s2 = (d * d).sum(axis=1)
        var = np.maximum(s2 - s1 * s1 / n_rows, 0.0) / max(n_rows - 1, 1)
        se[:, c] = scale * np.sqrt(n_rows * var)
    return se
