#!/usr/bin/env python
"""What reading X in row chunks costs: a memmap, a zarr array and a dask array against RAM.

The same ridge multinomial path (``--nlambda`` lambdas, one member) is fitted on a
synthetic problem (``make_mixture``) with ``X`` held in memory, and with ``X`` on disk as
a NumPy ``.npy`` memmap, a zarr array and a dask array over that memmap, the memory plan
forced to chunk it by ``memory_limit`` (a limit a little above what the working arrays
need).  Reported: wall time, its ratio to the in-memory fit, the chunk size the plan
chose, tracemalloc's peak (NumPy's allocations) against the size of ``X``, and the
largest objective difference from the in-memory fit.

Run from the repository root::

    python benchmarks/bench_out_of_core.py            # 100000 x 256, 10 classes
    python benchmarks/bench_out_of_core.py --quick    # 40000 x 64

Results go to stdout and ``benchmarks/out/out_of_core.md``.
"""

from __future__ import annotations

import argparse
import tempfile
import time
import tracemalloc
from pathlib import Path

import numpy as np
from machine import machine_info  # benchmarks/machine.py, beside this script

HERE = Path(__file__).resolve().parent


def main() -> None:
    import dask.array as da
    import zarr

    import classdep as cd
    from classdep.solvers.memory import plan_memory

    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--nlambda", type=int, default=8)
    args = ap.parse_args()
    n, d, K = (40_000, 64, 10) if args.quick else (100_000, 256, 10)
    ds = cd.datasets.make_mixture(n_classes=K, n_features=d, n_samples=n, seed=0)
    X, y = np.ascontiguousarray(ds.X.values), ds.y.values
    lam = np.geomspace(1e-1, 1e-4, args.nlambda)
    # a limit that leaves room for the working arrays and chunks of about n / 20 rows
    limit = None
    for b in np.geomspace(2**20, 2**36, 2000):
        try:
            p = plan_memory(n, d, K, 1, itemsize=8, memory_limit=int(b))
        except MemoryError:
            continue
        if not p.x_resident and p.chunk_rows >= n // 20:
            limit = int(b)
            break
    tmp = Path(tempfile.mkdtemp())
    np.save(tmp / "x.npy", X)
    mm = np.load(tmp / "x.npy", mmap_mode="r")
    z = zarr.create_array(store=str(tmp / "x.zarr"), shape=X.shape, chunks=(n // 20, d), dtype="f8")
    z[:] = X
    sources = {"in memory": (X, None), "memmap": (mm, limit), "zarr": (z, limit),
               "dask (over the memmap)": (da.from_array(mm, chunks=(n // 20, d)), limit)}
    rows = []
    ref = None
    for name, (src, lim) in sources.items():
        tracemalloc.start()
        t = time.perf_counter()
        # one preconditioner for all: the limit would otherwise change the solver's choice
        fit = cd.glmnet(src, y, lambda_=lam, device="cpu", memory_limit=lim, solver="newton-cg",
                        preconditioner="kronecker")
        wall = time.perf_counter() - t
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        f = fit.path["objective"].values
        ref = f if ref is None else ref
        plan = cd.memory_plan(src, y, device="cpu", memory_limit=lim)
        rows.append((name, wall, plan.chunk_rows if not plan.x_resident else "resident",
                     peak / X.nbytes, float(np.max(np.abs(f - ref) / ref)),
                     float(fit.path["products"].sum())))
        print(rows[-1], flush=True)
    base = rows[0][1]
    info = machine_info({"numpy": np.__version__, "zarr": zarr.__version__})
    lines = ["# Out-of-core features", "", *(f"- {k}: {v}" for k, v in info.items()),
             f"- problem: make_mixture(n_classes={K}, n_features={d}, n_samples={n}), "
             f"{args.nlambda} lambdas from 1e-1 to 1e-4, newton-cg with the Kronecker preconditioner, "
             f"memory_limit {limit} bytes",
             "", "| X | wall (s) | vs in memory | chunk rows | traced peak / size of X | "
             "max rel. objective diff | products |", "|---|---|---|---|---|---|---|"]
    lines += [f"| {r[0]} | {r[1]:.1f} | {r[1] / base:.2f}x | {r[2]} | {r[3]:.2f} | {r[4]:.1e} | {r[5]:.0f} |"
              for r in rows]
    text = "\n".join(lines)
    print(text)
    (HERE / "out").mkdir(exist_ok=True)
    (HERE / "out" / "out_of_core.md").write_text(text + "\n")


if __name__ == "__main__":
    main()
