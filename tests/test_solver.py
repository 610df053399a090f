"""The solver against independent references: KKT conditions written out here in plain
NumPy, scikit-learn's LogisticRegression, closed forms, and self-consistency checks
(warm path = cold fit, a batch member = the fit on its rows)."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from builders import blobs, noise
from scipy.special import expit, log_softmax, softmax
from sklearn.linear_model import LogisticRegression

from classdep import ConvergenceWarning, SeparationWarning
from classdep.solvers.losses import logit_adjustments
from classdep.solvers.path import fit_path

SOLVERS = [("newton", "auto"), ("newton-cg", "hessian"), ("newton-cg", "block"), ("newton-cg", "kronecker")]


def _problem(n=300, d=5, K=4, seed=0, imbalance=False):
    """Uncentred features of growing scales; ``imbalance``: classes of 55, 25, 12 and 8 %."""
    return blobs(n, d, K, seed, scale=1 + 0.3 * np.arange(d), shift=0.7,
                 p=[0.55, 0.25, 0.12, 0.08] if imbalance else None)


def _objective_parts(X, y, W, b, lam_k, family, loss, w=None, tau=1.0, gamma=0.3):
    """Objective and gradient of the documented model, written independently."""
    n, K = X.shape[0], W.shape[1]
    w = np.ones(n) if w is None else w
    w = w / w.sum()
    counts = np.bincount(y, weights=np.ones(n), minlength=K)
    delta, iota, ldt = logit_adjustments(loss, counts, tau=tau, gamma=gamma)
    Z = X @ W + b
    s = np.ones((n, 1)) if ldt is None else ldt[y][:, None]
    D = np.ones(K) if delta is None else delta
    Za = s * Z * D + (0 if iota is None else iota)
    Y = np.eye(K)[y]
    if family == "multinomial":
        f = -(w * (log_softmax(Za, axis=1) * Y).sum(1)).sum()
        R = softmax(Za, axis=1) - Y
    else:
        f = (w[:, None] * (np.logaddexp(0, Za) - Y * Za)).sum()
        R = expit(Za) - Y
    R = R * s * D * w[:, None]
    f += 0.5 * (lam_k * (W * W).sum(0)).sum()
    gW = X.T @ R + lam_k * W
    gb = R.sum(0)
    return f, gW, gb


@pytest.mark.parametrize("solver,pre", SOLVERS)
@pytest.mark.parametrize("family", ["multinomial", "ova"])
@pytest.mark.parametrize("loss", ["ce", "la", "cdt", "vs", "ldt"])
@pytest.mark.parametrize("class_specific", [False, True])
def test_kkt_every_family_loss_and_penalty(solver, pre, family, loss, class_specific):
    X, y = _problem(imbalance=True)
    K = 4
    pf = np.array([0.3, 1.0, 3.0, 10.0]) if class_specific else np.ones(K)
    lam = 0.02
    fit = fit_path(X, y, K, lambdas=[lam], penalty_factor=pf, family=family, loss=loss,
                   solver=solver, preconditioner=pre)
    W, b = fit.coef[0, :, 0, :], fit.intercept[0, 0]
    f, gW, gb = _objective_parts(X, y, W, b, lam * pf, family, loss)
    # The gradient of the documented objective vanishes at the returned point: 1e-6 on
    # features of scale ~3 bounds the objective gap by |g|^2 / (2 lambda) ~ 1e-10.
    assert np.abs(gW).max() < 1e-6
    assert np.abs(gb).max() < 1e-6
    assert fit.converged.all()
    assert abs(f - fit.objective[0, 0]) < 1e-10


@pytest.mark.parametrize("solver,pre", SOLVERS)
@pytest.mark.parametrize("intercept", [True, False])
def test_multinomial_matches_sklearn(solver, pre, intercept):
    X, y = _problem(n=400, d=6, K=4, seed=1)
    n = X.shape[0]
    w = np.random.default_rng(3).uniform(0.5, 2.0, n)
    lam = 0.01
    fit = fit_path(X, y, 4, lambdas=[1.0, 0.1, lam], weights=w, intercept=intercept,
                   solver=solver, preconditioner=pre)
    # sklearn minimizes C * sum_i w_i loss_i + ||W||^2 / 2: the same minimizer when
    # C = 1 / (lambda * sum_i w_i)
    ref = LogisticRegression(C=1 / (lam * w.sum()), tol=1e-12, max_iter=1000,
                             solver="newton-cholesky", fit_intercept=intercept)
    ref.fit(X, y, sample_weight=w)
    W = fit.coef[-1, :, 0, :]
    rel = np.abs(W - ref.coef_.T).max() / np.abs(ref.coef_).max()
    assert rel < 1e-6
    if intercept:
        b_ref = ref.intercept_ - ref.intercept_.mean()  # sklearn's intercepts are not centred
        assert np.abs(fit.intercept[-1, 0] - b_ref).max() < 1e-6 * np.abs(b_ref).max()


@pytest.mark.parametrize("solver,pre", SOLVERS)
def test_ova_matches_sklearn_binomials(solver, pre):
    X, y = _problem(n=300, d=5, K=3, seed=2)
    lam = 0.005
    fit = fit_path(X, y, 3, lambdas=[lam], family="ova", solver=solver, preconditioner=pre)
    for k in range(3):
        ref = LogisticRegression(C=1 / (lam * X.shape[0]), tol=1e-12, max_iter=1000,
                                 solver="newton-cholesky").fit(X, (y == k).astype(int))
        assert np.abs(fit.coef[0, :, 0, k] - ref.coef_[0]).max() < 1e-6 * np.abs(ref.coef_).max()
        assert abs(fit.intercept[0, 0, k] - ref.intercept_[0]) < 1e-6 * max(1, abs(ref.intercept_[0]))


def test_optimality_identities():
    """lambda_k W_k = X'(Y - P) / n summed over classes gives sum_k lambda_k W_k = 0, and
    predicted class counts equal observed counts (free intercept), the first-order conditions
    of the penalized likelihood (Friedman, Hastie & Tibshirani 2010)."""
    X, y = _problem(n=500, d=6, K=4, seed=4)
    pf = np.array([0.5, 1.0, 2.0, 4.0])
    fit = fit_path(X, y, 4, lambdas=[0.05], penalty_factor=pf)
    W, b = fit.coef[0, :, 0, :], fit.intercept[0, 0]
    lam_k = 0.05 * pf
    assert np.abs(W @ lam_k).max() < 1e-9
    assert abs(b.sum()) < 1e-12  # intercepts are centred
    P = softmax(X @ W + b, axis=1)
    np.testing.assert_allclose(P.sum(0), np.bincount(y, minlength=4), atol=1e-6)


def test_large_lambda_gives_prior_and_zero_coefficients():
    X, y = _problem(n=400, d=4, K=4, seed=5, imbalance=True)
    fit = fit_path(X, y, 4, lambdas=[1e12])  # W = O(1/lambda), loss - null = O(1/lambda)
    assert np.abs(fit.coef).max() < 1e-10
    prior = np.bincount(y, minlength=4) / y.size
    np.testing.assert_allclose(softmax(fit.intercept[0, 0]), prior, atol=1e-6)
    assert abs(fit.loss[0, 0] - fit.null_loss[0]) < 1e-10


@pytest.mark.parametrize("loss", ["la", "cdt", "vs"])
def test_logit_adjusted_intercepts_closed_form(loss):
    """With no informative feature only intercepts move; the optimum puts the adjusted
    softmax at the class priors, so Delta_k b_k + iota_k = log(pi_k) + c."""
    rng = np.random.default_rng(6)
    y = rng.choice(3, size=600, p=[0.6, 0.3, 0.1])
    X = np.zeros((600, 1))
    tau, gamma = 0.7, 0.4
    fit = fit_path(X, y, 3, lambdas=[1.0], loss=loss, tau=tau, gamma=gamma)
    counts = np.bincount(y, minlength=3)
    delta, iota, _ = logit_adjustments(loss, counts, tau=tau, gamma=gamma)
    z = fit.intercept[0, 0] * (1 if delta is None else delta) + (0 if iota is None else iota)
    expect = np.log(counts / counts.sum())
    np.testing.assert_allclose(z - z.mean(), expect - expect.mean(), atol=1e-9)


def test_warm_path_equals_cold_fits():
    X, y = _problem(n=300, d=5, K=3, seed=7)
    lams = np.geomspace(1.0, 1e-3, 6)
    # A tight threshold: coefficients are determined to ~sqrt(gap / lambda), and this
    # test is about the warm start reaching the same optimum, not about the default.
    path = fit_path(X, y, 3, lambdas=lams, thresh=1e-14)
    for j in (2, 5):
        cold = fit_path(X, y, 3, lambdas=[lams[j]], thresh=1e-14)
        np.testing.assert_allclose(path.coef[j], cold.coef[0], rtol=0, atol=1e-7)


@pytest.mark.parametrize("solver,pre", SOLVERS)
def test_batch_members_equal_separate_fits(solver, pre):
    """Folds as sample-weight masks over one matrix give the fits on the fold rows."""
    X, y = _problem(n=360, d=5, K=3, seed=8)
    rng = np.random.default_rng(0)
    fold = rng.integers(0, 3, X.shape[0])
    masks = np.stack([(fold != m).astype(float) for m in range(3)])
    lams = [0.1, 0.01]
    batch = fit_path(X, y, 3, lambdas=lams, batch_weights=masks, solver=solver, preconditioner=pre,
                     thresh=1e-14)
    for m in range(3):
        rows = fold != m
        alone = fit_path(X[rows], y[rows], 3, lambdas=lams, thresh=1e-14)
        np.testing.assert_allclose(batch.coef[:, :, m, :], alone.coef[:, :, 0, :], atol=1e-7)
        np.testing.assert_allclose(batch.intercept[:, m], alone.intercept[:, 0], atol=1e-7)


def test_solvers_agree_on_real_digits():
    from classdep.datasets import digits

    ds = digits()
    X, y = ds.X.values, ds.y.values
    with pytest.warns(SeparationWarning):  # digits are separable at lambda = 1e-3
        fits = [fit_path(X, y, 10, lambdas=[1e-2, 1e-3], solver=s, preconditioner=p) for s, p in SOLVERS]
    for other in fits[1:]:
        np.testing.assert_allclose(other.objective, fits[0].objective, rtol=1e-10)
        np.testing.assert_allclose(other.coef, fits[0].coef, atol=1e-5 * np.abs(fits[0].coef).max())


def test_default_threshold_reaches_1e8_relative_objective():
    """The defaults must return an objective within 1e-8 (relative) of the optimum."""
    X, y = _problem(n=2000, d=20, K=5, seed=9)
    lams = np.geomspace(1e-1, 1e-5, 5)
    default = fit_path(X, y, 5, lambdas=lams, solver="newton-cg")
    tight = fit_path(X, y, 5, lambdas=lams, solver="newton", thresh=1e-15)
    rel = (default.objective - tight.objective) / tight.objective
    assert (rel > -1e-13).all()
    assert rel.max() < 1e-8


def test_standardize_matches_fit_on_scaled_features():
    X, y = _problem(n=300, d=4, K=3, seed=10)
    X = X * np.array([1e-3, 1.0, 10.0, 1e3])
    fit = fit_path(X, y, 3, lambdas=[0.01], standardize=True)
    sd = X.std(axis=0)
    ref = fit_path(X / sd, y, 3, lambdas=[0.01])
    np.testing.assert_allclose(fit.coef[0, :, 0, :] * sd[:, None], ref.coef[0, :, 0, :], atol=1e-8)


def test_separable_data_is_flagged_not_looped_on():
    rng = np.random.default_rng(11)
    y = np.repeat([0, 1, 2], 20)
    X = np.eye(3)[y] * 5 + rng.normal(scale=0.1, size=(60, 3))
    with pytest.warns(SeparationWarning, match="separable"):
        fit = fit_path(X, y, 3, lambdas=[1.0, 1e-6])
    assert fit.separable[-1, 0]
    assert fit.converged.all()
    assert fit.niter.max() < 50


def test_non_convergence_warns_and_flags():
    X, y = _problem(seed=12)
    with pytest.warns(ConvergenceWarning, match="did not converge"):
        fit = fit_path(X, y, 4, lambdas=[1e-4], maxit=1)
    assert not fit.converged[0, 0]


def test_float32_is_accurate_to_its_precision():
    X, y = _problem(n=500, d=6, K=4, seed=13)
    f64 = fit_path(X, y, 4, lambdas=[0.01])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        f32 = fit_path(X, y, 4, lambdas=[0.01], dtype=np.float32)
    assert abs(f32.objective[0, 0] - f64.objective[0, 0]) / f64.objective[0, 0] < 1e-5
    assert np.abs(f32.coef - f64.coef).max() < 1e-3 * np.abs(f64.coef).max()


def test_class_weight_equals_sample_weights():
    X, y = _problem(n=300, d=4, K=3, seed=14)
    cw = np.array([1.0, 2.0, 0.5])
    a = fit_path(X, y, 3, lambdas=[0.02], class_weight=cw)
    b = fit_path(X, y, 3, lambdas=[0.02], weights=cw[y])
    np.testing.assert_allclose(a.coef, b.coef, atol=1e-12)


def test_bad_solver_inputs_raise_clear_errors():
    X, y = _problem()
    with pytest.raises(ValueError, match="decreasing"):
        fit_path(X, y, 4, lambdas=[0.01, 0.1])
    with pytest.raises(ValueError, match="penalty_factor must be positive"):
        fit_path(X, y, 4, lambdas=[0.1], penalty_factor=[1, 0, 1, 1])
    with pytest.raises(ValueError, match="family"):
        fit_path(X, y, 4, lambdas=[0.1], family="poisson")
    with pytest.raises(ValueError, match="loss"):
        fit_path(X, y, 4, lambdas=[0.1], loss="focal")
    with pytest.raises(ValueError, match="batch_weights"):
        fit_path(X, y, 4, lambdas=[0.1], batch_weights=np.ones((2, 5)))


def test_warnings_point_at_the_users_line():
    """Convergence and separation warnings name the caller's file, not classdep's."""
    import classdep as cd

    X, y = noise(40, 30)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        cd.glmnet(X, y, nlambda=5)
    sep = [w for w in caught if issubclass(w.category, SeparationWarning)]
    assert sep and all(w.filename == __file__ for w in sep)
