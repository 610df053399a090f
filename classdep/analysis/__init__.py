"""Analyses built on sweeps: class-wise optima and regret, their bootstrap, held-out assessment,
discriminant analysis of the classes the model confuses, and per-class effects across seeds."""

from .ambiguous import Ambiguous, ambiguous
from .assess import assess, oracle_gain
from .bootstrap import Boot, BootCI, boot, boot_ci, confset
from .classwise import Classwise, classwise
from .closed_forms import seli, step_counts, ufm_geometry
from .geometry import Geometry, geometry
from .lda import LDA, LDAPrediction, lda
from .manova import Manova, manova, pairwise_separation
from .seed_effects import ClassEffects, class_effects
from .separability import Separability, separability
from .ufm import UFM, ufm

__all__ = ["Ambiguous", "Boot", "BootCI", "Classwise", "LDA", "LDAPrediction", "Manova", "Separability",
           "ambiguous", "assess", "boot", "boot_ci", "classwise", "confset", "lda", "manova", "oracle_gain",
           "pairwise_separation", "separability",
           "Geometry", "UFM", "geometry", "seli", "step_counts", "ufm", "ufm_geometry",
           "ClassEffects", "class_effects"]
