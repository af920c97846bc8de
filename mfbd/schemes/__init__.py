"""Schemes: how the particles move. Each is ``Scheme(init, step)``."""

from mfbd.schemes.base import Info, Scheme, State
from mfbd.schemes.birth_death import birth_death
from mfbd.schemes.gradient_flow import gradient_flow
from mfbd.schemes.reweighting import reweighting

__all__ = ["Info", "Scheme", "State", "birth_death", "gradient_flow", "reweighting"]
