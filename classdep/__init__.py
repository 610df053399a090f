"""classdep: how much of a network's class-dependent response to regularization lives in its last layer.

The R-like face of the toolkit: ``glmnet`` fits a ridge-penalized multinomial path;
``coef``, ``predict``, ``summary`` and ``plot`` are generic functions, as in R.
"""

from __future__ import annotations

# study: the study as `classdep study` runs it, cd.study.study(...), cd.study.split_features(...)
from . import backend, datasets, study, validation
from .analysis import (
    LDA,
    UFM,
    Ambiguous,
    Boot,
    BootCI,
    ClassEffects,
    Classwise,
    Geometry,
    LDAPrediction,
    Manova,
    Separability,
    ambiguous,
    assess,
    boot,
    boot_ci,
    class_effects,
    classwise,
    confset,
    geometry,
    lda,
    manova,
    oracle_gain,
    pairwise_separation,
    separability,
    ufm,
    ufm_geometry,
)
from .exceptions import ConvergenceWarning, HeldoutRowsWarning, ScaleWarning, SeparationWarning
from .generics import coef, confint, predict, summary
from .glmnet_fit import GlmnetFit, glmnet
from .memory_plan import InsufficientMemoryError, MemoryPlan, memory_plan
from .plot import plot
from .result import Result
from .sklearn import CVGlmnetClassifier, GlmnetClassifier
from .sweep import CVGlmnet, CVGrid, Heldout, cv_glmnet
from .sweep.augment_images import HeldoutGrid, assess_augment, assess_features, augment_features

__version__ = "0.1.0"

__all__ = [
    "Ambiguous",
    "LDA",
    "LDAPrediction",
    "Manova",
    "Separability",
    "ambiguous",
    "lda",
    "manova",
    "pairwise_separation",
    "separability",
    "Boot",
    "BootCI",
    "CVGlmnet",
    "CVGrid",
    "Classwise",
    "ClassEffects",
    "CVGlmnetClassifier",
    "GlmnetClassifier",
    "HeldoutGrid",
    "assess_augment",
    "assess_features",
    "augment_features",
    "class_effects",
    "ConvergenceWarning",
    "HeldoutRowsWarning",
    "GlmnetFit",
    "Heldout",
    "assess",
    "boot",
    "boot_ci",
    "classwise",
    "confset",
    "cv_glmnet",
    "oracle_gain",
    "ScaleWarning",
    "SeparationWarning",
    "backend",
    "coef",
    "confint",
    "datasets",
    "study",
    "glmnet",
    "memory_plan",
    "MemoryPlan",
    "InsufficientMemoryError",
    "plot",
    "predict",
    "Result",
    "summary",
    "validation",
    "Geometry",
    "UFM",
    "geometry",
    "ufm",
    "ufm_geometry",
]
