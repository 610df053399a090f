"""Discriminant analysis: ``lda``, ``manova``, ``pairwise_separation``, ``separability``.

References, each independent of the module under test:

* R's ``MASS::lda`` / ``predict.lda`` and ``summary(manova(...))``, run live through Rscript
  when R and MASS are installed (the R code sits next to the comparison);
* scikit-learn's ``LinearDiscriminantAnalysis`` for predictions and posteriors;
* textbook formulas computed here with NumPy/SciPy: the MANOVA statistics from the
  eigenvalues of ``E^{-1} H``, Mahalanobis distances with ``scipy.spatial.distance``,
  Fisher ratios as the largest generalized eigenvalue, and the Ledoit-Wolf intensity from
  Ledoit & Wolf (2004), Lemma 3.2 / Theorem 3.1.
"""

from __future__ import annotations

import shutil
import subprocess

import numpy as np
import pandas as pd
import pytest
import scipy.linalg
import xarray as xr
from scipy.spatial.distance import mahalanobis
from sklearn.discriminant_analysis import LinearDiscriminantAnalysis

import classdep as cd


def _mass_available() -> bool:
    if shutil.which("Rscript") is None:
        return False
    return subprocess.run(["Rscript", "-e", "library(MASS)"], capture_output=True).returncode == 0


needs_mass = pytest.mark.skipif(not _mass_available(),
                                reason="needs Rscript and the R package MASS (apt-get install r-cran-mass)")


def _groups(seed=0, sizes=(40, 55, 30, 70), p=5, shift=1.5):
    """Gaussian classes with different means and a shared, non-spherical covariance."""
    rng = np.random.default_rng(seed)
    K = len(sizes)
    y = np.repeat(np.arange(K), sizes)
    A = rng.normal(size=(p, p)) / np.sqrt(p) + np.eye(p)
    means = shift * rng.normal(size=(K, p))
    X = rng.normal(size=(y.size, p)) @ A + means[y]
    labels = np.asarray(["c0", "c1", "c2", "c3", "c4", "c5"])[y]
    return X, labels


def _sign_align(a, b):
    """Flip the columns of ``a`` to match the signs of ``b`` (discriminants are defined up to sign)."""
    return a * np.sign((a * b).sum(axis=0))


# ------------------------------------------------------------------------------------ R's MASS

R_LDA = r"""
suppressMessages(library(MASS))
args <- commandArgs(trailingOnly = TRUE)
d <- read.csv(args[1])
g <- factor(d$g); x <- as.matrix(d[, -1])
method <- args[3]
fit <- if (args[4] == "none") lda(x, g, method = method) else
       lda(x, g, method = method, prior = as.numeric(strsplit(args[4], ",")[[1]]))
pr <- predict(fit, x[1:25, ])
out <- args[2]
write.csv(fit$prior, paste0(out, "prior.csv")); write.csv(fit$means, paste0(out, "means.csv"))
write.csv(fit$scaling, paste0(out, "scaling.csv"))
write.csv(fit$svd, paste0(out, "svd.csv")); write.csv(fit$svd^2 / sum(fit$svd^2), paste0(out, "trace.csv"))
write.csv(pr$posterior, paste0(out, "posterior.csv")); write.csv(pr$x, paste0(out, "x.csv"))
"""


def _mass_lda(tmp_path, X, labels, method="moment", prior=None):
    pd.DataFrame(X, columns=[f"V{j + 1}" for j in range(X.shape[1])]).assign(g=labels)[
        ["g"] + [f"V{j + 1}" for j in range(X.shape[1])]].to_csv(tmp_path / "d.csv", index=False)
    (tmp_path / "lda.R").write_text(R_LDA)
    pri = "none" if prior is None else ",".join(f"{v:.17g}" for v in prior)
    subprocess.run(["Rscript", str(tmp_path / "lda.R"), str(tmp_path / "d.csv"), str(tmp_path / "r_"),
                    method, pri], check=True, capture_output=True)
    return {k: pd.read_csv(tmp_path / f"r_{k}.csv", index_col=0).to_numpy()
            for k in ("prior", "means", "scaling", "svd", "trace", "posterior", "x")}


@pytest.mark.parametrize("method,prior", [("moment", None), ("mle", None), ("moment", [0.1, 0.2, 0.3, 0.4])])
@pytest.mark.r
@needs_mass
def test_lda_matches_mass(tmp_path, method, prior):
    X, g = _groups()
    R = _mass_lda(tmp_path, X, g, method, prior)
    fit = cd.lda(X, g, prior=prior, method=method)
    np.testing.assert_allclose(fit.prior.values, R["prior"][:, 0], rtol=1e-14)
    np.testing.assert_allclose(fit.means.values, R["means"], rtol=1e-12)
    np.testing.assert_allclose(fit.prop_trace.values, R["trace"][:, 0], rtol=0, atol=1e-8)
    np.testing.assert_allclose(fit.svd.values, R["svd"][:, 0], rtol=1e-8)
    S = fit.scaling.values
    np.testing.assert_allclose(_sign_align(S, R["scaling"]), R["scaling"], rtol=1e-8, atol=1e-10)
    pred = cd.predict(fit, X[:25])
    np.testing.assert_allclose(pred["posterior"].values, R["posterior"], rtol=1e-7, atol=1e-12)
    np.testing.assert_allclose(_sign_align(pred["x"].values, R["x"]), R["x"], rtol=1e-8, atol=1e-10)


R_FORMULA = r"""
suppressMessages(library(MASS))
args <- commandArgs(trailingOnly = TRUE)
d <- read.csv(args[1], stringsAsFactors = TRUE)
fit <- lda(label ~ ., data = d)
write.csv(fit$scaling, args[2]); write.csv(predict(fit, d[1:10, ])$posterior, args[3])
"""


@pytest.mark.r
@needs_mass
def test_lda_formula_with_a_factor_matches_mass(tmp_path):
    """``label ~ .`` with a factor predictor: treatment contrasts and no intercept, as R."""
    X, g = _groups(seed=4, p=3)
    rng = np.random.default_rng(4)
    df = pd.DataFrame(X, columns=["a", "b", "c"]).assign(
        shape=rng.choice(["round", "square", "tall"], size=g.size), label=g)
    df.to_csv(tmp_path / "d.csv", index=False)
    (tmp_path / "f.R").write_text(R_FORMULA)
    subprocess.run(["Rscript", str(tmp_path / "f.R"), str(tmp_path / "d.csv"), str(tmp_path / "s.csv"),
                    str(tmp_path / "p.csv")], check=True, capture_output=True)
    R_scaling = pd.read_csv(tmp_path / "s.csv", index_col=0)
    fit = cd.lda("label ~ .", data=df)
    assert fit.scaling.shape == R_scaling.shape == (5, 3)  # a, b, c and two shape contrasts
    np.testing.assert_allclose(_sign_align(fit.scaling.values, R_scaling.to_numpy()), R_scaling.to_numpy(),
                               rtol=1e-8, atol=1e-10)
    post = cd.predict(fit, df.iloc[:10])["posterior"].values
    np.testing.assert_allclose(post, pd.read_csv(tmp_path / "p.csv", index_col=0).to_numpy(), rtol=1e-7)


R_MANOVA = r"""
args <- commandArgs(trailingOnly = TRUE)
d <- read.csv(args[1]); g <- factor(d$g); x <- as.matrix(d[, -1])
m <- manova(x ~ g)
out <- t(sapply(c("Wilks", "Pillai", "Hotelling-Lawley", "Roy"),
                function(t) summary(m, test = t)$stats[1, 2:6]))
write.csv(out, args[2])
"""


@pytest.mark.r
@needs_mass
def test_manova_matches_r(tmp_path):
    X, g = _groups(seed=2, shift=0.4)
    pd.DataFrame(X).assign(g=g)[["g", *range(X.shape[1])]].to_csv(tmp_path / "d.csv", index=False)
    (tmp_path / "m.R").write_text(R_MANOVA)
    subprocess.run(["Rscript", str(tmp_path / "m.R"), str(tmp_path / "d.csv"), str(tmp_path / "o.csv")],
                   check=True, capture_output=True)
    R = pd.read_csv(tmp_path / "o.csv", index_col=0)  # value, approx F, num Df, den Df, Pr(>F)
    mv = cd.manova(X, g)
    s = mv.stats
    np.testing.assert_allclose(s["value"].values, R.iloc[:, 0].to_numpy(), rtol=1e-10)
    same_F = ["Wilks", "Pillai", "Roy"]  # Hotelling-Lawley: McKeon's F here, Pillai-Samson's in R
    for col, r in (("F", 1), ("num_df", 2), ("den_df", 3), ("p_value", 4)):
        np.testing.assert_allclose(s[col].sel(test=same_F).values, R.loc[same_F].iloc[:, r].to_numpy(),
                                   rtol=1e-8)
    np.testing.assert_allclose(float(s["num_df"].sel(test="Hotelling-Lawley")), R.iloc[2, 2], rtol=1e-12)


# ------------------------------------------------------------------------ scikit-learn and algebra

@pytest.mark.parametrize("priors", [None, [0.4, 0.1, 0.25, 0.25]])
def test_lda_predictions_match_sklearn(priors):
    X, g = _groups(seed=1)
    Xnew, _ = _groups(seed=11)
    # scikit-learn's posteriors use the maximum-likelihood covariance (divisor n): method="mle"
    ours = cd.predict(cd.lda(X, g, prior=priors, method="mle"), Xnew)
    sk = LinearDiscriminantAnalysis(solver="svd", priors=priors).fit(X, g)
    np.testing.assert_allclose(ours["posterior"].values, sk.predict_proba(Xnew), rtol=1e-9, atol=1e-13)
    assert (ours["class"].values == sk.predict(Xnew)).all()
    # the same discriminant space, whatever the divisor
    np.testing.assert_allclose(cd.lda(X, g, prior=priors).prop_trace.values, sk.explained_variance_ratio_,
                               rtol=1e-9)


def test_lda_scaling_whitens_within_and_diagonalizes_between():
    """MASS's normalization: within-group covariance of the scores is I (divisor n - K), and
    the proportion of trace is the normalized spectrum of W^{-1} B (generalized eigenproblem)."""
    X, g = _groups(seed=3)
    fit = cd.lda(X, g)
    Z = X @ fit.scaling.values
    codes = np.unique(g, return_inverse=True)[1]
    W = sum(np.cov(Z[codes == k], rowvar=False) * ((codes == k).sum() - 1) for k in range(4)) / (g.size - 4)
    np.testing.assert_allclose(W, np.eye(3), atol=1e-10)
    Wx = sum(np.cov(X[codes == k], rowvar=False) * ((codes == k).sum() - 1) for k in range(4)) / (g.size - 4)
    M = np.stack([X[codes == k].mean(axis=0) for k in range(4)])
    pri = np.bincount(codes) / g.size
    Bx = (pri[:, None] * (M - pri @ M)).T @ (M - pri @ M) * g.size / 3
    ev = scipy.linalg.eigh(Bx, Wx, eigvals_only=True)[::-1][:3]
    np.testing.assert_allclose(fit.prop_trace.values, ev / ev.sum(), rtol=1e-9)


def _ledoit_wolf_intensity(R):
    """Ledoit & Wolf (2004): shrinkage b2/d2 of S towards mu*I, for centred data R (n, p)."""
    n, p = R.shape
    S = R.T @ R / n
    mu = np.trace(S) / p
    d2 = np.sum((S - mu * np.eye(p)) ** 2)
    b2_bar = sum(np.sum((np.outer(r, r) - S) ** 2) for r in R) / n**2
    return min(b2_bar, d2) / d2


def test_lda_shrinkage():
    X, g = _groups(seed=5, sizes=(12, 15, 10, 14), p=8)
    plain = cd.lda(X, g)
    zero = cd.lda(X, g, shrinkage=0.0)
    np.testing.assert_allclose(zero.prop_trace.values, plain.prop_trace.values, rtol=1e-10)
    np.testing.assert_allclose(zero.scaling.values, plain.scaling.values, rtol=1e-8, atol=1e-12)
    # a fixed intensity: the scores are white under the shrunk covariance, computed here by hand
    a = 0.3
    fit = cd.lda(X, g, shrinkage=a)
    codes = np.unique(g, return_inverse=True)[1]
    M = np.stack([X[codes == k].mean(axis=0) for k in range(4)])
    R = X - M[codes]
    sd = R.std(axis=0, ddof=1)
    S = (R / sd).T @ (R / sd) / (g.size - 4)
    shrunk = (1 - a) * S + a * np.trace(S) / S.shape[0] * np.eye(S.shape[0])
    W = np.diag(sd) @ shrunk @ np.diag(sd)
    A = fit.scaling.values
    np.testing.assert_allclose(A.T @ W @ A, np.eye(A.shape[1]), atol=1e-10)
    auto = cd.lda(X, g, shrinkage="auto")
    np.testing.assert_allclose(auto.model.attrs["shrinkage_intensity"], _ledoit_wolf_intensity(R / sd),
                               rtol=1e-10)
    assert "Ledoit" not in repr(plain) and "intensity" in repr(auto)


def test_manova_statistics_from_eigenvalues():
    X, g = _groups(seed=6, shift=0.3)
    codes = np.unique(g, return_inverse=True)[1]
    K, n = 4, g.size
    E = np.zeros((X.shape[1],) * 2)
    H = np.zeros_like(E)
    xbar = X.mean(axis=0)
    for k in range(K):
        Xk = X[codes == k]
        E += (Xk - Xk.mean(axis=0)).T @ (Xk - Xk.mean(axis=0))
        H += len(Xk) * np.outer(Xk.mean(axis=0) - xbar, Xk.mean(axis=0) - xbar)
    lam = np.sort(np.linalg.eigvals(np.linalg.solve(E, H)).real)[::-1][: K - 1]
    mv = cd.manova(X, g)
    v = mv.stats["value"]
    np.testing.assert_allclose(float(v.sel(test="Wilks")), np.prod(1 / (1 + lam)), rtol=1e-10)
    np.testing.assert_allclose(float(v.sel(test="Pillai")), np.sum(lam / (1 + lam)), rtol=1e-10)
    np.testing.assert_allclose(float(v.sel(test="Hotelling-Lawley")), lam.sum(), rtol=1e-10)
    np.testing.assert_allclose(float(v.sel(test="Roy")), lam.max(), rtol=1e-10)
    np.testing.assert_allclose(mv.eigenvalues.values, lam, rtol=1e-9)
    # Pillai's F (Pillai 1955): s = min(p, K-1), m = (|p-q|-1)/2, nn = (n-K-p-1)/2
    p, q = X.shape[1], K - 1
    s, m, nn = min(p, q), (abs(p - q) - 1) / 2, (n - K - p - 1) / 2
    V = np.sum(lam / (1 + lam))
    F = (2 * nn + s + 1) / (2 * m + s + 1) * V / (s - V)
    np.testing.assert_allclose(float(mv.stats["F"].sel(test="Pillai")), F, rtol=1e-10)
    text = repr(mv)
    assert "Pillai" in text and "Residuals" in text and str(n - K) in text


def test_pairwise_separation_closed_forms():
    X, g = _groups(seed=7)
    codes = np.unique(g, return_inverse=True)[1]
    ps = cd.pairwise_separation(X, g)
    K, n = 4, g.size
    M = np.stack([X[codes == k].mean(axis=0) for k in range(K)])
    covs = [np.cov(X[codes == k], rowvar=False) for k in range(K)]
    Sp = sum(c * ((codes == k).sum() - 1) for k, c in enumerate(covs)) / (n - K)
    VI = np.linalg.inv(Sp)
    fit = cd.lda(X, g)
    dm = M @ fit.scaling.values  # full discriminant space (rank K - 1 < p): Mahalanobis geometry
    for i in range(K):
        for j in range(K):
            D = ps["mahalanobis"].values[i, j]
            np.testing.assert_allclose(D, mahalanobis(M[i], M[j], VI), rtol=1e-10, atol=1e-12)
            np.testing.assert_allclose(D, np.linalg.norm(dm[i] - dm[j]), rtol=1e-9, atol=1e-12)
            if i != j:
                d = (M[i] - M[j])[:, None]
                top = scipy.linalg.eigh(d @ d.T, covs[i] + covs[j], eigvals_only=True).max()
                np.testing.assert_allclose(ps["fisher"].values[i, j], top, rtol=1e-9)
    # one feature: (m_i - m_j)^2 / (s_i^2 + s_j^2)
    x1 = X[:, :1]
    f1 = cd.pairwise_separation(x1, g)["fisher"].values[0, 1]
    a, b = x1[codes == 0, 0], x1[codes == 1, 0]
    np.testing.assert_allclose(f1, (a.mean() - b.mean()) ** 2 / (a.var(ddof=1) + b.var(ddof=1)), rtol=1e-12)


# -------------------------------------------------------------------------------- separability

def _oof_posteriors(X, codes, folds, K):
    """MASS's plug-in rule from scratch: Gaussian densities with the pooled covariance (n - K)."""
    from scipy.stats import multivariate_normal

    P = np.empty((len(codes), K))
    for f in np.unique(folds):
        tr, te = folds != f, folds == f
        Xt, ct = X[tr], codes[tr]
        M = np.stack([Xt[ct == k].mean(axis=0) for k in range(K)])
        S = sum((Xt[ct == k] - M[k]).T @ (Xt[ct == k] - M[k]) for k in range(K)) / (tr.sum() - K)
        logp = np.column_stack([multivariate_normal(M[k], S).logpdf(X[te]) for k in range(K)])
        logp += np.log(np.bincount(ct, minlength=K) / tr.sum())
        P[te] = np.exp(logp - logp.max(axis=1, keepdims=True))
        P[te] /= P[te].sum(axis=1, keepdims=True)
    return P


def test_separability_against_independent_cross_validation():
    from sklearn.model_selection import StratifiedKFold

    X, g = _groups(seed=8)
    rng = np.random.default_rng(8)
    near = X * 0.2 + rng.normal(size=X.shape)
    dead = np.column_stack([X, np.zeros(len(X))])  # a dead unit: dropped, results unchanged
    sep = cd.separability({"far": X, "near": near, "far+dead": dead}, g, nfolds=4, seed=3)
    d = sep.data
    assert d["n_features"].values.tolist() == [5, 5, 5]
    for name in ("fisher", "mahalanobis", "pair_accuracy", "cv_accuracy", "pillai", "prop_trace"):
        np.testing.assert_allclose(d[name].sel(representation="far+dead").values,
                                   d[name].sel(representation="far").values, rtol=1e-10)
    classes, codes = np.unique(g, return_inverse=True)
    folds = np.empty(len(g), dtype=int)
    for m, (_, te) in enumerate(StratifiedKFold(4, shuffle=True, random_state=3).split(X, codes)):
        folds[te] = m
    for rep, Xr in (("far", X), ("near", near)):
        P = _oof_posteriors(Xr, codes, folds, 4)
        acc = (P.argmax(axis=1) == codes).mean()
        np.testing.assert_allclose(float(d["cv_accuracy"].sel(representation=rep)), acc, rtol=1e-12)
        for p in d["pair"].values:
            i, j = (list(classes).index(c) for c in str(p).split(" / "))
            ref = 0.5 * ((P[codes == i, i] > P[codes == i, j]).mean()
                         + (P[codes == j, j] > P[codes == j, i]).mean())
            np.testing.assert_allclose(float(d["pair_accuracy"].sel(representation=rep, pair=p)), ref,
                                       rtol=1e-12)
        ps = cd.pairwise_separation(Xr, g)
        np.testing.assert_allclose(d["fisher"].sel(representation=rep).values,
                                   ps["fisher"].values[np.triu_indices(4, 1)], rtol=1e-12)
        np.testing.assert_allclose(float(d["pillai"].sel(representation=rep)),
                                   float(cd.manova(Xr, g)["Pillai"]["value"]), rtol=1e-12)
    acc = d["cv_accuracy"]
    assert float(acc.sel(representation="far")) > float(acc.sel(representation="near"))
    assert d["worst_pair_accuracy"].values.tolist() == d["pair_accuracy"].min("pair").values.tolist()
    assert "far+dead" in repr(sep)


def test_separability_over_a_leading_dim_and_subset_of_classes():
    X, g = _groups(seed=9)
    stacked = xr.DataArray(np.stack([X, 2 * X + 1]), dims=("alpha", "sample", "feature"),
                           coords={"alpha": [0.1, 1.0]})
    sep = cd.separability(stacked, g, classes=["c2", "c0", "c3"], nfolds=3)
    assert sep.dim == "alpha" and sep.data.sizes["pair"] == 3 and sep.data.sizes["LD"] == 2
    # an affine map of the features changes none of these affine-invariant measures
    for name in ("fisher", "mahalanobis", "pair_accuracy", "pillai", "prop_trace", "cv_accuracy"):
        np.testing.assert_allclose(sep[name].isel(alpha=0).values, sep[name].isel(alpha=1).values,
                                   rtol=1e-8)
    keep = np.isin(g, ["c2", "c0", "c3"])
    ref = cd.pairwise_separation(X[keep], g[keep], classes=["c2", "c0", "c3"])
    np.testing.assert_allclose(sep["fisher"].isel(alpha=0).values,
                               ref["fisher"].values[np.triu_indices(3, 1)], rtol=1e-12)
    assert sep.data["pair"].values.tolist() == ["c2 / c0", "c2 / c3", "c0 / c3"]


# ----------------------------------------------------------------------------------- ambiguous

def test_ambiguous_finds_a_planted_group_and_counts_like_the_oof_predictions():
    """Classes 0-2 overlap, 3-5 are far apart: the set of three is {0, 1, 2}."""
    rng = np.random.default_rng(0)
    centers = np.array([[0, 0], [0.8, 0], [0.4, 0.7], [8, 8], [-8, 8], [8, -8]], dtype=float)
    y = np.repeat(np.arange(6), 60)
    X = centers[y] + rng.normal(size=(y.size, 2)) * 0.6
    cv = cd.cv_glmnet(X, y, nfolds=3, nlambda=6, progress=False)
    amb = cd.ambiguous(cv, k=3)
    assert sorted(amb.classes.tolist()) == [0, 1, 2]
    j = cv.index["min"]
    pred, truth = cv.oof["pred"].values[j], cv.oof["y"].values
    C = np.zeros((6, 6))
    np.add.at(C, (truth, pred), 1)
    np.testing.assert_array_equal(amb.table["confusion"].values, C)
    R = C / C.sum(axis=1, keepdims=True)
    np.fill_diagonal(R, -1)
    assert amb.table["partner"].values.tolist() == [str(v) for v in R.argmax(axis=1)]
    assert "Most-confused partner" in repr(amb)


def test_ambiguous_of_a_fit_on_held_out_data():
    from sklearn.metrics import confusion_matrix

    rng = np.random.default_rng(1)
    centers = np.array([[0, 0], [1.0, 0], [6, 6], [-6, 6]], dtype=float)
    y = np.repeat(np.arange(4), 50)
    X = centers[y] + rng.normal(size=(y.size, 2))
    Xt = centers[y] + rng.normal(size=(y.size, 2))
    fit = cd.glmnet(X, y, lambda_=[0.01])
    amb = cd.ambiguous(fit, k=2, newx=Xt, y=y)
    pred = cd.predict(fit, Xt, s=0.01, type="class").values.astype(int)
    np.testing.assert_array_equal(amb.table["confusion"].values, confusion_matrix(y, pred, labels=range(4)))
    assert sorted(amb.classes.tolist()) == [0, 1]
    soft = cd.ambiguous(fit, k=2, method="probability", newx=Xt, y=y)
    np.testing.assert_allclose(soft.table["confusion"].values.sum(axis=1), np.bincount(y), rtol=1e-12)
    # a fit with several lambdas needs s=
    with pytest.raises(ValueError, match="lambda_min"):
        cd.ambiguous(cd.glmnet(X, y, lambda_=[0.1, 0.01]), newx=Xt, y=y)


def _fashion_missing():
    try:
        cd.datasets.fashion_mnist_dir()
    except FileNotFoundError as exc:
        return str(exc)
    return None


@pytest.mark.skipif(_fashion_missing() is not None, reason="Fashion-MNIST is not installed "
                    "(apt-get install dataset-fashion-mnist)")
def test_ambiguous_finds_the_upper_body_garments_on_fashion_mnist():
    """Out-of-fold confusion of a ridge multinomial on 20 principal components of 3000 test
    images: the four mutually confused classes are the upper-body garments."""
    from sklearn.decomposition import PCA

    ds = cd.datasets.fashion_mnist("test")
    idx = np.random.default_rng(0).choice(ds.sizes["sample"], 3000, replace=False)
    Z = PCA(20, random_state=0).fit_transform(ds.X.values[idx].astype(float))
    labels = ds["class"].values[ds.y.values[idx]]
    cv = cd.cv_glmnet(Z, labels, nfolds=3, nlambda=8, progress=False)
    amb = cd.ambiguous(cv, k=4)
    assert set(amb.classes.tolist()) == {"T-shirt/top", "Pullover", "Coat", "Shirt"}
    assert amb.table["partner"].sel({"class": "Shirt"}).item() in {"T-shirt/top", "Pullover", "Coat"}
    # the set feeds lda directly, with codes mapped to names through the model's classes
    fit = cd.lda(xr.DataArray(Z, dims=("sample", "feature")), np.unique(labels, return_inverse=True)[1],
                 classes=amb)
    assert fit.classes.tolist() == amb.classes.tolist()
    assert int(fit.counts.sum()) == int(np.isin(labels, amb.classes).sum())


# ------------------------------------------------------------------------ errors, I/O, plots

@pytest.mark.parametrize("kwargs,match", [
    (dict(prior=[0.5, 0.5]), "4 classes"),
    (dict(prior=[0.5, 0.5, 0.5, 0.5]), "sums to 2"),
    (dict(shrinkage="ledoit"), "shrinkage"),
    (dict(shrinkage=1.5), "outside"),
    (dict(method="t"), "method"),
    (dict(classes=["c0", "nope"]), "unknown class 'nope'"),
    (dict(classes=["c0"]), "fewer than two"),
    (dict(tol=-1), "tol"),
])
def test_lda_bad_input(kwargs, match):
    X, g = _groups()
    with pytest.raises((ValueError, TypeError), match=match):
        cd.lda(X, g, **kwargs)


def test_constant_and_degenerate_inputs():
    X, g = _groups()
    Xc = np.column_stack([X, np.ones(len(X))])
    with pytest.raises(ValueError, match="constant within groups"):
        cd.lda(Xc, g)
    with pytest.raises(ValueError, match="constant within groups"):
        cd.manova(Xc, g)
    with pytest.raises(ValueError, match="fewer than"):
        cd.manova(np.random.default_rng(0).normal(size=(8, 7)), ["a"] * 4 + ["b"] * 4)
    with pytest.raises(ValueError, match="labels but x has"):
        cd.lda(X, g[:-1])
    with pytest.raises(ValueError, match="not a column"):
        cd.lda("label ~ .", data=pd.DataFrame(X))
    with pytest.raises(TypeError, match="DataFrame"):
        cd.lda("label ~ .", data=X)
    with pytest.raises(ValueError, match="same samples"):
        cd.separability([X, X[:-1]], g)
    with pytest.raises(ValueError, match="features to classify"):
        cd.predict(cd.lda(X, g))
    with pytest.raises(ValueError, match="fitted on 5"):
        cd.predict(cd.lda(X, g), X[:, :3])


def test_ambiguous_bad_input():
    rng = np.random.default_rng(0)
    y = np.repeat(np.arange(3), 20)
    cv = cd.cv_glmnet(rng.normal(size=(60, 2)) + y[:, None], y, nfolds=3, nlambda=4, progress=False)
    with pytest.raises(ValueError, match="exceeds the 3 classes"):
        cd.ambiguous(cv, k=4)
    with pytest.raises(ValueError, match="not on the CV grid"):
        cd.ambiguous(cv, s=cv.lambda_[0] * 1.1)
    with pytest.raises(ValueError, match="does not keep"):
        cd.ambiguous(cv, method="probability")
    with pytest.raises(TypeError, match="cv_glmnet, assess or glmnet"):
        cd.ambiguous(np.eye(3))
    with pytest.raises(ValueError, match="one of"):
        cd.ambiguous(cv, s="lambda_best")


def test_results_round_trip_netcdf(tmp_path):
    X, g = _groups()
    fit = cd.lda(X, g)
    fit.to_netcdf(tmp_path / "lda.nc")
    back = cd.LDA.from_netcdf(tmp_path / "lda.nc")
    xr.testing.assert_identical(back.model, fit.model)
    np.testing.assert_array_equal(cd.predict(back, X)["posterior"].values,
                                  cd.predict(fit, X)["posterior"].values)
    mv = cd.manova(X, g)
    mv.to_netcdf(tmp_path / "mv.nc")
    xr.testing.assert_allclose(cd.Manova.from_netcdf(tmp_path / "mv.nc").stats, mv.stats)
    sep = cd.separability([X, X + 1], g, nfolds=3)
    sep.to_netcdf(tmp_path / "sep.nc")
    assert repr(cd.Separability.from_netcdf(tmp_path / "sep.nc")) == repr(sep)
    with pytest.raises(ValueError, match="does not hold a classdep LDA"):
        cd.LDA.from_netcdf(tmp_path / "mv.nc")
    rng = np.random.default_rng(0)
    y = np.repeat(np.array(["a", "b", "c"]), 30)
    cv = cd.cv_glmnet(rng.normal(size=(90, 2)) + (y == "b")[:, None], y, nfolds=3, nlambda=4, progress=False)
    amb = cd.ambiguous(cv, k=2)
    amb.to_netcdf(tmp_path / "amb.nc")
    back = cd.Ambiguous.from_netcdf(tmp_path / "amb.nc")
    assert repr(back) == repr(amb) and back.classes.tolist() == amb.classes.tolist()


def test_prints_like_mass():
    X, g = _groups()
    text = repr(cd.lda(X, g))
    for head in ("Call:", "Prior probabilities of groups:", "Group means:",
                 "Coefficients of linear discriminants:", "Proportion of trace:"):
        assert head in text
    pt = cd.lda(X, g).prop_trace.values
    assert text.splitlines()[-1].split() == [f"{v:.4f}" for v in pt]


def test_plots():
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.patches import Ellipse

    X, g = _groups()
    fig = cd.plot(cd.lda(X, g))
    assert sum(isinstance(p, Ellipse) for p in fig.axes[0].patches) == 4
    fig = cd.plot(cd.separability(xr.DataArray(np.stack([X, X * 2]), dims=("alpha", "sample", "feature"),
                                                coords={"alpha": [1e-4, 1e-2]}), g, nfolds=3))
    assert len(fig.axes) == 4 and fig.axes[0].get_xlabel() == "alpha"
    two = cd.lda(X[np.isin(g, ["c0", "c1"])], g[np.isin(g, ["c0", "c1"])])
    assert cd.plot(two).axes[0].get_ylabel() == "density"


def test_drop_constant_features():
    """Dead units: zero coefficients in lda, left out of manova, same results as without them."""
    X, g = _groups(seed=10)
    dead = np.column_stack([X[:, :2], np.zeros(len(X)), X[:, 2:]])
    with pytest.warns(UserWarning, match="constant within groups"):
        fit = cd.lda(dead, g, drop_constant=True)
    ref = cd.lda(X, g)
    np.testing.assert_array_equal(fit.scaling.values[2], 0.0)
    np.testing.assert_allclose(np.delete(fit.scaling.values, 2, axis=0), ref.scaling.values, rtol=1e-10)
    np.testing.assert_allclose(cd.predict(fit, dead)["posterior"].values,
                               cd.predict(ref, X)["posterior"].values, rtol=1e-10, atol=1e-14)
    mv = cd.manova(dead, g, drop_constant=True)
    assert mv.stats.attrs["n_dropped"] == 1 and "1 constant features left out" in repr(mv)
    xr.testing.assert_allclose(mv.stats.drop_attrs(), cd.manova(X, g).stats.drop_attrs())


def test_fisher_with_a_feature_constant_within_the_pair():
    """A unit silent on classes c0 and c1 but not on the others: no within-pair variance.
    Equal means on it: the ratio of the remaining features; different means: infinite."""
    X, g = _groups(seed=12)
    extra = np.where(np.isin(g, ["c0", "c1"]), 0.0, np.random.default_rng(0).normal(size=len(g)))
    ps = cd.pairwise_separation(np.column_stack([X, extra]), g)
    ref = cd.pairwise_separation(X, g)
    np.testing.assert_allclose(ps["fisher"].sel({"class": "c0", "class2": "c1"}),
                               ref["fisher"].sel({"class": "c0", "class2": "c1"}), rtol=1e-9)
    step = np.where(g == "c0", 0.0, np.where(g == "c1", 1.0, extra))
    ps2 = cd.pairwise_separation(np.column_stack([X, step]), g)
    assert np.isinf(ps2["fisher"].sel({"class": "c0", "class2": "c1"}).item())
