"""The memory plan: its estimate against the measured peak, and its refusals.

The measured peak is tracemalloc's (NumPy reports its allocations to it) over a whole
path, with the features allocated before tracing starts; the plan must not under-estimate
it, and must not over-estimate it by more than a factor of three (an estimate that loose
would refuse fits that fit).
"""

from __future__ import annotations

import tracemalloc

import numpy as np
import pytest
from builders import noise

import classdep as cd
from classdep.solvers.memory import InsufficientMemoryError, parse_bytes, plan_memory
from classdep.solvers.path import fit_path


@pytest.mark.parametrize("n,d,K,M,solver,preconditioner", [
    (20000, 64, 20, 5, "newton-cg", "kronecker"),
    (20000, 64, 20, 5, "newton-cg", "block"),
    (6000, 128, 50, 3, "newton-cg", "block"),
    (20000, 16, 3, 1, "newton", "hessian"),  # what "auto" picks: the exact Hessian, all rows
])
def test_estimate_bounds_the_measured_peak(n, d, K, M, solver, preconditioner):
    rng = np.random.default_rng(0)
    X, y = noise(n, d, K, rng, signal=1.5)
    folds = rng.integers(0, M, n)
    bw = (folds[None, :] != np.arange(M)[:, None]).astype(float) if M > 1 else None
    plan = plan_memory(n, d, K, M, itemsize=8, memory_limit="20GB")
    tracemalloc.start()
    try:
        fit_path(X, y, K, np.geomspace(1, 1e-4, 4), batch_weights=bw, device="cpu", solver=solver,
                 preconditioner=preconditioner, memory_limit="20GB", warn=False)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    # the plan sizes the preconditioner "auto" would pick; compare like with like
    est = plan.total_bytes - plan.precond_bytes + _precond_peak(n, d, K, M, preconditioner)
    assert peak <= est <= 3 * peak, (peak / 2**20, est / 2**20)


def _precond_peak(n, d, K, M, name):
    from classdep.solvers.kronecker import kronecker_bytes
    from classdep.solvers.memory import PRECOND_PEAK
    from classdep.solvers.newton import class_block_bytes, hessian_bytes

    b = {"hessian": hessian_bytes(n, d, K, M, "multinomial", 8),
         "block": class_block_bytes(n, d, K, M, 8),
         "kronecker": kronecker_bytes(n, d, K, M, 8)}[name]
    return int(PRECOND_PEAK * b)


def test_a_fit_that_cannot_fit_is_refused_with_its_numbers():
    ds = cd.datasets.digits()
    with pytest.raises(InsufficientMemoryError) as err:
        cd.cv_glmnet(ds, nfolds=5, device="cpu", memory_limit="1MB", progress=False)
    msg = str(err.value)
    # not even one fold fits (folds are solved in smaller batches when the five do not)
    assert "1797 x 1 x 10" in msg and "memory_limit" in msg and "fewer samples" in msg
    assert "float32" in msg  # the remedy that halves it is named for float64 fits
    assert isinstance(err.value, MemoryError)


def test_print_and_numbers():
    p = cd.memory_plan(cd.datasets.digits(), nfolds=10, device="cpu", memory_limit="1GiB")
    assert (p.n, p.d, p.K, p.M) == (1797, 64, 10, 10)
    assert p.route == "feature" and "route: feature space" in repr(p)
    assert p.available == 2**30 and p.limited
    assert p.work_bytes == (10 * 1797 * 10 * 10 + 2 * 1797 * 65) * 8
    text = repr(p)
    assert "Memory plan on cpu (64-bit numbers)" in text and "resident" in text
    assert "(memory_limit)" in text


@pytest.mark.parametrize("text,expected", [("8GB", 8 * 10**9), ("512 MiB", 512 * 2**20), ("2e3", 2000),
                                           (4096, 4096), ("1.5KiB", 1536)])
def test_parse_bytes(text, expected):
    assert parse_bytes(text) == expected


@pytest.mark.parametrize("bad", ["lots", "-1GB", 0, "GB"])
def test_parse_bytes_refuses(bad):
    with pytest.raises(ValueError, match="memory_limit"):
        parse_bytes(bad)


def _digits_part():
    ds = cd.datasets.digits()
    return ds.X.values[:900], ds.y.values[:900]


def test_folds_in_groups_match_one_batch():
    X, y = _digits_part()
    kw = dict(lambda_=[1e-1, 1e-2, 1e-3], nfolds=5, seed=1, device="cpu", progress=False)
    one = cd.cv_glmnet(X, y, **kw)
    grouped = cd.cv_glmnet(X, y, fold_batch=2, **kw)
    # the groups carry their own preconditioners from one lambda to the next (formed anew
    # when a group's CG runs long), so the iterates agree to the solver's tolerance (an
    # objective gap of 1e-7 relative), not bit for bit
    np.testing.assert_allclose(grouped.cvm, one.cvm, rtol=1e-7)
    np.testing.assert_allclose(grouped.oof["loss"].values, one.oof["loss"].values, rtol=1e-5, atol=1e-8)
    assert grouped.results["niter"].sizes["fold"] == 5
    assert grouped.lambda_min == one.lambda_min


def test_memory_limit_splits_the_fold_batch():
    from classdep.solvers.memory import fold_batch_size

    X, y = _digits_part()
    n, d = X.shape
    lim = next(int(b) for b in np.geomspace(2**18, 2**30, 400)
               if _fits(n, d, 10, 2, b) and not _fits(n, d, 10, 3, b))
    assert fold_batch_size(n, d, 10, 5, itemsize=8, memory_limit=lim) == 2
    kw = dict(lambda_=[1e-1, 1e-2], nfolds=5, seed=1, device="cpu", progress=False)
    got = cd.cv_glmnet(X, y, memory_limit=lim, **kw)
    ref = cd.cv_glmnet(X, y, **kw)
    # the limit also changes the preconditioner the solver picks (and may chunk X), so the
    # iterates differ within the solver's tolerance, not only by rounding
    np.testing.assert_allclose(got.cvm, ref.cvm, rtol=1e-6)


def _fits(n, d, K, M, limit):
    try:
        plan_memory(n, d, K, M, itemsize=8, memory_limit=int(limit))
        return True
    except InsufficientMemoryError:
        return False


def test_grouped_sweep_resumes_bit_for_bit(tmp_path):
    X, y = _digits_part()
    kw = dict(lambda_=[1e-1, 1e-2, 1e-3, 1e-4], nfolds=5, seed=1, device="cpu", progress=False, fold_batch=2)
    full = cd.cv_glmnet(X, y, checkpoint=tmp_path / "a", **kw)
    groups = sorted(p.name for p in (tmp_path / "a").iterdir() if p.is_dir())
    assert groups == ["folds_000-001", "folds_002-003", "folds_004-004"]
    # as if killed during the second group: its last two lambdas and the whole third group lost
    for name in ("lambda_0002.npz", "lambda_0003.npz"):
        (tmp_path / "a" / groups[1] / name).unlink()
    for f in (tmp_path / "a" / groups[2]).glob("lambda_*.npz"):
        f.unlink()
    # resumed with another group size asked for: the sweep keeps the grouping it began with
    resumed = cd.cv_glmnet(X, y, checkpoint=tmp_path / "a", **dict(kw, fold_batch=5))
    assert sorted(p.name for p in (tmp_path / "a").iterdir() if p.is_dir()) == groups
    np.testing.assert_array_equal(resumed.cvm, full.cvm)
    np.testing.assert_array_equal(resumed.oof["loss"].values, full.oof["loss"].values)
