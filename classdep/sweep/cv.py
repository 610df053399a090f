"""``cv_glmnet``: R's ``cv.glmnet``, every fold in one batch, every class scored.

All folds are solved as one batch: a fold is a sample-weight mask over the one feature
matrix, so every matrix product serves every fold, and the logits of the held-out rows
(the out-of-fold predictions) come with it.  Each lambda is scored as soon as it is
solved; only per-sample losses and predicted classes are kept for the whole path (for
the bootstrap).  A sweep can checkpoint each finished lambda and resume where it stopped
with identical results.
"""

from __future__ import annotations

import numbers
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from ..backend import default_dtype, resolve_device
from ..glmnet_fit import glmnet, singular_hessian_as_error
from ..inputs import features_and_labels
from ..link import response
from ..solvers.memory import fold_batch_size
from ..solvers.prepare import prepare, to_user_scale
from ..validation import check_choice, check_fold_coverage, check_folds, check_labels, check_weights
from .assemble import assemble
from .checkpoint import Checkpoint, fingerprint
from .cvresult import MEASURES, CVGlmnet
from .engine import SweepPath, fold_groups, merge_groups, solve_group
from .extend import extend_sweep
from .folds import make_folds
from .grid import CVGrid, augment_levels, clean_features

__all__ = ["cv_glmnet"]


def cv_glmnet(
    x, y=None, family: str = "multinomial", nfolds: int = 10, foldid=None, lambda_=None,
    nlambda: int = 100, lambda_min_ratio: float | None = None, type_measure: str = "deviance",
    weights=None, keep: bool = True, seed: int = 0, checkpoint=None, progress: bool = True,
    device: str = "auto", dtype=None, augment=None, client=None, nrepeats: int = 1,
    fold_batch: int | None = None, memory_limit=None, extend: bool = False, extend_limit: float = 1e-3,
    clean=None, **glmnet_args: Any,
) -> CVGlmnet | CVGrid:
    """Cross-validate a ridge multinomial path: R's ``cv.glmnet``, with every class scored.

    Parameters
    ----------
    x, y, family, lambda_, nlambda, lambda_min_ratio, weights, device, dtype
        As :func:`classdep.glmnet`; the lambda grid comes from the full-data fit, as in R.
    nfolds : int
        Number of folds, stratified by class (scikit-learn's ``StratifiedKFold``).
    foldid : (n,) int, optional
        R's fold numbers (1..nfolds) per sample; overrides ``nfolds``.
    type_measure : {"deviance", "class"}
        What ``cvm`` measures: multinomial deviance per sample, or misclassification.
    keep : bool
        Keep the out-of-fold per-sample losses and predictions (``oof``).
    seed : int
        Seed of the fold assignment.
    checkpoint : path, optional
        Folder in which each finished lambda is saved; rerunning the same call resumes
        after the last saved lambda and ends with identical results.
    progress : bool
        A progress bar over lambdas (shown once the sweep has run a second).
    augment : dict or list of dicts, optional
        Feature-space augmentation as the swept hyperparameter: a spec such as
        ``dict(kind="dropout", strength=[0.1, 0.2, 0.4])`` (a list of strengths) or a
        list of specs (see :mod:`classdep.solvers.augment`).  Alternatively pass ``x``
        as a DataArray with dims (``augment``, ``sample``, ``feature``): feature sets
        extracted under different augmentations.  Either way the result is a
        :class:`CVGrid` whose ``results`` gain a leading ``augment`` dim.  Stacked
        feature sets are fitted on each level's own training-fold rows and, with
        ``clean``, scored on the *clean* rows of the held-out fold.
    clean : array (n, d), DataArray (``sample``, ``feature``), "auto" or False, optional
        With ``x`` stacked along ``augment``: the rows each level's held-out fold is
        scored on (augmentation changes what the head is trained on, not what it is
        tested on).  The un-augmented features of the same samples, as an array or a
        DataArray; ``"auto"``: the level whose ``augment`` coordinate is 0 (or
        ``"none"``/``"clean"``), an error naming the fix if there is none; ``False``:
        each level's own rows, for levels that are different representations (e.g.
        backbones trained with and without augmentation), not augmented copies.  Not
        given: each level's own rows with a
        :class:`~classdep.sweep.grid.HeldoutRowsWarning` (the behaviour before
        ``clean`` existed).  Each level's ``results.attrs["heldout_rows"]`` says which
        rows were scored.
    nrepeats : int
        Repeated cross-validation: ``nrepeats`` fold assignments (seeds ``seed``,
        ``seed + 1``, ...), returned as a :class:`CVGrid` with a leading ``repeat`` dim.
    client : dask.distributed.Client, optional
        Run the augmentation levels (or repeats) as tasks on a Dask cluster; the
        results are identical to the local run.
    fold_batch : int, optional
        Folds solved together in one batch (one matrix product serves them all).  By
        default the memory plan picks the most that fit (all of them, unless memory is
        short); the rest are solved in further batches, one after another, with the
        same results.  A checkpointed sweep keeps the grouping it started with.
    memory_limit : int or str, optional
        Memory the sweep may use (as :func:`classdep.glmnet`).  The fold batch is
        planned before any fit; a sweep that cannot fit even one fold at a time raises
        :class:`~classdep.solvers.memory.InsufficientMemoryError` with the numbers.
    extend : bool
        classdep's, not R's: while some class's deviance optimum, or the global one, is
        an end of the grid (its optimum may lie beyond it), extend the grid by its own
        log spacing in blocks of 5 lambdas and rerun the cross-validation on the longer
        grid (same folds; the path warm-started in order), until every optimum is inside
        or ``extend_limit`` is reached (then an
        :class:`~classdep.sweep.extend.EdgeWarning` names the classes still at the end).
        Above ``lambda_max`` every class is at the intercept-only fit, so the grid grows
        upward only when it started below ``lambda_max``, and not past it.
        ``results.attrs`` records ``extend_added_low``, ``extend_added_high`` and
        ``extend_limit_reached``.  One path only (not an augmentation grid or repeats).
    extend_limit : float
        How far ``extend`` may go, in (0, 1): down to ``extend_limit`` times the grid's
        last (smallest) lambda, up to its first divided by ``extend_limit``; the default
        1e-3 allows three decades.
    **glmnet_args
        Passed to the solver: ``loss``, ``tau``, ``gamma``, ``class_weight``,
        ``penalty_factor``, ``standardize``, ``thresh``, ``maxit``, ``solver``, ...

    Returns
    -------
    CVGlmnet
        ``print(cv)`` is R's table; ``cv.lambda_min``, ``cv.lambda_1se``, ``cv.results``.

    Examples
    --------
    >>> import classdep as cd
    >>> cv = cd.cv_glmnet(cd.datasets.digits(), nfolds=3, nlambda=8, progress=False)
    >>> cv.results["deviance"].dims
    ('lambda', 'class', 'fold')
    """
    if int(nrepeats) != nrepeats or nrepeats < 1:
        raise ValueError(f"nrepeats={nrepeats!r} must be a positive integer.")
    extra = {"augment": augment, **glmnet_args}
    if memory_limit is not None:
        extra["memory_limit"] = memory_limit  # only when given: it shows in the call
    call = CVCall(family=family, nfolds=nfolds, foldid=foldid, lambda_=lambda_, nlambda=nlambda,
                  lambda_min_ratio=lambda_min_ratio, type_measure=type_measure, weights=weights,
                  keep=keep, seed=seed, checkpoint=checkpoint, progress=progress, device=device,
                  dtype=dtype, fold_batch=fold_batch, glmnet_args=extra)
    levels, coord = augment_levels(x, augment)
    dim = "augment"
    clean_rows, scored = clean_features(x, levels, coord, clean, augment)
    if nrepeats > 1:
        if levels is not None:
            raise ValueError("nrepeats > 1 with an augmentation grid: run one grid per repeat instead.")
        if foldid is not None:
            raise ValueError("nrepeats > 1 draws new folds per repeat; it cannot be combined with foldid.")
        levels, coord, dim = [(x, augment)] * int(nrepeats), np.arange(int(nrepeats)), "repeat"
    if extend and levels is not None:
        raise ValueError("extend=True extends one path; extend each level by calling cv_glmnet per level, "
                         "then pass a shared lambda_ that covers them all.")
    if extend and checkpoint is not None:
        raise ValueError("extend=True reruns the sweep on a longer grid, which a checkpoint of the first "
                         "grid cannot resume; checkpoint without extend, or extend without checkpoint.")
    if levels is None:
        cv = _cv_single(x, y, call)
        if extend:
            cv = extend_sweep(cv, lambda lam: _cv_single(x, y, replace(call, lambda_=lam, progress=False)),
                              lambda: _lambda_max(x, y, call), extend_limit)
        return cv
    if lambda_ is None:
        raise ValueError("an augmentation grid needs a shared lambda_ grid: pass lambda_=np.geomspace(...).")
    if checkpoint is not None:
        raise ValueError("checkpoint= applies to one path; checkpoint each level by calling cv_glmnet "
                         "per level.")
    per = [replace(call, progress=False, seed=seed + i if dim == "repeat" else seed,
                   glmnet_args={**extra, "augment": sp}, clean=clean_rows, heldout_rows=scored)
           for i, (_, sp) in enumerate(levels)]
    if client is not None:
        futures = [client.submit(_cv_task, xi, y, c, pure=False)
                   for (xi, _), c in zip(levels, per, strict=True)]
        cvs = client.gather(futures)
    else:
        cvs = [_cv_task(xi, y, c) for (xi, _), c in zip(levels, per, strict=True)]
    return CVGrid(np.asarray(coord), list(cvs), dim)


@dataclass(frozen=True)
class CVCall:
    """The arguments of one cross-validated path (one level of a grid), as given.

    ``glmnet_args`` are the further arguments of :func:`classdep.glmnet` (``augment``
    first, then as given); they make the printed call and the checkpoint's fingerprint.
    """

    family: str = "multinomial"
    nfolds: int = 10
    foldid: Any = None
    lambda_: Any = None
    nlambda: int = 100
    lambda_min_ratio: float | None = None
    type_measure: str = "deviance"
    weights: Any = None
    keep: bool = True
    seed: int = 0
    checkpoint: Any = None
    progress: bool = True
    device: str = "auto"
    dtype: Any = None
    fold_batch: int | None = None
    glmnet_args: dict = field(default_factory=dict)
    clean: Any = None  # (n, d) clean features the held-out folds are scored on, or None
    heldout_rows: str | None = None  # which rows were scored, for results.attrs


def _fold_batch(call: CVCall, X, K: int, nf: int) -> int:
    """Folds solved together: the memory plan's choice, or the user's ``fold_batch``.

    The fold batch is the largest fit of the sweep: it is planned before the full fit.
    Folds that do not fit in one batch are solved in groups, one group after another.
    """
    dev = resolve_device(call.device)
    itemsize = np.dtype(call.dtype or default_dtype(dev)).itemsize
    G = fold_batch_size(X.shape[0], X.shape[1], K, nf, itemsize=itemsize, device=dev,
                        memory_limit=call.glmnet_args.get("memory_limit"), family=call.family,
                        route=call.glmnet_args.get("route", "auto"))
    fb = call.fold_batch
    if fb is not None:
        if int(fb) != fb or fb < 1:
            raise ValueError(f"fold_batch={fb!r} must be a positive integer (folds solved together).")
        G = min(int(fb), nf)
    return G


def _checkpoint(call: CVCall, X, codes, folds, lam) -> Checkpoint | None:
    if call.checkpoint is None:
        return None
    settings = {k: repr(v) for k, v in call.glmnet_args.items()}
    settings.update(family=call.family, type_measure=call.type_measure, dtype=repr(call.dtype))
    if call.family == "gaussian":
        settings["response"] = "fitted values"  # blocks of older versions hold sigmoids of them
    return Checkpoint(call.checkpoint, fingerprint(X, codes, folds, lam, settings))


def _cv_single(x, y, call: CVCall) -> CVGlmnet:
    """One cross-validated path (no augmentation grid); see :func:`cv_glmnet`."""
    check_choice(call.type_measure, tuple(MEASURES), "type_measure")
    if isinstance(call.seed, bool) or not isinstance(call.seed, numbers.Integral):
        raise TypeError(f"seed={call.seed!r} is not an integer; pass an integer such as seed=0.")
    X, yy, _ = features_and_labels(x, y)
    codes, classes = check_labels(yy, X.shape[0])
    K = classes.size
    if call.foldid is None:
        check_folds(codes, classes, call.nfolds)
    folds = make_folds(codes, call.nfolds, call.foldid, call.seed)
    nf = int(folds.max()) + 1
    if call.foldid is not None:
        check_folds(codes, classes, 2)
    check_fold_coverage(codes, classes, folds, check_weights(call.weights, X.shape[0]))
    G = _fold_batch(call, X, K, nf)
    fit = glmnet(X, yy, family=call.family, lambda_=call.lambda_, nlambda=call.nlambda,
                 lambda_min_ratio=call.lambda_min_ratio, weights=call.weights, device=call.device,
                 dtype=call.dtype, **call.glmnet_args)
    lam = fit.lambda_
    model, control = fit.settings
    # a checkpointed sweep must resume to the results of an uninterrupted one
    control = replace(control, reproducible=call.checkpoint is not None)
    pf = None if model.penalty_factor is None else fit.path["penalty"].values[0] / lam[0]
    w = np.ones(X.shape[0]) if call.weights is None else np.asarray(call.weights, dtype=np.float64)
    ck = _checkpoint(call, X, codes, folds, lam)
    if ck is not None:
        G = ck.fold_batch(G)  # a resumed sweep keeps the grouping it started with
    groups = fold_groups(nf, G)
    # one group keeps the checkpoint layout of a single batch; several get a folder each
    cks = [ck if ck is None or len(groups) == 1 else ck.sub(f"folds_{a:03d}-{b - 1:03d}") for a, b in groups]
    starts = [c.done() if c is not None else 0 for c in cks]
    path = SweepPath(X, folds, lam, pf, call.family, control)
    if call.progress and sum(starts) < lam.size * len(groups):
        from tqdm.auto import tqdm

        path.bar = tqdm(total=lam.size * len(groups), initial=sum(starts), desc="cv_glmnet",
                        unit="lambda", delay=1.0)
    masks = (folds[None, :] != np.arange(nf)[:, None]).astype(np.float64)
    done = []
    for (a, b), c, start in zip(groups, cks, starts, strict=True):
        pp = prepare(X, codes, K, weights=call.weights, batch_weights=masks[a:b], model=model,
                     control=control)
        with singular_hessian_as_error(X, lam):
            part = solve_group(pp, path, a, c, start)
        if call.clean is not None:
            _score_clean(part, pp, call.clean, folds, a, call.family)
        done.append(part)
    if path.bar is not None:
        path.bar.close()
    blocks = merge_groups(done, groups, folds)
    shown = ({} if call.family == "multinomial" else {"family": call.family}) | call.glmnet_args
    text = "cv_glmnet(x = x, y = y" + "".join(f", {k} = {v!r}" for k, v in shown.items() if v is not None)
    cv = assemble(blocks, fit, codes, folds, w, call.type_measure, call.keep, text + ")")
    if call.heldout_rows is not None:
        cv.results.attrs["heldout_rows"] = call.heldout_rows
    return cv


def _score_clean(blocks: list[dict], pp, clean: np.ndarray, folds: np.ndarray, first: int,
                 family: str) -> None:
    """Replace each block's held-out response by that of the clean rows, in place.

    ``blocks`` are the path of the group of folds ``first, first + 1, ...`` (batch members
    ``0, 1, ...``); every sample of those folds is scored under its fold's fit, on its row
    of ``clean``.  Rows of other groups keep what they had (:func:`merge_groups` drops them).
    """
    xp = pp.prob.xp
    for blk in blocks:
        Wu, bu = to_user_scale(pp, xp.asarray(blk["W"]), xp.asarray(blk["b"]))
        P = np.array(blk["P"], dtype=np.float64, copy=True)
        for m in range(Wu.shape[1]):
            rows = folds == first + m
            if rows.any():
                P[rows] = response(clean[rows] @ Wu[:, m, :] + bu[m][None, :], family)
        blk["P"] = P


def _lambda_max(x, y, call: CVCall) -> float:
    """The data's ``lambda_max``: the first lambda of the default grid (a one-lambda fit there)."""
    fit = glmnet(x, y, family=call.family, nlambda=1, weights=call.weights, device=call.device,
                 dtype=call.dtype, **call.glmnet_args)
    return float(fit.lambda_[0])


def _cv_task(x, y, call: CVCall) -> CVGlmnet:
    """One level of a grid (module-level so that Dask can ship it to a worker)."""
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # a worker's warnings would be lost; flags stay in results
        return _cv_single(x, y, call)
