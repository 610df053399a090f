"""Grouped data for discriminant analysis: features, group codes, class and feature names.

``lda``, ``manova`` and ``separability`` take the same inputs (a matrix and its labels, an
``as_features`` Dataset, or a formula with a DataFrame) and may keep only some classes
(``classes=``, e.g. the set found by :func:`~classdep.ambiguous`).  This module turns
every such input into plain arrays, once: a formula through formulaic, everything else
through :func:`classdep.inputs.features_and_labels`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import xarray as xr

from ..inputs import features_and_labels
from ..validation import check_class_names, check_formula, check_labels, check_unique

__all__ = ["Grouped", "grouped_data", "class_list"]


@dataclass
class Grouped:
    """Features ``X`` (n, p) float64, group codes ``g`` (n,) into ``classes``, and names."""

    X: np.ndarray
    g: np.ndarray
    classes: np.ndarray
    features: np.ndarray
    spec: Any = None  # formulaic ModelSpec when the data came through a formula
    formula: str | None = None

    @property
    def counts(self) -> np.ndarray:
        return np.bincount(self.g, minlength=self.classes.size)


def class_list(classes: Any) -> list[str] | None:
    """Class names from a sequence or from a result that names a set (``.classes``)."""
    if classes is None:
        return None
    if hasattr(classes, "classes") and not isinstance(classes, (list, tuple, np.ndarray)):
        classes = classes.classes
    if isinstance(classes, xr.DataArray):
        classes = classes.values
    if isinstance(classes, str):
        classes = [classes]
    names = [str(c) for c in check_unique(list(classes), "classes")]
    if len(names) < 2:
        raise ValueError(f"classes={names} names fewer than two classes; discriminant analysis needs two.")
    return names


def _from_formula(formula: str, data) -> tuple[Any, Any, Any]:
    from formulaic import model_matrix

    lhs = check_formula(formula, data)
    try:
        mm = model_matrix(formula, data, na_action="raise")
    except Exception as exc:  # noqa: BLE001 - formulaic raises many types; say which formula failed
        raise ValueError(f"formula {formula!r} could not be evaluated on data: {exc}") from exc
    rhs = mm.rhs if hasattr(mm, "rhs") else mm
    # R's MASS drops the intercept column of the model matrix: it would be constant within groups
    keep = [c for c in rhs.columns if c != "Intercept"]
    if not keep:
        raise ValueError(f"formula {formula!r} has no predictors; name some, e.g. 'label ~ .'.")
    X = rhs[keep]
    return X, data[lhs], rhs.model_spec


def grouped_data(x: Any, grouping: Any = None, classes: Any = None, *, data: Any = None,
                 name: str = "x") -> Grouped:
    """Arrays for discriminant analysis from any accepted input; keeps only ``classes``.

    Parameters
    ----------
    x : array-like (n, p), DataFrame, DataArray (sample, feature), features Dataset or str
        A string is a formula ``"label ~ terms"`` evaluated on ``data`` by formulaic.
    grouping : array-like (n,), optional
        Class labels; taken from the Dataset (``y`` with its ``class`` names) when omitted.
    classes : sequence of labels or a result with ``.classes``, optional
        Keep only the samples of these classes, in this order.  When the labels are integer
        codes and ``classes`` names classes, a result carrying ``all_classes`` (the names of
        the codes, as :class:`~classdep.Ambiguous` does) maps one to the other.

    Examples
    --------
    >>> gd = grouped_data(np.eye(4), ["a", "b", "a", "c"], classes=["c", "a"])
    >>> gd.classes.tolist(), gd.g.tolist()
    (['c', 'a'], [1, 1, 0])
    """
    spec = formula = None
    if isinstance(x, str):
        formula = x
        x, grouping, spec = _from_formula(x, data)
    X, grouping, names = features_and_labels(x, grouping, name=name, labels_name="grouping",
                                             dtype=np.float64, out_of_core=False)
    features = np.asarray(names)
    codes, found = check_labels(grouping, n=X.shape[0], name="grouping")
    found_names = [str(c) for c in found]
    wanted = class_list(classes)
    if wanted is None:
        return Grouped(X, codes, np.asarray(found_names), features, spec, formula)
    if not set(wanted) <= set(found_names) and np.issubdtype(found.dtype, np.integer):
        # integer codes with named classes: translate through the names the codes stand for
        allc = getattr(classes, "all_classes", None)
        if allc is not None and found.min() >= 0 and found.max() < len(allc):
            found_names = [str(allc[int(c)]) for c in found]
    pos = check_class_names(wanted, found_names, name="classes")
    remap = np.full(len(found_names), -1)
    remap[pos] = np.arange(len(wanted))
    new = remap[codes]
    keep = new >= 0
    return Grouped(X[keep], new[keep], np.asarray(wanted), features, spec, formula)
