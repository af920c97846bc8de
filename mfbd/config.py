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

Every value is checked when the file is read: an unknown key names the nearest
valid one, a bad value says what is allowed, and the error is one line
(:class:`ConfigError`). The dataclasses are frozen, hence hashable, so the
problem and schemes built from them are cached and reused
(:func:`make_problem`, :func:`make_scheme`).
"""

from __future__ import annotations

import copy
import dataclasses
import difflib
import functools
import importlib.resources
import inspect
import json
import math
import re
import tomllib
import types
import typing
from pathlib import Path

import jax
import optax

import mfbd
from mfbd.problems.gaussian_mixture import STARTS
from mfbd.problems.student_teacher import INPUTS, MODES, SCALINGS
from mfbd.schemes.birth_death import CONTROLS, PRIORS, PROBABILITIES, RATES

__all__ = [
    "ConfigError",
    "Config",
    "Run",
    "GaussianMixture1D",
    "StudentTeacher",
    "GradientFlowArm",
    "BirthDeathArm",
    "ReweightingArm",
    "bundled",
    "load",
    "parse",
    "dumps",
    "make_problem",
    "make_scheme",
    "make_observe",
    "shrink",
]


class ConfigError(ValueError):
    """A bad config or command-line input; the message is one line naming the fix."""


# --- field helpers ------------------------------------------------------------------------------------------------

_CHECKS = {
    "positive": (lambda v: v > 0, "must be > 0"),
    "nonnegative": (lambda v: v >= 0, "must be ≥ 0"),
    "unit_interval": (lambda v: 0 < v <= 1, "must be in (0, 1]"),
}


def _field(default=dataclasses.MISSING, *, choices=None, check=None, doc=""):
    """A dataclass field with its allowed values (``choices``) or a named range ``check``."""
    return dataclasses.field(default=default, metadata={"choices": choices, "check": check, "doc": doc})


def _default(fn, name):
    """The default of parameter ``name`` of ``fn``: configs inherit the library's defaults."""
    return inspect.signature(fn).parameters[name].default


# --- schema -------------------------------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class GaussianMixture1D:
    """Experiment 1 (paper-notes §5): :func:`mfbd.problems.gaussian_mixture_1d`."""

    name: str = "gaussian_mixture_1d"
    start: str = _field(_default(mfbd.problems.gaussian_mixture_1d, "start"), choices=tuple(STARTS))


@dataclasses.dataclass(frozen=True)
class StudentTeacher:
    """Experiment 2 (paper-notes §5): :func:`mfbd.problems.student_teacher`.

    The standard scaling's width is the run's n; ``teacher_seed`` draws the teacher.
    """

    name: str = "student_teacher"
    dim: int = _field(_default(mfbd.problems.student_teacher, "dim"), check="positive")
    teacher_width: int = _field(_default(mfbd.problems.student_teacher, "teacher_width"), check="positive")
    inputs: str = _field(_default(mfbd.problems.student_teacher, "inputs"), choices=INPUTS)
    mode: str = _field(_default(mfbd.problems.student_teacher, "mode"), choices=MODES)
    batch_size: int = _field(_default(mfbd.problems.student_teacher, "batch_size"), check="positive")
    scaling: str = _field(_default(mfbd.problems.student_teacher, "scaling"), choices=SCALINGS)
    prior_std: float | None = _field(_default(mfbd.problems.student_teacher, "prior_std"), check="positive")
    teacher_seed: int = _field(0, check="nonnegative")


PROBLEMS = {"gaussian_mixture_1d": GaussianMixture1D, "student_teacher": StudentTeacher}
DTYPES = ("float32", "float64")
OPTIMIZERS = {"sgd": optax.sgd, "adam": optax.adam}


@dataclasses.dataclass(frozen=True)
class Run:
    """Sizes of the run.

    ``steps`` is a multiple of ``record_every``; ``chunk`` (steps per compiled
    call, the progress granularity; default ``checkpoint_every``) is a multiple
    of ``record_every``, and ``checkpoint_every`` (default ``steps``) a multiple
    of ``chunk``. ``seeds`` is a count (seeds 0..k-1) or a list of seeds.
    ``shard`` splits the particles over all visible devices.
    """

    steps: int = _field(check="positive")
    n: int = _field(check="positive")
    seeds: int | tuple[int, ...] = _field(1)
    record_every: int = _field(10, check="positive")
    checkpoint_every: int | None = _field(None, check="positive")
    chunk: int | None = _field(None, check="positive")
    dtype: str = _field("float64", choices=DTYPES)
    shard: bool = _field(False)

    @property
    def seed_list(self) -> tuple[int, ...]:
        return tuple(range(self.seeds)) if isinstance(self.seeds, int) else self.seeds


@dataclasses.dataclass(frozen=True, kw_only=True)
class GradientFlowArm:
    """:func:`mfbd.gradient_flow`; ``optimizer`` replaces the Euler step (``lr`` defaults to ``dt``)."""

    scheme: str = "gradient_flow"
    label: str | None = None
    dt: float = _field(check="positive")
    noise: float = _field(_default(mfbd.gradient_flow, "noise"), check="nonnegative")
    optimizer: str | None = _field(None, choices=tuple(OPTIMIZERS))
    lr: float | None = _field(None, check="positive")


@dataclasses.dataclass(frozen=True, kw_only=True)
class BirthDeathArm(GradientFlowArm):
    """:func:`mfbd.birth_death`; birth-death is off for the last ``quench_last`` steps."""

    scheme: str = "birth_death"
    alpha: float = _field(check="nonnegative")
    rates: str = _field(_default(mfbd.birth_death, "rates"), choices=RATES)
    probability: str = _field(_default(mfbd.birth_death, "probability"), choices=PROBABILITIES)
    control: str = _field(_default(mfbd.birth_death, "control"), choices=CONTROLS)
    prior: str | None = _field(None, choices=tuple(p for p in PRIORS if p is not None))
    quench_last: int | None = _field(None, check="nonnegative")
    transport: bool = _field(_default(mfbd.birth_death, "transport"))


@dataclasses.dataclass(frozen=True, kw_only=True)
class ReweightingArm(GradientFlowArm):
    """:func:`mfbd.reweighting`; resample when ESS/n < ``resample_below``."""

    scheme: str = "reweighting"
    alpha: float = _field(check="nonnegative")
    resample_below: float | None = _field(None, check="unit_interval")
    transport: bool = _field(_default(mfbd.reweighting, "transport"))


SCHEMES = {"gradient_flow": GradientFlowArm, "birth_death": BirthDeathArm, "reweighting": ReweightingArm}
Arm = GradientFlowArm | BirthDeathArm | ReweightingArm


@dataclasses.dataclass(frozen=True)
class Config:
    """A whole experiment: ``arms`` is a tuple of ``(name, arm)`` in file order."""

    name: str
    description: str
    problem: GaussianMixture1D | StudentTeacher
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


# --- reading ------------------------------------------------------------------------------------------------------

_NAME = re.compile(r"^[A-Za-z0-9_-]+$")


def _nearest(key, valid):
    close = difflib.get_close_matches(key, valid, n=1, cutoff=0.6)
    return f"did you mean {close[0]!r}?" if close else f"valid keys: {', '.join(valid)}"


def _toml_type(value) -> str:
    return {bool: "a boolean", int: "an integer", float: "a float", str: "a string", list: "an array"}.get(
        type(value), "a table" if isinstance(value, dict) else type(value).__name__
    )


def _type_name(tp) -> str:
    if isinstance(tp, types.UnionType):
        return " or ".join(_type_name(t) for t in typing.get_args(tp) if t is not type(None))
    if typing.get_origin(tp) is tuple:
        return "a list of integers"
    return {bool: "a boolean", int: "an integer", float: "a number", str: "a string"}[tp]


def _coerce(value, tp, where):
    """Check ``value`` (from TOML) against the annotation ``tp``; ints are accepted as floats."""
    if isinstance(tp, types.UnionType):
        for option in typing.get_args(tp):
            if option is type(None):
                continue
            try:
                return _coerce(value, option, where)
            except ConfigError:
                pass
    elif typing.get_origin(tp) is tuple:
        if isinstance(value, list) and all(isinstance(v, int) and not isinstance(v, bool) for v in value):
            return tuple(value)
    elif tp is float:
        if isinstance(value, int | float) and not isinstance(value, bool):
            if not math.isfinite(value):
                raise ConfigError(f"{where} must be finite, got {value}")
            return float(value)
    elif tp is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
    elif isinstance(value, tp):
        return value
    hint = ""
    if isinstance(value, str) and _looks_numeric(value):
        hint = " (write it without quotes)"
    raise ConfigError(f"{where} must be {_type_name(tp)}, got {_toml_type(value)} {value!r}{hint}")


def _looks_numeric(text):
    try:
        float(text)
    except ValueError:
        return False
    return True


def _table(value, where):
    if not isinstance(value, dict):
        raise ConfigError(f"{where} must be a table ([{where}]), got {_toml_type(value)} {value!r}")
    return value


def _build(cls, table: dict, where: str, kinds: tuple[str, dict] | None = None):
    """Instantiate the dataclass ``cls`` from a TOML table, checking keys, types and ranges.

    ``kinds`` is ``(key, registry)`` when ``cls`` was chosen by ``table[key]`` from
    ``registry``: a key that only other entries have is reported as such.
    """
    fields = {f.name: f for f in dataclasses.fields(cls)}
    hints = typing.get_type_hints(cls)
    for key in table:
        if key not in fields:
            kind, registry = kinds or ("", {})
            owners = [name for name, other in registry.items() if key in {f.name for f in dataclasses.fields(other)}]
            if owners:
                only = ", ".join(map(repr, owners))
                raise ConfigError(f"'{where}.{key}' is not an option of {kind} {table[kind]!r} (only of {only})")
            raise ConfigError(f"unknown key '{where}.{key}'; {_nearest(key, list(fields))}")
    values = {}
    for name, f in fields.items():
        path = f"{where}.{name}"
        if name not in table:
            if f.default is dataclasses.MISSING:
                raise ConfigError(f"missing required key '{path}': add `{name} = ...` under [{where}]")
            continue
        value = _coerce(table[name], hints[name], path)
        choices = f.metadata.get("choices")
        if choices is not None and value not in choices:
            listed = ", ".join(repr(c) for c in choices)
            raise ConfigError(f"{path}: unknown value {value!r}; choose one of {listed}")
        check = f.metadata.get("check")
        if check is not None and value is not None:
            ok, rule = _CHECKS[check]
            if not ok(value):
                raise ConfigError(f"{path} {rule}, got {value}")
        values[name] = value
    return cls(**values)


def _pick(kind: str, table: dict, registry: dict, where: str):
    if kind not in table:
        raise ConfigError(f"missing required key '{where}.{kind}': choose one of {', '.join(map(repr, registry))}")
    choice = table[kind]
    if choice not in registry:
        listed = ", ".join(repr(c) for c in registry)
        raise ConfigError(f"{where}.{kind}: unknown value {choice!r}; choose one of {listed}")
    return registry[choice]


def parse(raw: dict, name: str) -> Config:
    """Build and validate a :class:`Config` from a parsed TOML document.

    Args:
      raw: the TOML document as a dict.
      name: the config's name if the document has no ``name`` key.

    Raises:
      ConfigError: a one-line message naming the key and the fix.
    """
    top = ("name", "description", "problem", "run", "arms")
    for key in raw:
        if key not in top:
            raise ConfigError(f"unknown key '{key}'; {_nearest(key, list(top))}")
    for key in ("problem", "run", "arms"):
        if key not in raw:
            raise ConfigError(f"missing required table [{key}]")
    name = _coerce(raw.get("name", name), str, "name")
    if not _NAME.match(name):
        raise ConfigError(f"name {name!r} may contain only letters, digits, '_' and '-'")
    description = _coerce(raw.get("description", ""), str, "description")

    problem_table = _table(raw["problem"], "problem")
    problem_cls = _pick("name", problem_table, PROBLEMS, "problem")
    problem = _build(problem_cls, problem_table, "problem", ("name", PROBLEMS))
    run = _build(Run, _table(raw["run"], "run"), "run")
    arms_table = _table(raw["arms"], "arms")
    if not arms_table:
        raise ConfigError("no arms: add at least one [arms.NAME] table with a scheme and dt")
    arms = []
    for arm_name, table in arms_table.items():
        where = f"arms.{arm_name}"
        if not _NAME.match(arm_name):
            raise ConfigError(f"arm name {arm_name!r} may contain only letters, digits, '_' and '-'")
        table = _table(table, where)
        arms.append((arm_name, _build(_pick("scheme", table, SCHEMES, where), table, where, ("scheme", SCHEMES))))
    config = Config(name, description, problem, run, tuple(arms))
    _check_consistency(config)
    return config


def _check_consistency(config: Config):
    """Relations between fields, then build the problem and every scheme (cheap: nothing is compiled)."""
    run = config.run
    if run.steps % run.record_every:
        raise ConfigError(f"run.steps ({run.steps}) must be a multiple of run.record_every ({run.record_every})")
    if config.chunk % run.record_every:
        raise ConfigError(f"run.chunk ({config.chunk}) must be a multiple of run.record_every ({run.record_every})")
    if config.checkpoint_every % config.chunk:
        raise ConfigError(
            f"run.checkpoint_every ({config.checkpoint_every}) must be a multiple of run.chunk ({config.chunk})"
        )
    seeds = run.seed_list
    if isinstance(run.seeds, int) and run.seeds < 1:
        raise ConfigError(f"run.seeds must be ≥ 1 (a count) or a list of seeds, got {run.seeds}")
    if not seeds or len(set(seeds)) != len(seeds) or min(seeds) < 0:
        raise ConfigError(f"run.seeds must be a non-empty list of distinct seeds ≥ 0, got {list(run.seeds)}")
    for arm_name, arm in config.arms:
        where = f"arms.{arm_name}"
        if arm.lr is not None and arm.optimizer is None:
            raise ConfigError(f'{where}.lr needs an optimizer: add optimizer = "sgd" or "adam", or remove lr')
        quench = getattr(arm, "quench_last", None)
        if quench is not None and quench > run.steps:
            raise ConfigError(f"{where}.quench_last ({quench}) exceeds run.steps ({run.steps}); lower it")
    x64 = run.dtype == "float64"
    with jax.enable_x64(x64):  # as the run will build them, so that it finds them in the caches
        try:
            problem = make_problem(config.problem, run.n, x64)
        except ValueError as e:
            raise ConfigError(f"problem: {e}") from None
        for arm_name, arm in config.arms:
            try:
                make_scheme(problem, arm, run.steps)
            except ValueError as e:
                raise ConfigError(f"arms.{arm_name}: {e}") from None


def read_toml(path: Path) -> dict:
    """Parse a TOML file; a syntax error becomes a one-line :class:`ConfigError` with the line number."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as e:
        raise ConfigError(f"cannot read config {path}: {e.strerror}") from None
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        raise ConfigError(f"{path} is not valid TOML: {e}") from None


def bundled() -> dict[str, Path]:
    """The configs shipped with mfbd, by name."""
    folder = importlib.resources.files("mfbd") / "configs"
    files = sorted(p.name for p in folder.iterdir() if p.name.endswith(".toml"))
    return {Path(name).stem: Path(str(folder / name)) for name in files}


def find(source: str) -> Path:
    """``source`` as a path to a TOML file, or the name of a bundled config."""
    path = Path(source)
    if path.is_file():
        return path
    if path.exists():
        raise ConfigError(f"{source} is a directory, not a config file (to continue a run use --resume {source})")
    configs = bundled()
    if source in configs:
        return configs[source]
    close = difflib.get_close_matches(source, list(configs), n=1)
    hint = f"did you mean {close[0]!r}?" if close else "see `mfbd list` for the bundled configs"
    raise ConfigError(f"config {source!r} not found: no such file and no bundled config of that name; {hint}")


def apply_overrides(raw: dict, sets: list[str] | tuple[str, ...]) -> dict:
    """Apply ``--set a.b.c=value`` overrides to a parsed TOML document (a new dict).

    The value is read as a TOML value (``10``, ``1e-3``, ``true``, ``[1, 2]``,
    ``"text"``); a bare word that is not TOML is taken as a string.
    """
    raw = copy.deepcopy(raw)
    for item in sets:
        key, sep, text = item.partition("=")
        parts = key.strip().split(".")
        if not sep or not all(_NAME.match(p) for p in parts):
            raise ConfigError(f"malformed --set {item!r}: write --set section.key=value, e.g. --set run.seeds=20")
        text = text.strip()
        if not text:
            raise ConfigError(f"malformed --set {item!r}: no value after '='")
        try:
            value = tomllib.loads(f"v = {text}")["v"]
        except tomllib.TOMLDecodeError:
            if not _NAME.match(text):
                raise ConfigError(f"malformed --set {item!r}: {text!r} is not a TOML value") from None
            value = text
        table = raw
        for i, part in enumerate(parts[:-1]):
            table = table.setdefault(part, {})
            if not isinstance(table, dict):
                raise ConfigError(f"malformed --set {item!r}: {'.'.join(parts[: i + 1])} is not a table")
        table[parts[-1]] = value
    return raw


def load(source: str, sets: list[str] | tuple[str, ...] = ()) -> Config:
    """Read, override and validate a config given as a path or a bundled name.

    Raises:
      ConfigError: a one-line message (file not found, TOML syntax with line
        number, unknown key with the nearest valid one, bad value, bad --set).
    """
    path = find(source)
    raw = apply_overrides(read_toml(path), sets)
    try:
        return parse(raw, path.stem)
    except ConfigError as e:
        raise ConfigError(f"{source}: {e}") from None


def shrink(config: Config, *, steps: int = 40, n: int = 16, seeds: int = 2) -> Config:
    """A smoke version of ``config``: ``steps`` steps of ``n`` particles for ``seeds`` seeds.

    ``record_every = chunk = steps // 4`` and ``checkpoint_every = steps // 2``.
    Each arm's ``quench_last`` keeps its fraction of the run, rounded to a
    multiple of ``record_every`` (at least ``record_every`` when it was not 0).

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


# --- writing ------------------------------------------------------------------------------------------------------


def _toml_value(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, tuple):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    raise TypeError(f"cannot write {value!r} as TOML")


def _toml_table(header: str, obj) -> list[str]:
    lines = [f"[{header}]"]
    for f in dataclasses.fields(obj):
        value = getattr(obj, f.name)
        if value is not None:
            lines.append(f"{f.name} = {_toml_value(value)}")
    return lines + [""]


def dumps(config: Config) -> str:
    """The fully resolved config as TOML: every field written, so it re-runs as is."""
    lines = [f"name = {_toml_value(config.name)}", f"description = {_toml_value(config.description)}", ""]
    resolved = dataclasses.replace(config.run, checkpoint_every=config.checkpoint_every, chunk=config.chunk)
    lines += _toml_table("problem", config.problem) + _toml_table("run", resolved)
    for arm_name, arm in config.arms:
        lines += _toml_table(f"arms.{arm_name}", arm)
    return "\n".join(lines)


# --- building -----------------------------------------------------------------------------------------------------


@functools.lru_cache(maxsize=32)
def make_problem(problem: GaussianMixture1D | StudentTeacher, n: int, x64: bool) -> mfbd.problems.Problem:
    """The :class:`mfbd.problems.Problem` of a config, cached.

    Call it under ``jax.enable_x64(x64)``: ``x64`` only keys the cache, as the
    problem's constants (a teacher, say) take the precision they are built in.
    """
    del x64
    if isinstance(problem, GaussianMixture1D):
        return mfbd.problems.gaussian_mixture_1d(problem.start)
    return mfbd.problems.student_teacher(
        jax.random.key(problem.teacher_seed),
        problem.dim,
        problem.teacher_width,
        problem.inputs,
        problem.mode,
        problem.batch_size,
        problem.scaling,
        width=n,
        prior_std=problem.prior_std,
    )


@functools.lru_cache(maxsize=64)
def make_scheme(problem: mfbd.problems.Problem, arm: Arm, steps: int) -> mfbd.Scheme:
    """The :class:`mfbd.Scheme` of an arm (cached, so its compiled chunks are reused)."""
    optimizer = None if arm.optimizer is None else OPTIMIZERS[arm.optimizer](arm.lr or arm.dt)
    common = dict(noise=arm.noise, optimizer=optimizer)
    if isinstance(arm, BirthDeathArm):
        quench_after = None if arm.quench_last is None else steps - arm.quench_last
        return mfbd.birth_death(
            problem,
            arm.dt,
            arm.alpha,
            rates=arm.rates,
            probability=arm.probability,
            control=arm.control,
            prior=arm.prior,
            quench_after=quench_after,
            transport=arm.transport,
            **common,
        )
    if isinstance(arm, ReweightingArm):
        return mfbd.reweighting(
            problem, arm.dt, arm.alpha, resample_below=arm.resample_below, transport=arm.transport, **common
        )
    return mfbd.gradient_flow(problem, arm.dt, **common)


@functools.lru_cache(maxsize=32)
def make_observe(problem: GaussianMixture1D | StudentTeacher, n: int, x64: bool):
    """Observables recorded with each metrics row, as ``state -> dict`` (or None).

    In data mode the recorded energy is a minibatch estimate; the population
    energy E(μ) of the same student and teacher, in closed form (kernel mode),
    is recorded as ``population_energy``.
    """
    if not isinstance(problem, StudentTeacher) or problem.mode != "data":
        return None
    exact = make_problem(dataclasses.replace(problem, mode="kernel"), n, x64)

    def observe(state):
        return {"population_energy": exact.energy(state.particles, jax.nn.softmax(state.log_weights))}

    return observe
