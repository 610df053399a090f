"""Classifier and feature geometry: norms, angles and neural-collapse summaries along a path.

For classifiers ``w_k`` (rows of the coefficients at each lambda) and, when features are
given, class means ``mu_k`` centred by ``c`` (the global mean of the samples by default):

* ``w_norm``, ``w_cos``: ``||w_k||`` and ``cos(w_k, w_l)``; ``h_norm``, ``h_cos`` the same for
  ``mu_k - c``;
* equinorm: coefficient of variation of the norms over classes; equiangularity: standard
  deviation of the off-diagonal cosines; ``maxangle``: mean ``|cos + 1/(K-1)|``, the distance
  to the simplex ETF (Papyan, Han & Donoho 2020);
* ``nc1 = tr(Sigma_W Sigma_B^+) / K`` with the within-class covariance ``Sigma_W`` (divided
  by ``N``) and the between-class ``Sigma_B = (1/K) sum_k (mu_k - c)(mu_k - c)'``;
* ``wh_cos``: ``cos(w_k, mu_k - c)``; ``self_duality``: ``||W/||W||_F - M/||M||_F||_F^2``;
* with two class sizes (step imbalance) the summaries of :func:`ufm_geometry`, majority "M"
  against minority "m": ``w_norm_ratio``, ``w_pair_cos`` (``pair`` = MM, mm, Mm),
  ``h_norm_ratio``, ``h_pair_cos``, ``wh_group_cos`` (``group`` = M, m).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import xarray as xr

from ..glmnet_fit import GlmnetFit
from ..inputs import features_and_labels
from ..result import Result, Table
from ..rtable import format_table
from ..sweep import CVGlmnet
from ..validation import check_choice, check_class_names, check_labels
from .closed_forms import GROUPS, PAIRS, pair_mean
from .ufm import UFM

__all__ = ["Geometry", "geometry"]

CENTERS = ("global", "classes", "none")


def _unit(A: np.ndarray) -> np.ndarray:
    nrm = np.linalg.norm(A, axis=-1, keepdims=True)
    return A / np.where(nrm > 0, nrm, np.nan)  # a zero vector has no direction: NaN cosines


def _spread(norms: np.ndarray, cos: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Equinorm, equiangularity and distance to the ETF over the last axes (classes)."""
    K = norms.shape[-1]
    off = ~np.eye(K, dtype=bool)
    c = cos[..., off]
    equinorm = norms.std(axis=-1) / norms.mean(axis=-1)
    return equinorm, c.std(axis=-1), np.abs(c + 1.0 / (K - 1)).mean(axis=-1)


def _nc1(X: np.ndarray, codes: np.ndarray, means: np.ndarray, centred: np.ndarray) -> float:
    """``tr(Sigma_W Sigma_B^+) / K`` through the thin SVD of the centred means (rank <= K)."""
    K = means.shape[0]
    _, s, Vt = np.linalg.svd(centred, full_matrices=False)
    keep = s > s.max() * max(centred.shape) * np.finfo(float).eps if s.size and s.max() > 0 else s > 0
    if not keep.any():
        return np.nan
    within = (X - means[codes]) @ Vt[keep].T  # within-class scatter along the between directions
    return float(np.sum((within ** 2).sum(axis=0) / X.shape[0] * K / s[keep] ** 2) / K)


@dataclass(repr=False)
class Geometry(Result):
    """Geometry of classifiers (and features) along a path; ``data`` holds the xarray Dataset.

    ``geometry(fit)["w_cos"]`` indexes ``data`` directly.
    Examples
    --------
    >>> import classdep as cd
    >>> g = cd.geometry(cd.glmnet(cd.datasets.digits(), nlambda=3))
    >>> g["w_cos"].sizes["class"]
    10
    """

    data: xr.Dataset

    def __getitem__(self, key):
        return self.data[key]

    _groups = (None,)

    @property
    def step(self) -> bool:
        """Two class sizes (step imbalance): the majority/minority summaries are present."""
        return "w_norm_ratio" in self.data

    def _table(self) -> Table:
        d = self.data
        lam = d["lambda"].values
        lines = [f"Classifier geometry of {d.attrs['source']} ({d.sizes['class']} classes, "
                 f"{lam.size} lambda{'s' if lam.size > 1 else ''})", ""]
        head = ["Lambda", "equinorm", "equiangular", "to ETF"]
        if self.step:
            head += ["|wM|/|wm|", "cos MM", "cos mm", "cos Mm"]
        rows = [tuple(head)]
        show = np.unique(np.linspace(0, lam.size - 1, min(lam.size, 8)).round().astype(int))
        for j in show:
            r = [f"{lam[j]:.4g}", f"{d['w_equinorm'].values[j]:.4f}", f"{d['w_equiangular'].values[j]:.4f}",
                 f"{d['w_maxangle'].values[j]:.4f}"]
            if self.step:
                r += [f"{d['w_norm_ratio'].values[j]:.4f}"] + [f"{v:.4f}" for v in d["w_pair_cos"].values[j]]
            rows.append(tuple(r))
        lines += format_table(rows)
        if "nc1" in d:
            line = (f"Features (centred: {d.attrs['center']}): NC1 {float(d['nc1']):.4g}, equinorm "
                    f"{float(d['h_equinorm']):.4f}, equiangular {float(d['h_equiangular']):.4f}, to ETF "
                    f"{float(d['h_maxangle']):.4f}")
            if self.step:
                line += (f"; |hM|/|hm| {float(d['h_norm_ratio']):.4f}, cos MM/mm/Mm "
                         + "/".join(f"{v:.4f}" for v in d["h_pair_cos"].values))
            lines += ["", line]
        return Table(lines)


def _from_object(obj):
    """``(W (L,K,d), b (L,K), lambdas, classes, counts or None, features or None, source)``."""
    if isinstance(obj, CVGlmnet):
        W, b, lam, cls, _, _, _ = _from_object(obj.fit)
        n = obj.results["n"].sum("fold").isel({"lambda": 0}).values.astype(float)
        return W, b, lam, cls, n, None, "cv_glmnet()"
    if isinstance(obj, GlmnetFit):
        p = obj.path
        n = p["n"].values.astype(float) if "n" in p else None  # fits saved before 'n' lack it
        return (p["coef"].values, p["intercept"].values, p["lambda"].values, p["class"].values, n, None,
                "glmnet()")
    if isinstance(obj, UFM):
        W = obj.W.values[None]
        n = obj.counts.values.astype(float)
        return (W, np.zeros((1, W.shape[1])), np.array([obj.lambda_]), obj.data["class"].values, n,
                obj.H.values, "ufm()")
    raise TypeError(f"geometry() needs a glmnet() fit, a cv_glmnet() result or a ufm() solution; got "
                    f"{type(obj).__name__}.")


def geometry(obj, x=None, y=None, center: str | None = None) -> Geometry:
    """Norms and angles of the classifiers along the path, and of the class means of features.

    Parameters
    ----------
    obj : GlmnetFit, CVGlmnet or UFM
        A path (:func:`classdep.glmnet`), a sweep (its full-data path) or a solution of the
        unconstrained-features model (:func:`classdep.analysis.ufm`; its embeddings are the
        features, one per class).
    x, y : features and labels, optional
        The features the classifiers act on (as for :func:`classdep.glmnet`, an ``as_features``
        Dataset gives both); they add the class-mean and neural-collapse summaries.
    center : {"global", "classes", "none"}, optional
        What the class means are centred by: the mean of all samples (default for features),
        the unweighted mean of the class means, or nothing (default for a UFM, whose closed
        forms are stated for the raw embeddings of a bias-free model).

    Returns
    -------
    Geometry
        ``data`` (xr.Dataset): per (``lambda``, ``class``) ``w_norm``, ``intercept``; per
        (``lambda``, ``class``, ``class2``) ``w_cos``; per ``lambda`` ``w_equinorm``,
        ``w_equiangular``, ``w_maxangle``; with features ``h_norm`` (``class``), ``h_cos``
        (``class``, ``class2``), ``nc1``, ``h_equinorm``, ``h_equiangular``, ``h_maxangle``,
        ``wh_cos`` (``lambda``, ``class``), ``self_duality`` (``lambda``); coordinate ``n``
        (class sizes) when known, and with two class sizes ``role`` (majority/minority) and the summaries
        (see the module docstring).  ``classdep.plot`` draws it.

    Examples
    --------
    >>> import classdep as cd
    >>> ds = cd.datasets.make_mixture(n_classes=4, n_samples=440, imbalance="step", ratio=10, seed=0)
    >>> g = cd.geometry(cd.glmnet(ds, lambda_=[1.0, 0.1]), ds)
    >>> g["w_cos"].dims, g["w_pair_cos"].dims
    (('lambda', 'class', 'class2'), ('lambda', 'pair'))
    """
    W, b, lam, classes, n, feats, source = _from_object(obj)
    if center is None:
        center = "none" if isinstance(obj, UFM) else "global"
    check_choice(center, CENTERS, "center")
    K = W.shape[1]
    if K < 2:
        raise ValueError("geometry() needs at least two classes.")
    norms = np.linalg.norm(W, axis=2)
    U = _unit(W)
    cos = U @ np.swapaxes(U, 1, 2)
    eqn, eqa, mxa = _spread(norms, cos)
    coords = {"lambda": lam, "class": classes, "class2": classes}
    ds = xr.Dataset(
        {"w_norm": (("lambda", "class"), norms), "intercept": (("lambda", "class"), b),
         "w_cos": (("lambda", "class", "class2"), cos), "w_equinorm": ("lambda", eqn),
         "w_equiangular": ("lambda", eqa), "w_maxangle": ("lambda", mxa)},
        coords=coords,
    )
    X = codes = None
    if x is not None or (y is not None and not isinstance(obj, UFM)):
        if isinstance(obj, UFM):
            raise ValueError("a ufm() solution carries its own embeddings; geometry() takes no x, y for it.")
        X, yy, _ = features_and_labels(x, y)
        codes, ycls = check_labels(yy, X.shape[0])
        idx = check_class_names([str(c) for c in ycls], [str(c) for c in classes], "y")
        codes = idx[codes]
        if X.shape[1] != W.shape[2]:
            raise ValueError(f"x has {X.shape[1]} features but the classifiers have {W.shape[2]}; pass the "
                             "features the model was fitted on.")
        n = np.bincount(codes, minlength=K).astype(float)
        if (n == 0).any():
            raise ValueError(f"y has no sample of class {classes[int(np.argmin(n))]!r}; class means need "
                             "every class present.")
        means = np.zeros((K, X.shape[1]))
        np.add.at(means, codes, X)
        means /= n[:, None]
    elif feats is not None:
        means = feats
    else:
        means = None
    if means is not None:
        c = {"global": (n[:, None] * means).sum(0) / n.sum() if n is not None else means.mean(0),
             "classes": means.mean(0), "none": np.zeros(means.shape[1])}[center]
        Mc = means - c
        hn = np.linalg.norm(Mc, axis=1)
        Uh = _unit(Mc)
        hc = Uh @ Uh.T
        heqn, heqa, hmxa = _spread(hn, hc)
        Uw = W / np.linalg.norm(W, axis=(1, 2), keepdims=True)
        ds = ds.assign(
            h_norm=("class", hn), h_cos=(("class", "class2"), hc),
            nc1=((), _nc1(X, codes, means, Mc) if X is not None else 0.0),
            h_equinorm=((), heqn), h_equiangular=((), heqa), h_maxangle=((), hmxa),
            wh_cos=(("lambda", "class"), np.sum(U * Uh[None], axis=2)),
            self_duality=("lambda", ((Uw - Mc / np.linalg.norm(Mc)) ** 2).sum(axis=(1, 2))),
        )
    if n is not None:
        ds = ds.assign_coords(n=("class", n))
        sizes = np.unique(n)
        if sizes.size == 2:
            major = n == sizes[1]
            ds = ds.assign_coords(role=("class", np.where(major, "majority", "minority")))
            ds = ds.assign(
                w_norm_ratio=("lambda", norms[:, major].mean(1) / norms[:, ~major].mean(1)),
                w_pair_cos=(("lambda", "pair"), np.array([[pair_mean(cj, major, p) for p in PAIRS]
                                                          for cj in cos])),
            ).assign_coords(pair=list(PAIRS))
            if means is not None:
                wh = ds["wh_cos"].values
                ds = ds.assign(
                    h_norm_ratio=((), hn[major].mean() / hn[~major].mean()),
                    h_pair_cos=("pair", np.array([pair_mean(hc, major, p) for p in PAIRS])),
                    wh_group_cos=(("lambda", "group"),
                                  np.stack([wh[:, major].mean(1), wh[:, ~major].mean(1)], axis=1)),
                ).assign_coords(group=list(GROUPS))
    ds.attrs = dict(classdep_object="Geometry", source=source, center=center if means is not None else "n/a")
    return Geometry(ds)
