"""scikit-learn's handwritten digits (ships with scikit-learn, no download)."""

from __future__ import annotations

import numpy as np
import xarray as xr

from .features import as_features

__all__ = ["digits"]


def digits() -> xr.Dataset:
    """The 1797 8x8 handwritten digits of :func:`sklearn.datasets.load_digits`.

    Returns
    -------
    xarray.Dataset
        ``X`` (1797 ``sample`` x 64 ``feature``, float64 grey levels 0..16), ``y``
        (codes 0..9), coordinate ``class`` = the integers 0..9 (code ``k`` is digit ``k``)
        and feature names ``pixel_<row>_<col>``.

    Examples
    --------
    >>> ds = digits()
    >>> ds.X.shape, ds["class"].values.tolist()[:3], str(ds.feature.values[9])
    ((1797, 64), [0, 1, 2], 'pixel_1_1')
    """
    from sklearn.datasets import load_digits

    bunch = load_digits()
    names = [f"pixel_{r}_{c}" for r in range(8) for c in range(8)]
    classes = np.asarray(bunch.target_names, dtype=np.int64)
    return as_features(
        bunch.data,
        bunch.target,
        classes=classes.tolist(),
        feature_names=names,
        attrs={
            "source": "sklearn.datasets.load_digits",
            "description": "UCI optical recognition of handwritten digits, 8x8 pixels, 0..16",
        },
    )
