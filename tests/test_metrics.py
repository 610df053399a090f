"""classdep.metrics against independent references.

References: scikit-learn's metrics fold by fold (recall, precision with zero_division=1,
confusion matrix, log loss, balanced accuracy), plain-Python loops written after the
shift-happens code of Bitterwolf et al. 2022 (W2CA, worst-k pooled recall), small cases
worked out by hand, and identities (deviance decomposition, mean one-vs-all error,
integer weights = repeated samples, pooled folds = one fold).
"""

from __future__ import annotations

import itertools
import math
import warnings

import numpy as np
import pytest
import xarray as xr
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.metrics import (
    accuracy_score,
    balanced_accuracy_score,
    confusion_matrix,
    log_loss,
    precision_score,
    recall_score,
)

import classdep.metrics as cm
from classdep.metrics import classwise_dataset, classwise_scores, default_k, pooled

PER_CLASS = ("deviance", "recall", "precision", "ova_accuracy", "ova_deviance", "n", "tp")
PER_FOLD = ("total_deviance", "accuracy", "balanced_accuracy", "worst_class_accuracy", "worst_k_recall",
            "worst_k_balanced_accuracy", "worst_pair_accuracy")
PAIRWISE = ("confusion", "pairwise_wins", "pairwise_accuracy")


def softmax(Z):
    E = np.exp(Z - Z.max(axis=-1, keepdims=True))
    return E / E.sum(axis=-1, keepdims=True)


def random_problem(rng, L=3, n=240, K=5, G=3, scale=1.5, suppress=True):
    """Probabilities with a class absent from the last fold and (``suppress``) a class never predicted."""
    y = rng.integers(0, K, n)
    group = rng.integers(0, G, n)
    y[(group == G - 1) & (y == K - 1)] = 0  # class K-1 absent from the last fold
    Z = scale * rng.normal(size=(L, n, K)) + 2.0 * np.eye(K)[y]
    if suppress:
        Z[..., 1] -= 6.0  # class 1 (almost) never predicted
    return softmax(Z), y, group


def one_hot_probs(pred, K, hi=0.6):
    """Probabilities whose argmax is ``pred``: ``hi`` on it, the rest shared equally."""
    P = np.full((len(pred), K), (1 - hi) / (K - 1))
    P[np.arange(len(pred)), pred] = hi
    return P


# ---------------------------------------------------------------------------- references


def ref_w2ca(P, y, ties=0.5):
    """Worst two-class accuracy, a loop over pairs as in the shift-happens code."""
    worst = np.inf
    for i, j in itertools.combinations(sorted(set(y.tolist())), 2):
        Pi, Pj = P[y == i], P[y == j]
        ci = np.mean((Pi[:, i] > Pi[:, j]) + ties * (Pi[:, i] == Pi[:, j]))
        cj = np.mean((Pj[:, j] > Pj[:, i]) + ties * (Pj[:, j] == Pj[:, i]))
        worst = min(worst, (ci + cj) / 2)
    return worst if np.isfinite(worst) else np.nan


def ref_worst_k(P, y, k):
    """Worst-k pooled recall and balanced accuracy, as the shift-happens code computes them."""
    pred = P.argmax(axis=1)
    acc = {c: np.mean(pred[y == c] == c) for c in sorted(set(y.tolist()))}
    size = {c: np.sum(y == c) for c in acc}
    worst = sorted(acc.items(), key=lambda item: item[1])[:k]
    pooled_recall = sum(v * size[c] for c, v in worst) / sum(size[c] for c, _ in worst)
    return pooled_recall, np.mean([v for _, v in worst])


# ---------------------------------------------------------------------------- scikit-learn


@pytest.mark.parametrize("weighted", [False, True])
def test_against_sklearn_per_fold(weighted):
    rng = np.random.default_rng(0)
    L, n, K, G = 3, 300, 5, 3
    P, y, group = random_problem(rng, L, n, K, G)
    w = rng.uniform(0.2, 2.0, n) if weighted else None
    s = classwise_scores(P, y, group, weights=w)
    labels = np.arange(K)
    assert s["recall"].shape == (L, K, G) and s["accuracy"].shape == (L, G)
    assert s["confusion"].shape == (L, K, K, G)
    assert np.isnan(s["recall"][:, K - 1, G - 1]).all()  # the absent class
    assert (s["precision"][:, 1, :] == 1).all()  # the class never predicted
    for l, g in itertools.product(range(L), range(G)):
        m = group == g
        Pg, yg = P[l, m], y[m]
        wg = None if w is None else w[m]
        Ng = m.sum() if w is None else wg.sum()
        pred = Pg.argmax(axis=1)
        np.testing.assert_allclose(
            s["recall"][l, :, g],
            recall_score(yg, pred, labels=labels, average=None, zero_division=np.nan, sample_weight=wg),
            rtol=1e-12, atol=1e-14)
        np.testing.assert_allclose(
            s["precision"][l, :, g],
            precision_score(yg, pred, labels=labels, average=None, zero_division=1, sample_weight=wg),
            rtol=1e-12, atol=1e-14)
        conf = confusion_matrix(yg, pred, labels=labels, sample_weight=wg)
        np.testing.assert_allclose(s["confusion"][l, :, :, g], conf, rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(s["tp"][l, :, g], np.diag(conf), rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(s["n"][l, :, g], conf.sum(axis=1), rtol=1e-12, atol=1e-12)
        acc = accuracy_score(yg, pred, sample_weight=wg)
        np.testing.assert_allclose(s["accuracy"][l, g], acc, rtol=1e-12)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)  # "y_pred contains classes not in y_true"
            bal = balanced_accuracy_score(yg, pred, sample_weight=wg)
        np.testing.assert_allclose(s["balanced_accuracy"][l, g], bal, rtol=1e-12)
        total = 2 * Ng * log_loss(yg, Pg, labels=labels, sample_weight=wg)
        np.testing.assert_allclose(s["total_deviance"][l, g], total, rtol=1e-10)
        for c in range(K):
            mc = yg == c
            if mc.any():
                wc = None if wg is None else wg[mc]
                dev_c = 2 * (mc.sum() if wc is None else wc.sum()) * log_loss(
                    yg[mc], Pg[mc], labels=labels, sample_weight=wc)
                np.testing.assert_allclose(s["deviance"][l, c, g], dev_c, rtol=1e-10)
            else:
                assert s["deviance"][l, c, g] == 0
            ova = 2 * Ng * log_loss(mc, np.c_[1 - Pg[:, c], Pg[:, c]], labels=[False, True], sample_weight=wg)
            np.testing.assert_allclose(s["ova_deviance"][l, c, g], ova, rtol=1e-10)
            err_c = (conf[c].sum() - conf[c, c]) + (conf[:, c].sum() - conf[c, c])
            np.testing.assert_allclose(s["ova_accuracy"][l, c, g], 1 - err_c / Ng, rtol=1e-12)


def test_worst_class_metrics_against_loops():
    rng = np.random.default_rng(1)
    L, n, K, G = 2, 400, 12, 2
    P, y, group = random_problem(rng, L, n, K, G, scale=2.5, suppress=False)
    for k in (None, 1, 3, 50):
        s = classwise_scores(P, y, group, k=k)
        kk = default_k(K) if k is None else k
        for l, g in itertools.product(range(L), range(G)):
            m = group == g
            rec = s["recall"][l, :, g]
            assert s["worst_class_accuracy"][l, g] == np.nanmin(rec)
            wk, wkb = ref_worst_k(P[l, m], y[m], kk)
            np.testing.assert_allclose(s["worst_k_recall"][l, g], wk, rtol=1e-12)
            np.testing.assert_allclose(s["worst_k_balanced_accuracy"][l, g], wkb, rtol=1e-12)
            np.testing.assert_allclose(s["worst_pair_accuracy"][l, g], ref_w2ca(P[l, m], y[m]), rtol=1e-12)


@pytest.mark.parametrize("ties", [0.0, 0.5, 1.0, 0.3])
def test_w2ca_with_many_ties_against_loop(ties):
    rng = np.random.default_rng(2)
    L, n, K, G = 2, 150, 4, 2
    P = np.round(rng.dirichlet(np.ones(K), size=(L, n)) * 4) / 4  # coarse grid: ties everywhere
    P[0, :10] = 0.0  # including ties at zero
    y, group = rng.integers(0, K, n), rng.integers(0, G, n)
    s = classwise_scores(P, y, group, ties=ties)
    for l, g in itertools.product(range(L), range(G)):
        m = group == g
        np.testing.assert_allclose(s["worst_pair_accuracy"][l, g], ref_w2ca(P[l, m], y[m], ties), rtol=1e-12)
        Pm, ym = P[l, m], y[m]
        for c, j in itertools.permutations(range(K), 2):
            wins = np.sum((Pm[ym == c, c] > Pm[ym == c, j]) + ties * (Pm[ym == c, c] == Pm[ym == c, j]))
            assert s["pairwise_wins"][l, c, j, g] == pytest.approx(wins)
    assert (s["pairwise_wins"][:, np.arange(K), np.arange(K)] == 0).all()
    assert np.isnan(s["pairwise_accuracy"][:, np.arange(K), np.arange(K)]).all()
    np.testing.assert_allclose(s["pairwise_accuracy"], np.swapaxes(s["pairwise_accuracy"], 1, 2))


# ---------------------------------------------------------------------------- hand-computed cases


def test_w2ca_hand_computed():
    P = np.array([
        [0.5, 0.3, 0.2],  # y = 0: p0 > p1
        [0.4, 0.4, 0.2],  # y = 0: a tie with class 1 (predicted 0: the first maximum)
        [0.6, 0.3, 0.1],  # y = 1: p1 < p0
        [0.2, 0.7, 0.1],  # y = 1: p1 > p0
        [0.1, 0.2, 0.7],  # y = 2
    ])
    y = np.array([0, 0, 1, 1, 2])
    s = classwise_scores(P, y)
    # pair {0, 1}: 1/2 [(1 + 1/2)/2 + (0 + 1)/2] = 0.625; the pairs with class 2 are perfect
    assert s["worst_pair_accuracy"].tolist() == [0.625]
    np.testing.assert_allclose(s["pairwise_accuracy"][..., 0],
                               [[np.nan, 0.625, 1.0], [0.625, np.nan, 1.0], [1.0, 1.0, np.nan]])
    assert s["pairwise_wins"][0, 1, 0] == 1.5  # class 0 beats class 1 once, ties once
    assert classwise_scores(P, y, ties=0)["worst_pair_accuracy"].tolist() == [0.5]  # strict ">"
    assert s["confusion"][..., 0].tolist() == [[2, 0, 0], [1, 1, 0], [0, 0, 1]]
    assert s["recall"][:, 0].tolist() == [1.0, 0.5, 1.0]
    assert s["precision"][:, 0].tolist() == [2 / 3, 1.0, 1.0]
    assert s["worst_class_accuracy"].tolist() == [0.5]


def test_worst_k_recall_hand_computed():
    # class:        0: n=4, TP=1 (0.25)   1: n=2, TP=0 (0)   2: n=2, TP=1 (0.5)   3: n=2, TP=2 (1)
    y = np.array([0, 0, 0, 0, 1, 1, 2, 2, 3, 3])
    pred = np.array([0, 3, 3, 3, 0, 0, 2, 0, 3, 3])
    P = one_hot_probs(pred, 4)
    expected = {1: (0.0, 0.0), 2: (1 / 6, 0.125), 3: (2 / 8, 0.25), 4: (4 / 10, 0.4375), 10: (0.4, 0.4375)}
    for k, (recall_k, balanced_k) in expected.items():
        s = classwise_scores(P, y, k=k)
        assert s["worst_k_recall"][0] == pytest.approx(recall_k)
        assert s["worst_k_balanced_accuracy"][0] == pytest.approx(balanced_k)
    assert classwise_scores(P, y)["worst_k_recall"][0] == 0.0  # default k = ceil(4/10) = 1
    assert classwise_scores(P, y)["accuracy"][0] == pytest.approx(0.4)


def test_worst_k_ties_in_recall_go_to_the_lower_class_index():
    # recalls: class 0 = 1/2 (n=2), class 1 = 2/4 (n=4), class 2 = 0 (n=2)
    y = np.array([0, 0, 1, 1, 1, 1, 2, 2])
    pred = np.array([0, 1, 1, 1, 0, 0, 0, 0])
    s = classwise_scores(one_hot_probs(pred, 3), y, k=2)
    assert s["worst_k_recall"][0] == pytest.approx((0 + 1) / (2 + 2))  # classes 2 and 0, not 1
    ref, _ = ref_worst_k(one_hot_probs(pred, 3), y, 2)
    assert s["worst_k_recall"][0] == pytest.approx(ref)


def test_absent_classes_and_empty_groups():
    P = one_hot_probs(np.array([0, 0, 1]), 3)
    y = np.array([0, 1, 1])
    s = classwise_scores(P, y, group=np.array([0, 0, 0]), n_groups=2)
    assert s["n"][:, 1].tolist() == [0, 0, 0]
    assert np.isnan(s["recall"][2, 0]) and s["precision"][2, 0] == 1.0
    assert s["ova_accuracy"][2, 0] == 1.0  # never predicted, never present
    for name in ("accuracy", "balanced_accuracy", "worst_class_accuracy", "worst_k_recall",
                 "worst_pair_accuracy"):
        assert np.isnan(s[name][1]), name  # the empty group
    one = classwise_scores(P[:1], y[:1])  # one class present: no pair to score
    assert np.isnan(one["worst_pair_accuracy"][0]) and one["worst_class_accuracy"][0] == 1.0


def test_clipping_keeps_deviances_finite():
    P = np.array([[0.0, 1.0], [1.0, 0.0]])
    s = classwise_scores(P, np.array([0, 0]))
    assert s["deviance"][0, 0] == pytest.approx(-2 * math.log(1e-300))
    assert np.isfinite(s["ova_deviance"]).all()
    assert s["ova_deviance"][1, 0] == pytest.approx(-2 * math.log(1e-300))  # p = 1 for a negative


# ---------------------------------------------------------------------------- identities


def test_deviance_decomposition_and_ova_identity():
    rng = np.random.default_rng(3)
    P, y, group = random_problem(rng, 4, 500, 7, 4)
    w = rng.exponential(size=500)
    for weights in (None, w):
        s = classwise_scores(P, y, group, weights=weights)
        ww = np.ones(500) if weights is None else weights
        direct = np.stack([np.bincount(group, weights=-2 * ww * np.log(P[l, np.arange(500), y]))
                           for l in range(4)])
        np.testing.assert_allclose(s["deviance"].sum(axis=1), direct, rtol=1e-12)
        np.testing.assert_array_equal(s["deviance"].sum(axis=1), s["total_deviance"])
        np.testing.assert_allclose((1 - s["ova_accuracy"]).mean(axis=1), 2 * (1 - s["accuracy"]) / 7,
                                   rtol=1e-12)
        assert (s["ova_deviance"] >= s["deviance"]).all()  # it adds the false-positive terms


def test_integer_weights_equal_repeated_samples():
    rng = np.random.default_rng(4)
    P, y, group = random_problem(rng, 3, 200, 6, 3)
    counts = rng.poisson(1.0, 200)  # a bootstrap draw: zeros included
    s = classwise_scores(P, y, group, n_groups=3, weights=counts)
    r = classwise_scores(np.repeat(P, counts, axis=1), np.repeat(y, counts), np.repeat(group, counts),
                         n_groups=3)
    assert s.keys() == r.keys()
    for key in s:
        np.testing.assert_allclose(s[key], r[key], rtol=1e-10, atol=1e-9, err_msg=key)


def test_pooled_equals_one_group_and_chunks_do_not_matter(monkeypatch):
    rng = np.random.default_rng(5)
    P, y, group = random_problem(rng, 5, 300, 6, 4)
    w = rng.uniform(0, 2, 300)
    s = classwise_scores(P, y, group, weights=w, k=2)
    one = classwise_scores(P, y, weights=w, k=2)
    pool = pooled(s, k=2)
    assert pool.keys() == s.keys()
    for key in s:
        assert pool[key].shape == s[key].shape[:-1]
        np.testing.assert_allclose(pool[key], one[key][..., 0], rtol=1e-12, atol=1e-9, err_msg=key)
    monkeypatch.setattr(cm, "_CHUNK_ELEMENTS", 300 * 6 * 2)  # two lambdas per chunk: 3 chunks
    chunked = classwise_scores(P, y, group, weights=w, k=2)
    for key in s:
        np.testing.assert_allclose(chunked[key], s[key], rtol=1e-13, atol=1e-10, err_msg=key)


def test_two_dimensional_input_and_dtypes():
    rng = np.random.default_rng(6)
    P, y, group = random_problem(rng, 1, 120, 4, 2)
    s2 = classwise_scores(P[0], y, group)
    s3 = classwise_scores(P, y, group)
    for key in s3:
        assert s2[key].shape == s3[key].shape[1:]
        np.testing.assert_array_equal(s2[key], s3[key][0])
    P32 = P.astype(np.float32)
    a, b = classwise_scores(P32, y, group), classwise_scores(P32.astype(np.float64), y, group)
    for key in a:
        np.testing.assert_array_equal(a[key], b[key])


@settings(max_examples=40, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    L=st.integers(1, 3),
    n=st.integers(1, 40),
    K=st.integers(2, 6),
    G=st.integers(1, 3),
    weighted=st.booleans(),
)
def test_property_ova_error_and_pooling(seed, L, n, K, G, weighted):
    """mean_c one-vs-all error = 2 err / K in every non-empty fold; pooling folds = one fold."""
    rng = np.random.default_rng(seed)
    P = np.round(rng.dirichlet(np.full(K, 0.5), size=(L, n)), 2)  # rounding: ties and zeros
    P /= np.maximum(P.sum(axis=-1, keepdims=True), 1)
    y, group = rng.integers(0, K, n), rng.integers(0, G, n)
    w = rng.integers(0, 4, n).astype(float) if weighted else None
    if w is not None and w.sum() == 0:
        w[0] = 1.0
    s = classwise_scores(P, y, group, n_groups=G, weights=w)
    N = s["n"].sum(axis=1)
    ok = N > 0
    lhs = (1 - s["ova_accuracy"]).mean(axis=1)
    np.testing.assert_allclose(lhs[ok], (2 * (1 - s["accuracy"]) / K)[ok], rtol=1e-9, atol=1e-12)
    assert np.isnan(s["accuracy"][~ok]).all()
    one = classwise_scores(P, y, weights=w)
    pool = pooled(s)
    for key in ("recall", "precision", "ova_accuracy", "deviance", "accuracy", "worst_k_recall",
                "worst_pair_accuracy", "confusion"):
        np.testing.assert_allclose(pool[key], one[key][..., 0], rtol=1e-9, atol=1e-9, err_msg=key)


# ---------------------------------------------------------------------------- xarray


def test_classwise_dataset_dims_values_and_netcdf(tmp_path):
    rng = np.random.default_rng(7)
    P, y, group = random_problem(rng, 3, 150, 4, 3)
    classes = ["cat", "dog", "cow", "owl"]
    lambdas = np.array([1.0, 0.1, 0.01])
    ds = classwise_dataset(P, y, classes, lambdas, group=group)
    s = classwise_scores(P, y, group)
    for name in PER_CLASS:
        assert ds[name].dims == ("lambda", "class", "fold"), name
    for name in PER_FOLD:
        assert ds[name].dims == ("lambda", "fold"), name
    assert ds["confusion"].dims == ("lambda", "class", "predicted", "fold")
    assert ds["pairwise_accuracy"].dims == ("lambda", "class", "versus", "fold")
    assert ds["class"].values.tolist() == classes and ds["predicted"].values.tolist() == classes
    assert ds["fold"].values.tolist() == [0, 1, 2]
    np.testing.assert_array_equal(ds["lambda"].values, lambdas)
    for name in s:
        np.testing.assert_array_equal(ds[name].values, s[name])
    assert ds.attrs["k"] == 1 and ds.attrs["ties"] == 0.5
    path = tmp_path / "scores.nc"
    ds.to_netcdf(path)
    with xr.open_dataset(path) as back:
        xr.testing.assert_identical(back.load(), ds)
    pool = pooled(ds)
    assert "fold" not in pool.dims and pool["recall"].dims == ("lambda", "class")
    ps = pooled(s)
    for name in ps:
        np.testing.assert_allclose(pool[name].values, ps[name], rtol=1e-12, err_msg=name)
    sel = ds["recall"].sel(**{"lambda": 0.1, "class": "dog", "fold": 1})
    assert float(sel) == s["recall"][1, 1, 1] or np.isnan(s["recall"][1, 1, 1])


def test_classwise_dataset_from_dataarray_and_one_model():
    rng = np.random.default_rng(8)
    P, y, _ = random_problem(rng, 2, 60, 3, 1)
    da = xr.DataArray(np.moveaxis(P, 0, 1), dims=("sample", "lambda", "class"),
                      coords={"lambda": [0.5, 0.05]})
    ds = classwise_dataset(da, y)
    np.testing.assert_array_equal(ds["lambda"].values, [0.5, 0.05])
    np.testing.assert_array_equal(ds["recall"].values, classwise_scores(P, y)["recall"])
    one = classwise_dataset(P[0], y, lambdas=0.5)
    assert one["recall"].dims == ("class", "fold") and float(one["lambda"]) == 0.5


# ---------------------------------------------------------------------------- input errors


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        ({"P": np.full((4, 3), 2.0)}, ValueError, "logits"),
        ({"P": np.full((4, 3), np.nan)}, ValueError, "finite"),
        ({"P": np.ones(3)}, ValueError, "shape"),
        ({"y": np.array([0, 1, 3, 0])}, ValueError, "codes must be 0..2"),
        ({"y": np.array([0, 1, 2])}, ValueError, "shape"),
        ({"y": np.array([0.5, 1, 2, 0])}, ValueError, "integer"),
        ({"group": np.array([0, 1, 2, 0]), "n_groups": 2}, ValueError, "n_groups"),
        ({"weights": np.array([1, -1, 1, 1])}, ValueError, "negative"),
        ({"k": 0}, ValueError, "at least 1"),
        ({"ties": 2.0}, ValueError, "between 0 and 1"),
    ],
)
def test_bad_input_is_refused(kwargs, error, match):
    args = {"P": np.full((4, 3), 1 / 3), "y": np.array([0, 1, 2, 0])}
    args.update(kwargs)
    with pytest.raises(error, match=match):
        classwise_scores(**args)


def test_dataset_checks_names():
    P = np.full((2, 4, 3), 1 / 3)
    y = np.array([0, 1, 2, 0])
    with pytest.raises(ValueError, match="classes"):
        classwise_dataset(P, y, classes=["a", "b"])
    with pytest.raises(ValueError, match="lambdas"):
        classwise_dataset(P, y, lambdas=[1.0])
