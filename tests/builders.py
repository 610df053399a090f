"""Small synthetic problems and call wrappers shared by the test modules.

Plain functions (the tests call them with arguments); the fixtures built on them are in
``conftest.py``.  Every builder draws from ``np.random.default_rng(seed)`` in a fixed order,
so that a test's data is a function of its arguments alone; ``seed`` may also be a
``Generator``, whose stream the caller then goes on drawing from.
"""

from __future__ import annotations

import warnings

import numpy as np

import classdep as cd


def blobs(n=300, d=5, K=4, seed=0, *, spread=1.0, scale=1.0, shift=0.0, p=None, every_class=False):
    """Gaussian classes: labels, then class means ``spread * N(0, I)``, then features
    ``means[y] + scale * N(0, I) + shift``.

    ``scale`` (a number or one per feature) and ``shift`` make the features unequal and
    uncentred, so that standardization and intercepts matter; ``p`` draws the labels with
    these class probabilities (an imbalanced problem) instead of uniformly; ``every_class``
    makes the first ``K`` labels ``0 .. K-1`` so that no class is missing from a small draw.
    """
    rng = np.random.default_rng(seed)
    if p is not None:
        p = np.asarray(p, dtype=float)[:K]
        y = rng.choice(K, size=n, p=p / p.sum())
    elif every_class:
        y = np.r_[np.arange(K), rng.integers(0, K, n - K)]
    else:
        y = rng.integers(0, K, n)
    means = rng.normal(scale=spread, size=(K, d))
    X = means[y] + rng.normal(size=(n, d)) * scale + shift
    return X, y


def noise(n=60, d=3, K=3, seed=0, *, signal=0.0):
    """Standard normal features, then uniform labels; ``signal`` is added to feature ``k``
    of the samples of class ``k`` (the first ``K`` features), 0 for labels unrelated to X."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d))
    y = rng.integers(0, K, n)
    if signal:
        X[:, :K] += signal * np.eye(K)[y]
    return X, y


def quiet_cv(*args, **kw):
    """``cv_glmnet`` without the progress bar and with its warnings silenced (separation at
    the small lambdas of these toy problems is expected there)."""
    kw.setdefault("progress", False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return cd.cv_glmnet(*args, **kw)


def probs(fit, X, s=None):
    """Predicted class probabilities as a NumPy array; a one-lambda fit is read at its lambda."""
    if s is None and fit.lambda_.size == 1:
        s = float(fit.lambda_[0])  # a scalar s drops the lambda dim
    return cd.predict(fit, X, s=s, type="response").values
