"""Set-up of a penalized problem: validate, weight, centre, scale, move to the device.

:func:`prepare` turns user data into the :class:`~classdep.solvers.objective.Problem`
that every solver works on (centred features, one-hot labels, normalized member
weights, logit adjustments, augmentation copies); :func:`initial_point` gives the
intercept-only start; :func:`to_user_scale` maps solutions back to the caller's scale.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..backend import asarray, default_dtype, namespace, resolve_device, to_numpy
from ..validation import check_matrix, check_source, check_weights
from .augment import Augment, noisy_copies
from .chunked import ChunkedFeatures, aligned_rows, is_out_of_core, read_rows, scan_features
from .losses import logit_adjustments
from .memory import MemoryPlan, plan_memory
from .objective import Problem
from .sample_space import reduce_features, to_feature_space
from .settings import FAMILIES, Control, Model, split_settings

__all__ = ["FAMILIES", "Prepared", "prepare", "initial_point", "to_user_scale"]



@dataclass
class Prepared:
    """A problem ready for the path, plus what maps solutions back to the user's scale."""

    prob: Problem
    center: np.ndarray  # (d,) subtracted feature means
    sd: np.ndarray  # (d,) feature scales (ones unless standardize)
    counts: np.ndarray  # (K,) weighted class counts over all samples
    delta: np.ndarray | None
    iota: np.ndarray | None
    ldt: np.ndarray | None
    device: str
    augment: Augment | None = None  # validated spec; "sample" copies are already stacked
    plan: MemoryPlan | None = None  # how X is held (resident or in row chunks) and the route
    # (d, r) orthonormal basis of the row space of the centred X when the path is solved in
    # the sample space (prob.X is then the n x r reduced features), else None
    basis: Any = None

    @property
    def n_features(self) -> int:
        """The caller's number of features ``d`` (``prob.d`` is ``r`` in the sample space)."""
        return int(self.center.shape[0])

    @property
    def route(self) -> str:
        """``"sample"`` when the path is solved on the reduced features, else ``"feature"``."""
        return "feature" if self.basis is None else "sample"


@dataclass
class _Targets:
    """Everything of a problem but the features: labels, weights and logit adjustments."""

    Y: np.ndarray  # (n, K) one-hot labels or the real-valued response
    omega: np.ndarray  # (n, M) normalized member weights
    codes: np.ndarray | None
    counts: np.ndarray  # (K,) weighted class counts
    delta: np.ndarray | None
    iota: np.ndarray | None
    ldt: np.ndarray | None


def prepare(
    X, codes, n_classes: int, *, weights=None, batch_weights=None, response=None,
    model: Model | None = None, control: Control | None = None, **shorthand,
) -> Prepared:
    """Validate, centre (and scale) the features and move everything to ``device``.

    ``model`` and ``control`` are the settings (:mod:`classdep.solvers.settings`), or
    their fields by name as ``shorthand``.  ``family="gaussian"`` fits least squares on
    the one-hot labels, or on a real-valued ``response`` (n, n_classes) when one is given
    (``codes`` may then be None).
    ``augment`` (see :mod:`classdep.solvers.augment`): with ``method="sample"`` the
    noised copies are stacked here (centring and scaling use the clean features), with
    ``method="quadratic"`` the spec is kept for :func:`iter_path`.

    Before anything is moved, a memory plan (:func:`~classdep.solvers.memory.plan_memory`;
    ``memory_limit`` overrides the free memory it sees) decides whether ``X`` is held
    whole or read in row chunks (:class:`~classdep.solvers.chunked.ChunkedFeatures`:
    memmaps, zarr and dask arrays that do not fit, or features larger than the GPU),
    and refuses, with the numbers, a fit that cannot fit at all.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> pp = prepare(rng.normal(size=(50, 4)), rng.integers(0, 3, 50), 3, device="cpu")
    >>> pp.prob.n, pp.prob.d, pp.prob.K, pp.prob.M
    (50, 4, 3, 1)
    """
    model, control = split_settings(model, control, **shorthand)
    family, aug = model.family, model.augment
    out_of_core = is_out_of_core(X)
    Xn = check_source(X) if out_of_core else check_matrix(X)
    n, d = Xn.shape
    K = int(n_classes)
    if response is not None:
        if family != "gaussian":
            raise ValueError(f"response= (a real-valued matrix) needs family='gaussian', not {family!r}.")
        Yr = np.asarray(response, dtype=np.float64)
        if Yr.shape != (n, K):
            raise ValueError(f"response must have shape ({n}, {K}) (samples, responses); got {Yr.shape}.")
        if not np.isfinite(Yr).all():
            raise ValueError("response has NaN or inf values.")
    elif codes is None:
        raise ValueError("y is missing: pass the labels (or response= with family='gaussian').")
    if codes is not None:
        codes = np.asarray(codes)
        if codes.shape != (n,):
            raise ValueError(f"y has {codes.shape[0]} labels but x has {n} samples; they must match.")
    w = check_weights(weights, n)
    if model.class_weight is not None:
        if codes is None:
            raise ValueError("class_weight needs class labels y; with response= use weights=.")
        cw = _class_weights(model.class_weight, codes, K)
        w = w * cw[codes]
    omega = _member_weights(w, batch_weights, n)
    if response is None:
        Y = np.zeros((n, K))
        Y[np.arange(n), codes] = 1.0
    else:
        Y = Yr
    counts = np.bincount(codes, weights=w, minlength=K) if codes is not None else w @ Y
    if family == "gaussian":
        delta, iota, ldt = None, None, None
    else:
        delta, iota, ldt = logit_adjustments(model.loss, counts, tau=model.tau, gamma=model.gamma)
    t = _Targets(Y, omega, codes, counts, delta, iota, ldt)
    dev = resolve_device(control.device)
    dt = control.dtype if control.dtype is not None else default_dtype(dev)
    wbar = w / w.sum()
    copies = aug.copies if aug is not None and aug.method == "sample" else 1
    plan = plan_memory(n * copies, d, K, omega.shape[1],
                       itemsize=np.dtype(dt).itemsize, device=dev, memory_limit=control.memory_limit,
                       family=family, route=control.route,
                       rotation_invariant=aug is None or aug.method != "quadratic")
    if plan.x_resident and out_of_core:
        Xn = check_matrix(_read_all(Xn))
    elif not plan.x_resident:
        if aug is not None:
            raise ValueError(
                f"augment= needs the features in memory, but X ({n} x {d}) is read in chunks "
                f"(memory plan: {plan.x_bytes / 2**30:.3g} GiB does not fit beside the fit). Pass "
                "the augmented features as an 'augment' dim of x instead, or raise memory_limit."
            )
        return _chunked(Xn, t, wbar, model, (dev, dt), plan)
    intercept = model.intercept
    # Centring is an exact reparameterization only when the intercept is free.
    center = wbar @ Xn if intercept else np.zeros(d)
    Xc = Xn - center
    # A constant feature centres to rounding residue (1e-16 of its value), not to zero:
    # zero it exactly, so that its coefficient is exactly 0 and standardize does not
    # blow the residue up to unit scale (a singular Hessian).
    const = np.ptp(Xn, axis=0) == 0
    if intercept and const.any():
        Xc[:, const] = 0.0
    sd = np.ones(d)
    if model.standardize:
        sd = np.sqrt(np.maximum(wbar @ (Xc * Xc) - (wbar @ Xc) ** 2, 0.0))
        sd[(sd == 0) | const] = 1.0  # constant features stay at zero coefficient anyway
        Xc = Xc / sd
    if aug is not None and aug.method == "sample":
        # R noised copies of the raw features, centred and scaled like the clean ones;
        # labels and weights repeat (each copy weighs 1/R; omega stays normalized).
        R = aug.copies
        Xc = (noisy_copies(Xn, aug) - center) / sd
        t = dataclasses.replace(t, Y=np.tile(Y, (R, 1)), omega=np.tile(omega, (R, 1)) / R,
                                codes=None if codes is None else np.tile(codes, R))
    Xd = asarray(Xc, dev, dt)
    del Xc
    basis = None
    if plan.route == "sample":
        # More features than rows: the path is solved on the r = min(n, d) reduced features
        # T (Xc = T Q^T), exactly (see classdep.solvers.sample_space); Q maps solutions back.
        # The basis diagonalizes the members' mean weighted covariance (what the Kronecker
        # preconditioner's feature factor is), so that no rotation is needed per CG step.
        xp = namespace(Xd)
        Xd, basis = reduce_features(xp, Xd, asarray(np.mean(t.omega, axis=1), dev, dt))
    prob = _problem(Xd, t, model, dev, dt)
    return Prepared(prob, center, sd, counts, delta, iota, ldt, dev, augment=aug, plan=plan, basis=basis)


def _member_weights(w: np.ndarray, batch_weights, n: int) -> np.ndarray:
    """(n, M) weights of every member, each normalized to sum to one."""
    if batch_weights is None:
        Bw = w[None, :]
    else:
        Bw = np.asarray(batch_weights, dtype=np.float64)
        if Bw.ndim != 2 or Bw.shape[1] != n:
            raise ValueError(f"batch_weights must have shape (members, {n}); got {Bw.shape}.")
        if (Bw < 0).any() or not np.isfinite(Bw).all():
            raise ValueError("batch_weights must be finite and >= 0.")
        Bw = Bw * w[None, :]
        if (Bw.sum(axis=1) <= 0).any():
            raise ValueError("a batch member has no sample with positive weight.")
    return (Bw / Bw.sum(axis=1, keepdims=True)).T


def _problem(X, t: _Targets, model: Model, dev: str, dt) -> Problem:
    """The :class:`Problem` on the device, from features already there (or read in chunks)."""
    prob = Problem(
        X=X, Y=asarray(t.Y, dev, dt), omega=asarray(t.omega, dev, dt),
        lam=asarray(np.ones((t.omega.shape[1], t.Y.shape[1])), dev, dt), family=model.family, xp=None,
        delta=None if t.delta is None else asarray(t.delta, dev, dt),
        iota=None if t.iota is None else asarray(t.iota, dev, dt),
        scale=None if t.ldt is None else asarray(t.ldt[t.codes], dev, dt), intercept=model.intercept,
    )
    return _with_namespace(prob)


def _with_namespace(prob: Problem) -> Problem:
    # from Y: a chunked X is not an array of any namespace
    return dataclasses.replace(prob, xp=namespace(prob.Y))


def _read_all(source) -> np.ndarray:
    """An out-of-core source that the memory plan found small enough, read whole."""
    return read_rows(source, 0, source.shape[0], dtype=None)


def _chunked(source, t: _Targets, wbar, model: Model, where: tuple, plan) -> Prepared:
    """The prepared problem with X read in row chunks (see :mod:`.chunked`); ``where`` is
    ``(device, dtype)``."""
    dev, dt = where
    n, d = source.shape
    rows = aligned_rows(source, plan.chunk_rows)
    center, const, sd = scan_features(source, wbar, rows, standardize=model.standardize,
                                      intercept=model.intercept)
    if not model.intercept:
        const = np.zeros(d, dtype=bool)  # as in memory: only centred columns are zeroed
    Xc = ChunkedFeatures(source, center, sd, const, dev, dt, rows)
    prob = _problem(Xc, t, model, dev, dt)
    return Prepared(prob, center, sd, t.counts, t.delta, t.iota, t.ldt, dev, plan=plan)


def _class_weights(class_weight, codes, K) -> np.ndarray:
    counts = np.bincount(codes, minlength=K).astype(np.float64)
    if isinstance(class_weight, str):
        if class_weight != "balanced":
            raise ValueError(f"class_weight={class_weight!r}; use 'balanced' or one weight per class.")
        return np.where(counts > 0, counts.sum() / (K * np.maximum(counts, 1)), 0.0)
    cw = np.asarray(class_weight, dtype=np.float64)
    if cw.shape != (K,) or (cw < 0).any() or not np.isfinite(cw).all():
        raise ValueError(f"class_weight must be 'balanced' or {K} finite non-negative numbers.")
    return cw


def initial_point(pp: Prepared):
    """Zero coefficients and intercepts at the (adjusted) class priors of each member.

    Examples
    --------
    >>> pp = prepare(np.zeros((4, 2)), np.array([0, 0, 0, 1]), 2, device="cpu")
    >>> W, b = initial_point(pp)
    >>> W.shape, np.round(np.exp(b) / np.exp(b).sum(), 2).tolist()
    ((2, 1, 2), [[0.75, 0.25]])
    """
    prob = pp.prob
    xp = prob.xp
    Yw = to_numpy(prob.omega).T @ to_numpy(prob.Y)  # (M, K) weighted class fractions
    pi = np.clip(Yw, 1e-12, 1.0)
    if prob.family == "gaussian":
        b = Yw  # the weighted mean response
    elif prob.family == "multinomial":
        b = np.log(pi)
    else:
        b = np.log(pi) - np.log1p(-np.minimum(pi, 1 - 1e-12))
    if pp.iota is not None:
        b = b - pp.iota[None, :]
    if pp.delta is not None:
        b = b / pp.delta[None, :]
    dt = prob.X.dtype
    W = xp.zeros((prob.d, prob.M, prob.K), dtype=dt)
    if not prob.intercept:
        b = np.zeros_like(b)
    return W, xp.asarray(b, dtype=dt)


def to_user_scale(pp: Prepared, W, b):
    """Coefficients (d, M, K) and intercepts (M, K) on the caller's feature scale.

    Maps a sample-space solution to the features (``W = Q beta``), undoes
    standardization and centring, then centres the intercepts along the softmax gauge
    (which changes no prediction) so that they sum to zero per member.

    Examples
    --------
    >>> import numpy as np
    >>> from classdep.solvers.path import iter_path
    >>> rng = np.random.default_rng(0)
    >>> pp = prepare(rng.normal(size=(60, 3)), rng.integers(0, 3, 60), 3, device="cpu", standardize=True)
    >>> _, st = list(iter_path(pp, np.array([0.1])))[-1]
    >>> W, b = to_user_scale(pp, st.W, st.b)
    >>> W.shape, b.shape, bool(abs(b.sum()) < 1e-12)
    ((3, 1, 3), (1, 3), True)
    """
    if pp.basis is not None:
        W = to_feature_space(pp.prob.xp, pp.basis, W)
    Wn = to_numpy(W) / pp.sd[:, None, None]
    bn = to_numpy(b) - np.einsum("a,amk->mk", pp.center, Wn)
    if pp.prob.family == "multinomial" and pp.prob.intercept:
        u = np.ones(bn.shape[1]) if pp.delta is None else 1.0 / pp.delta
        bn = bn - (bn.sum(axis=1, keepdims=True) / u.sum()) * u[None, :]
    return Wn, bn
