"""classdep: how much of a network's class-dependent response to regularization lives in its last layer.

The R-like face of the toolkit.  See ``DESIGN.md`` in the documentation for the map.
"""

from __future__ import annotations

from . import backend, datasets, validation
from .exceptions import ConvergenceWarning, SeparationWarning

__version__ = "0.1.0"

__all__ = [
    "ConvergenceWarning",
    "SeparationWarning",
    "backend",
    "datasets",
    "validation",
]
