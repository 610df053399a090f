"""
The augmentation sweep on a Dask cluster
=========================================

A sweep over a hyperparameter grid is a set of independent cross-validated paths, one per
grid value. Given a :class:`dask.distributed.Client`, ``cv_glmnet(..., client=client)``
submits each level as one task and gathers the :class:`~classdep.CVGlmnet` objects; the
folds of a level stay batched inside its task. Nothing else changes: the call, the
result and its numbers are those of the local run.

Here the cluster is a real :class:`~dask.distributed.LocalCluster` with two worker
processes of one thread each, on the two cores of the machine that builds this page, and
the sweep is the one of :ref:`sphx_glr_auto_examples_plot_augmentation_sweep.py`.
"""

# %%
# Local run
# ---------
import time

import matplotlib.pyplot as plt
import numpy as np
from dask.distributed import Client, LocalCluster

import classdep as cd
from classdep.datasets import select_split

ds = cd.datasets.fashion_mnist_features(
    n_train=5000, n_test=2000, epochs=8, progress=False
)
train = select_split(ds, "train").isel(sample=slice(0, 1500))
lam = np.geomspace(0.03, 1e-6, 12)
spec = dict(kind="gaussian", strength=[0.15, 0.3, 0.45])

t0 = time.perf_counter()
local = cd.cv_glmnet(
    train, nfolds=5, lambda_=lam, augment=spec, progress=False, device="cpu"
)
t_local = time.perf_counter() - t0
print(local)

# %%
# The same call on the cluster
# ----------------------------
# Each worker is a separate Python process: it receives the features and the level's
# augmentation spec, runs the batched path, and sends back the results, the out-of-fold
# losses and the full-data fit. Warnings raised on a worker would be lost, so the task
# silences them; the flags (``converged`` per lambda and fold) travel with the results.
#
# The workers are started with multiprocessing's "spawn" method, which imports the
# script that starts them once more. Run this code in a notebook or an interactive
# session, or, as a script, below an ``if __name__ == "__main__":`` guard, as for any
# script that starts processes.
with (
    LocalCluster(
        n_workers=2,
        threads_per_worker=1,
        processes=True,
        dashboard_address=None,
    ) as cluster,
    Client(cluster) as client,
):
    t0 = time.perf_counter()
    remote = cd.cv_glmnet(
        train,
        nfolds=5,
        lambda_=lam,
        augment=spec,
        progress=False,
        device="cpu",
        client=client,
    )
    t_remote = time.perf_counter() - t0
print(remote)

# %%
# Identical results
# -----------------
# Every per-(lambda, class, fold) number and every out-of-fold loss agrees with the local
# run, to the last bit or within a relative 1e-12 (the test suite's tolerance: a worker
# may sum in another order if its BLAS is threaded differently).
for v in ("deviance", "recall", "confusion", "cvm", "cvsd"):
    a, b = local.results[v].values, remote.results[v].values
    print(
        f"{v:>10}: identical={np.array_equal(a, b)}, "
        f"largest difference / largest value {np.abs(a - b).max() / np.abs(a).max():.1e}"
    )
oof_equal = all(
    np.array_equal(x.oof["loss"].values, y.oof["loss"].values)
    for x, y in zip(local.cvs, remote.cvs, strict=True)
)
print(f"out-of-fold losses identical at every level: {oof_equal}")
print(
    f"wall time: local {t_local:.1f} s, two workers {t_remote:.1f} s "
    "(cluster start-up not counted)"
)

# %%
# Both runs, one figure: the cross-validated deviance of every level. The remote curves
# (markers) lie on the local ones (lines).
fig, ax = plt.subplots(figsize=(6, 4), constrained_layout=True)
for i, s in enumerate(spec["strength"]):
    ax.plot(lam, local[i].cvm, color=f"C{i}", label=f"s = {s:g}, local")
    ax.plot(
        lam,
        remote[i].cvm,
        "o",
        color=f"C{i}",
        ms=4,
        mfc="none",
        label=f"s = {s:g}, Dask",
    )
ax.set(
    xscale="log",
    xlabel="lambda",
    ylabel="CV deviance per sample",
    ylim=(0.68, 0.9),
)
ax.legend(fontsize=7, ncol=2)

# %%
# Larger clusters and GPUs
# ------------------------
# On two cores the two workers compete with each other and with everything else on the
# machine, so the timings above say little about speed-up; each level is a task, and a
# sweep of ``m`` levels keeps at most ``m`` workers busy. The bootstrap's
# ``method="refit"`` (``boot(..., client=client)``) distributes its replicates the same
# way.
#
# On a machine with several GPUs, start one worker per GPU with ``dask_cuda``'s
# ``LocalCUDACluster`` (it pins each worker to its device) and pass ``device="gpu"``:
# each level then runs its batched folds on its own GPU, in float32 by default. The
# results are then those of a float32 run, equal to the float64 CPU run to float32
# accuracy (objective to about 1e-6, see :doc:`/user_guide`), not bit for bit; compare a
# Dask GPU run with a local GPU run of the same dtype. GPU timings, with the machine
# they ran on, belong in ``benchmarks/RESULTS.md``; see :doc:`/benchmarks` for what has
# been measured so far. The sweeps above pin ``device="cpu"``, so that this page shows
# the same numbers wherever it is built.
