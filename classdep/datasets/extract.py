"""Features from a PyTorch model: the activations of one layer as classdep's features Dataset.

:func:`extract_features` runs a model over a dataset in batches, under
``torch.no_grad()`` and in ``eval()`` mode, and keeps what a forward hook sees at one
layer: by default the input of the last :class:`torch.nn.Linear` (the penultimate
features a classifier head reads, the object classdep studies).  The result is the
Dataset every classdep function takes (:func:`~classdep.datasets.as_features`), with the
model's provenance in ``attrs``; with ``out=`` it is written to a zarr store batch by
batch, for features larger than memory, and returned unread (read in row chunks by
:func:`classdep.glmnet` and :func:`classdep.cv_glmnet`).

PyTorch is optional: it is imported when this function is called.
"""

from __future__ import annotations

import hashlib
import os
import shutil
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

from .features import as_features

__all__ = ["extract_features", "weights_digest"]

# Rows buffered before one append to the zarr store: about this many bytes per write,
# so that the store's chunks are large (few files, aligned row reads) whatever the batch.
_CHUNK_BYTES = 64 * 2**20


def _torch():
    try:
        import torch
    except ImportError:
        raise ImportError(
            "extract_features needs PyTorch, which is not installed; install it (pip install torch; "
            "a CPU-only build is enough) or extract the features yourself and pass them to "
            "classdep.datasets.as_features(X, y)."
        ) from None
    return torch


def weights_digest(model) -> str:
    """SHA-256 of a model's ``state_dict``: names, dtypes, shapes and bytes, in order.

    Two models with the same digest compute the same function (same architecture
    assumed); it identifies which weights produced a set of features.

    Parameters
    ----------
    model : torch.nn.Module

    Returns
    -------
    str
        64 hexadecimal digits.

    Examples
    --------
    >>> from torch import nn  # doctest: +SKIP
    >>> len(weights_digest(nn.Linear(3, 2)))  # doctest: +SKIP
    64
    """
    torch = _torch()
    h = hashlib.sha256()
    for name, t in model.state_dict().items():
        if not isinstance(t, torch.Tensor):  # extra state of a custom module: its repr
            h.update(f"{name}={t!r}".encode())
            continue
        t = t.detach().to("cpu").contiguous()
        h.update(f"{name}:{t.dtype}:{tuple(t.shape)}".encode())
        # raw bytes (bfloat16 has no NumPy dtype, so view every dtype as bytes)
        h.update(t.reshape(-1).view(torch.uint8).numpy().tobytes())
    return h.hexdigest()


def _find_layer(model, layer: str | None):
    """(module, its name, "input" or "output"): what the hook reads."""
    torch = _torch()
    modules = dict(model.named_modules())
    if layer is None:
        linear = [name for name, m in modules.items() if isinstance(m, torch.nn.Linear)]
        if not linear:
            raise ValueError(
                f"{type(model).__name__} has no torch.nn.Linear layer, whose input would be the "
                f"features; name the layer whose output to keep with layer= (one of "
                f"{_some(modules)})."
            )
        return modules[linear[-1]], linear[-1], "input"
    if layer not in modules or layer == "":
        raise ValueError(f"layer={layer!r} is not a submodule of {type(model).__name__}; its named "
                         f"modules are {_some(modules)}.")
    return modules[layer], layer, "output"


def _some(modules: Mapping[str, Any], k: int = 12) -> str:
    names = [n for n in modules if n]
    shown = ", ".join(repr(n) for n in names[-k:])
    return ("..., " if len(names) > k else "") + shown


def _batches(data, batch_size: int, dtype=None) -> tuple[Iterable, int | None, Any]:
    """(iterable of (x, y-or-None) batches, number of batches if known, the torch dataset)."""
    torch = _torch()
    from torch.utils.data import DataLoader, Dataset, IterableDataset

    if isinstance(data, DataLoader):
        return (_split_batch(b) for b in data), _len(data), data.dataset
    if isinstance(data, (Dataset, IterableDataset)):
        loader = DataLoader(data, batch_size=batch_size, shuffle=False)
        return (_split_batch(b) for b in loader), _len(loader), data
    if isinstance(data, (tuple, list)) and len(data) == 2:
        x, y = data
    elif isinstance(data, (torch.Tensor, np.ndarray)):
        x, y = data, None
    else:
        raise TypeError(
            f"data must be a tensor (or array) of inputs, an (inputs, labels) pair, a torch Dataset or "
            f"a DataLoader; got {type(data).__name__}."
        )
    x = x if isinstance(x, torch.Tensor) else torch.as_tensor(np.asarray(x))
    if dtype is not None and x.is_floating_point():
        x = x.to(dtype)  # NumPy's float64 inputs for a float32 network
    n = x.shape[0]
    if y is not None and len(y) != n:
        raise ValueError(f"the labels hold {len(y)} values but the inputs {n} samples; they must match.")
    starts = range(0, n, batch_size)
    return ((x[a:a + batch_size], None if y is None else y[a:a + batch_size]) for a in starts), \
        len(starts), None


def _len(obj) -> int | None:
    try:
        return len(obj)
    except TypeError:  # an IterableDataset without a length
        return None


def _split_batch(batch) -> tuple[Any, Any]:
    if isinstance(batch, (tuple, list)):
        if len(batch) < 1:
            raise ValueError("the DataLoader yielded an empty batch.")
        return batch[0], (batch[1] if len(batch) > 1 else None)
    if isinstance(batch, Mapping):
        raise TypeError("the DataLoader yields dicts; give it a collate_fn that yields (inputs, labels).")
    return batch, None


def _labels_numpy(y) -> np.ndarray:
    if hasattr(y, "detach"):
        return y.detach().to("cpu").numpy()
    return np.asarray(y)


class _Rows:
    """Feature rows gathered in memory, or appended to a zarr store in large chunks."""

    def __init__(self, out: str | os.PathLike | None):
        self.out = None if out is None else Path(out)
        if self.out is not None:
            if self.out.suffix.lower() != ".zarr":
                raise ValueError(f"out={os.fspath(out)!r}: features larger than memory are written to a "
                                 "zarr store; name it *.zarr.")
            if self.out.exists():
                # replaced, as save_features replaces an existing file
                shutil.rmtree(self.out) if self.out.is_dir() else self.out.unlink()
        self.parts: list[np.ndarray] = []
        self.buffered = 0
        self.written = 0
        self.chunk_rows: int | None = None

    def add(self, block: np.ndarray) -> None:
        if self.parts and block.shape[1:] != self.parts[0].shape[1:]:
            raise ValueError(f"the layer gave {block.shape[1]} features in one batch and "
                             f"{self.parts[0].shape[1]} in another; pick a layer of fixed size.")
        self.parts.append(block)
        self.buffered += block.shape[0]
        if self.out is None:
            return
        if self.chunk_rows is None:
            self.chunk_rows = max(block.shape[0], _CHUNK_BYTES // max(1, block[0].nbytes))
        if self.buffered >= self.chunk_rows:
            self._flush()

    def _flush(self) -> None:
        rows = np.concatenate(self.parts)
        self.parts, self.buffered = [], 0
        # appended whole chunks only (the last one may be short): each zarr chunk written once
        full = rows.shape[0] - rows.shape[0] % self.chunk_rows
        head, rest = rows[:full], rows[full:]
        if head.shape[0]:
            self._append(head)
        if rest.shape[0]:
            self.parts, self.buffered = [rest], rest.shape[0]

    def _append(self, rows: np.ndarray) -> None:
        ds = xr.Dataset({"X": (("sample", "feature"), rows)})
        if self.written == 0:
            ds.to_zarr(self.out, mode="w", zarr_format=2, consolidated=False,
                       encoding={"X": {"chunks": (self.chunk_rows, rows.shape[1])}})
        else:
            ds.to_zarr(self.out, append_dim="sample", zarr_format=2, consolidated=False)
        self.written += rows.shape[0]

    def finish(self) -> np.ndarray | None:
        """All rows in memory; or, with a store, None once the last rows are written."""
        if self.out is None:
            if not self.parts:
                raise ValueError("data yielded no samples.")
            return np.concatenate(self.parts)
        if self.parts:
            self._append(np.concatenate(self.parts))
            self.parts = []
        if self.written == 0:
            raise ValueError("data yielded no samples.")
        return None


def _class_names(classes, dataset) -> Any:
    if classes is None and dataset is not None:
        classes = getattr(dataset, "classes", None)  # torchvision's datasets name their classes
    return classes


def _as_classes(classes, codes: np.ndarray):
    """``classes`` for :func:`as_features`: names of integer codes become a mapping."""
    if classes is None or isinstance(classes, Mapping):
        return classes
    names = list(classes)
    if np.issubdtype(codes.dtype, np.integer) and codes.size and codes.min() >= 0 \
            and codes.max() < len(names):
        return dict(enumerate(names))
    return names


def extract_features(
    model, data, layer: str | None = None, batch_size: int = 256, device: str = "cpu",
    progress: bool = True, out: str | os.PathLike | None = None, *,
    classes: Sequence | Mapping | None = None, split: str | Sequence[str] | None = None,
) -> xr.Dataset:
    """The activations of one layer of a PyTorch model, as classdep's features Dataset.

    Parameters
    ----------
    model : torch.nn.Module
        The network; it is run in ``eval()`` mode under ``torch.no_grad()`` (its
        training mode and device are restored afterwards).
    data : tensor, array, (inputs, labels) pair, torch Dataset or DataLoader
        The inputs, with labels where given: a pair ``(x, y)``, a Dataset whose items
        are ``(x, y)`` (torchvision's image datasets), or a DataLoader yielding
        ``(x, y)`` batches.  Inputs alone (a tensor) give features without labels, for
        :func:`classdep.predict`.
    layer : str, optional
        The name of the module (as ``model.named_modules()`` names it) whose output,
        flattened to one row per sample, are the features.  Default: the input of the
        model's last :class:`torch.nn.Linear`, i.e. the penultimate features its head
        reads (``fc`` of a torchvision ResNet: the 2048 pooled features of ResNet-50).
    batch_size : int
        Samples per forward pass (when ``data`` is not already a DataLoader).
    device : str
        Where the model runs: ``"cpu"``, ``"cuda"``, ``"cuda:1"``, ``"mps"``...
    progress : bool
        A progress bar over batches (tqdm).
    out : path, optional
        A zarr store (``*.zarr``, replaced if it exists) written batch by batch: the
        features never sit whole in memory, and the Dataset returned reads them from the
        store lazily (as :func:`classdep.datasets.load_features` reads them whole).
    classes : sequence or mapping, optional
        Class names: a sequence names the integer codes ``0..K-1``; a mapping
        ``{label: name}`` as in :func:`~classdep.datasets.as_features`.  Default: the
        dataset's ``classes`` attribute (torchvision's datasets have one), else the labels.
    split : str or sequence of str, optional
        A ``split`` coordinate ("train", "test"): one name for all samples, or one per
        sample (see :func:`~classdep.datasets.select_split`).

    Returns
    -------
    xarray.Dataset
        ``X`` (``sample``, ``feature``), float32 as the network computes them (float64
        when the model is float64), ``y`` (``sample``) codes with the ``class``
        coordinate when labels were given, ``split`` when given, and ``attrs``:
        ``source``, ``model`` (its class), ``layer``, ``hook`` (``"input"`` or
        ``"output"``), ``n_parameters``, ``weights_sha256`` (:func:`weights_digest`),
        ``torch_version``.

    Raises
    ------
    ImportError
        PyTorch is not installed.
    ValueError
        An unknown ``layer``, a model without a linear layer and no ``layer``, labels
        that do not match the inputs, ``out`` not a ``.zarr`` path.

    Examples
    --------
    The three lines for a torchvision ResNet of your own (``fc``'s input, 2048 features
    for ResNet-50)::

        model = torchvision.models.resnet50(num_classes=10)
        model.load_state_dict(torch.load("my_resnet50.pt", map_location="cpu"))
        ds = classdep.datasets.extract_features(model, DataLoader(test_set, batch_size=256))

    A small model, built here:

    >>> from torch import nn, randn, arange  # doctest: +SKIP
    >>> net = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 3))  # doctest: +SKIP
    >>> ds = extract_features(net, (randn(20, 4), arange(20) % 3), progress=False)  # doctest: +SKIP
    >>> ds.X.shape, ds.attrs["layer"]  # doctest: +SKIP
    ((20, 8), '2')
    """
    torch = _torch()
    if int(batch_size) != batch_size or batch_size < 1:
        raise ValueError(f"batch_size={batch_size!r} must be a positive integer.")
    module, name, hook = _find_layer(model, layer)
    params = list(model.parameters())
    floating = [p.dtype for p in params if p.is_floating_point()]
    batches, total, dataset = _batches(data, int(batch_size), floating[0] if floating else None)
    dev = torch.device(device)
    home = params[0].device if params else dev
    was_training = model.training
    seen: list[Any] = []

    def keep(_module, inputs, output):
        t = inputs[0] if hook == "input" else output
        if isinstance(t, (tuple, list)):  # modules that return several tensors: the first
            t = t[0]
        seen.append(t)

    rows = _Rows(out)
    labels: list[np.ndarray] = []
    from tqdm.auto import tqdm

    handle = module.register_forward_hook(keep)
    model.to(dev)
    model.eval()
    try:
        with torch.no_grad(), tqdm(total=total, desc="extract_features", unit="batch",
                                   disable=not progress) as bar:
            for xb, yb in batches:
                seen.clear()
                model(xb.to(dev) if hasattr(xb, "to") else xb)
                if not seen:
                    raise ValueError(f"the layer {name!r} did not run in the model's forward pass.")
                feats = seen[-1].detach().reshape(seen[-1].shape[0], -1).to("cpu")
                if feats.dtype not in (torch.float32, torch.float64):
                    feats = feats.float()  # half precision: float32, which NumPy and the solvers read
                rows.add(feats.numpy())
                if yb is not None:
                    labels.append(_labels_numpy(yb))
                bar.update(1)
    finally:
        handle.remove()
        model.train(was_training)
        model.to(home)

    n = rows.written + rows.buffered
    if labels and sum(len(v) for v in labels) != n:
        raise ValueError("some batches had labels and others not; give labels for every batch or none.")
    y = np.concatenate(labels) if labels else None
    attrs = {
        "source": f"extract_features({type(model).__name__})",
        "model": f"{type(model).__module__}.{type(model).__qualname__}",
        "layer": name,
        "hook": hook,
        "n_parameters": int(sum(p.numel() for p in params)),
        "weights_sha256": weights_digest(model),
        "torch_version": str(torch.__version__),
    }
    X = rows.finish()
    names = _class_names(classes, dataset)
    if X is not None:
        if y is None:
            ds = xr.Dataset({"X": (("sample", "feature"), X)},
                            coords={"sample": np.arange(n), "feature": np.arange(X.shape[1])}, attrs=attrs)
        else:
            ds = as_features(X, y, classes=_as_classes(names, y), attrs=attrs)
        return _with_split(ds, split)
    return _finish_store(rows.out, y, names, attrs, split)


def _with_split(ds: xr.Dataset, split) -> xr.Dataset:
    if split is None:
        return ds
    n = ds.sizes["sample"]
    values = np.full(n, split) if isinstance(split, str) else np.asarray(split).astype(str)
    if values.shape != (n,):
        raise ValueError(f"split must be one name or one per sample ({n}); got shape {values.shape}.")
    return ds.assign_coords(split=("sample", values))


def _finish_store(path: Path, y, names, attrs: dict, split) -> xr.Dataset:
    """Write the labels, coordinates and attrs beside the rows, and open the store lazily."""
    from .io import restored, storable

    lazy = xr.open_zarr(path, consolidated=False)
    n, d = lazy.sizes["sample"], lazy.sizes["feature"]
    if y is None:
        meta = xr.Dataset(coords={"sample": np.arange(n), "feature": np.arange(d)}, attrs=attrs)
    else:
        # the labels and class names as as_features makes them, on a stand-in for X
        small = as_features(np.zeros((n, 1), np.float32), y, classes=_as_classes(names, y), attrs=attrs)
        meta = small.drop_vars("X").assign_coords(feature=np.arange(d))
    meta = _with_split(meta.assign_coords(sample=np.arange(n)), split)
    storable(meta).to_zarr(path, mode="a", zarr_format=2, consolidated=True)
    ds = restored(xr.open_zarr(path, consolidated=True))
    # the labels and coordinates are small: in memory; X stays in the store
    return ds.assign({k: ds[k].load() for k in ds.data_vars if k != "X"})

