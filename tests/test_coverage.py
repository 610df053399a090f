"""Coverage of the default bootstrap interval, reduced from ``benchmarks/bench_coverage.py``.

One fitted path on a Gaussian mixture whose population is known; 50 independent held-out
validation sets; for each, ``boot_ci(boot(h), conf=0.9)`` -- both functions' defaults -- is
an interval for every class's optimal lambda of that path.  The truth is the optimum of the
path's population per-class deviance, computed here with plain numpy on a large independent
test sample (not with classdep's scoring).

Given the path, a class's deviance curve depends only on that class's validation samples,
and the bootstrap resamples within classes, so the 3 x 50 coverage indicators are
independent Bernoulli trials: their count is checked against the nominal level with a
binomial test.  A control shows the check has power: intervals at conf=0.6 are told apart
from 0.9.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from scipy import stats

import classdep as cd
from classdep.analysis.bootstrap import BootWarning
from classdep.datasets import select_split

K = 3
REPS = 50
N_VAL = 600  # per validation set, balanced
FINE = np.geomspace(1.0, 1e-3, 61)  # the path, 0.05 decades apart: the truth's resolution
GRID = np.arange(0, FINE.size, 3)  # the validation curves' 21 lambdas, 0.15 decades apart
ALPHA = 1e-3  # the binomial test's level: a calibrated default fails it once in a thousand runs


@pytest.fixture(scope="module")
def design():
    ds = cd.datasets.make_mixture(n_classes=K, n_features=20, n_samples=600, noise=[1.0, 1.3, 1.6],
                                  separation=3.0, n_test=60000, seed=4)
    tr, te = select_split(ds, "train"), select_split(ds, "test")
    fit = cd.glmnet(tr["X"].values, tr["y"].values, lambda_=FINE)
    # population per-class deviance of the path: mean -log softmax on the large test sample
    W, b = fit.path["coef"].values, fit.path["intercept"].values  # (L, K, d), (L, K)
    Xt, yt = te["X"].values, te["y"].values.astype(np.int64)
    Z = np.einsum("nd,lkd->lnk", Xt, W, optimize=True) + b[:, None, :]
    logp = Z - np.logaddexp.reduce(Z, axis=-1, keepdims=True)
    pop = np.stack([-logp[:, yt == c, c].mean(axis=1) for c in range(K)], axis=1)  # (L, K)
    # the true optimum: vertex of a quadratic in log10 lambda within 0.25 decades of the argmin
    x = np.log10(FINE)
    truth = np.empty(K)
    for c in range(K):
        near = np.abs(x - x[np.argmin(pop[:, c])]) <= 0.25
        c2, c1, _ = np.polyfit(x[near], pop[near, c], 2)
        truth[c] = -c1 / (2 * c2)
    assert np.all((truth > x[GRID].min() + 0.3) & (truth < x[GRID].max() - 0.3))  # inside the grid
    # REPS validation sets of the same population, scored by assess() in one call
    rng = np.random.default_rng(1)
    yv = np.tile(np.repeat(np.arange(K), N_VAL // K), REPS)
    Xv = ds["class_mean"].values[yv] + ds["class_noise"].values[yv, None] * rng.standard_normal((yv.size, 20))
    oof = cd.assess(fit, Xv, yv).oof.isel({"lambda": GRID})
    return oof, truth


def _coverage(oof, truth, conf: float) -> np.ndarray:
    """(REPS, K) indicators: the default interval at ``conf`` holds the true optimum."""
    out = np.zeros((REPS, K), dtype=bool)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", BootWarning)
        for r in range(REPS):
            h = oof.isel(sample=slice(r * N_VAL, (r + 1) * N_VAL))
            ci = cd.boot_ci(cd.boot(h, R=200, seed=r), conf=conf).ci.values
            with np.errstate(divide="ignore"):  # a one-sided interval's bound below the grid is 0
                lo, hi = np.log10(ci).T
            out[r] = (lo <= truth) & (truth <= hi)
    return out


def test_default_interval_covers_at_its_nominal_level(design):
    oof, truth = design
    cover = _coverage(oof, truth, 0.9)
    k, n = int(cover.sum()), cover.size
    assert stats.binomtest(k, n, 0.9).pvalue > ALPHA, f"coverage {k}/{n} = {k / n:.3f} at nominal 0.90"
    # no class is left out: each covers at least 37 of 50 (a class covering 0.9 falls below with
    # probability 3e-4)
    assert cover.sum(axis=0).min() >= 37, cover.mean(axis=0)


def test_the_check_tells_a_wrong_level_apart(design):
    """Intervals at conf=0.6 cover about 60%: consistent with 0.6, rejected as 0.9."""
    oof, truth = design
    cover = _coverage(oof, truth, 0.6)
    k, n = int(cover.sum()), cover.size
    assert stats.binomtest(k, n, 0.6).pvalue > ALPHA, f"coverage {k}/{n} at nominal 0.60"
    assert stats.binomtest(k, n, 0.9).pvalue < ALPHA
