"""Sampling mode in a config: ``[problem] name = "sampling"`` (:func:`mfbd.problems.sampling`).

::

    [problem]
    name = "sampling"
    target = "double_well"     # a name of mfbd.problems.targets.TARGETS
    b = 4.0                    # the target's parameters, flat (here U(x) = x⁴ - b x² + tilt·x)
    bandwidth = 0.15           # h > 0 of the kernel density estimate, or "median"
    rate = "pde"               # or "kl"
    transport = "langevin"     # run the arms with noise = 1 (or "blob", with noise = 0)
    kl = false                 # true: also record the column kl, a k-NN estimate of KL(μ‖π)
    kernel_dtype = "float32"   # optional, in a float64 run: the density estimate's kernel sums in float32

The target's parameters are keys of ``[problem]`` beside the sampling options;
each belongs to one target (``b`` and ``tilt`` to the double well; ``mean``,
``covariance``, ``init_mean``, ``init_covariance`` to the Gaussian, whose
dimension is the length of the first of them given, else 2; the four-mode
mixture has none). Unset: the target's default.

**Metrics.** Every metrics row records, besides E_h (KL(μ‖π) up to log Z), the
sampling metrics of :mod:`mfbd.problems.sampling_metrics` of the state's
weighted measure: ``mmd2`` (RBF exp(-‖x - y‖²), the biased V-statistic), ``w1``
(mean of the 1-D W1 over coordinates), ``mean_error`` and ``cov_error``; the
double well adds ``mass_left`` (the mass left of the saddle) and ``delta_F``
(-log(mass₊/mass₋); -inf while no particle has crossed); ``kl = true`` adds ``kl``,
KL(μ‖π) estimated from the particles alone (:func:`~mfbd.problems.kl_observer`: the
Kozachenko–Leonenko entropy and the target's exact log Z; n ≥ 2 and equally weighted
particles, so no weighted arm: ``conic``, or ``reweighting`` unless
``resample_below = 1``, which resamples after every step; O(n²) distances per record;
biased at small n in high d: compare arms at the same n). The reference is one
fixed sample of :data:`REFERENCE_SAMPLES` exact draws of π, drawn with
``key(REFERENCE_KEY)``, the same for every arm, seed and run. A record costs
O(n² + n·m) kernel evaluations for MMD² and a sort of n + m points per
coordinate for W1 (m = 1000), against the O(n²) of one step's density
estimate (the overhead was not benchmarked separately). With m = 1000
exact draws, MMD² of a perfect n-particle sample is not 0 but about
(1/n + 1/m)·(1 - E k(X, X')) ≥ 0 (the V-statistic's bias for independent
draws): ≈ 0.0027 at n = 500 on the four-mode target, ≈ 0.005 at n = 200 on
sampling_gaussian's.

**Pure Langevin arms** (``scheme = "gradient_flow"`` with ``transport = "langevin"``) run on the
problem's ``transport_only`` oracle (the same field ∇U = -∇log π, without the
O(n²) density estimate that plain Langevin never uses); their rows still record
E_h, computed at the record steps only (:func:`with_energy`; the runner's ``arm_problem``).
"""

from __future__ import annotations

import dataclasses
import functools
import inspect

import jax

from mfbd.config.kinds import ProblemKind
from mfbd.config.toml import ConfigError, field
from mfbd.problems.base import Problem
from mfbd.problems.sampling import RATES, TRANSPORTS, sampling
from mfbd.problems.sampling_metrics import double_well_observer, kl_observer, sampling_observer
from mfbd.problems.targets import TARGETS, Target, make_target

__all__ = [
    "REFERENCE_KEY",
    "REFERENCE_SAMPLES",
    "TARGET_PARAMETERS",
    "Sampling",
    "build_sampling",
    "observe_sampling",
    "with_energy",
]

#: The exact sample the metrics compare with: ``REFERENCE_SAMPLES`` draws with ``key(REFERENCE_KEY)``.
REFERENCE_KEY = 12345
REFERENCE_SAMPLES = 1000

#: The parameters of each target (its factory's arguments), as ``[problem]`` keys; a ``dim`` is not a key
#: but the length of the first array given (the Gaussian's default, 2, without one).
TARGET_PARAMETERS = {
    name: tuple(p for p in inspect.signature(factory).parameters if p != "dim") for name, factory in TARGETS.items()
}

_DEFAULTS = inspect.signature(sampling).parameters
Matrix = tuple[tuple[float, ...], ...]


@dataclasses.dataclass(frozen=True, kw_only=True)
class Sampling:
    """Sampling mode (:func:`mfbd.problems.sampling`): the target by name and its parameters.

    ``transport = "langevin"`` is meant for arms with ``noise = 1`` (Langevin:
    the diffusion is the noise), ``"blob"`` for ``noise = 0``.

    Attributes:
      kernel_dtype: ``"float32"``: the density estimate's kernel values and sums in float32 in a float64 run
        (:func:`~mfbd.problems.sampling`; about half the cost of a step's exponentials); unset: the run's dtype.
      kl: also record the column ``kl``, the k-NN estimate of KL(μ‖π) of :func:`~mfbd.problems.kl_observer`
        (equally weighted particles only: no ``conic`` arm, ``reweighting`` only with ``resample_below = 1``).
    """

    name: str = "sampling"
    target: str = field(choices=tuple(TARGETS))
    bandwidth: float | str = field(_DEFAULTS["bandwidth"].default, check="positive")
    rate: str = field(_DEFAULTS["rate"].default, choices=RATES)
    transport: str = field(_DEFAULTS["transport"].default, choices=TRANSPORTS)
    block_size: int = field(_DEFAULTS["block_size"].default, check="positive")
    kl: bool = False
    kernel_dtype: str | None = field(None, choices=("float32",))
    # the targets' parameters (None: the target's default)
    mean: tuple[float, ...] | None = None
    covariance: Matrix | None = None
    init_mean: tuple[float, ...] | None = None
    init_covariance: Matrix | None = None
    b: float | None = field(None, check="positive")
    tilt: float | None = None

    def __post_init__(self):
        for key in ("covariance", "init_covariance"):
            rows = getattr(self, key)
            if rows is not None and len({len(row) for row in rows}) > 1:  # ragged rows: no matrix at all
                lengths = ", ".join(str(len(row)) for row in rows)
                raise ConfigError(f"problem.{key} must be a matrix (rows of equal length), got rows of {lengths}")
        if isinstance(self.bandwidth, str) and self.bandwidth != "median":
            raise ConfigError(f'problem.bandwidth must be a number > 0 or "median", got {self.bandwidth!r}')
        own = TARGET_PARAMETERS.get(self.target, ())
        for key in _PARAMETER_FIELDS:
            if getattr(self, key) is not None and key not in own:
                listed = f"its parameters are {', '.join(own)}" if own else "it takes no parameters"
                raise ConfigError(f"problem.{key} is not a parameter of target {self.target!r}; {listed}")

    @property
    def target_parameters(self) -> dict:
        """The target's parameters that are set, as keyword arguments of its factory (with ``dim``)."""
        params = {key: getattr(self, key) for key in TARGET_PARAMETERS[self.target] if getattr(self, key) is not None}
        arrays = [value for value in params.values() if isinstance(value, tuple)]
        if arrays and "dim" in inspect.signature(TARGETS[self.target]).parameters:
            params["dim"] = len(arrays[0])
        return params


#: Every target's parameters (each a field of :class:`Sampling`).
_PARAMETER_FIELDS = tuple(dict.fromkeys(key for keys in TARGET_PARAMETERS.values() for key in keys))


def build_sampling(problem: Sampling, x64: bool) -> Problem:
    """The :func:`mfbd.problems.sampling` problem of a config, built in float64 if ``x64``.

    Raises:
      ValueError: the target's factory or :func:`~mfbd.problems.sampling` refuses
        the values (a matrix of the wrong shape, a log-target not finite at the
        initial particles), with the target named.
    """
    with jax.enable_x64(x64):
        try:
            target = make_target(problem.target, **problem.target_parameters)
            return sampling(
                target,
                bandwidth=problem.bandwidth,
                rate=problem.rate,
                transport=problem.transport,
                block_size=problem.block_size,
                kernel_dtype=problem.kernel_dtype,
            )
        except ValueError as e:
            raise ValueError(f"target {problem.target!r}: {e}") from None


def observe_sampling(target: Target, x64: bool, kl: bool = False):
    """``state -> {mmd2, w1, mean_error, cov_error[, mass_left, delta_F][, kl]}`` (see the module docstring)."""
    with jax.enable_x64(x64):
        metrics = sampling_observer(target, jax.random.key(REFERENCE_KEY), REFERENCE_SAMPLES)
    extra = [double_well_observer(target)] if target.name == "double_well" else []
    extra += [kl_observer(target)] if kl else []

    def observe_state(state) -> dict:
        out = metrics(state)
        for observe in extra:
            out = out | observe(state)
        return out

    return observe_state


@functools.lru_cache(maxsize=32)
def with_energy(observe, problem: Problem):
    """``observe`` plus E_h of the state as ``energy`` and ``mean_potential``, for an arm run on
    ``problem.meta.transport_only``: the columns keep their meaning (Σ_i w_i V_i = E_h for
    both rates, as Σ_i w_i K_h(θ_j - θ_i) = ρ̂(θ_j))."""

    def observe_state(state) -> dict:
        energy = problem.energy(state.particles, jax.nn.softmax(state.log_weights))
        return observe(state) | {"energy": energy, "mean_potential": energy}

    return observe_state


def _transport_only(problem: Problem, arm) -> Problem:
    """A gradient-flow arm of a sampling problem runs on ``transport_only`` (pure Langevin never uses the
    O(n²) density estimate); other arms on ``problem``."""
    only = problem.meta.transport_only if arm.scheme == "gradient_flow" else None
    return problem if only is None else only


def _arm_observe(observe, problem: Problem, arm):
    """An arm run on ``transport_only`` records E_h of ``problem`` itself (:func:`with_energy`)."""
    return observe if _transport_only(problem, arm) is problem else with_energy(observe, problem)


def _pass_cost(problem: Problem, arm, n: int):
    """The declared work of one oracle pass of the problem the arm runs on (``meta.cost``)."""
    return _transport_only(problem, arm).meta.cost(n)


def _check_run(section, run):
    """The median bandwidth is a median over pairs of particles, the KL estimate needs nearest neighbours:
    both need n ≥ 2."""
    if section.bandwidth == "median" and run.n < 2:
        raise ConfigError(
            f'problem.bandwidth = "median" needs at least 2 particles, got run.n = {run.n}; '
            "raise run.n or give a number h > 0"
        )
    if section.kl and run.n < 2:
        raise ConfigError(f"problem.kl needs at least 2 particles (nearest neighbours), got run.n = {run.n}")


def _check_arm(section, arm, where: str):
    """The KL estimate reads equally weighted particles: no weighted arm unless it resamples after every step."""
    weighted = arm.scheme == "conic" or (arm.scheme == "reweighting" and arm.resample_below != 1.0)
    if section.kl and weighted:
        fix = " or resample_below = 1" if arm.scheme == "reweighting" else ""
        raise ConfigError(
            f"{where}: problem.kl estimates KL of equally weighted particles and scheme {arm.scheme} weights them; "
            f"set problem.kl = false{fix}"
        )


#: Sampling mode's :class:`~mfbd.config.kinds.ProblemKind`.
KIND = ProblemKind(
    Sampling,
    lambda section, n, x64: build_sampling(section, x64),
    observe=lambda section, n, x64: observe_sampling(build_sampling(section, x64).meta.target, x64, section.kl),
    arm_problem=_transport_only,
    arm_observe=_arm_observe,
    figures=("sampling_metrics",),
    watch_rise=False,
    energy_meaning="KDE estimate of KL(μ|π) up to log Z",
    pass_cost=_pass_cost,
    check=_check_run,
    check_arm=_check_arm,
)
