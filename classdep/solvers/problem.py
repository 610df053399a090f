"""The problem: a batch of penalized regressions that share one feature matrix.

One :class:`Problem` holds a feature matrix and a *batch* of ``M`` members that share
it: each member has its own sample weights (a cross-validation fold is a member whose
held-out samples weigh zero) and its own per-class penalties.  Coefficients are laid
out as ``W`` with shape ``(d, M, K)`` so that ``X @ W.reshape(d, M*K)`` is one matrix
product for the whole batch, and intercepts as ``b`` with shape ``(M, K)``.  The
objective of each member is written out in :mod:`classdep.solvers.objective`.

The features are centred once (``X - mean``): the intercept is unpenalized, so this is
an exact reparameterization (``b_centred = b + mean @ W``), and it makes the
intercept nearly decoupled from ``W`` in the Hessian, which the preconditioners use.

The softmax loss is unchanged when every class's logit moves by the same amount (for
adjusted logits, by amounts proportional to ``1/delta``): :func:`gauge_direction` is
that direction, shared by the objective (which pins it in the intercepts with a term
of weight :data:`GAUGE_WEIGHT`) and by the preconditioners (which treat it apart).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

__all__ = ["Problem", "gauge_direction", "penalty_diagonal", "GAUGE_WEIGHT"]

#: Weight of the term ``GAUGE_WEIGHT/2 * (u @ b)^2`` that pins the softmax gauge in the
#: intercepts (see :attr:`Problem.gauge`).  Any positive value gives the same
#: minimizer; one matches the scale of the softmax curvature.
GAUGE_WEIGHT = 1.0


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
        (``u`` is :func:`gauge_direction`).  The objective adds
        ``GAUGE_WEIGHT/2 * (u @ b)^2``, which is zero at the minimizer reached and makes
        the Hessian non-singular; OvA, the gaussian family and a fit without intercepts
        have no such direction.
        """
        return gauge_direction(self) if self.intercept else None

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


def gauge_direction(prob: Problem):
    """Unit direction ``u`` (K,) of the softmax gauge, or None (OvA, gaussian).

    Adding ``v u_k`` to every class's coefficients ``W[:, k]`` shifts every adjusted logit
    of a sample by the same amount (``u`` is proportional to ``1/delta``), so the loss
    has zero curvature along ``v ⊗ u``: only the penalty acts there.  It exists with or
    without intercepts; :attr:`Problem.gauge`, its intercept part, only with them.

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


def penalty_diagonal(prob: Problem, m: int):
    """Diagonal of member ``m``'s penalty in (W, b): (d+1, K), zero on the intercept row.

    Examples
    --------
    >>> import numpy as np
    >>> from classdep.solvers.prepare import prepare
    >>> pp = prepare(np.eye(3), np.arange(3), 3, device="cpu")
    >>> penalty_diagonal(pp.prob.with_lambda(np.full((1, 3), 0.5)), 0)[:, 0].tolist()
    [0.5, 0.5, 0.5, 0.0]
    """
    xp = prob.xp
    if prob.elementwise:
        return xp.concat([prob.lam[:, m, :], xp.zeros((1, prob.K), dtype=prob.lam.dtype)], axis=0)
    dt = prob.X.dtype
    pen_rows = xp.concat([xp.ones(prob.d, dtype=dt), xp.zeros(1, dtype=dt)])
    return pen_rows[:, None] * prob.lam[m, :][None, :]
