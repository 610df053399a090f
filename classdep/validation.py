"""Input checks, in one place, run by every public entry point before any work.

Each check raises ``ValueError`` or ``TypeError`` with a message that names the
problem and says how to fix it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

__all__ = [
    "check_matrix",
    "check_labels",
    "check_weights",
    "check_lambda",
    "check_folds",
    "check_class_names",
    "check_choice",
    "check_dims",
    "check_unique",
    "check_int",
]


def _name_of(obj: Any) -> str:
    return type(obj).__module__.split(".")[0] + "." + type(obj).__name__


def check_matrix(X: Any, name: str = "x", dtype=None) -> np.ndarray:
    """A finite, non-empty 2-D float array from ``X``.

    Examples
    --------
    >>> check_matrix([[1, 2], [3, 4]]).dtype
    dtype('float64')
    """
    if hasattr(X, "dims") and hasattr(X, "values"):
        X = X.values
    elif hasattr(X, "to_numpy"):
        X = X.to_numpy()
    try:
        arr = np.asarray(X)
    except Exception as exc:  # noqa: BLE001
        raise TypeError(
            f"{name} of type {_name_of(X)} cannot be read as an array; pass a NumPy array, "
            "a pandas DataFrame or an xarray DataArray of numbers."
        ) from exc
    if arr.dtype == object or not (
        np.issubdtype(arr.dtype, np.number) or np.issubdtype(arr.dtype, np.bool_)
    ):
        raise TypeError(
            f"{name} has dtype {arr.dtype}, not numbers; convert it with "
            f"np.asarray({name}, dtype=float) after removing non-numeric columns."
        )
    if np.iscomplexobj(arr):
        raise TypeError(f"{name} is complex; pass real-valued features.")
    if arr.ndim == 1:
        raise ValueError(
            f"{name} is 1-D with shape {arr.shape}; features must be 2-D (sample, feature). "
            f"For a single feature use {name}.reshape(-1, 1)."
        )
    if arr.ndim != 2:
        raise ValueError(f"{name} has {arr.ndim} dimensions; features must be 2-D (sample, feature).")
    if arr.shape[0] == 0 or arr.shape[1] == 0:
        raise ValueError(
            f"{name} is empty (shape {arr.shape}); it needs at least one sample and one feature."
        )
    if dtype is None:
        dtype = arr.dtype if arr.dtype in (np.float32, np.float64) else np.float64
    arr = np.asarray(arr, dtype=dtype)
    bad = ~np.isfinite(arr)
    if bad.any():
        rows = np.unique(np.nonzero(bad)[0])
        kind = "NaN" if np.isnan(arr[bad]).any() else "inf"
        raise ValueError(
            f"{name} has {int(bad.sum())} non-finite values ({kind}) in {rows.size} samples "
            f"(first: sample {int(rows[0])}); drop or impute those samples before fitting."
        )
    return arr


def check_labels(y: Any, n: int | None = None, name: str = "y") -> tuple[np.ndarray, np.ndarray]:
    """Integer codes ``0..K-1`` and the class labels they stand for.

    Labels may be integers (any values, not necessarily contiguous), strings or
    pandas categoricals; floats are accepted only when they are whole numbers.

    Examples
    --------
    >>> codes, classes = check_labels(["b", "a", "b"])
    >>> codes.tolist(), classes.tolist()
    ([1, 0, 1], ['a', 'b'])
    """
    if hasattr(y, "dims") and hasattr(y, "values"):
        y = y.values
    if hasattr(y, "cat"):  # pandas categorical Series keeps its category order
        classes = np.asarray(y.cat.categories)
        codes = np.asarray(y.cat.codes, dtype=np.int64)
        if (codes < 0).any():
            raise ValueError(f"{name} has missing labels; drop those samples first.")
        return codes, classes
    arr = np.asarray(y)
    if arr.ndim == 2 and 1 in arr.shape:
        arr = arr.ravel()
    if arr.ndim != 1:
        raise ValueError(
            f"{name} must be 1-D (one label per sample); got shape {arr.shape}. "
            "One-hot labels: pass y.argmax(axis=1)."
        )
    if arr.size == 0:
        raise ValueError(f"{name} is empty; it needs one label per sample.")
    if n is not None and arr.shape[0] != n:
        raise ValueError(
            f"{name} has {arr.shape[0]} labels but x has {n} samples; they must match one to one."
        )
    if np.issubdtype(arr.dtype, np.floating):
        if not np.isfinite(arr).all():
            raise ValueError(f"{name} has NaN or inf labels; drop those samples first.")
        if not np.all(arr == np.round(arr)):
            raise ValueError(
                f"{name} has non-integer float labels (e.g. {arr[arr != np.round(arr)][0]}); "
                "class labels must be integers or strings. Did you pass a regression target?"
            )
        arr = arr.astype(np.int64)
    if arr.dtype == object:
        if any(v is None or (isinstance(v, float) and np.isnan(v)) for v in arr):
            raise ValueError(f"{name} has missing labels (None/NaN); drop those samples first.")
        arr = arr.astype(str)
    classes, codes = np.unique(arr, return_inverse=True)
    if classes.size < 2:
        raise ValueError(
            f"{name} has a single class ({classes[0].item()!r}); "
            "a classifier needs at least two classes."
        )
    return codes.astype(np.int64), classes


def check_weights(weights: Any, n: int, name: str = "weights") -> np.ndarray:
    """Non-negative finite sample weights of length ``n`` (``None`` → ones).

    Examples
    --------
    >>> check_weights(None, 3).tolist()
    [1.0, 1.0, 1.0]
    """
    if weights is None:
        return np.ones(n)
    w = np.asarray(weights, dtype=np.float64)
    if w.shape != (n,):
        raise ValueError(f"{name} has shape {w.shape}; it needs one weight per sample, shape ({n},).")
    if not np.isfinite(w).all():
        raise ValueError(f"{name} has NaN or inf entries; weights must be finite.")
    if (w < 0).any():
        raise ValueError(f"{name} has negative entries; weights must be >= 0.")
    if w.sum() <= 0:
        raise ValueError(f"{name} are all zero; at least one sample needs positive weight.")
    return w


def check_lambda(lambda_: Any, name: str = "lambda_") -> np.ndarray:
    """A 1-D array of positive finite penalties, as given (order is checked by the caller).

    Examples
    --------
    >>> check_lambda(0.1).tolist()
    [0.1]
    """
    lam = np.atleast_1d(np.asarray(lambda_, dtype=np.float64))
    if lam.ndim != 1 or lam.size == 0:
        raise ValueError(f"{name} must be a number or a 1-D sequence of numbers; got shape {lam.shape}.")
    if not np.isfinite(lam).all():
        raise ValueError(f"{name} has NaN or inf values; penalties must be finite and positive.")
    if (lam <= 0).any():
        raise ValueError(
            f"{name} has values <= 0 ({lam[lam <= 0][0]}); penalties must be positive. "
            "An unpenalized fit is not unique on separable data: use a small positive lambda."
        )
    return lam


def check_folds(codes: np.ndarray, classes: Sequence, nfolds: int) -> None:
    """Every class needs at least ``nfolds`` samples for stratified folds.

    Examples
    --------
    >>> check_folds(np.array([0, 0, 1, 1]), ["a", "b"], 2)
    """
    if int(nfolds) != nfolds or nfolds < 2:
        raise ValueError(f"nfolds={nfolds} is invalid; it must be an integer >= 2.")
    counts = np.bincount(codes, minlength=len(classes))
    small = np.nonzero(counts < nfolds)[0]
    if small.size:
        c = small[0]
        raise ValueError(
            f"class {np.asarray(classes)[c].item()!r} has {counts[c]} samples, "
            f"fewer than nfolds={nfolds}; "
            f"lower nfolds to at most {counts.min()} or drop that class."
        )


def check_class_names(requested: Sequence, classes: Sequence, name: str = "classes") -> np.ndarray:
    """Positions of ``requested`` class names among ``classes``.

    Examples
    --------
    >>> check_class_names(["b"], ["a", "b"]).tolist()
    [1]
    """
    known = {str(c): i for i, c in enumerate(classes)}
    idx = []
    for r in requested:
        if str(r) not in known:
            raise ValueError(
                f"{name} names unknown class {r!r}; known classes are {list(map(str, classes))}."
            )
        idx.append(known[str(r)])
    return np.asarray(idx, dtype=np.int64)


def check_choice(value: Any, choices: Sequence[str], name: str) -> str:
    """``value`` must be one of ``choices``.

    Examples
    --------
    >>> check_choice("ova", ["multinomial", "ova"], "family")
    'ova'
    """
    if value not in choices:
        raise ValueError(f"{name}={value!r} is not one of {list(choices)}.")
    return value


def check_dims(da: Any, dims: tuple[str, ...], name: str) -> None:
    """An xarray object must carry exactly ``dims``.

    Examples
    --------
    >>> import xarray as xr
    >>> check_dims(xr.DataArray(np.zeros((2, 3)), dims=("sample", "feature")), ("sample", "feature"), "X")
    """
    got = tuple(getattr(da, "dims", ()))
    if set(got) != set(dims):
        raise ValueError(
            f"{name} has dims {got}; classdep expects {dims}. "
            f"Rename with {name}.rename({{old: new}}) or transpose it."
        )


def check_unique(values: Sequence, name: str) -> np.ndarray:
    """``values`` as a 1-D array with no repeated entries.

    Examples
    --------
    >>> check_unique(["a", "b"], "classes").tolist()
    ['a', 'b']
    """
    arr = np.asarray(values)
    if arr.ndim != 1:
        raise ValueError(f"{name} must be a 1-D sequence; got shape {arr.shape}.")
    uniq, counts = np.unique(arr.astype(str), return_counts=True)
    if (counts > 1).any():
        raise ValueError(
            f"{name} has repeated entries ({uniq[counts > 1].tolist()}); each must appear once."
        )
    return arr


def check_int(value: Any, name: str, minimum: int | None = None) -> int:
    """``value`` as a Python ``int``, at least ``minimum`` when given.

    Examples
    --------
    >>> check_int(5, "nfolds", minimum=2)
    5
    """
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"{name} must be an integer; got {value!r} of type {type(value).__name__}.")
    if minimum is not None and value < minimum:
        raise ValueError(f"{name}={value} is too small; it must be an integer >= {minimum}.")
    return int(value)
