"""cv_glmnet against independent recomputations: fold fits done one by one, R's
cvm/cvsd/lambda.min/lambda.1se rules, the truth of a simulated mixture, resume after a
killed run."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
import warnings

import numpy as np
import pytest
import xarray as xr
from scipy.stats import spearmanr

import classdep as cd
from classdep.datasets import make_mixture, select_split


@pytest.fixture(scope="module")
def mixture():
    ds = make_mixture(n_classes=4, n_features=30, n_samples=600, imbalance="step", ratio=5,
                      noise=[0.6, 1.0, 1.6, 2.4], separation=2.5, n_test=40000, seed=1)
    return select_split(ds, "train"), select_split(ds, "test")


@pytest.fixture(scope="module")
def cv(mixture):
    tr, _ = mixture
    lams = np.geomspace(3, 1e-4, 25)
    return cd.cv_glmnet(tr, nfolds=5, lambda_=lams, progress=False, seed=0)


def test_results_have_the_documented_dims(cv):
    r = cv.results
    for v in ("deviance", "recall", "precision", "ova_accuracy", "ova_deviance", "n"):
        assert r[v].dims == ("lambda", "class", "fold")
    for v in ("total_deviance", "accuracy", "balanced_accuracy", "worst_class_accuracy",
              "worst_k_recall", "worst_pair_accuracy", "niter", "converged"):
        assert r[v].dims == ("lambda", "fold")
    assert r["confusion"].dims == ("lambda", "class", "predicted", "fold")
    assert cv.oof["loss"].dims == ("lambda", "sample")
    assert cv.confusion.dims == ("lambda", "class", "predicted")
    assert bool(r["converged"].all())


def test_out_of_fold_predictions_equal_separate_fold_fits(cv, mixture):
    tr, _ = mixture
    X, y = tr.X.values, tr.y.values
    folds = cv.foldid
    j = 15
    lam = cv.lambda_[: j + 1]
    for f in (0, 3):
        rows = folds != f
        fit = cd.glmnet(X[rows], y[rows], lambda_=lam, thresh=1e-12)
        P = cd.predict(fit, X[~rows], s=lam[j], type="response").values
        expect = -np.log(P[np.arange((~rows).sum()), y[~rows]])
        # the sweep runs at the default thresh, whose coefficients are good to ~1e-6
        np.testing.assert_allclose(cv.oof["loss"].values[j, ~rows], expect, rtol=2e-5, atol=1e-9)


def test_cvm_cvsd_and_r_selection_rules(cv):
    oof = cv.oof
    dev = 2 * oof["loss"].values  # per-sample multinomial deviance
    folds = oof["fold"].values
    nf = folds.max() + 1
    per_fold = np.stack([dev[:, folds == f].mean(axis=1) for f in range(nf)], axis=1)
    w = np.bincount(folds) / folds.size
    cvm = per_fold @ w
    cvsd = np.sqrt(((per_fold - cvm[:, None]) ** 2) @ w / (nf - 1))  # R's cvcompute
    np.testing.assert_allclose(cv.cvm.values, cvm, rtol=1e-10)
    np.testing.assert_allclose(cv.cvsd.values, cvsd, rtol=1e-10)
    lam = cv.lambda_
    imin = np.argmin(cvm)
    assert cv.lambda_min == lam[imin]
    assert cv.lambda_1se == lam[cvm <= cvm[imin] + cvsd[imin]].max()
    text = repr(cv)
    assert "Measure: Multinomial Deviance" in text
    assert text.splitlines()[4].split() == ["Lambda", "Index", "Measure", "SE", "Nonzero"]
    assert text.splitlines()[5].split()[2] == str(imin + 1)  # R's 1-based Index


def test_classwise_optima_track_the_truth(cv, mixture):
    """Per-class optima from CV follow the per-class optima of a large independent test
    sample; the global optimum matches lambda_min (issue 4, 'Done when')."""
    _, te = mixture
    cw = cd.classwise(cv, null=0)
    a = cd.assess(cv.fit, te.X, te["class"].values[te.y.values])
    dev = a["deviance"].values  # (lambda, class) on 40000 test samples
    lam = cv.lambda_
    true_opt = lam[dev.argmin(axis=0)]
    rho = spearmanr(np.log(cw.lambda_opt.values), np.log(true_opt)).statistic
    assert rho >= 0.8
    assert cw.table.attrs["lambda_global"] == cv.lambda_min
    j_true = dev.sum(axis=1).argmin()
    assert abs(int(np.nonzero(lam == cv.lambda_min)[0][0]) - j_true) <= 2


def test_classwise_regret_recomputed(cv, tmp_path):
    cw = cd.classwise(cv, null=50, seed=1)
    D = cv.results["deviance"].sum("fold").values  # (lambda, class)
    jg = D.sum(axis=1).argmin()
    jc = D.argmin(axis=0)
    reg = D[jg] - D[jc, np.arange(D.shape[1])]
    np.testing.assert_allclose(cw.regret.values, reg, rtol=1e-12)
    np.testing.assert_allclose(cw.lambda_opt.values, cv.lambda_[jc])
    assert (cw.regret.values >= 0).all()
    # cross-fitting: choose on even folds, score on odd, and the reverse
    even, odd = [0, 2, 4], [1, 3]
    DA = cv.results["deviance"].isel(fold=even).sum("fold").values
    DB = cv.results["deviance"].isel(fold=odd).sum("fold").values
    K = D.shape[1]

    def cross(Dc, De):
        g, c = Dc.sum(1).argmin(), Dc.argmin(0)
        return De[g] - De[c, np.arange(K)]

    np.testing.assert_allclose(cw.table["regret_crossfit"].values, cross(DA, DB) + cross(DB, DA))
    assert cw.table.attrs["null_reps"] == 50
    assert cw.table.attrs["null_q95"] >= cw.table.attrs["null_mean"] > 0
    text = repr(cw)
    assert "regret" in text and "cross-fitted" in text
    cw.to_netcdf(tmp_path / "cw.nc")
    back = cd.Classwise.from_netcdf(tmp_path / "cw.nc")
    xr.testing.assert_identical(back.table, cw.table)
    assert repr(back) == text
    first = text.splitlines()[3].split()[0]
    assert first == str(cw.table["class"].values[np.argmax(reg)])  # sorted by regret


def test_recall_measure_and_pair_confusion(cv):
    cw = cd.classwise(cv, measure="recall", null=0)
    C = cv.confusion.values
    rec = np.diagonal(C, axis1=1, axis2=2) / C.sum(axis=2)
    np.testing.assert_allclose(cw.curves.values, rec)
    assert (cw.regret.values >= 0).all()
    partner = cv.most_confused()
    assert partner.dims == ("lambda", "class")
    classes = cv.classes
    pc = cv.pair_confusion(classes[2], classes[3])
    j = 10
    expect = C[j, 2, 3] / C[j, 2].sum()
    assert float(pc[f"{classes[2]}->{classes[3]}"][j]) == pytest.approx(expect)


def test_oracle_gain_against_direct_fits(cv, mixture):
    tr, te = mixture
    cw = cd.classwise(cv, null=0)
    names = te["class"].values[te.y.values]
    g = cd.oracle_gain(cw, tr.X, tr["class"].values[tr.y.values], te.X, names)
    glob = cd.glmnet(tr.X, tr["class"].values[tr.y.values], lambda_=[cw.table.attrs["lambda_global"]])
    P = cd.predict(glob, te.X, s=cw.table.attrs["lambda_global"], type="response").values
    ytest = te.y.values
    dev_g = np.array([-2 * np.log(P[ytest == k, k]).sum() for k in range(4)]) / ytest.size
    np.testing.assert_allclose(g["deviance_global"].values, dev_g, rtol=1e-8)
    np.testing.assert_allclose(g["gain"].values, g["deviance_global"] - g["deviance_oracle"])
    assert g.attrs["bound_total"] >= 0


def test_r_foldid_and_round_trip(mixture, tmp_path):
    tr, _ = mixture
    rng = np.random.default_rng(0)
    foldid = rng.permutation(np.arange(tr.sizes["sample"]) % 3) + 1  # R's 1..nfolds
    lams = np.geomspace(1, 1e-3, 6)
    a = cd.cv_glmnet(tr, foldid=foldid, lambda_=lams, progress=False)
    assert a.results.sizes["fold"] == 3
    np.testing.assert_array_equal(a.foldid, foldid - 1)
    path = tmp_path / "cv.nc"
    a.to_netcdf(path)
    b = cd.CVGlmnet.from_netcdf(path)
    xr.testing.assert_identical(a.results, b.results)
    xr.testing.assert_identical(a.oof, b.oof)
    assert repr(a) == repr(b)
    store = tmp_path / "cv.zarr"
    a.to_zarr(store)
    c = cd.CVGlmnet.from_zarr(store)
    xr.testing.assert_identical(a.results, c.results)
    xr.testing.assert_identical(a.oof, c.oof)
    xr.testing.assert_identical(a.fit.path, c.fit.path)


def test_bad_cv_inputs(mixture):
    tr, _ = mixture
    X, y = tr.X.values, tr.y.values
    with pytest.raises(ValueError, match="fewer than nfolds"):
        cd.cv_glmnet(X[:30], np.r_[np.zeros(28, int), 1, 1], nfolds=5, progress=False)
    with pytest.raises(ValueError, match="type_measure"):
        cd.cv_glmnet(X, y, type_measure="auc", progress=False)
    with pytest.raises(ValueError, match="foldid"):
        cd.cv_glmnet(X, y, foldid=np.ones(3, int), progress=False)
    with pytest.raises(ValueError, match="measure"):
        cd.classwise(cd.cv_glmnet(X, y, nfolds=3, nlambda=3, progress=False), measure="auc")


_SWEEP = textwrap.dedent("""
    import sys, warnings
    warnings.simplefilter("ignore")
    import numpy as np, classdep as cd
    from classdep.datasets import make_mixture
    ds = make_mixture(n_classes=6, n_features=40, n_samples=4000, seed=3)
    cv = cd.cv_glmnet(ds, nfolds=5, lambda_=np.geomspace(10, 1e-5, 60), progress=False,
                      checkpoint=sys.argv[1])
""")


def test_killed_sweep_resumes_with_identical_results(tmp_path):
    """SIGKILLed twice at random moments (a random number of finished lambdas plus a random
    delay, so a kill may land inside a block's write), each run resuming the last; the
    final resume verifies every block's checksum and matches an uninterrupted run."""
    ck = tmp_path / "ck"
    script = tmp_path / "sweep.py"
    script.write_text(_SWEEP)
    rng = np.random.default_rng(8)  # fixed, so that a failure can be replayed
    done = 0
    for target in np.sort(rng.choice(np.arange(3, 40), size=2, replace=False)):
        proc = subprocess.Popen([sys.executable, str(script), str(ck)])
        deadline = time.time() + 120
        while time.time() < deadline and proc.poll() is None:
            if len(list(ck.glob("lambda_*.npz"))) >= target:
                time.sleep(rng.uniform(0, 0.05))
                os.kill(proc.pid, signal.SIGKILL)
                break
            time.sleep(0.01)
        proc.wait()
        now = len(list(ck.glob("lambda_*.npz")))
        assert now >= target > done  # each run resumed where the last stopped and went on
        done = now
    assert done < 60
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ds = make_mixture(n_classes=6, n_features=40, n_samples=4000, seed=3)
        lams = np.geomspace(10, 1e-5, 60)
        resumed = cd.cv_glmnet(ds, nfolds=5, lambda_=lams, progress=False, checkpoint=ck)
        # uninterrupted, with its own checkpoint (checkpointed sweeps keep CG in float64)
        fresh = cd.cv_glmnet(ds, nfolds=5, lambda_=lams, progress=False, checkpoint=tmp_path / "ck2")
    assert len(list(ck.glob("lambda_*.npz"))) == 60
    # Identical up to the last bits: OpenBLAS may round a product differently in another
    # process (memory alignment picks the kernel); 1e-11 relative has been seen, far below
    # the solver's 1e-8 objective accuracy.  Counts (recall, confusion) are exact.
    for v in ("recall", "confusion"):
        np.testing.assert_array_equal(resumed.results[v].values, fresh.results[v].values)
    for v in ("deviance", "cvm"):
        np.testing.assert_allclose(resumed.results[v].values, fresh.results[v].values, rtol=1e-9, atol=0)
    np.testing.assert_allclose(resumed.oof["loss"].values, fresh.oof["loss"].values, rtol=1e-9, atol=0)
    with pytest.raises(ValueError, match="different sweep"):
        cd.cv_glmnet(ds, nfolds=4, lambda_=lams, progress=False, checkpoint=ck)
