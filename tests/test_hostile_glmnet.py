"""glmnet(), predict() and assess() under hostile inputs (issue 8).

Every case ends in one of two outcomes: a specific exception whose message names the
problem and the fix, or a result checked against scikit-learn or a closed form, with
its flag set where the data call for one (``separable``, ``converged``).  Problems are
tiny so that the module runs in seconds.
"""

from __future__ import annotations

import re
import warnings

import numpy as np
import pandas as pd
import pytest
import xarray as xr
from builders import probs as _probs
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from sklearn.linear_model import LogisticRegression

import classdep as cd
from classdep.glmnet_fit import singular_hessian_as_error

N, D, K = 60, 3, 3
LAM = [1.0, 0.1]


def _sklearn_probs(X, y, lam):
    """scikit-learn's multinomial fit of the same objective: mean loss + lam/2 ||W||^2 with a
    free intercept is sklearn's sum loss + 1/(2C) ||W||^2 at C = 1 / (n lam)."""
    sk = LogisticRegression(C=1.0 / (len(y) * lam), tol=1e-12, max_iter=10_000).fit(X, y)
    return sk.predict_proba(X)


# -- features ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "match"),
    [(np.nan, r"1 non-finite values \(NaN\) in 1 samples \(first: sample 7\); drop or impute"),
     (np.inf, r"non-finite values \(inf\)"), (-np.inf, r"non-finite values \(inf\)")],
)
def test_non_finite_features(small, value, match):
    X, y = small
    Xb = X.copy()
    Xb[7, 1] = value
    with pytest.raises(ValueError, match=match):
        cd.glmnet(Xb, y, lambda_=LAM)


@given(X=arrays(np.float64, (12, 2), elements=st.floats(allow_nan=True, allow_infinity=True, width=64)))
@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_generated_features_error_or_finite_fit(X):
    """Arbitrary floats (NaN, inf, subnormals, 1e308): a clear ValueError, or a finite fit."""
    y = np.arange(12) % 2
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            fit = cd.glmnet(X, y, lambda_=[1.0])
        except ValueError as exc:
            assert any(s in str(exc) for s in ("non-finite", "overflow", "too small next to"))
            return
    assert np.isfinite(fit.path["coef"].values).all()
    assert np.isfinite(fit.path["intercept"].values).all()


def test_features_whose_squares_overflow(small):
    X, y = small
    with pytest.raises(ValueError, match=r"values as large as 2.*overflow float64; rescale the features"):
        cd.glmnet(X * 1e200, y, lambda_=LAM)


@pytest.mark.parametrize(("shape", "match"), [((0, 3), r"is empty \(shape \(0, 3\)\)"),
                                              ((5, 0), r"is empty \(shape \(5, 0\)\)")])
def test_empty_features(shape, match):
    with pytest.raises(ValueError, match=match):
        cd.glmnet(np.zeros(shape), np.arange(shape[0]) % 2, lambda_=LAM)


def test_length_mismatch(small):
    X, y = small
    with pytest.raises(ValueError, match="y has 59 labels but x has 60 samples; they must match"):
        cd.glmnet(X, y[:-1], lambda_=LAM)


@pytest.mark.parametrize("dtype", [np.float16, np.int32, np.int8, np.bool_])
def test_low_precision_and_integer_features_are_read_as_float64(small, dtype):
    """float16 / int / bool features are widened to float64: the same fit as the float64 copy
    of the same values."""
    X, y = small
    Xd = (X > 0) if dtype is np.bool_ else (X * 10).astype(dtype)
    fit = cd.glmnet(Xd, y, lambda_=LAM)
    ref = cd.glmnet(Xd.astype(np.float64), y, lambda_=LAM)
    np.testing.assert_array_equal(fit.path["coef"].values, ref.path["coef"].values)
    assert fit.path["coef"].dtype == np.float64


def test_object_and_string_features(small):
    X, y = small
    with pytest.raises(TypeError, match=r"x has dtype object, not numbers; convert it with np.asarray"):
        cd.glmnet(X.astype(object), y, lambda_=LAM)
    with pytest.raises(TypeError, match="not numbers"):
        cd.glmnet(pd.DataFrame({"a": X[:, 0], "colour": ["red"] * N}), y, lambda_=LAM)


def test_more_features_than_samples_is_separable_and_flagged():
    rng = np.random.default_rng(1)
    X = rng.normal(size=(12, 40))
    y = np.arange(12) % 3
    with pytest.warns(cd.SeparationWarning, match="linearly separable"):
        fit = cd.glmnet(X, y, lambda_=[1.0, 1e-2, 1e-4], thresh=1e-12)
    assert fit.path["separable"].values[-1]  # n < d: every labelling is separable
    assert "separable" in repr(fit)
    # the penalized solution still exists and is scikit-learn's
    np.testing.assert_allclose(_probs(fit, X, s=1e-2), _sklearn_probs(X, y, 1e-2), atol=2e-6)


def test_single_feature(small):
    X, y = small
    fit = cd.glmnet(X[:, :1], y, lambda_=[0.05], thresh=1e-12)
    np.testing.assert_allclose(_probs(fit, X[:, :1]), _sklearn_probs(X[:, :1], y, 0.05), atol=1e-7)


@pytest.mark.parametrize("standardize", [False, True])
def test_constant_feature_gets_exactly_zero_coefficient(small, standardize):
    """Was a bug: with standardize=True the centred constant (rounding residue, ~1e-16) was
    divided by its ~1e-24 sd, and the Hessian became singular (LinAlgError)."""
    X, y = small
    Xc = np.c_[X, np.full(N, 3.7)]
    fit = cd.glmnet(Xc, y, lambda_=LAM, standardize=standardize, thresh=1e-12)
    assert (fit.path["coef"].values[:, :, -1] == 0).all()
    ref = cd.glmnet(X, y, lambda_=LAM, standardize=standardize, thresh=1e-12)
    np.testing.assert_allclose(_probs(fit, Xc), _probs(ref, X), atol=1e-9)


def test_all_features_constant_gives_the_intercept_only_model(small):
    _, y = small
    fit = cd.glmnet(np.ones((N, 2)), y, lambda_=LAM)
    np.testing.assert_allclose(fit.path["dev_ratio"].values, 0.0, atol=1e-12)
    prior = np.bincount(y) / N
    np.testing.assert_allclose(_probs(fit, np.ones((1, 2)))[0, 0], prior, rtol=1e-7)


def test_duplicated_feature_splits_its_coefficient(small):
    """Ridge shares a duplicated column equally: w/2 each, whose penalty lambda/2 (2 (w/2)^2)
    = (lambda/2)/2 w^2, so the fit equals the single-column fit at lambda/2."""
    X, y = small
    Xd = np.c_[X, X[:, :1]]
    lam = 0.08
    fit = cd.glmnet(Xd, y, lambda_=[lam], thresh=1e-12)
    C = fit.path["coef"].values[0]
    np.testing.assert_allclose(C[:, 0], C[:, -1], atol=1e-9)
    # the single-column fit at lam/2 on feature 0, penalty lam on the others: rescale the
    # duplicated column instead (x*sqrt(2) at lam is x,x at lam)
    Xs = X.copy()
    Xs[:, 0] *= np.sqrt(2)
    ref = cd.glmnet(Xs, y, lambda_=[lam], thresh=1e-12)
    np.testing.assert_allclose(_probs(fit, Xd), _probs(ref, Xs), atol=1e-8)
    np.testing.assert_allclose(2 * C[:, 0], ref.path["coef"].values[0][:, 0] * np.sqrt(2), rtol=1e-6)


@pytest.mark.parametrize("c", [1e6, 1e-6])
def test_feature_scale_is_absorbed_by_lambda(small, c):
    """Features times c at lambda times c^2 is the same model (logits unchanged)."""
    X, y = small
    lam = np.array([1.0, 0.05])
    ref = cd.glmnet(X, y, lambda_=lam, thresh=1e-12)
    fit = cd.glmnet(X * c, y, lambda_=lam * c**2, thresh=1e-12)
    assert fit.path["converged"].values.all()
    np.testing.assert_allclose(_probs(fit, X * c), _probs(ref, X), atol=1e-8)
    np.testing.assert_allclose(fit.path["coef"].values * c, ref.path["coef"].values, rtol=1e-5, atol=1e-9)


def test_lambda_below_the_arithmetic_of_the_features_scale(small):
    """Was a LinAlgError from inside LAPACK: lambda 1e-24 of the features' variance.

    Whether LAPACK meets a non-positive pivot there depends on the last bits of the
    iterates, so the fit either stops with the clear error or returns the solution of
    the equivalent unscaled problem (lambda 1e-24 on X: scikit-learn's unpenalized fit,
    its mean log-loss to 1e-7 relative).
    """
    X, y = small
    try:
        fit = cd.glmnet(X * 1e6, y, lambda_=[1e-12], solver="newton")
    except ValueError as exc:
        assert re.search(r"Hessian could not be factored.*lambda=1e-1[23] is too small.*Use lambda >= ",
                         str(exc))
        return
    # lambda 1e-24 on X: unpenalized to float64, scikit-learn's unpenalized fit
    ref = LogisticRegression(penalty=None, tol=1e-12, max_iter=10000).fit(X, y)
    assert bool(fit.converged.all())
    P = cd.predict(fit, X * 1e6, type="response").values.squeeze()
    nll = -np.mean(np.log(P[np.arange(N), y]))
    nll_ref = -np.mean(np.log(ref.predict_proba(X)[np.arange(N), y]))
    assert abs(nll - nll_ref) <= 1e-7 * nll_ref


def test_a_factorization_failure_becomes_a_clear_error(small):
    """The conversion itself, on a LinAlgError raised inside the block."""
    X, _ = small
    with pytest.raises(ValueError, match=r"Hessian could not be factored.*lambda=1e-12 is too small"
                                         r".*largest feature variance 1.*e\+12.*Use lambda >= 1, "):
        with singular_hessian_as_error(X * 1e6, np.array([1e-12])):
            np.linalg.cholesky(-np.eye(2))


# -- labels -----------------------------------------------------------------------------------


def test_single_class(small):
    X, _ = small
    with pytest.raises(ValueError, match=r"single class \('a'\).*at least two classes"):
        cd.glmnet(X, ["a"] * N, lambda_=LAM)


@pytest.mark.parametrize(
    "relabel",
    [lambda y: np.array(["cat", "dog", "emu"])[y],  # strings
     lambda y: y.astype(float),  # whole-number floats
     lambda y: y - 5,  # negative
     lambda y: np.array([3, 10, 42])[y],  # non-contiguous
     lambda y: pd.Series(pd.Categorical(np.array(list("zyx"))[y], categories=list("zyx")))],
    ids=["strings", "floats", "negative", "non-contiguous", "categorical"],
)
def test_label_encodings_give_the_same_model(small, relabel):
    X, y = small
    ref = cd.glmnet(X, y, lambda_=LAM)
    lab = relabel(y)
    fit = cd.glmnet(X, lab, lambda_=LAM)
    assert fit.classes.size == K
    # classes are sorted (categoricals keep their order), so column k is class k of y
    np.testing.assert_array_equal(fit.path["coef"].values, ref.path["coef"].values)
    pred = cd.predict(fit, X[:5], s=0.1, type="class").values
    expect = np.asarray(fit.classes)[cd.predict(ref, X[:5], s=0.1).values.argmax(1)]
    np.testing.assert_array_equal(pred, expect)


@pytest.mark.parametrize(
    ("y", "match"),
    [(lambda y: y + 0.5, r"non-integer float labels \(e.g. 0.5\)"),
     (lambda y: np.where(np.arange(N) == 3, np.nan, y), "NaN or inf labels"),
     (lambda y: np.eye(K)[y], r"must be 1-D.*argmax\(axis=1\)"),
     (lambda y: np.array([None] + ["a", "b"] * 29 + ["a"], dtype=object), "missing labels")],
    ids=["fractional", "nan", "one-hot", "none"],
)
def test_malformed_labels(small, y, match):
    X, yy = small
    with pytest.raises(ValueError, match=match):
        cd.glmnet(X, y(yy), lambda_=LAM)


def test_categorical_with_an_empty_category(small):
    """Was silent: a category without samples became a class whose intercept ran to -20
    (probability 1e-14) and the fit reported converged."""
    X, y = small
    cat = pd.Series(pd.Categorical(np.array(list("abc"))[y], categories=list("abcd")))
    with pytest.raises(ValueError, match=r"categories \['d'\] have no samples; .*remove_unused_categories"):
        cd.glmnet(X, cat, lambda_=LAM)


def test_class_with_one_sample_matches_sklearn(small):
    X, y = small
    y1 = np.where(np.arange(N) == 0, 2, y % 2)  # class 2 has one sample
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", cd.SeparationWarning)
        fit = cd.glmnet(X, y1, lambda_=[0.05], thresh=1e-12)
    assert fit.path["converged"].values.all()
    np.testing.assert_allclose(_probs(fit, X), _sklearn_probs(X, y1, 0.05), atol=1e-7)


def test_separable_data_at_tiny_lambda_is_flagged():
    rng = np.random.default_rng(2)
    X = np.r_[rng.normal(size=(20, 2)) + 4, rng.normal(size=(20, 2)) - 4]
    y = np.r_[np.zeros(20, int), np.ones(20, int)]
    with pytest.warns(cd.SeparationWarning, match=r"separable at lambda <= .*flagged separable=True"):
        fit = cd.glmnet(X, y, lambda_=[10.0, 1e-8])
    # the flag certifies the data (every training sample classified correctly), so it is
    # set at every lambda of a separable problem; the norm is what grows as lambda shrinks
    np.testing.assert_array_equal(fit.path["separable"].values, [True, True])
    assert "Separable" in repr(cd.summary(fit))
    assert (cd.predict(fit, X, s=1e-8, type="class").values == y).all()
    # the solution exists and is finite at lambda > 0, with a large norm
    assert np.isfinite(fit.path["coef"].values).all()
    assert np.abs(fit.path["coef"].values[1]).max() > 10 * np.abs(fit.path["coef"].values[0]).max()


# -- weights ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("w", "match"),
    [(lambda n: np.r_[np.nan, np.ones(n - 1)], "weights has NaN or inf entries"),
     (lambda n: np.r_[-1.0, np.ones(n - 1)], "negative entries; weights must be >= 0"),
     (lambda n: np.ones(n - 2), r"shape \(58,\); it needs one weight per sample, shape \(60,\)"),
     (lambda n: np.zeros(n), "all zero")],
    ids=["nan", "negative", "length", "zero"],
)
def test_bad_weights(small, w, match):
    X, y = small
    with pytest.raises(ValueError, match=match):
        cd.glmnet(X, y, lambda_=LAM, weights=w(N))


def test_class_with_zero_total_weight(small):
    """Was silent: its intercept ran to -20 and the fit reported converged=True."""
    X, y = small
    with pytest.raises(ValueError, match=r"class 2 has total weight 0 .*positive weight"):
        cd.glmnet(X, y, lambda_=LAM, weights=(y != 2).astype(float))


# -- lambda -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("lam", "exc", "match"),
    [(0.0, ValueError, r"values <= 0 \(0.0\); penalties must be positive"),
     ([0.1, -1.0], ValueError, r"values <= 0 \(-1.0\)"),
     ([np.nan], ValueError, "NaN or inf values"),
     ("small", TypeError, r"lambda_='small' is not a number.*np.geomspace"),
     ("0.1", TypeError, r"lambda_='0.1' is not a number"),
     (["0.1", "0.01"], TypeError, r"is not a number or a sequence of numbers"),
     (True, TypeError, r"lambda_=True is not a number"),
     ([[0.1, 0.2]], ValueError, "1-D sequence")],
    ids=["zero", "negative", "nan", "string", "numeric-string", "strings", "bool", "2-D"],
)
def test_bad_lambda(small, lam, exc, match):
    X, y = small
    with pytest.raises(exc, match=match):
        cd.glmnet(X, y, lambda_=lam)


def test_unsorted_lambda_is_sorted_decreasing(small):
    X, y = small
    fit = cd.glmnet(X, y, lambda_=[0.01, 1.0, 0.1])
    np.testing.assert_array_equal(fit.lambda_, [1.0, 0.1, 0.01])
    ref = cd.glmnet(X, y, lambda_=[1.0, 0.1, 0.01])
    np.testing.assert_array_equal(fit.path["coef"].values, ref.path["coef"].values)


# -- xarray -----------------------------------------------------------------------------------


def test_wrong_xarray_dims_and_names(small):
    X, y = small
    with pytest.raises(ValueError, match=r"x has dims \('row', 'col'\); classdep expects \('sample', "):
        cd.glmnet(xr.DataArray(X, dims=("row", "col")), y, lambda_=LAM)
    with pytest.raises(ValueError, match="x has 3 dimensions"):
        cd.glmnet(xr.DataArray(X[None], dims=("run", "sample", "feature")), y, lambda_=LAM)
    with pytest.raises(ValueError, match="needs data variables 'X' and 'y'"):
        cd.glmnet(xr.Dataset({"features": (("sample", "feature"), X)}), lambda_=LAM)
    # (feature, sample) order is fine: it is transposed by name
    fit = cd.glmnet(xr.DataArray(X.T, dims=("feature", "sample")), y, lambda_=LAM)
    np.testing.assert_array_equal(fit.path["coef"].values, cd.glmnet(X, y, lambda_=LAM).path["coef"].values)


# -- predict / assess -------------------------------------------------------------------------


def test_predict_and_assess_on_hostile_new_data(small):
    X, y = small
    fit = cd.glmnet(X, y, lambda_=LAM)
    with pytest.raises(ValueError, match="newx has 2 features but the model was fitted on 3"):
        cd.predict(fit, X[:, :2])
    with pytest.raises(ValueError, match="non-finite values"):
        cd.predict(fit, np.full((2, D), np.nan))
    with pytest.raises(ValueError, match=r"values <= 0"):
        cd.predict(fit, X, s=0.0)
    with pytest.raises(ValueError, match=r"newy names unknown class '7'; known classes are \['0', '1'"):
        cd.assess(fit, X, np.r_[y[:-1], 7])
    with pytest.raises(ValueError, match=r"newy has shape \(59,\) but newx has 60 samples"):
        cd.assess(fit, X, y[:-1])
    # extreme new features: probabilities stay finite and normalized (log-sum-exp)
    P = cd.predict(fit, X * 1e6, type="response").values
    assert np.isfinite(P).all()
    np.testing.assert_allclose(P.sum(axis=-1), 1.0)


def test_features_on_a_huge_scale_warn_before_newton_cg_misses_its_accuracy(small):
    """Variance 1e12 without standardize: the truncated-Newton fit can stop 3e-4 above
    the optimum (measured); it warns, naming the fixes.  Unit-scale features do not."""
    X, y = small
    with pytest.warns(cd.ScaleWarning, match=r"largest variance is 1.*e\+12.*Rescale x.*standardize=True"):
        cd.glmnet(X * 1e6, y, lambda_=[1.0], solver="newton-cg")
    with warnings.catch_warnings():
        warnings.simplefilter("error", cd.ScaleWarning)
        cd.glmnet(X * 1e6, y, lambda_=[1.0], solver="newton-cg", standardize=True)
        cd.glmnet(X, y, lambda_=[1e-12], solver="newton-cg")
        cd.glmnet(X * 1e6, y, lambda_=[1.0], solver="newton")


# -- s: R's cross-validated choices and values outside the path ---------------------------------


def test_coef_and_predict_of_a_cv_take_r_choices(small):
    X, y = small
    cv = cd.cv_glmnet(X, y, nfolds=3, lambda_=np.geomspace(1.0, 1e-3, 6), progress=False)
    for s, value in (("lambda.min", cv.lambda_min), ("lambda_1se", cv.lambda_1se)):
        np.testing.assert_array_equal(cd.coef(cv, s=s).values, cd.coef(cv.fit, s=value).values)
        np.testing.assert_array_equal(cd.predict(cv, X[:4], s=s, type="response").values,
                                      cd.predict(cv.fit, X[:4], s=value, type="response").values)
    # R's default for a cv.glmnet object is lambda.1se
    np.testing.assert_array_equal(cd.coef(cv).values, cd.coef(cv.fit, s=cv.lambda_1se).values)
    with pytest.raises(ValueError, match=r"s='lambda.best' is not one of 'lambda_min'"):
        cd.coef(cv, s="lambda.best")
    # the path alone points to the cv result instead of sending the user in a circle
    with pytest.raises(ValueError, match=r"call coef\(cv, s='lambda.min'\)"):
        cd.coef(cv.fit, s="lambda.min")


def test_s_outside_the_path_warns_and_is_labelled(small):
    X, y = small
    fit = cd.glmnet(X, y, lambda_=[1.0, 0.1])
    with pytest.warns(UserWarning, match=r"outside the path's lambdas \[0.1, 1\].*nearest end"):
        c = cd.coef(fit, s=[10.0, 0.5, 1e-4])
    np.testing.assert_array_equal(c["lambda_used"].values, [1.0, 0.5, 0.1])
    np.testing.assert_array_equal(c.sel({"lambda": 1e-4}).values, cd.coef(fit, s=0.1).values)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        cd.coef(fit, s=0.3)  # inside: no warning


def test_raw_categorical_labels_behave_as_the_series_form(small):
    X, _ = small
    lab = np.array(["b", "a", "c"])[np.arange(X.shape[0]) % 3]
    order = ["c", "b", "a"]
    raw = cd.glmnet(X, pd.Categorical(lab, categories=order), lambda_=[0.1])
    series = cd.glmnet(X, pd.Series(pd.Categorical(lab, categories=order)), lambda_=[0.1])
    assert [str(c) for c in raw.classes] == order == [str(c) for c in series.classes]
    np.testing.assert_array_equal(raw.path["coef"].values, series.path["coef"].values)
    with pytest.raises(ValueError, match=r"categories \['z'\] have no samples.*y.remove_unused_categories"):
        cd.glmnet(X, pd.Categorical(lab, categories=[*order, "z"]), lambda_=[0.1])


def test_sparse_features_are_refused_with_the_fix(small):
    sparse = pytest.importorskip("scipy.sparse")
    X, y = small
    with pytest.raises(TypeError, match=r"x is a scipy.sparse matrix .*pass x.toarray\(\)"):
        cd.glmnet(sparse.csr_matrix(X), y, lambda_=[0.1])


def test_a_dataset_of_several_splits_is_refused_by_fits_and_assessments():
    """Fitting or scoring on train and test at once would mix what the backbone saw."""
    ds = cd.datasets.make_mixture(n_classes=3, n_features=4, n_samples=120, n_test=60, seed=0)
    for call in (lambda: cd.glmnet(ds, nlambda=3),
                 lambda: cd.cv_glmnet(ds, nfolds=3, nlambda=3, progress=False)):
        with pytest.raises(ValueError, match=r"splits \[.test., .train.\].*select_split\(ds, .train.\)"):
            call()
    tr = cd.datasets.select_split(ds, "train")
    fit = cd.glmnet(tr, nlambda=3)
    with pytest.raises(ValueError, match="select_split"):
        cd.assess(fit, ds, None)
    # the features as a DataArray carry the split coordinate too
    with pytest.raises(ValueError, match="select_split"):
        cd.glmnet(ds.X, ds.y, nlambda=3)
    # one split, or the coordinate dropped, is accepted
    assert cd.glmnet(ds.drop_vars("split"), nlambda=3).lambda_.size == 3
