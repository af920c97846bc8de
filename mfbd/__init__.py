"""mfbd: mean-field particle dynamics of neural networks with neuron birth-death.

Gradient-descent transport, the birth-death dynamics of Rotskoff, Jelassi,
Bruna and Vanden-Eijnden (ICML 2019) as a stochastic particle scheme, and a
weighted-particle (reweighting) scheme, as pure JAX step functions.
"""

from mfbd import adaptive, meanfield, pde, problems, sharding, stats
from mfbd._version import __version__
from mfbd.schemes import Info, Scheme, State, birth_death, conic, gradient_flow, reweighting
from mfbd.simulate import simulate

__all__ = [
    "__version__",
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
