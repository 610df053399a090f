"""The memory plan: will a fit fit, and how should ``X`` be read?

Before any work starts, :func:`plan_memory` estimates what a path needs on the device
(the host for ``device="cpu"``):

* the working arrays of the fold batch: logits, probabilities, residuals, line-search
  and CG directions, each ``n x M x K`` (samples x batch members x classes);
* the smallest preconditioner (the Kronecker factors, ``d x d`` and ``M K x K``);
* the features, ``n x d``, if they are to stay resident.

It also chooses the *route* (:func:`~classdep.solvers.sample_space.choose_route`): with
more features than rows the path is solved on ``r = min(n, d)`` reduced features
(:mod:`classdep.solvers.sample_space`), and the plan then counts the reduced problem
(working arrays and preconditioner with ``d`` replaced by ``r``), the reduced features
and their basis, and the peak of the one QR factorization that makes them
(:data:`SAMPLE_X_COPIES` arrays the size of ``X``, in float64).

When the features do not fit beside the working arrays, they are read in row chunks
(:class:`~classdep.solvers.chunked.ChunkedFeatures`), sized to half of what is
left; when even the working arrays do not fit, :class:`InsufficientMemoryError` says so
with the numbers and what to change, before anything is computed.

The constant :data:`WORK_ARRAYS` was measured, not guessed: the peak traced memory of
a 5-fold batch (tracemalloc, NumPy) over ``n M K`` float64 numbers; see
``tests/test_memory_plan.py``, which checks the estimate against the measured peak.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, fields

import xarray as xr

from ..result import Result, Table
from .class_blocks import ClassBlockFactor
from .hessian import HessianFactor
from .kronecker import KroneckerFactor
from .sample_space import choose_route

__all__ = ["MemoryPlan", "InsufficientMemoryError", "plan_memory", "available_bytes", "parse_bytes",
           "pick_preconditioner", "fold_batch_size", "WORK_ARRAYS", "X_COPIES", "PRECOND_PEAK",
           "SAMPLE_X_COPIES"]

# Peak number of live (n, M, K) arrays in the work dtype during a Newton-CG path
# (logits, probabilities, gradient residual, line-search direction and trial logits,
# CG's product intermediates, the host copies of the curvature-row selection), and of
# X-sized temporaries (the features with a column of ones, their cast for the
# preconditioner).  Measured by tests/test_memory_plan.py: 7.5-9.4 (n, M, K) arrays
# beside the preconditioner on 5-fold batches of 20 classes.
WORK_ARRAYS = 10
X_COPIES = 2
# A preconditioner at its peak holds its matrices and their factors, and a temporary.
PRECOND_PEAK = 1.5
# Fraction of the free memory a plan may use: the rest is for the allocator's slack,
# the Python objects and the other processes.
USABLE_FRACTION = 0.8
# Fewer rows a chunk than this and the per-chunk overhead dominates the products.
MIN_CHUNK_ROWS = 256
# A chunk is read in float64, then centred and scaled (two float64 temporaries at most).
_CHUNK_COPIES = 3
# Arrays the size of X (float64) live at the peak of the sample-space route's set-up: the
# centred features, and inside the QR factorization (numpy.linalg.qr) their copy, LAPACK's
# working copy of it, the basis Q and its working copy.  The route's measured peak (RSS,
# tests/test_wide_features.py) stays below the plan's estimate with this count.
SAMPLE_X_COPIES = 5


def pick_preconditioner(n: int, d: int, K: int, M: int, family: str, itemsize: int,
                        budget: int) -> tuple[str, int]:
    """``(name, bytes)`` of the preconditioner ``"auto"`` picks within ``budget`` bytes.

    The exact Hessian when it fits and ``(d+1) K <= 8000`` (its factorization stays
    cheap), else the per-class blocks (multinomial) when they fit, else the Kronecker
    factors, which need only ``d x d`` and ``M K x K`` matrices.

    Examples
    --------
    >>> pick_preconditioner(20000, 256, 100, 1, "multinomial", 8, 2**30)
    ('block', 187918400)
    """
    D1K = (d + 1) * K if family == "multinomial" else d + 1
    hb = HessianFactor.nbytes(n, d, K, M, family=family, itemsize=itemsize)
    if hb <= budget and D1K <= 8000:
        return "hessian", hb
    cb = ClassBlockFactor.nbytes(n, d, K, M, family=family, itemsize=itemsize)
    if family == "multinomial" and cb <= budget:
        return "block", cb
    return "kronecker", KroneckerFactor.nbytes(n, d, K, M, family=family, itemsize=itemsize)


def fold_batch_size(n: int, d: int, K: int, nfolds: int, *, itemsize: int, device: str = "cpu",
                    memory_limit=None, family: str = "multinomial", route: str = "auto") -> int:
    """The most folds that one batch can solve together within the memory plan.

    Raises :class:`InsufficientMemoryError` (with one fold's numbers) when not even one
    fold fits.

    Examples
    --------
    >>> fold_batch_size(60000, 128, 10, 10, itemsize=8, memory_limit="1GB")
    10
    >>> fold_batch_size(60000, 128, 10, 10, itemsize=8, memory_limit="200MB")
    3
    """
    kw = dict(itemsize=itemsize, device=device, memory_limit=memory_limit, family=family, route=route)
    for G in range(nfolds, 1, -1):
        try:
            plan_memory(n, d, K, G, **kw)
            return G
        except InsufficientMemoryError:
            continue
    plan_memory(n, d, K, 1, **kw)
    return 1


class InsufficientMemoryError(MemoryError):
    """A fit cannot fit in the memory available, even with ``X`` read in chunks."""


def _gib(b: float) -> str:
    """A byte count in the largest binary unit that keeps it at 1 or more."""
    for unit, p in (("GiB", 30), ("MiB", 20), ("KiB", 10)):
        if b >= 2**p:
            return f"{b / 2**p:.3g} {unit}"
    return f"{int(b)} B"


def parse_bytes(value) -> int:
    """Bytes from an int or a string such as ``"8GB"``, ``"512 MiB"`` or ``"2e9"``.

    Examples
    --------
    >>> parse_bytes("1.5GiB"), parse_bytes("2 GB"), parse_bytes(1000)
    (1610612736, 2000000000, 1000)
    """
    if isinstance(value, int | float) and not isinstance(value, bool):
        if value <= 0:
            raise ValueError(f"memory_limit={value!r} must be positive (bytes).")
        return int(value)
    m = re.fullmatch(r"\s*([0-9.eE+]+)\s*([KMGT]?i?B)?\s*", str(value))
    if m is None:
        raise ValueError(
            f"memory_limit={value!r} is not a size; pass bytes (an int) or a string such as '8GB' or "
            "'512MiB'."
        )
    unit = (m.group(2) or "B").upper()
    base = 1024 if "I" in unit else 1000
    power = "BKMGT".index(unit[0])
    out = int(float(m.group(1)) * base ** power)
    if out <= 0:
        raise ValueError(f"memory_limit={value!r} must be positive.")
    return out


def available_bytes(device: str) -> int:
    """Free memory on ``device``: the GPU's free bytes, or the host's available RAM.

    Examples
    --------
    >>> available_bytes("cpu") > 0
    True
    """
    if device == "gpu":
        import cupy

        return int(cupy.cuda.runtime.memGetInfo()[0])
    try:  # MemAvailable counts reclaimable page cache, unlike SC_AVPHYS_PAGES
        with open("/proc/meminfo") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    try:
        return int(os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE"))
    except (ValueError, OSError, AttributeError):
        return 2**32


@dataclass(frozen=True, repr=False)
class MemoryPlan(Result):
    """What a fit needs and how it will read ``X``; ``print`` shows it like a small R table.

    Its numbers are the attributes of :attr:`data` (an :class:`xarray.Dataset`), whose
    ``bytes`` variable holds the estimates by part (:meth:`to_dataframe`).

    Attributes
    ----------
    n, d, K, M : int
        Samples, features, classes, batch members (folds).
    itemsize : int
        Bytes per number in the work dtype.
    device : str
    available : int
        Bytes the plan may use (free memory, or ``memory_limit``).
    work_bytes, precond_bytes, x_bytes : int
        Estimates: the fold batch's working arrays, the smallest preconditioner, ``X``.
    x_resident : bool
        Whether ``X`` is held whole on the device; otherwise read ``chunk_rows`` at a time.
    chunk_rows : int
    limited : bool
        Whether ``available`` came from ``memory_limit`` rather than the machine.

    Examples
    --------
    >>> p = plan_memory(60000, 128, 10, 5, itemsize=8, device="cpu", memory_limit="2GB")
    >>> p.x_resident, p.work_bytes == (10 * 60000 * 5 * 10 + 2 * 60000 * 129) * 8
    (True, True)
    >>> int(p.to_dataframe().loc["preconditioner", "bytes"]) == p.precond_bytes
    True
    """

    n: int
    d: int
    K: int
    M: int
    itemsize: int
    device: str
    available: int
    work_bytes: int
    precond_bytes: int
    x_bytes: int
    x_resident: bool
    chunk_rows: int
    limited: bool = False
    preconditioner: str = "kronecker"
    route: str = "feature"

    @property
    def rank(self) -> int:
        """Features the solver works on: ``d``, or ``min(n, d)`` in the sample space."""
        return min(self.n, self.d) if self.route == "sample" else self.d

    @property
    def features_bytes(self) -> int:
        """What the features take at their peak: ``X``, one chunk of it, or the sample-space
        set-up (:func:`sample_space_bytes`)."""
        if self.route == "sample":
            return sample_space_bytes(self.n, self.d, self.itemsize)
        if self.x_resident:
            return self.x_bytes
        return _chunk_bytes(self.chunk_rows, self.d, self.device, self.itemsize)

    @property
    def total_bytes(self) -> int:
        """Estimated peak: working arrays, preconditioner, and ``X`` or one chunk of it (or
        the sample-space set-up)."""
        return self.work_bytes + self.precond_bytes + self.features_bytes

    def _parts(self) -> list[tuple[str, int, str]]:
        """``(part, bytes, what)`` for the working arrays, the preconditioner and ``X``."""
        dd = "r" if self.route == "sample" else "d"
        if self.route == "sample":
            xnote = (f"sample space: r = {self.rank} reduced features and their basis, QR peak "
                     f"{SAMPLE_X_COPIES} x n d (X itself: {_gib(self.x_bytes)})")
        elif self.x_resident:
            xnote = "resident"
        else:
            xnote = f"chunks of {self.chunk_rows} rows (X itself: {_gib(self.x_bytes)})"
        return [
            ("working arrays", self.work_bytes,
             f"{WORK_ARRAYS} x n M K"
             + (f" + {X_COPIES} x n ({dd}+1)" if self.x_resident and self.preconditioner != "kronecker"
                else "")
             + f", n = {self.n}, M = {self.M}, K = {self.K}"),
            ("preconditioner", self.precond_bytes, f"{self.preconditioner} ({dd} = {self.rank})"),
            ("features X", self.features_bytes, xnote),
        ]

    def _table(self) -> Table:
        # a layout of its own (bytes in binary units, a note per line): all head lines
        src = "memory_limit" if self.limited else ("free GPU memory" if self.device == "gpu" else
                                                   "available RAM")
        rows = self._parts()
        w = max(len(r[0]) for r in rows)
        route = ("sample space (d > n: solved on the row space of x)" if self.route == "sample"
                 else "feature space")
        lines = [f"Memory plan on {self.device} ({self.itemsize * 8}-bit numbers), route: {route}", ""]
        lines += [f"  {name:<{w}}  {_gib(b):>10}   {what}" for name, b, what in rows]
        lines += ["", f"  {'estimated peak':<{w}}  {_gib(self.total_bytes):>10}",
                  f"  {'available':<{w}}  {_gib(self.available):>10}   ({src})"]
        return Table(head=lines)

    def _datasets(self) -> dict[str | None, xr.Dataset]:
        parts = self._parts() + [("estimated peak", self.total_bytes, ""), ("available", self.available, "")]
        # netCDF has no boolean attributes: flags are written as 0/1
        attrs = {f.name: int(v) if isinstance(v, bool) else v
                 for f in fields(self) for v in [getattr(self, f.name)]}
        ds = xr.Dataset({"bytes": ("part", [b for _, b, _ in parts])},
                        coords={"part": [name for name, _, _ in parts]}, attrs=attrs)
        return {self._groups[0]: ds}

    @classmethod
    def _from_groups(cls, groups) -> MemoryPlan:
        attrs = groups[cls._groups[0]].attrs
        kinds = {f.name: f.type for f in fields(cls)}
        cast = {"int": int, "str": str, "bool": lambda v: bool(int(v))}
        return cls(**{name: cast[kind](attrs[name]) for name, kind in kinds.items()})


def _remedies(M: int, itemsize: int) -> str:
    """What to change when a fit does not fit: the levers that apply to it."""
    return (("Use fewer folds (nfolds; each fold is a member), " if M > 1 else "Use ")
            + ("dtype='float32' (halves it), " if itemsize == 8 else "")
            + "fewer samples, or a machine with more memory.")


def sample_space_bytes(n: int, d: int, itemsize: int = 8) -> int:
    """Peak bytes of the sample-space route's features: the QR factorization's
    :data:`SAMPLE_X_COPIES` float64 arrays the size of ``X``, the reduced features
    (n x r) and the basis (d x r) in the work dtype, ``r = min(n, d)``.

    Examples
    --------
    >>> sample_space_bytes(50, 10000) == (5 * 50 * 10000 + 50 * 50 + 10000 * 50) * 8
    True
    """
    r = min(n, d)
    return SAMPLE_X_COPIES * n * d * 8 + (n * r + d * r) * itemsize


def _chunk_bytes(rows: int, d: int, device: str = "cpu", itemsize: int = 8) -> int:
    """Bytes one chunk of X takes where the plan counts: on the host it is read, centred
    and scaled in float64; on a GPU only the block moved there (and its product) counts."""
    if device == "gpu":
        return 2 * rows * (d + 1) * itemsize
    return _CHUNK_COPIES * rows * (d + 1) * 8


def plan_memory(n: int, d: int, K: int, M: int, *, itemsize: int, device: str = "cpu",
                memory_limit=None, family: str = "multinomial", route: str = "auto",
                rotation_invariant: bool = True) -> MemoryPlan:
    """Estimate a path's memory on ``device`` and decide how to hold ``X``.

    ``X`` stays resident (an out-of-core one is then read whole) when it fits beside
    the working arrays and the preconditioner; otherwise it is read in row chunks that
    use at most half of what is left.  ``memory_limit`` (bytes, or a
    string such as ``"8GB"``) replaces the free memory the machine reports, e.g. on a
    shared GPU.

    ``route`` (``"auto"``, ``"feature"``, ``"sample"``) and ``rotation_invariant`` (False
    for a per-feature penalty) decide the route as
    :func:`~classdep.solvers.sample_space.choose_route` does; an automatic sample space
    that does not fit in memory gives way to the feature space (whose ``X`` may be read
    in chunks).

    Raises
    ------
    InsufficientMemoryError
        When the working arrays and the preconditioner alone exceed the memory, or no
        chunk of :data:`MIN_CHUNK_ROWS` rows fits beside them; the message gives the
        numbers and the remedies.

    Examples
    --------
    >>> p = plan_memory(10**6, 2048, 100, 1, itemsize=4, device="cpu", memory_limit="8GB")
    >>> p.x_resident, p.chunk_rows >= 256
    (False, True)
    """
    limited = memory_limit is not None
    avail = parse_bytes(memory_limit) if limited else available_bytes(device)
    usable = int(avail * USABLE_FRACTION)
    where = "(memory_limit)" if limited else "free on the " + device
    work = WORK_ARRAYS * n * M * K * itemsize
    if choose_route(n, d, route, rotation_invariant=rotation_invariant) == "sample":
        # the reduced problem: r = min(n, d) features in place of d
        r = min(n, d)
        pname, pb = pick_preconditioner(n, r, K, M, family, itemsize, avail // 4)
        x_temp = 0 if pname == "kronecker" else X_COPIES * n * (r + 1) * itemsize
        precond = int(PRECOND_PEAK * pb)
        total = work + x_temp + precond + sample_space_bytes(n, d, itemsize)
        if total <= usable or route == "sample":
            if total > usable:
                raise InsufficientMemoryError(
                    f"the fit needs about {_gib(total)} in the sample space (x of {n} x {d}, reduced "
                    f"to {r} features; working arrays of n x members x classes = {n} x {M} x {K}), "
                    f"but {_gib(usable)} of {_gib(avail)} {where} can be used. Use route='auto'; "
                    + _remedies(M, itemsize))
            return MemoryPlan(n, d, K, M, itemsize, device, avail, work + x_temp, precond, n * d * itemsize,
                              True, n, limited, pname, "sample")
    # the preconditioner as the solver will pick it (a quarter of the memory), at its
    # peak (blocks + factors)
    pname, pb = pick_preconditioner(n, d, K, M, family, itemsize, avail // 4)
    # X-sized temporaries exist only when X is resident (a chunked X has chunk-sized
    # ones), and not for the Kronecker factors, which are summed in row blocks
    x_temp = 0 if pname == "kronecker" else X_COPIES * n * (d + 1) * itemsize
    precond = int(PRECOND_PEAK * pb)
    x_bytes = n * d * itemsize
    if work + precond > usable:
        raise InsufficientMemoryError(
            f"the fit needs about {_gib(work + precond)} for its working arrays ({WORK_ARRAYS} arrays "
            f"of n x members x classes = {n} x {M} x {K} numbers of {itemsize} bytes) and its "
            f"preconditioner, but "
            f"{_gib(usable)} of {_gib(avail)} {where} can be used. " + _remedies(M, itemsize)
        )
    resident = x_bytes + x_temp + work + precond <= usable
    if resident:
        return MemoryPlan(n, d, K, M, itemsize, device, avail, work + x_temp, precond, x_bytes, True, n,
                          limited, pname)
    left = usable - work - precond
    rows = min(n, left // 2 // _chunk_bytes(1, d, device, itemsize))
    if rows < min(n, MIN_CHUNK_ROWS):
        raise InsufficientMemoryError(
            f"X ({n} x {d}, {_gib(x_bytes)}) does not fit, and beside the fit's working arrays "
            f"({_gib(work + precond)}) there is no room for a chunk of {MIN_CHUNK_ROWS} rows "
            f"({_gib(_chunk_bytes(MIN_CHUNK_ROWS, d, device, itemsize))}) in the {_gib(usable)} usable "
            f"of {_gib(avail)} {where}. " + _remedies(M, itemsize)
        )
    return MemoryPlan(n, d, K, M, itemsize, device, avail, work, precond, x_bytes, False, int(rows), limited,
                      pname)
