"""Image-space data augmentation: five transforms, one strength each, seeded.

The study asks how a network's last layer responds to data augmentation (DA) class by
class (Balestriero, Bottou & LeCun 2022; Kirichenko et al. 2023).  With a frozen
backbone, DA means: draw augmented copies of the training *images*, pass them through the
backbone, and fit the head on their features (:func:`classdep.sweep.augment_images.assess_augment`).
This module draws the copies.  Every transform has one strength, and strength 0 is the
identity (the output equals the input exactly):

================  ===============================  ==========================================
``kind``          strength                         what one copy of an image is
================  ===============================  ==========================================
``"translate"``   largest shift ``m``, in pixels   shifted by ``(dy, dx)``, each uniform on
                  (or a fraction of the side with  ``{-m, ..., m}``, vacated pixels set to
                  ``unit="fraction"``)             ``fill`` (0): the same as zero-padding by
                                                   ``m`` and taking a random crop of the
                                                   original size ("random crop")
``"flip"``        probability ``p`` in [0, 1]      mirrored left-right (``x[..., ::-1, :]``
                                                   per image) with probability ``p``
``"noise"``       standard deviation ``sd`` >= 0   ``x + sd * z``, ``z`` standard normal per
                                                   pixel (not clipped)
``"erase"``       area fraction ``a`` in [0, 1]    a square of side ``round(sqrt(a) * H)``
                                                   (``H`` the height), centred uniformly on
                                                   the image and clipped at its borders, set
                                                   to ``fill``: cutout (DeVries & Taylor 2017)
``"mixup"``       ``alpha`` >= 0                   ``lam * x_i + (1 - lam) * x_j`` with ``j``
                                                   a random partner from the same images and
                                                   ``lam ~ Beta(alpha, alpha)`` (Zhang et al.
                                                   2018); ``alpha = 0`` is ``lam = 1``
================  ===============================  ==========================================

**Labels under mixup.**  Zhang et al. train on the mixed target
``lam * e_{y_i} + (1 - lam) * e_{y_j}``.  Cross-entropy is linear in the target,
``-sum_k t_k log p_k = lam * CE(y_i) + (1 - lam) * CE(y_j)``, so that soft target is
exactly two rows with the same mixed features, labels ``y_i`` and ``y_j`` and sample
weights ``lam`` and ``1 - lam``: the head is fitted by the ordinary weighted multinomial
solver, with nothing approximated.  :class:`Augmented` holds both forms: ``targets``
(the soft labels) and :meth:`Augmented.rows` (the duplicated rows with weights).

**Common random numbers.**  A copy is drawn from uniform (or normal) variates that do not
depend on the strength, which only maps them to a transform: ``dy = floor(u (2m + 1)) - m``
for translation, "flip if ``u < p``" for flips, ``sd * z`` for noise, the patch centre
for cutout and ``lam = F^{-1}(u)`` (the Beta(alpha, alpha) quantile) for mixup.  The same
``seed`` at two strengths therefore gives the same draws, transformed more or less
strongly: curves over the strength are smooth, not re-randomized at every level.

Images are arrays ``(n, H, W)`` or ``(n, H, W, C)`` (height, width, channels); a flat
``(n, H * W)`` array takes ``shape=(H, W)``.  Randomness comes from
``numpy.random.default_rng(seed)``: the same seed, the same copies.

References
----------
Balestriero, Bottou & LeCun (2022), "The effects of regularization and data augmentation
are class dependent", NeurIPS.  Kirichenko et al. (2023), "Understanding the detrimental
class-level effects of data augmentation", NeurIPS.  Zhang, Cisse, Dauphin & Lopez-Paz
(2018), "mixup: Beyond empirical risk minimization", ICLR.  DeVries & Taylor (2017),
"Improved regularization of convolutional neural networks with cutout", arXiv:1708.04552.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import special

__all__ = [
    "IMAGE_AUGMENTS",
    "Augmented",
    "augment_images",
    "translate",
    "flip",
    "add_noise",
    "erase",
    "mixup",
    "shift_images",
]

#: The image transforms and the meaning of their one strength parameter.
IMAGE_AUGMENTS: dict[str, str] = {
    "translate": "largest shift in pixels (or a fraction of the side, unit='fraction')",
    "flip": "probability of a left-right mirror, in [0, 1]",
    "noise": "standard deviation of additive Gaussian noise, >= 0",
    "erase": "area fraction of the cutout square, in [0, 1]",
    "mixup": "alpha of the Beta(alpha, alpha) mixing weight, >= 0",
}


# -- shapes -------------------------------------------------------------------------------------


def _as_images(images, shape: tuple[int, int] | None) -> tuple[np.ndarray, tuple[int, ...]]:
    """``(images as (n, H, W[, C]) floats, the caller's shape)``; a flat array needs ``shape``."""
    x = np.asarray(images)
    if not np.issubdtype(x.dtype, np.number) or np.issubdtype(x.dtype, np.complexfloating):
        raise TypeError(f"images must be a real numeric array; got dtype {x.dtype}.")
    given = x.shape
    if x.ndim == 2:
        if shape is None:
            raise ValueError(f"images of shape {given} are flat: pass shape=(H, W) with H * W = {given[1]}.")
        H, W = (int(v) for v in shape)
        if H * W != given[1]:
            raise ValueError(f"shape={tuple(shape)} has {H * W} pixels but the images have {given[1]}.")
        x = x.reshape(given[0], H, W)
    elif x.ndim not in (3, 4):
        raise ValueError(f"images must be (n, H, W), (n, H, W, C) or flat (n, H*W); got shape {given}.")
    if not np.issubdtype(x.dtype, np.floating):
        x = x.astype(np.float64)  # integer pixels would truncate noise and mixing
    if not np.all(np.isfinite(x)):
        raise ValueError("images hold NaN or inf values.")
    return x, given


def _check_strength(kind: str, s) -> float:
    if isinstance(s, bool) or not isinstance(s, int | float | np.integer | np.floating) or not np.isfinite(s):
        raise ValueError(f"{kind} strength={s!r} must be a finite number.")
    s = float(s)
    if s < 0:
        raise ValueError(f"{kind} strength={s!r} must be >= 0 ({IMAGE_AUGMENTS[kind]}).")
    if kind in ("flip", "erase") and s > 1:
        raise ValueError(f"{kind} strength={s!r} must lie in [0, 1] ({IMAGE_AUGMENTS[kind]}).")
    return s


def shift_images(images: np.ndarray, dy, dx, fill: float = 0.0) -> np.ndarray:
    """Shift each image by whole pixels, ``(dy[i], dx[i])``, filling what is vacated.

    A positive ``dy`` moves the content down, a positive ``dx`` to the right; pixels
    shifted past the border are lost (no wrap-around).

    Parameters
    ----------
    images : ndarray (n, H, W) or (n, H, W, C)
    dy, dx : int or int array (n,)
    fill : float
        Value of the vacated pixels.

    Returns
    -------
    ndarray, same shape and dtype as ``images``

    Examples
    --------
    >>> x = np.arange(1, 5.0).reshape(1, 2, 2)
    >>> shift_images(x, 0, 1)[0]
    array([[0., 1.],
           [0., 3.]])
    """
    x = np.asarray(images)
    n, H, W = x.shape[:3]
    dy = np.broadcast_to(np.asarray(dy, dtype=np.int64), (n,))
    dx = np.broadcast_to(np.asarray(dx, dtype=np.int64), (n,))
    out = np.full_like(x, fill)
    # one slice assignment per distinct shift: (2m + 1)^2 groups at most, not n loops
    pairs, inverse = np.unique(np.stack([dy, dx], axis=1), axis=0, return_inverse=True)
    for g, (a, b) in enumerate(pairs):
        idx = np.nonzero(inverse.ravel() == g)[0]
        if abs(a) >= H or abs(b) >= W:
            continue  # shifted out entirely: all fill
        src_r = slice(max(0, -a), H - max(0, a))
        dst_r = slice(max(0, a), H - max(0, -a))
        src_c = slice(max(0, -b), W - max(0, b))
        dst_c = slice(max(0, b), W - max(0, -b))
        out[idx, dst_r, dst_c] = x[idx, src_r, src_c]
    return out


# -- the transforms: (images (n, H, W[, C]), strength, rng) -> images ---------------------------


def translate(images: np.ndarray, strength: float, rng: np.random.Generator, *, unit: str = "pixel",
              fill: float = 0.0) -> np.ndarray:
    """Random translation (random crop of the zero-padded image) by up to ``strength`` pixels.

    ``dy`` and ``dx`` are independent and uniform on ``{-m, ..., m}`` with ``m =
    floor(strength)`` (``unit="pixel"``) or ``m = round(strength * min(H, W))``
    (``unit="fraction"``).  Draws two uniforms per image.

    Examples
    --------
    >>> x = np.ones((3, 4, 4))
    >>> bool((translate(x, 0, np.random.default_rng(0)) == x).all())
    True
    >>> translate(x, 1, np.random.default_rng(0)).shape
    (3, 4, 4)
    """
    if unit not in ("pixel", "fraction"):
        raise ValueError(f"unit={unit!r} is not one of 'pixel', 'fraction'.")
    x = np.asarray(images)
    n, H, W = x.shape[:3]
    u = rng.random((2, n))
    m = int(np.floor(strength)) if unit == "pixel" else int(round(strength * min(H, W)))
    if m == 0:
        return x.copy()
    d = np.minimum(np.floor(u * (2 * m + 1)).astype(np.int64), 2 * m) - m
    return shift_images(x, d[0], d[1], fill)


def flip(images: np.ndarray, strength: float, rng: np.random.Generator) -> np.ndarray:
    """Mirror each image left-right with probability ``strength``.

    Examples
    --------
    >>> x = np.arange(4.0).reshape(1, 2, 2)
    >>> flip(x, 1.0, np.random.default_rng(0))[0]
    array([[1., 0.],
           [3., 2.]])
    """
    x = np.asarray(images)
    u = rng.random(x.shape[0])
    out = x.copy()
    hit = u < strength
    out[hit] = x[hit][:, :, ::-1]
    return out


def add_noise(images: np.ndarray, strength: float, rng: np.random.Generator) -> np.ndarray:
    """Additive Gaussian noise of standard deviation ``strength`` on every pixel (not clipped).

    Examples
    --------
    >>> x = np.zeros((200, 8, 8))
    >>> round(float(add_noise(x, 0.5, np.random.default_rng(0)).std()), 1)
    0.5
    """
    x = np.asarray(images)
    z = rng.standard_normal(x.shape)
    if strength == 0:
        return x.copy()
    return (x + strength * z).astype(x.dtype, copy=False)


def erase(images: np.ndarray, strength: float, rng: np.random.Generator, *, fill: float = 0.0) -> np.ndarray:
    """Cutout (DeVries & Taylor 2017): a square of area ``strength * H * H`` set to ``fill``.

    The side is ``round(sqrt(strength) * H)`` pixels (``H`` the height); its centre is
    uniform over the image's pixels and the square is clipped at the borders, so that on
    average less than ``strength`` of the image is erased, as in the paper.

    Examples
    --------
    >>> x = np.ones((1, 4, 4))
    >>> int(erase(x, 1.0, np.random.default_rng(0)).sum()) < 16
    True
    """
    x = np.asarray(images)
    n, H, W = x.shape[:3]
    u = rng.random((2, n))
    side = int(round(np.sqrt(strength) * H))
    out = x.copy()
    if side == 0:
        return out
    cy = np.minimum(np.floor(u[0] * H).astype(np.int64), H - 1)
    cx = np.minimum(np.floor(u[1] * W).astype(np.int64), W - 1)
    top, left = cy - side // 2, cx - side // 2
    rows = np.arange(H)[None, :]
    cols = np.arange(W)[None, :]
    inr = (rows >= top[:, None]) & (rows < top[:, None] + side)  # (n, H)
    inc = (cols >= left[:, None]) & (cols < left[:, None] + side)  # (n, W)
    mask = inr[:, :, None] & inc[:, None, :]
    if x.ndim == 4:
        mask = mask[..., None]
    return np.where(mask, np.asarray(fill, dtype=x.dtype), out)


def mixup(images: np.ndarray, strength: float,
          rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Mixup of inputs (Zhang et al. 2018): ``lam * x_i + (1 - lam) * x_partner``.

    ``partner`` is a random permutation of the images and ``lam ~ Beta(alpha, alpha)``
    with ``alpha = strength``, drawn as the Beta quantile of a uniform (so the same seed
    at two ``alpha`` pairs the same images).  ``alpha = 0`` gives ``lam = 1``: the identity.

    Returns
    -------
    images, lam (n,), partner (n,)

    Examples
    --------
    >>> x = np.stack([np.zeros((2, 2)), np.ones((2, 2))])
    >>> out, lam, partner = mixup(x, 0.0, np.random.default_rng(0))
    >>> bool((out == x).all()), lam.tolist()
    (True, [1.0, 1.0])
    """
    x = np.asarray(images)
    n = x.shape[0]
    partner = rng.permutation(n)
    u = rng.random(n)
    if strength == 0:
        return x.copy(), np.ones(n), partner
    lam = special.betaincinv(strength, strength, u)
    shape = (n,) + (1,) * (x.ndim - 1)
    mixed = lam.reshape(shape) * x + (1.0 - lam).reshape(shape) * x[partner]
    return mixed.astype(x.dtype, copy=False), lam, partner


# -- copies -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Augmented:
    """Augmented copies of a set of images, with where each came from.

    Attributes
    ----------
    images : ndarray (copies * n, ...)
        The copies, copy ``r`` of image ``i`` at row ``r * n + i``, in the shape the
        images were given (flat stays flat).
    source : ndarray (copies * n,)
        Index of each row's image in the input.
    partner : ndarray (copies * n,)
        Mixup's second image (equal to ``source`` for the other kinds).
    lam : ndarray (copies * n,)
        Mixup's weight on ``source`` (1 for the other kinds).
    kind, strength, copies, seed :
        What was drawn.
    """

    images: np.ndarray
    source: np.ndarray
    partner: np.ndarray
    lam: np.ndarray
    kind: str
    strength: float
    copies: int
    seed: int

    def targets(self, codes, n_classes: int) -> np.ndarray:
        """Soft targets ``lam * e_{y_source} + (1 - lam) * e_{y_partner}``, (rows, n_classes).

        Examples
        --------
        >>> a = augment_images(np.zeros((2, 2, 2)), "flip", 0.5)
        >>> a.targets(np.array([0, 1]), 2).tolist()
        [[1.0, 0.0], [0.0, 1.0]]
        """
        codes = np.asarray(codes, dtype=np.int64)
        T = np.zeros((self.source.size, int(n_classes)))
        r = np.arange(self.source.size)
        np.add.at(T, (r, codes[self.source]), self.lam)
        np.add.at(T, (r, codes[self.partner]), 1.0 - self.lam)
        return T

    def rows(self, labels) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``(row, label, weight)``: the weighted rows that fit the head on these copies.

        Each copy is one row of weight ``1 / copies`` labelled by its image; a mixed copy
        is two rows with its features (``row`` indexes :attr:`images`), labelled by the
        two images and weighted ``lam / copies`` and ``(1 - lam) / copies`` (rows of
        weight 0 are dropped).  Weighted cross-entropy on these rows equals
        cross-entropy on mixup's soft targets.

        Examples
        --------
        >>> a = augment_images(np.zeros((2, 3, 3)), "mixup", 1.0, copies=2)
        >>> row, lab, w = a.rows(np.array(["a", "b"]))
        >>> bool(np.isclose(w.sum(), 2.0))
        True
        """
        labels = np.asarray(labels)
        m = self.source.size
        r = np.arange(m)
        if self.kind != "mixup":
            return r, labels[self.source], np.full(m, 1.0 / self.copies)
        row = np.concatenate([r, r])
        lab = np.concatenate([labels[self.source], labels[self.partner]])
        w = np.concatenate([self.lam, 1.0 - self.lam]) / self.copies
        keep = w > 0
        return row[keep], lab[keep], w[keep]


def augment_images(images, kind: str, strength: float, *, copies: int = 1, seed: int = 0,
                   shape: tuple[int, int] | None = None, unit: str = "pixel", fill: float = 0.0) -> Augmented:
    """Draw ``copies`` augmented copies of every image, seeded.

    Parameters
    ----------
    images : array (n, H, W), (n, H, W, C), or flat (n, H * W) with ``shape``
        The images (floats; integers are converted to float64).
    kind : {"translate", "flip", "noise", "erase", "mixup"}
        The transform (see the module's table).
    strength : float
        Its one parameter; 0 is the identity.
    copies : int
        Copies per image (>= 1).
    seed : int
        Seed of ``numpy.random.default_rng``; copy ``r`` uses the ``r``-th draws of one
        stream, so more copies extend, and never change, the first ones.
    shape : (H, W), optional
        The image shape of flat images.
    unit : {"pixel", "fraction"}
        Unit of the translation's strength.
    fill : float
        Value of pixels vacated by translation or erased by cutout.

    Returns
    -------
    Augmented
        ``images`` (``copies * n`` rows, in the shape given), ``source``, and for mixup
        ``partner`` and ``lam``.

    Examples
    --------
    >>> x = np.random.default_rng(0).random((5, 28, 28))
    >>> a = augment_images(x, "translate", 2, copies=3, seed=1)
    >>> a.images.shape, a.source[:6].tolist()
    ((15, 28, 28), [0, 1, 2, 3, 4, 0])
    >>> bool((augment_images(x, "erase", 0.0).images == x).all())
    True
    """
    if kind not in IMAGE_AUGMENTS:
        raise ValueError(f"kind={kind!r} is not one of {list(IMAGE_AUGMENTS)}.")
    s = _check_strength(kind, strength)
    if isinstance(copies, bool) or not isinstance(copies, int | np.integer) or copies < 1:
        raise ValueError(f"copies={copies!r} must be an integer >= 1.")
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer) or seed < 0:
        raise ValueError(f"seed={seed!r} must be a non-negative integer.")
    x, given = _as_images(images, shape)
    n = x.shape[0]
    rng = np.random.default_rng(int(seed))
    out, partner, lam = [], [], []
    idx = np.arange(n)
    for _ in range(int(copies)):
        p, lm = idx, np.ones(n)
        if kind == "translate":
            c = translate(x, s, rng, unit=unit, fill=fill)
        elif kind == "flip":
            c = flip(x, s, rng)
        elif kind == "noise":
            c = add_noise(x, s, rng)
        elif kind == "erase":
            c = erase(x, s, rng, fill=fill)
        else:
            c, lm, p = mixup(x, s, rng)
        out.append(c)
        partner.append(p)
        lam.append(lm)
    imgs = np.concatenate(out).reshape((int(copies) * n,) + tuple(given[1:]))
    src = np.tile(idx, int(copies))
    part = np.concatenate(partner)
    if kind != "mixup":
        part = src.copy()
    return Augmented(imgs, src, part, np.concatenate(lam), kind, s, int(copies), int(seed))
