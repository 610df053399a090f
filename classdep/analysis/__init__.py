"""Analyses built on sweeps: class-wise optima and regret, their bootstrap, held-out assessment,
and discriminant analysis of the classes the model confuses."""

from .ambiguous import Ambiguous, ambiguous
from .assess import assess, oracle_gain
from .bootstrap import Boot, BootCI, boot, boot_ci, confset
from .classwise import Classwise, classwise
from .lda import LDA, LDAPrediction, lda
from .manova import Manova, manova, pairwise_separation
from .separability import Separability, separability

__all__ = ["Ambiguous", "Boot", "BootCI", "Classwise", "LDA", "LDAPrediction", "Manova", "Separability",
           "ambiguous", "assess", "boot", "boot_ci", "classwise", "confset", "lda", "manova", "oracle_gain",
           "pairwise_separation", "separability"]
