"""The study as a user runs it: one call from features to an HTML report.

:func:`study` runs the protocol of Balestriero, Bottou & LeCun (2022): the last layer is
refitted along a penalty path on the *training* features, and every class is scored on
features of samples the backbone never saw (:func:`classdep.assess`).  Features that
carry a ``split`` coordinate are honoured ("train" for the fit, "validation" or else
"test" for scoring); features without one get a seeded, class-stratified split
(:func:`split_features`).  ``protocol="cv"`` is the documented alternative: K-fold
cross-validation inside the held-out features.  Either way the grid is extended past an
end where an optimum sits, and the analyses (class-wise optima for every measure, the
bootstrap intervals, the ambiguous classes, LDA and MANOVA) read the evaluated sweep.

The command line (``classdep study``) is a thin layer over this module.
"""

from __future__ import annotations

import hashlib
import html
import os
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

import numpy as np
import xarray as xr

from .analysis import ambiguous, boot, boot_ci, classwise, lda, manova
from .analysis.assess import assess
from .analysis.classwise import MEASURES, Classwise
from .glmnet_fit import GlmnetFit, glmnet
from .sweep import CVGlmnet, Heldout, cv_glmnet
from .sweep.checkpoint import fingerprint
from .sweep.extend import extend_sweep
from .validation import check_choice

__all__ = ["PROTOCOLS", "Progress", "Study", "load", "split_features", "study"]

#: The protocols :func:`study` runs: scoring a path fitted on the training features on
#: held-out features (the default), or K-fold CV inside the held-out features.
PROTOCOLS = ("heldout", "cv")

_SCORE_SPLITS = ("validation", "test")


class Progress:
    """One line on a stream per step of a study, with the step's time.

    A step's line is written when it starts (``"classdep: fit the head ... "``) and
    completed with its time when it ends; anything written in between (a warning, a
    progress bar) first ends the pending line with :meth:`break_line`.

    Parameters
    ----------
    stream : file-like or None
        Where the lines go (default ``sys.stderr``); None writes nothing.

    Examples
    --------
    >>> import io
    >>> buf = io.StringIO()
    >>> p = Progress(buf)
    >>> with p.step("count to three"):
    ...     _ = sum(range(3))
    >>> buf.getvalue().startswith("classdep: count to three ... done in ")
    True
    """

    def __init__(self, stream: TextIO | None = None):
        self.stream = stream
        self._pending: str | None = None

    def _write(self, text: str) -> None:
        if self.stream is not None:
            self.stream.write(text)
            self.stream.flush()

    def break_line(self) -> None:
        """End a pending step line, so that what follows starts on a line of its own."""
        if self._pending:
            self._write("\n")
            self._pending = None

    def note(self, text: str) -> None:
        """A line of its own (not a step)."""
        self.break_line()
        self._write(f"classdep: {text}\n")

    @contextmanager
    def step(self, label: str, bar: bool = False) -> Iterator[None]:
        """Time a step; ``bar=True`` when the step draws its own progress bar."""
        self.break_line()
        self._write(f"classdep: {label} ..." + ("\n" if bar else ""))
        self._pending = None if bar else label  # the label while its line is open
        t0 = time.perf_counter()
        yield
        dt = time.perf_counter() - t0
        if self._pending == label:
            self._write(f" done in {dt:.1f} s\n")
        else:  # something was written since the step began: name the step again
            self._write(f"classdep: {label}: done in {dt:.1f} s\n")
        self._pending = None


@dataclass(repr=False)
class Study:
    """What :func:`study` computed and wrote.

    Attributes
    ----------
    protocol : str
        ``"heldout"`` or ``"cv"``.
    split : str
        How the samples were divided between the fit and the scoring (one sentence).
    sweep : Heldout or CVGlmnet
        The evaluated sweep every analysis read.
    classwise : dict
        :class:`~classdep.Classwise` per measure.
    ci : BootCI
        Bootstrap intervals of every class's optimal lambda.
    ambiguous, lda, manova
        The most confused classes and their discriminant analysis (None with fewer
        than three classes).
    text : str
        The report (what ``classdep study`` prints).
    files : list of Path
        The files written, in order.
    seconds : float
        Total time.

    Examples
    --------
    >>> s = study(out="/tmp/classdep-study-doc", nlambda=6, R=50, null=10, force=True)  # doctest: +SKIP
    >>> s.protocol  # doctest: +SKIP
    'heldout'
    """

    protocol: str
    split: str
    sweep: Heldout | CVGlmnet
    classwise: dict[str, Classwise]
    ci: Any
    ambiguous: Any = None
    lda: Any = None
    manova: Any = None
    text: str = ""
    files: list[Path] = field(default_factory=list)
    seconds: float = float("nan")

    def __repr__(self) -> str:
        return self.text


def load(features: str | os.PathLike | xr.Dataset | None) -> xr.Dataset:
    """Features from a file, a dataset's name (``"digits"``, ``"fashion-mnist"``) or a Dataset.

    Examples
    --------
    >>> load("digits").sizes["sample"]
    1797
    """
    from . import datasets

    if isinstance(features, xr.Dataset):
        return features
    if features is None or str(features) == "digits":
        return datasets.digits()
    if str(features) == "fashion-mnist":
        return datasets.fashion_mnist_features()
    path = Path(features)
    if not path.exists():
        raise ValueError(f"{str(features)!r} is neither a features file nor a known dataset ('digits', "
                         "'fashion-mnist'); give a .npz, .nc, .zarr or .pt file that exists.")
    return datasets.load_features(path)


def _has_split(ds: xr.Dataset) -> bool:
    return "split" in ds.coords or "split" in ds


def _seeded_split(ds: xr.Dataset, test_size: float, seed: int) -> tuple[xr.Dataset, xr.Dataset]:
    from sklearn.model_selection import train_test_split

    y = np.asarray(ds["y"].values)
    counts = np.bincount(y) if y.size else np.zeros(0, dtype=int)
    if (counts[counts > 0] < 2).any():
        names = np.asarray(ds["class"].values) if "class" in ds.coords else np.arange(counts.size)
        few = [str(names[c]) for c in np.nonzero((counts > 0) & (counts < 2))[0]]
        raise ValueError(f"class(es) {few} have a single sample, which cannot be on both sides of a "
                         "held-out split: drop them, or give features with a 'split' coordinate.")
    idx = np.arange(y.size)
    tr, te = train_test_split(idx, test_size=test_size, stratify=y, random_state=seed)
    return ds.isel(sample=np.sort(tr)), ds.isel(sample=np.sort(te))


def split_features(ds: xr.Dataset, score_split: str | None = None, test_size: float = 0.3,
                   seed: int = 0) -> tuple[xr.Dataset, xr.Dataset, str]:
    """The training features (for the fit) and the held-out features (for the scores).

    Parameters
    ----------
    ds : xr.Dataset
        Features (:func:`classdep.datasets.as_features`).
    score_split : str, optional
        The split to score on; default ``"validation"`` where the features have one,
        else ``"test"``.
    test_size : float
        Share of the samples held out when the features carry no ``split`` (or only
        "train").
    seed : int
        Seed of that split.

    Returns
    -------
    train, heldout : xr.Dataset
    how : str
        One sentence saying which samples went where, for the report.

    Notes
    -----
    With a ``split`` coordinate, the training features are those of split "train" and
    the held-out ones those of ``score_split``; features whose splits include none
    named "train" are refused.  Without one (scikit-learn's digits, whose "backbone" is
    the identity), the samples are divided by
    ``sklearn.model_selection.train_test_split(test_size=test_size, stratify=y,
    random_state=seed)``: stratified by class, the same samples for the same seed.

    Examples
    --------
    >>> import classdep as cd
    >>> tr, te, how = split_features(cd.datasets.digits(), seed=0)
    >>> tr.sizes["sample"] + te.sizes["sample"], how.startswith("a seeded")
    (1797, True)
    """
    dims = tuple(ds["X"].dims) if "X" in ds else ()
    if set(dims) != {"sample", "feature"}:
        extra = [d for d in dims if d not in ("sample", "feature")]
        fix = (f"select one level, e.g. ds.isel({extra[0]}=0)." if extra else
               "build them with classdep.datasets.as_features(X, y).")
        raise ValueError(f"the features X have dims {dims}; the study takes one feature set "
                         f"(sample, feature): {fix}")
    if not 0.0 < float(test_size) < 1.0:
        raise ValueError(f"test_size={test_size!r} must lie in (0, 1): the share of samples held out "
                         "for scoring (default 0.3).")
    seeded = (f"a seeded stratified split, {test_size:.0%} of each class held out with seed {seed}, as "
              "the features carry no 'split'")
    if not _has_split(ds):
        if score_split is not None:
            raise ValueError(f"score_split={score_split!r}, but the features carry no 'split' coordinate; "
                             "drop the option (a seeded split is made) or give features with a split.")
        tr, te = _seeded_split(ds, test_size, seed)
        return tr, te, seeded
    names = sorted(set(np.asarray(ds["split"].values).astype(str).tolist()))
    if "train" not in names:
        if len(names) == 1:
            tr, te = _seeded_split(ds, test_size, seed)
            return tr, te, seeded.replace("carry no 'split'", f"are all of one split, {names[0]!r}")
        raise ValueError(f"the features carry splits {names} and none is named 'train': rename the split "
                         "the head should be fitted on to 'train' (classdep.datasets.select_split shows "
                         "one split).")
    split = np.asarray(ds["split"].values).astype(str)
    train = ds.isel(sample=np.nonzero(split == "train")[0])
    if score_split is None:
        score_split = next((s for s in _SCORE_SPLITS if s in names), None)
        if score_split is None:
            others = [n for n in names if n != "train"]
            if not others:
                tr, te = _seeded_split(train, test_size, seed)
                return tr, te, seeded.replace("carry no 'split'", "are all of one split, 'train'")
            raise ValueError(f"the features carry splits {names}, none named 'validation' or 'test': "
                             f"name the split to score on, e.g. --score-split {others[0]}.")
    elif score_split not in names or score_split == "train":
        raise ValueError(f"score_split={score_split!r} is not a held-out split of these features "
                         f"(they have {names}); pass one of {[n for n in names if n != 'train']}.")
    held = ds.isel(sample=np.nonzero(split == score_split)[0])
    how = (f"the features' own split: {train.sizes['sample']} training samples of split 'train', "
           f"{held.sizes['sample']} held-out samples of split {score_split!r}")
    return train, held, how


class _FitStore:
    """Fits on disk, keyed by their data and settings: a rerun loads what was done."""

    def __init__(self, directory: str | os.PathLike | None):
        self.dir = None if directory is None else Path(directory)
        if self.dir is not None:
            if self.dir.exists() and not self.dir.is_dir():
                raise ValueError(f"checkpoint={str(directory)!r} is an existing file; a checkpoint is a "
                                 "folder: pass a new path (it is created) or the folder of the study to "
                                 "resume.")
            self.dir.mkdir(parents=True, exist_ok=True)

    def glmnet(self, ds: xr.Dataset, lam: np.ndarray | None, settings: dict) -> GlmnetFit:
        if self.dir is None:
            return glmnet(ds, lambda_=lam, **settings)
        key = fingerprint(np.asarray(ds["X"].values), np.asarray(ds["y"].values), np.zeros(0),
                          np.zeros(0) if lam is None else np.asarray(lam, dtype=np.float64),
                          {k: repr(v) for k, v in settings.items()})
        file = self.dir / f"fit-{key[:24]}.nc"
        if file.exists():
            return GlmnetFit.from_netcdf(file)
        fit = glmnet(ds, lambda_=lam, **settings)
        tmp = file.with_name(f".{file.stem}.{os.getpid()}.tmp.nc")
        fit.to_netcdf(tmp)
        os.replace(tmp, file)  # atomic: an interrupted write never leaves half a fit
        return fit

    def sub(self, name: str) -> Path | None:
        return None if self.dir is None else self.dir / name


def _merge(fits: list[GlmnetFit]) -> GlmnetFit:
    """One path from fits of the same data on disjoint lambdas (decreasing, as a path)."""
    if len(fits) == 1:
        return fits[0]
    path = xr.concat([f.path for f in fits], "lambda", data_vars="minimal", coords="minimal",
                     compat="override", combine_attrs="override")
    path = path.sortby("lambda", ascending=False)
    path.attrs["call"] = (str(fits[0].path.attrs.get("call", "glmnet()"))
                          + f"; extended to {path.sizes['lambda']} lambdas (the added ones fitted apart)")
    return GlmnetFit(path)


def _heldout_sweep(train, held, settings, lam_opts, store: _FitStore, extend: bool, limit: float,
                   seed: int, progress: Progress) -> Heldout:
    n_tr, n_te = train.sizes["sample"], held.sizes["sample"]
    with progress.step(f"fit the head on {n_tr} training samples ({lam_opts['nlambda']} lambdas)"):
        first = store.glmnet(train, None, {**settings, **lam_opts})
    # the Dataset itself, not its y: y holds codes into ds["class"], which need not be the
    # fit's (sorted) class order
    with progress.step(f"score every class on {n_te} held-out samples"):
        h = assess(first, held, None, seed=seed)
    if not extend:
        return h
    pieces = [first]

    def rerun(lam: np.ndarray) -> Heldout:
        have = np.concatenate([p.lambda_ for p in pieces])
        new = lam[~np.isclose(lam[:, None], have[None, :], rtol=1e-9, atol=0).any(axis=1)]
        # only the new lambdas are fitted: refitting the old ones (as a CV rerun does) would
        # repeat the costly small-lambda end at every round
        for part, where in ((new[new > have.max()], "above"), (new[new < have.min()], "below")):
            if part.size:
                end = part.min() if where == "below" else part.max()
                many = "s" if part.size > 1 else ""
                with progress.step(f"extend the grid {where}: {part.size} lambda{many}, to {end:.3g}"):
                    pieces.append(store.glmnet(train, np.sort(part)[::-1], settings))
        return assess(_merge(pieces), held, None, seed=seed)

    return extend_sweep(h, rerun, lambda: float(first.lambda_[0]), limit)


def _cv_sweep(held, settings, lam_opts, store: _FitStore, extend: bool, limit: float, nfolds: int,
              seed: int, progress: Progress) -> CVGlmnet:
    n = held.sizes["sample"]
    show = progress.stream is not None
    with progress.step(f"cross-validate ({nfolds} folds) inside the {n} held-out samples "
                       f"({lam_opts['nlambda']} lambdas)", bar=show):
        common = dict(nfolds=nfolds, seed=seed, progress=show, **settings)
        if store.dir is None:
            return cv_glmnet(held, extend=extend, extend_limit=limit, **common, **lam_opts)
        cv = cv_glmnet(held, checkpoint=store.sub("cv"), **common, **lam_opts)
    if not extend:
        return cv
    lam_max = float(cv.lambda_[0])

    def rerun(lam: np.ndarray) -> CVGlmnet:
        # a checkpoint is sealed to its grid: each extended grid resumes from its own folder
        key = hashlib.sha256(np.asarray(lam, dtype=np.float64).tobytes()).hexdigest()[:16]
        with progress.step(f"extend the grid to {lam.size} lambdas", bar=show):
            return cv_glmnet(held, lambda_=lam, checkpoint=store.sub(f"cv-{key}"), **common)

    return extend_sweep(cv, rerun, lambda: lam_max, limit)


def _check_out(out: Path, force: bool, checkpoint: Path | None) -> None:
    if out.exists() and not out.is_dir():
        raise FileExistsError(f"the output folder {str(out)!r} is an existing file: choose another --out.")
    if out.is_dir() and not force:
        ck = checkpoint.resolve() if checkpoint is not None else None
        entries = [p for p in out.iterdir() if ck is None or p.resolve() != ck]
        if entries:
            raise FileExistsError(f"the output folder {str(out)!r} exists and is not empty: pass --force to "
                                  "write into it (its files of the same names are replaced), or choose "
                                  "another --out.")


_NEGATIVE_CROSSFIT = ("A negative cross-fitted regret means that a class's own optimum, chosen on one half "
                      "of the {what} and scored on the other, did worse there than the shared lambda: "
                      "its apparent gain is selection noise.")


def _crossfit_note(cw: Classwise, protocol: str) -> str:
    """The sentence that explains a negative cross-fitted regret ("" when there is none)."""
    t = cw.table
    cf = t["regret_crossfit"].values if "regret_crossfit" in t else np.zeros(0)
    if not ((cf < 0).any() or t.attrs.get("total_regret_crossfit", 0.0) < 0):
        return ""
    return _NEGATIVE_CROSSFIT.format(what="held-out samples" if protocol == "heldout" else "folds")


def _fdr_line(cws: dict[str, Classwise]) -> str:
    """How many classes differ from the shared lambda at the FDR, per measure."""
    parts, fdr = [], 0.1
    for m, cw in cws.items():
        a = cw.table.attrs
        K = cw.table.sizes["class"]
        if "n_differ" in a:
            fdr = float(a["fdr"])
            parts.append(f"{int(a['n_differ'])} of {K} ({m})")
        else:
            parts.append(f"not tested ({m}: no noise-only null)")
    return (f"Classes whose optimum differs from the shared lambda at FDR {fdr:.0%} (Benjamini-Hochberg "
            f"over the classes' p-values from the noise-only null): {', '.join(parts)}.")


def _extension_line(sweep: Heldout | CVGlmnet, limit: float, extend: bool) -> str:
    a = sweep.results.attrs
    if not extend:
        return "Grid: not extended (--no-extend); optima at an edge are flagged in the tables."
    lo, hi = int(a.get("extend_added_low", 0)), int(a.get("extend_added_high", 0))
    lam = sweep.lambda_
    text = (f"Grid: {lam.size} lambdas from {lam.max():.4g} to {lam.min():.4g}"
            + (f", extended past its edges ({lo} added below, {hi} above)" if lo or hi else
               ", no optimum at an edge, so not extended"))
    if a.get("extend_limit_reached", 0):
        text += (f"; the extension stopped at its limit ({limit:g}) with an optimum still at an edge (the "
                 "tables' edge column)")
    return text + "."


def study(features: str | os.PathLike | xr.Dataset | None = None,
          out: str | os.PathLike = "classdep-study", *,
          protocol: str = "heldout", measures: Sequence[str] = ("deviance", "ova_accuracy"),
          nlambda: int = 40, lambda_min_ratio: float = 1e-5, nfolds: int = 5, extend: bool = True,
          extend_limit: float = 1e-3, k: int = 4, R: int = 1000, conf: float = 0.9, null: int = 200,
          family: str = "multinomial", loss: str = "ce", score_split: str | None = None,
          test_size: float = 0.3, seed: int = 0, device: str = "auto", checkpoint=None, force: bool = False,
          progress: bool | TextIO | None = True) -> Study:
    """Run the whole study on FEATURES and write its results, figures and report into ``out``.

    Parameters
    ----------
    features : path, dataset name or xr.Dataset, optional
        A features file (.npz/.nc/.zarr/.pt), ``"digits"`` (the default: scikit-learn's
        digits, whose "backbone" is the identity) or ``"fashion-mnist"``.
    out : path
        The output folder; an existing non-empty one is refused unless ``force``.
    protocol : {"heldout", "cv"}
        ``"heldout"``: the path fitted on the training features, every class scored on
        the held-out features (:func:`classdep.assess`).  ``"cv"``: K-fold CV inside the
        held-out features.
    measures : sequence of str
        The per-class measures of :func:`classdep.classwise` (one table each).
    nlambda, lambda_min_ratio : int, float
        The path's grid: ``nlambda`` values from ``lambda_max`` down to
        ``lambda_max * lambda_min_ratio``.
    nfolds : int
        Folds of ``protocol="cv"``.
    extend, extend_limit : bool, float
        Extend the grid past an end where an optimum sits, by its own log spacing, down
        to ``extend_limit`` times its smallest lambda (as ``cv_glmnet(extend=True)``).
    k : int
        Size of the set of most confused classes (:func:`classdep.ambiguous`).
    R, conf : int, float
        Bootstrap replicates and the intervals' level (:func:`classdep.boot`,
        :func:`classdep.boot_ci` with their default estimator and interval).
    null : int
        Label permutations of the noise-only null (per-class p-values, FDR).
    family, loss : str
        As :func:`classdep.glmnet`.
    score_split, test_size, seed
        Which samples are scored (:func:`split_features`); ``seed`` also seeds the
        folds, the halves of cross-fitting, the null and the bootstrap.
    device : {"auto", "cpu", "gpu"}
    checkpoint : path, optional
        A folder where fits and the CV sweep are saved as they finish: rerunning the same
        call after an interruption resumes from them.
    force : bool
        Write into an existing non-empty ``out``.
    progress : bool or file-like
        A line per step with its time, on stderr (True), on the stream given, or none.

    Returns
    -------
    Study

    Examples
    --------
    >>> s = study(out="/tmp/classdep-study-doc", nlambda=6, R=50, null=10, force=True)  # doctest: +SKIP
    >>> [f.name for f in s.files][:2]  # doctest: +SKIP
    ['results.nc', 'classwise_deviance.nc']
    """
    t_start = time.perf_counter()
    check_choice(protocol, PROTOCOLS, "protocol")
    measures = list(measures)
    if not measures:
        raise ValueError("measures is empty: name at least one of " + ", ".join(MEASURES) + ".")
    for m in measures:
        check_choice(m, tuple(MEASURES), "measure")
    prog = progress if isinstance(progress, Progress) else Progress(
        sys.stderr if progress is True else (progress or None))
    out = Path(out)
    ck = None if checkpoint is None else Path(checkpoint)
    _check_out(out, force, ck)
    store = _FitStore(ck)
    ds = load(features)
    train, held, how = split_features(ds, score_split, test_size, seed)
    settings = dict(family=family, loss=loss, device=device)
    lam_opts = dict(nlambda=int(nlambda), lambda_min_ratio=float(lambda_min_ratio))
    if protocol == "heldout":
        sw = _heldout_sweep(train, held, settings, lam_opts, store, extend, extend_limit, seed, prog)
        fitted_on = train
        what = ("Protocol: held-out. The head is fitted on the training features and every class is "
                f"scored on held-out features; {how}.")
    else:
        sw = _cv_sweep(held, settings, lam_opts, store, extend, extend_limit, nfolds, seed, prog)
        fitted_on = held
        what = (f"Protocol: cv. {nfolds}-fold cross-validation inside the held-out features, the training "
                f"features unused; {how}.")
    cws: dict[str, Classwise] = {}
    for m in measures:
        with prog.step(f"class-wise optima ({m}) with the noise-only null ({null} permutations)"):
            cws[m] = classwise(sw, measure=m, null=null, seed=seed)
    with prog.step(f"bootstrap the optima ({R} replicates)"):
        ci = boot_ci(boot(sw, R=R, seed=seed), conf=conf)
    amb = da = mv = None
    n_classes = len(sw.classes)
    if n_classes >= 3:
        kk = min(int(k), n_classes)
        if protocol == "heldout":
            names = np.asarray(held["class"].values)[np.asarray(held["y"].values)]
            amb = ambiguous(sw.fit, k=kk, s=sw.lambda_min, newx=held["X"].values, y=names)
        else:
            amb = ambiguous(sw, k=kk)
        with prog.step(f"LDA and MANOVA of the {kk} most confused classes"):
            # dead units (constant features) are common in ReLU embeddings: they are dropped,
            # and lda's print says how many
            da = lda(fitted_on, classes=amb, drop_constant=True)
            mv = manova(fitted_on, classes=amb, drop_constant=True)
    head = [what, _extension_line(sw, extend_limit, extend), _fdr_line(cws)]
    parts = ["\n".join(head), repr(sw)]
    for m in measures:
        note = _crossfit_note(cws[m], protocol)
        parts.append(repr(cws[m]) + (f"\n{note}" if note else ""))
    parts.append(repr(ci))
    if amb is not None:
        parts += [repr(amb), repr(da), repr(mv)]
    text = "\n\n".join(parts)
    result = Study(protocol, how, sw, cws, ci, amb, da, mv, text)
    with prog.step(f"write the results, figures and report into {out}"):
        result.files = _write(result, out)
    result.seconds = time.perf_counter() - t_start
    return result


def _write(s: Study, out: Path) -> list[Path]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from .plot import plot

    out.mkdir(parents=True, exist_ok=True)
    files: list[Path] = []

    def keep(name: str) -> Path:
        files.append(out / name)
        return out / name

    s.sweep.to_netcdf(keep("results.nc"))
    for m, cw in s.classwise.items():
        cw.table.to_netcdf(keep(f"classwise_{m}.nc"))
    s.ci.to_netcdf(keep("optima_ci.nc"))
    figs = {"curves.png": plot(s.sweep), "path.png": plot(s.sweep.fit)}
    figs.update({f"classwise_{m}.png": plot(cw) for m, cw in s.classwise.items()})
    figs["optima_ci.png"] = plot(s.ci)
    if s.ambiguous is not None:
        figs["ambiguous.png"] = plot(s.ambiguous)
        figs["lda.png"] = plot(s.lda)
    for name, fig in figs.items():
        fig.savefig(keep(name), dpi=90)
        plt.close(fig)
    keep("report.txt").write_text(s.text + "\n")
    page = ["<html><head><meta charset='utf-8'><title>classdep study</title></head><body>",
            "<h1>classdep study</h1>", f"<pre>{html.escape(s.text)}</pre>"]
    page += [f"<h2>{n}</h2><img src='{n}' style='max-width:100%'>" for n in figs]
    page.append("</body></html>")
    keep("report.html").write_text("\n".join(page))
    return files
