"""Held-out evaluation as a view of the evaluated sweep: a fit's path scored on new samples.

The study's protocol (Balestriero, Bottou & LeCun 2022, "The effects of regularization
and data augmentation are class dependent", NeurIPS): the head is fitted on the training
features, and its per-class curves are read on samples the backbone never saw.
:class:`Heldout` holds those curves in the shape of a cross-validated sweep
(:class:`~classdep.CVGlmnet`) with one level of the ``fold`` dim (``"heldout"``), so that
``classwise``, ``boot``, ``boot_ci``, ``confint``, ``confset``, the noise-only null and
``plot`` take it exactly as they take a CV.

One split has no spread across folds: there is no standard error and no ``lambda_1se``.
Cross-fitting, which chooses on one part of the held-out samples and scores on the other,
uses two halves of the held-out samples, stratified by class (:func:`halves_of`); their
additive sums are kept in :attr:`Heldout.halves`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import xarray as xr

from ..glmnet_fit import GlmnetFit
from ..link import class_scores, squared_error
from ..metrics import classwise_dataset, pooled
from ..result import Result, Table
from .assemble import sample_scores
from .cvresult import measure_name

__all__ = ["Heldout", "heldout", "halves_of", "HALF_VARS"]

#: The additive sums per half that class-wise cross-fitting reads (``classwise``'s curves).
HALF_VARS = ("deviance", "ova_deviance", "n", "tp", "confusion")


def halves_of(codes: np.ndarray, seed: int = 0) -> np.ndarray:
    """Two halves of the samples, stratified by class: 0 or 1 per sample.

    Within each class ``c`` the samples are put in the order of a permutation drawn by
    ``numpy.random.default_rng(seed)`` (one draw per class, classes in order) and assigned
    alternately to the halves, starting with half ``c % 2``; so every class splits as
    evenly as it can (the halves of a class differ by at most one sample), and classes of
    odd size do not all put their extra sample in the same half.

    Examples
    --------
    >>> h = halves_of(np.array([0, 0, 0, 1, 1, 1, 1]))
    >>> np.bincount(h[:3]).tolist(), np.bincount(h[3:]).tolist()
    ([2, 1], [2, 2])
    """
    codes = np.asarray(codes, dtype=np.int64)
    rng = np.random.default_rng(seed)
    half = np.zeros(codes.size, dtype=np.int8)
    for c in range(int(codes.max()) + 1 if codes.size else 0):
        idx = np.nonzero(codes == c)[0]
        idx = idx[rng.permutation(idx.size)]
        half[idx] = (np.arange(idx.size) + c) % 2
    return half


def _nearest(path_lam: np.ndarray, lam: np.ndarray) -> np.ndarray:
    """Index of the path's nearest lambda (in log) to each of ``lam``."""
    return np.abs(np.log(path_lam)[None, :] - np.log(lam)[:, None]).argmin(axis=1)


def heldout(fit: GlmnetFit, resp: np.ndarray, codes: np.ndarray, lam: np.ndarray,
            weights: np.ndarray | None = None, type_measure: str = "deviance", call: str = "assess()",
            seed: int = 0) -> Heldout:
    """The :class:`Heldout` view from a fit's response on held-out samples.

    Parameters
    ----------
    fit : GlmnetFit
        The path that was scored.
    resp : ndarray (L, n, K)
        Its response (``predict(fit, newx, type="response")``) at the ``L`` lambdas ``lam``.
    codes : ndarray (n,)
        The held-out samples' class codes.
    lam : ndarray (L,)
        The lambdas of ``resp``.
    weights : ndarray (n,), optional
        Sample weights (default 1).
    type_measure : {"deviance", "class"}
        The measure of ``cvm`` and of the best lambda, as in :func:`classdep.cv_glmnet`.
    call : str
        The call, shown by ``print``.
    seed : int
        Seed of the class-stratified halves (:func:`halves_of`).

    Returns
    -------
    Heldout

    Examples
    --------
    >>> import numpy as np, classdep as cd
    >>> ds = cd.datasets.digits()
    >>> fit = cd.glmnet(ds.X[:1200], ds.y[:1200], lambda_=[1e-2, 1e-3])
    >>> R = cd.predict(fit, ds.X[1200:], type="response").values
    >>> h = heldout(fit, R, ds.y.values[1200:], fit.lambda_)
    >>> h.results["deviance"].dims, h.results["fold"].values.tolist()
    (('lambda', 'class', 'fold'), ['heldout'])
    """
    family = fit.family
    codes = np.asarray(codes, dtype=np.int64)
    n = codes.size
    w = np.ones(n) if weights is None else np.asarray(weights, dtype=np.float64)
    lam = np.asarray(lam, dtype=np.float64)
    P = class_scores(resp, family)
    cls = fit.path["class"].values
    half = halves_of(codes, seed)
    two = classwise_dataset(P, codes, cls, lam, group=half, n_groups=2, weights=w,
                            binary=resp if family == "ova" else None)
    # pooling the halves' sums is the score of all held-out samples at once, exactly
    # a fixed-width text coordinate (not an object array), which every store gives back as written
    res = pooled(two).expand_dims("fold").transpose(..., "fold").assign_coords(fold=np.array(["heldout"]))
    halves = two[list(HALF_VARS)]
    sq = squared_error(resp, codes) if family == "gaussian" else None
    W = float(w.sum())
    if type_measure == "deviance":
        cvm = (sq @ w) / W if sq is not None else res["total_deviance"].values[:, 0] / W
    elif type_measure == "class":
        cvm = 1.0 - res["accuracy"].values[:, 0]
    else:
        raise ValueError(f"type_measure={type_measure!r} is not one of 'deviance', 'class'.")
    finite = np.isfinite(cvm)
    best = np.nonzero(cvm == np.min(cvm[finite]))[0]
    idmin = int(best[np.argmax(lam[best])])  # R's rule: the largest lambda at the minimum
    nan = np.full(lam.size, np.nan)
    j = _nearest(fit.lambda_, lam)
    p = fit.path
    res["cvm"] = ("lambda", cvm)
    res["cvsd"] = ("lambda", nan)  # one split: no spread across folds
    res["cvup"] = ("lambda", nan)
    res["cvlo"] = ("lambda", nan)
    res["nzero"] = ("lambda", p["df"].values[j])
    # the held-out scores solve nothing: the path's diagnostics at its nearest lambda
    res["niter"] = (("lambda", "fold"), p["niter"].values[j][:, None])
    res["converged"] = (("lambda", "fold"), p["converged"].values[j][:, None])
    res["gap"] = (("lambda", "fold"), p["gap"].values[j][:, None])
    res["products"] = ("lambda", nan)
    res.attrs.update(classdep_object="Heldout", type_measure=type_measure, family=family, nfolds=1,
                     n_heldout=n, lambda_min=float(lam[idmin]), index_min=idmin, call=call,
                     halves_seed=int(seed))
    oof = sample_scores(P, codes, np.zeros(n, dtype=np.int64), w, lam, cls, sq, "held-out")
    oof["half"] = ("sample", half)
    oof.attrs["description"] += "; 'half' is the class-stratified half used by cross-fitting"
    return Heldout(res, oof, fit, halves)


@dataclass(repr=False)
class Heldout(Result):
    """A fit's path scored on held-out samples: the evaluated sweep with one split.

    The same model as :class:`~classdep.CVGlmnet`, with one level (``"heldout"``) of the
    ``fold`` dim, so that every analysis takes either.  Indexing by a variable's name,
    ``h["recall"]``, gives it without the ``fold`` dim (the Dataset that ``assess`` returned
    before this class existed): (``lambda``, ``class``) per class, (``lambda``) overall.

    Attributes
    ----------
    results : xr.Dataset
        As ``CVGlmnet.results``: per (``lambda``, ``class``, ``fold``) ``deviance``,
        ``recall``, ``precision``, ``ova_accuracy``, ``ova_deviance``, ``n``, ``tp``; per
        (``lambda``, ``fold``) ``total_deviance``, ``accuracy``, ``balanced_accuracy`` and
        the worst-class metrics; ``confusion`` and the pairwise metrics; per ``lambda``
        ``cvm`` (the held-out measure per sample), ``nzero``; ``cvsd``, ``cvup``, ``cvlo``
        are NaN (one split has no standard error).
    oof : xr.Dataset
        Held-out per-sample ``loss`` (-log p of the true class; the squared error for the
        Gaussian family) and ``pred`` (predicted class code) over (``lambda``, ``sample``),
        with ``y``, ``fold`` (all 0), ``weight`` and ``half`` (the cross-fitting halves).
    fit : GlmnetFit
        The path that was scored (fitted on the training features).
    halves : xr.Dataset
        The additive sums (``deviance``, ``ova_deviance``, ``n``, ``tp``, ``confusion``) of
        each of two class-stratified halves of the held-out samples (``fold`` = 0, 1), from
        which ``classwise`` cross-fits.

    Examples
    --------
    >>> import classdep as cd
    >>> ds = cd.datasets.digits()
    >>> fit = cd.glmnet(ds.X[:1200], ds.y[:1200], lambda_=[1e-2, 1e-3])
    >>> h = cd.assess(fit, ds.X[1200:], ds.y[1200:])
    >>> h["recall"].dims, h.results.sizes["fold"]
    (('lambda', 'class'), 1)
    """

    results: xr.Dataset
    oof: xr.Dataset
    fit: GlmnetFit
    halves: xr.Dataset | None = None

    _groups = ("results", "oof", "fit", "halves")
    _optional = ("halves",)
    _frame_dims = ("lambda",)  # the path's table, one row per lambda

    @property
    def lambda_(self) -> np.ndarray:
        return self.results["lambda"].values

    @property
    def lambda_min(self) -> float:
        """The lambda of the least held-out measure (the largest lambda on a tie, as R)."""
        return float(self.results.attrs["lambda_min"])

    @property
    def index(self) -> dict[str, int]:
        """0-based position of ``lambda_min`` on the grid (no ``"1se"``: one split has no SE)."""
        return {"min": int(self.results.attrs["index_min"])}

    @property
    def cvm(self) -> xr.DataArray:
        return self.results["cvm"]

    @property
    def classes(self) -> np.ndarray:
        return self.results["class"].values

    @property
    def foldid(self) -> np.ndarray:
        return self.oof["fold"].values

    @property
    def confusion(self) -> xr.DataArray:
        """Held-out confusion counts: (``lambda``, ``class``, ``predicted``)."""
        return self.results["confusion"].sum("fold")

    @property
    def metrics(self) -> xr.Dataset:
        """``results`` without the ``fold`` dim: what ``assess`` returned as a Dataset."""
        return self.results.isel(fold=0, drop=True)

    def __getitem__(self, key):
        return self.metrics[key]

    def __contains__(self, key) -> bool:
        return key in self.metrics

    def __iter__(self):
        # as a Dataset iterates: over its variables' names
        return iter(self.metrics)

    def isel(self, *args, **kwargs) -> xr.Dataset:
        """``metrics.isel(...)``: a plain Dataset, as ``assess`` returned."""
        return self.metrics.isel(*args, **kwargs)

    def sel(self, *args, **kwargs) -> xr.Dataset:
        """``metrics.sel(...)``: a plain Dataset, as ``assess`` returned."""
        return self.metrics.sel(*args, **kwargs)

    def _datasets(self) -> dict[str | None, xr.Dataset | None]:
        return {"results": self.results, "oof": self.oof, "fit": self.fit.path, "halves": self.halves}

    @classmethod
    def _from_groups(cls, groups) -> Heldout:
        return cls(groups["results"], groups["oof"], GlmnetFit(groups["fit"]), groups.get("halves"))

    def _table(self) -> Table:
        a = self.results.attrs
        j = self.index["min"]
        lam = self.lambda_
        rows = [("", "Lambda", "Index", "Measure", "Nonzero"),
                ("min", f"{lam[j]:.4g}", str(j + 1), f"{self.cvm.values[j]:.4g}",
                 str(int(self.results["nzero"].values[j])))]
        measure = measure_name(a["type_measure"], a.get("family", "multinomial"))
        head = [f"Call:  {a.get('call', 'assess()')}", "",
                f"Measure: {measure} on {int(a['n_heldout'])} held-out samples (one split)", ""]
        foot = ["", "One held-out split: no standard error and no lambda_1se (they need folds)."]
        if not self.results["converged"].values.all():
            foot.append("Warning: the path did not converge at some lambdas (results['converged']).")
        return Table(head, rows, foot)
