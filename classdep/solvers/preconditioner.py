"""What the truncated-Newton solver asks of a preconditioner.

A preconditioner is an approximation of the Hessian in (W, b), assembled from the
problem and the probabilities at one Newton iterate and factored when it is built;
conjugate gradients then apply its inverse once per iteration (:meth:`solve`).  Its
:meth:`nbytes` says what it holds at its peak, for the memory plan
(:mod:`classdep.solvers.memory`), before anything is formed.  Three implement it:

* :class:`~classdep.solvers.kronecker.KroneckerFactor`: ``cov(X) ⊗ B``, rotated into
  the eigenvectors of the feature covariance; ``d x d`` and ``M K x K`` matrices;
* :class:`~classdep.solvers.hessian.HessianFactor`: the exact Hessian, summed over
  curvature-sampled rows in float32, factored by Cholesky (also exact Newton's solve);
* :class:`~classdep.solvers.class_blocks.ClassBlockFactor`: the Hessian's per-class
  diagonal blocks, with the softmax gauge treated apart.

:mod:`classdep.solvers.schedule` decides which one to use and when to form it anew.
"""

from __future__ import annotations

from typing import Any, Protocol

__all__ = ["Preconditioner"]


class Preconditioner(Protocol):
    """An approximate Hessian, assembled and factored when built.

    Examples
    --------
    >>> import numpy as np
    >>> from classdep.solvers.class_blocks import ClassBlockFactor
    >>> from classdep.solvers.hessian import HessianFactor
    >>> from classdep.solvers.kronecker import KroneckerFactor
    >>> [isinstance(c.nbytes(1000, 10, 5, 1, family="multinomial", itemsize=8), int)
    ...  for c in (KroneckerFactor, HessianFactor, ClassBlockFactor)]
    [True, True, True]
    """

    def solve(self, gW, gb) -> tuple[Any, Any]:
        """The inverse approximation applied to ``[gW; gb]``: (d, M, K) and (M, K) arrays."""
        ...

    @staticmethod
    def nbytes(n: int, d: int, K: int, M: int, *, family: str, itemsize: int) -> int:
        """Bytes it holds at its peak, for ``n`` samples, ``d`` features, ``K`` classes
        and ``M`` batch members, in numbers of ``itemsize`` bytes."""
        ...
