#!/usr/bin/env python
"""The cost curve (issue 21 item 3): wall time and peak memory as n, d and K grow.

Design: one factor at a time around a base cell (n = 10^4, d = 128, K = 10), plus corners.

* ``n`` axis: n in {10^4, 3·10^4, 10^5} at d = 128, K = 10;
* ``d`` axis: d in {64, 128, 256, 1024, 2048} at n = 10^4, K = 10;
* ``K`` axis: K in {10, 100, 1000} at n = 10^4, d = 128;
* ``corners`` (optional): two factors large at once, where they fit in memory.

Each cell is ``make_mixture(n_classes=K, n_features=d, n_samples=n, seed=0)`` (balanced
classes, the default noise), one training set (all rows, no folds), and the objective
``mean NLL + lambda/2 ||W||^2`` (intercepts unpenalized) on a fixed grid of 5 lambdas,
``geomspace(1e-1, 1e-4)``, the same for every cell and tool.

Tools, each in a fresh subprocess per cell (its peak memory is the process's peak resident
set, ``VmHWM``, reset just before the timed fit; an untimed warm-up fit on a few hundred rows
comes first), stopped once the timed fit has run ``--budget`` seconds:

* classdep: ``fit_path(X, y, K, lambdas=grid)`` at the default tolerance, instrumented
  (wrappers on the solver's functions, exclusive time) to say where the time goes:
  matrix products (their flops counted from the shapes, by dtype and direction),
  elementwise passes over the (n, K) arrays (the bytes they must stream, counted per call),
  the preconditioner (its formation and its application) and the rest;
* scikit-learn ``LogisticRegression`` lbfgs (``tol=1e-8``) and newton-cholesky (``tol=1e-8``,
  where its dense ((d+1)K)^2 Hessian is at most 8000^2), warm-started along the same grid
  (``warm_start=True``, ``C = 1 / (n lambda)``, one fit per lambda in a loop).

Validity: every tool's objective ``f`` is evaluated by this script at every lambda from the
coefficients it returns; ``f*`` is the smallest over the tools (and over a tight classdep
solve, ``thresh=1e-13``, with ``--reference``).  A peer counts when it finished every lambda
in its budget with ``max (f - f*) / |f*| <= 1e-8``; the fastest such peer is reported
beside classdep.

Floors, measured on this machine in each run: the GEMM rate on each cell's own shapes
(``X @ W`` and ``X.T @ R``, float64 and float32, best of several) and the memory bandwidth
of a large NumPy copy.  The floor of a cell is ``sum over products (flops / GEMM rate)`` plus
``elementwise bytes / bandwidth``; ``wall / floor`` says how far classdep is from the time
its own counted work would take at the machine's rates (the preconditioner's own work and
everything else are not in the floor, so they show in the ratio).

Run from the repository root::

    python benchmarks/bench_cost.py                     # the axes: 9 cells
    python benchmarks/bench_cost.py --cells all         # the axes and the corners
    python benchmarks/bench_cost.py --cells 10000x128x10,100000x128x100 --budget 600
    python benchmarks/bench_cost.py --quick             # smoke test, tiny cells, ~1 minute

Results go to stdout, ``benchmarks/out/results_cost.md`` and ``benchmarks/out/results_cost.json``.
"""

from __future__ import annotations

import argparse
import functools
import gc
import inspect
import json
import os
import resource
import shutil
import signal
import sys
import time
import warnings
from collections import defaultdict
from pathlib import Path

import numpy as np
from machine import machine_info  # benchmarks/machine.py, beside this script
from runner import run_subprocess  # benchmarks/runner.py

HERE = Path(__file__).resolve().parent
REPO = HERE.parent

BASE = (10_000, 128, 10)
AXES = {
    "n": [(n, 128, 10) for n in (10_000, 30_000, 100_000)],
    "d": [(10_000, d, 10) for d in (64, 128, 256, 1024, 2048)],
    "K": [(10_000, 128, K) for K in (10, 100, 1000)],
}
# Two factors large at once; X and the (n, K) arrays stay under ~2 GB each (24 GiB machine).
CORNERS = [(100_000, 1024, 10), (100_000, 128, 100), (10_000, 1024, 100), (10_000, 2048, 1000)]
QUICK_AXES = {
    "n": [(n, 16, 4) for n in (1000, 2000, 4000)],
    "d": [(1000, d, 4) for d in (8, 16, 32)],
    "K": [(1000, 16, K) for K in (4, 8, 16)],
}
QUICK_CORNERS = [(4000, 32, 16)]

LAMBDAS = (1e-1, 1e-4)
NLAMBDA = 5
PEERS = ("lbfgs", "newton-cholesky")
SKLEARN_TOL = 1e-8
SKLEARN_MAX_ITER = {"lbfgs": 100_000, "newton-cholesky": 1000}
# scikit-learn's newton-cholesky forms the dense ((d+1)K)^2 Hessian; beyond this it is no peer
# (the limit bench_path.py uses: 8000^2 float64 is 0.5 GB, and its Cholesky 1.7e11 flops).
NEWTON_CHOLESKY_MAX_DOF = 8000
VALID_REL_GAP = 1e-8
REF_THRESH = 1e-13


def cell_name(cell) -> str:
    n, d, K = cell
    return f"{n}x{d}x{K}"


def _import_classdep():
    if str(REPO) not in sys.path:
        sys.path.insert(0, str(REPO))
    import classdep

    return classdep


def _status_bytes(key: str) -> int | None:
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith(key + ":"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return None


def reset_peak() -> int:
    """Reset this process's peak resident set to its current one (Linux: ``clear_refs`` 5) and
    return the resident set now; where that is not possible, the peak so far."""
    try:
        with open("/proc/self/clear_refs", "w") as fh:
            fh.write("5")
        return _status_bytes("VmRSS")
    except OSError:
        return peak_bytes()


def peak_bytes() -> int:
    """This process's peak resident set since :func:`reset_peak`: ``VmHWM``, or ``ru_maxrss``
    (which on Linux also counts the parent's pages at the fork that started this process)."""
    hwm = _status_bytes("VmHWM")
    return hwm if hwm is not None else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def warm_up_rows(n: int, K: int) -> int:
    """Rows of the untimed warm-up fit (lazy imports, BLAS threads, first-call set-up)."""
    return min(n, max(500, 2 * K))


# -- the objective, computed independently of every tool -------------------------------------------


def objective(X, y, W, b, lam) -> float:
    """``mean NLL + lam/2 ||W||^2`` for coefficients ``W`` (d, K) and intercepts ``b`` (K,)."""
    Z = X @ W + b
    zmax = Z.max(axis=1, keepdims=True)
    lse = zmax[:, 0] + np.log(np.exp(Z - zmax).sum(axis=1))
    return float(np.mean(lse - Z[np.arange(y.size), y]) + 0.5 * lam * np.sum(W * W))


# -- the machine's rates ---------------------------------------------------------------------------


def _best_time(fn, min_total: float = 0.3, max_reps: int = 20) -> float:
    fn()  # warm-up (page faults, BLAS threads)
    best, total, reps = np.inf, 0.0, 0
    while reps < 3 or (total < min_total and reps < max_reps):
        t0 = time.perf_counter()
        fn()
        dt = time.perf_counter() - t0
        best, total, reps = min(best, dt), total + dt, reps + 1
    return best


def memory_bandwidth(nbytes: int) -> float:
    """Bytes per second of a large NumPy copy (read + write counted), best of several."""
    a = np.ones(nbytes // 16)
    b = np.empty_like(a)
    t = _best_time(lambda: np.copyto(b, a), min_total=1.0)
    return 2 * a.nbytes / t


def gemm_rates(n: int, d: int, K: int) -> dict:
    """Flops per second of ``X @ W`` (n,d)(d,K) and ``X.T @ R`` (d,n)(n,K), float64 and float32."""
    rng = np.random.default_rng(0)
    out = {}
    for dt, tag in ((np.float64, "64"), (np.float32, "32")):
        X = rng.standard_normal((n, d)).astype(dt)
        W = rng.standard_normal((d, K)).astype(dt)
        R = rng.standard_normal((n, K)).astype(dt)
        flops = 2.0 * n * d * K
        out[f"fwd{tag}"] = flops / _best_time(lambda X=X, W=W: X @ W)
        out[f"bwd{tag}"] = flops / _best_time(lambda X=X, R=R: X.T @ R)
        del X, W, R
    return out


# -- workers: each tool runs in its own process ----------------------------------------------------


class _Profile:
    """Exclusive time per category: a category's clock stops while a nested one runs."""

    def __init__(self):
        self.time = defaultdict(float)
        self.calls = defaultdict(int)
        self.count = defaultdict(float)  # flops by dtype/direction, elementwise bytes
        self.stack: list[str] = []
        self.last = 0.0

    def enter(self, cat: str) -> None:
        now = time.perf_counter()
        if self.stack:
            self.time[self.stack[-1]] += now - self.last
        self.stack.append(cat)
        self.calls[cat] += 1
        self.last = now

    def exit(self) -> None:
        now = time.perf_counter()
        self.time[self.stack.pop()] += now - self.last
        self.last = now


def _instrument(prof: _Profile) -> None:
    """Wrap the solver's functions so that ``prof`` times them by category and counts their work.

    Categories: ``products`` (``Problem.matmul_x`` / ``matmul_xt``: every matrix product with
    X), ``elementwise`` (loss, probabilities, gradient residuals, Hessian-vector products'
    elementwise part, moving the logits), ``precond_form`` (choosing, forming and factoring a
    preconditioner or exact Hessian), ``precond_apply`` (its solves).  Time in none of them is
    the rest (CG's vector updates, the line search's loop, set-up, copying out).
    """
    _import_classdep()
    import classdep.solvers.path  # noqa: F401  (imports every solver module)
    from classdep.solvers import class_blocks, hessian, kronecker, newton_cg, schedule
    from classdep.solvers import objective as obj
    from classdep.solvers.problem import Problem

    def wrap(fn, cat, count=None):
        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            if count is not None:
                count(*args, **kwargs)
            prof.enter(cat)
            try:
                return fn(*args, **kwargs)
            finally:
                prof.exit()
        return wrapper

    def replace_everywhere(orig, new):
        for name, mod in list(sys.modules.items()):
            if name.startswith("classdep") and mod is not None:
                for k, v in list(vars(mod).items()):
                    if v is orig:
                        setattr(mod, k, new)

    def flops(direction):
        def count(self, A):
            # matmul_x: A = V (d, M, K); matmul_xt: A = R (rows, M, K); X is (rows, d)
            rows, d = self.X.shape
            cols = A.shape[1] * A.shape[2]
            tag = "32" if self.X.dtype == np.float32 else "64"
            prof.count[f"flops_{direction}{tag}"] += 2.0 * rows * d * cols
        return count

    Problem.matmul_x = wrap(Problem.matmul_x, "products", flops("fwd"))
    Problem.matmul_xt = wrap(Problem.matmul_xt, "products", flops("bwd"))

    # The bytes an elementwise call must stream at the least (its (n, M, K) inputs read and its
    # outputs written once; what stays in a row tile's cache is not counted again).
    sig_eval = inspect.signature(obj.evaluate)

    def count_evaluate(*args, **kwargs):
        a = sig_eval.bind(*args, **kwargs)
        a.apply_defaults()
        Z = a.arguments["Z"]
        passes = 1 + (a.arguments["along"] is not None)  # read Z (and X S)
        if a.arguments["grad"] or a.arguments["probs"]:
            passes += 1  # write P
        prof.count["elementwise_bytes"] += passes * Z.nbytes

    def count_moved(prob, Z, ZS, t):
        prof.count["elementwise_bytes"] += 3 * Z.nbytes  # read Z, X S; write Z + t X S

    def count_hessp(prob, P, V, vb):
        prof.count["elementwise_bytes"] += P.nbytes  # read P (dZ and R stay in the tile)

    for fn, count in ((obj.evaluate, count_evaluate), (obj.moved, count_moved),
                      (obj.hessp, count_hessp), (obj.logits, None)):
        replace_everywhere(fn, wrap(fn, "elementwise", count))
    newton_cg.HessianProducts.__call__ = wrap(newton_cg.HessianProducts.__call__, "elementwise")

    schedule.PreconditionerSchedule.__call__ = wrap(schedule.PreconditionerSchedule.__call__,
                                                   "precond_form")
    replace_everywhere(kronecker.feature_basis, wrap(kronecker.feature_basis, "precond_form"))
    for cls in (kronecker.KroneckerFactor, hessian.HessianFactor, class_blocks.ClassBlockFactor):
        cls.__init__ = wrap(cls.__init__, "precond_form")
        cls.solve = wrap(cls.solve, "precond_apply")
        if hasattr(cls, "at_penalty"):
            cls.at_penalty = wrap(cls.at_penalty, "precond_form")


def _load(workdir: Path):
    X = np.load(workdir / "X.npy")
    y = np.load(workdir / "y.npy")
    return X, y


def worker_classdep(workdir: Path, tool: str, cfg: dict) -> dict:
    _import_classdep()
    from classdep.solvers.path import fit_path

    prof = _Profile()
    if tool == "classdep":
        _instrument(prof)
    X, y = _load(workdir)
    grid = np.asarray(cfg["grid"])
    options = {"thresh": REF_THRESH, "maxit": 500} if tool == "reference" else {}
    m = warm_up_rows(y.size, cfg["K"])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            fit_path(X[:m], y[:m], cfg["K"], lambdas=grid[:1], **options)
        except Exception as exc:  # a warm-up only: the timed fit says what is wrong
            print(f"warm-up failed: {exc!r}", file=sys.stderr)
    prof.__init__()  # the warm-up's time and counts are not the cell's
    gc.collect()
    rss0 = reset_peak()
    start_budget(cfg["budget"] if tool == "classdep" else None)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        t0 = time.perf_counter()
        fit = fit_path(X, y, cfg["K"], lambdas=grid, **options)
        wall = time.perf_counter() - t0
    rss1 = peak_bytes()
    np.savez(workdir / f"coef_{tool}.npz", W=fit.coef[:, :, 0, :], b=fit.intercept[:, 0, :])
    timed = {k: float(v) for k, v in prof.time.items()}
    overhead = 0.0
    if tool == "classdep":  # what the wrappers themselves cost: one timed no-op call each
        probe = _Profile()
        t1 = time.perf_counter()
        for _ in range(10_000):
            probe.enter("x")
            probe.exit()
        overhead = (time.perf_counter() - t1) / 10_000 * sum(prof.calls.values())
    return {
        "wall": wall, "rss_before": rss0, "rss_peak": rss1, "solver": fit.solver, "route": fit.route,
        "newton": int(fit.niter.sum()), "products": float(sum(w.products for w in fit.work)),
        "cg_iterations": int(sum(w.cg_iterations for w in fit.work)),
        "formations": int(sum(w.hessians for w in fit.work)),
        "converged": bool(fit.converged.all()), "separable": int(fit.separable.any(axis=1).sum()),
        "max_grad": float(fit.grad_norm.max()),
        "time": timed, "calls": dict(prof.calls), "count": dict(prof.count), "overhead": overhead,
        "warnings": sorted({str(w.message)[:120] for w in caught}),
    }


def worker_sklearn(workdir: Path, tool: str, cfg: dict) -> dict:
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.linear_model import LogisticRegression

    X, y = _load(workdir)
    n, d = X.shape
    grid = np.asarray(cfg["grid"])
    def make():
        return LogisticRegression(C=1.0, solver=tool, tol=SKLEARN_TOL, max_iter=SKLEARN_MAX_ITER[tool],
                                  warm_start=True)

    m = warm_up_rows(n, cfg["K"])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            make().set_params(C=1.0 / (m * grid[0])).fit(X[:m], y[:m])
        except Exception as exc:  # a warm-up only: the timed fits say what is wrong
            print(f"warm-up failed: {exc!r}", file=sys.stderr)
    est = make()
    gc.collect()
    rss0 = reset_peak()
    start_budget(cfg["budget"])
    W = np.full((grid.size, d, cfg["K"]), np.nan)
    b = np.full((grid.size, cfg["K"]), np.nan)
    laps, iters, notes = [], [], set()
    t0 = time.perf_counter()
    for j, lam in enumerate(grid):
        est.set_params(C=1.0 / (n * lam))
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            est.fit(X, y)
        laps.append(time.perf_counter() - t0)
        iters.append(int(np.max(est.n_iter_)))
        notes |= {f"{w.category.__name__}: {str(w.message)[:80]}" for w in caught
                  if issubclass(w.category, ConvergenceWarning)}
        coef, icpt = est.coef_, est.intercept_
        if coef.shape[0] == 1:  # two classes: scikit-learn's one logit, as two symmetric ones
            coef, icpt = np.vstack([-coef / 2, coef / 2]), np.concatenate([-icpt / 2, icpt / 2])
        W[j], b[j] = coef.T, icpt
        # progress, read back when the budget kills this process
        (workdir / f"progress_{tool}.json").write_text(json.dumps({"laps": laps, "iterations": iters}))
    wall = time.perf_counter() - t0
    rss1 = peak_bytes()
    np.savez(workdir / f"coef_{tool}.npz", W=W, b=b)
    return {"wall": wall, "rss_before": rss0, "rss_peak": rss1, "laps": laps, "iterations": iters,
            "max_iter_hit": int(sum(i >= SKLEARN_MAX_ITER[tool] for i in iters)),
            "warnings": sorted(notes)}


BUDGET_EXIT = 124  # a worker's exit status when its budget ran out
# The parent kills a worker this long after its budget (imports, data, warm-up, a long BLAS call).
GRACE_S = 120.0


def start_budget(budget: float | None) -> None:
    """Exit with :data:`BUDGET_EXIT` once ``budget`` seconds of the timed fit have passed."""
    if budget:
        signal.signal(signal.SIGALRM, lambda *_: os._exit(BUDGET_EXIT))
        signal.setitimer(signal.ITIMER_REAL, budget)


def worker_main(tool: str, workdir: Path) -> None:
    cfg = json.loads((workdir / "config.json").read_text())
    fn = worker_sklearn if tool in PEERS else worker_classdep
    res = fn(workdir, tool, cfg)
    (workdir / f"result_{tool}.json").write_text(json.dumps(res))


# -- running the tools -----------------------------------------------------------------------------


def run_tool(tool: str, workdir: Path, timeout: float | None) -> dict:
    cmd = [sys.executable, str(Path(__file__).resolve()), "--worker", tool, "--workdir", str(workdir)]
    status, elapsed = run_subprocess(cmd, None if timeout is None else timeout + GRACE_S,
                                     workdir / f"log_{tool}.txt", budget_exit=BUDGET_EXIT)
    res = {"status": status, "elapsed": elapsed}
    if status == "ok":
        res.update(json.loads((workdir / f"result_{tool}.json").read_text()))
        with np.load(workdir / f"coef_{tool}.npz") as z:
            res["W"], res["b"] = z["W"], z["b"]
    else:
        res["log_tail"] = (workdir / f"log_{tool}.txt").read_text()[-600:]
        progress = workdir / f"progress_{tool}.json"
        if progress.exists():
            res["progress"] = json.loads(progress.read_text())
    return res


def run_cell(cell, args, bandwidth: float) -> dict:
    n, d, K = cell
    name = cell_name(cell)
    workdir = Path(args.out) / f"work_cost_{name}"
    shutil.rmtree(workdir, ignore_errors=True)
    workdir.mkdir(parents=True)
    classdep = _import_classdep()
    ds = classdep.datasets.make_mixture(n_classes=K, n_features=d, n_samples=n, seed=0)
    np.save(workdir / "X.npy", np.ascontiguousarray(ds["X"].values, dtype=np.float64))
    np.save(workdir / "y.npy", np.asarray(ds["y"].values, dtype=np.int64))
    del ds
    grid = np.geomspace(args.lambda_range[0], args.lambda_range[1], args.nlambda)
    (workdir / "config.json").write_text(json.dumps({"K": K, "grid": grid.tolist(), "budget": args.budget}))
    print(f"[{name}] GEMM rates ...", file=sys.stderr, flush=True)
    rates = gemm_rates(n, d, K)
    out = {"cell": list(cell), "grid": grid.tolist(), "rates": rates, "bandwidth": bandwidth, "tools": {}}
    tools = ["classdep"] + (["reference"] if args.reference else []) + list(args.peers)
    for tool in tools:
        if tool == "newton-cholesky" and (d + 1) * K > NEWTON_CHOLESKY_MAX_DOF:
            dof = (d + 1) * K
            out["tools"][tool] = {"status": "skipped",
                                  "why": f"dense Hessian {dof}^2 ({dof**2 * 8 / 2**30:.1f} GiB)"}
            continue
        print(f"[{name}] {tool} ...", file=sys.stderr, flush=True)
        res = run_tool(tool, workdir, None if tool == "reference" else args.budget)
        print(f"[{name}] {tool}: " + (f"{res['wall']:.3g} s" if res["status"] == "ok" else res["status"]),
              file=sys.stderr, flush=True)
        out["tools"][tool] = res
    # every tool's objective at every lambda, by this script
    X, y = _load(workdir)
    for res in out["tools"].values():
        if res["status"] == "ok":
            res["f"] = [objective(X, y, res["W"][j], res["b"][j], lam) if np.isfinite(res["W"][j]).all()
                        else np.nan for j, lam in enumerate(grid)]
            del res["W"], res["b"]
    fs = [r["f"] for r in out["tools"].values() if "f" in r]
    fstar = np.nanmin(np.array(fs), axis=0) if fs else np.full(grid.size, np.nan)
    out["fstar"] = fstar.tolist()
    for res in out["tools"].values():
        if "f" in res:
            res["rel_gap"] = float(np.max((np.array(res["f"]) - fstar) / np.abs(fstar)))
    if not args.keep_work:
        shutil.rmtree(workdir, ignore_errors=True)
    return out


# -- the report ------------------------------------------------------------------------------------


def _s(x: float) -> str:
    return f"{x:.3g}" if x < 100 else f"{x:.0f}"


def _slope(x: float) -> str:
    return f"{x:.2f}" if np.isfinite(x) else "—"


def _mib(b: float) -> str:
    return f"{b / 2**20:.0f}"


def best_peer(cell: dict):
    """(tool, result) of the fastest valid peer, or (None, None)."""
    ok = [(r["wall"], t) for t, r in cell["tools"].items()
          if t in PEERS and r["status"] == "ok" and r.get("rel_gap", np.inf) <= VALID_REL_GAP]
    if not ok:
        return None, None
    _, tool = min(ok)
    return tool, cell["tools"][tool]


def floor_parts(cell: dict) -> dict:
    """Floor seconds of classdep's counted work at the machine's measured rates."""
    res, rates = cell["tools"]["classdep"], cell["rates"]
    c = res["count"]
    prod = sum(c.get(f"flops_{k}", 0.0) / rates[k] for k in rates)
    elem = c.get("elementwise_bytes", 0.0) / cell["bandwidth"]
    return {"products": prod, "elementwise": elem, "total": prod + elem}


def _peer_cell(res: dict | None, budget: float, grid_size: int) -> str:
    if res is None:
        return "—"
    if res["status"] == "ok":
        return _s(res["wall"])
    if res["status"] == "timeout":
        done = len(res.get("progress", {}).get("laps", []))
        return f"> {budget:g} ({done}/{grid_size} lambdas)"
    if res["status"] == "skipped":
        return "n/a"
    return "failed"


def slopes(cells: list[dict], axes: dict) -> list[dict]:
    """Log-log slopes of wall time and memory along each axis, per tool with >= 2 points."""
    by_cell = {tuple(c["cell"]): c for c in cells}
    rows = []
    for axis, members in axes.items():
        i = "ndK".index(axis)
        present = [by_cell[m] for m in members if m in by_cell]
        for tool in ("classdep", *PEERS):
            pts = []
            for c in present:
                r = c["tools"].get(tool)
                if r is None or r["status"] != "ok":
                    continue
                if tool in PEERS and r.get("rel_gap", np.inf) > VALID_REL_GAP:
                    continue
                pts.append((c["cell"][i], r["wall"], r["rss_peak"], r["rss_peak"] - r["rss_before"]))
            if len(pts) < 2:
                continue
            a = np.array(pts, dtype=float)
            fit = [float(np.polyfit(np.log(a[:, 0]), np.log(a[:, j]), 1)[0]) if (a[:, j] > 0).all()
                   else np.nan for j in (1, 2, 3)]
            rows.append({"axis": axis, "tool": tool, "points": len(pts),
                         "range": f"{int(min(p[0] for p in pts))}–{int(max(p[0] for p in pts))}",
                         "time": fit[0], "peak": fit[1], "fit_memory": fit[2]})
    return rows


def report(cells: list[dict], args, info: dict, axes: dict) -> str:
    L = []
    grid = cells[0]["grid"] if cells else []
    L.append("## The cost curve: wall time and peak memory as n, d and K grow\n")
    L.append(
        f"Cells: `make_mixture(n_classes=K, n_features=d, n_samples=n, seed=0)`, all rows one training "
        f"set, {len(grid)} lambdas `geomspace({args.lambda_range[0]:g}, {args.lambda_range[1]:g})`; "
        f"each tool in a fresh process, stopped once its timed fit has run {args.budget:g} s (after an "
        f"untimed warm-up fit on a few hundred rows).  classdep: `fit_path` at the "
        f"default tolerance.  Peers: scikit-learn `LogisticRegression` ({', '.join(args.peers) or 'none'}; "
        f"tol {SKLEARN_TOL:g}) warm-started along the grid; newton-cholesky only where (d+1)K <= "
        f"{NEWTON_CHOLESKY_MAX_DOF}.  Peak: the process's peak resident set during the timed fit "
        f"(`VmHWM`, reset before it; data and interpreter included); fit: that peak above the resident "
        f"set just before the fit.  `gap`: max over the "
        f"grid of (f - f*) / |f*|, f* the least objective any tool reached"
        f"{' (a classdep solve at thresh 1e-13 included)' if args.reference else ''}; a peer counts "
        f"when its gap <= {VALID_REL_GAP:g}.\n")
    hdr = ["n", "d", "K", "classdep s", "peak MiB", "fit MiB", "gap", "fastest valid peer", "peer s",
           "peak MiB", "fit MiB", "gap", "peer / classdep", "other peer s"]
    L.append("| " + " | ".join(hdr) + " |")
    L.append("|" + "---|" * len(hdr))
    for c in cells:
        n, d, K = c["cell"]
        ours = c["tools"]["classdep"]
        row = [str(n), str(d), str(K)]
        if ours["status"] == "ok":
            row += [_s(ours["wall"]), _mib(ours["rss_peak"]), _mib(ours["rss_peak"] - ours["rss_before"]),
                    f"{ours['rel_gap']:.1e}"]
        else:
            row += [f"> {args.budget:g}" if ours["status"] == "timeout" else "failed", "—", "—", "—"]
        tool, peer = best_peer(c)
        others = []
        for t in PEERS:
            r = c["tools"].get(t)
            if r is None or t == tool:
                continue
            txt = _peer_cell(r, args.budget, len(c["grid"]))
            if r["status"] == "ok" and r.get("rel_gap", np.inf) > VALID_REL_GAP:
                txt += f" (gap {r['rel_gap']:.1e}: not valid)"
            if r["status"] == "skipped":
                txt += f" ({r['why']})"
            others.append(f"{t} {txt}")
        if peer is not None:
            ratio = (f"{peer['wall'] / ours['wall']:.3g}" if ours["status"] == "ok"
                     else f"< {peer['wall'] / args.budget:.3g}" if ours["status"] == "timeout" else "—")
            row += [tool, _s(peer["wall"]), _mib(peer["rss_peak"]),
                    _mib(peer["rss_peak"] - peer["rss_before"]), f"{peer['rel_gap']:.1e}", ratio]
        else:
            timeouts = [c["tools"][t] for t in PEERS if c["tools"].get(t, {}).get("status") == "timeout"]
            if timeouts and ours["status"] == "ok":
                ratio = f"> {args.budget / ours['wall']:.3g}"
            else:
                ratio = "—"
            row += ["none valid in budget", "—", "—", "—", "—", ratio]
        row.append("; ".join(others) or "—")
        L.append("| " + " | ".join(row) + " |")
    L.append("")

    L.append("### Measured exponents (log-log slopes)\n")
    L.append("Least-squares slope of log(wall time), log(peak) and log(fit memory) against log(n), log(d) "
             "or log(K) along each axis, the other two at the base cell's values; a tool's points are its "
             "cells that finished (peers: valid) in the budget.\n")
    L.append("| axis | tool | points | range | time exponent | peak exponent | fit-memory exponent |")
    L.append("|---|---|---|---|---|---|---|")
    for r in slopes(cells, axes):
        L.append(f"| {r['axis']} | {r['tool']} | {r['points']} | {r['range']} | {_slope(r['time'])} | "
                 f"{_slope(r['peak'])} | {_slope(r['fit_memory'])} |")
    L.append("")

    L.append("### Where classdep's time goes, against the machine's floor\n")
    L.append(
        "Exclusive seconds by category (wrappers around the solver's functions): `products` every "
        "`X @ V` and `X.T @ R`; `elementwise` the loss, probabilities, residuals, the elementwise part "
        "of Hessian-vector products and moving the logits; `precond form / apply` choosing, forming "
        "and factoring the preconditioner (or the exact Newton Hessian) and its solves; `rest` the "
        "wall time outside them (CG's vector updates, set-up, copying out).  Floors: counted product "
        "flops / the GEMM rate measured on the cell's shapes (by dtype and direction), and the bytes the "
        "elementwise calls must stream at the least (each (n, K) input read once, each output written "
        "once) / the measured copy bandwidth.  `floor` = product floor + elementwise floor; "
        "`wall / floor` how far the run is from its own counted work at the machine's rates.\n")
    hdr = ["n", "d", "K", "solver", "Newton its", "products", "CG its", "formations", "GEMM GF/s f64 / f32",
           "products s (floor)", "elementwise s (floor)", "precond form s", "precond apply s", "rest s",
           "floor s", "wall / floor"]
    L.append("| " + " | ".join(hdr) + " |")
    L.append("|" + "---|" * len(hdr))
    for c in cells:
        r = c["tools"]["classdep"]
        if r["status"] != "ok":
            continue
        n, d, K = c["cell"]
        t, fl = r["time"], floor_parts(c)
        rates = c["rates"]
        g64 = (rates["fwd64"] + rates["bwd64"]) / 2e9
        g32 = (rates["fwd32"] + rates["bwd32"]) / 2e9
        rest = r["wall"] - sum(t.values())
        L.append(
            f"| {n} | {d} | {K} | {r['solver']} | {r['newton']} | {r['products']:.0f} | "
            f"{r['cg_iterations']} | {r['formations']} | {g64:.0f} / {g32:.0f} | "
            f"{_s(t.get('products', 0))} ({_s(fl['products'])}) | "
            f"{_s(t.get('elementwise', 0))} ({_s(fl['elementwise'])}) | {_s(t.get('precond_form', 0))} | "
            f"{_s(t.get('precond_apply', 0))} | {_s(max(rest, 0.0))} | {_s(fl['total'])} | "
            f"{r['wall'] / fl['total']:.1f} |")
    L.append("")
    notes = []
    for c in cells:
        r = c["tools"]["classdep"]
        name = cell_name(c["cell"])
        if r["status"] == "ok":
            if not r["converged"]:
                notes.append(f"{name}: classdep NOT converged at every lambda")
            if r["separable"]:
                notes.append(f"{name}: training data separable at {r['separable']} lambdas")
            if r["rel_gap"] > VALID_REL_GAP:
                notes.append(f"{name}: classdep's gap {r['rel_gap']:.1e} exceeds {VALID_REL_GAP:g}")
            notes += [f"{name}: classdep warned: {w}" for w in r["warnings"][:2]]
            if r["overhead"] > 0.01 * r["wall"]:
                notes.append(f"{name}: the timing wrappers cost about {r['overhead']:.2g} s of classdep's "
                             f"{r['wall']:.3g} s ({sum(r['calls'].values())} calls)")
        elif r["status"] == "error":
            notes.append(f"{name}: classdep {r['status']}: {' '.join(r.get('log_tail', '').split())[-200:]}")
        for t in PEERS:
            p = c["tools"].get(t)
            if p is None:
                continue
            if p["status"] == "error":
                notes.append(f"{name}: {t} failed: {' '.join(p.get('log_tail', '').split())[-200:]}")
            elif p["status"] == "ok":
                notes += [f"{name}: {t}: {w}" for w in p["warnings"][:1]]
                if p["max_iter_hit"]:
                    notes.append(f"{name}: {t} hit max_iter at {p['max_iter_hit']} lambdas")
    for s in args.skipped:
        notes.append(s)
    if notes:
        L.append("Notes:\n")
        L += [f"- {s}" for s in notes]
        L.append("")
    L.append("### Machine\n")
    for key in ("cpu", "cores", "load", "blas", "versions"):
        if key in info:
            L.append(f"- {key}: {info[key]}")
    if cells:
        L.append(f"- memory bandwidth (NumPy copy, read + write): {cells[0]['bandwidth'] / 1e9:.1f} GB/s")
    L.append(f"- load at the end: {'{:.2f} {:.2f} {:.2f}'.format(*os.getloadavg())}")
    L.append(f"- command: `python benchmarks/bench_cost.py {' '.join(sys.argv[1:])}`")
    return "\n".join(L) + "\n"


# -- main ------------------------------------------------------------------------------------------


def parse_cells(spec: str, quick: bool) -> tuple[list, list[str]]:
    axes = QUICK_AXES if quick else AXES
    corners = QUICK_CORNERS if quick else CORNERS
    axis_cells = [c for cs in axes.values() for c in cs]
    out = []
    for part in (s.strip() for s in spec.split(",") if s.strip()):
        if part == "axes":
            out += axis_cells
        elif part == "corners":
            out += corners
        elif part == "all":
            out += axis_cells + corners
        elif part in ("n", "d", "K"):
            out += axes[part]
        else:
            try:
                n, d, K = (int(float(v)) for v in part.split("x"))
            except ValueError:
                raise SystemExit(f"--cells: {part!r} is not axes, corners, all, n, d, K or NxDxK") from None
            out.append((n, d, K))
    seen, cells = set(), []
    for c in out:
        if c not in seen:
            seen.add(c)
            cells.append(c)
    return cells, []


def memory_estimate(cell) -> float:
    """Rough bytes one tool needs on the cell: X, a float32 copy, a dozen (n, K) arrays, the
    (d+1)K Hessian where newton-cholesky runs."""
    n, d, K = cell
    dof = (d + 1) * K
    return 8 * n * d * 1.5 + 12 * 8 * n * K + (8 * dof * dof if dof <= NEWTON_CHOLESKY_MAX_DOF else 0)


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--quick", action="store_true", help="smoke test on tiny cells (n <= 4000), budget 60 s")
    p.add_argument("--budget", type=float, default=None,
                   help="seconds per tool and cell before its process is killed "
                   "(default 240; 60 with --quick)")
    p.add_argument("--cells", default="axes",
                   help="comma-separated: axes (default), corners, all, n, d, K, or cells NxDxK "
                   "(e.g. 10000x128x10)")
    p.add_argument("--peers", default=",".join(PEERS), help=f"subset of {','.join(PEERS)}, or 'none'")
    p.add_argument("--nlambda", type=int, default=NLAMBDA)
    p.add_argument("--lambda-range", type=float, nargs=2, metavar=("MAX", "MIN"), default=LAMBDAS)
    p.add_argument("--reference", action="store_true",
                   help=f"also a classdep solve at thresh {REF_THRESH:g} per cell (untimed, no budget) "
                   "for f*")
    p.add_argument("--memory-limit", type=float, default=20.0,
                   help="GiB: cells whose rough estimate exceeds it are skipped and said so (default 20)")
    p.add_argument("--out", default=str(HERE / "out"), help="results folder")
    p.add_argument("--keep-work", action="store_true", help="keep out/work_cost_<cell>/ (data, logs)")
    p.add_argument("--worker", help=argparse.SUPPRESS)
    p.add_argument("--workdir", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    args.budget = args.budget or (60.0 if args.quick else 240.0)
    args.peers = [] if args.peers == "none" else [s.strip() for s in args.peers.split(",") if s.strip()]
    bad = set(args.peers) - set(PEERS)
    if bad:
        p.error(f"unknown peers {sorted(bad)}; choose from {','.join(PEERS)}")
    return args


def main(argv=None) -> None:
    args = parse_args(argv)
    if args.worker:
        worker_main(args.worker, Path(args.workdir))
        return
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    cells, args.skipped = parse_cells(args.cells, args.quick)
    fits = []
    for c in cells:
        need = memory_estimate(c)
        if need > args.memory_limit * 2**30:
            args.skipped.append(f"{cell_name(c)} not run: a rough {need / 2**30:.1f} GiB per tool exceeds "
                                f"--memory-limit {args.memory_limit:g} GiB")
        else:
            fits.append(c)
    import sklearn

    classdep = _import_classdep()
    info = machine_info({"scikit-learn": sklearn.__version__, "classdep": classdep.__version__})
    print("measuring memory bandwidth ...", file=sys.stderr, flush=True)
    bandwidth = memory_bandwidth(2**26 if args.quick else 2**29)
    results = []
    text = report(results, args, info, QUICK_AXES if args.quick else AXES)
    for c in fits:
        results.append(run_cell(c, args, bandwidth))
        # written after every cell: a long run that is stopped keeps what it measured
        text = report(results, args, info, QUICK_AXES if args.quick else AXES)
        (out / "results_cost.md").write_text(text)
        (out / "results_cost.json").write_text(json.dumps(
            {"info": info, "args": sys.argv[1:], "cells": results}, default=float, indent=1))
    print(text, flush=True)


if __name__ == "__main__":
    main()
