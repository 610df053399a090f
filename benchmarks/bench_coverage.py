#!/usr/bin/env python
"""Coverage of the bootstrap intervals for every class's optimal lambda (issue 5, "Validation").

A simulation whose true per-class optima are known.  One Gaussian mixture
(:func:`classdep.datasets.make_mixture`, 4 classes, 60 features, separation 3, noise
standard deviations ``linspace(1.0, 1.6, 4)``: the noisier a class, the more
regularization it wants) gives ``--sets`` disjoint training sets of 1200 samples (300 per
class) and one independent, balanced test sample of ``--n-test`` samples.

On each training set: ``cv_glmnet(nfolds=5)`` on 25 lambdas over four decades
(``geomspace(1, 1e-4, 25)``), then, from the same out-of-fold losses, with ``--R``
replicates each:

* ``grid-perc``: ``boot(cv, estimator="grid")``, percentile interval of the grid argmin;
* ``grid-bca``: the same replicates, ``boot_ci(type="bca")`` (warns: atoms);
* ``smooth-perc`` / ``smooth-bca``: ``boot(cv, estimator="smooth")`` (continuous minimizer
  of a local quadratic in log lambda), percentile and BCa intervals;
* ``moon-perc``: ``boot(cv, estimator="moon")`` (m-out-of-n, m = n^0.7, rescaled);
* ``confset``: ``confset(cv)``, the grid lambdas not rejected as the optimum; its "width"
  is the span from its smallest to its largest kept lambda.

Truth: the argmin of the population curve averaged over training sets, the optimum that
inference on a grid argmin targets (Hall & Miller 2009, arXiv:0911.3749; Lei 2020,
arXiv:1703.07904).  Each training set's full-data path is fitted on a grid twice as fine
(49 lambdas, containing the 25) and its per-class test deviance (per test sample) is
averaged over the training sets.  The *grid* optimum of class ``c`` is the argmin of that
average over the 25 grid lambdas (the target of the grid argmin, the m-out-of-n bootstrap
and the confidence set); the *continuous* optimum is the vertex of a quadratic in log
lambda through its argmin on the fine grid and two fine points either side (the target of
the smoothed estimator).  As a diagnostic, the same is done for paths fitted on 4/5 of each
training set (fold 0's training rows): the optimum at the size of the sets cross-validation
actually trains on.

Coverage is counted per class and pooled; its Monte-Carlo standard error is
``sqrt(p (1 - p) / N)`` (N = sets per class, or sets x classes pooled).  Widths are in
decades of lambda (``log10(upper / lower)``).

Also timed (skip with ``--no-speed``): ``boot(oof, R=2000)`` on synthetic out-of-fold
losses of 60000 samples x 50 lambdas x 10 classes (target: under 2 seconds).

Run from the repository root (the study was run under ``nice -n 19`` with
``OPENBLAS_NUM_THREADS=1``)::

    python benchmarks/bench_coverage.py --sets 400 --R 300 --workers 2 --time-limit 18  # the study
    python benchmarks/bench_coverage.py --quick                                         # smoke test
    python benchmarks/bench_coverage.py --from-raw benchmarks/out/coverage_raw.npz     # report again

``--time-limit`` stops after the sets finished within that many minutes (the first ones, in
order); the recorded study (benchmarks/RESULTS.md) finished all 400 sets in 13.4 minutes on two cores.

The tables go to stdout and ``benchmarks/out/coverage.md``; per-set results to
``benchmarks/out/coverage_raw.npz``.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import sys
import time
import warnings
from pathlib import Path

import numpy as np
from machine import machine_info  # benchmarks/machine.py, beside this script

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(REPO))

import classdep as cd  # noqa: E402
from classdep.analysis.bootstrap import BootWarning  # noqa: E402
from classdep.datasets import select_split  # noqa: E402

K = 4
N_PER_CLASS = 300
N_FEATURES = 60
SEPARATION = 3.0
NOISE = np.linspace(1.0, 1.6, K)
NFOLDS = 5
GRID = np.geomspace(1.0, 1e-4, 25)
REFINE = 2
FINE = np.geomspace(1.0, 1e-4, REFINE * (GRID.size - 1) + 1)  # FINE[::REFINE] == GRID
LEVELS = (0.90, 0.95)
METHODS = {  # name: (estimator, interval type, target truth, description)
    "grid-perc": ("grid", "perc", "grid", "grid argmin, percentile"),
    "grid-bca": ("grid", "bca", "grid", "grid argmin, BCa"),
    "smooth-perc": ("smooth", "perc", "cont", "smoothed minimizer, percentile"),
    "smooth-bca": ("smooth", "bca", "cont", "smoothed minimizer, BCa (extra)"),
    "moon-perc": ("moon", "perc", "grid", "m-out-of-n (m = n^0.7), percentile"),
    "confset": (None, None, "grid", "confidence set (Lei 2020), span of kept lambdas"),
}

_DATA: dict = {}  # filled before the workers fork


def make_data(sets: int, n_test: int, seed: int) -> dict:
    """One mixture: ``sets`` disjoint training sets of N_PER_CLASS per class, one test sample."""
    ds = cd.datasets.make_mixture(n_classes=K, n_features=N_FEATURES, n_samples=K * N_PER_CLASS * sets,
                                  noise=NOISE, separation=SEPARATION, n_test=n_test, seed=seed)
    tr, te = select_split(ds, "train"), select_split(ds, "test")
    X, y = tr["X"].values, tr["y"].values.astype(np.int64)
    rows = [np.flatnonzero(y == k) for k in range(K)]
    Xte, yte = te["X"].values, te["y"].values.astype(np.int64)
    half = np.zeros(yte.size, dtype=bool)
    for k in range(K):  # two halves of the test sample, each balanced, for a stability check
        idx = np.flatnonzero(yte == k)
        half[idx[: idx.size // 2]] = True
    return dict(X=X, y=y, rows=rows, Xte=Xte, yte=yte, half=half, seed=seed)


def test_curves(fit, Xte, yte, half) -> np.ndarray:
    """Per-class mean test deviance (2, L, K) on the two halves of the test sample.

    ``2 mean(-log p(y | x))`` over each class's test samples, from the path's coefficients
    (what :func:`classdep.assess` reports as ``deviance / n``, without its other metrics).
    """
    W, b = fit.path["coef"].values, fit.path["intercept"].values  # (L, K, d), (L, K)
    L = W.shape[0]
    Wf, bf = W.reshape(L * K, -1).T, b.reshape(-1)
    grp = np.where(half, 0, K) + yte  # (half, class) of every test sample
    onehot = np.zeros((yte.size, 2 * K))
    onehot[np.arange(yte.size), grp] = 1.0
    out = np.zeros((2 * K, L))
    for a in range(0, yte.size, 4096):
        Z = (Xte[a:a + 4096] @ Wf + bf).reshape(-1, L, K)
        zmax = Z.max(axis=-1, keepdims=True)
        lse = np.log(np.exp(Z - zmax).sum(axis=-1)) + zmax[..., 0]
        nll = lse - np.take_along_axis(Z, yte[a:a + 4096, None, None], axis=-1)[..., 0]  # (rows, L)
        out += onehot[a:a + 4096].T @ nll
    cnt = onehot.sum(axis=0)
    return 2.0 * (out / cnt[:, None]).reshape(2, K, L).transpose(0, 2, 1)


def check_test_curves(fit, Xte, yte, half) -> None:
    """test_curves agrees with classdep.assess (run in --quick)."""
    got = test_curves(fit, Xte, yte, half)
    for i, h in enumerate((half, ~half)):
        a = cd.assess(fit, Xte[h], yte[h])
        np.testing.assert_allclose(got[i], a["deviance"].values / a["n"].values, rtol=1e-8)


def one_set(s: int, R: int) -> dict:
    """Everything measured on training set ``s``."""
    d = _DATA
    idx = np.sort(np.concatenate([r[N_PER_CLASS * s:N_PER_CLASS * (s + 1)] for r in d["rows"]]))
    X, y = d["X"][idx], d["y"][idx]
    ss = np.random.SeedSequence([d["seed"], s])
    seeds = [int(c.generate_state(1)[0]) for c in ss.spawn(4)]
    out: dict = {}
    t0 = time.perf_counter()
    cv = cd.cv_glmnet(X, y, nfolds=NFOLDS, lambda_=GRID, seed=seeds[0], progress=False)
    t1 = time.perf_counter()
    out["t_cv"] = t1 - t0
    # the truth's ingredients: the full-data path and a 4/5 path on the fine grid, on the test sample
    out["curve_full"] = test_curves(cd.glmnet(X, y, lambda_=FINE), d["Xte"], d["yte"], d["half"])
    keep = cv.foldid != 0
    fit_fold = cd.glmnet(X[keep], y[keep], lambda_=FINE)
    out["curve_fold"] = test_curves(fit_fold, d["Xte"], d["yte"], d["half"])
    if d.get("check") and s == 0:
        check_test_curves(fit_fold, d["Xte"], d["yte"], d["half"])
    t2 = time.perf_counter()
    out["t_truth"] = t2 - t1
    lo = np.full((len(METHODS), len(LEVELS), K), np.nan)
    hi = np.full_like(lo, np.nan)
    names = list(METHODS)
    atoms = np.zeros((len(METHODS), len(LEVELS)), dtype=bool)
    other = np.zeros((len(METHODS), len(LEVELS)), dtype=np.int64)
    boots = {}
    for est, sd in (("grid", seeds[1]), ("smooth", seeds[1]), ("moon", seeds[2])):
        boots[est] = cd.boot(cv, R=R, estimator=est, seed=sd)
    for m, (est, typ, _, _) in enumerate(METHODS.values()):
        if est is None:
            continue
        for i, conf in enumerate(LEVELS):
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                ci = cd.boot_ci(boots[est], conf=conf, type=typ).ci.values
            lo[m, i], hi[m, i] = np.log10(ci[:, 0]), np.log10(ci[:, 1])
            for w in caught:
                if issubclass(w.category, BootWarning) and "atoms" in str(w.message):
                    atoms[m, i] = True
                else:
                    other[m, i] += 1
    cs = cd.confset(cv, alpha=0.1, R=R, seed=seeds[3])
    p = cs["pvalue"].values  # (K, L): kept at level conf where p > 1 - conf
    mc = names.index("confset")
    for i, conf in enumerate(LEVELS):
        kept = p > 1.0 - conf
        lam = np.where(kept, GRID, np.nan)
        lo[mc, i], hi[mc, i] = np.log10(np.nanmin(lam, axis=1)), np.log10(np.nanmax(lam, axis=1))
    out["t_boot"] = time.perf_counter() - t2
    out.update(lo=lo, hi=hi, pvalue=p, atoms=atoms, other_warnings=other,
               est_grid=np.log10(boots["grid"].t0.values), est_smooth=np.log10(boots["smooth"].t0.values),
               sd_smooth=np.log10(boots["smooth"].t.values).std(axis=0, ddof=1))
    return out


def _init(data: dict) -> None:
    _DATA.update(data)


def _run(args: tuple[int, int]) -> dict:
    return one_set(*args)


# -- truth and coverage ------------------------------------------------------------------------------


def quad_vertex(curve: np.ndarray, loglam: np.ndarray, half: int = 2) -> float:
    """Vertex (log10 lambda) of the quadratic through the argmin and ``half`` points either side."""
    j = int(np.argmin(curve))
    sl = slice(max(0, j - half), min(curve.size, j + half + 1))
    c2, c1, _ = np.polyfit(loglam[sl], curve[sl], 2)
    v = -c1 / (2 * c2) if c2 > 0 else loglam[j]
    return float(np.clip(v, loglam[sl].min(), loglam[sl].max()))


def truth(curves: np.ndarray) -> dict:
    """Grid and continuous optima (log10) of the average of per-set curves (sets, L_fine, K)."""
    avg = curves.mean(axis=0)
    coarse = avg[::REFINE]
    jg = coarse.argmin(axis=0)
    lf = np.log10(FINE)
    return dict(grid=np.log10(GRID[jg]), index=jg,
                cont=np.array([quad_vertex(avg[:, k], lf) for k in range(K)]), avg=avg)


def coverage(res: dict, tr: dict) -> dict:
    """Per-method, per-level coverage (per class) of its target truth and mean width in decades."""
    names = list(METHODS)
    lo, hi = res["lo"], res["hi"]  # (sets, M, levels, K)
    out = {}
    eps = 1e-9
    for m, (name, (_, _, target, _)) in enumerate(METHODS.items()):
        for i, conf in enumerate(LEVELS):
            covers = {}
            for t in ("grid", "cont"):
                x = tr[t][None, :]
                if name == "confset" and t == "grid":
                    c = res["pvalue"][:, np.arange(K), tr["index"]] > 1.0 - conf
                else:
                    c = (lo[:, m, i] <= x + eps) & (x - eps <= hi[:, m, i])
                covers[t] = c  # NaN bounds compare False: a failed interval does not cover
            x = tr[target][None, :]
            # the side of a miss (for confset: outside the span of its kept lambdas)
            below, above = (x < lo[:, m, i] - eps), (x > hi[:, m, i] + eps)
            width = hi[:, m, i] - lo[:, m, i]
            out[name, conf] = dict(cover=covers[target], cover_other=covers["cont" if target == "grid"
                                                                              else "grid"],
                                   width=width, nan=int(np.isnan(width).sum()), target=target,
                                   below=float(below.mean()), above=float(above.mean()),
                                   atoms=float(res["atoms"][:, m, i].mean()),
                                   index=names.index(name))
    return out


def verdict(p: float, p_cls: np.ndarray, conf: float, n_sets: int) -> str:
    """At nominal within sampling error, or not (pooled within 2 MCSE, every class within 3)."""
    se_pool = np.sqrt(conf * (1 - conf) / (n_sets * K))
    se_cls = np.sqrt(conf * (1 - conf) / n_sets)
    if p < conf - 2 * se_pool or (p_cls < conf - 3 * se_cls).any():
        return "**under-covers**"
    if p > conf + 2 * se_pool:
        return "over-covers"
    return "at nominal"


# -- the speed benchmark ------------------------------------------------------------------------------


def speed(n: int = 60000, L: int = 50, n_classes: int = 10, R: int = 2000, repeats: int = 3) -> list[dict]:
    import xarray as xr

    rng = np.random.default_rng(0)
    y = np.repeat(np.arange(n_classes), n // n_classes)
    lam = np.geomspace(1e-1, 1e-5, L)
    x = np.log(lam)[:, None]
    x0 = rng.uniform(np.log(1e-4), np.log(1e-2), n_classes)[y]
    loss = 0.05 * (x - x0) ** 2 + rng.exponential(0.5, y.size) + rng.normal(0, 0.01, (L, y.size))
    oof = xr.Dataset({"loss": (("lambda", "sample"), np.abs(loss)), "y": ("sample", y),
                      "weight": ("sample", np.ones(y.size))},
                     coords={"lambda": lam, "class": np.arange(n_classes)})
    rows = []
    for est in ("grid", "smooth", "moon"):
        ts = []
        for r in range(repeats):
            t = time.perf_counter()
            cd.boot(oof, R=R, estimator=est, seed=r)
            ts.append(time.perf_counter() - t)
        rows.append(dict(what=f'boot(oof, R={R}, estimator="{est}")', best=min(ts),
                         median=float(np.median(ts)), n=n, L=L, K=n_classes, repeats=repeats))
    return rows


# -- the report ---------------------------------------------------------------------------------------


def report(res: dict, args, wall: float, info: dict, speed_rows: list[dict] | None) -> str:
    n = res["lo"].shape[0]
    tr = truth(res["curve_full"].sum(axis=1) / 2)  # both test halves (equal sizes)
    trf = truth(res["curve_fold"].sum(axis=1) / 2)
    cov = coverage(res, tr)
    cov_f = coverage(res, trf)
    L = []
    L.append(f"Coverage study: {n} training sets of {K * N_PER_CLASS} samples ({N_PER_CLASS} per class; "
             f"make_mixture(n_classes={K}, n_features={N_FEATURES}, separation={SEPARATION:g}, "
             f"noise=linspace({NOISE[0]:g}, {NOISE[-1]:g}, {K}), seed={args.seed})), "
             f"cv_glmnet(nfolds={NFOLDS}) on {GRID.size} lambdas geomspace(1, 1e-4) "
             f"({np.log10(GRID[0] / GRID[1]):.3f} decades apart), R = {args.R} out-of-fold replicates, "
             f"truth from a test sample of {args.n_test}.")
    L.append("")
    L.append("Coverage of the true optimum (its target: `grid` = argmin of the population curve over "
             "the 25 grid lambdas, `cont` = its continuous minimizer); all classes pooled "
             f"(N = {n * K}) ± Monte-Carlo SE sqrt(p(1-p)/N); per class N = {n} "
             f"(SE {np.sqrt(0.9 * 0.1 / n):.3f} at 0.90, {np.sqrt(0.95 * 0.05 / n):.3f} at 0.95). "
             "Width: mean log10(upper/lower), decades.")
    L.append("")
    head = ["method", "target", "level", "coverage (pooled)", *[f"class {k}" for k in range(K)],
            "truth below / above it", "covers other truth", "covers 4/5-size truth", "mean width", "verdict"]
    L.append("| " + " | ".join(head) + " |")
    L.append("|" + "|".join("---" for _ in head) + "|")
    for conf in LEVELS:
        for name in METHODS:
            c = cov[name, conf]
            p_cls = c["cover"].mean(axis=0)
            p = float(c["cover"].mean())
            se = np.sqrt(p * (1 - p) / (n * K))
            w = np.nanmean(c["width"])
            row = [name, c["target"], f"{conf:.2f}", f"{p:.3f} ± {se:.3f}", *[f"{v:.3f}" for v in p_cls],
                   f"{c['below']:.3f} / {c['above']:.3f}", f"{c['cover_other'].mean():.3f}",
                   f"{cov_f[name, conf]['cover'].mean():.3f}", f"{w:.3f}", verdict(p, p_cls, conf, n)]
            L.append("| " + " | ".join(row) + " |")
    L.append("")
    L.append("Verdict: `at nominal` when the pooled coverage is within 2 Monte-Carlo SE of the level and "
             "every class within 3; `truth below / above it`: the misses, by side (pooled; nominally "
             "(1 - level) / 2 each); `covers other truth`: coverage of the other target (continuous for "
             "grid methods, grid for the smoothed); `covers 4/5-size truth`: coverage of the target "
             "computed from paths fitted on 4/5 of each training set "
             f"({(NFOLDS - 1) * K * N_PER_CLASS // NFOLDS} samples, the size cross-validation trains on).")
    L.append("")
    # diagnostics per class
    L.append("Per class (log10 lambda): the truth, the estimates' mean and spread over the training sets, "
             "and the bootstrap's own spread.")
    L.append("")
    head = ["class", "noise sd", "truth grid", "truth cont", "4/5-size cont", "mean grid argmin",
            "mean smoothed", "sd smoothed (sets)", "mean boot sd (smoothed)", "truth halves (cont)"]
    L.append("| " + " | ".join(head) + " |")
    L.append("|" + "|".join("---" for _ in head) + "|")
    # stability of the truth: from each half of the test sample, and from each half of the sets
    tA = truth(res["curve_full"][:, 0])["cont"]
    tB = truth(res["curve_full"][:, 1])["cont"]
    h = n // 2
    s1 = truth(res["curve_full"][:h].sum(axis=1) / 2)["cont"]
    s2 = truth(res["curve_full"][h:].sum(axis=1) / 2)["cont"]
    for k in range(K):
        row = [str(k), f"{NOISE[k]:.2f}", f"{tr['grid'][k]:.3f}", f"{tr['cont'][k]:.3f}",
               f"{trf['cont'][k]:.3f}",
               f"{res['est_grid'][:, k].mean():.3f}", f"{res['est_smooth'][:, k].mean():.3f}",
               f"{res['est_smooth'][:, k].std(ddof=1):.3f}", f"{res['sd_smooth'][:, k].mean():.3f}",
               f"test {tA[k]:.3f} / {tB[k]:.3f}; sets {s1[k]:.3f} / {s2[k]:.3f}"]
        L.append("| " + " | ".join(row) + " |")
    L.append("")
    ga = cov["grid-perc", LEVELS[0]]["atoms"]
    ba = cov["grid-bca", LEVELS[0]]["atoms"]
    sa = cov["smooth-perc", LEVELS[0]]["atoms"]
    nan_bca = cov["grid-bca", LEVELS[0]]["nan"] + cov["grid-bca", LEVELS[1]]["nan"]
    other = res["other_warnings"].sum(axis=0)
    names = list(METHODS)
    L.append(f"Warnings (suppressed during the run, counted): BootWarning 'atoms' in {100 * ga:.0f}% of the "
             f"sets for grid-perc, {100 * ba:.0f}% for grid-bca, {100 * sa:.0f}% for smooth-perc; "
             f"{nan_bca} NaN grid-BCa intervals (counted as not covering); other warnings: "
             + ", ".join(f"{nm} {int(other[names.index(nm)].sum())}" for nm in names if nm != "confset")
             + ".")
    L.append("")
    L.append(f"Cost per training set (mean): cross-validation {res['t_cv'].mean():.2f} s, truth paths and "
             f"test scoring {res['t_truth'].mean():.2f} s, all bootstraps and the confidence set "
             f"{res['t_boot'].mean():.2f} s; wall {wall / 60:.1f} min with {args.workers} worker(s).")
    if speed_rows:
        L.append("")
        sp = speed_rows[0]
        L.append(f"Speed: synthetic out-of-fold losses, {sp['n']} samples x {sp['L']} lambdas x "
                 f"{sp['K']} classes (best and median of {sp['repeats']} runs):")
        L.append("")
        L.append("| call | best (s) | median (s) |")
        L.append("|---|---|---|")
        for r in speed_rows:
            L.append(f"| `{r['what']}` | {r['best']:.2f} | {r['median']:.2f} |")
    L.append("")
    L.append("Machine: " + "; ".join(f"{k}: {v}" for k, v in info.items()))
    L.append("")
    L.append(f"Command: `{args.command}`")
    return "\n".join(L)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sets", type=int, default=400, help="simulated training sets (default 400)")
    ap.add_argument("--R", type=int, default=300, help="bootstrap replicates per interval (default 300)")
    ap.add_argument("--seed", type=int, default=0, help="seed of the mixture and of every set's draws")
    ap.add_argument("--n-test", type=int, default=50000, help="size of the test sample (default 50000)")
    ap.add_argument("--workers", type=int, default=1, help="processes (default 1)")
    ap.add_argument("--time-limit", type=float, default=None,
                    help="minutes: stop after the sets finished by then (the first ones, in order)")
    ap.add_argument("--no-speed", action="store_true", help="skip the R=2000 timing")
    ap.add_argument("--quick", action="store_true", help="smoke test: 6 sets, R=60, 4000 test samples, "
                    "a small timing")
    ap.add_argument("--out", type=Path, default=HERE / "out" / "coverage.md")
    ap.add_argument("--from-raw", type=Path, default=None,
                    help="rewrite the report from a saved coverage_raw.npz (no simulation, no timing)")
    args = ap.parse_args(argv)
    given = sys.argv[1:] if argv is None else list(argv)
    args.command = " ".join(["python", "benchmarks/bench_coverage.py", *given])
    if "OPENBLAS_NUM_THREADS" in os.environ:
        args.command = f"OPENBLAS_NUM_THREADS={os.environ['OPENBLAS_NUM_THREADS']} " + args.command
    if args.quick:
        args.sets, args.R, args.n_test = 6, 60, 4000
    import xarray

    info = machine_info({"xarray": xarray.__version__, "classdep": cd.__version__})
    raw = args.out.with_name(args.out.stem + "_raw.npz")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    speed_rows = None
    if args.from_raw is not None:
        with np.load(args.from_raw) as z:
            res = {k: z[k] for k in z.files}
        wall = float(res["wall"])
        args.sets, args.R, args.n_test = res["lo"].shape[0], int(res["R"]), int(res["n_test"])
        args.seed, args.workers, args.command = int(res["seed"]), int(res["workers"]), str(res["command"])
        info = json.loads(str(res["machine"]))
        speed_rows = json.loads(str(res["speed"])) if "speed" in res else None
    else:
        t0 = time.perf_counter()
        data = make_data(args.sets, args.n_test, args.seed)
        data["check"] = args.quick
        jobs = [(s, args.R) for s in range(args.sets)]
        per = []
        limit = t0 + 60 * args.time_limit if args.time_limit else np.inf
        if args.workers > 1:
            with mp.get_context("fork").Pool(args.workers, initializer=_init, initargs=(data,)) as pool:
                for r in pool.imap(_run, jobs, chunksize=1):  # in set order: a prefix of the sets
                    per.append(r)
                    if time.perf_counter() > limit:
                        pool.terminate()
                        break
        else:
            _init(data)
            for j in jobs:
                per.append(_run(j))
                if time.perf_counter() > limit:
                    break
        wall = time.perf_counter() - t0
        if len(per) < args.sets:
            print(f"time limit: {len(per)} of {args.sets} sets done", file=sys.stderr)
        res = {k: np.stack([np.asarray(p[k]) for p in per]) for k in per[0]}
        meta = dict(grid=GRID, fine=FINE, wall=wall, R=args.R, n_test=args.n_test, seed=args.seed,
                    workers=args.workers, command=args.command, machine=json.dumps(info))
        np.savez_compressed(raw, **res, **meta)  # saved before the report is written
        if not args.no_speed:
            speed_rows = speed(n=6000, R=200, repeats=1) if args.quick else speed()
            np.savez_compressed(raw, **res, **meta, speed=json.dumps(speed_rows))
    text = report(res, args, wall, info, speed_rows)
    print(text)
    args.out.write_text(text + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
