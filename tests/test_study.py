"""classdep.study: the study's protocol, checked against the library calls it stands for.

The study's numbers are compared with an independent computation: the held-out protocol
with ``classwise(assess(glmnet(train), Xtest, ytest))``, the CV protocol with
``classwise(cv_glmnet(heldout))``, the grid's extension with fits of the added lambdas
alone, and the FDR count with a Benjamini-Hochberg computed here.
"""

from __future__ import annotations

import importlib
import io

import numpy as np
import pytest
import xarray as xr

import classdep as cd
from classdep.study import Progress, split_features, study

# the module, even where classdep exports a function named study
st = importlib.import_module("classdep.study")

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")  # separation, edges, atoms: not tested here

SMALL = dict(nlambda=8, lambda_min_ratio=1e-3, R=40, null=20, progress=False)
TABLE_VARS = ("lambda_opt", "at_edge", "at_opt", "at_global", "regret", "regret_crossfit", "p_value",
              "q_value")


@pytest.fixture(scope="module")
def mix() -> xr.Dataset:
    # 'train' for the fit and 'test' for the scores, as fashion_mnist_features splits them; class
    # names out of alphabetical order, as Fashion-MNIST's, so that codes and the fit's order differ
    ds = cd.datasets.make_mixture(n_classes=4, n_features=6, n_samples=500, n_test=400, seed=3)
    return ds.assign_coords({"class": ["wolf", "cat", "bee", "ant"]})


def _labels(ds: xr.Dataset) -> np.ndarray:
    return ds["class"].values[ds["y"].values]


def _same_tables(a: cd.Classwise, b: cd.Classwise) -> None:
    for v in TABLE_VARS:
        x, y = a.table[v].values, b.table[v].values
        if x.dtype.kind in "fc":
            np.testing.assert_allclose(x, y, rtol=1e-10, atol=1e-12, err_msg=v)
        else:
            assert x.tolist() == y.tolist(), v
    for k in ("total_regret", "total_regret_crossfit", "n_differ"):
        np.testing.assert_allclose(a.table.attrs[k], b.table.attrs[k], rtol=1e-10, err_msg=k)


def test_heldout_protocol_is_the_default_and_matches_a_direct_assess(mix, tmp_path):
    s = study(mix, tmp_path / "s", extend=False, **SMALL)
    tr, te = cd.datasets.select_split(mix, "train"), cd.datasets.select_split(mix, "test")
    fit = cd.glmnet(tr, nlambda=8, lambda_min_ratio=1e-3)
    h = cd.assess(fit, te.X, _labels(te))
    assert s.protocol == "heldout" and isinstance(s.sweep, cd.Heldout)
    np.testing.assert_array_equal(s.sweep.lambda_, fit.lambda_)
    for m in ("deviance", "ova_accuracy"):
        _same_tables(s.classwise[m], cd.classwise(h, measure=m, null=20, seed=0))
    assert s.text.startswith("Protocol: held-out.")
    assert "500 training samples of split 'train', 400 held-out samples of split 'test'" in s.text


def test_protocol_cv_cross_validates_inside_the_heldout_features(mix, tmp_path):
    s = study(mix, tmp_path / "s", protocol="cv", nfolds=3, extend=False, measures=["deviance"], **SMALL)
    te = cd.datasets.select_split(mix, "test")
    cv = cd.cv_glmnet(te, nfolds=3, nlambda=8, lambda_min_ratio=1e-3, seed=0, progress=False)
    assert isinstance(s.sweep, cd.CVGlmnet) and s.sweep.oof.sizes["sample"] == 400
    _same_tables(s.classwise["deviance"], cd.classwise(cv, null=20, seed=0))
    assert s.text.startswith("Protocol: cv. 3-fold cross-validation inside the held-out features")


def test_validation_split_is_scored_before_test(mix, tmp_path):
    split = mix["split"].values.astype("U10")
    test_idx = np.nonzero(split == "test")[0]
    split[test_idx[:150]] = "validation"
    ds = mix.assign_coords(split=("sample", split))
    s = study(ds, tmp_path / "s", extend=False, measures=["deviance"], **SMALL)
    assert int(s.sweep.results.attrs["n_heldout"]) == 150
    assert int(s.sweep.fit.path.attrs["n_samples"]) == 500
    assert "150 held-out samples of split 'validation'" in s.split
    s2 = study(ds, tmp_path / "t", extend=False, measures=["deviance"], score_split="test", **SMALL)
    assert int(s2.sweep.results.attrs["n_heldout"]) == 250


def test_features_without_a_split_get_a_seeded_stratified_split():
    ds = cd.datasets.digits()
    tr, te, how = split_features(ds, test_size=0.3, seed=0)
    a, b = tr["sample"].values, te["sample"].values
    assert np.intersect1d(a, b).size == 0 and a.size + b.size == 1797
    counts = np.bincount(ds.y.values)
    held = np.bincount(te.y.values, minlength=10)
    assert np.all(np.abs(held - 0.3 * counts) <= 1)  # stratified: 30% of every class
    assert np.array_equal(split_features(ds, seed=0)[1]["sample"].values, b)  # reproducible
    assert not np.array_equal(split_features(ds, seed=1)[1]["sample"].values, b)
    assert how.startswith("a seeded stratified split") and "30%" in how and "seed 0" in how


@pytest.mark.parametrize(("splits", "kw", "match"), [
    (["a", "b"], {}, r"none is named 'train'"),
    (["train", "holdout"], {}, r"--score-split holdout"),
    (["train", "test"], {"score_split": "val"}, r"is not a held-out split .* pass one of \['test'\]"),
])
def test_splits_that_cannot_be_read_are_refused_with_the_fix(splits, kw, match):
    ds = cd.datasets.make_mixture(n_classes=3, n_samples=60, seed=0)
    ds = ds.assign_coords(split=("sample", np.resize(splits, 60)))
    with pytest.raises(ValueError, match=match):
        split_features(ds, **kw)


def test_the_grid_is_extended_with_fits_of_the_added_lambdas_alone(mix, tmp_path):
    # a grid that stops far above every optimum: the low end must grow
    s = study(mix, tmp_path / "s", nlambda=5, lambda_min_ratio=0.1, measures=["deviance"], R=20, null=0,
              progress=False)
    a = s.sweep.results.attrs
    assert a["extend_added_low"] > 0
    tr, te = cd.datasets.select_split(mix, "train"), cd.datasets.select_split(mix, "test")
    first = cd.glmnet(tr, nlambda=5, lambda_min_ratio=0.1)
    lam = s.sweep.lambda_
    assert np.all(np.diff(lam) < 0) and np.allclose(lam[:5], first.lambda_, rtol=1e-12)
    # every lambda's held-out deviance equals that of a fit at that lambda's own piece
    direct = [cd.assess(first, te.X, _labels(te))["deviance"].values]
    rest = lam[5:]
    done = 0
    while done < rest.size:  # the pieces are the blocks of the extension, fitted apart
        block = rest[done:done + 5]
        direct.append(cd.assess(cd.glmnet(tr, lambda_=block), te.X, _labels(te))["deviance"].values)
        done += block.size
    np.testing.assert_allclose(s.sweep["deviance"].values, np.concatenate(direct), rtol=1e-10)
    t = s.classwise["deviance"].table
    assert "Grid: " in s.text and "added below" in s.text
    if a["extend_limit_reached"]:
        assert (t["at_edge"].values != "").any()
    else:
        assert (t["at_edge"].values == "").all()


def test_fdr_count_is_benjamini_hochberg_of_the_per_class_p_values(mix, tmp_path):
    s = study(mix, tmp_path / "s", extend=False, measures=["deviance"], **SMALL)
    t = s.classwise["deviance"].table
    p = t["p_value"].values
    K = p.size
    order = np.argsort(p)
    passed = np.nonzero(p[order] <= 0.1 * np.arange(1, K + 1) / K)[0]
    n = 0 if passed.size == 0 else int(passed.max()) + 1
    assert int(t.attrs["n_differ"]) == n
    line = f"at FDR 10% (Benjamini-Hochberg over the classes' p-values from the noise-only null): {n} of {K}"
    assert line in s.text


def test_a_negative_crossfitted_regret_is_explained_where_it_appears(mix, tmp_path):
    s = study(mix, tmp_path / "s", extend=False, **SMALL)
    for cw in s.classwise.values():
        t = cw.table
        neg = bool((t["regret_crossfit"].values < 0).any() or t.attrs["total_regret_crossfit"] < 0)
        section = repr(cw) + "\nA negative cross-fitted regret means"
        assert (section in s.text) == neg


def test_refuses_a_nonempty_output_folder_unless_forced(mix, tmp_path):
    out = tmp_path / "s"
    out.mkdir()
    (out / "old.txt").write_text("keep")
    with pytest.raises(FileExistsError, match="--force"):
        study(mix, out, **SMALL)
    s = study(mix, out, force=True, extend=False, measures=["deviance"], **SMALL)
    assert (out / "old.txt").read_text() == "keep"
    names = {f.name for f in s.files}
    assert {"results.nc", "report.html", "report.txt", "classwise_deviance.nc", "optima_ci.nc"} <= names
    assert all(f.stat().st_size > 0 for f in s.files)
    back = cd.Heldout.from_netcdf(out / "results.nc")
    np.testing.assert_array_equal(back.cvm.values, s.sweep.cvm.values)


def test_checkpoint_resumes_without_refitting(mix, tmp_path, monkeypatch):
    ck = tmp_path / "ck"
    kw = dict(SMALL, nlambda=5, lambda_min_ratio=0.1, measures=["deviance"], checkpoint=ck)
    s1 = study(mix, tmp_path / "a", **kw)
    assert len(list(ck.glob("fit-*.nc"))) >= 2  # the first fit and the extension's

    def refuse(*args, **kwargs):
        raise AssertionError("glmnet was called although every fit was checkpointed")

    monkeypatch.setattr(st, "glmnet", refuse)
    s2 = study(mix, tmp_path / "b", **kw)
    np.testing.assert_array_equal(s2.sweep.lambda_, s1.sweep.lambda_)
    # the fits read back are the fits written; the scores agree to rounding
    np.testing.assert_allclose(s2.sweep["deviance"].values, s1.sweep["deviance"].values, rtol=1e-12)


def test_checkpoint_of_the_cv_protocol_resumes_and_matches(mix, tmp_path):
    kw = dict(SMALL, protocol="cv", nfolds=3, nlambda=5, lambda_min_ratio=0.1, measures=["deviance"])
    plain = study(mix, tmp_path / "a", **kw)
    ck = study(mix, tmp_path / "b", checkpoint=tmp_path / "ck", **kw)
    again = study(mix, tmp_path / "c", checkpoint=tmp_path / "ck", **kw)
    assert plain.sweep.results.attrs["extend_added_low"] > 0
    for s in (ck, again):
        np.testing.assert_array_equal(s.sweep.lambda_, plain.sweep.lambda_)
        np.testing.assert_allclose(s.sweep.cvm.values, plain.sweep.cvm.values, rtol=1e-10)


def test_progress_names_every_step_with_its_time(mix, tmp_path):
    buf = io.StringIO()
    study(mix, tmp_path / "s", extend=False, measures=["deviance"], **dict(SMALL, progress=buf))
    lines = buf.getvalue().splitlines()
    for step in ("fit the head on 500 training samples", "score every class on 400 held-out samples",
                 "class-wise optima (deviance)", "bootstrap the optima", "LDA and MANOVA",
                 "write the results"):
        line = next(x for x in lines if step in x)
        assert line.startswith("classdep: ") and " done in " in line and line.endswith(" s"), line


def test_progress_restates_a_step_interrupted_by_other_output():
    buf = io.StringIO()
    p = Progress(buf)
    with p.step("a step"):
        p.note("something else")
    assert buf.getvalue().splitlines() == ["classdep: a step ...", "classdep: something else",
                                           "classdep: a step: done in 0.0 s"]


def test_bad_options_are_refused_by_name(mix, tmp_path):
    with pytest.raises(ValueError, match="protocol"):
        study(mix, tmp_path / "a", protocol="loo", **SMALL)
    with pytest.raises(ValueError, match="measure"):
        study(mix, tmp_path / "b", measures=["auc"], **SMALL)
    with pytest.raises(ValueError, match="test_size"):
        split_features(mix, test_size=1.5)
