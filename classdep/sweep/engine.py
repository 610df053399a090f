"""The engine of a sweep: groups of folds solved as one batch along the path, scored per lambda."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from ..backend import to_numpy
from ..link import response
from ..solvers.path import iter_path
from ..solvers.prepare import to_user_scale
from ..solvers.settings import Control

__all__ = ["SweepPath", "fold_groups", "solve_group", "run_path", "merge_groups"]


@dataclass
class SweepPath:
    """What every group of folds of one sweep shares: data, folds, path and settings."""

    X: Any  # (n, d) features (in memory, or an out-of-core source)
    folds: np.ndarray  # (n,) fold of every sample
    lam: np.ndarray  # (L,) the path
    pf: np.ndarray | None  # (K,) penalty factors, or None
    family: str
    control: Control
    bar: Any = None  # a progress bar, or None


def fold_groups(nf: int, G: int) -> list[tuple[int, int]]:
    """Folds ``[a, b)`` solved together, ``G`` at a time.

    Examples
    --------
    >>> fold_groups(5, 2)
    [(0, 2), (2, 4), (4, 5)]
    """
    return [(a, min(a + G, nf)) for a in range(0, nf, G)]


def solve_group(pp, path: SweepPath, first: int, ck, start: int) -> list[dict]:
    """The path of one group of folds (members ``first``, ``first + 1``, ...), resumed from ``ck``.

    The ``start`` lambdas already in ``ck`` are loaded; the path goes on from the last of
    them, warm-started as an uninterrupted run would be (``path.control.reproducible``
    makes the two agree bit for bit).
    """
    blocks: list[dict] = [ck.load(j) for j in range(start)] if ck is not None else []
    warm = prev = None
    if start:
        last = blocks[-1]
        warm = (pp.prob.xp.asarray(last["W"]), pp.prob.xp.asarray(last["b"]))
        if "W_prev" in last:
            prev = (pp.prob.xp.asarray(last["W_prev"]), pp.prob.xp.asarray(last["b_prev"]))
    lam = path.lam
    steps = iter_path(pp, lam[start:], path.pf, control=path.control, warm=warm, prev=prev,
                      lam_before=lam[start - 2:start] if start >= 2 else None)
    # samples of other groups get any member's score here; merge_groups drops them
    local = np.clip(path.folds - first, 0, pp.prob.M - 1)
    return run_path(steps, pp, path, local, ck, (start, blocks, prev))


def merge_groups(done: list[list[dict]], groups, folds) -> list[dict]:
    """Per lambda, one block for all folds: each sample scored by the group holding its fold.

    Examples
    --------
    >>> part = lambda v: [dict(P=np.full((2, 1), v), niter=np.ones(1), converged=np.ones(1, bool),
    ...                        gap=np.zeros(1), products=1.0)]
    >>> merge_groups([part(0.0), part(1.0)], [(0, 1), (1, 2)], np.array([0, 1]))[0]["P"].ravel().tolist()
    [0.0, 1.0]
    """
    if len(done) == 1:
        return done[0]
    merged = []
    for parts in zip(*done, strict=True):
        P = np.zeros_like(parts[0]["P"])
        for (a, b), part in zip(groups, parts, strict=True):
            mine = (folds >= a) & (folds < b)
            P[mine] = part["P"][mine]
        merged.append(dict(P=P, products=sum(float(p.get("products", np.nan)) for p in parts),
                           **{k: np.concatenate([p[k] for p in parts])
                              for k in ("niter", "converged", "gap")}))
    return merged


def run_path(steps, pp, path: SweepPath, folds: np.ndarray, ck, resumed: tuple) -> list[dict]:
    """Score every lambda of the path as it is solved; checkpoint each block.

    ``folds`` are the samples' members in this group's batch; ``resumed`` is
    ``(start, blocks, prev_W)``: the lambdas already done, their blocks, and the solution
    before the last of them.
    """
    start, blocks, prev_W = resumed
    X, family, bar = path.X, path.family, path.bar
    for j, st in steps:
        jj = start + j
        Z = st.Z  # (n, M, K) raw logits of every sample under every fold's fit
        if pp.augment is not None and pp.augment.method == "sample":
            # the batch holds noisy copies: score the clean held-out samples
            Wu, bu = to_user_scale(pp, st.W, st.b)
            Zo = np.einsum("nd,dnk->nk", X, Wu[:, folds, :]) + bu[folds]
        else:
            # each sample under the fit without it, gathered on the device (Z may not fit the host)
            xp = pp.prob.xp
            Zo = to_numpy(Z[xp.asarray(np.arange(X.shape[0])), xp.asarray(folds), :])
        block = dict(
            P=response(Zo, family).astype(np.float64),  # fitted values for the Gaussian family
            niter=st.niter, converged=st.converged, gap=st.gap,
            W=to_numpy(st.W), b=to_numpy(st.b),
            # in products of one member's size (n x d x K), whatever the batch
            products=np.asarray(float(st.work.products) * pp.prob.M),
        )
        if prev_W is not None:
            block["W_prev"], block["b_prev"] = to_numpy(prev_W[0]), to_numpy(prev_W[1])
        prev_W = (st.W, st.b)
        if ck is not None:
            ck.save(jj, **block)
        blocks.append(block)
        if bar is not None:
            bar.update(1)
    return blocks
