"""Every classdep result derives from one base class and behaves the same way.

For each result type: it is a ``cd.Result``; ``print`` is its table hook's lines; the
notebook's HTML carries the same text; ``to_dataframe()`` is a non-empty DataFrame whose
values are the result's own; a netCDF and a zarr round trip give back the same print.
"""

import html
import re
from xml.etree import ElementTree

import numpy as np
import pandas as pd
import pytest
import xarray as xr

import classdep as cd
from classdep.result import Result


@pytest.fixture(scope="module")
def made():
    ds = cd.datasets.digits().isel(sample=slice(0, 360))
    X, y = ds.X.values, ds.y.values
    lam = np.geomspace(1.0, 1e-2, 4)
    fit = cd.glmnet(ds, lambda_=lam)
    cv = cd.cv_glmnet(ds, nfolds=3, lambda_=lam, progress=False)
    xs = xr.DataArray(np.stack([X, X + np.random.default_rng(0).normal(size=X.shape)]),
                      dims=("augment", "sample", "feature"), coords={"augment": [0.0, 1.0]})
    grid = cd.cv_glmnet(xs, y, nfolds=3, lambda_=lam, progress=False, clean="auto")
    b = cd.boot(cv, R=20, estimator="smooth", seed=0)
    amb = cd.ambiguous(cv, k=3)
    sub = np.isin(y, [int(c) for c in amb.classes])
    Xs = X[sub][:, X[sub].std(axis=0) > 0]
    lda = cd.lda(Xs, y[sub])
    sep_x = xr.DataArray(np.stack([Xs, Xs + 0.5]), dims=("alpha", "sample", "feature"),
                         coords={"alpha": [0.1, 1.0]})
    return {
        "GlmnetFit": fit,
        "GlmnetSummary": cd.summary(fit),
        "CVGlmnet": cv,
        "CVGrid": grid,
        "Classwise": cd.classwise(cv, null=5),
        "Classwise (grid)": cd.classwise(grid, null=0),
        "Boot": b,
        "BootCI": cd.boot_ci(b),
        "Ambiguous": amb,
        "LDA": lda,
        "LDAPrediction": cd.predict(lda, Xs[:5]),
        "Manova": cd.manova(Xs, y[sub]),
        "Separability": cd.separability(sep_x, y[sub]),
        "Geometry": cd.geometry(fit),
        "UFM": cd.ufm([10, 10, 5], lambda_=0.01),
        "MemoryPlan": cd.memory_plan(X, y, nfolds=3),
        "Heldout": cd.assess(fit, *(lambda v: (v.X.values, v.y.values))(
            cd.datasets.digits().isel(sample=slice(360, 600)))),
        "ClassEffects": cd.class_effects(np.random.default_rng(1).normal(0.8, 0.02, (4, 3)),
                                         np.random.default_rng(2).normal(0.8, 0.02, (5, 3))),
    }


NAMES = ["GlmnetFit", "GlmnetSummary", "CVGlmnet", "CVGrid", "Classwise", "Classwise (grid)", "Boot",
         "BootCI", "Ambiguous", "LDA", "LDAPrediction", "Manova", "Separability", "Geometry", "UFM",
         "MemoryPlan", "Heldout", "ClassEffects"]


@pytest.mark.filterwarnings("ignore::UserWarning")
@pytest.mark.parametrize("name", NAMES)
def test_every_result_has_the_shared_behaviour(made, name, tmp_path):
    obj = made[name]
    assert isinstance(obj, Result)
    text = repr(obj)
    assert text == "\n".join(obj._table().lines()) and text.strip()
    page = obj._repr_html_()
    first = next(line for line in text.splitlines() if line.strip())
    assert html.escape(first.strip()) in page
    df = obj.to_dataframe()
    assert isinstance(df, pd.DataFrame) and df.size > 0
    assert set(df.columns) <= set(obj.data.data_vars)
    for store in ("netcdf", "zarr"):
        path = tmp_path / f"r.{store}"
        obj.to_netcdf(path, store=store)
        back = type(obj).from_netcdf(path, store=store)
        assert repr(back) == text


def test_to_dataframe_holds_the_values(made):
    cw = made["Classwise"]
    df = cw.to_dataframe()
    np.testing.assert_array_equal(df["regret"].to_numpy(), cw.table["regret"].values)
    fit = made["GlmnetFit"]
    np.testing.assert_array_equal(fit.to_dataframe()["df"].to_numpy(), fit.path["df"].values)


NUMBER = re.compile(r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?")


@pytest.mark.filterwarnings("ignore::UserWarning")
@pytest.mark.parametrize("name", NAMES)
def test_notebook_html_is_well_formed_and_holds_the_printed_numbers(made, name):
    """Jupyter's view (#22): HTML that parses (here as XML, the stricter reading) and shows
    every number of the text print, no more and no fewer."""
    obj = made[name]
    root = ElementTree.fromstring(obj._repr_html_())
    assert root.tag == "div"
    shown = " ".join(root.itertext())  # one cell's text apart from the next
    assert sorted(NUMBER.findall(shown)) == sorted(NUMBER.findall(repr(obj)))
