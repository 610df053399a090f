"""The penalized objective: losses, penalties, gradients and curvature, batched.

One :class:`Problem` holds a feature matrix and a *batch* of ``M`` members that share
it: each member has its own sample weights (a cross-validation fold is a member whose
held-out samples weigh zero) and its own per-class penalties.  Coefficients are laid
out as ``W`` with shape ``(d, M, K)`` so that ``X @ W.reshape(d, M*K)`` is one matrix
product for the whole batch, and intercepts as ``b`` with shape ``(M, K)``.

For member ``m`` the objective is::

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
e.g. Wager et al.'s quadratic approximation of dropout, :mod:`.augment`).

The features are centred once (``X - mean``): the intercept is unpenalized, so this is
an exact reparameterization (``b_centred = b + mean @ W``), and it makes the
intercept nearly decoupled from ``W`` in the Hessian, which the preconditioner uses.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

import numpy as np
from array_api_compat import is_cupy_namespace

from ..backend import to_numpy
from .chunked import ChunkedFeatures, row_blocks, take_rows

__all__ = ["Problem", "Evaluation", "evaluate", "hessp", "row_tiles", "logits", "moved", "curvature",
           "curvature_trace", "curvature_diagonal", "hessian_blocks", "curvature_rows", "class_blocks",
           "gauge_direction"]

# Weight of the term that pins the softmax gauge (see `Problem.gauge`).  Any positive
# value gives the same minimizer; one matches the scale of the softmax curvature.
_GAUGE_WEIGHT = 1.0
# The class blocks of a preconditioner leave out the rows that together carry this
# fraction of a block's curvature.  Measured on the synthetic 100-class problem (PCG to
# 1e-2 at lambda = 1e-5): 0.01 keeps 950 rows a block and needs 12 iterations, 0.05 keeps
# 430 and needs 13, 0.1 keeps 290 and needs 18.
_BLOCK_DROP = 0.05
# On the CPU the loss, gradient and Hessian-vector products run over tiles of rows of
# about this many bytes a (rows, M, K) array: each tile's half-dozen elementwise passes
# then stay in cache instead of streaming (n, M, K) arrays through memory, which is what
# bounds them.  Measured on the synthetic 100-class problem (20000 x 256, 5 folds,
# float32 products): one Hessian-vector product 118 ms untiled, 63 ms in 1024-row tiles
# (2 MB), 75 ms in 4096-row tiles.  A GPU takes the whole array in one kernel.
_TILE_BYTES = 2**21


@dataclass(frozen=True)
class Problem:
    """Immutable description of a batch of penalized logistic regressions.

    Attributes
    ----------
    X : array (n, d)
        Centred features.
    Y : array (n, K)
        One-hot labels (real-valued responses for ``family="gaussian"``).
    omega : array (n, M)
        Sample weights of each member; every column sums to one.
    lam : array (M, K) or (d, M, K)
        Per-member, per-class ridge penalties, or elementwise ones (per feature,
        member and class): ``sum_{j,k} lam[j, m, k] / 2 * W[j, m, k]^2``.
    family : {"multinomial", "ova", "gaussian"}
    delta, iota : array (K,) or None
        Multiplicative and additive logit adjustments.
    scale : array (n,) or None
        Per-sample logit scale (LDT).
    intercept : bool
        Whether intercepts are fitted.  Without them ``b`` stays zero: its gradient is
        zeroed and its Hessian block is the identity, decoupled from ``W``.
    xp : module
        Array namespace of all arrays above.
    """

    X: Any
    Y: Any
    omega: Any
    lam: Any
    family: str
    xp: Any
    delta: Any = None
    iota: Any = None
    scale: Any = None
    intercept: bool = True

    @property
    def n(self) -> int:
        return self.X.shape[0]

    @property
    def d(self) -> int:
        return self.X.shape[1]

    @property
    def K(self) -> int:
        return self.Y.shape[1]

    @property
    def M(self) -> int:
        return self.omega.shape[1]

    @property
    def gauge(self):
        """Unit direction ``u`` (K,) along which the softmax loss is flat in ``b``, or None.

        Adding ``c * u`` to every member's intercepts changes no multinomial loss
        (``u`` is proportional to ``1/delta``).  The objective adds
        ``_GAUGE_WEIGHT/2 * (u @ b)^2``, which is zero at the minimizer reached and makes
        the Hessian non-singular; OvA has no such direction.
        """
        if self.family != "multinomial" or not self.intercept:
            return None
        xp = self.xp
        u = xp.ones(self.K, dtype=self.X.dtype) if self.delta is None else 1.0 / self.delta
        return u / xp.sqrt(xp.sum(u * u))

    @property
    def tile_rows(self) -> int:
        """Rows per tile of the elementwise work (see ``_TILE_BYTES``); all rows on a GPU."""
        if is_cupy_namespace(self.xp):
            return self.n
        itemsize = 4 if self.X.dtype == self.xp.float32 else 8
        return max(64, _TILE_BYTES // (self.M * self.K * itemsize))

    def rows(self, a: int, b: int, Xb=None) -> Problem:
        """The problem on rows ``a:b`` (``Xb``: those rows of ``X`` when already read).

        The weights keep their normalization over all rows, so the tiles' losses,
        gradients and Hessian products add up to the whole problem's.
        """
        sl = slice(a, b)
        return dataclasses.replace(
            self, X=self.X[sl, ...] if Xb is None else Xb, Y=self.Y[sl, ...],
            omega=self.omega[sl, ...], scale=None if self.scale is None else self.scale[sl])

    def with_lambda(self, lam) -> Problem:
        """The same problem with penalties ``lam`` (M, K) or elementwise (d, M, K)."""
        return dataclasses.replace(self, lam=lam)

    @property
    def elementwise(self) -> bool:
        """Whether ``lam`` is elementwise (d, M, K) rather than per class (M, K)."""
        return self.lam.ndim == 3

    def lam_w(self):
        """Penalties broadcastable against ``W`` (d, M, K): (1, M, K) or (d, M, K)."""
        return self.lam if self.lam.ndim == 3 else self.lam[None, :, :]

    def lam_per_class(self):
        """Penalties (M, K); an elementwise ``lam`` is averaged over the features."""
        return self.xp.mean(self.lam, axis=0) if self.lam.ndim == 3 else self.lam

    def matmul_x(self, V):
        """``X @ V`` for ``V`` of shape (d, M, K) → (n, M, K): one matrix product."""
        xp = self.xp
        d, M, K = V.shape
        return xp.reshape(self.X @ xp.reshape(V, (d, M * K)), (self.n, M, K))

    def matmul_xt(self, R):
        """``X.T @ R`` for ``R`` of shape (n, M, K) → (d, M, K): one matrix product."""
        xp = self.xp
        n, M, K = R.shape
        return xp.reshape(self.X.T @ xp.reshape(R, (n, M * K)), (self.d, M, K))

    def link_scale(self):
        """Factor (n or 1, 1, K or 1) turning d/dz' into d/dz; None when it is one."""
        xp = self.xp
        f = None
        if self.delta is not None:
            f = xp.reshape(self.delta, (1, 1, self.K))
        if self.scale is not None:
            s = xp.reshape(self.scale, (self.n, 1, 1))
            f = s if f is None else f * s
        return f

    def adjust(self, Z):
        """Raw logits (n, M, K) → adjusted logits z' that enter the loss."""
        f = self.link_scale()
        if f is not None:
            Z = Z * f
        if self.iota is not None:
            Z = Z + self.xp.reshape(self.iota, (1, 1, self.K))
        return Z


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

    One tile, the problem itself, when ``tile_rows`` covers an in-memory ``X``; a chunked
    ``X`` is read once per call, chunk by chunk, and each chunk is cut into tiles.

    Examples
    --------
    >>> import numpy as np
    >>> from classdep.solvers.prepare import prepare
    >>> pp = prepare(np.zeros((1000, 2)), np.arange(1000) % 300, 300, device="cpu")
    >>> [(a, b) for a, b, _ in row_tiles(pp.prob)]  # 2 MB of (rows, 1, 300) float64
    [(0, 873), (873, 1000)]
    """
    rows = prob.tile_rows
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
        rows = prob.tile_rows
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
        val = val + 0.5 * _GAUGE_WEIGHT * (b @ u) ** 2
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
            ev.gb = ev.gb + _GAUGE_WEIGHT * (b @ u)[:, None] * u[None, :]
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
        Hb = Hb + _GAUGE_WEIGHT * (vb @ u)[:, None] * u[None, :]
    return HV, Hb


def _curvature_weights(prob: Problem, P):
    """Weighted per-sample curvature pieces: (diagonal (n,M,K), rank-one factor or None)."""
    xp = prob.xp
    c = prob.omega[:, :, None]
    ls = prob.link_scale()
    if ls is not None:
        c = c * ls * ls
    if prob.family == "gaussian":
        return c * xp.ones_like(P), None
    if prob.family == "multinomial":
        # diag(p) - p p^T, weighted: diagonal c*p, minus q q^T with q = sqrt(c) * p.
        return c * P, xp.sqrt(c) * P
    return c * P * (1.0 - P), None


def curvature(prob: Problem, P):
    """Sample-averaged Hessian w.r.t. raw logits, per member: (M, K, K).

    ``B_m = sum_i omega_im D (diag p_i - p_i p_i^T) D`` (diagonal for OvA, the
    identity for the gaussian family).  It is the
    class factor of the Kronecker approximation ``H ≈ cov(X) ⊗ B`` used to precondition.

    Examples
    --------
    >>> import numpy as np
    >>> from classdep.solvers.prepare import prepare, initial_point
    >>> rng = np.random.default_rng(0)
    >>> pp = prepare(rng.normal(size=(40, 3)), rng.integers(0, 3, 40), 3, device="cpu")
    >>> W, b = initial_point(pp)
    >>> P = evaluate(pp.prob, pp.prob.matmul_x(W) + b[None], W, b).P
    >>> C = curvature(pp.prob, P)
    >>> C.shape, bool(np.allclose(C.sum(axis=-1), 0))
    ((1, 3, 3), True)
    """
    xp = prob.xp
    ls = prob.link_scale()
    ls = None if ls is None else ls[:, 0, :]  # (n or 1, K or 1)
    eye = xp.eye(prob.K, dtype=P.dtype)
    out = []
    # Member by member on (n, K) slices: a strided slice goes to BLAS as it is, and no
    # (n, M, K) temporary is formed (two of them cost 0.14 s at n = 20000, M K = 500).
    for m in range(prob.M):
        w = prob.omega[:, m]
        Pm = P[:, m, :]
        if prob.family == "gaussian":
            V = xp.ones_like(Pm)
        else:
            V = Pm if prob.family == "multinomial" else Pm * (1.0 - Pm)
        if ls is not None:
            V = V * (ls * ls)
        B = (w @ V)[:, None] * eye
        if prob.family == "multinomial":
            # minus sum_i w_i q_i q_i^T, q_i = D p_i (D the logit scales)
            Q = Pm if ls is None else Pm * ls
            B = B - Q.T @ (Q * w[:, None])
        out.append(B)
    return xp.stack(out)


def curvature_trace(prob: Problem, P):
    """Per-sample trace of the weighted curvature, ``omega_im tr(A_i)``: (n, M).

    Examples
    --------
    >>> import numpy as np
    >>> from classdep.solvers.prepare import prepare, initial_point
    >>> rng = np.random.default_rng(0)
    >>> pp = prepare(rng.normal(size=(40, 3)), rng.integers(0, 3, 40), 3, device="cpu")
    >>> W, b = initial_point(pp)
    >>> P = evaluate(pp.prob, pp.prob.matmul_x(W) + b[None], W, b).P
    >>> curvature_trace(pp.prob, P).shape
    (40, 1)
    """
    xp = prob.xp
    diag, q = _curvature_weights(prob, P)
    c = xp.sum(diag, axis=2)
    if q is not None:
        c = c - xp.sum(q * q, axis=2)
    return xp.maximum(c, 0.0)


def curvature_diagonal(prob: Problem, P):
    """Weighted curvature of each class's raw logit, ``omega_im v_imk``: (n, M, K).

    ``v_ik`` is the diagonal of the per-sample Hessian w.r.t. the raw logits:
    ``p_ik (1 - p_ik)`` (times the squared logit scale) for the multinomial and OvA
    families, one for the gaussian family.

    Examples
    --------
    >>> import numpy as np
    >>> from classdep.solvers.prepare import prepare, initial_point
    >>> rng = np.random.default_rng(0)
    >>> pp = prepare(rng.normal(size=(40, 3)), rng.integers(0, 3, 40), 3, device="cpu")
    >>> W, b = initial_point(pp)
    >>> P = evaluate(pp.prob, pp.prob.matmul_x(W) + b[None], W, b).P
    >>> curvature_diagonal(pp.prob, P).shape
    (40, 1, 3)
    """
    diag, q = _curvature_weights(prob, P)
    return diag if q is None else diag - q * q


def _pen_diag(prob: Problem, m: int, pen_rows):
    """Diagonal of member ``m``'s penalty in (W, b): (d+1, K), zero on the intercept row."""
    xp = prob.xp
    if prob.elementwise:
        return xp.concat([prob.lam[:, m, :], xp.zeros((1, prob.K), dtype=prob.lam.dtype)], axis=0)
    return pen_rows[:, None] * prob.lam[m, :][None, :]


def _sampled_rows(xp, v, idx, factor):
    """Rows ``idx`` of ``v`` scaled by their sampling ``factor`` (all rows when idx is None)."""
    if idx is None:
        return v
    v = xp.take(v, idx, axis=0)
    return v * (factor if v.ndim == 1 else factor[:, None])


def hessian_blocks(prob: Problem, P, *, work_dtype=None, max_rows: int | None = None, seed: int = 0):
    """The Hessian in (W, b) for every member.

    Returns ``(H, per_class)``.  For the multinomial family ``H`` has shape
    (M, (d+1)K, (d+1)K), rows ordered (feature-or-intercept, class).  For OvA the
    classes decouple and ``H`` has shape (M, K, d+1, d+1), one block per class.

    Cost: ``2 n (d+1)^2 (K^2 + K)`` flops per member (multinomial: one product of size
    n x (d+1)K for the rank-one parts, K of size (d+1)^2 for the diagonal ones),
    ``2 n (d+1)^2 K`` (OvA).  For a preconditioner, ``work_dtype``
    (e.g. float32) runs the products in lower precision and ``max_rows`` replaces the
    sum over samples by an unbiased one over ``max_rows`` samples drawn with
    probability proportional to their curvature ``omega_i tr(A_i)`` (sub-sampled Newton
    with non-uniform sampling, Xu et al. 2016): at small lambda most samples are
    classified confidently and carry almost no curvature.  The penalty is added
    exactly, so the result stays positive definite.  It is in the problem's dtype.

    Examples
    --------
    >>> import numpy as np
    >>> from classdep.solvers.prepare import prepare, initial_point
    >>> rng = np.random.default_rng(0)
    >>> pp = prepare(rng.normal(size=(40, 3)), rng.integers(0, 3, 40), 3, device="cpu")
    >>> W, b = initial_point(pp)
    >>> P = evaluate(pp.prob, pp.prob.matmul_x(W) + b[None], W, b).P
    >>> H, per_class = hessian_blocks(pp.prob, P)
    >>> H.shape, per_class
    ((1, 12, 12), False)
    """
    xp = prob.xp
    n, d, K, M = prob.n, prob.d, prob.K, prob.M
    dt = prob.X.dtype
    wdt = dt if work_dtype is None else work_dtype
    D1 = d + 1
    diag, q = _curvature_weights(prob, P)
    tr = curvature_trace(prob, P)  # (n, M)
    eyeD = xp.eye(D1, dtype=dt)
    pen_rows = xp.concat([xp.ones(d, dtype=dt), xp.zeros(1, dtype=dt)])
    Hs = []
    rng = np.random.default_rng(seed)
    # an in-memory X with its column of ones, built once for every member; a chunked X
    # is read (and extended) chunk by chunk for each member instead
    full = None if isinstance(prob.X, ChunkedFeatures) else [
        (0, n, xp.astype(xp.concat([prob.X, xp.ones((n, 1), dtype=dt)], axis=1), wdt))]
    for m in range(M):
        if max_rows is not None and max_rows < n:
            p = to_numpy(tr[:, m]).astype(np.float64)
            p = p / p.sum()
            draw = np.bincount(rng.choice(n, size=max_rows, p=p), minlength=n)
            sel = np.nonzero(draw)[0]
            # each draw of row i stands for (1 / (max_rows p_i)) of its curvature
            idx = xp.asarray(sel)
            factor = xp.asarray(draw[sel] / (max_rows * p[sel]), dtype=dt)
            Xs = take_rows(xp, prob.X, idx)
            Xs = xp.astype(xp.concat([Xs, xp.ones((Xs.shape[0], 1), dtype=dt)], axis=1), wdt)
            dms = _sampled_rows(xp, diag[:, m, :], idx, factor)
            qms = None if q is None else xp.take(q[:, m, :], idx, axis=0) * xp.sqrt(factor)[:, None]
            parts = [(Xs, dms, qms)]
        else:
            blocks = full if full is not None else (
                (a, b, xp.astype(xp.concat([Xc, xp.ones((b - a, 1), dtype=dt)], axis=1), wdt))
                for a, b, Xc in row_blocks(prob.X))
            parts = ((Xw, diag[a:b, m, :], None if q is None else q[a:b, m, :]) for a, b, Xw in blocks)
        Hm = None
        for Xw, dm, qm in parts:
            dm = xp.astype(dm, wdt)
            if q is None:
                part = xp.stack([Xw.T @ (Xw * dm[:, k][:, None]) for k in range(K)])
            else:
                # sum_i x~_i x~_i^T ⊗ (diag(c_i p_i) - q_i q_i^T) with q_i = sqrt(c_i) p_i:
                # the rank-one parts are one product F^T F (F = x~ ⊗ q, rows scaled by the
                # sampling factor's square root), the diagonal parts K products of size (d+1)^2.
                F = xp.reshape(Xw[:, :, None] * xp.astype(qm, wdt)[:, None, :], (Xw.shape[0], D1 * K))
                part = xp.reshape(-(F.T @ F), (D1, K, D1, K))
                for k in range(K):
                    part[:, k, :, k] = part[:, k, :, k] + Xw.T @ (Xw * dm[:, k][:, None])
            Hm = part if Hm is None else Hm + part
        if q is None:
            Hm = xp.astype(Hm, dt)
            Hm = Hm + xp.permute_dims(_pen_diag(prob, m, pen_rows), (1, 0))[:, :, None] * eyeD[None, ...]
            if not prob.intercept:
                Hm[:, d, :] = 0.0
                Hm[:, :, d] = 0.0
                Hm[:, d, d] = 1.0
            Hs.append(Hm)
            continue
        Hm = xp.astype(Hm, dt)
        Hm = xp.reshape(Hm, (D1 * K, D1 * K))
        pen = xp.reshape(_pen_diag(prob, m, pen_rows), (D1 * K,))
        Hm = Hm + pen[:, None] * xp.eye(D1 * K, dtype=dt)
        if prob.intercept:
            g = xp.concat([xp.zeros(d * K, dtype=dt), prob.gauge])
            Hm = Hm + _GAUGE_WEIGHT * g[:, None] * g[None, :]
        else:
            Hm[d * K:, :] = 0.0
            Hm[:, d * K:] = 0.0
            Hm = Hm + xp.concat([xp.zeros(d * K, dtype=dt), xp.ones(K, dtype=dt)])[:, None] * xp.eye(
                D1 * K, dtype=dt)
        Hs.append(Hm)
    return xp.stack(Hs), q is None


def gauge_direction(prob: Problem):
    """Unit direction ``u`` (K,) of the softmax gauge in ``W``, or None (OvA, gaussian).

    Adding ``v u_k`` to every class's coefficients ``W[:, k]`` shifts every adjusted logit
    of a sample by the same amount (``u`` is proportional to ``1/delta``), so the loss
    has zero curvature along ``v ⊗ u``: only the penalty acts there.  Unlike
    :attr:`Problem.gauge` it exists with or without intercepts.

    Examples
    --------
    >>> import numpy as np
    >>> from classdep.solvers.prepare import prepare
    >>> pp = prepare(np.eye(3), np.arange(3), 3, device="cpu")
    >>> np.round(gauge_direction(pp.prob), 3).tolist()
    [0.577, 0.577, 0.577]
    """
    if prob.family != "multinomial":
        return None
    xp = prob.xp
    u = xp.ones(prob.K, dtype=prob.X.dtype) if prob.delta is None else 1.0 / prob.delta
    return u / xp.sqrt(xp.sum(u * u))


def curvature_rows(prob: Problem, P, *, work_dtype=None, drop: float = _BLOCK_DROP, subset=None):
    """Each class's own curvature per row, and the rows that carry most of it.

    Returns ``(v, keep)``: ``v`` (n, M, K) is ``omega_im v_ik`` (see
    :func:`curvature_diagonal`) in ``work_dtype``; ``keep`` (NumPy bool, n x M x K) marks,
    for each (member, class), the fewest rows whose weights sum to a fraction
    ``1 - drop`` of the total (ties kept).  ``subset`` (increasing NumPy row indices)
    looks at those rows only (``n`` is then their number): enough to estimate what
    fraction of the rows the blocks would keep.

    Examples
    --------
    >>> import numpy as np
    >>> from classdep.solvers.prepare import prepare, initial_point
    >>> rng = np.random.default_rng(0)
    >>> pp = prepare(rng.normal(size=(40, 3)), rng.integers(0, 3, 40), 3, device="cpu")
    >>> W, b = initial_point(pp)
    >>> P = evaluate(pp.prob, pp.prob.matmul_x(W) + b[None], W, b).P
    >>> v, keep = curvature_rows(pp.prob, P)
    >>> v.shape, keep.dtype
    ((40, 1, 3), dtype('bool'))
    """
    xp = prob.xp
    K, M = prob.K, prob.M
    wdt = prob.X.dtype if work_dtype is None else work_dtype
    # c p (1 - p) for both logistic families (the multinomial diagonal is p - p^2, as for
    # OvA), c for the gaussian family, with c the weight times the squared logit scale.
    omega, ls = prob.omega, prob.link_scale()
    if subset is not None:
        idx = xp.asarray(subset)
        omega, P = xp.take(omega, idx, axis=0), xp.take(P, idx, axis=0)
        if ls is not None and ls.shape[0] > 1:
            ls = xp.take(ls, idx, axis=0)
    c = xp.astype(omega, wdt)[:, :, None]
    n = c.shape[0]
    if ls is not None:
        c = c * xp.astype(ls * ls, wdt)
    if prob.family == "gaussian":
        v = c * xp.ones((1, 1, K), dtype=wdt)
    else:
        P32 = xp.astype(P, wdt)
        v = c * P32 * (1.0 - P32)
    # On the host: a sort of n·M·K numbers costs about one Hessian-vector product, far
    # less than the row sums it saves.
    # Blocks as rows (M K, n): sorts and sums along contiguous memory.
    vn = np.ascontiguousarray(np.reshape(to_numpy(v), (n, M * K)).T)
    srt = -np.sort(-vn, axis=1)
    # float32 sums: the threshold only decides which rows a preconditioner keeps
    cum = np.cumsum(srt, axis=1)
    r = np.minimum(np.sum(cum < (1.0 - drop) * cum[:, -1:], axis=1), n - 1)
    tau = srt[np.arange(M * K), r]
    keep = np.reshape(((vn >= tau[:, None]) & (vn > 0)).T, (n, M, K))
    return v, keep


def class_blocks(prob: Problem, P, *, work_dtype=None, drop: float = _BLOCK_DROP, rows=None, dtype=None):
    """The diagonal blocks of the Hessian in (W, b), one per (member, class): (M, K, d+1, d+1).

    Block ``(m, k)`` is ``sum_i omega_im v_ik x~_i x~_i^T`` plus the penalty, with
    ``x~_i = (x_i, 1)`` and ``v_ik`` the curvature of the class's own logit
    (:func:`curvature_diagonal`).  The cross-class terms ``-p_ik p_il`` are left out.

    The sum runs over the fewest rows that carry a fraction ``1 - drop`` of the block's
    curvature (:func:`curvature_rows`; pass its result as ``rows`` to reuse it).  At
    small lambda each class has its curvature on a few hundred rows (those near its
    decision boundaries), so the blocks cost a small fraction of the
    ``2 n (d+1)^2 K`` flops of the full sums.  ``work_dtype`` (e.g. float32) runs the
    products in lower precision; the result is in ``dtype`` (default: the problem's).

    Examples
    --------
    >>> import numpy as np
    >>> from classdep.solvers.prepare import prepare, initial_point
    >>> rng = np.random.default_rng(0)
    >>> pp = prepare(rng.normal(size=(40, 3)), rng.integers(0, 3, 40), 3, device="cpu")
    >>> W, b = initial_point(pp)
    >>> P = evaluate(pp.prob, pp.prob.matmul_x(W) + b[None], W, b).P
    >>> class_blocks(pp.prob, P).shape
    (1, 3, 4, 4)
    """
    xp = prob.xp
    n, d, K, M = prob.n, prob.d, prob.K, prob.M
    dt = prob.X.dtype
    wdt = dt if work_dtype is None else work_dtype
    D1 = d + 1
    v, keep = curvature_rows(prob, P, work_dtype=wdt, drop=drop) if rows is None else rows
    # The rows any block keeps, read once (a chunked X reads each of its chunks once).
    union = np.nonzero(keep.any(axis=(1, 2)))[0]
    pos = np.full(n, -1, dtype=np.int64)
    pos[union] = np.arange(union.size)
    Xu = take_rows(xp, prob.X, xp.asarray(union))
    Xu = xp.astype(xp.concat([Xu, xp.ones((union.size, 1), dtype=dt)], axis=1), wdt)
    odt = dt if dtype is None else dtype
    out = xp.zeros((M, K, D1, D1), dtype=odt)
    pen_rows = xp.concat([xp.ones(d, dtype=dt), xp.zeros(1, dtype=dt)])
    eye = xp.eye(D1, dtype=odt)
    for m in range(M):
        pen = xp.astype(_pen_diag(prob, m, pen_rows), odt)  # (d+1, K)
        for k in range(K):
            rows_k = np.nonzero(keep[:, m, k])[0]
            idx = xp.asarray(rows_k)
            Xs = xp.take(Xu, xp.asarray(pos[rows_k]), axis=0)
            w = xp.take(v[:, m, k], idx, axis=0)
            Hk = xp.astype(Xs.T @ (Xs * w[:, None]), odt)
            Hk += eye * pen[:, k][None, :]
            out[m, k, ...] = Hk
    if not prob.intercept:
        # b stays zero: its Hessian is the identity, decoupled from W (see Problem)
        mask = xp.concat([xp.ones(d, dtype=odt), xp.zeros(1, dtype=odt)])
        out = out * (mask[:, None] * mask[None, :]) + eye * (1.0 - mask)[None, :]
    return out
