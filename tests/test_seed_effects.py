"""Per-class effects across seeds: statsmodels' t-tests as the reference, and the false-discovery
rate of the Benjamini–Hochberg rule on simulated effects with known nulls."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr
from statsmodels.stats.weightstats import CompareMeans, DescrStatsW, ttest_ind

import classdep as cd
from classdep.analysis.seed_effects import class_effects


def _populations(rng, n_a=5, n_b=6, K=8, shift=None, sd=0.02):
    a = rng.normal(0.8, sd, size=(n_a, K))
    b = rng.normal(0.8, sd, size=(n_b, K)) + (0.0 if shift is None else shift)
    return a, b


def test_welch_test_and_interval_match_statsmodels():
    rng = np.random.default_rng(0)
    a, b = _populations(rng, shift=np.r_[np.zeros(6), -0.03, 0.05])
    eff = class_effects(a, b, conf=0.9)
    for c in range(8):
        t, p, df = ttest_ind(b[:, c], a[:, c], usevar="unequal")
        cm = CompareMeans(DescrStatsW(b[:, c]), DescrStatsW(a[:, c]))
        lo, hi = cm.tconfint_diff(alpha=0.1, usevar="unequal")
        r = eff.data.isel({"class": c})
        np.testing.assert_allclose([r["statistic"], r["p_value"], r["df"], r["lower"], r["upper"]],
                                   [t, p, df, lo, hi], rtol=1e-9)
        assert float(r["effect"]) == pytest.approx(b[:, c].mean() - a[:, c].mean(), rel=1e-12)


def test_paired_and_centred_forms_match_statsmodels_on_the_differences():
    rng = np.random.default_rng(1)
    a = rng.normal(0.8, 0.02, size=(7, 5))
    b = a + rng.normal(0.0, 0.005, size=a.shape) + [0.0, 0.0, 0.02, 0.0, 0.0]
    eff = class_effects(a, b, paired=True, center=True)
    ca = a - a.mean(axis=1, keepdims=True)
    cb = b - b.mean(axis=1, keepdims=True)
    for c in range(5):
        d = DescrStatsW(cb[:, c] - ca[:, c])
        t, p = d.ttest_mean(0.0)[:2]
        lo, hi = d.tconfint_mean(alpha=0.05)
        r = eff.data.isel({"class": c})
        np.testing.assert_allclose([r["statistic"], r["p_value"], r["lower"], r["upper"]], [t, p, lo, hi],
                                   rtol=1e-9)
    # uncentred, only the shifted class changes
    plain = class_effects(a, b, paired=True)
    assert plain.data["differs"].values.tolist() == [False, False, True, False, False]


def test_benjamini_hochberg_keeps_the_false_discovery_rate_on_simulated_effects():
    """400 simulated studies, 20 classes of which 5 have a real effect (2.5 sd), 5 vs 5 seeds.

    The false-discovery proportion averaged over studies estimates the FDR; BH guarantees
    at most (m0 / m) * 0.1 = 0.075 for independent tests.  The Monte Carlo standard error
    of the mean is below 0.01, so 0.1 leaves a margin of 2.5 SE over the bound.  Power is
    checked too: a rule that never rejects would pass the first check.
    """
    rng = np.random.default_rng(2)
    K, real = 20, np.arange(5)
    shift = np.zeros(K)
    shift[real] = 0.05  # 2.5 sd of one network's value
    fdp, power = [], []
    for _ in range(400):
        a, b = _populations(rng, n_a=5, n_b=5, K=K, shift=shift)
        rej = class_effects(a, b, fdr=0.1).data["differs"].values
        false = rej[5:].sum()
        fdp.append(false / max(rej.sum(), 1))
        power.append(rej[real].mean())
    assert np.mean(fdp) <= 0.1
    assert np.mean(power) >= 0.3


def test_dataarrays_keep_class_names_and_bad_input_is_named():
    rng = np.random.default_rng(3)
    names = ["T-shirt/top", "Shirt", "Coat"]
    a = xr.DataArray(rng.normal(size=(4, 3)), dims=("seed", "class"), coords={"class": names})
    b = xr.DataArray(rng.normal(size=(3, 5)), dims=("class", "seed"), coords={"class": names})
    eff = class_effects(a, b)
    assert eff.data["class"].values.tolist() == names
    assert "Shirt" in repr(eff) and "classes differ at FDR 10%" in repr(eff)
    with pytest.raises(ValueError, match="at least two"):
        class_effects(a.isel(seed=[0]), b)
    with pytest.raises(ValueError, match="paired=True needs as many"):
        class_effects(a, b, paired=True)
    with pytest.raises(ValueError, match="other classes"):
        class_effects(a, b.isel({"class": [0, 1]}))
    with pytest.raises(ValueError, match="NaN"):
        class_effects(a.where(a > 0), b)
    with pytest.raises(ValueError, match="2-D array"):
        class_effects(np.zeros(4), np.zeros(4))


def test_round_trip_and_forest_plot(tmp_path):
    import matplotlib

    matplotlib.use("Agg")
    rng = np.random.default_rng(4)
    a, b = _populations(rng, shift=np.r_[np.zeros(7), -0.06])
    eff = class_effects(a, b)
    eff.to_netcdf(tmp_path / "eff.nc")
    back = type(eff).from_netcdf(tmp_path / "eff.nc")
    assert repr(back) == repr(eff)
    fig = cd.plot(eff)
    red = [c for c in fig.axes[0].containers if c.lines[0].get_color() == "tab:red"]
    assert len(red) == 1 and red[0].lines[0].get_xdata().size == eff.data.attrs["n_differ"] == 1


def test_a_class_without_spread_has_no_test_rather_than_p_zero():
    """Grid-valued optima are often equal on every network: SciPy's t would be infinite."""
    rng = np.random.default_rng(5)
    a = rng.normal(0.8, 0.02, size=(3, 4))
    b = rng.normal(0.8, 0.02, size=(3, 4))
    a[:, 1], b[:, 1] = -3.0, -2.5  # constant within each setting
    eff = class_effects(a, b)
    assert np.isnan(eff.data["p_value"].values[1]) and not eff.data["differs"].values[1]
    assert eff.data.attrs["n_flat"] == 1
    # BH over the three classes that have a test, as statsmodels counts them
    from statsmodels.stats.multitest import multipletests

    keep = [0, 2, 3]
    q = multipletests(eff.data["p_value"].values[keep], method="fdr_bh")[1]
    np.testing.assert_allclose(eff.data["q_value"].values[keep], q, rtol=1e-12)
    assert "no test" in repr(eff)
