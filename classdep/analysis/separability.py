"""How separable a set of classes is in several representations of the same samples.

Given feature sets of the same samples along a leading dim (``alpha`` for the upstream
weight decays of :func:`~classdep.datasets.fashion_mnist_features`, or any name), each
representation is scored on the chosen classes (typically an :func:`~classdep.ambiguous`
set) by

* ``fisher`` and ``mahalanobis`` per class pair (:func:`~classdep.pairwise_separation`),
* ``cv_accuracy``: accuracy of :func:`~classdep.lda` out of fold (scikit-learn's
  ``StratifiedKFold``), and from the same out-of-fold posteriors ``pair_accuracy`` per pair
  (the classifier restricted to the two classes, Bitterwolf et al. 2022) and its minimum
  ``worst_pair_accuracy`` (W2CA),
* ``prop_trace`` of the discriminants and ``pillai``: Pillai's trace of the one-way
  MANOVA (between 0 and K - 1; larger is more separable).

Features constant within the classes (dead ReLU units, say), overall or in any training
fold, are dropped per representation and counted in ``n_features``: they carry no
discriminating information and make the within-group covariance singular.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import xarray as xr

from ..inputs import dataset_features
from ..metrics import classwise_scores
from ..result import Result, Table
from ..validation import check_folds, check_int, check_shrinkage
from ._grouped import Grouped, grouped_data
from .lda import fit_grouped
from .manova import check_grouped, pairwise_grouped

__all__ = ["Separability", "separability"]


@dataclass(repr=False)
class Separability(Result):
    """Separability of a set of classes across representations.

    Attributes
    ----------
    data : xr.Dataset
        Over (``<dim>``, ``pair``): ``fisher``, ``mahalanobis``, ``pair_accuracy``; over
        ``<dim>``: ``cv_accuracy``, ``worst_pair_accuracy``, ``worst_pair``, ``pillai``,
        ``n_features``; over (``<dim>``, ``LD``): ``prop_trace``.  ``pair`` carries the
        coordinates ``class`` and ``class2``; ``attrs`` the settings and the dim's name.
    Examples
    --------
    >>> import numpy as np, xarray as xr
    >>> import classdep as cd
    >>> rng = np.random.default_rng(0)
    >>> y = np.repeat([0, 1, 2], 40)
    >>> X = xr.DataArray(np.stack([rng.normal(size=(120, 3)) + s * np.eye(3)[y] for s in (1.0, 3.0)]),
    ...                  dims=("alpha", "sample", "feature"), coords={"alpha": [0.1, 1.0]})
    >>> sep = cd.separability(X, y)
    >>> bool(sep.data["cv_accuracy"].sel(alpha=1.0) > sep.data["cv_accuracy"].sel(alpha=0.1))
    True
    """

    data: xr.Dataset

    @property
    def dim(self) -> str:
        return str(self.data.attrs["dim"])

    def __getitem__(self, key: str) -> xr.DataArray:
        return self.data[key]

    _groups = ("separability",)

    @classmethod
    def _from_groups(cls, g) -> Separability:
        ds = g["separability"]
        ds.attrs["classes"] = [str(c) for c in np.atleast_1d(ds.attrs["classes"])]
        return cls(ds)

    def _table(self) -> Table:
        d = self.data
        a = d.attrs
        lines = [f"Separability of {len(a['classes'])} classes ({', '.join(a['classes'])}) across "
                 f"{d.sizes[self.dim]} representations ({self.dim}); LDA {a['nfolds']}-fold CV", ""]
        rows = [(self.dim, "features", "cv_acc", "worst_pair_acc", "worst pair", "min_fisher", "pillai",
                 "LD1 trace")]
        for i, v in enumerate(d[self.dim].values):
            r = d.isel({self.dim: i})
            rows.append((f"{v:g}" if np.issubdtype(np.asarray(v).dtype, np.number) else str(v),
                         str(int(r["n_features"])), f"{float(r['cv_accuracy']):.4f}",
                         f"{float(r['worst_pair_accuracy']):.4f}", str(r["worst_pair"].values),
                         f"{float(r['fisher'].min()):.4g}", f"{float(r['pillai']):.4f}",
                         f"{float(r['prop_trace'].isel(LD=0)):.4f}"))
        return Table(lines, rows)


def _representations(features: Any, y: Any, dim: str | None) -> tuple[str, list, list, Any]:
    """(dim name, its values, one 2-D feature object per representation, labels)."""
    if isinstance(features, xr.Dataset):
        features, y = dataset_features(features, y, name="features")
    if isinstance(features, xr.DataArray):
        lead = [d for d in features.dims if d not in ("sample", "feature")]
        if features.ndim != 3 or len(lead) != 1:
            raise ValueError(f"features has dims {features.dims}; separability needs one leading dim "
                             "(the representation, e.g. 'alpha') besides ('sample', 'feature').")
        name = lead[0] if dim is None else dim
        if name != lead[0]:
            raise ValueError(f"dim={dim!r} is not the representation dim of features ({lead[0]!r}).")
        vals = features[name].values if name in features.coords else np.arange(features.sizes[name])
        return name, list(vals), [features.isel({name: i}) for i in range(len(vals))], y
    if isinstance(features, Mapping):
        return dim or "representation", [str(k) for k in features], list(features.values()), y
    if isinstance(features, Sequence) and not isinstance(features, str):
        return dim or "representation", list(range(len(features))), list(features), y
    raise TypeError(f"features of type {type(features).__name__} is not a Dataset/DataArray with a leading "
                    "representation dim, a mapping of name to matrix, or a sequence of matrices.")


def _informative(gd: Grouped, folds: np.ndarray, tol: float) -> np.ndarray:
    """Features whose within-group sd reaches ``tol`` overall and in every training fold."""
    keep = np.ones(gd.X.shape[1], dtype=bool)
    for f in [None, *np.unique(folds)]:
        rows = np.ones(gd.g.size, dtype=bool) if f is None else folds != f
        X, g = gd.X[rows], gd.g[rows]
        K = gd.classes.size
        means = np.zeros((K, X.shape[1]))
        np.add.at(means, g, X)
        means /= np.maximum(np.bincount(g, minlength=K), 1)[:, None]
        keep &= (X - means[g]).std(axis=0, ddof=1) >= tol
    return keep


def _one(gd: Grouped, folds: np.ndarray, shrinkage, tol: float) -> dict[str, Any]:
    from statsmodels.multivariate.manova import MANOVA

    keep = _informative(gd, folds, tol)
    if not keep.any():
        raise ValueError("every feature is constant within the classes in this representation.")
    gd = Grouped(gd.X[:, keep], gd.g, gd.classes, gd.features[keep])
    K = gd.classes.size
    check_grouped(gd)
    fit = fit_grouped(gd, None, tol, "moment", shrinkage, "lda(x, grouping)")
    # out-of-fold posteriors of LDA fitted on the other folds
    from ..generics import predict

    post = np.empty((gd.g.size, K))
    for f in np.unique(folds):
        tr = folds != f
        sub = Grouped(gd.X[tr], gd.g[tr], gd.classes, gd.features)
        m = fit_grouped(sub, None, tol, "moment", shrinkage, "lda(x, grouping)")
        post[~tr] = predict(m, gd.X[~tr])["posterior"].values
    sc = classwise_scores(post, gd.g)
    dummies = (gd.g[:, None] == np.arange(1, K)[None, :]).astype(float)
    mv = MANOVA(gd.X, np.column_stack([np.ones(gd.g.size), dummies]))
    L = np.column_stack([np.zeros(K - 1), np.eye(K - 1)])
    stat = mv.mv_test(hypotheses=[("group", L)]).results["group"]["stat"]
    pillai = float(stat.loc["Pillai's trace", "Value"])
    pt = np.full(K - 1, np.nan)
    pt[: fit.prop_trace.size] = fit.prop_trace.values
    return {"pairwise": pairwise_grouped(gd), "pair_accuracy": sc["pairwise_accuracy"][:, :, 0],
            "cv_accuracy": float(sc["accuracy"][0]), "pillai": pillai, "prop_trace": pt,
            "n_features": int(keep.sum())}


def separability(features: Any, y: Any = None, classes: Any = None, *, dim: str | None = None,
                 nfolds: int = 5, shrinkage=None, tol: float = 1e-4, seed: int = 0) -> Separability:
    """Separability of a set of classes in each of several representations of the same samples.

    Parameters
    ----------
    features : xr.Dataset, xr.DataArray, mapping or sequence
        Feature sets of the same samples: an ``as_features``-like Dataset whose ``X`` has a
        leading dim (e.g. ``fashion_mnist_features(alpha=[...])``), a 3-D DataArray
        (``<dim>``, ``sample``, ``feature``), a mapping ``name -> matrix`` or a sequence of
        matrices (dim ``"representation"``).  The number of features may differ between
        representations given as a mapping or sequence.
    y : array-like (n,), optional
        Class labels, shared by all representations (from the Dataset when omitted).
    classes : sequence or an :class:`~classdep.Ambiguous`, optional
        The classes to compare (default: all).
    dim : str, optional
        Name of the representation dim (default: the leading dim, or ``"representation"``).
    nfolds : int
        Folds of the cross-validated LDA accuracy (stratified, shuffled with ``seed``; the same
        folds for every representation).
    shrinkage : None, "auto" or float
        Passed to :func:`~classdep.lda`.
    tol : float
        Features with within-class sd below ``tol`` are dropped (see the module notes).
    seed : int

    Returns
    -------
    Separability
        ``data``: an :class:`xarray.Dataset` over (``<dim>``, ``pair``) and (``<dim>``, ``LD``).

    Examples
    --------
    >>> import numpy as np, classdep as cd
    >>> rng = np.random.default_rng(0)
    >>> y = np.repeat([0, 1, 2], 40)
    >>> reps = {"near": rng.normal(size=(120, 3)) + 0.3 * y[:, None],
    ...         "far": rng.normal(size=(120, 3)) + 3.0 * y[:, None]}
    >>> sep = cd.separability(reps, y, nfolds=3)
    >>> bool(sep["cv_accuracy"].sel(representation="far") > sep["cv_accuracy"].sel(representation="near"))
    True
    """
    from sklearn.model_selection import StratifiedKFold

    nfolds = check_int(nfolds, "nfolds", minimum=2)
    seed = check_int(seed, "seed", minimum=0)
    shrinkage = check_shrinkage(shrinkage)
    name, values, mats, y = _representations(features, y, dim)
    if not mats:
        raise ValueError("features holds no representation; give at least one.")
    if y is None:
        raise ValueError("y is missing: pass one class label per sample.")
    n0 = np.shape(getattr(mats[0], "X", mats[0]))[0]
    for v, m in zip(values, mats, strict=True):
        n = np.shape(getattr(m, "X", m))[0]
        if n != n0:
            raise ValueError(f"representation {v!r} has {n} samples, the first has {n0}; all must "
                             "describe the same samples, in the same order.")
    grouped = [grouped_data(m, y, classes, name=f"features[{v}]") for v, m in zip(values, mats, strict=True)]
    g0 = grouped[0]
    check_folds(g0.g, g0.classes, nfolds)
    folds = np.empty(g0.g.size, dtype=np.int64)
    splitter = StratifiedKFold(n_splits=nfolds, shuffle=True, random_state=seed)
    for m, (_, test) in enumerate(splitter.split(np.zeros(g0.g.size), g0.g)):
        folds[test] = m
    res = [_one(gd, folds, shrinkage, tol) for gd in grouped]
    cls = [str(c) for c in g0.classes]
    K = len(cls)
    iu = np.triu_indices(K, 1)
    pairs = [f"{cls[i]} / {cls[j]}" for i, j in zip(*iu, strict=True)]

    def per_pair(get):
        return np.stack([get(r)[iu] for r in res])

    pair_acc = per_pair(lambda r: r["pair_accuracy"])
    worst = pair_acc.argmin(axis=1)
    data = xr.Dataset(
        {"fisher": ((name, "pair"), per_pair(lambda r: r["pairwise"]["fisher"].values)),
         "mahalanobis": ((name, "pair"), per_pair(lambda r: r["pairwise"]["mahalanobis"].values)),
         "pair_accuracy": ((name, "pair"), pair_acc),
         "cv_accuracy": (name, [r["cv_accuracy"] for r in res]),
         "worst_pair_accuracy": (name, pair_acc.min(axis=1)),
         "worst_pair": (name, np.asarray([pairs[j] for j in worst])),
         "pillai": (name, [r["pillai"] for r in res]),
         "n_features": (name, [r["n_features"] for r in res]),
         "prop_trace": ((name, "LD"), np.stack([r["prop_trace"] for r in res]))},
        coords={name: values, "pair": pairs, "class": ("pair", [cls[i] for i in iu[0]]),
                "class2": ("pair", [cls[j] for j in iu[1]]), "LD": [f"LD{j + 1}" for j in range(K - 1)]},
        attrs={"dim": name, "classes": cls, "nfolds": nfolds, "seed": seed, "tol": tol,
               "shrinkage": "none" if shrinkage is None else str(shrinkage)},
    )
    return Separability(data)
