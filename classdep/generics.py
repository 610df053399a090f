"""R-style generic functions: ``coef``, ``predict``, ``summary``, ``confint``.

Each is a :func:`functools.singledispatch` function; result types register their
methods in their own modules, so ``coef(fit)`` works like R's ``coef(fit)`` for any
classdep result.  ``plot`` lives in :mod:`classdep.plot` with the figures.
"""

from __future__ import annotations

from functools import singledispatch
from typing import Any

__all__ = ["coef", "predict", "summary", "confint"]


def _no_method(name: str, obj: Any):
    # name the types that do have a method: the user then knows which result to pass
    generic = globals()[name]
    have = sorted(t.__name__ for t in generic.registry if t is not object)
    return TypeError(
        f"{name}() has no method for {type(obj).__name__}; it has methods for "
        f"{', '.join(have) if have else 'no type yet'}."
    )


@singledispatch
def coef(obj: Any, s=None, **kwargs):
    """Coefficients of a fitted model, R's ``coef``.

    Examples
    --------
    >>> import numpy as np, classdep as cd
    >>> rng = np.random.default_rng(0)
    >>> fit = cd.glmnet(rng.normal(size=(50, 2)), rng.integers(0, 2, 50), lambda_=[0.1])
    >>> cd.coef(fit, s=0.1).dims
    ('class', 'feature')
    """
    raise _no_method("coef", obj)


@singledispatch
def predict(obj: Any, newx=None, s=None, type: str = "link", **kwargs):  # noqa: A002 - R's name
    """Predictions of a fitted model, R's ``predict``.

    Examples
    --------
    >>> import numpy as np, classdep as cd
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(50, 2)); fit = cd.glmnet(X, rng.integers(0, 2, 50), lambda_=[0.1])
    >>> cd.predict(fit, X[:3], s=0.1, type="class").shape
    (3,)
    """
    raise _no_method("predict", obj)


@singledispatch
def summary(obj: Any, **kwargs):
    """A longer account of a result than ``print``, R's ``summary``.

    Examples
    --------
    >>> import numpy as np, classdep as cd
    >>> rng = np.random.default_rng(0)
    >>> fit = cd.glmnet(rng.normal(size=(50, 2)), rng.integers(0, 2, 50), lambda_=[0.1])
    >>> "converged" in str(cd.summary(fit))
    True
    """
    raise _no_method("summary", obj)


@singledispatch
def confint(obj: Any, **kwargs):
    """Confidence intervals, R's ``confint``: defined by the bootstrap results.

    Examples
    --------
    >>> import classdep as cd
    >>> try:
    ...     cd.confint(object())
    ... except TypeError as e:
    ...     print("no method")
    no method
    """
    raise _no_method("confint", obj)
