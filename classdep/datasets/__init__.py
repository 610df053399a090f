"""Features as xarray Datasets: the data model, file formats, and the datasets classdep ships.

- :func:`as_features` puts any matrix and labels into the features Dataset
  (``X`` (``sample``, ``feature``), ``y`` codes, ``class`` names); :func:`select_split`
  picks the train or test part of one that has a ``split`` coordinate.
- :func:`save_features` / :func:`load_features`: ``.npz``, netCDF, zarr, PyTorch.
- :func:`digits` (scikit-learn's), :func:`fashion_mnist` (Debian's IDX files, read by
  :func:`read_idx`) and :func:`fashion_mnist_features` (penultimate features of a small MLP).
- :func:`make_mixture`: Gaussian mixtures whose classes differ in size and noise.
- :func:`extract_features`: a PyTorch model's penultimate (or any layer's) features of a
  dataset, in memory or written to a zarr store (needs torch).
"""

from __future__ import annotations

from .cnn import fashion_mnist_cnn_features, small_cnn
from .digits import digits
from .extract import extract_features, weights_digest
from .fashion_mnist import (
    CLASS_NAMES,
    fashion_mnist,
    fashion_mnist_dir,
    fashion_mnist_features,
    read_idx,
)
from .features import as_features, select_split
from .io import SUPPORTED_FORMATS, load_features, save_features
from .mixture import class_proportions, make_mixture

__all__ = [
    "CLASS_NAMES",
    "SUPPORTED_FORMATS",
    "as_features",
    "class_proportions",
    "digits",
    "extract_features",
    "fashion_mnist",
    "fashion_mnist_dir",
    "fashion_mnist_features",
    "fashion_mnist_cnn_features",
    "small_cnn",
    "load_features",
    "make_mixture",
    "read_idx",
    "save_features",
    "select_split",
    "weights_digest",
]
