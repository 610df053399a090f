"""Honest grid edges: optima at an end of the grid are flagged, get one-sided intervals, and
``cv_glmnet(extend=True)`` moves the grid until they are inside (or says it stopped).

The problem: a three-class Gaussian mixture whose two clean classes are nearly separable
(their deviance keeps falling as lambda shrinks) and whose third class is very noisy (it
wants a large penalty), cross-validated on a grid truncated on both sides, so that the
noisy class's optimum lies above the grid and the clean classes' below it.  Which class
sits at which end is computed here from the per-sample out-of-fold losses, independently
of classwise's code: class c's deviance curve is ``sum_i 2 w_i loss_i`` over its samples,
its optimum the first minimum along the (decreasing) path.
"""

import re
import warnings

import numpy as np
import pytest
import xarray as xr

import classdep as cd
from classdep.analysis.bootstrap import BootWarning
from classdep.analysis.classwise import edge_labels
from classdep.sweep.extend import EdgeWarning

GRID = np.geomspace(1.0, 0.03, 8)  # the noisy class wants lambda ~ 2, the clean ones < 1e-4


@pytest.fixture(scope="module")
def data():
    return cd.datasets.make_mixture(n_classes=3, n_features=5, n_samples=300, noise=[0.5, 0.8, 3.0],
                                    separation=2.0, seed=0)


@pytest.fixture(scope="module")
def cv(data):
    return cd.cv_glmnet(data, nfolds=3, lambda_=GRID, progress=False)


def _curves(oof: xr.Dataset, K: int) -> np.ndarray:
    """(L, K) class deviance curves from the per-sample out-of-fold losses."""
    S = 2.0 * oof["loss"].values * oof["weight"].values
    return S @ np.eye(K)[oof["y"].values]


def _expected_edges(cv) -> tuple[list[str], str, np.ndarray]:
    """Each class's end of the grid ("high" = first lambda, "low" = last), the global one's, the curves."""
    cur = _curves(cv.oof, cv.classes.size)
    L = cur.shape[0]
    assert np.all(np.diff(cv.lambda_) < 0)  # the path runs from the largest lambda down

    def end(j):
        return "high" if j == 0 else "low" if j == L - 1 else ""

    j = np.argmin(cur, axis=0)  # np.argmin returns the first minimum: the largest lambda among ties
    return [end(k) for k in j], end(int(np.argmin(cur.sum(axis=1)))), cur


def test_the_design_puts_classes_at_both_ends(cv):
    ends, glob, _ = _expected_edges(cv)
    assert ends == ["low", "low", "high"]
    assert glob == ""


def test_classwise_flags_edges(cv):
    ends, glob, cur = _expected_edges(cv)
    cw = cd.classwise(cv, null=0)
    assert cw.table["at_edge"].values.tolist() == ends
    assert cw.table.attrs["global_at_edge"] == glob
    # the regret of an edge class is what the grid shows: L_c(lambda*) - L_c(end)
    jg = int(np.argmin(cur.sum(axis=1)))
    k = ends.index("high")
    np.testing.assert_allclose(cw.regret.values[k], cur[jg, k] - cur[0, k], rtol=1e-10)


def test_print_shows_edge_column_and_note(cv):
    ends, _, _ = _expected_edges(cv)
    cw = cd.classwise(cv, null=0)
    text = repr(cw)
    lines = text.splitlines()
    header = next(i for i, s in enumerate(lines) if s.split()[:3] == ["class", "lambda_opt", "edge"])
    rows = {}
    for s in lines[header + 1: header + 1 + len(ends)]:
        tok = s.split()
        rows[tok[0]] = tok[2] if tok[2] in ("low", "high") else ""
    assert rows == {str(c): e for c, e in zip(cv.classes, ends, strict=True)}
    n = sum(e != "" for e in ends)
    note = next(s for s in lines if "at an edge" in s)
    assert note.startswith(f"{n} of {len(ends)} classes at an edge")
    assert "lower bound" in note


def _interior_data():
    return cd.datasets.make_mixture(n_classes=3, n_features=5, n_samples=300, noise=1.0, separation=1.0,
                                    seed=1)


@pytest.fixture(scope="module")
def interior():
    return cd.cv_glmnet(_interior_data(), nfolds=3, lambda_=np.geomspace(30, 1e-4, 19), progress=False)


def test_interior_table_has_a_blank_column_and_no_note(interior):
    ends, glob, _ = _expected_edges(interior)
    assert ends == ["", "", ""] and glob == ""  # the design: every optimum inside a wide grid
    cw = cd.classwise(interior, null=0)
    assert cw.table["at_edge"].values.tolist() == ends
    text = repr(cw)
    assert "at an edge" not in text and "end of the grid" not in text
    assert re.search(r"class  lambda_opt  edge +plateau  at_opt", text)


def test_per_level_print_counts_edges(data):
    grid = cd.cv_glmnet(data, nfolds=3, lambda_=GRID, nrepeats=2, progress=False)
    cw = cd.classwise(grid, null=0, debias=None)
    text = repr(cw)
    for i in range(len(grid)):
        ends, glob, _ = _expected_edges(grid[i])
        assert cw.table["at_edge"].values[i].tolist() == ends
        want = ", ".join(f"{ends.count(e)} {e}" for e in ("low", "high") if e in ends)
        if glob:
            want += f", global {glob}"
        row = next(s for s in text.splitlines()[text.splitlines().index("Per level:"):]
                   if s.split() and s.split()[0] == str(i))
        assert row.rstrip().endswith(want)
    assert "lower bound" in text


def test_edge_labels_levels_rule():
    # along a grid's levels the last level is the high end, the first the low end, whatever the values
    assert edge_labels([0, 1, 2], np.array([0.4, 0.2, 0.1]), levels=True).tolist() == ["low", "", "high"]
    # along lambda the values decide
    assert edge_labels([0, 2], np.array([0.01, 0.1, 1.0])).tolist() == ["low", "high"]
    assert edge_labels([0], np.array([1.0])).tolist() == [""]


@pytest.mark.parametrize("estimator", ["grid", "smooth", "moon"])
def test_one_sided_intervals(cv, estimator):
    ends, glob, _ = _expected_edges(cv)
    b = cd.boot(cv, R=200, estimator=estimator, seed=1)
    assert b.t0["at_edge"].values.tolist() == ends
    with warnings.catch_warnings(record=True) as rec:
        warnings.simplefilter("always")
        ci = cd.boot_ci(b, conf=0.9, type="perc")
    lo, hi = ci.ci.sel(bound="lower").values, ci.ci.sel(bound="upper").values
    for k, e in enumerate(ends):
        if e == "high":
            assert np.isinf(hi[k]) and hi[k] > 0
            assert np.isfinite(lo[k]) and GRID.min() <= lo[k] <= GRID.max() * (1 + 1e-9)
        elif e == "low":
            assert lo[k] == 0.0
            assert np.isfinite(hi[k]) and GRID.min() * (1 - 1e-9) <= hi[k] <= GRID.max()
        else:
            assert np.isfinite(lo[k]) and np.isfinite(hi[k]) and 0 < lo[k] <= hi[k]
    # the inner bound is the two-sided percentile's: the replicates' quantile on the log scale
    for k, e in enumerate(ends):
        if e:
            q = np.exp(np.quantile(np.log(b.t.values[:, k]), [0.05, 0.95]))
            inner, want = (hi[k], q[1]) if e == "low" else (lo[k], q[0])
            np.testing.assert_allclose(inner, want, rtol=1e-12)
    assert ci.ci["at_edge"].values.tolist() == ends
    assert str(ci.ci_global["global_at_edge"].values) == glob
    # the atom at an edge class's end is expected: no BootWarning names an edge class for it
    names = [str(c) for c, e in zip(cv.classes, ends, strict=True) if e]
    for w in rec:
        if issubclass(w.category, BootWarning):
            for n in names:
                assert not re.search(rf"(for |, ){n} \(\d+%\)", str(w.message)), str(w.message)
    text = repr(ci)
    assert "Inf )" in text and "(         0," in text
    assert "one-sided" in text
    # the record survives a file
    back = cd.BootCI.from_netcdf(_roundtrip(ci))
    assert back.ci["at_edge"].values.tolist() == ends


def _roundtrip(obj):
    import tempfile

    path = tempfile.mkdtemp() + "/x.nc"
    obj.to_netcdf(path)
    return path


def test_a_two_sided_interval_is_unchanged_inside(cv):
    # an interior class keeps the plain percentile interval
    ends, _, _ = _expected_edges(cv)
    b = cd.boot(cv, R=100, estimator="smooth", seed=2)
    ci = cd.boot_ci(b, conf=0.8)
    for k, e in enumerate(ends):
        if not e:
            q = np.exp(np.quantile(np.log(b.t.values[:, k]), [0.1, 0.9]))
            np.testing.assert_allclose(ci.ci.values[k], q, rtol=1e-12)


def test_extend_moves_the_high_end_and_stops_at_the_limit(data, cv):
    with pytest.warns(EdgeWarning, match="low end") as rec:
        ext = cd.cv_glmnet(data, nfolds=3, lambda_=GRID, progress=False, extend=True, extend_limit=0.01)
    msg = str(rec[0].message)
    ends, glob, cur = _expected_edges(ext)
    lam = ext.lambda_
    a = ext.results.attrs
    # the grid grew by its own log spacing on both sides
    assert a["extend_added_high"] == int((lam > GRID[0]).sum()) > 0
    assert a["extend_added_low"] == int((lam < GRID[-1]).sum()) > 0
    step = np.log(GRID[0] / GRID[1])
    np.testing.assert_allclose(np.log(lam[:-1] / lam[1:])[: a["extend_added_high"]], step, rtol=1e-9)
    # the noisy class's optimum is now inside, by the independent curves
    k = 2
    assert ends[k] == ""
    assert 0 < np.argmin(cur[:, k]) < lam.size - 1
    # the clean classes still fall below: the grid stops exactly at the limit, and the warning names them
    np.testing.assert_allclose(lam[-1], GRID[-1] * 0.01, rtol=1e-12)
    assert a["extend_limit_reached"] == 1
    for c, e in zip(ext.classes, ends, strict=True):
        assert (e == "low") == (str(c) in msg.split("optimum of ")[1].split(" still")[0].split(", "))
    cw = cd.classwise(ext, null=0)
    assert cw.table["at_edge"].values.tolist() == ends
    # the truncated grid understated the noisy class's regret (same global optimum on both grids)
    cw0 = cd.classwise(cv, null=0)
    assert cw0.table.attrs["lambda_global"] == pytest.approx(cw.table.attrs["lambda_global"], rel=1e-12)
    assert cw.regret.values[k] > cw0.regret.values[k]


def test_extend_makes_interior_optima_without_warning(interior):
    ends, _, cur = _expected_edges(interior)
    assert ends == ["", "", ""]  # the design: every optimum is inside a wide grid
    jmin = np.argmin(cur, axis=0).min()
    short = interior.lambda_[jmin + 2:]  # starts below every class's optimum
    with warnings.catch_warnings():
        warnings.simplefilter("error", EdgeWarning)
        ext = cd.cv_glmnet(_interior_data(), nfolds=3, lambda_=short, progress=False, extend=True)
    ends2, glob2, _ = _expected_edges(ext)
    assert ends2 == ["", "", ""] and glob2 == ""
    assert ext.results.attrs["extend_limit_reached"] == 0
    assert ext.results.attrs["extend_added_high"] > 0


def test_extend_refuses_what_it_cannot_do(data):
    with pytest.raises(ValueError, match="extend_limit"):
        cd.cv_glmnet(data, nfolds=3, lambda_=GRID, progress=False, extend=True, extend_limit=2.0)
    with pytest.raises(ValueError, match="one path"):
        cd.cv_glmnet(data, nfolds=3, lambda_=GRID, nrepeats=2, progress=False, extend=True)


def test_plots_mark_edges(cv):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    ends, _, _ = _expected_edges(cv)
    fig = cd.plot(cd.classwise(cv, null=0))
    ax = fig.axes[0]
    markers = {ln.get_marker(): len(ln.get_xdata()) for ln in ax.lines}
    assert markers.get(">", 0) == ends.count("high")
    assert markers.get("<", 0) == ends.count("low")
    plt.close(fig)
    ci = cd.boot_ci(cd.boot(cv, R=50, estimator="smooth", seed=0), conf=0.9)
    fig = cd.plot(ci)
    lo, hi = fig.axes[0].get_xlim()
    assert np.isfinite(lo) and np.isfinite(hi) and lo > 0
    plt.close(fig)


def test_over_levels_edges_and_unbounded_intervals(data):
    # three levels of added noise, the middle one hurting only class 0: class 0 is best at a level
    # at an end, and along levels the last level is "high", the first "low"
    rng = np.random.default_rng(3)
    X, y = data.X.values, data.y.values
    noise = [0.0, 1.0, 2.0]
    Xs = np.stack([X + s * rng.normal(size=X.shape) for s in noise])
    xa = xr.DataArray(Xs, dims=("augment", "sample", "feature"), coords={"augment": noise})
    lam = np.geomspace(1.0, 0.03, 4)
    grid = cd.cv_glmnet(xa, y, nfolds=3, lambda_=lam, progress=False, clean="auto")
    s = float(lam[2])
    cw = cd.classwise(grid, over="augment", s=s, null=0, debias=None)
    # independent: each class's deviance at lambda s on every level, first level among ties
    cur = np.stack([_curves(grid[i].oof, 3)[2] for i in range(len(grid))])  # (levels, K)
    j = np.argmin(cur, axis=0)
    want = ["low" if i == 0 else "high" if i == len(noise) - 1 else "" for i in j]
    assert cw.table["at_edge"].values.tolist() == want
    assert "low" in want  # the design: clean features are best for some class
    b = cd.boot(grid, over="augment", s=s, R=50, estimator="grid", seed=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", BootWarning)
        ci = cd.boot_ci(b, conf=0.9)
    lo, hi = ci.ci.sel(bound="lower").values, ci.ci.sel(bound="upper").values
    for k, e in enumerate(want):
        assert (lo[k] == -np.inf) == (e == "low") and (hi[k] == np.inf) == (e == "high")
    assert "-Inf" in repr(ci) and "-Inf (low end)" in repr(ci)
