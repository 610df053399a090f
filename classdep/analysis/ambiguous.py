"""Ambiguous classes: a set of classes that the model confuses with one another.

From the confusion matrix at one lambda, row-normalized to rates
``R[k, l] = P(pred = l | y = k)``, the symmetrized confusion ``S = (R + R') / 2`` (zero
diagonal) scores every pair.  The ambiguous set of size ``k`` is the set with the largest
within-set confusion ``sum_{i < j in set} S[i, j]``: searched exhaustively when there are at
most 200 000 candidate sets, grown greedily from the most confused pair otherwise.  Each
class's most-confused partner is ``argmax_{l != k} R[k, l]``, as in the confusion analysis of
Kirichenko et al. 2023.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import xarray as xr

from ..glmnet_fit import GlmnetFit
from ..result import Result, Table
from ..rtable import format_table
from ..sweep import CVGlmnet, Heldout
from ..validation import check_choice, check_class_names, check_int, check_labels
from .lda import left_rownames

__all__ = ["Ambiguous", "ambiguous"]

_EXHAUSTIVE = 200_000


@dataclass(repr=False)
class Ambiguous(Result):
    """A set of mutually confused classes.

    Attributes
    ----------
    table : xr.Dataset
        Over ``class`` (every class of the model): ``partner`` (most-confused other class),
        ``partner_rate`` (``P(pred = partner | y = class)``), ``error_rate`` and ``n``; over
        (``class``, ``predicted``): ``confusion`` counts (or expected counts for
        ``method="probability"``); ``attrs``: ``lambda``, ``s``, ``k``, ``method``, the set
        (``set``), its within-set confusion and share of all errors.

    ``classes`` is the set (most confused first) and ``sub`` its symmetrized confusion;
    pass the object itself as ``classes=`` to :func:`~classdep.lda`, :func:`~classdep.manova`
    or :func:`~classdep.separability`.
    Examples
    --------
    >>> import classdep as cd
    >>> cv = cd.cv_glmnet(cd.datasets.digits(), nfolds=3, nlambda=5, progress=False)
    >>> len(cd.ambiguous(cv, k=3).classes)
    3
    """

    table: xr.Dataset

    _groups = ("table",)

    def _datasets(self) -> dict[str, xr.Dataset]:
        t = self.table.copy()
        t.attrs = {**t.attrs, "set": list(map(str, self.classes))}
        return {"table": t}

    @classmethod
    def _from_groups(cls, g) -> Ambiguous:
        t = g["table"]
        t.attrs["set"] = [str(v) for v in np.atleast_1d(t.attrs["set"])]
        return cls(t)

    @property
    def classes(self) -> np.ndarray:
        """The ambiguous set, most confused first, as values of the ``class`` coordinate."""
        allc = self.all_classes
        pos = {str(c): i for i, c in enumerate(allc)}
        return allc[[pos[str(c)] for c in np.atleast_1d(self.table.attrs["set"])]]

    @property
    def all_classes(self) -> np.ndarray:
        """Every class of the model, in code order (to map integer labels to names)."""
        return self.table["class"].values

    @property
    def rates(self) -> xr.DataArray:
        """Row-normalized confusion ``P(pred = l | y = k)`` over (``class``, ``predicted``)."""
        C = self.table["confusion"]
        return (C / C.sum("predicted")).rename("rate")

    @property
    def symmetric(self) -> xr.DataArray:
        """Symmetrized confusion rates ``(R + R') / 2`` over (``class``, ``class2``), zero diagonal."""
        R = self.rates.values
        S = 0.5 * (R + R.T)
        np.fill_diagonal(S, 0.0)
        names = self.all_classes
        return xr.DataArray(S, dims=("class", "class2"), coords={"class": names, "class2": names},
                            name="symmetric_confusion")

    @property
    def sub(self) -> xr.DataArray:
        """The symmetrized confusion within the set, over (``class``, ``class2``)."""
        c = list(self.classes)
        return self.symmetric.sel({"class": c, "class2": c})

    def __iter__(self):
        return iter(self.classes.tolist())

    def __len__(self) -> int:
        return self.classes.size

    def _table(self) -> Table:
        a = self.table.attrs
        K = self.table.sizes["class"]
        named = "" if str(a["s"]).startswith("lambda =") else f" ({a['s']})"  # a value is not named twice
        where = f"lambda = {a['lambda']:.4g}{named}" if np.isfinite(a["lambda"]) else str(a["s"])
        lines = [f"Ambiguous classes: {len(self)} of {K} ({a['source']} {a['method']} at {where})", "",
                 "Symmetrized confusion, % of the class's samples ((P(l|k) + P(k|l)) / 2):"]
        cls = [str(c) for c in self.classes]
        S = 100 * self.sub.values
        lines += format_table(left_rownames([[""] + cls] + [[cls[i]] + ["." if i == j else f"{S[i, j]:.2f}"
                                                                        for j in range(len(cls))]
                                                            for i in range(len(cls))]))
        lines += ["", "Most-confused partner:"]
        t = self.table
        rows = [("class", "partner", "P(partner|class)", "error rate", "n")]
        for c in self.classes:
            r = t.sel({"class": c})
            rows.append((str(c), str(r["partner"].values), f"{100 * float(r['partner_rate']):.2f}%",
                         f"{100 * float(r['error_rate']):.2f}%", f"{float(r['n']):.0f}"))
        lines += format_table(left_rownames(rows))
        lines += ["", f"Within-set confusion: {a['within_mass']:.4g} (sum of symmetrized rates over pairs); "
                      f"{100 * a['error_share']:.1f}% of all misclassified samples"]
        return Table(lines)

def _best_set(S: np.ndarray, k: int) -> tuple[np.ndarray, float]:
    """The k indices with the largest sum of ``S`` over their pairs, and that sum."""
    K = S.shape[0]
    if math.comb(K, k) <= _EXHAUSTIVE:
        best, best_val = None, -np.inf
        iu = np.triu_indices(k, 1)
        for combo in itertools.combinations(range(K), k):
            c = np.asarray(combo)
            val = S[np.ix_(c, c)][iu].sum()
            if val > best_val + 1e-15:
                best, best_val = c, val
        chosen = list(best)
    else:
        i, j = np.unravel_index(np.argmax(np.triu(S, 1)), S.shape)
        chosen = [int(i), int(j)]
        while len(chosen) < k:
            gain = S[:, chosen].sum(axis=1)
            gain[chosen] = -np.inf
            chosen.append(int(np.argmax(gain)))
    c = np.asarray(chosen)
    # most confused first: order by each member's confusion with the rest of the set
    inner = S[np.ix_(c, c)].sum(axis=1)
    c = c[np.argsort(-inner, kind="stable")]
    return c, float(np.triu(S[np.ix_(c, c)], 1).sum())


def _cv_confusion(cv: CVGlmnet | Heldout, s) -> tuple[np.ndarray, float, str]:
    lam = cv.lambda_
    if isinstance(s, str):
        check_choice(s, ("lambda_min", "lambda_1se"), "s")
        j = cv.index["min" if s == "lambda_min" else "1se"]
    else:
        v = float(s)
        if not (np.isfinite(v) and v > 0):
            raise ValueError(f"s={s!r} must be 'lambda_min', 'lambda_1se' or a positive lambda on the grid.")
        j = int(np.argmin(np.abs(np.log(lam) - np.log(v))))
        if not np.isclose(lam[j], v, rtol=1e-6):
            raise ValueError(f"s={v:.6g} is not on the CV grid; the nearest grid value is {lam[j]:.6g}. "
                             "Pass a grid value (cv.lambda_) so that the out-of-fold confusion exists.")
        s = f"lambda = {lam[j]:.4g}"
    return cv.confusion.values[j].astype(float), float(lam[j]), str(s)


def _fit_confusion(fit: GlmnetFit, s, method: str, newx, y) -> tuple[np.ndarray, float, str]:
    from ..generics import predict

    if newx is None or y is None:
        raise ValueError("ambiguous() of a glmnet fit needs held-out data: pass newx= and y=.")
    lam = fit.path["lambda"].values
    if isinstance(s, str) or s is None:
        if lam.size != 1:
            raise ValueError(f"s={s!r}: a glmnet fit has no lambda_min; pass s= a lambda of its path "
                             "(or pass the cv_glmnet object).")
        s = float(lam[0])
    names = [str(c) for c in fit.path["class"].values]
    n = np.shape(getattr(newx, "X", newx))[0]
    codes, found = check_labels(y, n=n, name="y")
    found = [str(c) for c in found]
    if not set(found) <= set(names) and all(c.isdigit() and int(c) < len(names) for c in found):
        # integer codes of a features Dataset: y == k means class names[k]
        found = [names[int(c)] for c in found]
    pos = check_class_names(found, names, name="y")
    truth = pos[codes]
    K = len(names)
    if method == "confusion":
        pred = np.asarray(predict(fit, newx, s=s, type="class").values).astype(str)
        pcode = check_class_names(np.unique(pred).tolist(), names, name="prediction")
        lookup = dict(zip(np.unique(pred).tolist(), pcode.tolist(), strict=True))
        pc = np.asarray([lookup[v] for v in pred])
        C = np.zeros((K, K))
        np.add.at(C, (truth, pc), 1.0)
    else:
        P = np.asarray(predict(fit, newx, s=s, type="response").values, dtype=float)
        C = np.zeros((K, K))
        np.add.at(C, truth, P)  # expected confusion counts: rows true class, columns probability mass
    return C, float(s), f"lambda = {float(s):.4g}"


def ambiguous(cv_or_fit: CVGlmnet | Heldout | GlmnetFit, k: int = 4, s: Any = "lambda_min",
              method: str = "confusion", newx: Any = None, y: Any = None) -> Ambiguous:
    """The ``k`` classes the model confuses most among themselves, and each class's partner.

    Parameters
    ----------
    cv_or_fit : CVGlmnet, Heldout or GlmnetFit
        A :func:`~classdep.cv_glmnet` result (its out-of-fold confusion is used), an
        :func:`~classdep.assess` result (its held-out confusion), or a
        :func:`~classdep.glmnet` fit with held-out ``newx``, ``y``.
    k : int
        Size of the set (2 to the number of classes).
    s : "lambda_min", "lambda_1se" or float
        The lambda whose confusion is used: for a CV object a name or a grid value; for a
        fit a lambda of its path (optional when the path has one lambda).
    method : {"confusion", "probability"}
        Count predicted classes, or (for a fit) add up the predicted probabilities, a
        smoother "soft confusion" that also sees near misses.
    newx, y : optional
        Held-out features and labels, for a fit.

    Returns
    -------
    Ambiguous
        ``classes`` (the set), ``sub`` (its symmetrized confusion), ``table`` with each
        class's ``partner``; ``print`` shows them.

    Examples
    --------
    >>> import classdep as cd
    >>> ds = cd.datasets.make_mixture(n_classes=5, n_features=4, n_samples=300, seed=0)
    >>> cv = cd.cv_glmnet(ds, nfolds=3, nlambda=8, progress=False)
    >>> amb = cd.ambiguous(cv, k=3)
    >>> len(amb.classes)
    3
    """
    check_choice(method, ("confusion", "probability"), "method")
    if isinstance(cv_or_fit, Heldout) and s == "lambda_1se":
        raise ValueError("s='lambda_1se': a held-out result has one split, so no standard error across "
                         "folds and no lambda_1se; use s='lambda_min' or a lambda of its path.")
    if isinstance(cv_or_fit, CVGlmnet | Heldout):
        if method == "probability":
            raise ValueError("method='probability' needs predicted probabilities, which a cv_glmnet object "
                             "does not keep; use method='confusion', or a glmnet fit with newx=, y=.")
        if newx is not None or y is not None:
            raise ValueError("newx= and y= apply to a glmnet fit; a cv_glmnet object uses its "
                             "out-of-fold predictions.")
        C, lam, s_name = _cv_confusion(cv_or_fit, s)
        names = cv_or_fit.classes
        source = "held-out" if isinstance(cv_or_fit, Heldout) else "out-of-fold"
    elif isinstance(cv_or_fit, GlmnetFit):
        C, lam, s_name = _fit_confusion(cv_or_fit, s, method, newx, y)
        names = cv_or_fit.path["class"].values
        source = "held-out"
    else:
        raise TypeError(f"ambiguous() takes a cv_glmnet, assess or glmnet result; got "
                        f"{type(cv_or_fit).__name__}.")
    K = C.shape[0]
    k = check_int(k, "k", minimum=2)
    if k > K:
        raise ValueError(f"k={k} exceeds the {K} classes of the model; choose 2 <= k <= {K}.")
    n = C.sum(axis=1)
    if (n == 0).any():
        raise ValueError(f"class {names[np.argmax(n == 0)]!r} has no samples in the confusion matrix; "
                         "drop it or use data that contain it.")
    R = C / n[:, None]
    S = 0.5 * (R + R.T)
    np.fill_diagonal(S, 0.0)
    idx, within = _best_set(S, k)
    off = R.copy()
    np.fill_diagonal(off, -1.0)
    part = off.argmax(axis=1)
    errors = C.sum() - np.trace(C)
    inset = C[np.ix_(idx, idx)].sum() - np.trace(C[np.ix_(idx, idx)])
    table = xr.Dataset(
        {"confusion": (("class", "predicted"), C),
         "partner": ("class", np.asarray([str(names[j]) for j in part])),
         "partner_rate": ("class", R[np.arange(K), part]),
         "error_rate": ("class", 1.0 - np.diag(R)), "n": ("class", n)},
        coords={"class": names, "predicted": names},
        attrs={"lambda": lam, "s": s_name, "k": k, "method": method, "source": source,
               "set": [str(names[j]) for j in idx], "within_mass": within,
               "error_share": float(inset / errors) if errors > 0 else float("nan")},
    )
    return Ambiguous(table)
