"""Held-out assessment (R's ``assess.glmnet``) and the realized gain of class-specific penalties."""

from __future__ import annotations

import numpy as np
import xarray as xr

from ..generics import predict
from ..glmnet_fit import GlmnetFit, glmnet
from ..inputs import features_and_labels
from ..sweep import Heldout
from ..sweep.heldout import heldout
from ..validation import check_class_names, check_weights
from .classwise import Classwise

__all__ = ["assess", "oracle_gain"]


def _codes_for(fit: GlmnetFit, newy) -> np.ndarray:
    classes = [str(c) for c in fit.classes]
    arr = np.asarray(newy)
    labels = [str(v) for v in arr]
    unknown = set(labels) - set(classes)
    if unknown and np.issubdtype(arr.dtype, np.integer) and arr.size and 0 <= arr.min() \
            and arr.max() < len(classes):
        # integer codes of a features Dataset (its y) against a fit on the Dataset's class names
        raise ValueError(f"newy holds integer codes ({sorted(unknown)[:3]} ...) but the fit's classes are "
                         f"named {classes[:3]} ...: pass the features Dataset itself, assess(fit, ds), or "
                         "its labels by name, ds['class'].values[ds.y.values].")
    return check_class_names(labels, classes, "newy")


def assess(fit: GlmnetFit, newx, newy=None, s=None, *, weights=None, type_measure: str = "deviance",
           seed: int = 0) -> Heldout:
    """The fit's path scored on held-out data, R's ``assess.glmnet``: the evaluated sweep with one split.

    The held-out protocol: fit the head on the training features (``glmnet``), score it
    here on features of samples the backbone never saw, and analyse the result exactly as a
    cross-validated sweep: ``classwise``, ``boot``, ``boot_ci``, ``confint``, ``confset``,
    ``oracle_gain`` and ``plot`` take it.

    Parameters
    ----------
    fit : GlmnetFit
    newx, newy : held-out features and labels (labels must be classes of the fit); a
        features Dataset as ``newx`` gives its own labels when ``newy`` is omitted
    s : float or sequence, optional
        Penalties at which to assess (interpolated like :func:`classdep.coef`); default:
        every lambda of the path.
    weights : array_like, optional
        Held-out sample weights (default 1).
    type_measure : {"deviance", "class"}
        The measure of ``cvm`` and of the best lambda, as in :func:`classdep.cv_glmnet`.
    seed : int
        Seed of the two class-stratified halves of the held-out samples on which
        ``classwise`` cross-fits (:func:`classdep.sweep.heldout.halves_of`).

    Returns
    -------
    Heldout
        ``results`` as a sweep's, with one ``fold`` (``"heldout"``): per (``lambda``,
        ``class``) ``deviance``, ``recall``, ``precision``, ``ova_accuracy``,
        ``ova_deviance``, ``n``; per ``lambda`` ``accuracy``, ``balanced_accuracy``,
        ``total_deviance``, the worst-class metrics, ``cvm``; ``confusion``; ``oof`` the
        per-sample held-out losses.  ``h["recall"]`` is a variable without the ``fold``
        dim, as the Dataset this function returned before.

    Examples
    --------
    >>> import classdep as cd
    >>> ds = cd.datasets.digits()
    >>> fit = cd.glmnet(ds.X[:1200], ds.y[:1200], lambda_=[1e-2, 1e-3])
    >>> a = cd.assess(fit, ds.X[1200:], ds.y[1200:])
    >>> a["recall"].dims
    ('lambda', 'class')
    >>> cd.assess(fit, ds.isel(sample=slice(1200, None))).results.sizes["lambda"]
    2
    """
    Xn, yy, _ = features_and_labels(newx, newy, name="newx", labels_name="newy")
    if np.shape(yy)[:1] != (Xn.shape[0],):
        raise ValueError(f"newy has shape {np.shape(yy)} but newx has {Xn.shape[0]} samples; give one "
                         "label per sample.")
    codes = _codes_for(fit, yy)
    w = None if weights is None else check_weights(weights, codes.size)
    P = predict(fit, Xn, s=s if s is not None else list(fit.lambda_), type="response")
    call = "assess(fit, newx, newy" + (", s" if s is not None else "") + ")"
    return heldout(fit, P.values, codes, P["lambda"].values, w, type_measure, call, seed)


def oracle_gain(cw: Classwise, x, y, newx, newy, **glmnet_args) -> xr.Dataset:
    """Held-out comparison of the global-lambda model with the class-specific one.

    Fits ``glmnet`` at the global optimum and at the class-wise optima
    (``lambda_=cw.lambda_opt``: one model, class-specific penalties) on ``(x, y)``, and
    scores both on ``(newx, newy)``.  The regret of ``cw`` promised a gain; this is the
    gain realized by a single coupled model.  Deviances are per sample, so the bound
    (``G / n_train``) and the realized gain (``/ n_test``) compare directly.

    Returns
    -------
    xr.Dataset over ``class``: ``deviance_global``, ``deviance_oracle``, ``gain`` (per
    test sample), ``bound`` (per training sample), ``recall_global``, ``recall_oracle``.

    Examples
    --------
    >>> import classdep as cd
    >>> ds = cd.datasets.digits()
    >>> cv = cd.cv_glmnet(ds.X[:1200], ds.y[:1200], nfolds=4, nlambda=10, progress=False)
    >>> g = cd.oracle_gain(cd.classwise(cv, null=0), ds.X[:1200], ds.y[:1200], ds.X[1200:], ds.y[1200:])
    >>> float(g.attrs["bound_total"]) >= 0
    True
    """
    if "grid_dim" in cw.table.attrs or cw.table.attrs.get("over", "lambda") != "lambda":
        raise ValueError("oracle_gain refits one path at its class-wise lambdas: pass classwise() of one "
                         "cross-validated path (for a grid, classwise(grid[i]) and that level's features).")
    if cw.table.attrs["measure"] != "deviance":
        raise ValueError("oracle_gain compares deviances: compute classwise(cv, measure='deviance').")
    lam_g = cw.table.attrs["lambda_global"]
    lam_opt = cw.lambda_opt
    lam_opt = lam_opt.assign_coords({"class": [str(c) for c in lam_opt["class"].values]})
    g = glmnet(x, y, lambda_=[lam_g], **glmnet_args)
    o = glmnet(x, y, lambda_=lam_opt, **glmnet_args)
    ag = assess(g, newx, newy).metrics.isel({"lambda": 0}, drop=True)
    ao = assess(o, newx, newy).metrics.isel({"lambda": 0}, drop=True)
    n_test = float(ag["n"].sum())
    n_train = float(cw.table["n"].sum())
    out = xr.Dataset({
        "deviance_global": ag["deviance"] / n_test,
        "deviance_oracle": ao["deviance"] / n_test,
        "gain": (ag["deviance"] - ao["deviance"]) / n_test,
        "bound": ("class", cw.table["regret"].values / n_train),
        "recall_global": ag["recall"],
        "recall_oracle": ao["recall"],
    })
    out.attrs.update(gain_total=float(out["gain"].sum()), bound_total=float(out["bound"].sum()),
                     lambda_global=lam_g)
    return out
