"""Array namespace, device choice, transfers and dtype policy.

Every numerical kernel in classdep takes arrays and asks :func:`namespace` for their
array-API namespace, so the same code runs on NumPy, CuPy and (in the test suite)
array-api-strict.  Nothing in this module imports CuPy unless a GPU is asked for.
"""

from __future__ import annotations

import functools
from typing import Any

import numpy as np
from array_api_compat import array_namespace, is_cupy_namespace, is_numpy_namespace

__all__ = [
    "namespace",
    "gpu_available",
    "resolve_device",
    "asarray",
    "to_numpy",
    "default_dtype",
    "solve_pd",
    "cho_factor",
    "cho_solve",
    "eigh",
]


def namespace(*arrays: Any):
    """Array-API namespace of ``arrays`` (NumPy, CuPy, array-api-strict, ...).

    Examples
    --------
    >>> import numpy as np
    >>> namespace(np.ones(3)).__name__
    'array_api_compat.numpy'
    """
    return array_namespace(*arrays)


@functools.cache
def gpu_available() -> bool:
    """True when CuPy imports and sees at least one CUDA device.

    Examples
    --------
    >>> isinstance(gpu_available(), bool)
    True
    """
    try:
        import cupy

        return cupy.cuda.runtime.getDeviceCount() > 0
    except Exception:  # noqa: BLE001 - any CuPy/CUDA failure means "no GPU"
        return False


def resolve_device(device: str = "auto") -> str:
    """Turn ``"auto" | "cpu" | "gpu"`` into ``"cpu"`` or ``"gpu"``.

    ``"auto"`` picks the GPU when one is usable; ``"gpu"`` without one is an error
    that says how to get CuPy, rather than a silent fall-back to the CPU.

    Examples
    --------
    >>> resolve_device("cpu")
    'cpu'
    """
    if device not in ("auto", "cpu", "gpu"):
        raise ValueError(f"device={device!r} is not one of 'auto', 'cpu', 'gpu'.")
    if device == "auto":
        return "gpu" if gpu_available() else "cpu"
    if device == "gpu" and not gpu_available():
        raise RuntimeError(
            "device='gpu' was asked for but no CUDA device is usable through CuPy; "
            "install the 'gpu' extra (pip install 'classdep[gpu]') on a machine with a GPU, "
            "or pass device='cpu'."
        )
    return device


def default_dtype(device: str):
    """Float64 on the CPU (objective accurate to ~1e-12), float32 on a GPU (~1e-6).

    Examples
    --------
    >>> default_dtype("cpu")
    <class 'numpy.float64'>
    """
    return np.float32 if device == "gpu" else np.float64


def asarray(x: Any, device: str = "cpu", dtype=None):
    """Move ``x`` to ``device`` ("cpu" → NumPy, "gpu" → CuPy) with ``dtype``.

    Examples
    --------
    >>> asarray([1, 2], dtype=np.float32).dtype
    dtype('float32')
    """
    if device == "gpu":
        import cupy

        return cupy.asarray(x, dtype=dtype)
    return np.asarray(to_numpy(x) if not isinstance(x, np.ndarray) else x, dtype=dtype)


def to_numpy(x: Any) -> np.ndarray:
    """Copy any array (NumPy, CuPy, array-api-strict, xarray) to a NumPy array.

    Examples
    --------
    >>> to_numpy([1.0, 2.0])
    array([1., 2.])
    """
    if hasattr(x, "get") and type(x).__module__.startswith("cupy"):
        return x.get()
    if hasattr(x, "values") and hasattr(x, "dims"):  # xarray
        return np.asarray(x.values)
    try:
        return np.asarray(x)
    except (TypeError, ValueError):
        # array-api-strict refuses the implicit __array__; go through DLPack.
        return np.from_dlpack(x)


def cho_factor(xp, a):
    """Cholesky factors of a batch of symmetric positive definite matrices (B, N, N).

    The array API standard has a Cholesky but no triangular solve, so each library
    gets its own route: SciPy's LAPACK for NumPy, cuSOLVER for CuPy, and for any
    other namespace the matrices themselves, solved later by ``xp.linalg.solve``.

    Examples
    --------
    >>> import array_api_compat.numpy as xp
    >>> f = cho_factor(xp, np.eye(2)[None] * 4.0)
    >>> cho_solve(xp, f, np.ones((1, 2, 1)))[0, :, 0]
    array([0.25, 0.25])
    """
    if is_numpy_namespace(xp):
        import scipy.linalg

        a = np.asarray(a)
        return ("numpy", [scipy.linalg.cho_factor(a[i], lower=True, check_finite=False)
                          for i in range(a.shape[0])])
    if is_cupy_namespace(xp):
        import cupy

        return ("cupy", cupy.linalg.cholesky(a))
    return ("generic", a)


def cho_solve(xp, factor, b):
    """Solve with the factors of :func:`cho_factor`; ``b`` has shape (B, N, R).

    Examples
    --------
    >>> import array_api_compat.numpy as xp
    >>> f = cho_factor(xp, np.eye(2)[None] * 4.0)
    >>> cho_solve(xp, f, np.ones((1, 2, 1)))[0, :, 0].tolist()
    [0.25, 0.25]
    """
    kind, f = factor
    if kind == "numpy":
        import scipy.linalg

        b = np.asarray(b)
        if b.shape[-1] == 1 and f and b.dtype == f[0][0].dtype:
            # One right-hand side: two BLAS triangular solves on the (Fortran-ordered)
            # factor.  SciPy's cho_solve adds per-call checks and LAPACK's potrs solves
            # through a blocked trsm, which costs more than it saves for one vector
            # (measured in benchmarks/RESULTS.md).
            trsv = scipy.linalg.blas.get_blas_funcs("trsv", (b,))
            out = np.empty(b.shape, dtype=b.dtype)
            for i, (c, lower) in enumerate(f):
                t = trsv(c, b[i, :, 0], lower=int(lower), trans=0)
                out[i, :, 0] = trsv(c, t, lower=int(lower), trans=1, overwrite_x=1)
            return out
        return np.stack([scipy.linalg.cho_solve(f[i], b[i], check_finite=False)
                         for i in range(len(f))])
    if kind == "cupy":
        import cupy
        from cupyx.scipy.linalg import solve_triangular

        out = cupy.empty_like(b)
        for i in range(f.shape[0]):
            t = solve_triangular(f[i], b[i], lower=True)
            out[i] = solve_triangular(f[i], t, lower=True, trans="T")
        return out
    return xp.linalg.solve(f, b)


def solve_pd(xp, a, b):
    """Solve ``a @ x = b`` for a batch of symmetric positive definite ``a`` (B, N, N).

    Examples
    --------
    >>> import array_api_compat.numpy as xp
    >>> solve_pd(xp, np.eye(2)[None] * 2.0, np.ones((1, 2, 1)))[0, :, 0]
    array([0.5, 0.5])
    """
    return cho_solve(xp, cho_factor(xp, a), b)


def eigh(xp, a):
    """Symmetric eigendecomposition in ``xp`` (``xp.linalg.eigh``).

    Examples
    --------
    >>> import array_api_compat.numpy as xp
    >>> w, v = eigh(xp, np.diag([2.0, 1.0]))
    >>> w
    array([1., 2.])
    """
    return xp.linalg.eigh(a)
