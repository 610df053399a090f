"""The Kronecker preconditioner: the Hessian as ``cov(X) ⊗ B``.

The Hessian in ``W`` is ``sum_i omega_i x_i x_i^T ⊗ A_i`` with ``A_i`` the softmax
curvature of sample ``i``, plus ``I ⊗ diag(lambda)``.  Replacing each ``A_i`` by the
weighted average ``B`` (:func:`curvature`) gives the Kronecker approximation
``C ⊗ B + I ⊗ diag(lambda)`` with ``C = X^T diag(omega) X`` (centred features).  The
eigendecomposition ``C = U diag(s) U^T`` is computed once per problem
(:func:`feature_basis`; the ridge penalty is rotation invariant, so it commutes with
``U``); per Newton iteration only the ``K × K`` matrix ``B`` changes.  The
approximation keeps the exact dependence on ``lambda``, so it does not degrade as
``lambda`` shrinks the way a fixed diagonal (Jacobi) preconditioner does, and it
captures the feature correlations that make unpreconditioned CG slow on real
embeddings.  Intercepts get the block ``B`` itself: centring makes their coupling with
``W`` vanish in the approximation.  An elementwise (per-feature) penalty is replaced by
its mean over the features in this approximation; the Hessian preconditioner
(:mod:`.hessian`) includes it exactly.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..backend import eigh, to_numpy
from .chunked import weighted_gram
from .problem import GAUGE_WEIGHT, Problem

__all__ = ["curvature", "feature_basis", "KroneckerFactor", "kronecker_bytes"]

# A feature covariance whose off-diagonal entries are below this fraction of its largest
# diagonal one is taken as diagonal (feature_basis).
_DIAGONAL_RTOL = 1e-10

# Above this many flops per preconditioner set-up (d K^3 per member), class-specific
# penalties are approximated by their geometric mean inside the preconditioner.
_MAX_BLOCK_FLOPS = 2e9


# Arrays of d x d at the peak of the feature basis: the covariance, and inside its
# eigendecomposition (LAPACK's syevd) a working copy, the eigenvectors and the workspace
# (measured: 4 d^2 beyond the covariance, NumPy 2.4 / OpenBLAS).
_EIGH_COPIES = 5


def kronecker_bytes(n: int, d: int, K: int, M: int, itemsize: int = 8) -> int:
    """Memory the Kronecker factors of a batch need: ``d x d`` at the peak of their
    eigendecomposition (:data:`_EIGH_COPIES` of them), ``M K x K`` and ``d M K``.

    Examples
    --------
    >>> kronecker_bytes(20000, 256, 100, 5)  # 5 folds, float64
    5069440
    """
    return (_EIGH_COPIES * d * d + M * K * K + 2 * d * M * K) * itemsize


def feature_basis(prob: Problem) -> tuple[Any, Any]:
    """``(s, U)``: eigenvalues (clipped at zero) and eigenvectors of the features'
    covariance ``X^T diag(mean_m omega_m) X``, computed once per problem; ``U`` is None
    (the identity) when the covariance is diagonal to a relative 1e-10.

    Examples
    --------
    >>> import numpy as np
    >>> from classdep.solvers.prepare import prepare
    >>> pp = prepare(np.random.default_rng(0).normal(size=(50, 3)), np.arange(50) % 2, 2,
    ...              device="cpu")
    >>> s, U = feature_basis(pp.prob)
    >>> s.shape, U.shape, bool((s >= 0).all())
    ((3,), (3, 3), True)
    """
    xp = prob.xp
    wbar = xp.mean(prob.omega, axis=1)
    C = weighted_gram(xp, prob.X, wbar)
    diag = xp.linalg.diagonal(C)
    off = C - diag[:, None] * xp.eye(C.shape[0], dtype=C.dtype)
    if float(xp.max(xp.abs(off))) <= _DIAGONAL_RTOL * float(xp.max(xp.abs(diag))):
        # Diagonal already (the sample-space route rotates its features so): the basis is
        # the identity, returned as None so that no rotation is applied.  As a
        # preconditioner the diagonal differs from C by a relative 1e-10 at most.
        return xp.maximum(diag, 0.0), None
    s, U = eigh(xp, C)
    return xp.maximum(s, 0.0), U


def curvature(prob: Problem, P):
    """Sample-averaged Hessian w.r.t. raw logits, per member: (M, K, K).

    ``B_m = sum_i omega_im D (diag p_i - p_i p_i^T) D`` (diagonal for OvA, the
    identity for the gaussian family).  It is the
    class factor of the Kronecker approximation ``H ≈ cov(X) ⊗ B`` used to precondition.

    Examples
    --------
    >>> import numpy as np
    >>> from classdep.solvers.prepare import prepare, initial_point
    >>> from classdep.solvers.objective import evaluate
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
    # (n, M, K) temporary is formed (each would be a pass through memory as large as the
    # work itself).
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


class KroneckerFactor:
    """The Kronecker approximation at one Newton iterate, inverted in the basis of ``C``.

    ``basis`` is :func:`feature_basis` of the problem.  Per member, ``B`` is decomposed
    as ``B = Q diag(t) Q^T`` when the penalty is the same for every class (or the
    ``d K^3`` flops of the exact blocks are too many; class-specific penalties then enter
    by their geometric mean), so that the inverse is diagonal in ``U ⊗ Q``; otherwise the
    ``K x K`` blocks ``s_a B + diag(lambda)`` are inverted for every eigenvalue ``s_a``.

    Examples
    --------
    >>> import numpy as np
    >>> from classdep.solvers.prepare import prepare, initial_point
    >>> from classdep.solvers.objective import evaluate
    >>> rng = np.random.default_rng(0)
    >>> pp = prepare(rng.normal(size=(40, 3)), rng.integers(0, 3, 40), 3, device="cpu")
    >>> prob = pp.prob.with_lambda(np.full((1, 3), 0.1))
    >>> W, b = initial_point(pp)
    >>> P = evaluate(prob, prob.matmul_x(W) + b[None], W, b).P
    >>> SW, Sb = KroneckerFactor(prob, P, feature_basis(prob)).solve(np.ones_like(W), np.ones_like(b))
    >>> SW.shape, Sb.shape
    ((3, 1, 3), (1, 3))
    """

    def __init__(self, prob: Problem, P, basis: tuple[Any, Any]):
        xp = prob.xp
        self.xp = xp
        self.s, self.U = basis
        B = curvature(prob, P)  # (M, K, K)
        K, M, d = prob.K, prob.M, prob.d
        eye = xp.eye(K, dtype=B.dtype)
        # An elementwise penalty lam[j, m, k] (e.g. Wager's dropout penalty) does not
        # commute with the rotation U: inside this preconditioner it is approximated by
        # its mean over the features, I ⊗ diag(mean_j lam[j]).  The "hessian"
        # preconditioner adds it exactly.
        lam = prob.lam_per_class()
        lam_np = to_numpy(lam)
        uniform = np.allclose(lam_np, lam_np[:, :1], rtol=1e-12, atol=0.0)
        if uniform or d * K**3 * M > _MAX_BLOCK_FLOPS:
            t, Q = eigh(xp, B)
            t = xp.maximum(t, 0.0)
            lam_bar = xp.exp(xp.mean(xp.log(lam), axis=1))  # (M,)
            denom = self.s[:, None, None] * t[None, :, :] + lam_bar[None, :, None]  # (d, M, K)
            self.blocks = ("eig", Q, denom)
        else:
            # (s_a B_m + diag(lam_m))^{-1} for every eigenvalue a and member m.
            A = self.s[:, None, None, None] * B[None, ...] + lam[None, :, :, None] * eye
            self.blocks = ("inv", xp.linalg.inv(A))
        Bb = B if prob.intercept else xp.ones_like(B) * eye
        u = prob.gauge
        if u is not None:
            Bb = Bb + GAUGE_WEIGHT * u[:, None] * u[None, :]
        # A tiny ridge keeps a class that no member predicts (p ≈ 0) from a zero pivot.
        tr = xp.sum(xp.linalg.diagonal(Bb), axis=1) / K
        Bb = Bb + (1e-10 * tr + xp.finfo(B.dtype).smallest_normal)[:, None, None] * eye
        self.Binv = xp.linalg.inv(Bb)

    @staticmethod
    def nbytes(n: int, d: int, K: int, M: int, *, family: str = "multinomial", itemsize: int = 8) -> int:
        """Bytes of the factors (:func:`kronecker_bytes`); the same for every family."""
        return kronecker_bytes(n, d, K, M, itemsize)

    def solve(self, RW, Rb):
        """The inverse approximation applied to ``[RW; Rb]`` (d, M, K) and (M, K)."""
        xp, blocks = self.xp, self.blocks
        U = self.U
        R = RW if U is None else xp.reshape(U.T @ xp.reshape(RW, (RW.shape[0], -1)), RW.shape)  # rotated
        if blocks[0] == "eig":
            _, Q, denom = blocks
            Rq = xp.permute_dims(xp.permute_dims(R, (1, 0, 2)) @ Q, (1, 0, 2))  # (d, M, K)
            Rq = Rq / denom
            R = xp.permute_dims(xp.permute_dims(Rq, (1, 0, 2)) @ xp.permute_dims(Q, (0, 2, 1)),
                                (1, 0, 2))
        else:
            R = (blocks[1] @ R[..., None])[..., 0]
        ZW = R if U is None else xp.reshape(U @ xp.reshape(R, (R.shape[0], -1)), RW.shape)
        Zb = (self.Binv @ Rb[..., None])[..., 0]
        return ZW, Zb
