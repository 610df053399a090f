"""A small convolutional backbone for Fashion-MNIST in PyTorch, trained with a chosen weight
decay, augmentation and seed, and its penultimate features.

The study compares representations trained with and without data augmentation, across
seeds (Balestriero, Bottou & LeCun 2022; Hooker et al. 2019).  The MLP of
:func:`~classdep.datasets.fashion_mnist_features` needs only scikit-learn; this CNN is
the closer model of a vision backbone where PyTorch is installed: two 3x3 convolutions
(``channels``) with ReLU and 2x2 max-pooling, a hidden layer of ``width`` ReLU units
(the features), and the linear softmax head.  It is trained with Adam on the
cross-entropy plus the L2 penalty ``alpha / 2 * ||w||^2`` (Adam's ``weight_decay=alpha``
on every weight and bias), on ``n_train`` training images drawn with ``seed``; with
``augment``, every epoch sees freshly augmented copies
(:func:`~classdep.datasets.fashion_mnist.epoch_images`).  The features are those of the
clean training and test images, read with
:func:`~classdep.datasets.extract_features` at the input of the head.

PyTorch is optional: it is imported when :func:`fashion_mnist_cnn_features` is called.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Sequence
from typing import Any

import numpy as np
import xarray as xr

from ..validation import check_int
from .extract import extract_features
from .fashion_mnist import (
    CLASS_NAMES,
    cache_path,
    check_augment,
    epoch_images,
    fashion_mnist_dir,
    training_data,
)
from .features import as_features
from .io import load_features, save_features

__all__ = ["small_cnn", "fashion_mnist_cnn_features"]

# bump when the network or its training changes, so that old cache entries are not reused
_CNN_VERSION = 1


def _torch():
    try:
        import torch
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError("the CNN backbone needs PyTorch: pip install torch (a CPU build is enough), or use "
                          "classdep.datasets.fashion_mnist_features, the MLP that needs scikit-learn only."
                          ) from exc
    return torch


def small_cnn(channels: Sequence[int] = (16, 32), width: int = 64, n_classes: int = 10):
    """The small CNN for 28 x 28 grey images: conv-ReLU-pool twice, a ReLU layer of ``width``, the head.

    Examples
    --------
    >>> net = small_cnn((4, 8), 16)  # doctest: +SKIP
    >>> net[-1].in_features  # doctest: +SKIP
    16
    """
    torch = _torch()
    nn = torch.nn
    c1, c2 = (int(c) for c in channels)
    return nn.Sequential(
        nn.Conv2d(1, c1, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(c1, c2, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(c2 * 7 * 7, int(width)), nn.ReLU(),
        nn.Linear(int(width), n_classes),
    )


def _train(settings: dict[str, Any], data: dict[str, np.ndarray], progress: bool):
    torch = _torch()
    torch.manual_seed(settings["seed"])
    net = small_cnn(settings["channels"], settings["width"])
    opt = torch.optim.Adam(net.parameters(), lr=settings["learning_rate"], weight_decay=settings["alpha"])
    loss_fn = torch.nn.CrossEntropyLoss()
    y = torch.as_tensor(data["y_train"], dtype=torch.long)
    gen = torch.Generator().manual_seed(settings["seed"])
    epochs = range(settings["epochs"])
    if progress:
        from tqdm import tqdm

        epochs = tqdm(epochs, desc=f"Fashion-MNIST CNN alpha={settings['alpha']:g}", unit="epoch")
    net.train()
    for epoch in epochs:
        X = torch.as_tensor(epoch_images(data["X_train"], settings, epoch), dtype=torch.float32)
        X = X.reshape(-1, 1, 28, 28)
        order = torch.randperm(X.shape[0], generator=gen)
        for start in range(0, X.shape[0], settings["batch_size"]):
            idx = order[start:start + settings["batch_size"]]
            opt.zero_grad()
            loss = loss_fn(net(X[idx]), y[idx])
            loss.backward()
            opt.step()
    if progress:
        epochs.close()
    net.eval()
    return net


def _accuracy(net, X: np.ndarray, y: np.ndarray) -> float:
    torch = _torch()
    with torch.no_grad():
        pred = net(torch.as_tensor(X, dtype=torch.float32).reshape(-1, 1, 28, 28)).argmax(dim=1).numpy()
    return float(np.mean(pred == y))


def fashion_mnist_cnn_features(
    alpha: float = 1e-4,
    n_train: int = 20000,
    n_test: int | None = None,
    epochs: int = 5,
    seed: int = 0,
    *,
    channels: Sequence[int] = (16, 32),
    width: int = 64,
    augment: tuple[str, float] | None = None,
    path: str | os.PathLike | None = None,
    cache_dir: str | os.PathLike | None = None,
    progress: bool = True,
) -> xr.Dataset:
    """Penultimate features of a small CNN trained on Fashion-MNIST (PyTorch), cached on disk.

    Parameters
    ----------
    alpha : float
        Weight decay (>= 0): the loss adds ``alpha / 2 * ||w||^2`` over every weight.
    n_train, n_test : int
        Training images used (out of 60 000) and test images featurized (out of 10 000;
        ``None`` for all), drawn with ``seed`` as for
        :func:`~classdep.datasets.fashion_mnist_features`.
    epochs : int
        Passes over the training images (mini-batches of 128, Adam, step 1e-3).
    seed : int
        Seeds the subsets, the initialization, the batches and the augmentation.
    channels : (int, int)
        Channels of the two convolutions.
    width : int
        Units of the hidden layer: the number of features.
    augment : (kind, strength), optional
        Train with data augmentation, fresh copies every epoch (``"translate"``,
        ``"flip"``, ``"noise"``, ``"erase"``); the features are those of clean images.
    path, cache_dir : optional
        Where the Fashion-MNIST files are, and where trained networks are cached.
    progress : bool
        A progress bar over epochs.

    Returns
    -------
    xarray.Dataset
        As :func:`~classdep.datasets.fashion_mnist_features`: ``X`` (``sample``,
        ``feature``), ``y`` codes, ``class`` names, ``split`` and ``image`` over
        ``sample``; ``attrs`` hold the settings and the network's train and test accuracy.

    Examples
    --------
    >>> ds = fashion_mnist_cnn_features(n_train=2000, epochs=2, progress=False)  # doctest: +SKIP
    >>> ds.X.shape  # doctest: +SKIP
    (12000, 64)
    """
    torch = _torch()
    if not (np.isfinite(alpha) and alpha >= 0):
        raise ValueError(f"alpha={alpha!r} must be a non-negative number (the weight decay).")
    channels = [check_int(c, "channels", minimum=1) for c in channels]
    if len(channels) != 2:
        raise ValueError(f"channels={channels!r} must give the two convolutions' channels, e.g. (16, 32).")
    directory = fashion_mnist_dir(path)
    settings: dict[str, Any] = {
        "alpha": float(alpha), "channels": channels, "width": check_int(width, "width", minimum=1),
        "n_train": min(check_int(n_train, "n_train", minimum=len(CLASS_NAMES)), 60000),
        "n_test": 10000 if n_test is None else min(check_int(n_test, "n_test", minimum=1), 10000),
        "epochs": check_int(epochs, "epochs", minimum=1), "seed": check_int(seed, "seed", minimum=0),
        "batch_size": 128, "learning_rate": 1e-3, "data_path": str(directory.resolve()),
    }
    if augment is not None:
        kind, strength = check_augment(augment)
        settings.update(augment_kind=kind, augment_strength=strength)
    key = json.dumps({**settings, "version": _CNN_VERSION, "torch": torch.__version__}, sort_keys=True)
    cache = cache_path(cache_dir)
    file = cache / f"fashion_mnist_cnn-{hashlib.sha256(key.encode()).hexdigest()[:20]}.npz"
    if file.is_file():
        return load_features(file)
    data = training_data(settings, directory)
    net = _train(settings, data, progress)
    images = {s: torch.as_tensor(data[f"X_{s}"], dtype=torch.float32).reshape(-1, 1, 28, 28)
              for s in ("train", "test")}
    feats = [extract_features(net, images[s], progress=False).X.values for s in ("train", "test")]
    n_tr, n_te = data["y_train"].size, data["y_test"].size
    attrs = {"source": "classdep.datasets.fashion_mnist_cnn_features",
             "description": "inputs of the softmax head (after the hidden ReLU) of a small PyTorch CNN "
                            "trained on Fashion-MNIST",
             **settings, "torch_version": torch.__version__,
             "cnn_train_accuracy": _accuracy(net, data["X_train"], data["y_train"]),
             "cnn_test_accuracy": _accuracy(net, data["X_test"], data["y_test"])}
    ds = as_features(np.concatenate(feats), np.concatenate([data["y_train"], data["y_test"]]),
                     classes=dict(enumerate(CLASS_NAMES)), attrs=attrs)
    ds = ds.assign_coords(split=("sample", np.array(["train"] * n_tr + ["test"] * n_te)),
                          image=("sample", np.concatenate([data["train_index"], data["test_index"]])))
    cache.mkdir(parents=True, exist_ok=True)
    tmp = file.with_name(f".{file.stem}.{os.getpid()}.tmp.npz")
    save_features(ds, tmp)
    os.replace(tmp, file)  # atomic: a crash never leaves half a cache entry
    return ds
