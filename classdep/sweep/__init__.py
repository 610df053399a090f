"""Cross-validated sweeps: ``cv_glmnet`` (R's ``cv.glmnet``), metrics per (lambda, class, fold).

The package is split by capability: :mod:`.folds` (fold assignment), :mod:`.checkpoint`
(the per-lambda store a sweep resumes from), :mod:`.engine` (groups of folds solved as
one batch and scored per lambda), :mod:`.grid` (augmentation levels, repeats, Dask
tasks), :mod:`.cvresult` (the ``CVGlmnet`` result, R's summary and lambda choice),
:mod:`.assemble` (scored blocks to the result), :mod:`.heldout` (the ``Heldout`` view:
a fit's path scored on held-out samples, one split in place of folds) and :mod:`.cv`
(``cv_glmnet`` itself).
"""

from .cv import cv_glmnet
from .cvresult import CVGlmnet
from .folds import make_folds
from .grid import CVGrid
from .heldout import Heldout

__all__ = ["CVGlmnet", "CVGrid", "Heldout", "cv_glmnet", "make_folds"]
