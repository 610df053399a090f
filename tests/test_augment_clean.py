"""cv_glmnet on feature sets stacked along ``augment``: every level is fitted on its own
(augmented) training-fold rows and scored on the *clean* rows of the held-out fold.

Checked against a direct loop (one glmnet per level and fold, predicting the clean held-out
rows), with the clean rows given or taken from the level at strength 0 (``clean="auto"``); without
``clean`` the levels keep their own rows, with a warning that names the choices."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr

import classdep as cd
from classdep.datasets import make_mixture, select_split
from classdep.sweep.grid import HeldoutRowsWarning

LAM = np.geomspace(1.0, 1e-3, 6)
THRESH = 1e-14


@pytest.fixture(scope="module")
def data():
    ds = select_split(make_mixture(n_classes=3, n_features=6, n_samples=150, noise=[0.8, 1.2, 1.6],
                                   separation=2.0, n_test=10, seed=4), "train")
    X, y = ds.X.values, ds.y.values
    rng = np.random.default_rng(0)
    # pre-augmented features of the same samples: dropout at 0.3 and 0.6, one copy each
    levels = [X] + [X * (rng.random(X.shape) < 1 - s) / (1 - s) for s in (0.3, 0.6)]
    xa = xr.DataArray(np.stack(levels), dims=("augment", "sample", "feature"),
                      coords={"augment": [0.0, 0.3, 0.6]})
    return xa, X, y


def _direct(levels, heldout, y, folds):
    """Per level: (cvm (L,), per-class deviance (L, K)) from one glmnet per fold, scored on
    ``heldout`` (the clean rows, or each level's own rows when None)."""
    K = int(y.max()) + 1
    out = []
    for Xi in levels:
        Xh = Xi if heldout is None else heldout
        loss = np.zeros((LAM.size, y.size))
        for f in np.unique(folds):
            tr = folds != f
            fit = cd.glmnet(Xi[tr], y[tr], lambda_=LAM, thresh=THRESH)
            for j, lam in enumerate(LAM):
                P = cd.predict(fit, Xh[~tr], s=lam, type="response").values
                loss[j, ~tr] = -np.log(P[np.arange(P.shape[0]), y[~tr]])
        cvm = 2.0 * loss.mean(axis=1)  # folds weighted by their size: every sample counts once
        per_class = 2.0 * loss @ np.eye(K)[y]
        out.append((cvm, per_class))
    return out


@pytest.fixture(scope="module")
def default_grid(data):
    xa, _, y = data
    return cd.cv_glmnet(xa, y, nfolds=3, lambda_=LAM, thresh=THRESH, progress=False, clean="auto")


def test_levels_are_scored_on_clean_rows_as_a_direct_loop(data, default_grid):
    xa, X, y = data
    grid = default_grid
    want = _direct(list(xa.values), X, y, grid[0].foldid)
    for i, (cvm, per_class) in enumerate(want):
        np.testing.assert_allclose(grid[i].cvm.values, cvm, rtol=1e-8)
        got = grid[i].results["deviance"].sum("fold").transpose("lambda", "class").values
        np.testing.assert_allclose(got, per_class, rtol=1e-8)
        assert grid[i].results.attrs["heldout_rows"] == "clean rows: the level augment=0.0"
    # the scores are not those of the augmented rows: the fix changes the numbers
    own = _direct([xa.values[2]], None, y, grid[0].foldid)[0][0]
    assert np.max(np.abs(own - grid[2].cvm.values) / own) > 0.05


def test_clean_given_equals_the_clean_level_and_false_scores_own_rows(data, default_grid):
    xa, X, y = data
    noisy = xa.isel(augment=slice(1, None))  # no clean level left
    given = cd.cv_glmnet(noisy, y, nfolds=3, lambda_=LAM, thresh=THRESH, progress=False,
                         clean=xr.DataArray(X, dims=("sample", "feature")))
    for i in range(2):
        np.testing.assert_allclose(given[i].cvm.values, default_grid[i + 1].cvm.values, rtol=1e-12)
        np.testing.assert_allclose(given[i].oof["loss"].values, default_grid[i + 1].oof["loss"].values,
                                   rtol=1e-12)
    assert given[0].results.attrs["heldout_rows"] == "clean rows: clean="
    own = cd.cv_glmnet(noisy, y, nfolds=3, lambda_=LAM, thresh=THRESH, progress=False, clean=False)
    want = _direct(list(noisy.values), None, y, own[0].foldid)
    for i, (cvm, _) in enumerate(want):
        np.testing.assert_allclose(own[i].cvm.values, cvm, rtol=1e-8)


def test_without_clean_the_levels_keep_their_own_rows_and_a_warning_says_so(data, default_grid):
    xa, _, y = data
    with pytest.warns(HeldoutRowsWarning, match="clean='auto'.*clean=False"):
        grid = cd.cv_glmnet(xa, y, nfolds=3, lambda_=LAM, thresh=THRESH, progress=False)
    want = _direct([xa.values[2]], None, y, grid[0].foldid)[0][0]
    np.testing.assert_allclose(grid[2].cvm.values, want, rtol=1e-8)
    np.testing.assert_array_equal(grid[0].cvm.values, default_grid[0].cvm.values)  # the clean level
    assert grid[2].results.attrs["heldout_rows"] == "each level's own rows (clean= not given)"


def test_string_clean_level_is_found(data):
    xa, _, y = data
    named = xa.assign_coords(augment=["none", "drop0.3", "drop0.6"])
    grid = cd.cv_glmnet(named.isel(augment=[0, 1]), y, nfolds=3, lambda_=LAM[:2], progress=False,
                        clean="auto")
    assert grid[1].results.attrs["heldout_rows"] == "clean rows: the level augment=none"


def test_clean_refused_with_a_message_that_names_the_fix(data):
    xa, X, y = data
    noisy = xa.isel(augment=slice(1, None))
    with pytest.raises(ValueError, match="finds none. Pass clean=.*clean=False"):
        cd.cv_glmnet(noisy, y, nfolds=3, lambda_=LAM, progress=False, clean="auto")
    with pytest.raises(ValueError, match="pass 'auto', False"):
        cd.cv_glmnet(noisy, y, nfolds=3, lambda_=LAM, progress=False, clean="clean")
    with pytest.raises(ValueError, match=r"must be \(150, 6\)"):
        cd.cv_glmnet(noisy, y, nfolds=3, lambda_=LAM, progress=False, clean=X[:-1])
    with pytest.raises(ValueError, match="'sample' coordinate differs"):
        cd.cv_glmnet(noisy.assign_coords(sample=np.arange(150)), y, nfolds=3, lambda_=LAM, progress=False,
                     clean=xr.DataArray(X, dims=("sample", "feature"),
                                        coords={"sample": np.arange(150)[::-1]}))
    with pytest.raises(ValueError, match="no 'augment' dim"):
        cd.cv_glmnet(X, y, nfolds=3, lambda_=LAM, progress=False, clean=X)
    with pytest.raises(ValueError, match="already scored on clean rows"):
        cd.cv_glmnet(X, y, nfolds=3, lambda_=LAM, progress=False, clean=X,
                     augment=dict(kind="dropout", strength=[0.1, 0.2]))
    twice = xa.assign_coords(augment=[0.0, 0.0, 0.6])
    with pytest.raises(ValueError, match="2 levels that name the clean"):
        cd.cv_glmnet(twice, y, nfolds=3, lambda_=LAM, progress=False, clean="auto")


def test_a_features_dataset_along_augment_takes_clean_too(data, default_grid):
    """x as a features Dataset (X along augment, its own labels): the same scores as the DataArray."""
    xa, _, y = data
    ds = xr.Dataset({"X": xa, "y": ("sample", y)})
    grid = cd.cv_glmnet(ds, nfolds=3, lambda_=LAM, thresh=THRESH, progress=False, clean="auto")
    for i in range(len(grid)):
        np.testing.assert_allclose(grid[i].cvm.values, default_grid[i].cvm.values, rtol=1e-12)
