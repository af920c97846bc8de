"""Schemes: how the particles move. Each is ``Scheme(init, step)``."""

from mfbd.schemes.base import Info, Scheme, State
from mfbd.schemes.birth_death import birth_death
from mfbd.schemes.conic import conic
from mfbd.schemes.gradient_flow import gradient_flow
from mfbd.schemes.reweighting import reweighting
from mfbd.schemes.schedules import check_schedule
from mfbd.schemes.splitting import GRADIENTS, INTEGRATORS, SPLITTINGS
from mfbd.schemes.temperature import check_temperature, logarithmic

__all__ = [
    "GRADIENTS",
    "INTEGRATORS",
    "SPLITTINGS",
    "Info",
    "Scheme",
    "State",
    "birth_death",
    "check_schedule",
    "check_temperature",
    "conic",
    "gradient_flow",
    "logarithmic",
    "reweighting",
]
