"""``classdep`` on the command line: ``study``, ``sweep`` and ``report``.

* ``classdep sweep FEATURES -o results.nc`` cross-validates the path (all folds in one
  batch) and writes the CV object (results, out-of-fold data, full-data path) to netCDF;
* ``classdep report results.nc`` prints R-like tables (``cv.glmnet``, class-wise optima,
  bootstrap intervals for every class's optimum) and writes figures and an HTML page;
* ``classdep study [FEATURES]`` does both into one folder.  With no FEATURES it runs on
  scikit-learn's digits, which ship with the dependencies.
"""

from __future__ import annotations

import argparse
import html
import sys
import warnings
from pathlib import Path

import numpy as np
import xarray as xr

__all__ = ["main", "study", "sweep", "report"]

_NO_FEATURES = ("discriminant analysis of the ambiguous classes needs the features: "
                "classdep report RESULTS --features FEATURES")


def _load(features: str | xr.Dataset | None) -> xr.Dataset:
    from . import datasets

    if isinstance(features, xr.Dataset):
        return features
    if features in (None, "digits"):
        return datasets.digits()
    if features == "fashion-mnist":
        return datasets.fashion_mnist_features()
    path = Path(features)
    if not path.exists():
        raise SystemExit(
            f"classdep: {features!r} is neither a features file nor a known dataset "
            "('digits', 'fashion-mnist'); supported files: .npz, .nc, .zarr, .pt."
        )
    return datasets.load_features(path)


def _training_part(ds: xr.Dataset) -> xr.Dataset:
    if "split" in ds.coords or "split" in ds:
        split = np.asarray(ds["split"].values).astype(str)
        if "train" in set(split):
            return ds.isel(sample=np.nonzero(split == "train")[0])
        if len(set(split)) > 1:
            # cross-validating over several splits together would mix what the backbone saw
            names = sorted(map(str, set(split)))
            raise ValueError(f"the features carry splits {names} and none is named 'train': "
                             "select one with classdep.datasets.select_split(ds, NAME) and save it, or "
                             "rename the training split to 'train'.")
    return ds


def sweep(features: str | xr.Dataset | None = None, out: str | Path = "results.nc", nfolds: int = 5,
          nlambda: int = 40, lambdas=None, device: str = "auto", checkpoint=None, seed: int = 0):
    """Cross-validate the path on FEATURES and write the CV object to ``out`` (netCDF).

    Examples
    --------
    >>> cv = sweep(None, "/tmp/classdep-results.nc", nlambda=5)  # doctest: +SKIP
    """
    from . import cv_glmnet

    ds = _training_part(_load(features))
    cv = cv_glmnet(ds, nfolds=nfolds, lambda_=lambdas, nlambda=nlambda, lambda_min_ratio=1e-6,
                   device=device, checkpoint=checkpoint, seed=seed)
    cv.to_netcdf(out)
    return cv


def report(results: str | Path, out: str | Path | None = None, null: int = 200,
           features: str | xr.Dataset | None = None, k: int = 4) -> str:
    """Print the tables of a saved sweep and write figures and ``report.html`` into ``out``.

    With the sweep's ``features`` (a file, a dataset name, or the Dataset itself), the
    report adds the discriminant analysis of the ``k`` classes the model confuses most:
    ``ambiguous``, ``lda`` on those classes and their MANOVA.

    Examples
    --------
    >>> text = report("/tmp/classdep-results.nc", "/tmp/classdep-report")  # doctest: +SKIP
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from . import CVGlmnet, ambiguous, boot, boot_ci, classwise, lda, manova, plot

    cv = CVGlmnet.from_netcdf(results) if not isinstance(results, CVGlmnet) else results
    out = Path(out) if out is not None else Path(str(results)).with_suffix("")
    out.mkdir(parents=True, exist_ok=True)
    cw = classwise(cv, null=null)
    cwr = classwise(cv, measure="recall", null=null)
    part = cv.most_confused().isel({"lambda": cv.index["min"]})
    pairs = "\n".join(f"  {c!s:>14} -> {p}" for c, p in zip(part["class"].values, part.values, strict=True))
    # The smoothed optimum's percentile interval is the one that covers at its nominal
    # level in the coverage study (docs: bootstrap_coverage).
    ci = boot_ci(boot(cv, R=1000, estimator="smooth", seed=0), conf=0.9, type="perc")
    parts = [repr(cv), repr(cw), repr(cwr), repr(ci),
             "Most-confused partner of each class at lambda_min:\n" + pairs]
    figs = {"cv.png": plot(cv), "classwise_deviance.png": plot(cw), "classwise_recall.png": plot(cwr),
            "optima_ci.png": plot(ci), "path.png": plot(cv.fit)}
    note = _NO_FEATURES
    n_classes = len(cv.fit.classes)
    if n_classes >= 3:
        amb = ambiguous(cv, k=min(k, n_classes))
        parts.append(repr(amb))
        figs["ambiguous.png"] = plot(amb)
        if features is not None:
            ds = _training_part(_load(features))
            # dead units (constant features) are common in ReLU embeddings: MASS would stop;
            # the report drops them, and lda's print says how many
            with warnings.catch_warnings():
                warnings.filterwarnings("ignore", message=".*constant within groups", category=UserWarning)
                da = lda(ds, classes=amb, drop_constant=True)
            parts += [repr(da), repr(manova(ds, classes=amb, drop_constant=True))]
            figs["lda.png"] = plot(da)
            note = ""
    text = "\n\n".join(parts)
    for name, fig in figs.items():
        fig.savefig(out / name, dpi=90)
        plt.close(fig)
    cw.table.to_netcdf(out / "classwise.nc")
    page = ["<html><head><meta charset='utf-8'><title>classdep report</title></head><body>",
            "<h1>classdep report</h1>", f"<pre>{html.escape(text)}</pre>"]
    page += [f"<h2>{n}</h2><img src='{n}' style='max-width:100%'>" for n in figs]
    page.append(f"<p>{html.escape(note)}</p></body></html>" if note else "</body></html>")
    (out / "report.html").write_text("\n".join(page))
    return text


def study(features: str | None = None, out: str | Path = "classdep-study", nfolds: int = 5,
          nlambda: int = 40, device: str = "auto", seed: int = 0) -> str:
    """The whole study: sweep, class-wise optima, figures and an HTML report in ``out``.

    Examples
    --------
    >>> text = study(out="/tmp/classdep-doctest", nlambda=5)  # doctest: +SKIP
    """
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    ds = _load(features)
    cv = sweep(ds, out / "results.nc", nfolds=nfolds, nlambda=nlambda, device=device, seed=seed)
    return report(cv, out, features=ds)


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``classdep`` console script: ``classdep study | sweep | report``.

    Parameters
    ----------
    argv : list of str, optional
        The arguments after ``classdep`` (default: ``sys.argv[1:]``).

    Returns
    -------
    int
        The exit status, 0 on success.

    Examples
    --------
    >>> main(["sweep", "digits", "-o", "/tmp/classdep-main.nc", "--nlambda", "5"])  # doctest: +SKIP
    0
    """
    parser = argparse.ArgumentParser(prog="classdep", description=__doc__.splitlines()[0])
    parser.add_argument("--debug", action="store_true",
                        help="show Python tracebacks instead of one-line errors (default: off)")
    sub = parser.add_subparsers(dest="command", required=True)
    feat_help = "features file (.npz/.nc/.zarr/.pt), 'digits' (default) or 'fashion-mnist'"
    p = sub.add_parser("study", help="sweep + class-wise report into one folder")
    p.add_argument("features", nargs="?", default=None, help=feat_help)
    p.add_argument("--out", "-o", default="classdep-study")
    p.add_argument("--folds", type=int, default=5)
    p.add_argument("--nlambda", type=int, default=40)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--device", default="auto", choices=["auto", "cpu", "gpu"])
    s = sub.add_parser("sweep", help="cross-validate the path and save results (netCDF)")
    s.add_argument("features", nargs="?", default=None, help=feat_help)
    s.add_argument("--out", "-o", default="results.nc")
    s.add_argument("--folds", type=int, default=5)
    s.add_argument("--nlambda", type=int, default=40)
    s.add_argument("--lambdas", type=float, nargs="+", default=None)
    s.add_argument("--checkpoint", default=None, help="folder to checkpoint into and resume from")
    s.add_argument("--seed", type=int, default=0)
    s.add_argument("--device", default="auto", choices=["auto", "cpu", "gpu"])
    r = sub.add_parser("report", help="tables and figures of a saved sweep")
    r.add_argument("results")
    r.add_argument("--out", "-o", default=None)
    r.add_argument("--null", type=int, default=200, help="label permutations for the null")
    r.add_argument("--features", default=None,
                   help="the sweep's features, for the discriminant analysis of the ambiguous classes")
    args = parser.parse_args(argv)
    interrupted = False
    try:
        return _run(args)
    except KeyboardInterrupt:
        if args.debug:
            raise
        interrupted = True
    except (ValueError, TypeError, OSError, KeyError, MemoryError) as exc:
        if args.debug:
            raise
        # one line that names the problem and the fix (classdep's messages do); --debug has the rest
        text = " ".join(str(exc).split()) or type(exc).__name__
        print(f"classdep: error: {text}", file=sys.stderr)
        return 2
    if interrupted:
        import gc

        # the interrupted sweep's progress bar writes its last state when it is collected:
        # collect it first, so that the message is the last line the user sees
        gc.collect()
        resumable = getattr(args, "checkpoint", None) is not None
        print("\nclassdep: interrupted; " + ("rerun the same command to resume." if resumable else
              "nothing was written. A sweep given --checkpoint DIR resumes where it stopped."),
              file=sys.stderr)
        return 130
    return 0


def _run(args: argparse.Namespace) -> int:
    if args.command == "study":
        print(study(args.features, args.out, args.folds, args.nlambda, args.device, args.seed))
        print(f"\nWrote {args.out}/results.nc, report.html and figures.")
    elif args.command == "sweep":
        cv = sweep(args.features, args.out, args.folds, args.nlambda, args.lambdas, args.device,
                   args.checkpoint, args.seed)
        print(cv)
        print(f"\nWrote {args.out}")
    else:
        print(report(args.results, args.out, args.null, features=args.features))
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
