"""Running one benchmarked tool in its own process, with a time limit (shared by the scripts)."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path


def run_subprocess(cmd: list[str], timeout: float | None, log: Path,
                   budget_exit: int | None = None) -> tuple[str, float]:
    """Run ``cmd`` in its own process group, its output to ``log``; kill the group on timeout.

    Returns ``(status, seconds)`` with status ``"ok"``, ``"timeout"`` (killed at ``timeout``,
    or exited with ``budget_exit``: a worker that stopped itself at its budget) or
    ``"error"``.
    """
    t0 = time.perf_counter()
    with open(log, "w") as fh:
        proc = subprocess.Popen(cmd, stdout=fh, stderr=subprocess.STDOUT, start_new_session=True)
        try:
            rc = proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
            return "timeout", time.perf_counter() - t0
    if rc == 0:
        return "ok", time.perf_counter() - t0
    return ("timeout" if budget_exit is not None and rc == budget_exit else "error"), time.perf_counter() - t0
