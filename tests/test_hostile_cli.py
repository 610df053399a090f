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
