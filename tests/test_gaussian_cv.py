"""The Gaussian family's cross-validation reports the Gaussian deviance (mean squared error).

glmnet's objective for ``family="gaussian"`` is ``(1/n) sum_i ||y_i - z_i||^2 / 2 +
lambda / 2 ||W||^2`` on the one-hot labels, which is scikit-learn's ``Ridge`` (squared
error summed, ``alpha ||W||^2``) at ``alpha = n_train * lambda``: the cross-validated
measure must equal Ridge's cross-validated MSE on the same folds.
"""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.linear_model import Ridge

import classdep as cd


@pytest.fixture(scope="module")
def problem():
    rng = np.random.default_rng(7)
    n, d, K = 150, 4, 3
    y = rng.integers(0, K, n)
    X = rng.normal(size=(n, d)) + 0.8 * np.eye(K, d)[y]
    foldid = (np.arange(n) % 5) + 1  # R's 1-based fold numbers, unequal classes per fold
    return X, y, foldid


def _ridge_cv_mse(X, y, foldid, lam):
    """Weighted mean over folds of the per-fold mean of sum_k (y_ik - pred_ik)^2 (R's cvm)."""
    Y = np.eye(y.max() + 1)[y]
    per_fold, size = [], []
    for f in np.unique(foldid):
        test = foldid == f
        ridge = Ridge(alpha=(~test).sum() * lam, fit_intercept=True, solver="cholesky", tol=1e-14)
        ridge.fit(X[~test], Y[~test])
        r = Y[test] - ridge.predict(X[test])
        per_fold.append((r * r).sum(axis=1).mean())
        size.append(test.sum())
    return float(np.average(per_fold, weights=size))


def test_gaussian_cv_measure_is_ridge_cross_validated_mse(problem):
    X, y, foldid = problem
    lams = np.array([1.0, 0.1, 0.01, 0.001])
    cv = cd.cv_glmnet(X, y, family="gaussian", foldid=foldid, lambda_=lams, thresh=1e-12,
                      progress=False)
    expect = [_ridge_cv_mse(X, y, foldid, lam) for lam in cv.lambda_]
    np.testing.assert_allclose(cv.cvm.values, expect, rtol=1e-8)
    # the out-of-fold per-sample losses are the squared errors behind it
    oof = cv.oof["loss"].mean("sample").values
    np.testing.assert_allclose(oof, expect, rtol=1e-8)  # folds of equal size: weights agree


def test_gaussian_cv_prints_its_measure_and_family(problem):
    X, y, foldid = problem
    cv = cd.cv_glmnet(X, y, family="gaussian", foldid=foldid, nlambda=4, progress=False)
    text = repr(cv)
    assert "Measure: Mean-Squared Error" in text
    assert "family = 'gaussian'" in text
    assert "Multinomial Deviance" in repr(cd.cv_glmnet(X, y, foldid=foldid, nlambda=4, progress=False))
