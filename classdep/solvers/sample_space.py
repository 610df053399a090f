"""The sample-space route: wide features (``d > n``) solved on ``n`` reduced features.

Why it is exact
---------------
For member ``m`` the objective (:mod:`classdep.solvers.objective`) depends on the
coefficients ``W[:, m, k]`` through the logits ``X W`` and through the ridge penalty
``sum_k lam[m, k] / 2 * ||W[:, m, k]||^2``.  Split any ``W_k = W_par + W_perp`` with
``W_par`` in the row space of ``X`` and ``X W_perp = 0``: the logits, hence the loss,
see ``W_par`` alone, while the penalty adds ``lam_k / 2 * ||W_perp||^2 > 0``.  Every
minimizer therefore has ``W_perp = 0`` and lies in the row space (the representer
theorem; Kimeldorf & Wahba 1971, Schölkopf, Herbrich & Smola 2001).  This holds for every
class separately, so class-specific penalties ``lam_k`` keep it, and whatever acts on the
logits alone keeps it too: unpenalized intercepts, sample weights, the logit adjustments
of :mod:`classdep.solvers.losses`, the families.

A cross-validation fold is a member whose held-out rows weigh zero: its solution lies in
the span of its *training* rows, which is contained in the span of *all* rows.  One basis
of the row space of the whole ``X`` therefore serves every fold of a batch, and a zero
weight on the held-out rows keeps each fold's answer exact.

With ``Xc^T = Q R`` (a thin QR factorization, ``Q`` of shape (d, r) with orthonormal
columns, ``r = min(n, d)``), ``Xc = T Q^T`` with ``T = R^T`` (n, r).  Writing
``W = Q beta`` gives ``Xc W = T beta`` and ``||W_k|| = ||beta_k||`` (``Q`` has
orthonormal columns): the problem on ``W`` restricted to the row space *is* the same
penalized regression with features ``T``, solved by the same solvers at a cost that
depends on ``n`` where it depended on ``d``; the solution maps back as ``W = Q beta``.
The QR factorization (Householder; Golub & Van Loan 2013, Sec. 5.2) is backward stable
and works on ``X`` itself, not on the Gram matrix ``X X^T``, whose rounding would square
the features' condition number.  It costs ``2 d n^2`` flops once per problem.

What it does not cover
----------------------
A penalty that is not invariant under rotations of the features (the per-feature penalty
of the quadratic augmentation, :mod:`classdep.solvers.augment`) breaks the argument: such
fits stay in the feature space.  So do features read in row chunks (the factorization
needs ``X`` whole).

The rule
--------
:func:`choose_route` takes the sample space when ``route="auto"``, ``d > n`` (``n`` the
rows of the batch, augmentation copies included), the penalty is rotation invariant and
``X`` is held in memory; ``route="sample"`` asks for it (also when ``d <= n``, where it is
an exact rotation of the features and gains nothing), ``route="feature"`` refuses it.
"""

from __future__ import annotations

from typing import Any

__all__ = ["ROUTES", "choose_route", "reduce_features", "to_feature_space", "to_sample_space"]

ROUTES = ("auto", "feature", "sample")


def choose_route(n: int, d: int, route: str = "auto", *, rotation_invariant: bool = True,
                 in_memory: bool = True) -> str:
    """``"sample"`` or ``"feature"``: where the path is solved (see the module's rule).

    Parameters
    ----------
    n, d : int
        Rows of the batch (augmentation copies included) and features.
    route : {"auto", "feature", "sample"}
        The setting (:class:`~classdep.solvers.settings.Control`).
    rotation_invariant : bool
        False for a per-feature penalty (the quadratic augmentation), which rules the
        sample space out.
    in_memory : bool
        False when ``X`` is read in row chunks, which rules it out too.

    Raises
    ------
    ValueError
        ``route="sample"`` where the sample space is not exact or not possible.

    Examples
    --------
    >>> choose_route(50, 10000), choose_route(500, 64), choose_route(500, 64, "sample")
    ('sample', 'feature', 'sample')
    >>> choose_route(50, 10000, rotation_invariant=False)
    'feature'
    """
    if route == "feature":
        return "feature"
    possible = rotation_invariant and in_memory
    if route == "sample":
        if not possible:
            why = ("a per-feature penalty (the quadratic augmentation) is not rotation invariant, so "
                   "the solution need not lie in the row space of x" if not rotation_invariant else
                   "x is read in row chunks, and the sample space needs it whole")
            raise ValueError(f"route='sample' is not possible here: {why}. Use route='auto' or 'feature'.")
        return "sample"
    if route != "auto":
        raise ValueError(f"route={route!r} is not one of {list(ROUTES)}.")
    return "sample" if possible and d > n else "feature"


# Rows of Q rotated per product in reduce_features: 2 rows r^2 flops per BLAS call, kept
# to a fraction of a second so that an interrupt gets through between them.
_ROTATE_FLOPS = 2e9


def reduce_features(xp: Any, Xc, w=None) -> tuple[Any, Any]:
    """``(T, Q)`` with ``Xc = T Q^T``: reduced features (n, r) and a row-space basis (d, r).

    ``Q`` has orthonormal columns and ``r = min(n, d)``.  With weights ``w`` (n,), the
    basis is also rotated (an orthogonal ``r x r`` rotation, exact for a rotation-invariant
    penalty like the reduction itself) so that the weighted covariance ``T^T diag(w) T`` is
    diagonal: the Kronecker preconditioner (:mod:`classdep.solvers.kronecker`), which works
    in the eigenbasis of that covariance, then needs no rotation per conjugate-gradient
    iteration (two products of ``r^2 M K`` flops each, as costly as a Hessian-vector
    product in the sample space).  Written against the array API (``xp.linalg.qr``,
    ``xp.linalg.eigh``), so NumPy, CuPy and array-api-strict share it.

    Examples
    --------
    >>> import array_api_compat.numpy as xp
    >>> import numpy as np
    >>> X = np.random.default_rng(0).normal(size=(4, 9))
    >>> T, Q = reduce_features(xp, X)
    >>> T.shape, Q.shape, bool(np.allclose(T @ Q.T, X)), bool(np.allclose(Q.T @ Q, np.eye(4)))
    ((4, 4), (9, 4), True, True)
    >>> T, Q = reduce_features(xp, X, np.full(4, 0.25))
    >>> C = T.T @ (T * 0.25)
    >>> bool(np.allclose(T @ Q.T, X)), bool(np.allclose(C, np.diag(np.diag(C))))
    (True, True)
    """
    Q, R = xp.linalg.qr(xp.permute_dims(Xc, (1, 0)))  # reduced mode: Q (d, r), R (r, n)
    T = xp.permute_dims(R, (1, 0))
    if w is None:
        return T, Q
    _, U = xp.linalg.eigh(xp.permute_dims(T, (1, 0)) @ (T * w[:, None]))
    d, r = Q.shape
    step = int(max(1, _ROTATE_FLOPS // (2 * r * r + 1)))
    QU = xp.empty((d, r), dtype=Q.dtype)
    for a in range(0, d, step):
        e = min(a + step, d)
        QU[a:e, :] = Q[a:e, :] @ U
    return T @ U, QU


def to_feature_space(xp: Any, Q, B):
    """Coefficients ``B`` (r, M, K) on the reduced features → ``Q B`` (d, M, K).

    Examples
    --------
    >>> import array_api_compat.numpy as xp
    >>> import numpy as np
    >>> to_feature_space(xp, np.eye(3)[:, :2], np.ones((2, 1, 1)))[:, 0, 0].tolist()
    [1.0, 1.0, 0.0]
    """
    r, M, K = B.shape
    return xp.reshape(Q @ xp.reshape(B, (r, M * K)), (Q.shape[0], M, K))


def to_sample_space(xp: Any, Q, W):
    """Feature-space coefficients ``W`` (d, M, K) → ``Q^T W`` (r, M, K).

    Exact for ``W`` in the row space (every solution is); a warm start saved in the
    feature space (an older checkpoint) is projected onto it.

    Examples
    --------
    >>> import array_api_compat.numpy as xp
    >>> import numpy as np
    >>> to_sample_space(xp, np.eye(3)[:, :2], np.ones((3, 1, 1)))[:, 0, 0].tolist()
    [1.0, 1.0]
    """
    d, M, K = W.shape
    return xp.reshape(xp.permute_dims(Q, (1, 0)) @ xp.reshape(W, (d, M * K)), (Q.shape[1], M, K))
