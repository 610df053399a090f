#!/usr/bin/env python
"""Coverage of the default bootstrap interval for every class's optimal lambda (issue 18, item 6).

The question: does ``boot_ci(boot(h), conf=0.9)`` -- the defaults of both, on held-out
samples ``h = assess(fit, x_val, y_val)`` -- contain each class's true optimal lambda nine
times in ten?  Asked on three designs, at 20 and 50 lambdas, for the deviance and for the
one-vs-all accuracy, with the truth known exactly.

Designs (:func:`classdep.datasets.make_mixture`'s population: 4 classes, 60 features,
separation 3, noise standard deviations ``linspace(1.0, 1.6, 4)``; training and validation
samples of 1200 each, drawn from the same class proportions):

* ``balanced``: equal classes; grid ``geomspace(10, 1e-3)`` (all optima inside);
* ``imbalanced``: 10:1 (``imbalance="step"``: classes 0 and 1 ten times as many as 2 and
  3); the same grid;
* ``edge``: balanced, on ``geomspace(10**0.6, 10**-2.2)``, so that class 0's deviance
  optimum (about 10^-2) and the one-vs-all accuracy optima of the noisier classes (about
  10^0) sit 0-0.4 decades from an end of the grid, sometimes beyond it.

One replication: a training set, one path ``glmnet(x_train, y_train)`` on the union of the
20- and 50-lambda grids (and a decade beyond each end, for the truth), a validation set,
its per-sample held-out losses and predictions (as :func:`classdep.assess` makes them;
checked against it in ``--quick``), then for each grid and measure the intervals below
from ``R`` replicates.  The truth is the class's optimum of *this* path's population risk,
the quantity a bootstrap of the held-out samples is about: the logits of a class-``c``
sample are Gaussian in 4 dimensions, ``N(W mu_c + b, sigma_c^2 W W')``, so the per-class
deviance and the one-vs-all error (with the design's class proportions) are integrated by
Monte Carlo in those 4 dimensions (``--n-mc`` draws per class, the same draws at every
lambda, so that the curves are smooth in lambda); the optimum is the vertex of a quadratic
in log lambda through the population curve's argmin and its neighbours within 0.25 decades
(on the fit's grid, 0.08 decades apart at most).  An optimum at an end of that extended
grid is beyond it (+-inf): only a one-sided interval covers it.

Methods (all from the same resamples):

* ``smooth<w>-perc`` / ``-basic`` / ``-norm``: ``boot(h, window=w)`` (the smoothed
  optimum, a quadratic over ``w`` decades), percentile, basic and normal intervals on log
  lambda; ``w`` in ``--windows``;
* ``smooth<w>-bca`` for the default window: BCa (scipy.stats.bootstrap);
* ``grid-perc``: the grid argmin's percentile interval, for reference.

Coverage is pooled over the 4 classes and the replications of a cell (design x grid x
measure).  Its Monte-Carlo standard error is computed from the replications (the classes of
one replication share its training set): ``sd(per-replication coverage) / sqrt(n)``.

Also timed (``--speed``): ``boot(oof, R=2000)`` on synthetic out-of-fold losses of 60000
samples x 50 lambdas x 10 classes (target: under 2 seconds).

Run from the repository root::

    OPENBLAS_NUM_THREADS=1 nice -n 10 python benchmarks/bench_coverage.py --reps 150 --workers 2 \
        --time-limit 38 --n-mc 20000 --windows 0.5 1 1.5 2 3
    python benchmarks/bench_coverage.py --quick                          # smoke test (checks against assess)
    python benchmarks/bench_coverage.py --from-raw benchmarks/out/coverage_raw.npz  # report again

``--time-limit`` stops after the replications finished within that many minutes (a prefix,
interleaved over the designs).  The earlier cross-validation study (issue 5: one design,
25 lambdas, +-3 grid points) is ``git show 7ccfcb6:benchmarks/bench_coverage.py``.

The tables go to stdout and ``benchmarks/out/coverage.md``; per-replication results to
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
import xarray as xr
from machine import machine_info  # benchmarks/machine.py, beside this script

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(REPO))

import classdep as cd  # noqa: E402
from classdep.analysis.bootstrap.estimators import SMOOTH_WINDOW  # noqa: E402

K = 4
N_FEATURES = 60
SEPARATION = 3.0
NOISE = np.linspace(1.0, 1.6, K)
N_TRAIN = N_VAL = 1200
NLAMBDAS = (20, 50)
MEASURES = ("deviance", "ova_accuracy")
CONF = 0.90
DESIGNS = {  # name: (imbalance, log10 of the grid's largest and smallest lambda)
    "balanced": (None, (1.0, -3.0)),
    "imbalanced": ("step", (1.0, -3.0)),
    "edge": (None, (0.6, -2.2)),
}
TYPES = ("perc", "basic", "norm")
TRUTH_HALF = 0.25  # decades either side of the population argmin for the truth's quadratic

_DATA: dict = {}  # filled before the workers fork


def grids(design: str) -> tuple[list[np.ndarray], np.ndarray, list[np.ndarray]]:
    """The 20- and 50-lambda grids, the fit's grid (their union and a decade beyond), their indices."""
    hi, lo = DESIGNS[design][1]
    gs = [np.geomspace(10.0**hi, 10.0**lo, n) for n in NLAMBDAS]
    beyond = np.concatenate([10.0 ** np.arange(hi + 1.0, hi, -0.1),
                             10.0 ** np.arange(lo - 0.1, lo - 1.05, -0.1)])
    ext = np.unique(np.concatenate([*gs, beyond]))[::-1]
    idx = [np.searchsorted(-ext, -g) for g in gs]
    for g, i in zip(gs, idx, strict=True):
        assert np.allclose(ext[i], g, rtol=1e-12)
    return gs, ext, idx


def proportions(design: str) -> np.ndarray:
    return cd.datasets.class_proportions(K, DESIGNS[design][0], ratio=10.0)


def counts_of(p: np.ndarray, n: int) -> np.ndarray:
    """Integer class counts summing to n, closest to p n (largest remainders)."""
    c = np.floor(p * n).astype(np.int64)
    c[np.argsort(-(p * n - c), kind="stable")[: n - c.sum()]] += 1
    return c


def draw(rng: np.random.Generator, counts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """A sample of the mixture with these class counts (the means of make_mixture's seed)."""
    mu = _DATA["means"]
    y = np.repeat(np.arange(K), counts)
    X = mu[y] + NOISE[y, None] * rng.standard_normal((y.size, N_FEATURES))
    return X, y


def heldout_oof(fit, X: np.ndarray, y: np.ndarray) -> xr.Dataset:
    """The per-sample held-out data ``assess(fit, X, y).oof`` holds (loss, pred, y, weight)."""
    W, b = fit.path["coef"].values, fit.path["intercept"].values  # (L, K, d), (L, K)
    Z = np.einsum("nd,lkd->lnk", X, W, optimize=True) + b[:, None, :]
    zmax = Z.max(axis=-1, keepdims=True)
    lse = np.log(np.exp(Z - zmax).sum(axis=-1)) + zmax[..., 0]
    loss = lse - np.take_along_axis(Z, y[None, :, None], axis=-1)[..., 0]
    return xr.Dataset({"loss": (("lambda", "sample"), loss),
                       "pred": (("lambda", "sample"), Z.argmax(axis=-1).astype(np.int16)),
                       "y": ("sample", y), "weight": ("sample", np.ones(y.size))},
                      coords={"lambda": fit.lambda_, "class": np.arange(K)})


def population_curves(fit, prior: np.ndarray, n_mc: int, rng: np.random.Generator) -> list[dict]:
    """Per-class population deviance and one-vs-all error (L, K) of the path, by 4-d Monte Carlo,
    from each half of the draws (their mean is the full estimate; their difference its MC error).

    Given class c, the logits are N(W mu_c + b, sigma_c^2 W W'); the same standard normal
    draws serve every lambda (through the Cholesky factor of W W', continuous in lambda).
    """
    return [_population(fit, prior, rng.standard_normal((K, n_mc // 2, K))) for _ in range(2)]


def _population(fit, prior: np.ndarray, u: np.ndarray) -> dict:
    W, b = fit.path["coef"].values, fit.path["intercept"].values
    L = W.shape[0]
    n_mc = u.shape[1]
    dev = np.empty((L, K))
    rate = np.empty((L, K, K))  # P(pred = p | y = c)
    for j in range(L):
        C = W[j] @ W[j].T
        # the logits' covariance is singular along (1, ..., 1) (softmax's invariance): a tiny ridge
        C = C + 1e-10 * max(np.trace(C), 1e-300) * np.eye(K)
        Lc = np.linalg.cholesky(C)
        for c in range(K):
            m = W[j] @ _DATA["means"][c] + b[j]
            Z = m + NOISE[c] * u[c] @ Lc.T
            zmax = Z.max(axis=1, keepdims=True)
            lse = np.log(np.exp(Z - zmax).sum(axis=1)) + zmax[:, 0]
            dev[j, c] = 2.0 * np.mean(lse - Z[:, c])
            rate[j, c] = np.bincount(Z.argmax(axis=1), minlength=K) / n_mc
    ova = np.stack([prior[c] * (1 - rate[:, c, c]) + sum(prior[i] * rate[:, i, c] for i in range(K) if i != c)
                    for c in range(K)], axis=1)
    return {"deviance": dev, "ova_accuracy": ova}


def true_optimum(curve: np.ndarray, lam: np.ndarray) -> float:
    """log10 of the population optimum: quadratic vertex near the argmin; +-inf beyond the grid."""
    x = np.log10(lam)
    j = int(np.argmin(curve))
    if j == 0 or j == x.size - 1:
        return float(np.inf if x[j] == x.max() else -np.inf)
    near = np.abs(x - x[j]) <= TRUTH_HALF + 1e-12
    near[j - 1:j + 2] = True
    c2, c1, _ = np.polyfit(x[near], curve[near], 2)
    v = -c1 / (2 * c2) if c2 > 0 else x[j]
    return float(np.clip(v, x[near].min(), x[near].max()))


def method_names(windows) -> list[str]:
    names = ["grid-perc"]
    for w in windows:
        names += [f"smooth{w:g}-{t}" for t in TYPES]
    return names + [f"smooth{SMOOTH_WINDOW:g}-bca"]


def one_rep(design: str, rep: int, R: int, windows, n_mc: int, n_val_sets: int) -> dict:
    """Everything measured on replication ``rep`` of ``design``: one training set and its path,
    ``n_val_sets`` validation sets (the path is the costly part; the sets are independent given it)."""
    d = list(DESIGNS).index(design)
    ss = np.random.SeedSequence([_DATA["seed"], d, rep])
    rngs = [np.random.default_rng(s) for s in ss.spawn(2 + n_val_sets)]
    prior = proportions(design)
    gs, ext, idx = grids(design)
    t0 = time.process_time()
    Xtr, ytr = draw(rngs[0], counts_of(prior, N_TRAIN))
    fit = cd.glmnet(Xtr, ytr, lambda_=ext)
    halves = population_curves(fit, prior, n_mc, rngs[1])
    pop = {m: (halves[0][m] + halves[1][m]) / 2 for m in MEASURES}
    truth = np.array([[true_optimum(pop[m][:, k], ext) for k in range(K)] for m in MEASURES])  # (M, K)
    # the truth from each half of the draws: how well the population curve pins its optimum down
    split = np.array([[[true_optimum(h[m][:, k], ext) for k in range(K)] for m in MEASURES] for h in halves])
    t1 = time.process_time()
    seeds = ss.generate_state(n_val_sets)
    out = [validation_set(fit, idx, prior, rngs[2 + v], windows, R, int(seeds[v]), rep == v == 0)
           for v in range(n_val_sets)]
    res = {k: np.stack([o[k] for o in out]) for k in out[0]}
    return dict(res, truth=np.broadcast_to(truth, (n_val_sets, *truth.shape)),
                split=np.broadcast_to(split, (n_val_sets, *split.shape)), design=np.full(n_val_sets, d),
                cluster=np.full(n_val_sets, d * 100000 + rep), t_truth=np.full(n_val_sets, t1 - t0),
                t_boot=np.full(n_val_sets, (time.process_time() - t1) / n_val_sets))


def validation_set(fit, idx, prior, rng, windows, R: int, seed: int, check: bool) -> dict:
    """The intervals of every method from one validation set of the path ``fit``."""
    Xv, yv = draw(rng, counts_of(prior, N_VAL))
    oof = heldout_oof(fit, Xv, yv)
    if _DATA.get("check") and check:
        h = cd.assess(fit, Xv, yv)
        np.testing.assert_allclose(h.oof["loss"].values, oof["loss"].values, rtol=1e-8, atol=1e-10)
        np.testing.assert_array_equal(h.oof["pred"].values, oof["pred"].values)
    names = method_names(windows)
    lo = np.full((len(NLAMBDAS), len(MEASURES), len(names), K), np.nan)
    hi = np.full_like(lo, np.nan)
    est = np.full((len(NLAMBDAS), len(MEASURES), len(windows) + 1, K), np.nan)
    edge = np.zeros((len(NLAMBDAS), len(MEASURES), K), dtype=bool)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # atoms, extreme order statistics: counted by coverage, not read
        for g, ix in enumerate(idx):
            o = oof.isel({"lambda": ix})
            for m, meas in enumerate(MEASURES):
                boots = {"grid": cd.boot(o, R=R, seed=seed, measure=meas, estimator="grid")}
                for w in windows:
                    boots[w] = cd.boot(o, R=R, seed=seed, measure=meas, window=w)
                edge[g, m] = boots["grid"].t0["at_edge"].values != ""
                est[g, m, 0] = np.log10(boots["grid"].t0.values)
                for i, w in enumerate(windows):
                    est[g, m, i + 1] = np.log10(boots[w].t0.values)
                for n_, name in enumerate(names):
                    kind, typ = name.rsplit("-", 1)
                    b = boots["grid"] if kind == "grid" else boots[float(kind[len("smooth"):])]
                    ci = cd.boot_ci(b, conf=CONF, type=typ).ci.values
                    with np.errstate(divide="ignore"):
                        lo[g, m, n_], hi[g, m, n_] = np.log10(ci[:, 0]), np.log10(ci[:, 1])
    return dict(lo=lo, hi=hi, est=est, edge=edge)


def _init(data: dict) -> None:
    _DATA.update(data)


def _run(args: tuple) -> dict:
    return one_rep(*args)


# -- the report -------------------------------------------------------------------------------------


def cell_coverage(res: dict, d: int, g: int, m: int, n_: int) -> dict:
    """Coverage of one (design, grid, measure, method), with its MC SE over the training sets."""
    sel = res["design"] == d
    lo, hi = res["lo"][sel, g, m, n_], res["hi"][sel, g, m, n_]  # (sets, K)
    t = res["truth"][sel, m]  # (sets, K)
    cov = (lo <= t) & (t <= hi)  # NaN bounds compare False: a failed interval does not cover
    # the validation sets of one path and its classes are not independent: the SE is that of the
    # mean over paths (clusters) of their coverage
    cl = res["cluster"][sel]
    per = np.array([cov[cl == c].mean() for c in np.unique(cl)])
    n = per.size
    p = float(cov.mean())
    se = float(per.std(ddof=1) / np.sqrt(n)) if n > 1 else np.nan
    width = hi - lo
    fin = np.isfinite(width)
    return dict(p=p, se=se, n=n, below=float((t < lo).mean()), above=float((t > hi).mean()),
                width=float(width[fin].mean()) if fin.any() else np.nan, per_class=cov.mean(axis=0),
                one_sided=float((~np.isfinite(width)).mean()))


def report(res: dict, args, wall: float, info: dict, speed_rows: list[dict] | None) -> str:
    windows = [float(w) for w in res["windows"]]
    names = method_names(windows)
    reps = {name: f"{np.unique(res['cluster'][res['design'] == d]).size} paths x {args.val_sets} "
                  "validation sets" for d, name in enumerate(DESIGNS)}
    L = ["Coverage of 90% bootstrap intervals for every class's optimal lambda, held-out protocol: "
         f"make_mixture(n_classes={K}, n_features={N_FEATURES}, separation={SEPARATION:g}, "
         f"noise=linspace({NOISE[0]:g}, {NOISE[-1]:g}, {K}), seed={args.seed}) population; training and "
         f"validation samples of {N_TRAIN}; R = {args.R} replicates; truth from {args.n_mc} Monte-Carlo "
         "draws "
         "per class of the path's logits. Replications: "
         + ", ".join(f"{k} {v}" for k, v in reps.items()) + ".", ""]
    # the default, then every method, per cell
    cells = [(d, g, m) for d in range(len(DESIGNS)) for g in range(len(NLAMBDAS))
             for m in range(len(MEASURES))]
    dflt = names.index(f"smooth{SMOOTH_WINDOW:g}-perc")

    def row_of(n_):
        out = []
        for d, g, m in cells:
            c = cell_coverage(res, d, g, m, n_)
            out.append(c)
        return out

    head = ["design", "lambdas", "measure", "coverage ± MC SE", "per class (0, 1, 2, 3)",
            "truth below / above",
            "one-sided", "mean width (decades)", "within 0.90 ± 0.05"]
    L.append(f"Default: boot(h) + boot_ci(b, conf=0.9) = smoothed optimum over {SMOOTH_WINDOW:g} decade(s), "
             "percentile interval.")
    L.append("")
    L.append("| " + " | ".join(head) + " |")
    L.append("|" + "|".join("---" for _ in head) + "|")
    for (d, g, m), c in zip(cells, row_of(dflt), strict=True):
        ok = abs(c["p"] - CONF) <= 0.05
        L.append("| " + " | ".join([
            list(DESIGNS)[d], str(NLAMBDAS[g]), MEASURES[m], f"{c['p']:.3f} ± {c['se']:.3f}",
            ", ".join(f"{v:.2f}" for v in c["per_class"]), f"{c['below']:.3f} / {c['above']:.3f}",
            f"{c['one_sided']:.2f}", f"{c['width']:.2f}", "yes" if ok else "**no**"]) + " |")
    L.append("")
    L.append("Every method (coverage per cell; cells in the order design / lambdas / measure below; "
             "`worst` = the largest |coverage - 0.90|):")
    L.append("")
    short = {"deviance": "dev", "ova_accuracy": "ova"}
    head = ["method", *[f"{list(DESIGNS)[d][:3]}/{NLAMBDAS[g]}/{short[MEASURES[m]]}" for d, g, m in cells],
            "worst", "mean width"]
    L.append("| " + " | ".join(head) + " |")
    L.append("|" + "|".join("---" for _ in head) + "|")
    for n_, name in enumerate(names):
        cs = row_of(n_)
        worst = max(abs(c["p"] - CONF) for c in cs)
        L.append("| " + " | ".join([name, *[f"{c['p']:.3f}" for c in cs], f"{worst:.3f}",
                                    f"{np.nanmean([c['width'] for c in cs]):.2f}"]) + " |")
    L.append("")
    ses = [c["se"] for n_ in range(len(names)) for c in row_of(n_)]
    L.append(f"Monte-Carlo SE of a cell's coverage (from the replications): {np.nanmin(ses):.3f} to "
             f"{np.nanmax(ses):.3f}.")
    L.append("")
    # per class: truth and estimates
    L.append("Truth and estimates per design (log10 lambda; mean over replications, 50 lambdas, "
             "default window): truth, smoothed estimate, sd of the estimate; share of one-sided intervals.")
    L.append("")
    head = ["design", "measure", *[f"class {k}" for k in range(K)]]
    L.append("| " + " | ".join(head) + " |")
    L.append("|" + "|".join("---" for _ in head) + "|")
    iw = windows.index(SMOOTH_WINDOW) + 1 if SMOOTH_WINDOW in windows else 1
    for d, dn in enumerate(DESIGNS):
        sel = res["design"] == d
        for m, mn in enumerate(MEASURES):
            t = res["truth"][sel, m]
            e = res["est"][sel, 1, m, iw]
            one = res["edge"][sel, 1, m].mean(axis=0)
            cols = []
            for k in range(K):
                tk = t[:, k]
                fin = np.isfinite(tk)
                beyond = f" ({(~fin).sum()} beyond)" if (~fin).any() else ""
                cols.append(f"{tk[fin].mean():.2f}{beyond}; {e[:, k].mean():.2f} ± "
                            f"{e[:, k].std(ddof=1):.2f}; "
                            f"{one[k]:.2f}")
            L.append("| " + " | ".join([dn, mn, *cols]) + " |")
    L.append("")
    L.append("The truth's Monte-Carlo uncertainty: mean |difference| (decades) between the optima of the "
             "population curves from each half of the draws, per design and measure (per class):")
    L.append("")
    for d, dn in enumerate(DESIGNS):
        sel = res["design"] == d
        for m, mn in enumerate(MEASURES):
            sp = res["split"][sel][:, :, m]  # (sets, 2, K)
            diff = np.abs(sp[:, 0] - sp[:, 1])
            diff = np.where(np.isfinite(diff), diff, np.nan)
            L.append(f"- {dn}, {mn}: " + ", ".join(f"{v:.3f}" for v in np.nanmean(diff, axis=0)))
    L.append("")
    L.append(f"CPU per replication (mean): training path and truth {res['t_truth'].mean():.2f} s, "
             f"all bootstraps and intervals {res['t_boot'].mean():.2f} s; wall {wall / 60:.1f} min with "
             f"{args.workers} worker(s).")
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


# -- the speed benchmark ------------------------------------------------------------------------------


def speed(n: int = 60000, L: int = 50, n_classes: int = 10, R: int = 2000, repeats: int = 3) -> list[dict]:
    rng = np.random.default_rng(0)
    y = np.repeat(np.arange(n_classes), n // n_classes)
    lam = np.geomspace(1e-1, 1e-5, L)
    x = np.log(lam)[:, None]
    x0 = rng.uniform(np.log(1e-4), np.log(1e-2), n_classes)[y]
    loss = 0.05 * (x - x0) ** 2 + rng.exponential(0.5, y.size) + rng.normal(0, 0.01, (L, y.size))
    pred = np.where(rng.random((L, y.size)) < 0.9, y, rng.integers(0, n_classes, (L, y.size)))
    oof = xr.Dataset({"loss": (("lambda", "sample"), np.abs(loss)), "y": ("sample", y),
                      "pred": (("lambda", "sample"), pred), "weight": ("sample", np.ones(y.size))},
                     coords={"lambda": lam, "class": np.arange(n_classes)})
    rows = []
    for est, meas in (("grid", "deviance"), ("smooth", "deviance"), ("moon", "deviance"),
                      ("smooth", "ova_accuracy")):
        ts = []
        for r in range(repeats):
            t = time.perf_counter()
            cd.boot(oof, R=R, estimator=est, seed=r, measure=meas)
            ts.append(time.perf_counter() - t)
        rows.append(dict(what=f'boot(oof, R={R}, estimator="{est}", measure="{meas}")', best=min(ts),
                         median=float(np.median(ts)), n=n, L=L, K=n_classes, repeats=repeats))
    return rows


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--reps", type=int, default=150, help="replications per design (default 150)")
    ap.add_argument("--val-sets", type=int, default=3, help="validation sets per training set (default 3)")
    ap.add_argument("--R", type=int, default=300, help="bootstrap replicates per interval (default 300)")
    ap.add_argument("--windows", type=float, nargs="+", default=[0.5, 1.0, 1.5, 2.0],
                    help="smoothing windows to compare, decades (default 0.5 1 1.5 2)")
    ap.add_argument("--seed", type=int, default=0, help="seed of the mixture and of every replication")
    ap.add_argument("--n-mc", type=int, default=40000, help="Monte-Carlo draws per class for the truth")
    ap.add_argument("--workers", type=int, default=1, help="processes (default 1)")
    ap.add_argument("--time-limit", type=float, default=None,
                    help="minutes: stop after the replications finished by then (a prefix)")
    ap.add_argument("--speed", action="store_true", help="also time boot(R=2000) on 60000 samples")
    ap.add_argument("--quick", action="store_true", help="smoke test: 2 replications per design, R=60, "
                    "checked against assess()")
    ap.add_argument("--out", type=Path, default=HERE / "out" / "coverage.md")
    ap.add_argument("--from-raw", type=Path, default=None,
                    help="rewrite the report from a saved coverage_raw.npz (no simulation)")
    args = ap.parse_args(argv)
    given = sys.argv[1:] if argv is None else list(argv)
    args.command = " ".join(["python", "benchmarks/bench_coverage.py", *given])
    if "OPENBLAS_NUM_THREADS" in os.environ:
        args.command = f"OPENBLAS_NUM_THREADS={os.environ['OPENBLAS_NUM_THREADS']} " + args.command
    if args.quick:
        args.reps, args.R, args.n_mc, args.val_sets = 2, 60, 4000, 2
    info = machine_info({"xarray": xr.__version__, "classdep": cd.__version__})
    raw = args.out.with_name(args.out.stem + "_raw.npz")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    speed_rows = None
    if args.from_raw is not None:
        with np.load(args.from_raw) as z:
            res = {k: z[k] for k in z.files}
        wall = float(res["wall"])
        args.R, args.n_mc, args.seed = int(res["R"]), int(res["n_mc"]), int(res["seed"])
        args.workers, args.command = int(res["workers"]), str(res["command"])
        args.val_sets = int(res["val_sets"])
        info = json.loads(str(res["machine"]))
        speed_rows = json.loads(str(res["speed"])) if "speed" in res else None
    else:
        t0 = time.perf_counter()
        means = cd.datasets.make_mixture(n_classes=K, n_features=N_FEATURES, n_samples=2 * K,
                                         separation=SEPARATION, noise=NOISE,
                                         seed=args.seed)["class_mean"].values
        data = dict(means=means, seed=args.seed, check=args.quick)
        # interleaved over the designs, so that a prefix (time limit) has them all alike
        jobs = [(dn, r, args.R, args.windows, args.n_mc, args.val_sets)
                for r in range(args.reps) for dn in DESIGNS]
        per = []
        limit = t0 + 60 * args.time_limit if args.time_limit else np.inf
        if args.workers > 1:
            with mp.get_context("fork").Pool(args.workers, initializer=_init, initargs=(data,)) as pool:
                for r in pool.imap(_run, jobs, chunksize=1):  # in job order: a prefix of the jobs
                    per.append(r)
                    print(f"{len(per)}/{len(jobs)} paths, {(time.perf_counter() - t0) / 60:.1f} min",
                          file=sys.stderr, flush=True)
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
        if len(per) < len(jobs):
            print(f"time limit: {len(per)} of {len(jobs)} replications done", file=sys.stderr)
        res = {k: np.concatenate([np.asarray(p[k]) for p in per]) for k in per[0]}
        meta = dict(windows=np.asarray(args.windows), wall=wall, R=args.R, n_mc=args.n_mc, seed=args.seed,
                    val_sets=args.val_sets,
                    workers=args.workers, command=args.command, machine=json.dumps(info))
        np.savez_compressed(raw, **res, **meta)  # saved before the report is written
        res["windows"] = meta["windows"]
        if args.speed:
            speed_rows = speed(n=6000, R=200, repeats=1) if args.quick else speed()
            np.savez_compressed(raw, **res, **meta, speed=json.dumps(speed_rows))
    text = report(res, args, wall, info, speed_rows)
    print(text)
    args.out.write_text(text + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
