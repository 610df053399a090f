"""Cross-validated sweeps: ``cv_glmnet`` (R's ``cv.glmnet``), metrics per (lambda, class, fold).

All folds are solved as one batch: a fold is a sample-weight mask over the one feature
matrix, so every matrix product serves every fold, and the logits of the held-out rows
(the out-of-fold predictions) come with it.  Each lambda is scored as soon as it is
solved; only per-sample losses and predicted classes are kept for the whole path (for
the bootstrap).  A sweep can checkpoint each finished lambda and resume where it stopped
with identical results.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

from .backend import default_dtype, resolve_device, to_numpy
from .glmnet_fit import GlmnetFit, _features_and_labels, glmnet, singular_hessian_as_error
from .metrics import classwise_dataset
from .persist import read_groups, write_groups
from .rtable import format_table
from .solvers.chunked import is_out_of_core, read_rows
from .solvers.memory import fold_batch_size
from .solvers.path import iter_path
from .solvers.prepare import prepare, to_user_scale
from .validation import check_choice, check_fold_coverage, check_folds, check_labels, check_weights

__all__ = ["CVGlmnet", "CVGrid", "cv_glmnet", "make_folds"]

MEASURES = {"deviance": "Multinomial Deviance", "class": "Misclassification Error"}


def make_folds(codes: np.ndarray, nfolds: int = 10, foldid=None, seed: int = 0) -> np.ndarray:
    """Fold index 0..nfolds-1 of every sample: class-stratified, or R's 1-based ``foldid``.

    Examples
    --------
    >>> make_folds(np.array([0, 0, 1, 1]), nfolds=2).tolist()
    [1, 0, 0, 1]
    """
    n = codes.size
    if foldid is not None:
        f = np.asarray(foldid)
        if f.shape != (n,) or not np.issubdtype(f.dtype, np.integer):
            raise ValueError(f"foldid must hold one integer fold number per sample (shape ({n},)).")
        vals = np.unique(f)
        if vals.size < 2:
            raise ValueError("foldid must name at least two folds.")
        return np.searchsorted(vals, f)  # R's 1..nfolds (or any labels) → 0..nfolds-1
    from sklearn.model_selection import StratifiedKFold

    out = np.empty(n, dtype=np.int64)
    splitter = StratifiedKFold(n_splits=int(nfolds), shuffle=True, random_state=seed)
    for m, (_, test) in enumerate(splitter.split(np.zeros(n), codes)):
        out[test] = m
    return out


@dataclass(repr=False)
class CVGlmnet:
    """R's ``cv.glmnet`` object, holding xarray data.

    Attributes
    ----------
    results : xr.Dataset
        Per (``lambda``, ``class``, ``fold``): ``deviance``, ``recall``, ``precision``,
        ``ova_accuracy``, ``ova_deviance``, ``n``; per (``lambda``, ``fold``):
        ``total_deviance``, ``accuracy``, ``balanced_accuracy``,
        ``worst_class_accuracy``, ``worst_k_recall``, ``worst_pair_accuracy``; per
        ``lambda``: ``cvm``, ``cvsd``, ``cvup``, ``cvlo``, ``nzero``; the out-of-fold
        ``confusion`` (``lambda``, ``class``, ``predicted``, ``fold``) and solver diagnostics
        per (``lambda``, ``fold``).
    oof : xr.Dataset
        Out-of-fold per-sample ``loss`` (-log p of the true class) and ``pred``
        (predicted class code), dims (``lambda``, ``sample``), with ``y`` and ``fold``.
    fit : GlmnetFit
        The path fitted on all the data (R's ``glmnet.fit``).
    Examples
    --------
    >>> import classdep as cd
    >>> cv = cd.cv_glmnet(cd.datasets.digits(), nfolds=3, nlambda=5, progress=False)
    >>> bool(cv.lambda_min in cv.fit.lambda_), bool(cv.lambda_1se >= cv.lambda_min)
    (True, True)
    """

    results: xr.Dataset
    oof: xr.Dataset | None
    fit: GlmnetFit
    foldid: np.ndarray = field(default=None)

    @property
    def lambda_(self) -> np.ndarray:
        return self.results["lambda"].values

    @property
    def cvm(self) -> xr.DataArray:
        return self.results["cvm"]

    @property
    def cvsd(self) -> xr.DataArray:
        return self.results["cvsd"]

    @property
    def index(self) -> dict[str, int]:
        """0-based positions of ``lambda_min`` and ``lambda_1se`` on the grid."""
        a = self.results.attrs
        return {"min": int(a["index_min"]), "1se": int(a["index_1se"])}

    @property
    def lambda_min(self) -> float:
        return float(self.results.attrs["lambda_min"])

    @property
    def lambda_1se(self) -> float:
        return float(self.results.attrs["lambda_1se"])

    @property
    def confusion(self) -> xr.DataArray:
        """Out-of-fold confusion counts pooled over folds: (``lambda``, ``class``, ``predicted``)."""
        return self.results["confusion"].sum("fold")

    @property
    def classes(self) -> np.ndarray:
        return self.results["class"].values

    def most_confused(self) -> xr.DataArray:
        """Each class's most-confused partner along the grid: ``argmax_{l != k} P(pred = l | y = k)``.

        Dims (``lambda``, ``class``); values are class names, ``""`` for a class that is
        never confused at that lambda.
        """
        C = self.confusion.values.astype(float)
        K = C.shape[1]
        C[:, np.arange(K), np.arange(K)] = -1.0
        names = np.asarray([str(c) for c in self.classes], dtype=object)
        part = np.where(C.max(axis=2) > 0, names[C.argmax(axis=2)], "")  # "" where never confused
        return xr.DataArray(part, dims=("lambda", "class"),
                            coords={"lambda": self.lambda_, "class": self.classes}, name="partner")

    def pair_confusion(self, a, b) -> xr.Dataset:
        """How confusion within the pair (a, b) moves along the grid: rates a→b and b→a."""
        C = self.confusion
        na = C.sel({"class": a}).sum("predicted")
        nb = C.sel({"class": b}).sum("predicted")
        ab = (C.sel({"class": a, "predicted": b}) / na).reset_coords(drop=True)
        ba = (C.sel({"class": b, "predicted": a}) / nb).reset_coords(drop=True)
        return xr.Dataset({f"{a}->{b}": ab, f"{b}->{a}": ba})

    def __repr__(self) -> str:
        a = self.results.attrs
        lam = self.lambda_
        cvm, cvsd = self.cvm.values, self.cvsd.values
        nz = self.results["nzero"].values
        rows = [("", "Lambda", "Index", "Measure", "SE", "Nonzero")]
        for name in ("min", "1se"):
            j = self.index[name]
            rows.append((name, f"{lam[j]:.4g}", str(j + 1), f"{cvm[j]:.4g}", f"{cvsd[j]:.4g}",
                         str(int(nz[j]))))
        table = format_table(rows)
        lines = [f"Call:  {a.get('call', 'cv_glmnet()')}", "", f"Measure: {MEASURES[a['type_measure']]}", ""]
        lines += table
        if not self.results["converged"].values.all():
            lines.append("Warning: some (lambda, fold) fits did not converge (results['converged']).")
        return "\n".join(lines)

    def to_netcdf(self, path, store: str = "netcdf") -> None:
        """Write results, out-of-fold data and the full-data path to one file (groups)."""
        write_groups(path, {"results": self.results, "oof": self.oof, "fit": self.fit.path}, store)

    def to_zarr(self, path) -> None:
        """Write results, out-of-fold data and the full-data path to a zarr store (groups)."""
        self.to_netcdf(path, store="zarr")

    @classmethod
    def from_netcdf(cls, path, store: str = "netcdf") -> CVGlmnet:
        """Read a CV object written by :meth:`to_netcdf`."""
        g = read_groups(path, ["results", "oof", "fit"], "CVGlmnet", store, optional=["oof"])
        oof = g["oof"]
        return cls(g["results"], oof, GlmnetFit(g["fit"]), None if oof is None else oof["fold"].values)

    @classmethod
    def from_zarr(cls, path) -> CVGlmnet:
        """Read a CV object written by :meth:`to_zarr`."""
        return cls.from_netcdf(path, store="zarr")


def _cv_summary(per_fold: np.ndarray, fold_w: np.ndarray):
    """R's cvcompute: weighted mean over folds and the SE of the fold means."""
    w = fold_w / fold_w.sum(axis=-1, keepdims=True)
    cvm = (per_fold * w).sum(axis=-1)
    nf = per_fold.shape[-1]
    cvsd = np.sqrt(((per_fold - cvm[..., None]) ** 2 * w).sum(axis=-1) / (nf - 1))
    return cvm, cvsd


def _choose(lam: np.ndarray, cvm: np.ndarray, cvsd: np.ndarray) -> tuple[int, int]:
    """R's rule: lambda.min is the largest lambda at the minimum; lambda.1se the largest
    lambda whose measure is within one SE of it."""
    finite = np.isfinite(cvm)
    m = np.min(cvm[finite])
    at_min = np.nonzero(cvm == m)[0]
    idmin = int(at_min[np.argmax(lam[at_min])])
    semin = cvm[idmin] + cvsd[idmin]
    ok = np.nonzero(cvm <= semin)[0]
    id1se = int(ok[np.argmax(lam[ok])])
    return idmin, id1se


def _payload_digest(arrays: dict[str, np.ndarray]) -> str:
    """sha256 over the names, dtypes, shapes and bytes of ``arrays`` (sorted by name)."""
    import hashlib

    h = hashlib.sha256()
    for k in sorted(arrays):
        a = np.ascontiguousarray(arrays[k])
        h.update(f"{k}|{a.dtype.str}|{a.shape}|".encode())
        h.update(a.tobytes())
    return h.hexdigest()


class _Checkpoint:
    """Per-lambda blocks of a sweep written to a folder; reloaded on restart.

    Each finished lambda writes one ``.npz`` (atomically: temporary file, then rename)
    holding its scores and the batch's coefficients, which seed the next warm start,
    and the sha256 of those arrays (``_sha256``); a block whose arrays do not match it,
    or that cannot be read, is refused, never loaded.
    """

    CHECKSUM = "_sha256"

    def __init__(self, path, fingerprint: str):
        self.fingerprint = fingerprint
        self.dir = Path(path)
        self.dir.mkdir(parents=True, exist_ok=True)
        stamp = self.dir / "fingerprint.txt"
        if stamp.exists() and stamp.read_text() != fingerprint:
            raise ValueError(
                f"checkpoint {self.dir} belongs to a different sweep (other data or settings); "
                "pass a new checkpoint path or delete that folder."
            )
        tmp = self.dir / f".fingerprint.{os.getpid()}.tmp"
        tmp.write_text(fingerprint)
        os.replace(tmp, stamp)  # atomic: a kill never leaves a half-written stamp

    def fold_batch(self, G: int) -> int:
        """The fold-group size this sweep was started with (``G`` when it is new)."""
        path = self.dir / "fold_batch.txt"
        if path.exists():
            return int(path.read_text())
        tmp = self.dir / f".fold_batch.{os.getpid()}.tmp"
        tmp.write_text(str(int(G)))
        os.replace(tmp, path)
        return int(G)

    def sub(self, name: str) -> _Checkpoint:
        """A checkpoint of the same sweep in a subfolder (one group of folds)."""
        return _Checkpoint(self.dir / name, self.fingerprint)

    def file(self, j: int) -> Path:
        return self.dir / f"lambda_{j:04d}.npz"

    def done(self) -> int:
        j = 0
        while self.file(j).exists():
            j += 1
        return j

    def save(self, j: int, **arrays) -> None:
        tmp = self.dir / f".lambda_{j:04d}.{os.getpid()}.tmp.npz"
        arrays = {k: np.asarray(v) for k, v in arrays.items()}
        np.savez(tmp, **arrays, **{self.CHECKSUM: np.asarray(_payload_digest(arrays))})
        os.replace(tmp, self.file(j))

    def load(self, j: int) -> dict[str, np.ndarray]:
        fix = ("delete that file (the sweep recomputes from that lambda on) or pass a new "
               "checkpoint folder")
        try:
            with np.load(self.file(j), allow_pickle=False) as z:
                arrays = {k: z[k] for k in z.files}
        except Exception as exc:  # noqa: BLE001 - truncated zip, bad CRC, not an npz at all
            raise ValueError(
                f"checkpoint block {self.file(j)} is unreadable, truncated or corrupted ({exc}); {fix}."
            ) from exc
        stored = arrays.pop(self.CHECKSUM, None)
        if stored is None:
            raise ValueError(
                f"checkpoint block {self.file(j)} carries no checksum (written by another classdep "
                f"version or another program), so it cannot be verified; {fix}."
            )
        if str(stored) != _payload_digest(arrays):
            raise ValueError(
                f"checkpoint block {self.file(j)} fails its sha256 checksum (its contents changed "
                f"after it was written); {fix}."
            )
        return arrays


def _fingerprint(X, codes, folds, lam, settings) -> str:
    import hashlib

    h = hashlib.sha256()
    if is_out_of_core(X):
        # hashed chunk by chunk: the same bytes as the in-memory route, never all at once
        for a in range(0, X.shape[0], 65536):
            h.update(np.ascontiguousarray(read_rows(X, a, min(a + 65536, X.shape[0]), dtype=None)).tobytes())
    else:
        h.update(np.ascontiguousarray(X).tobytes())
    for a in (codes, folds, lam):
        h.update(np.ascontiguousarray(a).tobytes())
    h.update(repr(sorted(settings.items())).encode())
    return h.hexdigest()


def _cv_single(
    x, y=None, family: str = "multinomial", nfolds: int = 10, foldid=None, lambda_=None,
    nlambda: int = 100, lambda_min_ratio: float | None = None, type_measure: str = "deviance",
    weights=None, keep: bool = True, seed: int = 0, checkpoint=None, progress: bool = True,
    device: str = "auto", dtype=None, fold_batch: int | None = None, **glmnet_args: Any,
) -> CVGlmnet:
    """One cross-validated path (no augmentation grid); see :func:`cv_glmnet`."""
    check_choice(type_measure, tuple(MEASURES), "type_measure")
    X, yy, names = _features_and_labels(x, y)
    codes, classes = check_labels(yy, X.shape[0])
    K = classes.size
    if foldid is None:
        check_folds(codes, classes, nfolds)
    folds = make_folds(codes, nfolds, foldid, seed)
    nf = int(folds.max()) + 1
    if foldid is not None:
        check_folds(codes, classes, 2)
    check_fold_coverage(codes, classes, folds, check_weights(weights, X.shape[0]))
    # The fold batch is the largest fit of the sweep: plan it now, not after the full fit.
    # Folds that do not fit in one batch are solved in groups, one group after another.
    dev = resolve_device(device)
    memory_limit = glmnet_args.get("memory_limit")
    itemsize = np.dtype(dtype or default_dtype(dev)).itemsize
    G = fold_batch_size(X.shape[0], X.shape[1], K, nf, itemsize=itemsize, device=dev,
                        memory_limit=memory_limit, family=family)
    if fold_batch is not None:
        if int(fold_batch) != fold_batch or fold_batch < 1:
            raise ValueError(f"fold_batch={fold_batch!r} must be a positive integer (folds solved together).")
        G = min(int(fold_batch), nf)
    fit = glmnet(X, yy, family=family, lambda_=lambda_, nlambda=nlambda,
                 lambda_min_ratio=lambda_min_ratio, weights=weights, device=device, dtype=dtype,
                 **glmnet_args)
    lam = fit.lambda_
    masks = (folds[None, :] != np.arange(nf)[:, None]).astype(np.float64)
    pf = glmnet_args.get("penalty_factor")
    if pf is not None:
        pf = fit.path["penalty"].values[0] / lam[0]
    w = np.ones(X.shape[0]) if weights is None else np.asarray(weights, dtype=np.float64)

    ck = None
    if checkpoint is not None:
        settings = {k: repr(v) for k, v in glmnet_args.items()}
        settings.update(family=family, type_measure=type_measure, dtype=repr(dtype))
        ck = _Checkpoint(checkpoint, _fingerprint(X, codes, folds, lam, settings))
        # a resumed sweep keeps the grouping it started with (free memory may differ now)
        G = ck.fold_batch(G)
    groups = [(a, min(a + G, nf)) for a in range(0, nf, G)]
    # one group keeps the checkpoint layout of a single batch; several get a folder each
    cks = [ck if ck is None or len(groups) == 1 else ck.sub(f"folds_{a:03d}-{b - 1:03d}") for a, b in groups]
    starts = [c.done() if c is not None else 0 for c in cks]
    bar = None
    if progress and sum(starts) < lam.size * len(groups):
        from tqdm.auto import tqdm

        bar = tqdm(total=lam.size * len(groups), initial=sum(starts), desc="cv_glmnet", unit="lambda",
                   delay=1.0)
    solver_keys = ("loss", "tau", "gamma", "class_weight", "standardize", "intercept", "augment",
                   "memory_limit")
    done = []
    for (a, b), c, start in zip(groups, cks, starts, strict=True):
        pp = prepare(X, codes, K, weights=weights, batch_weights=masks[a:b], family=family, device=device,
                     dtype=dtype, **{k: glmnet_args[k] for k in solver_keys if k in glmnet_args})
        with singular_hessian_as_error(X, lam):
            done.append(_solve_group(pp, X, folds, a, lam, pf, family, c, start, bar, glmnet_args=glmnet_args,
                                     mixed=False if checkpoint is not None else None))
    if bar is not None:
        bar.close()
    blocks = _merge_groups(done, groups, folds)
    return _assemble(blocks, fit, X, codes, classes, folds, nf, w, lam, type_measure, keep, family,
                     glmnet_args)


def _solve_group(pp, X, folds, first, lam, pf, family, ck, start, bar, mixed, glmnet_args):
    """The path of one group of folds (members ``first``, ``first + 1``, ...), resumed from ``ck``."""
    blocks: list[dict] = [ck.load(j) for j in range(start)] if ck is not None else []
    warm = prev = None
    if start:
        last = blocks[-1]
        warm = (pp.prob.xp.asarray(last["W"]), pp.prob.xp.asarray(last["b"]))
        if "W_prev" in last:
            prev = (pp.prob.xp.asarray(last["W_prev"]), pp.prob.xp.asarray(last["b_prev"]))
    path_keys = ("solver", "preconditioner", "thresh", "maxit")
    # A checkpointed sweep keeps CG in float64 so that a resumed run reproduces an
    # uninterrupted one bit for bit (see iter_path's `mixed`).
    steps = iter_path(pp, lam[start:], pf, warm=warm, prev=prev, mixed=mixed,
                      lam_before=lam[start - 2:start] if start >= 2 else None,
                      **{k: glmnet_args[k] for k in path_keys if k in glmnet_args})
    # samples of other groups get any member's score here; _merge_groups drops them
    local = np.clip(folds - first, 0, pp.prob.M - 1)
    return _run_path(steps, blocks, start, pp, X, local, family, ck, bar, prev)


def _merge_groups(done: list[list[dict]], groups, folds) -> list[dict]:
    """Per lambda, one block for all folds: each sample scored by the group holding its fold."""
    if len(done) == 1:
        return done[0]
    merged = []
    for parts in zip(*done, strict=True):
        P = np.zeros_like(parts[0]["P"])
        for (a, b), part in zip(groups, parts, strict=True):
            mine = (folds >= a) & (folds < b)
            P[mine] = part["P"][mine]
        merged.append(dict(P=P, products=sum(float(p.get("products", np.nan)) for p in parts),
                           **{k: np.concatenate([p[k] for p in parts])
                              for k in ("niter", "converged", "gap")}))
    return merged


def _run_path(steps, blocks, start, pp, X, folds, family, ck, bar, prev_W):
    """Score every lambda of the path as it is solved; checkpoint each block."""
    for j, st in steps:
        jj = start + j
        Z = st.Z  # (n, M, K) raw logits of every sample under every fold's fit
        if pp.augment is not None and pp.augment.method == "sample":
            # the batch holds noisy copies: score the clean held-out samples
            Wu, bu = to_user_scale(pp, st.W, st.b)
            Zo = np.einsum("nd,dnk->nk", X, Wu[:, folds, :]) + bu[folds]
        else:
            # each sample under the fit without it, gathered on the device (Z may not fit the host)
            xp = pp.prob.xp
            Zo = to_numpy(Z[xp.asarray(np.arange(X.shape[0])), xp.asarray(folds), :])
        P = _response(Zo, family)
        block = dict(
            P=P.astype(np.float64),
            niter=st.niter, converged=st.converged, gap=st.gap,
            W=to_numpy(st.W), b=to_numpy(st.b),
            # in products of one member's size (n x d x K), whatever the batch
            products=np.asarray(float(st.work.products) * pp.prob.M),
        )
        if prev_W is not None:
            block["W_prev"], block["b_prev"] = to_numpy(prev_W[0]), to_numpy(prev_W[1])
        prev_W = (st.W, st.b)
        if ck is not None:
            ck.save(jj, **block)
        blocks.append(block)
        if bar is not None:
            bar.update(1)
    return blocks


def _augment_levels(x, augment):
    """``(levels, coord)``: per level the features and the augment spec; None if no grid."""
    stacked = isinstance(x, xr.DataArray) and "augment" in x.dims
    if isinstance(x, xr.Dataset) and "X" in x and "augment" in x["X"].dims:
        stacked = True
    if augment is None and not stacked:
        return None, None
    if stacked:
        if augment is not None:
            raise ValueError("pass either feature sets along an 'augment' dim or augment=, not both.")
        Xa = x["X"] if isinstance(x, xr.Dataset) else x
        coord = Xa["augment"].values if "augment" in Xa.coords else np.arange(Xa.sizes["augment"])
        levels = []
        for i in range(Xa.sizes["augment"]):
            xi = x.isel(augment=i) if isinstance(x, xr.Dataset) else Xa.isel(augment=i)
            levels.append((xi, None))
        return levels, coord
    specs = augment if isinstance(augment, list | tuple) else [augment]
    expanded = []
    for sp in specs:
        if isinstance(sp, dict) and np.ndim(sp.get("strength")) == 1:
            expanded += [dict(sp, strength=float(v)) for v in sp["strength"]]
        else:
            expanded.append(sp)
    if len(expanded) == 1 and not isinstance(augment, list | tuple) and np.ndim(augment.get("strength")) == 0:
        return None, None  # a single spec is augmentation inside one fit, not a grid
    strengths = [sp.get("strength") if isinstance(sp, dict) else None for sp in expanded]
    kinds = {sp.get("kind") for sp in expanded if isinstance(sp, dict)}
    coord = np.asarray(strengths, dtype=float) if len(kinds) == 1 and None not in strengths \
        else np.arange(len(expanded))
    return [(x, sp) for sp in expanded], coord


def _cv_task(x, y, spec, args):
    """One augmentation level (module-level so that Dask can ship it to a worker)."""
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # a worker's warnings would be lost; flags stay in results
        return _cv_single(x, y, augment=spec, **args)


@dataclass(repr=False)
class CVGrid:
    """Cross-validated paths over an augmentation grid, or repeated with other folds.

    ``results`` stacks every level's :attr:`CVGlmnet.results` along a leading ``augment``
    (or ``repeat``) dim; ``cvs[i]`` (or ``grid[i]``) is level ``i``'s :class:`CVGlmnet`.
    Examples
    --------
    >>> import classdep as cd
    >>> import numpy as np
    >>> grid = cd.cv_glmnet(cd.datasets.digits(), nfolds=3, lambda_=np.geomspace(1, 1e-3, 4),
    ...                     nrepeats=2, progress=False)
    >>> "repeat" in grid.results.dims
    True
    """

    augment: np.ndarray  # coordinate of the grid's leading dim
    cvs: list
    dim: str = "augment"

    def __getitem__(self, i: int) -> CVGlmnet:
        return self.cvs[i]

    def __len__(self) -> int:
        return len(self.cvs)

    @property
    def results(self) -> xr.Dataset:
        per = [cv.results.drop_attrs() if hasattr(cv.results, "drop_attrs") else cv.results
               for cv in self.cvs]
        out = xr.concat(per, dim=self.dim, coords="minimal", compat="override")
        out = out.assign_coords({self.dim: self.augment})
        out["lambda_min"] = (self.dim, [cv.lambda_min for cv in self.cvs])
        out["lambda_1se"] = (self.dim, [cv.lambda_1se for cv in self.cvs])
        return out

    def __repr__(self) -> str:
        rows = [(self.dim, "lambda_min", "Measure", "SE", "lambda_1se")]
        for a, cv in zip(self.augment, self.cvs, strict=True):
            j = cv.index["min"]
            rows.append((f"{a:g}" if isinstance(a, float | np.floating) else str(a), f"{cv.lambda_min:.4g}",
                         f"{cv.cvm.values[j]:.4g}", f"{cv.cvsd.values[j]:.4g}", f"{cv.lambda_1se:.4g}"))
        what = "augmentation levels" if self.dim == "augment" else "repeats (fold seeds)"
        head = f"Cross-validation over {len(self.cvs)} {what}"
        return "\n".join([head, ""] + format_table(rows))


def cv_glmnet(
    x, y=None, family: str = "multinomial", nfolds: int = 10, foldid=None, lambda_=None,
    nlambda: int = 100, lambda_min_ratio: float | None = None, type_measure: str = "deviance",
    weights=None, keep: bool = True, seed: int = 0, checkpoint=None, progress: bool = True,
    device: str = "auto", dtype=None, augment=None, client=None, nrepeats: int = 1,
    fold_batch: int | None = None, memory_limit=None, **glmnet_args: Any,
) -> CVGlmnet | CVGrid:
    """Cross-validate a ridge multinomial path: R's ``cv.glmnet``, with every class scored.

    Parameters
    ----------
    x, y, family, lambda_, nlambda, lambda_min_ratio, weights, device, dtype
        As :func:`classdep.glmnet`; the lambda grid comes from the full-data fit, as in R.
    nfolds : int
        Number of folds, stratified by class (scikit-learn's ``StratifiedKFold``).
    foldid : (n,) int, optional
        R's fold numbers (1..nfolds) per sample; overrides ``nfolds``.
    type_measure : {"deviance", "class"}
        What ``cvm`` measures: multinomial deviance per sample, or misclassification.
    keep : bool
        Keep the out-of-fold per-sample losses and predictions (``oof``).
    seed : int
        Seed of the fold assignment.
    checkpoint : path, optional
        Folder in which each finished lambda is saved; rerunning the same call resumes
        after the last saved lambda and ends with identical results.
    progress : bool
        A progress bar over lambdas (shown once the sweep has run a second).
    augment : dict or list of dicts, optional
        Feature-space augmentation as the swept hyperparameter: a spec such as
        ``dict(kind="dropout", strength=[0.1, 0.2, 0.4])`` (a list of strengths) or a
        list of specs (see :mod:`classdep.solvers.augment`).  Alternatively pass ``x``
        as a DataArray with dims (``augment``, ``sample``, ``feature``): feature sets
        extracted under different augmentations.  Either way the result is a
        :class:`CVGrid` whose ``results`` gain a leading ``augment`` dim.
    nrepeats : int
        Repeated cross-validation: ``nrepeats`` fold assignments (seeds ``seed``,
        ``seed + 1``, ...), returned as a :class:`CVGrid` with a leading ``repeat`` dim.
    client : dask.distributed.Client, optional
        Run the augmentation levels (or repeats) as tasks on a Dask cluster; the
        results are identical to the local run.
    fold_batch : int, optional
        Folds solved together in one batch (one matrix product serves them all).  By
        default the memory plan picks the most that fit (all of them, unless memory is
        short); the rest are solved in further batches, one after another, with the
        same results.  A checkpointed sweep keeps the grouping it started with.
    memory_limit : int or str, optional
        Memory the sweep may use (as :func:`classdep.glmnet`).  The fold batch is
        planned before any fit; a sweep that cannot fit even one fold at a time raises
        :class:`~classdep.solvers.memory.InsufficientMemoryError` with the numbers.
    **glmnet_args
        Passed to the solver: ``loss``, ``tau``, ``gamma``, ``class_weight``,
        ``penalty_factor``, ``standardize``, ``thresh``, ``maxit``, ``solver``, ...

    Returns
    -------
    CVGlmnet
        ``print(cv)`` is R's table; ``cv.lambda_min``, ``cv.lambda_1se``, ``cv.results``.

    Examples
    --------
    >>> import classdep as cd
    >>> cv = cd.cv_glmnet(cd.datasets.digits(), nfolds=3, nlambda=8, progress=False)
    >>> cv.results["deviance"].dims
    ('lambda', 'class', 'fold')
    """
    args = dict(family=family, nfolds=nfolds, foldid=foldid, lambda_=lambda_, nlambda=nlambda,
                lambda_min_ratio=lambda_min_ratio, type_measure=type_measure, weights=weights,
                keep=keep, seed=seed, device=device, dtype=dtype, fold_batch=fold_batch, **glmnet_args)
    if memory_limit is not None:
        args["memory_limit"] = memory_limit  # only when given: the grid's task keys stay as they were
    if int(nrepeats) != nrepeats or nrepeats < 1:
        raise ValueError(f"nrepeats={nrepeats!r} must be a positive integer.")
    levels, coord = _augment_levels(x, augment)
    dim = "augment"
    if nrepeats > 1:
        if levels is not None:
            raise ValueError("nrepeats > 1 with an augmentation grid: run one grid per repeat instead.")
        if foldid is not None:
            raise ValueError("nrepeats > 1 draws new folds per repeat; it cannot be combined with foldid.")
        levels, coord, dim = [(x, augment)] * int(nrepeats), np.arange(int(nrepeats)), "repeat"
    if levels is None:
        return _cv_single(x, y, augment=augment, checkpoint=checkpoint, progress=progress, **args)
    if lambda_ is None:
        raise ValueError("an augmentation grid needs a shared lambda_ grid: pass lambda_=np.geomspace(...).")
    if checkpoint is not None:
        raise ValueError("checkpoint= applies to one path; checkpoint each level by calling cv_glmnet "
                         "per level.")
    args["progress"] = False
    per = [dict(args, seed=seed + i) if dim == "repeat" else args for i in range(len(levels))]
    if client is not None:
        futures = [client.submit(_cv_task, xi, y, sp, a, pure=False)
                   for (xi, sp), a in zip(levels, per, strict=True)]
        cvs = client.gather(futures)
    else:
        cvs = [_cv_task(xi, y, sp, a) for (xi, sp), a in zip(levels, per, strict=True)]
    return CVGrid(np.asarray(coord), list(cvs), dim)


def _response(Z: np.ndarray, family: str) -> np.ndarray:
    if family == "multinomial":
        Z = Z - Z.max(axis=-1, keepdims=True)
        P = np.exp(Z)
        return P / P.sum(axis=-1, keepdims=True)
    return 0.5 * (1.0 + np.tanh(0.5 * Z))


def _assemble(blocks, fit, X, codes, classes, folds, nf, w, lam, type_measure, keep, family, args):
    P = np.stack([b["P"] for b in blocks])  # (L, n, K)
    if family != "multinomial":
        # OvA scores need not sum to one; the class-wise metrics use them normalized.
        P = P / P.sum(axis=-1, keepdims=True)
    cls_coord = fit.path["class"].values
    res = classwise_dataset(P, codes, cls_coord, lam, group=folds, weights=w)
    fold_w = np.bincount(folds, weights=w, minlength=nf)
    if type_measure == "deviance":
        per_fold = res["total_deviance"].values / fold_w[None, :]
    else:
        per_fold = 1.0 - res["accuracy"].values
    cvm, cvsd = _cv_summary(per_fold, np.broadcast_to(fold_w, per_fold.shape))
    idmin, id1se = _choose(lam, cvm, cvsd)
    res["cvm"] = ("lambda", cvm)
    res["cvsd"] = ("lambda", cvsd)
    res["cvup"] = ("lambda", cvm + cvsd)
    res["cvlo"] = ("lambda", cvm - cvsd)
    res["nzero"] = ("lambda", fit.path["df"].values)
    res["niter"] = (("lambda", "fold"), np.stack([b["niter"] for b in blocks]))
    res["converged"] = (("lambda", "fold"), np.stack([b["converged"] for b in blocks]))
    res["gap"] = (("lambda", "fold"), np.stack([b["gap"] for b in blocks]))
    # blocks checkpointed by an older classdep carry no count
    res["products"] = ("lambda", np.array([float(b.get("products", np.nan)) for b in blocks]))
    res["products"].attrs["description"] = ("matrix products of size n x d x K (one fold) the folds' "
                                            "solves used at this lambda")
    res.attrs.update(
        classdep_object="CVGlmnet", type_measure=type_measure, family=family, nfolds=nf,
        lambda_min=float(lam[idmin]), lambda_1se=float(lam[id1se]), index_min=idmin, index_1se=id1se,
        call="cv_glmnet(x = x, y = y" + "".join(f", {k} = {v!r}" for k, v in args.items() if v is not None)
             + ")",
    )
    oof = None
    if keep:
        n = codes.size
        p_true = np.clip(P[:, np.arange(n), codes], 1e-300, None)
        oof = xr.Dataset(
            {"loss": (("lambda", "sample"), -np.log(p_true)),
             "pred": (("lambda", "sample"), P.argmax(axis=2).astype(np.int16)),
             "y": ("sample", codes), "fold": ("sample", folds), "weight": ("sample", w)},
            coords={"lambda": lam, "class": cls_coord},
            attrs={"description": "out-of-fold per-sample loss (-log p of the true class) and "
                                  "predicted class code"},
        )
    return CVGlmnet(res, oof, fit, folds)
