"""What the out-of-fold bootstrap resamples: per-sample curves along one axis, per measure.

Along the lambda path they come from a sweep's ``oof`` (``lambda``, ``sample``); over a
grid's levels (``over="augment"``) from every level's ``oof`` at one lambda ``s``, the
levels sharing their samples, so that one resample of the samples is paired across levels
as it is across lambdas.

Every measure is turned into a loss (smaller is better), so that one estimator serves all:

* ``"deviance"``: class ``c``'s curve is ``sum_{y_i = c} f_i 2 w_i loss_i`` (the summed
  deviance of :func:`classdep.classwise`); the global criterion is the total deviance;
* ``"recall"``: ``1 - recall_c``, the weighted share of class ``c``'s samples predicted as
  another class; the global criterion is the error rate ``1 - accuracy``;
* ``"ova_accuracy"``: ``1 - ova_accuracy_c = (FN_c + FP_c) / N``, the one-vs-all error of
  class ``c`` (Balestriero, Bottou & LeCun 2022); a sample of class ``y`` predicted as
  ``p != y`` counts against both ``y`` (a false negative) and ``p`` (a false positive), so
  a class's curve depends on every class's samples; the global criterion is its mean over
  the classes, ``2 (1 - accuracy) / K``.

The regret of an accuracy measure is thus in accuracy units, as :func:`classdep.classwise`
reports it.  ``"ova_deviance"`` needs every class's probability for every sample, which
the per-sample data of a sweep do not keep (only ``-log p`` of the true class and the
predicted class).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import scipy.sparse as sp
import xarray as xr

from ...sweep import CVGlmnet, CVGrid, Heldout
from ...validation import check_choice
from ..classwise import joint_lambda
from .estimators import Axis
from .resampling import block_curves, class_order

__all__ = ["MEASURES", "Losses", "check_measure", "check_over", "grid_source", "oof_source"]

MEASURES = ("deviance", "ova_accuracy", "recall")


def check_measure(measure: str) -> str:
    """``measure`` if the bootstrap can resample it, else an error naming what is missing."""
    if measure == "ova_deviance":
        raise ValueError("measure='ova_deviance' needs every class's probability for every held-out sample; "
                         "the per-sample data of a sweep (cv.oof) keep only -log p of the true class and the "
                         "predicted class. Bootstrap 'deviance', 'ova_accuracy' or 'recall'.")
    check_choice(measure, MEASURES, "measure")
    return measure


@dataclass(frozen=True, eq=False)
class Losses:
    """Per-sample curves of one measure along ``axis``, rows sorted by class.

    ``D`` (n, P) is each sample's contribution to its own class's curve (``2 w loss`` for
    the deviance, ``w`` where it is misclassified for the accuracy measures); ``F`` (n,
    K P, sparse) its contribution to other classes' curves (``ova_accuracy``: ``w`` at its
    predicted class where that is wrong), ``wn`` (n,) the weights the curves are divided
    by (the class's size for ``recall``, all samples' for ``ova_accuracy``).  ``starts``
    (K + 1) bound the classes, ``bounds`` the resampling strata (the classes, or all
    samples); ``s`` is the lambda at which a grid's levels were read, else None.
    """

    D: np.ndarray
    starts: np.ndarray
    bounds: np.ndarray
    axis: Axis
    classes: np.ndarray
    s: float | None = None
    measure: str = "deviance"
    F: sp.csr_matrix | None = None
    wn: np.ndarray | None = None

    @property
    def n(self) -> int:
        return int(self.D.shape[0])

    def curves(self, counts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Per-class loss curves (..., K, P) and the global criterion (..., P) of counts (..., n).

        Examples
        --------
        >>> oof = xr.Dataset({"loss": (("lambda", "sample"), np.ones((1, 3))), "y": ("sample", [0, 1, 1]),
        ...                   "pred": (("lambda", "sample"), [[1, 1, 1]])}, coords={"lambda": [1.0]})
        >>> cur, glob = oof_source(oof, "class", "ova_accuracy").curves(np.ones(3))
        >>> cur[:, 0].tolist(), glob.tolist()  # class 0: one false negative; class 1: one false positive
        ([0.3333333333333333, 0.3333333333333333], [0.3333333333333333])
        """
        own = block_curves(counts, self.D, self.starts)
        if self.measure == "deviance":
            return own, own.sum(axis=-2)
        K, P = own.shape[-2:]
        if self.measure == "recall":
            n_c = np.stack([counts[..., a:b] @ self.wn[a:b] for a, b in zip(self.starts[:-1], self.starts[1:],
                                                                          strict=True)], axis=-1)
            with np.errstate(invalid="ignore", divide="ignore"):  # a class drawn 0 times (strata=None)
                return own / n_c[..., None], own.sum(axis=-2) / n_c.sum(axis=-1)[..., None]
        flat = np.reshape(counts, (-1, self.n))
        fp = np.asarray((self.F.T @ flat.T).T).reshape(own.shape)  # sparse: at most one column per row and P
        N = (counts @ self.wn)[..., None, None]
        cur = (own + fp) / N
        return cur, cur.mean(axis=-2)

    def scaled(self, r: np.ndarray) -> Losses:
        """Every sample's contributions (and weight) multiplied by ``r`` (n,): the m-out-of-n draws."""
        return replace(self, D=self.D * r[:, None], F=None if self.F is None else sp.diags(r) @ self.F,
                       wn=None if self.wn is None else self.wn * r)


def _sorted(loss: np.ndarray, y: np.ndarray, w: np.ndarray, classes: np.ndarray, strata,
            axis: Axis, s: float | None = None, pred: np.ndarray | None = None,
            measure: str = "deviance") -> Losses:
    """Losses of ``measure`` from per-sample losses and predictions (P, n), checked, rows sorted by class."""
    K = classes.size
    if y.min() < 0 or y.max() >= K:
        raise ValueError(f"oof['y'] must hold class codes 0..{K - 1}.")
    order, starts = class_order(y, K)
    if np.any(np.diff(starts) == 0):
        raise ValueError("every class needs at least one out-of-fold sample.")
    bounds = starts if strata == "class" else np.array([0, y.size])
    if measure == "deviance":
        if not np.isfinite(loss).all():
            raise ValueError("oof['loss'] holds NaN or infinite values.")
        return Losses((2.0 * w[:, None] * loss.T)[order], starts, bounds, axis, classes, s)
    if pred is None:
        raise ValueError(f"measure={measure!r} needs the predicted classes: the out-of-fold Dataset has no "
                         "variable 'pred' (lambda, sample).")
    pred, y, w = pred.T[order].astype(np.int64), y[order], w[order]  # (n, P), rows sorted by class
    if pred.min() < 0 or pred.max() >= K:
        raise ValueError(f"oof['pred'] must hold class codes 0..{K - 1}.")
    miss = pred != y[:, None]
    D = w[:, None] * miss  # a misclassified sample counts against its own class (a false negative)
    F = None
    if measure == "ova_accuracy":
        # ... and against the class it was predicted as (a false positive): column pred * P + p
        rows, p = np.nonzero(miss)
        P = miss.shape[1]
        F = sp.csr_matrix((w[rows], (rows, pred[rows, p] * P + p)), shape=(y.size, K * P))
    return Losses(D, starts, bounds, axis, classes, s, measure, F, w.astype(np.float64))


def _oof_of(cv) -> xr.Dataset:
    """``cv.oof`` (or the Dataset itself), with the variables the bootstrap reads."""
    if not isinstance(cv, CVGlmnet | Heldout | xr.Dataset):
        raise TypeError(f"boot() needs the result of cv_glmnet() or assess() (or its oof Dataset); got "
                        f"{type(cv).__name__}.")
    oof = cv if isinstance(cv, xr.Dataset) else getattr(cv, "oof", None)
    if oof is None:
        raise ValueError("cv.oof is None: the out-of-fold bootstrap needs the per-sample losses; "
                         "rerun cv_glmnet(..., keep=True).")
    for v in ("loss", "y"):
        if v not in oof:
            raise ValueError(f"the out-of-fold Dataset needs the variable {v!r} (see CVGlmnet.oof).")
    if oof["loss"].dims != ("lambda", "sample"):
        raise ValueError(f"oof['loss'] must have dims ('lambda', 'sample'); got {oof['loss'].dims}.")
    return oof


def _labels(oof: xr.Dataset) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    y = oof["y"].values.astype(np.int64)
    w = oof["weight"].values.astype(np.float64) if "weight" in oof else np.ones(y.size)
    classes = oof["class"].values if "class" in oof.coords else np.arange(int(y.max()) + 1)
    return y, w, classes


def oof_source(cv: CVGlmnet | Heldout | xr.Dataset, strata, measure: str = "deviance") -> Losses:
    """Per-sample curves of ``measure`` along the lambda path, from ``cv.oof`` (or an oof-like Dataset).

    ``cv`` may be a :class:`~classdep.Heldout` (``assess``): its held-out samples are then
    resampled within class, as a sweep's out-of-fold samples are.

    Examples
    --------
    >>> import numpy as np, xarray as xr
    >>> oof = xr.Dataset({"loss": (("lambda", "sample"), np.ones((2, 3))), "y": ("sample", [0, 1, 0])},
    ...                  coords={"lambda": [1.0, 0.1]})
    >>> src = oof_source(oof, "class")
    >>> src.D.shape, src.starts.tolist()
    ((3, 2), [0, 2, 3])
    """
    oof = _oof_of(cv)
    lam = oof["lambda"].values.astype(np.float64)
    if np.any(lam <= 0):
        raise ValueError("the lambda grid must be positive.")
    y, w, classes = _labels(oof)
    pred = oof["pred"].values if "pred" in oof else None
    return _sorted(oof["loss"].values.astype(np.float64), y, w, classes, strata, Axis.path(lam), None, pred,
                   measure)


def check_over(cv, over: str, s: float | None) -> None:
    """``over`` names an axis of ``cv``: ``"lambda"``, or a grid's dim (with ``s`` only then)."""
    if isinstance(cv, CVGrid):
        if over not in ("lambda", cv.dim):
            raise ValueError(f"over={over!r}: this grid's axes are 'lambda' (per {cv.dim} level) and "
                             f"{cv.dim!r} (each class's best level at one lambda s).")
        if over == "repeat":
            raise ValueError("over='repeat': repeats are other fold draws, not a hyperparameter; use "
                             "over='lambda' (per repeat).")
    elif over != "lambda":
        raise ValueError(f"over={over!r}: a single sweep has one axis, 'lambda'; over a grid's levels "
                         "needs the CVGrid of cv_glmnet(..., augment=...).")
    if s is not None and over == "lambda":
        raise ValueError("s= is the lambda at which a grid's levels are compared: it goes with over=<the "
                         "grid's dim>, not with over='lambda'.")


def grid_source(grid: CVGrid, strata, s: float | None = None, measure: str = "deviance") -> Losses:
    """Per-sample curves of ``measure`` along the grid's levels at one lambda ``s``.

    ``s`` defaults to :func:`joint_lambda`; a given ``s`` is read at the nearest grid
    lambda (in log).  The levels must hold the same samples (same ``y`` and weights).
    """
    oofs = [_oof_of(grid[i]) for i in range(len(grid))]
    lam = oofs[0]["lambda"].values.astype(np.float64)
    if any(not np.array_equal(o["lambda"].values, lam) for o in oofs):
        raise ValueError(f"the grid's levels have different lambda grids, so no one lambda compares them "
                         f"across {grid.dim!r}: pass one lambda_ to cv_glmnet.")
    y, w, classes = _labels(oofs[0])
    for i, o in enumerate(oofs[1:], start=1):
        yi, wi, _ = _labels(o)
        if not (np.array_equal(yi, y) and np.array_equal(wi, w)):
            raise ValueError(f"over={grid.dim!r} resamples samples paired across the levels, but level {i} "
                             f"holds other samples than level 0 (its y or weights differ): pass the same "
                             f"samples to every level.")
    s = joint_lambda(grid, measure) if s is None else float(s)
    if not s > 0:
        raise ValueError(f"s={s!r} must be a positive lambda.")
    j = int(np.argmin(np.abs(np.log(lam) - np.log(s))))
    levels = np.asarray(grid.augment)
    if not np.issubdtype(levels.dtype, np.number):
        raise ValueError(f"the grid's {grid.dim!r} coordinate is not numeric ({levels!r}).")
    loss = np.stack([o["loss"].values[j] for o in oofs]).astype(np.float64)  # (levels, n)
    pred = np.stack([o["pred"].values[j] for o in oofs]) if all("pred" in o for o in oofs) else None
    d = np.diff(levels.astype(np.float64))
    if not (np.all(d > 0) or np.all(d < 0)):
        # the smooth estimator fits over neighbouring levels: they must be neighbours in value
        order = np.argsort(levels, kind="stable")
        levels, loss = levels[order], loss[order]
        pred = None if pred is None else pred[order]
    return _sorted(loss, y, w, classes, strata, Axis.levels(levels, grid.dim), float(lam[j]), pred, measure)
