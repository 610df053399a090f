"""Resampling kernels: bootstrap counts and the per-class curves of every replicate."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from ...validation import check_choice, check_int

__all__ = ["BLOCK", "STRATA", "block_curves", "class_order", "count_blocks", "replicate_curves",
           "resample_counts"]

STRATA = ("class", None)
BLOCK = 1 << 22  # entries of one block of the count matrix (32 MB of float64)


def count_blocks(rng: np.random.Generator, bounds: np.ndarray, R: int,
                  m: np.ndarray | None = None) -> Iterator[np.ndarray]:
    """Blocks of multinomial resampling counts, (r, n) each, for rows sorted by stratum.

    Stratum ``s`` (rows ``bounds[s]:bounds[s+1]``) gets ``m[s]`` draws with replacement
    (default: its size), so each replicate keeps every stratum's count.  The block size
    depends only on ``n``, so a seed gives the same counts however they are consumed.
    """
    n = int(bounds[-1])
    sizes = np.diff(bounds)
    m = sizes if m is None else np.asarray(m)
    step = max(1, BLOCK // max(n, 1))
    for a in range(0, R, step):
        r = min(step, R - a)
        block = np.empty((r, n))
        for s in range(sizes.size):
            lo, hi, ns = bounds[s], bounds[s + 1], int(sizes[s])
            # draw indices and count them: a multinomial over the stratum's rows, one per
            # replicate, without rng.multinomial's loop over categories
            idx = rng.integers(0, ns, size=(r, int(m[s]))) + (np.arange(r) * ns)[:, None]
            block[:, lo:hi] = np.bincount(idx.ravel(), minlength=r * ns).reshape(r, ns)
        yield block


def block_curves(counts: np.ndarray, D: np.ndarray, starts: np.ndarray) -> np.ndarray:
    """Per-class curves (..., K, L) from counts (..., n) over rows sorted by class.

    The product of the counts by the block-diagonal matrix of per-sample curves, done one
    class block at a time (the zero blocks would cost K times the work).
    """
    K = starts.size - 1
    out = np.empty(counts.shape[:-1] + (K, D.shape[1]))
    for k in range(K):
        lo, hi = starts[k], starts[k + 1]
        out[..., k, :] = counts[..., lo:hi] @ D[lo:hi]
    return out


def class_order(y: np.ndarray, K: int) -> tuple[np.ndarray, np.ndarray]:
    """Rows sorted by class (stable) and the class boundaries ``starts`` (K + 1,)."""
    order = np.argsort(y, kind="stable")
    starts = np.concatenate([[0], np.cumsum(np.bincount(y, minlength=K))])
    return order, starts


def resample_counts(y, R: int, seed=None, strata: str | None = "class") -> np.ndarray:
    """Bootstrap resampling counts, (R, n): how often each sample is drawn in each replicate.

    The counts :func:`boot` draws with the same ``seed`` (``method="oof"``): multinomial
    within each class (``strata="class"``), so every replicate keeps each class's count,
    or over all samples (``strata=None``).

    Parameters
    ----------
    y : array_like of int, shape (n,)
        Class codes ``0..K-1`` (``cv.oof["y"]``).
    R : int
        Number of replicates.
    seed : int or numpy.random.SeedSequence, optional
    strata : {"class", None}

    Returns
    -------
    ndarray of float, shape (R, n)

    Examples
    --------
    >>> f = resample_counts([0, 0, 1, 1, 1], R=3, seed=0)
    >>> f.shape, f[:, :2].sum(axis=1).tolist()
    ((3, 5), [2.0, 2.0, 2.0])
    """
    R = check_int(R, "R", minimum=1)
    check_choice(strata, STRATA, "strata")
    y = np.asarray(y, dtype=np.int64)
    K = int(y.max()) + 1
    order, starts = class_order(y, K)
    bounds = starts if strata == "class" else np.array([0, y.size])
    rng = np.random.default_rng(seed)
    sorted_counts = np.concatenate(list(count_blocks(rng, bounds, R)))
    out = np.empty_like(sorted_counts)
    out[:, order] = sorted_counts
    return out


def replicate_curves(counts, loss, y, weight=None, n_classes: int | None = None) -> np.ndarray:
    """Per-class deviance curves of every replicate: one product of counts by per-sample curves.

    Class ``c``'s curve under replicate ``r`` is ``2 sum_{i: y_i = c} f_ri w_i loss_i``,
    the resampled version of ``cv.results["deviance"].sum("fold")``.

    Parameters
    ----------
    counts : array_like, shape (R, n)
        Resampling counts (:func:`resample_counts`); a row of ones is the original data.
    loss : array_like, shape (L, n)
        Per-sample loss along the grid, ``cv.oof["loss"]`` (``lambda``, ``sample``).
    y : array_like of int, shape (n,)
        Class codes.
    weight : array_like, shape (n,), optional
        Sample weights (``cv.oof["weight"]``); default ones.
    n_classes : int, optional

    Returns
    -------
    ndarray, shape (R, K, L)

    Examples
    --------
    >>> import numpy as np
    >>> loss = np.array([[1.0, 2.0, 3.0], [0.5, 0.5, 1.0]])  # L = 2, n = 3
    >>> replicate_curves(np.ones((1, 3)), loss, [0, 0, 1])[0].tolist()
    [[6.0, 2.0], [6.0, 2.0]]
    """
    loss = np.asarray(loss, dtype=np.float64)
    y = np.asarray(y, dtype=np.int64)
    counts = np.atleast_2d(np.asarray(counts, dtype=np.float64))
    w = np.ones(y.size) if weight is None else np.asarray(weight, dtype=np.float64)
    K = int(y.max()) + 1 if n_classes is None else int(n_classes)
    order, starts = class_order(y, K)
    D = 2.0 * w[:, None] * loss.T
    return block_curves(counts[:, order], D[order], starts)
