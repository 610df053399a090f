"""Assembly of a sweep's scored blocks into its result: metrics, R's summary, out-of-fold data."""

from __future__ import annotations

import numpy as np
import xarray as xr

from ..link import class_scores, squared_error
from ..metrics import classwise_dataset
from .cvresult import CVGlmnet, choose_lambda, cv_summary

__all__ = ["assemble", "sample_scores"]


def assemble(blocks, fit, codes, folds, w, type_measure: str, keep: bool, call: str) -> CVGlmnet:
    """The sweep's result from its per-lambda blocks (merged over groups of folds).

    ``cvm`` is R's measure: the multinomial (or one-vs-all) deviance per sample, the
    squared error against the one-hot labels for the Gaussian family (glmnet's
    "Mean-Squared Error"), or the misclassification rate; per fold, then R's summary.
    """
    lam = fit.lambda_
    family = fit.family
    nf = int(folds.max()) + 1
    R = np.stack([b["P"] for b in blocks])  # (L, n, K) the response: probabilities or fitted values
    # OvA probabilities need not sum to one: the class-wise metrics use them normalized
    P = class_scores(R, family)
    cls_coord = fit.path["class"].values
    res = classwise_dataset(P, codes, cls_coord, lam, group=folds, weights=w,
                            binary=R if family == "ova" else None)
    fold_w = np.bincount(folds, weights=w, minlength=nf)
    onehot = folds[:, None] == np.arange(nf)[None, :]
    sq = squared_error(R, codes) if family == "gaussian" else None  # (L, n) per-sample deviance
    if type_measure == "deviance" and sq is not None:
        per_fold = (sq * w) @ onehot / fold_w[None, :]  # glmnet's "mse"
    elif type_measure == "deviance":
        per_fold = res["total_deviance"].values / fold_w[None, :]
    else:
        per_fold = 1.0 - res["accuracy"].values
    cvm, cvsd = cv_summary(per_fold, np.broadcast_to(fold_w, per_fold.shape))
    idmin, id1se = choose_lambda(lam, cvm, cvsd)
    res["cvm"] = ("lambda", cvm)
    res["cvsd"] = ("lambda", cvsd)
    res["cvup"] = ("lambda", cvm + cvsd)
    res["cvlo"] = ("lambda", cvm - cvsd)
    res["nzero"] = ("lambda", fit.path["df"].values)
    res["niter"] = (("lambda", "fold"), np.stack([b["niter"] for b in blocks]))
    res["converged"] = (("lambda", "fold"), np.stack([b["converged"] for b in blocks]))
    res["gap"] = (("lambda", "fold"), np.stack([b["gap"] for b in blocks]))
    # blocks checkpointed by an older classdep carry no count
    res["products"] = ("lambda", np.array([float(b.get("products", np.nan)) for b in blocks]))
    res["products"].attrs["description"] = ("matrix products of size n x d x K (one fold) the folds' "
                                            "solves used at this lambda")
    res.attrs.update(
        classdep_object="CVGlmnet", type_measure=type_measure, family=family, nfolds=nf,
        lambda_min=float(lam[idmin]), lambda_1se=float(lam[id1se]), index_min=idmin, index_1se=id1se,
        call=call,
    )
    oof = sample_scores(P, codes, folds, w, lam, cls_coord, sq, "out-of-fold") if keep else None
    return CVGlmnet(res, oof, fit, folds)


def sample_scores(P, codes, folds, w, lam, classes, sq=None, where: str = "out-of-fold") -> xr.Dataset:
    """The evaluated sweep's per-sample data: ``loss`` and ``pred`` over (lambda, sample).

    ``loss`` is -log p of the true class, or ``sq`` (the squared error) for the Gaussian
    family; ``pred`` the predicted class code; with ``y``, ``fold`` and ``weight``.

    Examples
    --------
    >>> P = np.array([[[0.9, 0.1], [0.4, 0.6]]])  # one lambda, two samples
    >>> d = sample_scores(P, np.array([0, 0]), np.array([0, 1]), np.ones(2), [1.0], ["a", "b"])
    >>> d["pred"].values.tolist(), bool(d["loss"].values[0, 1] > d["loss"].values[0, 0])
    ([[0, 1]], True)
    """
    n = codes.size
    if sq is None:
        loss = -np.log(np.clip(P[:, np.arange(n), codes], 1e-300, None))
        what = "loss (-log p of the true class)"
    else:
        loss, what = sq, "loss (squared error against the one-hot labels)"
    return xr.Dataset(
        {"loss": (("lambda", "sample"), loss),
         "pred": (("lambda", "sample"), P.argmax(axis=2).astype(np.int16)),
         "y": ("sample", codes), "fold": ("sample", folds), "weight": ("sample", w)},
        coords={"lambda": lam, "class": classes},
        attrs={"description": f"{where} per-sample {what} and predicted class code"},
    )
