"""extract_features: a PyTorch model's activations as the features Dataset; .pt files.

The models are built here, small enough to run in milliseconds; each test needs torch
and skips with the reason where it is not installed (.ci/run installs torch==2.13.0 as
a separate step that may fail).
"""

from __future__ import annotations

import sys

import numpy as np
import pytest

import classdep as cd
from classdep.datasets import extract as extract_module
from classdep.datasets import extract_features, load_features, save_features

REASON = "PyTorch is not installed (pip install torch==2.13.0; .ci/run tries it as a separate step)"


@pytest.fixture(scope="module")
def torch():
    return pytest.importorskip("torch", reason=REASON)


@pytest.fixture(scope="module")
def net(torch):
    """A backbone (Linear-BatchNorm-ReLU-Dropout) and a linear head, with fixed weights."""
    from torch import nn

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.backbone = nn.Sequential(nn.Linear(5, 16), nn.BatchNorm1d(16), nn.ReLU(), nn.Dropout(0.5),
                                          nn.Linear(16, 6), nn.Tanh())
            self.head = nn.Linear(6, 3)

        def forward(self, x):
            return self.head(self.backbone(x))

    torch.manual_seed(0)
    model = Net()
    with torch.no_grad():  # running statistics that differ from a fresh batch's
        model.backbone[1].running_mean.uniform_(-1, 1)
        model.backbone[1].running_var.uniform_(0.5, 2)
    return model


@pytest.fixture(scope="module")
def data(torch):
    g = torch.Generator().manual_seed(1)
    x = torch.randn(150, 5, generator=g)
    y = torch.arange(150) % 3
    return x, y


def _expected(model, x):
    import torch

    model.eval()
    with torch.no_grad():
        return model.backbone(x).numpy()


def test_default_is_the_input_of_the_last_linear(net, data):
    x, y = data
    net.train()
    ds = extract_features(net, (x, y), batch_size=32, progress=False, classes=["ant", "bee", "cat"])
    assert net.training  # its mode is given back
    np.testing.assert_allclose(ds.X.values, _expected(net, x), rtol=1e-6, atol=1e-7)
    assert ds.X.dtype == np.float32 and ds.X.dims == ("sample", "feature")
    assert ds.y.values.tolist() == y.numpy().tolist()
    assert ds["class"].values.tolist() == ["ant", "bee", "cat"]
    a = ds.attrs
    assert a["layer"] == "head" and a["hook"] == "input" and a["model"].endswith("Net")
    assert a["n_parameters"] == sum(p.numel() for p in net.parameters())
    assert a["weights_sha256"] == extract_module.weights_digest(net) and len(a["weights_sha256"]) == 64
    # the Dataset is classdep's: a fit takes it as it is
    fit = cd.glmnet(ds, lambda_=[0.1])
    assert fit.path["class"].values.tolist() == ["ant", "bee", "cat"]


def test_batches_and_input_forms_agree(torch, net, data):
    from torch.utils.data import DataLoader, TensorDataset

    x, y = data
    whole = extract_features(net, (x, y), batch_size=1000, progress=False)
    for form in ((x.numpy().astype(np.float64), y.numpy()), TensorDataset(x, y),
                 DataLoader(TensorDataset(x, y), batch_size=7)):
        ds = extract_features(net, form, batch_size=11, progress=False)
        np.testing.assert_allclose(ds.X.values, whole.X.values, rtol=1e-6, atol=1e-7)
        np.testing.assert_array_equal(ds.y.values, whole.y.values)
    alone = extract_features(net, x, progress=False)  # inputs without labels: for predict
    assert "y" not in alone and alone.X.shape == whole.X.shape
    fit = cd.glmnet(whole, lambda_=[0.1])
    assert cd.predict(fit, alone, s=0.1, type="class").shape == (150,)


def test_named_layer_output_and_classes_from_the_dataset(torch, net, data):
    from torch.utils.data import TensorDataset

    class Named(TensorDataset):
        classes = ["zero", "one", "two"]  # as torchvision's datasets name their classes

    x, y = data
    ds = extract_features(net, Named(x, y), layer="backbone.2", progress=False, split="test")
    net.eval()
    with torch.no_grad():
        want = net.backbone[:3](x).numpy()
    np.testing.assert_allclose(ds.X.values, want, rtol=1e-6, atol=1e-7)
    assert ds.attrs["hook"] == "output" and ds.attrs["layer"] == "backbone.2"
    assert ds["class"].values.tolist() == ["zero", "one", "two"]
    assert set(ds["split"].values.tolist()) == {"test"}


def test_convolutional_output_is_flattened(torch):
    from torch import nn

    torch.manual_seed(2)
    conv = nn.Sequential(nn.Conv2d(1, 2, 3), nn.ReLU(), nn.AdaptiveAvgPool2d(2), nn.Flatten(),
                         nn.Linear(8, 2))
    x = torch.randn(10, 1, 6, 6)
    ds = extract_features(conv, (x, torch.arange(10) % 2), layer="2", progress=False)
    assert ds.X.shape == (10, 8)
    with torch.no_grad():
        np.testing.assert_allclose(ds.X.values, conv[:3](x).reshape(10, -1).numpy(), rtol=1e-6)
    same = extract_features(conv, (x, torch.arange(10) % 2), progress=False)  # Linear's input: the same
    np.testing.assert_allclose(same.X.values, ds.X.values)


def test_weights_digest_follows_the_weights(torch):
    from torch import nn

    torch.manual_seed(3)
    a = nn.Linear(3, 2)
    b = nn.Linear(3, 2)
    b.load_state_dict(a.state_dict())
    assert extract_module.weights_digest(a) == extract_module.weights_digest(b)
    with torch.no_grad():
        b.bias[0] += 1e-6
    assert extract_module.weights_digest(a) != extract_module.weights_digest(b)


def test_out_of_core_store(torch, net, data, tmp_path, monkeypatch):
    x, y = data
    monkeypatch.setattr(extract_module, "_CHUNK_BYTES", 40 * 6 * 4)  # 40-row chunks: several appends
    path = tmp_path / "features.zarr"
    lazy = extract_features(net, (x, y), batch_size=16, out=path, progress=False, split="train")
    mem = extract_features(net, (x, y), batch_size=16, progress=False, split="train")
    assert type(lazy.X.data).__module__.startswith("dask")  # not read
    assert lazy.X.data.chunks[0][0] == 40
    np.testing.assert_array_equal(lazy.X.values, mem.X.values)
    assert lazy.attrs == mem.attrs
    assert load_features(path).identical(mem)
    # classdep reads the store in row chunks, with the in-memory result
    a = cd.glmnet(lazy, lambda_=[0.1, 0.01])
    b = cd.glmnet(mem, lambda_=[0.1, 0.01])
    np.testing.assert_allclose(a.path["coef"].values, b.path["coef"].values, rtol=1e-9, atol=1e-12)
    again = extract_features(net, (x, y), out=path, progress=False)  # an existing store is replaced
    assert again.sizes["sample"] == 150


def test_errors_name_the_fix(torch, net, data, tmp_path):
    from torch import nn

    x, y = data
    with pytest.raises(ValueError, match="not a submodule"):
        extract_features(net, (x, y), layer="fc", progress=False)
    with pytest.raises(ValueError, match="no torch.nn.Linear"):
        extract_features(nn.Sequential(nn.ReLU()), (x, y), progress=False)
    with pytest.raises(ValueError, match="must match"):
        extract_features(net, (x, y[:10]), progress=False)
    with pytest.raises(ValueError, match="zarr"):
        extract_features(net, (x, y), out=tmp_path / "f.npz", progress=False)
    with pytest.raises(TypeError, match="DataLoader"):
        extract_features(net, {"x": x}, progress=False)


def test_without_torch_the_error_says_how_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "torch", None)  # import torch now raises ImportError
    with pytest.raises(ImportError, match="pip install torch"):
        extract_features(object(), np.zeros((2, 2)))


def test_pt_files_round_trip(torch, tmp_path, net, data):
    x, y = data
    ds = extract_features(net, (x, y), progress=False, classes=["a", "b", "c"], split="train")
    path = save_features(ds, tmp_path / "features.pt")
    assert load_features(path).identical(ds)
    # a file written with torch.save alone, as another project would
    raw = tmp_path / "raw.pt"
    torch.save({"X": torch.randn(6, 3), "y": torch.tensor([0, 1, 2, 0, 1, 2]), "classes": ["u", "v", "w"]},
               raw)
    back = load_features(raw)
    assert back["class"].values.tolist() == ["u", "v", "w"] and back.X.shape == (6, 3)
