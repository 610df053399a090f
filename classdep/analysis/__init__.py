"""Analyses built on sweeps: class-wise optima and regret, held-out assessment."""

from .assess import assess, oracle_gain
from .classwise import Classwise, classwise

__all__ = ["Classwise", "assess", "classwise", "oracle_gain"]
