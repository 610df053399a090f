"""Warnings and errors that classdep raises on purpose."""

from __future__ import annotations

import os
import sys
import warnings

__all__ = ["ConvergenceWarning", "HeldoutRowsWarning", "SeparationWarning", "warn_caller"]

_PACKAGE_DIR = os.path.dirname(os.path.abspath(__file__))


def warn_caller(message: str, category: type[Warning]) -> None:
    """``warnings.warn`` pointed at the first frame outside classdep: the user's line.

    The same warning is reached through ``glmnet``, ``cv_glmnet``, the CLI and the
    analysis functions, at different depths, so no fixed ``stacklevel`` is right
    (Python 3.12's ``skip_file_prefixes`` does this; 3.10 and 3.11 lack it).

    Examples
    --------
    >>> import warnings
    >>> with warnings.catch_warnings(record=True) as caught:
    ...     warnings.simplefilter("always")
    ...     warn_caller("the grid ends above the optimum", UserWarning)
    >>> str(caught[0].message)
    'the grid ends above the optimum'
    """
    level = 2  # stacklevel=1 is this function, 2 its caller
    frame = sys._getframe(1)
    while frame is not None and os.path.abspath(frame.f_code.co_filename).startswith(_PACKAGE_DIR):
        frame = frame.f_back
        level += 1
    warnings.warn(message, category, stacklevel=level)


class ConvergenceWarning(UserWarning):
    """A fit stopped before meeting its convergence threshold.

    The result is still returned, with ``converged=False`` for the affected
    (lambda, batch member) so that nothing downstream uses it unknowingly.
    """


class SeparationWarning(UserWarning):
    """The training data are (nearly) separable at this penalty.

    Without the penalty the coefficients would grow without bound; with it the
    solution exists but its norm is large and fragile.  Flagged as ``separable``.
    """


class ScaleWarning(UserWarning):
    """The features' scale is far enough from one to cost the solver its accuracy.

    With ``standardize=False`` and feature variances in the billions, the Hessian's
    feature block dwarfs its intercept and penalty-only directions, and the truncated
    Newton solver's stopping rule can miss objective gaps there.  Rescale the features
    (``x / c`` with ``lambda / c**2`` is the same fit) or pass ``standardize=True``.
    """


class HeldoutRowsWarning(UserWarning):
    """Feature sets stacked along ``augment`` were scored on their own rows: ``clean`` was not given.

    Augmentation changes what the head is trained on, not what it is tested on, so
    :func:`classdep.cv_glmnet` scores augmented feature sets on clean held-out rows when
    told which rows are clean (``clean=``); without it each level is scored on its own
    rows, right for levels that are different representations, wrong for augmented copies.
    """
