"""Bootstrap of class-wise optima and regret: ``boot``, ``boot_ci``, ``confset``.

References are computed independently of the module: plain loops over resampled indices
with ``np.random``, ``np.polyfit`` for the local quadratic, BCa by its textbook formulas
(Efron & Tibshirani 1993, 14.3 and 14.15), and a simulation whose true optimum is known.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import xarray as xr
from scipy.special import ndtr, ndtri

import classdep as cd
from classdep.analysis.bootstrap import BootWarning, replicate_curves, resample_counts

LAMBDA = np.geomspace(3, 1e-3, 15)


@pytest.fixture(scope="module")
def data():
    ds = cd.datasets.make_mixture(n_classes=4, n_features=10, n_samples=400, seed=3)
    cv = cd.cv_glmnet(ds, nfolds=4, lambda_=LAMBDA, progress=False)
    return ds, cv


def _quadratic_oof(n_per_class: int, x0s, seed: int, L: int = 30, slope_sd: float = 2.0,
                   noise_sd: float = 0.5) -> xr.Dataset:
    """Per-sample losses whose expected curve is ``(log lambda - x0_c)^2`` (+ const) for class c.

    A sample's curve is ``(x - x0)^2 + b_i (x - x0) + e_ij`` with random slope ``b_i`` and
    independent noise ``e_ij`` per grid point: the true optimum of class c is ``exp(x0_c)``.
    """
    rng = np.random.default_rng(seed)
    lam = np.geomspace(np.exp(2.0), np.exp(-6.0), L)  # decreasing, as a glmnet grid
    x = np.log(lam)[:, None]
    K = len(x0s)
    y = np.repeat(np.arange(K), n_per_class)
    x0 = np.asarray(x0s, dtype=float)[y]
    b = rng.normal(0.0, slope_sd, y.size)
    loss = (x - x0) ** 2 + b * (x - x0) + rng.normal(0.0, noise_sd, (L, y.size)) + 10.0
    return xr.Dataset({"loss": (("lambda", "sample"), loss), "y": ("sample", y),
                       "weight": ("sample", np.ones(y.size))},
                      coords={"lambda": lam, "class": np.arange(K)})


def _loop_curves(oof: xr.Dataset, idx: np.ndarray) -> np.ndarray:
    """Per-class deviance curves (K, L) of the samples ``idx`` (with repeats), by a plain loop."""
    loss, y, w = oof["loss"].values, oof["y"].values, oof["weight"].values
    K = oof.sizes["class"]
    out = np.zeros((K, loss.shape[0]))
    for i in idx:
        out[y[i]] += 2.0 * w[i] * loss[:, i]
    return out


def _argmin_largest(curve: np.ndarray, lam: np.ndarray) -> float:
    """Grid argmin, ties to the largest lambda, written independently of the module."""
    at = np.flatnonzero(curve == curve.min())
    return float(lam[at].max())


def _polyfit_min(curve: np.ndarray, lam: np.ndarray, window: float = 1.0) -> float:
    """Log-lambda minimizer of the quadratic through the lambdas within ``window / 2`` decades
    of the argmin, and at least its neighbours (np.polyfit)."""
    x = np.log(lam)
    j = int(np.flatnonzero(curve == curve.min())[np.argmax(lam[curve == curve.min()])])
    near = np.abs(np.log10(lam) - np.log10(lam[j])) <= window / 2 + 1e-12
    near[max(0, j - 1):j + 2] = True
    c2, c1, _ = np.polyfit(x[near], curve[near], 2)
    v = -c1 / (2 * c2) if c2 > 0 else x[j]
    return float(np.clip(v, x[near].min(), x[near].max()))


# (1) one matrix product == a plain loop over resampled indices ---------------------------------

def test_replicate_curves_equal_a_loop_over_resampled_indices(data):
    _, cv = data
    oof = cv.oof
    y = oof["y"].values
    rs = np.random.RandomState(0)
    idxs = []
    for _ in range(4):
        idx = np.concatenate([rs.choice(np.flatnonzero(y == k), size=(y == k).sum(), replace=True)
                              for k in range(4)])
        idxs.append(idx)
    counts = np.stack([np.bincount(i, minlength=y.size) for i in idxs])
    got = replicate_curves(counts, oof["loss"], y, oof["weight"], n_classes=4)
    want = np.stack([_loop_curves(oof, i) for i in idxs])
    np.testing.assert_allclose(got, want, rtol=1e-12)


def test_boot_replicates_are_the_statistic_of_its_counts(data):
    _, cv = data
    oof = cv.oof
    b = cd.boot(cv, R=30, estimator="grid", seed=7)  # the grid argmin, recomputed below
    f = resample_counts(oof["y"].values, 30, seed=7)
    lam = oof["lambda"].values
    for r in range(30):
        idx = np.repeat(np.arange(f.shape[1]), f[r].astype(int))
        cur = _loop_curves(oof, idx)
        want = [_argmin_largest(cur[k], lam) for k in range(4)]
        assert b.t.values[r].tolist() == want
        assert float(b.t_global.values[r]) == _argmin_largest(cur.sum(0), lam)


# (2) stratification ---------------------------------------------------------------------------

def test_every_replicate_keeps_each_class_count(data):
    _, cv = data
    y = cv.oof["y"].values
    f = resample_counts(y, 200, seed=1)
    assert f.shape == (200, y.size)
    for k in range(4):
        assert (f[:, y == k].sum(axis=1) == (y == k).sum()).all()
    g = resample_counts(y, 200, seed=1, strata=None)
    assert (g.sum(axis=1) == y.size).all()
    assert np.ptp(g[:, y == 0].sum(axis=1)) > 0  # unstratified: class counts vary


# (3) the original data reproduce classwise ----------------------------------------------------

def test_counts_of_ones_reproduce_classwise(data):
    _, cv = data
    cw = cd.classwise(cv, null=0)
    oof = cv.oof
    ones = replicate_curves(np.ones((1, oof.sizes["sample"])), oof["loss"], oof["y"], oof["weight"])
    np.testing.assert_allclose(ones[0].T, cw.curves.values, rtol=1e-12)
    b = cd.boot(cv, R=1, estimator="grid", seed=0)
    np.testing.assert_array_equal(b.t0.values, cw.lambda_opt.values)
    assert float(b.t0_global) == cw.table.attrs["lambda_global"]
    r = cd.boot(cv, R=1, statistic="regret", seed=0)
    np.testing.assert_allclose(r.t0.values, cw.regret.values, rtol=1e-10, atol=1e-10)
    assert float(r.t0_global) == pytest.approx(cw.table.attrs["total_regret"], rel=1e-10)


# (4) intervals against hand formulas; BCa against Efron's formulas and scipy ------------------

@pytest.mark.parametrize("estimator", ["grid", "smooth"])
def test_perc_basic_norm_equal_hand_formulas(data, estimator):
    _, cv = data
    b = cd.boot(cv, R=400, estimator=estimator, seed=2)
    lt, l0 = np.log(b.t.values), np.log(b.t0.values)
    q = np.quantile(lt, [0.05, 0.95], axis=0)
    sd = lt.std(axis=0, ddof=1)
    centre = 2 * l0 - lt.mean(axis=0)  # R's norm.ci: t0 - bias
    z = ndtri(0.95)
    want = {"perc": (q[0], q[1]), "basic": (2 * l0 - q[1], 2 * l0 - q[0]),
            "norm": (centre - z * sd, centre + z * sd)}
    # a class whose grid argmin on the original data is an end of the (decreasing) grid gets a
    # one-sided interval: log bound -inf (lambda 0) at the low end, +inf at the high end
    oof = cv.oof
    cur = _loop_curves(oof, np.arange(oof.sizes["sample"]))  # (K, L)
    j, jg = cur.argmin(axis=1), int(cur.sum(axis=0).argmin())
    L = cur.shape[1]
    assert (j == L - 1).any()  # the design has a class at the low end
    want = {k: (np.where(j == L - 1, -np.inf, lo), np.where(j == 0, np.inf, hi))
            for k, (lo, hi) in want.items()}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", BootWarning)
        for type_, (lo, hi) in want.items():
            ci = cd.boot_ci(b, conf=0.9, type=type_)
            assert ci.ci.dims == ("class", "bound")
            assert ci.ci["bound"].values.tolist() == ["lower", "upper"]
            np.testing.assert_allclose(ci.ci.sel(bound="lower").values, np.exp(lo), rtol=1e-12)
            np.testing.assert_allclose(ci.ci.sel(bound="upper").values, np.exp(hi), rtol=1e-12)
    # the interval of the global optimum comes from the same replicates
    lg = np.log(b.t_global.values)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", BootWarning)
        ci = cd.boot_ci(b, conf=0.9, type="perc")
    qg = np.quantile(lg, [0.05, 0.95])
    qg = [-np.inf if jg == L - 1 else qg[0], np.inf if jg == 0 else qg[1]]
    np.testing.assert_allclose(ci.ci_global.values, np.exp(qg), rtol=1e-12)


def test_bca_equals_efron_formulas_on_the_smooth_optimum():
    oof = _quadratic_oof(60, [-1.0, -3.0], seed=4)
    lam = oof["lambda"].values
    b = cd.boot(oof, R=500, estimator="smooth", seed=5)
    with warnings.catch_warnings():
        warnings.simplefilter("error", BootWarning)  # a smooth optimum inside the grid has no atoms
        ci = cd.boot_ci(b, conf=0.9, type="bca")
    y = oof["y"].values
    for k in range(2):
        rows = np.flatnonzero(y == k)
        theta = _polyfit_min(_loop_curves(oof, rows)[k], lam)
        assert np.log(b.t0.values[k]) == pytest.approx(theta, abs=1e-9)
        lt = np.log(b.t.values[:, k])
        z0 = ndtri(((lt < theta).sum() + (lt <= theta).sum()) / (2 * lt.size))
        jack = np.array([_polyfit_min(_loop_curves(oof, np.delete(rows, i))[k], lam)
                         for i in range(rows.size)])
        u = (rows.size - 1) * (jack.mean() - jack)
        acc = (u**3).sum() / (6 * (u**2).sum() ** 1.5)
        za = ndtri(np.array([0.05, 0.95]))
        levels = ndtr(z0 + (z0 + za) / (1 - acc * (z0 + za)))
        want = np.exp(np.quantile(lt, levels))
        np.testing.assert_allclose(ci.ci.values[k], want, rtol=1e-7)


def test_bca_agrees_with_scipy_own_resampling():
    from scipy import stats

    oof = _quadratic_oof(80, [-2.0], seed=6)
    lam = oof["lambda"].values
    b = cd.boot(oof, R=2000, estimator="smooth", seed=8)
    ours = cd.boot_ci(b, conf=0.9, type="bca").ci.values[0]
    rows = np.arange(oof.sizes["sample"])

    def stat(idx):
        return _polyfit_min(_loop_curves(oof, idx)[0], lam)

    ref = stats.bootstrap((rows,), stat, vectorized=False, n_resamples=2000, method="BCa",
                          confidence_level=0.9, rng=np.random.default_rng(9))
    ref_ci = np.exp([ref.confidence_interval.low, ref.confidence_interval.high])
    width = np.log(ref_ci[1] / ref_ci[0])
    # two independent sets of 2000 replicates: the endpoints agree to Monte Carlo error
    assert np.all(np.abs(np.log(ours / ref_ci)) < 0.15 * width)


# (5) the smoothed estimator on an exactly quadratic curve -----------------------------------

@pytest.mark.parametrize("x0", [-2.31, -5.5, 1.7])
def test_smooth_recovers_the_minimizer_of_a_quadratic(x0):
    lam = np.geomspace(np.exp(2.0), np.exp(-6.0), 25)
    x = np.log(lam)
    loss = 3.0 * (x - x0) ** 2 + 1.0  # one sample; exactly quadratic in log lambda
    oof = xr.Dataset({"loss": (("lambda", "sample"), loss[:, None]), "y": ("sample", [0])},
                     coords={"lambda": lam, "class": [0]})
    b = cd.boot(oof, R=1, estimator="smooth", seed=0)
    assert np.log(float(b.t0.values[0])) == pytest.approx(x0, abs=1e-9)
    # beyond the grid: clamped to its end
    far = xr.Dataset({"loss": (("lambda", "sample"), ((x + 9.0) ** 2)[:, None]), "y": ("sample", [0])},
                     coords={"lambda": lam, "class": [0]})
    assert float(cd.boot(far, R=1, estimator="smooth").t0.values[0]) == pytest.approx(lam.min(), rel=1e-12)


# (6) coverage where the truth is known -----------------------------------------------------

@pytest.mark.parametrize("reps", [pytest.param(60, marks=pytest.mark.slow, id="full"),
                                  pytest.param(15, id="reduced")])
def test_smooth_percentile_covers_and_grid_percentile_does_not(reps):
    """Coverage of 90 % intervals over ``reps`` simulated sweeps; the reduced form (CI) holds
    the same bounds on the first 15 replicates (smooth 14/15, moon and confset 15/15, grid 8/15)."""
    lam = np.geomspace(np.exp(2.0), np.exp(-6.0), 30)
    x = np.log(lam)
    x0 = x[14] - 0.25 * (x[0] - x[1])  # a quarter step off the grid: the true optimum is exp(x0)
    j_true = int(np.argmin(np.abs(x - x0)))  # argmin of the population curve on the grid
    cover = {"smooth": 0, "moon": 0, "grid": 0, "confset": 0}
    for rep in range(reps):
        oof = _quadratic_oof(1000, [x0], seed=100 + rep)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", BootWarning)
            for est in ("smooth", "moon", "grid"):
                b = cd.boot(oof, R=300, estimator=est, seed=rep)
                lo, hi = np.log(cd.boot_ci(b, conf=0.9).ci.values[0])
                cover[est] += lo <= x0 <= hi
        cs = cd.confset(oof, alpha=0.1, R=300, seed=rep)
        cover["confset"] += bool(cs["kept"].values[0, j_true])
    rate = {k: v / reps for k, v in cover.items()}
    for good in ("smooth", "moon", "confset"):
        assert 0.8 <= rate[good] <= 1.0, rate
    # the naive percentile interval of a grid argmin sits on grid points and misses an optimum
    # between them: the bound fails for a broken method
    assert rate["grid"] < 0.8, rate


def test_moon_draws_n_to_the_0_7_and_rescales(data):
    _, cv = data
    b = cd.boot(cv, R=300, estimator="moon", seed=3)
    n_c = np.bincount(cv.oof["y"].values)
    assert b.t.attrs["m"] == np.round(n_c**0.7).astype(int).tolist()
    # undoing the sqrt(m/n) rescaling in log lambda lands every replicate on the grid
    rate = np.sqrt(np.asarray(b.t.attrs["m"]) / n_c)
    back = np.log(b.t0.values) + np.log(b.t.values / b.t0.values) / rate
    dist = np.abs(back[..., None] - np.log(LAMBDA)).min(axis=-1)
    assert dist.max() < 1e-9
    assert (np.abs(np.log(b.t.values / b.t0.values)) > 1e-9).any()  # not all at the original


# (7) atoms -------------------------------------------------------------------------------------

def test_atoms_warn_for_grid_bca_and_percentile(data):
    _, cv = data
    b = cd.boot(cv, R=300, seed=1)
    with pytest.warns(BootWarning, match="atoms"):
        cd.boot_ci(b, type="bca")
    with pytest.warns(BootWarning, match="atoms"):
        cd.boot_ci(b, type="perc")
    with warnings.catch_warnings():
        warnings.simplefilter("error", BootWarning)
        cd.boot_ci(b, type="norm")  # a normal interval uses no quantiles


def test_extreme_order_statistics_warn(data):
    _, cv = data
    b = cd.boot(cv, R=10, estimator="smooth", seed=1)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        cd.boot_ci(b, conf=0.95, type="perc")
    assert any("extreme order statistics used as endpoints" in str(w.message) for w in caught)


# (8) R-like prints ------------------------------------------------------------------------------

def test_prints_follow_r(data):
    _, cv = data
    b = cd.boot(cv, R=200, estimator="smooth", seed=1)
    s = str(b)
    for part in ("STRATIFIED BOOTSTRAP", "Call:", "boot(cv, R = 200", "Bootstrap Statistics :",
                 "original", "bias", "std. error", "t1*", "t5*", "global"):
        assert part in s, part
    s0 = str(cd.boot(cv, R=20, strata=None, seed=1))
    assert "ORDINARY NONPARAMETRIC BOOTSTRAP" in s0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", BootWarning)
        c = str(cd.boot_ci(b, type="perc"))
    lines = c.splitlines()
    assert lines[0] == "BOOTSTRAP CONFIDENCE INTERVAL CALCULATIONS"
    assert lines[1] == "Based on 200 bootstrap replicates"
    for part in ("CALL : ", "Intervals : ", "Level", "Percentile", "95%", "(",
                 "Calculations on Transformed Scale;  Intervals on Original Scale"):
        assert part in c, part
    r = cd.boot(cv, R=50, statistic="regret", seed=1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", BootWarning)
        rc = str(cd.boot_ci(r, type="norm"))
    assert "Normal" in rc and "total" in rc and "Calculations and Intervals on Original Scale" in rc


# (9) bad input ---------------------------------------------------------------------------------

def test_bad_input_fails_clearly(data):
    ds, cv = data
    with pytest.raises(ValueError, match="R=0"):
        cd.boot(cv, R=0)
    with pytest.raises(TypeError, match="integer"):
        cd.boot(cv, R=2.5)
    b = cd.boot(cv, R=20, seed=0)
    for conf in (0.0, 1.0, 1.5, -0.1):
        with pytest.raises(ValueError, match="between 0 and 1"):
            cd.boot_ci(b, conf=conf)
    with pytest.raises(ValueError, match="type"):
        cd.boot_ci(b, type="stud")
    nokeep = cd.CVGlmnet(cv.results, None, cv.fit)
    with pytest.raises(ValueError, match="keep=True"):
        cd.boot(nokeep, R=10)
    with pytest.raises(ValueError, match="statistic"):
        cd.boot(cv, R=10, statistic="median")
    with pytest.raises(ValueError, match="estimator"):
        cd.boot(cv, R=10, statistic="regret", estimator="smooth")
    with pytest.raises(ValueError, match="x="):
        cd.boot(cv, R=2, method="refit")
    with pytest.raises(ValueError, match="client"):
        cd.boot(cv, R=2, client=object())
    with pytest.raises(ValueError, match="m-out-of-n"):
        cd.boot_ci(cd.boot(cv, R=20, estimator="moon", seed=0), type="bca")
    with pytest.raises(TypeError, match="Boot"):
        cd.boot_ci(cv)
    with pytest.raises(ValueError, match="alpha"):
        cd.confset(cv, alpha=1.0)
    with pytest.raises(ValueError, match="one value per class"):
        cd.boot(cv, R=3, statistic=lambda curves, lam: curves.min())


# generics, callable statistics, confidence sets, plots, persistence ------------------------------

def test_confint_generic_and_callable_statistic(data):
    _, cv = data
    b = cd.boot(cv, R=200, estimator="smooth", seed=4)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", BootWarning)  # class 0's optimum is at the end of the grid
        xr.testing.assert_identical(cd.confint(b, conf=0.9), cd.boot_ci(b, conf=0.9).ci)
        xr.testing.assert_identical(cd.confint(cv, R=200, estimator="smooth", seed=4),
                                    cd.boot_ci(b).ci)

    def best_value(curves, lam):
        return curves.min(axis=1)

    m = cd.boot(cv, R=100, statistic=best_value, seed=4)
    np.testing.assert_allclose(m.t0.values, cd.classwise(cv, null=0).table["at_opt"].values, rtol=1e-12)
    assert m.t0_global is None
    ci = cd.boot_ci(m, type="bca")
    assert (ci.ci.sel(bound="lower") < ci.ci.sel(bound="upper")).all()


def test_confint_of_classwise_bootstraps_its_sweep(data, tmp_path):
    _, cv = data
    cw = cd.classwise(cv, null=0)
    assert cw.cv is cv
    assert "cv" not in repr(cw) and "CVGlmnet" not in repr(cw)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", BootWarning)  # class 0's optimum is at the end of the grid
        got = cd.confint(cw, conf=0.9, R=200, estimator="smooth", seed=4)
        want = cd.boot_ci(cd.boot(cv, R=200, estimator="smooth", seed=4), conf=0.9).ci
    xr.testing.assert_identical(got, want)
    assert got.dims == ("class", "bound")
    # the reference is not written to disk: a result read back says what to do instead
    cw.to_netcdf(tmp_path / "cw.nc")
    back = cd.Classwise.from_netcdf(tmp_path / "cw.nc")
    assert back.cv is None
    with pytest.raises(ValueError, match="confint\\(cv\\)"):
        cd.confint(back)
    # cw's measure is the one bootstrapped; precision cannot be resampled
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", BootWarning)
        got = cd.confint(cd.classwise(cv, measure="recall", null=0), R=50, seed=4)
        want = cd.boot_ci(cd.boot(cv, R=50, seed=4, measure="recall")).ci
    xr.testing.assert_identical(got, want)
    with pytest.raises(ValueError, match="precision"):
        cd.confint(cd.classwise(cv, measure="precision", null=0))


def test_confset_contains_the_argmin_and_narrows_with_signal(data):
    _, cv = data
    cs = cd.confset(cv, alpha=0.05, R=300, seed=0)
    assert cs["kept"].dims == ("class", "lambda")
    lam = cs["lambda"].values
    j = [int(np.flatnonzero(lam == v)[0]) for v in cs["lambda_opt"].values]
    assert cs["kept"].values[np.arange(4), j].all()
    assert (cs["lambda_lower"] <= cs["lambda_opt"]).all() and (cs["lambda_opt"] <= cs["lambda_upper"]).all()
    # a sharp minimum keeps few lambdas, a flat curve keeps them all
    sharp = _quadratic_oof(400, [-2.0], seed=1, slope_sd=0.1, noise_sd=0.05)
    flat = sharp.copy()
    flat["loss"] = sharp["loss"] * 0 + np.random.default_rng(0).normal(10, 1, sharp["loss"].shape)
    assert int(cd.confset(sharp, R=200, seed=0)["kept"].sum()) <= 3
    assert int(cd.confset(flat, R=200, seed=0)["kept"].sum()) >= 25


def test_plot_is_a_sorted_forest_on_a_log_axis(data):
    import matplotlib

    matplotlib.use("Agg")
    _, cv = data
    ci = cd.boot_ci(cd.boot(cv, R=100, estimator="smooth", seed=0), conf=0.9, type="norm")
    fig = cd.plot(ci)
    ax = fig.axes[0]
    assert ax.get_xscale() == "log"
    labels = [t.get_text() for t in ax.get_yticklabels()]
    order = np.argsort(ci.t0.values, kind="stable")
    assert labels == [str(c) for c in ci.t0["class"].values[order]]
    assert any(abs(line.get_xdata()[0] - float(ci.t0_global)) < 1e-12 for line in ax.get_lines()
               if len(line.get_xdata()) == 2)
    import matplotlib.pyplot as plt

    plt.close(fig)


def test_boot_round_trips_through_netcdf(data, tmp_path):
    _, cv = data
    b = cd.boot(cv, R=50, estimator="smooth", seed=0)
    b.to_netcdf(tmp_path / "b.nc")
    c = cd.Boot.from_netcdf(tmp_path / "b.nc")
    xr.testing.assert_identical(b.t, c.t)
    xr.testing.assert_allclose(b.t_global, c.t_global)
    assert str(b) == str(c)


def test_same_seed_same_replicates(data):
    _, cv = data
    a = cd.boot(cv, R=100, estimator="smooth", seed=11)
    b = cd.boot(cv, R=100, estimator="smooth", seed=11)
    xr.testing.assert_identical(a.t, b.t)
    c = cd.boot(cv, R=100, estimator="smooth")
    d = cd.boot(cv, R=100, estimator="smooth", seed=int(c.t.attrs["seed"]))
    np.testing.assert_array_equal(c.t.values, d.t.values)  # the drawn seed is recorded


# (10) refit, locally and on a Dask cluster ----------------------------------------------------------

def test_refit_on_dask_equals_local(data):
    distributed = pytest.importorskip("distributed")
    ds, cv = data
    local = cd.boot(cv, R=2, statistic="regret", method="refit", x=ds, seed=5)
    cw = cd.classwise(cv, null=0)
    np.testing.assert_allclose(local.t0.values, cw.regret.values, rtol=1e-10, atol=1e-10)
    assert local.t.sizes["iteration"] == 2 and np.isfinite(local.t.values).all()
    assert not np.allclose(local.t.values[0], local.t0.values)  # a resample, not the original
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=None) as cluster, distributed.Client(cluster) as client:
        remote = cd.boot(cv, R=2, statistic="regret", method="refit", x=ds, seed=5, client=client)
    np.testing.assert_array_equal(remote.t.values, local.t.values)
    np.testing.assert_array_equal(remote.t_global.values, local.t_global.values)
    assert "refit" in str(local)


# (11) grids: per level, and over the grid's levels at one lambda ---------------------------------

@pytest.fixture(scope="module")
def grid():
    """A dropout grid on a digits subset (4 classes, 16 features): seconds to build."""
    ds = cd.datasets.digits()
    keep = np.flatnonzero(ds["y"].values < 4)[:160]
    sub = ds.isel(sample=keep, feature=slice(None, None, 4))
    # strength 0 is no dropout, which check_augment refuses: the grid starts at 0.1
    return cd.cv_glmnet(sub, nfolds=3, augment=dict(kind="dropout", strength=[0.1, 0.2, 0.5]),
                        lambda_=np.geomspace(10, 0.1, 5), progress=False)


@pytest.fixture(scope="module")
def feature_sets():
    """A grid of three feature sets of a digits subset (x with an augment dim): classes differ in
    their best set, so the replicates of the best level vary."""
    ds = cd.datasets.digits()
    keep = np.flatnonzero(ds["y"].values < 4)[:160]
    X, y = ds["X"].values[keep], ds["y"].values[keep]
    sets = xr.DataArray(np.stack([X[:, 1::4], X[:, 2::4], X[:, 3::4]]), dims=("augment", "sample", "feature"),
                        coords={"augment": [0.0, 0.5, 1.0]})
    return cd.cv_glmnet(sets, y, nfolds=3, lambda_=np.geomspace(10, 0.1, 5), progress=False, clean=False)


def test_boot_per_level_equals_each_level_alone(grid):
    b = cd.boot(grid, R=40, estimator="smooth", seed=7)
    assert b.t.dims == ("augment", "iteration", "class")
    np.testing.assert_array_equal(b.t["augment"].values, grid.augment)
    r = cd.boot(grid, R=40, statistic="regret", seed=7)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", BootWarning)
        ci = cd.boot_ci(b, conf=0.9, type="bca")
    assert ci.ci.dims == ("augment", "class", "bound")
    cs = cd.confset(grid, R=50, seed=2)
    for i in range(len(grid)):
        alone = cd.boot(grid[i], R=40, estimator="smooth", seed=7)
        for name in ("t0", "t", "t0_global", "t_global"):
            np.testing.assert_array_equal(getattr(b, name).isel(augment=i).values,
                                          getattr(alone, name).values)
        np.testing.assert_array_equal(r.t.isel(augment=i).values,
                                      cd.boot(grid[i], R=40, statistic="regret", seed=7).t.values)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", BootWarning)
            ci_alone = cd.boot_ci(alone, conf=0.9, type="bca")
        np.testing.assert_array_equal(ci.ci.isel(augment=i).values, ci_alone.ci.values)
        np.testing.assert_array_equal(ci.ci_global.isel(augment=i).values, ci_alone.ci_global.values)
        cs_alone = cd.confset(grid[i], R=50, seed=2)
        np.testing.assert_array_equal(cs["pvalue"].isel(augment=i).values, cs_alone["pvalue"].values)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", BootWarning)
        xr.testing.assert_identical(cd.confint(grid, conf=0.9, R=40, estimator="smooth", seed=7),
                                    cd.boot_ci(b, conf=0.9).ci)
    lines = str(b).splitlines()
    assert any("per augment level" in line for line in lines)
    assert "augment" in lines[lines.index("Bootstrap Statistics :") + 1]
    assert "augment" in str(ci)


def _level_curves(grid, counts: np.ndarray, j: int) -> np.ndarray:
    """Per-class deviance curves over the levels at lambda index j, (R, K, A), by plain sums."""
    oofs = [grid[a].oof for a in range(len(grid))]
    y, w = oofs[0]["y"].values, oofs[0]["weight"].values
    K = int(y.max()) + 1
    out = np.zeros((counts.shape[0], K, len(oofs)))
    for a, o in enumerate(oofs):
        loss = o["loss"].values[j]
        for k in range(K):
            rows = y == k
            out[:, k, a] = (counts[:, rows] * (2.0 * w[rows] * loss[rows])).sum(axis=1)
    return out


@pytest.mark.parametrize("which", ["grid", "feature_sets"])
def test_boot_over_augment_matches_an_independent_argmin(which, request):
    grid = request.getfixturevalue(which)
    lam = grid[0].oof["lambda"].values
    levels = np.asarray(grid.augment)
    total = np.stack([(2.0 * grid[a].oof["weight"].values * grid[a].oof["loss"].values).sum(axis=1)
                      for a in range(len(grid))])  # (A, L)
    j = int(np.unravel_index(np.argmin(total), total.shape)[1])
    b = cd.boot(grid, R=60, seed=3, over="augment")
    assert b.t.dims == ("iteration", "class") and b.t.name == "augment_opt"
    assert b.t.attrs["s"] == pytest.approx(lam[j], rel=1e-12)
    y = grid[0].oof["y"].values
    f = resample_counts(y, 60, seed=3)
    cur = _level_curves(grid, f, j)
    np.testing.assert_array_equal(b.t.values, levels[np.argmin(cur, axis=-1)])
    if which == "feature_sets":  # the classes' best sets differ, and so do the replicates
        assert len(np.unique(b.t0.values)) > 1 and len(np.unique(b.t.values[:, 1])) > 1
    np.testing.assert_array_equal(b.t_global.values, levels[np.argmin(cur.sum(axis=1), axis=-1)])
    cur0 = _level_curves(grid, np.ones((1, y.size)), j)[0]
    np.testing.assert_array_equal(b.t0.values, levels[np.argmin(cur0, axis=-1)])
    # the smooth estimator: the vertex of the quadratic in the level itself (three levels, three points)
    sm = cd.boot(grid, R=1, seed=0, over="augment", estimator="smooth", s=lam[1])
    assert sm.t.attrs["s"] == lam[1]
    cur1 = _level_curves(grid, np.ones((1, y.size)), 1)[0]
    for k in range(cur1.shape[0]):
        c2, c1, _ = np.polyfit(levels, cur1[k], 2)
        want = np.clip(-c1 / (2 * c2), levels.min(), levels.max()) if c2 > 0 else levels[np.argmin(cur1[k])]
        assert float(sm.t0.values[k]) == pytest.approx(want, abs=1e-9)
    assert "best augment level at lambda" in str(b)
    # along levels the window is in the level's units (default: three levels either side)
    assert sm.t.attrs["window"] == "+-3 levels"
    wide = cd.boot(grid, R=1, seed=0, over="augment", estimator="smooth", s=lam[1],
                   window=10 * np.ptp(levels))
    np.testing.assert_allclose(wide.t0.values, sm.t0.values, rtol=0, atol=1e-12)
    acc = cd.boot(grid, R=20, seed=0, over="augment", measure="ova_accuracy")
    assert acc.t.attrs["measure"] == "ova_accuracy" and acc.t.shape == (20, cur1.shape[0])
    ci = cd.boot_ci(cd.boot(grid, R=60, seed=3, over="augment", estimator="smooth"), type="norm")
    assert ci.ci.dims == ("class", "bound") and ci.ci.attrs["log"] == 0
    assert "augment_opt" in str(ci) and "Original Scale" in str(ci)
    cs = cd.confset(grid, R=50, seed=0, over="augment")
    assert cs["kept"].dims == ("class", "augment")
    np.testing.assert_array_equal(cs["augment_opt"].values, levels[np.argmin(cur0, axis=-1)])


def test_grid_results_round_trip_and_derive_from_result(grid, tmp_path):
    b = cd.boot(grid, R=30, estimator="smooth", seed=1)
    ci = cd.boot_ci(b, type="norm")
    for obj, cls, name in ((b, cd.Boot, "b.nc"), (ci, cd.BootCI, "ci.nc")):
        assert isinstance(obj, cd.Result)
        obj.to_netcdf(tmp_path / name)
        back = cls.from_netcdf(tmp_path / name)
        assert str(back) == str(obj)
        assert "<table>" in obj._repr_html_()
    xr.testing.assert_identical(cd.Boot.from_netcdf(tmp_path / "b.nc").t, b.t)
    xr.testing.assert_identical(cd.BootCI.from_netcdf(tmp_path / "ci.nc").ci, ci.ci)
    assert b.to_dataframe().shape[0] == b.t.size


def test_grid_bad_over_and_unpaired_levels_fail_clearly(grid):
    import copy

    with pytest.raises(ValueError, match="over='fold'"):
        cd.boot(grid, R=5, over="fold")
    with pytest.raises(ValueError, match="over='fold'"):
        cd.confset(grid, R=5, over="fold")
    with pytest.raises(ValueError, match="one axis, 'lambda'"):
        cd.boot(grid[0], R=5, over="augment")
    with pytest.raises(ValueError, match="s= is the lambda"):
        cd.boot(grid, R=5, s=0.1)
    with pytest.raises(ValueError, match="refit"):
        cd.boot(grid, R=2, method="refit", x=np.zeros((3, 2)))
    with pytest.raises(TypeError, match="unexpected keyword"):
        cd.boot(grid, R=2, clinet=None)
    other = copy.copy(grid[1])
    oof = other.oof.copy()
    oof["y"] = ("sample", np.roll(oof["y"].values, 1))
    other.oof = oof
    bad = copy.copy(grid)
    bad.cvs = [grid[0], other, grid[2]]
    with pytest.raises(ValueError, match="level 1 holds other samples"):
        cd.boot(bad, R=5, over="augment")


# (10) the accuracy measures and the smoothing window in decades ------------------------------

def _loop_accuracy(oof: xr.Dataset, idx: np.ndarray, measure: str) -> tuple[np.ndarray, np.ndarray]:
    """Per-class error curves (K, L) and the global one (L,) of the samples ``idx``, by a loop over
    them: 1 - recall (global 1 - accuracy), or the one-vs-all error (FN + FP) / N (global its mean)."""
    pred, y, w = oof["pred"].values, oof["y"].values, oof["weight"].values
    K, L = oof.sizes["class"], pred.shape[0]
    conf = np.zeros((L, K, K))
    for i in idx:
        conf[np.arange(L), y[i], pred[:, i]] += w[i]
    tp = np.diagonal(conf, axis1=1, axis2=2)
    n_c, p_c, N = conf.sum(axis=2), conf.sum(axis=1), conf.sum(axis=(1, 2))
    if measure == "recall":
        return (1 - tp / n_c).T, 1 - tp.sum(axis=1) / N
    ova = (n_c - tp + p_c - tp) / N[:, None]
    return ova.T, ova.mean(axis=1)


@pytest.mark.parametrize("measure", ["recall", "ova_accuracy"])
def test_accuracy_replicates_are_the_optima_of_their_resampled_confusions(data, measure):
    _, cv = data
    oof = cv.oof
    lam = oof["lambda"].values
    b = cd.boot(cv, R=20, estimator="grid", seed=3, measure=measure, strata=None)
    f = resample_counts(oof["y"].values, 20, seed=3, strata=None)
    for r in range(20):
        idx = np.repeat(np.arange(f.shape[1]), f[r].astype(int))
        cur, glob = _loop_accuracy(oof, idx, measure)
        assert b.t.values[r].tolist() == [_argmin_largest(cur[k], lam) for k in range(4)]
        assert float(b.t_global.values[r]) == _argmin_largest(glob, lam)
    # the original data: classwise's curves (accuracies, here as errors) and its regret
    cw = cd.classwise(cv, measure=measure, null=0)
    cur, _ = _loop_accuracy(oof, np.arange(oof.sizes["sample"]), measure)
    np.testing.assert_allclose(1 - cw.curves.values, cur.T, rtol=1e-12, atol=1e-15)
    reg = cd.boot(cv, R=1, statistic="regret", seed=0, measure=measure)
    np.testing.assert_allclose(reg.t0.values, cw.regret.values, rtol=1e-10, atol=1e-12)
    assert reg.t.attrs["measure"] == measure and measure in str(reg)


def test_ova_accuracy_bca_and_intervals(data):
    _, cv = data
    b = cd.boot(cv, R=200, seed=2, measure="ova_accuracy")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", BootWarning)
        for typ in ("perc", "basic", "norm", "bca"):
            ci = cd.boot_ci(b, conf=0.9, type=typ)
            assert (ci.ci.sel(bound="lower") <= ci.ci.sel(bound="upper")).all(), typ
            assert ci.ci.attrs["measure"] == "ova_accuracy"


def test_measures_that_cannot_be_resampled_say_why(data):
    _, cv = data
    with pytest.raises(ValueError, match="every class's probability"):
        cd.boot(cv, R=5, measure="ova_deviance")
    with pytest.raises(ValueError, match="measure"):
        cd.boot(cv, R=5, measure="precision")
    with pytest.raises(ValueError, match="pred"):
        cd.boot(cv.oof.drop_vars("pred"), R=5, measure="recall")
    with pytest.raises(ValueError, match="method='oof'"):
        cd.boot(cv, R=5, measure="recall", method="refit", x=np.zeros((4, 2)), y=[0, 1, 0, 1])


@pytest.mark.parametrize("L", [20, 50])
@pytest.mark.parametrize("window", [0.1, 0.6, 1.0, 2.5])
def test_smooth_window_is_in_decades(L, window):
    """The quadratic is fitted to the lambdas within window/2 decades of the argmin (at least its
    neighbours): the vertex equals np.polyfit's on those points."""
    lam = np.geomspace(1.0, 1e-4, L)
    x = np.log10(lam)
    rng = np.random.default_rng(L)
    loss = np.exp(x + 2.2) - 0.9 * (x + 2.2) + 0.002 * rng.standard_normal(L)  # asymmetric, noisy
    oof = xr.Dataset({"loss": (("lambda", "sample"), loss[:, None]), "y": ("sample", [0])},
                     coords={"lambda": lam, "class": [0]})
    b = cd.boot(oof, R=1, seed=0, window=window)
    assert b.t.attrs["window"] == window
    assert np.log(float(b.t0.values[0])) == pytest.approx(_polyfit_min(loss, lam, window), abs=1e-9)


def test_window_in_decades_does_not_move_with_grid_density():
    """On one smooth curve the smoothed optimum on 20 and on 50 lambdas agree when the window is in
    decades; a window of a fixed number of grid points (the former rule) moves with the density."""
    x0 = -2.2

    def est(L, window):
        lam = np.geomspace(1.0, 1e-4, L)
        x = np.log10(lam)
        loss = np.exp(x - x0) - (x - x0)  # minimum at x0, steeper above it than below
        oof = xr.Dataset({"loss": (("lambda", "sample"), loss[:, None]), "y": ("sample", [0])},
                         coords={"lambda": lam, "class": [0]})
        return np.log10(float(cd.boot(oof, R=1, seed=0, window=window).t0.values[0]))

    assert abs(est(20, 1.0) - est(50, 1.0)) < 0.02
    step20, step50 = 4 / 19, 4 / 49
    # +-3 grid points: 1.26 decades on 20 lambdas, 0.49 on 50
    assert abs(est(20, 6 * step20) - est(50, 6 * step50)) > 0.03


def test_window_is_checked(data):
    _, cv = data
    with pytest.raises(ValueError, match="positive"):
        cd.boot(cv, R=2, window=0)
    with pytest.raises(ValueError, match="estimator='smooth'"):
        cd.boot(cv, R=2, estimator="grid", window=1.0)
    with pytest.raises(TypeError, match="window"):
        cd.boot(cv, R=2, window="wide")
