"""Fashion-MNIST: the IDX reader, the images, and penultimate-layer features of a small MLP.

The images come from Debian's ``dataset-fashion-mnist`` package
(``/usr/share/datasets/fashion-mnist/{train,t10k}-{images-idx3,labels-idx1}-ubyte.gz``),
from ``$CLASSDEP_DATA``, or from a directory you pass; nothing is downloaded.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import os
import warnings
import zlib
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

from ..validation import check_choice, check_int
from .features import as_features
from .io import load_features, save_features

__all__ = [
    "CLASS_NAMES",
    "read_idx",
    "fashion_mnist_dir",
    "fashion_mnist",
    "fashion_mnist_features",
    # shared by the backbones trained on Fashion-MNIST (the CNN, the augmentation sweep)
    "cache_path",
    "training_data",
    "epoch_images",
    "check_augment",
    "sklearn_version",
]

#: The ten Fashion-MNIST classes; label ``k`` in the IDX files is ``CLASS_NAMES[k]``.
CLASS_NAMES: tuple[str, ...] = (
    "T-shirt/top",
    "Trouser",
    "Pullover",
    "Dress",
    "Coat",
    "Sandal",
    "Shirt",
    "Sneaker",
    "Bag",
    "Ankle boot",
)

DEBIAN_DIR = Path("/usr/share/datasets/fashion-mnist")
_STEMS = {
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}
_HOW_TO_GET = (
    "Install Debian's package (apt-get install dataset-fashion-mnist), or put the four "
    "IDX files (train-images-idx3-ubyte.gz, train-labels-idx1-ubyte.gz, "
    "t10k-images-idx3-ubyte.gz, t10k-labels-idx1-ubyte.gz) in a directory and set "
    "CLASSDEP_DATA to it or pass path=."
)
# IDX type codes (third magic byte) -> big-endian NumPy dtypes
_IDX_DTYPES = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}
# bump when the feature extraction changes, so that old cache entries are not reused
_FEATURES_VERSION = 1


def read_idx(path: str | os.PathLike) -> np.ndarray:
    """Read an IDX file (the MNIST format), gzipped or not.

    Parameters
    ----------
    path : str or os.PathLike
        The file; gzip compression is detected from its first bytes, not its name.

    Returns
    -------
    numpy.ndarray
        The array, in native byte order, with the shape the header gives.

    Raises
    ------
    ValueError
        The file is not IDX (bad magic number), or it is truncated or corrupt.

    Examples
    --------
    >>> import numpy as np, tempfile, os
    >>> path = os.path.join(tempfile.mkdtemp(), "tiny-idx1-ubyte")
    >>> with open(path, "wb") as f:
    ...     _ = f.write(bytes([0, 0, 0x08, 1, 0, 0, 0, 3, 7, 8, 9]))
    >>> read_idx(path)
    array([7, 8, 9], dtype=uint8)
    """
    path = Path(path)
    with open(path, "rb") as f:
        raw = f.read()
    if raw[:2] == b"\x1f\x8b":
        try:
            raw = gzip.decompress(raw)
        except (OSError, EOFError, zlib.error) as exc:
            raise ValueError(
                f"{path} is a damaged gzip file ({exc}); the download is probably truncated "
                "or corrupt. Get the file again."
            ) from None
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] not in _IDX_DTYPES or raw[3] == 0:
        raise ValueError(
            f"{path} is not an IDX file: its magic number is {raw[:4].hex() or 'missing'}, "
            "expected 0000 then a type byte (08, 09, 0b, 0c, 0d, 0e) and the number of dims. "
            "The file is corrupt or of another format."
        )
    dtype = np.dtype(_IDX_DTYPES[raw[2]])
    ndim = raw[3]
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise ValueError(f"{path} is truncated inside its IDX header; get the file again.")
    shape = tuple(int(s) for s in np.frombuffer(raw, dtype=">u4", count=ndim, offset=4))
    expected = header + int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    if len(raw) != expected:
        raise ValueError(
            f"{path} holds {len(raw)} bytes but its IDX header (shape {shape}, {dtype.name}) "
            f"announces {expected}; the file is truncated or corrupt. Get it again."
        )
    data = np.frombuffer(raw, dtype=dtype, offset=header).reshape(shape)
    return data.astype(dtype.newbyteorder("="))


def _find(directory: Path, stem: str) -> Path | None:
    dotted = stem.replace("-idx", ".idx")  # the name some mirrors use
    for name in (stem + ".gz", stem, dotted + ".gz", dotted):
        if (directory / name).is_file():
            return directory / name
    return None


def fashion_mnist_dir(path: str | os.PathLike | None = None) -> Path:
    """The directory that holds the Fashion-MNIST IDX files.

    Looks in ``path`` when given; otherwise in ``$CLASSDEP_DATA`` (and its
    ``fashion-mnist`` subdirectory) and then in Debian's ``/usr/share/datasets/fashion-mnist``.

    Parameters
    ----------
    path : str or os.PathLike, optional
        A directory holding the files (``.gz`` or not).

    Returns
    -------
    pathlib.Path

    Raises
    ------
    FileNotFoundError
        No such directory holds all four files; the message says how to get them.

    Examples
    --------
    >>> try:
    ...     fashion_mnist_dir("/nonexistent")
    ... except FileNotFoundError as err:
    ...     print("apt-get install dataset-fashion-mnist" in str(err))
    True
    """
    if path is not None:
        candidates = [Path(path)]
    else:
        candidates = []
        if os.environ.get("CLASSDEP_DATA"):
            root = Path(os.environ["CLASSDEP_DATA"])
            candidates += [root, root / "fashion-mnist"]
        candidates.append(DEBIAN_DIR)
    for directory in candidates:
        stems = [s for pair in _STEMS.values() for s in pair]
        if all(_find(directory, s) is not None for s in stems):
            return directory
    looked = ", ".join(map(str, candidates))
    raise FileNotFoundError(f"the Fashion-MNIST IDX files are not in {looked}. {_HOW_TO_GET}")


def _read_split(split: str, path: str | os.PathLike | None) -> tuple[np.ndarray, np.ndarray, Path]:
    check_choice(split, ["train", "test"], "split")
    directory = fashion_mnist_dir(path)
    images_stem, labels_stem = _STEMS[split]
    images = read_idx(_find(directory, images_stem))
    labels = read_idx(_find(directory, labels_stem))
    if images.ndim != 3 or labels.ndim != 1 or images.shape[0] != labels.shape[0]:
        raise ValueError(
            f"the Fashion-MNIST {split} files in {directory} do not match: images of shape "
            f"{images.shape}, labels of shape {labels.shape}."
        )
    return images, labels, directory


def fashion_mnist(split: str = "train", path: str | os.PathLike | None = None) -> xr.Dataset:
    """The Fashion-MNIST images (Xiao, Rasul & Vollgraf, 2017) as a features Dataset.

    Parameters
    ----------
    split : {"train", "test"}
        60 000 training or 10 000 test images.
    path : str or os.PathLike, optional
        Directory with the IDX files; default ``$CLASSDEP_DATA``, then Debian's
        ``/usr/share/datasets/fashion-mnist`` (``apt-get install dataset-fashion-mnist``).

    Returns
    -------
    xarray.Dataset
        ``X`` (``sample`` x 784 ``feature``, float32 pixels in [0, 1], row-major 28x28,
        feature names ``pixel_<row>_<col>``), ``y`` (codes 0..9), coordinate ``class``
        with the names in :data:`CLASS_NAMES`, and a ``split`` coordinate over ``sample``.

    Raises
    ------
    FileNotFoundError
        The files are not there; the message says how to get them.

    Examples
    --------
    >>> ds = fashion_mnist("test")  # doctest: +SKIP
    >>> ds.X.shape, str(ds["class"].values[0])  # doctest: +SKIP
    ((10000, 784), 'T-shirt/top')
    """
    images, labels, directory = _read_split(split, path)
    n, rows, cols = images.shape
    X = images.reshape(n, rows * cols).astype(np.float32) / np.float32(255.0)
    names = [f"pixel_{r}_{c}" for r in range(rows) for c in range(cols)]
    ds = as_features(
        X,
        labels.astype(np.int64),
        classes=dict(enumerate(CLASS_NAMES)),
        feature_names=names,
        attrs={
            "source": "Fashion-MNIST (Xiao, Rasul & Vollgraf 2017)",
            "split": split,
            "path": str(directory),
            "scaling": "pixel / 255",
        },
    )
    return ds.assign_coords(split=("sample", np.full(n, split)))


# -- penultimate-layer features of a small MLP ---------------------------------------------------


def _check_alpha(alpha: Any) -> list[float]:
    values = np.atleast_1d(np.asarray(alpha, dtype=np.float64))
    if values.ndim != 1 or values.size == 0:
        raise ValueError(f"alpha must be a number or a 1-D sequence of numbers; got {alpha!r}.")
    if not np.isfinite(values).all() or (values < 0).any():
        raise ValueError(
            f"alpha has values that are negative, NaN or inf ({values.tolist()}); "
            "weight decay must be a finite number >= 0."
        )
    if np.unique(values).size != values.size:
        raise ValueError(f"alpha has repeated values ({values.tolist()}); give each once.")
    return values.tolist()


def cache_path(cache_dir: str | os.PathLike | None) -> Path:
    """Where trained backbones are cached: ``cache_dir``, else ``$CLASSDEP_CACHE``, else
    ``~/.cache/classdep``.

    Examples
    --------
    >>> cache_path("/tmp/features").name
    'features'
    """
    if cache_dir is not None:
        return Path(cache_dir)
    if os.environ.get("CLASSDEP_CACHE"):
        return Path(os.environ["CLASSDEP_CACHE"])
    return Path.home() / ".cache" / "classdep"


def _subset(rng: np.random.Generator, total: int, n: int) -> np.ndarray:
    if n >= total:
        return np.arange(total)
    return np.sort(rng.choice(total, size=n, replace=False))


def _penultimate(clf: Any, X: np.ndarray) -> np.ndarray:
    """Activations of the last hidden layer: relu(... relu(X W1 + b1) ... W_L + b_L)."""
    h = X
    for W, b in zip(clf.coefs_[:-1], clf.intercepts_[:-1], strict=True):
        h = np.maximum(h @ W + b, 0)
    return np.asarray(h, dtype=np.float32)


def _train_one(
    alpha: float,
    settings: dict[str, Any],
    data: dict[str, np.ndarray],
    progress: bool,
) -> xr.Dataset:
    import sklearn
    from sklearn.neural_network import MLPClassifier

    seed = settings["seed"]
    clf = MLPClassifier(
        hidden_layer_sizes=tuple(settings["hidden"]),
        activation="relu",
        solver="adam",
        alpha=alpha,
        batch_size=min(settings["batch_size"], data["y_train"].size),
        learning_rate_init=settings["learning_rate"],
        shuffle=True,
        # a RandomState instance (not an int) so that every epoch draws a new shuffle
        random_state=np.random.RandomState(seed),
    )
    epochs = range(settings["epochs"])
    if progress:
        from tqdm import tqdm

        epochs = tqdm(epochs, desc=f"Fashion-MNIST MLP alpha={alpha:g}", unit="epoch")
    classes = np.arange(len(CLASS_NAMES))
    for epoch in epochs:
        clf.partial_fit(epoch_images(data["X_train"], settings, epoch), data["y_train"], classes=classes)
        if progress:
            epochs.set_postfix(loss=f"{clf.loss_:.4f}")
    if progress:
        epochs.close()

    X = np.concatenate([_penultimate(clf, data["X_train"]), _penultimate(clf, data["X_test"])])
    y = np.concatenate([data["y_train"], data["y_test"]])
    n_train, n_test = data["y_train"].size, data["y_test"].size
    attrs = {
        "source": "classdep.datasets.fashion_mnist_features",
        "description": (
            "penultimate-layer (last hidden layer, after ReLU) activations of a "
            "scikit-learn MLPClassifier trained on Fashion-MNIST"
        ),
        **settings,
        "alpha": alpha,
        "mlp_final_loss": float(clf.loss_),
        "mlp_train_accuracy": float(clf.score(data["X_train"], data["y_train"])),
        "mlp_test_accuracy": float(clf.score(data["X_test"], data["y_test"])),
        "sklearn_version": sklearn.__version__,
    }
    ds = as_features(X, y, classes=dict(enumerate(CLASS_NAMES)), attrs=attrs)
    return ds.assign_coords(
        split=("sample", np.array(["train"] * n_train + ["test"] * n_test)),
        image=("sample", np.concatenate([data["train_index"], data["test_index"]])),
    )


def fashion_mnist_features(
    alpha: float | Sequence[float] = 1e-4,
    hidden: Sequence[int] = (128, 64),
    n_train: int = 20000,
    n_test: int | None = None,
    epochs: int = 10,
    seed: int = 0,
    *,
    batch_size: int = 200,
    learning_rate: float = 1e-3,
    path: str | os.PathLike | None = None,
    cache_dir: str | os.PathLike | None = None,
    progress: bool = True,
    augment: tuple[str, float] | None = None,
) -> xr.Dataset:
    """Penultimate-layer features of a small MLP trained on Fashion-MNIST.

    The network is scikit-learn's :class:`~sklearn.neural_network.MLPClassifier`:
    784 inputs (pixels scaled to [0, 1]), ReLU hidden layers of sizes ``hidden``
    (default 128 then 64), a softmax output over the 10 classes, trained with Adam
    (``learning_rate``, mini-batches of ``batch_size``, a new shuffle every epoch) for
    ``epochs`` passes (default 10) over ``n_train`` training images drawn at random
    (default 20 000 of the 60 000), with L2 weight decay ``alpha`` on all weights
    (scikit-learn's ``alpha``: the loss adds ``alpha / 2 * ||W||^2`` divided by the
    batch size). The features are the activations of the last hidden layer (after its
    ReLU), computed from the fitted ``coefs_`` and ``intercepts_`` for the training
    images and for ``n_test`` test images (default all 10 000). With the defaults,
    training takes some ten seconds on two CPU cores.

    Results are cached on disk, one file per ``alpha`` keyed by every setting, so a
    second call returns at once.

    Parameters
    ----------
    alpha : float or sequence of float
        Upstream weight decay (>= 0). A sequence trains one network per value (same
        data, same initialization) and stacks the features along a leading ``alpha`` dim:
        the same images, differently regularized representations.
    hidden : sequence of int
        Hidden layer sizes; the last one is the number of features.
    n_train, n_test : int
        Training images used (out of 60 000) and test images featurized (out of 10 000;
        ``None`` for all). Both subsets are drawn with ``seed`` and are the same for every
        ``alpha``.
    epochs : int
        Passes over the training images.
    seed : int
        Seeds the subsets, the initialization and the shuffles.
    batch_size : int
        Adam mini-batch size.
    learning_rate : float
        Adam step size.
    path : str or os.PathLike, optional
        Directory with the Fashion-MNIST IDX files (see :func:`fashion_mnist`).
    cache_dir : str or os.PathLike, optional
        Default ``$CLASSDEP_CACHE``, else ``~/.cache/classdep``.
    progress : bool
        Show a tqdm progress bar over epochs while training.
    augment : (kind, strength), optional
        Train the backbone with data augmentation: every epoch sees freshly augmented
        copies of the training images (:func:`~classdep.datasets.image_augment.augment_images`,
        ``kind`` one of ``"translate"``, ``"flip"``, ``"noise"``, ``"erase"``; seeded by
        ``seed`` and the epoch).  Mixup is not offered here: it needs soft targets, which
        scikit-learn's MLP does not take.  The features are always those of the clean
        images, so backbones trained with and without augmentation (and over seeds) are
        compared on the same images, e.g. with :func:`classdep.class_effects`.

    Returns
    -------
    xarray.Dataset
        As :func:`~classdep.datasets.as_features`: ``X`` (``sample``, ``feature``) float32,
        or (``alpha``, ``sample``, ``feature``) for a sequence of ``alpha``; ``y`` codes;
        coordinate ``class`` (:data:`CLASS_NAMES`); over ``sample`` the coordinates
        ``split`` ("train" for the first ``n_train`` samples, then "test") and ``image``
        (the image's index in its Fashion-MNIST file). ``attrs`` hold every setting and the
        network's final training loss and train / test accuracy (lists over ``alpha``
        when there are several). Use :func:`~classdep.datasets.select_split` to get one split.

    Raises
    ------
    FileNotFoundError
        The Fashion-MNIST files are not there; the message says how to get them.

    Examples
    --------
    >>> ds = fashion_mnist_features(n_train=2000, epochs=2, progress=False)  # doctest: +SKIP
    >>> ds.X.shape  # doctest: +SKIP
    (12000, 64)
    >>> train = select_split(ds, "train")  # doctest: +SKIP
    """
    alphas = _check_alpha(alpha)
    hidden = [check_int(h, "hidden layer size", minimum=1) for h in np.atleast_1d(hidden)]
    n_train = check_int(n_train, "n_train", minimum=len(CLASS_NAMES))
    n_test = None if n_test is None else check_int(n_test, "n_test", minimum=1)
    epochs = check_int(epochs, "epochs", minimum=1)
    seed = check_int(seed, "seed", minimum=0)
    batch_size = check_int(batch_size, "batch_size", minimum=1)
    if not (np.isfinite(learning_rate) and learning_rate > 0):
        raise ValueError(f"learning_rate={learning_rate!r} must be a positive number.")
    if augment is not None:
        augment = check_augment(augment)
    directory = fashion_mnist_dir(path)
    settings = {
        "hidden": hidden,
        "n_train": min(n_train, 60000),
        "n_test": 10000 if n_test is None else min(n_test, 10000),
        "epochs": epochs,
        "seed": seed,
        "batch_size": batch_size,
        "learning_rate": float(learning_rate),
        "data_path": str(directory.resolve()),
    }
    if augment is not None:
        # only then: the cache keys of networks trained without augmentation stay as they were
        settings.update(augment_kind=augment[0], augment_strength=augment[1])

    cache = cache_path(cache_dir)
    data: dict[str, np.ndarray] | None = None
    results = []
    for a in alphas:
        key = json.dumps(
            {**settings, "alpha": a, "version": _FEATURES_VERSION, "sklearn": sklearn_version()},
            sort_keys=True,
        )
        file = cache / f"fashion_mnist_features-{hashlib.sha256(key.encode()).hexdigest()[:20]}.npz"
        if file.is_file():
            try:
                results.append(load_features(file))
                continue
            except (ValueError, KeyError, OSError) as exc:
                # A damaged or foreign cache entry costs a retraining, never the call.
                warnings.warn(f"ignoring unreadable cache file {file} ({exc!r}); retraining.",
                              stacklevel=2)
        if data is None:
            data = training_data(settings, directory)
        ds = _train_one(a, settings, data, progress)
        cache.mkdir(parents=True, exist_ok=True)
        tmp = file.with_name(f".{file.stem}.{os.getpid()}.tmp.npz")
        save_features(ds, tmp)
        os.replace(tmp, file)  # atomic: a crash never leaves half a cache entry
        results.append(ds)

    if len(results) == 1 and np.ndim(alpha) == 0:
        return results[0]
    return _stack_alphas(results, alphas)


def check_augment(augment: Any) -> tuple[str, float]:
    """A backbone's training augmentation ``(kind, strength)``, checked before any training.

    Examples
    --------
    >>> check_augment(("translate", 2))
    ('translate', 2.0)
    """
    from .image_augment import augment_images

    if not (isinstance(augment, tuple | list) and len(augment) == 2 and isinstance(augment[0], str)):
        raise ValueError(f"augment={augment!r} must be a pair (kind, strength), e.g. ('translate', 2).")
    kind, strength = augment[0], augment[1]
    if kind == "mixup":
        raise ValueError("augment=('mixup', ...): mixup needs soft targets, which scikit-learn's MLP does "
                         "not take; use 'translate', 'flip', 'noise' or 'erase'.")
    # the transform's own checks name a bad kind or strength, before any training
    augment_images(np.zeros((1, 28, 28)), kind, strength)
    return kind, float(strength)


def epoch_images(X: np.ndarray, settings: dict[str, Any], epoch: int) -> np.ndarray:
    """The training images of one epoch: fresh augmented copies, or the images themselves.

    ``settings`` holds ``seed`` and, for an augmented backbone, ``augment_kind`` and
    ``augment_strength``; each (seed, epoch) draws its own copies.

    Examples
    --------
    >>> X = np.random.default_rng(0).random((3, 784))
    >>> epoch_images(X, {"seed": 0}, 0) is X
    True
    >>> s = {"seed": 0, "augment_kind": "flip", "augment_strength": 1.0}
    >>> bool(np.array_equal(epoch_images(X, s, 0).reshape(3, 28, 28), X.reshape(3, 28, 28)[:, :, ::-1]))
    True
    """
    if "augment_kind" not in settings:
        return X
    from .image_augment import augment_images

    # one stream per (seed, epoch): reproducible, and a new draw every epoch
    seed = int(np.random.SeedSequence([settings["seed"], epoch]).generate_state(1)[0])
    return augment_images(X, settings["augment_kind"], settings["augment_strength"], shape=(28, 28),
                          seed=seed).images


def sklearn_version() -> str:
    """scikit-learn's version, part of an MLP backbone's cache key.

    Examples
    --------
    >>> sklearn_version().count(".") >= 1
    True
    """
    import sklearn

    return sklearn.__version__


def training_data(settings: dict[str, Any], directory: Path) -> dict[str, np.ndarray]:
    """The training and test images of a backbone: ``n_train`` and ``n_test`` drawn with ``seed``.

    Returns ``X_train``, ``y_train``, ``X_test``, ``y_test`` (pixels in [0, 1], flat) and
    the images' indices in their files, ``train_index`` and ``test_index``.

    Examples
    --------
    >>> data = training_data({"seed": 0, "n_train": 100, "n_test": 50}, fashion_mnist_dir())  # doctest: +SKIP
    >>> data["X_train"].shape  # doctest: +SKIP
    (100, 784)
    """
    train = fashion_mnist("train", directory)
    test = fashion_mnist("test", directory)
    rng = np.random.default_rng(settings["seed"])
    train_index = _subset(rng, train.sizes["sample"], settings["n_train"])
    test_index = _subset(rng, test.sizes["sample"], settings["n_test"])
    return {
        "X_train": train.X.values[train_index],
        "y_train": train.y.values[train_index],
        "X_test": test.X.values[test_index],
        "y_test": test.y.values[test_index],
        "train_index": train_index,
        "test_index": test_index,
    }


def _stack_alphas(results: list[xr.Dataset], alphas: list[float]) -> xr.Dataset:
    first = results[0]
    X = xr.concat([r.X for r in results], dim="alpha").assign_coords(alpha=alphas)
    per_alpha = ("mlp_final_loss", "mlp_train_accuracy", "mlp_test_accuracy")
    attrs = {k: v for k, v in first.attrs.items() if k not in ("alpha", *per_alpha)}
    attrs.update({k: [r.attrs[k] for r in results] for k in per_alpha})
    return xr.Dataset({"X": X, "y": first.y}, coords=first.coords, attrs=attrs)
