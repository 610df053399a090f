"""The study's measures, criteria, ties, plateaus and multiplicity control in ``classwise``.

Each is checked against an independent computation: scikit-learn's metrics on the
out-of-fold predictions, a one-vs-all deviance computed from ``predict``'s probabilities,
hand-written worst-class criteria, tie rule, paired standard errors and BH step-up, and the
calibration and power of the per-class permutation test on mixtures whose classes are
exchangeable (the null) or want different penalties (the alternative).
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from sklearn.metrics import accuracy_score

import classdep as cd
from classdep.analysis.classwise_null import benjamini_hochberg
from classdep.analysis.criteria import class_curves, global_curve
from classdep.analysis.optimum import best_index, plateau
from classdep.datasets import make_mixture, select_split

LAMS = np.geomspace(1.0, 1e-4, 12)


@pytest.fixture(scope="module")
def cv():
    ds = make_mixture(n_classes=5, n_features=8, n_samples=400, noise=[0.6, 0.9, 1.2, 0.8, 1.5],
                      separation=2.5, seed=1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return cd.cv_glmnet(ds, nfolds=4, lambda_=LAMS, progress=False, seed=0)


def test_ova_accuracy_curves_are_sklearns_accuracy_of_each_binary_problem(cv):
    cw = cd.classwise(cv, measure="ova_accuracy", null=0, debias=None)
    y, pred = cv.oof["y"].values, cv.oof["pred"].values
    want = np.array([[accuracy_score(y == c, pred[j] == c) for c in range(5)] for j in range(LAMS.size)])
    np.testing.assert_allclose(cw.curves.values, want, rtol=0, atol=1e-12)
    # the shared lambda maximizes the class mean of one-vs-all accuracy
    assert cw.table.attrs["index_global"] == best_index(want.mean(axis=1), larger=True)


def test_ova_deviance_of_a_multinomial_fit_uses_its_own_probabilities():
    """Not renormalized: -2 sum_i [y_i = c] log p_ic + [y_i != c] log(1 - p_ic), from predict()."""
    ds = make_mixture(n_classes=4, n_features=6, n_samples=300, n_test=400, seed=2)
    tr, te = select_split(ds, "train"), select_split(ds, "test")
    fit = cd.glmnet(tr, lambda_=LAMS[:6])
    ev = cd.assess(fit, te.X.values, te["class"].values[te.y.values])
    P = cd.predict(fit, te.X.values, type="response").values  # (L, n, K)
    Y = np.eye(4)[te.y.values]
    want = -2.0 * (Y * np.log(P) + (1 - Y) * np.log1p(-P)).sum(axis=1)
    cw = cd.classwise(ev, measure="ova_deviance", null=0, debias=None)
    np.testing.assert_allclose(cw.curves.values, want, rtol=1e-9)
    # and its shared optimum minimizes the summed one-vs-all deviance
    assert cw.table.attrs["index_global"] == int(np.argmin(want.sum(axis=1)))


@pytest.mark.parametrize("measure", ["recall", "ova_accuracy", "deviance"])
def test_worst_class_and_worst_k_criteria_pick_the_lambda_numpy_picks(cv, measure):
    y, pred, loss = cv.oof["y"].values, cv.oof["pred"].values, cv.oof["loss"].values
    n_c = np.bincount(y, minlength=5)
    if measure == "recall":
        q = np.stack([[np.mean(pred[j, y == c] == c) for c in range(5)] for j in range(LAMS.size)])
    elif measure == "ova_accuracy":
        q = np.stack([[np.mean((y == c) == (pred[j] == c)) for c in range(5)] for j in range(LAMS.size)])
    else:  # mean deviance per sample of the class; larger is worse
        q = -np.stack([[2 * loss[j, y == c].sum() / n_c[c] for c in range(5)] for j in range(LAMS.size)])
    worst = q.min(axis=1)
    worst2 = np.sort(q, axis=1)[:, :2].mean(axis=1)
    for criterion, k, crit in (("worst_class", None, worst), ("worst_k", 2, worst2)):
        cw = cd.classwise(cv, measure=measure, criterion=criterion, k=k, null=0, debias=None)
        assert cw.table.attrs["index_global"] == best_index(crit, larger=True), criterion
        assert cw.table.attrs["criterion"] == criterion
        assert criterion in repr(cw)


def test_worst_k_defaults_to_the_worst_ten_percent_and_checks_k(cv):
    cur, n_c = class_curves(cv.results, "recall")
    # K = 5: ceil(5 / 10) = 1 class, so worst_k is worst_class
    np.testing.assert_array_equal(global_curve(cur, n_c, "recall", "worst_k"),
                                  global_curve(cur, n_c, "recall", "worst_class"))
    with pytest.raises(ValueError, match="1 <= k <= 5"):
        global_curve(cur, n_c, "recall", "worst_k", k=6)
    with pytest.raises(ValueError, match="criterion"):
        cd.classwise(cv, criterion="median", null=0)
    with pytest.raises(ValueError, match="positive integer"):
        cd.classwise(cv, criterion="worst_k", k=0, null=0)


def _middle_of_ties(col: np.ndarray) -> int:
    """The rule as documented, written as a plain loop: the median tie, inside if one is."""
    best = max(col)
    tied = [j for j, v in enumerate(col) if v == best]
    j = tied[len(tied) // 2]
    inner = [t for t in tied if 0 < t < len(col) - 1]
    if j in (0, len(col) - 1) and inner:
        j = min(inner, key=lambda t: abs(t - j))
    return j


def test_ties_go_to_their_middle_and_never_to_an_edge_when_a_tie_is_inside():
    rng = np.random.default_rng(0)
    curves = rng.integers(0, 3, size=(7, 400)).astype(float)  # many ties
    got = best_index(curves, larger=True)
    want = [_middle_of_ties(curves[:, k].tolist()) for k in range(curves.shape[1])]
    np.testing.assert_array_equal(got, want)
    # a recall curve flat at its maximum from the first lambda is no longer put at lambda_max
    assert best_index(np.array([0.95, 0.95, 0.95, 0.90, 0.80]), larger=True) == 1


def test_plateau_is_the_run_within_one_paired_standard_error(cv):
    cw = cd.classwise(cv, null=0, debias=None)
    y, loss = cv.oof["y"].values, cv.oof["loss"].values
    lam = cv.lambda_
    for c in range(5):
        j0 = int(cw.table["index_opt"].values[c])
        d = 2 * (loss[:, y == c] - loss[j0, y == c])  # per-sample deviance differences
        se = np.sqrt((y == c).sum()) * d.std(axis=1, ddof=1)
        inside = np.abs(d.sum(axis=1)) <= se
        lo = hi = j0
        while lo > 0 and inside[lo - 1]:
            lo -= 1
        while hi < lam.size - 1 and inside[hi + 1]:
            hi += 1
        assert cw.table["plateau_high"].values[c] == lam[lo]
        assert cw.table["plateau_low"].values[c] == lam[hi]
        assert lam[hi] <= cw.lambda_opt.values[c] <= lam[lo]


def test_plateau_is_contiguous_and_exact_ties_without_noise():
    cur = np.array([[1.0], [3.0], [1.0], [1.0], [5.0]])
    first, last = plateau(cur, np.array([2]), np.full((5, 1), np.nan))
    assert (first[0], last[0]) == (2, 3)  # the tie at 0 is not connected


def test_benjamini_hochberg_matches_the_step_up_rule_by_hand():
    rng = np.random.default_rng(4)
    p = np.concatenate([rng.uniform(size=30), rng.uniform(0, 0.01, size=5)])
    q, rej = benjamini_hochberg(p, fdr=0.1)
    m = p.size
    order = np.argsort(p)
    ranked = p[order] * m / np.arange(1, m + 1)
    want = np.minimum.accumulate(ranked[::-1])[::-1]
    q_hand = np.empty(m)
    q_hand[order] = np.minimum(want, 1.0)
    np.testing.assert_allclose(q, q_hand, rtol=1e-12)
    below = np.nonzero(p[order] <= 0.1 * np.arange(1, m + 1) / m)[0]
    n_rej = below.max() + 1 if below.size else 0
    assert rej.sum() == n_rej


def test_per_class_p_values_hold_their_level_when_classes_are_exchangeable():
    """Balanced classes of equal noise want the same penalty: p <= 0.1 about 10 % of the time.

    Eight exchangeable classes on each of six seeds (48 p-values); under the null the
    count at or below 0.1 is Binomial(48, 0.1) (mean 4.8); 12 or more has probability
    below 0.2 %.  BH at FDR 10 % then declares (almost) no class different.
    """
    ps, flagged = [], 0
    for seed in range(6):
        ds = make_mixture(n_classes=8, n_features=10, n_samples=640, noise=1.0, separation=2.5,
                          n_test=800, seed=seed)
        tr, te = select_split(ds, "train"), select_split(ds, "test")
        fit = cd.glmnet(tr, lambda_=np.geomspace(1, 1e-4, 15))
        ev = cd.assess(fit, te.X.values, te["class"].values[te.y.values])
        cw = cd.classwise(ev, null=199, seed=seed)
        ps.append(cw.table["p_value"].values)
        flagged += cw.table.attrs["n_differ"]
    ps = np.concatenate(ps)
    assert np.all((ps > 0) & (ps <= 1))
    assert (ps <= 0.1).sum() < 12
    assert flagged <= 2


def test_classes_that_want_another_penalty_are_found_at_fdr_ten_percent():
    """Classes of very different noise want penalties decades apart: BH flags them."""
    ds = make_mixture(n_classes=6, n_features=20, n_samples=600, imbalance="step", ratio=5,
                      noise=[0.5, 0.8, 1.2, 0.6, 1.0, 1.6], separation=2.5, n_test=3000, seed=0)
    tr, te = select_split(ds, "train"), select_split(ds, "test")
    fit = cd.glmnet(tr, lambda_=np.geomspace(3, 1e-5, 28))
    ev = cd.assess(fit, te.X.values, te["class"].values[te.y.values])
    cw = cd.classwise(ev, null=199)
    t = cw.table
    assert cw.table.attrs["n_differ"] >= 3
    # a class whose optimum is the shared one has no regret and is never flagged; the class
    # furthest from the shared optimum is
    dist = np.abs(np.log10(t["lambda_opt"].values) - np.log10(t.attrs["lambda_global"]))
    flagged = t["q_value"].values <= 0.1
    assert flagged.sum() == cw.table.attrs["n_differ"]
    assert not flagged[dist == 0].any()
    assert flagged[np.argmax(dist)]
    assert f"at FDR 10%: {t.attrs['n_differ']} of 6" in repr(cw)


def test_plot_draws_each_plateau_and_stars_the_classes_bh_flags(cv):
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.collections import LineCollection

    cw = cd.classwise(cv, null=99)
    fig = cd.plot(cw)
    ax = fig.axes[0]
    (segs,) = [c.get_segments() for c in ax.collections if isinstance(c, LineCollection)]
    got = np.sort(np.array([[min(s[:, 0]), max(s[:, 0])] for s in segs]), axis=0)
    want = np.sort(np.log10(np.stack([cw.table["plateau_low"].values, cw.table["plateau_high"].values], 1)),
                   axis=0)
    np.testing.assert_allclose(got, want, rtol=1e-12)
    starred = [t.get_text().endswith("*") for t in ax.get_yticklabels()]
    assert starred == (cw.table["q_value"].values <= 0.1).tolist()


def test_an_ova_family_is_scored_as_k_binary_models():
    """family='ova': each class's one-vs-all deviance from its own sigmoid, not renormalized;
    its multinomial deviance (and the predicted class) from the normalized scores."""
    ds = make_mixture(n_classes=4, n_features=6, n_samples=300, n_test=400, seed=3)
    tr, te = select_split(ds, "train"), select_split(ds, "test")
    fit = cd.glmnet(tr, family="ova", lambda_=LAMS[:5])
    ev = cd.assess(fit, te)
    Q = cd.predict(fit, te.X.values, type="response").values  # (L, n, K) sigmoids
    assert not np.allclose(Q.sum(axis=2), 1.0)  # K binary models: no reason to sum to one
    Y = np.eye(4)[te.y.values]
    want = -2.0 * (Y * np.log(Q) + (1 - Y) * np.log1p(-Q)).sum(axis=1)
    got = cd.classwise(ev, measure="ova_deviance", null=0, debias=None).curves.values
    np.testing.assert_allclose(got, want, rtol=1e-9)
    P = Q / Q.sum(axis=2, keepdims=True)
    dev = -2.0 * (Y * np.log(P)).sum(axis=1)
    np.testing.assert_allclose(cd.classwise(ev, null=0, debias=None).curves.values, dev, rtol=1e-9)
    # the same in a cross-validated sweep, fold by fold
    cv = cd.cv_glmnet(tr, family="ova", lambda_=LAMS[:5], nfolds=3, progress=False)
    assert np.isfinite(cv.results["ova_deviance"].values).all()
