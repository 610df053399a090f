"""Closed-form geometry of the unconstrained-features model at vanishing ridge (max-margin limit).

Step imbalance: ``K`` classes, the last ``m = floor(rho K + 1/2)`` are minority classes, every
majority class has ``R`` times the samples of a minority class.  "M" is a majority class, "m"
a minority class; ``Delta_M = 1`` and ``Delta_m = R**-gamma`` (:mod:`classdep.solvers.losses`;
a global scale of Delta changes no angle and no ratio).

* ``"ce"`` and ``"la"``: SELI (Thrampoulidis et al. 2022, arXiv 2208.05512).  The logits of the
  max-margin solution are the simplex-encoded labels ``Zhat = I - 11'/K`` for every class size;
  the classifiers and embeddings are the balanced factors of ``Zhat D^(1/2)``,
  ``D = diag(n)``: with ``Zhat D^(1/2) = U S V'``, ``W = U S^(1/2)`` and
  ``h_y = (S^(1/2) V')_y / sqrt(n_y)`` (``method="matrix"``, any ``rho``); at ``rho = 1/2``
  explicit formulas (``method="formula"``).  LA's additive offsets drop out of the limit.
* ``"cdt"`` and ``"vs"``: the formulas of Behnia et al. 2023 (arXiv 2303.07608), ``rho = 1/2``
  and ``K`` even only.
* ``"ldt"``: substituting ``h'_y = Delta_y h_y`` turns LDT's max-margin problem into plain CE's
  with class sizes ``n_y / Delta_y^2`` (SELI, Thrampoulidis et al. 2022), so ``W`` and the
  cosines of ``H`` are SELI at ``R_eff = R^(1 - 2 gamma)`` and
  ``||h_M|| / ||h_m|| = SELI_ratio(R_eff) R^-gamma``.
  ``gamma = 1/2`` gives a symmetric ``W`` (simplex ETF) for every ``R``.
"""

from __future__ import annotations

import numpy as np
import xarray as xr

from ..datasets.mixture import class_proportions
from ..solvers.losses import LOSSES
from ..validation import check_choice, check_counts, check_int

__all__ = ["ufm_geometry", "seli", "step_counts", "PAIRS", "GROUPS"]

PAIRS = ("MM", "mm", "Mm")
GROUPS = ("M", "m")


def step_counts(K: int, R: float, rho: float = 0.5) -> np.ndarray:
    """Class sizes ``[R, ..., R, 1, ..., 1]`` of step imbalance (minority size 1).

    Examples
    --------
    >>> step_counts(4, 10).tolist()
    [10.0, 10.0, 1.0, 1.0]
    """
    p = class_proportions(K, "step", ratio=R, minority_fraction=rho)
    return p / p.min()


def seli(counts) -> tuple[np.ndarray, np.ndarray]:
    """``(W, H)``, each (K, K) with one row per class: the CE max-margin solution of the UFM.

    The balanced factorization of ``Zhat D^(1/2)`` (see the module docstring), scaled so that
    every margin ``z_yy - z_ky`` equals 1 and ``||W||^2 + sum_y n_y ||h_y||^2`` is smallest.

    Examples
    --------
    >>> W, H = seli([1, 1, 1])
    >>> np.round(W @ H.T, 6).tolist()[0]
    [0.666667, -0.333333, -0.333333]
    """
    n = check_counts(counts)
    K = n.size
    U, s, Vt = np.linalg.svd((np.eye(K) - 1.0 / K) * np.sqrt(n)[None, :])
    W = U * np.sqrt(s)[None, :]
    H = (np.sqrt(s)[:, None] * Vt).T / np.sqrt(n)[:, None]
    return W, H


def _summary(W: np.ndarray, H: np.ndarray, major: np.ndarray) -> dict:
    """Norm ratios and the mean cosine of each pair type, for rows of W and H."""
    def unit(A):
        return A / np.linalg.norm(A, axis=1, keepdims=True)

    out = {}
    for name, A in (("w", W), ("h", H)):
        nrm = np.linalg.norm(A, axis=1)
        cos = unit(A) @ unit(A).T
        out[f"{name}_norm_ratio"] = nrm[major].mean() / nrm[~major].mean()
        out[f"{name}_pair_cos"] = np.array([pair_mean(cos, major, p) for p in PAIRS])
    wh = np.sum(unit(W) * unit(H), axis=1)
    out["wh_group_cos"] = np.array([wh[major].mean(), wh[~major].mean()])
    return out


def pair_mean(cos: np.ndarray, major: np.ndarray, pair: str) -> float:
    a = major if pair[0] == "M" else ~major
    b = major if pair[1] == "M" else ~major
    sel = np.outer(a, b) & ~np.eye(major.size, dtype=bool)
    return float(cos[sel].mean()) if sel.any() else np.nan


def _seli_formula(K: int, R: float) -> dict:
    """SELI at rho = 1/2 (squared norms at minority size 1)."""
    a = np.sqrt((R + 1) / 2)
    rR = np.sqrt(R)
    wM, wm = rR * (1 - 2 / K) + a / K, (1 - 2 / K) + a / K
    hM, hm = (1 - 2 / K) / rR + 1 / (K * a), (1 - 2 / K) + 1 / (K * a)
    q = np.sqrt(2 * (R + 1))
    return dict(
        w_norm_ratio=np.sqrt(wM / wm), h_norm_ratio=np.sqrt(hM / hm),
        w_pair_cos=np.array([(-2 * rR + a) / ((K - 2) * rR + a), (-2 + a) / ((K - 2) + a),
                             -a / (K * np.sqrt(wM * wm))]),
        h_pair_cos=np.array([-(R + 2) / (-(R + 2) + K * (R + 1 + np.sqrt(R * (R + 1) / 2))),
                             (1 - q) / (1 - q + K * a), -1 / (K * a * np.sqrt(hM * hm))]),
        wh_group_cos=(1 - 1 / K) / np.sqrt(np.array([wM * hM, wm * hm])),
    )


def _cdt_formula(K: int, R: float, dM: float, dm: float) -> dict:
    """CDT at rho = 1/2 (Behnia et al. 2023)."""
    s = np.sqrt(dm ** -2 + dM ** -2)
    tm, tM, T = s * dm, s * dM, s * np.sqrt(R + 1)
    rR, r1 = np.sqrt(R), np.sqrt(R + 1)
    wM = (rR * (K - 2) + 2 * r1 * tm ** -3) / (K * dM)
    wm = ((K - 2) + 2 * r1 * tM ** -3) / (K * dm)
    hM = ((K - 2) / rR + 2 / (dm * T)) / (K * dM)
    hm = ((K - 2) + 2 / (dM * T)) / (K * dm)
    return dict(
        w_norm_ratio=np.sqrt(wM / wm), h_norm_ratio=np.sqrt(hM / hm),
        w_pair_cos=np.array([(-2 * rR + 2 * r1 * tm ** -3) / ((K - 2) * rR + 2 * r1 * tm ** -3),
                             (-2 + 2 * r1 * tM ** -3) / ((K - 2) + 2 * r1 * tM ** -3),
                             -2 * r1 * (dm * dM) ** -2 / (K * s ** 3 * np.sqrt(wM * wm))]),
        h_pair_cos=np.array([(-2 / rR + 2 / (dm * T)) / ((K - 2) / rR + 2 / (dm * T)),
                             (-2 + 2 / (dM * T)) / ((K - 2) + 2 / (dM * T)),
                             -(2 / (dm * dM * T)) / (K * np.sqrt(hM * hm))]),
        wh_group_cos=np.array([(K * dm ** -2 + (K - 2) * dM ** -2) / (K * dM * s ** 2 * np.sqrt(wM * hM)),
                               (K * dM ** -2 + (K - 2) * dm ** -2) / (K * dm * s ** 2 * np.sqrt(wm * hm))]),
    )


def ufm_geometry(K: int, R: float, rho: float = 0.5, loss: str = "ce", gamma: float = 0.3,
                 method: str = "auto") -> xr.Dataset:
    """Closed-form max-margin geometry of the UFM under step imbalance.

    Parameters
    ----------
    K : int
        Number of classes (>= 2).
    R : float
        Majority-to-minority size ratio (>= 1).
    rho : float
        Fraction of minority classes (:func:`classdep.datasets.class_proportions`).
    loss : {"ce", "la", "cdt", "vs", "ldt"}
        Loss parameterization; ``tau`` does not enter the limit (LA is CE, VS is CDT).
    gamma : float
        Multiplicative exponent, ``Delta_y = (n_y / n_max)**gamma`` (CDT, VS, LDT).
    method : {"auto", "formula", "matrix"}
        ``"formula"``: the explicit expressions (``rho = 1/2``, ``K`` even); ``"matrix"``: the
        SVD form of SELI (CE, LA, LDT; any ``rho``); ``"auto"``: the formula where it applies.

    Returns
    -------
    xarray.Dataset
        ``w_norm_ratio`` and ``h_norm_ratio`` (``||.||`` of a majority over a minority class),
        ``w_pair_cos`` and ``h_pair_cos`` over ``pair`` = MM, mm, Mm (NaN where a group has a
        single class), ``wh_group_cos`` over ``group`` = M, m (``cos(w_y, h_y)``); the same names
        as the step summaries of :func:`classdep.analysis.geometry`.

    Examples
    --------
    >>> g = ufm_geometry(4, 1.0)
    >>> np.round(g["w_pair_cos"].values, 4).tolist()
    [-0.3333, -0.3333, -0.3333]
    >>> float(ufm_geometry(10, 100.0, loss="ldt", gamma=0.5)["w_norm_ratio"])
    1.0
    """
    K = check_int(K, "K", minimum=2)
    check_choice(loss, LOSSES, "loss")
    check_choice(method, ("auto", "formula", "matrix"), "method")
    counts = step_counts(K, R, rho)  # validates R and rho
    R = float(R)
    if not np.isfinite(gamma):
        raise ValueError(f"gamma={gamma!r} must be a finite number.")
    m = int((counts == 1).sum()) if R > 1 else int(np.floor(rho * K + 0.5))
    explicit = 2 * m == K
    if method == "formula" and not explicit:
        raise ValueError(f"method='formula' needs rho = 1/2 and an even K (equal numbers of majority and "
                         f"minority classes); K={K}, rho={rho} gives {m} minority classes. Use "
                         "method='matrix'.")
    if method == "matrix" and loss in ("cdt", "vs"):
        raise ValueError(f"loss={loss!r} has a closed form only at rho = 1/2 (method='formula'); solve "
                         "other cases with ufm(counts, loss=..., lambda_=0).")
    if loss in ("cdt", "vs") and not explicit:
        raise ValueError(f"loss={loss!r} has a closed form only at rho = 1/2 and even K; here K={K}, "
                         f"rho={rho}. Solve it with ufm(step_counts(K, R, rho), loss={loss!r}, lambda_=0).")
    use_formula = method == "formula" or (method == "auto" and explicit)
    dm = R ** (-gamma) if loss in ("cdt", "vs", "ldt") else 1.0
    r_eff = R * dm ** 2 if loss == "ldt" else R
    if use_formula:
        out = _cdt_formula(K, R, 1.0, dm) if loss in ("cdt", "vs") else _seli_formula(K, r_eff)
    else:
        major = np.arange(K) < K - m
        n_eff = np.where(major, r_eff, 1.0)
        W, Hp = seli(n_eff)
        out = _summary(W, Hp, major)
    if loss == "ldt":
        out["h_norm_ratio"] = out["h_norm_ratio"] * dm  # h_y = h'_y / Delta_y, Delta_M = 1
    if use_formula and K == 2:  # one class per group: no MM or mm pair
        for key in ("w_pair_cos", "h_pair_cos"):
            out[key] = np.where([True, True, False], np.nan, out[key])
    return xr.Dataset(
        {"w_norm_ratio": ((), float(out["w_norm_ratio"])), "h_norm_ratio": ((), float(out["h_norm_ratio"])),
         "w_pair_cos": ("pair", out["w_pair_cos"]), "h_pair_cos": ("pair", out["h_pair_cos"]),
         "wh_group_cos": ("group", out["wh_group_cos"])},
        coords={"pair": list(PAIRS), "group": list(GROUPS)},
        attrs=dict(K=K, R=R, rho=float(rho), loss=loss, gamma=float(gamma), R_eff=float(r_eff),
                   method="formula" if use_formula else "matrix"),
    )
