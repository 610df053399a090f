"""The engine of a sweep: groups of folds solved as one batch along the path, scored per lambda."""

from __future__ import annotations

import numpy as np

from ..backend import to_numpy
from ..solvers.path import iter_path
from ..solvers.prepare import to_user_scale

__all__ = ["solve_group", "run_path", "merge_groups"]


def solve_group(pp, X, folds, first, lam, pf, family, ck, start, bar, mixed, glmnet_args):
    """The path of one group of folds (members ``first``, ``first + 1``, ...), resumed from ``ck``."""
    blocks: list[dict] = [ck.load(j) for j in range(start)] if ck is not None else []
    warm = prev = None
    if start:
        last = blocks[-1]
        warm = (pp.prob.xp.asarray(last["W"]), pp.prob.xp.asarray(last["b"]))
        if "W_prev" in last:
            prev = (pp.prob.xp.asarray(last["W_prev"]), pp.prob.xp.asarray(last["b_prev"]))
    path_keys = ("solver", "preconditioner", "thresh", "maxit")
    # A checkpointed sweep keeps CG in float64 so that a resumed run reproduces an
    # uninterrupted one bit for bit (see iter_path's `mixed`).
    steps = iter_path(pp, lam[start:], pf, warm=warm, prev=prev, mixed=mixed,
                      lam_before=lam[start - 2:start] if start >= 2 else None,
                      **{k: glmnet_args[k] for k in path_keys if k in glmnet_args})
    # samples of other groups get any member's score here; merge_groups drops them
    local = np.clip(folds - first, 0, pp.prob.M - 1)
    return run_path(steps, blocks, start, pp, X, local, family, ck, bar, prev)


def merge_groups(done: list[list[dict]], groups, folds) -> list[dict]:
    """Per lambda, one block for all folds: each sample scored by the group holding its fold."""
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


def run_path(steps, blocks, start, pp, X, folds, family, ck, bar, prev_W):
    """Score every lambda of the path as it is solved; checkpoint each block."""
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
        P = response(Zo, family)
        block = dict(
            P=P.astype(np.float64),
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


def response(Z: np.ndarray, family: str) -> np.ndarray:
    if family == "multinomial":
        Z = Z - Z.max(axis=-1, keepdims=True)
        P = np.exp(Z)
        return P / P.sum(axis=-1, keepdims=True)
    return 0.5 * (1.0 + np.tanh(0.5 * Z))
