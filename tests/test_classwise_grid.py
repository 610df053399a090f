"""classwise() over a grid of cross-validated paths: per level, and over the grid's own axis.

The references are computed here from the per-sample out-of-fold losses, independently of
classwise's curve code: class c's deviance curve is sum_i 2 w_i loss_i over its samples.
"""

import numpy as np
import pytest
import xarray as xr

import classdep as cd


@pytest.fixture(scope="module")
def grid():
    ds = cd.datasets.digits().isel(sample=slice(0, 450))
    rng = np.random.default_rng(0)
    X, y = ds.X.values, ds.y.values
    # three "representations" of the same samples, each hurting other classes: the classes'
    # best levels differ, so the regret is not zero
    hurt = [y < 5, y >= 5, np.ones_like(y, dtype=bool)]
    scale = [4.0, 4.0, 1.5]
    Xs = np.stack([X + s * h[:, None] * rng.normal(size=X.shape) for h, s in zip(hurt, scale, strict=True)])
    xa = xr.DataArray(Xs, dims=("augment", "sample", "feature"), coords={"augment": [0.0, 1.0, 2.0]})
    return cd.cv_glmnet(xa, y, nfolds=3, lambda_=np.geomspace(3.0, 1e-3, 6), progress=False, clean=False)


def _deviance_curves(oof: xr.Dataset, K: int) -> np.ndarray:
    """(levels or lambdas, K) class deviance curves from per-sample losses."""
    S = 2.0 * oof["loss"].values * oof["weight"].values
    onehot = np.eye(K)[oof["y"].values]
    return S @ onehot


def test_per_level_is_each_level_alone(grid):
    cw = cd.classwise(grid, null=5)
    assert cw.table["lambda_opt"].dims == ("augment", "class")
    for i in range(len(grid)):
        one = cd.classwise(grid[i], null=5)
        np.testing.assert_array_equal(cw.table["lambda_opt"].values[i], one.table["lambda_opt"].values)
        np.testing.assert_allclose(cw.table["regret"].values[i], one.table["regret"].values, rtol=0, atol=0)
        assert float(cw.table["total_regret"].values[i]) == one.table.attrs["total_regret"]
        assert float(cw.table["lambda_global"].values[i]) == one.table.attrs["lambda_global"]
    assert "per augment level" in repr(cw)


def test_over_levels_matches_a_direct_computation(grid):
    K = grid[0].results.sizes["class"]
    lam = grid[0].lambda_
    # the default lambda is the joint optimum of the total deviance over (level, lambda)
    total = np.stack([_deviance_curves(grid[i].oof, K).sum(axis=1) for i in range(len(grid))])
    a_best, j_best = np.unravel_index(np.argmin(total), total.shape)
    cw = cd.classwise(grid, over="augment", null=0, debias=None)
    assert cw.table.attrs["lambda"] == pytest.approx(lam[j_best])
    curves = np.stack([_deviance_curves(grid[i].oof, K)[j_best] for i in range(len(grid))])  # (levels, K)
    levels = np.asarray(grid.augment)
    np.testing.assert_array_equal(cw.table["augment_opt"].values, levels[curves.argmin(axis=0)])
    g = int(np.argmin(curves.sum(axis=1)))
    assert g == a_best
    np.testing.assert_allclose(cw.table["regret"].values, curves[g] - curves.min(axis=0),
                               rtol=1e-10, atol=1e-9)
    assert len(set(cw.table["augment_opt"].values.tolist())) > 1  # a grid where classes disagree
    assert "over augment" in repr(cw)
    with pytest.raises(AttributeError, match="augment"):
        cw.lambda_opt  # noqa: B018 - the accessor names the right variable


def test_over_levels_at_a_given_lambda(grid):
    lam = grid[0].lambda_
    cw = cd.classwise(grid, over="augment", s=lam[2] * 1.01, null=0)
    assert cw.table.attrs["lambda"] == pytest.approx(lam[2])


def test_grid_errors(grid):
    with pytest.raises(ValueError, match="'lambda' and 'augment'"):
        cd.classwise(grid, over="alpha")
    with pytest.raises(ValueError, match="single path"):
        cd.classwise(grid[0], over="augment")


def test_repeats_have_no_optimum_over_the_repeat_axis():
    ds = cd.datasets.digits().isel(sample=slice(0, 300))
    rep = cd.cv_glmnet(ds, nfolds=3, lambda_=np.geomspace(1.0, 1e-2, 3), nrepeats=2, progress=False)
    with pytest.raises(ValueError, match="repeat"):
        cd.classwise(rep, over="repeat")
    assert cd.classwise(rep, null=0).table["lambda_opt"].dims == ("repeat", "class")


def test_grid_classwise_round_trips(grid, tmp_path):
    for cw in (cd.classwise(grid, null=3), cd.classwise(grid, over="augment", null=3)):
        cw.to_netcdf(tmp_path / "cw.nc")
        back = cd.Classwise.from_netcdf(tmp_path / "cw.nc")
        xr.testing.assert_allclose(back.table, cw.table)
        assert repr(back) == repr(cw)
        assert back.to_dataframe().shape == cw.to_dataframe().shape


def _optimum_marks(ax) -> np.ndarray:
    """The x of every class's optimum mark (dots inside the grid, triangles at its ends), by class."""
    xs, ys = [], []
    for ln in ax.lines:
        if ln.get_marker() in ("o", "<", ">"):
            xs.append(np.asarray(ln.get_xdata(), dtype=float))
            ys.append(np.asarray(ln.get_ydata(), dtype=float))
    x, y = np.concatenate(xs), np.concatenate(ys)
    return x[np.argsort(y)]


def test_plots_of_a_grid_draw_every_level(grid):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig = cd.plot(grid)
    assert len(fig.axes[0].get_legend().get_texts()) == len(grid)
    cw = cd.classwise(grid, null=0)
    fig = cd.plot(cw)
    heat = [a for a in fig.axes if a.get_title().startswith("augment =")]
    assert len(heat) == len(grid)
    for i, a in enumerate(heat):
        dots = _optimum_marks(a)  # each class's optimum, at log10 lambda
        np.testing.assert_allclose(dots, np.log10(cw.table["lambda_opt"].values[i]))
    over = cd.classwise(grid, over="augment", null=0)
    ax = cd.plot(over).axes[0]
    np.testing.assert_array_equal(_optimum_marks(ax), over.table["index_opt"].values)
    with pytest.warns(UserWarning):  # atoms at the grid's end on this small problem
        ci = cd.boot_ci(cd.boot(grid, R=30, estimator="smooth", seed=1))
    fig = cd.plot(ci)
    assert sum(a.get_title().startswith("augment =") for a in fig.axes) == len(grid)
    plt.close("all")
