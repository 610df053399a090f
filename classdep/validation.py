"""Input checks, in one place, run by every public entry point before any work.

Each check raises ``ValueError`` or ``TypeError`` with a message that names the
problem and says how to fix it.
"""

from __future__ import annotations

import numbers
from collections.abc import Sequence
from typing import Any

import numpy as np

__all__ = [
    "check_counts",
    "check_matrix",
    "check_source",
    "check_labels",
    "check_weights",
    "check_lambda",
    "check_folds",
    "check_class_totals",
    "check_fold_coverage",
    "check_class_names",
    "check_choice",
    "check_dims",
    "check_unique",
    "check_int",
    "check_prior",
    "check_shrinkage",
    "check_group_sizes",
    "check_within_group_sd",
    "check_formula",
]


def _name_of(obj: Any) -> str:
    return type(obj).__module__.split(".")[0] + "." + type(obj).__name__


def check_source(X: Any, name: str = "x") -> Any:
    """An out-of-core feature matrix (memmap, zarr, dask) checked without reading it.

    Shape and dtype are checked here; finiteness while it is first read, chunk by chunk
    (:func:`classdep.solvers.chunked.scan_features`).

    Examples
    --------
    >>> import dask.array as da
    >>> check_source(da.zeros((4, 2), chunks=2)).shape
    (4, 2)
    """
    shape = tuple(int(s) for s in X.shape)
    dt = np.dtype(X.dtype)
    real = np.issubdtype(dt, np.number) or np.issubdtype(dt, np.bool_)
    if not real or np.issubdtype(dt, np.complexfloating):
        raise TypeError(f"{name} has dtype {dt}; out-of-core features must be real numbers.")
    if len(shape) != 2:
        raise ValueError(f"{name} has {len(shape)} dimensions; features must be 2-D (sample, feature).")
    if shape[0] == 0 or shape[1] == 0:
        raise ValueError(f"{name} is empty (shape {shape}); it needs at least one sample and one feature.")
    return X


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
    if hasattr(X, "tocsr") and hasattr(X, "nnz"):  # scipy.sparse, without importing it
        raise TypeError(
            f"{name} is a scipy.sparse matrix ({X.shape[0]} x {X.shape[1]}, {X.nnz} non-zeros); classdep's "
            f"solvers take dense features (penultimate-layer features are dense): pass {name}.toarray(), "
            "or a NumPy memmap or zarr array when it does not fit in memory."
        )
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
    # The solvers form sums of n squared features (Hessians, norms): values beyond
    # sqrt(max / n) overflow them to inf and the fit to NaN, so refuse them here.
    big = float(np.max(np.abs(arr)))
    limit = float(np.sqrt(np.finfo(arr.dtype).max / (16.0 * arr.shape[0] * arr.shape[1])))
    if big > limit:
        raise ValueError(
            f"{name} has values as large as {big:.3g}, beyond {limit:.3g} where sums of squares "
            f"overflow {arr.dtype}; rescale the features (e.g. {name} / {name}.std()): ridge "
            "results at lambda * c**2 on features * c are the same model."
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
    raw = type(y).__name__ == "Categorical" and hasattr(y, "categories")
    if raw:
        import pandas as pd  # a raw pd.Categorical obeys the same rules as a categorical Series

        y = pd.Series(y)
    if hasattr(y, "cat"):  # pandas categorical Series keeps its category order
        classes = np.asarray(y.cat.categories)
        codes = np.asarray(y.cat.codes, dtype=np.int64)
        if (codes < 0).any():
            raise ValueError(f"{name} has missing labels; drop those samples first.")
        unused = np.bincount(codes, minlength=classes.size) == 0
        if unused.any():
            # a class without samples has no finite fit (its intercept runs to -inf)
            raise ValueError(
                f"{name} is a categorical whose categories {classes[unused].tolist()} have no samples; "
                f"drop them with {name}{'' if raw else '.cat'}.remove_unused_categories()."
            )
        if classes.size < 2:
            raise ValueError(
                f"{name} has a single class ({classes[0]!r}); a classifier needs at least two classes."
            )
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
    raw = np.asarray(lambda_, dtype=object) if isinstance(lambda_, str | bytes) else np.asarray(lambda_)
    if raw.dtype.kind in "USOb" and not (raw.dtype.kind == "O" and all(
            isinstance(v, int | float | np.number) and not isinstance(v, bool) for v in raw.ravel())):
        # np.asarray("0.1", float) parses text; a penalty given as text or True is a mistake to name
        raise TypeError(
            f"{name}={lambda_!r} is not a number or a sequence of numbers; pass e.g. "
            f"{name}=0.1 or {name}=np.geomspace(1, 1e-4, 20)."
        )
    try:
        lam = np.atleast_1d(np.asarray(lambda_, dtype=np.float64))
    except (TypeError, ValueError) as exc:
        raise TypeError(
            f"{name}={lambda_!r} is not a number or a sequence of numbers; pass e.g. "
            f"{name}=0.1 or {name}=np.geomspace(1, 1e-4, 20)."
        ) from exc
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
    if isinstance(nfolds, str | bool) or not isinstance(nfolds, numbers.Number):
        raise TypeError(f"nfolds={nfolds!r} is not a number; pass an integer >= 2 (e.g. nfolds=5).")
    if int(nfolds) != nfolds or nfolds < 2:
        raise ValueError(f"nfolds={nfolds!r} is invalid; it must be an integer >= 2.")
    counts = np.bincount(codes, minlength=len(classes))
    small = np.nonzero(counts < nfolds)[0]
    if small.size:
        c = small[0]
        fix = (f"lower nfolds to at most {counts.min()} or drop that class" if counts.min() >= 2
               else "drop that class: cross-validation needs at least 2 samples of every class")
        raise ValueError(
            f"class {np.asarray(classes)[c].item()!r} has {counts[c]} samples, "
            f"fewer than nfolds={nfolds}; {fix}."
        )


def check_class_totals(codes: np.ndarray, classes: Sequence, weights: np.ndarray) -> None:
    """Every class needs positive total sample weight: a class weighted to zero has no
    finite fit (its intercept runs to -inf) and would be reported as a fit silently.

    Examples
    --------
    >>> check_class_totals(np.array([0, 1, 1]), ["a", "b"], np.array([1.0, 0.0, 2.0]))
    """
    totals = np.bincount(codes, weights=weights, minlength=len(classes))
    zero = np.nonzero(~(totals > 0))[0]
    if zero.size:
        raise ValueError(
            f"class {np.asarray(classes)[zero[0]].item()!r} has total weight 0 (all its samples are "
            "weighted 0); drop that class's samples or give some of them a positive weight."
        )


def check_fold_coverage(codes: np.ndarray, classes: Sequence, folds: np.ndarray,
                        weights: np.ndarray) -> None:
    """Every fold must hold out samples of positive weight, and every class must keep
    training samples when any one fold is held out (R's ``foldid`` can break both).

    Examples
    --------
    >>> check_fold_coverage(np.array([0, 1, 0, 1]), ["a", "b"], np.array([0, 0, 1, 1]), np.ones(4))
    """
    nf = int(folds.max()) + 1
    K = len(classes)
    held = np.zeros((nf, K))
    np.add.at(held, (folds, codes), weights)
    per_fold = held.sum(axis=1)
    empty = np.nonzero(~(per_fold > 0))[0]
    if empty.size:
        raise ValueError(
            f"fold {int(empty[0]) + 1} holds out no sample of positive weight, so it cannot be scored; "
            "reassign foldid or the weights so that every fold holds weighted samples."
        )
    train = held.sum(axis=0)[None, :] - held  # (fold, class): weight left for training
    f, k = np.nonzero(~(train > 0))
    if f.size:
        raise ValueError(
            f"class {np.asarray(classes)[k[0]].item()!r} has all its (weighted) samples in fold "
            f"{int(f[0]) + 1}, so the fit without that fold never sees it; spread each class over "
            "at least two folds (use nfolds= for stratified folds)."
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


def check_prior(prior: Any, n_classes: int, name: str = "prior") -> np.ndarray:
    """Class prior probabilities: ``n_classes`` non-negative numbers that sum to one.

    As R's ``MASS::lda``, the sum is checked to five decimals.

    Examples
    --------
    >>> check_prior([0.25, 0.75], 2).tolist()
    [0.25, 0.75]
    """
    p = np.atleast_1d(np.asarray(prior, dtype=np.float64))
    if p.shape != (n_classes,):
        raise ValueError(
            f"{name} has {p.size} entries but there are {n_classes} classes; give one per class."
        )
    if not np.isfinite(p).all() or (p < 0).any():
        raise ValueError(f"{name} has negative, NaN or inf entries ({p.tolist()}); priors are probabilities.")
    if round(float(p.sum()), 5) != 1.0:
        raise ValueError(f"{name} sums to {p.sum():.6g}, not 1; divide it by its sum.")
    return p


def check_shrinkage(shrinkage: Any) -> None | str | float:
    """``None``, ``"auto"`` (Ledoit-Wolf) or a shrinkage intensity in [0, 1].

    Examples
    --------
    >>> check_shrinkage(0.5), check_shrinkage("auto"), check_shrinkage(None)
    (0.5, 'auto', None)
    """
    if shrinkage is None or (isinstance(shrinkage, str) and shrinkage == "auto"):
        return shrinkage
    if isinstance(shrinkage, str) or isinstance(shrinkage, bool) or not np.isscalar(shrinkage):
        raise ValueError(
            f"shrinkage={shrinkage!r} is not None, 'auto' (Ledoit-Wolf) or a number in [0, 1]."
        )
    s = float(shrinkage)
    if not 0.0 <= s <= 1.0:
        raise ValueError(f"shrinkage={s} is outside [0, 1]; 0 is no shrinkage, 1 a diagonal covariance.")
    return s


def check_group_sizes(counts: Any, classes: Sequence, minimum: int, why: str) -> None:
    """Every class must have at least ``minimum`` samples (``why`` says what needs them).

    Examples
    --------
    >>> check_group_sizes([3, 4], ["a", "b"], 2, "a class covariance")
    """
    counts = np.asarray(counts)
    small = np.nonzero(counts < minimum)[0]
    if small.size:
        c = small[0]
        raise ValueError(
            f"class {np.asarray(classes)[c].item()!r} has {int(counts[c])} samples; {why} needs at "
            f"least {minimum} per class. Drop that class (classes=...) or add samples."
        )


def check_within_group_sd(sd: Any, features: Sequence, tol: float) -> None:
    """No feature may be constant within groups (within-group sd below ``tol``), as ``MASS::lda``.

    Examples
    --------
    >>> check_within_group_sd(np.array([1.0, 0.5]), ["a", "b"], 1e-4)
    """
    sd = np.asarray(sd)
    bad = np.nonzero(~(sd >= tol))[0]
    if bad.size:
        names = [str(np.asarray(features)[j]) for j in bad[:10]]
        more = f" and {bad.size - 10} more" if bad.size > 10 else ""
        raise ValueError(
            f"{bad.size} variables appear to be constant within groups ({', '.join(names)}{more}; "
            f"within-group sd < tol={tol:g}); the within-group covariance is singular. Drop them "
            "(e.g. x[:, sd > 0]), or use shrinkage='auto' where it is offered."
        )


def check_formula(formula: Any, data: Any) -> str:
    """A one-sided response formula ``"label ~ terms"`` and a DataFrame holding ``label``.

    Returns the name of the response column.

    Examples
    --------
    >>> import pandas as pd
    >>> check_formula("g ~ .", pd.DataFrame({"g": [1], "x": [2.0]}))
    'g'
    """
    if not isinstance(formula, str) or formula.count("~") != 1:
        raise ValueError(f"formula {formula!r} must be a string 'label ~ terms', e.g. 'label ~ .'.")
    if data is None or not hasattr(data, "columns"):
        raise TypeError(
            f"a formula needs data=, a pandas DataFrame holding its columns; got {type(data).__name__}."
        )
    lhs = formula.split("~")[0].strip()
    if lhs not in data.columns:
        raise ValueError(
            f"the response {lhs!r} of the formula is not a column of data; columns are "
            f"{[str(c) for c in data.columns][:20]}."
        )
    return lhs


def check_counts(counts: Any, name: str = "counts", minimum_classes: int = 2) -> np.ndarray:
    """Class sizes: a 1-D sequence of at least ``minimum_classes`` positive finite numbers, as float64.

    Examples
    --------
    >>> check_counts([10, 10, 1]).tolist()
    [10.0, 10.0, 1.0]
    """
    try:
        arr = np.asarray(counts, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"{name} must be a sequence of class sizes (numbers); got {counts!r}.") from exc
    if arr.ndim != 1 or arr.size < minimum_classes:
        raise ValueError(f"{name} must be a 1-D sequence of at least {minimum_classes} class sizes; "
                         f"got shape {arr.shape}.")
    if not np.isfinite(arr).all() or (arr <= 0).any():
        raise ValueError(f"{name} has entries that are <= 0, NaN or inf ({arr.tolist()[:10]}); every "
                         "class needs a positive size. Drop empty classes.")
    return arr
