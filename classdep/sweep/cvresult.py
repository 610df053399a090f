"""The result of a cross-validated sweep: R's ``cv.glmnet`` object, its summary and lambda choice."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import xarray as xr

from ..generics import coef, predict
from ..glmnet_fit import GlmnetFit
from ..result import Result, Table

__all__ = ["CVGlmnet", "MEASURES", "measure_name", "cv_summary", "choose_lambda"]

MEASURES = {"deviance": "Multinomial Deviance", "class": "Misclassification Error"}


def measure_name(type_measure: str, family: str = "multinomial") -> str:
    """R's name of the measure: the Gaussian family's deviance is its mean squared error.

    Examples
    --------
    >>> measure_name("deviance"), measure_name("deviance", "gaussian")
    ('Multinomial Deviance', 'Mean-Squared Error')
    """
    if type_measure == "deviance" and family == "gaussian":
        return "Mean-Squared Error"
    return MEASURES[type_measure]


@dataclass(repr=False)
class CVGlmnet(Result):
    """R's ``cv.glmnet`` object, holding xarray data.

    Attributes
    ----------
    results : xr.Dataset
        Per (``lambda``, ``class``, ``fold``): ``deviance``, ``recall``, ``precision``,
        ``ova_accuracy``, ``ova_deviance``, ``n``; per (``lambda``, ``fold``):
        ``total_deviance``, ``accuracy``, ``balanced_accuracy``,
        ``worst_class_accuracy``, ``worst_k_recall``, ``worst_pair_accuracy``; per
        ``lambda``: ``cvm``, ``cvsd``, ``cvup``, ``cvlo``, ``nzero``; the out-of-fold
        ``confusion`` (``lambda``, ``class``, ``predicted``, ``fold``) and solver diagnostics
        per (``lambda``, ``fold``).
    oof : xr.Dataset
        Out-of-fold per-sample ``loss`` (-log p of the true class; the squared error for
        the Gaussian family) and ``pred`` (predicted class code), dims (``lambda``,
        ``sample``), with ``y``, ``fold`` and ``weight``.
    fit : GlmnetFit
        The path fitted on all the data (R's ``glmnet.fit``).

    Examples
    --------
    >>> import classdep as cd
    >>> cv = cd.cv_glmnet(cd.datasets.digits(), nfolds=3, nlambda=5, progress=False)
    >>> bool(cv.lambda_min in cv.fit.lambda_), bool(cv.lambda_1se >= cv.lambda_min)
    (True, True)
    """

    results: xr.Dataset
    oof: xr.Dataset | None
    fit: GlmnetFit
    foldid: np.ndarray = field(default=None)

    @property
    def lambda_(self) -> np.ndarray:
        return self.results["lambda"].values

    @property
    def cvm(self) -> xr.DataArray:
        return self.results["cvm"]

    @property
    def cvsd(self) -> xr.DataArray:
        return self.results["cvsd"]

    @property
    def index(self) -> dict[str, int]:
        """0-based positions of ``lambda_min`` and ``lambda_1se`` on the grid."""
        a = self.results.attrs
        return {"min": int(a["index_min"]), "1se": int(a["index_1se"])}

    @property
    def lambda_min(self) -> float:
        return float(self.results.attrs["lambda_min"])

    @property
    def lambda_1se(self) -> float:
        return float(self.results.attrs["lambda_1se"])

    @property
    def confusion(self) -> xr.DataArray:
        """Out-of-fold confusion counts pooled over folds: (``lambda``, ``class``, ``predicted``)."""
        return self.results["confusion"].sum("fold")

    @property
    def classes(self) -> np.ndarray:
        return self.results["class"].values

    def most_confused(self) -> xr.DataArray:
        """Each class's most-confused partner along the grid: ``argmax_{l != k} P(pred = l | y = k)``.

        Dims (``lambda``, ``class``); values are class names, ``""`` for a class that is
        never confused at that lambda.
        """
        C = self.confusion.values.astype(float)
        K = C.shape[1]
        C[:, np.arange(K), np.arange(K)] = -1.0
        names = np.asarray([str(c) for c in self.classes], dtype=object)
        part = np.where(C.max(axis=2) > 0, names[C.argmax(axis=2)], "")  # "" where never confused
        return xr.DataArray(part, dims=("lambda", "class"),
                            coords={"lambda": self.lambda_, "class": self.classes}, name="partner")

    def pair_confusion(self, a, b) -> xr.Dataset:
        """How confusion within the pair (a, b) moves along the grid: rates a→b and b→a."""
        C = self.confusion
        na = C.sel({"class": a}).sum("predicted")
        nb = C.sel({"class": b}).sum("predicted")
        ab = (C.sel({"class": a, "predicted": b}) / na).reset_coords(drop=True)
        ba = (C.sel({"class": b, "predicted": a}) / nb).reset_coords(drop=True)
        return xr.Dataset({f"{a}->{b}": ab, f"{b}->{a}": ba})

    _groups = ("results", "oof", "fit")
    _frame_dims = ("lambda",)  # the path's table, one row per lambda
    _optional = ("oof",)

    def _datasets(self) -> dict[str | None, xr.Dataset | None]:
        return {"results": self.results, "oof": self.oof, "fit": self.fit.path}

    @classmethod
    def _from_groups(cls, groups) -> CVGlmnet:
        oof = groups["oof"]
        folds = None if oof is None else oof["fold"].values
        return cls(groups["results"], oof, GlmnetFit(groups["fit"]), folds)

    def _table(self) -> Table:
        a = self.results.attrs
        lam = self.lambda_
        cvm, cvsd = self.cvm.values, self.cvsd.values
        nz = self.results["nzero"].values
        rows = [("", "Lambda", "Index", "Measure", "SE", "Nonzero")]
        for name in ("min", "1se"):
            j = self.index[name]
            rows.append((name, f"{lam[j]:.4g}", str(j + 1), f"{cvm[j]:.4g}", f"{cvsd[j]:.4g}",
                         str(int(nz[j]))))
        measure = measure_name(a["type_measure"], a.get("family", "multinomial"))
        head = [f"Call:  {a.get('call', 'cv_glmnet()')}", "", f"Measure: {measure}", ""]
        foot = []
        if not self.results["converged"].values.all():
            foot.append("Warning: some (lambda, fold) fits did not converge (results['converged']).")
        return Table(head, rows, foot)


def cv_summary(per_fold: np.ndarray, fold_w: np.ndarray):
    """R's cvcompute: weighted mean over folds and the SE of the fold means.

    Examples
    --------
    >>> cvm, cvsd = cv_summary(np.array([[1.0, 3.0]]), np.array([[1.0, 1.0]]))
    >>> cvm.tolist(), cvsd.tolist()
    ([2.0], [1.0])
    """
    w = fold_w / fold_w.sum(axis=-1, keepdims=True)
    cvm = (per_fold * w).sum(axis=-1)
    nf = per_fold.shape[-1]
    cvsd = np.sqrt(((per_fold - cvm[..., None]) ** 2 * w).sum(axis=-1) / (nf - 1))
    return cvm, cvsd


def choose_lambda(lam: np.ndarray, cvm: np.ndarray, cvsd: np.ndarray) -> tuple[int, int]:
    """R's rule: lambda.min is the largest lambda at the minimum; lambda.1se the largest
    lambda whose measure is within one SE of it.

    Examples
    --------
    >>> choose_lambda(np.array([1.0, 0.1, 0.01]), np.array([3.0, 2.0, 1.0]), np.array([0.1, 0.1, 1.5]))
    (2, 1)
    """
    finite = np.isfinite(cvm)
    m = np.min(cvm[finite])
    at_min = np.nonzero(cvm == m)[0]
    idmin = int(at_min[np.argmax(lam[at_min])])
    semin = cvm[idmin] + cvsd[idmin]
    ok = np.nonzero(cvm <= semin)[0]
    id1se = int(ok[np.argmax(lam[ok])])
    return idmin, id1se


#: R's names of a cross-validated choice of lambda, with classdep's spelling beside them
CV_CHOICES = {"lambda_min": "lambda_min", "lambda.min": "lambda_min",
              "lambda_1se": "lambda_1se", "lambda.1se": "lambda_1se"}


def cv_lambda(cv: CVGlmnet, s) -> float | np.ndarray:
    """``s`` for the full-data path of ``cv``: R's ``"lambda.min"``/``"lambda.1se"`` (or
    ``"lambda_min"``/``"lambda_1se"``) read off the sweep, numbers passed through.

    Examples
    --------
    >>> import classdep as cd
    >>> cv = cd.cv_glmnet(cd.datasets.digits(), nfolds=3, nlambda=5, progress=False)
    >>> cv_lambda(cv, "lambda.min") == cv.lambda_min
    True
    """
    if isinstance(s, str):
        if s not in CV_CHOICES:
            raise ValueError(f"s={s!r} is not one of {', '.join(map(repr, CV_CHOICES))} or a number.")
        return getattr(cv, CV_CHOICES[s])
    return s


@coef.register
def _(cv: CVGlmnet, s="lambda_1se", **kwargs) -> xr.DataArray:
    """Coefficients of the full-data path at ``s``; R's ``coef.cv.glmnet`` (default ``"lambda.1se"``)."""
    return coef(cv.fit, s=cv_lambda(cv, s), **kwargs)


@predict.register
def _(cv: CVGlmnet, newx=None, s="lambda_1se", type: str = "link", **kwargs) -> xr.DataArray:  # noqa: A002
    """Predictions of the full-data path at ``s``; R's ``predict.cv.glmnet`` (default ``"lambda.1se"``)."""
    return predict(cv.fit, newx, s=cv_lambda(cv, s), type=type, **kwargs)
