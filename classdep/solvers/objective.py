"""The penalized objective: its value, gradient and Hessian-vector products, batched.

For member ``m`` of a :class:`~classdep.solvers.problem.Problem` the objective is::

    f_m(W, b) = sum_i omega[i, m] * loss(z'_i, y_i) + sum_k lam[m, k] / 2 * ||W[:, m, k]||^2
    z'_ik     = scale_i * delta_k * (x_i W[:, m, k] + b[m, k]) + iota_k

with ``omega[:, m]`` the member's sample weights normalized to sum to one (so the loss
is the weighted mean), ``delta``/``iota`` the multiplicative/additive logit adjustments
(CDT, VS, LA) and ``scale`` the per-sample logit scale (LDT).  ``loss`` is the softmax
cross-entropy (``family="multinomial"``), a sum of ``K`` binomial losses
(``family="ova"``) or half the squared error ``||y_i - z_i||^2 / 2`` of a
multi-response least-squares fit (``family="gaussian"``, ``Y`` real-valued; its
"probabilities" ``P`` are the fitted values and its curvature is the identity).  Every
function is written against the array API standard so that NumPy, CuPy and
array-api-strict run the same code.

The penalty may also be elementwise, ``lam`` of shape (d, M, K): a diagonal
generalized ridge ``sum_{j,k} lam[j, m, k] / 2 * W[j, m, k]^2`` (per-feature penalties,
e.g. Wager et al.'s quadratic approximation of dropout, :mod:`.augment`).  For the
multinomial family with intercepts it also holds the term that pins the softmax gauge
(:attr:`~classdep.solvers.problem.Problem.gauge`).

The elementwise work runs over tiles of rows (:func:`row_tiles`).  The curvature the
preconditioners approximate is in :mod:`.curvature`, :mod:`.kronecker`,
:mod:`.hessian` and :mod:`.class_blocks`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from array_api_compat import is_cupy_namespace

from .chunked import ChunkedFeatures, row_blocks
from .class_blocks import class_blocks, curvature_rows
from .curvature import curvature_diagonal, curvature_trace
from .hessian import hessian_blocks
from .kronecker import curvature
from .problem import GAUGE_WEIGHT, Problem, gauge_direction

__all__ = ["Evaluation", "evaluate", "penalty", "hessp", "tile_rows", "row_tiles", "logits", "moved",
           # defined in the modules named above, importable from here as well
           "Problem", "gauge_direction", "curvature", "curvature_trace", "curvature_diagonal",
           "hessian_blocks", "curvature_rows", "class_blocks"]

# On the CPU the loss, gradient and Hessian-vector products run over tiles of rows of
# about this many bytes a (rows, M, K) array: each tile's half-dozen elementwise passes
# then stay in cache instead of streaming (n, M, K) arrays through memory, which is what
# bounds them.  Much larger tiles fall out of the cache; much smaller ones cut the matrix
# products into pieces too small for BLAS.  A GPU takes the whole array in one kernel.
_TILE_BYTES = 2**21


def tile_rows(prob: Problem) -> int:
    """Rows per tile of the elementwise work (see ``_TILE_BYTES``); all rows on a GPU.

    Examples
    --------
    >>> import numpy as np
    >>> from classdep.solvers.prepare import prepare
    >>> pp = prepare(np.zeros((1000, 2)), np.arange(1000) % 300, 300, device="cpu")
    >>> tile_rows(pp.prob)  # 2 MB of (rows, 1, 300) float64
    873
    """
    if is_cupy_namespace(prob.xp):
        return prob.n
    itemsize = 4 if prob.X.dtype == prob.xp.float32 else 8
    return max(64, _TILE_BYTES // (prob.M * prob.K * itemsize))


@dataclass
class Evaluation:
    """Objective, probabilities and gradient at one point, for every member."""

    f: Any  # (M,) objective
    loss: Any  # (M,) weighted mean loss without penalty
    P: Any  # (n, M, K) softmax or sigmoid probabilities of the adjusted logits
    gW: Any = None  # (d, M, K)
    gb: Any = None  # (M, K)


def row_tiles(prob: Problem):
    """``(start, stop, tile)`` over the rows: ``tile`` is ``prob.rows(start, stop)``.

    One tile, the problem itself, when :func:`tile_rows` covers an in-memory ``X``; a chunked
    ``X`` is read once per call, chunk by chunk, and each chunk is cut into tiles.

    Examples
    --------
    >>> import numpy as np
    >>> from classdep.solvers.prepare import prepare
    >>> pp = prepare(np.zeros((1000, 2)), np.arange(1000) % 300, 300, device="cpu")
    >>> [(a, b) for a, b, _ in row_tiles(pp.prob)]  # 2 MB of (rows, 1, 300) float64
    [(0, 873), (873, 1000)]
    """
    rows = tile_rows(prob)
    if rows >= prob.n and not isinstance(prob.X, ChunkedFeatures):
        yield 0, prob.n, prob
        return
    for a0, b0, Xc in row_blocks(prob.X):
        for a in range(a0, b0, rows):
            b = min(a + rows, b0)
            yield a, b, prob.rows(a, b, Xc[a - a0:b - a0, ...])


def logits(prob: Problem, V, vb):
    """``X V + vb`` (n, M, K), tile by tile into one array.

    The same numbers as ``prob.matmul_x(V) + vb``, without its second (n, M, K) array:
    a fresh array that size costs as much again in page faults as the pass that fills it.

    Examples
    --------
    >>> import numpy as np
    >>> from classdep.solvers.prepare import prepare
    >>> rng = np.random.default_rng(0)
    >>> pp = prepare(rng.normal(size=(40, 3)), rng.integers(0, 3, 40), 3, device="cpu")
    >>> V, vb = rng.normal(size=(3, 1, 3)), rng.normal(size=(1, 3))
    >>> bool(np.allclose(logits(pp.prob, V, vb), pp.prob.matmul_x(V) + vb))
    True
    """
    return _tiled(prob, lambda a, e, tp: tp.matmul_x(V) + vb[None, :, :])


def moved(prob: Problem, Z, ZS, t):
    """``Z + t ZS`` with ``t`` per member (M,), tile by tile into one array.

    Examples
    --------
    >>> import numpy as np
    >>> from classdep.solvers.prepare import prepare
    >>> pp = prepare(np.zeros((4, 1)), np.arange(4) % 2, 2, device="cpu")
    >>> moved(pp.prob, np.zeros((4, 1, 2)), np.ones((4, 1, 2)), np.array([0.5]))[0].tolist()
    [[0.5, 0.5]]
    """
    return _tiled(prob, lambda a, e, tp: _moved_rows(Z, (ZS, t), a, e), needs_x=False)


def _moved_rows(Z, along, a: int, e: int):
    """Rows ``a:e`` of ``Z + t ZS`` for ``along = (ZS, t)``: the one expression that both
    :func:`moved` and the line search in :func:`evaluate` use, so that the logits a step
    is accepted at are bit for bit those it was tested at."""
    ZS, t = along
    return Z[a:e, ...] + t[None, :, None] * ZS[a:e, ...]


def _tiled(prob: Problem, tile, needs_x: bool = True):
    """The (n, ...) array whose rows ``a:e`` are ``tile(a, e, prob.rows(a, e))``."""
    xp = prob.xp
    if needs_x:
        tiles = row_tiles(prob)
    else:
        rows = tile_rows(prob)
        tiles = ((a, min(a + rows, prob.n), None) for a in range(0, prob.n, rows))
    out = None
    for a, e, tp in tiles:
        part = tile(a, e, tp)
        if e - a == prob.n:
            return part
        if out is None:
            out = xp.empty((prob.n,) + tuple(part.shape[1:]), dtype=part.dtype)
        out[a:e, ...] = part
    return out


def _sum_classes(xp, A):
    """Sum over the last (class) axis as a matrix-vector product: NumPy's reduction over
    a short inner axis is several times slower than BLAS on these (n, M, K) arrays."""
    return A @ xp.ones(A.shape[-1], dtype=A.dtype)


def _loss_and_prob(prob: Problem, Zadj, probs: bool = True):
    """Per-sample loss (n, M) and probabilities (n, M, K) (None unless ``probs``);
    log-sum-exp throughout."""
    xp = prob.xp
    Y = prob.Y[:, None, :]
    if prob.family == "gaussian":
        # P is the fitted value; the loss is half the squared residual.
        Rz = Zadj - Y
        return 0.5 * xp.sum(Rz * Rz, axis=2), Zadj
    if prob.family == "multinomial":
        # Every pass over the (n, M, K) logits counts at K = 100: the line search
        # evaluates the loss alone, sum_k y_k (lse - z_k) is written as
        # lse sum_k y_k - sum_k y_k z_k, the last sum one batched product (no (n, M, K)
        # temporary), and the probabilities are normalized in place.
        zmax = xp.max(Zadj, axis=2, keepdims=True)
        E = xp.exp(Zadj - zmax)
        S = _sum_classes(xp, E)
        lse = xp.log(S) + zmax[..., 0]
        loss = lse * _sum_classes(xp, prob.Y)[:, None] - (Zadj @ prob.Y[:, :, None])[..., 0]
        if not probs:
            return loss, None
        E /= S[..., None]
        return loss, E
    # Binomial pieces: log(1 + e^z) - y z, with softplus written so it never overflows.
    softplus = xp.maximum(Zadj, 0.0) + xp.log1p(xp.exp(-xp.abs(Zadj)))
    loss = _sum_classes(xp, softplus - Y * Zadj)
    P = 1.0 / (1.0 + xp.exp(-Zadj))
    return loss, P


def penalty(prob: Problem, W, b):
    """``sum_k lam_k/2 ||W_k||^2`` (or its elementwise form) plus the gauge term, per member (M,)."""
    xp = prob.xp
    if prob.elementwise:
        val = 0.5 * xp.sum(prob.lam * W * W, axis=(0, 2))
    else:
        val = 0.5 * xp.sum(prob.lam * xp.sum(W * W, axis=0), axis=1)
    u = prob.gauge
    if u is not None:
        val = val + 0.5 * GAUGE_WEIGHT * (b @ u) ** 2
    return val


def evaluate(prob: Problem, Z, W, b, grad: bool = True, probs: bool = True,
             along=None) -> Evaluation:
    """Objective (and gradient) at raw logits ``Z = X W + b`` (n, M, K).

    The caller passes ``Z`` so that a line search can move along ``Z + t * (X S)``
    without another matrix product: ``along=(ZS, t)`` evaluates at ``Z + t * ZS``
    (``t`` per member), tile by tile, never forming the moved logits whole.
    ``probs=False`` (with ``grad=False``) skips the probabilities, for a caller that
    needs the objective alone.  The work runs over row tiles (:func:`row_tiles`).

    Examples
    --------
    >>> import numpy as np
    >>> from classdep.solvers.prepare import prepare, initial_point
    >>> rng = np.random.default_rng(0)
    >>> pp = prepare(rng.normal(size=(40, 3)), np.arange(40) % 2, 2, device="cpu")
    >>> W, b = initial_point(pp)
    >>> ev = evaluate(pp.prob, pp.prob.matmul_x(W) + b[None], W, b)
    >>> round(float(ev.loss[0]), 4)  # log 2: balanced classes, zero coefficients
    0.6931
    """
    xp = prob.xp
    need_p = probs or grad
    loss = gW = gb = P = None
    for a, e, tp in row_tiles(prob):
        Zt = Z[a:e, ...] if along is None else _moved_rows(Z, along, a, e)
        loss_i, Pt = _loss_and_prob(tp, tp.adjust(Zt), probs=need_p)
        part = xp.sum(tp.omega * loss_i, axis=0)
        loss = part if loss is None else loss + part
        if need_p:
            if e - a == prob.n:
                P = Pt
            else:
                if P is None:
                    P = xp.empty(Z.shape, dtype=Pt.dtype)
                P[a:e, ...] = Pt
        if grad:
            R = Pt - tp.Y[:, None, :]
            R *= tp.omega[:, :, None]
            ls = tp.link_scale()
            if ls is not None:
                R = R * ls
            gW = _accumulate(gW, tp.matmul_xt(R))
            gb = _accumulate(gb, xp.sum(R, axis=0))
    f = loss + penalty(prob, W, b)
    ev = Evaluation(f=f, loss=loss, P=P)
    if grad:
        ev.gW = gW + prob.lam_w() * W
        ev.gb = gb if prob.intercept else xp.zeros_like(b)
        u = prob.gauge
        if u is not None:
            ev.gb = ev.gb + GAUGE_WEIGHT * (b @ u)[:, None] * u[None, :]
    return ev


def _accumulate(total, part):
    """``total + part`` in place (``part`` when there is no total yet)."""
    if total is None:
        return part
    total += part
    return total


def _apply_softmax_hessian(prob: Problem, P, dZ):
    """Per-sample Hessian of the loss w.r.t. adjusted logits, applied to dZ (n, M, K).

    Overwrites ``dZ`` (a fresh product) and returns it: at K = 100 each pass over these
    arrays costs as much as a tenth of a matrix product, and in-place steps save the
    allocations.
    """
    xp = prob.xp
    if prob.family == "gaussian":
        return dZ
    if prob.family == "multinomial":
        # diag(p) - p p^T applied to dz is p * (dz - p.dz)
        s = _sum_classes(xp, P * dZ)
        dZ -= s[..., None]
        dZ *= P
        return dZ
    dZ *= P * (1.0 - P)
    return dZ


def hessp(prob: Problem, P, V, vb):
    """Hessian-vector product at probabilities ``P`` for direction (V (d,M,K), vb (M,K)).

    Costs two matrix products of size n·d·MK, for the whole batch, tile by tile
    (:func:`row_tiles`).

    Examples
    --------
    >>> import numpy as np
    >>> from classdep.solvers.prepare import prepare, initial_point
    >>> rng = np.random.default_rng(0)
    >>> pp = prepare(rng.normal(size=(40, 3)), rng.integers(0, 3, 40), 3, device="cpu")
    >>> W, b = initial_point(pp)
    >>> ev = evaluate(pp.prob, pp.prob.matmul_x(W) + b[None], W, b)
    >>> HV, Hb = hessp(pp.prob, ev.P, np.ones_like(W), np.zeros_like(b))
    >>> HV.shape, Hb.shape
    ((3, 1, 3), (1, 3))
    """
    xp = prob.xp
    HV = Hb = None
    for a, e, tp in row_tiles(prob):
        dZ = tp.matmul_x(V)  # a fresh array: updated in place below
        if prob.intercept:
            dZ += vb[None, :, :]
        ls = tp.link_scale()
        if ls is not None:
            dZ = dZ * ls
        R = _apply_softmax_hessian(tp, P[a:e, ...], dZ)
        R *= tp.omega[:, :, None]
        if ls is not None:
            R = R * ls
        HV = _accumulate(HV, tp.matmul_xt(R))
        if prob.intercept:
            Hb = _accumulate(Hb, xp.sum(R, axis=0))
    HV = HV + prob.lam_w() * V
    if not prob.intercept:
        Hb = vb
    u = prob.gauge
    if u is not None:
        Hb = Hb + GAUGE_WEIGHT * (vb @ u)[:, None] * u[None, :]
    return HV, Hb
