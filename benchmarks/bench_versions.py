#!/usr/bin/env python
"""Time two checkouts of classdep on the same problem, folds and lambda grid, in one run.

A refactoring must not cost speed.  This script times ``cv_glmnet`` on Fashion-MNIST
PCA-128 (the training set, ``PCA(128, random_state=0)``, 5 stratified folds with
``random_state=0``, ``lambda_ = geomspace(1e-1, 5e-6, nlambda)``) once per checkout and
round, alternating the checkouts (A B A B ...) so that a drift in the machine's load falls
on both, each in its own subprocess so that each imports its own classdep.  It also checks
that both give the same cross-validated curve.

Run from the repository root, with the baseline checked out elsewhere
(``git worktree add /tmp/base <commit>``)::

    python benchmarks/bench_versions.py --baseline /tmp/base --rounds 2
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
REPO = HERE.parent

CHILD = r"""
import json, sys, time
import numpy as np
sys.path.insert(0, sys.argv[1])
import classdep as cd
z = np.load(sys.argv[2])
X, y, foldid = z["X"], z["y"], z["foldid"]
lam = np.geomspace(1e-1, 5e-6, int(sys.argv[3]))
t = time.perf_counter()
cv = cd.cv_glmnet(X, y, foldid=foldid, lambda_=lam, progress=False)
wall = time.perf_counter() - t
print(json.dumps({"wall": wall, "cvm": cv.cvm.values.tolist(), "file": cd.__file__}))
"""


def features(path: Path) -> Path:
    """Fashion-MNIST PCA-128 with its folds, computed once and kept in ``path``."""
    if path.exists():
        return path
    from sklearn.decomposition import PCA
    from sklearn.model_selection import StratifiedKFold

    sys.path.insert(0, str(REPO))
    import classdep

    ds = classdep.datasets.fashion_mnist("train")
    pixels = ds["X"].values.reshape(ds.sizes["sample"], -1).astype(np.float64) / 255.0
    X = PCA(128, random_state=0).fit_transform(pixels)
    y = ds["y"].values
    foldid = np.empty(y.size, dtype=np.int64)
    for m, (_, test) in enumerate(StratifiedKFold(5, shuffle=True, random_state=0).split(X, y)):
        foldid[test] = m + 1
    np.savez(path, X=X, y=y, foldid=foldid)
    return path


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--baseline", required=True, help="root of the baseline checkout")
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--nlambda", type=int, default=50)
    ap.add_argument("--cache", default="/tmp/classdep_fashion_pca128.npz")
    a = ap.parse_args()
    data = features(Path(a.cache))
    roots = {"baseline": str(Path(a.baseline).resolve()), "current": str(REPO)}
    times: dict[str, list[float]] = {k: [] for k in roots}
    cvm = {}
    for r in range(a.rounds):
        for name, root in roots.items():
            t = time.perf_counter()
            out = subprocess.run([sys.executable, "-c", CHILD, root, str(data), str(a.nlambda)],
                                 capture_output=True, text=True, check=True)
            res = json.loads(out.stdout.strip().splitlines()[-1])
            assert res["file"].startswith(root), (res["file"], root)
            times[name].append(res["wall"])
            cvm[name] = np.asarray(res["cvm"])
            print(f"round {r + 1} {name:>8}: {res['wall']:.1f} s (process {time.perf_counter() - t:.1f} s)",
                  flush=True)
    gap = float(np.max(np.abs(cvm["current"] - cvm["baseline"]) / np.abs(cvm["baseline"])))
    best = {k: min(v) for k, v in times.items()}
    print(f"\nbest of {a.rounds}: baseline {best['baseline']:.1f} s, current {best['current']:.1f} s, "
          f"ratio current/baseline {best['current'] / best['baseline']:.3f}; "
          f"largest relative cvm difference {gap:.2e}")


if __name__ == "__main__":
    main()
