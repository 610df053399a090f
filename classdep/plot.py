"""Figures: one generic ``plot`` dispatched on the result type (R's ``plot``).

Each result module's figure lives here so that matplotlib is imported only by this
module, and only when a figure is asked for.
"""

from __future__ import annotations

from functools import singledispatch
from typing import Any

import numpy as np

from .glmnet_fit import GlmnetFit
from .validation import check_choice

__all__ = ["plot"]


def _axes_grid(n: int, ax=None):
    import matplotlib.pyplot as plt

    if ax is not None:
        return ax.figure, np.atleast_1d(ax).ravel()
    cols = min(n, 5)
    rows = int(np.ceil(n / cols))
    fig, axes = plt.subplots(rows, cols, figsize=(2.8 * cols, 2.4 * rows), squeeze=False,
                             sharex=True, constrained_layout=True)
    for a in axes.ravel()[n:]:
        a.set_visible(False)
    return fig, axes.ravel()[:n]


@singledispatch
def plot(obj: Any, **kwargs):
    """Draw a classdep result; dispatches on its type.

    Examples
    --------
    >>> import numpy as np, classdep as cd
    >>> rng = np.random.default_rng(0)
    >>> fit = cd.glmnet(rng.normal(size=(80, 3)), rng.integers(0, 3, 80), nlambda=10)
    >>> fig = cd.plot(fit, xvar="lambda")
    >>> len(fig.axes)
    3
    """
    raise TypeError(f"plot() has no method for {type(obj).__name__}.")


@plot.register
def _(fit: GlmnetFit, xvar: str = "lambda", ax=None, label: bool = False):
    """Coefficient paths like R's ``plot.glmnet``: one panel per class.

    ``xvar="lambda"`` plots against log(lambda), ``"norm"`` against the class's L1 norm,
    ``"dev"`` against the fraction of deviance explained.  The top axis shows Df.
    """
    check_choice(xvar, ("lambda", "norm", "dev"), "xvar")
    p = fit.path
    classes = p["class"].values
    fig, axes = _axes_grid(len(classes), ax)
    B = p["coef"].values  # (L, K, d)
    for k, a in enumerate(axes):
        if xvar == "lambda":
            xs, xl = np.log(p["lambda"].values), "Log Lambda"
        elif xvar == "norm":
            xs, xl = np.abs(B[:, k, :]).sum(axis=1), "L1 Norm"
        else:
            xs, xl = p["dev_ratio"].values, "Fraction Deviance Explained"
        a.plot(xs, B[:, k, :], lw=0.8)
        a.axhline(0.0, color="0.6", lw=0.5)
        a.set_title(f"{classes[k]}", fontsize=9)
        a.set_xlabel(xl, fontsize=8)
        a.set_ylabel("Coefficients", fontsize=8)
        a.tick_params(labelsize=7)
        if label:
            for j, name in enumerate(p["feature"].values):
                a.annotate(str(name), (xs[-1], B[-1, k, j]), fontsize=6)
    return fig
