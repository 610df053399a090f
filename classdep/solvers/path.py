"""Regularization paths: lambda grids, warm starts, batches of folds, solver choice.

:func:`fit_path` solves the problems of :mod:`classdep.solvers.objective` for a
decreasing sequence of penalties, each warm-started from the previous solution, for a
batch of members (e.g. cross-validation folds) sharing one feature matrix.
:func:`iter_path` is the same loop as a generator, for callers (the sweep) that score
every lambda as it is reached instead of keeping the logits of the whole path.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

import numpy as np

from ..backend import to_numpy
from ..exceptions import ConvergenceWarning, ScaleWarning, SeparationWarning, warn_caller
from ..validation import check_lambda
from .augment import MAX_ROUNDS, Anderson, QuadraticPenalty
from .augment_coupled import minimize_coupled
from .chunked import ChunkedFeatures
from .driver import State, Work, machine_eps, minimize, restart, start
from .memory import available_bytes, pick_preconditioner
from .newton import CholeskyNewton, hessian_bytes
from .newton_cg import NewtonCG
from .objective import Problem, evaluate, logits
from .prepare import Prepared, initial_point, prepare, to_user_scale
from .sample_space import to_feature_space, to_sample_space
from .settings import PRECONDITIONERS, SOLVERS, Control, Model, split_settings

__all__ = ["PathFit", "fit_path", "iter_path", "prepare", "lambda_grid", "choose_solver", "SOLVERS",
           "PRECONDITIONERS", "Model", "Control"]

# Coefficient vectors up to this length get the exact Newton solver under "auto": a
# Hessian costs about (d+1)K / 4 Hessian-vector products, and those need no CG.
_TINY = 64

# glmnet's ridge convention: lambda_max is the lasso lambda_max at alpha = 1e-3.
_RIDGE_ALPHA = 1e-3


@dataclass
class PathFit:
    """Solutions and per-(lambda, member) diagnostics of one path, as NumPy arrays."""

    lambdas: np.ndarray  # (L,)
    penalty_factor: np.ndarray  # (M, K)
    coef: np.ndarray  # (L, d, M, K), original feature scale
    intercept: np.ndarray  # (L, M, K)
    loss: np.ndarray  # (L, M) weighted mean training loss
    null_loss: np.ndarray  # (M,)
    niter: np.ndarray  # (L, M)
    converged: np.ndarray  # (L, M)
    gap: np.ndarray  # (L, M) last estimated relative objective gap
    grad_norm: np.ndarray  # (L, M) max |gradient| at the solution
    separable: np.ndarray  # (L, M) training data perfectly classified
    objective: np.ndarray  # (L, M)
    solver: str
    work: list[Work] = field(default_factory=list)
    # (L,) refits of the quadratic augmentation's fixed point per lambda (None without it)
    augment_rounds: np.ndarray | None = None
    # "sample" when solved on the row space of X (classdep.solvers.sample_space), else "feature"
    route: str = "feature"


def lambda_grid(pp: Prepared, nlambda: int = 100, lambda_min_ratio: float | None = None) -> np.ndarray:
    """glmnet's grid adapted to ridge: log-spaced from a data-derived ``lambda_max``.

    ``lambda_max = max |X^T (Y - pi)| / (n * 1e-3)`` at the intercept-only fit, as glmnet
    does for ``alpha = 0``.  ``lambda_min_ratio`` defaults to 1e-6 when ``n > d`` and
    1e-4 otherwise: glmnet's 1e-4 / 1e-2 stop far above the cross-validated optimum of
    well-separated embeddings (Fashion-MNIST PCA features: optimum 2.7e-5, glmnet's
    grid ends at 0.017 with its defaults; measured in the project's benchmarks/RESULTS.md).

    Examples
    --------
    >>> import numpy as np
    >>> from classdep.solvers.prepare import prepare
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(90, 4)); y = rng.integers(0, 3, 90)
    >>> lam = lambda_grid(prepare(X, y, 3, device="cpu"), nlambda=5)
    >>> lam.size, float(lam[-1] / lam[0])
    (5, 1e-06)
    """
    prob = pp.prob
    W, b = initial_point(pp)
    st = start(prob, W, b)
    g = st.ev.gW
    if pp.basis is not None:
        # the gradient in the features: X^T R = Q T^T R (the same lambda_max on either route)
        g = to_feature_space(prob.xp, pp.basis, g)
    g = to_numpy(g)
    lmax = float(np.max(np.abs(g))) / _RIDGE_ALPHA
    if not np.isfinite(lmax) or lmax <= 0:
        lmax = 1.0
    if lambda_min_ratio is None:
        lambda_min_ratio = 1e-6 if prob.n > prob.d else 1e-4
    if not (0 < lambda_min_ratio < 1):
        raise ValueError(f"lambda_min_ratio={lambda_min_ratio} must lie in (0, 1).")
    if int(nlambda) != nlambda or nlambda < 1:
        raise ValueError(f"nlambda={nlambda} must be a positive integer.")
    return np.geomspace(lmax, lmax * lambda_min_ratio, int(nlambda))


def choose_solver(prob: Problem, device: str = "cpu", preconditioner: str = "auto",
                  available: int | None = None) -> tuple[str, str]:
    """Pick ``(solver, preconditioner)`` from the problem's size and free memory.

    * ``"newton"`` (exact Hessian, Cholesky, every iteration) for tiny coefficient
      vectors (``(d+1) K <= 64``), where forming the Hessian costs about as much as a
      few Hessian-vector products;
    * otherwise ``"newton-cg"`` with the ``"hessian"`` preconditioner (the Hessian on
      curvature-sampled rows, factored once per lambda) when it fits in a quarter of
      free memory and its factorization is affordable (``(d+1) K <= 8000``);
    * else with the ``"block"`` preconditioner (the per-class diagonal blocks of the
      Hessian, with the softmax gauge treated apart; see
      :class:`~classdep.solvers.newton.ClassBlockFactor`) when its ``M K (d+1)^2``
      numbers fit in a quarter of free memory (heads of hundreds of classes);
    * else with the ``"kronecker"`` preconditioner, which needs only ``d x d`` and
      ``K x K`` matrices (ImageNet-sized heads).

    Examples
    --------
    >>> import numpy as np
    >>> from classdep.solvers.prepare import prepare
    >>> rng = np.random.default_rng(0)
    >>> y = rng.integers(0, 3, 200)
    >>> choose_solver(prepare(rng.normal(size=(200, 4)), y, 3, device="cpu").prob)
    ('newton', 'hessian')
    >>> choose_solver(prepare(rng.normal(size=(200, 40)), y, 3, device="cpu").prob)
    ('newton-cg', 'hessian')
    """
    n, d, K, M = prob.n, prob.d, prob.K, prob.M
    itemsize = 4 if prob.X.dtype == prob.xp.float32 else 8
    D1K = (d + 1) * K if prob.family == "multinomial" else d + 1
    budget = (available_bytes(device) if available is None else available) // 4
    fits = hessian_bytes(n, d, K, M, prob.family, itemsize) <= budget
    if preconditioner == "auto":
        preconditioner, _ = pick_preconditioner(n, d, K, M, prob.family, itemsize, budget)
    if preconditioner == "hessian" and fits and D1K <= _TINY:
        return "newton", "hessian"
    return "newton-cg", preconditioner


def _penalties(lambdas: np.ndarray, penalty_factor, M: int, K: int) -> np.ndarray:
    if penalty_factor is None:
        pf = np.ones((M, K))
    else:
        pf = np.asarray(penalty_factor, dtype=np.float64)
        if pf.ndim == 1:
            pf = np.broadcast_to(pf, (M, K))
        if pf.shape != (M, K):
            raise ValueError(f"penalty_factor must have {K} entries (one per class); got {pf.shape}.")
        if not np.isfinite(pf).all() or (pf <= 0).any():
            raise ValueError(
                "penalty_factor must be positive and finite: an unpenalized class makes the "
                "ridge problem unbounded on separable data."
            )
    return pf


def iter_path(
    pp: Prepared, lambdas: np.ndarray, penalty_factor=None, *, control: Control | None = None,
    warm: tuple | None = None, prev: tuple | None = None, lam_before=None, **shorthand,
) -> Iterator[tuple[int, State]]:
    """Yield ``(j, state)`` after solving at ``lambdas[j]``, warm-starting each fit.

    ``control`` (a :class:`~classdep.solvers.settings.Control`, or its fields by name
    as ``shorthand``) picks the solver, preconditioner, threshold and iterations.  To
    resume a path, pass ``warm`` (the solution at the last lambda solved), ``prev`` (the
    one before it) and ``lam_before`` (those two lambdas): the warm starts, and so the
    results, are then those of an uninterrupted run; with ``control.reproducible`` the
    resumed run repeats the uninterrupted one bit for bit.

    With ``pp.augment`` of ``method="quadratic"``, Wager's penalty is added to
    ``lambdas[j] * penalty_factor`` as an elementwise penalty; for the logistic
    families it is refitted to its fixed point (see :mod:`classdep.solvers.augment`).
    ``state.extra`` then holds ``"augment_penalty"`` (the penalty at the solution, in
    the prepared problem's coordinates), ``"augment_rounds"`` and
    ``"augment_converged"``; ``state.niter`` counts the Newton iterations of every round.

    Examples
    --------
    >>> import numpy as np
    >>> from classdep.solvers.prepare import prepare
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(90, 4)); y = rng.integers(0, 3, 90)
    >>> pp = prepare(X, y, 3, device="cpu")
    >>> [(j, bool(st.converged.all())) for j, st in iter_path(pp, np.array([1.0, 0.1, 0.01]))]
    [(0, True), (1, True), (2, True)]
    """
    _, control = split_settings(control=control, **shorthand)
    solver, preconditioner = control.solver, control.preconditioner
    prob = pp.prob
    xp = prob.xp
    dt = prob.X.dtype
    pf = _penalties(lambdas, penalty_factor, prob.M, prob.K)
    adaptive = preconditioner == "auto"
    auto_solver, preconditioner = choose_solver(prob, pp.device, preconditioner,
                                                None if pp.plan is None else pp.plan.available)
    if solver == "auto":
        solver = auto_solver
    if solver == "newton-cg":
        _warn_feature_scale(prob)
    # A reproducible run (a checkpointed sweep) needs each lambda's solve to depend on its
    # warm start alone, so that a resumed path repeats it: CG in float64, no preconditioner
    # carried over.  Elsewhere the block factors carry over while CG stays short.
    carry = not control.reproducible
    inner = CholeskyNewton() if solver == "newton" else NewtonCG(
        prob, preconditioner=preconditioner, mixed=None if carry else False, adaptive=adaptive,
        reuse=carry)
    thresh_eff = max(float(control.thresh), 10 * machine_eps(prob))
    maxit = control.maxit
    W, b = warm if warm is not None else initial_point(pp)
    hist = [] if lam_before is None else [float(v) for v in lam_before]
    if warm is None:
        prev = None
    if pp.basis is not None:
        # a warm start saved in the feature space (a checkpoint of an earlier version) is
        # projected onto the row space, where every solution lies
        W = _in_route(pp, W)
        prev = None if prev is None else (_in_route(pp, prev[0]), prev[1])
    quad = pen = None
    if pp.augment is not None and pp.augment.method == "quadratic":
        quad = QuadraticPenalty(prob, pp.augment, pp.center, pp.sd)
        pen = quad(prob, evaluate(prob, logits(prob, W, b), W, b, grad=False).P)
    # Outside reproducible runs the last solution's logits, loss and gradient carry over
    # to the next lambda (only the penalty changes); a resumed path has only the
    # coefficients and starts from X W + b, which rounds differently.
    last = None
    for j, lam in enumerate(lambdas):
        base = xp.asarray(lam * pf, dtype=dt)
        prob_j = prob.with_lambda(base if quad is None else quad.combine(base, pen))
        st = start(prob_j, W, b) if last is None else restart(prob_j, *last)
        if prev is not None and len(hist) >= 2:
            st = _secant_start(prob_j, st, prev, [hist[-2], hist[-1], lam])
        st.extra["solver"] = solver if solver == "newton" else f"{solver} ({preconditioner})"
        st = minimize(prob_j, st, inner, thresh_eff, maxit)
        if quad is not None:
            solve = minimize_coupled if quad.coupled else _fixed_point
            prob_j, st, pen = solve(prob_j, st, base, quad, pen, inner, thresh_eff, maxit)
        st.extra["prob"] = prob_j
        prev = (W, b) if (j >= 1 or warm is not None) else None
        hist.append(float(lam))
        W, b = st.W, st.b
        if carry:
            last = (st, prob_j)
        yield j, st


def _in_route(pp: Prepared, W):
    """Coefficients ``W`` in the coordinates of ``pp.prob``: feature-space ones (d rows)
    projected onto the sample space's basis; those already there unchanged."""
    if pp.basis is None or W.shape[0] == pp.prob.d:
        return W
    return to_sample_space(pp.prob.xp, pp.basis, W)


# Above this largest feature variance the truncated-Newton solver's stopping rule can
# miss objective gaps.  Measured on a 60 x 3, 3-class problem rescaled by c at lambda =
# 1e-12 var (float32 CG / float64 CG): variance 1e8, gaps 5e-13 / 4e-16; 1e10, 2e-9 /
# 7e-10; 1e12, 3e-4 / 6e-6.  Exact Newton stays at 0 on all three.
_MAX_FEATURE_VARIANCE = 1e8
_SCALE_ROWS = 65536


def _warn_feature_scale(prob: Problem) -> None:
    """Warn (ScaleWarning) when the centred features' largest variance exceeds the bound."""
    if isinstance(prob.X, ChunkedFeatures):
        return  # one more pass over features read from disk is not worth a warning
    xp = prob.xp
    w = prob.omega[:, 0]
    var = None
    for a in range(0, prob.n, _SCALE_ROWS):  # row blocks: no temporary the size of X
        e = min(a + _SCALE_ROWS, prob.n)
        Xb = prob.X[a:e, ...]
        part = w[a:e] @ (Xb * Xb)
        var = part if var is None else var + part
    top = float(xp.max(var))
    if top > _MAX_FEATURE_VARIANCE:
        warn_caller(
            f"the features' largest variance is {top:.3g}: on that scale the truncated-Newton "
            "solver's stopping rule can miss objective gaps of 1e-6 or more (the feature block of "
            "the Hessian dwarfs the intercepts and the penalty). Rescale x (x / c with lambda / c**2 "
            "is the same fit), pass standardize=True, or solver='newton' where it fits.",
            ScaleWarning,
        )


def _fixed_point(prob: Problem, st: State, base, quad: QuadraticPenalty, pen, inner, thresh, maxit):
    """Refit with Wager's penalty re-evaluated at the solution until it stops changing.

    ``prob`` carries ``base + pen`` and ``st`` is its solution.  Each round evaluates
    the curvature at the solution (one matrix product for dropout); members whose
    penalty moved by more than ``quad.rtol`` (relative) get the next penalty from
    Anderson acceleration and are re-solved, warm-started from the same state (so a
    cached preconditioner is reused); the others stay put.  Returns the problem the
    final state solves, the state, and the penalty evaluated at that state.
    """
    M = prob.M
    rounds = 1
    niter = st.niter.copy()
    done = np.full(M, bool(quad.fixed))
    new = pen
    acc = Anderson(prob.xp)
    while not done.all():
        new = quad(prob, st.ev.P)
        st.work.products += 1
        done |= quad.change(prob, new, pen) <= quad.rtol
        if done.all() or rounds >= MAX_ROUNDS:
            break
        keep = prob.xp.asarray(done.astype(np.float64), dtype=prob.X.dtype)
        keep = keep[:, None] if pen.ndim == 2 else keep[None, :, None]
        pen = keep * pen + (1 - keep) * acc.step(pen, new)
        prob = prob.with_lambda(quad.combine(base, pen))
        st.ev = evaluate(prob, st.Z, st.W, st.b)
        st.work.products += 1
        todo = ~done
        st.active = todo.copy()
        st.niter = np.zeros(M, dtype=np.int64)
        st.gap = np.where(todo, np.inf, st.gap)
        st.converged = st.converged & done
        st = minimize(prob, st, inner, thresh, maxit)
        niter = niter + st.niter
        rounds += 1
    st.niter = niter
    st.converged = st.converged & done
    st.extra.update(augment_penalty=new, augment_rounds=rounds, augment_converged=bool(done.all()))
    return prob, st, new


def _secant_start(prob: Problem, st: State, prev, lam3) -> State:
    """Warm start extrapolated along the path in log(lambda) from the last two solutions.

    Costs one evaluation at the extrapolated point (two products; one more when only
    some members keep it), kept per member only where it lowers the objective; it
    saves about one Newton iteration per lambda.
    """
    xp = prob.xp
    W1, b1 = prev
    r = float(np.log(lam3[2] / lam3[1]) / np.log(lam3[1] / lam3[0]))
    Wp = st.W + r * (st.W - W1)
    bp = st.b + r * (st.b - b1)
    trial = start(prob, Wp, bp)
    st.work.products += trial.work.products
    better = to_numpy(trial.ev.f) < to_numpy(st.ev.f)
    if not better.any():
        return st
    if better.all():
        trial.work = st.work
        return trial
    # the logits picked member by member are those of the picked point: one product
    keep = xp.asarray(better.astype(np.float64), dtype=prob.X.dtype)
    pick = lambda a, c, shape: c * xp.reshape(keep, shape) + a * (1 - xp.reshape(keep, shape))  # noqa: E731
    W = pick(st.W, Wp, (1, -1, 1))
    b = pick(st.b, bp, (-1, 1))
    picked = start(prob, W, b, Z=pick(st.Z, trial.Z, (1, -1, 1)))
    st.work.products += picked.work.products
    picked.work = st.work
    return picked


def _separable(st: State, prob: Problem) -> np.ndarray:
    """Members whose training samples are all classified correctly (a certificate of
    linear separability: the unpenalized loss has no minimizer)."""
    xp = prob.xp
    if prob.family == "gaussian":
        return np.zeros(prob.M, dtype=bool)
    pred = to_numpy(xp.argmax(prob.adjust(st.Z), axis=2))  # (n, M)
    y = to_numpy(xp.argmax(prob.Y, axis=1))
    used = to_numpy(prob.omega) > 0
    return np.all((pred == y[:, None]) | ~used, axis=0)


def fit_path(
    X, y, n_classes: int, lambdas=None, *, weights=None, batch_weights=None, response=None,
    model: Model | None = None, control: Control | None = None, **options,
) -> PathFit:
    """Solve a whole path for a batch of members; see :func:`classdep.glmnet`.

    ``lambdas`` must decrease (warm starts run from strong to weak penalties).
    ``family="gaussian"`` is multi-response least squares on the one-hot labels or on
    ``response`` (n, n_classes; ``y`` may then be None).  ``augment`` adds feature
    noise or dropout to the objective (:mod:`classdep.solvers.augment`); with the
    quadratic method the rounds of its fixed point are in ``augment_rounds``.

    ``model`` and ``control`` are the settings (:mod:`classdep.solvers.settings`);
    ``options`` are ``nlambda`` and ``lambda_min_ratio`` (the default grid, see
    :func:`lambda_grid`), ``warn`` (warn about non-convergence and separation, default
    True) and, as shorthands, any field of :class:`Model` or :class:`Control` by name.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(100, 4)); y = rng.integers(0, 3, 100)
    >>> fit = fit_path(X, y, 3, nlambda=5, family="multinomial", thresh=1e-9)
    >>> fit.coef.shape  # (lambda, feature, member, class)
    (5, 4, 1, 3)
    """
    nlambda = options.pop("nlambda", 100)
    lambda_min_ratio = options.pop("lambda_min_ratio", None)
    warn = options.pop("warn", True)
    model, control = split_settings(model, control, **options)
    pp = prepare(X, y, n_classes, weights=weights, batch_weights=batch_weights, response=response,
                 model=model, control=control)
    if lambdas is None:
        lam = lambda_grid(pp, nlambda, lambda_min_ratio)
    else:
        lam = check_lambda(lambdas)
        if lam.size > 1 and np.any(np.diff(lam) > 0):
            raise ValueError(
                "lambda_ must be decreasing: the path warm-starts from strong to weak penalties. "
                "Pass np.sort(lambda_)[::-1]."
            )
    prob = pp.prob
    L, M, K, d = lam.size, prob.M, prob.K, pp.n_features
    pf = _penalties(lam, model.penalty_factor, M, K)
    out = {k: np.zeros((L, M)) for k in ("loss", "gap", "grad_norm", "objective")}
    niter = np.zeros((L, M), dtype=np.int64)
    conv = np.zeros((L, M), dtype=bool)
    sep = np.zeros((L, M), dtype=bool)
    coef = np.zeros((L, d, M, K))
    icpt = np.zeros((L, M, K))
    works = []
    quadratic = pp.augment is not None and pp.augment.method == "quadratic"
    rounds = np.zeros(L, dtype=np.int64) if quadratic else None
    fp_failed = np.zeros(L, dtype=bool)
    used_solver = control.solver
    W0, b0 = initial_point(pp)
    null = to_numpy(start(prob.with_lambda(prob.xp.zeros((M, K), dtype=prob.X.dtype)), W0, b0).ev.loss)
    for j, st in iter_path(pp, lam, pf, control=control):
        used_solver = st.extra["solver"]
        coef[j], icpt[j] = to_user_scale(pp, st.W, st.b)
        out["loss"][j] = to_numpy(st.ev.loss)
        out["objective"][j] = to_numpy(st.ev.f)
        out["gap"][j] = st.gap
        g = np.maximum(np.abs(to_numpy(st.ev.gW)).max(axis=(0, 2)), np.abs(to_numpy(st.ev.gb)).max(axis=1))
        out["grad_norm"][j] = g
        niter[j] = st.niter
        conv[j] = st.converged
        sep[j] = _separable(st, st.extra["prob"])
        works.append(st.work)
        if quadratic:
            rounds[j] = st.extra["augment_rounds"]
            fp_failed[j] = not st.extra["augment_converged"]
    if warn:
        _warn(lam, conv, sep, control.maxit, fp_failed)
    return PathFit(
        lambdas=lam, penalty_factor=pf, coef=coef, intercept=icpt, loss=out["loss"],
        null_loss=null, niter=niter, converged=conv, gap=out["gap"],
        grad_norm=out["grad_norm"], separable=sep, objective=out["objective"],
        solver=used_solver, work=works, augment_rounds=rounds, route=pp.route,
    )


def _warn(lam, conv, sep, maxit, fp_failed=None) -> None:
    if fp_failed is not None and fp_failed.any():
        bad = np.nonzero(fp_failed)[0]
        warn_caller(
            f"the fixed point of the quadratic augmentation penalty was not reached in "
            f"{MAX_ROUNDS} rounds at {bad.size} of {lam.size} lambdas (first: lambda="
            f"{lam[bad[0]]:.4g}); lower the augmentation strength or use method='sample'. "
            "Those fits are flagged converged=False.",
            ConvergenceWarning,
        )
        conv = conv | fp_failed[:, None]
    if not conv.all():
        bad = np.nonzero(~conv.all(axis=1))[0]
        warn_caller(
            f"the solver did not converge at {bad.size} of {lam.size} lambdas (first: "
            f"lambda={lam[bad[0]]:.4g}); raise maxit (now {maxit}) or check the features' "
            "scale. Those fits are flagged converged=False.",
            ConvergenceWarning,
        )
    if sep.any():
        j = int(np.nonzero(sep.any(axis=1))[0][0])
        warn_caller(
            f"the training data are linearly separable at lambda <= {lam[j]:.4g}: the "
            "unpenalized fit does not exist and the coefficients' norm grows like "
            "log(1/lambda) as lambda shrinks. Those fits are flagged separable=True.",
            SeparationWarning,
        )
