"""Image-space augmentation through a frozen backbone, as an ``augment`` axis of the evaluated sweep.

The study's data-augmentation (DA) question, with the network frozen: draw augmented
copies of the training images at each strength (:mod:`classdep.datasets.image_augment`),
pass them through the backbone's feature map, fit the head's ridge path on those features
(:func:`classdep.glmnet`) and score every lambda on the features of *clean* held-out images.
The result, :class:`HeldoutGrid`, stacks one :class:`~classdep.Heldout` per strength
along an ``augment`` dim, on one shared lambda grid, so the analyses of a grid take it:
``classwise(grid)`` (each strength's per-class optimal lambda), ``classwise(grid,
over="augment")`` (each class's best strength at one lambda), ``boot``, ``boot_ci``,
``confint`` and ``plot``.  Lambda and strength are swept jointly: every level holds its
whole path.

Three steps, each usable alone:

* :func:`augment_features`: augmented copies -> features, one level per strength
  (an ``xr.Dataset`` with ``X`` over (``augment``, ``sample``, ``feature``), where it can
  be saved and reused);
* :func:`assess_features`: per level, the head fitted on those features and scored on
  clean held-out features (stacked pre-augmented feature sets are scored on clean rows
  here, never on augmented ones);
* :func:`assess_augment`: both, from images.

Feature maps are plain callables ``images -> features (n, d)``: :class:`MLPFeatureMap`
(a scikit-learn MLP's last hidden layer; :func:`fashion_mnist_backbone` trains and caches
the one behind :func:`classdep.datasets.fashion_mnist_features`) or
:func:`torch_feature_map` (a PyTorch module, where torch is installed).

References: Balestriero, Bottou & LeCun (2022), "The effects of regularization and data
augmentation are class dependent", NeurIPS; Kirichenko et al. (2023), "Understanding the
detrimental class-level effects of data augmentation", NeurIPS.
"""

from __future__ import annotations

import hashlib
import json
import os
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import xarray as xr

from ..datasets.image_augment import augment_images
from ..generics import predict
from ..glmnet_fit import GlmnetFit, glmnet
from ..result import Table
from ..validation import check_class_names, check_labels
from .grid import CVGrid
from .heldout import Heldout, heldout

__all__ = [
    "HeldoutGrid",
    "MLPFeatureMap",
    "assess_augment",
    "assess_features",
    "augment_features",
    "extract",
    "fashion_mnist_backbone",
    "torch_feature_map",
]

FeatureMap = Callable[[np.ndarray], Any]


# -- feature maps -------------------------------------------------------------------------------


def extract(feature_map: FeatureMap, images, batch_size: int = 4096) -> np.ndarray:
    """``feature_map`` applied to ``images`` in batches of rows, as one (n, d) float array.

    Examples
    --------
    >>> extract(lambda x: x.reshape(len(x), -1)[:, :2], np.ones((5, 3, 3)), batch_size=2).shape
    (5, 2)
    """
    x = np.asarray(images)
    parts = []
    for a in range(0, x.shape[0], int(batch_size)):
        f = feature_map(x[a:a + int(batch_size)])
        f = np.asarray(f.detach().cpu().numpy() if hasattr(f, "detach") else f)
        parts.append(f.reshape(f.shape[0], -1))
    F = np.concatenate(parts) if parts else np.empty((0, 0))
    if not np.all(np.isfinite(F)):
        raise ValueError("the feature map returned NaN or inf features.")
    return F


@dataclass(frozen=True, repr=False)
class MLPFeatureMap:
    """The last hidden layer of a ReLU MLP (every layer ``relu(x W + b)``), as a callable.

    Images of any shape are flattened row-major (an (n, 28, 28) batch is read as the
    (n, 784) pixels the MLP was trained on).

    Attributes
    ----------
    coefs, intercepts : lists of arrays
        The hidden layers' weights and biases (scikit-learn's ``coefs_[:-1]``,
        ``intercepts_[:-1]``).
    attrs : dict
        How the network was trained (and, from :func:`fashion_mnist_backbone`, the
        indices ``train_index`` and ``test_index`` of its training and held-out images).

    Examples
    --------
    >>> fm = MLPFeatureMap([np.eye(4)], [np.zeros(4)])
    >>> fm(np.array([[[1.0, -1.0], [2.0, 0.0]]])).tolist()
    [[1.0, 0.0, 2.0, 0.0]]
    """

    coefs: list
    intercepts: list
    attrs: dict = field(default_factory=dict)

    @classmethod
    def of(cls, clf, **attrs) -> MLPFeatureMap:
        """From a fitted :class:`sklearn.neural_network.MLPClassifier` (its hidden layers)."""
        return cls([np.asarray(w) for w in clf.coefs_[:-1]], [np.asarray(b) for b in clf.intercepts_[:-1]],
                   dict(attrs))

    def __call__(self, images) -> np.ndarray:
        x = np.asarray(images)
        h = x.reshape(x.shape[0], -1).astype(np.float32, copy=False)
        for W, b in zip(self.coefs, self.intercepts, strict=True):
            h = np.maximum(h @ W + b, 0)
        return np.asarray(h, dtype=np.float32)

    def __repr__(self) -> str:
        sizes = [self.coefs[0].shape[0], *(w.shape[1] for w in self.coefs)] if self.coefs else []
        return f"MLPFeatureMap({' -> '.join(map(str, sizes))}, ReLU)"


def fashion_mnist_backbone(alpha: float = 1e-4, hidden: Sequence[int] = (128, 64), n_train: int = 20000,
                           n_test: int | None = None, epochs: int = 10, seed: int = 0, *,
                           batch_size: int = 200, learning_rate: float = 1e-3, path=None, cache_dir=None,
                           progress: bool = False) -> MLPFeatureMap:
    """The frozen Fashion-MNIST MLP of :func:`~classdep.datasets.fashion_mnist_features`, as a feature map.

    Trains the same network with the same settings (same image subsets, initialization and
    shuffles), so ``fm(images of fm.attrs["train_index"])`` are the features that
    ``fashion_mnist_features`` caches for those settings, and keeps its hidden layers on
    disk (one ``.npz`` per setting in the same cache directory) so that a second call
    returns at once.

    Parameters
    ----------
    alpha, hidden, n_train, n_test, epochs, seed, batch_size, learning_rate, path, cache_dir, progress :
        As :func:`~classdep.datasets.fashion_mnist_features` (one ``alpha``).

    Returns
    -------
    MLPFeatureMap
        ``attrs`` hold the settings and ``train_index`` / ``test_index``: the positions
        in the Fashion-MNIST train / test files of the images the network was trained on
        and of the held-out images.

    Examples
    --------
    >>> fm = fashion_mnist_backbone(n_train=2000, epochs=2)  # doctest: +SKIP
    >>> fm(np.zeros((3, 28, 28))).shape  # doctest: +SKIP
    (3, 64)
    """
    # the helpers of the features' loader: one definition of the subsets, the cache and the layer
    from ..datasets.fashion_mnist import cache_path, fashion_mnist_dir, sklearn_version, training_data

    hidden = [int(h) for h in np.atleast_1d(hidden)]
    directory = fashion_mnist_dir(path)
    settings = {"hidden": hidden, "n_train": min(int(n_train), 60000),
                "n_test": 10000 if n_test is None else min(int(n_test), 10000), "epochs": int(epochs),
                "seed": int(seed), "batch_size": int(batch_size), "learning_rate": float(learning_rate),
                "data_path": str(directory.resolve())}
    key = json.dumps({**settings, "alpha": float(alpha), "what": "backbone", "version": 1,
                      "sklearn": sklearn_version()}, sort_keys=True)
    cache = cache_path(cache_dir)
    file = cache / f"fashion_mnist_backbone-{hashlib.sha256(key.encode()).hexdigest()[:20]}.npz"
    data = None
    if file.is_file():
        try:
            with np.load(file) as z:
                L = int(z["layers"])
                return MLPFeatureMap([z[f"W{i}"] for i in range(L)], [z[f"b{i}"] for i in range(L)],
                                     {**settings, "alpha": float(alpha), "train_index": z["train_index"],
                                      "test_index": z["test_index"]})
        except (ValueError, KeyError, OSError) as exc:
            warnings.warn(f"ignoring unreadable cache file {file} ({exc!r}); retraining.", stacklevel=2)
    data = training_data(settings, directory)
    clf = _train_mlp(float(alpha), settings, data, progress)
    fmap = MLPFeatureMap.of(clf, **settings, alpha=float(alpha), train_index=data["train_index"],
                            test_index=data["test_index"])
    cache.mkdir(parents=True, exist_ok=True)
    arrays = {f"W{i}": w for i, w in enumerate(fmap.coefs)}
    arrays.update({f"b{i}": b for i, b in enumerate(fmap.intercepts)})
    tmp = file.with_name(f".{file.stem}.{os.getpid()}.tmp.npz")
    np.savez(tmp, layers=len(fmap.coefs), train_index=data["train_index"], test_index=data["test_index"],
             **arrays)
    os.replace(tmp, file)  # atomic: a crash never leaves half a cache entry
    return fmap


def _train_mlp(alpha: float, settings: dict, data: dict, progress: bool):
    """The MLP of ``fashion_mnist_features`` (same estimator, same epochs of ``partial_fit``)."""
    from sklearn.neural_network import MLPClassifier

    from ..datasets.fashion_mnist import CLASS_NAMES

    clf = MLPClassifier(hidden_layer_sizes=tuple(settings["hidden"]), activation="relu", solver="adam",
                        alpha=alpha, batch_size=min(settings["batch_size"], data["y_train"].size),
                        learning_rate_init=settings["learning_rate"], shuffle=True,
                        random_state=np.random.RandomState(settings["seed"]))
    epochs = range(settings["epochs"])
    if progress:
        from tqdm import tqdm

        epochs = tqdm(epochs, desc=f"Fashion-MNIST MLP alpha={alpha:g}", unit="epoch")
    classes = np.arange(len(CLASS_NAMES))
    for _ in epochs:
        clf.partial_fit(data["X_train"], data["y_train"], classes=classes)
    return clf


def torch_feature_map(model, layer: str | None = None, *, device: str = "cpu", batch_size: int = 256,
                      channels_first: bool = True) -> Callable[[np.ndarray], np.ndarray]:
    """A frozen PyTorch model as a feature map ``images -> features`` (needs torch).

    Each call runs :func:`classdep.datasets.extract.extract_features` on the images: the
    model in ``eval()`` mode under ``torch.no_grad()``, the features being what ``layer``
    outputs (default: the input of the model's last ``torch.nn.Linear``, the penultimate
    features its head reads).  (n, H, W) images gain a channel axis, and (n, H, W, C) ones
    are moved to (n, C, H, W) when ``channels_first``.

    Examples
    --------
    >>> import torch  # doctest: +SKIP
    >>> net = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(16, 8), torch.nn.ReLU(),
    ...                           torch.nn.Linear(8, 3))  # doctest: +SKIP
    >>> fm = torch_feature_map(net)  # doctest: +SKIP
    >>> fm(np.zeros((2, 4, 4))).shape  # doctest: +SKIP
    (2, 8)
    """
    try:
        import torch
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError("torch_feature_map needs PyTorch (pip install torch); any callable "
                          "images -> features works as a feature map without it.") from exc
    from ..datasets.extract import extract_features

    def fmap(images: np.ndarray) -> np.ndarray:
        x = np.asarray(images, dtype=np.float32)
        if x.ndim == 3:
            x = x[:, None, :, :] if channels_first else x[..., None]
        elif x.ndim == 4 and channels_first:
            x = np.moveaxis(x, -1, 1)
        ds = extract_features(model, torch.from_numpy(np.ascontiguousarray(x)), layer=layer,
                              batch_size=batch_size, device=device, progress=False)
        return np.asarray(ds["X"].values)

    return fmap


# -- the sweep ----------------------------------------------------------------------------------


def augment_features(feature_map: FeatureMap, x, y, kind: str, strength, *, copies: int = 1, seed: int = 0,
                     shape: tuple[int, int] | None = None, unit: str = "pixel", fill: float = 0.0,
                     batch_size: int = 4096) -> xr.Dataset:
    """Features of augmented copies of the training images, one level per strength.

    Parameters
    ----------
    feature_map : callable
        ``images -> features (n, d)``, the frozen backbone.
    x : array (n, H, W), (n, H, W, C), or flat with ``shape``
        Training images.
    y : array-like (n,)
        Their labels.
    kind : str
        An image transform of :func:`classdep.datasets.image_augment.augment_images`.
    strength : float or sequence of float
        The levels of the ``augment`` dim.
    copies : int
        Augmented copies per image and level.
    seed : int
        The same seed at every level: the levels share their random draws (common random
        numbers), so they differ by the strength only.
    shape, unit, fill :
        As :func:`~classdep.datasets.image_augment.augment_images`.
    batch_size : int
        Images per call of ``feature_map``.

    Returns
    -------
    xr.Dataset
        ``X`` (``augment``, ``sample``, ``feature``) with ``copies * n`` samples, ``y``
        (``sample``) the codes of each copy's image, coordinate ``class``, ``source``
        (``sample``) the image's index, and mixup's ``partner`` and ``lam``
        (``augment``, ``sample``).  ``attrs`` record the transform.

    Examples
    --------
    >>> ds = augment_features(lambda im: im.reshape(len(im), -1), np.ones((4, 3, 3)), [0, 1, 0, 1],
    ...                       "translate", [0, 1], copies=2)
    >>> ds.X.dims, ds.X.shape
    (('augment', 'sample', 'feature'), (2, 8, 9))
    """
    levels = np.atleast_1d(np.asarray(strength, dtype=np.float64))
    if levels.ndim != 1 or levels.size == 0:
        raise ValueError(f"strength must be a number or a 1-D sequence; got {strength!r}.")
    if np.unique(levels).size != levels.size:
        raise ValueError(f"strength has repeated levels ({levels.tolist()}); give each once.")
    n = np.shape(x)[0]
    codes, classes = check_labels(y, n)
    Xs, partner, lam = [], [], []
    src = None
    for s in levels:
        a = augment_images(x, kind, float(s), copies=copies, seed=seed, shape=shape, unit=unit, fill=fill)
        Xs.append(extract(feature_map, a.images, batch_size))
        partner.append(a.partner)
        lam.append(a.lam)
        src = a.source
    X = np.stack(Xs)
    ds = xr.Dataset(
        {"X": (("augment", "sample", "feature"), X), "y": ("sample", codes[src]),
         "source": ("sample", src), "partner": (("augment", "sample"), np.stack(partner)),
         "lam": (("augment", "sample"), np.stack(lam))},
        coords={"augment": levels, "class": classes},
    )
    ds.attrs.update(kind=kind, copies=int(copies), seed=int(seed), unit=unit, fill=float(fill),
                    description="features of augmented copies of the training images (row r * n + i is "
                                "copy r of image i); the head is fitted on them and scored on clean images")
    return ds


def _level_rows(ds: xr.Dataset, i: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Level ``i``'s fitting rows: (features, label codes, weights), mixup as two weighted rows."""
    X = ds["X"].values[i]
    codes = ds["y"].values
    copies = int(ds.attrs.get("copies", 1))
    lam = ds["lam"].values[i] if "lam" in ds else np.ones(codes.size)
    if "partner" not in ds or np.all(lam == 1.0):
        return X, codes, np.full(codes.size, 1.0 / copies)
    # mixup: the soft target lam e_y + (1 - lam) e_partner is, for cross-entropy, exactly two
    # rows of these features with weights lam and 1 - lam
    src = ds["source"].values
    by_image = np.zeros(int(src.max()) + 1, dtype=np.int64)
    by_image[src] = codes  # each image's label, to label its partners
    pc = by_image[ds["partner"].values[i]]
    w = np.concatenate([lam, 1.0 - lam]) / copies
    keep = w > 0
    return np.concatenate([X, X])[keep], np.concatenate([codes, pc])[keep], w[keep]


def assess_features(train: xr.Dataset, newx, newy, lambda_=None, *, type_measure: str = "deviance",
                    seed: int = 0, progress: bool = False, **glmnet_args) -> HeldoutGrid:
    """Fit the head at every level of ``train`` and score it on clean held-out features.

    Parameters
    ----------
    train : xr.Dataset
        Feature sets along an ``augment`` dim, from :func:`augment_features` (or any
        Dataset with ``X`` (``augment``, ``sample``, ``feature``), ``y`` (``sample``) and
        coordinate ``class``; ``lam`` and ``partner`` for mixup).
    newx : array (m, d)
        Features of clean held-out images (the same for every level).
    newy : array-like (m,)
        Their labels (names of ``train``'s classes, or codes when ``train`` has none).
    lambda_ : sequence, optional
        The lambda grid shared by every level; default: the first level's own glmnet grid.
    type_measure : {"deviance", "class"}
        The measure of each level's ``lambda_min``.
    seed : int
        Seed of the held-out halves of :func:`classdep.sweep.heldout.halves_of`.
    progress : bool
        A tqdm bar over the levels.
    **glmnet_args
        Passed to :func:`classdep.glmnet` (``standardize``, ``thresh``, ``solver``, ...).

    Returns
    -------
    HeldoutGrid

    Examples
    --------
    >>> import classdep as cd
    >>> ds = cd.datasets.digits()
    >>> tr = xr.Dataset({"X": (("augment", "sample", "feature"), np.stack([ds.X.values[:300]] * 2)),
    ...                  "y": ("sample", ds.y.values[:300])}, coords={"augment": [0.0, 1.0]})
    >>> g = assess_features(tr, ds.X.values[300:600], ds.y.values[300:600], lambda_=[3.0, 1.0])
    >>> g.results["deviance"].dims
    ('augment', 'lambda', 'class', 'fold')
    """
    if not isinstance(train, xr.Dataset) or "X" not in train or train["X"].dims[0] != "augment":
        raise TypeError("train must be a Dataset with X over ('augment', 'sample', 'feature'); "
                        "make it with augment_features().")
    Xn = np.asarray(newx, dtype=np.float64)
    if Xn.ndim != 2 or Xn.shape[1] != train.sizes["feature"]:
        raise ValueError(f"newx must be clean held-out features (m, {train.sizes['feature']}); got "
                         f"shape {Xn.shape}. Pass images through the feature map first (assess_augment).")
    classes = train["class"].values if "class" in train.coords else None
    names = np.asarray([str(c) for c in classes]) if classes is not None else None
    labels = [str(v) for v in np.asarray(newy)]
    if len(labels) != Xn.shape[0]:
        raise ValueError(f"newy has {len(labels)} labels but newx has {Xn.shape[0]} samples.")
    levels = train["augment"].values
    bar = range(levels.size)
    if progress:
        from tqdm import tqdm

        bar = tqdm(bar, desc="augment levels", unit="level")
    lam = None if lambda_ is None else np.sort(np.asarray(lambda_, dtype=np.float64))[::-1]
    parts = []
    for i in bar:
        X, codes, w = _level_rows(train, i)
        yi = names[codes] if names is not None else codes
        fit = glmnet(X, yi, lambda_=lam, weights=w, **glmnet_args)
        if lam is None:
            lam = fit.lambda_
        cls = [str(c) for c in fit.classes]
        new_codes = check_class_names(labels, cls, "newy")
        P = predict(fit, Xn, s=list(lam), type="response")
        call = f"assess_augment({train.attrs.get('kind', 'features')}, {levels[i]:g})"
        parts.append(heldout(fit, P.values, new_codes, P["lambda"].values, None, type_measure, call, seed))
    out = HeldoutGrid(np.asarray(levels), parts, "augment")
    out.attrs_extra = {k: train.attrs[k] for k in ("kind", "copies", "seed", "unit") if k in train.attrs}
    return out


def assess_augment(feature_map: FeatureMap, x, y, newx, newy, kind: str, strength, *, copies: int = 1,
                   seed: int = 0, lambda_=None, shape: tuple[int, int] | None = None, unit: str = "pixel",
                   fill: float = 0.0, batch_size: int = 4096, type_measure: str = "deviance",
                   progress: bool = False, **glmnet_args) -> HeldoutGrid:
    """Augment the training images at each strength, fit the head through the frozen backbone,
    score on clean held-out images: the DA sweep as an ``augment`` dim of the evaluated sweep.

    ``augment_features`` then ``assess_features`` (see them for the parameters); ``newx``
    are clean held-out *images*, passed through ``feature_map`` once.

    Returns
    -------
    HeldoutGrid
        One :class:`~classdep.Heldout` per strength, on one lambda grid.

    Examples
    --------
    >>> import classdep as cd
    >>> ds = cd.datasets.digits()
    >>> im = ds.X.values.reshape(-1, 8, 8) / 16
    >>> fm = lambda a: a.reshape(len(a), -1)
    >>> g = assess_augment(fm, im[:300], ds.y.values[:300], im[300:600], ds.y.values[300:600],
    ...                    "translate", [0, 1], copies=2, lambda_=[0.3, 0.1])
    >>> cw = cd.classwise(g, over="augment", debias=None, null=0)
    >>> cw.table["augment_opt"].dims
    ('class',)
    """
    train = augment_features(feature_map, x, y, kind, strength, copies=copies, seed=seed, shape=shape,
                             unit=unit, fill=fill, batch_size=batch_size)
    xn = np.asarray(newx)
    if xn.ndim == 2 and shape is not None:
        xn = xn.reshape((xn.shape[0],) + tuple(shape))
    Fn = extract(feature_map, xn, batch_size)
    return assess_features(train, Fn, newy, lambda_, type_measure=type_measure, seed=seed,
                           progress=progress, **glmnet_args)


@dataclass(repr=False)
class HeldoutGrid(CVGrid):
    """Held-out paths over an augmentation grid: one :class:`~classdep.Heldout` per level.

    The held-out counterpart of :class:`~classdep.CVGrid` (the same stacking: ``results``
    and ``oof`` gain a leading ``augment`` dim, ``grid[i]`` is level ``i``), from
    :func:`assess_augment` or :func:`assess_features`.  Every level is scored on the same
    clean held-out samples, so classes compare across levels sample by sample.  One split
    has no standard error: ``results`` carry each level's ``lambda_min`` only.

    Examples
    --------
    >>> import classdep as cd
    >>> ds = cd.datasets.digits()
    >>> tr = xr.Dataset({"X": (("augment", "sample", "feature"), np.stack([ds.X.values[:300]] * 2)),
    ...                  "y": ("sample", ds.y.values[:300])}, coords={"augment": [0.0, 1.0]})
    >>> g = assess_features(tr, ds.X.values[300:600], ds.y.values[300:600], lambda_=[3.0, 1.0])
    >>> len(g), g.oof["loss"].dims
    (2, ('augment', 'lambda', 'sample'))
    """

    attrs_extra: dict = field(default_factory=dict)
    _groups = ("results", "oof", "fit", "halves")
    _optional = ("halves",)

    @property
    def results(self) -> xr.Dataset:
        per = [h.results.drop_attrs() if hasattr(h.results, "drop_attrs") else h.results for h in self.cvs]
        out = xr.concat(per, dim=self.dim, coords="minimal", compat="override")
        out = out.assign_coords({self.dim: self.augment})
        out["lambda_min"] = (self.dim, [h.lambda_min for h in self.cvs])
        out.attrs.update(self.attrs_extra)
        return out

    def _frame_vars(self) -> list[str]:
        # one row per (level, lambda); one split has no spread, so no cvsd/cvup/cvlo columns
        return ["cvm", "nzero"]

    def _datasets(self) -> dict[str | None, xr.Dataset | None]:
        halves = [h.halves for h in self.cvs]
        res = self._stack([h.results for h in self.cvs])
        res.attrs.update({f"grid.{k}": v for k, v in self.attrs_extra.items()})
        return {"results": res, "oof": self._stack([h.oof for h in self.cvs]),
                "fit": self._stack([h.fit.path for h in self.cvs]),
                "halves": None if any(v is None for v in halves) else self._stack(halves)}

    @classmethod
    def _from_groups(cls, groups) -> HeldoutGrid:
        res = groups["results"]
        dim = str(res.attrs["grid_dim"])

        def level(ds: xr.Dataset | None, i: int) -> xr.Dataset | None:
            return cls._level(ds, dim, i)

        parts = [Heldout(level(res, i), level(groups["oof"], i), GlmnetFit(level(groups["fit"], i)),
                         level(groups.get("halves"), i)) for i in range(res.sizes[dim])]
        extra = {k[5:]: v for k, v in res.attrs.items() if k.startswith("grid.")}
        return cls(res[dim].values, parts, dim, extra)

    def _table(self) -> Table:
        rows = [(self.dim, "lambda_min", "Measure", "Accuracy")]
        for a, h in zip(self.augment, self.cvs, strict=True):
            j = h.index["min"]
            acc = h.results["accuracy"].values[j, 0]
            rows.append((f"{a:g}" if isinstance(a, float | np.floating) else str(a), f"{h.lambda_min:.4g}",
                         f"{h.cvm.values[j]:.4g}", f"{acc:.4g}"))
        e = self.attrs_extra
        what = f"{e['kind']} augmentation, {e.get('copies', 1)} copies per image" if "kind" in e \
            else "augmentation levels"
        n = int(self.cvs[0].results.attrs.get("n_heldout", 0))
        return Table([f"Held-out paths over {len(self.cvs)} levels ({what})",
                      f"Scored on {n} clean held-out samples (one split: no standard error)", ""], rows)
