"""Invariances of the ridge multinomial fit, drawn with hypothesis (issue 8), and float32
robustness.

Each property states its tolerance.  Fits run at ``thresh=1e-10`` (the estimated relative
objective gap before the last Newton step; the step taken after it leaves ~1e-16), so
predicted probabilities of two equivalent problems agree to rounding: 1e-8 absolute is
the stated tolerance, far above the ~1e-12 seen and far below any statistical effect.
"""

from __future__ import annotations

import numpy as np
import pytest
from builders import blobs
from builders import probs as _probs
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.linear_model import LogisticRegression

import classdep as cd

# random draws are often separable at the small lambdas: the invariances hold all the same
pytestmark = pytest.mark.filterwarnings("ignore::classdep.SeparationWarning")

ATOL = 1e-8  # predicted probabilities of equivalent problems
FAST = settings(max_examples=12, deadline=None)


def _problem(seed: int, n: int = 50, d: int = 3, K: int = 3):
    return blobs(n, d, K, seed, spread=1.5, every_class=True)


def _fit(X, y, lam, **kw):
    return cd.glmnet(X, y, lambda_=lam, thresh=1e-10, **kw)


seeds = st.integers(0, 2**31 - 1)
lams = st.sampled_from([1.0, 0.1, 1e-2, 1e-3])


@given(seed=seeds, lam=lams)
@FAST
def test_permuting_samples(seed, lam):
    X, y = _problem(seed)
    p = np.random.default_rng(seed + 1).permutation(y.size)
    a, b = _fit(X, y, [lam]), _fit(X[p], y[p], [lam])
    np.testing.assert_allclose(_probs(b, X, lam), _probs(a, X, lam), atol=ATOL)


@given(seed=seeds, lam=lams)
@FAST
def test_relabeling_classes(seed, lam):
    X, y = _problem(seed)
    perm = np.random.default_rng(seed + 2).permutation(3)
    a, b = _fit(X, y, [lam]), _fit(X, perm[y], [lam])
    # class k of the first fit is class perm[k] of the second
    np.testing.assert_allclose(_probs(b, X, lam)[:, perm], _probs(a, X, lam), atol=ATOL)


@given(seed=seeds, lam=lams, c=st.floats(1e-3, 1e3))
@FAST
def test_scaling_all_sample_weights(seed, lam, c):
    X, y = _problem(seed)
    w = np.random.default_rng(seed + 3).uniform(0.1, 2.0, y.size)
    a, b = _fit(X, y, [lam], weights=w), _fit(X, y, [lam], weights=c * w)
    np.testing.assert_allclose(_probs(b, X, lam), _probs(a, X, lam), atol=ATOL)


@given(seed=seeds, lam=lams)
@FAST
def test_rotating_features(seed, lam):
    """Ridge is rotation invariant: on X Q (Q orthogonal) the coefficients are Q' W and the
    predictions are unchanged (the centring commutes with Q)."""
    X, y = _problem(seed)
    Q, _ = np.linalg.qr(np.random.default_rng(seed + 4).normal(size=(3, 3)))
    a, b = _fit(X, y, [lam]), _fit(X @ Q, y, [lam])
    np.testing.assert_allclose(_probs(b, X @ Q, lam), _probs(a, X, lam), atol=ATOL)
    Wa = a.path["coef"].values[0]  # (class, feature)
    Wb = b.path["coef"].values[0]
    np.testing.assert_allclose(Wb, Wa @ Q, atol=1e-6 * max(1.0, np.abs(Wa).max()))


@given(seed=seeds, lam=st.sampled_from([0.5, 0.05, 5e-3]))
@settings(max_examples=8, deadline=None)
def test_two_class_multinomial_is_the_binomial(seed, lam):
    """K = 2: the softmax fit's coefficients are centred, w1 = -w0 = beta/2, so its penalty
    lambda/2 (|w0|^2 + |w1|^2) = (lambda/2)/2 |beta|^2: the binomial fit at lambda/2 — that
    is one-vs-all's class-1 problem at lambda/2, and scikit-learn's binary fit at
    C = 1 / (n lambda/2) (sum loss + 1/(2C) |beta|^2)."""
    X, y = _problem(seed, K=2)
    n = y.size
    multi = _fit(X, y, [lam])
    W = multi.path["coef"].values[0]
    b = multi.path["intercept"].values[0]
    np.testing.assert_allclose(W[0] + W[1], 0.0, atol=1e-12)  # centred
    beta, b0 = W[1] - W[0], b[1] - b[0]
    ova = _fit(X, y, [lam / 2], family="ova")
    np.testing.assert_allclose(ova.path["coef"].values[0][1], beta, rtol=1e-6, atol=1e-9)
    np.testing.assert_allclose(ova.path["intercept"].values[0][1], b0, rtol=1e-6, atol=1e-9)
    sk = LogisticRegression(C=2.0 / (n * lam), tol=1e-12, max_iter=10_000).fit(X, y)
    np.testing.assert_allclose(beta, sk.coef_[0], rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(b0, sk.intercept_[0], rtol=1e-5, atol=1e-7)


@pytest.mark.parametrize("seed", [0, 3, 8])  # 3 and 8 are separable at the small lambdas
def test_float32_on_features_of_scale_1e3_matches_float64(seed):
    """The documented float32 accuracy (docs/guarantees.rst), along the default path of 12
    lambdas (lambda_max down to 1e-6 lambda_max): predicted probabilities within 1e-4
    (absolute; 2.2e-5 the worst seen over 12 seeds), the objective within 1e-6 of its value
    at lambda_max, and coefficients within 1e-5 (relative to the largest) where lambda >=
    0.02 lambda_max.  At smaller lambdas coefficients may differ more: the objective is
    flat along those directions, which is what float32 cannot resolve."""
    X, y = _problem(seed, n=200, d=6, K=4)
    X = 1e3 * X
    f32 = cd.glmnet(X.astype(np.float32), y, nlambda=12, dtype=np.float32)
    f64 = cd.glmnet(X, y, lambda_=f32.lambda_)
    assert f32.path["converged"].values.all()
    assert np.abs(_probs(f32, X, None) - _probs(f64, X, None)).max() <= 1e-4
    obj32, obj64 = f32.path["objective"].values, f64.path["objective"].values
    assert np.abs(obj32 - obj64).max() <= 1e-6 * obj64[0]
    well = f32.lambda_ >= 0.02 * f32.lambda_[0]
    C32, C64 = f32.path["coef"].values[well], f64.path["coef"].values[well]
    assert well.sum() >= 4
    assert np.abs(C32 - C64).max() <= 1e-5 * np.abs(C64).max()
