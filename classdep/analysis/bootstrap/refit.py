"""The refit bootstrap: resample the training data and rerun the cross-validation per replicate.

One replicate is one sweep, so the replicates run locally or as tasks on a Dask cluster
(``client.map`` over replicate seeds; the results equal the local run's).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np

from ...inputs import features_and_labels
from ...sweep import CVGlmnet, cv_glmnet, make_folds
from ...validation import check_labels
from .resampling import class_order, count_blocks

__all__ = ["RefitJob", "RefitOptions", "refit_curves", "refit_replicate"]


@dataclass(frozen=True)
class RefitOptions:
    """The options only ``method="refit"`` uses, given to :func:`classdep.boot` as keywords.

    Attributes
    ----------
    x, y
        The training data, as for :func:`classdep.cv_glmnet`.
    client : dask.distributed.Client, optional
        Run the replicates as tasks on a Dask cluster.
    refit_args : dict, optional
        Further :func:`classdep.cv_glmnet` arguments of the original sweep (``loss``,
        ``class_weight``, ``weights``, ...).

    Examples
    --------
    >>> RefitOptions.of({"x": [[0.0], [1.0]], "y": [0, 1]}, "refit").client is None
    True
    """

    x: Any = None
    y: Any = None
    client: Any = None
    refit_args: dict | None = None

    @classmethod
    def of(cls, keywords: dict, method: str) -> RefitOptions:
        """The options from ``boot``'s keywords, checked against ``method``."""
        unknown = sorted(set(keywords) - {"x", "y", "client", "refit_args"})
        if unknown:
            raise TypeError(f"boot() got unexpected keyword argument(s) {', '.join(map(repr, unknown))}; "
                            "its refit options are x, y, client and refit_args.")
        opts = cls(**keywords)
        if opts.client is not None and method != "refit":
            raise ValueError("client= distributes the refits of method='refit'; method='oof' is one matrix "
                             "product and runs locally.")
        if method == "refit" and opts.x is None:
            raise ValueError("method='refit' reruns the sweep: pass the training data as x= (and y=).")
        return opts


@dataclass(frozen=True)
class RefitJob:
    """What every refit replicate shares (sent once per task to a Dask worker)."""

    labels: np.ndarray
    codes: np.ndarray
    strata: str | None
    nfolds: int
    args: dict
    weights: np.ndarray | None


def refit_replicate(seed: int, X: np.ndarray, job: RefitJob) -> tuple[np.ndarray, int]:
    """One refit replicate: per-class CV deviance curves (K, L) and the number of warnings.

    Copies of a training row share its fold (folds are drawn for the original rows), so
    that no row is validated by a model trained on its own copy.
    """
    rng = np.random.default_rng(seed)
    codes = job.codes
    K = int(codes.max()) + 1
    order, starts = class_order(codes, K)
    bounds = starts if job.strata == "class" else np.array([0, codes.size])
    f_sorted = next(count_blocks(rng, bounds, 1))[0]
    counts = np.empty(codes.size)
    counts[order] = f_sorted
    rows = np.repeat(np.arange(codes.size), counts.astype(np.int64))
    folds = make_folds(codes, job.nfolds, seed=int(rng.integers(2**31 - 1)))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")  # counted and reported once by boot(), not raised per replicate
        cvr = cv_glmnet(X[rows], job.labels[rows], foldid=folds[rows] + 1, keep=False, progress=False,
                        weights=None if job.weights is None else job.weights[rows], **job.args)
    return cvr.results["deviance"].sum("fold").values.T.copy(), len(caught)


def refit_curves(cv: CVGlmnet, opts: RefitOptions, strata, seeds: list[int]) -> tuple[np.ndarray, int]:
    """Per-class CV deviance curves of every refit replicate (R, K, L) and the warnings raised."""
    if not isinstance(cv, CVGlmnet):
        raise TypeError("method='refit' needs the CVGlmnet whose sweep it reruns.")
    X, labels, _ = features_and_labels(opts.x, opts.y, out_of_core=False)
    labels = np.asarray(labels.values if hasattr(labels, "values") else labels)
    codes, cls = check_labels(labels, X.shape[0])
    classes = cv.classes
    if [str(c) for c in cls] != [str(c) for c in classes]:
        raise ValueError(f"the classes of y ({list(cls)}) are not those of cv ({list(classes)}).")
    args = dict(opts.refit_args or {})
    weights = args.pop("weights", None)
    weights = None if weights is None else np.asarray(weights, dtype=np.float64)
    args.update(lambda_=cv.lambda_, family=cv.results.attrs.get("family", "multinomial"))
    job = RefitJob(labels, codes, strata, int(cv.results.attrs["nfolds"]), args, weights)
    if opts.client is not None:
        Xf = opts.client.scatter(X, broadcast=True)
        out = opts.client.gather(opts.client.map(refit_replicate, seeds, X=Xf, job=job, pure=False))
    else:
        out = [refit_replicate(s, X, job) for s in seeds]
    return np.stack([o[0] for o in out]), sum(o[1] for o in out)
