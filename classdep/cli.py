"""classdep on the command line: study, sweep and report.

* ``classdep study [FEATURES]`` runs the whole study into one folder: the head fitted on
  the training features and every class scored on held-out ones (or ``--protocol cv``:
  K-fold CV inside the held-out features), class-wise optima per measure, bootstrap
  intervals, the ambiguous classes' discriminant analysis, figures and an HTML report
  (:func:`classdep.study.study`).  With no FEATURES it runs on scikit-learn's digits,
  which ship with the dependencies.
* ``classdep sweep FEATURES -o results.nc`` cross-validates the path (all folds in one
  batch) and writes the CV object (results, out-of-fold data, full-data path) to netCDF;
* ``classdep report results.nc`` prints R-like tables (``cv.glmnet``, class-wise optima,
  bootstrap intervals for every class's optimum) and writes figures and an HTML page.

Errors are one line on stderr (exit status 2), warnings one line each in the command
line's terms, and Ctrl-C exits with status 130; ``--debug`` shows Python tracebacks.
"""

from __future__ import annotations

import argparse
import html
import re
import sys
import warnings
from pathlib import Path

import numpy as np
import xarray as xr

from .study import Progress, load

__all__ = ["main", "study", "sweep", "report"]

_NO_FEATURES = ("discriminant analysis of the ambiguous classes needs the features: "
                "classdep report RESULTS --features FEATURES")


def _load(features: str | xr.Dataset | None) -> xr.Dataset:
    return load(features)


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


def _read_sweep(path: str | Path):
    """A saved evaluated sweep: cross-validated (``classdep sweep``) or held-out (``classdep study``)."""
    from . import CVGlmnet, Heldout

    try:
        return CVGlmnet.from_netcdf(path)
    except ValueError as first:
        try:
            return Heldout.from_netcdf(path)
        except ValueError:
            raise first from None


def _partners(cv) -> xr.DataArray:
    """Each class's most-confused partner at lambda_min, for a CV or a held-out result."""
    if hasattr(cv, "most_confused"):
        return cv.most_confused().isel({"lambda": cv.index["min"]})
    C = cv.confusion.isel({"lambda": cv.index["min"]}).values.astype(float)
    np.fill_diagonal(C, -1.0)
    names = np.asarray(cv.classes)
    return xr.DataArray(names[C.argmax(axis=1)], dims="class", coords={"class": names})


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

    from . import CVGlmnet, Heldout, ambiguous, boot, boot_ci, classwise, lda, manova, plot

    cv = results if isinstance(results, CVGlmnet | Heldout) else _read_sweep(results)
    out = Path(out) if out is not None else Path(str(results)).with_suffix("")
    out.mkdir(parents=True, exist_ok=True)
    cw = classwise(cv, null=null)
    cwr = classwise(cv, measure="recall", null=null)
    part = _partners(cv)
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
    if isinstance(cv, Heldout):
        note = ("the ambiguous classes of a held-out result need its held-out features: classdep study "
                "computes them")
    elif n_classes >= 3:
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


def study(features: str | None = None, out: str | Path = "classdep-study", **options):
    """``classdep study``: :func:`classdep.study.study` (the report's text is returned).

    Examples
    --------
    >>> text = study(out="/tmp/classdep-doctest", nlambda=5, force=True)  # doctest: +SKIP
    """
    from .study import study as run

    return run(features, out, **options).text


# Library warnings the command line has already acted on: not shown.
_SILENT = (
    re.compile(r"features are constant within groups"),  # the CLI drops them (drop_constant=True)
)


def _classes(names: str) -> str:
    """``"0, 3, global"`` -> ``"classes 0, 3 and of the shared lambda"``."""
    parts = [p.strip() for p in names.split(",") if p.strip()]
    shared = "global" in parts
    parts = [p for p in parts if p != "global"]
    text = ("classes " if len(parts) > 1 else "class ") + ", ".join(parts) if parts else ""
    if shared:
        text = f"{text} and of the shared lambda" if text else "the shared lambda"
    return text


def _reword(category: type[Warning], message: str) -> str | None:
    """A library warning in the command line's terms (None: not shown)."""
    text = " ".join(message.split())
    if any(p.search(text) for p in _SILENT):
        return None
    name = category.__name__
    if name == "SeparationWarning":
        m = re.search(r"lambda <= ([0-9.e+-]+)", text)
        at = f" at lambda <= {m.group(1)}" if m else " at the smallest lambdas"
        return (f"the training features are linearly separable{at}: there the fit's coefficients grow "
                "without bound (flagged 'separable' in results.nc); the per-class curves show whether "
                "that costs a class anything.")
    if name == "EdgeWarning":
        m = re.search(r"at the (low|high) end, lambda = ([0-9.e+-]+), with the optimum of (.+?) still there",
                      text)
        if m:
            end, lam, who = m.groups()
            fix = "--lambda-min-ratio or --extend-limit" if end == "low" else "--extend-limit"
            return (f"the optimum of {_classes(who)} is still at the {end} end of the grid (lambda = {lam}) "
                    "after extending it as far as --extend-limit allows: it lies beyond; pass a smaller "
                    f"{fix} to look further.")
    if name == "BootWarning" and "atoms" in text:
        m = re.search(r"replicates for (.+?) \((?:a |the )", text)
        who = m.group(1) if m else "some classes"
        return (f"the bootstrap optima of {_classes(who)} pile up on one value (share of replicates in "
                "brackets): their optimum is at or near an end of the grid, or the grid is coarse; read "
                "their intervals with care, and a finer or longer grid (--nlambda, --lambda-min-ratio) "
                "helps.")
    if name == "ConvergenceWarning":
        return text.replace("raise maxit", "rescale the features") + " (see results.nc: 'converged')"
    return text


class _Warnings:
    """Show each warning once, as one line on stderr without Python source lines."""

    def __init__(self, progress: Progress):
        self.progress = progress
        self.seen: set[str] = set()

    def __call__(self, message, category, filename, lineno, file=None, line=None) -> None:
        text = _reword(category, str(message))
        # one separation notice, whatever lambda each later fit finds it at
        key = category.__name__ if category.__name__ == "SeparationWarning" else text
        if text is None or key in self.seen:
            return
        self.seen.add(key)
        self.progress.break_line()
        print(f"classdep: warning: {text}", file=sys.stderr, flush=True)


def _parser() -> argparse.ArgumentParser:
    from .analysis.classwise import MEASURES
    from .study import PROTOCOLS

    fmt = argparse.ArgumentDefaultsHelpFormatter
    parser = argparse.ArgumentParser(
        prog="classdep", formatter_class=fmt,
        description="Per-class optimal penalties of a frozen network's last layer: study, sweep, report.")
    parser.add_argument("--debug", action="store_true",
                        help="show Python tracebacks instead of one-line errors")
    sub = parser.add_subparsers(dest="command", required=True)
    feat_help = "features file (.npz/.nc/.zarr/.pt), 'digits' or 'fashion-mnist'"
    p = sub.add_parser(
        "study", formatter_class=fmt, help="the whole study into one folder",
        description="The whole study into one folder. Protocol 'heldout' (the default): the last layer is "
                    "fitted along the penalty path on the training features, and every class is scored on "
                    "held-out features. Features with a 'split' coordinate are honoured ('train' for the "
                    "fit, 'validation' or else 'test' for the scores); features without one (digits) are "
                    "split at random, stratified by class (--test-size, --seed). Protocol 'cv': K-fold "
                    "cross-validation inside the held-out features.")
    p.add_argument("features", nargs="?", default="digits", help=feat_help)
    p.add_argument("--out", "-o", default="classdep-study", help="output folder")
    p.add_argument("--force", action="store_true", help="write into an existing non-empty output folder")
    p.add_argument("--protocol", default="heldout", choices=PROTOCOLS,
                   help="heldout: fit on the training features, score on held-out ones; "
                        "cv: K-fold CV inside the held-out features")
    p.add_argument("--measures", "--measure", nargs="+", default=["deviance", "ova_accuracy"],
                   choices=list(MEASURES), metavar="MEASURE",
                   help="per-class measures, one table each: " + ", ".join(MEASURES))
    p.add_argument("--nlambda", type=int, default=40, help="number of lambdas on the path")
    p.add_argument("--lambda-min-ratio", type=float, default=1e-5,
                   help="smallest lambda as a fraction of lambda_max (the largest)")
    p.add_argument("--extend", action=argparse.BooleanOptionalAction, default=True,
                   help="extend the grid past an end where an optimum sits")
    p.add_argument("--extend-limit", type=float, default=1e-3,
                   help="extend down to this fraction of the grid's smallest lambda at most")
    p.add_argument("--folds", type=int, default=5, help="folds of --protocol cv")
    p.add_argument("-k", type=int, default=4, help="size of the set of most confused classes")
    p.add_argument("-R", type=int, default=1000, help="bootstrap replicates")
    p.add_argument("--conf", type=float, default=0.9, help="level of the bootstrap intervals")
    p.add_argument("--null", type=int, default=200,
                   help="label permutations of the noise-only null (per-class p-values, FDR 10%%)")
    p.add_argument("--family", default="multinomial", choices=["multinomial", "ova"],
                   help="softmax, or one-vs-all binary problems")
    p.add_argument("--loss", default="ce", choices=["ce", "la", "cdt", "vs", "ldt"],
                   help="training loss (ce: cross-entropy; the others adjust the logits for imbalance)")
    p.add_argument("--score-split", default=None,
                   help="the split to score on; None: 'validation' where the features have one, else 'test'")
    p.add_argument("--test-size", type=float, default=0.3,
                   help="share of samples held out when the features carry no split")
    p.add_argument("--checkpoint", default=None, metavar="DIR",
                   help="save fits and sweeps here as they finish; rerunning resumes after Ctrl-C")
    p.add_argument("--seed", type=int, default=0, help="seed of the split, folds, null and bootstrap")
    p.add_argument("--device", default="auto", choices=["auto", "cpu", "gpu"], help="where to compute")
    s = sub.add_parser("sweep", formatter_class=fmt, help="cross-validate the path and save results (netCDF)")
    s.add_argument("features", nargs="?", default="digits", help=feat_help)
    s.add_argument("--out", "-o", default="results.nc", help="results file")
    s.add_argument("--folds", type=int, default=5, help="number of folds")
    s.add_argument("--nlambda", type=int, default=40, help="number of lambdas on the path")
    s.add_argument("--lambdas", type=float, nargs="+", default=None, help="the lambdas (default: a grid)")
    s.add_argument("--checkpoint", default=None, metavar="DIR",
                   help="folder to checkpoint into and resume from")
    s.add_argument("--seed", type=int, default=0, help="seed of the folds")
    s.add_argument("--device", default="auto", choices=["auto", "cpu", "gpu"], help="where to compute")
    r = sub.add_parser("report", formatter_class=fmt, help="tables and figures of a saved sweep")
    r.add_argument("results", help="a results file written by classdep sweep or classdep study")
    r.add_argument("--out", "-o", default=None, help="output folder (default: the results file's name)")
    r.add_argument("--null", type=int, default=200, help="label permutations for the null")
    r.add_argument("--features", default=None,
                   help="the sweep's features, for the discriminant analysis of the ambiguous classes")
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``classdep`` console script: ``classdep study | sweep | report``.

    Parameters
    ----------
    argv : list of str, optional
        The arguments after ``classdep`` (default: ``sys.argv[1:]``).

    Returns
    -------
    int
        The exit status: 0 on success, 2 for bad input (one line on stderr), 130 after Ctrl-C.

    Examples
    --------
    >>> main(["sweep", "digits", "-o", "/tmp/classdep-main.nc", "--nlambda", "5"])  # doctest: +SKIP
    0
    """
    args = _parser().parse_args(argv)
    progress = Progress(sys.stderr)
    interrupted = False
    try:
        with warnings.catch_warnings():
            if not args.debug:
                warnings.simplefilter("default")  # each distinct warning once; _Warnings words it
                warnings.showwarning = _Warnings(progress)
            return _run(args, progress)
    except KeyboardInterrupt:
        if args.debug:
            raise
        interrupted = True
    except (ValueError, TypeError, OSError, KeyError, MemoryError) as exc:
        if args.debug:
            raise
        # one line that names the problem and the fix (classdep's messages do); --debug has the rest
        progress.break_line()
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
              "nothing was written. A run given --checkpoint DIR resumes where it stopped."),
              file=sys.stderr)
        return 130
    return 0


def _run(args: argparse.Namespace, progress: Progress) -> int:
    if args.command == "study":
        from .study import study as run

        s = run(args.features, args.out, protocol=args.protocol, measures=args.measures,
                nlambda=args.nlambda, lambda_min_ratio=args.lambda_min_ratio, nfolds=args.folds,
                extend=args.extend, extend_limit=args.extend_limit, k=args.k, R=args.R, conf=args.conf,
                null=args.null, family=args.family, loss=args.loss, score_split=args.score_split,
                test_size=args.test_size, seed=args.seed, device=args.device, checkpoint=args.checkpoint,
                force=args.force, progress=progress)
        print(s.text)
        print(f"\nWrote {len(s.files)} files in {s.seconds:.1f} s:")
        for f in s.files:
            print(f"  {f}")
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
