"""``classdep`` on the command line: ``classdep study [FEATURES]``.

The study fits the regularization path on a training split, scores every class on a
held-out split at every lambda, and writes the results (netCDF) and figures to an
output folder.  With no FEATURES it runs on scikit-learn's digits, which ship with the
dependencies.  Cross-validated class-wise optima with bootstrap intervals and the
discriminant analysis join the study as they land (see the project's issues).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import xarray as xr

__all__ = ["main", "study"]

_NOT_YET = (
    "cross-validated class-wise optima (cv_glmnet, classwise), bootstrap intervals (boot, "
    "boot_ci) and discriminant analysis (ambiguous, lda) are not part of the study yet"
)


def _load(features: str | None) -> xr.Dataset:
    from . import datasets

    if features in (None, "digits"):
        return datasets.digits()
    if features == "fashion-mnist":
        return datasets.fashion_mnist_features()
    path = Path(features)
    if not path.exists():
        raise SystemExit(
            f"classdep study: {features!r} is neither a features file nor a known dataset "
            "('digits', 'fashion-mnist'); supported files: .npz, .nc, .zarr, .pt."
        )
    return datasets.load_features(path)


def _split(ds: xr.Dataset, test_size: float, seed: int):
    from sklearn.model_selection import train_test_split

    if "split" in ds.coords or "split" in ds:
        split = np.asarray(ds["split"].values).astype(str)
        if {"train", "test"} <= set(split):
            return np.nonzero(split == "train")[0], np.nonzero(split == "test")[0]
    idx = np.arange(ds.sizes["sample"])
    return train_test_split(idx, test_size=test_size, stratify=ds["y"].values, random_state=seed)


def study(features: str | None = None, out: str | Path = "classdep-study", nlambda: int = 30,
          test_size: float = 0.25, seed: int = 0, device: str = "auto") -> xr.Dataset:
    """Run the study and write ``path.nc``, ``holdout.nc`` and figures into ``out``.

    Returns the held-out per-class deviance along the path, dims (``lambda``, ``class``).

    Examples
    --------
    >>> res = study(out="/tmp/classdep-doctest", nlambda=5)  # doctest: +SKIP
    """
    import matplotlib

    matplotlib.use("Agg")
    from . import glmnet, plot, predict

    ds = _load(features)
    tr, te = _split(ds, test_size, seed)
    classes = ds["class"].values
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    Xtr, Xte = ds["X"].values[tr], ds["X"].values[te]
    ytr, yte = classes[ds["y"].values[tr]], ds["y"].values[te]
    print(f"classdep study: {Xtr.shape[0]} training and {Xte.shape[0]} held-out samples, "
          f"{Xtr.shape[1]} features, {classes.size} classes\n")
    fit = glmnet(Xtr, ytr, nlambda=nlambda, lambda_min_ratio=1e-6, device=device)
    print(fit, "\n")
    P = predict(fit, Xte, type="response").values  # (lambda, sample, class)
    p_true = np.clip(P[:, np.arange(yte.size), yte], 1e-300, None)
    dev = np.stack([-2 * np.log(p_true[:, yte == k]).sum(axis=1) for k in range(classes.size)], axis=1)
    recall = np.stack([(P.argmax(axis=2)[:, yte == k] == k).mean(axis=1) for k in range(classes.size)],
                      axis=1)
    res = xr.Dataset(
        {"deviance": (("lambda", "class"), dev), "recall": (("lambda", "class"), recall)},
        coords={"lambda": fit.lambda_, "class": [str(c) for c in classes]},
        attrs={"description": "held-out per-class deviance and recall along the path"},
    )
    j_glob = int(np.argmin(dev.sum(axis=1)))
    j_cls = dev.argmin(axis=0)
    regret = dev[j_glob] - dev[j_cls, np.arange(classes.size)]
    print(f"Held-out deviance is smallest at lambda = {fit.lambda_[j_glob]:.4g} "
          f"(accuracy {np.mean(P[j_glob].argmax(1) == yte):.3f}).")
    print("Per class: the lambda that minimizes its own held-out deviance, and what the shared "
          "lambda costs it (deviance):")
    print(f"{'class':>14} {'lambda_opt':>11} {'regret':>9} {'recall':>7}")
    for k in np.argsort(-regret):
        print(f"{str(classes[k]):>14} {fit.lambda_[j_cls[k]]:11.4g} {regret[k]:9.3f} "
              f"{recall[j_glob, k]:7.3f}")
    print(f"Total regret G = {regret.sum():.3f} (an upper bound on what per-class penalties gain; "
          "plug-in, from one split).\n")
    fit.to_netcdf(out / "path.nc")
    res.to_netcdf(out / "holdout.nc")
    plot(fit).savefig(out / "coefficient_paths.png", dpi=90)
    _plot_curves(res, j_glob, out / "per_class_deviance.png")
    print(f"Wrote {out}/path.nc, holdout.nc, coefficient_paths.png, per_class_deviance.png")
    print(f"Not there yet: {_NOT_YET}.")
    return res


def _plot_curves(res: xr.Dataset, j_glob: int, path: Path) -> None:
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 4), constrained_layout=True)
    lam = res["lambda"].values
    for c in res["class"].values:
        d = res["deviance"].sel({"class": c}).values
        ax.plot(lam, d / d.min(), lw=1, label=str(c))
    ax.axvline(lam[j_glob], color="k", ls="--", lw=0.8, label="global optimum")
    ax.set_xscale("log")
    ax.set_xlabel("lambda")
    ax.set_ylabel("held-out deviance / its minimum")
    ax.legend(fontsize=6, ncol=2)
    fig.savefig(path, dpi=90)
    plt.close(fig)


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``classdep`` console script."""
    parser = argparse.ArgumentParser(prog="classdep", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("study", help="fit the path and measure per-class optima on held-out data")
    p.add_argument("features", nargs="?", default=None,
                   help="features file (.npz/.nc/.zarr/.pt) or 'digits' (default) or 'fashion-mnist'")
    p.add_argument("--out", default="classdep-study", help="output folder (default: %(default)s)")
    p.add_argument("--nlambda", type=int, default=30)
    p.add_argument("--test-size", type=float, default=0.25)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--device", default="auto", choices=["auto", "cpu", "gpu"])
    args = parser.parse_args(argv)
    if args.command == "study":
        study(args.features, args.out, args.nlambda, args.test_size, args.seed, args.device)
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
