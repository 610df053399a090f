"""The command line answers bad input and Ctrl-C with one line on stderr, not a traceback.

Each case runs ``classdep`` in a subprocess, as a user would, and checks the exit status
and that stderr is one line naming the file, the problem and the fix; ``--debug`` keeps
the traceback.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import time

import numpy as np
import pytest

CLI = [sys.executable, "-m", "classdep.cli"]


def _run(args, cwd, timeout=300):
    return subprocess.run(CLI + args, cwd=cwd, capture_output=True, text=True, timeout=timeout)


def _one_line(err: str) -> str:
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1, err
    assert "Traceback" not in err and "pickle" not in err
    return lines[0]


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    d = tmp_path_factory.mktemp("cli")
    (d / "bad.npz").write_bytes(b"garbage, not a zip")
    np.savez(d / "keys.npz", a=np.zeros((5, 2)), b=np.arange(5))
    (d / "folder").mkdir()
    (d / "notres.nc").write_text("hello")
    return d


@pytest.mark.parametrize(
    ("args", "match"),
    [(["sweep", "bad.npz"], r"'bad.npz' cannot be read as a .npz file .*write it again with save_features"),
     (["sweep", "keys.npz"], r"keys.npz has no array 'X' \(it holds \['a', 'b'\]\)"),
     (["sweep", "folder"], r"'folder' is a folder, not a features file"),
     (["report", "notres.nc"], r"notres.nc cannot be read as a netcdf file .*is it a file classdep wrote")],
    ids=["corrupt-npz", "wrong-keys", "directory", "report-not-a-result"],
)
def test_bad_input_is_one_line(files, args, match):
    import re

    res = _run(args + ["-o", "out.nc"] if args[0] == "sweep" else args, files)
    assert res.returncode == 2
    line = _one_line(res.stderr)
    assert line.startswith("classdep: error: ") and re.search(match, line), line


def test_debug_keeps_the_traceback(files):
    res = _run(["--debug", "sweep", "keys.npz", "-o", "out.nc"], files)
    assert res.returncode == 1 and "Traceback" in res.stderr and "ValueError" in res.stderr


def test_ctrl_c_says_how_to_resume(tmp_path):
    ck = tmp_path / "ck"
    args = ["sweep", "digits", "-o", "r.nc", "--nlambda", "60", "--checkpoint", str(ck)]
    proc = subprocess.Popen(CLI + args,
                            cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    t0 = time.monotonic()
    while not list(ck.rglob("lambda_*.npz")):  # interrupt inside the sweep, not at start-up
        if proc.poll() is not None or time.monotonic() - t0 > 240:
            proc.kill()
            pytest.fail(f"the sweep ended or stalled before its first checkpoint: {proc.communicate()}")
        time.sleep(0.2)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=120)
    if proc.returncode == 0:
        pytest.skip("the sweep finished before the interrupt arrived")
    assert proc.returncode == 130
    assert "Traceback" not in err
    assert err.strip().splitlines()[-1] == "classdep: interrupted; rerun the same command to resume."


# --- classdep study: the first hour ---------------------------------------------------------

STUDY_FAST = ["--nlambda", "6", "-R", "50", "--null", "10", "-k", "3"]


@pytest.fixture(scope="module")
def small_digits(tmp_path_factory):
    """600 digits without a split: the study makes its seeded split, and separates at small lambda."""
    import classdep as cd

    d = tmp_path_factory.mktemp("study")
    cd.datasets.save_features(cd.datasets.digits().isel(sample=slice(0, 600)), d / "digits600.npz")
    return d / "digits600.npz"


def test_study_refuses_a_nonempty_output_folder(tmp_path, small_digits):
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "notes.txt").write_text("mine")
    res = _run(["study", str(small_digits), "-o", "out"] + STUDY_FAST, tmp_path)
    assert res.returncode == 2
    line = _one_line(res.stderr)
    assert line.startswith("classdep: error: the output folder 'out' exists and is not empty")
    assert "--force" in line
    assert res.stdout == "" and (tmp_path / "out" / "notes.txt").read_text() == "mine"


def test_study_stderr_is_progress_and_worded_warnings_only(tmp_path, small_digits):
    res = _run(["study", str(small_digits), "-o", "out", "--lambda-min-ratio", "1e-4"] + STUDY_FAST, tmp_path,
               timeout=600)
    assert res.returncode == 0, res.stderr
    lines = [line for line in res.stderr.splitlines() if line.strip()]
    # no Python source line, no file:line prefix: every line is classdep's own
    assert all(line.startswith("classdep: ") for line in lines), res.stderr
    assert ".py:" not in res.stderr and "Warning:" not in res.stderr
    # digits separate at small lambda: said once, in the user's terms
    sep = [line for line in lines if "linearly separable" in line]
    assert len(sep) == 1
    assert sep[0].startswith("classdep: warning: the training features are linearly separable")
    # LDA's advice to drop constant features is what the study does: not shown
    assert "constant within groups" not in res.stderr
    for step in ("fit the head", "score every class", "bootstrap the optima", "LDA and MANOVA"):
        assert any(step in line and " done in " in line for line in lines), step


def test_study_ctrl_c_resumes_from_its_checkpoint(tmp_path, small_digits):
    ck = tmp_path / "ck"
    args = ["study", str(small_digits), "-o", "out", "--checkpoint", str(ck), "--lambda-min-ratio", "1e-4"]
    args += STUDY_FAST
    proc = subprocess.Popen(CLI + args, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)
    t0 = time.monotonic()
    while not list(ck.glob("fit-*.nc")):  # interrupt after the full-data fit was saved
        if proc.poll() is not None or time.monotonic() - t0 > 300:
            proc.kill()
            pytest.fail(f"the study ended or stalled before its first checkpoint: {proc.communicate()}")
        time.sleep(0.1)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=120)
    if proc.returncode == 0:
        pytest.skip("the study finished before the interrupt arrived")
    assert proc.returncode == 130 and "Traceback" not in err
    assert err.strip().splitlines()[-1] == "classdep: interrupted; rerun the same command to resume."
    first = sorted(ck.glob("fit-*.nc"))[0]
    stamp = first.stat().st_mtime_ns
    res = _run(args, tmp_path, timeout=600)
    assert res.returncode == 0, res.stderr
    assert first.stat().st_mtime_ns == stamp  # read back, not fitted again
    assert (tmp_path / "out" / "report.html").exists()
