"""The command line: sweep → report → study, on digits (ships with scikit-learn)."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

import classdep as cd
from classdep.cli import main


@pytest.fixture(scope="module")
def swept(tmp_path_factory):
    d = tmp_path_factory.mktemp("cli")
    res = d / "results.nc"
    assert main(["sweep", "digits", "-o", str(res), "--folds", "3", "--nlambda", "8"]) == 0
    return res


@pytest.mark.filterwarnings("ignore::classdep.SeparationWarning")  # digits separate at small lambda
def test_sweep_writes_a_cv_object_matching_cv_glmnet(swept):
    cv = cd.CVGlmnet.from_netcdf(swept)
    ref = cd.cv_glmnet(cd.datasets.digits(), nfolds=3, nlambda=8, lambda_min_ratio=1e-6, progress=False)
    np.testing.assert_allclose(cv.cvm.values, ref.cvm.values, rtol=1e-12)
    assert cv.lambda_min == ref.lambda_min


def test_report_prints_tables_and_writes_figures(swept, tmp_path, capsys):
    out = tmp_path / "rep"
    assert main(["report", str(swept), "-o", str(out), "--null", "10"]) == 0
    text = capsys.readouterr().out
    assert "Measure: Multinomial Deviance" in text
    assert "Class-wise optima (measure: deviance" in text
    assert "BOOTSTRAP CONFIDENCE INTERVAL CALCULATIONS" in text
    for name in ("cv.png", "classwise_deviance.png", "classwise_recall.png", "optima_ci.png", "path.png",
                 "report.html", "classwise.nc"):
        assert (out / name).stat().st_size > 0
    assert "<img src='cv.png'" in (out / "report.html").read_text()


@pytest.mark.filterwarnings("ignore::classdep.SeparationWarning")
@pytest.mark.filterwarnings("ignore:.*constant within groups:UserWarning")  # digits' blank border pixels
def test_report_with_features_adds_discriminant_analysis_of_the_ambiguous_classes(swept, tmp_path, capsys):
    out = tmp_path / "rep"
    assert main(["report", str(swept), "-o", str(out), "--null", "5", "--features", "digits"]) == 0
    text = capsys.readouterr().out
    cv = cd.CVGlmnet.from_netcdf(swept)
    amb = cd.ambiguous(cv, k=4)
    da = cd.lda(cd.datasets.digits(), classes=amb, drop_constant=True)
    # the report's tables are those of the library calls on the same classes
    assert repr(amb) in text and repr(da) in text
    assert "Pillai" in text
    assert (out / "lda.png").stat().st_size > 0 and (out / "ambiguous.png").stat().st_size > 0
    assert "needs the features" not in (out / "report.html").read_text()


def test_console_script_study_runs_from_a_shell(tmp_path):
    r = subprocess.run([sys.executable, "-m", "classdep.cli", "study", "--out", str(tmp_path / "s"),
                        "--folds", "3", "--nlambda", "6"], capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr
    assert "lambda_opt" in r.stdout and (tmp_path / "s" / "report.html").exists()
    assert "Coefficients of linear discriminants" in r.stdout and (tmp_path / "s" / "lda.png").exists()


def test_unknown_features_is_a_clear_error():
    with pytest.raises(SystemExit, match="neither a features file"):
        main(["sweep", "no-such-file.npz"])
