"""Linear discriminant analysis with the conventions of R's ``MASS::lda``.

The within-group covariance ``W`` is estimated from the residuals about the group means
(``method="moment"``: divided by ``n - g``; ``"mle"``: by ``n``), optionally shrunk
towards a multiple of the identity in the standardized scale (scikit-learn's
Ledoit-Wolf estimator for ``shrinkage="auto"``, a fixed intensity otherwise).
``scaling`` (the coefficients of the linear discriminants) whitens ``W`` and then
rotates onto the principal axes of the prior-weighted between-group scatter, so that

* the within-group covariance of the scores ``x @ scaling`` is the identity, and
* ``svd**2 / sum(svd**2)`` is the proportion of the between-group trace each
  discriminant carries (MASS's "Proportion of trace").

Predictions use MASS's plug-in rule: Gaussian classes with the common covariance ``W``
and the prior, evaluated in the discriminant space.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import xarray as xr

from ..generics import coef, predict
from ..inputs import features_and_labels
from ..result import Result, Table
from ..rtable import format_table
from ..validation import (
    check_choice,
    check_group_sizes,
    check_prior,
    check_shrinkage,
    check_within_group_sd,
)
from ._grouped import Grouped, grouped_data

__all__ = ["LDA", "LDAPrediction", "lda", "METHODS"]

METHODS = ("moment", "mle")


@dataclass(repr=False)
class LDA(Result):
    """A fitted linear discriminant analysis: R's ``lda`` object, holding xarray data.

    Attributes
    ----------
    model : xr.Dataset
        ``prior`` and ``counts`` (``class``), ``means`` (``class``, ``feature``),
        ``scaling`` (``feature``, ``LD``), ``svd`` (``LD``); settings in ``attrs``
        (``N``, ``method``, ``tol``, ``shrinkage`` and the intensity used, ``call``).
    scores : xr.DataArray
        The training samples' scores (``sample``, ``LD``), coordinate ``group`` (their
        class): what ``plot(lda)`` draws.
    spec : formulaic ModelSpec or None
        For a fit through a formula: rebuilds the model matrix of ``newdata`` in ``predict``.
    Examples
    --------
    >>> import classdep as cd
    >>> from sklearn.datasets import load_iris
    >>> x, y = load_iris(return_X_y=True)
    >>> fit = cd.lda(x, y)
    >>> round(float(fit.prop_trace[0]), 4)
    0.9912
    """

    model: xr.Dataset
    scores: xr.DataArray | None = None
    spec: Any = field(default=None, repr=False, compare=False)

    @property
    def prior(self) -> xr.DataArray:
        return self.model["prior"]

    @property
    def counts(self) -> xr.DataArray:
        return self.model["counts"]

    @property
    def means(self) -> xr.DataArray:
        return self.model["means"]

    @property
    def scaling(self) -> xr.DataArray:
        return self.model["scaling"]

    @property
    def svd(self) -> xr.DataArray:
        return self.model["svd"]

    @property
    def prop_trace(self) -> xr.DataArray:
        """MASS's "Proportion of trace": ``svd**2 / sum(svd**2)`` over ``LD``."""
        s2 = self.svd**2
        return (s2 / s2.sum()).rename("prop_trace")

    @property
    def classes(self) -> np.ndarray:
        return self.model["class"].values

    @property
    def N(self) -> int:
        return int(self.model.attrs["N"])

    _groups = ("model", "scores")
    _optional = ("scores",)

    def _datasets(self) -> dict[str, xr.Dataset | None]:
        # a formula's spec is not kept
        scores = None if self.scores is None else self.scores.to_dataset(name="scores")
        return {"model": self.model, "scores": scores}

    @classmethod
    def _from_groups(cls, g) -> LDA:
        return cls(g["model"], None if g["scores"] is None else g["scores"]["scores"])

    def _table(self) -> Table:
        return Table(_print_lda(self).split("\n"))

def left_rownames(rows: list) -> list:
    """R left-aligns row names: pad the first cell of every row but the header."""
    w = max(len(str(r[0])) for r in rows[1:])
    return [rows[0]] + [[str(r[0]).ljust(w), *r[1:]] for r in rows[1:]]


def _matrix_lines(title: str, values: np.ndarray, rows, cols, max_cols: int, digits: int = 4,
                  width: int = 80) -> list[str]:
    """R's print of a matrix: columns wrapped to ``width``; at most ``max_cols`` columns shown."""
    shown = min(values.shape[1], max_cols)
    w = max(len(str(r)) for r in rows)
    rows = [str(r).ljust(w) for r in rows]  # R left-aligns row names
    cells = [[f"{v + 0.0:.{digits}g}" for v in r[:shown]] for r in values]  # + 0.0: no "-0"
    lines = ["", title]
    start = 0
    while start < shown:
        stop = start + 1
        while stop < shown:
            trial = format_table([[""] + [str(c) for c in cols[start:stop + 1]]]
                                 + [[str(rows[i])] + cells[i][start:stop + 1] for i in range(len(rows))])
            if len(trial[0]) > width:
                break
            stop += 1
        lines += format_table([[""] + [str(c) for c in cols[start:stop]]]
                              + [[str(rows[i])] + cells[i][start:stop] for i in range(len(rows))])
        start = stop
    if shown < values.shape[1]:
        lines.append(f" [ {values.shape[1] - shown} more columns not shown ]")
    return lines


def _print_lda(fit: LDA, max_features: int = 12) -> str:
    m = fit.model
    classes = [str(c) for c in fit.classes]
    feats = [str(f) for f in m["feature"].values]
    lds = [str(v) for v in m["LD"].values]
    lines = ["Call:", m.attrs.get("call", "lda()")]
    lines += _matrix_lines("Prior probabilities of groups:", m["prior"].values[None, :], [""], classes,
                           len(classes))
    lines += _matrix_lines("Group means:", m["means"].values, classes, feats, max_features)
    S = m["scaling"].values
    shown = feats[:max_features]
    lines += _matrix_lines("Coefficients of linear discriminants:", S[: len(shown)], shown, lds, len(lds))
    if len(feats) > len(shown):
        lines.append(f" [ {len(feats) - len(shown)} more rows not shown: fit.scaling holds all ]")
    if len(lds) > 1:
        pt = fit.prop_trace.values
        lines += ["", "Proportion of trace:"]
        lines += format_table([lds, [f"{v:.4f}" for v in pt]])
    if m.attrs.get("shrinkage", "none") != "none":
        lines += ["", f"Within-group covariance shrunk towards the identity (standardized scale): "
                      f"{m.attrs['shrinkage']} (intensity {m.attrs['shrinkage_intensity']:.4g})"]
    return "\n".join(lines)


def _within_whitening(R: np.ndarray, n_groups: int, method: str, shrinkage, tol: float):
    """Whitening matrix of the within-group covariance, per standardized feature.

    Returns ``(A, intensity)`` with ``A.T @ W_std @ A = I`` on its rank, where ``W_std`` is
    the (possibly shrunk) covariance of the standardized residuals ``R``.
    """
    n, p = R.shape
    fac = 1.0 / (n - n_groups) if method == "moment" else 1.0 / n
    if shrinkage is None:
        # SVD of the scaled residuals: avoids forming R.T R (squares the condition number)
        _, d, vt = np.linalg.svd(np.sqrt(fac) * R, full_matrices=False)
        rank = int((d > tol).sum())
        vecs, vals = vt[:rank].T, d[:rank]
        intensity = 0.0
    else:
        from sklearn.covariance import ledoit_wolf_shrinkage, shrunk_covariance

        S = fac * (R.T @ R)
        intensity = (float(ledoit_wolf_shrinkage(R, assume_centered=True)) if shrinkage == "auto"
                     else float(shrinkage))
        C = shrunk_covariance(S, shrinkage=intensity)
        ev, U = np.linalg.eigh(C)
        ev, U = ev[::-1], U[:, ::-1]
        vals = np.sqrt(np.clip(ev, 0.0, None))
        rank = int((vals > tol).sum())
        vecs, vals = U[:, :rank], vals[:rank]
    if rank == 0:
        raise ValueError("rank = 0: the variables are numerically constant within groups.")
    if rank < p:
        warnings.warn(f"variables are collinear: the within-group covariance has rank {rank} < {p}; "
                      "the discriminants use its range.", UserWarning, stacklevel=3)
    return vecs / vals, intensity


def _fix_signs(S: np.ndarray) -> np.ndarray:
    """Make each column's largest-magnitude coefficient positive: SVD signs are arbitrary."""
    j = np.abs(S).argmax(axis=0)
    return S * np.where(S[j, np.arange(S.shape[1])] < 0, -1.0, 1.0)


def fit_grouped(gd: Grouped, prior, tol: float, method: str, shrinkage, call: str,
         drop_constant: bool = False) -> LDA:
    X, g = gd.X, gd.g
    n, p = X.shape
    K = gd.classes.size
    counts = gd.counts
    check_group_sizes(counts, gd.classes, 1, "lda")
    if n <= K:
        raise ValueError(f"lda needs more samples ({n}) than classes ({K}) to estimate a covariance.")
    prior = counts / n if prior is None else check_prior(prior, K)
    means = np.zeros((K, p))
    np.add.at(means, g, X)
    means /= counts[:, None]
    R = X - means[g]
    sd = R.std(axis=0, ddof=1)
    live = sd >= tol
    if drop_constant and not live.all():
        if not live.any():
            raise ValueError("every feature is constant within groups; there is nothing to analyse.")
        warnings.warn(f"{int((~live).sum())} features are constant within groups and get zero "
                      f"coefficients: {[str(f) for f in gd.features[~live]][:10]}", UserWarning, stacklevel=3)
    else:
        check_within_group_sd(sd, gd.features, tol)
    A_live, intensity = _within_whitening(R[:, live] / sd[live], K, method, shrinkage, tol)
    # back to the original scale; constant features keep zero rows, so scores ignore them
    A = np.zeros((p, A_live.shape[1]))
    A[live] = A_live / sd[live, None]
    xbar = prior @ means
    fac = 1.0 / (K - 1) if method == "moment" else 1.0 / K
    B = np.sqrt(n * prior * fac)[:, None] * ((means - xbar) @ A)
    _, d, vt = np.linalg.svd(B, full_matrices=False)
    rank = int((d > tol * d[0]).sum()) if d.size and d[0] > 0 else 0
    if rank == 0:
        raise ValueError("the group means are numerically identical: there is nothing to discriminate.")
    scaling = _fix_signs(A @ vt[:rank].T)
    lds = [f"LD{j + 1}" for j in range(rank)]
    model = xr.Dataset(
        {"prior": ("class", prior), "counts": ("class", counts.astype(np.int64)),
         "means": (("class", "feature"), means), "scaling": (("feature", "LD"), scaling),
         "svd": ("LD", d[:rank])},
        coords={"class": gd.classes, "feature": gd.features, "LD": lds},
        attrs={"N": n, "method": method, "tol": tol, "call": call,
               "shrinkage": "none" if shrinkage is None else str(shrinkage),
               "shrinkage_intensity": intensity, "n_dropped": int((~live).sum()) if drop_constant else 0,
               **({"formula": gd.formula} if gd.formula else {})},
    )
    scores = xr.DataArray((X - xbar) @ scaling, dims=("sample", "LD"),
                          coords={"LD": lds, "group": ("sample", gd.classes[g])}, name="scores")
    return LDA(model, scores, gd.spec)


def lda(x: Any, grouping: Any = None, classes: Any = None, prior: Any = None, shrinkage=None,
        tol: float = 1e-4, method: str = "moment", *, data: Any = None, drop_constant: bool = False) -> LDA:
    """Linear discriminant analysis, R's ``MASS::lda``.

    Parameters
    ----------
    x : array-like (n, p), DataFrame, DataArray (sample, feature), features Dataset, or str
        The features, or a formula ``"label ~ ."`` (formulaic syntax; factors are
        contrast-coded and the intercept dropped, as in R) evaluated on ``data``.
    grouping : array-like (n,), optional
        Class labels; omitted for a Dataset (its ``y``) or a formula.
    classes : sequence or a result with ``.classes`` (e.g. :func:`~classdep.ambiguous`), optional
        Analyse only these classes, in this order (default: all, sorted).
    prior : array-like (K,), optional
        Prior probabilities of the classes (default: the class proportions).
    shrinkage : None, "auto" or float in [0, 1]
        Shrink the within-group covariance of the standardized features towards a multiple
        of the identity: ``"auto"`` picks the Ledoit-Wolf intensity (scikit-learn's
        ``ledoit_wolf_shrinkage`` on the pooled residuals), a float fixes it.  ``None``
        (default) is MASS's estimator.
    tol : float
        MASS's tolerance: features with within-group sd below ``tol`` are an error, and
        directions whose singular value is below ``tol`` (relative, for the between-group
        step) are dropped with a collinearity warning.
    method : {"moment", "mle"}
        Divide the within-group scatter by ``n - K`` (unbiased) or ``n``.
    data : pandas.DataFrame, optional
        The data of a formula.
    drop_constant : bool
        Give features constant within groups (dead ReLU units, say) zero coefficients, with
        a warning, instead of MASS's error.

    Returns
    -------
    LDA
        ``prior``, ``counts``, ``means``, ``scaling``, ``svd``, ``prop_trace`` (xarray);
        ``predict(fit, newx)`` gives ``class``, ``posterior`` and the scores ``x``.

    Notes
    -----
    Discriminants are determined up to sign; classdep makes each column's largest
    coefficient positive (MASS leaves the sign to LAPACK).  scikit-learn's
    ``LinearDiscriminantAnalysis`` predicts with the maximum-likelihood covariance, i.e.
    ``method="mle"`` here; MASS's default is ``"moment"``.  With shrinkage the estimator
    differs from scikit-learn's, which shrinks each class's covariance separately.

    Examples
    --------
    >>> import classdep as cd
    >>> from sklearn.datasets import load_iris
    >>> iris = load_iris(as_frame=True).frame
    >>> fit = cd.lda("target ~ .", data=iris)
    >>> fit.prop_trace.round(4).values.tolist()
    [0.9912, 0.0088]
    >>> cd.predict(fit, iris.iloc[:2])["class"].values.tolist()
    ['0', '0']
    """
    check_choice(method, METHODS, "method")
    if not (np.isscalar(tol) and np.isfinite(tol) and tol > 0):
        raise ValueError(f"tol={tol!r} must be a positive number.")
    shrinkage = check_shrinkage(shrinkage)
    gd = grouped_data(x, grouping, classes, data=data)
    call = f"lda({x}, data = data)" if isinstance(x, str) else "lda(x, grouping)"
    if classes is not None:
        call = call[:-1] + f", classes = {[str(c) for c in gd.classes]})"
    return fit_grouped(gd, prior, float(tol), method, shrinkage, call, bool(drop_constant))


@dataclass(repr=False)
class LDAPrediction(Result):
    """What ``predict(lda_fit, newx)`` returns, R's list ``(class, posterior, x)``.

    Index it as in R: ``pred["class"]`` (``sample``: predicted class names),
    ``pred["posterior"]`` (``sample``, ``class``), ``pred["x"]`` (``sample``, ``LD``: scores).
    Examples
    --------
    >>> import classdep as cd
    >>> from sklearn.datasets import load_iris
    >>> x, y = load_iris(return_X_y=True)
    >>> pred = cd.predict(cd.lda(x, y), x[:2])
    >>> pred["posterior"].sizes["class"], pred["x"].sizes["LD"]
    (3, 2)
    """

    class_: xr.DataArray
    posterior: xr.DataArray
    x: xr.DataArray

    def __getitem__(self, key: str) -> xr.DataArray:
        check_choice(key, ("class", "posterior", "x"), "key")
        return self.class_ if key == "class" else getattr(self, key)

    def to_dataset(self) -> xr.Dataset:
        """One Dataset: ``predicted`` (sample), ``posterior`` (sample, class), ``x`` (sample, LD)."""
        return xr.Dataset({"predicted": self.class_, "posterior": self.posterior, "x": self.x})

    _groups = ("prediction",)

    def _datasets(self) -> dict[str, xr.Dataset]:
        return {"prediction": self.to_dataset()}

    @classmethod
    def _from_groups(cls, g) -> LDAPrediction:
        d = g["prediction"]
        return cls(d["predicted"], d["posterior"], d["x"])

    def _frame_vars(self) -> list[str]:
        return ["predicted"]

    def _table(self) -> Table:
        n = self.x.sizes["sample"]
        counts = {str(c): int((self.class_.values == c).sum()) for c in self.posterior["class"].values}
        rows = [tuple(counts), tuple(str(v) for v in counts.values())]
        return Table([f"LDA predictions for {n} samples ($class, $posterior, $x); predicted classes:"], rows)


def _newx_matrix(fit: LDA, newx: Any) -> np.ndarray:
    if fit.spec is not None and hasattr(newx, "columns"):
        mm = fit.spec.get_model_matrix(newx, na_action="raise")
        newx = mm[[str(f) for f in fit.model["feature"].values]]
    X, _, _ = features_and_labels(newx, name="newx", dtype=np.float64, out_of_core=False, need_labels=False)
    p = fit.model.sizes["feature"]
    if X.shape[1] != p:
        raise ValueError(f"newx has {X.shape[1]} features but the lda was fitted on {p}.")
    return X


@predict.register
def _(fit: LDA, newx=None, s=None, type: str = "all", prior=None, dimen=None,  # noqa: A002
      **kwargs) -> LDAPrediction | xr.DataArray:
    """R's ``predict.lda`` (plug-in): ``class`` (sample), ``posterior`` (sample, class), ``x``
    (sample, LD) scores, as an :class:`LDAPrediction`; ``type`` picks one of them
    ("class", "posterior", "x") or ``"all"``."""
    check_choice(type, ("all", "class", "posterior", "x"), "type")
    if newx is None:
        raise ValueError("predict needs newx, the features to classify.")
    X = _newx_matrix(fit, newx)
    m = fit.model
    K = m.sizes["class"]
    pr = m["prior"].values if prior is None else check_prior(prior, K)
    rank = m.sizes["LD"]
    dimen = rank if dimen is None else max(1, min(int(dimen), rank))
    S = m["scaling"].values
    M = m["means"].values
    # MASS centres at the prior-weighted mean of the fit, whatever prior predicts with
    center = m["prior"].values @ M
    Z = (X - center) @ S
    dm = (M - center) @ S[:, :dimen]
    dist = 0.5 * (dm**2).sum(axis=1)[None, :] - np.log(pr)[None, :] - Z[:, :dimen] @ dm.T
    logit = -(dist - dist.min(axis=1, keepdims=True))
    post = np.exp(logit)
    post /= post.sum(axis=1, keepdims=True)
    classes = m["class"].values
    cls = xr.DataArray(classes[post.argmax(axis=1)], dims="sample", name="class")
    posterior = xr.DataArray(post, dims=("sample", "class"), coords={"class": classes}, name="posterior")
    scores = xr.DataArray(Z, dims=("sample", "LD"), coords={"LD": m["LD"].values}, name="x")
    out = LDAPrediction(cls, posterior, scores)
    return out if type == "all" else out[type]


@coef.register
def _(fit: LDA, s=None, **kwargs) -> xr.DataArray:
    """R's ``coef.lda``: the coefficients of the linear discriminants, ``scaling``."""
    return fit.scaling
