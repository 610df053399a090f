"""The tiled loss, gradient and Hessian-vector products against the untiled ones.

On the CPU the elementwise work runs over row tiles (``objective._TILE_BYTES``); the
problems in the other tests mostly fit one tile, so here the tile is shrunk to 64 rows
(the smallest) and every quantity is compared with the one-tile computation at 1e-12
relative: tiling changes only the order of the sums.
"""

from __future__ import annotations

import numpy as np
import pytest

from classdep.solvers import objective
from classdep.solvers.chunked import ChunkedFeatures
from classdep.solvers.objective import evaluate, hessp, row_tiles
from classdep.solvers.prepare import prepare

N, D, K = 300, 7, 4  # 300 rows: four 64-row tiles and a short last one


def _problem(family, loss, intercept, members=2):
    rng = np.random.default_rng(3)
    X = rng.normal(size=(N, D))
    y = rng.integers(0, K, N)
    bw = (rng.random((members, N)) > 0.3).astype(float)
    pp = prepare(X, y, K, batch_weights=bw, family=family, loss=loss, intercept=intercept,
                 device="cpu", dtype=np.float64)
    prob = pp.prob.with_lambda(np.full((members, K), 0.01))
    W = rng.normal(size=(D, members, K))
    b = rng.normal(size=(members, K)) if intercept else np.zeros((members, K))
    return prob, W, b, rng


def _both(monkeypatch, fn):
    """``fn()`` with one tile, then with 64-row tiles."""
    monkeypatch.setattr(objective, "_TILE_BYTES", 2**40)
    whole = fn()
    monkeypatch.setattr(objective, "_TILE_BYTES", 1)
    return whole, fn()


def _close(a, b, rtol=1e-12):
    assert a.shape == b.shape
    assert np.max(np.abs(a - b)) <= rtol * max(np.max(np.abs(b)), 1e-300)


CASES = [("multinomial", "ce", True), ("multinomial", "vs", True), ("multinomial", "ldt", False),
         ("ova", "ce", True), ("gaussian", "ce", True)]


@pytest.mark.parametrize("family,loss,intercept", CASES)
def test_evaluate_and_hessp_match_one_tile(monkeypatch, family, loss, intercept):
    prob, W, b, rng = _problem(family, loss, intercept)
    Z = prob.matmul_x(W) + b[None]
    monkeypatch.setattr(objective, "_TILE_BYTES", 1)
    assert [(a, e) for a, e, _ in row_tiles(prob)][-2:] == [(192, 256), (256, 300)]
    one, tiled = _both(monkeypatch, lambda: evaluate(prob, Z, W, b))
    for name in ("f", "loss", "P", "gW", "gb"):
        _close(getattr(tiled, name), getattr(one, name))
    # the line search's moved logits, formed tile by tile
    ZS, t = rng.normal(size=Z.shape), np.array([0.5, 0.25])
    one_f, tiled_f = _both(monkeypatch, lambda: evaluate(prob, Z, W, b, grad=False, probs=False,
                                                         along=(ZS, t)).f)
    direct = evaluate(prob, Z + t[None, :, None] * ZS, W, b, grad=False, probs=False).f
    _close(tiled_f, direct)
    _close(one_f, direct)
    V, vb = rng.normal(size=W.shape), rng.normal(size=b.shape)
    (HV1, Hb1), (HV2, Hb2) = _both(monkeypatch, lambda: hessp(prob, one.P, V, vb))
    _close(HV2, HV1)
    _close(Hb2, Hb1)


def test_chunked_features_are_cut_into_tiles(monkeypatch):
    prob, W, b, rng = _problem("multinomial", "ce", True)
    X = np.asarray(prob.X)
    F = ChunkedFeatures(X, np.zeros(D), np.ones(D), np.zeros(D, bool), "cpu", np.float64, 100)
    chunked = prob.__class__(**{**prob.__dict__, "X": F})
    monkeypatch.setattr(objective, "_TILE_BYTES", 1)
    # tiles never straddle a chunk: 0-64, 64-100, 100-164, ...
    assert [(a, e) for a, e, _ in row_tiles(chunked)][:3] == [(0, 64), (64, 100), (100, 164)]
    Z = prob.matmul_x(W) + b[None]
    ev, ref = evaluate(chunked, Z, W, b), evaluate(prob, Z, W, b)
    _close(ev.gW, ref.gW)
    V, vb = rng.normal(size=W.shape), rng.normal(size=b.shape)
    _close(hessp(chunked, ref.P, V, vb)[0], hessp(prob, ref.P, V, vb)[0])


@pytest.mark.parametrize("family,loss,intercept", CASES)
def test_kronecker_curvature_is_the_weighted_sum_of_per_sample_hessians(family, loss, intercept):
    """``curvature`` (the Kronecker preconditioner's class factor) against the sum over
    samples of ``omega_i D A_i D``, each ``A_i`` written out (1e-12)."""
    prob, W, b, _ = _problem(family, loss, intercept, members=3)
    P = evaluate(prob, prob.matmul_x(W) + b[None], W, b).P
    ls = prob.link_scale()
    ref = np.zeros((prob.M, K, K))
    for i in range(N):
        for m in range(prob.M):
            p = P[i, m]
            A = {"multinomial": np.diag(p) - np.outer(p, p), "ova": np.diag(p * (1 - p)),
                 "gaussian": np.eye(K)}[family]
            D = np.ones(K) if ls is None else np.broadcast_to(ls[min(i, ls.shape[0] - 1), 0], (K,))
            ref[m] += prob.omega[i, m] * D[:, None] * A * D[None, :]
    _close(objective.curvature(prob, P), ref)
