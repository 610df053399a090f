"""The first-hour survey: what a new user mistypes, and the one clear error each gets.

Each probe is a call an R or scikit-learn user plausibly writes on a first try.  Every one
must raise the stated exception from classdep's own checks (not from inside NumPy, SciPy
or Python's argument binding), with a message that names the argument and the fix; the
docs' guarantees page counts them.  Probes whose answer is a result (R-faithful
behaviour) are checked for that behaviour in their own tests.
"""

from __future__ import annotations

import traceback
import warnings

import numpy as np
import pandas as pd
import pytest

import classdep as cd

RNG = np.random.default_rng(0)
X = RNG.normal(size=(90, 4))
Y = np.repeat([0, 1, 2], 30)


@pytest.fixture(scope="module")
def made():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fit = cd.glmnet(X, Y, nlambda=5)
        cv = cd.cv_glmnet(X, Y, nfolds=3, nlambda=5, progress=False)
        b = cd.boot(cv, R=20)
    return {"fit": fit, "cv": cv, "b": b}


# (name, call taking the made results, exception, pattern the message must match)
PROBES = [
    ("nlambda=0", lambda m: cd.glmnet(X, Y, nlambda=0), ValueError, r"nlambda=0 must be a positive integer"),
    ("nlambda=2.5", lambda m: cd.glmnet(X, Y, nlambda=2.5), ValueError, r"nlambda=2\.5"),
    ("alpha=1 (R's lasso)", lambda m: cd.glmnet(X, Y, alpha=1), ValueError, r"alpha=1.*ridge.*alpha=0"),
    ("family='poisson'", lambda m: cd.glmnet(X, Y, family="poisson"), ValueError,
     r"family='poisson'.*multinomial"),
    ("nfolds=1", lambda m: cd.cv_glmnet(X, Y, nfolds=1, progress=False), ValueError, r"nfolds=1.*>= 2"),
    ("nfolds='5'", lambda m: cd.cv_glmnet(X, Y, nfolds="5", progress=False), TypeError,
     r"nfolds='5'.*integer"),
    ("nfolds=200", lambda m: cd.cv_glmnet(X, Y, nfolds=200, progress=False), ValueError,
     r"fewer than nfolds=200"),
    ("foldid too short", lambda m: cd.cv_glmnet(X, Y, foldid=[1, 2, 3], progress=False), ValueError,
     r"foldid.*one integer fold number per sample"),
    ("DataFrame with a text column", lambda m: cd.glmnet(pd.DataFrame({"a": X[:, 0], "b": ["x"] * 90}), Y),
     TypeError, r"not numbers.*non-numeric columns"),
    ("labels with NaN", lambda m: cd.glmnet(X, pd.Series(np.where(np.arange(90) == 3, np.nan, Y))),
     ValueError, r"NaN.*drop those samples"),
    ("measure='accuracy'", lambda m: cd.classwise(m["cv"], measure="accuracy"), ValueError,
     r"measure='accuracy'.*ova_accuracy"),
    ("null=-1", lambda m: cd.classwise(m["cv"], null=-1), ValueError, r"null=-1.*non-negative"),
    ("criterion='worst'", lambda m: cd.classwise(m["cv"], criterion="worst"), ValueError,
     r"criterion='worst'.*worst_class"),
    ("fdr=10", lambda m: cd.classwise(m["cv"], fdr=10), ValueError, r"fdr=10.*between 0 and 1"),
    ("R=0", lambda m: cd.boot(m["cv"], R=0), ValueError, r"R=0"),
    ("conf=95 (a percentage)", lambda m: cd.boot_ci(m["b"], conf=95), ValueError, r"conf=95.*0\.95"),
    ("type='foo'", lambda m: cd.boot_ci(m["b"], type="foo"), ValueError, r"type='foo'.*perc"),
    ("newx with 3 of 4 features", lambda m: cd.predict(m["fit"], X[:, :3]), ValueError,
     r"3 features.*fitted on 4"),
    ("newx with other column names",
     lambda m: cd.predict(cd.glmnet(pd.DataFrame(X, columns=list("abcd")), Y, nlambda=3),
                          pd.DataFrame(X, columns=list("wxyz"))),
     ValueError, r"columns.*'w'.*'a'"),
    ("s=-1", lambda m: cd.predict(m["fit"], X, s=-1), ValueError, r"s has values <= 0"),
    ("s='0.1' (text)", lambda m: cd.predict(m["fit"], X, s="0.1"), TypeError, r"s='0\.1'.*number"),
    ("type='prob'", lambda m: cd.predict(m["fit"], X, type="prob"), ValueError, r"type='prob'.*response"),
    ("coef(fit, s='lambda.min')", lambda m: cd.coef(m["fit"], s="lambda.min"), ValueError,
     r"coef\(cv, s='lambda.min'\)"),
    ("newy with an unknown class", lambda m: cd.assess(m["fit"], X[:5], ["9"] * 5), ValueError,
     r"unknown class '9'"),
    ("newy of another length", lambda m: cd.assess(m["fit"], X[:5], Y[:4]), ValueError,
     r"one label per sample"),
    ("ambiguous k=10 of 3 classes", lambda m: cd.ambiguous(m["cv"], k=10), ValueError, r"2 <= k <= 3"),
    ("lda on one class", lambda m: cd.lda(X[:30], Y[:30]), ValueError, r"single class"),
    ("missing features file", lambda m: cd.datasets.load_features("/nonexistent/f.npz"), FileNotFoundError,
     r"no features file"),
    ("memory_limit='lots'", lambda m: cd.memory_plan(X, Y, memory_limit="lots"), ValueError, r"'8GB'"),
    ("device='tpu'", lambda m: cd.glmnet(X, Y, device="tpu"), ValueError, r"device='tpu'.*gpu"),
    ("seed='abc'", lambda m: cd.cv_glmnet(X, Y, nfolds=3, seed="abc", progress=False), TypeError,
     r"seed='abc'.*integer"),
    ("a class of one sample", lambda m: cd.cv_glmnet(X[:61], np.r_[Y[:60], 2], nfolds=3, progress=False),
     ValueError, r"1 samples.*drop that class"),
    ("weights of another length", lambda m: cd.glmnet(X, Y, weights=np.ones(5)), ValueError,
     r"one weight per sample"),
    ("3-D features", lambda m: cd.glmnet(X[None], Y), ValueError, r"must be 2-D"),
    ("one-hot labels", lambda m: cd.glmnet(X, np.eye(3)[Y]), ValueError, r"argmax"),
    ("classwise(fit)", lambda m: cd.classwise(m["fit"]), TypeError, r"run cv_glmnet"),
    ("summary(cv)", lambda m: cd.summary(m["cv"]), TypeError, r"methods for GlmnetFit"),
    ("type_measure='auc'", lambda m: cd.cv_glmnet(X, Y, nfolds=3, type_measure="auc", progress=False),
     ValueError, r"type_measure='auc'"),
    ("lambda_min_ratio=2", lambda m: cd.glmnet(X, Y, lambda_min_ratio=2), ValueError, r"\(0, 1\)"),
    ("thresh=-1", lambda m: cd.glmnet(X, Y, thresh=-1), ValueError, r"thresh=-1"),
    ("class_effects on 1-D", lambda m: cd.class_effects([1, 2], [3, 4]), ValueError,
     r"2-D array \(seed, class\)"),
]


@pytest.mark.parametrize("name, call, exc, pattern", PROBES, ids=[p[0] for p in PROBES])
def test_probe_gets_one_clear_error(made, name, call, exc, pattern):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(exc, match=pattern) as info:
            call(made)
    # raised by classdep's own code, not deep inside a dependency or by argument binding
    last = traceback.extract_tb(info.value.__traceback__)[-1]
    assert "/classdep/" in last.filename.replace("\\", "/"), (name, last.filename)


def test_an_increasing_or_repeated_lambda_is_used_as_r_uses_it():
    """R's glmnet sorts a user's lambda decreasing; a repeated value is fitted once and said."""
    fit = cd.glmnet(X, Y, lambda_=[0.01, 0.1, 1])
    np.testing.assert_array_equal(fit.lambda_, [1, 0.1, 0.01])
    with pytest.warns(UserWarning, match="repeated"):
        fit = cd.glmnet(X, Y, lambda_=[1, 0.1, 0.1])
    np.testing.assert_array_equal(fit.lambda_, [1, 0.1])


def test_dataset_codes_as_newy_point_to_the_dataset():
    """fit on a Dataset (class names), newy = its integer codes: the error names the fix."""
    ds = cd.datasets.make_mixture(n_classes=3, n_features=4, n_samples=150, n_test=90, seed=1)
    ds = ds.assign_coords({"class": ["cat", "dog", "emu"]})
    tr, te = cd.datasets.select_split(ds, "train"), cd.datasets.select_split(ds, "test")
    fit = cd.glmnet(tr, nlambda=3)
    with pytest.raises(ValueError, match=r"integer codes.*assess\(fit, ds\)"):
        cd.assess(fit, te.X, te.y)
    by_name = cd.assess(fit, te.X.values, te["class"].values[te.y.values])
    whole = cd.assess(fit, te)
    np.testing.assert_array_equal(whole.oof["loss"].values, by_name.oof["loss"].values)
