"""mfbd: mean-field particle dynamics of neural networks with neuron birth-death.

Gradient-descent transport, the birth-death dynamics of Rotskoff, Jelassi,
Bruna and Vanden-Eijnden (ICML 2019) as a stochastic particle scheme, and a
weighted-particle (reweighting) scheme, as pure JAX step functions.
"""

import importlib.metadata
import pathlib
import tomllib

from mfbd import adaptive, meanfield, pde, problems, sharding, stats
from mfbd.schemes import Info, Scheme, State, birth_death, conic, gradient_flow, reweighting
from mfbd.simulate import simulate


def _version() -> str:
    """The installed distribution's version, or pyproject.toml's in an uninstalled source tree."""
    try:
        return importlib.metadata.version("mfbd")
    except importlib.metadata.PackageNotFoundError:
        pyproject = pathlib.Path(__file__).resolve().parents[1] / "pyproject.toml"
        if pyproject.is_file():
            return tomllib.loads(pyproject.read_text(encoding="utf-8"))["project"]["version"]
        return "0+unknown"


__version__ = _version()

__all__ = [
    "Info",
    "Scheme",
    "State",
    "adaptive",
    "birth_death",
    "conic",
    "gradient_flow",
    "meanfield",
    "pde",
    "problems",
    "reweighting",
    "sharding",
    "simulate",
    "stats",
]
