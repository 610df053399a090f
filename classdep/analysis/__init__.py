"""Analyses built on sweeps: class-wise optima and regret, their bootstrap, held-out assessment."""

from .assess import assess, oracle_gain
from .bootstrap import Boot, BootCI, boot, boot_ci, confset
from .classwise import Classwise, classwise

__all__ = ["Boot", "BootCI", "Classwise", "assess", "boot", "boot_ci", "classwise", "confset", "oracle_gain"]
