"""The curvature of the loss in the logits, sample by sample.

For sample ``i`` and member ``m`` the Hessian of the weighted loss in the raw logits is
``omega_im D (diag p_i - p_i p_i^T) D`` for the multinomial family (``D`` the logit
scales, ``p_i`` the probabilities), its diagonal for OvA and ``omega_im D^2`` for the
gaussian family.  The exact Hessian (:mod:`.hessian`) sums these pieces against
``x~_i x~_i^T``; its row sampling draws rows by their trace; the quadratic
augmentation penalty (:mod:`.augment`) weighs features by their diagonal.
"""

from __future__ import annotations

from .problem import Problem

__all__ = ["curvature_weights", "curvature_trace", "curvature_diagonal"]


def curvature_weights(prob: Problem, P):
    """Weighted per-sample curvature pieces: (diagonal (n,M,K), rank-one factor or None).

    The per-sample Hessian of the loss in the raw logits, times the sample's weight, is
    ``diag(a) - q q^T``, with ``a`` the diagonal returned first and ``q`` the rank-one
    factor (multinomial only; None for OvA and the gaussian family).

    Examples
    --------
    >>> import numpy as np
    >>> from classdep.solvers.prepare import prepare, initial_point
    >>> from classdep.solvers.objective import evaluate
    >>> rng = np.random.default_rng(0)
    >>> pp = prepare(rng.normal(size=(40, 3)), rng.integers(0, 3, 40), 3, device="cpu")
    >>> W, b = initial_point(pp)
    >>> P = evaluate(pp.prob, pp.prob.matmul_x(W) + b[None], W, b).P
    >>> c, q = curvature_weights(pp.prob, P)
    >>> c.shape, q.shape
    ((40, 1, 3), (40, 1, 3))
    """
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


def curvature_trace(prob: Problem, P):
    """Per-sample trace of the weighted curvature, ``omega_im tr(A_i)``: (n, M).

    Examples
    --------
    >>> import numpy as np
    >>> from classdep.solvers.prepare import prepare, initial_point
    >>> from classdep.solvers.objective import evaluate
    >>> rng = np.random.default_rng(0)
    >>> pp = prepare(rng.normal(size=(40, 3)), rng.integers(0, 3, 40), 3, device="cpu")
    >>> W, b = initial_point(pp)
    >>> P = evaluate(pp.prob, pp.prob.matmul_x(W) + b[None], W, b).P
    >>> curvature_trace(pp.prob, P).shape
    (40, 1)
    """
    xp = prob.xp
    diag, q = curvature_weights(prob, P)
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
    >>> from classdep.solvers.objective import evaluate
    >>> rng = np.random.default_rng(0)
    >>> pp = prepare(rng.normal(size=(40, 3)), rng.integers(0, 3, 40), 3, device="cpu")
    >>> W, b = initial_point(pp)
    >>> P = evaluate(pp.prob, pp.prob.matmul_x(W) + b[None], W, b).P
    >>> curvature_diagonal(pp.prob, P).shape
    (40, 1, 3)
    """
    diag, q = curvature_weights(prob, P)
    return diag if q is None else diag - q * q
