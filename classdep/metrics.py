"""Per-class metrics of a probabilistic classifier, per (lambda, class, fold).

NumPy kernels that score predicted probabilities ``P`` of shape (L, n, K) -- one
row of K probabilities per sample, for each of L models (the lambdas of a path) --
against integer labels, separately in each of G groups of samples (the CV folds),
with optional sample weights; and thin xarray wrappers that return the same numbers
as an :class:`xarray.Dataset` with dims (``lambda``, ``class``, ``fold``).

Everything is built from a few additive sums per (lambda, fold, true class): the
class size ``n``, the true positives ``tp``, the confusion matrix, the deviance
sums and the pairwise "wins" that W2CA needs.  Ratios are computed from those
sums, so :func:`pooled` can add the sums over folds and recompute every metric
exactly as if all out-of-fold samples had been scored at once.

**Definitions.**  Test set of N samples (weighted: N = sum of weights), n_c of them of class c,
predicted probabilities p_ic, predicted class yhat_i = argmax_k p_ik (the first
maximum on ties).  TP_c, FN_c, FP_c are (weighted) counts of samples with
y = c and yhat = c, y = c and yhat != c, y != c and yhat = c.  The conventions
(per-class accuracy is recall, precision is 1 for a class never predicted, the
worst-class measures) are those of [Bitterwolf]: Bitterwolf et al. 2022,
"Classifiers should do well even on their worst classes" (ICML
"Shift happens" workshop; metrics as implemented in the public repository
shift-happens-benchmark/icml-2022, ``shifthappens/tasks/worst_case/``).

===============================  ==================================================================
name                             definition
===============================  ==================================================================
``n``                            n_c, the (weighted) number of samples of class c
``tp``                           TP_c
``recall``                       TP_c / n_c ("per-class accuracy" of Balestriero et al. 2022,
                                 Kirichenko et al. 2023 and [Bitterwolf]); NaN where n_c = 0
``precision``                    TP_c / (TP_c + FP_c); **1 where class c is never predicted**
                                 (the rule of [Bitterwolf]'s code)
``ova_accuracy``                 one-vs-all accuracy 1 - (FN_c + FP_c) / N.  Since
                                 sum_c (FN_c + FP_c) = 2 * #errors, the mean one-vs-all error is
                                 2 * error rate / K
``deviance``                     D_c = -2 sum_{i: y_i = c} log p_ic (p clipped at 1e-300); the
                                 D_c add up to the total deviance exactly
``ova_deviance``                 -2 sum_i [1{y_i = c} log p_ic + 1{y_i != c} log(1 - p_ic)] (both
                                 clipped at 1e-300); counts false positives too and does *not*
                                 add up to the total deviance
``total_deviance``               -2 sum_i log p_{i, y_i} = sum_c D_c
``accuracy``                     sum_c TP_c / N
``balanced_accuracy``            mean of ``recall`` over the classes present (n_c > 0)
``worst_class_accuracy``         WCA [Bitterwolf]: min of ``recall`` over the classes present
``worst_k_recall``               W10CR/W100CR [Bitterwolf] ("heuristic" worst-k recall): take the k
                                 present classes of lowest recall (ties: lower class index first),
                                 return sum TP_c / sum n_c over them.  Default k = max(1, ceil(K/10))
``worst_k_balanced_accuracy``    mean recall over those same k classes [Bitterwolf]
``pairwise_accuracy``            two-class accuracy of the pair {c, j} when the classifier is
                                 restricted to those two classes:
                                 1/2 [P(p_c > p_j | y = c) + P(p_j > p_c | y = j)]; NaN on the
                                 diagonal and where either class is absent
``worst_pair_accuracy``          W2CA [Bitterwolf]: min of ``pairwise_accuracy`` over pairs of present
                                 classes -- the natural "ambiguous pair" metric
``pairwise_wins``                the additive sum behind it: (weighted) number of samples of class c
                                 with p_c > p_j, ties counting ``ties`` (1/2 by default; the
                                 shift-happens code uses a strict ``>``, i.e. ``ties=0``); zero on
                                 the diagonal
``confusion``                    (weighted) counts of (true class, predicted class)
===============================  ==================================================================

Shapes: per-class quantities are (L, K, G), per-fold summaries (L, G), confusion,
pairwise wins and pairwise accuracy (L, K, K, G).  A 2-D ``P`` (n, K) is one model:
the leading L axis is dropped from every output.

Examples
--------
>>> import numpy as np
>>> from classdep.metrics import classwise_scores
>>> P = np.array([[0.7, 0.2, 0.1], [0.3, 0.6, 0.1], [0.2, 0.5, 0.3], [0.1, 0.1, 0.8]])
>>> s = classwise_scores(P, np.array([0, 1, 2, 2]))
>>> s["recall"][:, 0].tolist(), float(s["accuracy"][0])
([1.0, 1.0, 0.5], 0.75)
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import xarray as xr

from .backend import to_numpy
from .validation import check_weights

__all__ = ["classwise_scores", "pooled", "classwise_dataset", "default_k", "COUNT_KEYS"]

#: Probabilities are clipped at this value before taking logarithms.
TINY = 1e-300
_LOG_TINY = math.log(TINY)

#: The additive sums from which every metric is recomputed (see :func:`pooled`).
COUNT_KEYS = ("n", "tp", "deviance", "ova_deviance", "confusion", "pairwise_wins")

#: Work arrays of one chunk of lambdas hold at most this many (sample x class) entries.
_CHUNK_ELEMENTS = 1 << 20

_PER_CLASS = ("deviance", "recall", "precision", "ova_accuracy", "ova_deviance", "n", "tp")
_PER_FOLD = (
    "total_deviance",
    "accuracy",
    "balanced_accuracy",
    "worst_class_accuracy",
    "worst_k_recall",
    "worst_k_balanced_accuracy",
    "worst_pair_accuracy",
)
_PAIRWISE = ("confusion", "pairwise_wins", "pairwise_accuracy")


def default_k(n_classes: int) -> int:
    """Default number of worst classes pooled by ``worst_k_recall``: max(1, ceil(K/10)).

    Examples
    --------
    >>> default_k(10), default_k(11), default_k(1000)
    (1, 2, 100)
    """
    return max(1, math.ceil(n_classes / 10))


# --------------------------------------------------------------------------- input checks


def _check_inputs(P, y, group, n_groups, weights):
    P = to_numpy(P)
    if P.dtype == object or not (np.issubdtype(P.dtype, np.floating) or np.issubdtype(P.dtype, np.integer)):
        raise TypeError(f"P has dtype {P.dtype}; pass predicted probabilities as a float array.")
    squeeze = P.ndim == 2
    if squeeze:
        P = P[None]
    if P.ndim != 3:
        raise ValueError(
            f"P has shape {P.shape}; it must be (n_samples, n_classes) or (n_lambda, n_samples, n_classes)."
        )
    L, n, K = P.shape
    if n == 0 or K == 0:
        raise ValueError(f"P has shape {P.shape}; it needs at least one sample and one class.")
    lo, hi = P.min(), P.max()  # NaN propagates, so this one test also catches NaN and inf
    if not (lo >= 0 and hi <= 1):
        if not np.isfinite(P).all():
            raise ValueError("P has NaN or inf entries; predicted probabilities must be finite.")
        raise ValueError(
            f"P has entries outside [0, 1] (min {lo:.3g}, max {hi:.3g}); pass probabilities, "
            "not logits (apply a softmax first)."
        )
    y = _check_codes(y, n, "y")
    if y.size and y.max() >= K:
        raise ValueError(f"y has code {int(y.max())} but P has only {K} classes; codes must be 0..{K - 1}.")
    if group is None:
        g = np.zeros(n, dtype=np.int64)
        G = 1 if n_groups is None else int(n_groups)
    else:
        g = _check_codes(group, n, "group")
        G = int(g.max()) + 1 if n_groups is None else int(n_groups)
    if G < 1 or (g.size and g.max() >= G):
        raise ValueError(f"group has codes up to {int(g.max())} but n_groups is {G}; codes must be 0..G-1.")
    w = None if weights is None else check_weights(weights, n)
    return P, y, g, G, w, squeeze


def _check_codes(codes, n: int, name: str) -> np.ndarray:
    arr = to_numpy(codes)
    if arr.shape != (n,):
        raise ValueError(f"{name} has shape {arr.shape}; it needs one integer code per sample, shape ({n},).")
    if np.issubdtype(arr.dtype, np.floating):
        if not (np.isfinite(arr).all() and np.all(arr == np.round(arr))):
            raise ValueError(f"{name} must hold integer codes; got non-integer values.")
    elif not (np.issubdtype(arr.dtype, np.integer) or np.issubdtype(arr.dtype, np.bool_)):
        raise TypeError(f"{name} has dtype {arr.dtype}; pass integer codes (see validation.check_labels).")
    arr = arr.astype(np.int64)
    if arr.size and arr.min() < 0:
        raise ValueError(f"{name} has negative codes; codes must be 0, 1, 2, ...")
    return arr


# --------------------------------------------------------------------------- kernels


def _count_sums(P, y, g, G, w, ties):
    """The additive sums, laid out (L, G, K[, K]) for the kernels."""
    L, n, K = P.shape
    GK = G * K
    seg = g * K + y  # (fold, true class) segment of each sample
    order = np.argsort(seg, kind="stable")
    seg_s, y_s = seg[order], y[order]
    w_s = None if w is None else w[order]
    sizes = np.bincount(seg, minlength=GK)
    nonempty = np.flatnonzero(sizes)
    starts = (np.cumsum(sizes) - sizes)[nonempty]

    def segsum(V, dtype=None):
        """Sum V (l, n, ...) over the samples of each segment -> (l, G*K, ...), in float64."""
        out = np.zeros((V.shape[0], GK) + V.shape[2:])
        out[:, nonempty] = np.add.reduceat(V, starts, axis=1, dtype=dtype)
        return out

    w_col = None if w_s is None else w_s[:, None]
    int_sum = np.int32 if n < 2**31 else np.int64

    def count(mask):
        """(Weighted) number of True entries of mask (l, n, K) per segment -> (l, G*K, K)."""
        if w_col is None:
            return segsum(mask.view(np.uint8), dtype=int_sum)
        return segsum(np.multiply(mask, w_col, out=buf[: mask.shape[0]]))

    counts = {
        "n": np.empty((L, G, K)),
        "deviance": np.empty((L, G, K)),
        "ova_deviance": np.empty((L, G, K)),
        "confusion": np.empty((L, G, K, K)),
        "pairwise_wins": np.empty((L, G, K, K)),
    }
    n_seg = np.bincount(seg, weights=w, minlength=GK)  # (weighted) size of each segment
    counts["n"][:] = n_seg.reshape(G, K)
    diag = np.arange(K)
    step = max(1, _CHUNK_ELEMENTS // (n * K))
    buf = np.empty((min(step, L), n, K))
    for a in range(0, L, step):
        b = min(L, a + step)
        l = b - a
        Pc = np.take(P[a:b], order, axis=1).astype(np.float64, copy=False)  # (l, n, K), sorted samples
        work = buf[:l]
        p_true = np.take_along_axis(Pc, y_s[None, :, None], axis=2)[..., 0]  # (l, n)
        # deviance: -2 sum over the samples of each (fold, class) of log p_{i, y_i}
        dev = -2.0 * np.log(np.maximum(p_true, TINY))
        if w_s is not None:
            dev *= w_s
        dev = segsum(dev).reshape(l, G, K)
        # confusion counts; TP is its diagonal
        pred = Pc.argmax(axis=2)
        idx = ((np.arange(l)[:, None] * GK + seg_s) * K + pred).ravel()
        cw = None if w_s is None else np.broadcast_to(w_s, (l, n)).ravel()
        counts["confusion"][a:b] = np.bincount(idx, weights=cw, minlength=l * GK * K).reshape(l, G, K, K)
        # one-vs-all deviance: sum over samples of class c' of log(1 - p_ic), for every column c
        with np.errstate(divide="ignore"):
            np.log1p(np.negative(Pc, out=work), out=work)
        np.maximum(work, _LOG_TINY, out=work)
        if w_col is not None:
            work *= w_col
        S = segsum(work).reshape(l, G, K, K)
        other = S.sum(axis=2) - S[:, :, diag, diag]  # samples with y != c
        counts["deviance"][a:b] = dev
        counts["ova_deviance"][a:b] = dev - 2.0 * other
        # pairwise wins: 1{p_j < p_c} + ties * 1{p_j = p_c}, c the true class
        cmp = np.less(Pc, p_true[..., None])
        wins = count(cmp)
        if ties:
            np.equal(Pc, p_true[..., None], out=cmp)
            if np.count_nonzero(cmp) > cmp.shape[0] * n:  # ties besides p_c = p_c itself
                wins += ties * count(cmp)
        wins = wins.reshape(l, G, K, K)
        wins[:, :, diag, diag] = 0.0
        counts["pairwise_wins"][a:b] = wins
    counts["tp"] = counts["confusion"][..., diag, diag]
    # public layout: fold axis last
    return {key: np.moveaxis(v, 1, -1) for key, v in counts.items()}


def _divide(num, den, fill=np.nan):
    out = np.full(np.broadcast(num, den).shape, fill, dtype=np.float64)
    np.divide(num, den, out=out, where=np.broadcast_to(den > 0, out.shape))
    return out


def _finish(counts: dict[str, np.ndarray], k: int | None) -> dict[str, np.ndarray]:
    """Every metric from the additive sums (layout (..., K, G) and (..., K, K, G))."""
    n, tp, conf, wins = counts["n"], counts["tp"], counts["confusion"], counts["pairwise_wins"]
    K = n.shape[-2]
    k = default_k(K) if k is None else int(k)
    if k < 1:
        raise ValueError(f"k = {k}; the number of worst classes must be at least 1.")
    present = n > 0
    n_present = present.sum(axis=-2)  # (..., G)
    N = n.sum(axis=-2)
    predicted = conf.sum(axis=-3)  # column sums: (weighted) number predicted as c
    recall = _divide(tp, n)
    out = {key: counts[key] for key in COUNT_KEYS}
    out["recall"] = recall
    out["precision"] = _divide(tp, predicted, fill=1.0)
    out["ova_accuracy"] = 1.0 - _divide((n - tp) + (predicted - tp), N[..., None, :])
    out["total_deviance"] = counts["deviance"].sum(axis=-2)
    out["accuracy"] = _divide(tp.sum(axis=-2), N)
    out["balanced_accuracy"] = _divide(np.where(present, recall, 0.0).sum(axis=-2), n_present)
    rec_inf = np.where(present, recall, np.inf)
    worst = rec_inf.min(axis=-2)
    out["worst_class_accuracy"] = np.where(np.isinf(worst), np.nan, worst)
    # worst k: the k present classes of lowest recall, ties broken by class index
    order = np.argsort(rec_inf, axis=-2, kind="stable")
    take = np.arange(K)[:, None] < np.minimum(k, n_present)[..., None, :]
    tp_k = np.where(take, np.take_along_axis(tp, order, axis=-2), 0.0).sum(axis=-2)
    n_k = np.where(take, np.take_along_axis(n, order, axis=-2), 0.0).sum(axis=-2)
    out["worst_k_recall"] = _divide(tp_k, n_k)
    rec_k = np.where(take, np.take_along_axis(np.where(present, recall, 0.0), order, axis=-2), 0.0)
    out["worst_k_balanced_accuracy"] = _divide(rec_k.sum(axis=-2), take.sum(axis=-2))
    # W2CA from the pairwise wins
    rate = _divide(wins, n[..., :, None, :])  # P(p_c > p_j | y = c), rows c
    pair = 0.5 * (rate + np.swapaxes(rate, -3, -2))
    valid = present[..., :, None, :] & present[..., None, :, :] & ~np.eye(K, dtype=bool)[:, :, None]
    pair = np.where(valid, pair, np.nan)
    out["pairwise_accuracy"] = pair
    worst_pair = np.where(valid, pair, np.inf).min(axis=(-3, -2))
    out["worst_pair_accuracy"] = np.where(np.isinf(worst_pair), np.nan, worst_pair)
    return out


# --------------------------------------------------------------------------- public API


def classwise_scores(
    P: Any,
    y: Any,
    group: Any = None,
    n_groups: int | None = None,
    weights: Any = None,
    *,
    k: int | None = None,
    ties: float = 0.5,
    binary: Any = None,
) -> dict[str, np.ndarray]:
    """Per-class and worst-class metrics for every model and every group of samples.

    Parameters
    ----------
    P : array_like, shape (L, n, K) or (n, K)
        Predicted probabilities of L models (e.g. the lambdas of a path) for n samples and
        K classes.  A 2-D array is one model; the L axis is then dropped from every output.
        NumPy, CuPy or xarray input; computed in float64.
    y : array_like of int, shape (n,)
        True class codes in ``0..K-1``.
    group : array_like of int, shape (n,), optional
        Group (CV fold) code ``0..G-1`` of every sample; ``None`` puts all samples in one group.
    n_groups : int, optional
        Number of groups G; default ``max(group) + 1``.  Empty groups give NaN ratios.
    weights : array_like, shape (n,), optional
        Non-negative sample weights, e.g. bootstrap resampling counts; every count becomes a
        weighted count and every metric its weighted version.
    k : int, optional
        Number of worst classes pooled by ``worst_k_recall`` (W10CR: ``k=10``); default
        ``max(1, ceil(K / 10))``.
    ties : float, default 0.5
        What a tie p_c = p_j counts in ``pairwise_wins`` / W2CA (1/2 by default; 0 reproduces the
        strict ``>`` of the shift-happens code).
    binary : array_like, shape of ``P``, optional
        The probabilities of K independent binary (one-vs-all) models, whose normalized
        scores ``P`` are: ``ova_deviance`` is then computed from them, as the binary
        models' own deviance (``family="ova"``).

    Returns
    -------
    dict of str to ndarray
        Per (L, K, G): ``deviance``, ``recall``, ``precision``, ``ova_accuracy``,
        ``ova_deviance``, ``n``, ``tp``.  Per (L, G): ``total_deviance``, ``accuracy``,
        ``balanced_accuracy``, ``worst_class_accuracy``, ``worst_k_recall``,
        ``worst_k_balanced_accuracy``, ``worst_pair_accuracy``.  Per (L, K, K, G):
        ``confusion`` (rows true class, columns predicted class), ``pairwise_wins`` and
        ``pairwise_accuracy``.  Definitions in the module docstring.

    Notes
    -----
    Samples are sorted once by (group, class); every sum is then a segmented
    ``np.add.reduceat`` (or a ``np.bincount``) over the sample axis, with the lambdas
    processed in chunks so that the work arrays stay at a few tens of megabytes.  The
    cost is O(L n K); L = 50, n = 60000, K = 10, G = 5 takes well under a second.

    Examples
    --------
    >>> import numpy as np
    >>> P = np.array([[[0.6, 0.4], [0.3, 0.7], [0.5, 0.5], [0.2, 0.8]]])  # L = 1, n = 4, K = 2
    >>> y = np.array([0, 1, 0, 1])
    >>> s = classwise_scores(P, y, group=np.array([0, 0, 1, 1]))
    >>> s["recall"].shape, s["accuracy"].shape, s["confusion"].shape
    ((1, 2, 2), (1, 2), (1, 2, 2, 2))
    >>> s["recall"][0].tolist()  # rows: classes, columns: groups
    [[1.0, 1.0], [1.0, 1.0]]
    >>> s["worst_pair_accuracy"][0].tolist()  # the tie at 0.5/0.5 counts one half
    [1.0, 0.75]
    """
    P, y, g, G, w, squeeze = _check_inputs(P, y, group, n_groups, weights)
    ties = float(ties)
    if not 0.0 <= ties <= 1.0:
        raise ValueError(f"ties = {ties}; a tie counts between 0 and 1 (default 1/2).")
    counts = _count_sums(P, y, g, G, w, ties)
    if binary is not None:
        # K binary models are scored as such: each class's one-vs-all deviance from its own
        # sigmoid, not from the scores normalized over the classes
        Q = _check_inputs(binary, y, group, n_groups, weights)[0]
        if Q.shape != P.shape:
            raise ValueError(f"binary has shape {Q.shape} but P has {P.shape}; pass the same models.")
        counts["ova_deviance"] = _count_sums(Q, y, g, G, w, ties)["ova_deviance"]
    out = _finish(counts, k)
    if squeeze:
        out = {key: v[0] for key, v in out.items()}
    return out


def pooled(scores: dict[str, np.ndarray] | xr.Dataset, k: int | None = None):
    """Pool the groups: add the count sums over groups and recompute every ratio.

    This is the score of all out-of-fold samples taken together (cv.glmnet's
    ``grouped=FALSE``), exactly: the result equals :func:`classwise_scores` with
    ``group=None``.

    Parameters
    ----------
    scores : dict or xarray.Dataset
        Output of :func:`classwise_scores` (the group axis last) or of
        :func:`classwise_dataset` (the ``fold`` dim).
    k : int, optional
        Number of worst classes for ``worst_k_recall``; pass the value used for ``scores``
        when it was not the default.

    Returns
    -------
    dict or xarray.Dataset
        The same names without the group axis: per (L, K), per (L,) and (L, K, K); a Dataset
        loses its ``fold`` dim.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> P = rng.dirichlet(np.ones(3), size=(2, 30))
    >>> y, folds = rng.integers(0, 3, 30), np.arange(30) % 5
    >>> pool = pooled(classwise_scores(P, y, folds))
    >>> np.allclose(pool["recall"], classwise_scores(P, y)["recall"][..., 0])
    True
    """
    if isinstance(scores, xr.Dataset):
        return _pooled_dataset(scores, k)
    missing = [key for key in COUNT_KEYS if key not in scores]
    if missing:
        raise KeyError(f"scores lacks {missing}; pass the output of classwise_scores.")
    counts = {key: np.asarray(scores[key]).sum(axis=-1, keepdims=True) for key in COUNT_KEYS}
    return {key: v[..., 0] for key, v in _finish(counts, k).items()}


def classwise_dataset(
    P: Any,
    y: Any,
    classes: Sequence | None = None,
    lambdas: Any = None,
    group: Any = None,
    n_groups: int | None = None,
    weights: Any = None,
    *,
    k: int | None = None,
    ties: float = 0.5,
    binary: Any = None,
) -> xr.Dataset:
    """:func:`classwise_scores` as an :class:`xarray.Dataset` over (``lambda``, ``class``, ``fold``).

    Parameters
    ----------
    P, y, group, n_groups, weights, k, ties, binary
        As in :func:`classwise_scores`.  ``P`` may also be a DataArray with dims
        (``lambda``, ``sample``, ``class``); its ``lambda`` coordinate is then the default
        for ``lambdas``.
    classes : sequence, optional
        Class names, K of them (default ``0..K-1``): coords ``class``, ``predicted`` and
        ``versus``.
    lambdas : array_like, optional
        The L values of the ``lambda`` coord (default ``0..L-1``).  With a 2-D ``P`` there is
        no ``lambda`` dim; a scalar ``lambdas`` then becomes a scalar coord.

    Returns
    -------
    xarray.Dataset
        Per-class vars with dims (``lambda``, ``class``, ``fold``); per-fold summaries with
        (``lambda``, ``fold``); ``confusion`` with (``lambda``, ``class``, ``predicted``,
        ``fold``); ``pairwise_wins`` and ``pairwise_accuracy`` with (``lambda``, ``class``,
        ``versus``, ``fold``).  ``fold`` runs over ``0..G-1``.  ``attrs`` hold ``k`` and
        ``ties``; the Dataset round-trips through netCDF.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(1)
    >>> P = rng.dirichlet(np.ones(3), size=(4, 60))
    >>> ds = classwise_dataset(P, rng.integers(0, 3, 60), classes=["a", "b", "c"],
    ...                        lambdas=[1.0, 0.1, 0.01, 0.001], group=np.arange(60) % 3)
    >>> ds["recall"].dims, ds["accuracy"].dims
    (('lambda', 'class', 'fold'), ('lambda', 'fold'))
    >>> ds["confusion"].dims
    ('lambda', 'class', 'predicted', 'fold')
    """
    if lambdas is None and isinstance(P, xr.DataArray) and "lambda" in P.coords and P.ndim == 3:
        lambdas = P["lambda"].values
    if isinstance(P, xr.DataArray) and P.ndim == 3 and "lambda" in P.dims:
        P = P.transpose("lambda", ...)
    scores = classwise_scores(P, y, group, n_groups, weights, k=k, ties=ties, binary=binary)
    two_d = scores["accuracy"].ndim == 1
    K, G = scores["n"].shape[-2:]
    if classes is None:
        classes = np.arange(K)
    classes = np.asarray(classes)
    if classes.shape != (K,):
        raise ValueError(f"classes has {classes.size} names but P has {K} classes.")
    lead: tuple[str, ...] = () if two_d else ("lambda",)
    coords: dict[str, Any] = {"class": classes, "predicted": classes, "versus": classes, "fold": np.arange(G)}
    if two_d:
        if lambdas is not None:
            lam = np.asarray(lambdas)
            if lam.size != 1:
                raise ValueError(f"P is 2-D (one model) but {lam.size} lambdas were given.")
            coords["lambda"] = lam.reshape(())
    else:
        L = scores["accuracy"].shape[0]
        lam = np.arange(L) if lambdas is None else np.asarray(lambdas).reshape(-1)
        if lam.shape != (L,):
            raise ValueError(f"lambdas has {lam.size} values but P has {L} models (its first axis).")
        coords["lambda"] = lam
    data = {}
    for name in _PER_CLASS:
        data[name] = (lead + ("class", "fold"), scores[name])
    for name in _PER_FOLD:
        data[name] = (lead + ("fold",), scores[name])
    data["confusion"] = (lead + ("class", "predicted", "fold"), scores["confusion"])
    for name in ("pairwise_wins", "pairwise_accuracy"):
        data[name] = (lead + ("class", "versus", "fold"), scores[name])
    k_used = default_k(K) if k is None else int(k)
    return xr.Dataset(data, coords=coords, attrs={"k": k_used, "ties": float(ties)})


def _pooled_dataset(ds: xr.Dataset, k: int | None) -> xr.Dataset:
    if "fold" not in ds.dims:
        raise ValueError("the Dataset has no 'fold' dim to pool over.")
    if k is None:
        k = ds.attrs.get("k")
    order = {
        "n": ("class",),
        "tp": ("class",),
        "deviance": ("class",),
        "ova_deviance": ("class",),
        "confusion": ("class", "predicted"),
        "pairwise_wins": ("class", "versus"),
    }
    lead = tuple(d for d in ds["n"].dims if d not in ("class", "fold"))
    counts = {key: ds[key].transpose(*lead, *dims, "fold").values for key, dims in order.items()}
    scores = {key: v[..., 0] for key, v in _finish(
        {key: v.sum(axis=-1, keepdims=True) for key, v in counts.items()}, k).items()}
    data = {}
    for name in _PER_CLASS:
        data[name] = (lead + ("class",), scores[name])
    for name in _PER_FOLD:
        data[name] = (lead, scores[name])
    data["confusion"] = (lead + ("class", "predicted"), scores["confusion"])
    for name in ("pairwise_wins", "pairwise_accuracy"):
        data[name] = (lead + ("class", "versus"), scores[name])
    coords = {name: c for name, c in ds.coords.items() if "fold" not in c.dims}
    attrs = dict(ds.attrs, k=default_k(ds.sizes["class"]) if k is None else int(k))
    return xr.Dataset(data, coords=coords, attrs=attrs)
