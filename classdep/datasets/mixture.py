"""Synthetic Gaussian mixtures whose classes differ in size and noise.

Classes that are rarer or noisier than the others want a different penalty than
the rest, so these mixtures give class-wise optima that differ by construction;
the large independent test sample of ``n_test`` draws lets tests compute the true
per-class optimum.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import xarray as xr

from ..validation import check_int
from .features import as_features

__all__ = ["make_mixture", "class_proportions"]


def class_proportions(
    n_classes: int,
    imbalance: str | Any | None = None,
    ratio: float = 10.0,
    minority_fraction: float = 0.5,
) -> np.ndarray:
    """Class proportions for :func:`make_mixture`.

    Parameters
    ----------
    n_classes : int
        Number of classes ``K`` (>= 2).
    imbalance : {None, "step", "exp"} or array-like of shape (n_classes,)
        ``None``: balanced. ``"step"``: the last ``m = floor(minority_fraction * K + 1/2)``
        classes are minority classes; every majority class has ``ratio`` times the samples
        of every minority class. ``"exp"``: long-tailed, proportion of class ``k``
        proportional to ``ratio ** (-k / (K - 1))``, so class 0 has ``ratio`` times
        the samples of class ``K-1``. An array: the proportions themselves (normalized to
        sum to one).
    ratio : float
        Majority-to-minority (``"step"``) or head-to-tail (``"exp"``) size ratio, >= 1.
    minority_fraction : float
        Fraction of the classes that are minority classes under ``"step"``; it must leave
        at least one majority and one minority class.

    Returns
    -------
    numpy.ndarray of shape (n_classes,)
        Proportions summing to one.

    Examples
    --------
    >>> class_proportions(4, "step", ratio=3, minority_fraction=0.5).tolist()
    [0.375, 0.375, 0.125, 0.125]
    """
    K = check_int(n_classes, "n_classes", minimum=2)
    if imbalance is None:
        return np.full(K, 1.0 / K)
    if isinstance(imbalance, str):
        if imbalance not in ("step", "exp"):
            raise ValueError(
                f"imbalance={imbalance!r} is not one of None, 'step', 'exp' or an array of "
                "class proportions."
            )
        if not (np.isfinite(ratio) and ratio >= 1):
            raise ValueError(f"ratio={ratio!r} must be a number >= 1 (majority / minority size).")
        if imbalance == "exp":
            p = float(ratio) ** (-np.arange(K) / (K - 1))
        else:
            m = int(np.floor(minority_fraction * K + 0.5))
            if not 1 <= m <= K - 1:
                raise ValueError(
                    f"minority_fraction={minority_fraction!r} makes {m} of the {K} classes "
                    "minority classes; it must leave at least one minority and one majority class."
                )
            p = np.where(np.arange(K) < K - m, float(ratio), 1.0)
        return p / p.sum()
    p = np.asarray(imbalance, dtype=np.float64)
    if p.shape != (K,):
        raise ValueError(
            f"imbalance has shape {p.shape}; as an array it needs one proportion per class, "
            f"shape ({K},)."
        )
    if not np.isfinite(p).all() or (p <= 0).any():
        raise ValueError(
            "imbalance has entries that are <= 0, NaN or inf; proportions must be > 0."
        )
    return p / p.sum()


def _apportion(p: np.ndarray, n: int) -> np.ndarray:
    """Integer counts summing to ``n``, closest to ``p * n`` (largest remainders)."""
    exact = p * n
    counts = np.floor(exact).astype(np.int64)
    short = n - counts.sum()
    order = np.argsort(-(exact - counts), kind="stable")
    counts[order[:short]] += 1
    return counts


def _class_means(rng: np.random.Generator, K: int, d: int, separation: float) -> np.ndarray:
    directions = rng.standard_normal((d, K))
    if d >= K:
        directions, _ = np.linalg.qr(directions)  # orthonormal columns
    else:
        directions /= np.linalg.norm(directions, axis=0, keepdims=True)
    return separation * directions.T


def _draw(rng, means, noise, counts) -> tuple[np.ndarray, np.ndarray]:
    y = np.repeat(np.arange(means.shape[0]), counts)
    X = means[y] + noise[y, None] * rng.standard_normal((y.size, means.shape[1]))
    order = rng.permutation(y.size)
    return X[order], y[order]


def make_mixture(
    n_classes: int = 5,
    n_features: int = 10,
    n_samples: int = 1000,
    imbalance: str | Any | None = None,
    ratio: float = 10.0,
    minority_fraction: float = 0.5,
    noise: float | Any | None = None,
    separation: float = 3.0,
    n_test: int = 0,
    balanced_test: bool = True,
    seed: int | None = None,
) -> xr.Dataset:
    """Gaussian mixture whose classes differ in size and noise.

    Class ``k`` is ``N(mu_k, noise_k**2 I)`` in ``n_features`` dimensions. The means lie at
    distance ``separation`` from the origin along random orthonormal directions (when
    ``n_features >= n_classes``; otherwise random unit directions), so two classes of
    noise ``s`` are ``separation * sqrt(2) / (2 s)`` standard deviations from their
    midpoint. The ``n_samples`` training samples are split among classes by
    :func:`class_proportions` (exact counts, largest remainders), then shuffled.

    Parameters
    ----------
    n_classes, n_features, n_samples : int
        ``K`` (>= 2), ``d`` (>= 1) and the training sample size.
    imbalance : {None, "step", "exp"} or array-like
        Class proportions, see :func:`class_proportions`. Under ``"step"`` the *last*
        ``floor(minority_fraction * K + 1/2)`` classes are the minority classes and each
        majority class has ``ratio`` times as many samples as each minority class.
    ratio, minority_fraction : float
        See :func:`class_proportions`.
    noise : float or array-like of shape (n_classes,), optional
        Per-class noise standard deviation; a float gives every class the same; default
        ``np.linspace(0.5, 1.5, n_classes)`` (class 0 cleanest, the last class noisiest).
    separation : float
        Distance of each class mean from the origin (> 0).
    n_test : int
        Size of an independent test sample drawn from the same mixture (0 for none).
    balanced_test : bool
        Draw the test sample with equal class counts (default) rather than the training
        proportions.
    seed : int, optional
        Seed for :func:`numpy.random.default_rng`; the same seed gives the same data.

    Returns
    -------
    xarray.Dataset
        As :func:`~classdep.datasets.as_features` (float64 ``X``, classes ``0..K-1``) plus a
        ``split`` coordinate over ``sample`` ("train" for the first ``n_samples`` samples,
        then "test"), and the true parameters as data variables ``class_mean``
        (``class``, ``feature``), ``class_noise`` and ``class_prior`` (``class``; the
        training proportions). Use :func:`~classdep.datasets.select_split` for one split.

    Examples
    --------
    >>> ds = make_mixture(n_classes=4, n_samples=440, imbalance="step", ratio=10, seed=0)
    >>> np.bincount(ds.y.values).tolist()
    [200, 200, 20, 20]
    """
    K = check_int(n_classes, "n_classes", minimum=2)
    d = check_int(n_features, "n_features", minimum=1)
    n = check_int(n_samples, "n_samples", minimum=2 * K)
    n_test = check_int(n_test, "n_test", minimum=0)
    if seed is not None:
        seed = check_int(seed, "seed", minimum=0)
    if not (np.isfinite(separation) and separation > 0):
        raise ValueError(f"separation={separation!r} must be a positive number.")
    p = class_proportions(K, imbalance, ratio=ratio, minority_fraction=minority_fraction)
    if noise is None:
        sigma = np.linspace(0.5, 1.5, K)
    else:
        sigma = np.asarray(noise, dtype=np.float64)
        if sigma.ndim == 0:
            sigma = np.full(K, float(sigma))
    if sigma.shape != (K,):
        raise ValueError(f"noise has shape {sigma.shape}; give a number or one per class ({K},).")
    if not np.isfinite(sigma).all() or (sigma <= 0).any():
        raise ValueError("noise has entries that are <= 0, NaN or inf; noise scales must be > 0.")

    counts = _apportion(p, n)
    if counts.min() < 1:
        raise ValueError(
            f"n_samples={n} leaves class {int(counts.argmin())} without samples at these "
            "proportions; raise n_samples or lower ratio."
        )
    rng = np.random.default_rng(seed)
    means = _class_means(rng, K, d, float(separation))
    X, y = _draw(rng, means, sigma, counts)
    split = ["train"] * n
    if n_test:
        test_counts = _apportion(np.full(K, 1.0 / K) if balanced_test else p, n_test)
        X_test, y_test = _draw(rng, means, sigma, test_counts)
        X, y = np.concatenate([X, X_test]), np.concatenate([y, y_test])
        split += ["test"] * n_test

    attrs = {
        "source": "classdep.datasets.make_mixture",
        "n_classes": K,
        "n_features": d,
        "n_samples": n,
        "imbalance": imbalance if imbalance is None or isinstance(imbalance, str) else "custom",
        "ratio": float(ratio),
        "minority_fraction": float(minority_fraction),
        "separation": float(separation),
        "n_test": n_test,
        "balanced_test": bool(balanced_test),
        "seed": seed,
    }
    ds = as_features(X, y, classes=list(range(K)), attrs=attrs)
    return ds.assign_coords(split=("sample", np.array(split))).assign(
        class_mean=(("class", "feature"), means),
        class_noise=("class", sigma),
        class_prior=("class", p),
    )
