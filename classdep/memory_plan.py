"""``memory_plan``: what a fit or a cross-validated sweep will need, before running it."""

from __future__ import annotations

import numpy as np

from .backend import default_dtype, resolve_device
from .inputs import features_and_labels
from .solvers.memory import InsufficientMemoryError, MemoryPlan, plan_memory
from .validation import check_labels

__all__ = ["memory_plan", "MemoryPlan", "InsufficientMemoryError"]


def memory_plan(x, y=None, *, nfolds: int = 1, family: str = "multinomial", device: str = "auto",
                dtype=None, memory_limit=None, route: str = "auto") -> MemoryPlan:
    """The memory plan that :func:`classdep.glmnet` (``nfolds=1``) or :func:`classdep.cv_glmnet` would make.

    It reads no feature values: shapes, dtype and the machine's free memory are enough.
    The plan says whether ``x`` is held whole or read in row chunks (and how many rows a
    chunk), which route the path takes (``plan.route``: ``"sample"`` solves a wide
    problem, ``d > n``, on ``n`` reduced features; see
    :mod:`classdep.solvers.sample_space`), and estimates the peak.  A fit that cannot fit raises
    :class:`~classdep.solvers.memory.InsufficientMemoryError` here, with the numbers.

    Parameters
    ----------
    x, y : as for :func:`classdep.glmnet`
    nfolds : int
        Members solved in one batch: 1 for ``glmnet``, ``nfolds`` for ``cv_glmnet``.
    family, device, dtype, memory_limit, route : as for :func:`classdep.glmnet`

    Examples
    --------
    >>> import classdep as cd
    >>> p = cd.memory_plan(cd.datasets.digits(), nfolds=5, device="cpu", memory_limit="1GB")
    >>> p.x_resident, p.M, p.route
    (True, 5, 'feature')
    >>> import numpy as np
    >>> cd.memory_plan(np.zeros((50, 10000)), np.arange(50) % 3, device="cpu").route
    'sample'
    """
    X, yy, _ = features_and_labels(x, y)
    _, classes = check_labels(yy, X.shape[0])
    K = classes.size
    if int(nfolds) != nfolds or nfolds < 1:
        raise ValueError(f"nfolds={nfolds!r} must be a positive integer.")
    dev = resolve_device(device)
    dt = np.dtype(dtype) if dtype is not None else np.dtype(default_dtype(dev))
    n, d = X.shape
    return plan_memory(n, d, K, int(nfolds), itemsize=dt.itemsize, device=dev, memory_limit=memory_limit,
                       family=family, route=route)
