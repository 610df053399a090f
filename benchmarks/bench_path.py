#!/usr/bin/env python
"""Time classdep's 5-fold ridge multinomial path against scikit-learn and R glmnet, in one run.

Problems (issue 3, "Performance"):

* ``fashion``: Fashion-MNIST training set, pixels in [0, 1], PCA to 128 components
  (scikit-learn ``PCA(128, random_state=0)`` on all 60000 images), 10 classes;
  grid ``geomspace(1e-1, 5e-6, nlambda)``.
* ``synthetic``: ``make_mixture(n_classes=100, n_features=256, n_samples=20000,
  imbalance="step", ratio=10, seed=0)``; grid ``geomspace(1e-1, 1e-5, nlambda)``.
* ``wide50`` (issue 21, "Wide features"): ``make_mixture(n_classes=3, n_features=10000,
  n_samples=50, seed=0)``, 5 lambdas; ``wide2048``: ``make_mixture(n_classes=100,
  n_features=2048, n_samples=500, seed=0)`` (5 samples a class), 20 lambdas.  More features
  than samples: classdep solves them in the sample space
  (:mod:`classdep.solvers.sample_space`).  Their grid is classdep's default grid on the
  full data (``lambda_max`` down to ``1e-4 lambda_max``, glmnet's ratio for ``n < d``),
  the same for every tool; the peers run on all of it and scikit-learn's lbfgs at
  ``tol=1e-8`` (at 1e-6 its gap exceeds 1e-8; newton-cholesky's dense Hessian does not fit).

Every tool minimizes, per fold, ``f = mean NLL + lambda/2 ||W||^2`` (intercepts unpenalized)
on the fold's training rows; the folds are ``StratifiedKFold(5, shuffle=True, random_state=0)``.

* classdep: ``fit_path(X, y, K, lambdas=grid, batch_weights=masks)``, all 5 folds in one
  batch, default tolerance; timed on the full grid and on the peers' subset grid.
* scikit-learn ``LogisticRegressionCV`` (newton-cholesky, lbfgs; ``tol=1e-6``, ``refit=False``)
  with ``Cs = 1 / (n_train * lambda)`` and the same folds.
* R ``cv.glmnet(alpha=0, standardize=FALSE, family="multinomial", thresh=1e-7)`` with the
  same ``foldid`` (``glmnet_peer.R``).

Peers run on a subset of ``--peer-lambdas`` lambdas taken evenly from the grid, each in a
subprocess with a timeout.  Accuracy: the objective gap ``f - f*`` on fold 0's training rows
at three lambdas of the subset, ``f*`` from a high-accuracy classdep Newton solve.

Run from the repository root::

    python benchmarks/bench_path.py --problem fashion              # the full benchmark (slow)
    python benchmarks/bench_path.py --quick --problem fashion      # smoke test, a few minutes
    python benchmarks/bench_path.py --problem wide                 # both wide problems

Results go to stdout and ``benchmarks/out/results_<problem>.md``.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import time
import warnings
from pathlib import Path

import numpy as np
from machine import machine_info  # benchmarks/machine.py, beside this script
from runner import run_subprocess  # benchmarks/runner.py

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
N_FOLDS = 5
PEERS = ("sklearn-newton", "sklearn-lbfgs", "glmnet")
SKLEARN_SOLVER = {"sklearn-newton": "newton-cholesky", "sklearn-lbfgs": "lbfgs"}
SKLEARN_TOL = 1e-6
SKLEARN_MAX_ITER = 100_000
GLMNET_THRESH = 1e-7
REF_THRESH = 1e-13
REF_GRAD_OK = 1e-10
# sklearn's newton-cholesky forms the dense ((d+1)K)^2 Hessian; beyond this it is not a peer.
NEWTON_CHOLESKY_MAX_DOF = 8000
# glmnet answers whose relative objective gap exceeds this are reported as wrong, not timed.
GLMNET_WRONG_REL_GAP = 1e-2

PROBLEMS = {
    "fashion": {"title": "Fashion-MNIST PCA-128", "lambda_range": (1e-1, 5e-6)},
    "synthetic": {"title": "synthetic mixture, 100 classes, step imbalance 10", "lambda_range": (1e-1, 1e-5)},
    # wide problems: classdep's default grid (lambda_range None), every lambda for the peers
    "wide50": {"title": "wide features, 50 x 10000, 3 classes", "lambda_range": None,
               "mixture": dict(n_classes=3, n_features=10000, n_samples=50, seed=0),
               "nlambda": 5, "sklearn_tol": 1e-8, "peers": ("sklearn-lbfgs",)},
    "wide2048": {"title": "wide features, 500 x 2048, 100 classes", "lambda_range": None,
                 "mixture": dict(n_classes=100, n_features=2048, n_samples=500, seed=0),
                 "nlambda": 20, "sklearn_tol": 1e-8, "peers": ("sklearn-lbfgs",)},
}
WIDE = ("wide50", "wide2048")
WIDE_LAMBDA_MIN_RATIO = 1e-4


# -- problems -------------------------------------------------------------------------------------


def _import_classdep():
    if str(REPO) not in sys.path:
        sys.path.insert(0, str(REPO))
    import classdep

    return classdep


def build_fashion(cache: Path) -> tuple[np.ndarray, np.ndarray, int]:
    path = cache / "fashion_pca128.npz"
    if not path.exists():
        from sklearn.decomposition import PCA

        classdep = _import_classdep()
        ds = classdep.datasets.fashion_mnist("train")
        pixels = np.asarray(ds["X"].values, dtype=np.float64)
        X = PCA(128, random_state=0).fit_transform(pixels)
        np.savez(path, X=X, y=np.asarray(ds["y"].values, dtype=np.int64))
    with np.load(path) as z:
        return z["X"], z["y"], 10


def build_synthetic(cache: Path) -> tuple[np.ndarray, np.ndarray, int]:
    path = cache / "synthetic100.npz"
    if not path.exists():
        classdep = _import_classdep()
        ds = classdep.datasets.make_mixture(
            n_classes=100, n_features=256, n_samples=20000, imbalance="step", ratio=10, seed=0
        )
        np.savez(path, X=np.asarray(ds["X"].values, dtype=np.float64),
                 y=np.asarray(ds["y"].values, dtype=np.int64))
    with np.load(path) as z:
        return z["X"], z["y"], 100


def build_mixture(cache: Path, name: str) -> tuple[np.ndarray, np.ndarray, int]:
    spec = PROBLEMS[name]["mixture"]
    path = cache / f"{name}.npz"
    if not path.exists():
        classdep = _import_classdep()
        ds = classdep.datasets.make_mixture(**spec)
        np.savez(path, X=np.asarray(ds["X"].values, dtype=np.float64),
                 y=np.asarray(ds["y"].values, dtype=np.int64))
    with np.load(path) as z:
        return z["X"], z["y"], int(spec["n_classes"])


def default_grid(X, y, K, nlambda: int) -> np.ndarray:
    """classdep's default grid on the full data (what ``glmnet(x, y, nlambda=...)`` uses)."""
    _import_classdep()
    from classdep.solvers.path import lambda_grid
    from classdep.solvers.prepare import prepare

    return lambda_grid(prepare(X, y, K, device="cpu"), nlambda, WIDE_LAMBDA_MIN_RATIO)


def load_problem(name: str, cache: Path, n_samples: int | None):
    if name in WIDE:
        X, y, K = build_mixture(cache, name)
    else:
        X, y, K = build_fashion(cache) if name == "fashion" else build_synthetic(cache)
    if n_samples is not None and n_samples < y.size:
        from sklearn.model_selection import train_test_split

        keep, _ = train_test_split(np.arange(y.size), train_size=n_samples, stratify=y, random_state=0)
        keep = np.sort(keep)
        X, y = X[keep], y[keep]
    return np.ascontiguousarray(X), y, K


def make_folds(y: np.ndarray) -> np.ndarray:
    """``foldid`` (1..5): the fold in which each sample is held out."""
    from sklearn.model_selection import StratifiedKFold

    foldid = np.zeros(y.size, dtype=np.int32)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # "least populated class" in --quick runs
        splits = StratifiedKFold(N_FOLDS, shuffle=True, random_state=0).split(np.zeros(y.size), y)
        for f, (_, test) in enumerate(splits):
            foldid[test] = f + 1
    return foldid


def fold_list(foldid: np.ndarray) -> list[tuple[np.ndarray, np.ndarray]]:
    return [(np.flatnonzero(foldid != f), np.flatnonzero(foldid == f)) for f in range(1, N_FOLDS + 1)]


# -- the objective, computed independently of every tool -------------------------------------------


def objective(X, y, W, b, lam) -> float:
    """``mean NLL + lam/2 ||W||^2`` for coefficients ``W`` (d, K) and intercepts ``b`` (K,)."""
    Z = X @ W + b
    zmax = Z.max(axis=1, keepdims=True)
    lse = zmax[:, 0] + np.log(np.exp(Z - zmax).sum(axis=1))
    return float(np.mean(lse - Z[np.arange(y.size), y]) + 0.5 * lam * np.sum(W * W))


def gradient_maxabs(X, y, W, b, lam) -> float:
    Z = X @ W + b
    P = np.exp(Z - Z.max(axis=1, keepdims=True))
    P /= P.sum(axis=1, keepdims=True)
    P[np.arange(y.size), y] -= 1.0
    gW = X.T @ P / y.size + lam * W
    return float(max(np.abs(gW).max(), np.abs(P.mean(axis=0)).max()))


def reference(X, y, K, lams) -> dict:
    """High-accuracy optimum at ``lams`` on one training set (classdep Newton, thresh 1e-13)."""
    _import_classdep()
    from classdep.solvers.path import fit_path

    d = X.shape[1]
    solver = "newton" if (d + 1) * K <= NEWTON_CHOLESKY_MAX_DOF else "auto"
    t0 = time.perf_counter()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        fit = fit_path(X, y, K, lambdas=np.asarray(lams), thresh=REF_THRESH, solver=solver, maxit=500)
    fstar, grad = [], []
    for j, lam in enumerate(lams):
        W, b = fit.coef[j, :, 0, :], fit.intercept[j, 0, :]
        fstar.append(objective(X, y, W, b, lam))
        grad.append(gradient_maxabs(X, y, W, b, lam))
    return {"fstar": fstar, "grad": grad, "solver": fit.solver, "wall": time.perf_counter() - t0,
            "converged": bool(fit.converged.all()),
            "warnings": sorted({str(w.message)[:100] for w in caught})}


# -- workers: each tool runs in its own process ----------------------------------------------------


def _save_coefs(workdir: Path, tool: str, W: np.ndarray, b: np.ndarray) -> None:
    np.savez(workdir / f"coef_{tool}.npz", W=W, b=b)


def worker_classdep(workdir: Path, tool: str, cfg: dict) -> dict:
    _import_classdep()
    from classdep.solvers.path import fit_path

    with np.load(workdir / "data.npz") as z:
        X, y, foldid = z["X"], z["y"], z["foldid"]
    grid = np.asarray(cfg["grid"] if tool == "classdep" else cfg["peer_grid"])
    masks = np.stack([(foldid != f).astype(np.float64) for f in range(1, N_FOLDS + 1)])
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        t0 = time.perf_counter()
        fit = fit_path(X, y, cfg["K"], lambdas=grid, batch_weights=masks)
        wall = time.perf_counter() - t0
    acc = [int(np.argmin(np.abs(np.log(grid / lam)))) for lam in cfg["acc_lambdas"]]
    _save_coefs(workdir, tool, fit.coef[acc, :, 0, :], fit.intercept[acc, 0, :])
    products = sum(w.products for w in fit.work)
    return {
        "wall": wall, "n_lambda": int(grid.size), "solver": fit.solver,
        "newton_batched": int(fit.niter.max(axis=1).sum()), "newton_members": int(fit.niter.sum()),
        "products": int(products), "members": int(masks.shape[0]),
        "cg_iterations": int(sum(w.cg_iterations for w in fit.work)),
        "hessians": int(sum(w.hessians for w in fit.work)),
        "converged": bool(fit.converged.all()), "separable": int(fit.separable.any(axis=1).sum()),
        "max_grad_norm": float(fit.grad_norm.max()),
        "warnings": sorted({str(w.message)[:120] for w in caught}),
    }


def worker_sklearn(workdir: Path, tool: str, cfg: dict) -> dict:
    from sklearn.linear_model import LogisticRegressionCV

    with np.load(workdir / "data.npz") as z:
        X, y, foldid = z["X"], z["y"], z["foldid"]
    folds = fold_list(foldid)[: cfg.get("peer_folds", N_FOLDS)]  # fold 0 always among them
    lam = np.asarray(cfg["peer_grid"])
    n_train = folds[0][0].size  # one Cs list serves every fold; exact for fold 0
    est = LogisticRegressionCV(
        Cs=1.0 / (n_train * lam), l1_ratios=(0.0,), cv=folds, solver=SKLEARN_SOLVER[tool],
        tol=cfg.get("sklearn_tol", SKLEARN_TOL), max_iter=SKLEARN_MAX_ITER, refit=False,
        scoring="neg_log_loss",
        use_legacy_attributes=False,
    )
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        t0 = time.perf_counter()
        est.fit(X, y)
        wall = time.perf_counter() - t0
    paths = np.asarray(est.coefs_paths_)  # (folds, l1_ratios, Cs, K, d + 1)
    d = X.shape[1]
    acc = [int(np.argmin(np.abs(np.log(lam / a)))) for a in cfg["acc_lambdas"]]
    coefs = paths[0, 0, acc]  # (A, K, d + 1)
    _save_coefs(workdir, tool, np.transpose(coefs[:, :, :d], (0, 2, 1)), coefs[:, :, d])
    n_iter = np.asarray(est.n_iter_)
    return {
        "wall": wall, "n_lambda": int(lam.size), "iterations": int(n_iter.sum()),
        "max_iter_hit": int((n_iter >= SKLEARN_MAX_ITER).sum()), "coefs_paths_shape": list(paths.shape),
        "n_train_sizes": sorted({int(tr.size) for tr, _ in folds}),
        "warnings": sorted({f"{w.category.__name__}: {str(w.message)[:100]}" for w in caught}),
    }


def worker_main(tool: str, workdir: Path) -> None:
    cfg = json.loads((workdir / "config.json").read_text())
    fn = worker_sklearn if tool.startswith("sklearn") else worker_classdep
    res = fn(workdir, tool, cfg)
    (workdir / f"result_{tool}.json").write_text(json.dumps(res))


# -- running the tools -----------------------------------------------------------------------------


def run_python_tool(tool: str, workdir: Path, timeout: float | None) -> dict:
    cmd = [sys.executable, str(Path(__file__).resolve()), "--worker", tool, "--workdir", str(workdir)]
    status, elapsed = run_subprocess(cmd, timeout, workdir / f"log_{tool}.txt")
    res = {"status": status, "elapsed": elapsed}
    if status == "ok":
        res.update(json.loads((workdir / f"result_{tool}.json").read_text()))
        with np.load(workdir / f"coef_{tool}.npz") as z:
            res["W"], res["b"] = z["W"], z["b"]
    else:
        res["log_tail"] = (workdir / f"log_{tool}.txt").read_text()[-600:]
    return res


def glmnet_available() -> bool:
    if shutil.which("Rscript") is None:
        return False
    r = subprocess.run(["Rscript", "-e", "suppressPackageStartupMessages(library(glmnet))"],
                       capture_output=True)
    return r.returncode == 0


def run_glmnet(workdir: Path, X, y, foldid, cfg, timeout: float | None, fdev0: bool,
               own_path: bool = False) -> dict:
    n, d = X.shape
    K, peer_grid = cfg["K"], np.asarray(cfg["peer_grid"])
    acc = [int(np.argmin(np.abs(np.log(peer_grid / a)))) + 1 for a in cfg["acc_lambdas"]]
    np.ascontiguousarray(X.T, dtype="<f8").tofile(workdir / "X.bin")  # column-major for R
    y.astype("<i4").tofile(workdir / "y.bin")
    foldid.astype("<i4").tofile(workdir / "foldid.bin")
    peer_grid.astype("<f8").tofile(workdir / "lambda.bin")
    np.asarray(acc, dtype="<i4").tofile(workdir / "acc_index.bin")
    meta = {"n": n, "d": d, "K": K, "L": peer_grid.size, "A": len(acc), "thresh": repr(GLMNET_THRESH),
            "fdev0": int(fdev0), "own_path": int(own_path)}
    (workdir / "glmnet_in.txt").write_text("".join(f"{k} {v}\n" for k, v in meta.items()))
    cmd = ["Rscript", str(HERE / "glmnet_peer.R"), str(workdir)]
    status, elapsed = run_subprocess(cmd, timeout, workdir / "log_glmnet.txt")
    res = {"status": status, "elapsed": elapsed, "n_lambda": int(peer_grid.size)}
    out_path = workdir / "glmnet_out.txt"
    if status != "ok" or not out_path.exists():
        res["status"] = "timeout" if status == "timeout" else "error"
        res["log_tail"] = (workdir / "log_glmnet.txt").read_text()[-600:]
        return res
    for line in out_path.read_text().splitlines():
        key, _, value = line.partition(" ")
        try:
            res[key] = float(value)
        except ValueError:
            res[key] = value
    A = len(acc)
    beta = np.fromfile(workdir / "glmnet_beta.bin", dtype="<f8").reshape(A, K, d)
    res["W"] = np.transpose(beta, (0, 2, 1))
    res["b"] = np.fromfile(workdir / "glmnet_a0.bin", dtype="<f8").reshape(A, K)
    return res


# -- the report ------------------------------------------------------------------------------------


def _fmt_s(x: float) -> str:
    return f"{x:.3g}" if x < 100 else f"{x:.0f}"


def _gaps(res: dict, X0, y0, acc_lambdas, fstar) -> list[float]:
    out = []
    for a, lam in enumerate(acc_lambdas):
        W, b = res["W"][a], res["b"][a]
        out.append(np.nan if not np.isfinite(W).all() else objective(X0, y0, W, b, lam) - fstar[a])
    return out


def _glmnet_verdict(res: dict, gaps: list[float], fstar: list[float]) -> list[str]:
    """Reasons to call a glmnet answer diverged or wrong (empty: valid)."""
    why = []
    for key, what in (("cv_error", "cv.glmnet"), ("fold_error", "glmnet on fold 0")):
        if key in res:
            why.append(f"{what} stopped with an error: {str(res[key]).replace('_', ' ')[:80]}")
    for key in ("full_dev_ratio_min", "fold_dev_ratio_min"):
        if res.get(key, 0.0) < 0:
            why.append(f"%Dev < 0 ({key.split('_')[0]} fit: {res[key]:.3g})")
    if res.get("fold_max_coef_change", 1.0) == 0.0:
        why.append("same coefficients at every lambda (fold 0)")
    if res.get("cvm_finite", 1.0) == 0.0:
        why.append("non-finite CV deviance")
    for key in ("full_jerr", "fold_jerr"):
        if res.get(key, 0.0) != 0:
            why.append(f"{key} = {res[key]:.0f}")
    rel = [g / abs(f) for g, f in zip(gaps, fstar, strict=True)]
    if any(not np.isfinite(r) for r in rel):
        why.append("no solution at some accuracy lambda")
    elif max(rel) > GLMNET_WRONG_REL_GAP:
        why.append(f"relative objective gap {max(rel):.2g} > {GLMNET_WRONG_REL_GAP:g}")
    return why


def report(problem: str, args, X, y, K, foldid, cfg, ref, results: dict, info: dict,
           sklearn_tol: float = SKLEARN_TOL) -> str:
    grid, peer_grid, acc_lambdas = cfg["grid"], cfg["peer_grid"], cfg["acc_lambdas"]
    tr0 = foldid != 1
    X0, y0 = X[tr0], y[tr0]
    n, d = X.shape
    ours = results["classdep"]
    ours_per = ours["wall"] / ours["n_lambda"]
    same = results.get("classdep-subset", ours if len(peer_grid) == len(grid) else None)
    L = []
    L.append(f"## {PROBLEMS[problem]['title']}: n = {n}, d = {d}, K = {K}, {N_FOLDS} stratified folds\n")
    L.append(
        f"classdep: {len(grid)} lambdas, geomspace({grid[0]:.3g}, {grid[-1]:.3g}); peers: a subset of "
        f"{len(peer_grid)} of them ({', '.join(f'{v:.3g}' for v in peer_grid)}).  A *lambda-fit* is one "
        f"lambda x {N_FOLDS} folds.  **Timing ratios compare time per lambda-fit**: peer wall / "
        f"{len(peer_grid)} against classdep wall / {len(grid)} (column `x per-fit`), and, like for like, "
        f"peer wall against classdep on the same {len(peer_grid)}-lambda grid (column `x same grid`).\n"
    )
    hdr = ["tool", "lambdas", "wall s", "per lambda-fit s", "x per-fit", "x same grid"]
    hdr += [f"f - f* @ {lam:.3g}" for lam in acc_lambdas] + ["notes"]
    L.append("| " + " | ".join(hdr) + " |")
    L.append("|" + "---|" * len(hdr))
    order = ["classdep", "classdep-subset", *PEERS]
    labels = {
        "classdep": "classdep fit_path (5 folds batched, default thresh)",
        "classdep-subset": "classdep fit_path, peers' grid",
        "sklearn-newton": f"sklearn LogisticRegressionCV newton-cholesky tol {sklearn_tol:g}",
        "sklearn-lbfgs": f"sklearn LogisticRegressionCV lbfgs tol {sklearn_tol:g}",
        "glmnet": f"R cv.glmnet alpha=0 thresh {GLMNET_THRESH:g}",
    }
    for tool in order:
        if tool not in results:
            continue
        res = results[tool]
        nl = res.get("n_lambda", len(peer_grid))
        notes = list(res.get("notes", []))
        gaps = ["—"] * len(acc_lambdas)
        wall = per = ratio = ratio_same = "—"
        status = res["status"]
        if status == "ok":
            g = _gaps(res, X0, y0, acc_lambdas, ref["fstar"])
            gaps = [f"{v:.1e}" if np.isfinite(v) else "n/a" for v in g]
            verdict = _glmnet_verdict(res, g, ref["fstar"]) if tool == "glmnet" else []
            if verdict:
                wall = "diverged" if any("Dev" in v or "same coef" in v for v in verdict) else "wrong"
                notes.insert(0, f"{'; '.join(verdict)}; took {_fmt_s(res['wall'])} s")
            else:
                wall = _fmt_s(res["wall"])
                per = f"{res['wall'] / nl:.3g}"
                ratio = f"{res['wall'] / nl / ours_per:.3g}"
                if same is not None and nl == len(peer_grid):
                    ratio_same = f"{res['wall'] / same['wall']:.3g}"
            notes += _tool_notes(tool, res)
        elif status == "timeout":
            t = args.peer_timeout
            wall = f"> {t:g}"
            per = f"> {t / nl:.3g}"
            ratio = f"> {t / nl / ours_per:.3g}"
            if same is not None:
                ratio_same = f"> {t / same['wall']:.3g}"
            notes.insert(0, "timed out, killed")
        elif status == "skipped":
            wall = "not run"
        else:
            wall = "failed"
            notes.insert(0, "error: " + " ".join(res.get("log_tail", "").split())[-200:])
        row = [labels[tool], str(nl), wall, per, ratio, ratio_same, *gaps, "; ".join(notes)]
        L.append("| " + " | ".join(row) + " |")
    L.append("")
    L.append(
        "f* on fold 0's training rows (n = {}): {} (reference: classdep solver {}, thresh {:g}, "
        "max |grad| {}; {:.3g} s).".format(
            int(tr0.sum()), ", ".join(f"{f:.12g}" for f in ref["fstar"]), ref["solver"], REF_THRESH,
            ", ".join(f"{g:.1e}" for g in ref["grad"]), ref["wall"],
        )
    )
    if max(ref["grad"]) >= REF_GRAD_OK:
        L.append(f"\n**Warning**: the reference's gradient exceeds {REF_GRAD_OK:g}; gaps below it are noise.")
    L.append("")
    L.append(_work_table(results, len(grid)))
    L.append("### Machine\n")
    for key in ("cpu", "cores", "load", "blas", "versions", "R"):
        if key in info:
            L.append(f"- {key}: {info[key]}")
    L.append(f"- command: `python benchmarks/bench_path.py {' '.join(sys.argv[1:])}`")
    return "\n".join(L) + "\n"


def _tool_notes(tool: str, res: dict) -> list[str]:
    notes = []
    if tool.startswith("classdep"):
        notes.append(res["solver"])
        if not res["converged"]:
            notes.append("NOT all converged")
        if res["separable"]:
            notes.append(f"separable at {res['separable']} lambdas")
    elif tool.startswith("sklearn"):
        notes.append(f"{res['iterations']} iterations (all folds)")
        if res["max_iter_hit"]:
            notes.append(f"max_iter hit {res['max_iter_hit']} times")
        if len(res["n_train_sizes"]) > 1:
            notes.append(f"fold sizes {res['n_train_sizes']}: lambda exact on fold 0 only")
    elif tool == "glmnet":
        notes.append("cv.glmnet also fits the full data (6 paths, not 5)")
        if "full_npasses" in res:
            notes.append(f"full-data fit {res['full_npasses']:.0f} passes")
        if res.get("fold_nlambda", res["n_lambda"]) < res["n_lambda"]:
            notes.append(f"fold 0 path stopped after {res['fold_nlambda']:.0f} lambdas")
        if "cv_warnings" in res:
            notes.append("R warnings: " + str(res["cv_warnings"]).replace("_", " ")[:200])
    skip = ("least populated", "linearly separable")  # the first is --quick's, the second said above
    notes += [w[:100] for w in res.get("warnings", []) if not any(s in w for s in skip)][:2]
    return notes


def _work_table(results: dict, nlambda: int) -> str:
    L = ["### classdep work\n",
         "`products`: matrix products of size n x d x (M K) over all n rows for the M = 5 batched folds "
         "(Work.products); `gradient-equivalents` = M x products, in units of one n x d x K product "
         "(a full gradient, forward and back, is 2 of them).  Newton iterations: batched (max over "
         "folds, summed over lambdas) / per fold (summed over folds and lambdas).\n",
         "| run | lambdas | wall s | Newton its (batched / per-fold) | products | gradient-equivalents "
         "| per lambda | CG its | Hessians |", "|---|---|---|---|---|---|---|---|---|"]
    for tool in ("classdep", "classdep-subset"):
        res = results.get(tool)
        if res is None or res["status"] != "ok":
            continue
        ge = res["members"] * res["products"]
        L.append(
            f"| {tool} | {res['n_lambda']} | {_fmt_s(res['wall'])} | {res['newton_batched']} / "
            f"{res['newton_members']} | {res['products']} | {ge} | {ge / res['n_lambda']:.1f} | "
            f"{res['cg_iterations']} | {res['hessians']} |"
        )
    return "\n".join(L) + "\n"


# -- main ------------------------------------------------------------------------------------------


def run_problem(problem: str, args, info: dict, have_r: bool) -> str:
    out = Path(args.out)
    X, y, K = load_problem(problem, out, args.n_samples)
    foldid = make_folds(y)
    spec = PROBLEMS[problem]
    nlambda = args.nlambda or spec.get("nlambda", 3 if args.quick else 50)
    peer_lambdas = args.peer_lambdas or (nlambda if problem in WIDE else (3 if args.quick else 8))
    if args.lambda_range is None and spec["lambda_range"] is None:
        grid = default_grid(X, y, K, nlambda)
    else:
        lmax, lmin = args.lambda_range or spec["lambda_range"]
        grid = np.geomspace(lmax, lmin, nlambda)
    n_peer = min(peer_lambdas, nlambda)
    peer_grid = grid[np.unique(np.round(np.linspace(0, nlambda - 1, n_peer)).astype(int))]
    acc_idx = sorted({min(1, peer_grid.size - 1), peer_grid.size // 2, peer_grid.size - 1})
    acc_lambdas = peer_grid[acc_idx]
    workdir = out / f"work_{problem}"
    shutil.rmtree(workdir, ignore_errors=True)
    workdir.mkdir(parents=True)
    sklearn_tol = args.sklearn_tol if args.sklearn_tol is not None else spec.get("sklearn_tol", SKLEARN_TOL)
    cfg = {"K": K, "grid": grid.tolist(), "peer_grid": peer_grid.tolist(), "sklearn_tol": sklearn_tol,
           "acc_lambdas": acc_lambdas.tolist()}
    (workdir / "config.json").write_text(json.dumps(cfg))
    np.savez(workdir / "data.npz", X=X, y=y, foldid=foldid)
    print(f"[{problem}] n={X.shape[0]} d={X.shape[1]} K={K}; reference at {acc_lambdas.tolist()}",
          file=sys.stderr, flush=True)
    ref = reference(X[foldid != 1], y[foldid != 1], K, acc_lambdas)

    results = {}
    peers = [p for p in args.peers if p in spec.get("peers", PEERS)]
    tools = ["classdep"] + (["classdep-subset"] if peer_grid.size < grid.size else []) + peers
    for tool in tools:
        print(f"[{problem}] {tool} ...", file=sys.stderr, flush=True)
        timeout = None if tool.startswith("classdep") else args.peer_timeout
        if tool == "sklearn-newton" and (X.shape[1] + 1) * K > NEWTON_CHOLESKY_MAX_DOF:
            dof = (X.shape[1] + 1) * K
            res = {"status": "skipped", "n_lambda": int(peer_grid.size),
                   "notes": [f"not applicable: dense Hessian of {dof}^2 ({dof**2 * 8 / 2**30:.1f} GiB)"]}
        elif tool == "glmnet" and not have_r:
            res = {"status": "skipped", "n_lambda": int(peer_grid.size),
                   "notes": ["Rscript or the glmnet package is missing"]}
        elif tool == "glmnet":
            res = run_glmnet(workdir, X, y, foldid, cfg, timeout, args.glmnet_fdev0)
        else:
            res = run_python_tool(tool, workdir, timeout)
        if res["status"] == "ok":
            print(f"[{problem}] {tool}: {res['wall']:.3g} s", file=sys.stderr, flush=True)
        else:
            print(f"[{problem}] {tool}: {res['status']}", file=sys.stderr, flush=True)
        results[tool] = res
        if tool == "classdep" and res["status"] != "ok":
            raise SystemExit(f"classdep failed:\n{res.get('log_tail', '')}")
    text = report(problem, args, X, y, K, foldid, cfg, ref, results, info, sklearn_tol)
    (out / f"results_{problem}.md").write_text(text)
    if not args.keep_work:
        shutil.rmtree(workdir, ignore_errors=True)
    return text


VALID_REL_GAP = 1e-8  # issue 21: a peer's answer counts if f - f* <= 1e-8 |f*| at every lambda checked


def run_grids(problem: str, args, info: dict, have_r: bool) -> str:
    """The same-run measure: for each grid size, classdep and every peer on the *same* grid.

    Each grid is ``geomspace(MAX, MIN, G)`` over the problem's range; every tool solves all of
    it on the same folds, in this one run.  A peer whose objective gap exceeds
    ``VALID_REL_GAP`` (relative) at any checked lambda is reported, not compared.  With
    ``--peer-folds F < 5`` the Python peers are timed on the first ``F`` folds (fold 0, whose
    gaps are checked, among them) and their wall time is scaled by ``5 / F`` -- said in the
    table; classdep always solves all five.
    """
    out = Path(args.out)
    X, y, K = load_problem(problem, out, args.n_samples)
    foldid = make_folds(y)
    lmax, lmin = args.lambda_range or PROBLEMS[problem]["lambda_range"]
    grids = {G: np.geomspace(lmax, lmin, G) for G in args.grids}
    acc = {G: g[sorted({1, G // 2, G - 1})] for G, g in grids.items()}
    union = np.unique(np.concatenate(list(acc.values())))[::-1]
    tr0 = foldid != 1
    print(f"[{problem}] grids {list(grids)}; reference at {len(union)} lambdas", file=sys.stderr, flush=True)
    ref_all = reference(X[tr0], y[tr0], K, union)
    fstar = dict(zip(union.tolist(), ref_all["fstar"], strict=True))
    workdir = out / f"work_{problem}"
    shutil.rmtree(workdir, ignore_errors=True)
    workdir.mkdir(parents=True)
    np.savez(workdir / "data.npz", X=X, y=y, foldid=foldid)
    sklearn_tol = args.sklearn_tol if args.sklearn_tol is not None else SKLEARN_TOL
    peers = [p for p in args.peers if p in PEERS]
    F = args.peer_folds
    rows = []
    for G, grid in grids.items():
        cfg = {"K": K, "grid": grid.tolist(), "peer_grid": grid.tolist(), "sklearn_tol": sklearn_tol,
               "acc_lambdas": acc[G].tolist(), "peer_folds": F}
        (workdir / "config.json").write_text(json.dumps(cfg))
        fs = [fstar[v] for v in acc[G].tolist()]
        ours = None
        for tool in ["classdep", *peers]:
            print(f"[{problem}] {G} lambdas: {tool} ...", file=sys.stderr, flush=True)
            timeout = None if tool == "classdep" else args.peer_timeout
            notes, scale = [], 1.0
            if tool == "sklearn-newton" and (X.shape[1] + 1) * K > NEWTON_CHOLESKY_MAX_DOF:
                rows.append((G, tool, "not run", "—", "—", "dense Hessian does not fit"))
                continue
            if tool == "glmnet":
                if not have_r:
                    rows.append((G, tool, "not run", "—", "—", "Rscript or glmnet missing"))
                    continue
                if args.glmnet_max_grid is not None and G > args.glmnet_max_grid:
                    rows.append((G, tool, "not run", "—", "—", f"--glmnet-max-grid {args.glmnet_max_grid}"))
                    continue
                res = run_glmnet(workdir, X, y, foldid, cfg, timeout, args.glmnet_fdev0,
                                 own_path=True)
                notes.append(f"own path start: {res.get('lead_in', 0):.0f} lambdas from its "
                             "lambda_max, timed; cv.glmnet also fits the full data")
            else:
                res = run_python_tool(tool, workdir, timeout)
                if tool.startswith("sklearn") and F < N_FOLDS:
                    scale = N_FOLDS / F
                    timed = _fmt_s(res.get("wall", 0))
                    notes.append(f"{F} of {N_FOLDS} folds timed ({timed} s), x {scale:g}")
            if res["status"] != "ok":
                tail = " ".join(res.get("log_tail", "").split())[-120:]
                rows.append((G, tool, res["status"], "—", "—", tail))
                continue
            g = _gaps(res, X[tr0], y[tr0], acc[G], fs)
            rel = max(abs(v) / abs(f) if np.isfinite(v) else np.inf for v, f in zip(g, fs, strict=True))
            wall = res["wall"] * scale
            valid = rel <= VALID_REL_GAP
            if tool == "glmnet":
                verdict = _glmnet_verdict(res, g, fs)
                valid = valid and not verdict
                notes = verdict + notes
            elif tool.startswith("sklearn"):
                notes.append(f"{res['iterations']} iterations")
            else:
                ours = wall
                notes.append(f"{res['newton_batched']} Newton its, {res['products']} products, "
                             f"{res['cg_iterations']} CG its")
            ratio = "1" if tool == "classdep" else (f"**{wall / ours:.3g}**" if valid else "not valid")
            print(f"[{problem}] {G} lambdas: {tool} {wall:.4g} s, gap {rel:.1e}", file=sys.stderr, flush=True)
            rows.append((G, tool, _fmt_s(wall), ratio, f"{rel:.1e}", "; ".join(notes)))
    labels = {"classdep": "classdep fit_path (5 folds batched)",
              "sklearn-newton": f"sklearn newton-cholesky tol {sklearn_tol:g}",
              "sklearn-lbfgs": f"sklearn lbfgs tol {sklearn_tol:g}",
              "glmnet": f"R cv.glmnet thresh {GLMNET_THRESH:g}"}
    n, d = X.shape
    title = PROBLEMS[problem]["title"]
    L = [f"## {title}: n = {n}, d = {d}, K = {K}, {N_FOLDS} folds, same grid, same run\n",
         f"Grids `geomspace({lmax:g}, {lmin:g}, G)`.  `x` = tool wall / classdep wall on the same grid; "
         f"`max rel gap` = max over 3 lambdas of (f - f*) / |f*| on fold 0's training rows "
         f"(valid: <= {VALID_REL_GAP:g}).\n",
         "| lambdas | tool | wall s | x classdep | max rel gap | notes |", "|---|---|---|---|---|---|"]
    L += [f"| {G} | {labels[t]} | {w} | {r} | {gap} | {nt} |" for G, t, w, r, gap, nt in rows]
    L.append(f"\nReference: classdep solver {ref_all['solver']}, thresh {REF_THRESH:g}, max |grad| "
             f"{max(ref_all['grad']):.1e}, {ref_all['wall']:.3g} s.\n")
    L.append("### Machine\n")
    for key in ("cpu", "cores", "load", "blas", "versions", "R"):
        if key in info:
            L.append(f"- {key}: {info[key]}")
    L.append(f"- command: `python benchmarks/bench_path.py {' '.join(sys.argv[1:])}`")
    text = "\n".join(L) + "\n"
    (out / f"results_{problem}_grids.md").write_text(text)
    if not args.keep_work:
        shutil.rmtree(workdir, ignore_errors=True)
    return text


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--problem", choices=("fashion", "synthetic", "both", *WIDE, "wide"), default="both",
                   help="'both': fashion and synthetic; 'wide': wide50 and wide2048")
    p.add_argument("--nlambda", type=int, default=None,
                   help="classdep's grid size (default 50, 5 for wide50, 20 for wide2048; 3 with --quick)")
    p.add_argument("--peer-lambdas", type=int, default=None,
                   help="peers run on this many lambdas taken evenly from the grid "
                   "(default 8, every lambda on the wide problems; 3 with --quick)")
    p.add_argument("--peers", default=",".join(PEERS),
                   help=f"comma-separated subset of {','.join(PEERS)}, or 'none'")
    p.add_argument("--peer-timeout", type=float, default=None,
                   help="seconds per peer before it is killed (default 7200; 60 with --quick)")
    p.add_argument("--quick", action="store_true",
                   help="smoke test: a stratified subsample of 2000 samples, 3 lambdas, peer timeout 60 s")
    p.add_argument("--n-samples", type=int, default=None, help="stratified subsample size (default: all)")
    p.add_argument("--lambda-range", type=float, nargs=2, metavar=("MAX", "MIN"), default=None,
                   help="override the problem's geomspace(MAX, MIN, nlambda) grid")
    p.add_argument("--sklearn-tol", type=float, default=None,
                   help=f"scikit-learn's tol (default {SKLEARN_TOL:g}, 1e-8 on the wide problems; its "
                   "objective gap at 1e-6 can exceed 1e-8)")
    p.add_argument("--glmnet-fdev0", action="store_true",
                   help="glmnet.control(fdev=0): stop glmnet from ending the path early")
    p.add_argument("--out", default=str(HERE / "out"), help="cache and results folder")
    p.add_argument("--keep-work", action="store_true", help="keep out/work_<problem>/ (data, logs)")
    p.add_argument("--grids", default=None,
                   help="comma-separated grid sizes (e.g. 8,20,50): the same-run measure, every tool on "
                   "each same grid (fashion and synthetic)")
    p.add_argument("--peer-folds", type=int, default=N_FOLDS,
                   help="with --grids: time the Python peers on this many of the 5 folds and scale")
    p.add_argument("--glmnet-max-grid", type=int, default=None,
                   help="with --grids: run R glmnet only on grids of at most this many lambdas")
    p.add_argument("--worker", help=argparse.SUPPRESS)
    p.add_argument("--workdir", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.quick:
        args.n_samples = args.n_samples or 2000
    args.peer_timeout = args.peer_timeout or (60.0 if args.quick else 7200.0)
    args.peers = [] if args.peers == "none" else [s.strip() for s in args.peers.split(",") if s.strip()]
    args.grids = None if args.grids is None else [int(v) for v in args.grids.split(",")]
    if not 1 <= args.peer_folds <= N_FOLDS:
        p.error(f"--peer-folds must be between 1 and {N_FOLDS}")
    bad = set(args.peers) - set(PEERS)
    if bad:
        p.error(f"unknown peers {sorted(bad)}; choose from {','.join(PEERS)}")
    return args


def main(argv=None) -> None:
    args = parse_args(argv)
    if args.worker:
        worker_main(args.worker, Path(args.workdir))
        return
    Path(args.out).mkdir(parents=True, exist_ok=True)
    have_r = "glmnet" in args.peers and glmnet_available()
    import sklearn

    classdep = _import_classdep()
    info = machine_info({"scikit-learn": sklearn.__version__, "classdep": classdep.__version__},
                        with_r=have_r)
    problems = {"both": ("fashion", "synthetic"), "wide": WIDE}.get(args.problem, (args.problem,))
    for problem in problems:
        if args.grids and problem not in WIDE:
            print(run_grids(problem, args, info, have_r), flush=True)
        else:
            print(run_problem(problem, args, info, have_r), flush=True)


if __name__ == "__main__":
    main()
