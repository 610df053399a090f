"""Out-of-core features: memmap, zarr and dask arrays read in row chunks give the in-memory results.

The chunked route is forced with ``memory_limit`` (the memory plan then finds that X
does not fit beside the fit's working arrays).  References are the same fits on the
in-memory array; tolerances: the exact-Newton route to 1e-12 (only the order of sums
across chunks differs), Newton-CG's objective to 1e-10 relative (CG's iterates follow
the rounding), held-out measures to 1e-8.
"""

from __future__ import annotations

import tracemalloc

import dask.array as da
import numpy as np
import pytest
import zarr
from builders import noise

import classdep as cd
from classdep.backend import gpu_available
from classdep.solvers.chunked import ChunkedFeatures, scan_features
from classdep.solvers.memory import plan_memory


def _data(n=4000, d=12, K=3, seed=0):
    """Features of unequal scales and means, class k shifted along feature k, a constant column."""
    rng = np.random.default_rng(seed)
    X, y = noise(n, d, K, rng, signal=1.5)
    X = X * rng.uniform(0.5, 3.0, d) + rng.normal(size=d)
    X[:, d - 1] = 4.0  # a constant column, zeroed after centring on both routes
    return X, y


def _limit(n, d, K, M=1, rows=300):
    """The smallest memory_limit (on a 2 % grid) under which X is read in chunks of >= ``rows`` rows."""
    for lim in np.geomspace(2**16, 2**34, 800):
        try:
            plan = plan_memory(n, d, K, M, itemsize=8, memory_limit=int(lim))
        except MemoryError:
            continue
        if plan.x_resident:
            break
        if plan.chunk_rows >= rows:
            return int(lim)
    raise AssertionError(f"no memory_limit reads {n} x {d} in chunks of {rows} rows")


def _memmap(tmp_path, X):
    path = tmp_path / "x.npy"
    mm = np.lib.format.open_memmap(path, mode="w+", dtype=X.dtype, shape=X.shape)
    mm[:] = X
    mm.flush()
    return np.load(path, mmap_mode="r")


@pytest.fixture(params=["memmap", "zarr", "dask"])
def source(request, tmp_path):
    X, y = _data()
    if request.param == "memmap":
        src = _memmap(tmp_path, X)
    elif request.param == "zarr":
        src = zarr.create_array(store=str(tmp_path / "x.zarr"), shape=X.shape, chunks=(700, X.shape[1]),
                                dtype="f8")
        src[:] = X
    else:
        src = da.from_array(X, chunks=(900, X.shape[1]))
    return src, X, y


def test_plan_reads_x_in_chunks(source):
    src, X, y = source
    lim = _limit(*X.shape, 3)
    plan = cd.memory_plan(src, y, device="cpu", memory_limit=lim)
    assert not plan.x_resident
    assert 256 <= plan.chunk_rows < X.shape[0] // 2


@pytest.mark.parametrize("standardize,intercept", [(False, True), (True, True), (True, False)])
def test_exact_newton_matches_in_memory(source, standardize, intercept):
    src, X, y = source
    lim = _limit(*X.shape, 3)
    kw = dict(lambda_=[1.0, 1e-2, 1e-4], device="cpu", standardize=standardize, intercept=intercept,
              solver="newton")
    ref = cd.glmnet(X, y, **kw)
    got = cd.glmnet(src, y, memory_limit=lim, **kw)
    np.testing.assert_allclose(got.path["coef"].values, ref.path["coef"].values, rtol=0, atol=1e-12)
    np.testing.assert_allclose(got.path["intercept"].values, ref.path["intercept"].values, rtol=0, atol=1e-12)
    np.testing.assert_allclose(got.path["dev_ratio"].values, ref.path["dev_ratio"].values, rtol=1e-12)


@pytest.mark.parametrize("preconditioner", ["kronecker", "block", "hessian"])
def test_newton_cg_matches_in_memory(tmp_path, preconditioner):
    X, y = _data(n=3000, d=10, K=4, seed=1)
    src = _memmap(tmp_path, X)
    lim = _limit(*X.shape, 4)
    kw = dict(lambda_=[1e-1, 1e-3, 1e-5], device="cpu", solver="newton-cg", preconditioner=preconditioner)
    ref = cd.glmnet(X, y, **kw)
    got = cd.glmnet(src, y, memory_limit=lim, **kw)
    f_ref, f_got = ref.path["objective"].values, got.path["objective"].values
    np.testing.assert_allclose(f_got, f_ref, rtol=1e-10)
    assert got.path["converged"].values.all()
    # At lambda = 1e-5 the coefficients are determined only to sqrt(2 gap / lambda)
    # (strong convexity), about 1e-3 here: compare them where that is below 1e-6, and
    # the fitted probabilities everywhere.
    scale = np.abs(ref.path["coef"].values).max()
    np.testing.assert_allclose(got.path["coef"].values[:2], ref.path["coef"].values[:2], rtol=0,
                               atol=1e-6 * scale)
    p_ref = cd.predict(ref, X, type="response").values
    p_got = cd.predict(got, X, type="response").values
    np.testing.assert_allclose(p_got, p_ref, rtol=0, atol=1e-5)


def test_cv_glmnet_and_predict_match_in_memory(tmp_path):
    X, y = _data(n=3000, d=10, K=3, seed=2)
    src = _memmap(tmp_path, X)
    lim = _limit(*X.shape, 3, M=5)
    kw = dict(lambda_=[1e-1, 1e-2, 1e-3], nfolds=5, seed=0, device="cpu", progress=False)
    ref = cd.cv_glmnet(X, y, **kw)
    got = cd.cv_glmnet(src, y, memory_limit=lim, **kw)
    np.testing.assert_allclose(got.cvm, ref.cvm, rtol=1e-8)
    assert got.lambda_min == ref.lambda_min
    # predict on an out-of-core newx reads it in chunks too: same fit, same probabilities
    p_ref = cd.predict(got.fit, X, s=1e-2, type="response").values
    p_got = cd.predict(got.fit, src, s=1e-2, type="response").values
    np.testing.assert_allclose(p_got, p_ref, rtol=0, atol=1e-14)
    # the two fits agree within the solver's tolerance (the limit changes the preconditioner
    # the solver picks, so their iterates differ by more than rounding)
    p_ref = cd.predict(ref.fit, X, s=1e-2, type="response").values
    np.testing.assert_allclose(p_got, p_ref, rtol=0, atol=1e-6)


def test_dask_backed_xarray_is_not_loaded(tmp_path):
    import xarray as xr

    X, y = _data(n=2000, d=8, K=3, seed=3)
    xa = xr.DataArray(da.from_array(X, chunks=(500, 8)), dims=("sample", "feature"),
                      coords={"feature": [f"f{j}" for j in range(8)]})
    lim = _limit(*X.shape, 3, rows=256)
    assert not cd.memory_plan(xa, y, device="cpu", memory_limit=lim).x_resident
    got = cd.glmnet(xa, y, lambda_=[1e-2], device="cpu", memory_limit=lim, solver="newton")
    ref = cd.glmnet(X, y, lambda_=[1e-2], device="cpu", solver="newton")
    assert list(got.path["feature"].values) == [f"f{j}" for j in range(8)]
    np.testing.assert_allclose(got.path["coef"].values, ref.path["coef"].values, rtol=0, atol=1e-12)


def test_chunked_fit_never_holds_x(tmp_path):
    """The traced peak of a chunked fit stays below the size of X itself."""
    X, y = _data(n=20000, d=120, K=3, seed=4)
    src = _memmap(tmp_path, X)
    del X
    lim = _limit(*src.shape, 3, rows=400)
    tracemalloc.start()
    try:
        fit = cd.glmnet(src, y, lambda_=[1e-1, 1e-2], device="cpu", memory_limit=lim, solver="newton-cg")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert fit.path["converged"].values.all()
    assert peak < 0.6 * src.nbytes, (peak, src.nbytes)


def test_nan_in_a_late_chunk_names_its_row(tmp_path):
    X, y = _data(n=3000, d=10, K=3)
    X[2777, 4] = np.nan
    src = _memmap(tmp_path, X)
    with pytest.raises(ValueError, match="NaN or inf values \\(first in row 2777\\)"):
        cd.glmnet(src, y, lambda_=[0.1], device="cpu", memory_limit=_limit(*X.shape, 3))


def test_augment_needs_resident_features(tmp_path):
    X, y = _data(n=3000, d=10, K=3)
    src = _memmap(tmp_path, X)
    with pytest.raises(ValueError, match="augment= needs the features in memory"):
        cd.glmnet(src, y, lambda_=[0.1], device="cpu", memory_limit=_limit(*X.shape, 3),
                  augment=dict(kind="gaussian", strength=0.1))


def test_small_out_of_core_x_is_read_whole(tmp_path):
    X, y = _data(n=500, d=5, K=3)
    src = _memmap(tmp_path, X)
    assert cd.memory_plan(src, y, device="cpu").x_resident
    got = cd.glmnet(src, y, lambda_=[1e-2], device="cpu")
    ref = cd.glmnet(X, y, lambda_=[1e-2], device="cpu")
    np.testing.assert_array_equal(got.path["coef"].values, ref.path["coef"].values)


@pytest.mark.parametrize("chunk_rows", [1, 7, 64, 1000])
def test_chunked_features_products_equal_dense(chunk_rows):
    rng = np.random.default_rng(chunk_rows)
    X = rng.normal(size=(300, 6)) * 3 + 1
    X[:, 2] = -1.0
    w = rng.dirichlet(np.ones(300))
    center, const, sd = scan_features(X, w, 50, standardize=True)
    np.testing.assert_allclose(center, w @ X, rtol=1e-13)
    assert const.tolist() == [False, False, True, False, False, False]
    Xc = X - center
    Xc[:, const] = 0.0
    np.testing.assert_allclose(sd[~const], np.sqrt(w @ Xc ** 2 - (w @ Xc) ** 2)[~const], rtol=1e-12)
    Xc = Xc / sd
    F = ChunkedFeatures(X, center, sd, const, "cpu", np.float64, chunk_rows)
    V = rng.normal(size=(6, 4))
    R = rng.normal(size=(300, 4))
    idx = np.sort(rng.choice(300, 40, replace=False))
    np.testing.assert_allclose(F @ V, Xc @ V, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(F.T @ R, Xc.T @ R, rtol=1e-12, atol=1e-11)
    np.testing.assert_allclose(F.take(idx), Xc[idx], rtol=0, atol=0)
    np.testing.assert_allclose(F.gram(w), Xc.T @ (Xc * w[:, None]), rtol=1e-12, atol=1e-14)
    assert F.astype(np.float32).block(0, 5).dtype == np.float32


@pytest.mark.gpu
@pytest.mark.skipif(not gpu_available(), reason="needs CuPy and a CUDA device")
def test_host_features_streamed_to_the_gpu_match_the_cpu(tmp_path):
    """X larger than the GPU's share: chunks move to the device one at a time."""
    X, y = _data(n=4000, d=12, K=3)
    lim = _limit(*X.shape, 3)
    kw = dict(lambda_=[1e-1, 1e-2], solver="newton-cg", preconditioner="kronecker", dtype=np.float64)
    ref = cd.glmnet(X, y, device="cpu", **kw)
    assert not cd.memory_plan(X, y, device="gpu", dtype=np.float64, memory_limit=lim).x_resident
    got = cd.glmnet(X, y, device="gpu", memory_limit=lim, **kw)
    np.testing.assert_allclose(got.path["objective"].values, ref.path["objective"].values, rtol=1e-10)
