"""classwise(), boot(), boot_ci(), ambiguous(), lda() and manova() under hostile inputs
(issue 8): wrong object types, bad settings, NaN in the per-sample losses, a class that is
never predicted, degenerate groups."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from builders import noise

import classdep as cd

LAMS = np.geomspace(1.0, 1e-3, 5)


@pytest.fixture(scope="module")
def cv():
    X, y = noise(90, 3)
    return cd.cv_glmnet(X, y, nfolds=3, lambda_=LAMS, progress=False)


@pytest.mark.parametrize(
    ("call", "exc", "match"),
    [(lambda cv: cd.classwise(cv.fit), TypeError, r"classwise\(\) needs the result of cv_glmnet\(\); got"),
     (lambda cv: cd.classwise(cv, measure="auc"), ValueError, r"measure='auc' is not one of"),
     (lambda cv: cd.classwise(cv, null=-1), ValueError, "null=-1 must be a non-negative integer"),
     (lambda cv: cd.boot(cv.fit, R=10), TypeError, r"boot\(\) needs the result of cv_glmnet\(\)"),
     (lambda cv: cd.boot(cv, R=0), ValueError, "R=0 is too small"),
     (lambda cv: cd.boot(cv, R=2.5), TypeError, "R must be an integer; got 2.5"),
     (lambda cv: cd.boot_ci(cv), TypeError, r"boot_ci\(\) needs a Boot from boot\(\); got CVGlmnet"),
     (lambda cv: cd.boot_ci(cd.boot(cv, R=20, seed=0), conf=1.5), ValueError, "conf=1.5 must lie strictly"),
     (lambda cv: cd.ambiguous(cv, k=10), ValueError, "k=10 exceeds the 3 classes"),
     (lambda cv: cd.ambiguous(cv, k=1), ValueError, "k=1 is too small"),
     (lambda cv: cd.ambiguous(cv, s=5e-4), ValueError, "is not on the CV grid")],
    ids=["classwise-type", "classwise-measure", "classwise-null", "boot-type", "boot-R0", "boot-Rfloat",
         "boot_ci-type", "boot_ci-conf", "ambiguous-k-big", "ambiguous-k-small", "ambiguous-s"],
)
def test_bad_analysis_calls(cv, call, exc, match):
    with pytest.raises(exc, match=match):
        call(cv)


def test_nan_in_out_of_fold_losses_is_refused(cv):
    oof = cv.oof.copy(deep=True)
    oof["loss"][2, 5] = np.nan
    with pytest.raises(ValueError, match="oof\\['loss'\\] holds NaN or infinite values"):
        cd.boot(oof, R=10)


def test_class_never_predicted_leaves_no_nan_in_the_table():
    """A rare, overlapping class is never predicted: its precision is undefined (0/0).
    The table must stay finite: precision counts as 1 where nothing was predicted."""
    rng = np.random.default_rng(3)
    X = rng.normal(size=(120, 2))
    y = np.where(np.arange(120) < 6, 2, (X[:, 0] > 0).astype(int))  # class 2: 6 noise samples
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        cvr = cd.cv_glmnet(X, y, nfolds=3, lambda_=LAMS, progress=False)
    assert (cvr.confusion.values[:, :, 2] == 0).all()  # never predicted
    for measure in ("precision", "recall", "deviance", "ova_accuracy", "ova_deviance"):
        cw = cd.classwise(cvr, measure=measure, null=5)
        for v in ("lambda_opt", "regret", "rel_regret", "at_opt", "at_global", "regret_crossfit"):
            assert np.isfinite(cw.table[v].values).all(), (measure, v)
        # the one-vs-all deviance has no null (it would need every class's probability of
        # every sample); its NaN is flagged by null_reps = 0 and no p-values
        a = cw.table.attrs
        has_null = measure != "ova_deviance"
        assert np.isfinite(a["null_mean"]) == (a["null_reps"] == 5) == has_null
        assert ("p_value" in cw.table) == has_null
        if has_null:
            assert np.isfinite(cw.table["p_value"].values).all()


def test_discriminant_analysis_on_degenerate_groups():
    rng = np.random.default_rng(1)
    X = rng.normal(size=(40, 3))
    y = np.arange(40) % 2
    Xn = X.copy()
    Xn[3, 0] = np.nan
    with pytest.raises(ValueError, match=r"non-finite values \(NaN\)"):
        cd.lda(Xn, y)
    with pytest.raises(ValueError, match=r"1 variables appear to be constant within groups \(V4"):
        cd.lda(np.c_[X, np.ones(40)], y)
    with pytest.raises(ValueError, match="single class"):
        cd.manova(X, np.zeros(40))
    with pytest.raises(ValueError, match=r"unknown class 'z'"):
        cd.lda(X, y, classes=[0, "z"])


def test_manova_with_too_few_residual_df_flags_the_undefined_f():
    """n - K = p: McKeon's Hotelling-Lawley F has den Df 0; the row says so instead of F 0."""
    from statsmodels.multivariate.manova import MANOVA

    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(11, 8)), np.arange(11) % 3
    mv = cd.manova(X, y)
    hl = mv["Hotelling-Lawley"]
    assert float(hl["den_df"]) <= 0 and np.isnan(float(hl["F"])) and np.isnan(float(hl["p_value"]))
    assert "undefined" in str(hl["flag"].values)
    # the rows statsmodels can compute are kept as it computes them
    exog = np.column_stack([np.ones(11), (y[:, None] == np.arange(1, 3)).astype(float)])
    ref = MANOVA(X, exog).mv_test(hypotheses=[("g", np.column_stack([np.zeros(2), np.eye(2)]))])
    ref = ref.results["g"]["stat"]
    assert float(mv["Pillai"]["F"]) == pytest.approx(float(ref.loc["Pillai's trace", "F Value"]), rel=1e-12)
    assert mv["Pillai"]["flag"].values == ""
    text = repr(mv)
    assert "NA: Hotelling-Lawley: F approximation undefined" in text


def test_manova_names_a_collinear_feature():
    rng = np.random.default_rng(1)
    X = rng.normal(size=(60, 4))
    X[:, 3] = X[:, 0] + X[:, 1]
    with pytest.raises(ValueError, match=r"feature\(s\) \['V[124]'\] are linear combinations"):
        cd.manova(X, rng.integers(0, 3, 60))
