"""What users pass as features and labels, read one way everywhere.

Every function that takes data (:func:`classdep.glmnet`, :func:`classdep.cv_glmnet`,
:func:`classdep.predict`, :func:`classdep.assess`, the refitting bootstrap,
:func:`classdep.geometry`, :func:`classdep.memory_plan`, the discriminant analyses and
:func:`classdep.datasets.as_features`) reads it through :func:`features_and_labels`, so
the forms it accepts, the orientation it gives them and the errors it raises are the
same everywhere:

- features: a NumPy array, a pandas DataFrame (its columns name the features), an
  :class:`xarray.DataArray` with dims (``sample``, ``feature``) in either order (or
  xarray's default ``dim_0``, ``dim_1`` of an unlabelled array: rows are samples), an :class:`xarray.Dataset`
  holding ``X`` and ``y`` (what :func:`~classdep.datasets.as_features` returns), or an
  out-of-core source (a NumPy memmap, a zarr or dask array, a dask-backed DataArray
  such as ``xr.open_zarr`` gives), which is checked without being read;
- labels: anything :func:`~classdep.validation.check_labels` takes, passed on as given,
  so that a pandas Categorical keeps its category order; a Dataset's integer codes ``y``
  come back as the names of its ``class`` coordinate.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import xarray as xr

from .solvers.chunked import is_out_of_core
from .validation import check_matrix, check_source

__all__ = ["features_and_labels", "dataset_features", "check_one_split"]


def check_one_split(obj: xr.Dataset | xr.DataArray, name: str = "x") -> None:
    """Refuse features that hold several splits (a ``split`` coordinate with two values or more).

    The study's protocol depends on which images the backbone saw: fitting or scoring on
    the training and the test images at once would mix them without a word.

    Examples
    --------
    >>> da = xr.DataArray(np.zeros((2, 1)), dims=("sample", "feature"),
    ...                   coords={"split": ("sample", ["train", "test"])})
    >>> check_one_split(da.isel(sample=[0]))
    """
    if "split" not in obj.coords and not (isinstance(obj, xr.Dataset) and "split" in obj.variables):
        return
    parts = sorted(map(str, np.unique(np.asarray(obj["split"].values).astype(str))))
    if len(parts) > 1:
        raise ValueError(f"the features passed as {name} hold the splits {parts}; fit on one and score on "
                         "another: classdep.datasets.select_split(ds, 'train') (or 'test'), or drop the "
                         "split coordinate if mixing them is what you mean.")


def dataset_features(ds: xr.Dataset, y: Any = None, *, name: str = "x", labels_name: str = "y",
                     need_labels: bool = True) -> tuple[xr.DataArray, Any]:
    """The features ``X`` of a features Dataset, and its labels unless ``y`` is given.

    The labels are the Dataset's ``y`` read through its ``class`` coordinate: integer
    codes ``0..K-1`` become the class names they stand for (codes outside that range,
    or labels that are not codes, come back as they are).  ``X`` is returned as stored,
    of any dimensionality (a stack of feature sets keeps its leading dim).

    Parameters
    ----------
    ds : xarray.Dataset
        Holds ``X`` and, unless ``y`` is given, ``y``.
    y : array-like, optional
        Labels that replace the Dataset's own.
    name, labels_name : str
        What the caller calls the features and the labels, for the error messages.
    need_labels : bool
        Whether a Dataset without ``y`` is an error; ``False`` returns ``None`` labels.

    Returns
    -------
    (xarray.DataArray, labels)

    Raises
    ------
    ValueError
        The Dataset has no ``X``, or no ``y`` when ``y`` is not given, or (with
        ``need_labels``) it holds several splits (``split`` coordinate) at once.

    Examples
    --------
    >>> ds = xr.Dataset({"X": (("sample", "feature"), np.zeros((3, 2))), "y": ("sample", [1, 0, 1])},
    ...                 coords={"class": ["a", "b"]})
    >>> dataset_features(ds)[1].tolist()
    ['b', 'a', 'b']
    """
    held = list(ds.data_vars)
    if need_labels:
        check_one_split(ds, name)
    if "X" not in ds:
        raise ValueError(f"the Dataset passed as {name} has no variable 'X' (it has {held}); a features "
                         "Dataset needs data variables 'X' and 'y' (see as_features).")
    if y is None and ("y" in ds or need_labels):
        if "y" not in ds:
            raise ValueError(f"the Dataset passed as {name} has no labels 'y' (it has {held}); pass "
                             f"{labels_name}=, or a Dataset with data variables 'X' and 'y' (see "
                             "as_features).")
        y = ds["y"].values
        if "class" in ds.coords and np.issubdtype(y.dtype, np.integer) and y.size:
            names = np.asarray(ds["class"].values)
            if y.min() >= 0 and y.max() < names.size:
                y = names[y]
    return ds["X"], y


def features_and_labels(
    x: Any, y: Any = None, *, name: str = "x", labels_name: str = "y", dtype: Any = None,
    out_of_core: bool = True, need_labels: bool = True,
) -> tuple[Any, Any, list[str]]:
    """``(X, y, feature names)`` from any form of features and labels classdep accepts.

    Parameters
    ----------
    x : array-like (n, d), DataFrame, DataArray, features Dataset or out-of-core array
        The features; see :mod:`classdep.inputs` for the forms.  A Dataset also gives
        the labels when ``y`` is omitted.
    y : array-like (n,), optional
        The labels, returned as given (a pandas Categorical keeps its category order).
    name, labels_name : str
        What the caller calls the features and the labels, for the error messages.
    dtype : numpy dtype, optional
        The dtype of an in-memory ``X``; default: float32 stays float32, every other
        numeric dtype becomes float64.
    out_of_core : bool
        Keep a memmap, zarr or dask source unread (shape and dtype checked, finiteness
        when it is first read); ``False`` reads it into memory and checks it whole.
    need_labels : bool
        Whether missing labels are an error; ``False`` returns ``y=None`` (prediction).

    Returns
    -------
    X : numpy.ndarray or the out-of-core source
        (sample, feature), finite, float32 or float64.
    y : labels or None
    names : list of str
        The DataFrame's columns or the DataArray's ``feature`` coordinate; else R's
        default column names ``V1, V2, ...``.

    Raises
    ------
    ValueError
        Wrong xarray dims, a Dataset without ``X`` (or ``y``), missing labels, empty or
        non-finite features.
    TypeError
        Non-numeric features.

    Examples
    --------
    >>> import pandas as pd
    >>> X, y, names = features_and_labels(pd.DataFrame({"u": [1, 2], "v": [3, 4]}), ["a", "b"])
    >>> X.dtype, y, names
    (dtype('float64'), ['a', 'b'], ['u', 'v'])
    >>> da = xr.DataArray(np.eye(2), dims=("feature", "sample"))
    >>> features_and_labels(da, [0, 1])[2]
    ['V1', 'V2']
    """
    names = None
    if isinstance(x, xr.Dataset):
        x, y = dataset_features(x, y, name=name, labels_name=labels_name, need_labels=need_labels)
    elif isinstance(x, xr.DataArray) and need_labels:
        check_one_split(x, name)
    if isinstance(x, xr.DataArray):
        dims = tuple(x.dims)
        if x.ndim == 2 and {"sample", "feature"} == set(dims):
            x = x.transpose("sample", "feature")
            if "feature" in x.coords:
                names = [str(v) for v in x["feature"].values]
        elif x.ndim == 2 and not all(str(d).startswith("dim_") for d in dims):
            # dim_0, dim_1 are xarray's names for an unlabelled array: its rows are the samples
            raise ValueError(f"{name} has dims {dims}; classdep expects ('sample', 'feature'). "
                             f"Rename with {name}.rename({{old: new}}) first.")
        if out_of_core and is_out_of_core(x.data):  # dask-backed (e.g. xr.open_zarr): do not load it
            x = x.data
    elif hasattr(x, "columns"):
        names = [str(c) for c in x.columns]
    if y is None and need_labels:
        raise ValueError(f"{labels_name} is missing: pass the labels, or an as_features Dataset as {name}.")
    if out_of_core and is_out_of_core(x):
        X = check_source(x, name=name)
    else:
        X = check_matrix(x, name=name, dtype=dtype)
    if names is None:
        names = [f"V{j + 1}" for j in range(X.shape[1])]  # R's default column names
    return X, y, names
