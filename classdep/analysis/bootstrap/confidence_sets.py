"""Confidence sets over the grid: each class's lambdas not rejected as its optimum (Lei 2020)."""

from __future__ import annotations

import numpy as np
import xarray as xr

from ...sweep import CVGlmnet, CVGrid, Heldout
from ...validation import check_choice, check_int
from .estimators import grid_index
from .resampling import BLOCK, STRATA, block_curves, count_blocks
from .sources import Losses, check_over, grid_source, oof_source

__all__ = ["confset"]


def _pair_scale(Dc: np.ndarray) -> np.ndarray:
    """Standard deviation of the sum of ``d_i(j) - d_i(k)`` over the rows of Dc, (L, L)."""
    n = Dc.shape[0]
    if n < 2:
        return np.zeros((Dc.shape[1],) * 2)
    C = np.atleast_2d(np.cov(Dc, rowvar=False, ddof=1))
    d = np.diag(C)
    return np.sqrt(np.clip(n * (d[:, None] + d[None, :] - 2.0 * C), 0.0, None))


def _max_studentized(diff: np.ndarray, inv: np.ndarray) -> np.ndarray:
    """``max_k diff[..., j, k] * inv[j, k]`` over the k with a positive scale (inv > 0)."""
    return np.where(inv > 0, diff * inv, -np.inf).max(axis=-1)


def confset(cv: CVGlmnet | CVGrid | Heldout | xr.Dataset, alpha: float = 0.05, R: int = 1000,
            strata: str | None = "class", seed=None, *, over: str = "lambda",
            s: float | None = None) -> xr.Dataset:
    """Confidence sets over the grid: each class's lambdas not rejected as its optimum.

    In the spirit of Lei (2020), "Cross-validation with confidence".  For class ``c`` and
    each grid point ``j``, test ``H0_j``: ``mu_c(j) <= mu_c(k)`` for every ``k`` (``j`` is a
    best lambda for ``c``; ``mu`` the expected curve) with the studentized max statistic

    ``T_j = max_{k != j} (S_j - S_k) / s_jk``

    where ``S`` is the class's out-of-fold deviance curve (a sum over its samples) and
    ``s_jk`` the standard error of ``S_j - S_k`` (from the per-sample differences).  Its
    null distribution is bootstrapped with the paired, stratified resamples of
    :func:`boot`, centred: ``T*_j = max_k ((S*_j - S*_k) - (S_j - S_k)) / s_jk``; under
    ``H0_j`` every ``mu(j) - mu(k) <= 0``, so ``T_j`` is at most its centred version and
    the test keeps level ``alpha`` (asymptotically; Lei uses Gaussian multipliers where
    this uses the nonparametric bootstrap).  ``j`` is kept when its p-value
    ``(1 + #{T*_j >= T_j}) / (R + 1)`` exceeds ``alpha``.  Each class's set covers its
    optimum with probability about ``1 - alpha`` (use ``alpha / K`` for all classes at
    once); the sets are conservative (the documentation's coverage study: 0.97-0.99 at
    nominal 0.90) and need
    not be contiguous.

    Parameters
    ----------
    cv : CVGlmnet, CVGrid, Heldout or xr.Dataset
        As for :func:`boot` (``method="oof"``).
    alpha : float
        Level of each test, in (0, 1).
    R : int
        Bootstrap replicates.
    strata : {"class", None}
    seed : int, optional
    over, s
        On a :class:`~classdep.CVGrid`, as for :func:`boot`: ``"lambda"`` gives every
        level's sets (stacked along the grid's dim, the same resamples for every level);
        the grid's dim gives each class's set of levels not rejected as its best at one
        lambda ``s``, the variables then named after the dim (``augment_opt``, ...).

    Returns
    -------
    xr.Dataset
        ``kept`` (``class``, ``lambda``) bool, ``pvalue`` (``class``, ``lambda``),
        ``lambda_opt`` (``class``, the grid argmin), ``lambda_lower`` / ``lambda_upper``
        (``class``, the smallest and largest kept lambda), ``interval`` (``class``,
        ``bound``), and the same for the global optimum (``kept_global``, ``pvalue_global``).

    Examples
    --------
    >>> import numpy as np, classdep as cd
    >>> ds = cd.datasets.make_mixture(n_classes=3, n_samples=300, seed=0)
    >>> cv = cd.cv_glmnet(ds, nfolds=3, lambda_=np.geomspace(3, 1e-3, 12), progress=False)
    >>> cs = cd.confset(cv, alpha=0.1, R=200, seed=0)
    >>> cs["kept"].dims
    ('class', 'lambda')
    """
    R = check_int(R, "R", minimum=1)
    if not 0.0 < float(alpha) < 1.0:
        raise ValueError(f"alpha={alpha!r} must lie strictly between 0 and 1.")
    check_choice(strata, STRATA, "strata")
    check_over(cv, over, s)
    attrs = dict(alpha=float(alpha), R=R, strata=str(strata) if strata else "",
                 seed=str(seed), method="studentized max-difference bootstrap test (Lei 2020)")
    if isinstance(cv, CVGrid):
        ss = np.random.SeedSequence(seed)  # one seed for every level: the same resamples
        if over == "lambda":
            parts = [_sets(oof_source(cv[i], strata), float(alpha), R, ss) for i in range(len(cv))]
            out = xr.concat(parts, dim=cv.dim).assign_coords({cv.dim: np.asarray(cv.augment)})
            drawn = seed if seed is not None else ss.entropy
            return out.assign_attrs(attrs, seed=str(drawn), grid_dim=cv.dim)
        src = grid_source(cv, strata, s)
        return _sets(src, float(alpha), R, seed).assign_attrs(attrs, over=over, s=src.s)
    return _sets(oof_source(cv, strata), float(alpha), R, seed).assign_attrs(attrs)


def _sets(src: Losses, alpha: float, R: int, seed) -> xr.Dataset:
    """The confidence sets along ``src.axis`` (variables named after its dim)."""
    lam, starts, D = src.axis.values, src.starts, src.D
    key, d = src.axis.key, src.axis.dim
    K, L = starts.size - 1, lam.size
    S0 = block_curves(np.ones(src.n), D, starts)  # (K, L)
    scale = np.stack([_pair_scale(D[starts[k]:starts[k + 1]]) for k in range(K)])  # (K, L, L)
    # the summed curve's pair scale: classes are resampled independently, so variances add
    scale_g = np.sqrt((scale**2).sum(axis=0))
    inv = np.where(scale > 0, 1.0 / np.where(scale > 0, scale, 1.0), 0.0)
    inv[:, np.arange(L), np.arange(L)] = 0.0  # k = j is not a competitor
    inv_g = np.where(scale_g > 0, 1.0 / np.where(scale_g > 0, scale_g, 1.0), 0.0)
    np.fill_diagonal(inv_g, 0.0)
    G0 = S0.sum(axis=0)
    T = _max_studentized(S0[:, :, None] - S0[:, None, :], inv)  # (K, L)
    Tg = _max_studentized(G0[:, None] - G0[None, :], inv_g)
    ge = np.zeros((K, L))
    ge_g = np.zeros(L)
    rng = np.random.default_rng(seed)
    step = max(1, BLOCK // max(K * L * L, 1))
    for block in count_blocks(rng, src.bounds, R):
        for a in range(0, block.shape[0], step):
            dS = block_curves(block[a:a + step], D, starts) - S0  # centred replicate curves (r, K, L)
            Ts = _max_studentized(dS[..., :, None] - dS[..., None, :], inv)
            ge += (Ts >= T).sum(axis=0)
            dG = dS.sum(axis=1)
            ge_g += (_max_studentized(dG[..., :, None] - dG[..., None, :], inv_g) >= Tg).sum(axis=0)
    p = (1.0 + ge) / (R + 1.0)
    pg = (1.0 + ge_g) / (R + 1.0)
    kept = p > alpha
    lamK = np.broadcast_to(lam, (K, L))
    lower = np.where(kept, lamK, np.inf).min(axis=1)
    upper = np.where(kept, lamK, -np.inf).max(axis=1)
    lower, upper = np.where(np.isfinite(lower), lower, np.nan), np.where(np.isfinite(upper), upper, np.nan)
    coords = {"class": src.classes, d: lam, "bound": ["lower", "upper"]}
    return xr.Dataset(
        {"kept": (("class", d), kept), "pvalue": (("class", d), p),
         f"{d}_opt": ("class", lam[grid_index(S0, key)]),
         f"{d}_lower": ("class", lower), f"{d}_upper": ("class", upper),
         "interval": (("class", "bound"), np.column_stack([lower, upper])),
         "kept_global": (d, pg > alpha), "pvalue_global": (d, pg),
         f"{d}_global": ((), float(lam[grid_index(G0, key)]))},
        coords=coords,
    )
