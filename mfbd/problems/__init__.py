"""Problems: what energy E(μ) the particles minimise, and its first variation V.

Every problem gives ``potential(particles, weights, key) -> (V, ∇V)``,
``energy(particles, weights, key=None)``, ``init_particles(key, n)`` (μ₀) and
``sample_prior(key, n)`` (μ_b), all from one oracle ``evaluate``. Weights satisfy
Σ w = 1 (None: uniform 1/n).
"""

from mfbd.problems.base import Evaluation, Problem, from_kernel, num_particles
from mfbd.problems.data import from_data, with_weight_decay
from mfbd.problems.digits import classification_observer, digits, load_digits
from mfbd.problems.entropy import free_energy_observer, knn_entropy
from mfbd.problems.gaussian_mixture import gaussian_mixture_1d
from mfbd.problems.losses import LOSSES, Loss, huber, make_loss
from mfbd.problems.non_interacting import non_interacting
from mfbd.problems.sampling import PassCost, SamplingMeta, kde_log_density, median_bandwidth, sampling
from mfbd.problems.sampling_metrics import (
    basin_mass,
    double_well_observer,
    kl_observer,
    mmd2,
    moment_errors,
    sampling_observer,
    w1_marginals,
)
from mfbd.problems.student_teacher import TeacherMeta, arccos_kernel, notebook_time, student_teacher
from mfbd.problems.targets import (
    TARGETS,
    Target,
    banana,
    double_well,
    four_mode_mixture,
    gaussian,
    gaussian_fokker_planck_law,
    gaussian_mixture_20d,
    make_target,
)
from mfbd.problems.torus import torus_mmd

__all__ = [
    "LOSSES",
    "Loss",
    "TARGETS",
    "Evaluation",
    "PassCost",
    "Problem",
    "SamplingMeta",
    "Target",
    "TeacherMeta",
    "arccos_kernel",
    "banana",
    "basin_mass",
    "classification_observer",
    "digits",
    "double_well",
    "double_well_observer",
    "four_mode_mixture",
    "free_energy_observer",
    "from_data",
    "from_kernel",
    "gaussian",
    "gaussian_fokker_planck_law",
    "gaussian_mixture_1d",
    "gaussian_mixture_20d",
    "huber",
    "kde_log_density",
    "load_digits",
    "kl_observer",
    "knn_entropy",
    "make_loss",
    "make_target",
    "median_bandwidth",
    "mmd2",
    "moment_errors",
    "non_interacting",
    "notebook_time",
    "num_particles",
    "sampling",
    "sampling_observer",
    "student_teacher",
    "torus_mmd",
    "w1_marginals",
    "with_weight_decay",
]
