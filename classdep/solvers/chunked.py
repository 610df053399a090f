"""Features read in row chunks: ``X`` larger than memory (or than the GPU's memory).

A :class:`ChunkedFeatures` stands in for the centred, scaled feature matrix of a
:class:`~classdep.solvers.objective.Problem` without ever holding it whole.  It keeps
the *source* (a NumPy memmap, a zarr array, a dask array, or a host NumPy array when
``X`` does not fit on the GPU) and reads ``chunk_rows`` rows at a time, centres and
scales them exactly as the in-memory route does (in float64, then cast), moves them to
the device and does one matrix product per chunk.  The solvers only ever need

* ``X @ V`` and ``X.T @ R`` (gradients, Hessian-vector products),
* ``X.T @ diag(w) X`` (the Kronecker preconditioner's feature factor),
* the rows ``X[idx]`` (the curvature-sampled Hessian and the class blocks),
* per-chunk sums (the exact Hessian),

so those are its whole interface (:func:`row_blocks`, :func:`take_rows`,
:func:`weighted_gram` and :func:`cast_features` dispatch between it and a plain array).
Results equal the in-memory ones up to the order of floating-point sums across chunks
(about 1e-15 relative).

:func:`scan_features` makes the one pass over the source that set-up needs: it checks
that every value is finite and returns the weighted means and the constant columns
(and, with ``standardize``, the weighted standard deviations, in a second pass).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np

from ..backend import asarray

__all__ = ["ChunkedFeatures", "is_out_of_core", "scan_features", "aligned_rows", "read_rows", "row_blocks",
           "take_rows", "weighted_gram", "cast_features"]


# Rows per block of an in-memory weighted Gram matrix, at most: a block's product costs
# 2 rows d^2 flops in one BLAS call, during which Python cannot act on a Ctrl-C or an
# alarm.  Blocks are cut to about _GRAM_BLOCK_FLOPS (a fraction of a second on one core)
# so that an interrupt gets through between them.
_GRAM_ROWS = 65536
_GRAM_BLOCK_FLOPS = 2e9


def is_out_of_core(x: Any) -> bool:
    """Whether ``x`` is an array that classdep should read in row chunks.

    NumPy memmaps, zarr arrays and dask arrays are; anything else is read into memory.

    Examples
    --------
    >>> import numpy as np
    >>> is_out_of_core(np.zeros((2, 2)))
    False
    >>> import dask.array as da
    >>> is_out_of_core(da.zeros((4, 2), chunks=2))
    True
    """
    if isinstance(x, np.memmap):
        return True
    mod = type(x).__module__.split(".")[0]
    return mod in ("zarr", "dask")


def aligned_rows(source, rows: int) -> int:
    """``rows`` rounded down to whole row chunks of a zarr or dask ``source`` (if one fits).

    A read that straddles two of the source's chunks decodes both; aligned reads decode
    each chunk once per pass.

    Examples
    --------
    >>> import dask.array as da
    >>> aligned_rows(da.zeros((100, 2), chunks=(30, 2)), 70)
    60
    """
    chunks = getattr(source, "chunks", None)
    if not chunks:
        return rows
    first = chunks[0]
    step = int(first[0]) if isinstance(first, tuple) else int(first)  # dask: tuple per axis
    return rows - rows % step if rows >= step > 0 else rows


def read_rows(source, a: int, b: int, dtype=np.float64) -> np.ndarray:
    """Rows ``a:b`` of an in-memory or out-of-core array as NumPy (``dtype=None``: as stored).

    Examples
    --------
    >>> import dask.array as da
    >>> read_rows(da.arange(6, chunks=2).reshape(3, 2), 1, 3).tolist()
    [[2.0, 3.0], [4.0, 5.0]]
    """
    block = source[a:b]
    if hasattr(block, "compute"):  # dask: materialize this chunk only
        block = block.compute()
    return np.asarray(block, dtype=dtype)



def scan_features(source, wbar: np.ndarray, chunk_rows: int, *, standardize: bool = False,
                  intercept: bool = True, name: str = "x"):
    """One pass over ``source``: ``(center, const, sd)`` with the checks set-up needs.

    ``center`` is the ``wbar``-weighted column mean (zeros without an intercept: centring
    is then not a reparameterization), ``const`` marks the columns whose
    values are all equal, ``sd`` is the weighted standard deviation of the centred
    columns (ones unless ``standardize``; a second pass, as for the in-memory route).
    A NaN or inf anywhere raises ``ValueError`` naming the first bad row.

    Examples
    --------
    >>> import numpy as np
    >>> X = np.arange(12.0).reshape(6, 2)
    >>> center, const, sd = scan_features(X, np.full(6, 1 / 6), 4)
    >>> center.tolist(), const.tolist()
    ([5.0, 6.0], [False, False])
    """
    n, d = source.shape
    center = np.zeros(d)
    lo = np.full(d, np.inf)
    hi = np.full(d, -np.inf)
    for a in range(0, n, chunk_rows):
        b = min(a + chunk_rows, n)
        x = read_rows(source, a, b)
        if not np.isfinite(x).all():
            row = a + int(np.nonzero(~np.isfinite(x).all(axis=1))[0][0])
            raise ValueError(
                f"{name} has NaN or inf values (first in row {row}); remove or impute them "
                "before fitting."
            )
        center += wbar[a:b] @ x
        lo = np.minimum(lo, x.min(axis=0))
        hi = np.maximum(hi, x.max(axis=0))
    const = hi == lo
    if not intercept:
        center = np.zeros(d)
    sd = np.ones(d)
    if standardize:
        m1 = np.zeros(d)
        m2 = np.zeros(d)
        for a in range(0, n, chunk_rows):
            b = min(a + chunk_rows, n)
            xc = read_rows(source, a, b) - center
            if intercept:
                xc[:, const] = 0.0
            m1 += wbar[a:b] @ xc
            m2 += wbar[a:b] @ (xc * xc)
        sd = np.sqrt(np.maximum(m2 - m1 ** 2, 0.0))
        sd[(sd == 0) | const] = 1.0
    return center, const, sd


class ChunkedFeatures:
    """Centred, scaled features ``(source - center) / sd`` read ``chunk_rows`` rows at a time.

    Parameters
    ----------
    source : array-like (n, d)
        Anything sliced by rows into NumPy-convertible blocks: ``np.memmap``, zarr or
        dask arrays, or a host NumPy array.
    center, sd : np.ndarray (d,)
        What to subtract and divide by (see :func:`scan_features`).
    const : np.ndarray of bool (d,)
        Constant columns, set to exactly zero after centring.
    device : {"cpu", "gpu"}
    dtype : NumPy float dtype of the blocks handed to the solver.
    chunk_rows : int
        Rows per block.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(10, 3))
    >>> c = X.mean(axis=0)
    >>> F = ChunkedFeatures(X, c, np.ones(3), np.zeros(3, bool), "cpu", np.float64, 4)
    >>> V = rng.normal(size=(3, 2))
    >>> bool(np.allclose(F @ V, (X - c) @ V)), bool(np.allclose(F.T @ (F @ V), (X - c).T @ ((X - c) @ V)))
    (True, True)
    """

    ndim = 2

    def __init__(self, source, center, sd, const, device: str, dtype, chunk_rows: int):
        if chunk_rows < 1:
            raise ValueError(f"chunk_rows={chunk_rows} must be a positive integer.")
        self.source = source
        self.center = np.asarray(center, dtype=np.float64)
        self.sd = np.asarray(sd, dtype=np.float64)
        self.const = np.asarray(const, dtype=bool)
        self.device = device
        self.dtype = np.dtype(dtype)
        self.chunk_rows = int(chunk_rows)
        self.shape = (int(source.shape[0]), int(source.shape[1]))

    def __repr__(self) -> str:
        n, d = self.shape
        return (f"ChunkedFeatures({n} x {d}, {self.dtype}, {self.device}, "
                f"{self.chunk_rows} rows a chunk, source {type(self.source).__name__})")

    @property
    def nbytes(self) -> int:
        """Bytes the whole matrix would take in ``dtype``."""
        return self.shape[0] * self.shape[1] * self.dtype.itemsize

    @property
    def T(self) -> _Transposed:
        return _Transposed(self)

    def astype(self, dtype) -> ChunkedFeatures:
        """The same features handed out in another dtype (no data is read)."""
        return ChunkedFeatures(self.source, self.center, self.sd, self.const, self.device, dtype,
                               self.chunk_rows)

    def block(self, a: int, b: int):
        """Rows ``a:b``, centred and scaled, on the device in ``dtype``."""
        return asarray(self._centred(read_rows(self.source, a, b)), self.device, self.dtype)

    def _centred(self, x: np.ndarray) -> np.ndarray:
        # one float64 copy (a memmap's block is a read-only view), then in place
        x = np.array(x, dtype=np.float64, copy=True)
        np.subtract(x, self.center, out=x)
        np.divide(x, self.sd, out=x)
        x[:, self.const] = 0.0
        return x

    def row_chunks(self) -> Iterator[tuple[int, int, Any]]:
        """``(start, stop, block)`` over all rows."""
        n = self.shape[0]
        for a in range(0, n, self.chunk_rows):
            b = min(a + self.chunk_rows, n)
            yield a, b, self.block(a, b)

    def __matmul__(self, V):
        out = None
        for a, b, x in self.row_chunks():
            part = x @ V
            if out is None:
                out = _empty_like_rows(part, self.shape[0])
            out[a:b, ...] = part
        return out

    def take(self, idx) -> Any:
        """Rows ``idx`` (increasing indices), centred and scaled, on the device.

        Reads only the chunks that hold a requested row, each once.
        """
        idx = np.asarray(_host(idx), dtype=np.int64)
        parts = []
        for a in range(0, self.shape[0], self.chunk_rows):
            b = min(a + self.chunk_rows, self.shape[0])
            sel = idx[(idx >= a) & (idx < b)]
            if sel.size:
                parts.append(self._centred(read_rows(self.source, a, b)[sel - a]))
        x = np.concatenate(parts, axis=0) if parts else np.zeros((0, self.shape[1]))
        return asarray(x, self.device, self.dtype)

    def gram(self, w):
        """``X.T @ diag(w) @ X`` for weights ``w`` (n,) on the device."""
        out = None
        for a, b, x in self.row_chunks():
            part = x.T @ (x * w[a:b][:, None])
            out = part if out is None else out + part
        return out


class _Transposed:
    """``X.T`` of a :class:`ChunkedFeatures`: only ``@`` is defined (a sum over chunks)."""

    ndim = 2

    def __init__(self, parent: ChunkedFeatures):
        self.parent = parent
        self.shape = parent.shape[::-1]
        self.dtype = parent.dtype

    def __matmul__(self, R):
        out = None
        for a, b, x in self.parent.row_chunks():
            part = x.T @ R[a:b, ...]
            out = part if out is None else out + part
        return out


def _host(a) -> np.ndarray:
    if hasattr(a, "get") and type(a).__module__.startswith("cupy"):
        return a.get()
    return np.asarray(a)


def _empty_like_rows(part, n: int):
    """An uninitialized (n, ...) array in ``part``'s library, dtype and device."""
    if type(part).__module__.startswith("cupy"):
        import cupy

        return cupy.empty((n,) + part.shape[1:], dtype=part.dtype)
    return np.empty((n,) + part.shape[1:], dtype=part.dtype)


def row_blocks(X) -> Iterator[tuple[int, int, Any]]:
    """``(start, stop, block)`` over the rows of ``X``: one block for an in-memory array.

    Examples
    --------
    >>> import numpy as np
    >>> [(a, b) for a, b, _ in row_blocks(np.zeros((5, 2)))]
    [(0, 5)]
    """
    if isinstance(X, ChunkedFeatures):
        yield from X.row_chunks()
    else:
        yield 0, X.shape[0], X


def take_rows(xp, X, idx):
    """Rows ``idx`` of ``X`` (in-memory or chunked).

    Examples
    --------
    >>> import array_api_compat.numpy as xp
    >>> take_rows(xp, xp.asarray([[1.0], [2.0], [3.0]]), xp.asarray([0, 2])).tolist()
    [[1.0], [3.0]]
    """
    if isinstance(X, ChunkedFeatures):
        return X.take(idx)
    return xp.take(X, idx, axis=0)


def weighted_gram(xp, X, w):
    """``X.T @ diag(w) @ X`` (in-memory or chunked).

    Examples
    --------
    >>> import array_api_compat.numpy as xp
    >>> weighted_gram(xp, xp.asarray([[1.0], [2.0]]), xp.asarray([0.5, 0.5])).tolist()
    [[2.5]]
    """
    if isinstance(X, ChunkedFeatures):
        return X.gram(w)
    # in row blocks: no temporary the size of X (the memory plan counts none)
    n, d = X.shape
    rows = int(min(_GRAM_ROWS, max(256, _GRAM_BLOCK_FLOPS // (2 * d * d + 1))))
    out = None
    for a in range(0, n, rows):
        b = min(a + rows, n)  # the array API leaves out-of-bounds stops unspecified
        Xb = X[a:b, ...]
        part = Xb.T @ (Xb * w[a:b][:, None])
        out = part if out is None else out + part
    return out


def cast_features(xp, X, dtype):
    """``X`` in ``dtype`` (a chunked ``X`` stays chunked and casts each block as it is read).

    Examples
    --------
    >>> import array_api_compat.numpy as xp
    >>> cast_features(xp, xp.ones((2, 2)), xp.float32).dtype
    dtype('float32')
    """
    if isinstance(X, ChunkedFeatures):
        return X.astype(dtype)
    return xp.astype(X, dtype)
