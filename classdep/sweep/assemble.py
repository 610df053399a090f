"""Assembly of a sweep's scored blocks into its result: metrics, R's summary, out-of-fold data."""

from __future__ import annotations

import numpy as np
import xarray as xr

from ..metrics import classwise_dataset
from .cvresult import CVGlmnet, choose_lambda, cv_summary

__all__ = ["assemble"]


def assemble(blocks, fit, X, codes, classes, folds, nf, w, lam, type_measure, keep, family, args):
    P = np.stack([b["P"] for b in blocks])  # (L, n, K)
    if family != "multinomial":
        # OvA scores need not sum to one; the class-wise metrics use them normalized.
        P = P / P.sum(axis=-1, keepdims=True)
    cls_coord = fit.path["class"].values
    res = classwise_dataset(P, codes, cls_coord, lam, group=folds, weights=w)
    fold_w = np.bincount(folds, weights=w, minlength=nf)
    if type_measure == "deviance":
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
        call="cv_glmnet(x = x, y = y" + "".join(f", {k} = {v!r}" for k, v in args.items() if v is not None)
             + ")",
    )
    oof = None
    if keep:
        n = codes.size
        p_true = np.clip(P[:, np.arange(n), codes], 1e-300, None)
        oof = xr.Dataset(
            {"loss": (("lambda", "sample"), -np.log(p_true)),
             "pred": (("lambda", "sample"), P.argmax(axis=2).astype(np.int16)),
             "y": ("sample", codes), "fold": ("sample", folds), "weight": ("sample", w)},
            coords={"lambda": lam, "class": cls_coord},
            attrs={"description": "out-of-fold per-sample loss (-log p of the true class) and "
                                  "predicted class code"},
        )
    return CVGlmnet(res, oof, fit, folds)
