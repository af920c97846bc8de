"""Experiment configs: TOML files read into frozen dataclasses (pure: no device or memory is asked).

:func:`load` reads a config file (or a bundled name) with ``--set`` overrides into a
:class:`Config`, or a :class:`~mfbd.config.sweep.Sweep` when it has a ``[sweep]`` table.
The schema is :mod:`mfbd.config.schema`; the generic TOML layer and the one owner of
dotted keys :mod:`mfbd.config.toml`; the one binder from a table to a callable's
keywords :mod:`mfbd.config.bind`; sampling mode :mod:`mfbd.config.sampling`; user
problems :mod:`mfbd.config.user`; α schedules :mod:`mfbd.config.schedules`; sweeps
:mod:`mfbd.config.sweep`.
"""

from __future__ import annotations

import dataclasses

from mfbd.config import limits, schema, sweep
from mfbd.config.schema import (
    PROBLEMS,
    SCHEMES,
    Arm,
    BirthDeathArm,
    Config,
    GaussianMixture1D,
    GradientFlowArm,
    ReweightingArm,
    Run,
    StudentTeacher,
    bundled,
    make_observe,
    make_problem,
    make_scheme,
)
from mfbd.config.sweep import Sweep
from mfbd.config.toml import ConfigError, apply_overrides, find, read_toml

__all__ = [
    "ConfigError",
    "Config",
    "Sweep",
    "Run",
    "Arm",
    "GaussianMixture1D",
    "StudentTeacher",
    "GradientFlowArm",
    "BirthDeathArm",
    "ReweightingArm",
    "PROBLEMS",
    "SCHEMES",
    "bundled",
    "load",
    "read",
    "parse",
    "dumps",
    "apply_overrides",
    "read_toml",
    "make_problem",
    "make_scheme",
    "make_observe",
    "shrink",
    "validate",
    "limits",
]


def load(source: str, sets: list[str] | tuple[str, ...] = (), *, force: bool = False) -> Config | Sweep:
    """:func:`read` a config, then :func:`validate` it (build its problem and schemes); errors as :func:`read`."""
    spec = read(source, sets, force=force)
    try:
        validate(spec)
    except ConfigError as e:
        raise ConfigError(f"{source}: {e}") from None
    return spec


def read(source: str, sets: list[str] | tuple[str, ...] = (), *, force: bool = False) -> Config | Sweep:
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
    path = find(source, bundled())
    raw = apply_overrides(read_toml(path), sets)
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


def parse(raw: dict, name: str, *, sets=(), force: bool = False) -> Config | Sweep:
    """A :class:`Config`, or a :class:`Sweep` when ``raw`` has a ``[sweep]`` table, from a TOML document."""
    return sweep.parse(raw, name, sets, force) if "sweep" in raw else schema.parse(raw, name)


def dumps(spec: Config | Sweep) -> str:
    """The fully resolved config (with its ``[sweep]`` table for a sweep) as TOML: it re-runs as is."""
    return sweep.dumps(spec) if isinstance(spec, Sweep) else schema.dumps(spec)


def shrink(spec: Config | Sweep, **sizes) -> Config | Sweep:
    """A smoke version (:func:`mfbd.config.schema.shrink`) of a config, or of a sweep's base and every point."""
    if isinstance(spec, Sweep):
        configs = tuple(schema.shrink(c, **sizes) for c in spec.configs)
        return dataclasses.replace(spec, base=schema.shrink(spec.base, **sizes), configs=configs)
    return schema.shrink(spec, **sizes)


def validate(spec: Config | Sweep) -> None:
    """Build the problem and schemes of a config, or of every point of a sweep (:func:`mfbd.config.schema.validate`)."""
    if isinstance(spec, Sweep):
        for i, config in enumerate(spec.configs):
            try:
                schema.validate(config)
            except ConfigError as e:
                raise ConfigError(f"sweep point {i} ({sweep.describe(spec.keys, spec.points[i])}): {e}") from None
    else:
        schema.validate(spec)
