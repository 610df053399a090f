"""The command line: sweep → report → study, on digits (ships with scikit-learn)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import classdep as cd
from classdep.cli import _parser, main


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
                        "--nlambda", "6", "--lambda-min-ratio", "1e-3", "--no-extend", "-R", "50",
                        "--null", "10"], capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith("Protocol: held-out.") and "a seeded stratified split" in r.stdout
    assert "lambda_opt" in r.stdout and (tmp_path / "s" / "report.html").exists()
    assert "Coefficients of linear discriminants" in r.stdout and (tmp_path / "s" / "lda.png").exists()
    # the study ends with the files it wrote and its time
    tail = r.stdout[r.stdout.rindex("\nWrote "):].split("\n")[1:]
    n = int(tail[0].split()[1])
    files = [line.strip() for line in tail[1:] if line.strip()]
    assert len(files) == n and all(Path(f).stat().st_size > 0 for f in files)
    assert tail[0].startswith(f"Wrote {n} files in ") and tail[0].endswith(" s:")
    assert {Path(f).name for f in files} == {p.name for p in (tmp_path / "s").iterdir()}


def test_study_help_is_plain_text_with_every_default(capsys):
    with pytest.raises(SystemExit) as e:
        main(["study", "--help"])
    assert e.value.code == 0
    text = " ".join(capsys.readouterr().out.split())  # argparse wraps lines
    study = next(a for a in _parser()._actions if a.dest == "command").choices["study"]
    shown = [a for a in study._actions if a.dest != "help"]  # the positional FEATURES too
    assert text.count("(default: ") == len(shown)
    options = [a for a in shown if a.option_strings]
    for a in options:
        assert a.option_strings[0] in text
    for shown in ("(default: heldout)", "(default: 40)", "(default: 1e-05)", "(default: 4)",
                  "(default: 1000)", "(default: ['deviance', 'ova_accuracy'])", "(default: ce)",
                  "(default: 5)"):
        assert shown in text, shown
    for opt in ("--protocol", "--measures", "--lambda-min-ratio", "--nlambda", "--folds", "-k", "-R",
                "--loss", "--family", "--force", "--checkpoint"):
        assert opt in text, opt
    assert "``" not in text and ":func:" not in text


def test_unknown_features_is_a_clear_error(capsys):
    assert main(["sweep", "no-such-file.npz"]) == 2
    assert "neither a features file nor a known dataset" in capsys.readouterr().err


@pytest.mark.filterwarnings("ignore::UserWarning")
def test_report_reads_the_heldout_result_a_study_wrote(tmp_path, capsys):
    from classdep.study import study

    ds = cd.datasets.make_mixture(n_classes=3, n_features=4, n_samples=300, n_test=200, seed=1)
    s = study(ds, tmp_path / "s", nlambda=6, lambda_min_ratio=1e-3, extend=False, R=20, null=5,
              progress=False)
    assert main(["report", str(tmp_path / "s" / "results.nc"), "-o", str(tmp_path / "r"), "--null", "5"]) == 0
    text = capsys.readouterr().out
    assert repr(s.sweep) in text  # the held-out table, read back
    assert "Class-wise optima (measure: deviance; 3 classes, one held-out split)" in text
    C = s.sweep.confusion.isel({"lambda": s.sweep.index["min"]}).values.astype(float)
    np.fill_diagonal(C, -1)
    for k, c in enumerate(s.sweep.classes):  # each class's partner: the largest off-diagonal count
        assert f"{c!s:>14} -> {s.sweep.classes[C[k].argmax()]}" in text


def test_library_warnings_are_reworded_in_the_command_lines_terms():
    import warnings

    from classdep.cli import _reword
    from classdep.sweep.extend import EdgeWarning

    ds = cd.datasets.make_mixture(n_classes=3, n_features=4, n_samples=300, seed=1)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        # a grid far above the optima and a limit that lets it grow by one block only
        cd.cv_glmnet(ds, nfolds=3, lambda_=np.geomspace(100, 10, 3), extend=True, extend_limit=0.5,
                     progress=False)
    edge = [w for w in caught if issubclass(w.category, EdgeWarning)]
    assert edge, [str(w.message) for w in caught]
    text = _reword(EdgeWarning, str(edge[0].message))
    assert "cv_glmnet(" not in text and "extend_limit=" not in text
    assert text.startswith("the optimum of classes ") and "low end of the grid" in text
    assert "--lambda-min-ratio or --extend-limit" in text
    # the library's advice on constant features is what the study already does: not shown
    assert _reword(UserWarning, "3 features are constant within groups and get zero coefficients") is None
