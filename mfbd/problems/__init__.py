"""Problems: what energy E(μ) the particles minimise, and its first variation V.

Every problem gives ``potential(particles, weights, key) -> (V, ∇V)``,
``energy(particles, weights, key=None)``, ``init_particles(key, n)`` (μ₀) and
``sample_prior(key, n)`` (μ_b), all from one oracle ``evaluate``.
"""

from mfbd.problems.base import Evaluation, Problem, from_data, from_kernel, num_particles
from mfbd.problems.gaussian_mixture import gaussian_mixture_1d
from mfbd.problems.non_interacting import non_interacting
from mfbd.problems.student_teacher import arccos_kernel, notebook_time, student_teacher

__all__ = [
    "Evaluation",
    "Problem",
    "arccos_kernel",
    "from_data",
    "from_kernel",
    "gaussian_mixture_1d",
    "non_interacting",
    "notebook_time",
    "num_particles",
    "student_teacher",
]
