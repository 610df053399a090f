"""Fold assignment of a cross-validated sweep: class-stratified, or R's ``foldid``."""

from __future__ import annotations

import numpy as np

__all__ = ["make_folds"]


def make_folds(codes: np.ndarray, nfolds: int = 10, foldid=None, seed: int = 0) -> np.ndarray:
    """Fold index 0..nfolds-1 of every sample: class-stratified, or R's 1-based ``foldid``.

    Parameters
    ----------
    codes : (n,) int
        Class code of every sample (the folds are stratified by it).
    nfolds : int
        Number of folds (scikit-learn's ``StratifiedKFold``, shuffled by ``seed``).
    foldid : (n,) int, optional
        R's fold numbers (or any labels) per sample; overrides ``nfolds``.
    seed : int
        Seed of the shuffle.

    Returns
    -------
    (n,) int64
        The 0-based fold of every sample.

    Examples
    --------
    >>> make_folds(np.array([0, 0, 1, 1]), nfolds=2).tolist()
    [1, 0, 0, 1]
    """
    n = codes.size
    if foldid is not None:
        f = np.asarray(foldid)
        if f.shape != (n,) or not np.issubdtype(f.dtype, np.integer):
            raise ValueError(f"foldid must hold one integer fold number per sample (shape ({n},)).")
        vals = np.unique(f)
        if vals.size < 2:
            raise ValueError("foldid must name at least two folds.")
        return np.searchsorted(vals, f)  # R's 1..nfolds (or any labels) → 0..nfolds-1
    from sklearn.model_selection import StratifiedKFold

    out = np.empty(n, dtype=np.int64)
    splitter = StratifiedKFold(n_splits=int(nfolds), shuffle=True, random_state=seed)
    for m, (_, test) in enumerate(splitter.split(np.zeros(n), codes)):
        out[test] = m
    return out
