"""Cross-check against R's glmnet (alpha = 0, standardize = FALSE), run live through
Rscript when R and glmnet are installed (Debian: r-base-core r-cran-glmnet).

The R code that produces the reference values is below, next to the comparison, so
anyone can re-derive them."""

from __future__ import annotations

import shutil
import subprocess

import numpy as np
import pytest

import classdep as cd

R_CODE = r"""
suppressMessages(library(glmnet))
args <- commandArgs(trailingOnly = TRUE)
d <- as.matrix(read.csv(args[1], header = FALSE))
x <- d[, -1]; y <- factor(d[, 1])
lam <- as.numeric(strsplit(args[3], ",")[[1]])
fit <- glmnet(x, y, family = args[4], alpha = 0, standardize = FALSE, lambda = lam,
              thresh = 1e-15, maxit = 1e7)
if (args[4] == "multinomial") {
  B <- do.call(rbind, lapply(coef(fit, s = lam[length(lam)]), function(b) as.numeric(b)))
} else {
  B <- matrix(as.numeric(coef(fit, s = lam[length(lam)])), nrow = 1)
}
write.table(B, args[2], row.names = FALSE, col.names = FALSE, sep = ",")
"""


def _r_glmnet_available() -> bool:
    if shutil.which("Rscript") is None:
        return False
    r = subprocess.run(["Rscript", "-e", "library(glmnet)"], capture_output=True)
    return r.returncode == 0


pytestmark = [
    pytest.mark.r,
    pytest.mark.skipif(not _r_glmnet_available(),
                       reason="needs Rscript and the R package glmnet (apt-get install r-cran-glmnet)"),
]


def _run_r(tmp_path, X, y, lams, family):
    data = tmp_path / "data.csv"
    out = tmp_path / "coef.csv"
    script = tmp_path / "fit.R"
    np.savetxt(data, np.column_stack([y, X]), delimiter=",", fmt="%.17g")
    script.write_text(R_CODE)
    subprocess.run(["Rscript", str(script), str(data), str(out), ",".join(f"{v:.17g}" for v in lams),
                    family], check=True, capture_output=True)
    return np.loadtxt(out, delimiter=",", ndmin=2)  # (K or 1, 1 + d): intercept first


def test_multinomial_ridge_matches_r_glmnet(tmp_path):
    rng = np.random.default_rng(0)
    n, d, K = 300, 4, 3
    y = rng.integers(0, K, n)
    X = rng.normal(size=(n, d)) + np.array([[1.0, 0, 0, 0], [0, 1.0, 0, 0], [0, 0, 0, 0]])[y]
    # A path from large to small, as glmnet needs to stay on track (it diverges silently
    # when started at a small lambda: benchmarks/RESULTS.md).
    lams = np.geomspace(1.0, 0.02, 15)
    R = _run_r(tmp_path, X, y, lams, "multinomial")
    fit = cd.glmnet(X, y, lambda_=lams)
    ours = cd.coef(fit, s=lams[-1]).values  # (K, 1 + d), "(Intercept)" first like R
    np.testing.assert_allclose(ours[:, 1:], R[:, 1:], rtol=0, atol=1e-5 * np.abs(R[:, 1:]).max())
    Rb = R[:, 0] - R[:, 0].mean()  # glmnet's multinomial intercepts are defined up to a shift
    np.testing.assert_allclose(ours[:, 0], Rb, atol=1e-5)


def test_binomial_ridge_matches_r_glmnet_and_ova(tmp_path):
    rng = np.random.default_rng(1)
    n, d = 250, 3
    y = rng.integers(0, 2, n)
    X = rng.normal(size=(n, d)) + 0.8 * y[:, None]
    lams = np.geomspace(0.5, 0.01, 12)
    R = _run_r(tmp_path, X, y, lams, "binomial")
    fit = cd.glmnet(X, y, family="ova", lambda_=lams)
    ours = cd.coef(fit, s=lams[-1]).values[1]  # class "1" vs rest is R's binomial
    np.testing.assert_allclose(ours, R[0], atol=1e-6 * np.abs(R).max())
