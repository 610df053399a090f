"""The scikit-learn estimators: scikit-learn's own checks, and the same model as LogisticRegression.

classdep minimizes the mean weighted loss plus ``lambda / 2 * ||W||^2``; scikit-learn's
LogisticRegression ``C * sum_i w_i loss_i + ||W||^2 / 2``: the same minimizer when
``C = 1 / (lambda * sum_i w_i)`` with three or more classes (tests/test_solver.py), and
``C = 2 / (lambda * n)`` with two, where scikit-learn fits one vector ``W_1 - W_0``
(tests/test_invariance.py).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone
from sklearn.datasets import make_classification
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV, StratifiedKFold, cross_val_predict
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils.estimator_checks import parametrize_with_checks

import classdep as cd
from classdep.sklearn import CVGlmnetClassifier, GlmnetClassifier

pytestmark = pytest.mark.filterwarnings("ignore::classdep.SeparationWarning")


def _expected_failures(estimator) -> dict[str, str]:
    if isinstance(estimator, CVGlmnetClassifier):
        return {
            "check_sample_weight_equivalence_on_dense_data":
                "the folds are drawn over samples: repeating a sample (or dropping one of weight 0) "
                "moves samples between folds, so weights and repetitions cross-validate differently "
                "(GlmnetClassifier, the fit itself, passes this check)",
        }
    return {}


# small grids and 3 folds: the checks fit on a few dozen samples
@parametrize_with_checks([GlmnetClassifier(), CVGlmnetClassifier(nfolds=3, nlambda=10)],
                         expected_failed_checks=_expected_failures)
def test_sklearn_estimator_checks(estimator, check):
    check(estimator)


def _problem(n_classes: int, n: int = 300, seed: int = 0):
    """``n / n_classes`` samples of each class (a multiple of 5), so that every stratified
    training fold of five has the same size: the ``C`` of the comparison."""
    X, y = make_classification(n_samples=2 * n, n_features=6, n_informative=4, n_redundant=0,
                               n_classes=n_classes, n_clusters_per_class=1, flip_y=0.05,
                               class_sep=1.0, random_state=seed)
    keep = np.sort(np.concatenate([np.flatnonzero(y == k)[: n // n_classes] for k in range(n_classes)]))
    return X[keep] * [1, 10, 0.1, 1, 3, 1], y[keep]  # unequal scales for the scaler


def _reference(lam: float, n_train: float, n_classes: int) -> LogisticRegression:
    C = (1.0 if n_classes > 2 else 2.0) / (lam * n_train)
    return LogisticRegression(C=C, tol=1e-12, max_iter=10_000, solver="newton-cholesky")


@pytest.mark.parametrize("n_classes", [2, 3])
def test_pipeline_and_cross_val_predict_match_logistic_regression(n_classes):
    X, y = _problem(n_classes)
    lam, folds = 0.02, StratifiedKFold(5, shuffle=True, random_state=0)
    n_train = len(y) * 4 / 5  # equal class counts, divisible by 5: every training fold alike
    ours = make_pipeline(StandardScaler(), GlmnetClassifier(s=lam, thresh=1e-12))
    ref = make_pipeline(StandardScaler(), _reference(lam, n_train, n_classes))
    P = cross_val_predict(ours, X, y, cv=folds, method="predict_proba")
    Q = cross_val_predict(ref, X, y, cv=folds, method="predict_proba")
    np.testing.assert_allclose(P, Q, rtol=0, atol=1e-6)
    # the whole pipeline on all the data: the same coefficients in scikit-learn's layout
    ours.fit(X, y)
    ref = make_pipeline(StandardScaler(), _reference(lam, len(y), n_classes)).fit(X, y)
    clf, sk = ours[-1], ref[-1]
    assert clf.coef_.shape == sk.coef_.shape and clf.intercept_.shape == sk.intercept_.shape
    np.testing.assert_allclose(clf.coef_, sk.coef_, atol=1e-6 * np.abs(sk.coef_).max())
    np.testing.assert_allclose(ours.predict_proba(X), ref.predict_proba(X), rtol=0, atol=1e-6)
    np.testing.assert_array_equal(ours.predict(X), ref.predict(X))
    np.testing.assert_allclose(ours.predict_log_proba(X), np.log(ref.predict_proba(X)), atol=1e-5)
    if n_classes == 2:  # the same decision up to scikit-learn's gauge: beta = W_1 - W_0
        np.testing.assert_allclose(ours.decision_function(X), ref.decision_function(X), atol=1e-5)


def test_sample_weight_matches_logistic_regression():
    X, y = _problem(3, seed=1)
    w = np.random.default_rng(0).uniform(0.2, 3.0, len(y))
    lam = 0.01
    ours = GlmnetClassifier(s=lam, thresh=1e-12).fit(X, y, sample_weight=w)
    sk = _reference(lam, w.sum(), 3).fit(X, y, sample_weight=w)
    np.testing.assert_allclose(ours.predict_proba(X), sk.predict_proba(X), rtol=0, atol=1e-6)
    # through a pipeline, the weight reaches the last step by its name
    pipe = make_pipeline(StandardScaler(), GlmnetClassifier(s=lam))
    pipe.fit(X, y, glmnetclassifier__sample_weight=w)
    np.testing.assert_allclose(pipe[-1].fit_.path.attrs["weights"], w)


def test_classdep_result_is_reachable_and_labels_are_kept():
    X, y = _problem(3, seed=2)
    names = np.array(["cat", "dog", "emu"])[y]
    df = pd.DataFrame(X, columns=[f"f{j}" for j in range(X.shape[1])])
    clf = GlmnetClassifier(s=0.05).fit(df, names)
    assert clf.classes_.tolist() == ["cat", "dog", "emu"]
    assert isinstance(clf.fit_, cd.GlmnetFit) and "Df" in repr(clf.fit_)
    C = cd.coef(clf.fit_, s=0.05)
    assert C["class"].values.tolist() == ["cat", "dog", "emu"]
    assert C["feature"].values.tolist() == ["(Intercept)", *df.columns]
    np.testing.assert_allclose(C.values[:, 1:], clf.coef_)
    np.testing.assert_allclose(C.values[:, 0], clf.intercept_)
    assert clf.feature_names_in_.tolist() == df.columns.tolist()
    assert set(clf.predict(df)) <= set(clf.classes_)


def test_per_class_penalties():
    X, y = _problem(3, seed=3)
    shared = GlmnetClassifier(s=0.01).fit(X, y)
    same = GlmnetClassifier(s={0: 0.01, 1: 0.01, 2: 0.01}).fit(X, y)
    np.testing.assert_allclose(same.predict_proba(X), shared.predict_proba(X), atol=1e-8)
    lam = [0.3, 0.01, 0.001]
    a = GlmnetClassifier(s=lam).fit(X, y)
    b = GlmnetClassifier(s=0.01, penalty_factor=[30.0, 1.0, 0.1]).fit(X, y)
    np.testing.assert_allclose(a.lambda_, lam)
    np.testing.assert_allclose(a.predict_proba(X), b.predict_proba(X), atol=1e-7)
    np.testing.assert_allclose(a.fit_.path["penalty"].values[0], lam)
    norms = np.linalg.norm(a.coef_, axis=1)
    assert norms[0] < norms[1] < norms[2]  # the heavier the penalty, the smaller the class's weights
    with pytest.raises(ValueError, match="no value for the classes"):
        GlmnetClassifier(s={0: 0.1, 1: 0.1}).fit(X, y)


def test_class_weight_dict_is_balanced():
    X, y = _problem(3, seed=4)
    keep = np.concatenate([np.flatnonzero(y == 0)[:30], np.flatnonzero(y > 0)])
    X, y = X[keep], y[keep]
    counts = np.bincount(y)
    bal = GlmnetClassifier(class_weight="balanced").fit(X, y)
    byhand = GlmnetClassifier(class_weight={k: len(y) / (3 * c) for k, c in enumerate(counts)}).fit(X, y)
    np.testing.assert_allclose(bal.coef_, byhand.coef_, atol=1e-8)


@pytest.mark.parametrize("s", ["lambda_min", "lambda_1se", "lambda.min"])
def test_cv_classifier_predicts_at_rs_choice(s):
    X, y = _problem(3, seed=5)
    clf = CVGlmnetClassifier(s=s, nfolds=5, nlambda=15).fit(X, y)
    assert isinstance(clf.cv_, cd.CVGlmnet) and clf.fit_ is clf.cv_.fit
    want = clf.cv_.lambda_min if s != "lambda_1se" else clf.cv_.lambda_1se
    assert clf.lambda_ == want
    P = cd.predict(clf.cv_, X, s=s.replace(".", "_"), type="response").values
    np.testing.assert_allclose(clf.predict_proba(X), P, atol=1e-12)
    # the same as cv_glmnet called directly
    cv = cd.cv_glmnet(X, y, nfolds=5, nlambda=15, progress=False, thresh=1e-9)
    np.testing.assert_allclose(clf.cv_.cvm.values, cv.cvm.values, rtol=1e-8)


def test_cv_classifier_classwise_refits_at_each_class_optimum():
    X, y = _problem(3, seed=6)
    clf = CVGlmnetClassifier(s="classwise", nfolds=5, nlambda=15).fit(X, y)
    lam = clf.classwise_.lambda_opt.values
    np.testing.assert_allclose(clf.lambda_, lam)
    np.testing.assert_allclose(clf.fit_.path["penalty"].values[0], lam, rtol=1e-12)
    ref = GlmnetClassifier(s=list(lam)).fit(X, y)
    np.testing.assert_allclose(clf.predict_proba(X), ref.predict_proba(X), atol=1e-8)
    with pytest.raises(ValueError, match="is not one of"):
        CVGlmnetClassifier(s="best").fit(X, y)


def test_grid_search_and_clone():
    X, y = _problem(3, seed=7)
    grid = GridSearchCV(GlmnetClassifier(), {"s": [1.0, 0.01]}, cv=3).fit(X, y)
    assert grid.best_params_["s"] in (1.0, 0.01)
    est = GlmnetClassifier(s=[0.1, 0.2, 0.3], class_weight="balanced")
    assert clone(est).get_params() == est.get_params()
    assert est.set_params(s=0.5).s == 0.5


def test_one_vs_all_probabilities_are_normalized():
    X, y = _problem(3, seed=8)
    clf = GlmnetClassifier(s=0.01, family="ova").fit(X, y)
    P = clf.predict_proba(X)
    np.testing.assert_allclose(P.sum(axis=1), 1.0)
    R = cd.predict(clf.fit_, X, s=0.01, type="response").values  # the K binomial probabilities
    np.testing.assert_allclose(P, R / R.sum(axis=1, keepdims=True), rtol=1e-12)
    np.testing.assert_allclose(clf.predict_log_proba(X), np.log(P), rtol=1e-12)
    with pytest.raises(ValueError, match="family"):
        GlmnetClassifier(family="gaussian").fit(X, y)


def test_cv_classifier_in_a_pipeline():
    X, y = _problem(3, seed=9)
    pipe = make_pipeline(StandardScaler(), CVGlmnetClassifier(nfolds=3, nlambda=8)).fit(X, y)
    clf = pipe[-1]
    assert clf.lambda_ == clf.cv_.lambda_1se and pipe.score(X, y) > 0.7
    P = cross_val_predict(pipe, X, y, cv=3, method="predict_proba")
    assert P.shape == (len(y), 3) and np.allclose(P.sum(axis=1), 1.0)
