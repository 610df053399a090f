"""Feature-space augmentation inside the objective: feature noise and dropout.

Two ways to train on noised features ``x~`` (``E[x~ | x] = x``) of strength ``s``:

* ``kind="gaussian"``: ``x~ = x + e``, ``e ~ N(0, s^2 I)`` (``s > 0``);
* ``kind="dropout"``: ``x~_j = x_j z_j / (1 - s)``, ``z_j ~ Bernoulli(1 - s)``
  (``0 < s < 1``).

The noise acts on the features as given (before ``standardize``; dropout is
scale-free, Gaussian noise of SD ``s`` is in the caller's units).

``method="sample"`` stacks ``copies = R`` noised copies of the training matrix (a
seeded Monte-Carlo estimate of the expected noised loss) and repeats labels, sample
weights and batch weights, each divided by ``R``.  The noise is drawn, copy after
copy, by ``rng = numpy.random.default_rng(seed)``: copy ``r`` is
``X + s * rng.standard_normal(X.shape)`` or ``X * (rng.random(X.shape) < 1 - s) / (1 - s)``.

``method="quadratic"`` replaces the noise by the quadratic approximation of Wager,
Wang & Liang (2013) of the expected noised loss minus the clean loss,
added to the ridge penalty as an elementwise (per feature, member and class) penalty::

    dropout:   1/2 * s/(1-s) * sum_k sum_j W_jk^2 * sum_i omega_i v_ik x_ij^2
    gaussian:  1/2 * s^2     * sum_k ||W_k||^2  * sum_i omega_i v_ik

where ``omega`` are the member's normalized sample weights and ``v_ik`` the curvature
of the loss in class ``k``'s raw logit for sample ``i``: one for ``family="gaussian"``
(least squares, where the approximation is exact and the problem is a ridge regression
with per-feature penalties), ``p_ik (1 - p_ik)`` for the multinomial and one-vs-all
families (times the squared logit scale of CDT/VS/LDT).  For the multinomial family
this is the *diagonal* of the softmax curvature ``diag(p_i) - p_i p_i'``: the
penalty stays separable across classes (Wager's full multinomial form,
``sum_j x_ij^2 Var_{k ~ p_i}(W_jk)``, also couples the classes).

For the logistic families ``v`` depends on the fit.  The solver evaluates it at the
current solution and refits with the updated penalty, warm-started, until the penalty
at the solution differs from the one it was fitted with by less than ``1e-10``
(relative per batch member, float64; ``100`` unit roundoffs in float32) or for at most
50 rounds: the result is the fixed point of Wager's approximation with ``V`` frozen at
the solution, i.e. a point where the gradient of the penalized objective, with the
penalty held at its value there, vanishes.  (It is not the minimizer of the
approximation with ``V`` varying, whose gradient has a third-derivative term.)  The
plain iteration contracts slowly at small lambda, so the next penalty comes from
Anderson acceleration over the last rounds (:class:`Anderson`); the number of rounds
is reported per lambda (typically 5 to 30; each costs about one Newton iteration).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from ..backend import to_numpy
from .curvature import curvature_diagonal
from .problem import Problem

__all__ = ["Augment", "check_augment", "noisy_copies", "QuadraticPenalty", "Anderson", "MAX_ROUNDS",
           "CURVATURES", "quadratic_penalty", "sampled_penalty", "quadratic_fit", "QuadraticFit"]

KINDS = ("gaussian", "dropout")
METHODS = ("sample", "quadratic")
_KEYS = ("kind", "strength", "method", "copies", "seed")
# The fixed point of the quadratic penalty: relative change that ends it, and a cap.
FIXED_POINT_RTOL = 1e-10
MAX_ROUNDS = 50
# Anderson acceleration of the fixed point: how many past rounds it combines.
_ANDERSON_MEMORY = 5


@dataclass(frozen=True)
class Augment:
    """A validated augmentation spec; see :func:`check_augment`."""

    kind: str
    strength: float
    method: str = "quadratic"
    copies: int = 1
    seed: int = 0

    def describe(self) -> str:
        """A one-line description, e.g. for netCDF attributes."""
        if self.method == "sample":
            return (f"kind={self.kind}, strength={self.strength:g}, method=sample, "
                    f"copies={self.copies}, seed={self.seed}")
        return f"kind={self.kind}, strength={self.strength:g}, method=quadratic"


def check_augment(spec: Any) -> Augment | None:
    """Validate ``augment``: None, a dict (or an :class:`Augment`).

    Keys: ``kind`` ("gaussian" or "dropout", required), ``strength`` (required: in
    (0, 1) for dropout, > 0 for Gaussian noise), ``method`` ("quadratic" by default,
    or "sample"), ``copies`` (int >= 1, default 1) and ``seed`` (int, default 0),
    the last two for ``method="sample"`` only.

    Examples
    --------
    >>> check_augment(dict(kind="dropout", strength=0.2))
    Augment(kind='dropout', strength=0.2, method='quadratic', copies=1, seed=0)
    >>> check_augment(None) is None
    True
    """
    if spec is None:
        return None
    if isinstance(spec, Augment):
        keys = ("kind", "strength", "method") + (("copies", "seed") if spec.method == "sample" else ())
        spec = {k: getattr(spec, k) for k in keys}
    if not isinstance(spec, dict):
        raise TypeError(
            f"augment must be None or a dict such as dict(kind='dropout', strength=0.2); "
            f"got {type(spec).__name__}."
        )
    unknown = sorted(set(spec) - set(_KEYS))
    if unknown:
        raise ValueError(f"augment has unknown key(s) {unknown}; the keys are {list(_KEYS)}.")
    for key in ("kind", "strength"):
        if key not in spec:
            raise ValueError(f"augment needs {key!r}, e.g. dict(kind='dropout', strength=0.2).")
    kind = spec["kind"]
    if kind not in KINDS:
        raise ValueError(f"augment kind={kind!r} is not one of {list(KINDS)}.")
    method = spec.get("method", "quadratic")
    if method not in METHODS:
        raise ValueError(f"augment method={method!r} is not one of {list(METHODS)}.")
    s = spec["strength"]
    if isinstance(s, bool) or not isinstance(s, int | float | np.integer | np.floating) or not np.isfinite(s):
        raise ValueError(f"augment strength={s!r} must be a finite number.")
    s = float(s)
    if kind == "dropout" and not 0 < s < 1:
        raise ValueError(f"augment strength={s!r} is a dropout rate and must lie in (0, 1).")
    if kind == "gaussian" and not s > 0:
        raise ValueError(f"augment strength={s!r} is the noise SD and must be > 0.")
    if method == "quadratic" and ("copies" in spec or "seed" in spec):
        raise ValueError(
            "augment copies and seed apply to method='sample' only (method='quadratic' is the "
            "default); add method='sample' or drop them."
        )
    copies = spec.get("copies", 1)
    if isinstance(copies, bool) or not isinstance(copies, int | np.integer) or copies < 1:
        raise ValueError(f"augment copies={copies!r} must be an integer >= 1.")
    seed = spec.get("seed", 0)
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer) or seed < 0:
        raise ValueError(f"augment seed={seed!r} must be a non-negative integer.")
    return Augment(kind=kind, strength=s, method=method, copies=int(copies), seed=int(seed))


def noisy_copies(X: np.ndarray, aug: Augment) -> np.ndarray:
    """``copies`` noised copies of ``X`` (n, d) stacked into (copies * n, d), seeded.

    Examples
    --------
    >>> X = np.ones((2, 3))
    >>> noisy_copies(X, check_augment(dict(kind="dropout", strength=0.5, method="sample",
    ...                                    copies=2))).shape
    (4, 3)
    """
    rng = np.random.default_rng(aug.seed)
    n, d = X.shape
    out = np.empty((aug.copies * n, d))
    s = aug.strength
    for r in range(aug.copies):
        if aug.kind == "gaussian":
            out[r * n:(r + 1) * n] = X + s * rng.standard_normal(X.shape)
        else:
            out[r * n:(r + 1) * n] = X * (rng.random(X.shape) < 1 - s) / (1 - s)
    return out


class QuadraticPenalty:
    """Wager's quadratic penalty for one prepared problem, as elementwise ridge penalties.

    Parameters
    ----------
    prob : Problem
        The prepared problem (centred, possibly standardized features).
    aug : Augment
        A ``method="quadratic"`` spec.
    center, sd : arrays (d,)
        What :func:`classdep.solvers.path.prepare` subtracted and divided by: the noise
        acts on the features as given, ``x = prob.X * sd + center``.
    """

    def __init__(self, prob: Problem, aug: Augment, center: np.ndarray, sd: np.ndarray):
        xp = prob.xp
        dt = prob.X.dtype
        s = aug.strength
        self.kind = aug.kind
        # With v = 1 (least squares) the penalty does not depend on the fit.
        self.fixed = prob.family == "gaussian"
        self.rtol = max(FIXED_POINT_RTOL, 100 * float(np.finfo(np.float32 if dt == xp.float32
                                                                else np.float64).eps))
        if aug.kind == "dropout":
            self.factor = s / (1 - s)
            # The problem's coefficients multiply x / sd: the noise variance of x_j / sd_j
            # is s/(1-s) (x_j / sd_j)^2, with x the uncentred features.
            Xr = prob.X + xp.asarray(np.asarray(center) / np.asarray(sd), dtype=dt)[None, :]
            self.X2 = Xr * Xr
            self.inv_sd2 = None
        else:
            self.factor = s * s
            self.X2 = None
            sd = np.asarray(sd, dtype=np.float64)
            self.inv_sd2 = None if np.all(sd == 1.0) else xp.asarray(1.0 / sd**2, dtype=dt)

    def __call__(self, prob: Problem, P):
        """The penalty at probabilities (fitted values) ``P``: (d, M, K), or (M, K) for
        Gaussian noise on unstandardized features."""
        xp = prob.xp
        Cv = curvature_diagonal(prob, P)  # (n, M, K) = omega_i v_ik
        if self.X2 is not None:
            n, M, K = Cv.shape
            G = xp.reshape(self.X2.T @ xp.reshape(Cv, (n, M * K)), (prob.d, M, K))
            return self.factor * G
        pen = self.factor * xp.sum(Cv, axis=0)  # (M, K)
        if self.inv_sd2 is not None:
            pen = self.inv_sd2[:, None, None] * pen[None, :, :]
        return pen

    @staticmethod
    def combine(base, pen):
        """Ridge penalties ``base`` (M, K) plus ``pen`` (M, K) or (d, M, K)."""
        return base + pen if pen.ndim == 2 else base[None, :, :] + pen

    @staticmethod
    def change(prob: Problem, new, old) -> np.ndarray:
        """Per member, ``max |new - old| / max |new|``: the fixed point's stopping measure."""
        xp = prob.xp
        a, b = Anderson.rows(xp, new), Anderson.rows(xp, old)
        num = np.asarray(to_numpy(xp.max(xp.abs(a - b), axis=1)), dtype=np.float64)
        den = np.asarray(to_numpy(xp.max(xp.abs(a), axis=1)), dtype=np.float64)
        return np.where(num == 0.0, 0.0, num / np.maximum(den, np.finfo(np.float64).tiny))

class Anderson:
    """Anderson acceleration (type II) of the penalty's fixed point, per batch member.

    The map ``pen -> penalty at the solution for pen`` is a contraction whose rate
    approaches one at small lambda (the noise penalty is then the only thing that
    stops the logits from growing, and it shrinks as they grow), so plain iteration can
    need hundreds of refits.  Anderson mixing of the last ``memory`` rounds (Walker &
    Ni 2011) behaves like GMRES on the linearized map and needs a handful.  A round whose
    residual grows tenfold over the best one restarts the history from plain iteration.
    Penalties are kept non-negative.
    """

    def __init__(self, xp, memory: int = _ANDERSON_MEMORY):
        self.xp = xp
        self.memory = memory
        self.F: list = []  # residuals g(x) - x, each (M, P)
        self.G: list = []  # images g(x), each (M, P)
        self.best = None

    @staticmethod
    def rows(xp, pen):
        """(M, K) or (d, M, K) → (M, P)."""
        if pen.ndim == 2:
            return pen
        d, M, K = pen.shape
        return xp.reshape(xp.permute_dims(pen, (1, 0, 2)), (M, d * K))

    @staticmethod
    def unrows(xp, R, like):
        if like.ndim == 2:
            return R
        d, M, K = like.shape
        return xp.permute_dims(xp.reshape(R, (M, d, K)), (1, 0, 2))

    def step(self, x, g):
        """Next penalty from the current one ``x`` and its image ``g`` (same shapes)."""
        xp = self.xp
        xr, gr = self.rows(xp, x), self.rows(xp, g)
        f = gr - xr
        fn = xp.sqrt(xp.sum(f * f, axis=1))  # (M,)
        if self.best is None:
            self.best = fn
        else:
            grew = xp.any(fn > 10.0 * self.best)
            self.best = xp.minimum(self.best, fn)
            if bool(grew):
                self.F, self.G = [], []
        self.F.append(f)
        self.G.append(gr)
        self.F, self.G = self.F[-(self.memory + 1):], self.G[-(self.memory + 1):]
        if len(self.F) < 2:
            return g
        F, G = xp.stack(self.F, axis=1), xp.stack(self.G, axis=1)  # (M, h, P)
        dF, dG = F[:, 1:, :] - F[:, :-1, :], G[:, 1:, :] - G[:, :-1, :]
        A = dF @ xp.permute_dims(dF, (0, 2, 1))  # (M, h-1, h-1)
        h1 = A.shape[1]
        eye = xp.eye(h1, dtype=A.dtype)
        tr = xp.sum(A * eye[None, :, :], axis=(1, 2)) / h1
        A = A + (1e-12 * tr + xp.finfo(A.dtype).smallest_normal)[:, None, None] * eye[None, :, :]
        gamma = xp.linalg.solve(A, dF @ f[:, :, None])  # (M, h-1, 1)
        xn = gr - xp.sum(dG * gamma, axis=1)
        return self.unrows(xp, xp.maximum(xn, 0.0), g)


# -- the class-coupled curvature: the objective-level reference -----------------------------------
#
# The path above adds Wager's penalty with the *diagonal* of the softmax curvature, because the
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

CURVATURES = ("diagonal", "full")


def _probs(Z: np.ndarray, family: str) -> np.ndarray:
    if family == "multinomial":
        Z = Z - Z.max(axis=1, keepdims=True)
        E = np.exp(Z)
        return E / E.sum(axis=1, keepdims=True)
    return 0.5 * (1.0 + np.tanh(0.5 * Z))  # the logistic function, without overflow


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
        P = _probs(X @ W + np.asarray(b, dtype=np.float64), family)
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
    G = omega[:, None] * (_probs(Z, family) - Y)  # d loss / d Z, the first-order term's weights
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
    (``d * K`` up to a few thousand): it is the reference against which the
    class-coupled curvature is checked, and the way to fit it until the path's solvers
    take a block (per-feature ``K x K``) penalty.

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
        Q = _probs(Z, family)
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
    P = _probs(X @ theta[:d * K].reshape(d, K) + theta[d * K:], family)
    converged = False
    rounds = 0
    while rounds < int(max_rounds):
        rounds += 1
        theta = solve(theta, P)
        P_new = _probs(X @ theta[:d * K].reshape(d, K) + theta[d * K:], family)
        change = float(np.max(np.abs(P_new - P)))
        P = P_new
        if change < tol:
            converged = True
            break
    W, b = theta[:d * K].reshape(d, K), theta[d * K:]
    return QuadraticFit(W, b, rounds, converged, float(objective(theta, P)[0]))
