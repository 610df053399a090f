"""Every bad input gets a clear error (ValueError/TypeError) that names the problem and the fix."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import xarray as xr

from classdep.datasets import as_features
from classdep.validation import (
    check_choice,
    check_class_names,
    check_dims,
    check_folds,
    check_int,
    check_labels,
    check_lambda,
    check_matrix,
    check_unique,
    check_weights,
)

Y3 = [0, 1, 0]


def _with(value, where=(1, 0)):
    X = np.ones((3, 2))
    X[where] = value
    return X


# -- features ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("X", "match"),
    [
        (
            _with(np.nan),
            r"1 non-finite values \(NaN\) in 1 samples \(first: sample 1\); drop or impute",
        ),
        (_with(np.inf, (2, 1)), r"non-finite values \(inf\).*first: sample 2"),
        (_with(-np.inf), r"\(inf\)"),
        (np.ones(3), r"1-D.*reshape\(-1, 1\)"),
        (np.ones((3, 2, 2)), "has 3 dimensions; features must be 2-D"),
        (np.ones((0, 2)), "is empty"),
    ],
)
def test_bad_feature_values_and_dims(X, match):
    with pytest.raises(ValueError, match=match):
        check_matrix(X)
    with pytest.raises(ValueError, match=match):
        as_features(X, Y3[: len(X)] if len(X) else [])


@pytest.mark.parametrize(
    "X",
    [
        np.array([["a", "b"], ["c", "d"]]),
        np.array([[1, None], [2, 3]], dtype=object),
        pd.DataFrame({"x": [1.0, 2.0], "colour": ["red", "blue"]}),
    ],
)
def test_non_numeric_features(X):
    with pytest.raises(TypeError, match="not numbers"):
        check_matrix(X, name="X")
    with pytest.raises(TypeError, match="not numbers"):
        as_features(X, [0, 1])


def test_complex_features():
    with pytest.raises(TypeError, match="complex"):
        check_matrix(np.ones((2, 2), dtype=complex))


def test_wrong_dims_on_xarray():
    da = xr.DataArray(np.ones((2, 3)), dims=("row", "column"))
    with pytest.raises(ValueError, match=r"expects \('sample', 'feature'\).*rename"):
        check_dims(da, ("sample", "feature"), "X")
    with pytest.raises(ValueError, match=r"expects \('sample', 'feature'\)"):
        as_features(da, [0, 1])


# -- labels --------------------------------------------------------------------------------------


def test_length_mismatch():
    with pytest.raises(ValueError, match="y has 2 labels but x has 3 samples; they must match"):
        check_labels([0, 1], n=3)
    with pytest.raises(ValueError, match="2 labels but x has 3 samples"):
        as_features(np.ones((3, 2)), [0, 1])


def test_single_class():
    with pytest.raises(ValueError, match=r"single class \('a'\).*at least two classes"):
        check_labels(["a", "a", "a"])
    with pytest.raises(ValueError, match="single class"):
        as_features(np.ones((3, 2)), [4, 4, 4])


def test_float_non_integer_labels():
    with pytest.raises(ValueError, match=r"non-integer float labels \(e.g. 0.5\).*regression"):
        check_labels([0.0, 0.5, 1.0])
    with pytest.raises(ValueError, match="non-integer float labels"):
        as_features(np.ones((3, 2)), np.array([1.0, 2.0, 2.5]))


@pytest.mark.parametrize(
    ("y", "match"),
    [
        ([0.0, np.nan, 1.0], "NaN or inf labels"),
        (np.array(["a", None, "b"], dtype=object), "missing labels"),
        (pd.Series(pd.Categorical(["a", None, "b"])), "missing labels"),
        (np.zeros((3, 2)), r"must be 1-D.*argmax"),
        ([], "is empty"),
    ],
)
def test_missing_or_malformed_labels(y, match):
    with pytest.raises(ValueError, match=match):
        check_labels(y)


def test_class_with_fewer_samples_than_folds():
    codes = np.array([0, 0, 0, 1, 1, 2, 2, 2])
    with pytest.raises(
        ValueError, match=r"class 'b' has 2 samples, fewer than nfolds=3; lower nfolds to at most 2"
    ):
        check_folds(codes, ["a", "b", "c"], 3)
    check_folds(codes, ["a", "b", "c"], 2)  # enough: no error
    with pytest.raises(ValueError, match="nfolds=1 is invalid"):
        check_folds(codes, ["a", "b", "c"], 1)


def test_unknown_class_names():
    with pytest.raises(ValueError, match=r"unknown class 'Sandle'; known classes are \['Shirt'"):
        check_class_names(["Shirt", "Sandle"], ["Shirt", "Sandal"])
    assert check_class_names(["Sandal", "Shirt"], ["Shirt", "Sandal"]).tolist() == [1, 0]
    with pytest.raises(ValueError, match="unknown class 'cat'"):
        as_features(np.ones((2, 2)), ["cat", "dog"], classes=["dog", "bird"])


# -- weights, penalties and settings -------------------------------------------------------------


@pytest.mark.parametrize(
    ("w", "match"),
    [
        ([1.0, -0.5, 1.0], "negative entries; weights must be >= 0"),
        ([1.0, np.nan, 1.0], "NaN or inf"),
        ([1.0, 1.0], r"shape \(2,\); it needs one weight per sample, shape \(3,\)"),
        ([0.0, 0.0, 0.0], "all zero"),
    ],
)
def test_bad_weights(w, match):
    with pytest.raises(ValueError, match=match):
        check_weights(w, 3)


@pytest.mark.parametrize(
    ("lam", "match"),
    [
        (0.0, r"values <= 0 \(0.0\); penalties must be positive"),
        ([0.1, -1.0], r"values <= 0 \(-1.0\)"),
        ([0.1, np.inf], "NaN or inf"),
        (np.ones((2, 2)), "1-D sequence"),
        ([], "1-D sequence"),
    ],
)
def test_bad_lambda(lam, match):
    with pytest.raises(ValueError, match=match):
        check_lambda(lam)


def test_good_inputs_pass_through():
    np.testing.assert_array_equal(check_lambda([1.0, 0.1]), [1.0, 0.1])
    np.testing.assert_array_equal(check_weights([0.0, 2.0], 2), [0.0, 2.0])
    assert check_matrix(np.ones((2, 2), dtype=np.float32)).dtype == np.float32
    assert check_matrix(np.ones((2, 2), dtype=np.int8)).dtype == np.float64


def test_choice_unique_and_int():
    with pytest.raises(
        ValueError, match=r"family='softmax' is not one of \['multinomial', 'ova'\]"
    ):
        check_choice("softmax", ["multinomial", "ova"], "family")
    with pytest.raises(ValueError, match=r"classes has repeated entries \(\['a'\]\)"):
        check_unique(["a", "b", "a"], "classes")
    with pytest.raises(TypeError, match="nfolds must be an integer; got 2.5"):
        check_int(2.5, "nfolds")
    with pytest.raises(TypeError, match="must be an integer"):
        check_int(True, "nfolds")
    with pytest.raises(ValueError, match="nfolds=1 is too small; it must be an integer >= 2"):
        check_int(1, "nfolds", minimum=2)
    assert check_int(np.int64(3), "n") == 3
