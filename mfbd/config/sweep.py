"""Configs of either kind (a :class:`~mfbd.config.Config`, or a :class:`Sweep`): :func:`read`, :func:`load`,
:func:`parse`, :func:`dumps`, :func:`validate` and :func:`shrink` for both; and sweeps, a ``[sweep]``
table of dotted config keys mapped to lists of values.

::

    [sweep]
    "arms.bd.alpha" = [0.01, 0.1, 1.0]   # or nested: arms.bd.alpha = [...]
    "run.n" = [50, 100]
    mode = "product"                     # the cartesian product (default), or "zip" for paired lists
    reference = "gd"                     # the arm the speed-ups are measured against (default: the first)

``mfbd run CONFIG`` runs every point; ``--set sweep.arms.bd.alpha=[1,10]``
sets or replaces a swept list. Every point is a whole config, validated as one,
and the swept values are kept as the schema's values (a list as a tuple, an α
schedule as an :class:`~mfbd.config.schedules.AlphaSchedule`), so a list-valued
key is checked and written back like any other.

**One program per shape.** The scalar arm parameters in :data:`TRACED` (α,
Δt, the noise temperature, the quench length, the resampling threshold) do
not change any shape: the points that differ only in them form one *group*
(:func:`program_key`), and each arm of a group runs as one compiled program,
vmapped over its distinct values × the seeds (:mod:`mfbd.runner`).
"""

from __future__ import annotations

import dataclasses
import itertools
import math
import tomllib

from mfbd.config import schema
from mfbd.config import toml as _toml
from mfbd.config.toml import ConfigError
from mfbd.config.user import UserProblem

__all__ = ["MAX_POINTS", "MODES", "TRACED", "Sweep", "describe", "dumps", "parse", "parse_sweep", "program_key"]
__all__ += ["value_of", "read", "load", "validate", "shrink"]

MODES = ("product", "zip")
MAX_POINTS = 10_000
#: Arm fields vmapped within a group (scalars that change no shape).
TRACED = ("alpha", "dt", "noise", "quench_last", "resample_below")


@dataclasses.dataclass(frozen=True)
class Sweep:
    """A validated sweep: the base config, the swept keys and values, and one config per point."""

    base: schema.Config
    keys: tuple[str, ...]
    values: tuple[tuple, ...]
    mode: str
    reference: str
    points: tuple[tuple, ...]  # per point its value of every key
    configs: tuple[schema.Config, ...]

    @property
    def name(self) -> str:
        return self.base.name

    @property
    def description(self) -> str:
        return self.base.description

    def dumps(self) -> str:
        """:func:`dumps` of this sweep."""
        return dumps(self)

    @classmethod
    def loads(cls, text: str, name: str) -> Sweep:
        """The sweep of a TOML text (any number of points)."""
        return parse_sweep(tomllib.loads(text), name, force=True)

    def traced(self, arm: str) -> tuple[str, ...]:
        """The fields of ``arm`` that are swept and vmapped."""
        return tuple(f for f in TRACED if f"arms.{arm}.{f}" in self.keys)


def _valid_keys(base: schema.Config) -> list[str]:
    keys = [f"run.{f.name}" for f in dataclasses.fields(schema.Run)]
    if isinstance(base.problem, UserProblem):
        keys += [f"problem.{k}" for k, _ in base.problem.options]
    else:
        keys += [f"problem.{f.name}" for f in dataclasses.fields(base.problem) if f.name != "name"]
    for name, arm in base.arms:
        keys += [f"arms.{name}.{f.name}" for f in dataclasses.fields(arm) if f.name not in ("scheme", "label")]
    return keys


def value_of(config: schema.Config, key: str):
    """The schema's value of the dotted ``key`` in ``config`` (``run.n``, ``problem.dim``, ``arms.bd.alpha``)."""
    section, _, rest = key.partition(".")
    if section == "arms":
        arm, _, name = rest.partition(".")
        return getattr(dict(config.arms)[arm], name)
    owner = getattr(config, section)
    return dict(owner.options)[rest] if isinstance(owner, UserProblem) else getattr(owner, rest)


def parse(raw: dict, name: str, *, sets=(), force: bool = False) -> schema.Config | Sweep:
    """A :class:`~mfbd.config.Config`, or a :class:`Sweep` when ``raw`` has a ``[sweep]`` table."""
    return parse_sweep(raw, name, sets, force) if "sweep" in raw else schema.parse(raw, name)


def dumps(spec: schema.Config | Sweep) -> str:
    """The fully resolved config (with its ``[sweep]`` table for a sweep) as TOML: it re-runs as is."""
    if not isinstance(spec, Sweep):
        return schema.dumps(spec)
    lines = [schema.dumps(spec.base), "[sweep]", f"mode = {_toml.toml_value(spec.mode)}"]
    lines.append(f"reference = {_toml.toml_value(spec.reference)}")
    lines += [f"{_toml.toml_value(k)} = {_toml.toml_value(v)}" for k, v in zip(spec.keys, spec.values, strict=True)]
    return "\n".join(lines) + "\n"


def parse_sweep(raw: dict, name: str, sets=(), force: bool = False) -> Sweep:
    """A :class:`Sweep` from a TOML document with a ``[sweep]`` table (``sets``: the --set items applied).

    Raises:
      ConfigError: one line: an unknown swept key (the nearest valid one named),
        a key given twice, an empty list or a value the schema refuses, a swept key
        also set by ``--set``, zip lists of different lengths, more than
        :data:`MAX_POINTS` points without ``force``, or anything the config gets wrong.
    """
    raw = dict(raw)
    table = dict(_toml.as_table(raw.pop("sweep"), "sweep"))
    mode = table.pop("mode", "product")
    if mode not in MODES:
        raise ConfigError(f"unknown sweep.mode {mode!r}; choose one of {', '.join(map(repr, MODES))}")
    reference = table.pop("reference", None)
    try:
        swept = _toml.flatten(table, leaf=lambda key: key == "alpha")
    except ConfigError as e:
        raise ConfigError(f"sweep: {e}") from None
    if not swept:
        raise ConfigError('[sweep] has no swept keys; add e.g. "arms.bd.alpha" = [0.1, 1.0]')
    overridden = {item.partition("=")[0].strip() for item in sets}
    for key in swept:
        if key in overridden:
            raise ConfigError(f"{key} is both swept (sweep.{key}) and set by --set {key}=...; keep one of them")
    base = schema.parse(raw, name)
    arms = [a for a, _ in base.arms]
    reference = arms[0] if reference is None else reference
    if reference not in arms:
        raise ConfigError(f"sweep.reference: no arm {reference!r}; choose one of {', '.join(map(repr, arms))}")
    valid = _valid_keys(base)
    lists = []
    for key, values in swept.items():
        if key not in valid:
            raise ConfigError(f"sweep: unknown key '{key}'; {_toml.nearest(key, valid)}")
        if not isinstance(values, list):
            example = _toml.toml_value(values) if not isinstance(values, dict) else "..."
            raise ConfigError(f"sweep.{key} must be a list of values, e.g. [{example}], got {values!r}")
        if not values:
            raise ConfigError(f"sweep.{key} is an empty list; give at least one value")
        frozen = []
        for i, value in enumerate(values):
            try:
                frozen.append(value_of(schema.parse(_toml.assign(raw, {key: value}), name), key))
            except ConfigError as e:
                raise ConfigError(f"sweep.{key}[{i}] = {value!r}: {e}") from None
        lists.append(tuple(frozen))
    keys, lists = tuple(swept), tuple(lists)
    if mode == "zip" and len({len(v) for v in lists}) > 1:
        lengths = ", ".join(f"{k}: {len(v)}" for k, v in zip(keys, lists, strict=True))
        raise ConfigError(f'sweep: mode = "zip" needs lists of the same length, got {lengths}')
    count = len(lists[0]) if mode == "zip" else math.prod(map(len, lists))
    if count > MAX_POINTS and not force:
        raise ConfigError(f"sweep: {count} points is more than {MAX_POINTS}; pass --force to run them anyway")
    ranges = [range(len(v)) for v in lists]
    chosen = tuple(zip(*ranges, strict=True)) if mode == "zip" else tuple(itertools.product(*ranges))
    points = tuple(tuple(lists[j][i] for j, i in enumerate(c)) for c in chosen)
    configs = []
    for i, (point, c) in enumerate(zip(points, chosen, strict=True)):
        raw_point = _toml.assign(raw, {k: swept[k][c[j]] for j, k in enumerate(keys)})
        try:
            configs.append(schema.parse(raw_point, name))
        except ConfigError as e:
            raise ConfigError(f"sweep point {i} ({describe(keys, point)}): {e}") from None
    return Sweep(base, keys, lists, mode, reference, points, tuple(configs))


def describe(keys, point) -> str:
    """``key = value, ...`` of a point, as TOML values."""
    return ", ".join(f"{k} = {_toml.toml_value(v)}" for k, v in zip(keys, point, strict=True))


def program_key(cfg: schema.Config) -> schema.Config:
    """``cfg`` with the vmapped arm fields blanked: points with the same key share one program per arm."""
    arms = tuple((n, dataclasses.replace(a, **{f: None for f in TRACED if hasattr(a, f)})) for n, a in cfg.arms)
    return dataclasses.replace(cfg, arms=arms)


# --- reading a config of either kind (mfbd.config re-exports these) ---


def load(source: str, sets: list[str] | tuple[str, ...] = (), *, force: bool = False) -> schema.Config | Sweep:
    """:func:`read` a config, then :func:`validate` it (build its problem and schemes); errors as :func:`read`."""
    spec = read(source, sets, force=force)
    try:
        validate(spec)
    except ConfigError as e:
        raise ConfigError(f"{source}: {e}") from None
    return spec


def read(source: str, sets: list[str] | tuple[str, ...] = (), *, force: bool = False) -> schema.Config | Sweep:
    """Read, override and check a config given as a path or a bundled name (pure: nothing is built).

    A document with a ``[sweep]`` table (in the file or from ``--set sweep...``) gives a
    :class:`Sweep` (``force``: allow more than :data:`~mfbd.config.sweep.MAX_POINTS` points).
    With ``sets``, the description is followed by ``[--set KEY=VALUE, ...]`` (unless
    ``description`` itself is set), so a resolved config.toml does not keep a
    description of a run it no longer is.

    Raises:
      ConfigError: a one-line message (file not found, TOML syntax with line
        number, unknown key with the nearest valid one, bad value, bad --set).
    """
    path = _toml.find(source, schema.bundled())
    raw = _toml.apply_overrides(_toml.read_toml(path), sets)
    try:
        spec = parse(raw, path.stem, sets=sets, force=force)
    except ConfigError as e:
        raise ConfigError(f"{source}: {e}") from None
    if sets and not any(item.partition("=")[0].strip() == "description" for item in sets):
        # The file's description no longer describes the run alone: say what was overridden.
        base = spec.base if isinstance(spec, Sweep) else spec
        base = dataclasses.replace(base, description=f"{base.description} [--set {', '.join(sets)}]".lstrip())
        spec = dataclasses.replace(spec, base=base) if isinstance(spec, Sweep) else base
    return spec


def shrink(spec: schema.Config | Sweep, *, steps: int = 40, n: int = 16, seeds: int = 2) -> schema.Config | Sweep:
    """A smoke version of a config (:func:`mfbd.config.schema.shrink`) or of a sweep.

    One rule for ``run.steps``, ``run.n`` and ``run.seeds``, swept or not: the key's smallest value (its only
    value when it is not swept) becomes ``steps``, ``n`` or ``seeds``, and every other value keeps its ratio to
    it, rounded (steps to a multiple of ``steps // 4``; seeds by count, a list keeping its first ones). A sweep
    is its base shrunk so (records, chunks, checkpoints and quench included) with its swept values shrunk: it
    keeps its points, so its groups and ``--part`` shares, and its sweep.csv shows the shrunk values.
    """
    if not isinstance(spec, Sweep):
        return schema.shrink(spec, steps=steps, n=n, seeds=seeds)
    target = {"run.steps": steps, "run.n": n, "run.seeds": seeds}
    smallest = {k: min(map(_count, spec.values[spec.keys.index(k)])) for k in target if k in spec.keys}

    def scale(key, value):
        scaled = target[key] * _count(value) / smallest[key]
        if key == "run.steps":
            return steps // 4 * max(1, round(scaled / (steps // 4)))
        k = max(1, round(scaled))
        return k if key == "run.n" or isinstance(value, int) else tuple(value[:k])

    values = tuple(
        tuple(scale(k, v) for v in vs) if k in target else vs for k, vs in zip(spec.keys, spec.values, strict=True)
    )
    small = dataclasses.replace(spec, base=schema.shrink(spec.base, steps=steps, n=n, seeds=seeds), values=values)
    return Sweep.loads(dumps(small), spec.name)


def _count(value) -> int:
    """A run size: steps and n as they are, seeds as a count."""
    return len(value) if isinstance(value, tuple | list) else value


def validate(spec: schema.Config | Sweep) -> None:
    """Build the problem and schemes of a config, or of every point of a sweep (:func:`mfbd.config.schema.validate`)."""
    if isinstance(spec, Sweep):
        for i, config in enumerate(spec.configs):
            try:
                schema.validate(config)
            except ConfigError as e:
                raise ConfigError(f"sweep point {i} ({describe(spec.keys, spec.points[i])}): {e}") from None
    else:
        schema.validate(spec)
