"""The class-coupled quadratic penalty of feature-space augmentation, beside the diagonal one,
its sampled estimate, and a dense reference fit.

The path (:mod:`classdep.solvers.augment`) adds Wager, Wang & Liang's (2013) quadratic
approximation with the *diagonal* of the softmax curvature, because its solvers take
elementwise ridge penalties.  This module holds the objective-level forms against which
that choice is judged: the full (class-coupled) and the diagonal penalty with their
gradients (:func:`quadratic_penalty`), a Monte-Carlo estimate of the expected noised loss
from noisy copies (:func:`sampled_penalty`), and a dense L-BFGS fit with either form
(:func:`quadratic_fit`).  Why the two forms differ, and where each holds, is below.
"""

# The path adds Wager's penalty with the *diagonal* of the softmax curvature, because the
# solvers take elementwise ridge penalties.  The second-order term of the expected noised
# multinomial loss is the full one: the logit change of sample i under noise, e_i = xi_i' W
# (xi_i the feature noise), has covariance sum_j v_ij W_j W_j' (v_ij the noise variance of
# feature j: s/(1-s) x_ij^2 for dropout, s^2 for Gaussian noise), and
#
#     E[A(z_i + e_i)] - A(z_i) = 1/2 E[e_i' H_i e_i] + O(e^3) = 1/2 sum_j v_ij W_j' H_i W_j + O(e^3),
#     H_i = diag(p_i) - p_i p_i'   (the softmax Hessian of the clean logits),
#
# with W_j the j-th row of W (one weight per class).  W_j' H_i W_j = Var_{k ~ p_i}(W_jk): the
# penalty is the variance of feature j's class weights under sample i's prediction.  The
# diagonal form replaces H_i by diag(p_i (1 - p_i)), i.e. drops the -p_ik p_il W_jk W_jl cross
# terms.  It equals the full one when each p_i puts its mass on one class.  Where p_i splits
# between two classes k, l (a confused pair) it misses -2 p_ik p_il W_jk W_jl: it understates the
# penalty on a feature whose weights separate the pair (opposite signs; by half for two classes
# with W_jk = -W_jl) and overstates it on one they share.  Feature noise thus shrinks the weights
# that tell confused classes apart more than the diagonal form says.  For one-vs-all the K
# binomial losses do not couple, and the diagonal is the whole curvature.

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..link import response
from .augment import check_augment, noisy_copies

__all__ = ["CURVATURES", "quadratic_penalty", "sampled_penalty", "quadratic_fit", "QuadraticFit"]

CURVATURES = ("diagonal", "full")


def _losses(Z: np.ndarray, codes: np.ndarray, family: str) -> np.ndarray:
    """Per-sample loss at logits ``Z`` (n, K): softmax cross-entropy or K binomial losses."""
    n = Z.shape[0]
    if family == "multinomial":
        m = Z.max(axis=1)
        lse = m + np.log(np.exp(Z - m[:, None]).sum(axis=1))
        return lse - Z[np.arange(n), codes]
    Y = np.zeros_like(Z)
    Y[np.arange(n), codes] = 1.0
    return (np.logaddexp(0.0, Z) - Y * Z).sum(axis=1)


def _noise_variance(X: np.ndarray, kind: str, s: float) -> np.ndarray:
    """v_ij: the variance of the noise on feature j of sample i, (n, d)."""
    if kind == "dropout":
        return s / (1.0 - s) * X * X
    return np.full(X.shape, s * s)


def quadratic_penalty(X, W, b, kind: str, strength: float, *, curvature: str = "full",
                      family: str = "multinomial", weights=None, P=None) -> tuple[float, np.ndarray]:
    """Wager's quadratic approximation of the expected noised loss minus the clean loss, and its gradient.

    ``R(W) = 1/2 sum_i omega_i sum_j v_ij W_j' H_i W_j`` with ``v_ij`` the noise variance
    of feature ``j`` of sample ``i`` (``s/(1-s) x_ij^2`` for dropout, ``s^2`` for Gaussian
    noise), ``omega`` the normalized sample weights, and the curvature of the clean logits

    * ``curvature="full"``: ``H_i = diag(p_i) - p_i p_i'``, the softmax Hessian, so that
      ``W_j' H_i W_j = Var_{k ~ p_i}(W_jk)`` couples the classes;
    * ``curvature="diagonal"``: ``H_i = diag(p_i (1 - p_i))``, what the path's
      ``method="quadratic"`` uses (an elementwise ridge).

    Which holds: the full form is the second-order term of the expected noised
    multinomial loss, exact up to third-order terms in the logit noise (so for small
    noise, ``strength * ||W||`` small against one logit unit).  The diagonal form agrees
    with it where every ``p_i`` puts its mass on one class (the cross terms
    ``p_ik p_il W_jk W_jl`` vanish) and for ``family="ova"``, whose binomial losses do
    not couple.  Where a sample's prediction splits between two classes (a confused
    pair) it misses ``-2 p_ik p_il W_jk W_jl``: it understates the penalty on features
    whose weights separate the pair (opposite signs; by half for two classes with
    ``W_jk = -W_jl``, as the ridge gauge makes them) and overstates it on features they
    share; and it is not invariant to adding one constant to every class's weight of a
    feature, as the softmax is.

    Parameters
    ----------
    X : array (n, d)
        Features as given (the noise acts on them).
    W, b : arrays (d, K), (K,)
        Coefficients and intercepts.
    kind, strength :
        ``"dropout"`` (rate in (0, 1)) or ``"gaussian"`` (SD > 0), as :func:`check_augment`.
    curvature : {"full", "diagonal"}
    family : {"multinomial", "ova"}
    weights : array (n,), optional
        Sample weights (normalized here).
    P : array (n, K), optional
        Probabilities at which the curvature is frozen; default: those of ``(W, b)``.
        The gradient is the one with the curvature held fixed (the fixed point's).

    Returns
    -------
    value : float
    gradient : ndarray (d, K)
        ``dR/dW`` with ``P`` frozen.

    Examples
    --------
    >>> X = np.array([[1.0, 2.0], [0.5, -1.0]]); W = np.array([[1.0, -1.0], [0.5, -0.5]])
    >>> full, _ = quadratic_penalty(X, W, np.zeros(2), "gaussian", 0.1)
    >>> diag, _ = quadratic_penalty(X, W, np.zeros(2), "gaussian", 0.1, curvature="diagonal")
    >>> round(full / diag, 6)  # two classes, opposite weights: the diagonal has half of it
    2.0
    """
    if curvature not in CURVATURES:
        raise ValueError(f"curvature={curvature!r} is not one of {list(CURVATURES)}.")
    if family not in ("multinomial", "ova"):
        raise ValueError(f"family={family!r}: the quadratic penalty is for 'multinomial' or 'ova'.")
    X = np.asarray(X, dtype=np.float64)
    W = np.asarray(W, dtype=np.float64)
    n = X.shape[0]
    w = np.ones(n) if weights is None else np.asarray(weights, dtype=np.float64)
    omega = w / w.sum()
    if P is None:
        P = response(X @ W + np.asarray(b, dtype=np.float64), family)
    A = omega[:, None] * _noise_variance(X, check_augment(dict(kind=kind, strength=strength)).kind,
                                         float(strength))  # (n, d): omega_i v_ij
    if curvature == "diagonal" or family == "ova":
        Cd = A.T @ (P * (1.0 - P))  # (d, K): sum_i omega_i v_ij p_ik (1 - p_ik)
        return float(0.5 * np.sum(Cd * W * W)), Cd * W
    # full: W_j' H_i W_j = sum_k p_ik W_jk^2 - (p_i' W_j)^2
    M = P @ W.T  # (n, d): p_i' W_j
    grad = (A.T @ P) * W - (A * M).T @ P
    value = 0.5 * (np.sum((A.T @ P) * W * W) - np.sum(A * M * M))
    return float(value), grad


def sampled_penalty(X, y, W, b, kind: str, strength: float, *, copies: int = 100, seed: int = 0,
                    family: str = "multinomial", weights=None,
                    control_variate: bool = True) -> tuple[float, float]:
    """The Monte-Carlo estimate of the expected noised loss minus the clean loss, and its standard error.

    The same noise as ``method="sample"`` (:func:`noisy_copies`, seeded): the mean over
    ``copies`` noised copies of the weighted mean loss, minus the clean weighted mean loss.
    As ``copies`` grows it converges to the expected noised loss that
    :func:`quadratic_penalty` approximates.  With ``control_variate`` (the default)
    every copy's first-order term ``sum_i omega_i g_i' (x~_i - x_i) W`` (``g_i`` the
    loss gradient in the clean logits) is subtracted: its mean is zero, so the estimate
    stays unbiased, and it carries most of the copies' spread (its variance is of the
    order of the noise variance, the penalty's of its square), so small strengths need
    far fewer copies.

    Parameters
    ----------
    X, W, b, kind, strength, family, weights :
        As :func:`quadratic_penalty`.
    y : array (n,)
        Label codes ``0 .. K-1``.
    copies, seed :
        Noised copies and the seed of their draws.
    control_variate : bool
        Subtract the zero-mean first-order term from every copy.

    Returns
    -------
    estimate, standard_error : float
        The standard error is the SD of the per-copy estimates over ``sqrt(copies)``.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(50, 3)); y = rng.integers(0, 3, 50); W = rng.normal(size=(3, 3))
    >>> est, se = sampled_penalty(X, y, W, np.zeros(3), "gaussian", 0.1, copies=50)
    >>> q, _ = quadratic_penalty(X, W, np.zeros(3), "gaussian", 0.1)
    >>> bool(abs(est - q) < 4 * se + 0.05 * q)
    True
    """
    X = np.asarray(X, dtype=np.float64)
    codes = np.asarray(y, dtype=np.int64)
    W = np.asarray(W, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    n = X.shape[0]
    w = np.ones(n) if weights is None else np.asarray(weights, dtype=np.float64)
    omega = w / w.sum()
    aug = check_augment(dict(kind=kind, strength=strength, method="sample", copies=int(copies),
                             seed=int(seed)))
    Z = X @ W + b
    clean = omega @ _losses(Z, codes, family)
    Y = np.zeros_like(Z)
    Y[np.arange(n), codes] = 1.0
    G = omega[:, None] * (response(Z, family) - Y)  # d loss / d Z, the first-order term's weights
    Xs = noisy_copies(X, aug)
    per = np.empty(aug.copies)
    for r in range(aug.copies):
        dZ = (Xs[r * n:(r + 1) * n] - X) @ W
        per[r] = omega @ _losses(Z + dZ, codes, family) - clean
        if control_variate:
            per[r] -= np.sum(G * dZ)  # mean zero: unbiased, and it removes most of the spread
    se = float(per.std(ddof=1) / np.sqrt(per.size)) if per.size > 1 else float("nan")
    return float(per.mean()), se


def _through_probabilities(X, W, A, P, curvature: str, family: str) -> np.ndarray:
    """d R / d Z (n, K): how the penalty moves with the clean logits through the curvature.

    ``R = sum_i q_i(p_i)``; with ``u_ik = d q_i / d p_ik`` the softmax gives
    ``d q_i / d z_i = p_i * (u_i - p_i' u_i)`` and the logistic ``u_ik p_ik (1 - p_ik)``.
    (``A`` holds ``omega_i v_ij``.)
    """
    S = A @ (W * W)  # (n, K): sum_j omega_i v_ij W_jk^2
    if family == "ova":
        return 0.5 * S * (1.0 - 2.0 * P) * P * (1.0 - P)
    if curvature == "diagonal":
        u = 0.5 * S * (1.0 - 2.0 * P)
    else:
        u = 0.5 * S - (A * (P @ W.T)) @ W
    return P * (u - np.sum(P * u, axis=1, keepdims=True))


@dataclass(frozen=True)
class QuadraticFit:
    """A solution of the quadratic-penalty objective at one lambda: see :func:`quadratic_fit`."""

    W: np.ndarray
    b: np.ndarray
    rounds: int
    converged: bool
    objective: float


def quadratic_fit(X, y, lambda_: float, kind: str, strength: float, *, curvature: str = "full",
                  family: str = "multinomial", weights=None, frozen: bool = True, tol: float = 1e-8,
                  max_rounds: int = 500, start: tuple | None = None) -> QuadraticFit:
    """The quadratic augmentation objective with either curvature, solved densely (a reference).

    With ``frozen=True`` (the path's convention): minimizes ``mean loss(X W + b) +
    lambda/2 ||W||^2 + R(W; P)`` (:func:`quadratic_penalty`, curvature frozen at ``P``)
    and refits with ``P`` re-evaluated at the solution until ``P`` changes by less than
    ``tol`` (max absolute change), as the path's ``method="quadratic"`` does for the
    diagonal form: a point where the gradient with the penalty held fixed vanishes.
    With ``frozen=False``: minimizes Wager's approximate objective itself, the curvature
    moving with ``(W, b)`` (its gradient has the terms through ``P`` that the fixed point
    drops), from the plain ridge fit; this is the closer approximation of the sampled
    objective's minimizer (measured in ``tests/test_augment.py``).

    Each fit is L-BFGS on the dense problem (scipy), so this is for small problems
    (``d * K`` up to a few thousand): it is the reference against which the path's
    ``augment=dict(..., curvature="full")`` (:func:`classdep.solvers.augment_coupled.minimize_coupled`)
    is checked.

    Parameters
    ----------
    X, y, kind, strength, curvature, family, weights :
        As :func:`quadratic_penalty` and :func:`sampled_penalty`.
    lambda_ : float
        The ridge penalty (intercepts unpenalized).
    tol, max_rounds :
        The fixed point's tolerance on the probabilities and its cap on refits.
    start : (W, b), optional
        Warm start.

    Returns
    -------
    QuadraticFit
        ``W`` (d, K), ``b`` (K,), ``rounds``, ``converged`` and the final ``objective``
        (with the penalty at the solution).

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(60, 3)); y = rng.integers(0, 3, 60)
    >>> fit = quadratic_fit(X, y, 0.1, "dropout", 0.3)
    >>> fit.W.shape, fit.converged
    ((3, 3), True)
    """
    from scipy.optimize import minimize as _minimize

    X = np.asarray(X, dtype=np.float64)
    codes = np.asarray(y, dtype=np.int64)
    n, d = X.shape
    K = int(codes.max()) + 1
    w = np.ones(n) if weights is None else np.asarray(weights, dtype=np.float64)
    omega = w / w.sum()
    Y = np.zeros((n, K))
    Y[np.arange(n), codes] = 1.0
    lam = float(lambda_)

    A = omega[:, None] * _noise_variance(X, check_augment(dict(kind=kind, strength=strength)).kind,
                                         float(strength))

    def objective(theta, P):
        W, b = theta[:d * K].reshape(d, K), theta[d * K:]
        Z = X @ W + b
        Q = response(Z, family)
        val = omega @ _losses(Z, codes, family)
        moving = P is None
        pen, gpen = quadratic_penalty(X, W, b, kind, strength, curvature=curvature, family=family,
                                      weights=w, P=Q if moving else P)
        R = omega[:, None] * (Q - Y)  # d loss / d Z, both families
        if moving:
            R = R + _through_probabilities(X, W, A, Q, curvature, family)
        gW = X.T @ R + lam * W + gpen
        return val + 0.5 * lam * np.sum(W * W) + pen, np.concatenate([gW.ravel(), R.sum(axis=0)])

    def solve(theta, P):
        return _minimize(objective, theta, args=(P,), jac=True, method="L-BFGS-B",
                         options=dict(maxiter=10000, gtol=1e-12, ftol=1e-15)).x

    theta = np.zeros(d * K + K) if start is None else np.concatenate([np.ravel(start[0]), np.ravel(start[1])])
    if not frozen:
        # from the plain ridge fit (penalty 0): the approximate objective need not be convex
        theta = solve(theta, np.zeros((n, K)))
        res = _minimize(objective, theta, args=(None,), jac=True, method="L-BFGS-B",
                        options=dict(maxiter=10000, gtol=1e-12, ftol=1e-15))
        theta = res.x
        W, b = theta[:d * K].reshape(d, K), theta[d * K:]
        return QuadraticFit(W, b, 1, bool(res.success), float(res.fun))
    P = response(X @ theta[:d * K].reshape(d, K) + theta[d * K:], family)
    converged = False
    rounds = 0
    while rounds < int(max_rounds):
        rounds += 1
        theta = solve(theta, P)
        P_new = response(X @ theta[:d * K].reshape(d, K) + theta[d * K:], family)
        change = float(np.max(np.abs(P_new - P)))
        P = P_new
        if change < tol:
            converged = True
            break
    W, b = theta[:d * K].reshape(d, K), theta[d * K:]
    return QuadraticFit(W, b, rounds, converged, float(objective(theta, P)[0]))
