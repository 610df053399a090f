"""One-way MANOVA of features on classes, and how far apart the class means are.

``manova`` tests equality of the class means with the four classical statistics, all
functions of the eigenvalues ``l_i`` of ``E^{-1} H`` (``E`` the within-group, ``H`` the
between-group sums of squares and products), computed by statsmodels' ``MANOVA``:

* Wilks' lambda ``prod 1/(1 + l_i)`` (Rao's F),
* Pillai's trace ``sum l_i/(1 + l_i)``,
* Hotelling-Lawley trace ``sum l_i`` (McKeon's F approximation, as statsmodels; R's
  ``summary.manova`` uses Pillai-Samson's, so that F differs from R's while the statistic
  agrees),
* Roy's greatest root ``max l_i`` (its F is an upper bound).

:func:`pairwise_separation` adds, for every pair of classes, the Mahalanobis distance
between their means under the pooled within-group covariance, and the Fisher ratio: the
largest ratio of between- to within-pair variance along one direction.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import scipy.linalg
import xarray as xr

from ..result import Result, Table
from ..rtable import format_table
from ..validation import check_group_sizes, check_within_group_sd
from ._grouped import Grouped, grouped_data
from .lda import left_rownames

__all__ = ["Manova", "manova", "pairwise_separation", "TESTS"]

#: statsmodels' row names → classdep's test names (R's ``summary.manova(test=)``)
TESTS = {"Wilks' lambda": "Wilks", "Pillai's trace": "Pillai",
         "Hotelling-Lawley trace": "Hotelling-Lawley", "Roy's greatest root": "Roy"}


@dataclass(repr=False)
class Manova(Result):
    """A one-way MANOVA: ``stats`` over ``test`` and pairwise separation over (class, class2).

    Attributes
    ----------
    stats : xr.Dataset
        Over ``test`` (Wilks, Pillai, Hotelling-Lawley, Roy): ``value``, ``F`` (approximate),
        ``num_df``, ``den_df``, ``p_value``; ``attrs``: ``df`` (K - 1), ``df_residual``
        (n - K), the number of responses and samples.
    eigenvalues : xr.DataArray
        The non-zero eigenvalues of ``E^{-1} H``, largest first (``root``).
    pairwise : xr.Dataset
        ``mahalanobis`` and ``fisher`` over (``class``, ``class2``), see
        :func:`pairwise_separation`.
    Examples
    --------
    >>> import classdep as cd
    >>> from sklearn.datasets import load_iris
    >>> x, y = load_iris(return_X_y=True)
    >>> round(float(cd.manova(x, y).stats.sel(test="Pillai")["value"]), 4)
    1.1919
    """

    stats: xr.Dataset
    eigenvalues: xr.DataArray
    pairwise: xr.Dataset

    def __getitem__(self, test: str) -> xr.Dataset:
        return self.stats.sel(test=test)

    @property
    def classes(self) -> np.ndarray:
        return self.pairwise["class"].values

    _groups = ("stats", "eigenvalues", "pairwise")

    def _datasets(self) -> dict[str, xr.Dataset]:
        return {"stats": self.stats, "eigenvalues": self.eigenvalues.to_dataset(name="eigenvalues"),
                "pairwise": self.pairwise}

    @classmethod
    def _from_groups(cls, g) -> Manova:
        return cls(g["stats"], g["eigenvalues"]["eigenvalues"], g["pairwise"])

    def _table(self) -> Table:
        a = self.stats.attrs
        lines = [f"One-way MANOVA: {a['n_responses']} responses, {self.classes.size} groups, "
                 f"{a['n_samples']} samples"
                 + (f" ({a['n_dropped']} constant features left out)" if a.get("n_dropped") else ""), ""]
        rows = [("", "Df", "Value", "approx F", "num Df", "den Df", "Pr(>F)")]
        for t in self.stats["test"].values:
            r = self.stats.sel(test=str(t))
            p = float(r["p_value"])
            F = float(r["F"])
            rows.append((str(t), str(a["df"]), f"{float(r['value']):.5g}",
                         "NA" if np.isnan(F) else f"{F:.5g}",
                         f"{float(r['num_df']):.4g}", f"{float(r['den_df']):.5g}",
                         "NA" if np.isnan(p) else "< 2.2e-16" if p < 2.2e-16 else f"{p:.4g}"))
        rows.append(("Residuals", str(a["df_residual"]), "", "", "", "", ""))
        lines += format_table(left_rownames(rows))
        if "flag" in self.stats:
            flagged = [str(t) for t, f in zip(self.stats["test"].values, self.stats["flag"].values,
                                               strict=True) if f]
            if flagged:
                lines.append(f"NA: {', '.join(flagged)}: F approximation undefined with "
                             f"{a['df_residual']} residual df for {a['n_responses']} responses; add samples "
                             "or reduce the features.")
        lines += ["", "Mahalanobis distances between class means (pooled within-group covariance):"]
        cls = [str(c) for c in self.classes]
        D = self.pairwise["mahalanobis"].values
        lines += format_table(left_rownames([[""] + cls] + [[cls[i]] + [f"{v:.3f}" for v in D[i]]
                                                            for i in range(len(cls))]))
        return Table(lines)


def check_grouped(gd: Grouped, tol: float = 1e-8) -> None:
    check_group_sizes(gd.counts, gd.classes, 2, "a within-class covariance")
    K = gd.classes.size
    n, p = gd.X.shape
    if n - K < p:
        raise ValueError(f"{n} samples in {K} classes leave {n - K} residual degrees of freedom, fewer than "
                         f"the {p} features: the within-group covariance is singular. Reduce the "
                         "features (e.g. PCA) or add samples.")
    means = np.zeros((K, p))
    np.add.at(means, gd.g, gd.X)
    means /= gd.counts[:, None]
    R = gd.X - means[gd.g]
    sd = R.std(axis=0, ddof=1)
    check_within_group_sd(sd, gd.features, tol * max(float(sd.max()), np.finfo(float).tiny))
    # a feature that is a linear combination of others within the classes makes E singular;
    # QR with column pivoting names the columns it finds dependent, before any work
    _, r, piv = scipy.linalg.qr(R / sd, mode="economic", pivoting=True)
    diag = np.abs(np.diag(r))
    dep = piv[diag <= 1e-10 * diag.max() * max(n, p)]
    if dep.size:
        names = [str(f) for f in np.asarray(gd.features)[np.sort(dep)]]
        raise ValueError(
            f"feature(s) {names} are linear combinations of the other features within the classes "
            "(collinear), so the within-group covariance is singular; drop them, or reduce the "
            "features with PCA."
        )


def _fisher(delta: np.ndarray, S: np.ndarray) -> float:
    """``max_w (w'delta)^2 / w'Sw``, attained at ``w = S^{-1} delta``.

    A feature constant within both classes (a ReLU unit dead on both, say) has no
    within-pair variance: it adds nothing when the two means agree on it and separates the
    pair perfectly (an infinite ratio) when they do not.  It is left out of the solve.
    """
    var = np.diag(S)
    live = var > 1e-12 * max(float(var.max()), np.finfo(float).tiny)
    if (np.abs(delta[~live]) > 1e-12 * max(float(np.abs(delta).max()), np.finfo(float).tiny)).any():
        return float("inf")
    d, Sl = delta[live], S[np.ix_(live, live)]
    # lstsq: a rank-deficient S (collinear features) keeps the ratio on its range
    return float(d @ np.linalg.lstsq(Sl, d, rcond=1e-12)[0])


def _without_constant(gd: Grouped, tol: float) -> tuple[Grouped, int]:
    """``gd`` without the features whose within-group sd is below ``tol``, and how many went."""
    K = gd.classes.size
    means = np.zeros((K, gd.X.shape[1]))
    np.add.at(means, gd.g, gd.X)
    means /= gd.counts[:, None]
    live = (gd.X - means[gd.g]).std(axis=0, ddof=1) >= tol
    if not live.any():
        raise ValueError("every feature is constant within groups; there is nothing to analyse.")
    return Grouped(gd.X[:, live], gd.g, gd.classes, gd.features[live]), int((~live).sum())


def pairwise_grouped(gd: Grouped) -> xr.Dataset:
    X, g = gd.X, gd.g
    K, p = gd.classes.size, X.shape[1]
    counts = gd.counts
    means = np.zeros((K, p))
    np.add.at(means, g, X)
    means /= counts[:, None]
    R = X - means[g]
    S_pooled = R.T @ R / (X.shape[0] - K)
    covs = [np.atleast_2d(np.cov(X[g == k], rowvar=False)) for k in range(K)]
    try:
        chol = scipy.linalg.cho_factor(S_pooled)
    except np.linalg.LinAlgError:
        raise ValueError("the pooled within-group covariance is not positive definite (collinear "
                         "features); drop redundant features or reduce them with PCA.") from None
    D = np.zeros((K, K))
    F = np.zeros((K, K))
    for i in range(K):
        for j in range(i + 1, K):
            delta = means[i] - means[j]
            D[i, j] = D[j, i] = np.sqrt(delta @ scipy.linalg.cho_solve(chol, delta))
            F[i, j] = F[j, i] = _fisher(delta, covs[i] + covs[j])
    coords = {"class": gd.classes, "class2": gd.classes}
    return xr.Dataset(
        {"mahalanobis": (("class", "class2"), D), "fisher": (("class", "class2"), F)}, coords=coords,
        attrs={"mahalanobis": "sqrt((m_i - m_j)' S^-1 (m_i - m_j)), S pooled within-group (n - K)",
               "fisher": "(m_i - m_j)' (S_i + S_j)^-1 (m_i - m_j), S_c class covariances (n_c - 1)"},
    )


def pairwise_separation(x: Any, grouping: Any = None, classes: Any = None, *, data: Any = None) -> xr.Dataset:
    """Mahalanobis distances and Fisher ratios between the class means, over (class, class2).

    * ``mahalanobis[i, j] = sqrt((m_i - m_j)' S^-1 (m_i - m_j))`` with ``S`` the pooled
      within-group covariance of all classes analysed (divisor ``n - K``, as ``lda``): the
      distance of the two means in the full discriminant space of :func:`lda`.
    * ``fisher[i, j] = max_w (w'(m_i - m_j))^2 / (w'(S_i + S_j) w) = (m_i - m_j)'(S_i + S_j)^-1
      (m_i - m_j)``: Fisher's criterion of the two classes alone, with their own covariances
      ``S_i``, ``S_j`` (divisor ``n_c - 1``).  With equal covariances it is half the squared
      Mahalanobis distance.  Features constant within both classes are left out (infinite
      ratio if the two means differ on one).

    Parameters
    ----------
    x, grouping, classes, data
        As :func:`~classdep.lda`.

    Returns
    -------
    xr.Dataset
        ``mahalanobis`` and ``fisher`` (``class``, ``class2``), symmetric, zero diagonal.

    Examples
    --------
    >>> import numpy as np
    >>> X = np.array([[0.0], [2.0], [4.0], [6.0]]); g = ["a", "a", "b", "b"]
    >>> float(pairwise_separation(X, g)["fisher"].values[0, 1])   # (5 - 1)^2 / (2 + 2)
    4.0
    """
    gd = grouped_data(x, grouping, classes, data=data)
    check_grouped(gd)
    return pairwise_grouped(gd)


def manova(x: Any, grouping: Any = None, classes: Any = None, *, data: Any = None,
           drop_constant: bool = False, tol: float = 1e-4) -> Manova:
    """One-way MANOVA of the features on the classes, R's ``summary(manova(x ~ g))``, all four tests.

    Parameters
    ----------
    x : array-like (n, p), DataFrame, DataArray (sample, feature), features Dataset or formula
        As :func:`~classdep.lda` (``"label ~ ."`` with ``data=``).
    grouping : array-like (n,), optional
        Class labels (omitted for a Dataset or a formula).
    classes : sequence or a result with ``.classes``, optional
        Only these classes (e.g. an :func:`~classdep.ambiguous` set).
    data : pandas.DataFrame, optional
        The data of a formula.
    drop_constant : bool
        Leave out features whose within-group sd is below ``tol`` (dead ReLU units, say;
        counted in ``stats.attrs["n_dropped"]``) instead of raising an error.
    tol : float
        The threshold of ``drop_constant``.

    Returns
    -------
    Manova
        ``stats`` (Wilks, Pillai, Hotelling-Lawley, Roy: value, approximate F, its degrees of
        freedom and p-value), ``eigenvalues`` of ``E^{-1}H``, and ``pairwise`` Mahalanobis
        distances and Fisher ratios (:func:`pairwise_separation`).

    Examples
    --------
    >>> import classdep as cd
    >>> from sklearn.datasets import load_iris
    >>> iris = load_iris()
    >>> mv = cd.manova(iris.data, iris.target)
    >>> round(float(mv["Pillai"]["value"]), 4)
    1.1919
    """
    from statsmodels.multivariate.manova import MANOVA

    gd = grouped_data(x, grouping, classes, data=data)
    dropped = 0
    if drop_constant:
        gd, dropped = _without_constant(gd, tol)
    check_grouped(gd)
    K = gd.classes.size
    n, p = gd.X.shape
    # cell-means coding with an intercept: the hypothesis "all K - 1 contrasts vanish"
    dummies = (gd.g[:, None] == np.arange(1, K)[None, :]).astype(float)
    exog = np.column_stack([np.ones(n), dummies])
    L = np.column_stack([np.zeros(K - 1), np.eye(K - 1)])
    res = MANOVA(gd.X, exog).mv_test(hypotheses=[("group", L)])
    table = res.results["group"]["stat"]
    names = list(TESTS.values())
    col = {"value": "Value", "num_df": "Num DF", "den_df": "Den DF", "F": "F Value", "p_value": "Pr > F"}
    stats = xr.Dataset(
        {k: ("test", np.asarray([float(table.loc[t, c]) for t in TESTS], dtype=float))
         for k, c in col.items()},
        coords={"test": names},
        attrs={"df": K - 1, "df_residual": n - K, "n_responses": p, "n_samples": n, "n_dropped": dropped,
               "hotelling_lawley_F": "McKeon (statsmodels); R uses Pillai-Samson"},
    )
    # McKeon's F (Hotelling-Lawley) needs n - K - p > 1, and others' approximations fail in
    # the same corner: such a row gets no F or p-value and says why, instead of F 0, p NaN
    bad = ~(stats["den_df"].values > 0) | ~np.isfinite(stats["F"].values) | ~np.isfinite(
        stats["p_value"].values)
    stats["F"] = stats["F"].where(~xr.DataArray(bad, dims="test"))
    stats["p_value"] = stats["p_value"].where(~xr.DataArray(bad, dims="test"))
    stats["flag"] = ("test", np.where(bad, "F approximation undefined (too few residual degrees of "
                                           "freedom for the number of features)", ""))
    # the eigenvalues behind the statistics, for those who want them (and to check them)
    means = np.zeros((K, p))
    np.add.at(means, gd.g, gd.X)
    means /= gd.counts[:, None]
    R = gd.X - means[gd.g]
    E = R.T @ R
    dm = means - gd.X.mean(axis=0)
    H = (gd.counts[:, None] * dm).T @ dm
    ev = scipy.linalg.eigh(H, E, eigvals_only=True)[::-1][: min(p, K - 1)]
    eig = xr.DataArray(ev, dims="root", coords={"root": np.arange(1, ev.size + 1)}, name="eigenvalues")
    return Manova(stats, eig, pairwise_grouped(gd))
