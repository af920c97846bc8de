"""Experiment configs: TOML files read into frozen dataclasses.

A config names a problem, the run's sizes and one or more *arms* (a scheme with
its parameters; every arm starts from the same particles for a given seed)::

    name = "exp1_good"
    description = "Experiment 1, good start: GD vs GD+BD vs GD+BD-μ_b"

    [problem]
    name = "gaussian_mixture_1d"
    start = "good"

    [run]
    steps = 3000
    n = 200
    seeds = 10            # a count (seeds 0..9) or a list [3, 7]

    [arms.gd]
    scheme = "gradient_flow"
    dt = 0.01

Every value is checked when the file is read, with one-line errors (:class:`ConfigError`) naming the nearest
valid key or the allowed values (the generic part is :mod:`mfbd.config.toml`). The frozen dataclasses key the
caches of :func:`make_problem` and :func:`make_scheme`. Reading never asks a device or the memory: whether a run
fits is the runner's question (:mod:`mfbd.runner.plan`), asked before its run directory exists.
"""

from __future__ import annotations

import dataclasses
import functools
import importlib.resources
import tomllib
from pathlib import Path

import optax

from mfbd.config import adaptive as _adaptive
from mfbd.config import limits, user
from mfbd.config import sampling as _sampling
from mfbd.config import schedules as _schedules_config
from mfbd.config import toml as _toml
from mfbd.config.kinds import ProblemKind
from mfbd.config.problems import BUNDLED, Digits, GaussianMixture1D, StudentTeacher, TorusMMD, _default, options
from mfbd.config.sampling import Sampling
from mfbd.config.toml import ConfigError, apply_overrides, field, read_toml
from mfbd.problems.base import Problem
from mfbd.schemes.adaptive import adaptive
from mfbd.schemes.base import Scheme
from mfbd.schemes.birth_death import CONTROLS, PRIORS, PROBABILITIES, RATES, birth_death
from mfbd.schemes.conic import conic
from mfbd.schemes.gradient_flow import gradient_flow
from mfbd.schemes.reweighting import reweighting
from mfbd.schemes.splitting import GRADIENTS, INTEGRATORS, SPLITTINGS

__all__ = [
    "ConfigError",
    "Config",
    "Run",
    "GaussianMixture1D",
    "StudentTeacher",
    "GradientFlowArm",
    "BirthDeathArm",
    "ReweightingArm",
    "ConicArm",
    "bundled",
    "parse",
    "validate",
    "dumps",
    "apply_overrides",
    "read_toml",
    "make_problem",
    "make_scheme",
    "make_observe",
    "shrink",
    "KINDS",
    "kind_of",
]


# --- schema -------------------------------------------------------------------------------------------------------


#: The problem kinds by ``[problem] name`` (:class:`~mfbd.config.kinds.ProblemKind`).
KINDS: dict[str, ProblemKind] = {**BUNDLED, "sampling": _sampling.KIND}
PROBLEMS = {name: kind.schema for name, kind in KINDS.items()}
OPTIMIZERS = {"sgd": optax.sgd, "adam": optax.adam}
DTYPES = ("float32", "float64")


@dataclasses.dataclass(frozen=True)
class Run:
    """Sizes of the run.

    ``steps`` is a multiple of ``record_every``; ``chunk`` (steps per compiled
    call, the progress granularity; default ``checkpoint_every``) is a multiple
    of ``record_every``, and ``checkpoint_every`` (default ``steps``) a multiple
    of ``chunk``. ``seeds`` is a count (seeds 0..k-1) or a list of seeds.
    ``shard`` splits the particles over all visible devices.
    """

    steps: int = field(check="positive")
    n: int = field(check="positive")
    seeds: int | tuple[int, ...] = field(1)
    record_every: int = field(10, check="positive")
    checkpoint_every: int | None = field(None, check="positive")
    chunk: int | None = field(None, check="positive")
    dtype: str = field("float64", choices=DTYPES)
    shard: bool = field(False)

    @property
    def seed_list(self) -> tuple[int, ...]:
        return tuple(range(self.seeds)) if isinstance(self.seeds, int) else self.seeds


@dataclasses.dataclass(frozen=True, kw_only=True)
class GradientFlowArm:
    """:func:`mfbd.gradient_flow`; optax ``optimizer`` (``lr``: default ``dt``); step options of ``splitting``."""

    scheme: str = "gradient_flow"
    label: str | None = None
    dt: float = field(check="positive")  # or "adaptive" (mfbd.config.adaptive: read by parse)
    noise: float | _schedules_config.AlphaSchedule = field(_default(gradient_flow, "noise"), check="nonnegative")
    optimizer: str | None = field(None, choices=tuple(OPTIMIZERS))
    lr: float | None = field(None, check="positive")
    gradient: str = field("carried", choices=GRADIENTS)
    splitting: str = field("lie", choices=SPLITTINGS)
    integrator: str = field("euler", choices=INTEGRATORS)
    order: int | None = field(None, choices=(1, 2))  # 1 Euler, 2 Heun (instead of the three step options)
    periodic: bool = field(False)  # positions on the problem's torus (Problem.period)
    rtol: float | None = field(None, check="positive")  # dt = "adaptive" only: the error control and horizon
    atol: float | None = field(None, check="positive")
    t_end: float | None = field(None, check="positive")
    max_steps: int | None = field(None, check="positive")


@dataclasses.dataclass(frozen=True, kw_only=True)
class BirthDeathArm(GradientFlowArm):
    """:func:`mfbd.birth_death`; birth-death is off for the last ``quench_last`` steps.

    ``quench_last`` (config, counted back from the end) is the library's
    ``quench_after = run.steps - quench_last`` (absolute step; None: never). ``alpha``: a number or an
    optax schedule by name with optax's parameter names (:mod:`mfbd.config.schedules`), e.g.
    ``alpha = {schedule = "cosine_decay", init_value = 1.0, decay_steps = 3000}``.
    """

    scheme: str = "birth_death"
    alpha: float | _schedules_config.AlphaSchedule = field(check="nonnegative")
    rates: str = field(_default(birth_death, "rates"), choices=RATES)
    probability: str = field(_default(birth_death, "probability"), choices=PROBABILITIES)
    control: str = field(_default(birth_death, "control"), choices=CONTROLS)
    prior: str | None = field(None, choices=tuple(p for p in PRIORS if p is not None))
    quench_last: int | None = field(None, check="nonnegative")
    transport: bool = field(_default(birth_death, "transport"))


@dataclasses.dataclass(frozen=True, kw_only=True)
class ReweightingArm(GradientFlowArm):
    """:func:`mfbd.reweighting`; resample when ESS/n < ``resample_below``; ``alpha`` as for birth-death."""

    scheme: str = "reweighting"
    alpha: float | _schedules_config.AlphaSchedule = field(check="nonnegative")
    resample_below: float | None = field(None, check="unit_interval")
    max_transfer: float | None = field(None, check="unit_interval")  # the most mass one weight step moves
    transport: bool = field(_default(reweighting, "transport"))


@dataclasses.dataclass(frozen=True, kw_only=True)
class ConicArm(GradientFlowArm):
    """:func:`mfbd.conic` (Wasserstein–Fisher–Rao, weights by the reaction of rate ``alpha``); first order only."""

    scheme: str = "conic"
    alpha: float | _schedules_config.AlphaSchedule = field(check="nonnegative")
    transport: bool = field(True)


SCHEMES = {
    "gradient_flow": GradientFlowArm,
    "birth_death": BirthDeathArm,
    "reweighting": ReweightingArm,
    "conic": ConicArm,
}
Arm = GradientFlowArm | BirthDeathArm | ReweightingArm | ConicArm


@dataclasses.dataclass(frozen=True)
class Config:
    """A whole experiment: ``arms`` is a tuple of ``(name, arm)`` in file order."""

    name: str
    description: str
    problem: GaussianMixture1D | StudentTeacher | Sampling | Digits | TorusMMD
    run: Run
    arms: tuple[tuple[str, Arm], ...]

    @property
    def checkpoint_every(self) -> int:
        return self.run.checkpoint_every or self.run.steps

    @property
    def chunk(self) -> int:
        return self.run.chunk or self.checkpoint_every

    def label(self, arm_name: str) -> str:
        return dict(self.arms)[arm_name].label or arm_name

    def dumps(self) -> str:  # the run directory writes and re-reads a config of either kind by these
        return dumps(self)

    @classmethod
    def loads(cls, text: str, name: str) -> Config:
        return parse(tomllib.loads(text), name)


# --- reading ------------------------------------------------------------------------------------------------------


def parse(raw: dict, name: str) -> Config:
    """Build and validate a :class:`Config` from a parsed TOML document.

    Args:
      raw: the TOML document as a dict.
      name: the config's name if the document has no ``name`` key.

    Raises:
      ConfigError: a one-line message naming the key and the fix.
    """
    top = ("name", "description", "problem", "run", "arms")  # [sweep]: read by mfbd.config.sweep
    for key in raw:
        if key not in top:
            raise ConfigError(f"unknown key '{key}'; {_toml.nearest(key, list(top))}")
    for key in ("problem", "run", "arms"):
        if key not in raw:
            raise ConfigError(f"missing required table [{key}]")
    name = _toml.coerce(raw.get("name", name), str, "name")
    if not _toml.NAME.match(name):
        raise ConfigError(f"name {name!r} may contain only letters, digits, '_' and '-'")
    description = _toml.coerce(raw.get("description", ""), str, "description")

    problem_table = _toml.as_table(raw["problem"], "problem")
    problem = user.problem_from_table(problem_table, PROBLEMS)
    run = _toml.from_table(Run, _toml.as_table(raw["run"], "run"), "run")
    arms_table = _toml.as_table(raw["arms"], "arms")
    if not arms_table:
        raise ConfigError("no arms: add at least one [arms.NAME] table with a scheme and dt")
    arms = []
    for arm_name, table in arms_table.items():
        where = f"arms.{arm_name}"
        if not _toml.NAME.match(arm_name):
            raise ConfigError(f"arm name {arm_name!r} may contain only letters, digits, '_' and '-'")
        table = _toml.as_table(table, where)
        cls = _toml.pick("scheme", table, SCHEMES, where)
        arm = _toml.from_table(cls, _adaptive.as_fixed(table, where), where, ("scheme", SCHEMES))
        arms.append((arm_name, _adaptive.restore(arm, table)))
    config = Config(name, description, problem, run, tuple(arms))
    _check_consistency(config)
    return config


def _check_consistency(config: Config):
    """Relations between fields and the sizes of :mod:`mfbd.config.limits` (pure: nothing is built)."""
    run = config.run
    if run.steps % run.record_every:
        raise ConfigError(f"run.steps ({run.steps}) must be a multiple of run.record_every ({run.record_every})")
    if config.chunk % run.record_every:
        raise ConfigError(f"run.chunk ({config.chunk}) must be a multiple of run.record_every ({run.record_every})")
    if config.checkpoint_every % config.chunk:
        raise ConfigError(
            f"run.checkpoint_every ({config.checkpoint_every}) must be a multiple of run.chunk ({config.chunk})"
        )
    limits.check(config)  # seeds, and sizes beyond the counters
    for arm_name, arm in config.arms:
        if arm.lr is not None and arm.optimizer is None:
            raise ConfigError(f'arms.{arm_name}.lr needs an optimizer: add optimizer = "sgd" or "adam", or remove lr')
        kind_of(config.problem).check_arm(config.problem, arm, f"arms.{arm_name}")
        _adaptive.check(arm, f"arms.{arm_name}")
        if arm.order == 2 and arm.scheme in ("birth_death", "conic"):
            raise ConfigError(f"arms.{arm_name}.order: {arm.scheme} is first order only; use order = 1 or remove it")
        _schedules_config.check(arm, run.steps, f"arms.{arm_name}")  # quench_last, alpha and noise schedules
    kind_of(config.problem).check(config.problem, run)  # e.g. a data batch the oracle cannot block


def validate(config: Config) -> None:
    """Build the problem and every arm's scheme (nothing is compiled); a library refusal as ConfigError. Not
    part of reading: a problem's constants take memory, so the runner calls this after its memory check."""
    run = config.run
    try:
        problem = make_problem(config.problem, run.n, run.dtype == "float64")
    except ValueError as e:
        raise ConfigError(f"problem: {e}") from None
    for arm_name, arm in config.arms:
        try:
            make_scheme(problem, arm, run.steps)
        except ValueError as e:
            raise ConfigError(f"arms.{arm_name}: {e}") from None


def bundled() -> dict[str, Path]:
    """The configs shipped with mfbd, by name."""
    folder = importlib.resources.files("mfbd") / "configs"
    files = sorted(p.name for p in folder.iterdir() if p.name.endswith(".toml"))
    return {Path(name).stem: Path(str(folder / name)) for name in files}


def shrink(config: Config, *, steps: int = 40, n: int = 16, seeds: int = 2) -> Config:
    """A smoke version of ``config``: ``steps`` steps of ``n`` particles for ``seeds`` seeds.

    ``record_every = chunk = steps // 4`` and ``checkpoint_every = steps // 2``; a list of seeds keeps its
    first ``seeds``. Each arm's ``quench_last`` keeps its fraction of the run, rounded to a multiple of
    ``record_every`` (at least ``record_every`` when it was not 0).

    Raises:
      ConfigError: ``steps`` is not a positive multiple of 4, or ``n``/``seeds`` < 1.
    """
    if steps <= 0 or steps % 4:
        raise ConfigError(f"shrink: steps must be a positive multiple of 4, got {steps}")
    if n < 1 or seeds < 1:
        raise ConfigError(f"shrink: n and seeds must be ≥ 1, got n = {n}, seeds = {seeds}")
    every = steps // 4
    run = dataclasses.replace(
        config.run, steps=steps, n=n, seeds=seeds, record_every=every, chunk=every, checkpoint_every=steps // 2
    )
    if not isinstance(config.run.seeds, int):
        run = dataclasses.replace(run, seeds=config.run.seeds[:seeds])
    arms = []
    for arm_name, arm in config.arms:
        quench = getattr(arm, "quench_last", None)
        if quench:
            scaled = every * round(quench * steps / (config.run.steps * every))
            arm = dataclasses.replace(arm, quench_last=min(max(scaled, every), steps))
        arms.append((arm_name, arm))
    small = dataclasses.replace(config, run=run, arms=tuple(arms))
    _check_consistency(small)
    return small


def dumps(config: Config) -> str:
    """The fully resolved config as TOML: every field written, so it re-runs as is."""
    lines = [f"name = {_toml.toml_value(config.name)}", f"description = {_toml.toml_value(config.description)}", ""]
    resolved = dataclasses.replace(config.run, checkpoint_every=config.checkpoint_every, chunk=config.chunk)
    lines += user.toml_lines(config.problem) + _toml.toml_table("run", resolved)
    for arm_name, arm in config.arms:
        lines += _toml.toml_table(f"arms.{arm_name}", arm)
    return "\n".join(lines)


def _unregistered(problem, n, x64):
    raise ConfigError(f"problem.name {problem.name!r} is not a problem kind; choose one of {', '.join(KINDS)}")


#: The kind of a problem config built in code under a name of no kind (drawn with the generic picture).
_OTHER = ProblemKind(None, _unregistered)


def kind_of(problem) -> ProblemKind:
    """The :class:`~mfbd.config.kinds.ProblemKind` of a problem config."""
    return user.KIND if isinstance(problem, user.UserProblem) else KINDS.get(problem.name, _OTHER)


def picture_key(problem) -> str:
    """The key of a problem config's particle picture in ``mfbd.plotting.PICTURES`` (a user's: its factory path)."""
    return kind_of(problem).picture or problem.name


@functools.lru_cache(maxsize=32)
def make_problem(problem, n: int, x64: bool) -> Problem:
    """The :class:`mfbd.problems.Problem` of a config, built in float64 if ``x64`` (else float32); cached.

    The cache key is the frozen problem config, the width ``n`` (the standard
    scaling's) and the precision its constants (a teacher, say) are built in.
    """
    return kind_of(problem).build(problem, n, x64)


@functools.lru_cache(maxsize=64)
def make_scheme(problem: Problem, arm: Arm, steps: int) -> Scheme:
    """The :class:`mfbd.Scheme` (an adaptive arm's :class:`mfbd.adaptive.Adaptive`) of an arm; cached."""
    if _adaptive.is_adaptive(arm):
        return adaptive(problem, **_adaptive.arguments(arm))
    optimizer = None if arm.optimizer is None else OPTIMIZERS[arm.optimizer](arm.lr or arm.dt)
    common = dict(noise=arm.noise, optimizer=optimizer)
    opts = {k: v for k, v in options(arm).items() if k not in _adaptive.FIELDS}
    if isinstance(arm, BirthDeathArm):
        quench_after = None if arm.quench_last is None else steps - arm.quench_last
        return birth_death(problem, arm.dt, arm.alpha, quench_after=quench_after, **opts, **common)
    if isinstance(arm, ReweightingArm):
        return reweighting(problem, arm.dt, arm.alpha, **opts, **common)
    if isinstance(arm, ConicArm):
        del opts["order"]  # refused above when 2: conic's step is first order
        return conic(problem, arm.dt, arm.alpha, **opts, **common)
    return gradient_flow(problem, arm.dt, **opts, **common)


@functools.lru_cache(maxsize=32)
def make_observe(problem, n: int, x64: bool):
    """Observables recorded with each metrics row, as ``state -> dict`` (or None): the problem kind's ``observe``
    (data mode: ``population_energy``; sampling mode: :mod:`mfbd.config.sampling`'s)."""
    return kind_of(problem).observe(problem, n, x64)
