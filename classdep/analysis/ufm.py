"""The unconstrained-features model (UFM): free embeddings and classifiers, both ridge-penalized.

Every sample ``i`` of class ``y_i`` has its own free embedding ``h_i`` (``dim`` numbers) and the
logits are ``z_i = W h_i`` (no bias).  With the loss parameterizations of
:mod:`classdep.solvers.losses` (adjusted logit ``z'_ik = C_{k, y_i} z_ik + iota_k``, where
``C = Delta_k`` for CDT/VS, ``Delta_{y_i}`` for LDT, 1 otherwise), ``ufm`` minimizes

    sum_i loss(y_i, z'_i)  +  lambda_W / 2 ||W||_F^2  +  lambda_H / 2 sum_i ||h_i||^2

or, at ``lambda_ = 0``, the max-margin problem that the direction of its solution tends to as
the penalty vanishes (Thrampoulidis et al. 2022; Behnia et al. 2023):

    min ||W||_F^2 + sum_y n_y ||h_y||^2   subject to   C_yy z_yy - C_ky z_ky >= 1  (k != y),

with one embedding ``h_y`` per class and ``z_y = W h_y``.  Why one embedding per class and why
the weights ``n_y``: both problems are, over ``M = W G'`` with ``g_y = sqrt(n_y) h_y``, convex
programs in ``M`` with the nuclear norm as penalty (``min (||W||^2 + ||G||^2) / 2`` over
factorizations is ``||M||_*`` when ``dim >= K``).  Replacing each class's embeddings by their
mean keeps the margins (linear), does not raise the loss (convex) nor the nuclear norm (a
projection), so an optimum with collapsed classes exists, and ``n_y`` copies of ``h_y`` weigh
``n_y ||h_y||^2``.  The additive ``iota`` (LA, VS) does not enter the max-margin problem: it
is a fixed offset that vanishes next to logits that grow without bound.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np
import xarray as xr
from scipy.optimize import minimize, nnls, root

from ..exceptions import ConvergenceWarning
from ..result import Result, Table
from ..rtable import format_table
from ..solvers.losses import LOSSES, logit_adjustments
from ..validation import check_choice, check_counts, check_int

__all__ = ["UFM", "ufm", "logit_factors"]

# A certificate (relative suboptimality bound) above this warns: the point may not be global.
_GAP_WARN = 1e-6


def logit_factors(loss: str, counts, tau: float = 1.0, gamma: float = 0.3) -> tuple[np.ndarray, np.ndarray]:
    """``(C, iota)``: the adjusted logit of class ``k`` for a sample of class ``y`` is
    ``C[k, y] * z_k + iota[k]``, for the parameterizations of :mod:`classdep.solvers.losses`.

    Examples
    --------
    >>> C, iota = logit_factors("ldt", [4, 1], gamma=0.5)
    >>> C.round(2).tolist(), iota.tolist()
    ([[1.0, 0.5], [1.0, 0.5]], [0.0, 0.0])
    """
    counts = np.asarray(counts, dtype=np.float64)
    delta, iota, ldt = logit_adjustments(loss, counts, tau=tau, gamma=gamma)
    K = counts.size
    C = np.ones((K, K))
    if delta is not None:
        C = C * delta[:, None]
    if ldt is not None:
        C = C * ldt[None, :]
    return C, (np.zeros(K) if iota is None else np.asarray(iota, dtype=np.float64))


# -- the regularized problem ------------------------------------------------------------------

def _unpack(x: np.ndarray, K: int, d: int) -> tuple[np.ndarray, np.ndarray]:
    return x[: K * d].reshape(K, d), x[K * d:].reshape(K, d)


def _loss_terms(M: np.ndarray, n: np.ndarray, C: np.ndarray, iota: np.ndarray):
    """``f(M) = sum_y n_y loss_y(m_y / sqrt(n_y))`` and its gradient in ``M`` (K x K, column y).

    Written in the differences ``u_k = z'_k - z'_y`` so that a tiny loss keeps its digits:
    at small lambda ``1 - p_y`` is of the order of lambda, and ``p_y - 1`` computed as such
    would keep only ``eps / lambda`` of them (the certificate needs them all).
    """
    K = n.size
    Zp = C * (M / np.sqrt(n)[None, :]) + iota[:, None]
    U = Zp - np.diag(Zp)[None, :]
    off = ~np.eye(K, dtype=bool)
    a = np.maximum(np.max(np.where(off, U, -np.inf), axis=0), 0.0)
    E = np.where(off, np.exp(U - a[None, :]), 0.0)
    loss = a + np.log1p(np.expm1(-a) + E.sum(axis=0))  # log sum_k exp(u_k), u_y = 0
    P = np.where(off, np.exp(U - loss[None, :]), 0.0)
    Psi = P - np.diag(P.sum(axis=0))  # d loss_y / d z'_y, column y; diagonal -sum of the others
    f = float(np.sum(n * loss))
    grad = C * Psi * np.sqrt(n)[None, :]  # chain through z' = C z and m_y = sqrt(n_y) z_y
    return f, grad


def _objective(x, K, d, n, C, iota, lam):
    """The factored objective divided by ``lam``: O(||W||^2) at every lambda, which keeps the
    stopping rules of L-BFGS meaningful when the loss is tiny next to one."""
    W, G = _unpack(x, K, d)
    f, gM = _loss_terms(W @ G.T, n, C, iota)
    val = f / lam + 0.5 * (np.sum(W * W) + np.sum(G * G))
    gW = gM @ G / lam + W
    gG = gM.T @ W / lam + G
    return val, np.concatenate([gW.ravel(), gG.ravel()])


def _ridge_certificate(W, G, n, C, iota, lam) -> dict:
    """Upper bound on ``P(W, G) - min P`` from the convex form ``f(M) + lam ||M||_*``.

    With ``g = grad f(M)`` and ``lam' = ||g||_op``: for every ``M'`` at least as good as ``M``,
    ``F(M') >= f(M) - <g, M> - (lam' - lam)_+ ||M'||_*`` and ``||M'||_* <= F(M) / lam`` (the
    loss is non-negative), so ``F(M) - min F <= lam ||M||_* + <g, M> + (lam'/lam - 1)_+ F(M)``.
    The factored objective is at least ``F(M)`` and has the same minimum (``dim >= K``).
    """
    M = W @ G.T
    f, g = _loss_terms(M, n, C, iota)
    nuc = float(np.linalg.svd(M, compute_uv=False).sum())
    op = float(np.linalg.norm(g, 2))
    F = f + lam * nuc
    P = f + 0.5 * lam * (np.sum(W * W) + np.sum(G * G))
    bound = (P - F) + max(lam * nuc + float(np.sum(g * M)), 0.0) + max(op / lam - 1.0, 0.0) * F
    return dict(objective=P, gap=bound / max(abs(P), 1e-300), dual_norm=op / lam)


def _solve_ridge(n, C, iota, lam, d, rng, n_init, maxiter):
    K = n.size
    best = None
    for _ in range(n_init):
        x0 = 0.1 * rng.standard_normal(2 * K * d)
        res = minimize(_objective, x0, args=(K, d, n, C, iota, lam), jac=True, method="L-BFGS-B",
                       options=dict(maxiter=maxiter, maxfun=4 * maxiter, maxcor=50, ftol=1e-16,
                                    gtol=1e-13))
        if best is None or res.fun < best.fun:
            best = res
    W, G = _unpack(best.x, K, d)
    info = _ridge_certificate(W, G, n, C, iota, lam)
    solver = "L-BFGS-B (factored)"
    # Near the optimum the line search of L-BFGS runs out of digits (the loss is a tiny part of
    # the objective at small lambda); Levenberg-Marquardt on the gradient needs no function
    # values.  It could stop at a saddle point, so it is kept only if its certificate is better.
    polish = root(lambda x: _objective(x, K, d, n, C, iota, lam)[1], best.x, method="lm",
                  options=dict(xtol=1e-15, ftol=1e-15, maxiter=100 * (2 * K * d + 1)))
    W2, G2 = _unpack(polish.x, K, d)
    info2 = _ridge_certificate(W2, G2, n, C, iota, lam)
    if np.isfinite(info2["gap"]) and info2["gap"] < info["gap"]:
        W, G, info, solver = W2, G2, info2, solver + " + Levenberg-Marquardt on the gradient"
    info.update(niter=int(best.nit), solver=solver)
    return W, G, info


# -- the max-margin problem -------------------------------------------------------------------

def _pairs(K: int) -> tuple[np.ndarray, np.ndarray]:
    y, k = np.nonzero(~np.eye(K, dtype=bool))
    return y, k


def _margins(x, K, d, n, C):
    W, G = _unpack(x, K, d)
    Z = (W @ G.T) / np.sqrt(n)[None, :]
    y, k = _pairs(K)
    return C[y, y] * Z[y, y] - C[k, y] * Z[k, y]


def _margin_jac(x, K, d, n, C):
    W, G = _unpack(x, K, d)
    y, k = _pairs(K)
    s = 1.0 / np.sqrt(n)
    J = np.zeros((y.size, 2, K, d))
    rows = np.arange(y.size)
    a, b = (C[y, y] * s[y])[:, None], (C[k, y] * s[y])[:, None]
    J[rows, 0, y] += a * G[y]
    J[rows, 0, k] -= b * G[y]
    J[rows, 1, y] += a * W[y] - b * W[k]
    return J.reshape(y.size, -1)


def _margin_matrix(mu, K, n, C) -> np.ndarray:
    """``S = sum_(y,k) mu_yk A_yk`` with ``margin_yk = <A_yk, M>`` over ``M = W G'``."""
    y, k = _pairs(K)
    S = np.zeros((K, K))
    s = 1.0 / np.sqrt(n)
    np.add.at(S, (y, y), mu * C[y, y] * s[y])
    np.add.at(S, (k, y), -mu * C[k, y] * s[y])
    return S


def _maxmargin_certificate(x, K, d, n, C) -> dict:
    """Relative gap between the primal point and a dual-feasible point of the convex form.

    The convex problem is ``min ||M||_* s.t. <A_j, M> >= 1``; its dual is ``max sum(mu)``
    over ``mu >= 0`` with ``||sum_j mu_j A_j||_op <= 1``.  Multipliers from the stationarity
    of the factored problem (non-negative least squares on the active margins), scaled into
    the dual-feasible set, give a lower bound; the point, scaled to be feasible, an upper one.
    """
    m = _margins(x, K, d, n, C)
    upper = 0.5 * float(x @ x) / min(1.0, float(m.min()))
    active = np.nonzero(m < 1.0 + 1e-6)[0]
    J = _margin_jac(x, K, d, n, C)[active]
    mu = np.zeros(m.size)
    mu[active], _ = nnls(J.T, x, maxiter=50 * max(1, active.size))
    op = float(np.linalg.norm(_margin_matrix(mu, K, n, C), 2))
    lower = float(mu.sum()) / max(1.0, op)
    return dict(objective=upper, gap=(upper - lower) / upper, dual_norm=op, min_margin=float(m.min()))


def _solve_maxmargin(n, C, d, rng, n_init, maxiter):
    K = n.size
    cons = dict(type="ineq", fun=lambda x: _margins(x, K, d, n, C) - 1.0,
                jac=lambda x: _margin_jac(x, K, d, n, C))
    best, best_val = None, np.inf
    for _ in range(n_init):
        x0 = rng.standard_normal(2 * K * d)
        res = minimize(lambda x: (0.5 * float(x @ x), x), x0, jac=True, method="SLSQP",
                       constraints=[cons], options=dict(maxiter=maxiter, ftol=1e-16))
        m = _margins(res.x, K, d, n, C).min()
        val = 0.5 * float(res.x @ res.x) / min(1.0, m) if m > 0 else np.inf
        if val < best_val:
            best, best_val = res, val
    if best is None:
        raise RuntimeError("the max-margin solve found no point with positive margins; raise n_init.")
    info = _maxmargin_certificate(best.x, K, d, n, C)
    info.update(niter=int(best.nit), solver="SLSQP (factored max-margin)")
    W, G = _unpack(best.x, K, d)
    return W, G, info


# -- the result -------------------------------------------------------------------------------

@dataclass(repr=False)
class UFM(Result):
    """A solved unconstrained-features model.

    Attributes
    ----------
    data : xr.Dataset
        ``W`` (``class``, ``dim``): the classifiers; ``H`` (``class``, ``dim``): the embedding
        shared by every sample of the class (see :mod:`classdep.analysis.ufm` for why one per
        class is exact); ``n`` (``class``): class sizes; ``margin`` (``class``): the smallest
        (adjusted) margin of the class.  ``attrs``: ``loss``, ``tau``, ``gamma``, ``lambda_w``,
        ``lambda_h``, ``objective``, ``gap`` (a certified upper bound on the relative
        suboptimality), ``dual_norm``, ``solver``, ``niter``, ``n_init``, ``seed``.
    Examples
    --------
    >>> import classdep as cd
    >>> u = cd.ufm([10, 10, 10, 10], lambda_=0)  # balanced: the simplex ETF
    >>> W = u.W.values
    >>> G = W @ W.T / (W * W).sum(axis=1).mean()
    >>> round(float(G[0, 1]), 4)  # every cosine is -1/(K-1)
    -0.3333
    """

    data: xr.Dataset

    _groups = (None,)

    @property
    def W(self) -> xr.DataArray:
        return self.data["W"]

    @property
    def H(self) -> xr.DataArray:
        return self.data["H"]

    @property
    def counts(self) -> xr.DataArray:
        return self.data["n"]

    @property
    def lambda_(self) -> float:
        """The geometric mean ``sqrt(lambda_W lambda_H)``: what the geometry depends on (0: max-margin)."""
        a = self.data.attrs
        return float(np.sqrt(a["lambda_w"] * a["lambda_h"]))

    def embeddings(self) -> xr.DataArray:
        """The embeddings of every sample (``sample``, ``dim``), ``n_y`` copies of ``h_y``, with
        coordinate ``y`` (class codes)."""
        n = self.data["n"].values.astype(int)
        y = np.repeat(np.arange(n.size), n)
        return xr.DataArray(self.H.values[y], dims=("sample", "dim"),
                            coords={"y": ("sample", y), "dim": self.H["dim"].values}, name="H")

    def _table(self) -> Table:
        a = self.data.attrs
        lam = "0 (max-margin)" if a["lambda_w"] == 0 else f"W {a['lambda_w']:.4g}, H {a['lambda_h']:.4g}"
        lines = [f"Unconstrained-features model: loss {a['loss']!r} (tau {a['tau']:g}, gamma "
                 f"{a['gamma']:g}), lambda {lam}, dim {self.data.sizes['dim']}", ""]
        rows = [("class", "n", "||w||", "||h||", "cos(w,h)", "margin")]
        W, H = self.W.values, self.H.values
        for k, c in enumerate(self.data["class"].values):
            nw, nh = np.linalg.norm(W[k]), np.linalg.norm(H[k])
            rows.append((str(c), str(int(self.data["n"].values[k])), f"{nw:.4g}", f"{nh:.4g}",
                         f"{W[k] @ H[k] / (nw * nh):.4f}", f"{self.data['margin'].values[k]:.4g}"))
        lines += format_table(rows)
        lines += ["", f"Objective: {a['objective']:.8g}   certified relative gap <= {a['gap']:.2g}   "
                  f"({a['solver']}, best of {a['n_init']} starts)"]
        return Table(lines)


def ufm(counts, loss: str = "ce", gamma: float = 0.3, tau: float = 1.0, lambda_: Any = 0.0,
        dim: int | None = None, seed: int | None = None, n_init: int = 3, maxiter: int = 5000) -> UFM:
    """Solve the unconstrained-features model for class sizes ``counts``.

    Parameters
    ----------
    counts : sequence of K positive integers
        Samples per class (step imbalance: :func:`classdep.datasets.class_proportions`).
    loss : {"ce", "la", "cdt", "vs", "ldt"}
        Loss parameterization, with ``tau`` and ``gamma`` as in
        :func:`classdep.solvers.losses.logit_adjustments` (``Delta_k = (n_k / n_max)**gamma``).
    gamma, tau : float
    lambda_ : float >= 0, or a pair ``(lambda_W, lambda_H)``
        Ridge on the classifiers and on the embeddings; the objective is the *sum* of the
        sample losses plus ``lambda_W/2 ||W||^2 + lambda_H/2 sum_i ||h_i||^2``.  Only
        ``sqrt(lambda_W lambda_H)`` shapes the geometry (the rest is a rescaling of W against H).
        ``0`` solves the max-margin problem, the limit of the normalized solution as the
        penalty vanishes; it is reached only like ``1 / log(1 / lambda)``, too slowly for any
        small positive lambda to stand in for it (measured in ``tests/test_ufm.py``).
    dim : int, optional
        Embedding dimension, default ``K``; the global-optimality argument needs ``dim >= K``.
    seed : int, optional
        Seed of the random starting points.
    n_init : int
        Random starts; the best objective is kept.
    maxiter : int
        Iterations per start.

    Returns
    -------
    UFM
        ``W`` (``class``, ``dim``) and ``H`` (``class``, ``dim``), accepted by
        :func:`classdep.analysis.geometry`; ``attrs["gap"]`` certifies how far from the global
        minimum the solution can be.

    Notes
    -----
    **How it is solved.**  The problem is non-convex in ``(W, H)`` but has no spurious local
    minima of consequence here: with ``g_y = sqrt(n_y) h_y`` it is the factored
    (Burer-Monteiro) form of a convex problem in ``M = W G'`` with a nuclear-norm penalty (see
    the module docstring).  ``lambda_ > 0``: L-BFGS on ``(W, G)`` from ``n_init`` random starts.
    ``lambda_ = 0``: SLSQP on the constrained max-margin problem itself (exact at its optimum,
    no surrogate penalty), from ``n_init`` random starts.

    **How we know it is the global minimum.**  Not from the restarts alone: every solution comes
    with a certificate computed on the convex form.  At finite lambda, the gradient
    ``g = grad f(M)`` of the loss bounds the gap, ``F(M) - min F <= lam ||M||_* + <g, M> +
    (||g||_op / lam - 1)_+ F(M)`` (zero exactly when the first-order conditions of the convex
    problem hold, ``||g||_op <= lam``).  At ``lambda_ = 0``, the KKT multipliers ``mu`` of the
    factored problem (non-negative least squares on the active margins) are scaled into the
    dual-feasible set ``||sum mu_j A_j||_op <= 1`` of ``min ||M||_* s.t. <A_j, M> >= 1``, and
    ``sum(mu)`` is a lower bound on the optimum (weak duality).  ``attrs["gap"]`` is the relative
    gap between the returned objective and that lower bound; above ``1e-6`` a
    :class:`~classdep.ConvergenceWarning` says so.

    Examples
    --------
    >>> u = ufm([10, 10, 1, 1], lambda_=0, seed=0)
    >>> bool(u.data.attrs["gap"] < 1e-6)
    True
    >>> u.W.dims, u.H.dims
    (('class', 'dim'), ('class', 'dim'))
    """
    check_choice(loss, LOSSES, "loss")
    n = check_counts(counts)
    K = n.size
    d = K if dim is None else check_int(dim, "dim", minimum=1)
    n_init = check_int(n_init, "n_init", minimum=1)
    maxiter = check_int(maxiter, "maxiter", minimum=1)
    if seed is not None:
        seed = check_int(seed, "seed", minimum=0)
    lam_w, lam_h = _check_ufm_lambda(lambda_)
    C, iota = logit_factors(loss, n, tau=tau, gamma=gamma)
    rng = np.random.default_rng(seed)
    if lam_w == 0:
        W, G, info = _solve_maxmargin(n, C, d, rng, n_init, maxiter)
    else:
        lam = float(np.sqrt(lam_w * lam_h))
        W, G, info = _solve_ridge(n, C, iota, lam, d, rng, n_init, maxiter)
        # unequal penalties: the same M = W G', rebalanced (objective unchanged)
        scale = (lam_h / lam_w) ** 0.25
        W, G = W * scale, G / scale
    H = G / np.sqrt(n)[:, None]
    Z = W @ H.T
    Zp = C * Z + (iota[:, None] if lam_w > 0 else 0.0)
    marg = np.diag(Zp)[None, :] - Zp
    np.fill_diagonal(marg, np.inf)
    if info["gap"] > _GAP_WARN:
        warnings.warn(f"ufm: the certified relative gap is {info['gap']:.2g} (> {_GAP_WARN:g}): the "
                      "solution may not be the global minimum. Raise n_init or maxiter.",
                      ConvergenceWarning, stacklevel=2)
    classes = np.arange(K)
    data = xr.Dataset(
        {"W": (("class", "dim"), W), "H": (("class", "dim"), H), "n": ("class", n),
         "margin": ("class", marg.min(axis=0))},
        coords={"class": classes, "dim": np.arange(d)},
        attrs=dict(classdep_object="UFM", loss=loss, tau=float(tau), gamma=float(gamma),
                   lambda_w=lam_w, lambda_h=lam_h, objective=float(info["objective"]),
                   gap=float(info["gap"]), dual_norm=float(info["dual_norm"]), solver=info["solver"],
                   niter=info["niter"], n_init=n_init, seed=-1 if seed is None else seed),
    )
    return UFM(data)


def _check_ufm_lambda(lambda_) -> tuple[float, float]:
    vals = np.atleast_1d(np.asarray(lambda_, dtype=np.float64))
    if vals.shape not in ((1,), (2,)) or not np.isfinite(vals).all() or (vals < 0).any():
        raise ValueError(f"lambda_={lambda_!r} must be a number >= 0 or a pair (lambda_W, lambda_H) of "
                         "numbers >= 0.")
    lw, lh = (float(vals[0]), float(vals[-1]))
    if (lw == 0) != (lh == 0):
        raise ValueError(f"lambda_={lambda_!r}: both penalties must be positive, or both 0 (the "
                         "max-margin problem); one alone at 0 leaves the objective without a minimizer.")
    return lw, lh
