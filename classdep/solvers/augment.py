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

``curvature="full"`` (multinomial family, ``loss="ce"``) uses the class-coupled
curvature ``H_i = diag(p_i) - p_i p_i'`` instead, the second-order term of the expected
noised softmax loss, and minimizes the approximate objective itself, the curvature moving
with the fit (:func:`~classdep.solvers.augment_coupled.minimize_coupled`: Newton steps on
its exact gradient).  On a 4-class
toy (300 x 5, Gaussian noise 0.3, lambda 0.01) its solution is 2 % of the augmentation's
effect away from the sampled fit with 2000 copies, against 62 % for the same penalty's
frozen fixed point and 115 % for the diagonal form (``tests/test_augment_coupled.py``).
The penalty's formulas, its sampled estimate and a dense reference fit live in
:mod:`classdep.solvers.augment_forms`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from ..backend import to_numpy
from .curvature import curvature_diagonal
from .problem import Problem

__all__ = ["Augment", "check_augment", "noisy_copies", "QuadraticPenalty", "Anderson", "MAX_ROUNDS",
           "CURVATURES"]

KINDS = ("gaussian", "dropout")
METHODS = ("sample", "quadratic")
CURVATURES = ("diagonal", "full")
_KEYS = ("kind", "strength", "method", "copies", "seed", "curvature")
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
    curvature: str = "diagonal"

    def describe(self) -> str:
        """A one-line description, e.g. for netCDF attributes."""
        if self.method == "sample":
            return (f"kind={self.kind}, strength={self.strength:g}, method=sample, "
                    f"copies={self.copies}, seed={self.seed}")
        text = f"kind={self.kind}, strength={self.strength:g}, method=quadratic"
        return text if self.curvature == "diagonal" else text + f", curvature={self.curvature}"


def check_augment(spec: Any) -> Augment | None:
    """Validate ``augment``: None, a dict (or an :class:`Augment`).

    Keys: ``kind`` ("gaussian" or "dropout", required), ``strength`` (required: in
    (0, 1) for dropout, > 0 for Gaussian noise), ``method`` ("quadratic" by default,
    or "sample"), ``copies`` (int >= 1, default 1) and ``seed`` (int, default 0),
    the last two for ``method="sample"`` only, and ``curvature`` ("diagonal" by
    default, or "full", the class-coupled softmax curvature; ``method="quadratic"``
    only, see :func:`~classdep.solvers.augment_coupled.minimize_coupled`).

    Examples
    --------
    >>> check_augment(dict(kind="dropout", strength=0.2))
    Augment(kind='dropout', strength=0.2, method='quadratic', copies=1, seed=0, curvature='diagonal')
    >>> check_augment(None) is None
    True
    """
    if spec is None:
        return None
    if isinstance(spec, Augment):
        keys = ("kind", "strength", "method") + (("copies", "seed") if spec.method == "sample" else
                                                 ("curvature",))
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
    curvature = spec.get("curvature", "diagonal")
    if curvature not in CURVATURES:
        raise ValueError(f"augment curvature={curvature!r} is not one of {list(CURVATURES)}.")
    if method == "sample" and "curvature" in spec:
        raise ValueError("augment curvature applies to method='quadratic' only (method='sample' draws the "
                         "noise itself); drop curvature or use method='quadratic'.")
    copies = spec.get("copies", 1)
    if isinstance(copies, bool) or not isinstance(copies, int | np.integer) or copies < 1:
        raise ValueError(f"augment copies={copies!r} must be an integer >= 1.")
    seed = spec.get("seed", 0)
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer) or seed < 0:
        raise ValueError(f"augment seed={seed!r} must be a non-negative integer.")
    return Augment(kind=kind, strength=s, method=method, copies=int(copies), seed=int(seed),
                   curvature=curvature)


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
        self.coupled = aug.curvature == "full"
        if self.coupled:
            _check_coupled(prob)
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
        Gaussian noise on unstandardized features.  With the full curvature it is the
        diagonal one, the elementwise part the preconditioner of
        :func:`~classdep.solvers.augment_coupled.minimize_coupled`
        takes (and the first lambda's warm start)."""
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

    def noise(self, prob: Problem):
        """``v_ij``, the noise variance of the problem's feature ``j`` in sample ``i``:
        (n, d) for dropout, (1, d) for Gaussian noise."""
        xp = prob.xp
        if self.X2 is not None:
            return self.factor * self.X2
        c = xp.ones((1, prob.d), dtype=prob.X.dtype) * self.factor
        return c if self.inv_sd2 is None else c * self.inv_sd2[None, :]

    def coupled_terms(self, prob: Problem, W, P, grad: bool = True):
        """Wager's penalty with the class-coupled curvature, with ``P`` the probabilities of ``(W, b)``.

        Per member: the value ``R = 1/2 sum_i omega_i sum_j v_ij W_j' H_i W_j`` (M,),
        ``H_i = diag(p_i) - p_i p_i'``, and with ``grad`` its gradient in ``W`` (d, M, K)
        and ``b`` (M, K), the curvature moving with the fit (the terms through ``P``).
        The same formulas as :func:`classdep.solvers.augment_forms.quadratic_penalty`
        and ``_through_probabilities``, in the problem's coordinates, member by member
        (each costs about five products of size n x d x K).

        Examples
        --------
        >>> from classdep.solvers.prepare import prepare
        >>> rng = np.random.default_rng(0)
        >>> pp = prepare(rng.normal(size=(50, 3)), rng.integers(0, 3, 50), 3, device="cpu")
        >>> aug = check_augment(dict(kind="gaussian", strength=0.1, curvature="full"))
        >>> quad = QuadraticPenalty(pp.prob, aug, pp.center, pp.sd)
        >>> W = np.tile(np.array([1.0, -1.0, 0.0]), (3, 1, 1))  # (d, M, K)
        >>> val, gW, gb = quad.coupled_terms(pp.prob, W, np.full((50, 1, 3), 1 / 3))
        >>> round(float(val[0]), 6), gW.shape  # 1/2 * 0.01 * 3 features * Var(1, -1, 0) = 2/3
        (0.01, (3, 1, 3))
        """
        xp = prob.xp
        V = self.noise(prob)
        vals, gWs, gbs = [], [], []
        for m in range(prob.M):
            A = prob.omega[:, m][:, None] * V  # (n, d): omega_i v_ij
            Pm, Wm = P[:, m, :], W[:, m, :]
            T = A.T @ Pm  # (d, K): sum_i omega_i v_ij p_ik
            Mm = Pm @ Wm.T  # (n, d): p_i' W_j
            AM = A * Mm
            vals.append(0.5 * (xp.sum(T * Wm * Wm) - xp.sum(AM * Mm)))
            if grad:
                # through P: dR/dz_i = p_i * (u_i - p_i'u_i), u_ik = dR/dp_ik
                u = 0.5 * (A @ (Wm * Wm)) - AM @ Wm
                GZ = Pm * (u - xp.sum(Pm * u, axis=1, keepdims=True))
                gWs.append(T * Wm - AM.T @ Pm + prob.X.T @ GZ)
                gbs.append(xp.sum(GZ, axis=0))
        val = xp.stack(vals)
        if not grad:
            return val, None, None
        gb = xp.stack(gbs, axis=0)
        if not prob.intercept:
            gb = xp.zeros_like(gb)
        return val, xp.stack(gWs, axis=1), gb

    def coupled_hessp(self, prob: Problem, P, V, running):
        """The frozen-curvature penalty's Hessian applied to ``V`` (d, M, K): per member
        ``sum_i omega_i v_ij H_i V_j``, zero for members not ``running``."""
        xp = prob.xp
        N = self.noise(prob)
        out = []
        for m in range(prob.M):
            if not running[m]:
                out.append(xp.zeros_like(V[:, m, :]))
                continue
            A = prob.omega[:, m][:, None] * N
            Pm, Vm = P[:, m, :], V[:, m, :]
            out.append((A.T @ Pm) * Vm - (A * (Pm @ Vm.T)).T @ Pm)
        return xp.stack(out, axis=1)

    @staticmethod
    def combine(base, pen):
        """Ridge penalties ``base`` (M, K) plus ``pen`` (M, K) or (d, M, K)."""
        return base + pen if pen.ndim == 2 else base[None, :, :] + pen

    def change(self, prob: Problem, new, old) -> np.ndarray:
        """Per member, ``max |new - old| / max |new|``: the fixed point's stopping measure."""
        if self.coupled:
            # only the frozen fixed point asks this; the full curvature is minimized instead
            # (augment_coupled.minimize_coupled), never iterated to the frozen fixed point
            raise RuntimeError("the frozen fixed point was asked of curvature='full'; its path runs "
                               "classdep.solvers.augment_coupled.minimize_coupled")
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


def _check_coupled(prob: Problem) -> None:
    """The class-coupled curvature is the softmax's: refuse what it does not cover."""
    if prob.family != "multinomial":
        raise ValueError(
            f"augment curvature='full' is the class coupling of the softmax; for family={prob.family!r} "
            "the diagonal is the whole curvature (nothing couples the classes): drop curvature='full'.")
    if prob.delta is not None or prob.iota is not None or prob.scale is not None:
        raise ValueError("augment curvature='full' is implemented for loss='ce' (no logit adjustments); use "
                         "curvature='diagonal' or method='sample' with an adjusted loss.")
