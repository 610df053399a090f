# R peer for bench_path.py: cv.glmnet(alpha = 0, standardize = FALSE, family = "multinomial")
# on the benchmark's lambda grid and folds, timed; then (untimed) glmnet on fold 1's training
# rows on the same grid, whose coefficients bench_path.py scores against the reference.
#
# Usage: Rscript glmnet_peer.R WORKDIR
# Reads WORKDIR/glmnet_in.txt ("key value" lines) and the little-endian binaries X.bin
# (float64, column-major n x d), y.bin (int32 codes 0..K-1), foldid.bin (int32 1..5),
# lambda.bin (float64, decreasing), acc_index.bin (int32, 1-based into lambda).
# Writes WORKDIR/glmnet_out.txt ("key value" lines), glmnet_beta.bin (float64, A x K x d,
# d fastest) and glmnet_a0.bin (float64, A x K), NaN where glmnet returned no solution.

args <- commandArgs(trailingOnly = TRUE)
dir <- args[1]
cfg <- read.table(file.path(dir, "glmnet_in.txt"), header = FALSE, stringsAsFactors = FALSE)
get <- function(key) cfg$V2[cfg$V1 == key]
n <- as.integer(get("n")); d <- as.integer(get("d")); K <- as.integer(get("K"))
L <- as.integer(get("L")); A <- as.integer(get("A"))
thresh <- as.numeric(get("thresh")); fdev0 <- as.integer(get("fdev0"))
own_path <- if (any(cfg$V1 == "own_path")) as.integer(get("own_path")) else 0L

rd <- function(name, what, len) {
  con <- file(file.path(dir, name), "rb")
  on.exit(close(con))
  readBin(con, what, len, size = if (what == "double") 8L else 4L, endian = "little")
}
x <- matrix(rd("X.bin", "double", n * d), n, d)
y <- factor(rd("y.bin", "integer", n), levels = 0:(K - 1))
foldid <- rd("foldid.bin", "integer", n)
lam <- rd("lambda.bin", "double", L)
acc <- rd("acc_index.bin", "integer", A)

suppressPackageStartupMessages(library(glmnet))
if (fdev0 == 1L) glmnet.control(fdev = 0)

out <- c(R_version = gsub(" ", "_", R.version.string),
         glmnet_version = as.character(packageVersion("glmnet")))
kv <- function(key, value) out[[key]] <<- paste(format(value, digits = 17), collapse = ",")

clean <- function(msg) gsub("[[:space:]]+", "_", substr(paste(unique(msg), collapse = " | "), 1, 300))
cv_warn <- character(0)
t0 <- proc.time()[["elapsed"]]
# own_path = 1: glmnet diverges silently on grids that start low, so it gets its own path
# start: lambdas from its own lambda_max (10 a decade) down to the benchmark's first, then
# the benchmark's grid.  The lead-in is timed; only the grid's lambdas are scored.
lead <- numeric(0)
if (own_path == 1L) {
  top <- glmnet(x, y, family = "multinomial", alpha = 0, standardize = FALSE, nlambda = 2,
                lambda.min.ratio = 0.99)$lambda[1]
  if (top > lam[1]) {
    lead <- exp(seq(log(top), log(lam[1]), length.out = ceiling(10 * log10(top / lam[1])) + 1))
    lead <- lead[lead > lam[1] * (1 + 1e-9)]
  }
  kv("lead_in", length(lead))
  kv("lambda_max", top)
}
acc <- acc + length(lead)
lam <- c(lead, lam)
cv <- withCallingHandlers(
  tryCatch(
    cv.glmnet(x, y, family = "multinomial", alpha = 0, standardize = FALSE, lambda = lam,
              foldid = foldid, thresh = thresh),
    error = function(e) e
  ),
  warning = function(w) {
    cv_warn <<- c(cv_warn, conditionMessage(w))
    invokeRestart("muffleWarning")
  }
)
kv("wall", proc.time()[["elapsed"]] - t0)
if (length(cv_warn) > 0) kv("cv_warnings", clean(cv_warn))
if (inherits(cv, "error")) {
  kv("cv_error", clean(conditionMessage(cv)))
} else {
  full <- cv$glmnet.fit
  kv("cv_nlambda", length(cv$lambda))
  kv("full_jerr", full$jerr)
  kv("full_npasses", full$npasses)
  kv("full_dev_ratio_min", min(full$dev.ratio))
  kv("cvm_finite", as.integer(all(is.finite(cv$cvm))))
}

# Fold 1 (Python's fold 0) training rows on the same grid: its coefficients are what
# cv.glmnet's first fold computed.  Not timed.
tr <- foldid != 1L
fit0 <- tryCatch(
  glmnet(x[tr, , drop = FALSE], y[tr], family = "multinomial", alpha = 0, standardize = FALSE,
         lambda = lam, thresh = thresh),
  error = function(e) e
)
beta <- array(NaN, c(d, K, A))
a0 <- matrix(NaN, K, A)
if (inherits(fit0, "error")) {
  kv("fold_error", clean(conditionMessage(fit0)))
} else {
  nl <- length(fit0$lambda)
  kv("fold_nlambda", nl)
  kv("fold_jerr", fit0$jerr)
  kv("fold_npasses", fit0$npasses)
  kv("fold_dev_ratio_min", min(fit0$dev.ratio))
  B <- lapply(fit0$beta, as.matrix)  # K matrices, d x nl
  if (nl > 1) {
    change <- max(sapply(B, function(b) max(abs(b[, -1, drop = FALSE] - b[, -nl, drop = FALSE]))))
    kv("fold_max_coef_change", change)
  }
  for (a in seq_len(A)) {
    if (acc[a] <= nl) {
      for (k in seq_len(K)) beta[, k, a] <- B[[k]][, acc[a]]
      a0[, a] <- fit0$a0[, acc[a]]
    }
  }
}
con <- file(file.path(dir, "glmnet_beta.bin"), "wb"); writeBin(as.vector(beta), con, endian = "little"); close(con)
con <- file(file.path(dir, "glmnet_a0.bin"), "wb"); writeBin(as.vector(a0), con, endian = "little"); close(con)
writeLines(paste(names(out), out), file.path(dir, "glmnet_out.txt"))
