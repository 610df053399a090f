"""Image-space augmentation (classdep.datasets.image_augment) and the frozen-backbone DA sweep
(classdep.sweep.augment_images): known transforms on small arrays, seeds, strength 0 is the
identity, and the sweep end to end against a direct loop over strengths.

Tolerances: the transforms are exact (equality); the pipeline's held-out scores are the same
arithmetic as the loop's (same features, same fits), compared to 1e-10 relative; the class-wise
optima are grid argmins, compared exactly.
"""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr

import classdep as cd
from classdep.datasets.image_augment import (
    IMAGE_AUGMENTS,
    add_noise,
    augment_images,
    erase,
    flip,
    mixup,
    shift_images,
    translate,
)
from classdep.sweep.augment_images import (
    HeldoutGrid,
    MLPFeatureMap,
    assess_augment,
    assess_features,
    augment_features,
    extract,
)

KINDS = list(IMAGE_AUGMENTS)
STRENGTHS = {"translate": 2, "flip": 0.5, "noise": 0.3, "erase": 0.25, "mixup": 0.4}


def _images(n=6, H=5, W=4, C=None, seed=0):
    rng = np.random.default_rng(seed)
    return rng.random((n, H, W) if C is None else (n, H, W, C))


def _roll_zero(x, dy, dx):
    """np.roll of one (H, W) image with the wrapped-around pixels set to 0."""
    out = np.roll(x, (dy, dx), axis=(0, 1))
    if dy > 0:
        out[:dy] = 0
    elif dy < 0:
        out[dy:] = 0
    if dx > 0:
        out[:, :dx] = 0
    elif dx < 0:
        out[:, dx:] = 0
    return out


# -- known transforms on small arrays -----------------------------------------------------------

@pytest.mark.parametrize("dy,dx", [(1, 0), (0, 1), (-1, 0), (0, -1), (1, -1), (-2, 3), (5, 0)])
def test_shift_equals_roll_with_zero_fill(dy, dx):
    x = _images(3, 5, 4)
    out = shift_images(x, dy, dx)
    for i in range(3):
        np.testing.assert_array_equal(out[i], _roll_zero(x[i], dy, dx))


def test_translate_draws_shifts_within_the_strength():
    x = np.zeros((400, 7, 7))
    x[:, 3, 3] = 1.0  # a single bright pixel: where it lands is the shift
    out = translate(x, 2, np.random.default_rng(0))
    r, c = np.nonzero(out.reshape(400, 7, 7).sum(axis=0) > 0)
    pos = np.argwhere(out == 1.0)
    dy, dx = pos[:, 1] - 3, pos[:, 2] - 3
    assert pos.shape[0] == 400  # every pixel stays inside a 7x7 image at shifts up to 2
    assert set(dy.tolist()) == set(range(-2, 3)) and set(dx.tolist()) == set(range(-2, 3))
    # a fraction of the side: 0.3 * 7 rounds to 2 pixels, the same draws
    np.testing.assert_array_equal(translate(x, 0.3, np.random.default_rng(0), unit="fraction"), out)


def test_flip_is_the_mirror_image():
    x = _images(4, 3, 5)
    np.testing.assert_array_equal(flip(x, 1.0, np.random.default_rng(0)), x[:, :, ::-1])
    np.testing.assert_array_equal(flip(x, 0.0, np.random.default_rng(0)), x)
    x4 = _images(4, 3, 5, C=2)
    np.testing.assert_array_equal(flip(x4, 1.0, np.random.default_rng(0)), x4[:, :, ::-1, :])


def test_noise_is_sd_times_the_standard_normals_of_the_seed():
    x = _images(4, 3, 3)
    z = np.random.default_rng(5).standard_normal(x.shape)
    np.testing.assert_array_equal(add_noise(x, 0.7, np.random.default_rng(5)), x + 0.7 * z)


def test_erase_sets_a_square_of_the_area_fraction():
    x = np.ones((300, 8, 8))
    out = erase(x, 0.25, np.random.default_rng(1))  # side round(0.5 * 8) = 4
    erased = (out == 0).sum(axis=(1, 2))
    assert erased.max() == 16 and erased.min() >= 4  # whole 4x4 inside; clipped at a corner
    for i in range(20):  # the erased pixels form a rectangle
        r, c = np.nonzero(out[i] == 0)
        assert (r.max() - r.min() + 1) * (c.max() - c.min() + 1) == r.size
    np.testing.assert_array_equal(erase(x, 1.0, np.random.default_rng(1), fill=0.5) <= 1, True)


def test_mixup_mixes_pairs_with_beta_weights():
    x = _images(50, 3, 3)
    out, lam, partner = mixup(x, 0.4, np.random.default_rng(2))
    mixed = lam[:, None, None] * x + (1 - lam[:, None, None]) * x[partner]
    np.testing.assert_allclose(out, mixed, rtol=1e-14)
    assert np.all((lam >= 0) & (lam <= 1)) and np.sort(partner).tolist() == list(range(50))
    # small alpha puts lam near 0 or 1 (Beta(0.4, 0.4) is U-shaped)
    assert np.mean(np.minimum(lam, 1 - lam) < 0.1) > 0.3


# -- copies: shapes, seeds, identity at strength 0 ----------------------------------------------

@pytest.mark.parametrize("kind", KINDS)
def test_strength_zero_is_the_identity(kind):
    for shape in [(6, 5, 4), (6, 5, 4, 3)]:
        x = np.random.default_rng(0).random(shape)
        a = augment_images(x, kind, 0.0, copies=3, seed=4)
        np.testing.assert_array_equal(a.images, np.concatenate([x] * 3))
        np.testing.assert_array_equal(a.source, np.tile(np.arange(6), 3))
        assert np.all(a.lam == 1.0)


@pytest.mark.parametrize("kind", KINDS)
def test_shapes_and_seeds(kind):
    x = _images(6, 5, 4)
    a = augment_images(x, kind, STRENGTHS[kind], copies=3, seed=7)
    assert a.images.shape == (18, 5, 4) and a.source.shape == (18,)
    b = augment_images(x, kind, STRENGTHS[kind], copies=3, seed=7)
    np.testing.assert_array_equal(a.images, b.images)  # same seed, same copies
    c = augment_images(x, kind, STRENGTHS[kind], copies=3, seed=8)
    assert not np.array_equal(a.images, c.images)
    # more copies extend the first ones and never change them
    d = augment_images(x, kind, STRENGTHS[kind], copies=5, seed=7)
    np.testing.assert_array_equal(d.images[:18], a.images)
    # flat images with shape= give the same copies, flat
    f = augment_images(x.reshape(6, 20), kind, STRENGTHS[kind], copies=3, seed=7, shape=(5, 4))
    np.testing.assert_array_equal(f.images, a.images.reshape(18, 20))


def test_common_random_numbers_across_strengths():
    x = _images(50, 6, 6)
    weak = augment_images(x, "noise", 0.1, seed=3).images - x
    strong = augment_images(x, "noise", 0.3, seed=3).images - x
    np.testing.assert_allclose(strong, 3 * weak, rtol=1e-12, atol=1e-15)
    # translation: the shift never shrinks as the strength grows, for every image
    x1 = np.zeros((200, 9, 9))
    x1[:, 4, 4] = 1
    pos = [np.argwhere(augment_images(x1, "translate", m, seed=3).images == 1)[:, 1:] - 4 for m in (1, 2, 3)]
    assert np.all(np.abs(pos[0]) <= np.abs(pos[1])) and np.all(np.abs(pos[1]) <= np.abs(pos[2]))


def test_mixup_rows_equal_soft_targets():
    x = _images(8, 3, 3)
    y = np.array([0, 1, 2, 0, 1, 2, 0, 1])
    a = augment_images(x, "mixup", 1.0, copies=2, seed=0)
    T = a.targets(y, 3)
    np.testing.assert_allclose(T.sum(axis=1), 1.0)
    row, lab, w = a.rows(y)
    # the weighted rows sum back to the soft targets (times 1/copies)
    back = np.zeros_like(T)
    np.add.at(back, (row, lab), w)
    np.testing.assert_allclose(back, T / 2, rtol=1e-14, atol=1e-16)


@pytest.mark.parametrize("kwargs,match", [
    (dict(kind="rotate", strength=1), "not one of"),
    (dict(kind="flip", strength=1.5), r"\[0, 1\]"),
    (dict(kind="noise", strength=-0.1), ">= 0"),
    (dict(kind="noise", strength=np.nan), "finite"),
    (dict(kind="noise", strength=0.1, copies=0), "copies"),
    (dict(kind="noise", strength=0.1, seed=-1), "seed"),
])
def test_bad_arguments_raise_clear_errors(kwargs, match):
    with pytest.raises(ValueError, match=match):
        augment_images(_images(), **kwargs)


def test_flat_images_need_their_shape():
    with pytest.raises(ValueError, match="shape="):
        augment_images(np.zeros((3, 16)), "flip", 0.5)
    with pytest.raises(ValueError, match="pixels"):
        augment_images(np.zeros((3, 16)), "flip", 0.5, shape=(3, 3))


# -- feature maps -------------------------------------------------------------------------------

@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_mlp_feature_map_is_the_last_hidden_layer():
    from sklearn.neural_network import MLPClassifier

    rng = np.random.default_rng(0)
    X = rng.random((60, 16))
    y = rng.integers(0, 3, 60)
    clf = MLPClassifier(hidden_layer_sizes=(8, 5), max_iter=30, random_state=0).fit(X, y)
    fm = MLPFeatureMap.of(clf)
    h1 = np.maximum(X @ clf.coefs_[0] + clf.intercepts_[0], 0)
    h = np.maximum(h1 @ clf.coefs_[1] + clf.intercepts_[1], 0)
    np.testing.assert_allclose(fm(X.reshape(60, 4, 4)), h, rtol=1e-5, atol=1e-6)  # float32 out
    np.testing.assert_array_equal(extract(fm, X, batch_size=7), fm(X))


# -- the sweep end to end, against a direct loop ------------------------------------------------

@pytest.fixture(scope="module")
def digits_images():
    ds = cd.datasets.digits()
    im = ds.X.values.reshape(-1, 8, 8) / 16.0
    names = np.asarray([str(c) for c in ds["class"].values])[ds.y.values]
    return im[:200], names[:200], im[1000:1300], names[1000:1300]


def _pixels(a):
    return a.reshape(len(a), -1)


LAM = np.geomspace(1.0, 0.01, 4)
LEVELS = [0.0, 1.0, 2.0]


@pytest.fixture(scope="module")
def grid(digits_images):
    x, y, xn, yn = digits_images
    return assess_augment(_pixels, x, y, xn, yn, "translate", LEVELS, copies=2, seed=3, lambda_=LAM)


def test_sweep_equals_a_direct_loop_over_strengths(grid, digits_images):
    x, y, xn, yn = digits_images
    assert isinstance(grid, HeldoutGrid) and grid.dim == "augment"
    np.testing.assert_array_equal(grid.augment, LEVELS)
    dev = []
    for i, s in enumerate(LEVELS):
        a = augment_images(x, "translate", s, copies=2, seed=3)
        fit = cd.glmnet(_pixels(a.images), y[a.source], lambda_=LAM, weights=np.full(a.source.size, 0.5))
        h = cd.assess(fit, _pixels(xn), yn)
        np.testing.assert_allclose(grid[i].oof["loss"].values, h.oof["loss"].values, rtol=1e-10)
        np.testing.assert_allclose(grid[i].fit.path["coef"].values, fit.path["coef"].values,
                                   rtol=1e-10, atol=1e-12)
        dev.append(h["deviance"].values)  # (lambda, class)
    dev = np.stack(dev)  # (level, lambda, class)
    # each class's best strength at one lambda: the argmin over the loop's levels
    for j in (1, 2):
        cw = cd.classwise(grid, over="augment", s=LAM[j], debias=None, null=0)
        best = np.asarray(LEVELS)[dev[:, j].argmin(axis=0)]
        np.testing.assert_array_equal(cw.table["augment_opt"].values, best)
        assert cw.table.attrs["lambda"] == pytest.approx(LAM[j])
    # each strength's per-class optimal lambda: the argmin along the loop's lambdas
    per = cd.classwise(grid, null=0)
    for i in range(len(LEVELS)):
        np.testing.assert_array_equal(per.table["lambda_opt"].values[i], LAM[dev[i].argmin(axis=0)])


def test_strength_zero_level_is_the_clean_fit(grid, digits_images):
    x, y, xn, yn = digits_images
    clean = cd.assess(cd.glmnet(_pixels(x), y, lambda_=LAM), _pixels(xn), yn)
    # two identical copies of weight 1/2 are the clean objective: the same fit to solver accuracy
    np.testing.assert_allclose(grid[0].oof["loss"].values, clean.oof["loss"].values, rtol=1e-6)


@pytest.mark.filterwarnings("ignore::classdep.analysis.bootstrap.replicates.BootWarning")
def test_grid_analyses_accept_the_heldout_grid(grid, tmp_path):
    b = cd.boot(grid, R=30, over="augment", seed=1)
    ci = cd.boot_ci(b)
    assert ci.ci.sizes["class"] == 10
    assert cd.confint(grid, R=30).dims[0] == "augment"  # per level, along lambda
    res = grid.results
    assert res["deviance"].dims == ("augment", "lambda", "class", "fold")
    assert res["lambda_min"].dims == ("augment",)
    assert "translate augmentation, 2 copies" in str(grid)
    path = tmp_path / "grid.nc"
    grid.to_netcdf(path)
    back = HeldoutGrid.from_netcdf(path)
    np.testing.assert_array_equal(back.oof["loss"].values, grid.oof["loss"].values)
    np.testing.assert_array_equal(back.augment, grid.augment)
    assert back[1].halves is not None and back.results.attrs["kind"] == "translate"


def test_stacked_feature_sets_are_scored_on_clean_rows(digits_images):
    x, y, xn, yn = digits_images
    rng = np.random.default_rng(0)
    clean = _pixels(x)
    sets = np.stack([clean, clean + 0.5 * rng.standard_normal(clean.shape)])
    codes, classes = np.unique(y, return_inverse=True)[1], np.unique(y)
    train = xr.Dataset({"X": (("augment", "sample", "feature"), sets), "y": ("sample", codes)},
                       coords={"augment": [0.0, 0.5], "class": classes})
    g = assess_features(train, _pixels(xn), yn, lambda_=LAM[:2])
    for i in range(2):
        P = cd.predict(g[i].fit, _pixels(xn), s=list(LAM[:2]), type="response").values  # (L, n, K)
        k = np.searchsorted(classes, yn)
        expected = -np.log(P[:, np.arange(k.size), k])
        np.testing.assert_allclose(g[i].oof["loss"].values, expected, rtol=1e-12)
        assert g[i].results.attrs["n_heldout"] == len(yn)
    with pytest.raises(ValueError, match="clean held-out features"):
        assess_features(train, xn, yn)  # images where features are needed


def test_mixup_sweep_fits_two_weighted_rows_per_mixed_copy(digits_images):
    x, y, xn, yn = digits_images
    ds = augment_features(_pixels, x[:120], y[:120], "mixup", [0.5], copies=2, seed=1)
    g = assess_features(ds, _pixels(xn[:100]), yn[:100], lambda_=[0.1])
    a = augment_images(x[:120], "mixup", 0.5, copies=2, seed=1)
    row, lab, w = a.rows(y[:120])
    fit = cd.glmnet(_pixels(a.images)[row], lab, lambda_=[0.1], weights=w)
    np.testing.assert_allclose(g[0].fit.path["coef"].values, fit.path["coef"].values, rtol=1e-8, atol=1e-10)


def test_fashion_mnist_backbone_reproduces_the_cached_features(tmp_path):
    """The backbone as a feature map gives exactly the features fashion_mnist_features caches
    for the same settings (same subsets, initialization and shuffles), and is cached itself."""
    from classdep.datasets.fashion_mnist import fashion_mnist, fashion_mnist_dir
    from classdep.sweep.augment_images import fashion_mnist_backbone

    try:
        fashion_mnist_dir()
    except FileNotFoundError:
        pytest.skip("the Fashion-MNIST files are not installed")
    settings = dict(n_train=300, n_test=100, epochs=1, cache_dir=tmp_path)
    fm = fashion_mnist_backbone(**settings)
    ds = cd.datasets.fashion_mnist_features(**settings, progress=False)
    train = fashion_mnist("train").X.values[fm.attrs["train_index"]].reshape(-1, 28, 28)
    np.testing.assert_array_equal(fm(train), ds.X.values[:300])
    again = fashion_mnist_backbone(**settings)  # from the cache
    np.testing.assert_array_equal(again(train), ds.X.values[:300])
    np.testing.assert_array_equal(again.attrs["test_index"], fm.attrs["test_index"])


def test_over_levels_cross_fits_on_the_halves_and_plots_the_grid(grid):
    """The defaults work on a held-out grid: the cross-fit chooses each class's level on one
    class-stratified half of the held-out samples and scores it on the other (and back)."""
    import matplotlib

    matplotlib.use("Agg")
    j = 2
    cw = cd.classwise(grid, over="augment", s=LAM[j], null=0)
    assert "halves" in cw.table.attrs["crossfit"]
    # by hand: per-half deviance curves over levels at lambda j, from the stacked halves
    halves = np.stack([grid[i].halves["deviance"].isel({"lambda": j}).values for i in range(len(LEVELS))])
    A, B = halves[..., 0], halves[..., 1]  # (level, class) on each half
    gA, gB = A.sum(axis=1).argmin(), B.sum(axis=1).argmin()
    K = A.shape[1]
    rAB = B[gA] - B[A.argmin(axis=0), np.arange(K)]
    rBA = A[gB] - A[B.argmin(axis=0), np.arange(K)]
    np.testing.assert_allclose(cw.table["regret_crossfit"].values, rAB + rBA, rtol=1e-12)
    fig = cd.plot(grid)
    assert len(fig.axes[0].get_lines()) >= len(LEVELS)
