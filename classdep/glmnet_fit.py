"""``glmnet()``: a ridge-penalized multinomial or one-vs-all path, and its R-like result.

The objective, for penalties ``lambda_k = lambda * penalty_factor[k]``, is::

    sum_i w_i * loss_i(W, b) / sum_i w_i  +  sum_k lambda_k / 2 * ||W[:, k]||^2

with unpenalized intercepts ``b``: glmnet's ``alpha = 0`` objective with
``standardize = FALSE``.  Unlike R, ``penalty_factor`` is not rescaled to sum to the
number of classes, so ``lambda * penalty_factor[k]`` is exactly class ``k``'s penalty.
"""

from __future__ import annotations

import dataclasses
import warnings
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np
import xarray as xr

from .generics import coef, predict, summary
from .inputs import features_and_labels
from .link import linear_predictor, response
from .result import Result, Table
from .solvers.chunked import is_out_of_core, scan_features
from .solvers.path import fit_path
from .solvers.settings import (
    CONTROL_FIELDS,
    MODEL_FIELDS,
    Control,
    Model,
    settings_attrs,
    settings_from_attrs,
    split_settings,
)
from .validation import (
    check_choice,
    check_class_names,
    check_class_totals,
    check_labels,
    check_lambda,
    check_weights,
)

__all__ = ["GlmnetFit", "GlmnetSummary", "glmnet", "singular_hessian_as_error"]

_INTERCEPT = "(Intercept)"


@contextmanager
def singular_hessian_as_error(X: np.ndarray, lam):
    """Turn LAPACK's "not positive definite" into an error that says why and what to do.

    The exact Hessian is ``X'DX + lambda I`` (d x d per class, the softmax gauge has the
    penalty alone): a lambda below the rounding of ``X'DX`` (about 1e-16 of the largest
    feature variance in float64) leaves it numerically singular.
    """
    try:
        yield
    except np.linalg.LinAlgError as exc:
        var = _largest_variance(X)
        low = "the smallest lambda" if lam is None else f"lambda={float(np.min(lam)):.3g}"
        raise ValueError(
            f"the Hessian could not be factored ({exc}): {low} is too small next to the features' "
            f"scale (largest feature variance {var:.3g}) for the arithmetic to resolve the penalty. "
            f"Use lambda >= {1e-12 * var:.1g}, rescale the features, or solver='newton-cg'."
        ) from exc


def _largest_variance(X) -> float:
    if not is_out_of_core(X):
        return float(np.max(np.var(X, axis=0)))
    n = X.shape[0]
    center, const, sd = scan_features(X, np.full(n, 1.0 / n), 65536, standardize=True)
    return float(np.max(np.where(const, 0.0, sd)) ** 2)


def _per_class(value, classes, name: str) -> np.ndarray:
    """A per-class vector from a sequence, dict, pandas Series or DataArray(class)."""
    if isinstance(value, xr.DataArray):
        if value.dims != ("class",):
            raise ValueError(f"{name} as a DataArray must have the single dim 'class'; got {value.dims}.")
        idx = check_class_names([str(c) for c in value["class"].values], [str(c) for c in classes], name) \
            if "class" in value.coords else np.arange(value.size)
        if len(set(idx.tolist())) != len(classes) or value.size != len(classes):
            raise ValueError(f"{name} must give one value for each of the {len(classes)} classes.")
        out = np.empty(len(classes))
        out[idx] = value.values
        return out
    if isinstance(value, dict) or (hasattr(value, "index") and hasattr(value, "keys")):  # pandas
        keys = list(value.keys()) if isinstance(value, dict) else list(value.index)
        vals = [value[k] for k in keys]
        return _per_class(xr.DataArray(np.asarray(vals, float), dims="class",
                                       coords={"class": [str(k) for k in keys]}), classes, name)
    arr = np.asarray(value, dtype=np.float64)
    if arr.shape != (len(classes),):
        raise ValueError(f"{name} must have one entry per class ({len(classes)}); got shape {arr.shape}.")
    return arr


@dataclass(repr=False)
class GlmnetFit(Result):
    """A fitted path: R's ``glmnet`` object, holding xarray data.

    The fit holds no training data: ``coef``/``predict`` with ``exact=True`` refit at
    ``s`` and need ``x=`` and ``y=`` again, as in R; the settings, sample weights and
    per-class penalty factors they need are in ``path.attrs``.

    Attributes
    ----------
    path : xr.Dataset
        ``coef`` (lambda, class, feature), ``intercept`` (lambda, class), ``penalty``
        (lambda, class), per class the training counts ``n``, and per lambda ``df``,
        ``dev_ratio``, ``niter``, ``converged``, ``separable``, ``gap``, ``grad_norm``,
        ``objective``; settings in ``attrs``.

    Examples
    --------
    >>> import classdep as cd
    >>> fit = cd.glmnet(cd.datasets.digits(), nlambda=5)
    >>> fit.path["coef"].sizes["lambda"], fit.path["coef"].sizes["class"]
    (5, 10)
    """

    path: xr.Dataset

    _groups = (None,)  # the file's root group, as fits have always been written
    _frame_dims = ("lambda",)  # the path's table, one row per lambda

    def _datasets(self) -> dict[str | None, xr.Dataset | None]:
        return {None: self.path}

    @classmethod
    def _from_groups(cls, groups) -> GlmnetFit:
        return cls(groups[None])

    # R-like accessors -------------------------------------------------------------
    @property
    def lambda_(self) -> np.ndarray:
        return self.path["lambda"].values

    @property
    def classes(self) -> np.ndarray:
        return self.path["class"].values

    @property
    def dev_ratio(self) -> xr.DataArray:
        return self.path["dev_ratio"]

    @property
    def df(self) -> xr.DataArray:
        return self.path["df"]

    @property
    def niter(self) -> xr.DataArray:
        return self.path["niter"]

    @property
    def converged(self) -> xr.DataArray:
        return self.path["converged"]

    @property
    def family(self) -> str:
        return self.path.attrs["family"]

    @property
    def settings(self) -> tuple[Model, Control]:
        """The model specification and solver control the path was fitted with."""
        return settings_from_attrs(self.path.attrs)

    def _table(self) -> Table:
        p = self.path
        lam = p["lambda"].values
        rows = [("", "Df", "%Dev", "Lambda")]
        for j in range(lam.size):
            rows.append((str(j + 1), str(int(p["df"].values[j])),
                         f"{100 * p['dev_ratio'].values[j]:.2f}", f"{lam[j]:.4g}"))
        foot = []
        bad = ~p["converged"].values
        if bad.any():
            foot.append(f"Warning: not converged at {int(bad.sum())} lambda(s); see summary(fit).")
        if p["separable"].values.any():
            foot.append("Note: training data separable at the smallest lambdas (flag 'separable').")
        return Table([f"Call:  {p.attrs.get('call', 'glmnet()')}", ""], rows, foot)


def _call_string(**given) -> str:
    parts = ["x = x", "y = y"]
    for k, v in given.items():
        parts.append(f"{k} = {v!r}")
    return "glmnet(" + ", ".join(parts) + ")"


def glmnet(
    x, y=None, family: str = "multinomial", lambda_=None, nlambda: int = 100,
    lambda_min_ratio: float | None = None, penalty_factor=None, weights=None, loss: str = "ce",
    tau: float = 1.0, gamma: float = 0.3, class_weight=None, intercept: bool = True,
    standardize: bool = False, thresh: float = 1e-7, maxit: int = 100, solver: str = "auto",
    preconditioner: str = "auto", device: str = "auto", dtype=None, augment=None,
    memory_limit=None, route: str = "auto", alpha: float = 0.0,
) -> GlmnetFit:
    """Fit a ridge-penalized multinomial (or one-vs-all) logistic regression path.

    Parameters
    ----------
    x : array (n, d), pandas DataFrame, xr.DataArray (sample, feature) or xr.Dataset
        Features; a Dataset from :func:`classdep.datasets.as_features` also gives ``y``.
    y : labels (n,), optional
        Integer or string class labels.
    family : {"multinomial", "ova", "gaussian"}
        Softmax cross-entropy, ``K`` independent binomial (one-vs-all) problems, or
        least squares on the one-hot labels (``loss = ||y_i - z_i||^2 / 2``; its
        ``predict(type="response")`` is the fitted value).
    lambda_ : float, sequence, or xr.DataArray with dim ``class``, optional
        Penalties (R's ``lambda``).  A sequence is sorted decreasing and solved as a
        warm-started path; a DataArray over ``class`` is *one* fit with those
        class-specific penalties.  Default: ``nlambda`` values from a data-derived
        ``lambda_max`` down to ``lambda_max * lambda_min_ratio`` (glmnet's convention
        adapted to ridge; see :func:`classdep.solvers.path.lambda_grid`).
    penalty_factor : sequence of K positive numbers, optional
        Class ``k`` is penalized by ``lambda * penalty_factor[k]``.  Not rescaled (R
        rescales its per-feature factors to sum to the number of variables).
    weights : (n,) non-negative sample weights, optional
    loss : {"ce", "la", "cdt", "vs", "ldt"}
        Loss parameterization for label imbalance, with ``tau`` (additive, LA/VS) and
        ``gamma`` (multiplicative, CDT/VS/LDT); see :mod:`classdep.solvers.losses`.
    class_weight : "balanced" or K weights, optional
        Weighted cross-entropy: sample ``i`` is weighted by ``class_weight[y_i]``.
    intercept, standardize : bool
        Fit unpenalized intercepts; standardize features (population SD) before
        penalizing, reporting coefficients on the original scale, as glmnet does.
    thresh : float
        Convergence threshold on the estimated relative objective gap (the Newton
        decrement); the step that meets it is still taken, so the returned gap is far
        smaller (float64: below 1e-10 relative in the tests).  Float32 is limited to
        about 1e-6.
    maxit : int
        Maximum Newton iterations per lambda.
    solver, preconditioner : str
        ``"auto"`` (default), ``"newton"`` (exact Hessian, Cholesky) or ``"newton-cg"``
        (truncated Newton) with the ``"hessian"``, ``"block"`` (per-class Hessian blocks)
        or ``"kronecker"`` preconditioner; the user guide says which ``"auto"`` picks.
    device : {"auto", "cpu", "gpu"}
    dtype : float64 (CPU default) or float32 (GPU default)
    augment : dict, optional
        Train on noised features (data augmentation inside the objective):
        ``dict(kind="gaussian" | "dropout", strength=s, method="quadratic" | "sample",
        copies=R, seed=0)``.

        * ``kind="gaussian"`` adds ``N(0, s^2)`` noise to every feature (``s > 0``, in
          the units of ``x``, before ``standardize``); ``kind="dropout"`` zeroes each
          feature with probability ``s`` in ``(0, 1)`` and scales the rest by
          ``1 / (1 - s)``.
        * ``method="sample"`` stacks ``copies`` (default 1) noised copies of ``x``
          drawn by ``numpy.random.default_rng(seed)``, each weighing ``1/copies``: a
          Monte-Carlo estimate of the expected noised loss.
        * ``method="quadratic"`` (default) adds the quadratic approximation of Wager,
          Wang & Liang (2013) to the penalty:
          ``1/2 * s/(1-s) * sum_k W_k' diag(X' diag(w * v_k) X) W_k`` for dropout and
          ``1/2 * s^2 * sum_k ||W_k||^2 * sum_i w_i v_ik`` for Gaussian noise, with
          ``w`` the normalized sample weights and ``v_ik`` the curvature of class
          ``k``'s logit: ``p_ik (1 - p_ik)`` (multinomial, one-vs-all; the diagonal
          of the softmax curvature), ``1`` for ``family="gaussian"``, where the
          approximation is exact (a ridge with per-feature penalties).  For the
          logistic families ``v`` is evaluated at the solution and the fit repeated,
          warm-started (Anderson-accelerated), until the penalty changes by less than
          ``1e-10`` (relative) or 50 rounds: the fixed point of Wager's approximation
          with ``V`` frozen at the solution.  The rounds are in
          ``fit.path["augment_rounds"]``; a fixed point not reached warns and flags
          ``converged=False``.

    memory_limit : int or str, optional
        Memory the fit may use (bytes, or a string such as ``"8GB"``), instead of what
        the machine reports free.  Before any work a memory plan
        (:func:`classdep.memory_plan`) decides whether ``x`` is held whole or read in
        row chunks, and refuses, with the numbers, a fit that cannot fit.  A NumPy
        memmap, a zarr array or a dask array (also inside an xarray object) is read in
        chunks when it does not fit, never whole; results equal the in-memory ones to
        rounding (about 1e-13).
    route : {"auto", "feature", "sample"}
        Where the path is solved.  With more features than samples (``d > n``) every
        class's coefficient vector lies in the row space of ``x`` (the ridge penalty,
        also class-specific, leaves nothing outside it), so ``"auto"`` solves the path
        on ``n`` reduced features that span it and maps the solution back: exact, and
        costs that grow with ``n`` instead of ``d`` (see
        :mod:`classdep.solvers.sample_space`).  ``"feature"`` keeps the ``d`` features;
        the quadratic augmentation's per-feature penalty always does.  The route taken
        is ``fit.attrs["route"]`` and is shown by :func:`classdep.memory_plan`.

    Returns
    -------
    GlmnetFit
        ``print(fit)`` shows R's ``Df %Dev Lambda`` table; use :func:`coef`,
        :func:`predict`, :func:`summary` and :func:`classdep.plot`.

    Examples
    --------
    >>> import classdep as cd
    >>> ds = cd.datasets.digits()
    >>> fit = cd.glmnet(ds, lambda_=[1e-1, 1e-2, 1e-3])
    >>> fit.path["coef"].dims
    ('lambda', 'class', 'feature')
    """
    if isinstance(alpha, str | bool) or alpha != 0:
        # R users pass glmnet's alpha out of habit: say what is fitted rather than ignore it
        raise ValueError(f"alpha={alpha!r}: classdep fits the ridge penalty only (R's alpha = 0, the last "
                         "layer's weight decay); the lasso and the elastic net are not offered. Drop alpha "
                         "or pass alpha=0.")
    # The arguments named like the settings' fields build them (validated there); the
    # penalty factors wait for the class names.
    given_args = locals()
    model, control = split_settings(**{k: given_args[k] for k in MODEL_FIELDS + CONTROL_FIELDS
                                       if k in given_args and k != "penalty_factor"})
    X, y, names = features_and_labels(x, y)
    codes, classes = check_labels(y, X.shape[0])
    check_class_totals(codes, classes, check_weights(weights, X.shape[0]))
    K = classes.size
    pf = None if penalty_factor is None else _per_class(penalty_factor, classes, "penalty_factor")
    class_specific = isinstance(lambda_, xr.DataArray) and "class" in lambda_.dims
    if class_specific:
        lam_k = check_lambda(_per_class(lambda_, classes, "lambda_"), "lambda_")
        scale = float(np.exp(np.mean(np.log(lam_k))))
        lam = np.array([scale])
        pf = lam_k / scale if pf is None else lam_k / scale * pf
    elif lambda_ is not None:
        given_lam = check_lambda(lambda_)
        lam = np.unique(given_lam)[::-1]  # R sorts a user's lambda decreasing, too
        if lam.size < given_lam.size:
            warnings.warn(f"lambda_ holds repeated values; each is fitted once ({lam.size} of the "
                          f"{given_lam.size} values given).", UserWarning, stacklevel=2)
    else:
        lam = None
    if pf is not None:
        model = dataclasses.replace(model, penalty_factor=pf)
    given = {k: v for k, v in dict(
        family=family, lambda_=None if lambda_ is None else "<given>", loss=loss,
        intercept=intercept, standardize=standardize, augment=augment,
    ).items() if v not in (None, "multinomial", "ce", True, False) or (k == "standardize" and v)}
    with singular_hessian_as_error(X, lam):
        res = fit_path(X, codes, K, lam, weights=weights, model=model, control=control, nlambda=nlambda,
                       lambda_min_ratio=lambda_min_ratio)
    attrs = {
        "classdep_object": "GlmnetFit", **settings_attrs(model, control), "solver": res.solver,
        "route": res.route,
        "class_specific": int(class_specific), "n_samples": X.shape[0], "call": _call_string(**given),
        "augment": "none" if model.augment is None else model.augment.describe(),
    }
    if weights is not None:
        attrs["weights"] = np.asarray(weights, dtype=np.float64)  # an exact refit weighs x alike
    return GlmnetFit(_path_dataset(res, classes, names, codes, attrs))


def _path_dataset(res, classes, names, codes, attrs) -> xr.Dataset:
    """The fit's dataset from the solver's arrays (member 0 of the batch)."""
    cls_coord = [str(c) for c in classes] if classes.dtype.kind in "OUS" else classes
    lamv = res.lambdas
    penalty = lamv[:, None] * res.penalty_factor[0][None, :]
    B = res.coef[:, :, 0, :]  # (L, d, K)
    return xr.Dataset(
        {
            "coef": (("lambda", "class", "feature"), np.transpose(B, (0, 2, 1))),
            "intercept": (("lambda", "class"), res.intercept[:, 0, :]),
            "penalty": (("lambda", "class"), penalty),
            "df": ("lambda", (np.abs(B) > 0).any(axis=2).sum(axis=1)),
            "dev_ratio": ("lambda", 1.0 - res.loss[:, 0] / res.null_loss[0]),
            "objective": ("lambda", res.objective[:, 0]),
            "niter": ("lambda", res.niter[:, 0]),
            "converged": ("lambda", res.converged[:, 0]),
            "separable": ("lambda", res.separable[:, 0]),
            "gap": ("lambda", res.gap[:, 0]),
            "grad_norm": ("lambda", res.grad_norm[:, 0]),
            "products": ("lambda", np.array([w.products for w in res.work], dtype=float)),
            "n": ("class", np.bincount(codes, minlength=len(classes))),
            **({} if res.augment_rounds is None else {"augment_rounds": ("lambda", res.augment_rounds)}),
        },
        coords={"lambda": lamv, "class": cls_coord, "feature": names},
        attrs=attrs,
    )


# -- coef / predict / summary -----------------------------------------------------------

def _interpolate(fit: GlmnetFit, s: np.ndarray, var: str) -> xr.DataArray:
    """Values of ``var`` at penalties ``s``, linear in lambda between grid points (glmnet)."""
    lam = fit.lambda_
    da = fit.path[var]
    used = np.clip(s, lam.min(), lam.max())
    outside = s[used != s]
    if outside.size and var == "coef":  # once per call (coef and intercept are read together)
        warnings.warn(
            f"s={', '.join(f'{v:.4g}' for v in outside)} lies outside the path's lambdas "
            f"[{lam.min():.4g}, {lam.max():.4g}]: the coefficients are those at the nearest end, as R's "
            f"glmnet does (coordinate 'lambda_used'). Refit at s with exact=True (x=, y=) or pass a "
            f"lambda_ grid that covers it.", UserWarning, stacklevel=4)
    out = []
    for sv in s:
        if lam.size == 1 or sv >= lam[0]:
            out.append(da.isel({"lambda": 0}, drop=True))
            continue
        if sv <= lam[-1]:
            out.append(da.isel({"lambda": -1}, drop=True))
            continue
        right = int(np.searchsorted(-lam, -sv))  # first index with lam <= sv
        left = right - 1
        frac = (sv - lam[right]) / (lam[left] - lam[right])
        out.append(frac * da.isel({"lambda": left}, drop=True)
                   + (1 - frac) * da.isel({"lambda": right}, drop=True))
    res = xr.concat(out, dim="lambda")
    return res.assign_coords({"lambda": s, "lambda_used": ("lambda", used)})


def _check_feature_names(new: list[str], fitted: list[str]) -> None:
    """Named columns of newx must be the model's, in its order (R's default names match anything)."""
    default = [f"V{i + 1}" for i in range(len(fitted))]
    if new == fitted or new == default or fitted == default:
        return
    i = next(i for i, (a, b) in enumerate(zip(new, fitted, strict=True)) if a != b)
    raise ValueError(f"newx's columns are not the model's features: column {i + 1} is {new[i]!r} where the "
                     f"model has {fitted[i]!r}; select the model's columns in its order (newx[names]), or "
                     "pass newx.to_numpy() to match by position.")


def _resolve_s(fit: GlmnetFit, s) -> tuple[np.ndarray, bool]:
    if s is None:
        return fit.lambda_, True
    if isinstance(s, str) and s.replace(".", "_") not in ("lambda_min", "lambda_1se"):
        raise TypeError(f"s={s!r} is text; pass a number (or numbers) from the path, e.g. s=0.1, or on a "
                        "cv_glmnet() result s='lambda.min' or s='lambda.1se'.")
    if isinstance(s, str):
        raise ValueError(f"s={s!r} names a cross-validated choice, which a glmnet() path does not have: "
                         f"call coef(cv, s={s!r}) or predict(cv, newx, s={s!r}) on the cv_glmnet() result, "
                         "or pass a number.")
    arr = check_lambda(s, "s")
    return arr, np.ndim(s) > 0


def _refit(fit: GlmnetFit, s: np.ndarray, x=None, y=None) -> GlmnetFit:
    """The fit repeated at ``s`` on the training data ``x``, ``y`` (R's ``exact = TRUE``)."""
    if x is None or y is None:
        raise ValueError("exact=True refits at s and needs the training data, as R's glmnet does: "
                         "pass x= and y= (the fit keeps no copy of them).")
    model, control = fit.settings
    given = {k: getattr(model, k) for k in MODEL_FIELDS}
    given.update({k: getattr(control, k) for k in CONTROL_FIELDS if k != "reproducible"})
    return glmnet(x, y, lambda_=s, weights=fit.path.attrs.get("weights"), **given)


@coef.register
def _(fit: GlmnetFit, s=None, exact: bool = False, x=None, y=None) -> xr.DataArray:
    """Coefficients with ``"(Intercept)"`` as the first feature, R's layout.

    ``s`` between grid points interpolates linearly in lambda, as glmnet does;
    ``exact=True`` refits at ``s`` instead.  A list of ``s`` (or ``s=None``, the whole
    path) keeps a ``lambda`` dim.
    """
    svals, keep = _resolve_s(fit, s)
    if exact and s is not None:
        fit = _refit(fit, np.sort(svals)[::-1], x, y)
        svals = np.sort(svals)[::-1]
    if s is None or exact:
        W, b = fit.path["coef"], fit.path["intercept"]
        W, b = W.sel({"lambda": svals}) if exact else W, b.sel({"lambda": svals}) if exact else b
    else:
        W, b = _interpolate(fit, svals, "coef"), _interpolate(fit, svals, "intercept")
    b = b.expand_dims(feature=[_INTERCEPT])
    out = xr.concat([b, W], dim="feature").transpose("lambda", "class", "feature")
    out.name = "coef"
    return out if keep else out.isel({"lambda": 0})


@predict.register
def _(fit: GlmnetFit, newx=None, s=None, type: str = "link", exact: bool = False,  # noqa: A002
      x=None, y=None) -> xr.DataArray:
    """``type="link"`` (logits ``x W + b``), ``"response"`` (probabilities) or ``"class"``."""
    check_choice(type, ("link", "response", "class"), "type")
    if newx is None:
        raise ValueError("predict needs newx, the features to predict for.")
    Xn, _, new_names = features_and_labels(newx, name="newx", need_labels=False)
    d = fit.path.sizes["feature"]
    if Xn.shape[1] != d:
        raise ValueError(f"newx has {Xn.shape[1]} features but the model was fitted on {d}.")
    _check_feature_names(new_names, [str(v) for v in fit.path["feature"].values])
    C = coef(fit, s=s, exact=exact, x=x, y=y)
    keep = "lambda" in C.dims
    C = C if keep else C.expand_dims("lambda")
    W = C.isel(feature=slice(1, None)).values  # (L, K, d)
    b = C.isel(feature=0).values  # (L, K)
    Z = linear_predictor(Xn, W, b)
    coords = {"lambda": C["lambda"].values, "class": C["class"].values}
    if type == "link":
        out = xr.DataArray(Z, dims=("lambda", "sample", "class"), coords=coords, name="link")
    elif type == "response":
        out = xr.DataArray(response(Z, fit.family), dims=("lambda", "sample", "class"), coords=coords,
                           name="response")
    else:
        lab = np.asarray(C["class"].values)[Z.argmax(axis=2)]
        out = xr.DataArray(lab, dims=("lambda", "sample"), coords={"lambda": coords["lambda"]},
                           name="class")
    return out if keep else out.isel({"lambda": 0})


@dataclass(repr=False)
class GlmnetSummary(Result):
    """What ``summary(fit)`` returns: settings, convergence and the path's ends.

    Examples
    --------
    >>> import classdep as cd
    >>> s = cd.summary(cd.glmnet(cd.datasets.digits(), nlambda=3))
    >>> repr(s).splitlines()[2].split()[:2]
    ['Family:', 'multinomial']
    """

    fit: GlmnetFit

    _groups = (None,)

    def _datasets(self) -> dict[str | None, xr.Dataset | None]:
        return {None: self.fit.path}

    @classmethod
    def _from_groups(cls, groups) -> GlmnetSummary:
        return cls(GlmnetFit(groups[None]))

    def _table(self) -> Table:
        p = self.fit.path
        a = p.attrs
        conv = p["converged"].values
        sep = p["separable"].values
        lam = p["lambda"].values
        lines = [
            f"Call:  {a.get('call')}",
            "",
            f"Family: {a['family']}   Loss: {a['loss']}   Samples: {a['n_samples']}   "
            f"Features: {p.sizes['feature']}   Classes: {p.sizes['class']}",
            f"Solver: {a['solver']}   thresh: {a['thresh']:g}   dtype: {a['dtype']}",
            f"Lambda: {lam.size} values from {lam.max():.4g} to {lam.min():.4g}",
            f"Deviance explained: {100 * p['dev_ratio'].values[0]:.2f}% to "
            f"{100 * p['dev_ratio'].values[-1]:.2f}%",
            f"Newton iterations: {int(p['niter'].sum())} in all, at most {int(p['niter'].max())} "
            f"per lambda; matrix products: {int(p['products'].sum())}",
            f"All lambdas converged: {'yes' if conv.all() else 'NO (' + str(int((~conv).sum())) + ')'}; "
            f"largest estimated relative gap before the last step: {np.nanmax(p['gap'].values):.2g}",
        ]
        if a.get("augment", "none") != "none":
            line = f"Augmentation: {a['augment']}"
            if "augment_rounds" in p:
                line += f"; fixed-point rounds per lambda: at most {int(p['augment_rounds'].max())}"
            lines.append(line)
        if sep.any():
            lines.append(f"Separable: training data perfectly classified for lambda <= "
                         f"{lam[sep].max():.4g}")
        return Table(lines)


@summary.register
def _(fit: GlmnetFit) -> GlmnetSummary:
    return GlmnetSummary(fit)
