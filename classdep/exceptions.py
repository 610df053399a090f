"""Warnings and errors that classdep raises on purpose."""

from __future__ import annotations

__all__ = ["ConvergenceWarning", "SeparationWarning"]


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
