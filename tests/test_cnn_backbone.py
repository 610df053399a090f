"""The PyTorch CNN backbone: its features are the head's input, reproducible by seed, cached,
trained on fresh augmented images each epoch when asked; skipped where torch is missing."""

from __future__ import annotations

import importlib

import numpy as np
import pytest
from test_datasets import fake_fashion_dir  # noqa: F401 - the fixture of small IDX files

from classdep.datasets import read_idx

torch = pytest.importorskip("torch", reason="the CNN backbone needs PyTorch (pip install torch)")
cnn = importlib.import_module("classdep.datasets.cnn")

SMALL = dict(n_train=60, n_test=20, epochs=2, channels=(4, 8), width=16, progress=False)


def test_features_are_the_heads_input_of_the_trained_network(fake_fashion_dir, tmp_path,  # noqa: F811
                                                              monkeypatch):
    nets = []
    train = cnn._train

    def keep(*args, **kw):
        nets.append(train(*args, **kw))
        return nets[-1]

    monkeypatch.setattr(cnn, "_train", keep)
    ds = cnn.fashion_mnist_cnn_features(path=fake_fashion_dir, cache_dir=tmp_path, **SMALL)
    assert ds.X.shape == (80, 16) and (ds.X.values >= 0).all()
    assert ds.split.values.tolist() == ["train"] * 60 + ["test"] * 20
    raw = read_idx(fake_fashion_dir / "train-labels-idx1-ubyte.gz")
    np.testing.assert_array_equal(ds.y.values[:60], raw[ds.image.values[:60]])
    # by hand: every layer but the head, on the clean training images
    images = read_idx(fake_fashion_dir / "train-images-idx3-ubyte.gz")[ds.image.values[:60]] / np.float32(255)
    with torch.no_grad():
        hand = nets[0][:-1](torch.as_tensor(images, dtype=torch.float32).reshape(-1, 1, 28, 28)).numpy()
    np.testing.assert_allclose(ds.X.values[:60], hand, rtol=1e-5, atol=1e-6)
    assert 0.0 <= ds.attrs["cnn_test_accuracy"] <= 1.0


def test_same_seed_same_network_and_the_cache_is_read(fake_fashion_dir, tmp_path, monkeypatch):  # noqa: F811
    a = cnn.fashion_mnist_cnn_features(path=fake_fashion_dir, cache_dir=tmp_path / "a", **SMALL)
    b = cnn.fashion_mnist_cnn_features(path=fake_fashion_dir, cache_dir=tmp_path / "b", **SMALL)
    np.testing.assert_array_equal(a.X.values, b.X.values)
    c = cnn.fashion_mnist_cnn_features(path=fake_fashion_dir, cache_dir=tmp_path / "b", seed=1, **SMALL)
    assert not np.array_equal(a.X.values, c.X.values)

    def no_training(*args, **kw):
        raise AssertionError("trained again instead of reading the cache")

    monkeypatch.setattr(cnn, "_train", no_training)
    again = cnn.fashion_mnist_cnn_features(path=fake_fashion_dir, cache_dir=tmp_path / "a", **SMALL)
    np.testing.assert_array_equal(again.X.values, a.X.values)


def test_augmented_training_draws_each_epoch_and_bad_settings_are_refused(fake_fashion_dir, tmp_path,  # noqa: F811
                                                                          monkeypatch):
    seen = []
    draw = cnn.epoch_images

    def record(X, settings, epoch):
        seen.append((epoch, settings.get("augment_kind"), settings.get("augment_strength")))
        return draw(X, settings, epoch)

    monkeypatch.setattr(cnn, "epoch_images", record)
    ds = cnn.fashion_mnist_cnn_features(path=fake_fashion_dir, cache_dir=tmp_path, augment=("translate", 2),
                                        **SMALL)
    assert seen == [(0, "translate", 2.0), (1, "translate", 2.0)]
    assert ds.attrs["augment_kind"] == "translate"
    for kwargs, pattern in ((dict(augment=("mixup", 1.0)), "soft targets"), (dict(alpha=-1), "alpha"),
                            (dict(channels=(4, 8, 16)), "two convolutions")):
        with pytest.raises(ValueError, match=pattern):
            cnn.fashion_mnist_cnn_features(path=fake_fashion_dir, cache_dir=tmp_path,
                                           **{**SMALL, **kwargs})
