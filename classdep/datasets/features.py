"""The features data model: one :class:`xarray.Dataset` per feature matrix.

Every loader in :mod:`classdep.datasets` returns what :func:`as_features` returns:

- ``X`` (``sample``, ``feature``): float32 or float64 features;
- ``y`` (``sample``): int64 class codes ``0..K-1``;
- coordinate ``class`` (``class``): the class names, code ``k`` stands for ``class[k]``;
- coordinates ``sample`` and ``feature``;
- optionally a ``split`` coordinate over ``sample`` ("train"/"test"), see
  :func:`select_split`;
- ``attrs``: provenance (``source`` and the settings that made the data).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from ..inputs import features_and_labels
from ..validation import check_class_names, check_labels, check_unique

__all__ = ["as_features", "select_split"]


def _type_name(obj: Any) -> str:
    return type(obj).__module__.split(".")[0] + "." + type(obj).__name__


def _as_names(values: Any) -> np.ndarray:
    """Names as a NumPy array: integers stay int64, everything else becomes str."""
    arr = np.asarray(values)
    if np.issubdtype(arr.dtype, np.integer):
        return arr.astype(np.int64)
    if np.issubdtype(arr.dtype, np.floating) and np.all(arr == np.round(arr)):
        return arr.astype(np.int64)
    return arr.astype(str)


def _coords(X: Any) -> tuple[Any, Any]:
    """The sample and feature coordinates the features ``X`` carry (or None), as they are."""
    if isinstance(X, xr.DataArray):
        dims = tuple(X.dims)
        if len(dims) == 2 and all(str(d).startswith("dim_") for d in dims):  # unlabelled: rows are samples
            X = X.rename({dims[0]: "sample", dims[1]: "feature"})
        return (X["sample"].values if "sample" in X.coords else None,
                X["feature"].values if "feature" in X.coords else None)
    if isinstance(X, pd.DataFrame):
        return X.index.to_numpy(), X.columns.to_numpy()
    return None, None


def as_features(
    X: Any,
    y: Any = None,
    classes: Sequence | Mapping | None = None,
    feature_names: Sequence | None = None,
    *,
    attrs: Mapping[str, Any] | None = None,
) -> xr.Dataset:
    """Put a feature matrix and its labels into classdep's features Dataset.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features) or xarray.Dataset
        Features: a NumPy array, a pandas DataFrame (its columns name the features and
        its index the samples), an :class:`xarray.DataArray` with dims
        (``sample``, ``feature``), or an :class:`xarray.Dataset` holding ``X`` and ``y``
        (then ``y`` may be omitted, and the Dataset's ``class`` coordinate names its codes).
        Float32 stays float32; every other numeric dtype becomes float64.
    y : array-like of shape (n_samples,)
        Class labels: integers (any values, not necessarily contiguous), strings, whole
        floats, a pandas Series (categoricals keep their category order) or a DataArray.
    classes : sequence or mapping, optional
        The classes in the order their codes should take. A sequence lists labels as
        they appear in ``y`` (they may include classes absent from ``y``); a mapping
        ``{label: name}`` orders the classes by its keys and names them by its values.
        By default, the sorted unique labels (or a categorical's categories).
    feature_names : sequence, optional
        One unique name per column of ``X``; default the DataFrame's columns, the
        DataArray's ``feature`` coordinate, or ``0..n_features-1``.
    attrs : mapping, optional
        Provenance to record in ``attrs`` (default ``{"source": "as_features(<type>)"}``).

    Returns
    -------
    xarray.Dataset
        ``X`` (``sample``, ``feature``), ``y`` (``sample``, int64 codes ``0..K-1``),
        coordinates ``sample``, ``feature`` and ``class`` (the class names).

    Raises
    ------
    ValueError
        NaN/inf features, a label/feature length mismatch, a single class, labels not
        among ``classes``, repeated class or feature names, wrong dims.
    TypeError
        Non-numeric features.

    Examples
    --------
    >>> import numpy as np
    >>> ds = as_features(np.eye(3), ["cat", "dog", "cat"])
    >>> ds.y.values.tolist(), ds["class"].values.tolist()
    ([0, 1, 0], ['cat', 'dog'])
    >>> ds = as_features(np.eye(3), [7, 3, 7], classes={7: "seven", 3: "three"})
    >>> ds.y.values.tolist(), ds["class"].values.tolist()
    ([0, 1, 0], ['seven', 'three'])
    """
    base_attrs: dict[str, Any] = {"source": f"as_features({_type_name(X)})"}
    extra_coords: dict[str, Any] = {}
    # the forms accepted, their orientation and the labels of a Dataset: classdep.inputs
    x, y, _ = features_and_labels(X, y, name="X", out_of_core=False)
    if isinstance(X, xr.Dataset):
        base_attrs = dict(X.attrs) or base_attrs
        extra_coords = {
            k: v.variable
            for k, v in X.coords.items()
            if k not in ("sample", "feature", "class") and v.dims == ("sample",)
        }
        X = X["X"]
    samples, features = _coords(X)
    n, d = x.shape
    if isinstance(y, pd.Series) and samples is None:
        samples = y.index.to_numpy()
    codes, found = check_labels(y, n=n, name="y")

    if classes is not None:
        if isinstance(classes, Mapping):
            keys = check_unique(list(classes.keys()), "classes")
            names = check_unique([classes[k] for k in classes], "class names (classes.values())")
        else:
            keys = check_unique(list(classes), "classes")
            names = keys
        # position of each found label among the given classes; unknown labels raise
        try:
            where = check_class_names(found.tolist(), keys.tolist(), name="y")
        except ValueError as exc:
            raise ValueError(
                f"{exc} Add the missing labels to classes= or drop those samples."
            ) from None
        codes = where[codes]
        class_names = _as_names(names)
    else:
        class_names = _as_names(found)

    if feature_names is not None:
        features = feature_names
    if features is None:
        features = np.arange(d, dtype=np.int64)
    features = check_unique(_as_names(features), "feature_names")
    if features.size != d:
        raise ValueError(
            f"feature_names has {features.size} names but X has {d} features; give one per column."
        )
    if samples is None or len(samples) != n:
        samples = np.arange(n, dtype=np.int64)
    else:
        samples = np.asarray(samples)
        if samples.dtype == object:
            samples = samples.astype(str)

    ds = xr.Dataset(
        {
            "X": (("sample", "feature"), x),
            "y": ("sample", np.asarray(codes, dtype=np.int64)),
        },
        coords={"sample": samples, "feature": features, "class": class_names, **extra_coords},
        attrs=dict(base_attrs) if attrs is None else dict(attrs),
    )
    return ds


def select_split(ds: xr.Dataset, split: str) -> xr.Dataset:
    """The samples of one ``split`` ("train" or "test") of a features Dataset.

    Datasets from :func:`~classdep.datasets.fashion_mnist_features` and
    :func:`~classdep.datasets.make_mixture` carry a ``split`` coordinate over
    ``sample``; this keeps the samples whose ``split`` equals ``split``.

    Parameters
    ----------
    ds : xarray.Dataset
        A features Dataset with a ``split`` coordinate.
    split : str
        The split to keep.

    Returns
    -------
    xarray.Dataset
        ``ds`` restricted to those samples (all other variables unchanged).

    Examples
    --------
    >>> import numpy as np
    >>> ds = as_features(np.eye(4), [0, 1, 0, 1])
    >>> ds = ds.assign_coords(split=("sample", ["train", "train", "test", "test"]))
    >>> select_split(ds, "test").sizes["sample"]
    2
    """
    if "split" not in ds.coords and "split" not in ds:
        raise ValueError(
            "this Dataset has no 'split' variable; it holds a single sample. "
            "Split it yourself, e.g. ds.isel(sample=slice(0, n_train))."
        )
    values = ds["split"].values
    known = sorted(set(values.tolist()))
    if split not in known:
        raise ValueError(f"split={split!r} is not one of the Dataset's splits {known}.")
    return ds.isel(sample=np.flatnonzero(values == split))
