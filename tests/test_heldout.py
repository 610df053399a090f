"""Held-out evaluation as a source of the evaluated sweep (issue 18, item 1).

``assess(fit, newx, newy)`` returns a :class:`classdep.Heldout`; every number is checked
against a recomputation from ``predict(fit, newx, type="response")`` done here with NumPy,
and the analyses (``classwise``, ``boot``, ``confint``, ``plot``, ``oracle_gain``) are
checked to take it as they take a cross-validated sweep.
"""

from __future__ import annotations

import warnings

import matplotlib
import numpy as np
import pytest
import xarray as xr
from scipy.stats import spearmanr

import classdep as cd
from classdep.analysis.bootstrap import resample_counts
from classdep.datasets import make_mixture, select_split
from classdep.sweep.heldout import halves_of

matplotlib.use("Agg")

LAM = np.geomspace(1.0, 1e-2, 8)


@pytest.fixture(scope="module")
def digits():
    """A path on 900 digits, scored on the 897 others."""
    ds = cd.datasets.digits()
    X, y = ds.X.values, ds.y.values
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # small lambdas separate the digits: a warning, not the subject
        fit = cd.glmnet(X[:900], y[:900], lambda_=LAM)
    return fit, X[:900], y[:900], X[900:], y[900:]


@pytest.fixture(scope="module")
def h(digits):
    fit, _, _, Xv, yv = digits
    return cd.assess(fit, Xv, yv)


def _by_hand(fit, Xv, yv):
    """Per-sample -log p of the true class (L, n) and predicted class (L, n), from predict()."""
    P = cd.predict(fit, Xv, type="response").values  # (L, n, K)
    n = yv.size
    loss = -np.log(P[:, np.arange(n), yv])
    return loss, P.argmax(axis=2), P


def _best(curve, axis=0):
    """argmin, the first index (largest lambda) on ties, as R's lambda.min."""
    return np.argmin(curve, axis=axis)


# --------------------------------------------------------------------------- (a) the metrics


def test_assess_equals_a_direct_computation(digits, h):
    fit, _, _, Xv, yv = digits
    loss, pred, P = _by_hand(fit, Xv, yv)
    K = P.shape[2]
    onehot = np.eye(K)[yv]  # (n, K)
    dev = 2.0 * loss @ onehot  # (L, K): sum of -2 log p over each class's samples
    n_c = onehot.sum(axis=0)
    recall = (pred == yv[None, :]).astype(float) @ onehot / n_c
    r = h.results
    assert r["deviance"].dims == ("lambda", "class", "fold") and r.sizes["fold"] == 1
    assert r["fold"].values.tolist() == ["heldout"]
    np.testing.assert_allclose(r["deviance"].values[..., 0], dev, rtol=1e-10)
    np.testing.assert_allclose(r["recall"].values[..., 0], recall, rtol=1e-12)
    np.testing.assert_allclose(r["accuracy"].values[:, 0], (pred == yv).mean(axis=1), rtol=1e-12)
    np.testing.assert_allclose(h.cvm.values, 2.0 * loss.mean(axis=1), rtol=1e-10)
    assert h.lambda_min == LAM[_best(dev.sum(axis=1))]
    assert np.isnan(r["cvsd"].values).all()  # one split: no standard error
    # the per-sample view
    np.testing.assert_allclose(h.oof["loss"].values, loss, rtol=1e-8, atol=1e-12)
    np.testing.assert_array_equal(h.oof["pred"].values, pred)
    np.testing.assert_array_equal(h.oof["y"].values, yv)
    assert (h.oof["fold"].values == 0).all() and (h.oof["weight"].values == 1).all()
    # what callers of the former Dataset wrote still works, with the fold dim dropped
    assert h["recall"].dims == ("lambda", "class")
    assert h["accuracy"].dims == ("lambda",)
    np.testing.assert_allclose(h["deviance"].values, dev, rtol=1e-10)
    sub = h[["accuracy", "total_deviance"]]
    assert isinstance(sub, xr.Dataset)
    np.testing.assert_allclose(sub["total_deviance"].values, dev.sum(axis=1), rtol=1e-10)
    first = h.isel({"lambda": 0})
    np.testing.assert_allclose((first["deviance"] / first["n"]).values, dev[0] / n_c, rtol=1e-10)
    assert h["class"].values.tolist() == list(range(K)) and "recall" in h


def test_gaussian_family_loss_is_the_squared_error(digits):
    fit, Xt, yt, Xv, yv = digits
    g = cd.glmnet(Xt, yt, family="gaussian", lambda_=[1.0, 0.1])
    hg = cd.assess(g, Xv, yv)
    R = cd.predict(g, Xv, type="response").values  # fitted values (L, n, K)
    sq = ((R - np.eye(R.shape[2])[yv][None]) ** 2).sum(axis=2)
    np.testing.assert_allclose(hg.oof["loss"].values, sq, rtol=1e-10)
    np.testing.assert_allclose(hg.cvm.values, sq.mean(axis=1), rtol=1e-10)
    assert "Mean-Squared Error" in repr(hg)


# --------------------------------------------------------------------------- (b) classwise


def _regret(D, jg_from=None):
    """Per-class regret of the curves D (L, K), choosing on ``jg_from`` (default D)."""
    C = D if jg_from is None else jg_from
    jg = _best(C.sum(axis=1))
    jc = _best(C, axis=0)
    K = D.shape[1]
    return D[jg] - D[jc, np.arange(K)], jg, jc


def test_classwise_of_assess_equals_a_hand_computation(digits, h):
    fit, _, _, Xv, yv = digits
    loss, _, P = _by_hand(fit, Xv, yv)
    K = P.shape[2]
    S = 2.0 * loss  # per-sample deviance curves (L, n)
    D = S @ np.eye(K)[yv]
    reg, jg, jc = _regret(D)
    cw = cd.classwise(h, null=30, seed=3)
    np.testing.assert_allclose(cw.lambda_opt.values, LAM[jc])
    np.testing.assert_allclose(cw.regret.values, reg, rtol=1e-9, atol=1e-9)
    assert cw.table.attrs["lambda_global"] == LAM[jg]
    assert cw.table.attrs["nfolds"] == 1 and "one held-out split" in repr(cw)
    # cross-fitting: choose on one class-stratified half, score on the other, swap, add
    half = halves_of(yv, seed=0)
    assert all(abs(np.sum(half[yv == c] == 0) - np.sum(half[yv == c] == 1)) <= 1 for c in range(K))
    DA = S[:, half == 0] @ np.eye(K)[yv[half == 0]]
    DB = S[:, half == 1] @ np.eye(K)[yv[half == 1]]
    cf = _regret(DB, DA)[0] + _regret(DA, DB)[0]
    np.testing.assert_allclose(cw.table["regret_crossfit"].values, cf, rtol=1e-9, atol=1e-9)
    assert cw.table.attrs["crossfit"].startswith("two class-stratified halves")
    # the noise-only null: the labels permuted among all held-out samples (one split)
    rng = np.random.default_rng(3)
    G = []
    for _ in range(30):
        yp = rng.permutation(yv)
        G.append(_regret(S @ np.eye(K)[yp])[0].sum())
    assert cw.table.attrs["null_mean"] == pytest.approx(np.mean(G), rel=1e-9)
    assert cw.cv is h  # confint(cw) bootstraps the held-out samples
    ci = cd.confint(cw, R=50, seed=0)
    assert ci.dims == ("class", "bound")


def test_oracle_gain_takes_held_out_optima(digits, h):
    fit, Xt, yt, Xv, yv = digits
    cw = cd.classwise(h, null=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        g = cd.oracle_gain(cw, Xt, yt, Xv, yv)
        ref = cd.glmnet(Xt, yt, lambda_=[cw.table.attrs["lambda_global"]])
    loss, _, P = _by_hand(ref, Xv, yv)
    dev = (2.0 * loss @ np.eye(P.shape[2])[yv])[0] / yv.size
    np.testing.assert_allclose(g["deviance_global"].values, dev, rtol=1e-6)
    np.testing.assert_allclose(g["bound"].values, cw.regret.values / yv.size, rtol=1e-12)


# --------------------------------------------------------------------------- (c) the study's claim


def test_held_out_optima_recover_the_true_per_class_optima():
    """The study's protocol on a mixture whose classes want different penalties.

    Six classes of unequal size (step imbalance, 5:1 in training) and noise (0.5 to 1.6),
    so their deviance-optimal lambdas spread over about two decades.  Sizes: 600 training
    samples keep the optima inside the grid and well apart; 1200 validation samples (200
    per class) are "moderate", and read each class's optimum to about 0.1-0.2 decades
    (checked on seeds 0-5: rank correlation 0.94-1.0, median error <= 0.19 decades, so the
    thresholds hold with margin); 30000 test samples (5000 per class) make the "true"
    curves' own noise negligible; the whole test takes about 2 s.
    """
    n_val, n_truth = 1200, 30000
    ds = make_mixture(n_classes=6, n_features=20, n_samples=600, imbalance="step", ratio=5,
                      noise=[0.5, 0.8, 1.2, 0.6, 1.0, 1.6], separation=2.5, n_test=n_val + n_truth, seed=0)
    tr, te = select_split(ds, "train"), select_split(ds, "test")
    lam = np.geomspace(3, 1e-5, 28)
    fit = cd.glmnet(tr, lambda_=lam)
    X, names = te.X.values, te["class"].values[te.y.values]
    # the truth: per-class deviance curves on a large independent sample, computed here
    P = cd.predict(fit, X[n_val:], type="response").values
    yt = te.y.values[n_val:]
    dev = -2.0 * np.log(P[:, np.arange(yt.size), yt]) @ np.eye(6)[yt]
    truth = lam[dev.argmin(axis=0)]
    assert np.ptp(np.log10(truth)) > 1.0  # the classes do want different penalties
    cw = cd.classwise(cd.assess(fit, X[:n_val], names[:n_val]), null=0)
    est = cw.lambda_opt.values
    rho = spearmanr(np.log(est), np.log(truth)).statistic
    err = np.median(np.abs(np.log10(est) - np.log10(truth)))
    assert rho >= 0.8
    assert err <= 0.4
    # the claim has teeth: one shared lambda for every class would miss it
    shared = np.full(6, cw.table.attrs["lambda_global"])
    assert np.median(np.abs(np.log10(shared) - np.log10(truth))) > err


# --------------------------------------------------------------------------- (d) the bootstrap


def test_boot_resamples_held_out_samples_within_class(digits, h):
    fit, _, _, Xv, yv = digits
    loss, _, P = _by_hand(fit, Xv, yv)
    K = P.shape[2]
    R, seed = 40, 11
    b = cd.boot(h, R=R, estimator="grid", seed=seed)  # argmins recomputed by hand below
    # independent recomputation: the counts boot draws with this seed, the curves by hand
    f = resample_counts(yv, R, seed=seed)  # (R, n)
    onehot = np.eye(K)[yv]
    np.testing.assert_array_equal(f @ onehot, np.broadcast_to(onehot.sum(axis=0), (R, K)))
    curves = np.einsum("rn,ln,nk->rlk", f, 2.0 * loss, onehot)  # (R, L, K)
    np.testing.assert_allclose(b.t.values, LAM[curves.argmin(axis=1)])
    assert not np.allclose(b.t.values, b.t0.values[None, :])  # the resamples do move the optima
    # the same as boot on a hand-built out-of-fold Dataset
    oof = xr.Dataset({"loss": (("lambda", "sample"), loss), "y": ("sample", yv)},
                     coords={"lambda": LAM, "class": np.arange(K)})
    np.testing.assert_array_equal(b.t.values, cd.boot(oof, R=R, estimator="grid", seed=seed).t.values)
    ci = cd.boot_ci(b)
    assert (ci.ci.sel(bound="lower") <= ci.ci.sel(bound="upper")).all()
    kept = cd.confset(h, R=50, seed=0)["kept"]
    assert kept.dims == ("class", "lambda") and bool(kept.any("lambda").all())


# --------------------------------------------------------------------------- (e) files and print


@pytest.mark.parametrize("store", ["netcdf", "zarr"])
def test_round_trip_print_and_plot(h, tmp_path, store):
    path = tmp_path / f"h.{store}"
    h.to_netcdf(path, store=store)
    back = cd.Heldout.from_netcdf(path, store=store)
    assert isinstance(back, cd.Result)
    for name in ("results", "oof", "halves"):
        xr.testing.assert_identical(getattr(back, name), getattr(h, name))
    np.testing.assert_array_equal(back.fit.lambda_, h.fit.lambda_)
    text = repr(h)
    assert repr(back) == text
    lines = text.splitlines()
    assert "Measure: Multinomial Deviance on 897 held-out samples" in text
    assert "no standard error and no lambda_1se" in text
    row = next(line.split() for line in lines if line.startswith("min"))
    j = int(np.argmin(h.cvm.values))
    assert float(row[1]) == pytest.approx(LAM[j], rel=1e-3) and row[2] == str(j + 1)
    # the classwise optima of the file read back equal those of the original
    np.testing.assert_array_equal(cd.classwise(back, null=0).lambda_opt.values,
                                  cd.classwise(h, null=0).lambda_opt.values)
    fig = cd.plot(h)
    x, yv = fig.axes[0].lines[0].get_data()
    np.testing.assert_allclose(yv, h.cvm.values)
