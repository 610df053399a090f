#!/usr/bin/env python
"""GPU and scale benchmark (issue 10): ImageNet- and CIFAR-100-sized sweeps, GEMM rate, CPU/GPU.

One command::

    python benchmarks/gpu.py                 # on a GPU machine: everything below
    python benchmarks/gpu.py --quick         # a scaled-down run (minutes; also on a CPU)
    python benchmarks/gpu.py --device cpu --quick   # checks the script itself without a GPU

What it does, per problem:

* builds a synthetic problem of the given size: ``K`` class means on a sphere of radius
  ``--separation`` in ``d`` dimensions, unit Gaussian noise, classes of equal size
  (float32, generated in chunks, so the host never holds a float64 copy);
* measures the device's GEMM rate on the shape the solver uses (``n_chunk x d`` times
  ``d x K``, the work dtype, best of 5);
* runs ``cv_glmnet`` over ``--nlambda`` lambdas and 5 folds, as a user would (the memory
  plan picks the fold batch and whether ``X`` is read in chunks), and reports wall time,
  the memory plan, the device's peak memory (CuPy's pool high-water mark), the matrix
  products counted by the solver (``results["products"]``, in units of ``n d K``), the
  achieved product rate ``2 n d K x products / time`` and its ratio to the GEMM rate.
  That rate charges everything else (softmax, line searches, preconditioners, host
  transfers) to the products, so it is a lower bound on the products' own rate.

Problems: ``imagenet`` (1,281,167 x 2048, 1000 classes: ImageNet-1k's training set with
ResNet-50 features), ``cifar100`` (50000 x 512, 100 classes), and with ``--cpu-compare``
the CIFAR-100-sized sweep again on the CPU.  Targets (issue 10): ImageNet under 15 minutes
and CIFAR-100 under 20 s on one H100, products at no less than a third of the GEMM rate.

Results are printed as a Markdown table and written to ``benchmarks/out/gpu_<device>.md``
and ``.json`` with the machine's description.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
from machine import machine_info  # benchmarks/machine.py, beside this script

HERE = Path(__file__).resolve().parent
SIZES = {
    "imagenet": dict(n=1_281_167, d=2048, K=1000),
    "cifar100": dict(n=50_000, d=512, K=100),
}
QUICK = {
    "imagenet": dict(n=20_000, d=256, K=100),
    "cifar100": dict(n=5_000, d=64, K=10),
}


def make_problem(n: int, d: int, K: int, separation: float, seed: int = 0):
    """Features (float32) and labels: class means on a sphere, unit noise, equal class sizes."""
    rng = np.random.default_rng(seed)
    means = rng.standard_normal((K, d)).astype(np.float32)
    means *= separation / np.linalg.norm(means, axis=1, keepdims=True)
    y = np.arange(n) % K
    rng.shuffle(y)
    X = np.empty((n, d), dtype=np.float32)
    step = 65536
    for a in range(0, n, step):
        b = min(a + step, n)
        X[a:b] = rng.standard_normal((b - a, d), dtype=np.float32)
        X[a:b] += means[y[a:b]]
    return X, y


def gemm_rate(device: str, rows: int, d: int, cols: int, dtype) -> float:
    """Best of 5: flop/s of a (rows x d) @ (d x cols) product in ``dtype`` on ``device``."""
    if device == "gpu":
        import cupy as xp
    else:
        xp = np
    A = xp.ones((rows, d), dtype=dtype)
    B = xp.ones((d, cols), dtype=dtype)
    best = np.inf
    for _ in range(6):
        if device == "gpu":
            xp.cuda.Device().synchronize()
        t = time.perf_counter()
        A @ B
        if device == "gpu":
            xp.cuda.Device().synchronize()
        best = min(best, time.perf_counter() - t)
    return 2.0 * rows * d * cols / best


def run_sweep(name: str, size: dict, args, device: str) -> dict:
    import classdep as cd

    n, d, K = size["n"], size["d"], size["K"]
    t0 = time.perf_counter()
    X, y = make_problem(n, d, K, args.separation)
    t_make = time.perf_counter() - t0
    dtype = np.float32 if device == "gpu" else np.float64
    plan = cd.memory_plan(X, y, nfolds=5, device=device, dtype=dtype)
    rate = gemm_rate(device, min(n, 65536), d, K, dtype)
    pool = None
    if device == "gpu":
        import cupy

        pool = cupy.get_default_memory_pool()
        pool.free_all_blocks()
    lam = np.geomspace(1e-1, 1e-5, args.nlambda)
    t = time.perf_counter()
    cv = cd.cv_glmnet(X, y, lambda_=lam, nfolds=5, device=device, dtype=dtype, progress=False)
    wall = time.perf_counter() - t
    products = float(np.nansum(cv.results["products"].values)) + float(cv.fit.path["products"].sum())
    achieved = 2.0 * n * d * K * products / wall
    return dict(
        problem=name, device=device, n=n, d=d, K=K, nlambda=args.nlambda, folds=5,
        make_s=round(t_make, 1), wall_s=round(wall, 1), per_lambda_s=round(wall / args.nlambda, 2),
        products=round(products), gemm_gflops=round(rate / 1e9, 1),
        achieved_gflops=round(achieved / 1e9, 1), ratio_to_gemm=round(achieved / rate, 3),
        peak_device_gib=None if pool is None else round(pool.total_bytes() / 2**30, 2),
        x_resident=bool(plan.x_resident), chunk_rows=int(plan.chunk_rows),
        lambda_min=float(cv.lambda_min), converged=bool(cv.results["converged"].values.all()),
        plan=repr(plan),
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--device", default="gpu", choices=("gpu", "cpu"))
    ap.add_argument("--problem", action="append", choices=tuple(SIZES), help="default: both")
    ap.add_argument("--quick", action="store_true", help="scaled-down sizes")
    ap.add_argument("--nlambda", type=int, default=50)
    ap.add_argument("--separation", type=float, default=4.0)
    ap.add_argument("--cpu-compare", action="store_true",
                    help="also run the CIFAR-100-sized sweep on the CPU")
    args = ap.parse_args()
    sizes = QUICK if args.quick else SIZES
    rows = []
    for name in args.problem or ("cifar100", "imagenet"):
        rows.append(run_sweep(name, sizes[name], args, args.device))
        print(json.dumps({k: v for k, v in rows[-1].items() if k != "plan"}), flush=True)
    if args.cpu_compare and args.device == "gpu":
        rows.append(run_sweep("cifar100", sizes["cifar100"], args, "cpu"))
    info = machine_info({"cupy": _version("cupy"), "numpy": np.__version__})
    if args.device == "gpu":
        import cupy

        props = cupy.cuda.runtime.getDeviceProperties(0)
        info["gpu"] = props["name"].decode() if isinstance(props["name"], bytes) else str(props["name"])
    cols = ["problem", "device", "n", "d", "K", "wall_s", "per_lambda_s", "products", "achieved_gflops",
            "gemm_gflops", "ratio_to_gemm", "peak_device_gib", "x_resident", "converged"]
    table = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    table += ["| " + " | ".join(str(r[c]) for c in cols) + " |" for r in rows]
    text = "\n".join(["# GPU and scale benchmark", "", *(f"- {k}: {v}" for k, v in info.items()), "",
                      *table, "", *("```\n" + r["plan"] + "\n```" for r in rows)])
    print(text)
    out = HERE / "out"
    out.mkdir(exist_ok=True)
    (out / f"gpu_{args.device}.md").write_text(text + "\n")
    (out / f"gpu_{args.device}.json").write_text(json.dumps(dict(machine=info, rows=rows), indent=1))


def _version(mod: str) -> str:
    try:
        return __import__(mod).__version__
    except ImportError:
        return "not installed"


if __name__ == "__main__":
    main()
