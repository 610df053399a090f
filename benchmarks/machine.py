"""What every benchmark records about the machine it ran on (shared by the bench_* scripts)."""

from __future__ import annotations

import os
import platform
import subprocess
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]


def machine_info(packages: dict[str, str] | None = None, with_r: bool = False) -> dict:
    """CPU, usable cores, load, BLAS, versions (``packages``: name -> version) and git state."""
    info = {"cpu": platform.processor() or platform.machine()}
    try:
        for line in subprocess.run(["lscpu"], capture_output=True, text=True).stdout.splitlines():
            if line.startswith("Model name:"):
                info["cpu"] = line.split(":", 1)[1].strip()
    except OSError:
        pass
    info["cores"] = f"{len(os.sched_getaffinity(0))} usable of {os.cpu_count()}"
    info["load"] = "{:.2f} {:.2f} {:.2f}".format(*os.getloadavg())
    try:
        from threadpoolctl import threadpool_info

        info["blas"] = "; ".join(
            f"{p.get('internal_api')} {p.get('version')} ({p.get('threading_layer', '')}, "
            f"{p.get('num_threads')} threads)"
            for p in threadpool_info() if p.get("user_api") == "blas"
        )
    except ImportError:
        info["blas"] = "unknown (threadpoolctl not installed)"
    import scipy

    commit = subprocess.run(["git", "-C", str(REPO), "rev-parse", "--short", "HEAD"],
                            capture_output=True, text=True).stdout.strip()
    dirty = subprocess.run(["git", "-C", str(REPO), "status", "--porcelain", "classdep"],
                           capture_output=True, text=True).stdout.strip()
    extra = "".join(f", {k} {v}" for k, v in (packages or {}).items())
    info["versions"] = (f"Python {platform.python_version()}, NumPy {np.__version__}, "
                        f"SciPy {scipy.__version__}{extra} "
                        f"(git {commit}{', classdep/ modified' if dirty else ''})")
    if with_r:
        r = subprocess.run(
            ["Rscript", "-e", 'cat(R.version.string, "/ glmnet", as.character(packageVersion("glmnet")))'],
            capture_output=True, text=True,
        )
        info["R"] = r.stdout.strip() or "unavailable"
    return info
