"""Backbones trained with data augmentation: fresh augmented images every epoch, features of the
clean images, their own cache entry, bad settings refused before any training."""

from __future__ import annotations

import importlib
import itertools

import numpy as np
import pytest
from test_datasets import fake_fashion_dir  # noqa: F401 - the fixture of small IDX files

from classdep.datasets import fashion_mnist_features, read_idx

fm = importlib.import_module("classdep.datasets.fashion_mnist")


def _is_a_shift_within(img: np.ndarray, orig: np.ndarray, r: int) -> bool:
    """Whether ``img`` is ``orig`` moved by at most ``r`` pixels each way, zeros coming in."""
    H, W = orig.shape
    for dy, dx in itertools.product(range(-r, r + 1), repeat=2):
        moved = np.zeros_like(orig)
        moved[max(dy, 0):H + min(dy, 0), max(dx, 0):W + min(dx, 0)] = \
            orig[max(-dy, 0):H + min(-dy, 0), max(-dx, 0):W + min(-dx, 0)]
        if np.array_equal(moved, img):
            return True
    return False


def test_every_epoch_sees_new_translations_of_the_training_images(fake_fashion_dir, tmp_path,  # noqa: F811
                                                                 monkeypatch):
    from sklearn.neural_network import MLPClassifier

    seen = []
    original = MLPClassifier.partial_fit

    def recording(self, X, y, classes=None):
        seen.append(np.array(X, copy=True))
        return original(self, X, y, classes=classes)

    monkeypatch.setattr(MLPClassifier, "partial_fit", recording)
    kwargs = dict(hidden=(8,), n_train=60, n_test=20, epochs=3, path=fake_fashion_dir,
                  cache_dir=tmp_path, progress=False)
    ds = fashion_mnist_features(augment=("translate", 2), **kwargs)
    assert len(seen) == 3
    # the pixels as the loader scales them (float32)
    clean = (read_idx(fake_fashion_dir / "train-images-idx3-ubyte.gz")[ds.image.values[:60]]
             / np.float32(255.0)).astype(np.float32)
    for X in seen:
        imgs = X.reshape(-1, 28, 28).astype(np.float32)
        assert all(_is_a_shift_within(imgs[i], clean[i], 2) for i in range(60))
        assert not np.array_equal(imgs, clean)  # some image moved
    assert not np.array_equal(seen[0], seen[1])  # a new draw every epoch
    assert ds.attrs["augment_kind"] == "translate" and ds.attrs["augment_strength"] == 2.0
    # the same call again reads its own cache entry; without augment it is another network
    seen.clear()
    again = fashion_mnist_features(augment=("translate", 2), **kwargs)
    assert seen == []
    np.testing.assert_array_equal(again.X.values, ds.X.values)
    plain = fashion_mnist_features(**kwargs)
    assert len(seen) == 3 and all(np.array_equal(X, seen[0]) for X in seen)
    assert "augment_kind" not in plain.attrs
    assert len(list(tmp_path.glob("*.npz"))) == 2


@pytest.mark.parametrize("augment, pattern", [
    (("mixup", 0.2), "soft targets"),
    (("rotate", 10), "rotate"),
    (("flip", 1.5), "flip"),
    ("translate", "pair"),
])
def test_bad_augmentation_is_refused_before_training(fake_fashion_dir, tmp_path, monkeypatch,  # noqa: F811
                                                     augment, pattern):
    def no_training(*args, **kw):
        raise AssertionError("trained before checking augment")

    monkeypatch.setattr(fm, "_train_one", no_training)
    with pytest.raises(ValueError, match=pattern):
        fashion_mnist_features(hidden=(8,), n_train=60, n_test=20, epochs=1, path=fake_fashion_dir,
                               cache_dir=tmp_path, progress=False, augment=augment)
